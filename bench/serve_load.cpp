// A bounded load test of a running `pconv serve`: N requests, C at a time, each filling the same
// 512x512 crop with a generated mask. Prints throughput, latency percentiles, errors by status,
// and the server's resident memory sampled across the run (it should stay flat).
//
//   serve_load --port 8080 --pid $(pgrep -f 'pconv serve') --image examples/ladybird.jpg
#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>

#include "serve_bench_util.h"

using pconv::bench::percentile;
using pconv::bench::rss_mib;

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

  double hole_share = 0;
  const httplib::MultipartFormDataItems form = pconv::bench::fill_form(image_path, size, &hole_share);

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
              100.0 * hole_share, concurrency, host.c_str(), port);
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
