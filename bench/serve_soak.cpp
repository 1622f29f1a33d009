// A soak test of a running `pconv serve`: for --minutes, at once, good fills, a stream of bad and
// hostile requests (invalid UTF-8, wrong methods, oversized and chunked bodies, truncated images,
// foreign origins and hosts, stalled bodies) and slow clients that trickle header bytes. Prints,
// per interval and in all: health latency (p50/p99/max) and failures, fills done, answers to the
// bad requests by status, slow clients cut off, and the server's RSS. Exit status 1 when health
// ever failed, a fill failed or the server died.
//
//   serve_soak --port 8080 --pid $(pgrep -f 'pconv serve') --minutes 30
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "serve_bench_util.h"

namespace {
using Clock = std::chrono::steady_clock;
using pconv::bench::percentile;
using pconv::bench::rss_mib;

int connect_to(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Sends raw bytes and returns the status of the answer (0: none before the server closed or
// `timeout_s` passed).
int raw_exchange(int port, const std::string& request, double timeout_s) {
  const int fd = connect_to(port);
  if (fd < 0) return 0;
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string answer;
  char buf[4096];
  const auto until = Clock::now() + std::chrono::duration<double>(timeout_s);
  while (answer.size() < 12) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    pollfd p{fd, POLLIN, 0};
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) break;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    answer.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return answer.rfind("HTTP/1.1 ", 0) == 0 ? std::atoi(answer.c_str() + 9) : 0;
}

std::string multipart(const std::string& field, const std::string& value, const std::string& extra_headers = "") {
  const std::string body =
      "--b\r\nContent-Disposition: form-data; name=\"" + field + "\"\r\n\r\n" + value + "\r\n--b--\r\n";
  return "POST /api/v1/inpaint HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=b\r\n" +
         extra_headers + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

// The hostile requests, each as the bytes a client would send.
std::vector<std::pair<std::string, std::string>> bad_requests(const std::string& png) {
  std::string chunked =
      "POST /api/v1/inpaint HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=b\r\n"
      "Transfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 160; ++i) chunked += "1000\r\n" + std::string(4096, 'x') + "\r\n";  // 640 KiB
  return {
      {"invalid UTF-8 path", "GET /%ff HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"},
      {"raw 0xFF in the path", "GET /\xff\xfe HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"},
      {"DELETE", "DELETE /api/v1/%ff HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"},
      {"PUT without a body", "PUT /api/v1/inpaint HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"},
      {"invalid UTF-8 field name", multipart("\xff\xfe", "x")},
      {"invalid UTF-8 format", multipart("format", "\xc0")},
      {"truncated image", multipart("image", png.substr(0, png.size() / 2))},
      {"foreign origin", multipart("image", png, "Origin: http://evil.example\r\n")},
      {"foreign host", "GET /api/v1/model HTTP/1.1\r\nHost: evil.example\r\n\r\n"},
      {"announced 60 MB", "POST /api/v1/inpaint HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 60000000\r\n\r\nabc"},
      {"chunked 640 KiB", chunked},
      {"garbage", std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11)},
  };
}

struct Totals {
  std::mutex mutex;
  std::vector<double> health_ms, window_health_ms;
  int health_failures = 0, fills_ok = 0, fills_failed = 0, slow_cut = 0;
  std::map<std::string, std::map<int, int>> bad;  // kind -> status -> count
};

}  // namespace

int main(int argc, char** argv) {
  std::string image_path = "examples/ladybird.jpg";
  int port = 8080, pid = 0, slow_clients = 24, fill_clients = 1, bad_clients = 2, size = 256;
  double minutes = 30, interval_s = 60;
  CLI::App app{"Soak test of pconv serve: good, bad and slow clients at once"};
  app.add_option("--port", port)->capture_default_str();
  app.add_option("--pid", pid, "The server's process id, to sample its memory");
  app.add_option("--minutes", minutes)->capture_default_str();
  app.add_option("--interval", interval_s, "Seconds between report lines")->capture_default_str();
  app.add_option("--slow", slow_clients, "Clients trickling one header byte every 2 s")->capture_default_str();
  app.add_option("--fills", fill_clients, "Clients sending good fills one after another")->capture_default_str();
  app.add_option("--bad", bad_clients, "Clients sending hostile requests")->capture_default_str();
  app.add_option("--size", size, "Side of the square image of a good fill")->capture_default_str();
  app.add_option("--image", image_path)->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  const httplib::MultipartFormDataItems form = pconv::bench::fill_form(image_path, size, nullptr);
  const auto bad = bad_requests(form[0].content);
  Totals totals;
  std::atomic<bool> done{false};
  std::vector<std::thread> threads;

  threads.emplace_back([&] {  // health, five times a second
    while (!done) {
      httplib::Client c("127.0.0.1", port);
      c.set_connection_timeout(10);
      c.set_read_timeout(10);
      const auto t0 = Clock::now();
      const auto r = c.Get("/api/v1/health");
      const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
      {
        std::lock_guard<std::mutex> lock(totals.mutex);
        if (r && r->status == 200) {
          totals.health_ms.push_back(ms);
          totals.window_health_ms.push_back(ms);
        } else {
          ++totals.health_failures;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  });
  for (int i = 0; i < fill_clients; ++i)
    threads.emplace_back([&] {
      while (!done) {
        httplib::Client c("127.0.0.1", port);
        c.set_read_timeout(300);
        const auto r = c.Post("/api/v1/inpaint", form);
        std::lock_guard<std::mutex> lock(totals.mutex);
        ++(r && r->status == 200 ? totals.fills_ok : totals.fills_failed);
      }
    });
  for (int i = 0; i < bad_clients; ++i)
    threads.emplace_back([&, i] {
      std::mt19937 rng(static_cast<unsigned>(i));
      while (!done) {
        const auto& [kind, bytes] = bad[rng() % bad.size()];
        const int status = raw_exchange(port, bytes, 15);
        std::lock_guard<std::mutex> lock(totals.mutex);
        ++totals.bad[kind][status];
      }
    });
  for (int i = 0; i < slow_clients; ++i)
    threads.emplace_back([&] {
      while (!done) {
        const int fd = connect_to(port);
        if (fd < 0) break;
        const std::string line = "GET /api/v1/health HTTP/1.1\r\nX-Slow: ";
        for (size_t k = 0; !done; ++k) {  // one byte every 2 s until the server cuts the connection
          if (::send(fd, &line[k % line.size()], 1, MSG_NOSIGNAL) != 1) break;
          pollfd p{fd, POLLIN, 0};
          char c;
          if (::poll(&p, 1, 2000) > 0 && ::recv(fd, &c, 1, MSG_PEEK) <= 0) break;
        }
        ::close(fd);
        if (!done) {
          std::lock_guard<std::mutex> lock(totals.mutex);
          ++totals.slow_cut;
        }
      }
    });

  std::printf("soak of http://127.0.0.1:%d for %.0f min: %d slow, %d fill and %d bad clients, health every 200 ms\n",
              port, minutes, slow_clients, fill_clients, bad_clients);
  std::printf("%8s %10s %10s %10s %8s %8s %8s %9s\n", "minute", "health_p50", "health_p99", "health_max", "failed",
              "fills", "cut_off", "rss_MiB");
  std::vector<double> rss;
  if (pid) rss.push_back(rss_mib(pid));
  const Clock::time_point start = Clock::now();
  const Clock::time_point end =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(60 * minutes));
  bool alive = true;
  while (Clock::now() < end && alive) {
    std::this_thread::sleep_for(
        std::chrono::duration<double>(std::min(interval_s, std::chrono::duration<double>(end - Clock::now()).count())));
    std::lock_guard<std::mutex> lock(totals.mutex);
    const double r = pid ? rss_mib(pid) : -1;
    alive = !pid || r > 0;
    rss.push_back(r);
    std::printf("%8.1f %10.1f %10.1f %10.1f %8d %8d %8d %9.0f\n",
                std::chrono::duration<double>(Clock::now() - start).count() / 60,
                percentile(totals.window_health_ms, 0.5), percentile(totals.window_health_ms, 0.99),
                percentile(totals.window_health_ms, 1.0), totals.health_failures, totals.fills_ok, totals.slow_cut, r);
    std::fflush(stdout);
    totals.window_health_ms.clear();
  }
  done = true;
  for (auto& t : threads) t.join();

  std::printf("in all: %zu health checks, p50 %.1f ms, p99 %.1f ms, max %.1f ms, %d failed\n", totals.health_ms.size(),
              percentile(totals.health_ms, 0.5), percentile(totals.health_ms, 0.99), percentile(totals.health_ms, 1.0),
              totals.health_failures);
  std::printf("        %d fills answered 200, %d failed; %d slow connections cut off\n", totals.fills_ok,
              totals.fills_failed, totals.slow_cut);
  for (const auto& [kind, statuses] : totals.bad) {
    std::printf("        %-26s", kind.c_str());
    for (const auto& [status, n] : statuses)
      std::printf(" %dx %s", n, status ? std::to_string(status).c_str() : "closed");
    std::printf("\n");
  }
  if (pid && !rss.empty())
    std::printf("        server RSS %.0f MiB at the start, %.0f at the end, %.0f at most\n", rss.front(), rss.back(),
                *std::max_element(rss.begin(), rss.end()));
  if (!alive) std::printf("the server died\n");
  return alive && totals.health_failures == 0 && totals.fills_failed == 0 ? 0 : 1;
}
