// Everything a request handler needs, shared by all connections: the store,
// the keychain, the mapping context (ids + clock) and the server settings.
// Thread-safe: handle_request may be called from several threads at once.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "fhirbridge/crypto/keychain.hpp"
#include "fhirbridge/mapping/context.hpp"
#include "fhirbridge/status.hpp"
#include "fhirbridge/storage/sealed_store.hpp"
#include "fhirbridge/storage/store.hpp"

namespace fhirbridge::server {

struct ServerSettings {
  // FHIR base paths served (the tutorial's and the common short one).
  std::vector<std::string> fhir_base_paths{"/rest/fhir/r4", "/fhir/r4"};
  std::string keychain_path = "/rest/icdx/v1/keychain";
  // The iCure-compatible REST subset (for the official iCure SDK and for a
  // remote fhirbridge backend); served only when a SealedStore is attached.
  std::string icure_rest_base = "/rest/v1";
  // Larger bodies are answered 413 (the Beast server enforces it while reading).
  std::size_t body_limit = 8 * 1024 * 1024;
  // "http://host:port" used in Location, fullUrl and links; empty = taken
  // from the request's Host header.
  std::string public_base_url;
  // Unknown search parameters: ignored with a warning (false) or 400 (true);
  // a request's `Prefer: handling=strict|lenient` overrides it.
  bool strict_by_default = false;
  // How long a successful Basic login is remembered (Argon2 is slow on purpose).
  std::chrono::seconds login_cache_ttl{60};
  std::size_t login_cache_max_entries = 1024;
  // Login throttling (docs/security.md): after `max_failed_logins` wrong
  // passwords for one login within `failed_login_window` -- or
  // `max_failed_logins_per_client` from one client address -- further
  // attempts are answered 429 (StatusCode::throttled, Retry-After)
  // without checking the password, until `login_lockout` has passed since the
  // last failure. Unknown logins are counted exactly like known ones. 0 = off.
  std::size_t max_failed_logins = 5;
  std::size_t max_failed_logins_per_client = 20;
  std::chrono::seconds failed_login_window{300};
  std::chrono::seconds login_lockout{60};
  std::size_t failed_login_max_entries = 10000;  // memory bound of each failure table
  std::size_t default_page_size = 50;
  std::size_t max_page_size = 1000;
  // Reads answered from the serialised FHIR JSON of the same resource version
  // (docs/server.md, "Read cache"): entries kept, 0 = off.
  std::size_t read_cache_entries = 8192;
  // Searchset Bundles answered over HTTP, kept while the store reports no
  // commit since (docs/server.md, "Search cache"): entries and bytes kept, 0 entries = off.
  std::size_t search_cache_entries = 1024;
  std::size_t search_cache_bytes = 32 * 1024 * 1024;
};

// What the transport knows about the request handled on this thread: the
// client's address (for per-client login throttling) and, back from
// authenticate, how long a throttled client must wait (the HTTP server turns it
// into Retry-After). HttpServer sets it around handle_request with
// RequestClientScope; direct handle_request calls (tests, fuzzers) have none.
struct RequestClient {
  std::string address;                  // "" = unknown
  std::chrono::seconds retry_after{0};  // set when authenticate answers throttled
};

class RequestClientScope {
 public:
  explicit RequestClientScope(RequestClient& client);
  ~RequestClientScope();
  RequestClientScope(const RequestClientScope&) = delete;
  RequestClientScope& operator=(const RequestClientScope&) = delete;
  // The client of the request being handled on this thread, or null.
  static RequestClient* current();

 private:
  RequestClient* previous_;
};

// Ids from a CSPRNG (crypto::random_uuid over Botan's System_RNG) and the
// system clock: the production mapping context.
mapping::MappingContext make_system_mapping_context(mapping::MappingSettings settings = {});

namespace detail {
class RenderedCache;
class SearchCache;
}  // namespace detail

class ServerContext {
 public:
  ServerContext(storage::Store& store, crypto::Keychain& keychain, ServerSettings settings = {},
                mapping::MappingContext mapping = make_system_mapping_context());
  ~ServerContext();

