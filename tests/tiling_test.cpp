// Tiles and regions: coverage, feathered blending without seams, skipping, agreement with one
// pass, and regions that make a fill cost what its holes cost.
#include "pconv/infer/tiling.h"

#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

#include "pconv/infer/inpainter.h"
#include "pconv/infer/poisson_blend.h"
#include "pconv/infer/regions.h"
#include "pconv/io/error.h"
#include "pconv/io/image.h"
#include "test_util.h"

namespace pconv {
namespace {

TEST(Tiling, StartsCoverWithOverlap) {
  EXPECT_EQ(tile_starts(100, 128, 32), std::vector<int>{0});
  EXPECT_EQ(tile_starts(128, 128, 32), std::vector<int>{0});
  for (int length : {129, 200, 300, 1000, 1023, 4097})
    for (int overlap : {0, 16, 63}) {
      const auto s = tile_starts(length, 128, overlap);
      EXPECT_EQ(s.front(), 0);
      EXPECT_EQ(s.back() + 128, length) << "last tile ends at the image edge";
      for (size_t i = 1; i < s.size(); ++i) EXPECT_GE(s[i - 1] + 128 - s[i], overlap) << length;
    }
  EXPECT_THROW(tile_starts(100, 64, 64), Error);
}

TEST(Tiling, FeatherWeightsRampOnlyTowardsNeighbours) {
  const cv::Size image(300, 200);
  const cv::Mat corner = feather_weights({0, 0, 128, 128}, image, 16);
  EXPECT_EQ(corner.at<float>(0, 0), 1.0f) << "flat at the image border";
  EXPECT_LT(corner.at<float>(64, 127), 0.1f) << "ramps towards the next tile";
  EXPECT_GT(corner.at<float>(127, 127), 0.0f);
  double lo;
  cv::minMaxLoc(feather_weights({100, 50, 128, 128}, image, 16), &lo);
  EXPECT_GT(lo, 0.0);
}

TEST(Tiling, PixelwiseFillIsUnchangedByTiling) {
  // A fill that depends on each pixel alone must come out the same however the image is tiled:
  // the blend weights are normalised.
  const cv::Mat rgb = to_rgb_float(test::test_image(300, 200));
  const cv::Mat hole = test::rect_hole(300, 200, {20, 30, 250, 150});
  const TileFill invert = [](const cv::Mat& t, const cv::Mat&) { return cv::Mat(cv::Scalar::all(1.0) - t); };
  const cv::Mat expected = cv::Scalar::all(1.0) - rgb;
  for (int tile : {64, 128, 512}) {
    const cv::Mat out = fill_tiled(rgb, hole, tile, tile / 4, invert);
    EXPECT_LT(cv::norm(out, expected, cv::NORM_INF, hole), 1e-5) << "tile " << tile;
  }
}

TEST(Tiling, NoSeamBetweenDisagreeingTiles) {
  // Each tile predicts its own constant; feathering must turn the jump into a gentle ramp.
  const cv::Mat rgb(256, 512, CV_32FC3, cv::Scalar::all(0.5));
  const cv::Mat hole = test::rect_hole(512, 256, {0, 0, 512, 256});
  int calls = 0;
  const TileFill constant = [&](const cv::Mat& t, const cv::Mat&) {
    return cv::Mat(t.size(), CV_32FC3, cv::Scalar::all((calls++ % 2) ? 1.0 : 0.0));
  };
  const int overlap = 64;
  const cv::Mat out = fill_tiled(rgb, hole, 128, overlap, constant);
  cv::Mat dx, dy;
  cv::absdiff(out.colRange(1, out.cols), out.colRange(0, out.cols - 1), dx);
  cv::absdiff(out.rowRange(1, out.rows), out.rowRange(0, out.rows - 1), dy);
  double jump_x, jump_y;
  cv::minMaxLoc(dx.reshape(1), nullptr, &jump_x);
  cv::minMaxLoc(dy.reshape(1), nullptr, &jump_y);
  // A hard seam would jump by 1; the feathered blend moves at most a few ramp steps per pixel.
  EXPECT_LT(jump_x, 4.0 / overlap);
  EXPECT_LT(jump_y, 4.0 / overlap);
}

TEST(Tiling, TilesWithoutHolesAreSkipped) {
  const cv::Mat rgb = to_rgb_float(test::test_image(512, 512));
  const cv::Mat hole = test::rect_hole(512, 512, {10, 10, 20, 20});
  int calls = 0, last_total = 0;
  const TileFill count = [&](const cv::Mat& t, const cv::Mat&) {
    ++calls;
    return t.clone();
  };
  fill_tiled(rgb, hole, 128, 32, count, [&](int, int total) { last_total = total; });
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(last_total, 1);
  EXPECT_EQ(plan_tiles({512, 512}, 128, 32).size(), 25u);
}

TEST(Regions, EachGroupOfHolesGetsItsContextAndTheNetworksMultiple) {
  cv::Mat hole = cv::Mat::zeros(3000, 4000, CV_8U);
  cv::circle(hole, {1200, 900}, 20, 255, -1);
  cv::circle(hole, {2900, 2100}, 20, 255, -1);
  cv::circle(hole, {2950, 2150}, 5, 255, -1);  // near the second: joined with it
  const std::vector<HoleRegion> regions = plan_regions(hole, 128, 32, 128);
  ASSERT_EQ(regions.size(), 2u);
  const bool in_order = regions[0].rect.contains({1200, 900});
  const cv::Rect first = regions[in_order ? 0 : 1].rect, second = regions[in_order ? 1 : 0].rect;
  EXPECT_EQ(first.size(), cv::Size(384, 384));  // 41 + 2 * 128 grown to 3 * 128
  EXPECT_TRUE(first.contains({1200 - 20 - 128, 900 - 20 - 128}));
  EXPECT_TRUE(first.contains({1200 + 20 + 128, 900 + 20 + 128}));
  EXPECT_TRUE(second.contains({2900 - 20 - 128, 2100 - 20 - 128}));
  EXPECT_TRUE(second.contains({2955 + 128, 2155 + 128}));
  EXPECT_EQ((first & second).area(), 0);

  // Near the border a region is clipped to the image, and shifted to keep the multiple.
  cv::Mat corner = cv::Mat::zeros(3000, 4000, CV_8U);
  cv::circle(corner, {10, 10}, 5, 255, -1);
  const std::vector<HoleRegion> clipped = plan_regions(corner, 128, 32, 128);
  ASSERT_EQ(clipped.size(), 1u);
  EXPECT_EQ(clipped[0].rect, cv::Rect(0, 0, 256, 256));

  // A hole wider than the limit is filled at a reduced scale, so it gets more photo around it.
  cv::Mat wide = cv::Mat::zeros(3000, 4000, CV_8U);
  cv::circle(wide, {2000, 1500}, 128, 255, -1);
  EXPECT_NEAR(hole_radius(wide), 128, 1.5);
  EXPECT_NEAR(hole_scale(hole_radius(wide), 32), 0.25, 0.01);
  const std::vector<HoleRegion> scaled = plan_regions(wide, 128, 32, 128);
  ASSERT_EQ(scaled.size(), 1u);
  EXPECT_GE(scaled[0].rect.width, 257 + 2 * 4 * 128 - 10);
  EXPECT_EQ(hole_scale(100, 0), 1.0);
  EXPECT_EQ(hole_scale(20, 32), 1.0);

  // Groups whose regions meet become one region, which can then meet a third.
  cv::Mat chain = cv::Mat::zeros(600, 2000, CV_8U);
  for (int x : {100, 350, 600}) cv::circle(chain, {x, 300}, 10, 255, -1);
  EXPECT_EQ(plan_regions(chain, 128, 32, 8).size(), 1u);

  // Thousands of specks: one region around them all, planned without comparing every pair.
  cv::Mat specks = cv::Mat::zeros(3000, 4000, CV_8U);
  for (int i = 0; i < 4000; ++i) specks.at<uint8_t>(1000 + (i / 100) * 20, 1000 + (i % 100) * 20) = 255;
  const std::vector<HoleRegion> one = plan_regions(specks, 128, 32, 128);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_TRUE(one[0].rect.contains({1000 - 128, 1000 - 128}));
  EXPECT_TRUE(one[0].rect.contains({1000 + 99 * 20 + 128, 1000 + 39 * 20 + 128}));
}

// Each region carries the radius of its widest hole, measured once when it is planned: the
// inpainter takes the region's scale from it instead of measuring the region's hole again.
TEST(Regions, EachRegionKnowsItsWidestHole) {
  cv::Mat hole = cv::Mat::zeros(3000, 4000, CV_8U);
  cv::circle(hole, {800, 700}, 60, 255, -1);
  cv::circle(hole, {2900, 2100}, 20, 255, -1);
  cv::circle(hole, {2950, 2150}, 5, 255, -1);  // joined with the one beside it, which is wider
  for (const int max_radius : {32, 0}) {       // measured whether or not it sets a scale
    const std::vector<HoleRegion> regions = plan_regions(hole, 128, max_radius, 128);
    ASSERT_EQ(regions.size(), 2u);
    for (const HoleRegion& r : regions) {
      EXPECT_NEAR(r.radius, hole_radius(hole(r.rect)), 1e-9) << "the joined region's own measure";
      EXPECT_NEAR(r.radius, r.rect.contains({800, 700}) ? 60 : 20, 1.5);
    }
  }
}

// A region is filled as if it were the whole image: the fill of a photo with two far-apart spots
// equals, on each spot, the fill of the spot's region alone, and is the photo everywhere else.
TEST(Inpainter, FarApartHolesAreFilledInRegionsOfTheirOwn) {
  test::TempDir dir;
  test::write_tiny_model(dir / "m.safetensors", 3, 0.25);
  const Inpainter inpainter = Inpainter::from_file(dir / "m.safetensors");
  const cv::Mat image = test::test_image(900, 500);
  cv::Mat hole = cv::Mat::zeros(500, 900, CV_8U);
  cv::circle(hole, {100, 100}, 12, 255, -1);
  cv::circle(hole, {700, 380}, 12, 255, -1);
  InpaintOptions options;
  options.tile = 64;
  options.overlap = 16;
  options.context = 24;
  int tiles = 0;
  options.progress = [&](int, int total) { tiles = total; };
  const cv::Mat out = inpainter.inpaint(image, hole, options);
  EXPECT_EQ(cv::norm(out, image, cv::NORM_INF, hole == 0), 0.0);
  const std::vector<HoleRegion> regions = plan_regions(hole, options.context, options.max_hole_radius, 8);
  ASSERT_EQ(regions.size(), 2u);
  int region_tiles = 0;
  for (const HoleRegion& region : regions) {
    const cv::Rect& r = region.rect;
    EXPECT_LE(r.area(), 80 * 80);
    InpaintOptions alone = options;
    alone.context = 0;
    alone.progress = {};
    const cv::Mat part = inpainter.inpaint(image(r), hole(r), alone);
    EXPECT_EQ(cv::norm(part, out(r), cv::NORM_INF), 0.0);
    region_tiles += static_cast<int>(tiles_with_holes(hole(r), options.tile, options.overlap).size());
  }
  EXPECT_EQ(tiles, region_tiles);
  // Context 0 fills the whole image at once: more tiles, and a different (but valid) fill.
  options.context = 0;
  const cv::Mat whole = inpainter.inpaint(image, hole, options);
  EXPECT_GT(tiles, region_tiles);
  EXPECT_EQ(cv::norm(whole, image, cv::NORM_INF, hole == 0), 0.0);
  options.context = -1;
  EXPECT_THROW(inpainter.check(options), Error);
}

TEST(Inpainter, OneTileEqualsOneNetworkPass) {
  test::TempDir dir;
  test::write_tiny_model(dir / "m.safetensors", 3, 0.25);
  const Inpainter inpainter = Inpainter::from_file(dir / "m.safetensors");
  const cv::Mat image = test::test_image(50, 37);
  const cv::Mat hole = test::rect_hole(50, 37, {10, 8, 20, 15});
  InpaintOptions options;
  options.tile = 64;
  options.overlap = 16;
  options.poisson_blend = false;
  const cv::Mat tiled = inpainter.inpaint(image, hole, options);
  cv::Mat direct = image.clone();
  const cv::Mat prediction = inpainter.predict(to_rgb_float(image), hole, options.ensemble);
  composite_into(direct, prediction, hole);
  EXPECT_EQ(cv::norm(tiled, direct, cv::NORM_INF), 0.0);
  // Outside the hole the output is the input, bit for bit.
  cv::Mat keep = hole == 0;
  EXPECT_EQ(cv::norm(tiled, image, cv::NORM_INF, keep), 0.0);
  EXPECT_GT(cv::norm(tiled, image, cv::NORM_INF, hole), 0.0);

  // By default the prediction is blended into the photo before it is pasted.
  options.poisson_blend = true;
  cv::Mat blended = image.clone();
  composite_into(blended, poisson_blend(prediction, to_rgb_float(image), hole), hole);
  EXPECT_EQ(cv::norm(inpainter.inpaint(image, hole, options), blended, cv::NORM_INF), 0.0);
  EXPECT_GT(cv::norm(blended, direct, cv::NORM_INF), 0.0);
}

TEST(Inpainter, LargeImagesAreTiledAndKeepPixelsOutsideTheHole) {
  test::TempDir dir;
  test::write_tiny_model(dir / "m.safetensors", 3, 0.25);
  const Inpainter inpainter = Inpainter::from_file(dir / "m.safetensors");
  const cv::Mat image = test::test_image(300, 170, CV_16U, 4);
  const cv::Mat hole = test::rect_hole(300, 170, {50, 40, 200, 60});
  InpaintOptions options;
  options.tile = 64;
  options.overlap = 16;
  options.max_hole_radius = 0;  // full resolution
  int tiles = 0;
  options.progress = [&](int, int total) { tiles = total; };
  const cv::Mat out = inpainter.inpaint(image, hole, options);
  EXPECT_GT(tiles, 4);
  EXPECT_EQ(out.type(), image.type());
  EXPECT_EQ(cv::norm(out, image, cv::NORM_INF, hole == 0), 0.0);
}

TEST(Inpainter, WideHolesAreFilledAtAReducedScale) {
  test::TempDir dir;
  test::write_tiny_model(dir / "m.safetensors", 3, 0.25);
  const Inpainter inpainter = Inpainter::from_file(dir / "m.safetensors");
  const cv::Mat image = test::test_image(600, 400);
  const cv::Mat hole = test::rect_hole(600, 400, {100, 100, 300, 200});  // inscribed radius 100
  InpaintOptions options;
  options.tile = 64;
  options.overlap = 16;
  int tiles = 0;
  options.progress = [&](int, int total) { tiles = total; };
  auto fill = [&](int max_radius) {
    options.max_hole_radius = max_radius;
    return inpainter.inpaint(image, hole, options);
  };
  const cv::Mat full = fill(0);
  const int full_tiles = tiles;
  const cv::Mat reduced = fill(25);  // a quarter of the size: 150x100, two or three tiles
  EXPECT_LE(tiles, 6);
  EXPECT_GT(full_tiles, 4 * tiles);
  EXPECT_EQ(cv::norm(reduced, image, cv::NORM_INF, hole == 0), 0.0);
  EXPECT_GT(cv::norm(reduced, full, cv::NORM_INF, hole), 0.0);
  // A limit the hole does not reach changes nothing.
  EXPECT_EQ(cv::norm(fill(101), full, cv::NORM_INF), 0.0);
}

// The self-ensemble averages over flips and transposes, so its fill of a mirrored or transposed
// image is the mirrored or transposed fill; a single pass is not (the network is not symmetric).
TEST(Inpainter, EnsembleFillIsSymmetric) {
  test::TempDir dir;
  test::write_tiny_model(dir / "m.safetensors", 3, 0.25);
  const Inpainter inpainter = Inpainter::from_file(dir / "m.safetensors");
  const cv::Mat rgb = to_rgb_float(test::test_image(64, 40));  // multiples of 8: no padding
  const cv::Mat hole = test::rect_hole(64, 40, {9, 5, 30, 17});
  auto mirrored = [&](int ensemble) {
    cv::Mat rgb_m, hole_m, out;
    cv::flip(rgb, rgb_m, 1);
    cv::flip(hole, hole_m, 1);
    cv::flip(inpainter.predict(rgb_m, hole_m, ensemble), out, 1);
    return out;
  };
  auto transposed = [&](int ensemble) {
    cv::Mat rgb_t, hole_t, out;
    cv::transpose(rgb, rgb_t);
    cv::transpose(hole, hole_t);
    cv::transpose(inpainter.predict(rgb_t, hole_t, ensemble), out);
    return out;
  };
  const cv::Mat one = inpainter.predict(rgb, hole, 1), two = inpainter.predict(rgb, hole, 2),
                eight = inpainter.predict(rgb, hole, 8);
  EXPECT_GT(cv::norm(mirrored(1), one, cv::NORM_INF), 1e-3);
  EXPECT_LT(cv::norm(mirrored(2), two, cv::NORM_INF), 1e-5);
  EXPECT_GT(cv::norm(transposed(2), two, cv::NORM_INF), 1e-3);
  EXPECT_LT(cv::norm(mirrored(8), eight, cv::NORM_INF), 1e-5);
  EXPECT_LT(cv::norm(transposed(8), eight, cv::NORM_INF), 1e-5);
}

TEST(Inpainter, RejectsBadInputs) {
  test::TempDir dir;
  test::write_tiny_model(dir / "m.safetensors", 3, 0.25);
  const Inpainter inpainter = Inpainter::from_file(dir / "m.safetensors");
  const cv::Mat image = test::test_image(40, 30);
  EXPECT_THROW(inpainter.inpaint(image, test::rect_hole(30, 40, {0, 0, 5, 5})), Error);
  EXPECT_THROW(inpainter.inpaint(image, test::rect_hole(40, 30, {0, 0, 40, 30})), Error);
  InpaintOptions odd;
  odd.tile = 100;  // not a multiple of 8
  EXPECT_THROW(inpainter.inpaint(image, test::rect_hole(40, 30, {0, 0, 5, 5}), odd), Error);
  InpaintOptions three_passes;
  three_passes.ensemble = 3;
  EXPECT_THROW(inpainter.check(three_passes), Error);
  const cv::Mat none = cv::Mat::zeros(30, 40, CV_8U);
  EXPECT_EQ(cv::norm(inpainter.inpaint(image, none), image, cv::NORM_INF), 0.0);
}

}  // namespace
}  // namespace pconv
