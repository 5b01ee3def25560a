// Modelled on Boost.Beast's advanced_server(_flex) examples: tcp_stream
// timeouts, request_parser body limit, and (IoModel::shared) one strand per
// connection; IoModel::pinned gives each I/O thread its own io_context
// instead (docs/server.md, "I/O threads"). One Session template serves both
// plain TCP and TLS (ssl_stream over tcp_stream).
#include "fhirbridge/server/http_server.hpp"

#include <botan/mem_ops.h>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <unistd.h>  // close

#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <type_traits>

#include "fhirbridge/server/detail/write_pool.hpp"
#include "fhirbridge/server/handle_request.hpp"

namespace fhirbridge::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

// What the server needs to reach every live session on stop().
class SessionBase {
 public:
  virtual ~SessionBase() = default;
  virtual void on_server_stop() = 0;
};

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  Impl(ServerContext& c, HttpServerOptions o)
      : ctx(c),
        options(std::move(o)),
        loops(make_loops(options)),
        connections(std::make_unique<std::atomic<std::size_t>[]>(loops.size())),
        strand(asio::make_strand(*loops.front())),
        acceptor(strand) {}

  // The event loops: one per I/O thread when connections are pinned, else one
  // that every I/O thread runs. The concurrency hint 1 tells asio that a
  // single thread runs a loop (no wake-up of another thread per handler);
  // other threads (the write pool) may still post to it.
  static std::vector<std::unique_ptr<asio::io_context>> make_loops(const HttpServerOptions& o) {
    const unsigned threads = std::max(1u, o.threads);
    const bool pinned = o.io_model == HttpServerOptions::IoModel::pinned;
    std::vector<std::unique_ptr<asio::io_context>> loops;
    for (unsigned i = 0; i < (pinned ? threads : 1u); ++i)
      loops.push_back(std::make_unique<asio::io_context>(pinned ? 1 : static_cast<int>(threads)));
    return loops;
  }

  ServerContext& ctx;
  HttpServerOptions options;
  std::vector<std::unique_ptr<asio::io_context>> loops;  // the first also runs the acceptor
  // Open connections per loop: a new one goes where there are fewest, so that
  // connections that closed unevenly do not leave one thread with most of them.
  std::unique_ptr<std::atomic<std::size_t>[]> connections;
  asio::strand<asio::io_context::executor_type> strand;  // acceptor + signals
  // Keep the pinned loops that have no connection running until stop().
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> idle_guards;
  std::size_t next_loop = 0;  // on the strand: where ties start (round-robin)
  tcp::acceptor acceptor;
  std::optional<ssl::context> tls;  // set by start() when TLS is configured
  std::optional<asio::signal_set> signals;
  detail::WritePool* write_pool = nullptr;  // HttpServer::write_pool_, while it runs
  std::atomic<bool> stopping{false};
  std::mutex sessions_mutex;
  std::vector<std::weak_ptr<SessionBase>> sessions;

  void do_accept();
  void on_accept(beast::error_code ec, tcp::socket socket);
  std::size_t least_loaded_loop();
  tcp::socket place_accepted(tcp::socket&& accepted, std::size_t loop, beast::error_code& ec);
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

namespace {

using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

template <class Stream>
constexpr bool kIsTls = std::is_same_v<Stream, TlsStream>;

// How long a connection answered before its request's end drains what the
// client still sends (Session::do_linger).
constexpr std::chrono::seconds kLingerTime{2};

// Overwrites a string's bytes before it is freed: request bodies may carry
// private keys and Basic credentials (std::string has no secure allocator).
// Botan's scrub is explicit_bzero: a memset the compiler may not drop, not a
// byte-by-byte volatile loop (it runs on every request).
void wipe(std::string& s) {
  Botan::secure_scrub_memory(s.data(), s.size());
  s.clear();
}

template <class Stream>
class Session : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
 public:
  // Counted in `server`'s connections of `loop` for as long as it lives.
  Session(tcp::socket&& socket, std::shared_ptr<HttpServer::Impl> server, std::size_t loop)
      : stream_(make_stream(std::move(socket), *server)), server_(std::move(server)), loop_(loop) {
    ++server_->connections[loop_];
    beast::error_code ec;
    auto endpoint = beast::get_lowest_layer(stream_).socket().remote_endpoint(ec);
    if (!ec) client_address_ = endpoint.address().to_string();
  }
  ~Session() override { --server_->connections[loop_]; }

  void run() {
    asio::dispatch(stream_.get_executor(),
                   beast::bind_front_handler(&Session::on_start, this->shared_from_this()));
  }

