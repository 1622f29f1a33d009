// The HTTP API over loopback: the happy path and every way a client can get it wrong.
#include "pconv/serve/server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>
#include <thread>

#include "pconv/import/import.h"
#include "pconv/io/files.h"
#include "pconv/io/image.h"
#include "pconv/io/log.h"
#include "test_util.h"

namespace pconv {
namespace {
using json = nlohmann::json;

std::string png(const cv::Mat& m) {
  const std::vector<uint8_t> bytes = encode_image(m, ".png", "test");
  return std::string(bytes.begin(), bytes.end());
}

cv::Mat decode(const std::string& body) {
  return decode_image(std::vector<uint8_t>(body.begin(), body.end()), "response");
}

httplib::MultipartFormDataItems form(const std::string& image, const std::string& mask) {
  httplib::MultipartFormDataItems items = {{"image", image, "photo.png", "image/png"}};
  if (!mask.empty()) items.push_back({"mask", mask, "mask.png", "image/png"});
  return items;
}

std::string error_of(const httplib::Result& r) { return json::parse(r->body).at("error").get<std::string>(); }

// A loopback connection that sends exactly the bytes it is given, for what no client library sends.
class RawConnection {
 public:
  explicit RawConnection(int port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~RawConnection() { ::close(fd_); }
  bool connected() const { return connected_; }
  bool send(const std::string& bytes) {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == ssize_t(bytes.size());
  }
  // Everything the server sends until it closes the connection or `seconds` pass.
  std::string receive(double seconds) {
    std::string out;
    const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
      pollfd p{fd_, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) return out;
      char buf[4096];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        closed_ = true;
        return out;
      }
      out.append(buf, static_cast<size_t>(n));
    }
  }
  bool closed() const { return closed_; }

 private:
  int fd_;
  bool connected_ = false, closed_ = false;
};

int status_of(const std::string& response) {
  return response.size() > 12 && response.rfind("HTTP/1.1 ", 0) == 0 ? std::atoi(response.c_str() + 9) : -1;
}

// A fill that holds until released, to fill the queue deterministically.
class Gate {
 public:
  InpaintServer::Fill fill() {
    return [this](const cv::Mat& image, const cv::Mat&, const InpaintOptions&) {
      std::unique_lock<std::mutex> lock(mutex_);
      open_.wait(lock, [this] { return released_; });
      return image.clone();
    };
  }
  void release() {
    std::lock_guard<std::mutex> lock(mutex_);
    released_ = true;
    open_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable open_;
  bool released_ = false;
};

class Server : public ::testing::Test {
 protected:
  void SetUp() override {
    test::write_tiny_model(dir / "model.safetensors", 3, 0.25);
    image = test::test_image(96, 72);
    hole = test::rect_hole(96, 72, {20, 15, 30, 25});
  }
  void TearDown() override { stop(); }

