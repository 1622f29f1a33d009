// Writes the seed corpus of the fuzz targets (tests/fuzz/corpus): small valid inputs of every
// kind each target reads, from which the fuzzer mutates. Run once; the output is committed.
//   make_corpus tests/fuzz/corpus
#include <cstdio>
#include <filesystem>
#include <opencv2/imgproc.hpp>
#include <string>

#include "pconv/io/files.h"
#include "pconv/io/image.h"
#include "pconv/nn/model_file.h"
#include "pconv/nn/unet.h"

namespace fs = std::filesystem;

namespace {

void put(const fs::path& path, const std::string& bytes) { pconv::write_file_atomic(path, bytes.data(), bytes.size()); }

std::string text(const std::vector<uint8_t>& b) { return std::string(b.begin(), b.end()); }

std::string multipart(const std::vector<std::pair<std::string, std::string>>& fields, bool chunked) {
  std::string body;
  for (const auto& [name, value] : fields)
    body += "--b\r\nContent-Disposition: form-data; name=\"" + name + "\"; filename=\"" + name +
            ".png\"\r\nContent-Type: image/png\r\n\r\n" + value + "\r\n";
  body += "--b--\r\n";
  std::string head =
      "POST /api/v1/inpaint HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=b\r\n";
  if (!chunked) return head + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  char size[32];
  std::snprintf(size, sizeof size, "%zx\r\n", body.size());
  return head + "Transfer-Encoding: chunked\r\n\r\n" + size + body + "\r\n0\r\n\r\n";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_corpus FOLDER\n");
    return 2;
  }
  const fs::path root = argv[1];
  for (const char* t : {"fuzz_model_file", "fuzz_decode_image", "fuzz_http_request"}) fs::create_directories(root / t);

  cv::Mat rgb(12, 16, CV_8UC3);
  for (int y = 0; y < rgb.rows; ++y)
    for (int x = 0; x < rgb.cols; ++x) rgb.at<cv::Vec3b>(y, x) = cv::Vec3b(x * 16, y * 20, (x + y) * 8);
  cv::Mat gray, gray16, rgba, hole = cv::Mat::zeros(12, 16, CV_8U);
  cv::cvtColor(rgb, gray, cv::COLOR_BGR2GRAY);
  gray.convertTo(gray16, CV_16U, 257);
  cv::cvtColor(rgb, rgba, cv::COLOR_BGR2BGRA);
  rgba(cv::Rect(4, 4, 6, 4)).setTo(cv::Scalar(0, 0, 0, 0));
  hole(cv::Rect(4, 4, 6, 4)).setTo(255);
  const fs::path images = root / "fuzz_decode_image";
  for (const char* ext : {".png", ".jpg", ".webp", ".bmp"})
    put(images / (std::string("rgb") + ext), text(pconv::encode_image(rgb, ext, "seed")));
  put(images / "gray.jpg", text(pconv::encode_image(gray, ".jpg", "seed")));
  put(images / "gray16.png", text(pconv::encode_image(gray16, ".png", "seed")));
  put(images / "rgba.png", text(pconv::encode_image(rgba, ".png", "seed")));
  put(images / "rgba.webp", text(pconv::encode_image(rgba, ".webp", "seed")));

  pconv::ModelInfo info;
  info.architecture.depth(2).width(0.02);
  pconv::PConvUNet net(info.architecture);
  pconv::save_model(root / "fuzz_model_file" / "depth2.safetensors", net, info);
  pconv::save_model(root / "fuzz_model_file" / "depth2-fp16.safetensors", net, info, torch::kFloat16);
  info.architecture.partial(false);
  pconv::PConvUNet plain(info.architecture);
  pconv::save_model(root / "fuzz_model_file" / "plain.safetensors", plain, info);

  const fs::path http = root / "fuzz_http_request";
  const std::string png = text(pconv::encode_image(rgb, ".png", "seed")),
                    mask = text(pconv::encode_image(hole, ".png", "seed"));
  put(http / "fill.http", multipart({{"image", png}, {"mask", mask}, {"format", "jpeg"}}, false));
  put(http / "fill-chunked.http", multipart({{"image", png}, {"mask", mask}, {"invert_mask", "true"}}, true));
  put(http / "fill-alpha.http", multipart({{"image", text(pconv::encode_image(rgba, ".png", "seed"))}}, false));
  put(http / "health.http", "GET /api/v1/health HTTP/1.1\r\nHost: localhost\r\n\r\nGET /api/v1/model HTTP/1.1\r\n\r\n");
  put(http / "page.http",
      "GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nOrigin: http://127.0.0.1:8080\r\nRange: bytes=0-10\r\n\r\n");
  put(http / "options.http", "OPTIONS /api/v1/inpaint HTTP/1.1\r\nHost: [::1]\r\nOrigin: http://a.example\r\n\r\n");
  put(http / "delete.http", "DELETE /api/v1/%ff HTTP/1.1\r\nAuthorization: Bearer x\r\n\r\n");
  return 0;
}
