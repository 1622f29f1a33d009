// pconv serve: the web page and the HTTP API (docs/api.md) until SIGINT or SIGTERM.
#include <atomic>
#include <chrono>
#include <map>
#include <thread>

#include "commands.h"
#include "pconv/infer/device.h"
#include "pconv/io/error.h"
#include "pconv/io/log.h"
#include "pconv/io/signals.h"
#include "pconv/serve/server.h"

namespace fs = std::filesystem;

namespace pconv::app {
namespace {

struct Options {
  std::string model, style = "smooth", device = "auto", precision = "fp32";
  int threads = 0, max_upload_mb = 64;
  double max_megapixels = 40;
  bool quiet = false;
  std::string log_level = "info";
  ServerOptions server;
};

int run(Options& o) {
  set_log_level(o.quiet ? LogLevel::kWarning : parse_log_level(o.log_level));
  set_threads(o.threads);
  o.server.max_upload_bytes = static_cast<int64_t>(o.max_upload_mb) * 1024 * 1024;
  o.server.max_pixels = static_cast<int64_t>(o.max_megapixels * 1e6);
  o.server.check();
  const torch::Device device = parse_device(o.device);
  const torch::Dtype precision = parse_precision(o.precision, device);
  const fs::path model_path = resolve_model(o.model, o.style);
  std::error_code ec;
  if (!fs::is_regular_file(model_path, ec)) throw Error(model_path.string() + ": no such model file");
  o.server.model_name = model_path.filename().string();
  // With the bundled models, requests (and the page) may choose the other style too.
  o.server.style = o.model.empty() ? o.style : "custom";
  std::map<std::string, fs::path> others;
  if (o.model.empty())
    for (const std::string& style : bundled_styles())
      if (fs::path path = bundled_model_path(style); style != o.style && !path.empty()) others[style] = path;

  // Listen first, so that health checks see 503 "loading" instead of a refused connection.
  InpaintServer server(o.server);
  const int port = server.bind();
  install_stop_signals();
  if (!o.server.is_loopback())
    log_warning(
        "listening on " + o.server.host + ", reachable from other machines" +
        (o.server.token.empty() ? ", with no token: anyone who can reach this port can use the API (--token)" : ""));
  const std::string fragment = o.server.token.empty() ? "" : "#token=" + o.server.token;
  log_info("listening on http://" + o.server.host + ":" + std::to_string(port) + "/" + fragment + " (loading " +
           model_path.string() + ")");
  std::thread listener([&] { server.listen(); });
  std::atomic<bool> done{false};
  std::thread watcher([&] {
    while (!done && !stop_requested()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (stop_requested()) {
      log_info("stopping: running requests finish, waiting ones get 503");
      server.stop();
    }
  });
  auto finish = [&] {
    listener.join();
    done = true;
    watcher.join();
  };
  try {
    auto inpainter = std::make_shared<const Inpainter>(Inpainter::from_file(model_path, device, precision));
    inpainter->check(o.server.inpaint);
    for (const auto& [style, path] : others)
      server.add_style(style, std::make_shared<const Inpainter>(Inpainter::from_file(path, device, precision)));
    server.set_model(inpainter);
    std::string also;
    for (const auto& [style, path] : others) also += ", " + style + " (" + path.filename().string() + ")";
    log_info("ready: " + o.server.model_name + (also.empty() ? "" : " as " + o.server.style + also) + " on " +
             device.str() + " in " + o.precision + ", " + std::to_string(o.server.concurrency) + " at a time, " +
             std::to_string(o.server.queue) + " more may wait");
  } catch (...) {
    server.stop();
    finish();
    throw;
  }
  finish();
  log_info("stopped");
  return 0;
}

}  // namespace

Run add_serve_command(CLI::App& root) {
  auto o = std::make_shared<Options>();
  ServerOptions& s = o->server;
  CLI::App* cmd = root.add_subcommand("serve", "Serve the web page and the HTTP API (docs/api.md)");
  auto* model = cmd->add_option("--model", o->model, "Model file (.safetensors); default: the bundled models");
  add_style_option(cmd, o->style, model);
  cmd->add_option("--host", s.host, "Address to listen on; 0.0.0.0 for every interface")->capture_default_str();
  cmd->add_option("--port", s.port, "Port; 0 = any free port (printed)")->capture_default_str();
  cmd->add_option("--concurrency", s.concurrency, "Images filled at once")->capture_default_str();
  cmd->add_option("--queue", s.queue, "Requests that may wait for a free slot; beyond that: 503 with Retry-After")
      ->capture_default_str();
  cmd->add_option("--max-upload-mb", o->max_upload_mb, "Largest request body in MiB (413 beyond)")
      ->capture_default_str();
  cmd->add_option("--max-megapixels", o->max_megapixels, "Largest image or mask, from its header (400 beyond)")
      ->capture_default_str();
  cmd->add_option("--timeout", s.timeout_s, "Seconds a request may wait and fill before it gets 503")
      ->capture_default_str();
  cmd->add_option("--io-timeout", s.io_timeout_s,
                  "Seconds to read a whole request, or to write each part of a response")
      ->capture_default_str();
  cmd->add_option("--allow-host", s.allow_hosts,
                  "Host names to answer besides loopback and --host (e.g. this machine's name on the network)");
  cmd->add_option("--allow-origin", s.allow_origins,
                  "Other web pages (scheme://host:port) allowed to call the API from a browser");
  cmd->add_option("--token", s.token,
                  "Require 'Authorization: Bearer TOKEN' on the API (at least 16 characters); the page takes it "
                  "from the address printed at start")
      ->envname("PCONV_TOKEN");
  add_fill_options(cmd, s.inpaint);
  add_dilate_option(cmd, s.dilate);
  cmd->add_option("--web-dir", s.web_dir,
                  "Serve the page from this folder (web/), read at every request: for working on it without a "
                  "rebuild (default: the page built in)");
  cmd->add_option("--device", o->device, "auto, cpu, cuda or cuda:N")->capture_default_str();
  add_precision_option(cmd, o->precision);
  cmd->add_option("--threads", o->threads, "CPU threads; 0 = every core")->capture_default_str();
  auto* quiet =
      cmd->add_flag("--quiet,-q", o->quiet, "Only warnings and errors on stderr, no request log (default: off)");
  cmd->add_option("--log-level", o->log_level,
                  "warning, info (a line per request) or debug (and where each fill's time went: decoding, each "
                  "network pass, blending, encoding)")
      ->check(CLI::IsMember({"warning", "info", "debug"}))
      ->excludes(quiet)
      ->capture_default_str();
  const FlagNames flags = {{"port", "--port"},
                           {"concurrency", "--concurrency"},
                           {"queue", "--queue"},
                           {"max_upload_bytes", "--max-upload-mb"},
                           {"max_pixels", "--max-megapixels"},
                           {"timeout_s", "--timeout"},
                           {"io_timeout_s", "--io-timeout"},
                           {"token", "--token"},
                           {"web_dir", "--web-dir"}};
  return [o, flags] { return run_naming_flags(flags, [o] { return run(*o); }); };
}

}  // namespace pconv::app