  void start(ServerOptions o = ServerOptions(), bool load = true, InpaintServer::Fill fill = {}) {
    o.port = 0;
    o.model_name = "model.safetensors";
    server = std::make_unique<InpaintServer>(o);
    port = server->bind();
    listener = std::thread([this] { server->listen(); });
    if (load)
      server->set_model(std::make_shared<const Inpainter>(Inpainter::from_file(dir / "model.safetensors")), fill);
  }
  void stop() {
    if (!server) return;
    server->stop();
    listener.join();
    server.reset();
  }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(60);
    return c;
  }
  httplib::Result post(const httplib::MultipartFormDataItems& items) const {
    return client().Post("/api/v1/inpaint", items);
  }
  // Waits until the server reports `running` and `waiting` requests.
  void wait_for(int running, int waiting) const {
    for (int i = 0; i < 500; ++i) {
      const auto r = client().Get("/api/v1/health");
      const json h = json::parse(r->body);
      if (h["running"] == running && h["waiting"] == waiting) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    FAIL() << "the server never had " << running << " running and " << waiting << " waiting";
  }

  test::TempDir dir;
  cv::Mat image, hole;
  std::unique_ptr<InpaintServer> server;
  std::thread listener;
  int port = 0;
};

TEST_F(Server, FillsTheHoleAndKeepsEveryOtherPixel) {
  start();
  const auto r = post(form(png(image), png(hole)));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->get_header_value("Content-Type"), "image/png");
  EXPECT_NE(r->get_header_value("Server-Timing").find("fill;dur="), std::string::npos);
  const cv::Mat out = decode(r->body);
  ASSERT_EQ(out.size(), image.size());
  ASSERT_EQ(out.type(), image.type());
  cv::Mat diff;
  cv::absdiff(out, image, diff);
  cv::cvtColor(diff, diff, cv::COLOR_BGR2GRAY);
  EXPECT_EQ(cv::countNonZero(diff & ~hole), 0);
  EXPECT_GT(cv::countNonZero(diff & hole), cv::countNonZero(hole) / 2);
}

// An imported model serves like pconv's own, and the API says where it came from.
TEST_F(Server, ServesAnImportedModel) {
  save_imported_model(dir / "model.safetensors",
                      import_model(std::filesystem::path(PCONV_TEST_DATA) / "import" / "sneakysketchers.pth", {}));
  start();
  const auto r = post(form(png(image), png(hole)));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const cv::Mat out = decode(r->body);
  cv::Mat diff;
  cv::absdiff(out, image, diff);
  cv::cvtColor(diff, diff, cv::COLOR_BGR2GRAY);
  EXPECT_EQ(cv::countNonZero(diff & ~hole), 0);
  EXPECT_GT(cv::countNonZero(diff & hole), cv::countNonZero(hole) / 2);
  const json m = json::parse(client().Get("/api/v1/model")->body);
  EXPECT_EQ(m["source"]["project"], "yashk2000/SneakySketchers") << m.dump();
  EXPECT_EQ(m["architecture"]["reweight_output_twice"], true) << m.dump();
}

TEST_F(Server, InvertedMaskJpegOutputAndTransparencyAsTheHole) {
  start();
  httplib::MultipartFormDataItems inverted = form(png(image), png(~hole));
  inverted.push_back({"invert_mask", "true", "", ""});
  inverted.push_back({"format", "jpeg", "", ""});
  const auto r = post(inverted);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->get_header_value("Content-Type"), "image/jpeg");
  EXPECT_EQ(decode(r->body).size(), image.size());

  cv::Mat bgra;
  cv::cvtColor(image, bgra, cv::COLOR_BGR2BGRA);
  bgra.setTo(cv::Scalar(0, 0, 0, 0), hole);
  const auto alpha = post(form(png(bgra), ""));
  ASSERT_EQ(alpha->status, 200) << alpha->body;
  const cv::Mat out = decode(alpha->body);
  ASSERT_EQ(out.channels(), 4);
  std::vector<cv::Mat> planes;
  cv::split(out, planes);
  EXPECT_EQ(cv::countNonZero(planes[3] == 255), static_cast<int>(out.total())) << "filled pixels are opaque";
}

TEST_F(Server, AnEmptyHoleReturnsTheImage) {
  start();
  const auto r = post(form(png(image), png(cv::Mat::zeros(image.size(), CV_8U))));
  ASSERT_EQ(r->status, 200);
  cv::Mat diff;
  cv::absdiff(decode(r->body), image, diff);
  EXPECT_EQ(cv::norm(diff, cv::NORM_INF), 0);
}

TEST_F(Server, HealthAndModelDescription) {
  start(ServerOptions(), false);
  const auto loading = client().Get("/api/v1/health");
  EXPECT_EQ(loading->status, 503);
  EXPECT_EQ(json::parse(loading->body)["status"], "loading");
  EXPECT_EQ(client().Get("/api/v1/model")->status, 503);
  EXPECT_EQ(post(form(png(image), png(hole)))->status, 503);

  server->set_model(std::make_shared<const Inpainter>(Inpainter::from_file(dir / "model.safetensors")));
  const auto ok = client().Get("/api/v1/health");
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(json::parse(ok->body)["status"], "ok");
  const auto model = client().Get("/api/v1/model");
  ASSERT_EQ(model->status, 200);
  const json m = json::parse(model->body);
  EXPECT_EQ(m["architecture"]["depth"], 3);
  EXPECT_EQ(m["architecture"]["type"], "pconv-unet");
  EXPECT_EQ(m["file"], "model.safetensors");
  EXPECT_EQ(m["limits"]["max_pixels"], ServerOptions().max_pixels);
}

