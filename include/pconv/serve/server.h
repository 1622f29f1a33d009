#pragma once
// pconv serve: the web page and the HTTP API over one shared model (docs/api.md).
//
//   InpaintServer server(options);
//   int port = server.bind();          // listening starts answering /api/v1/health with 503
//   std::thread t([&] { server.listen(); });
//   server.set_model(std::make_shared<const Inpainter>(Inpainter::from_file(path)));  // now 200
//   ...
//   server.stop();                     // queued requests get 503, running ones finish
//   t.join();
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "pconv/infer/inpainter.h"

namespace pconv {

struct ServerOptions {
  std::string host = "127.0.0.1";          ///< loopback unless told otherwise
  int port = 8080;                         ///< 0 = any free port (bind() returns it)
  int concurrency = 1;                     ///< inpaintings at once (each uses every LibTorch thread)
  int queue = 16;                          ///< requests that may wait for a slot; more get 503
  int64_t max_upload_bytes = 64ll << 20;   ///< whole request body; larger gets 413
  int64_t max_pixels = 40'000'000;         ///< per image, read from its header; larger gets 400
  int timeout_s = 120;                     ///< waiting plus filling, per request; then 503
  int io_timeout_s = 30;                   ///< reading a whole request (headers and body); each write
  int header_timeout_s = 10;               ///< reading a request's line and headers
  std::vector<std::string> allow_hosts;    ///< Host names answered besides loopback and `host`
  std::vector<std::string> allow_origins;  ///< pages (scheme://host:port) that may call the API
  std::string token;                       ///< when set, the API (not health) needs "Bearer <token>"
  InpaintOptions inpaint;                  ///< tile and overlap
  int dilate = 0;                          ///< pixels every hole grows by unless a request says
  std::string model_name;                  ///< shown by /api/v1/model (the file name)
  std::string style = "smooth";            ///< the model set_model() gives; requests name others (add_style)
  /// When set, the page's files are read from this folder (web/) at every request instead of the
  /// copies built in: for working on the page without rebuilding.
  std::filesystem::path web_dir;

  /// Throws pconv::OptionError naming the first bad field.
  void check() const;
  /// Whether `host` is a loopback address or name (the default, reachable from this machine only).
  bool is_loopback() const;
};

class InpaintServer {
 public:
  /// What fills a hole; the model's Inpainter::inpaint unless tests replace it.
  using Fill = std::function<cv::Mat(const cv::Mat& image, const cv::Mat& hole, const InpaintOptions& options)>;

  explicit InpaintServer(ServerOptions options);
  ~InpaintServer();

  /// Binds options.host:options.port; returns the port. Throws pconv::Error when it cannot.
  int bind();
  /// Answers requests until stop(); returns once every running request has finished.
  void listen();
  /// Makes the server ready (health 200) with `model` as options.style. `fill` defaults to the
  /// model's own.
  void set_model(std::shared_ptr<const Inpainter> model, Fill fill = {});
  /// Another model, which a request chooses with the field style=NAME (the bundled textured model).
  void add_style(const std::string& style, std::shared_ptr<const Inpainter> model, Fill fill = {});
  /// Refuses queued and new requests with 503, lets running ones finish, ends listen().
  void stop();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace pconv
