// What every image codec backend (OpenCV's imgcodecs, or stb_image + libwebp with
// PCONV_OPENCV_CODECS=OFF) must do for the formats the CLI, training and the server use.
#include <gtest/gtest.h>

#include "pconv/io/image.h"
#include "test_util.h"

namespace pconv {
namespace {

double max_difference(const cv::Mat& a, const cv::Mat& b) { return cv::norm(a, b, cv::NORM_INF); }

cv::Mat round_trip(const cv::Mat& image, const std::string& ext) {
  return decode_image(encode_image(image, ext, "test"), "test" + ext);
}

TEST(Codec, LosslessFormatsRoundTripEightBitsExactly) {
  for (const std::string ext : {".png", ".webp", ".bmp"})
    for (int channels : {3, 4}) {
      if (ext == ".bmp" && channels == 4) continue;  // BMP's alpha is not read back by every decoder
      cv::Mat image = test::test_image(37, 23, CV_8U, channels);
      // An opaque alpha may be dropped (libwebp does); a half-transparent corner must come back.
      if (channels == 4) image(cv::Rect(0, 0, 10, 10)).forEach<cv::Vec4b>([](cv::Vec4b& p, const int*) { p[3] = 128; });
      const cv::Mat back = round_trip(image, ext);
      ASSERT_EQ(back.size(), image.size()) << ext;
      ASSERT_EQ(back.type(), image.type()) << ext << ", " << channels << " channels";
      EXPECT_EQ(max_difference(back, image), 0) << ext << ", " << channels << " channels";
    }
  const cv::Mat gray = test::test_image(37, 23, CV_8U, 1);
  const cv::Mat back = round_trip(gray, ".png");
  ASSERT_EQ(back.type(), CV_8UC1);
  EXPECT_EQ(max_difference(back, gray), 0);
}

TEST(Codec, JpegKeepsColoursInOrderAndClose) {
  const cv::Mat image = test::test_image(64, 48);
  const cv::Mat back = round_trip(image, ".jpg");
  ASSERT_EQ(back.type(), CV_8UC3);
  EXPECT_LT(cv::norm(back, image, cv::NORM_L1) / image.total() / 3, 3.0) << "mean error per channel";
  // A red square stays red: the backend's channel order is BGR like the rest of the library.
  cv::Mat red(32, 32, CV_8UC3, cv::Scalar(0, 0, 255));
  const cv::Vec3b pixel = round_trip(red, ".jpg").at<cv::Vec3b>(16, 16);
  EXPECT_GT(pixel[2], 240);
  EXPECT_LT(pixel[0], 15);
}

TEST(Codec, EncodingLeavesTheImageUntouched) {
  for (const std::string ext : {".png", ".jpg", ".webp", ".bmp"})
    for (int channels : {1, 3, 4}) {
      if (channels == 4 && (ext == ".jpg" || ext == ".bmp")) continue;
      const cv::Mat image = test::test_image(16, 12, CV_8U, channels), before = image.clone();
      encode_image(image, ext, "test");
      EXPECT_EQ(max_difference(image, before), 0) << ext << ", " << channels << " channels";
    }
}

TEST(Codec, WhatIsNotAnImageIsAnErrorNamingIt) {
  const std::vector<uint8_t> png = encode_image(test::test_image(16, 12), ".png", "test");
  const std::vector<uint8_t> cut(png.begin(), png.begin() + png.size() / 2);
  test::expect_error([&] { decode_image(cut, "cut.png"); }, "cut.png");
  test::expect_error(
      [&] {
        decode_image({'n', 'o', 't', ' ', 'a', 'n', ' ', 'i', 'm', 'a', 'g', 'e'}, "x.png");
      },
      "x.png");
  test::expect_error([&] { encode_image(test::test_image(4, 4), ".xyz", "out.xyz"); }, "out.xyz");
}

}  // namespace
}  // namespace pconv
