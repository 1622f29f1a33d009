// Writes what the web page and documentation tests serve, upload and train on: a tiny model, a
// photo and a mask, a large photo, a folder of photos, into the folder given as the only argument.
#include <iostream>
#include <opencv2/imgcodecs.hpp>

#include "pconv/io/image.h"
#include "test_util.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_web_fixtures FOLDER" << std::endl;
    return 2;
  }
  const std::filesystem::path out = argv[1];
  std::filesystem::create_directories(out);
  pconv::test::write_tiny_model(out / "model.safetensors", 3, 0.25);
  pconv::save_image(out / "photo.png", pconv::test::test_image(320, 240));
  pconv::save_image(out / "mask.png", pconv::test::rect_hole(320, 240, {200, 40, 60, 50}));
  pconv::save_image(out / "large.png", pconv::test::test_image(2400, 1600));  // shown scaled down
  pconv::test::write_photos(out / "photos", 4, 160, 160);                     // to train on
  return 0;
}
