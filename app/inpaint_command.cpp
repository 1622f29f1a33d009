// pconv inpaint: fill the holes of one image or a folder of images.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iomanip>
#include <opencv2/imgproc.hpp>
#include <optional>
#include <sstream>

#include "commands.h"
#include "pconv/infer/device.h"
#include "pconv/infer/inpainter.h"
#include "pconv/io/error.h"
#include "pconv/io/files.h"
#include "pconv/io/image.h"
#include "pconv/io/log.h"
#include "pconv/io/progress.h"

namespace fs = std::filesystem;

namespace pconv::app {
namespace {

struct Options {
  std::string image, mask, model, style = "smooth", output, device = "auto", precision = "fp32";
  bool invert_mask = false, resize_mask = false, quiet = false, timings = false;
  int threads = 0, jpeg_quality = 95, dilate = 0;
  double max_megapixels = kDefaultMaxPixels / 1e6;
  InpaintOptions inpaint;

  int64_t max_pixels() const { return static_cast<int64_t>(max_megapixels * 1e6); }
};

std::vector<fs::path> images_in(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const fs::path& p = entry.path();
    if (p.filename().string()[0] == '.' || !is_image_file(p)) continue;
    std::error_code ec;
    if (entry.is_symlink(ec) && !fs::exists(p, ec))
      log_warning(p.string() + ": a link to nothing (" + fs::read_symlink(p, ec).string() + "); skipped");
    else if (entry.is_regular_file(ec))
      files.push_back(p);
  }
  std::sort(files.begin(), files.end());
  return files;
}

// The mask of `image` in a mask folder: the same file name, the same stem with any image
// extension, or LaMa's <stem>_mask*.
fs::path find_mask(const fs::path& mask_dir, const fs::path& image) {
  std::error_code ec;
  if (fs::exists(mask_dir / image.filename(), ec)) return mask_dir / image.filename();
  const std::string stem = image.stem().string();
  std::vector<fs::path> lama;
  for (const auto& p : images_in(mask_dir)) {
    if (p.stem().string() == stem) return p;
    if (p.stem().string().rfind(stem + "_mask", 0) == 0) lama.push_back(p);
  }
  if (!lama.empty()) return lama.front();
  return {};
}

// Loads the hole mask for `image`: a mask file when given, else the image's own transparency.
HoleMask hole_for(const cv::Mat& image, const fs::path& image_path, const fs::path& mask_path, const Options& o) {
  const cv::Mat raw = mask_path.empty() ? cv::Mat() : load_image(mask_path, o.max_pixels());
  std::optional<HoleMask> found = image_hole(image, raw, o.invert_mask);
  if (!found) throw Error(image_path.string() + ": no mask given and the image has no alpha channel to serve as one");
  HoleMask& mask = *found;
  if (mask.from_alpha) return mask;
  if (mask.gray_fraction > 0.01) {
    std::ostringstream msg;
    msg << mask_path.string() << ": " << std::fixed << std::setprecision(1) << 100.0 * mask.gray_fraction
        << "% of pixels are neither black nor white (JPEG or smooth scaling?); thresholded at 127";
    log_warning(msg.str());
  }
  if (mask.hole.size() != image.size()) {
    const std::string sizes = mask_path.string() + " is " + std::to_string(raw.cols) + "x" + std::to_string(raw.rows) +
                              " but " + image_path.string() + " is " + std::to_string(image.cols) + "x" +
                              std::to_string(image.rows);
    if (!o.resize_mask) throw Error(sizes + " (pass --resize-mask to scale the mask)");
    log_info(sizes + "; mask resized (nearest neighbour)");
    cv::resize(mask.hole, mask.hole, image.size(), 0, 0, cv::INTER_NEAREST);
  }
  return mask;
}

TileProgress tile_progress(const std::string& name, bool quiet) {
  auto line = std::make_shared<ProgressLine>(quiet);
  if (!line->drawing()) return {};
  return [name, line](int done, int total) {
    if (total < 2) return;
    line->show("pconv: " + name + ": tile " + std::to_string(done) + "/" + std::to_string(total) + " (" +
               std::to_string(100 * done / total) + "%)");
    if (done == total) line->finish();
  };
}

// Creates the output's folder, as folder mode does, once there is something to write into it.
void create_parent_folder(const fs::path& output) {
  std::error_code ec;
  const fs::path folder = output.parent_path();
  if (folder.empty() || fs::is_directory(folder, ec)) return;
  fs::create_directories(folder, ec);
  if (ec) throw Error(folder.string() + ": cannot create the output folder (" + ec.message() + ")");
}

// Fills one image and writes the result; throws pconv::Error on any problem with this file.
void inpaint_file(const Inpainter& inpainter, const fs::path& image_path, const fs::path& mask_path,
                  const fs::path& output_path, const Options& o, Timings job_timings = {}) {
  const Stopwatch stopwatch;
  Timings* timings = o.timings ? &job_timings : nullptr;
  std::error_code ec;
  for (const auto& [input, role] : {std::pair{image_path, "image"}, std::pair{mask_path, "mask"}})
    if (!input.empty() && fs::exists(output_path, ec) && fs::equivalent(input, output_path, ec))
      throw Error(output_path.string() + ": this is the input " + role +
                  "; refusing to overwrite it (choose another --output)");
  cv::Mat image;
  {
    const Timings::Scope scope(timings, "decode image");
    image = load_image(image_path, o.max_pixels());
  }
  HoleMask mask;
  int hole_pixels = 0;
  {
    const Timings::Scope scope(timings, "mask (read, threshold)");
    mask = hole_for(image, image_path, mask_path, o);
    mask.hole = grow_hole(mask.hole, o.dilate);
    hole_pixels = cv::countNonZero(mask.hole);
  }
  const cv::Mat& hole = mask.hole;
  if (hole_pixels == 0) {
    log_info(image_path.string() + ": the mask has no hole pixels; the output is the input unchanged");
    create_parent_folder(output_path);
    if (lower_extension(image_path) == lower_extension(output_path)) {
      write_file_atomic(output_path, read_file(image_path));
    } else {
      save_image(output_path, image, o.jpeg_quality);
    }
    return;
  }
  InpaintOptions options = o.inpaint;
  options.opaque_fill = mask.from_alpha;
  options.progress = tile_progress(image_path.filename().string(), o.quiet);
  options.timings = timings;
  cv::Mat result;
  try {
    result = inpainter.inpaint(image, hole, options);
  } catch (const Error& e) {
    throw Error(image_path.string() + ": " + e.what());
  }
  {
    const Timings::Scope scope(timings, "encode and write");
    create_parent_folder(output_path);
    save_image(output_path, result, o.jpeg_quality);
  }
  const double seconds = stopwatch.seconds();
  std::ostringstream msg;
  msg << output_path.string() << ": filled " << hole_pixels << " hole pixels of " << image.cols << "x" << image.rows
      << " in " << std::fixed << std::setprecision(2) << seconds << " s";
  log_info(msg.str());
  if (timings) std::cerr << "pconv: timings of " << image_path.string() << ":\n" << timings->report();
}

int run_folder(const Inpainter& inpainter, const Options& o) {
  const fs::path image_dir = o.image, output_dir = o.output;
  std::error_code ec;
  if (fs::exists(output_dir, ec) && !fs::is_directory(output_dir, ec))
    throw Error(output_dir.string() + ": --image is a folder, so --output must be a folder too");
  if (fs::exists(output_dir, ec) && fs::equivalent(image_dir, output_dir, ec))
    throw Error(output_dir.string() +
                ": the output folder must differ from the image folder (inputs would be overwritten)");
  if (!o.mask.empty() && fs::exists(output_dir, ec) && fs::equivalent(o.mask, output_dir, ec))
    throw Error(output_dir.string() +
                ": the output folder must differ from the mask folder (masks would be overwritten)");
  const std::vector<fs::path> images = images_in(image_dir);
  if (images.empty()) throw Error(image_dir.string() + ": no images (png, jpg, webp, bmp, tiff) in this folder");
  fs::create_directories(output_dir, ec);
  if (ec) throw Error(output_dir.string() + ": cannot create folder (" + ec.message() + ")");

  const bool mask_is_dir = !o.mask.empty() && fs::is_directory(o.mask, ec);
  if (!o.mask.empty() && !mask_is_dir && !fs::exists(o.mask, ec)) throw Error(o.mask + ": no such file or folder");
  int failed = 0, index = 0;
  const int total = static_cast<int>(images.size());
  for (const fs::path& image : images) {
    ++index;
    if (!o.quiet)
      log_info("[" + std::to_string(index) + "/" + std::to_string(total) + "] " + image.filename().string());
    try {
      fs::path mask = o.mask;
      if (mask_is_dir) {
        mask = find_mask(o.mask, image);
        if (mask.empty() && load_image(image, o.max_pixels()).channels() != 4)
          throw Error(image.string() + ": no mask for it in " + o.mask + " (looked for the same name, the same stem, " +
                      image.stem().string() + "_mask*)");
      }
      inpaint_file(inpainter, image, mask, output_dir / image.filename(), o);
    } catch (const std::exception& e) {
      ++failed;
      std::cerr << "pconv: error: " << describe(e) << std::endl;
    }
  }
  if (failed > 0) {
    std::cerr << "pconv: error: " << failed << " of " << total << " images failed" << std::endl;
    return 1;
  }
  log_info("all " + std::to_string(total) + " images written to " + output_dir.string());
  return 0;
}

int run(const Options& o) {
  set_quiet(o.quiet);
  set_threads(o.threads);
  std::error_code ec;
  if (!fs::exists(o.image, ec)) throw Error(o.image + ": no such file or folder");
  if (!(o.max_megapixels > 0))
    throw Error("--max-megapixels " + std::to_string(o.max_megapixels) + ": must be positive");
  if (o.jpeg_quality < 1 || o.jpeg_quality > 100)
    throw Error("--jpeg-quality " + std::to_string(o.jpeg_quality) + ": must be 1..100");
  const torch::Device device = parse_device(o.device);
  const torch::Dtype precision = parse_precision(o.precision, device);
  const fs::path model_path = resolve_model(o.model, o.style);
  // Start-up stages go to the first image's timings (the only one in single-file mode).
  Timings startup;
  startup.add("process start, library init", seconds_since_process_start());
  Model model;
  model = load_model(model_path, device, &startup);
  std::optional<Inpainter> loaded;
  {
    const Timings::Scope scope(&startup, "model prepared (BN fold, layout)");
    loaded.emplace(std::move(model), device, model_path.string(), precision);
  }
  const Inpainter& inpainter = *loaded;
  inpainter.check(o.inpaint);
  if (!o.timings) startup = {};

  if (fs::is_directory(o.image, ec)) {
    if (o.timings) std::cerr << "pconv: start-up timings:\n" << startup.report();
    return run_folder(inpainter, o);
  }
  // An existing folder, or one to be made ("out/"), receives the image under its own name.
  fs::path output = o.output;
  const bool folder = fs::is_directory(output, ec) || (!o.output.empty() && o.output.back() == '/');
  if (folder) output /= fs::path(o.image).filename();
  if (!o.mask.empty() && fs::is_directory(o.mask, ec))
    throw Error(o.mask + ": --mask is a folder, but --image is a single file");
  if (!is_image_extension(lower_extension(output)))
    throw Error(output.string() + ": cannot tell an image format from the extension (use .png, .jpg, ...)");
  inpaint_file(inpainter, o.image, o.mask, output, o, std::move(startup));
  return 0;
}

}  // namespace

