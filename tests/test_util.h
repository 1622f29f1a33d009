#pragma once
// Helpers shared by the tests: scratch folders, small generated models and images.
#include <gtest/gtest.h>

#include <filesystem>
#include <opencv2/core.hpp>
#include <string>

#include "pconv/io/error.h"
#include "pconv/nn/model_file.h"

namespace pconv::test {

/// A fresh folder under the system temp dir, removed when the object goes.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

/// A small randomly initialised network, deterministic for a seed (tests only: never shipped).
PConvUNet tiny_net(int64_t depth = 3, double width = 0.125, bool partial = true, uint64_t seed = 1);

/// tiny_net saved as a model file.
void write_tiny_model(const std::filesystem::path& path, int64_t depth = 3, double width = 0.125);

/// A smooth, textured BGR test image (8-bit unless depth says CV_16U).
cv::Mat test_image(int width, int height, int depth = CV_8U, int channels = 3);

/// A CV_8U mask (255 = hole) with a filled rectangle.
cv::Mat rect_hole(int width, int height, cv::Rect hole);

}  // namespace pconv::test

namespace pconv::test {

/// A VGG-16 safetensors file with torchvision's names and shapes and random weights, holding
/// features.0 … features.14 (what the loss uses) plus one classifier tensor that must be ignored.
void write_random_vgg16(const std::filesystem::path& path, uint64_t seed = 3);

/// A TCP port on loopback that was free a moment ago (for servers and rendezvous in tests).
int free_port();

/// Writes `count` textured photos of width×height as JPEG files into `folder`.
void write_photos(const std::filesystem::path& folder, int count, int width, int height);

}  // namespace pconv::test

namespace pconv::test {

/// Expects `f` to throw pconv::Error whose message contains `needle`.
/// The message of the pconv::Error that `f` throws, or "" when it throws none.
template <typename F>
std::string error_message(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

template <typename F>
void expect_error(F&& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one mentioning '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

}  // namespace pconv::test
