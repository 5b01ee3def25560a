// Modelled on Boost.Beast's advanced_server example: one strand per
// connection, tcp_stream timeouts, request_parser body limit.
#include "fhirbridge/server/http_server.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <csignal>
#include <cstdio>
#include <iostream>

#include "fhirbridge/server/handle_request.hpp"

namespace fhirbridge::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

class Session;

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  Impl(ServerContext& c, HttpServerOptions o)
      : ctx(c), options(std::move(o)), strand(asio::make_strand(ioc)), acceptor(strand) {}

  ServerContext& ctx;
  HttpServerOptions options;
  asio::io_context ioc;
  asio::strand<asio::io_context::executor_type> strand;  // acceptor + signals
  tcp::acceptor acceptor;
  std::optional<asio::signal_set> signals;
  std::atomic<bool> stopping{false};
  std::mutex sessions_mutex;
  std::vector<std::weak_ptr<Session>> sessions;

  void do_accept();
  void on_accept(beast::error_code ec, tcp::socket socket);
  void stop();
  void log(std::string_view method, std::string_view target, unsigned status, double ms) const {
    if (!options.access_log) return;
    // Path only: query strings may hold search values (names, birth dates).
    std::string_view path = target.substr(0, target.find('?'));
    char line[512];
    int n = std::snprintf(
        line, sizeof line, "%.*s %.*s %u %.1fms\n", static_cast<int>(method.size()), method.data(),
        static_cast<int>(std::min<std::size_t>(path.size(), 300)), path.data(), status, ms);
    if (n > 0)
      std::fwrite(line, 1, std::min<std::size_t>(static_cast<std::size_t>(n), sizeof line - 1),
                  stderr);
  }
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, std::shared_ptr<HttpServer::Impl> server)
      : stream_(std::move(socket)), server_(std::move(server)) {}

  void run() {
    asio::dispatch(stream_.get_executor(),
                   beast::bind_front_handler(&Session::do_read, shared_from_this()));
  }

  // Called (on this session's strand) when the server stops: an idle
  // keep-alive connection is closed now; a request in progress finishes.
  void on_server_stop() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      if (self->reading_ && self->parser_ && !self->parser_->got_some()) {
        beast::error_code ignored;
        self->stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
        self->stream_.cancel();
      }
    });
  }

 private:
  void do_read() {
    if (server_->stopping) return do_close();
    parser_.emplace();
    parser_->body_limit(server_->ctx.settings().body_limit);
    stream_.expires_after(server_->options.read_timeout);
    reading_ = true;
    beast::http::async_read(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&Session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    reading_ = false;
    if (ec == beast::http::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
        ec == asio::error::eof)
      return do_close();
    started_ = std::chrono::steady_clock::now();
    if (ec == beast::http::error::body_limit) {
      method_ = std::string(parser_->get().method_string());
      target_ = std::string(parser_->get().target());
      return send(error_response(
          Status(StatusCode::too_large, "body over the limit of " +
                                            std::to_string(server_->ctx.settings().body_limit) +
                                            " bytes"),
          parser_->get().version(), false));
    }
    if (ec) {
      if (!parser_->got_some()) return do_close();
      method_ = "-";
      target_ = "-";
      return send(error_response(
          Status(StatusCode::structure, "malformed HTTP request: " + ec.message()), 11, false));
    }
    Request request = parser_->release();
    method_ = std::string(request.method_string());
    target_ = std::string(request.target());
    Response response = handle_request(std::move(request), server_->ctx);
    if (server_->stopping) response.keep_alive(false);
    send(std::move(response));
  }

  void send(Response&& response) {
    response_.emplace(std::move(response));
    stream_.expires_after(server_->options.read_timeout);
    beast::http::async_write(stream_, *response_,
                             beast::bind_front_handler(&Session::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started_)
            .count();
    const bool keep_alive = response_->keep_alive();
    server_->log(method_, target_, response_->result_int(), ms);
    response_.reset();
    if (ec || !keep_alive) return do_close();
    do_read();
  }

  void do_close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.socket().close(ignored);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::shared_ptr<HttpServer::Impl> server_;
  std::optional<beast::http::request_parser<beast::http::string_body>> parser_;
  std::optional<Response> response_;
  bool reading_ = false;
  std::chrono::steady_clock::time_point started_;
  std::string method_, target_;
};

void HttpServer::Impl::do_accept() {
  acceptor.async_accept(asio::make_strand(ioc),
                        beast::bind_front_handler(&Impl::on_accept, shared_from_this()));
}

void HttpServer::Impl::on_accept(beast::error_code ec, tcp::socket socket) {
  if (stopping || !acceptor.is_open()) return;
  if (!ec) {
    auto session = std::make_shared<Session>(std::move(socket), shared_from_this());
    {
      std::lock_guard lock(sessions_mutex);
      std::erase_if(sessions, [](const auto& w) { return w.expired(); });
      sessions.push_back(session);
    }
    session->run();
  }
  do_accept();
}

void HttpServer::Impl::stop() {
  if (stopping.exchange(true)) return;
  asio::post(strand, [self = shared_from_this()] {
    beast::error_code ignored;
    self->acceptor.close(ignored);
    if (self->signals) self->signals->cancel(ignored);
    std::vector<std::shared_ptr<Session>> live;
    {
      std::lock_guard lock(self->sessions_mutex);
      for (auto& w : self->sessions)
        if (auto s = w.lock()) live.push_back(std::move(s));
    }
    for (auto& s : live) s->on_server_stop();
  });
}

HttpServer::HttpServer(ServerContext& ctx, HttpServerOptions options)
    : impl_(std::make_shared<Impl>(ctx, std::move(options))) {}

HttpServer::~HttpServer() {
  stop();
  wait();
}

Status HttpServer::start() {
  beast::error_code ec;
  auto address = asio::ip::make_address(impl_->options.address, ec);
  if (ec) return Status::Invalid("listen", "bad listen address '" + impl_->options.address + "'");
  tcp::endpoint endpoint{address, impl_->options.port};
  auto& acceptor = impl_->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return Status(StatusCode::unavailable, "cannot listen on " + impl_->options.address + ":" +
                                               std::to_string(impl_->options.port) + ": " +
                                               ec.message());
  port_ = acceptor.local_endpoint().port();
  asio::post(impl_->strand, [impl = impl_] { impl->do_accept(); });
  const unsigned n = std::max(1u, impl_->options.threads);
  for (unsigned i = 0; i < n; ++i)
    threads_.emplace_back([impl = impl_] {
      for (;;) {
        try {
          impl->ioc.run();
          return;
        } catch (
            const std::exception& e) {  // keep serving: one bad handler must not stop the server
          std::cerr << "fhirbridge: io error: " << e.what() << "\n";
        }
      }
    });
  return {};
}

void HttpServer::stop_on_signals() {
  asio::post(impl_->strand, [impl = impl_] {
    if (impl->stopping || impl->signals) return;
    impl->signals.emplace(impl->strand, SIGINT, SIGTERM);
    impl->signals->async_wait([impl](beast::error_code ec, int signal) {
      if (ec) return;
      std::cerr << "fhirbridge: " << (signal == SIGINT ? "SIGINT" : "SIGTERM")
                << " received, finishing requests in flight\n";
      impl->stop();
    });
  });
}

void HttpServer::stop() {
  impl_->stop();
}

void HttpServer::wait() {
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

}  // namespace fhirbridge::server
