// Fills the holes of a photo with a model written by `pconv export --onnx`, with nothing but
// OpenCV (imgcodecs and dnn): no pconv, no LibTorch.
//
//   fill_opencv MODEL.onnx PHOTO MASK OUT --multiple 64 [--mean R,G,B --std R,G,B]
//
// MASK: non-zero = hole, as pconv's own. --multiple, --mean and --std are the model's input
// conventions, which `pconv export` prints and the file's metadata holds (OpenCV cannot read
// it); mean and std default to ImageNet's, which pconv's own models use.
#include <array>
#include <cstdio>
#include <iostream>
#include <opencv2/dnn.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>

namespace {

std::array<float, 3> parse_triple(const std::string& text) {
  std::array<float, 3> v{};
  if (std::sscanf(text.c_str(), "%f,%f,%f", &v[0], &v[1], &v[2]) != 3)
    throw std::runtime_error("expected three comma-separated numbers, got '" + text + "'");
  return v;
}

// An (N=1, C, H, W) float blob of a float image with C channels.
cv::Mat to_blob(const cv::Mat& image) {
  std::vector<cv::Mat> planes;
  cv::split(image, planes);
  cv::Mat blob({1, image.channels(), image.rows, image.cols}, CV_32F);
  for (int c = 0; c < image.channels(); ++c)
    planes[c].copyTo(cv::Mat(image.rows, image.cols, CV_32F, blob.ptr<float>(0, c)));
  return blob;
}

}  // namespace

int main(int argc, char** argv) try {
  if (argc < 6) {
    std::cerr << "usage: fill_opencv MODEL.onnx PHOTO MASK OUT --multiple N [--mean R,G,B --std R,G,B]\n";
    return 2;
  }
  int multiple = 0;
  std::array<float, 3> mean{0.485f, 0.456f, 0.406f}, std{0.229f, 0.224f, 0.225f};
  for (int i = 5; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--multiple")
      multiple = std::stoi(argv[i + 1]);
    else if (flag == "--mean")
      mean = parse_triple(argv[i + 1]);
    else if (flag == "--std")
      std = parse_triple(argv[i + 1]);
    else
      throw std::runtime_error("unknown option " + flag);
  }
  if (multiple <= 0) throw std::runtime_error("--multiple N is required (pconv export prints it)");

  const cv::Mat photo = cv::imread(argv[2], cv::IMREAD_COLOR), mask = cv::imread(argv[3], cv::IMREAD_GRAYSCALE);
  if (photo.empty() || mask.empty() || photo.size() != mask.size())
    throw std::runtime_error("cannot read the photo and a mask of its size");

  // RGB in [0,1], normalised; pad right and bottom to the multiple, the padding marked as hole.
  cv::Mat rgb;
  cv::cvtColor(photo, rgb, cv::COLOR_BGR2RGB);
  rgb.convertTo(rgb, CV_32FC3, 1.0 / 255);
  cv::Mat normalised = (rgb - cv::Scalar(mean[0], mean[1], mean[2])) / cv::Scalar(std[0], std[1], std[2]);
  cv::Mat valid;
  cv::Mat(mask == 0).convertTo(valid, CV_32F, 1.0 / 255);
  const int rows = (photo.rows + multiple - 1) / multiple * multiple,
            cols = (photo.cols + multiple - 1) / multiple * multiple;
  cv::copyMakeBorder(normalised, normalised, 0, rows - photo.rows, 0, cols - photo.cols, cv::BORDER_CONSTANT, 0);
  cv::copyMakeBorder(valid, valid, 0, rows - photo.rows, 0, cols - photo.cols, cv::BORDER_CONSTANT, 0);

  cv::dnn::Net net = cv::dnn::readNetFromONNX(argv[1]);
  net.setInput(to_blob(normalised), "image");
  net.setInput(to_blob(valid), "mask");
  const cv::Mat prediction = net.forward("prediction");  // (1,3,rows,cols)

  // Back to RGB in [0,1], cropped; the photo's own pixels outside the hole.
  std::vector<cv::Mat> planes;
  for (int c = 0; c < 3; ++c)
    planes.push_back(cv::Mat(rows, cols, CV_32F, const_cast<float*>(prediction.ptr<float>(0, c))) * std[c] + mean[c]);
  cv::Mat fill;
  cv::merge(planes, fill);
  fill = fill(cv::Rect(0, 0, photo.cols, photo.rows));
  cv::Mat fill8;
  cv::cvtColor(fill, fill, cv::COLOR_RGB2BGR);
  fill.convertTo(fill8, CV_8UC3, 255);  // rounds and saturates to [0,255]
  cv::Mat out = photo.clone();
  fill8.copyTo(out, mask != 0);
  if (!cv::imwrite(argv[4], out)) throw std::runtime_error(std::string("cannot write ") + argv[4]);
  return 0;
} catch (const std::exception& e) {
  std::cerr << "fill_opencv: " << e.what() << std::endl;
  return 1;
}
