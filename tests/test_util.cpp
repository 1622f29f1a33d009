#include "test_util.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <opencv2/imgproc.hpp>
#include <random>

namespace pconv::test {
namespace fs = std::filesystem;

TempDir::TempDir() {
  std::random_device rd;
  path_ = fs::temp_directory_path() / ("pconv-test-" + std::to_string(rd()) + std::to_string(rd()));
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

PConvUNet tiny_net(int64_t depth, double width, bool partial, uint64_t seed) {
  torch::manual_seed(seed);
  PConvUNet net(PConvUNetOptions().depth(depth).width(width).partial(partial));
  net->eval();
  return net;
}

void write_tiny_model(const fs::path& path, int64_t depth, double width) {
  PConvUNet net = tiny_net(depth, width);
  ModelInfo info;
  info.architecture = net->options();
  info.training = {{"note", "random weights for tests"}};
  save_model(path, net, info);
}

cv::Mat test_image(int width, int height, int depth, int channels) {
  cv::Mat img(height, width, CV_32FC3);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      img.at<cv::Vec3f>(y, x) = cv::Vec3f(0.5f + 0.4f * std::sin(x * 0.05f), 0.5f + 0.4f * std::cos(y * 0.07f),
                                          static_cast<float>(x + y) / static_cast<float>(width + height));
  cv::Mat out;
  img.convertTo(out, depth == CV_16U ? CV_16UC3 : CV_8UC3, depth == CV_16U ? 65535.0 : 255.0);
  if (channels == 1) cv::cvtColor(out, out, cv::COLOR_BGR2GRAY);
  if (channels == 4) cv::cvtColor(out, out, cv::COLOR_BGR2BGRA);
  return out;
}

cv::Mat rect_hole(int width, int height, cv::Rect hole) {
  cv::Mat mask = cv::Mat::zeros(height, width, CV_8U);
  mask(hole).setTo(255);
  return mask;
}

}  // namespace pconv::test

#include "pconv/io/image.h"
#include "pconv/io/safetensors.h"
#include "pconv/nn/vgg16.h"

namespace pconv::test {

void write_random_vgg16(const fs::path& path, uint64_t seed) {
  torch::manual_seed(seed);
  VGG16Features vgg;
  Safetensors file;
  for (const auto& p : vgg->named_parameters()) file.tensors[p.key()] = p.value().detach().clone();
  file.tensors["classifier.0.bias"] = torch::zeros({16});
  write_safetensors(path, file);
}

void write_photos(const fs::path& folder, int count, int width, int height) {
  fs::create_directories(folder);
  cv::RNG rng(static_cast<uint64_t>(count) * 7919 + width);
  for (int i = 0; i < count; ++i) {
    cv::Mat img = test_image(width, height);
    for (int k = 0; k < 6; ++k)
      cv::circle(img, {rng.uniform(0, width), rng.uniform(0, height)}, rng.uniform(5, width / 4),
                 cv::Scalar(rng.uniform(0, 255), rng.uniform(0, 255), rng.uniform(0, 255)), cv::FILLED);
    save_image(folder / ("photo" + std::to_string(i) + ".jpg"), img);
  }
}

int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace pconv::test