  // Called (on this session's executor) when the server stops: an idle
  // keep-alive connection is closed now; a request in progress finishes.
  void on_server_stop() override {
    asio::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
      if (self->lingering_) {
        beast::get_lowest_layer(self->stream_).cancel();  // the drain ends and closes
      } else if (self->reading_ && self->parser_ && !self->parser_->got_some()) {
        beast::error_code ignored;
        auto& lowest = beast::get_lowest_layer(self->stream_);
        lowest.socket().shutdown(tcp::socket::shutdown_both, ignored);
        lowest.cancel();
      }
    });
  }

 private:
  static Stream make_stream(tcp::socket&& socket, HttpServer::Impl& server) {
    if constexpr (kIsTls<Stream>)
      return Stream(std::move(socket), *server.tls);
    else
      return Stream(std::move(socket));
  }

  void on_start() {
    if constexpr (kIsTls<Stream>) {
      // The handshake shares the read timeout: a client that connects and
      // sends nothing (or plain HTTP) is dropped.
      beast::get_lowest_layer(stream_).expires_after(server_->options.read_timeout);
      stream_.async_handshake(
          ssl::stream_base::server,
          beast::bind_front_handler(&Session::on_handshake, this->shared_from_this()));
    } else {
      do_read();
    }
  }

  void on_handshake(beast::error_code ec) {
    // Not TLS (plain HTTP to the HTTPS port), a bad client hello or a
    // timeout: close the TCP connection; nothing was read, nothing answered.
    if (ec) return close_socket();
    do_read();
  }

  void do_read() {
    if (server_->stopping) return do_close();
    parser_.emplace();
    parser_->body_limit(server_->ctx.settings().body_limit);
    beast::get_lowest_layer(stream_).expires_after(server_->options.read_timeout);
    reading_ = true;
    beast::http::async_read_header(
        stream_, buffer_, *parser_,
        beast::bind_front_handler(&Session::on_header, this->shared_from_this()));
  }

  // The header is in (or the read failed, e.g. a Content-Length over the body
  // limit). A request without a body is complete. A client that sent
  // "Expect: 100-continue" waits for "100 Continue" before sending its body
  // (curl does for bodies over 1 MiB, and gives up waiting after a second):
  // unless its credentials are refused, it gets it now, then the body is read.
  // An expectation we do not know gets 417 (answer_before_body).
  void on_header(beast::error_code ec, std::size_t n) {
    if (ec || parser_->is_done()) return on_read(ec, n);
    const auto& request = parser_->get();
    const auto expect = request[beast::http::field::expect];
    if (request.version() < 11 || expect.empty()) return read_body();
    // Checking a password hashes it: on the write pool, as writes run, when there is one.
    // (The session waits meanwhile; the parser is only read.) Remembered credentials are
    // checked here: a pool busy with writes does not delay their 100.
    if (!server_->write_pool || !answer_before_body_hashes(request, server_->ctx))
      return answer_or_continue(check_header(request));
    auto back = asio::prefer(stream_.get_executor(), asio::execution::outstanding_work.tracked);
    server_->write_pool->post([self = this->shared_from_this(), back = std::move(back)]() mutable {
      auto early = self->check_header(self->parser_->get());
      asio::post(back, [self = std::move(self), early = std::move(early)]() mutable {
        self->answer_or_continue(std::move(early));
      });
    });
  }

  // answer_before_body for the header read so far, as handle() runs the API.
  std::optional<Response> check_header(const Request& header) {
    RequestClient client{client_address_};
    RequestClientScope scope(client);
    std::optional<Response> early = answer_before_body(header, server_->ctx);
    if (early) finish(*early, client);
    return early;
  }

  // A refusal is sent instead of "100 Continue"; the body is then not read
  // (the client need not send it) and the connection closes after a linger.
  void answer_or_continue(std::optional<Response> early) {
    if (early) {
      reading_ = false;
      started_ = std::chrono::steady_clock::now();
      return send_unread(std::move(*early), std::string(parser_->get().method_string()),
                         std::string(parser_->get().target()));
    }
    continue_.emplace(beast::http::status::continue_, parser_->get().version());
    beast::http::async_write(
        stream_, *continue_,
        beast::bind_front_handler(&Session::on_continue_sent, this->shared_from_this()));
  }

  void on_continue_sent(beast::error_code ec, std::size_t) {
    continue_.reset();
    if (ec) {
      reading_ = false;
      return do_close();
    }
    read_body();
  }

  void read_body() {
    beast::http::async_read(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&Session::on_read, this->shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    reading_ = false;
    if (ec == beast::http::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
        ec == asio::error::eof || ec == ssl::error::stream_truncated)
      return do_close();
    started_ = std::chrono::steady_clock::now();
    if (ec == beast::http::error::body_limit) {
      wipe(parser_->get().body());
      return send_unread(
          error_response(Status(StatusCode::too_large,
                                "body over the limit of " +
                                    std::to_string(server_->ctx.settings().body_limit) + " bytes"),
                         parser_->get().version(), false),
          std::string(parser_->get().method_string()), std::string(parser_->get().target()));
    }
    if (ec) {
      if (!parser_->got_some()) return do_close();
      return send_unread(
          error_response(Status(StatusCode::structure, "malformed HTTP request: " + ec.message()),
                         11, false),
          "-", "-");
    }
    Request request = parser_->release();
    method_ = std::string(request.method_string());
    target_ = std::string(request.target());
    const bool reads_only =
        request.method() == beast::http::verb::get || request.method() == beast::http::verb::head;
    if (reads_only || !server_->write_pool)
      return send(handle(std::move(request), client_address_));
    // A write: handled on the write pool (HttpServerOptions::write_threads).
    // The session waits (no read is pending); the tracked executor keeps the
    // io_context running until the answer is back on this session's executor,
    // so that a graceful stop still answers it.
    auto back = asio::prefer(stream_.get_executor(), asio::execution::outstanding_work.tracked);
    server_->write_pool->post([self = this->shared_from_this(), back = std::move(back),
                               request = std::move(request)]() mutable {
      Response response = self->handle(std::move(request), self->client_address_);
      asio::post(back, [self = std::move(self), response = std::move(response)]() mutable {
        self->send(std::move(response));
      });
    });
  }

  // Runs the API on `request` (on whichever thread calls it; touches no
  // session state but what it is given).
  Response handle(Request&& request, const std::string& client_address) {
    RequestClient client{client_address};
    Response response = [&] {
      try {
        RequestClientScope scope(client);
        return handle_request(std::move(request), server_->ctx);
      } catch (const std::exception& e) {  // handle_request answers errors itself; never lose one
        return error_response(Status::Internal(std::string("request failed: ") + e.what()),
                              request.version(), false);
      }
    }();
    // The body may hold a private key (keychain endpoint) or credentials:
    // overwrite it and the raw bytes left in the read buffer. (handle_request
    // takes an rvalue reference: `request` still owns its body here.)
    wipe(request.body());
    finish(response, client);
    return response;
  }

  // What every answer of the API gets from the session: Retry-After on a
  // throttled login, and no keep-alive once the server stops.
  void finish(Response& response, const RequestClient& client) const {
    if (response.result_int() == 429 && client.retry_after.count() > 0)
      response.set(beast::http::field::retry_after, std::to_string(client.retry_after.count()));
    if (server_->stopping) response.keep_alive(false);
  }

  // Zeroes the read buffer's storage once everything in it was parsed (the
  // usual case: no pipelined request waiting). Called before every answer.
  void wipe_read_buffer() {
    if (buffer_.size() != 0 || buffer_.capacity() == 0) return;
    auto storage = buffer_.prepare(buffer_.capacity());
    Botan::secure_scrub_memory(storage.data(), storage.size());
    buffer_.commit(0);
  }

  void send(Response&& response) {
    wipe_read_buffer();
    response_.emplace(std::move(response));
    beast::get_lowest_layer(stream_).expires_after(server_->options.read_timeout);
    beast::http::async_write(
        stream_, *response_,
        beast::bind_front_handler(&Session::on_write, this->shared_from_this()));
  }

  // Answers a request that was not read to its end (its body is left in the
  // socket): no keep-alive, and a lingering close after the answer.
  void send_unread(Response&& response, std::string method, std::string target) {
    unread_input_ = true;
    method_ = std::move(method);
    target_ = std::move(target);
    response.keep_alive(false);
    send(std::move(response));
  }

  void on_write(beast::error_code ec, std::size_t) {
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started_)
            .count();
    const bool keep_alive = response_->keep_alive();
    server_->log(method_, target_, response_->result_int(), ms);
    response_.reset();
    if (!ec && unread_input_) return do_linger();
    if (ec || !keep_alive) return do_close();
    do_read();
  }

  // After answering a request that was not read to its end (over the body
  // limit, malformed), the client may still be sending it. Closing at once
  // makes the kernel answer that data with a reset, which can cost the client
  // the answer (curl: "connection reset" instead of the 413). So, as nginx's
  // lingering close: end our side after the answer, then read and drop what
  // still comes for up to kLingerTime, then close.
  void do_linger() {
    if constexpr (kIsTls<Stream>) {
      do_close();  // TLS: closed after close_notify, as before (not drained)
    } else {
      if (server_->stopping) return close_socket();
      beast::error_code ignored;
      auto& lowest = beast::get_lowest_layer(stream_);
      lowest.socket().shutdown(tcp::socket::shutdown_send, ignored);
      lowest.expires_after(kLingerTime);  // for the whole drain, not per read
      lingering_ = true;
      drain();
    }
  }

  void drain() {
    auto space = buffer_.prepare(16 * 1024);
    beast::get_lowest_layer(stream_).async_read_some(
        space, [self = this->shared_from_this(), space](beast::error_code ec, std::size_t n) {
          // Dropped unread (never committed), and overwritten: it may be a
          // body with credentials in it.
          Botan::secure_scrub_memory(space.data(), n);
          if (ec) {  // the client's end, the deadline, or a server stop
            self->lingering_ = false;
            return self->close_socket();
          }
          self->drain();
        });
  }

  void do_close() {
    if constexpr (kIsTls<Stream>) {
      // close_notify, bounded by the timeout; the peer may already be gone.
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(5));
      stream_.async_shutdown(
          [self = this->shared_from_this()](beast::error_code) { self->close_socket(); });
    } else {
      close_socket();
    }
  }

  void close_socket() {
    beast::error_code ignored;
    auto& socket = beast::get_lowest_layer(stream_).socket();
    socket.shutdown(tcp::socket::shutdown_send, ignored);
    socket.close(ignored);
  }

  Stream stream_;
  beast::flat_buffer buffer_;
  std::shared_ptr<HttpServer::Impl> server_;
  std::optional<beast::http::request_parser<beast::http::string_body>> parser_;
  std::optional<Response> response_;
  std::optional<beast::http::response<beast::http::empty_body>> continue_;  // "100 Continue"
  bool reading_ = false;
  bool unread_input_ = false;  // answered before the request's end: linger before closing
  bool lingering_ = false;
  std::chrono::steady_clock::time_point started_;
  std::string method_, target_;
  std::string client_address_;
  std::size_t loop_;  // index of its event loop in HttpServer::Impl::loops
};

