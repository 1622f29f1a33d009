#include "guarded_http_server.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <list>
#include <mutex>
#include <thread>
#include <vector>

#include "pconv/io/log.h"

namespace pconv {
namespace {
using Clock = std::chrono::steady_clock;

// Request lines and headers are not body, but they arrive through the same count.
constexpr int64_t kHeaderAllowance = int64_t{64} * 1024;
// How often a connection idling between requests notices that the server is stopping.
constexpr std::chrono::milliseconds kStopCheck{100};
// How often the pool looks for a connection to cut off while others wait for a thread.
constexpr std::chrono::milliseconds kWatch{25};
// A request arrives within this on loopback or a LAN; only connections that have been reading for
// longer are cut off to make room. Without it slow clients that reconnect at once would cut each
// other off hundreds of times a second, and a health check could be cut off before it is read.
constexpr std::chrono::milliseconds kMinReadingAge{200};

struct Connection {
  Connection(socket_t s, std::mutex& g) : sock(s), guard(g) {}
  const socket_t sock;
  std::mutex& guard;  // the tracker's: it guards reading and since
  bool reading = true;
  Clock::time_point since = Clock::now();
  std::atomic<bool> evicted{false};
  int64_t bytes = 0;  // of the current request; only its own thread touches the rest
  bool over_limit = false, close_after = false;
};

thread_local Connection* current = nullptr;

// 0 = ready, 1 = timed out, -1 = error or hang-up without data.
int wait_for(socket_t sock, short events, Clock::time_point deadline) {
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return 1;
    pollfd p{sock, events, 0};
    const int r = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 1000)));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -1;
    if (r > 0) return (p.revents & (events | POLLHUP | POLLERR)) ? 0 : -1;
  }
}

void address_of(socket_t sock, bool peer, std::string& ip, int& port) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  const int r = peer ? ::getpeername(sock, reinterpret_cast<sockaddr*>(&addr), &len)
                     : ::getsockname(sock, reinterpret_cast<sockaddr*>(&addr), &len);
  if (r != 0) return;
  std::array<char, NI_MAXHOST> host{};
  std::array<char, NI_MAXSERV> service{};
  if (::getnameinfo(reinterpret_cast<sockaddr*>(&addr), len, host.data(), host.size(), service.data(), service.size(),
                    NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
    ip = host.data();
    port = std::atoi(service.data());
  }
}

// A socket stream whose reads stop at a deadline and at the body limit.
class DeadlineStream : public httplib::Stream {
 public:
  DeadlineStream(Connection& c, int64_t max_bytes, std::chrono::milliseconds write_timeout)
      : c_(c), max_bytes_(max_bytes), write_timeout_(write_timeout) {}

  void set_deadline(Clock::time_point t) { deadline_ = t; }
  bool has_buffered() const { return begin_ < end_; }

  bool is_readable() const override {
    return has_buffered() || (!c_.evicted && wait_for(c_.sock, POLLIN, deadline_) == 0);
  }
  bool is_writable() const override { return wait_for(c_.sock, POLLOUT, Clock::now() + write_timeout_) == 0; }

  ssize_t read(char* ptr, size_t size) override {
    if (!has_buffered()) {
      if (!is_readable()) return -1;
      ssize_t n;
      do n = ::recv(c_.sock, buffer_.data(), buffer_.size(), 0);
      while (n < 0 && errno == EINTR);
      if (n <= 0) return n;
      begin_ = 0;
      end_ = static_cast<size_t>(n);
    }
    const size_t n = std::min(size, end_ - begin_);
    c_.bytes += static_cast<int64_t>(n);
    if (c_.bytes > max_bytes_) {
      c_.over_limit = true;
      return -1;
    }
    std::memcpy(ptr, buffer_.data() + begin_, n);
    begin_ += n;
    return static_cast<ssize_t>(n);
  }

  ssize_t write(const char* ptr, size_t size) override {
    if (!is_writable()) return -1;
    ssize_t n;
    do n = ::send(c_.sock, ptr, size, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return n;
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override { address_of(c_.sock, true, ip, port); }
  void get_local_ip_and_port(std::string& ip, int& port) const override { address_of(c_.sock, false, ip, port); }
  socket_t socket() const override { return c_.sock; }

 private:
  Connection& c_;
  const int64_t max_bytes_;
  const std::chrono::milliseconds write_timeout_;
  Clock::time_point deadline_ = Clock::now();
  std::array<char, 4096> buffer_{};
  size_t begin_ = 0, end_ = 0;
};

// Closes after a response to a request whose body was left unread: closing with unread bytes would
// reset the connection, and the client could lose the response it has not read yet. So stop
// sending, take in (and drop) what the client still sends for a moment, then close.
void drain_before_close(socket_t sock) {
  constexpr int64_t kMaxBytes = 8 << 20;
  ::shutdown(sock, SHUT_WR);
  const Clock::time_point until = Clock::now() + std::chrono::seconds(1);
  std::array<char, 16384> sink;
  for (int64_t total = 0; total < kMaxBytes && wait_for(sock, POLLIN, until) == 0;) {
    const ssize_t n = ::recv(sock, sink.data(), sink.size(), 0);
    if (n <= 0) break;
    total += n;
  }
}

// A fixed pool of threads that asks for the slowest reader to be cut off whenever a connection
// has to wait for a thread.
class ConnectionPool : public httplib::TaskQueue {
 public:
  ConnectionPool(size_t threads, std::function<void(size_t)> on_saturated) : on_saturated_(std::move(on_saturated)) {
    for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { work(); });
    threads_.emplace_back([this] { watch(); });
  }
  ~ConnectionPool() override { shutdown(); }

  void enqueue(std::function<void()> job) override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      jobs_.push_back(std::move(job));
    }
    ready_.notify_one();
    make_room();
  }

  void shutdown() override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    ready_.notify_all();
    stopped_.notify_all();
    for (std::thread& t : threads_)
      if (t.joinable()) t.join();
  }

 private:
  // Asks for as many connections to be cut off as there are connections waiting for a thread.
  void make_room() {
    size_t waiting;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      waiting = jobs_.size() > idle_ ? jobs_.size() - idle_ : 0;
    }
    if (waiting > 0) on_saturated_(waiting);
  }

  // Readers become old enough to be cut off over time, not only when a connection arrives.
  void watch() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stopping_) {
      stopped_.wait_for(lock, kWatch, [this] { return stopping_; });
      lock.unlock();
      make_room();
      lock.lock();
    }
  }

  void work() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        ++idle_;
        ready_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
        --idle_;
        if (jobs_.empty()) return;  // stopping, and nothing left to serve
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      job();
    }
  }

  std::function<void(size_t)> on_saturated_;
  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable ready_, stopped_;
  std::deque<std::function<void()>> jobs_;
  size_t idle_ = 0;
  bool stopping_ = false;
};

}  // namespace

