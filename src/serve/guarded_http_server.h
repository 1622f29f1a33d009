#pragma once
// An httplib::Server that a slow or hostile client cannot hold down (cpp-httplib 0.11 as Debian
// ships it has per-read timeouts only and no body limit on chunked transfers):
//  - reading a request has deadlines: its request line and headers within `header_timeout`,
//    the whole request, body included, within `request_timeout`;
//  - a request body is limited to `max_body_bytes` whatever its transfer encoding;
//  - when a connection arrives and no thread is free, the connection that has been reading (or
//    idling between keep-alive requests) the longest is cut off to make room, so that health checks
//    and fills keep being answered while slow clients hold connections open.
// Handlers call mark_handling() once they start work: a connection being answered is never cut.
#include <httplib.h>

#include <chrono>
#include <cstdint>
#include <memory>

namespace pconv {

struct ConnectionLimits {
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds request_timeout{30'000};
  std::chrono::milliseconds write_timeout{30'000};  ///< per write of a response
  std::chrono::milliseconds keep_alive{2'000};      ///< idle time allowed between requests
  int64_t max_body_bytes = 64ll << 20;
  size_t threads = 8;
};

class GuardedHttpServer : public httplib::Server {
 public:
  explicit GuardedHttpServer(ConnectionLimits limits);
  ~GuardedHttpServer() override;

  /// For the connection this thread serves: its request body is past max_body_bytes.
  static bool body_over_limit();
  /// For the connection this thread serves: no longer cut off for a new arrival.
  static void mark_handling();
  /// For the connection this thread serves: close it after this response (e.g. its body was
  /// left unread).
  static void close_after_response();

  /// For the connection this thread serves: the client has closed it (or shut down its sending
  /// side, which HTTP/1.1 clients do not do while awaiting an answer), so no answer will be read.
  static bool client_gone();

  /// Connections cut off so far for arriving when every thread was busy (for tests and logs).
  int64_t evictions() const;

  struct Tracker;

 private:
  bool process_and_close_socket(socket_t sock) override;

  ConnectionLimits limits_;
  std::shared_ptr<Tracker> tracker_;
};

}  // namespace pconv
