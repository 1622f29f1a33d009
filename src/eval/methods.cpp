// The compared methods: OpenCV's classical inpainting and pconv models behind one interface.
#include "pconv/eval/methods.h"

#include <opencv2/photo.hpp>
#ifdef PCONV_HAVE_XPHOTO
#include <opencv2/xphoto.hpp>
#endif

#include "pconv/infer/device.h"
#include "pconv/io/error.h"

namespace pconv {
namespace fs = std::filesystem;

namespace {

class OpenCvInpaint : public InpaintMethod {
 public:
  OpenCvInpaint(int flags, std::string name, int radius) : flags_(flags), name_(std::move(name)), radius_(radius) {}
  std::string name() const override { return name_; }
  cv::Mat fill(const cv::Mat& bgr, const cv::Mat& hole) const override {
    cv::Mat out;
    cv::inpaint(bgr, hole, out, radius_, flags_);
    return out;
  }

 private:
  int flags_;
  std::string name_;
  int radius_;
};

#ifdef PCONV_HAVE_XPHOTO
class FsrInpaint : public InpaintMethod {
 public:
  std::string name() const override { return "FSR (xphoto)"; }
  cv::Mat fill(const cv::Mat& bgr, const cv::Mat& hole) const override {
    cv::Mat out;
    const cv::Mat valid = hole == 0;  // xphoto's convention: non-zero = valid
    cv::xphoto::inpaint(bgr, valid, out, cv::xphoto::INPAINT_FSR_FAST);
    return out;
  }
};
#endif

// pconv train writes every run's model as <run folder>/model.safetensors: the folder tells runs apart.
std::string model_label(const fs::path& path) {
  const fs::path folder = fs::absolute(path).parent_path().filename();
  if (path.filename() == "model.safetensors" && !folder.empty()) return folder.string();
  return path.filename().string();
}

class ModelInpaint : public InpaintMethod {
 public:
  ModelInpaint(const fs::path& path, const std::string& label, const torch::Device& device,
               const InpaintOptions& options, torch::Dtype precision)
      : inpainter_(Inpainter::from_file(path, device, precision)),
        options_(options),
        name_(!label.empty()
                  ? label
                  : (inpainter_.info().architecture.partial() ? "PConv U-Net (" : "U-Net (") + model_label(path) +
                        (precision == torch::kFloat32 ? "" : ", " + precision_name(precision)) +
                        (options.poisson_blend ? ")" : ", no blending)")) {
    inpainter_.check(options_);
  }
  std::string name() const override { return name_; }
  cv::Mat fill(const cv::Mat& bgr, const cv::Mat& hole) const override {
    return inpainter_.inpaint(bgr, hole, options_);
  }

 private:
  Inpainter inpainter_;
  InpaintOptions options_;
  std::string name_;
};

}  // namespace

bool have_fsr() {
#ifdef PCONV_HAVE_XPHOTO
  return true;
#else
  return false;
#endif
}

std::unique_ptr<InpaintMethod> make_method(const std::string& spec, const torch::Device& device, int radius,
                                           const InpaintOptions& model_options, torch::Dtype precision) {
  if (spec == "telea") return std::make_unique<OpenCvInpaint>(cv::INPAINT_TELEA, "Telea (OpenCV)", radius);
  if (spec == "ns") return std::make_unique<OpenCvInpaint>(cv::INPAINT_NS, "Navier-Stokes (OpenCV)", radius);
  if (spec == "fsr") {
#ifdef PCONV_HAVE_XPHOTO
    return std::make_unique<FsrInpaint>();
#else
    throw Error("method 'fsr': this build's OpenCV has no xphoto module");
#endif
  }
  // NAME=PATH names a model in the report; a file name with '=' in it still works as it is.
  std::error_code ec;
  const size_t equals = spec.find('=');
  if (!fs::exists(spec, ec) && equals != std::string::npos && equals > 0) {
    const std::string path = spec.substr(equals + 1);
    if (!fs::exists(path, ec)) throw Error("method '" + spec + "': " + path + ": no such model file");
    return std::make_unique<ModelInpaint>(path, spec.substr(0, equals), device, model_options, precision);
  }
  if (fs::exists(spec, ec)) return std::make_unique<ModelInpaint>(spec, "", device, model_options, precision);
  throw Error("method '" + spec + "': expected telea, ns, fsr, a model file or NAME=MODEL_FILE");
}

}  // namespace pconv