struct GuardedHttpServer::Tracker {
  std::mutex mutex;
  std::list<Connection*> open;
  std::atomic<int64_t> evictions{0};

  void add(Connection* c) {
    std::lock_guard<std::mutex> lock(mutex);
    open.push_back(c);
  }
  // Under the mutex, so that eviction never shuts down a socket number that has been reused.
  void remove(Connection* c) {
    std::lock_guard<std::mutex> lock(mutex);
    open.remove(c);
    ::shutdown(c->sock, SHUT_RDWR);
    ::close(c->sock);
  }
  void set_reading(Connection* c, bool reading) {
    std::lock_guard<std::mutex> lock(mutex);
    c->reading = reading;
    c->since = Clock::now();
  }
  // Makes `waiting` threads free: connections already cut off but not yet closed count, and the
  // rest are the readers that have waited longest, once they have waited kMinReadingAge.
  void evict_readers(size_t waiting) {
    std::lock_guard<std::mutex> lock(mutex);
    size_t freeing = 0;
    for (Connection* c : open) freeing += c->evicted ? 1 : 0;
    const Clock::time_point old_enough = Clock::now() - kMinReadingAge;
    while (freeing < waiting) {
      Connection* oldest = nullptr;
      for (Connection* c : open)
        if (c->reading && !c->evicted && c->since <= old_enough && (!oldest || c->since < oldest->since)) oldest = c;
      if (!oldest) return;
      oldest->evicted = true;
      ::shutdown(oldest->sock, SHUT_RDWR);
      ++evictions;
      ++freeing;
    }
  }
};

GuardedHttpServer::GuardedHttpServer(ConnectionLimits limits) : limits_(limits), tracker_(std::make_shared<Tracker>()) {
  set_payload_max_length(static_cast<size_t>(limits_.max_body_bytes));
  new_task_queue = [threads = limits_.threads, tracker = tracker_] {
    return new ConnectionPool(threads, [tracker](size_t waiting) { tracker->evict_readers(waiting); });
  };
}

GuardedHttpServer::~GuardedHttpServer() = default;

bool GuardedHttpServer::body_over_limit() { return current && current->over_limit; }

void GuardedHttpServer::close_after_response() {
  if (current) current->close_after = true;
}

bool GuardedHttpServer::client_gone() {
  if (!current) return false;
  char byte = 0;
  const ssize_t n = ::recv(current->sock, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

int64_t GuardedHttpServer::evictions() const { return tracker_->evictions; }

bool GuardedHttpServer::process_and_close_socket(socket_t sock) {
  Connection connection(sock, tracker_->mutex);
  tracker_->add(&connection);
  current = &connection;
  DeadlineStream stream(connection, limits_.max_body_bytes + kHeaderAllowance, limits_.write_timeout);
  for (size_t left = CPPHTTPLIB_KEEPALIVE_MAX_COUNT; left > 0; --left) {
    // Idle until the next request begins, the keep-alive time runs out or the server stops.
    const Clock::time_point idle_until = Clock::now() + limits_.keep_alive;
    bool begun = stream.has_buffered();
    while (!begun && !connection.evicted && svr_sock_ != INVALID_SOCKET && Clock::now() < idle_until) {
      const int r = wait_for(sock, POLLIN, std::min(idle_until, Clock::now() + kStopCheck));
      if (r < 0) break;
      begun = r == 0;
    }
    if (!begun || connection.evicted) break;

    const Clock::time_point start = Clock::now();
    tracker_->set_reading(&connection, true);
    connection.bytes = 0;
    connection.over_limit = connection.close_after = false;
    stream.set_deadline(start + limits_.header_timeout);
    const bool last = left == 1 || svr_sock_ == INVALID_SOCKET;
    bool closed = false, ok = false;
    try {
      ok = process_request(stream, last, closed,
                           [&](httplib::Request&) { stream.set_deadline(start + limits_.request_timeout); });
    } catch (const std::exception& e) {
      log_warning(std::string("http: a request ended with an error: ") + e.what());
    } catch (...) {
      log_warning("http: a request ended with an unknown error");
    }
    if (connection.close_after && !connection.evicted) drain_before_close(sock);
    if (!ok || closed || connection.close_after || connection.evicted) break;
    tracker_->set_reading(&connection, true);
  }
  current = nullptr;
  tracker_->remove(&connection);
  return true;
}

void GuardedHttpServer::mark_handling() {
  if (!current) return;
  std::lock_guard<std::mutex> lock(current->guard);
  current->reading = false;
}

}  // namespace pconv
