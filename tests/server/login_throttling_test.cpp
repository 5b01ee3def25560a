// Login throttling (ServerContext::authenticate): repeated wrong passwords
// lock a login -- known or not, with the same answer -- and a client address;
// 429 + Retry-After over real HTTP; a remembered good login still works.
#include <boost/test/unit_test.hpp>

#include <thread>

#include "fhirbridge/server/http_server.hpp"
#include "hostile_support.hpp"
#include "server_fixture.hpp"
#include "storage/faulty_store.hpp"

using namespace fhirbridge;
using namespace fhirbridge::test;

namespace {

server::ServerSettings throttling(std::size_t per_login, std::size_t per_client,
                                  std::chrono::seconds lockout = std::chrono::seconds(60)) {
  server::ServerSettings s;
  s.max_failed_logins = per_login;
  s.max_failed_logins_per_client = per_client;
  s.login_lockout = lockout;
  return s;
}

StatusCode code_of(const Result<storage::Principal>& r) {
  return r.ok() ? StatusCode::ok : r.status().code();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(login_throttling)

BOOST_AUTO_TEST_CASE(a_login_is_locked_after_repeated_wrong_passwords_known_or_not) {
  ServerFixture f(throttling(3, 0), false);
  auto& ctx = *f.ctx;
  for (const std::string login : {"alice", "nobody-at-all"}) {
    for (int i = 0; i < 3; ++i)
      BOOST_TEST((code_of(ctx.authenticate(login, "wrong")) == StatusCode::unauthorized));
    auto locked = ctx.authenticate(login, "wrong");
    BOOST_TEST((code_of(locked) == StatusCode::throttled));
    // Same message for an existing and an unknown login: nothing to enumerate.
    BOOST_TEST(locked.status().message().find("too many failed logins") == 0);
    BOOST_TEST(locked.status().message().find(login) == std::string::npos);
  }
  // Even the right password is refused while locked (it is not even checked).
  BOOST_TEST((code_of(ctx.authenticate("alice", "alice-password")) == StatusCode::throttled));
  // Other logins are unaffected.
  BOOST_TEST(ctx.authenticate("bob", "bob-password").ok());
}

BOOST_AUTO_TEST_CASE(a_remembered_good_login_is_not_locked_out_by_an_attacker) {
  ServerFixture f(throttling(3, 0), false);
  auto& ctx = *f.ctx;
  BOOST_REQUIRE(ctx.authenticate("alice", "alice-password").ok());  // cached
  for (int i = 0; i < 5; ++i) (void)ctx.authenticate("alice", "guess" + std::to_string(i));
  BOOST_TEST((code_of(ctx.authenticate("alice", "guess")) == StatusCode::throttled));
  BOOST_TEST(ctx.authenticate("alice", "alice-password").ok());
}

BOOST_AUTO_TEST_CASE(a_success_resets_the_login_count) {
  auto settings = throttling(3, 0);
  settings.login_cache_ttl = std::chrono::seconds(0);  // every check goes to Argon2
  ServerFixture f(settings, false);
  auto& ctx = *f.ctx;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 2; ++i) (void)ctx.authenticate("bob", "wrong");
    BOOST_TEST(ctx.authenticate("bob", "bob-password").ok());
  }
}

BOOST_AUTO_TEST_CASE(the_lock_ends_after_the_lockout) {
  ServerFixture f(throttling(2, 0, std::chrono::seconds(1)), false);
  auto& ctx = *f.ctx;
  for (int i = 0; i < 2; ++i) (void)ctx.authenticate("alice", "wrong");
  BOOST_TEST((code_of(ctx.authenticate("alice", "alice-password")) == StatusCode::throttled));
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // > lockout: no race
  BOOST_TEST(ctx.authenticate("alice", "alice-password").ok());
}

BOOST_AUTO_TEST_CASE(a_client_address_spraying_logins_is_locked) {
  ServerFixture f(throttling(100, 4), false);
  auto& ctx = *f.ctx;
  server::RequestClient attacker{"192.0.2.7"}, someone_else{"198.51.100.1"};
  {
    server::RequestClientScope scope(attacker);
    for (int i = 0; i < 4; ++i)
      BOOST_TEST((code_of(ctx.authenticate("user" + std::to_string(i), "pw")) ==
                  StatusCode::unauthorized));
    BOOST_TEST((code_of(ctx.authenticate("alice", "alice-password")) == StatusCode::throttled));
    BOOST_TEST(attacker.retry_after.count() > 0);
    BOOST_TEST(attacker.retry_after.count() <= 60);
  }
  server::RequestClientScope scope(someone_else);
  BOOST_TEST(ctx.authenticate("alice", "alice-password").ok());
  BOOST_TEST(someone_else.retry_after.count() == 0);
}

