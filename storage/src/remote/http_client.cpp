// The remote backend's HTTP client: each pooled connection owns a tiny
// io_context, so a call runs Beast's async operations (which honour
// tcp_stream timeouts) to completion on the calling thread. No shared event
// loop, no background thread; the pool itself is a mutex-guarded stack.
#include "http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace fhirbridge::storage::remote {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using Clock = std::chrono::steady_clock;

namespace {

struct ParsedUrl {
  bool tls = false;
  std::string host, port, prefix, host_header;
};

Result<ParsedUrl> parse_url(const std::string& url) {
  const Status bad =
      Status::Invalid("base_url", "expected http(s)://host[:port][/path], not '" + url + "'");
  ParsedUrl out;
  std::string rest;
  if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else if (url.rfind("https://", 0) == 0) {
    out.tls = true;
    rest = url.substr(8);
  } else {
    return bad;
  }
  const auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  if (slash != std::string::npos) out.prefix = rest.substr(slash);
  while (!out.prefix.empty() && out.prefix.back() == '/') out.prefix.pop_back();
  out.host_header = authority;
  if (!authority.empty() && authority.front() == '[') {  // [::1]:8080
    const auto close = authority.find(']');
    if (close == std::string::npos) return bad;
    out.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return bad;
      out.port = authority.substr(close + 2);
    }
  } else {
    const auto colon = authority.rfind(':');
    out.host = authority.substr(0, colon);
    if (colon != std::string::npos) out.port = authority.substr(colon + 1);
  }
  if (out.host.empty()) return bad;
  if (out.port.empty()) out.port = out.tls ? "443" : "80";
  if (!std::all_of(out.port.begin(), out.port.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return bad;
  return out;
}

struct Connection {
  explicit Connection(ssl::context* tls_context) {
    if (tls_context)
      tls = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(ioc, *tls_context);
    else
      plain = std::make_unique<beast::tcp_stream>(ioc);
  }
  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }

  asio::io_context ioc;
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;
  Clock::time_point last_used = Clock::now();
};

// Starts one async operation and runs the connection's io_context until it
// completes (the tcp_stream's deadline bounds it).
template <typename Start>
error_code run(Connection& c, Start&& start) {
  error_code result = asio::error::would_block;
  start([&result](error_code ec, auto&&...) { result = ec; });
  c.ioc.restart();
  c.ioc.run();
  return result;
}

std::string describe(const error_code& ec) {
  if (ec == beast::error::timeout) return "timed out";
  return ec.message();
}

}  // namespace

struct HttpClient::Impl {
  HttpClientOptions options;
  ParsedUrl url;
  std::optional<ssl::context> tls_context;
  std::mutex mutex;
  std::vector<std::unique_ptr<Connection>> idle;
  std::atomic<std::size_t> opened{0};

  std::unique_ptr<Connection> acquire() {
    std::lock_guard lock(mutex);
    while (!idle.empty()) {
      auto c = std::move(idle.back());
      idle.pop_back();
      if (Clock::now() - c->last_used < options.max_idle_time) return c;
    }
    return nullptr;
  }
  void release(std::unique_ptr<Connection> c) {
    c->last_used = Clock::now();
    std::lock_guard lock(mutex);
    if (idle.size() < options.max_idle_connections) idle.push_back(std::move(c));
  }

  // Opens a connection (TCP, then TLS) within connect_timeout.
  Result<std::unique_ptr<Connection>> connect() {
    auto c = std::make_unique<Connection>(tls_context ? &*tls_context : nullptr);
    tcp::resolver resolver(c->ioc);
    error_code ec;
    auto endpoints = resolver.resolve(url.host, url.port, ec);
    if (ec)
      return Status(StatusCode::unavailable, "cannot resolve " + url.host + ": " + ec.message());
    c->lowest().expires_after(options.connect_timeout);
    ec = run(*c, [&](auto handler) { c->lowest().async_connect(endpoints, std::move(handler)); });
    if (ec)
      return Status(StatusCode::unavailable,
                    "cannot connect to " + url.host_header + ": " + describe(ec));
    if (c->tls) {
      // SNI, and the certificate must name the host.
      if (!SSL_set_tlsext_host_name(c->tls->native_handle(), url.host.c_str()))
        return Status(StatusCode::unavailable, "TLS: cannot set the server name");
      if (options.verify_tls) c->tls->set_verify_callback(ssl::host_name_verification(url.host));
      ec = run(*c, [&](auto handler) {
        c->tls->async_handshake(ssl::stream_base::client, std::move(handler));
      });
      if (ec)
        return Status(StatusCode::unavailable,
                      "TLS handshake with " + url.host_header + " failed: " + describe(ec));
    }
    c->lowest().expires_never();
    ++opened;
    return c;
  }

