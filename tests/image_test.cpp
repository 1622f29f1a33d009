// Images and masks as users have them: depths, channels, EXIF orientation, mask conventions.
#include "pconv/io/image.h"

#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>

#include "pconv/io/error.h"
#include "pconv/io/files.h"
#include "test_util.h"

namespace pconv {
namespace {
namespace fs = std::filesystem;

bool same(const cv::Mat& a, const cv::Mat& b) {
  return a.size() == b.size() && a.type() == b.type() && cv::norm(a, b, cv::NORM_INF) == 0;
}

TEST(Image, LosslessRoundTripOfDepthsAndChannels) {
  test::TempDir dir;
  for (int depth : {CV_8U, CV_16U})
    for (int channels : {1, 3, 4}) {
      const cv::Mat img = test::test_image(37, 23, depth, channels);
      const auto path = dir / ("x" + std::to_string(depth) + std::to_string(channels) + ".png");
      save_image(path, img);
      EXPECT_TRUE(same(load_image(path), img)) << "depth " << depth << " channels " << channels;
    }
}

// A JPEG whose EXIF says "rotate 90° clockwise to display" (orientation 6).
std::vector<uint8_t> jpeg_with_orientation(const cv::Mat& img, uint16_t orientation) {
  std::vector<uint8_t> jpeg;
  cv::imencode(".jpg", img, jpeg);
  const std::vector<uint8_t> tiff = {'I',  'I',  42, 0, 8, 0, 0, 0,  // little-endian TIFF, IFD at 8
                                     1,    0,                        // one entry
                                     0x12, 0x01, 3,  0, 1, 0, 0, 0, static_cast<uint8_t>(orientation),
                                     0,    0,    0,  0, 0, 0, 0};  // no next IFD
  std::vector<uint8_t> app1 = {0xFF, 0xE1, 0, 0, 'E', 'x', 'i', 'f', 0, 0};
  app1.insert(app1.end(), tiff.begin(), tiff.end());
  const size_t length = app1.size() - 2;
  app1[2] = static_cast<uint8_t>(length >> 8);
  app1[3] = static_cast<uint8_t>(length & 0xFF);
  jpeg.insert(jpeg.begin() + 2, app1.begin(), app1.end());
  return jpeg;
}

TEST(Image, ExifOrientationIsApplied) {
  test::TempDir dir;
  cv::Mat img(20, 40, CV_8UC3, cv::Scalar(0, 0, 0));
  img(cv::Rect(20, 0, 20, 20)).setTo(cv::Scalar(255, 255, 255));  // right half white
  write_file_atomic(dir / "rotated.jpg", jpeg_with_orientation(img, 6));
  const cv::Mat loaded = load_image(dir / "rotated.jpg");
  ASSERT_EQ(loaded.cols, 20);
  ASSERT_EQ(loaded.rows, 40);
  // Rotated clockwise, the white right half ends up at the bottom.
  EXPECT_GT(loaded.at<cv::Vec3b>(35, 10)[0], 200);
  EXPECT_LT(loaded.at<cv::Vec3b>(5, 10)[0], 50);
}

TEST(Image, LoadErrorsNameTheFile) {
  test::TempDir dir;
  EXPECT_THROW(load_image(dir / "none.png"), Error);
  write_file_atomic(dir / "empty.png", std::vector<uint8_t>{});
  write_file_atomic(dir / "text.png", std::vector<uint8_t>{'h', 'e', 'l', 'l', 'o'});
  std::vector<uint8_t> png;
  cv::imencode(".png", test::test_image(64, 64), png);
  png.resize(png.size() / 3);
  write_file_atomic(dir / "truncated.png", png);
  for (const char* name : {"empty.png", "text.png", "truncated.png"}) {
    try {
      load_image(dir / name);
      ADD_FAILURE() << name << " loaded";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
  }
}

TEST(Mask, WhiteIsHoleThresholdAt127) {
  cv::Mat raw = (cv::Mat_<uint8_t>(1, 6) << 0, 100, 127, 128, 200, 255);
  const HoleMask m = binarize_mask(raw);
  const cv::Mat expected = (cv::Mat_<uint8_t>(1, 6) << 0, 0, 0, 255, 255, 255);
  EXPECT_TRUE(same(m.hole, expected));
  EXPECT_NEAR(m.gray_fraction, 4.0 / 6.0, 1e-9);
  const cv::Mat inverted = (cv::Mat_<uint8_t>(1, 6) << 255, 255, 255, 0, 0, 0);
  EXPECT_TRUE(same(binarize_mask(raw, true).hole, inverted));
}

TEST(Mask, ColourAndSixteenBitMasks) {
  cv::Mat colour(1, 3, CV_8UC3, cv::Scalar(0, 0, 0));
  colour.at<cv::Vec3b>(0, 1) = {0, 0, 255};  // pure red is painted, so a hole
  const HoleMask m = binarize_mask(colour);
  EXPECT_EQ(m.hole.at<uint8_t>(0, 0), 0);
  EXPECT_EQ(m.hole.at<uint8_t>(0, 1), 255);
  EXPECT_EQ(m.gray_fraction, 0.0);
  cv::Mat wide = (cv::Mat_<uint16_t>(1, 3) << 0, 65535, 20000);
  EXPECT_TRUE(same(binarize_mask(wide).hole, (cv::Mat_<uint8_t>(1, 3) << 0, 255, 0)));
}

TEST(Mask, AlphaTransparencyIsHole) {
  cv::Mat rgba = test::test_image(4, 1, CV_8U, 4);
  rgba.at<cv::Vec4b>(0, 1)[3] = 0;
  rgba.at<cv::Vec4b>(0, 2)[3] = 100;
  EXPECT_TRUE(same(alpha_hole_mask(rgba), (cv::Mat_<uint8_t>(1, 4) << 0, 255, 255, 0)));
  EXPECT_THROW(alpha_hole_mask(test::test_image(4, 1)), Error);
}

TEST(Image, CompositeChangesOnlyHolePixels) {
  // Tall enough for several of composite_into's row bands, the hole across their boundaries.
  const int width = 16, height = 600;
  for (int depth : {CV_8U, CV_16U})
    for (int channels : {1, 3, 4}) {
      const cv::Mat original = test::test_image(width, height, depth, channels);
      const cv::Mat hole = test::rect_hole(width, height, {3, 250, 5, 300});
      cv::Mat image = original.clone();
      composite_into(image, cv::Mat(height, width, CV_32FC3, cv::Scalar(1, 0, 0)), hole);
      cv::Mat diff;
      cv::compare(image.reshape(1), original.reshape(1), diff, cv::CMP_NE);
      const cv::Mat keep = hole == 0;
      for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x)
          for (int c = 0; c < channels; ++c) {
            const bool changed = diff.at<uint8_t>(y, x * channels + c) != 0;
            if (keep.at<uint8_t>(y, x)) {
              ASSERT_FALSE(changed) << "pixel outside the hole changed";
            }
            if (channels == 4 && c == 3) {
              ASSERT_FALSE(changed) << "alpha changed";
            }
          }
      for (int y : {250, 255, 256, 511, 512, 549}) {
        if (channels == 3 && depth == CV_8U) {
          EXPECT_EQ(image.at<cv::Vec3b>(y, 5), cv::Vec3b(0, 0, 255)) << "row " << y;
        }
        if (channels == 3 && depth == CV_16U) {
          EXPECT_EQ(image.at<cv::Vec3w>(y, 5), cv::Vec3w(0, 0, 65535)) << "row " << y;
        }
      }
    }
}

TEST(Image, SaveIsAtomicAndChecksTheFormat) {
  test::TempDir dir;
  EXPECT_THROW(save_image(dir / "out.xyz", test::test_image(8, 8)), Error);
  EXPECT_THROW(save_image(dir / "missing" / "out.png", test::test_image(8, 8)), Error);
  EXPECT_FALSE(fs::exists(dir / "missing"));
  // 16 bits into JPEG: reduced with a warning, not an error.
  save_image(dir / "wide.jpg", test::test_image(8, 8, CV_16U));
  EXPECT_EQ(load_image(dir / "wide.jpg").depth(), CV_8U);
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir.path())) files += e.is_regular_file();
  EXPECT_EQ(files, 1) << "no temporary files left behind";
}

}  // namespace
}  // namespace pconv

