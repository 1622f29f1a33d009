#include "pconv/serve/server.h"

#include <arpa/inet.h>
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <thread>

#include "guarded_http_server.h"
#include "pconv/infer/device.h"
#include "pconv/io/error.h"
#include "pconv/io/files.h"
#include "pconv/io/image.h"
#include "pconv/io/log.h"
#include "pconv/serve/work_queue.h"
#include "web_assets.h"

namespace pconv {
namespace fs = std::filesystem;
namespace {
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr const char* kJson = "application/json";
const std::set<std::string> kInpaintFields = {"image", "mask", "invert_mask", "format", "quality", "dilate", "style"};

// Request paths, field names and model metadata are bytes from outside: invalid UTF-8 in them is
// replaced rather than thrown at.
std::string dump(const json& j, int indent = -1) { return j.dump(indent, ' ', false, json::error_handler_t::replace); }

void send_error(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(dump(json{{"error", message}}), kJson);
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// "name:port", "[v6]:port" or "name" -> the name, lower-case, without brackets.
std::string host_name(const std::string& host_header) {
  if (!host_header.empty() && host_header[0] == '[') return lower(host_header.substr(1, host_header.find(']') - 1));
  return lower(host_header.substr(0, host_header.find(':')));
}

bool is_ip_literal(const std::string& name) {
  in6_addr v6;
  in_addr v4;
  return inet_pton(AF_INET, name.c_str(), &v4) == 1 || inet_pton(AF_INET6, name.c_str(), &v6) == 1;
}

bool is_loopback_name(const std::string& name) {
  return name == "localhost" || name == "::1" || name.rfind("127.", 0) == 0;
}

bool is_wildcard(const std::string& host) { return host == "0.0.0.0" || host == "::" || host.empty(); }

// Compares without stopping at the first difference, so that timing does not reveal the token.
bool same_secret(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

// Answers 500 for the exception being handled (also from httplib's exception handler), and logs
// what it was once; the client learns nothing of the server's internals.
void answer_internal_error(const httplib::Request& req, httplib::Response& res, const std::exception_ptr& ep) {
  std::string what = "unknown exception";
  try {
    std::rethrow_exception(ep);
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
  }
  log_warning(req.method + " " + dump(json(req.path)) + ": internal error: " + what);
  send_error(res, 500, "internal error");
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
// Thrown from the tile callback to abandon a fill whose client has closed its connection (the
// page's Cancel), so that the slot goes to the next request.
struct ClientGone {};

// A whole number within [0, max] from a form field, or nothing.
std::optional<int> parse_count(const std::string& text, int max) {
  if (text.empty() || text.size() > 9 || !std::all_of(text.begin(), text.end(), ::isdigit)) return std::nullopt;
  const int value = std::stoi(text);
  if (value > max) return std::nullopt;
  return value;
}

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

bool ServerOptions::is_loopback() const { return is_loopback_name(host_name(host)); }

void ServerOptions::check() const {
  using std::to_string;
  if (port < 0 || port > 65535) throw OptionError("port", to_string(port), "must be 0..65535");
  if (concurrency < 1) throw OptionError("concurrency", to_string(concurrency), "must be at least 1");
  if (queue < 0) throw OptionError("queue", to_string(queue), "must not be negative");
  if (max_upload_bytes < 1024) throw OptionError("max_upload_bytes", "", "must be at least 1 KiB");
  if (max_pixels < 1) throw OptionError("max_pixels", "", "must be positive");
  if (dilate < 0 || dilate > kMaxGrowPixels)
    throw OptionError("dilate", to_string(dilate), "must be 0.." + to_string(kMaxGrowPixels));
  if (timeout_s < 1) throw OptionError("timeout_s", to_string(timeout_s), "must be at least 1 second");
  if (io_timeout_s < 1) throw OptionError("io_timeout_s", to_string(io_timeout_s), "must be at least 1 second");
  if (header_timeout_s < 1)
    throw OptionError("header_timeout_s", to_string(header_timeout_s), "must be at least 1 second");
  if (!token.empty() && token.size() < 16) throw OptionError("token", "", "must be at least 16 characters");
  std::error_code ec;
  if (!web_dir.empty() && !fs::is_regular_file(web_dir / "index.html", ec))
    throw OptionError("web_dir", web_dir.string(), "not a folder with the page's index.html");
}

ConnectionLimits connection_limits(const ServerOptions& o) {
  ConnectionLimits limits;
  limits.header_timeout = std::chrono::seconds(std::min(o.header_timeout_s, o.io_timeout_s));
  limits.request_timeout = limits.write_timeout = std::chrono::seconds(o.io_timeout_s);
  limits.max_body_bytes = o.max_upload_bytes;
  // Every waiting or running fill holds a thread; four more answer health checks and pages.
  limits.threads = static_cast<size_t>(o.concurrency) + static_cast<size_t>(o.queue) + 4;
  return limits;
}

struct InpaintServer::State {
  ServerOptions options;
  GuardedHttpServer http;
  WorkQueue queue;
  // Path -> the methods it answers; anything else is refused before its body is read.
  std::map<std::string, std::string> allowed_methods;
  std::atomic<bool> stopping{false}, listening{false};

  struct Filler {
    std::shared_ptr<const Inpainter> model;
    Fill fill;
  };

  std::mutex mutex;                      // guards the members below
  std::map<std::string, Filler> styles;  // ready once options.style is here
  double mean_fill_s = 1.0;              // running estimate, for Retry-After

  explicit State(ServerOptions o)
      : options(std::move(o)), http(connection_limits(options)), queue(options.concurrency, options.queue) {}

  Filler current(const std::string& style) {
    std::lock_guard<std::mutex> lock(mutex);
    const auto found = styles.find(style);
    return found == styles.end() ? Filler{} : found->second;
  }
  Filler current() { return current(options.style); }
  std::vector<std::string> style_names() {
    std::lock_guard<std::mutex> lock(mutex);
    std::vector<std::string> names;
    for (const auto& entry : styles) names.push_back(entry.first);
    return names;
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
  void guard(const char* method, const std::string& path, httplib::Server::Handler handler);
  httplib::Server::HandlerResponse screen(const httplib::Request& req, httplib::Response& res);
  bool host_allowed(const std::string& host_header) const;
  bool origin_allowed(const httplib::Request& req, const std::string& origin) const;
  void answer_error(const httplib::Request& req, httplib::Response& res);
  std::string upload_limit_text() const {
    const int64_t b = options.max_upload_bytes;
    return "the upload is larger than the server's limit of " +
           (b % (1 << 20) == 0 ? std::to_string(b >> 20) + " MiB" : std::to_string(b >> 10) + " KiB");
  }
  void health(httplib::Response& res);
  void describe_model(httplib::Response& res);
  void inpaint(const httplib::Request& req, httplib::Response& res);
  struct MaskReading {
    bool invert;
    int dilate;
  };
  cv::Mat fill_request(const httplib::Request& req, MaskReading reading, InpaintOptions fill_options, const Fill& fill,
                       Clock::time_point deadline, Timings* timings);
};

// Registers a handler that cannot let an exception escape: one failing request gets 500 JSON and
// the server keeps serving.
void InpaintServer::State::guard(const char* method, const std::string& path, httplib::Server::Handler handler) {
  std::string& methods = allowed_methods[path];
  methods += methods.empty() ? method : std::string(", ") + method;
  if (std::string(method) == "GET") methods += ", HEAD";
  auto guarded = [handler = std::move(handler)](const httplib::Request& req, httplib::Response& res) {
    GuardedHttpServer::mark_handling();
    try {
      handler(req, res);
    } catch (...) {
      answer_internal_error(req, res, std::current_exception());
    }
  };
  // httplib matches patterns as regular expressions; escaped, a path matches only itself.
  std::string pattern;
  for (char c : path) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '/' && c != '_' && c != '-') pattern += '\\';
    pattern += c;
  }
  if (std::string(method) == "GET") http.Get(pattern, guarded);
  if (std::string(method) == "POST") http.Post(pattern, guarded);
}

void InpaintServer::State::routes() {
  for (size_t i = 0; i < kWebAssetCount; ++i) {
    const WebAsset& asset = kWebAssets[i];
    auto serve = [this, &asset](const httplib::Request&, httplib::Response& res) {
      res.set_header("Cache-Control", "no-cache");
      if (options.web_dir.empty()) {
        res.set_content(reinterpret_cast<const char*>(asset.data), asset.size, asset.content_type);
        return;
      }
      const std::vector<uint8_t> bytes = read_file(options.web_dir / std::string(asset.path).substr(1));
      res.set_content(reinterpret_cast<const char*>(bytes.data()), bytes.size(), asset.content_type);
    };
    guard("GET", asset.path, serve);
    if (std::string(asset.path) == "/index.html") guard("GET", "/", serve);
  }
  guard("GET", "/api/v1/health", [this](const httplib::Request&, httplib::Response& res) { health(res); });
  guard("GET", "/api/v1/model", [this](const httplib::Request&, httplib::Response& res) { describe_model(res); });
  guard("POST", "/api/v1/inpaint", [this](const httplib::Request& req, httplib::Response& res) { inpaint(req, res); });

  http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    try {
      return screen(req, res);
    } catch (...) {
      GuardedHttpServer::close_after_response();
      answer_internal_error(req, res, std::current_exception());
      return httplib::Server::HandlerResponse::Handled;
    }
  });
  http.set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
    try {
      answer_error(req, res);
    } catch (...) {
      res.status = 500;
      res.set_content(R"({"error":"internal error"})", kJson);
    }
  });
  // Handlers are guarded; this catches what httplib itself throws while routing.
  http.set_exception_handler(answer_internal_error);
  http.set_logger([](const httplib::Request& req, const httplib::Response& res) {
    log_info(req.remote_addr + " " + req.method + " " + dump(json(req.path)) + " " + std::to_string(res.status) + " " +
             std::to_string(res.body.size()) + " bytes");
  });
}