TEST_F(Server, ServesTheWebPage) {
  start();
  const auto page = client().Get("/");
  ASSERT_EQ(page->status, 200);
  EXPECT_NE(page->get_header_value("Content-Type").find("text/html"), std::string::npos);
  EXPECT_NE(page->body.find("/app.js"), std::string::npos);
  EXPECT_EQ(client().Get("/app.js")->status, 200);
  EXPECT_EQ(client().Get("/style.css")->status, 200);
  const auto missing = client().Get("/nope");
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(error_of(missing), "no such path: /nope");
}

TEST_F(Server, ServesThePageFromAFolderWhileItIsWorkedOn) {
  test::TempDir web;
  const auto write = [&](const std::string& name, const std::string& text) {
    write_file_atomic(web / name, text.data(), text.size());
  };
  write("index.html", "<p>first</p>");
  write("app.js", "// app");
  ServerOptions o;
  o.web_dir = web.path();
  start(o);
  EXPECT_EQ(client().Get("/")->body, "<p>first</p>");
  write("index.html", "<p>edited</p>");  // no restart, no rebuild
  const auto page = client().Get("/index.html");
  EXPECT_EQ(page->body, "<p>edited</p>");
  EXPECT_NE(page->get_header_value("Content-Type").find("text/html"), std::string::npos);
  EXPECT_EQ(client().Get("/app.js")->body, "// app");
  EXPECT_EQ(client().Get("/style.css")->status, 500) << "a file missing from the folder is an error, not the built-in";

  ServerOptions bad;
  bad.web_dir = web / "nothing";
  test::expect_error([&] { InpaintServer s(bad); }, "web_dir");
}

TEST_F(Server, RefusesBadRequestsWithAJsonMessage) {
  start();
  struct Case {
    httplib::MultipartFormDataItems items;
    std::string message;
  };
  httplib::MultipartFormDataItems extra = form(png(image), png(hole));
  extra.push_back({"masks", "x", "", ""});
  httplib::MultipartFormDataItems bad_flag = form(png(image), png(hole));
  bad_flag.push_back({"invert_mask", "maybe", "", ""});
  httplib::MultipartFormDataItems bad_format = form(png(image), png(hole));
  bad_format.push_back({"format", "gif", "", ""});
  const std::vector<Case> cases = {
      {{{"mask", png(hole), "mask.png", "image/png"}}, "missing field 'image'"},
      {form(png(image), ""), "missing field 'mask'"},
      {form("not an image at all", png(hole)), "image: not a PNG, JPEG, WebP or BMP image"},
      {form(png(image), "plain text, not a mask"), "mask: not a PNG, JPEG, WebP or BMP image"},
      {form(png(image).substr(0, 60), png(hole)), "image: corrupt or truncated PNG"},
      {form(png(image), png(test::rect_hole(50, 40, {1, 1, 5, 5}))), "mask is 50x40 but image is 96x72"},
      {form(png(image), png(cv::Mat(image.size(), CV_8U, cv::Scalar(255)))), "hole"},
      {extra, "unknown field 'masks'"},
      {bad_flag, "invert_mask 'maybe'"},
      {bad_format, "format 'gif'"},
  };
  for (const Case& c : cases) {
    const auto r = post(c.items);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << c.message;
    EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
    EXPECT_NE(error_of(r).find(c.message), std::string::npos) << error_of(r);
  }
}

TEST_F(Server, RefusesMalformedBodies) {
  start();
  const auto not_multipart = client().Post("/api/v1/inpaint", "image=1", "application/x-www-form-urlencoded");
  EXPECT_EQ(not_multipart->status, 400);
  EXPECT_NE(error_of(not_multipart).find("multipart/form-data"), std::string::npos);

  const auto broken = client().Post("/api/v1/inpaint", "--xyz\r\nContent-Disposition: form-data; name=\"image\"\r\n",
                                    "multipart/form-data; boundary=xyz");
  EXPECT_EQ(broken->status, 400);
  EXPECT_FALSE(error_of(broken).empty());
  EXPECT_EQ(client().Get("/api/v1/inpaint")->status, 405);
}

TEST_F(Server, RefusesOversizedUploadsAndImages) {
  ServerOptions o;
  o.max_upload_bytes = 64 * 1024;
  o.max_pixels = 5000;
  start(o);
  const auto big = post(form(std::string(100 * 1024, 'x'), png(hole)));
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
  EXPECT_NE(error_of(big).find("larger than the server's limit"), std::string::npos);

  const auto pixels = post(form(png(image), png(hole)));
  EXPECT_EQ(pixels->status, 400);
  EXPECT_NE(error_of(pixels).find("image: 96x72 is 0.00691 megapixels, more than the limit"), std::string::npos)
      << error_of(pixels);
}

