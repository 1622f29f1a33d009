#include "pconv/server.h"

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <thread>

#include "pconv/error.h"
#include "pconv/image.h"
#include "pconv/log.h"
#include "pconv/work_queue.h"
#include "web_assets.h"

namespace pconv {
namespace {
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr const char* kJson = "application/json";
const std::set<std::string> kInpaintFields = {"image", "mask", "invert_mask", "format"};

void send_error(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(json{{"error", message}}.dump(), kJson);
}

void send_unavailable(httplib::Response& res, const std::string& message, int retry_after_s) {
  if (retry_after_s > 0) res.set_header("Retry-After", std::to_string(retry_after_s));
  send_error(res, 503, message);
}

std::optional<bool> parse_bool(const std::string& value) {
  if (value == "true" || value == "1" || value == "on" || value == "yes") return true;
  if (value == "false" || value == "0" || value == "off" || value == "no" || value.empty()) return false;
  return std::nullopt;
}

struct Format {
  std::string extension, mime;
};

std::optional<Format> parse_format(const std::string& name) {
  if (name.empty() || name == "png") return Format{".png", "image/png"};
  if (name == "jpeg" || name == "jpg") return Format{".jpg", "image/jpeg"};
  if (name == "webp") return Format{".webp", "image/webp"};
  return std::nullopt;
}

std::string size_text(const cv::Mat& m) { return std::to_string(m.cols) + "x" + std::to_string(m.rows); }

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// Thrown from the tile callback to abandon a fill that ran past the request's deadline.
struct DeadlinePassed {};

// A rejected request: the status and message it is answered with.
struct Rejection {
  int status;
  std::string message;
};

std::vector<uint8_t> field_bytes(const httplib::Request& req, const std::string& name) {
  const std::string& content = req.get_file_value(name).content;
  return std::vector<uint8_t>(content.begin(), content.end());
}

}  // namespace

void ServerOptions::check() const {
  if (port < 0 || port > 65535) throw Error("--port " + std::to_string(port) + ": must be 0..65535");
  if (concurrency < 1) throw Error("--concurrency " + std::to_string(concurrency) + ": must be at least 1");
  if (queue < 0) throw Error("--queue " + std::to_string(queue) + ": must not be negative");
  if (max_upload_bytes < 1024) throw Error("--max-upload-mb: must be positive");
  if (max_pixels < 1) throw Error("--max-megapixels: must be positive");
  if (timeout_s < 1) throw Error("--timeout " + std::to_string(timeout_s) + ": must be at least 1 second");
  if (io_timeout_s < 1) throw Error("--io-timeout " + std::to_string(io_timeout_s) + ": must be at least 1 second");
}

struct InpaintServer::State {
  ServerOptions options;
  httplib::Server http;
  WorkQueue queue;
  std::atomic<bool> stopping{false}, listening{false};

  std::mutex mutex;  // guards the members below
  std::shared_ptr<const Inpainter> model;
  Fill fill;
  double mean_fill_s = 1.0;  // running estimate, for Retry-After

  explicit State(ServerOptions o) : options(std::move(o)), queue(options.concurrency, options.queue) {}

  std::pair<std::shared_ptr<const Inpainter>, Fill> current() {
    std::lock_guard<std::mutex> lock(mutex);
    return {model, fill};
  }

  int retry_after_s() {
    std::lock_guard<std::mutex> lock(mutex);
    const double jobs = 1.0 + queue.waiting() + queue.running();
    return std::max(1, static_cast<int>(std::ceil(mean_fill_s * jobs / options.concurrency)));
  }

  void record_fill(double seconds) {
    std::lock_guard<std::mutex> lock(mutex);
    mean_fill_s = 0.8 * mean_fill_s + 0.2 * seconds;
  }

