// A bounded load test of a running `pconv serve`: N requests, C at a time, each filling the same
// 512x512 crop with a generated mask. Prints throughput, latency percentiles, errors by status,
// and the server's resident memory sampled across the run (it should stay flat).
//
//   serve_load --port 8080 --pid $(pgrep -f 'pconv serve') --image examples/ladybird.jpg
#include <httplib.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <opencv2/imgproc.hpp>
#include <thread>

#include "pconv/data.h"
#include "pconv/image.h"
#include "pconv/masks.h"

namespace {

// Resident set size of process `pid` in MiB, from /proc; -1 when unreadable.
double rss_mib(int pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string key;
  while (status >> key) {
    if (key == "VmRSS:") {
      double kib;
      status >> kib;
      return kib / 1024.0;
    }
    status.ignore(1 << 12, '\n');
  }
  return -1;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * (v.size() - 1) + 0.5))];
}

}  // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1", image_path = "examples/ladybird.jpg";
  int port = 8080, requests = 500, concurrency = 8, size = 512, pid = 0;
  CLI::App app{"Load test of pconv serve"};
  app.add_option("--host", host)->capture_default_str();
  app.add_option("--port", port)->capture_default_str();
  app.add_option("--requests,-n", requests)->capture_default_str();
  app.add_option("--concurrency,-c", concurrency)->capture_default_str();
  app.add_option("--size", size, "Side of the square image sent")->capture_default_str();
  app.add_option("--image", image_path, "Photo to crop the request image from")->capture_default_str();
  app.add_option("--pid", pid, "The server's process id, to sample its memory");
  CLI11_PARSE(app, argc, argv);

  const cv::Mat rgb = pconv::load_center_crop(image_path, size);
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  const cv::Mat hole =
      pconv::MaskGenerator(pconv::MaskGeneratorOptions(size, size).min_ratio(0.1).max_ratio(0.2), 7).generate(0);
  const auto to_string = [](const std::vector<uint8_t>& b) { return std::string(b.begin(), b.end()); };
  const httplib::MultipartFormDataItems form = {
      {"image", to_string(pconv::encode_image(bgr, ".png", "image")), "image.png", "image/png"},
      {"mask", to_string(pconv::encode_image(hole, ".png", "mask")), "mask.png", "image/png"}};

  std::atomic<int> next{0};
  std::mutex mutex;
  std::vector<double> latencies_ms;
  std::map<int, int> statuses;              // 0 = no response
  std::vector<std::pair<int, double>> rss;  // (requests done, MiB)
  if (pid) rss.emplace_back(0, rss_mib(pid));

  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> clients;
  for (int c = 0; c < concurrency; ++c)
    clients.emplace_back([&] {
      httplib::Client client(host, port);
      client.set_read_timeout(300);
      while (next++ < requests) {
        const auto t0 = std::chrono::steady_clock::now();
        const auto r = client.Post("/api/v1/inpaint", form);
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        std::lock_guard<std::mutex> lock(mutex);
        latencies_ms.push_back(ms);
        ++statuses[r ? r->status : 0];
        const int done = static_cast<int>(latencies_ms.size());
        if (pid && done % std::max(1, requests / 10) == 0) rss.emplace_back(done, rss_mib(pid));
      }
    });
  for (auto& t : clients) t.join();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  const int ok = statuses[200];
  std::printf("%d requests of a %dx%d PNG (hole %.0f%%), %d concurrent, against http://%s:%d\n", requests, size, size,
              100.0 * cv::countNonZero(hole) / hole.total(), concurrency, host.c_str(), port);
  std::printf("  throughput : %.2f requests/s (%.1f s in all)\n", requests / seconds, seconds);
  std::printf("  latency    : p50 %.0f ms, p95 %.0f ms, max %.0f ms\n", percentile(latencies_ms, 0.5),
              percentile(latencies_ms, 0.95), percentile(latencies_ms, 1.0));
  std::printf("  errors     : %d", requests - ok);
  for (const auto& [status, n] : statuses)
    if (status != 200) std::printf(" (%d x %s)", n, status ? std::to_string(status).c_str() : "no response");
  std::printf("\n");
  if (pid) {
    std::printf("  server RSS :");
    for (const auto& [done, mib] : rss) std::printf(" %.0f", mib);
    std::printf(" MiB (every %d requests)\n", std::max(1, requests / 10));
  }
  return ok == requests ? 0 : 1;
}
