// The network side: Boost.Beast async HTTP/1.1 (plain, or HTTPS over Asio SSL
// with Debian's OpenSSL) over an io_context run by a thread pool. Keep-alive,
// read timeout, body limit, graceful shutdown and one access-log line per
// request. All API logic is in handle_request.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "fhirbridge/server/server_context.hpp"
#include "fhirbridge/status.hpp"

namespace fhirbridge::server {

namespace detail {
class WritePool;  // detail/write_pool.hpp
}

struct HttpServerOptions {
  std::string address = "127.0.0.1";
  unsigned short port = 8080;  // 0 = an ephemeral port (see HttpServer::port())
  unsigned threads = 2;        // I/O threads
  // How connections share the I/O threads (docs/server.md, "I/O threads").
  //  - pinned: each I/O thread runs its own event loop, and a connection stays
  //    on the one it was accepted onto (the one with the fewest open
  //    connections, round-robin among equals). No hand-offs between
  //    threads, so the fewest wake-ups per request (creates and searches
  //    faster on 2 cores), but a slow request delays the other requests of
  //    its thread.
  //  - shared: one event loop run by every I/O thread; each connection's
  //    handlers run on a strand, on whichever thread is free. Costs a thread
  //    wake-up per hand-off; suits handlers that wait (the remote store).
  enum class IoModel { pinned, shared };
  IoModel io_model = IoModel::pinned;
  // Requests that may write (every method but GET and HEAD) are handled on a
  // pool of this many threads instead of on an I/O thread: a write waits for
  // the commit of its group (SqliteStore's group commit), and the more writes
  // wait at once, the more share one commit -- without holding the I/O
  // threads that serve reads. 0: every request is handled on its I/O thread.
  unsigned write_threads = 16;
  std::chrono::seconds read_timeout{30};  // idle keep-alive connections close after it
  bool access_log = true;                 // "METHOD /path STATUS Nms" on stderr
  // HTTPS when both are set: PEM files (the certificate file may hold the
  // chain). Plain HTTP when both are empty; one without the other is an
  // error at start(). TLS 1.2+ only.
  std::string tls_cert_file;
  std::string tls_key_file;
};

class HttpServer {
 public:
  HttpServer(ServerContext& ctx, HttpServerOptions options);
  ~HttpServer();  // stops and joins
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Loads the TLS certificate/key if any (invalid: unreadable or mismatched
  // files), binds and listens (errors: address in use, bad address), starts
  // accepting, and starts the worker threads. Returns at once.
  Status start();
  // The bound port (useful with port 0).
  unsigned short port() const { return port_; }
  // "https" when TLS is configured, else "http".
  const char* scheme() const;
  // Stop on SIGINT/SIGTERM (call before start or after; once).
  void stop_on_signals();
  // Graceful stop: no new connections, idle connections closed, requests in
  // flight answered. Thread-safe; returns at once.
  void stop();
  // Blocks until every worker thread has finished (after stop()).
  void wait();
  // Open connections on each event loop: one loop per I/O thread when
  // connections are pinned, else one. Thread-safe (a snapshot).
  std::vector<std::size_t> connections_per_loop() const;

  struct Impl;  // sessions reach back into it

 private:
  std::shared_ptr<Impl> impl_;
  unsigned short port_ = 0;
  std::vector<std::thread> threads_;
  // HttpServerOptions::write_threads. Owned here, not by Impl: a pool task may
  // hold the last reference to Impl, and a pool must not be destroyed by one
  // of its own threads.
  std::unique_ptr<detail::WritePool> write_pool_;
};

}  // namespace fhirbridge::server