  void routes();
  void health(httplib::Response& res);
  void describe_model(httplib::Response& res);
  void inpaint(const httplib::Request& req, httplib::Response& res);
  cv::Mat fill_request(const httplib::Request& req, bool invert_mask, const Fill& fill, Clock::time_point deadline);
};

void InpaintServer::State::routes() {
  for (size_t i = 0; i < kWebAssetCount; ++i) {
    const WebAsset& asset = kWebAssets[i];
    auto serve = [&asset](const httplib::Request&, httplib::Response& res) {
      res.set_header("Cache-Control", "no-cache");
      res.set_content(reinterpret_cast<const char*>(asset.data), asset.size, asset.content_type);
    };
    http.Get(asset.path, serve);
    if (std::string(asset.path) == "/index.html") http.Get("/", serve);
  }
  http.Get("/api/v1/health", [this](const httplib::Request&, httplib::Response& res) { health(res); });
  http.Get("/api/v1/model", [this](const httplib::Request&, httplib::Response& res) { describe_model(res); });
  http.Post("/api/v1/inpaint", [this](const httplib::Request& req, httplib::Response& res) { inpaint(req, res); });

  // httplib's own refusals (413, 404, malformed requests) get the same JSON shape as ours.
  http.set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    std::string message = "bad request";
    if (res.status == 413)
      message = "the upload is larger than the server's limit of " +
                std::to_string(options.max_upload_bytes / (1024 * 1024)) + " MiB";
    else if (res.status == 404)
      message = "no such path: " + req.path;
    else if (res.status == 405)
      message = req.method + " is not allowed on " + req.path;
    else if (res.status >= 500)
      message = "internal error";
    send_error(res, res.status, message);
  });
  http.set_exception_handler([](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown exception";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    log_warning(req.method + " " + req.path + ": internal error: " + what);
    send_error(res, 500, "internal error: " + what);
  });
  http.set_logger([](const httplib::Request& req, const httplib::Response& res) {
    log_info(req.remote_addr + " " + req.method + " " + req.path + " " + std::to_string(res.status) + " " +
             std::to_string(res.body.size()) + " bytes");
  });
}

void InpaintServer::State::health(httplib::Response& res) {
  if (stopping) return send_unavailable(res, "the server is shutting down", 0);
  if (!current().first) {
    res.set_header("Retry-After", "1");
    res.status = 503;
    res.set_content(json{{"status", "loading"}}.dump(), kJson);
    return;
  }
  res.set_content(json{{"status", "ok"},
                       {"running", queue.running()},
                       {"waiting", queue.waiting()},
                       {"concurrency", options.concurrency},
                       {"queue", options.queue}}
                      .dump(),
                  kJson);
}

void InpaintServer::State::describe_model(httplib::Response& res) {
  const auto model = current().first;
  if (!model) return send_unavailable(res, "the model is still loading", 1);
  json body = model_metadata_json(model->info());
  body["file"] = options.model_name;
  body["device"] = model->device().str();
  body["tile"] = {{"size", options.inpaint.tile}, {"overlap", options.inpaint.overlap}};
  body["max_hole_radius"] = options.inpaint.max_hole_radius;
  body["ensemble"] = options.inpaint.ensemble;
  body["blend"] = options.inpaint.poisson_blend ? "poisson" : "none";
  body["limits"] = {{"max_upload_bytes", options.max_upload_bytes},
                    {"max_pixels", options.max_pixels},
                    {"timeout_s", options.timeout_s}};
  res.set_content(body.dump(2), kJson);
}

void InpaintServer::State::inpaint(const httplib::Request& req, httplib::Response& res) {
  const Clock::time_point arrival = Clock::now(), deadline = arrival + std::chrono::seconds(options.timeout_s);
  if (stopping) return send_unavailable(res, "the server is shutting down", 0);
  const auto [model, fill] = current();
  if (!model) return send_unavailable(res, "the model is still loading", 2);
  if (!req.is_multipart_form_data())
    return send_error(res, 400, "expected a multipart/form-data body with the fields image and mask");
  for (const auto& [name, part] : req.files)
    if (!kInpaintFields.count(name))
      return send_error(res, 400, "unknown field '" + name + "' (expected image, mask, invert_mask, format)");
  if (!req.has_file("image")) return send_error(res, 400, "missing field 'image' (the photo to fill)");
  const std::string format_name = req.has_file("format") ? req.get_file_value("format").content : "";
  const std::optional<Format> format = parse_format(format_name);
  if (!format) return send_error(res, 400, "format '" + format_name + "': expected png, jpeg or webp");
  const std::string invert_text = req.has_file("invert_mask") ? req.get_file_value("invert_mask").content : "";
  const std::optional<bool> invert = parse_bool(invert_text);
  if (!invert) return send_error(res, 400, "invert_mask '" + invert_text + "': expected true or false");

  switch (queue.enter(deadline)) {
    case WorkQueue::Admission::kAdmitted:
      break;
    case WorkQueue::Admission::kFull:
      return send_unavailable(res,
                              "the server is busy (" + std::to_string(queue.running()) + " running, " +
                                  std::to_string(queue.waiting()) + " waiting); retry later",
                              retry_after_s());
    case WorkQueue::Admission::kTimedOut:
      return send_unavailable(
          res, "no free slot within the server's timeout of " + std::to_string(options.timeout_s) + " s; retry later",
          retry_after_s());
    case WorkQueue::Admission::kClosed:
      return send_unavailable(res, "the server is shutting down", 0);
  }
  struct Leave {
    WorkQueue& queue;
    ~Leave() { queue.leave(); }
  } leave{queue};
  const double waited_s = seconds_since(arrival);
  const Clock::time_point admitted = Clock::now();
  try {
    const cv::Mat result = fill_request(req, *invert, fill, deadline);
    const std::vector<uint8_t> bytes = encode_image(result, format->extension, "result");
    char timing[96];
    std::snprintf(timing, sizeof timing, "queue;dur=%.1f, fill;dur=%.1f", 1000 * waited_s,
                  1000 * seconds_since(admitted));
    res.set_header("Server-Timing", timing);
    res.set_content(reinterpret_cast<const char*>(bytes.data()), bytes.size(), format->mime.c_str());
  } catch (const Rejection& r) {
    send_error(res, r.status, r.message);
  } catch (const DeadlinePassed&) {
    send_unavailable(res,
                     "filling took longer than the server's timeout of " + std::to_string(options.timeout_s) + " s",
                     retry_after_s());
  }
}