// Reads a whole (small) file; empty on error.
std::optional<std::string> read_small_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string out((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return std::nullopt;
  return out;
}

Result<ssl::context> make_tls_context(const HttpServerOptions& options) {
  if (options.tls_cert_file.empty() != options.tls_key_file.empty())
    return Status::Invalid(options.tls_cert_file.empty() ? "tls_cert_file" : "tls_key_file",
                           "TLS needs both a certificate file and a key file");
  ssl::context tls(ssl::context::tls_server);
  beast::error_code ec;
  // TLS 1.2 and 1.3 only; no compression; fresh (EC)DHE keys per handshake.
  tls.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                      ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                      ssl::context::no_compression | ssl::context::single_dh_use,
                  ec);
  if (ec) return Status::Internal("TLS options: " + ec.message());
  tls.use_certificate_chain_file(options.tls_cert_file, ec);
  if (ec)
    return Status::Invalid("tls_cert_file", "cannot load the TLS certificate (PEM) from '" +
                                                options.tls_cert_file + "': " + ec.message());
  // The key is read by us and handed to OpenSSL from memory so that our copy
  // can be wiped (OpenSSL keeps its own, freed with the context).
  std::optional<std::string> key = read_small_file(options.tls_key_file);
  if (!key)
    return Status::Invalid("tls_key_file",
                           "cannot read the TLS key file '" + options.tls_key_file + "'");
  tls.use_private_key(asio::buffer(*key), ssl::context::pem, ec);
  wipe(*key);
  if (ec)
    return Status::Invalid("tls_key_file", "cannot load the TLS private key (PEM) from '" +
                                               options.tls_key_file + "': " + ec.message());
  if (SSL_CTX_check_private_key(tls.native_handle()) != 1)
    return Status::Invalid("tls_key_file", "the TLS private key does not match the certificate");
  return tls;
}

}  // namespace