  storage::Store& store() { return store_; }
  const storage::Store& store() const { return store_; }
  // The same data as sealed entities (the SQLite backend); null when the
  // backend has none (a remote store): the iCure REST subset then answers 404.
  storage::SealedStore* sealed_store() { return sealed_store_; }
  void attach_sealed_store(storage::SealedStore* sealed) { sealed_store_ = sealed; }
  crypto::Keychain& keychain() { return keychain_; }
  const ServerSettings& settings() const { return settings_; }
  const mapping::MappingContext& mapping() const { return mapping_; }
  // Serialised FHIR JSON of recently read resource versions (thread-safe).
  detail::RenderedCache& read_cache() { return *read_cache_; }
  // Searchset Bundles answered while nothing was committed since (thread-safe).
  detail::SearchCache& search_cache() { return *search_cache_; }
  // How many searches asked the search cache, and how many it answered
  // (fhirbridge serve prints them as it stops).
  struct SearchCacheStats {
    std::uint64_t looked_up = 0, answered = 0;
  };
  SearchCacheStats search_cache_stats() const;

  // Checks Basic credentials against the store (Store::authenticate: Argon2id
  // for the SQLite backend); a success is cached for settings.login_cache_ttl
  // as a SHA-256 of the credentials, compared in constant time, so the clear
  // password is never kept. unauthorized when wrong; throttled while
  // the login or the client (RequestClientScope) is throttled -- the same
  // answer whether or not the login exists.
  // `encoded_basic`, when given, is the base64 text of the Authorization
  // header these credentials came from: a success is then also remembered for
  // exactly that text (see remembered_basic).
  Result<storage::Principal> authenticate(const std::string& login, const std::string& password,
                                          std::string_view encoded_basic = {});
  // The principal of a success remembered (and not expired) for exactly this
  // base64 text of Basic credentials, else nullopt (then decode and call
  // authenticate). A repeated header skips the decoding and the SHA-256: the
  // text is remembered as a 128-bit keyed hash (SipHash-2-4 under two keys drawn
  // at random per context), never in clear (docs/security.md).
  std::optional<storage::Principal> remembered_basic(std::string_view encoded_basic);
  void forget_logins();  // the success cache and the failure counters

  // The SQLite backend is one connection: store calls are serialised through
  // this lock (Argon2 checks run outside it).
  std::unique_lock<std::mutex> lock_store() { return std::unique_lock<std::mutex>(store_mutex_); }

 private:
  using Clock = std::chrono::steady_clock;
  using BasicTag = std::array<std::uint8_t, 16>;  // keyed hash of a Basic header's base64 text
  struct CachedLogin {
    std::array<std::uint8_t, 32> digest;  // SHA-256(login, 0, password)
    storage::Principal principal;
    Clock::time_point expires;
    std::optional<BasicTag> basic;  // the header text it came from, when known
  };
  BasicTag basic_tag(std::string_view encoded_basic) const;
  struct Failures {
    std::size_t count = 0;
    Clock::time_point first, last;  // of the failures in the current window
  };
  using FailureTable = std::map<std::string, Failures>;
  // Seconds left before `key` may try again (0 = not throttled).
  std::chrono::seconds throttled_for(const FailureTable& table, const std::string& key,
                                     std::size_t limit, Clock::time_point now) const;
  void record_failure(FailureTable& table, const std::string& key, Clock::time_point now);
  storage::Store& store_;
  storage::SealedStore* sealed_store_ = nullptr;
  crypto::Keychain& keychain_;
  ServerSettings settings_;
  mapping::MappingContext mapping_;
  std::unique_ptr<detail::RenderedCache> read_cache_;
  std::unique_ptr<detail::SearchCache> search_cache_;
  std::mutex store_mutex_;
  std::mutex login_mutex_;
  std::map<std::string, CachedLogin> logins_;  // login -> last successful credentials
  // BasicTag (as 16 bytes) -> login: the way from a header to its logins_
  // entry, which must still hold that tag. Guarded by login_mutex_; emptied
  // when it outgrows logins_ twice over (stale ways only cost a slow check).
  std::unordered_map<std::string, std::string> basic_logins_;
  std::array<std::uint8_t, 32> basic_tag_key_{};  // two SipHash keys, random per context
  // Password checks under way, by login: a request with the same credentials
  // waits for that check instead of running Argon2id (19 MiB, ~0.1 s) again.
  // Without it, when a busy client's cached login expired, every one of its
  // concurrent requests checked the password at once (16 write threads: a 300 MB,
  // 0.3 s spike every login_cache_ttl).
  struct LoginCheck {
    std::array<std::uint8_t, 32> digest;
    std::shared_future<Result<storage::Principal>> result;
  };
  std::map<std::string, LoginCheck> login_checks_;  // guarded by login_mutex_
  FailureTable failures_by_login_;                  // guarded by login_mutex_
  FailureTable failures_by_client_;                 // client address -> failures
};

}  // namespace fhirbridge::server