// Decodes the request's image and mask and fills the hole; throws Rejection for bad input.
cv::Mat InpaintServer::State::fill_request(const httplib::Request& req, bool invert_mask, const Fill& fill,
                                           Clock::time_point deadline) {
  cv::Mat image, hole;
  bool from_alpha = false;
  try {
    image = decode_image(field_bytes(req, "image"), "image", options.max_pixels);
    if (req.has_file("mask")) {
      const cv::Mat raw = decode_image(field_bytes(req, "mask"), "mask", options.max_pixels);
      hole = binarize_mask(raw, invert_mask).hole;
      if (hole.size() != image.size())
        throw Rejection{400, "mask is " + size_text(raw) + " but image is " + size_text(image) + "; they must match"};
    } else if (image.channels() == 4) {
      hole = alpha_hole_mask(image);
      from_alpha = true;
    } else {
      throw Rejection{400, "missing field 'mask' (white = hole), and the image has no transparency to use instead"};
    }
  } catch (const Error& e) {
    throw Rejection{400, e.what()};
  }
  if (cv::countNonZero(hole) == 0) return image;

  InpaintOptions o = options.inpaint;
  o.opaque_fill = from_alpha;
  o.progress = [deadline](int, int) {
    if (Clock::now() > deadline) throw DeadlinePassed{};
  };
  const Clock::time_point start = Clock::now();
  cv::Mat result;
  try {
    result = fill(image, hole, o);
  } catch (const Error& e) {
    throw Rejection{400, e.what()};  // e.g. a hole that covers the whole image
  }
  record_fill(seconds_since(start));
  return result;
}

InpaintServer::InpaintServer(ServerOptions options) {
  options.check();
  state_ = std::make_unique<State>(std::move(options));
  State& s = *state_;
  const size_t threads = static_cast<size_t>(s.options.concurrency + s.options.queue + 4);
  s.http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  s.http.set_payload_max_length(static_cast<size_t>(s.options.max_upload_bytes));
  s.http.set_read_timeout(s.options.io_timeout_s);
  s.http.set_write_timeout(s.options.io_timeout_s);
  s.http.set_keep_alive_timeout(2);  // idle connections hold a thread; let them go soon
  // httplib's default adds SO_REUSEPORT, which lets a second server share the port silently.
  s.http.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  s.routes();
}

InpaintServer::~InpaintServer() { stop(); }

int InpaintServer::bind() {
  State& s = *state_;
  const int port = s.options.port == 0 ? s.http.bind_to_any_port(s.options.host)
                                       : (s.http.bind_to_port(s.options.host, s.options.port) ? s.options.port : -1);
  if (port <= 0)
    throw Error(s.options.host + ":" + std::to_string(s.options.port) +
                ": cannot listen there (address in use, or not an address of this machine)");
  return port;
}

void InpaintServer::listen() {
  State& s = *state_;
  s.listening = true;
  if (!s.stopping) s.http.listen_after_bind();
  s.listening = false;
}

void InpaintServer::set_model(std::shared_ptr<const Inpainter> model, Fill fill) {
  if (!fill && model) {
    const Inpainter* inpainter = model.get();
    fill = [inpainter](const cv::Mat& image, const cv::Mat& hole, const InpaintOptions& o) {
      return inpainter->inpaint(image, hole, o);
    };
  }
  std::lock_guard<std::mutex> lock(state_->mutex);
  state_->model = std::move(model);
  state_->fill = std::move(fill);
}

void InpaintServer::stop() {
  State& s = *state_;
  s.stopping = true;
  s.queue.close();
  // listen() may be between its check and httplib's start; wait until httplib can be stopped.
  while (s.listening && !s.http.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  s.http.stop();
}

}  // namespace pconv