TEST_F(Server, ABusyServerQueuesThenRefusesWithRetryAfter) {
  ServerOptions o;
  o.concurrency = 1;
  o.queue = 1;
  Gate gate;
  start(o, true, gate.fill());
  auto first = std::async(std::launch::async, [&] { return post(form(png(image), png(hole))); });
  wait_for(1, 0);
  auto second = std::async(std::launch::async, [&] { return post(form(png(image), png(hole))); });
  wait_for(1, 1);
  const auto third = post(form(png(image), png(hole)));
  EXPECT_EQ(third->status, 503);
  EXPECT_FALSE(third->get_header_value("Retry-After").empty());
  EXPECT_NE(error_of(third).find("busy"), std::string::npos);
  gate.release();
  EXPECT_EQ(first.get()->status, 200);
  EXPECT_EQ(second.get()->status, 200);
}

TEST_F(Server, AWaitingRequestTimesOut) {
  ServerOptions o;
  o.queue = 1;
  o.timeout_s = 1;
  Gate gate;
  start(o, true, gate.fill());
  auto first = std::async(std::launch::async, [&] { return post(form(png(image), png(hole))); });
  wait_for(1, 0);
  const auto second = post(form(png(image), png(hole)));
  EXPECT_EQ(second->status, 503);
  EXPECT_NE(error_of(second).find("timeout of 1 s"), std::string::npos);
  gate.release();
  EXPECT_EQ(first.get()->status, 200);
}

TEST_F(Server, StopFinishesRunningRequestsAndRefusesWaitingOnes) {
  ServerOptions o;
  o.queue = 2;
  Gate gate;
  start(o, true, gate.fill());
  auto running = std::async(std::launch::async, [&] { return post(form(png(image), png(hole))); });
  wait_for(1, 0);
  auto waiting = std::async(std::launch::async, [&] { return post(form(png(image), png(hole))); });
  wait_for(1, 1);
  auto stopped = std::async(std::launch::async, [&] { stop(); });
  const auto refused = waiting.get();
  EXPECT_EQ(refused->status, 503);
  EXPECT_NE(error_of(refused).find("shutting down"), std::string::npos);
  gate.release();
  EXPECT_EQ(running.get()->status, 200);
  stopped.get();
}

TEST_F(Server, RejectsBadOptionsAndABusyPort) {
  ServerOptions o;
  o.concurrency = 0;
  test::expect_error([&] { InpaintServer s(o); }, "concurrency 0");
  start();
  ServerOptions same;
  same.port = port;
  InpaintServer second(same);
  test::expect_error([&] { second.bind(); }, "cannot listen there");
}

}  // namespace
}  // namespace pconv

