#pragma once
// A few spots on a large photo should cost what the spots cost, not what the photo does. The
// holes are grouped into regions, each a group's bounding box with the photo around it that the
// network needs to see, and every region is filled on its own; pixels far from any hole are never
// converted, passed through the network or blended.
#include <opencv2/core.hpp>
#include <vector>

namespace pconv {

/// The radius of the largest disc inside the hole (CV_8U, non-zero = hole), in pixels; the image's
/// border is not an edge of the hole.
double hole_radius(const cv::Mat& hole);

/// The scale at which a hole of `radius` is filled so that it is at most `max_radius` wide; 1 when
/// it already is, or when no limit is set (max_radius 0).
double hole_scale(double radius, int max_radius);

/// A rectangle of the image filled on its own, and the radius of its widest hole (hole_radius), so
/// that the scale it is filled at need not be measured again.
struct HoleRegion {
  cv::Rect rect;
  double radius = 0;
};

/// Disjoint rectangles of the image that together hold every hole pixel of `hole` (CV_8U, non-zero
/// = hole; at least one). Each group of holes gets `context` pixels of photo on every side at the
/// scale it is filled at (hole_scale of its radius and `max_hole_radius`), and is grown, where the
/// image allows, to a multiple of `multiple` pixels at full scale, which the network would
/// otherwise pad with hole; groups whose rectangles meet are joined. More than a thousand groups
/// (specks of a noisy mask) make one region around all of them.
std::vector<HoleRegion> plan_regions(const cv::Mat& hole, int context, int max_hole_radius, int multiple);

}  // namespace pconv