BOOST_AUTO_TEST_CASE(over_http_a_locked_login_gets_429_with_retry_after) {
  ServerFixture f(throttling(3, 50), false);
  server::HttpServerOptions options;
  options.port = 0;
  options.access_log = false;
  server::HttpServer http(*f.ctx, options);
  BOOST_REQUIRE(http.start().ok());
  RawClient client(http.port());
  const std::string metadata_free = "/rest/fhir/r4/Patient";
  for (int i = 0; i < 3; ++i) {
    auto res = client.exchange(raw_request("GET", metadata_free, basic_auth("alice", "nope")));
    BOOST_REQUIRE(res.has_value());
    BOOST_TEST(res->result_int() == 401u);
  }
  auto res = client.exchange(raw_request("GET", metadata_free, f.alice.auth()));
  BOOST_REQUIRE(res.has_value());
  BOOST_TEST(res->result_int() == 429u);
  const std::string retry_after((*res)[http::field::retry_after]);
  BOOST_TEST_INFO("Retry-After: " << retry_after);
  BOOST_TEST((!retry_after.empty() && std::stoi(retry_after) > 0 && std::stoi(retry_after) <= 60));
  BOOST_TEST(issue_field(*res, "code") == "throttled");
  // The server answers everyone else as before.
  auto bob = client.exchange(raw_request("GET", metadata_free + "?_summary=count", f.bob.auth()));
  BOOST_REQUIRE(bob.has_value());
  BOOST_TEST(bob->result_int() != 429u);
  BOOST_TEST(bob->result_int() != 401u);
}

// Concurrent requests with the same credentials and no cached login share one
// password check (Argon2id: 19 MiB and ~0.1 s each); other credentials for
// the same login are checked on their own.
BOOST_AUTO_TEST_CASE(concurrent_logins_with_the_same_credentials_share_one_check) {
  ServerFixture f({}, false);
  FaultyStore counting(*f.store);
  server::ServerContext ctx(counting, f.keychain, {});
  constexpr int kThreads = 8;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i)
    threads.emplace_back([&] {
      if (ctx.authenticate("alice", "alice-password").ok()) ++ok;
    });
  for (auto& t : threads) t.join();
  BOOST_TEST(ok.load() == kThreads);
  BOOST_TEST(counting.authentications.load() == 1);

  ctx.forget_logins();
  threads.clear();
  std::atomic<int> refused{0};
  for (int i = 0; i < kThreads; ++i)
    threads.emplace_back([&, i] {
      auto r = ctx.authenticate("alice", i % 2 ? "alice-password" : "wrong");
      if (!r.ok() && r.status().code() == StatusCode::unauthorized) ++refused;
    });
  for (auto& t : threads) t.join();
  BOOST_TEST(refused.load() == kThreads / 2);            // the wrong ones only
  BOOST_TEST(counting.authentications.load() >= 1 + 2);  // one check per credentials, at least
  BOOST_TEST(counting.authentications.load() <= 1 + kThreads);
}

// A success through a Basic header is also remembered for exactly that
// header's base64 text (a keyed hash of it): a repeated header skips decoding
// and hashing; any other text, an expired or forgotten login, goes the long way.
BOOST_AUTO_TEST_CASE(a_repeated_basic_header_is_remembered_for_exactly_its_text) {
  ServerFixture f({}, false);
  FaultyStore counting(*f.store);
  server::ServerContext ctx(counting, f.keychain, {});
  const std::string alice = f.alice.auth().substr(6);  // the base64 text
  BOOST_TEST(!ctx.remembered_basic(alice));
  BOOST_REQUIRE(ctx.authenticate("alice", "alice-password", alice).ok());
  auto remembered = ctx.remembered_basic(alice);
  BOOST_REQUIRE(remembered);
  BOOST_TEST(remembered->hcp_id == f.alice.hcp_id);
  BOOST_TEST(!ctx.remembered_basic(alice + "="));
  BOOST_TEST(!ctx.remembered_basic(basic_auth("alice", "alice-passwore").substr(6)));
  BOOST_TEST(!ctx.remembered_basic(f.bob.auth().substr(6)));
  BOOST_TEST(!ctx.remembered_basic(""));

  // A wrong password, or the right one without a header text, leaves it remembered.
  BOOST_TEST(!ctx.authenticate("alice", "wrong", basic_auth("alice", "wrong").substr(6)).ok());
  BOOST_REQUIRE(ctx.authenticate("alice", "alice-password").ok());  // the remembered digest
  BOOST_TEST(ctx.remembered_basic(alice).has_value());
  BOOST_TEST(counting.authentications.load() == 2);  // alice-password once, wrong once

  ctx.forget_logins();
  BOOST_TEST(!ctx.remembered_basic(alice));

  // Over HTTP: the second request with the same header is not checked again.
  BOOST_REQUIRE(ctx.authenticate("alice", "alice-password", alice).ok());
  const auto before = counting.authentications.load();
  for (int i = 0; i < 3; ++i) {
    server::Request req{http::verb::get, "/rest/fhir/r4/Patient?_count=1", 11};
    req.set(http::field::authorization, "Basic  " + alice + " ");  // spaces are trimmed
    BOOST_TEST(server::handle_request(std::move(req), ctx).result_int() != 401);
  }
  BOOST_TEST(counting.authentications.load() == before);
}

BOOST_AUTO_TEST_CASE(a_remembered_basic_header_expires_with_its_login) {
  ServerFixture f({}, false);
  server::ServerSettings settings;
  settings.login_cache_ttl = std::chrono::seconds(1);
  server::ServerContext ctx(*f.store, f.keychain, settings);
  const std::string alice = f.alice.auth().substr(6);
  BOOST_REQUIRE(ctx.authenticate("alice", "alice-password", alice).ok());
  BOOST_TEST(ctx.remembered_basic(alice).has_value());
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  BOOST_TEST(!ctx.remembered_basic(alice));

  settings.login_cache_ttl = std::chrono::seconds(0);  // no login cache: nothing remembered
  server::ServerContext uncached(*f.store, f.keychain, settings);
  BOOST_REQUIRE(uncached.authenticate("alice", "alice-password", alice).ok());
  BOOST_TEST(!uncached.remembered_basic(alice));
}

BOOST_AUTO_TEST_SUITE_END()