Run add_inpaint_command(CLI::App& root) {
  auto o = std::make_shared<Options>();
  CLI::App* cmd = root.add_subcommand("inpaint", "Fill the holes of an image, or of every image in a folder");
  cmd->add_option("--image,-i", o->image, "Image file, or a folder of images")->required();
  cmd->add_option("--mask,-m", o->mask,
                  "Mask file (white / non-zero = hole), one mask for every image, or a folder of masks paired by "
                  "file name (name, stem, or <stem>_mask*). Without it, the image's transparency is the hole");
  auto* model = cmd->add_option("--model", o->model, "Model file (.safetensors); default: the bundled model");
  add_style_option(cmd, o->style, model);
  cmd->add_option("--output,-o", o->output, "Output file, or folder (with a folder of images)")->required();
  cmd->add_flag("--invert-mask", o->invert_mask,
                "Read masks in the paper's convention: white = keep, black = hole (default: off)");
  cmd->add_flag("--resize-mask", o->resize_mask,
                "Scale a mask whose size differs from the image, nearest neighbour (default: off)");
  add_fill_options(cmd, o->inpaint);
  add_dilate_option(cmd, o->dilate);
  cmd->add_option("--device", o->device, "auto, cpu, cuda or cuda:N")->capture_default_str();
  add_precision_option(cmd, o->precision);
  cmd->add_option("--threads", o->threads, "CPU threads; 0 = every core")->capture_default_str();
  cmd->add_option("--jpeg-quality", o->jpeg_quality, "Quality of JPEG outputs (1-100)")->capture_default_str();
  cmd->add_option("--max-megapixels", o->max_megapixels, "Largest image or mask, read from its header before decoding")
      ->capture_default_str();
  cmd->add_flag("--quiet,-q", o->quiet, "Only warnings and errors on stderr (default: off)");
  cmd->add_flag("--timings", o->timings,
                "Print where the time goes on stderr: start-up, model loading, decoding, each network pass, "
                "blending, encoding (default: off)");
  return [o] { return run(*o); };
}

}  // namespace pconv::app