namespace pconv {
namespace {

TEST(Image, DimensionsFromTheHeaderOfEveryServedFormat) {
  const cv::Mat image = test::test_image(37, 23);
  for (const char* ext : {".png", ".jpg", ".webp", ".bmp"}) {
    const std::optional<cv::Size> size = image_dimensions(encode_image(image, ext, "test"));
    ASSERT_TRUE(size) << ext;
    EXPECT_EQ(*size, cv::Size(37, 23)) << ext;
  }
  EXPECT_FALSE(image_dimensions({}));
  EXPECT_FALSE(image_dimensions({'h', 'e', 'l', 'l', 'o'}));
  EXPECT_FALSE(image_dimensions(encode_image(image, ".tiff", "test"))) << "TIFF's size is not read from a header";
}

TEST(Image, DecodeRefusesMorePixelsThanTheLimitBeforeDecoding) {
  const std::vector<uint8_t> bytes = encode_image(test::test_image(200, 100), ".png", "test");
  EXPECT_EQ(decode_image(bytes, "upload", 20000).size(), cv::Size(200, 100));
  test::expect_error([&] { decode_image(bytes, "upload", 19999); },
                     "upload: 200x100 is 0.02 megapixels, more than the limit of 0.019999");
  // A 30000x30000 PNG header over a few bytes of data: refused without allocating 2.7 GB.
  std::vector<uint8_t> bomb = encode_image(cv::Mat::zeros(1, 1, CV_8U), ".png", "test");
  const uint8_t side[4] = {0x00, 0x00, 0x75, 0x30};
  std::copy(side, side + 4, bomb.begin() + 16);
  std::copy(side, side + 4, bomb.begin() + 20);
  test::expect_error([&] { decode_image(bomb, "bomb.png", 40'000'000); }, "bomb.png: 30000x30000 is 900 megapixels");
  // In colour, 30000x30000 would decode to 2.7 GB: too large for stb to report, but not to read.
  std::vector<uint8_t> rgb_bomb = encode_image(test::test_image(1, 1), ".png", "test");
  std::copy(side, side + 4, rgb_bomb.begin() + 16);
  std::copy(side, side + 4, rgb_bomb.begin() + 20);
  EXPECT_EQ(image_dimensions(rgb_bomb), cv::Size(30000, 30000));
  std::vector<uint8_t> jpeg_bomb = encode_image(test::test_image(8, 8), ".jpg", "test");
  for (size_t i = 2; i + 8 < jpeg_bomb.size(); i += 2 + (jpeg_bomb[i + 2] << 8 | jpeg_bomb[i + 3]))
    if (jpeg_bomb[i + 1] == 0xC0) {
      std::copy(side + 2, side + 4, jpeg_bomb.begin() + static_cast<std::ptrdiff_t>(i) + 5);
      std::copy(side + 2, side + 4, jpeg_bomb.begin() + static_cast<std::ptrdiff_t>(i) + 7);
      break;
    }
  EXPECT_EQ(image_dimensions(jpeg_bomb), cv::Size(30000, 30000));
  test::expect_error([&] { decode_image(encode_image(test::test_image(8, 8), ".tiff", "t"), "t.tiff", 1000); },
                     "t.tiff: not a PNG, JPEG, WebP or BMP image");
  EXPECT_EQ(decode_image(encode_image(test::test_image(8, 8), ".tiff", "t"), "t.tiff").size(), cv::Size(8, 8))
      << "without a limit, every format OpenCV reads";
}

TEST(Image, TruncatedOrCorruptJpegsAreRefusedNamingTheFile) {
  const std::vector<uint8_t> jpeg = encode_image(test::test_image(160, 120), ".jpg", "test");
  EXPECT_EQ(decode_image(jpeg, "whole.jpg").size(), cv::Size(160, 120));
  for (size_t keep : {jpeg.size() - 2, jpeg.size() * 3 / 4, jpeg.size() / 2}) {
    const std::vector<uint8_t> cut(jpeg.begin(), jpeg.begin() + static_cast<std::ptrdiff_t>(keep));
    test::expect_error([&] { decode_image(cut, "cut.jpg"); }, "cut.jpg: corrupt or truncated JPEG");
  }
  // A marker inside the entropy-coded data: libjpeg warns and carries on with grey rows.
  std::vector<uint8_t> damaged = jpeg;
  const size_t middle = jpeg.size() / 2;
  damaged[middle] = 0xFF;
  damaged[middle + 1] = 0xD0 + 5;
  test::expect_error([&] { decode_image(damaged, "damaged.jpg"); }, "damaged.jpg: corrupt or truncated JPEG");
}

TEST(Image, TruncatedOrCorruptPngsAreRefusedNamingTheFile) {
  const std::vector<uint8_t> png = encode_image(test::test_image(160, 120), ".png", "test");
  EXPECT_EQ(decode_image(png, "whole.png").size(), cv::Size(160, 120));
  const std::vector<uint8_t> cut(png.begin(), png.begin() + static_cast<std::ptrdiff_t>(png.size() * 2 / 3));
  test::expect_error([&] { decode_image(cut, "cut.png"); },
                     "cut.png: corrupt or truncated PNG: the IDAT chunk runs past");
  const std::vector<uint8_t> no_end(png.begin(), png.end() - 12);
  test::expect_error([&] { decode_image(no_end, "no_end.png"); },
                     "no_end.png: corrupt or truncated PNG: the data ends");
  std::vector<uint8_t> flipped = png;
  flipped[png.size() / 2] ^= 0x01;
  test::expect_error([&] { decode_image(flipped, "flipped.png"); },
                     "flipped.png: corrupt or truncated PNG: the IDAT chunk fails its CRC");
}

TEST(Image, LoadImageAppliesThePixelLimit) {
  test::TempDir dir;
  write_file_atomic(dir / "a.png", encode_image(test::test_image(200, 100), ".png", "test"));
  EXPECT_EQ(load_image(dir / "a.png").size(), cv::Size(200, 100));
  test::expect_error([&] { load_image(dir / "a.png", 19999); }, "a.png: 200x100 is 0.02 megapixels");
  write_file_atomic(dir / "a.tiff", encode_image(test::test_image(200, 100), ".tiff", "test"));
  // Formats without a header reader are checked after decoding.
  test::expect_error([&] { load_image(dir / "a.tiff", 19999); }, "a.tiff: 200x100");
}

}  // namespace
}  // namespace pconv