  // One exchange on `c`. `sent` becomes true once bytes may have reached the
  // server; `keep` tells whether the connection can be reused.
  template <typename Stream>
  Result<HttpResponse> exchange(Connection& c, Stream& stream,
                                http::request<http::string_body>& req, bool& sent, bool& keep) {
    c.lowest().expires_after(options.request_timeout);  // one deadline for write + read
    sent = true;
    error_code ec =
        run(c, [&](auto handler) { http::async_write(stream, req, std::move(handler)); });
    if (ec)
      return Status(StatusCode::unavailable,
                    "sending to " + url.host_header + " failed: " + describe(ec));
    http::response_parser<http::string_body> parser;
    parser.body_limit(options.body_limit);
    ec = run(c,
             [&](auto handler) { http::async_read(stream, c.buffer, parser, std::move(handler)); });
    if (ec)
      return Status(StatusCode::unavailable,
                    "reading the answer of " + url.host_header + " failed: " + describe(ec));
    c.lowest().expires_never();
    auto& res = parser.get();
    keep = res.keep_alive();
    return HttpResponse{res.result_int(), std::move(res.body())};
  }

  Result<HttpResponse> attempt(http::verb method, const std::string& target,
                               const std::string& body, const std::string& authorization,
                               bool& sent) {
    sent = false;
    std::unique_ptr<Connection> c = acquire();
    const bool reused = c != nullptr;
    if (!c) {
      auto opened_connection = connect();
      if (!opened_connection.ok()) return opened_connection.status();
      c = std::move(*opened_connection);
    }
    http::request<http::string_body> req{method, url.prefix + target, 11};
    req.set(http::field::host, url.host_header);
    req.set(http::field::user_agent, "fhirbridge-remote");
    req.set(http::field::accept, "application/json");
    if (!authorization.empty()) req.set(http::field::authorization, authorization);
    if (!body.empty()) {
      req.set(http::field::content_type, "application/json");
      req.body() = body;
    }
    req.keep_alive(true);
    req.prepare_payload();
    bool keep = false;
    auto result =
        c->tls ? exchange(*c, *c->tls, req, sent, keep) : exchange(*c, *c->plain, req, sent, keep);
    if (!result.ok() && reused) {
      // Most likely the server closed the idle connection: say so, and let
      // the retry rule decide (a create is checked by the caller).
      return Status(result.status().code(),
                    result.status().message() + " (on a reused connection)");
    }
    if (result.ok() && keep) release(std::move(c));
    return result;
  }
};

Result<std::unique_ptr<HttpClient>> HttpClient::create(HttpClientOptions options) {
  auto url = parse_url(options.base_url);
  if (!url.ok()) return url.status();
  auto impl = std::make_unique<Impl>();
  impl->url = std::move(*url);
  if (impl->url.tls) {
    try {
      impl->tls_context.emplace(ssl::context::tls_client);
      impl->tls_context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                                     ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                                     ssl::context::no_tlsv1_1);
      if (options.verify_tls) {
        impl->tls_context->set_verify_mode(ssl::verify_peer);
        error_code ec;
        if (!options.ca_file.empty())
          impl->tls_context->load_verify_file(options.ca_file, ec);
        else
          impl->tls_context->set_default_verify_paths(ec);
        if (ec)
          return Status::Invalid(
              "ca_file", "cannot load the CA certificates " +
                             (options.ca_file.empty() ? std::string("(system)") : options.ca_file) +
                             ": " + ec.message());
      } else {
        impl->tls_context->set_verify_mode(ssl::verify_none);
      }
    } catch (const std::exception& e) {
      return Status::Invalid("base_url", std::string("TLS set-up failed: ") + e.what());
    }
  }
  if (options.max_attempts < 1) options.max_attempts = 1;
  impl->options = std::move(options);
  return std::unique_ptr<HttpClient>(new HttpClient(std::move(impl)));
}

HttpClient::HttpClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpClient::~HttpClient() = default;

std::size_t HttpClient::connections_opened() const {
  return impl_->opened.load();
}

Result<HttpResponse> HttpClient::request(http::verb method, const std::string& target,
                                         const std::string& body, const std::string& authorization,
                                         bool idempotent) {
  const auto& options = impl_->options;
  Status last = Status(StatusCode::unavailable, "no attempt made");
  auto backoff = options.first_backoff;
  for (int attempt = 1; attempt <= options.max_attempts; ++attempt) {
    if (attempt > 1) {
      std::this_thread::sleep_for(backoff);
      backoff = std::min<std::chrono::milliseconds>(backoff * 2, std::chrono::milliseconds(5000));
    }
    bool sent = false;
    Result<HttpResponse> result = [&]() -> Result<HttpResponse> {
      try {
        return impl_->attempt(method, target, body, authorization, sent);
      } catch (const std::exception& e) {  // allocation failures and the like
        return Status(StatusCode::unavailable, std::string("HTTP client: ") + e.what());
      }
    }();
    if (result.ok()) {
      if (result->status >= 500 && idempotent && attempt < options.max_attempts) {
        last = Status(StatusCode::unavailable,
                      "the remote answered " + std::to_string(result->status));
        continue;
      }
      return result;
    }
    last = result.status();
    if (!idempotent && sent) return last;  // it may have been applied: the caller checks
  }
  return Status(StatusCode::unavailable,
                last.message() + " (after " + std::to_string(options.max_attempts) + " attempts)");
}

}  // namespace fhirbridge::storage::remote