// httplib's own refusals (413, 404, malformed requests) get the same JSON shape as ours.
void InpaintServer::State::answer_error(const httplib::Request& req, httplib::Response& res) {
  if (GuardedHttpServer::body_over_limit()) {
    res.status = 413;
    GuardedHttpServer::close_after_response();
  }
  if (!res.body.empty() && res.status != 413) return;
  std::string message = "bad request";
  if (res.status == 413)
    message = upload_limit_text();
  else if (res.status == 404)
    message = "no such path: " + req.path;
  else if (res.status >= 500)
    message = "internal error";
  send_error(res, res.status, message);
}

bool InpaintServer::State::host_allowed(const std::string& host_header) const {
  if (host_header.empty()) return true;  // HTTP/1.0 clients; browsers always send one
  const std::string name = host_name(host_header);
  if (is_loopback_name(name) || name == host_name(options.host)) return true;
  // A DNS-rebinding page reaches the server under a name; an address typed by hand is no name.
  if (is_wildcard(options.host) && is_ip_literal(name)) return true;
  for (const std::string& allowed : options.allow_hosts)
    if (lower(allowed) == name) return true;
  return false;
}

// Same origin (the page this server sent) or listed with --allow-origin.
bool InpaintServer::State::origin_allowed(const httplib::Request& req, const std::string& origin) const {
  if (lower(origin) == "http://" + lower(req.get_header_value("Host"))) return true;
  for (const std::string& allowed : options.allow_origins)
    if (lower(allowed) == lower(origin)) return true;
  return false;
}