namespace pconv {
namespace {

bool healthy(int port) {
  httplib::Client c("127.0.0.1", port);
  c.set_connection_timeout(5);
  c.set_read_timeout(5);
  const auto r = c.Get("/api/v1/health");
  return r && r->status == 200;
}

TEST_F(Server, InvalidUtf8InPathsAndFieldsIsABadRequestNotACrash) {
  start();
  for (const std::string line : {"GET /%ff HTTP/1.1", "GET /%c0%ae%c0%ae/etc/passwd HTTP/1.1", "GET /\xff HTTP/1.1",
                                 "DELETE /api/v1/%ff HTTP/1.1"}) {
    RawConnection c(port);
    ASSERT_TRUE(c.send(line + "\r\nHost: 127.0.0.1\r\n\r\n"));
    const std::string response = c.receive(10);
    EXPECT_EQ(status_of(response), 404) << line << "\n" << response;
    EXPECT_NE(response.find("no such path"), std::string::npos) << response;
    ASSERT_TRUE(healthy(port)) << "the server died on " << line;
  }
  httplib::MultipartFormDataItems bad_name = form(png(image), png(hole));
  bad_name.push_back({"\xff\xfe", "x", "", ""});
  httplib::MultipartFormDataItems bad_format = form(png(image), png(hole));
  bad_format.push_back({"format", "\xff", "", ""});
  httplib::MultipartFormDataItems bad_flag = form(png(image), png(hole));
  bad_flag.push_back({"invert_mask", "\xc0", "", ""});
  for (const auto& items : {bad_name, bad_format, bad_flag}) {
    const auto r = post(items);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << r->body;
    EXPECT_FALSE(error_of(r).empty());
  }
  EXPECT_TRUE(healthy(port));
}

// The request's quality picks the passes; at debug level each fill logs where its time went.
TEST_F(Server, QualityFieldAndDebugTimings) {
  std::vector<int> passes;
  std::vector<bool> timed;
  std::mutex mutex;
  start(ServerOptions(), true, [&](const cv::Mat& image, const cv::Mat&, const InpaintOptions& o) {
    const std::lock_guard<std::mutex> lock(mutex);
    passes.push_back(o.ensemble);
    timed.push_back(o.timings != nullptr);
    if (o.timings) o.timings->add("network pass", 0.001);
    return image.clone();
  });
  EXPECT_EQ(json::parse(client().Get("/api/v1/model")->body)["quality"], "fast");
  auto with_quality = [&](const std::string& quality) {
    httplib::MultipartFormDataItems items = form(png(image), png(hole));
    items.push_back({"quality", quality, "", ""});
    return post(items);
  };
  EXPECT_EQ(post(form(png(image), png(hole)))->status, 200);
  EXPECT_EQ(with_quality("best")->status, 200);
  EXPECT_EQ(with_quality("fast")->status, 200);
  const auto bad = with_quality("medium");
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(error_of(bad), "quality 'medium': expected fast or best");
  EXPECT_EQ(passes, (std::vector<int>{1, 8, 1}));
  EXPECT_EQ(timed, (std::vector<bool>{false, false, false}));

  set_log_level(LogLevel::kDebug);
  testing::internal::CaptureStderr();
  const auto debug = post(form(png(image), png(hole)));
  const std::string log = testing::internal::GetCapturedStderr();
  set_log_level(LogLevel::kInfo);
  EXPECT_EQ(debug->status, 200);
  EXPECT_TRUE(timed.back());
  for (const char* stage : {"debug: ", "96x72", "decode image and mask", "network pass", "encode", "total"})
    EXPECT_NE(log.find(stage), std::string::npos) << stage << "\n" << log;
}

// The dilate field grows the hole the fill receives; the server's --dilate is the default.
TEST_F(Server, DilateFieldGrowsTheHole) {
  std::vector<int> holes;
  std::mutex mutex;
  ServerOptions o;
  o.dilate = 2;
  start(o, true, [&](const cv::Mat& image, const cv::Mat& hole, const InpaintOptions&) {
    const std::lock_guard<std::mutex> lock(mutex);
    holes.push_back(cv::countNonZero(hole));
    return image.clone();
  });
  auto with_dilate = [&](const std::string& pixels) {
    httplib::MultipartFormDataItems items = form(png(image), png(hole));
    items.push_back({"dilate", pixels, "", ""});
    return post(items);
  };
  EXPECT_EQ(post(form(png(image), png(hole)))->status, 200);
  EXPECT_EQ(with_dilate("0")->status, 200);
  EXPECT_EQ(with_dilate("6")->status, 200);
  for (const char* bad : {"-1", "x", "1001", "2.5", ""}) {
    const auto r = with_dilate(bad);
    EXPECT_EQ(r->status, 400) << bad;
    EXPECT_EQ(error_of(r), "dilate '" + std::string(bad) + "': expected a whole number of pixels, 0..1000");
  }
  EXPECT_EQ(holes, (std::vector<int>{cv::countNonZero(grow_hole(hole, 2)), cv::countNonZero(hole),
                                     cv::countNonZero(grow_hole(hole, 6))}));
}

// The bundled smooth and textured models: a request's style field picks the one that fills.
TEST_F(Server, StyleFieldChoosesTheModel) {
  std::vector<std::string> used;
  std::mutex mutex;
  auto fill_as = [&](const std::string& style) {
    return [&, style](const cv::Mat& image, const cv::Mat&, const InpaintOptions&) {
      const std::lock_guard<std::mutex> lock(mutex);
      used.push_back(style);
      return image.clone();
    };
  };
  start(ServerOptions(), true, fill_as("smooth"));
  server->add_style("textured", std::make_shared<const Inpainter>(Inpainter::from_file(dir / "model.safetensors")),
                    fill_as("textured"));
  auto with_style = [&](const std::string& style) {
    httplib::MultipartFormDataItems items = form(png(image), png(hole));
    items.push_back({"style", style, "", ""});
    return post(items);
  };
  EXPECT_EQ(post(form(png(image), png(hole)))->status, 200);
  EXPECT_EQ(with_style("textured")->status, 200);
  EXPECT_EQ(with_style("smooth")->status, 200);
  const auto bad = with_style("grainy");
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(error_of(bad), "style 'grainy': this server fills with smooth, textured");
  EXPECT_EQ(used, (std::vector<std::string>{"smooth", "textured", "smooth"}));
  const json m = json::parse(client().Get("/api/v1/model")->body);
  EXPECT_EQ(m["style"], "smooth");
  EXPECT_EQ(m["styles"], json::array({"smooth", "textured"}));
}

// A client that closes its connection (the page's Cancel) stops its fill at the next tile.
TEST_F(Server, AFillWhoseClientWentAwayIsAbandoned) {
  std::atomic<int> tiles{0};
  std::atomic<bool> finished{false};
  start(ServerOptions(), true, [&](const cv::Mat& image, const cv::Mat&, const InpaintOptions& o) {
    for (int i = 0; i < 200; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      ++tiles;
      o.progress(i + 1, 200);
    }
    finished = true;
    return image.clone();
  });
  testing::internal::CaptureStderr();
  {
    httplib::Client impatient("127.0.0.1", port);
    impatient.set_read_timeout(0, 300'000);
    EXPECT_FALSE(impatient.Post("/api/v1/inpaint", form(png(image), png(hole))));
  }
  for (int i = 0; i < 100 && !healthy(port); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const auto next = post(form(png(image), png(hole)));  // waits for the slot the abandoned fill held
  const std::string log = testing::internal::GetCapturedStderr();
  EXPECT_LT(tiles.load(), 300) << "the abandoned fill ran to its end (200 tiles) besides the second (200)";
  EXPECT_NE(log.find("the client went away; its fill was abandoned"), std::string::npos) << log;
  ASSERT_TRUE(next);
  EXPECT_EQ(next->status, 200);
  EXPECT_TRUE(finished) << "the second fill, whose client waited, ran to its end";
}

TEST_F(Server, AFailingFillAnswers500AndTheServerKeepsServing) {
  start(ServerOptions(), true, [](const cv::Mat&, const cv::Mat&, const InpaintOptions&) -> cv::Mat {
    throw std::runtime_error("boom \xff");
  });
  const auto r = post(form(png(image), png(hole)));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(error_of(r), "internal error");
  EXPECT_TRUE(healthy(port));
}

TEST_F(Server, SlowClientsAreCutOffAndHealthKeepsAnswering) {
  ServerOptions o;
  o.concurrency = 1;
  o.queue = 1;  // six threads
  o.header_timeout_s = 2;
  o.io_timeout_s = 4;
  start(o);
  // Twice as many connections as threads, each one header byte in: before the fix they held
  // every thread until their reads timed out one by one.
  std::vector<std::unique_ptr<RawConnection>> slow;
  for (int i = 0; i < 12; ++i) {
    slow.push_back(std::make_unique<RawConnection>(port));
    ASSERT_TRUE(slow.back()->send("G"));
  }
  EXPECT_TRUE(healthy(port)) << "health must answer while slow clients hold connections";
  // A client that keeps trickling header bytes is cut off at the header deadline.
  RawConnection trickle(port);
  ASSERT_TRUE(trickle.send("GET /api/v1/health HTTP/1.1\r\n"));
  for (int i = 0; i < 16 && !trickle.closed(); ++i) {
    trickle.send("X");
    trickle.receive(0.5);
  }
  EXPECT_TRUE(trickle.closed()) << "still open after 8 s of a 2 s header deadline";
  // A body announced and never sent is cut off at the request deadline.
  RawConnection stalled(port);
  ASSERT_TRUE(
      stalled.send("POST /api/v1/inpaint HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; "
                   "boundary=x\r\nContent-Length: 60000\r\n\r\nabc"));
  stalled.receive(8);
  EXPECT_TRUE(stalled.closed());
  EXPECT_TRUE(healthy(port));
}

TEST_F(Server, TheUploadLimitHoldsForChunkedBodies) {
  ServerOptions o;
  o.max_upload_bytes = 64 * 1024;
  start(o);
  RawConnection c(port);
  ASSERT_TRUE(
      c.send("POST /api/v1/inpaint HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; "
             "boundary=x\r\nTransfer-Encoding: chunked\r\n\r\n"));
  const std::string chunk(16 * 1024, 'x');
  char size_line[32];
  std::snprintf(size_line, sizeof size_line, "%zx\r\n", chunk.size());
  std::string response;
  for (int i = 0; i < 64 && response.empty(); ++i) {  // 1 MiB against a 64 KiB limit
    if (!c.send(size_line + chunk + "\r\n")) break;
    response = c.receive(0.01);
  }
  response += c.receive(5);
  EXPECT_EQ(status_of(response), 413) << response.substr(0, 200);
  EXPECT_NE(response.find("larger than the server's limit of 64 KiB"), std::string::npos) << response.substr(0, 300);
}

TEST_F(Server, OnlyItsOwnPagesAndNamesMayUseIt) {
  ServerOptions o;
  o.allow_origins = {"http://tool.example:3000"};
  o.allow_hosts = {"pconv.lan"};
  start(o);
  const std::string self = "http://127.0.0.1:" + std::to_string(port);
  auto with = [&](httplib::Headers headers) {
    return client().Post("/api/v1/inpaint", headers, form(png(image), png(hole)));
  };
  const auto evil = with({{"Origin", "http://evil.example"}});
  EXPECT_EQ(evil->status, 403);
  EXPECT_NE(error_of(evil).find("--allow-origin http://evil.example"), std::string::npos) << error_of(evil);
  EXPECT_EQ(with({{"Origin", self}})->status, 200) << "the server's own page";
  const auto listed = with({{"Origin", "http://tool.example:3000"}});
  EXPECT_EQ(listed->status, 200);
  EXPECT_EQ(listed->get_header_value("Access-Control-Allow-Origin"), "http://tool.example:3000");

  const auto rebinding = client().Get("/api/v1/model", {{"Host", "evil.example:" + std::to_string(port)}});
  EXPECT_EQ(rebinding->status, 403);
  EXPECT_NE(error_of(rebinding).find("--allow-host evil.example"), std::string::npos);
  EXPECT_EQ(client().Get("/api/v1/model", {{"Host", "localhost:" + std::to_string(port)}})->status, 200);
  EXPECT_EQ(client().Get("/api/v1/model", {{"Host", "PCONV.lan"}})->status, 200);
}

TEST_F(Server, ATokenGuardsTheApiButNotHealthOrThePage) {
  ServerOptions o;
  o.token = "0123456789abcdef0123";
  start(o);
  const auto none = client().Get("/api/v1/model");
  EXPECT_EQ(none->status, 401);
  EXPECT_EQ(none->get_header_value("WWW-Authenticate"), "Bearer");
  EXPECT_EQ(client().Get("/api/v1/model", {{"Authorization", "Bearer 0123456789abcdef0124"}})->status, 401);
  EXPECT_EQ(client().Get("/api/v1/model", {{"Authorization", "Bearer " + o.token}})->status, 200);
  EXPECT_EQ(client().Get("/api/v1/health")->status, 200);
  EXPECT_EQ(client().Get("/")->status, 200);
  o.token = "short";
  test::expect_error([&] { o.check(); }, "at least 16 characters");
}

TEST_F(Server, MethodsAndPathsAreMatchedExactly) {
  start();
  const auto del = client().Delete("/api/v1/inpaint");
  EXPECT_EQ(del->status, 405);
  EXPECT_EQ(del->get_header_value("Allow"), "POST, OPTIONS");
  const auto options = client().Options("/api/v1/model");
  EXPECT_EQ(options->status, 204);
  EXPECT_EQ(options->get_header_value("Allow"), "GET, HEAD, OPTIONS");
  EXPECT_EQ(client().Get("/appXjs")->status, 404) << "a dot in a route is not a wildcard";
  EXPECT_EQ(client().Get("/app.js")->status, 200);
  // A PUT with neither a length nor a body is answered at once, not after a read timeout.
  RawConnection put(port);
  ASSERT_TRUE(put.send("PUT /api/v1/inpaint HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  EXPECT_EQ(status_of(put.receive(5)), 405);
  RawConnection no_length(port);
  ASSERT_TRUE(no_length.send("POST /api/v1/inpaint HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  EXPECT_EQ(status_of(no_length.receive(5)), 411);
}

}  // namespace
}  // namespace pconv
