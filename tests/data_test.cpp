// Training data: deterministic batches whatever the threads, resumable, bad files skipped.
#include <gtest/gtest.h>

#include "pconv/data/masks.h"
#include "pconv/data/photos.h"
#include "pconv/io/error.h"
#include "pconv/io/files.h"
#include "pconv/train/batch_loader.h"
#include "test_util.h"

namespace pconv {
namespace {

MaskSource masks(int size) {
  auto gen = std::make_shared<MaskGenerator>(MaskGeneratorOptions(size, size).min_ratio(0.1).max_ratio(0.3), 4);
  return [gen](uint64_t i) { return gen->generate(i); };
}

TEST(Data, ListsImagesRecursively) {
  test::TempDir dir;
  test::write_photos(dir / "a", 2, 80, 60);
  test::write_photos(dir / "a" / "deeper", 3, 80, 60);
  write_file_atomic(dir / "a" / "notes.txt", std::vector<uint8_t>{'x'});
  EXPECT_EQ(list_images(dir / "a").size(), 5u);
  std::filesystem::create_directories(dir / "empty");
  EXPECT_THROW(list_images(dir / "empty"), Error);
  EXPECT_THROW(list_images(dir / "missing"), Error);
}

TEST(Data, BatchesDependOnlyOnSeedAndStep) {
  test::TempDir dir;
  test::write_photos(dir.path(), 5, 120, 90);
  const auto files = list_images(dir.path());
  BatchLoaderOptions o;
  o.batch_size = 3;
  o.image_size = 32;
  o.seed = 17;
  o.workers = 1;
  BatchLoader one(files, masks(32), o);
  o.workers = 3;
  BatchLoader three(files, masks(32), o);
  BatchLoader resumed(files, masks(32), o, /*first_step=*/2);
  std::vector<Batch> a, b;
  for (int i = 0; i < 4; ++i) {
    a.push_back(one.next());
    b.push_back(three.next());
    EXPECT_EQ(a[i].step, static_cast<uint64_t>(i));
    EXPECT_TRUE(torch::equal(a[i].image, b[i].image)) << "step " << i;
    EXPECT_TRUE(torch::equal(a[i].mask, b[i].mask)) << "step " << i;
  }
  const Batch r = resumed.next();
  EXPECT_EQ(r.step, 2u);
  EXPECT_TRUE(torch::equal(r.image, a[2].image));
  EXPECT_EQ(a[0].image.sizes(), (std::vector<int64_t>{3, 3, 32, 32}));
  EXPECT_GE(a[0].image.min().item<float>(), 0.0f);
  EXPECT_LE(a[0].image.max().item<float>(), 1.0f);
  EXPECT_FALSE(torch::equal(a[0].image, a[1].image));
  // Masks are binary, 1 = valid, and hold holes.
  EXPECT_TRUE(torch::equal(a[0].mask, a[0].mask.round()));
  EXPECT_LT(a[0].mask.mean().item<float>(), 1.0f);
}

TEST(Data, UnreadableFilesAreSkippedAndCounted) {
  test::TempDir dir;
  test::write_photos(dir.path(), 2, 64, 64);
  write_file_atomic(dir / "broken.jpg", std::vector<uint8_t>(50, 3));
  BatchLoaderOptions o;
  o.batch_size = 4;
  o.image_size = 32;
  BatchLoader loader(list_images(dir.path()), masks(32), o);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(loader.next().image.size(0), 4);
  EXPECT_EQ(loader.unreadable_files(), 1u);
}

TEST(Data, PhotosAboveThePixelLimitAreSkippedWithTheReason) {
  test::TempDir dir;
  test::write_photos(dir.path(), 2, 64, 64);
  test::write_photos(dir / "big", 1, 200, 150);
  BatchLoaderOptions o;
  o.batch_size = 4;
  o.image_size = 32;
  o.max_pixels = 64 * 64;
  testing::internal::CaptureStderr();
  {
    BatchLoader loader(list_images(dir.path()), masks(32), o);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(loader.next().image.size(0), 4);
    EXPECT_EQ(loader.unreadable_files(), 1u);
  }
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("200x150 is 0.03 megapixels, more than the limit of 0.004096; skipped"), std::string::npos) << err;
}

TEST(Data, CropsCoverTheRequestedSize) {
  test::TempDir dir;
  test::write_photos(dir.path(), 1, 40, 30);  // smaller than the crop: scaled up
  std::mt19937_64 rng(1);
  const cv::Mat base = load_training_base(list_images(dir.path())[0], 64);
  const cv::Mat crop = random_crop(base, 64, true, rng);
  EXPECT_EQ(crop.size(), cv::Size(64, 64));
  EXPECT_EQ(crop.type(), CV_32FC3);
  test::expect_error([&] { load_training_base(dir / "none.jpg", 64); }, "none.jpg: no such file");
}

}  // namespace
}  // namespace pconv
