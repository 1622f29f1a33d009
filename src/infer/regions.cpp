#include "pconv/infer/regions.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <opencv2/imgproc.hpp>

namespace pconv {

double hole_radius(const cv::Mat& hole) {
  cv::Mat distance;
  cv::distanceTransform(hole != 0, distance, cv::DIST_L2, cv::DIST_MASK_PRECISE);
  double radius = 0;
  cv::minMaxLoc(distance, nullptr, &radius);
  return radius;
}

double hole_scale(double radius, int max_radius) {
  if (max_radius <= 0 || radius <= max_radius) return 1.0;
  return max_radius / radius;
}

namespace {
constexpr size_t kMaxGroups = 1000;

// Grows [start, start + length) to `target` pixels inside [0, limit), keeping it centred where it can.
void grow_axis(int& start, int& length, int target, int limit) {
  target = std::min(target, limit);
  if (length >= target) return;
  start = std::clamp(start - (target - length) / 2, 0, limit - target);
  length = target;
}

// Joins regions that meet until none do; a joined region can meet others that its parts did not.
// Its radius is its widest part's.
std::vector<HoleRegion> join_meeting(std::vector<HoleRegion> regions) {
  for (bool joined = true; joined;) {
    joined = false;
    std::vector<size_t> parent(regions.size());
    std::iota(parent.begin(), parent.end(), size_t{0});
    const auto root = [&parent](size_t i) {
      while (parent[i] != i) i = parent[i] = parent[parent[i]];
      return i;
    };
    for (size_t i = 0; i < regions.size(); ++i)
      for (size_t j = i + 1; j < regions.size(); ++j)
        if ((regions[i].rect & regions[j].rect).area() > 0 && root(i) != root(j)) {
          parent[root(j)] = root(i);
          joined = true;
        }
    if (!joined) break;
    std::vector<HoleRegion> unions(regions.size());
    for (size_t i = 0; i < regions.size(); ++i) {
      HoleRegion& u = unions[root(i)];
      u.rect = u.rect.area() > 0 ? (u.rect | regions[i].rect) : regions[i].rect;
      u.radius = std::max(u.radius, regions[i].radius);
    }
    regions.clear();
    for (const HoleRegion& u : unions)
      if (u.rect.area() > 0) regions.push_back(u);
  }
  return regions;
}
}  // namespace

std::vector<HoleRegion> plan_regions(const cv::Mat& hole, int context, int max_hole_radius, int multiple) {
  CV_Assert(hole.type() == CV_8U && context >= 0 && multiple > 0);
  const cv::Rect image(0, 0, hole.cols, hole.rows);
  std::vector<std::vector<cv::Point>> outlines;
  cv::findContours(hole != 0, outlines, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_SIMPLE);
  std::vector<HoleRegion> regions;
  // Joining compares every pair: thousands of specks (a noisy or dithered mask) become one region
  // around all of them instead.
  if (outlines.size() > kMaxGroups) {
    std::vector<cv::Point> all;
    for (const auto& outline : outlines) all.insert(all.end(), outline.begin(), outline.end());
    outlines = {std::move(all)};
  }
  for (const auto& outline : outlines) {
    const cv::Rect box = cv::boundingRect(outline);
    // One pixel more on each side gives the distance transform the hole's edge there.
    const cv::Rect ring = (box + cv::Size(2, 2) - cv::Point(1, 1)) & image;
    const double radius = hole_radius(hole(ring)), scale = hole_scale(radius, max_hole_radius);
    const int margin = static_cast<int>(std::ceil(context / scale));
    cv::Rect region = (box + cv::Size(2 * margin, 2 * margin) - cv::Point(margin, margin)) & image;
    if (scale == 1.0) {
      grow_axis(region.x, region.width, (region.width + multiple - 1) / multiple * multiple, image.width);
      grow_axis(region.y, region.height, (region.height + multiple - 1) / multiple * multiple, image.height);
    }
    regions.push_back({region, radius});
  }
  return join_meeting(std::move(regions));
}

}  // namespace pconv