// Decides from the request line and headers alone, before any body is read: host, origin,
// path, method, token and announced size.
httplib::Server::HandlerResponse InpaintServer::State::screen(const httplib::Request& req, httplib::Response& res) {
  using R = httplib::Server::HandlerResponse;
  const auto refuse = [&res](int status, const std::string& message) {
    GuardedHttpServer::close_after_response();  // the body, if any, stays unread
    send_error(res, status, message);
    return R::Handled;
  };
  const std::string host = req.get_header_value("Host");
  if (!host_allowed(host))
    return refuse(403, "host '" + host + "' is not this server's name; start it with --allow-host " + host_name(host) +
                           " to answer it");
  const std::string origin = req.get_header_value("Origin");
  if (!origin.empty()) {
    if (!origin_allowed(req, origin))
      return refuse(403, "requests from the page at " + origin + " are refused; start the server with --allow-origin " +
                             origin + " to allow them");
    res.set_header("Access-Control-Allow-Origin", origin);
    res.set_header("Vary", "Origin");
  }
  const auto route = allowed_methods.find(req.path);
  if (route == allowed_methods.end()) return refuse(404, "no such path: " + req.path);
  const std::string& methods = route->second;
  if (req.method == "OPTIONS") {
    res.status = 204;
    res.set_header("Allow", methods + ", OPTIONS");
    res.set_header("Access-Control-Allow-Methods", methods);
    res.set_header("Access-Control-Allow-Headers", "Authorization");
    GuardedHttpServer::close_after_response();
    return R::Handled;
  }
  const bool allowed = (", " + methods + ",").find(", " + req.method + ",") != std::string::npos;
  if (!allowed) {
    res.set_header("Allow", methods + ", OPTIONS");
    return refuse(405, req.method + " is not allowed on " + req.path + " (allowed: " + methods + ")");
  }
  if (!options.token.empty() && req.path.rfind("/api/v1/", 0) == 0 && req.path != "/api/v1/health" &&
      !same_secret(req.get_header_value("Authorization"), "Bearer " + options.token)) {
    res.set_header("WWW-Authenticate", "Bearer");
    return refuse(401, "this server needs its token: send the header 'Authorization: Bearer <token>'");
  }
  if (req.method == "POST") {
    const bool chunked = lower(req.get_header_value("Transfer-Encoding")).find("chunked") != std::string::npos;
    if (!chunked && !req.has_header("Content-Length"))
      return refuse(411, "a POST needs a Content-Length header or a chunked body");
    if (!chunked) {
      const std::string text = req.get_header_value("Content-Length");
      char* end = nullptr;
      errno = 0;
      const unsigned long long length = std::strtoull(text.c_str(), &end, 10);
      if (text.empty() || *end != '\0' || errno != 0 || text[0] == '-')
        return refuse(400, "Content-Length '" + text + "': not a length");
      if (length > static_cast<unsigned long long>(options.max_upload_bytes)) return refuse(413, upload_limit_text());
    }
  }
  return R::Unhandled;
}

