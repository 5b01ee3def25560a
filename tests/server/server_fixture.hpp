// A real SqliteStore in a temp dir, two accounts (alice, bob) whose keys are
// in the keychain, and a ServerContext: for handle_request and socket tests.
#pragma once

#include <botan/auto_rng.h>

#include <boost/beast/core/detail/base64.hpp>
#include <boost/json.hpp>

#include <memory>
#include <string>

#include "common/test_support.hpp"
#include "fhirbridge/crypto/keychain.hpp"
#include "fhirbridge/server/accounts.hpp"
#include "fhirbridge/server/handle_request.hpp"
#include "fhirbridge/server/server_context.hpp"
#include "fhirbridge/storage/sqlite_store.hpp"
#include "fhirbridge/storage/user_admin.hpp"

namespace fhirbridge::test {

namespace http = boost::beast::http;

inline std::string basic_auth(const std::string& login, const std::string& password) {
  const std::string raw = login + ":" + password;
  std::string out(boost::beast::detail::base64::encoded_size(raw.size()), '\0');
  out.resize(boost::beast::detail::base64::encode(out.data(), raw.data(), raw.size()));
  return "Basic " + out;
}

// A request header: a known field ({http::field::if_match, ...}) or any name
// ({"If-None-Exist", ...}).
struct Header {
  Header(http::field field, std::string v) : name(http::to_string(field)), value(std::move(v)) {}
  Header(std::string n, std::string v) : name(std::move(n)), value(std::move(v)) {}
  std::string name, value;
};

struct Account {
  std::string login, password, hcp_id, private_key_hex, public_key_hex;
  std::string auth() const { return basic_auth(login, password); }
};

struct ServerFixture {
  explicit ServerFixture(server::ServerSettings settings = {}, bool post_keys = true) {
    auto opened = storage::SqliteStore::open(dir.path() / "fhirbridge.db", keychain);
    if (!opened.ok()) throw std::runtime_error(opened.status().to_string());
    store = std::move(*opened);
    settings.public_base_url = "http://fhir.test";
    ctx = std::make_unique<server::ServerContext>(*store, keychain, settings);
    alice = make_account("alice", post_keys);
    bob = make_account("bob", post_keys);
  }

  Account make_account(const std::string& login, bool post_key) {
    auto account = storage::create_user(*store, {login, login + "-password", login}, rng);
    if (!account.ok()) throw std::runtime_error(account.status().to_string());
    Account a{login, login + "-password", *account->hcp.id, account->private_key_hex,
              *account->hcp.publicKey};
    if (post_key && !keychain.put(a.hcp_id, a.private_key_hex, a.public_key_hex).ok())
      throw std::runtime_error("keychain put failed");
    return a;
  }

  server::Response call(http::verb method, const std::string& target, const Account* who,
                        const std::string& body = {},
                        const std::string& content_type = "application/fhir+json",
                        std::initializer_list<Header> headers = {}) {
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
  server::Response get(const std::string& target, const Account* who = nullptr) {
    return call(http::verb::get, target, who ? who : &alice);
  }
  server::Response post(const std::string& target, const boost::json::value& body,
                        const Account* who = nullptr) {
    return call(http::verb::post, target, who ? who : &alice, boost::json::serialize(body));
  }

  TempDir dir;
  Botan::AutoSeeded_RNG rng;
  crypto::Keychain keychain;
  std::unique_ptr<storage::SqliteStore> store;
  std::unique_ptr<server::ServerContext> ctx;
  Account alice, bob;
};

inline boost::json::value body_json(const server::Response& res) {
  boost::system::error_code ec;
  auto v = boost::json::parse(res.body(), ec);
  return ec ? boost::json::value{} : v;
}

// The FHIR seed resources with their subject replaced.
inline boost::json::value seed(const std::string& name) {
  return read_json(shared_dir() / "fixtures/seed" / name);
}
inline boost::json::value with_subject(boost::json::value observation,
                                       const std::string& reference) {
  observation.as_object()["subject"].as_object()["reference"] = reference;
  return observation;
}

inline std::string str(const boost::json::value& v, std::initializer_list<std::string_view> path) {
  const boost::json::value* cur = &v;
  for (auto key : path) {
    if (!cur->is_object()) return {};
    cur = cur->as_object().if_contains(key);
    if (!cur) return {};
  }
  return cur->is_string() ? std::string(cur->as_string()) : std::string{};
}

inline std::string issue_field(const server::Response& res, std::string_view field) {
  auto v = body_json(res);
  if (!v.is_object() || str(v, {"resourceType"}) != "OperationOutcome")
    return "<not an OperationOutcome>";
  const auto& issue = v.at("issue").at(0).as_object();
  if (field == "expression") {
    auto* e = issue.if_contains("expression");
    return e ? std::string(e->at(0).as_string()) : std::string{};
  }
  auto* f = issue.if_contains(field);
  return f && f->is_string() ? std::string(f->as_string()) : std::string{};
}

}  // namespace fhirbridge::test
