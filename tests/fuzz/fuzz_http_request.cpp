// libFuzzer: any bytes as an HTTP request to `pconv serve` (request line, headers, chunked and
// multipart bodies, form fields), sent over loopback to a server running in this process. The
// server must answer or close, and keep serving: a crash, a sanitizer report or a dead server is a
// finding.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <thread>

#include "pconv/serve/server.h"

namespace {

struct Running {
  std::unique_ptr<pconv::InpaintServer> server;
  int port = 0;
};

// A tiny network (no file), and a fill that returns the image: the fuzzer explores the request
// handling, not the network.
Running start() {
  pconv::ServerOptions o;
  o.port = 0;
  o.header_timeout_s = 1;
  o.io_timeout_s = 1;
  o.max_upload_bytes = 1 << 20;
  o.max_pixels = 1'000'000;
  Running r;
  r.server = std::make_unique<pconv::InpaintServer>(o);
  r.port = r.server->bind();
  pconv::Model model;
  model.info.architecture.depth(2).width(0.05);
  model.net = pconv::PConvUNet(model.info.architecture);
  r.server->set_model(std::make_shared<const pconv::Inpainter>(std::move(model), torch::kCPU),
                      [](const cv::Mat& image, const cv::Mat&, const pconv::InpaintOptions&) { return image.clone(); });
  std::thread([s = r.server.get()] { s->listen(); }).detach();
  return r;
}

// poll() across interruptions: > 0 ready, 0 timed out, < 0 failed.
int wait(int fd, short events, int timeout_ms) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    if (left.count() <= 0) return 0;
    pollfd p{fd, events, 0};
    const int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r >= 0 || errno != EINTR) return r;
  }
}

int connect_to(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // libFuzzer's timer signal interrupts system calls here: an interrupted connect goes on by itself.
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 &&
      (errno != EINTR || wait(fd, POLLOUT, 10'000) <= 0)) {
    std::perror("fuzz_http_request: connect");
    std::abort();
  }
  return fd;
}

// Sends the request, then reads until the server closes (it must, within its deadlines).
void exchange(int port, const uint8_t* data, size_t size) {
  const int fd = connect_to(port);
  for (size_t sent = 0; sent < size;) {
    const ssize_t n = ::send(fd, data + sent, size - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
  char buf[65536];
  for (;;) {
    if (wait(fd, POLLIN, 10'000) <= 0) {
      std::fprintf(stderr, "fuzz_http_request: the server neither answered nor closed within 10 s\n");
      std::abort();
    }
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
  }
  ::close(fd);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Never destroyed: the listening thread runs until the process ends.
  static Running& running = *new Running(start());
  exchange(running.port, data, size);
  return 0;
}
