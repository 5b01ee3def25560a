// The two backends the FHIR API must behave identically on:
//  - SqliteWorld: the FHIR API over a local SqliteStore (ServerFixture);
//  - RemoteWorld: the FHIR API over a RemoteStore whose remote is a SECOND
//    fhirbridge serving the iCure REST subset (/rest/v1) over its own
//    SqliteStore, on a real HttpServer on 127.0.0.1.
// Both expose `call` (a request to the FHIR API) and two accounts.
#pragma once

#include <memory>
#include <string>

#include "fhirbridge/server/http_server.hpp"
#include "fhirbridge/storage/remote_store.hpp"
#include "fhirbridge/storage/sealed_store.hpp"
#include "server/server_fixture.hpp"

namespace fhirbridge::test {

struct World {
  virtual ~World() = default;
  virtual server::Response call(http::verb method, const std::string& target, const Account* who,
                                const std::string& body = {},
                                const std::string& content_type = "application/fhir+json",
                                std::initializer_list<Header> headers = {}) = 0;
  virtual const char* name() const = 0;
  server::Response get(const std::string& target, const Account* who) {
    return call(http::verb::get, target, who);
  }
  server::Response post(const std::string& target, const boost::json::value& body,
                        const Account* who) {
    return call(http::verb::post, target, who, boost::json::serialize(body));
  }
  Account alice, bob;
};

struct SqliteWorld final : World {
  SqliteWorld() {
    alice = local.alice;
    bob = local.bob;
  }
  server::Response call(http::verb method, const std::string& target, const Account* who,
                        const std::string& body, const std::string& content_type,
                        std::initializer_list<Header> headers) override {
    return local.call(method, target, who, body, content_type, headers);
  }
  const char* name() const override { return "sqlite"; }
  ServerFixture local;
};

// The iCure side: a ServerFixture whose context serves /rest/v1 over HTTP.
struct IcureSide {
  // With cert/key PEM files: HTTPS.
  explicit IcureSide(const std::string& tls_cert_file = {}, const std::string& tls_key_file = {}) {
    if (auto* sealed = dynamic_cast<storage::SealedStore*>(fixture.store.get()))
      fixture.ctx->attach_sealed_store(sealed);
    server::HttpServerOptions o;
    o.address = "127.0.0.1";
    o.port = 0;
    o.threads = 2;
    o.access_log = false;
    o.tls_cert_file = tls_cert_file;
    o.tls_key_file = tls_key_file;
    http = std::make_unique<server::HttpServer>(*fixture.ctx, o);
    Status started = http->start();
    if (!started.ok()) throw std::runtime_error(started.to_string());
  }
  ~IcureSide() {
    http->stop();
    http->wait();
  }
  std::string url() const {
    return std::string(http->scheme()) + "://127.0.0.1:" + std::to_string(http->port());
  }

  ServerFixture fixture;
  std::unique_ptr<server::HttpServer> http;
};

inline storage::RemoteStoreOptions fast_remote_options(const std::string& url) {
  storage::RemoteStoreOptions o;
  o.base_url = url;
  o.connect_timeout = std::chrono::milliseconds(2000);
  o.request_timeout = std::chrono::milliseconds(10000);
  o.first_backoff = std::chrono::milliseconds(20);
  return o;
}

struct RemoteWorld final : World {
  RemoteWorld() {
    auto opened = storage::RemoteStore::open(fast_remote_options(icure.url()), keychain);
    if (!opened.ok()) throw std::runtime_error(opened.status().to_string());
    store = std::move(*opened);
    server::ServerSettings settings;
    settings.public_base_url = "http://fhir.test";
    ctx = std::make_unique<server::ServerContext>(*store, keychain, settings);
    alice = icure.fixture.alice;
    bob = icure.fixture.bob;
    // The FHIR side holds the private keys (the remote never sees them).
    for (const Account* a : {&alice, &bob})
      if (!keychain.put(a->hcp_id, a->private_key_hex, a->public_key_hex).ok())
        throw std::runtime_error("keychain put failed");
  }
  server::Response call(http::verb method, const std::string& target, const Account* who,
                        const std::string& body, const std::string& content_type,
                        std::initializer_list<Header> headers) override {
    server::Request req{method, target, 11};
    req.set(http::field::host, "fhir.test");
    if (who) req.set(http::field::authorization, who->auth());
    for (const auto& [name, value] : headers) req.set(name, value);
    if (!body.empty()) {
      req.set(http::field::content_type, content_type);
      req.body() = body;
    }
    req.prepare_payload();
    return server::handle_request(std::move(req), *ctx);
  }
  const char* name() const override { return "remote"; }

  IcureSide icure;
  crypto::Keychain keychain;
  std::unique_ptr<storage::RemoteStore> store;
  std::unique_ptr<server::ServerContext> ctx;
};

}  // namespace fhirbridge::test
