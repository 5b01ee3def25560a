// A small blocking HTTP/1.1 client (Boost.Beast, optionally over Asio SSL +
// OpenSSL) for the remote backend: a pool of keep-alive connections shared by
// threads, connect/request timeouts, and retries with exponential backoff.
//
// Retry rule: an idempotent request (GET, PUT, DELETE, a filter POST) is
// retried on connection errors, timeouts and 5xx answers; a non-idempotent one
// (a create) only when the connection could not be opened, i.e. nothing was
// sent. The caller of a create checks with a GET whether a lost answer hid a
// success (see remote_store.cpp).
#pragma once

#include <boost/beast/http/verb.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "fhirbridge/status.hpp"

namespace fhirbridge::storage::remote {

struct HttpClientOptions {
  std::string base_url;  // http(s)://host[:port][/prefix]
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds request_timeout{30000};
  int max_attempts = 4;
  std::chrono::milliseconds first_backoff{100};
  std::string ca_file;
  bool verify_tls = true;
  std::size_t max_idle_connections = 8;
  // A pooled connection idle for longer is not reused (servers close idle
  // keep-alive connections; fhirbridge after 30 s by default).
  std::chrono::milliseconds max_idle_time{15000};
  std::size_t body_limit = 256 * 1024 * 1024;
};

struct HttpResponse {
  unsigned status = 0;
  std::string body;
};

class HttpClient {
 public:
  // invalid for a malformed URL or an unreadable CA file.
  static Result<std::unique_ptr<HttpClient>> create(HttpClientOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // `target` is appended to the base URL's path. `authorization` is sent as
  // the Authorization header when not empty; `body` as application/json when
  // not empty. Any HTTP status comes back as a response (after the retries
  // for 5xx); `unavailable` when the remote cannot be reached or timed out.
  // Thread-safe.
  Result<HttpResponse> request(boost::beast::http::verb method, const std::string& target,
                               const std::string& body, const std::string& authorization,
                               bool idempotent);

  // How many TCP (or TLS) connections were opened so far (tests check reuse).
  std::size_t connections_opened() const;

  struct Impl;

 private:
  explicit HttpClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fhirbridge::storage::remote
