#include "fhirbridge/server/server_context.hpp"

#include <botan/chacha_rng.h>
#include <botan/hash.h>
#include <botan/mac.h>
#include <botan/mem_ops.h>
#include <botan/system_rng.h>

#include <algorithm>
#include <chrono>

#include "fhirbridge/crypto/primitives.hpp"
#include "rendered_cache.hpp"
#include "search_cache.hpp"

namespace fhirbridge::server {

mapping::MappingContext make_system_mapping_context(mapping::MappingSettings settings) {
  mapping::MappingContext ctx;
  // System_RNG reads the OS CSPRNG and is safe to share between threads.
  auto now_ms = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  // Time-ordered (UUIDv7) entity ids: the store's id indexes then grow at
  // their right edge. A per-thread ChaCha20 keyed from the OS CSPRNG (and
  // rekeyed from it every 1024 requests and after a fork) rather than one
  // getrandom system call per id.
  ctx.new_id = [now_ms] {
    thread_local Botan::ChaCha_RNG rng(Botan::system_rng(), 1024);
    return crypto::time_ordered_uuid(rng, now_ms());
  };
  ctx.now_ms = now_ms;
  ctx.settings = std::move(settings);
  return ctx;
}

ServerContext::ServerContext(storage::Store& store, crypto::Keychain& keychain,
                             ServerSettings settings, mapping::MappingContext mapping)
    : store_(store),
      keychain_(keychain),
      settings_(std::move(settings)),
      mapping_(std::move(mapping)),
      read_cache_(std::make_unique<detail::RenderedCache>(settings_.read_cache_entries)),
      search_cache_(std::make_unique<detail::SearchCache>(settings_.search_cache_entries,
                                                          settings_.search_cache_bytes)) {
  Botan::system_rng().randomize(basic_tag_key_.data(), basic_tag_key_.size());
}

ServerContext::~ServerContext() = default;

ServerContext::SearchCacheStats ServerContext::search_cache_stats() const {
  return {search_cache_->looked_up(), search_cache_->answered()};
}

namespace {

thread_local RequestClient* current_client = nullptr;

std::array<std::uint8_t, 32> credentials_digest(const std::string& login,
                                                const std::string& password) {
  // One hash object per thread: creating one per request (name lookup,
  // secure allocation of its state) cost more than hashing. final() resets it.
  thread_local const auto sha = Botan::HashFunction::create_or_throw("SHA-256");
  sha->update(login);
  sha->update(std::uint8_t{0});  // separator that cannot occur in a login
  sha->update(password);
  std::array<std::uint8_t, 32> out{};
  sha->final(out.data());
  return out;
}

// Bounds a table's memory: forget stale entries, then (an attacker spraying
// logins) the entries with the oldest last failure.
template <class Table, class IsStale, class LastUsed>
void make_room(Table& table, std::size_t max_entries, IsStale is_stale, LastUsed last_used) {
  if (table.size() < max_entries) return;
  std::erase_if(table, [&](const auto& kv) { return is_stale(kv.second); });
  while (!table.empty() && table.size() >= max_entries) {
    auto oldest = table.begin();
    for (auto it = table.begin(); it != table.end(); ++it)
      if (last_used(it->second) < last_used(oldest->second)) oldest = it;
    table.erase(oldest);
  }
}

}  // namespace

RequestClientScope::RequestClientScope(RequestClient& client) : previous_(current_client) {
  current_client = &client;
}
RequestClientScope::~RequestClientScope() {
  current_client = previous_;
}
RequestClient* RequestClientScope::current() {
  return current_client;
}

std::chrono::seconds ServerContext::throttled_for(const FailureTable& table, const std::string& key,
                                                  std::size_t limit, Clock::time_point now) const {
  if (limit == 0) return std::chrono::seconds(0);
  auto it = table.find(key);
  if (it == table.end() || it->second.count < limit) return std::chrono::seconds(0);
  const auto until = it->second.last + settings_.login_lockout;
  if (until <= now) return std::chrono::seconds(0);
  // Round up: "Retry-After: 0" would invite an immediate retry.
  return std::chrono::ceil<std::chrono::seconds>(until - now);
}

void ServerContext::record_failure(FailureTable& table, const std::string& key,
                                   Clock::time_point now) {
  const auto window = settings_.failed_login_window;
  make_room(
      table, settings_.failed_login_max_entries,
      [&](const Failures& f) { return f.last + std::max(window, settings_.login_lockout) <= now; },
      [](const Failures& f) { return f.last; });
  Failures& f = table[key];
  if (f.count == 0 || f.first + window <= now) f = Failures{0, now, now};  // a new window
  ++f.count;
  f.last = now;
}

ServerContext::BasicTag ServerContext::basic_tag(std::string_view encoded_basic) const {
  // SipHash: a keyed hash ~1.3k instructions per half here (the SHA-256 and
  // the constant-time base64 decoding it replaces cost ~8k per request). Two
  // keys for a 128-bit tag; one MAC object per thread, keyed on every use
  // (Botan's SipHash forgets its key when it finishes).
  thread_local const auto mac = Botan::MessageAuthenticationCode::create_or_throw("SipHash(2,4)");
  BasicTag tag{};
  for (std::size_t half = 0; half < 2; ++half) {
    mac->set_key(basic_tag_key_.data() + 16 * half, 16);
    mac->update(reinterpret_cast<const std::uint8_t*>(encoded_basic.data()), encoded_basic.size());
    mac->final(tag.data() + 8 * half);
  }
  return tag;
}

std::optional<storage::Principal> ServerContext::remembered_basic(std::string_view encoded_basic) {
  if (encoded_basic.empty() || settings_.login_cache_ttl.count() <= 0) return std::nullopt;
  const BasicTag tag = basic_tag(encoded_basic);
  const std::string way(tag.begin(), tag.end());
  std::lock_guard lock(login_mutex_);
  auto by_tag = basic_logins_.find(way);
  if (by_tag == basic_logins_.end()) return std::nullopt;
  auto it = logins_.find(by_tag->second);
  // Expired, replaced by other credentials or forgotten: authenticate decides.
  if (it == logins_.end() || !it->second.basic || it->second.expires <= Clock::now() ||
      !Botan::constant_time_compare(it->second.basic->data(), tag.data(), tag.size()))
    return std::nullopt;
  return it->second.principal;
}

Result<storage::Principal> ServerContext::authenticate(const std::string& login,
                                                       const std::string& password,
                                                       std::string_view encoded_basic) {
  const Status denied(StatusCode::unauthorized, "wrong login or password");
  if (login.empty()) return denied;
  const auto digest = credentials_digest(login, password);
  const auto now = Clock::now();
  RequestClient* client = RequestClientScope::current();
  const std::string client_key = client ? client->address : std::string();
  {
    std::lock_guard lock(login_mutex_);
    // A remembered success first: exactly these credentials were right a
    // moment ago, so an attacker locking the login out cannot lock out the
    // user's running client (and learns nothing: they lack the password).
    if (auto it = logins_.find(login); it != logins_.end()) {
      if (it->second.expires > now &&
          Botan::constant_time_compare(it->second.digest.data(), digest.data(), digest.size()))
        return it->second.principal;
      if (it->second.expires <= now) logins_.erase(it);
    }
    // Throttled: refuse without checking the password (the check is what an
    // attacker wants), with the same answer for known and unknown logins.
    auto wait =
        std::max(throttled_for(failures_by_login_, login, settings_.max_failed_logins, now),
                 client_key.empty() ? std::chrono::seconds(0)
                                    : throttled_for(failures_by_client_, client_key,
                                                    settings_.max_failed_logins_per_client, now));
    if (wait.count() > 0) {
      if (client) client->retry_after = wait;
      return Status(StatusCode::throttled,
                    "too many failed logins; try again in " + std::to_string(wait.count()) + " s");
    }
  }
  // The store decides (Argon2id locally, the remote for a remote backend);
  // it runs outside the lock: it is the slow part. Once per credentials at a
  // time: the same credentials already being checked wait for that answer.
  std::promise<Result<storage::Principal>> mine;
  bool owner = false;  // this call runs the check its waiters wait for
  {
    std::unique_lock lock(login_mutex_);
    if (auto it = login_checks_.find(login); it != login_checks_.end()) {
      if (Botan::constant_time_compare(it->second.digest.data(), digest.data(), digest.size())) {
        auto pending = it->second.result;
        lock.unlock();
        return pending.get();
      }
    } else {
      login_checks_.emplace(login, LoginCheck{digest, mine.get_future().share()});
      owner = true;
    }
  }
  // (Other credentials for a login already being checked are checked on their own.)
  Result<storage::Principal> checked = [&]() -> Result<storage::Principal> {
    try {
      return store_.authenticate(login, password);
    } catch (const std::exception& e) {  // the waiters must get an answer whatever happens
      return Status::Internal(std::string("login check failed: ") + e.what());
    }
  }();
  auto finish = [&](const Result<storage::Principal>& answer) {
    // Under login_mutex_: the waiters get the same answer, and the next
    // request finds the cache (or the failure count) already updated.
    if (!owner) return;
    login_checks_.erase(login);
    mine.set_value(answer);
  };
  if (!checked.ok()) {
    std::lock_guard lock(login_mutex_);
    if (checked.status().code() == StatusCode::unauthorized) {
      const auto failed_at = Clock::now();
      record_failure(failures_by_login_, login, failed_at);
      if (!client_key.empty()) record_failure(failures_by_client_, client_key, failed_at);
    }
    finish(checked);
    return checked.status();
  }
  storage::Principal principal = std::move(*checked);
  const std::optional<BasicTag> basic =
      encoded_basic.empty() ? std::nullopt : std::optional<BasicTag>(basic_tag(encoded_basic));
  std::lock_guard lock(login_mutex_);
  failures_by_login_.erase(login);  // the per-client count stays: it spans logins
  if (settings_.login_cache_ttl.count() > 0) {
    make_room(
        logins_, settings_.login_cache_max_entries,
        [&](const CachedLogin& c) { return c.expires <= now; },
        [](const CachedLogin& c) { return c.expires; });
    logins_[login] = CachedLogin{digest, principal, now + settings_.login_cache_ttl, basic};
    if (basic) {
      if (basic_logins_.size() >= 2 * std::max<std::size_t>(settings_.login_cache_max_entries, 1))
        basic_logins_.clear();
      basic_logins_[std::string(basic->begin(), basic->end())] = login;
    }
  }
  finish(principal);
  return principal;
}

void ServerContext::forget_logins() {
  std::lock_guard lock(login_mutex_);
  logins_.clear();
  basic_logins_.clear();
  failures_by_login_.clear();
  failures_by_client_.clear();
}

}  // namespace fhirbridge::server
