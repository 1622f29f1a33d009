// Fills the holes of a photo with a pconv model, through the installed package:
//   fill MODEL IMAGE MASK OUTPUT      (mask: white = hole)
#include <iostream>

#include "pconv/infer/device.h"
#include "pconv/infer/inpainter.h"
#include "pconv/io/error.h"
#include "pconv/io/image.h"

int main(int argc, char** argv) {
  if (argc != 5) {
    std::cerr << "usage: " << argv[0] << " MODEL IMAGE MASK OUTPUT\n";
    return 2;
  }
  try {
    pconv::set_threads(0);  // every core for LibTorch, one for OpenBLAS (whose own pool would compete)
    const pconv::Inpainter inpainter = pconv::Inpainter::from_file(argv[1]);
    const cv::Mat image = pconv::load_image(argv[2]);
    const cv::Mat hole = pconv::binarize_mask(pconv::load_image(argv[3])).hole;
    pconv::InpaintOptions options;
    options.ensemble = 1;  // one network pass: fast enough for an example
    pconv::save_image(argv[4], inpainter.inpaint(image, hole, options));
  } catch (const pconv::Error& e) {
    std::cerr << "fill: " << e.what() << "\n";
    return 1;
  }
  std::cout << "wrote " << argv[4] << "\n";
}