void InpaintServer::State::health(httplib::Response& res) {
  if (stopping) return send_unavailable(res, "the server is shutting down", 0);
  if (!current().model) {
    res.set_header("Retry-After", "1");
    res.status = 503;
    res.set_content(dump(json{{"status", "loading"}}), kJson);
    return;
  }
  res.set_content(dump(json{{"status", "ok"},
                            {"running", queue.running()},
                            {"waiting", queue.waiting()},
                            {"concurrency", options.concurrency},
                            {"queue", options.queue}}),
                  kJson);
}

void InpaintServer::State::describe_model(httplib::Response& res) {
  const auto model = current().model;
  if (!model) return send_unavailable(res, "the model is still loading", 1);
  json body = model_metadata_json(model->info());
  body["file"] = options.model_name;
  body["device"] = model->device().str();
  body["precision"] = precision_name(model->precision());
  body["tile"] = {{"size", options.inpaint.tile}, {"overlap", options.inpaint.overlap}};
  body["max_hole_radius"] = options.inpaint.max_hole_radius;
  body["context"] = options.inpaint.context;
  body["quality"] = quality_name(options.inpaint);
  body["ensemble"] = options.inpaint.ensemble;
  body["blend"] = options.inpaint.poisson_blend ? "poisson" : "none";
  body["style"] = options.style;
  body["styles"] = style_names();
  body["limits"] = {{"max_upload_bytes", options.max_upload_bytes},
                    {"max_pixels", options.max_pixels},
                    {"timeout_s", options.timeout_s}};
  res.set_content(dump(body, 2), kJson);
}

