// compare_fills: the same holes filled by several methods, side by side, cropped around the
// largest hole and enlarged, for judging texture and artefacts by eye (docs/images).
//
//   compare_fills --row photo.jpg,mask.png [--row …] --method a.safetensors --method telea …
//                 [--label NAME …] [--size 256] [--crop 96] [--zoom 3] [--ensemble 1] --out crops.png
//
// Columns: the masked input, each method's composite, the ground truth. Photos are centre-cropped
// to --size like pconv evaluate's; masks (white = hole) must have that size.
#include <CLI/CLI.hpp>
#include <iostream>
#include <opencv2/imgproc.hpp>

#include "pconv/data/photos.h"
#include "pconv/eval/methods.h"
#include "pconv/io/error.h"
#include "pconv/io/image.h"

namespace {

// A square of side `side` around the centre of the largest hole component, inside the image.
cv::Rect crop_around_hole(const cv::Mat& hole, int side) {
  cv::Mat labels, stats, centroids;
  const int n = cv::connectedComponentsWithStats(hole, labels, stats, centroids);
  int best = 0;
  for (int i = 1; i < n; ++i)
    if (best == 0 || stats.at<int>(i, cv::CC_STAT_AREA) > stats.at<int>(best, cv::CC_STAT_AREA)) best = i;
  const cv::Point c = best == 0 ? cv::Point(hole.cols / 2, hole.rows / 2)
                                : cv::Point(static_cast<int>(centroids.at<double>(best, 0)),
                                            static_cast<int>(centroids.at<double>(best, 1)));
  side = std::min({side, hole.cols, hole.rows});
  const int x = std::clamp(c.x - side / 2, 0, hole.cols - side), y = std::clamp(c.y - side / 2, 0, hole.rows - side);
  return {x, y, side, side};
}

cv::Mat tile(const cv::Mat& image, const cv::Rect& crop, int zoom, const std::string& label) {
  cv::Mat big;
  cv::resize(image(crop), big, cv::Size(), zoom, zoom, cv::INTER_NEAREST);
  cv::Mat out(big.rows + 22, big.cols, CV_8UC3, cv::Scalar::all(255));
  big.copyTo(out(cv::Rect(0, 22, big.cols, big.rows)));
  cv::putText(out, label, {4, 16}, cv::FONT_HERSHEY_SIMPLEX, 0.45, cv::Scalar::all(0), 1, cv::LINE_AA);
  return out;
}

int run(const std::vector<std::string>& rows, const std::vector<std::string>& specs, std::vector<std::string> labels,
        int size, int crop_side, int zoom, const pconv::InpaintOptions& fill_options, const std::string& out) {
  std::vector<std::unique_ptr<pconv::InpaintMethod>> methods;
  methods.reserve(specs.size());
  for (const auto& spec : specs) methods.push_back(pconv::make_method(spec, torch::kCPU, 3, fill_options));
  for (size_t i = labels.size(); i < methods.size(); ++i) labels.push_back(methods[i]->name());
  std::vector<cv::Mat> lines;
  for (const auto& row : rows) {
    const auto comma = row.find(',');
    if (comma == std::string::npos) throw pconv::Error("--row " + row + ": give PHOTO,MASK");
    const std::string photo = row.substr(0, comma), mask = row.substr(comma + 1);
    const cv::Mat truth = pconv::rgb_float_to_bgr8(pconv::load_center_crop(photo, size));
    const cv::Mat hole = pconv::binarize_mask(pconv::load_image(mask)).hole;
    if (hole.size() != truth.size()) throw pconv::Error(mask + ": the mask is not " + std::to_string(size) + " square");
    const cv::Rect crop = crop_around_hole(hole, crop_side);
    cv::Mat masked = truth.clone();
    masked.setTo(cv::Scalar::all(255), hole);
    std::vector<cv::Mat> tiles{tile(masked, crop, zoom, "input")};
    for (size_t m = 0; m < methods.size(); ++m) {
      cv::Mat comp = truth.clone();
      methods[m]->fill(truth, hole).copyTo(comp, hole);
      tiles.push_back(tile(comp, crop, zoom, labels[m]));
    }
    tiles.push_back(tile(truth, crop, zoom, "photo"));
    cv::Mat line;
    cv::hconcat(tiles, line);
    lines.push_back(line);
  }
  cv::Mat sheet;
  cv::vconcat(lines, sheet);
  pconv::save_image(out, sheet);
  std::cout << out << ": " << rows.size() << " rows, " << methods.size() << " methods\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) try {
  CLI::App app("Fills of the same holes by several methods, side by side");
  std::vector<std::string> rows, methods, labels;
  int size = 256, crop = 96, zoom = 3;
  pconv::InpaintOptions fill;
  std::string out;
  app.add_option("--row", rows, "PHOTO,MASK (repeat)")->required();
  app.add_option("--method", methods, "telea, ns, fsr or a model file (repeat)")->required();
  app.add_option("--label", labels, "Column titles, in --method order");
  app.add_option("--size", size, "Centre crop of the photos")->capture_default_str();
  app.add_option("--crop", crop, "Side of the shown square around the largest hole")->capture_default_str();
  app.add_option("--zoom", zoom, "Enlargement (nearest neighbour)")->capture_default_str();
  app.add_option("--ensemble", fill.ensemble, "Network passes of the models")->capture_default_str();
  app.add_option("--out", out, "PNG to write")->required();
  CLI11_PARSE(app, argc, argv);
  return run(rows, methods, labels, size, crop, zoom, fill, out);
} catch (const std::exception& e) {
  std::cerr << "compare_fills: " << e.what() << "\n";
  return 1;
}
