// The "ceiling" of the HTTP benchmark: the same Boost.Beast I/O models as
// fhirbridge's server (pinned: one io_context per thread, each connection on
// one of them, round-robin; shared: one io_context run by N threads, a strand
// per connection; docs/server.md "I/O threads"), tcp_stream timeouts,
// request_parser<string_body>, keep-alive, but the handler only answers a
// fixed FHIR-sized JSON body. What fhirbridge loses against it is the cost of
// the FHIR work itself.
//
//   ceiling_server [--port N] [--threads N] [--body-bytes N] [--io-model pinned|shared]
// Prints "listening on 127.0.0.1:PORT" once ready; stops on SIGINT/SIGTERM.
#include <boost/asio/dispatch.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

// A Patient of about the size fhirbridge answers for a read, padded to the
// requested size so the bytes on the wire are comparable.
std::string fixed_body(std::size_t bytes) {
  std::string body = R"({"resourceType":"Patient","id":"0b8f6c3e-8d1c-4c55-9a57-3d0f1c1f0a11",)"
                     R"("meta":{"versionId":"1","lastUpdated":"2026-01-01T00:00:00.000Z"},)"
                     R"("active":true,"name":[{"family":"Duck","given":["Donald"]}],)"
                     R"("gender":"male","birthDate":"1934-06-09","text":")";
  const std::string tail = R"("})";
  while (body.size() + tail.size() < bytes) body.push_back('x');
  return body + tail;
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, const std::string& body)
      : stream_(std::move(socket)), body_(body) {}

  void run() {
    asio::dispatch(stream_.get_executor(),
                   beast::bind_front_handler(&Session::do_read, shared_from_this()));
  }

 private:
  void do_read() {
    parser_.emplace();
    parser_->body_limit(8 * 1024 * 1024);
    stream_.expires_after(std::chrono::seconds(30));
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec) return do_close();
    const auto& request = parser_->get();
    response_.emplace(http::status::ok, request.version());
    response_->set(http::field::server, "ceiling");
    response_->set(http::field::content_type, "application/fhir+json;charset=utf-8");
    response_->keep_alive(request.keep_alive());
    response_->body() = body_;
    response_->prepare_payload();
    http::async_write(stream_, *response_,
                      beast::bind_front_handler(&Session::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    const bool keep_alive = response_->keep_alive();
    response_.reset();
    if (ec || !keep_alive) return do_close();
    do_read();
  }

  void do_close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  const std::string& body_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::string_body>> response_;
};

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  // Connections go round-robin over `loops`, each on a strand when `strands`.
  Listener(std::vector<asio::io_context*> loops, bool strands, tcp::endpoint endpoint,
           const std::string& body)
      : loops_(std::move(loops)),
        strands_(strands),
        acceptor_(asio::make_strand(*loops_.front())),
        body_(body) {
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen(asio::socket_base::max_listen_connections);
  }
  unsigned short port() const { return acceptor_.local_endpoint().port(); }
  void run() { do_accept(); }

 private:
  void do_accept() {
    asio::io_context& loop = *loops_[next_++ % loops_.size()];
    auto handler = beast::bind_front_handler(&Listener::on_accept, shared_from_this());
    if (strands_)
      acceptor_.async_accept(asio::make_strand(loop), std::move(handler));
    else
      acceptor_.async_accept(loop.get_executor(), std::move(handler));
  }
  void on_accept(beast::error_code ec, tcp::socket socket) {
    if (!ec) std::make_shared<Session>(std::move(socket), body_)->run();
    if (acceptor_.is_open()) do_accept();
  }

  std::vector<asio::io_context*> loops_;
  bool strands_;
  std::size_t next_ = 0;
  tcp::acceptor acceptor_;
  const std::string& body_;
};

}  // namespace

int main(int argc, char** argv) {
  unsigned short port = 0;
  unsigned threads = 2;
  std::size_t body_bytes = 400;
  bool pinned = true;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const unsigned long value = std::strtoul(argv[i + 1], nullptr, 10);
    if (flag == "--io-model" &&
        (std::string(argv[i + 1]) == "pinned" || std::string(argv[i + 1]) == "shared"))
      pinned = std::string(argv[i + 1]) == "pinned";
    else if (flag == "--port")
      port = static_cast<unsigned short>(value);
    else if (flag == "--threads")
      threads = static_cast<unsigned>(std::max(1ul, value));
    else if (flag == "--body-bytes")
      body_bytes = value;
    else {
      std::cerr << "usage: ceiling_server [--port N] [--threads N] [--body-bytes N] "
                   "[--io-model pinned|shared]\n";
      return 2;
    }
  }
  try {
    const std::string body = fixed_body(body_bytes);
    // As fhirbridge's HttpServer: one loop per thread (hint 1) when pinned.
    std::vector<std::unique_ptr<asio::io_context>> owned;
    for (unsigned t = 0; t < (pinned ? threads : 1u); ++t)
      owned.push_back(std::make_unique<asio::io_context>(pinned ? 1 : static_cast<int>(threads)));
    std::vector<asio::io_context*> loops;
    std::vector<asio::executor_work_guard<asio::io_context::executor_type>> idle;
    for (auto& loop : owned) {
      loops.push_back(loop.get());
      idle.push_back(asio::make_work_guard(*loop));  // until the signal
    }
    auto listener = std::make_shared<Listener>(
        loops, !pinned, tcp::endpoint{asio::ip::make_address("127.0.0.1"), port}, body);
    listener->run();
    asio::signal_set signals(*loops.front(), SIGINT, SIGTERM);
    signals.async_wait([&](beast::error_code, int) {
      for (auto* loop : loops) loop->stop();
    });
    std::cout << "listening on 127.0.0.1:" << listener->port() << std::endl;
    std::vector<std::thread> pool;
    for (unsigned t = 1; t < threads; ++t)
      pool.emplace_back([&, t] { loops[t % loops.size()]->run(); });
    loops.front()->run();
    for (auto& t : pool) t.join();
  } catch (const std::exception& e) {
    std::cerr << "ceiling_server: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