void HttpServer::Impl::do_accept() {
  auto handler = beast::bind_front_handler(&Impl::on_accept, shared_from_this());
  if (loops.size() > 1)  // pinned: onto the acceptor's loop, then moved (place_accepted)
    acceptor.async_accept(std::move(handler));
  else if (options.io_model == HttpServerOptions::IoModel::pinned)  // one thread
    acceptor.async_accept(loops.front()->get_executor(), std::move(handler));
  else  // shared: a strand keeps each connection's handlers in order
    acceptor.async_accept(asio::make_strand(*loops.front()), std::move(handler));
}

std::size_t HttpServer::Impl::least_loaded_loop() {
  const std::size_t start = next_loop++ % loops.size();
  std::size_t best = start;
  for (std::size_t k = 1; k < loops.size(); ++k) {
    const std::size_t i = (start + k) % loops.size();
    if (connections[i].load() < connections[best].load()) best = i;
  }
  return best;
}

// Pinned: the connection's handlers run on its loop's one thread, in order, so
// they need no strand. The loop is chosen once the connection is accepted (by
// then others may have closed), and the descriptor moves to it.
tcp::socket HttpServer::Impl::place_accepted(tcp::socket&& accepted, std::size_t loop,
                                             beast::error_code& ec) {
  tcp::socket placed(loops[loop]->get_executor());
  const auto protocol = accepted.local_endpoint(ec).protocol();
  if (ec) return placed;
  const auto fd = accepted.release(ec);
  if (ec) return placed;
  placed.assign(protocol, fd, ec);
  if (ec) ::close(fd);
  return placed;
}