void InpaintServer::State::inpaint(const httplib::Request& req, httplib::Response& res) {
  const Clock::time_point arrival = Clock::now(), deadline = arrival + std::chrono::seconds(options.timeout_s);
  if (stopping) return send_unavailable(res, "the server is shutting down", 0);
  if (!current().model) return send_unavailable(res, "the model is still loading", 2);
  if (!req.is_multipart_form_data())
    return send_error(res, 400, "expected a multipart/form-data body with the fields image and mask");
  for (const auto& [name, part] : req.files)
    if (!kInpaintFields.count(name))
      return send_error(
          res, 400, "unknown field '" + name + "' (expected image, mask, invert_mask, format, quality, dilate, style)");
  if (!req.has_file("image")) return send_error(res, 400, "missing field 'image' (the photo to fill)");
  const std::string format_name = req.has_file("format") ? req.get_file_value("format").content : "";
  const std::optional<Format> format = parse_format(format_name);
  if (!format) return send_error(res, 400, "format '" + format_name + "': expected png, jpeg or webp");
  const std::string invert_text = req.has_file("invert_mask") ? req.get_file_value("invert_mask").content : "";
  const std::optional<bool> invert = parse_bool(invert_text);
  if (!invert) return send_error(res, 400, "invert_mask '" + invert_text + "': expected true or false");
  int dilate = options.dilate;
  if (req.has_file("dilate")) {
    const std::string text = req.get_file_value("dilate").content;
    const std::optional<int> pixels = parse_count(text, kMaxGrowPixels);
    if (!pixels)
      return send_error(
          res, 400, "dilate '" + text + "': expected a whole number of pixels, 0.." + std::to_string(kMaxGrowPixels));
    dilate = *pixels;
  }
  const std::string style = req.has_file("style") ? req.get_file_value("style").content : options.style;
  const Filler filler = current(style);
  if (!filler.model) {
    std::string names;
    for (const auto& name : style_names()) names += (names.empty() ? "" : ", ") + name;
    return send_error(res, 400, "style '" + style + "': this server fills with " + names);
  }
  InpaintOptions fill_options = options.inpaint;
  if (req.has_file("quality")) {
    try {
      set_quality(fill_options, req.get_file_value("quality").content);
    } catch (const Error& e) {
      return send_error(res, 400, e.what());
    }
  }

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
    // At debug level each fill logs where its time went, as `pconv inpaint --timings` prints it.
    Timings stages;
    Timings* timings = log_enabled(LogLevel::kDebug) ? &stages : nullptr;
    const cv::Mat result = fill_request(req, {*invert, dilate}, fill_options, filler.fill, deadline, timings);
    std::vector<uint8_t> bytes;
    {
      const Timings::Scope scope(timings, "encode");
      bytes = encode_image(result, format->extension, "result");
    }
    if (timings)
      log_debug(req.remote_addr + " " + size_text(result) + ": queue " + std::to_string(std::lround(1000 * waited_s)) +
                " ms, " + timings->summary());
    char timing[96];
    std::snprintf(timing, sizeof timing, "queue;dur=%.1f, fill;dur=%.1f", 1000 * waited_s,
                  1000 * seconds_since(admitted));
    res.set_header("Server-Timing", timing);
    res.set_content(reinterpret_cast<const char*>(bytes.data()), bytes.size(), format->mime.c_str());
  } catch (const Rejection& r) {
    send_error(res, r.status, r.message);
  } catch (const ClientGone&) {
    log_info(req.remote_addr + ": the client went away; its fill was abandoned");
    GuardedHttpServer::close_after_response();
    send_error(res, 499, "the client closed the connection");
  } catch (const DeadlinePassed&) {
    send_unavailable(res,
                     "filling took longer than the server's timeout of " + std::to_string(options.timeout_s) + " s",
                     retry_after_s());
  }
}

// Decodes the request's image and mask and fills the hole; throws Rejection for bad input.
cv::Mat InpaintServer::State::fill_request(const httplib::Request& req, MaskReading reading, InpaintOptions o,
                                           const Fill& fill, Clock::time_point deadline, Timings* timings) {
  cv::Mat image, hole;
  bool from_alpha = false;
  try {
    const Timings::Scope scope(timings, "decode image and mask");
    image = decode_image(field_bytes(req, "image"), "image", options.max_pixels);
    const cv::Mat raw =
        req.has_file("mask") ? decode_image(field_bytes(req, "mask"), "mask", options.max_pixels) : cv::Mat();
    const std::optional<HoleMask> found = image_hole(image, raw, reading.invert);
    if (!found)
      throw Rejection{400, "missing field 'mask' (white = hole), and the image has no transparency to use instead"};
    if (found->hole.size() != image.size())
      throw Rejection{400, "mask is " + size_text(raw) + " but image is " + size_text(image) + "; they must match"};
    hole = grow_hole(found->hole, reading.dilate);
    from_alpha = found->from_alpha;
  } catch (const Error& e) {
    throw Rejection{400, e.what()};
  }
  if (cv::countNonZero(hole) == 0) return image;

  o.opaque_fill = from_alpha;
  o.timings = timings;
  o.progress = [deadline](int, int) {
    if (Clock::now() > deadline) throw DeadlinePassed{};
    if (GuardedHttpServer::client_gone()) throw ClientGone{};
  };
  if (GuardedHttpServer::client_gone()) throw ClientGone{};
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
  add_style(state_->options.style, std::move(model), std::move(fill));
}

void InpaintServer::add_style(const std::string& style, std::shared_ptr<const Inpainter> model, Fill fill) {
  if (!fill && model) {
    const Inpainter* inpainter = model.get();
    fill = [inpainter](const cv::Mat& image, const cv::Mat& hole, const InpaintOptions& o) {
      return inpainter->inpaint(image, hole, o);
    };
  }
  std::lock_guard<std::mutex> lock(state_->mutex);
  if (model)
    state_->styles[style] = {std::move(model), std::move(fill)};
  else
    state_->styles.erase(style);
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
