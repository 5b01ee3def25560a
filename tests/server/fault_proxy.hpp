// An HTTP-aware fault-injecting proxy on 127.0.0.1 (Asio + Beast, one thread
// per client connection, blocking I/O): requests pass through to `upstream`
// unless a rule matches them, in which case the proxy drops the connection
// (before or after forwarding the request), answers 500 itself, or stalls.
#pragma once

#include <sys/socket.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <list>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace fhirbridge::test {

class FaultProxy {
 public:
  enum class Fault { pass, drop, drop_after_forward, answer_500, stall };
  struct Rule {
    std::string method;   // "GET", "POST", ... ("" = any)
    std::string path;     // target without the query string
    bool prefix = false;  // path is a prefix rather than the exact path
    Fault fault = Fault::pass;
    int times = 1;  // how many matching requests it applies to
  };

  explicit FaultProxy(unsigned short upstream_port) : upstream_port_(upstream_port) {
    namespace asio = boost::asio;
    acceptor_.open(asio::ip::tcp::v4());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind({asio::ip::make_address("127.0.0.1"), 0});
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    accept_thread_ = std::thread([this] { accept_loop(); });
  }
  ~FaultProxy() { stop(); }

  unsigned short port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  void add(Rule rule) {
    std::lock_guard lock(mutex_);
    rules_.push_back(std::move(rule));
  }
  void clear() {
    std::lock_guard lock(mutex_);
    rules_.clear();
  }
  // "METHOD target -> fault" per request seen.
  std::vector<std::string> log() const {
    std::lock_guard lock(mutex_);
    return log_;
  }
  int count(const std::string& method, const std::string& path_prefix) const {
    std::lock_guard lock(mutex_);
    int n = 0;
    for (const auto& line : log_)
      if (line.rfind(method + " " + path_prefix, 0) == 0) ++n;
    return n;
  }
  int forwarded() const { return forwarded_.load(); }

  void stop() {
    {
      std::lock_guard lock(mutex_);
      if (stopped_) return;
      stopped_ = true;
      for (auto* s : open_) ::shutdown(s->native_handle(), SHUT_RDWR);
    }
    stall_cv_.notify_all();
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
    if (accept_thread_.joinable()) accept_thread_.join();
    boost::system::error_code ec;
    acceptor_.close(ec);
    for (auto& t : workers_) t.join();
  }

 private:
  using tcp = boost::asio::ip::tcp;
  Fault next_fault(const std::string& method, const std::string& target) {
    const std::string path = target.substr(0, target.find('?'));
    std::lock_guard lock(mutex_);
    Fault fault = Fault::pass;
    for (auto& rule : rules_) {
      if (rule.times <= 0) continue;
      if (!rule.method.empty() && rule.method != method) continue;
      if (rule.prefix ? path.rfind(rule.path, 0) != 0 : path != rule.path) continue;
      --rule.times;
      fault = rule.fault;
      break;
    }
    static const char* names[] = {"pass", "drop", "drop_after_forward", "answer_500", "stall"};
    log_.push_back(method + " " + target + " -> " + names[static_cast<int>(fault)]);
    return fault;
  }

  void accept_loop() {
    for (;;) {
      auto socket = std::make_unique<tcp::socket>(ioc_);
      boost::system::error_code ec;
      acceptor_.accept(*socket, ec);
      std::lock_guard lock(mutex_);
      if (ec || stopped_) return;
      tcp::socket* raw = socket.release();
      open_.push_back(raw);
      workers_.emplace_back([this, raw] {
        serve(*raw);
        std::lock_guard lock(mutex_);
        open_.remove(raw);
        delete raw;
      });
    }
  }

  bool forward(const boost::beast::http::request<boost::beast::http::string_body>& req,
               boost::beast::http::response<boost::beast::http::string_body>& res) {
    namespace http = boost::beast::http;
    boost::system::error_code ec;
    tcp::socket up(ioc_);
    up.connect({boost::asio::ip::make_address("127.0.0.1"), upstream_port_}, ec);
    if (ec) return false;
    http::write(up, req, ec);
    if (ec) return false;
    boost::beast::flat_buffer buffer;
    http::read(up, buffer, res, ec);
    if (ec) return false;
    ++forwarded_;
    return true;
  }

  void serve(tcp::socket& client) {
    namespace http = boost::beast::http;
    boost::beast::flat_buffer buffer;
    for (;;) {
      http::request<http::string_body> req;
      boost::system::error_code ec;
      http::read(client, buffer, req, ec);
      if (ec) break;
      const Fault fault = next_fault(std::string(req.method_string()), std::string(req.target()));
      http::response<http::string_body> res;
      if (fault == Fault::drop) break;
      if (fault == Fault::stall) {
        std::unique_lock lock(mutex_);
        stall_cv_.wait(lock, [&] { return stopped_; });
        break;
      }
      if (fault == Fault::answer_500) {
        res = http::response<http::string_body>(http::status::internal_server_error, req.version());
        res.set(http::field::content_type, "application/json");
        res.body() = R"({"error":"Internal","message":"injected by the fault proxy"})";
        res.keep_alive(req.keep_alive());
      } else {
        const bool ok = forward(req, res);
        if (fault == Fault::drop_after_forward || !ok) break;
      }
      res.prepare_payload();
      http::write(client, res, ec);
      if (ec || !res.keep_alive()) break;
    }
    boost::system::error_code ignored;
    client.shutdown(tcp::socket::shutdown_both, ignored);
  }

  boost::asio::io_context ioc_;
  tcp::acceptor acceptor_{ioc_};
  unsigned short upstream_port_;
  unsigned short port_ = 0;
  std::thread accept_thread_;
  mutable std::mutex mutex_;
  std::condition_variable stall_cv_;
  bool stopped_ = false;
  std::deque<Rule> rules_;
  std::vector<std::string> log_;
  std::list<tcp::socket*> open_;
  std::list<std::thread> workers_;
  std::atomic<int> forwarded_{0};
};

}  // namespace fhirbridge::test