void HttpServer::Impl::on_accept(beast::error_code ec, tcp::socket socket) {
  if (stopping || !acceptor.is_open()) return;
  std::size_t loop = 0;
  if (!ec && loops.size() > 1) {
    loop = least_loaded_loop();
    socket = place_accepted(std::move(socket), loop, ec);
  }
  if (!ec) {
    std::shared_ptr<SessionBase> session;
    if (tls) {
      auto s = std::make_shared<Session<TlsStream>>(std::move(socket), shared_from_this(), loop);
      s->run();
      session = std::move(s);
    } else {
      auto s = std::make_shared<Session<PlainStream>>(std::move(socket), shared_from_this(), loop);
      s->run();
      session = std::move(s);
    }
    std::lock_guard lock(sessions_mutex);
    std::erase_if(sessions, [](const auto& w) { return w.expired(); });
    sessions.push_back(session);
  }
  do_accept();
}

void HttpServer::Impl::stop() {
  if (stopping.exchange(true)) return;
  asio::post(strand, [self = shared_from_this()] {
    beast::error_code ignored;
    self->acceptor.close(ignored);
    self->idle_guards.clear();  // a loop returns once its connections are done
    if (self->signals) self->signals->cancel(ignored);
    std::vector<std::shared_ptr<SessionBase>> live;
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
  // Handlers still queued (start() failed or never ran, so no thread ran them:
  // stop()'s own post) hold shared_ptrs to Impl, which owns the io_context that
  // holds them. Run them now, or that cycle leaks the whole server.
  try {
    for (auto& loop : impl_->loops) {
      loop->restart();
      loop->poll();
    }
  } catch (const std::exception&) {
    // Nothing is left to serve; a throwing handler must not escape a destructor.
  }
}

const char* HttpServer::scheme() const {
  return impl_->options.tls_cert_file.empty() ? "http" : "https";
}

Status HttpServer::start() {
  if (!impl_->options.tls_cert_file.empty() || !impl_->options.tls_key_file.empty()) {
    auto tls = make_tls_context(impl_->options);
    if (!tls.ok()) return tls.status();
    impl_->tls.emplace(std::move(*tls));
  }
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
  if (impl_->options.write_threads > 0) {
    write_pool_ = std::make_unique<detail::WritePool>(impl_->options.write_threads);
    impl_->write_pool = write_pool_.get();
  }
  for (std::size_t i = 1; i < impl_->loops.size(); ++i)
    impl_->idle_guards.push_back(asio::make_work_guard(*impl_->loops[i]));
  asio::post(impl_->strand, [impl = impl_] { impl->do_accept(); });
  const unsigned n = std::max(1u, impl_->options.threads);
  for (unsigned i = 0; i < n; ++i)
    threads_.emplace_back([impl = impl_, &loop = *impl_->loops[i % impl_->loops.size()]] {
      for (;;) {
        try {
          loop.run();
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

std::vector<std::size_t> HttpServer::connections_per_loop() const {
  std::vector<std::size_t> counts;
  for (std::size_t i = 0; i < impl_->loops.size(); ++i)
    counts.push_back(impl_->connections[i].load());
  return counts;
}

void HttpServer::wait() {
  // The I/O threads return once no request is in flight (a write on the pool
  // holds tracked work on the io_context until its answer is sent); the pool
  // is idle by then.
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
  if (write_pool_) {
    write_pool_->join();
    impl_->write_pool = nullptr;
    write_pool_.reset();
  }
}

}  // namespace fhirbridge::server
