#include "fhirbridge/server/server_context.hpp"

#include <botan/hash.h>
#include <botan/hex.h>
#include <botan/system_rng.h>

#include <chrono>

#include "fhirbridge/crypto/primitives.hpp"

namespace fhirbridge::server {

mapping::MappingContext make_system_mapping_context(mapping::MappingSettings settings) {
  mapping::MappingContext ctx;
  // System_RNG reads the OS CSPRNG and is safe to share between threads.
  ctx.new_id = [] { return crypto::random_uuid(Botan::system_rng()); };
  ctx.now_ms = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  ctx.settings = std::move(settings);
  return ctx;
}

ServerContext::ServerContext(storage::Store& store, crypto::Keychain& keychain,
                             ServerSettings settings, mapping::MappingContext mapping)
    : store_(store),
      keychain_(keychain),
      settings_(std::move(settings)),
      mapping_(std::move(mapping)) {}

namespace {
std::string credentials_digest(const std::string& login, const std::string& password) {
  auto sha = Botan::HashFunction::create_or_throw("SHA-256");
  sha->update(login);
  sha->update(std::uint8_t{0});  // separator that cannot occur in a login
  sha->update(password);
  return Botan::hex_encode(sha->final());
}

}  // namespace

Result<storage::Principal> ServerContext::authenticate(const std::string& login,
                                                       const std::string& password) {
  const Status denied(StatusCode::unauthorized, "wrong login or password");
  if (login.empty()) return denied;
  const std::string key = credentials_digest(login, password);
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(login_mutex_);
    if (auto it = logins_.find(key); it != logins_.end()) {
      if (it->second.expires > now) return it->second.principal;
      logins_.erase(it);
    }
  }
  // The store decides (Argon2id locally, the remote for a remote backend);
  // it runs outside the store lock: it is the slow part.
  Result<storage::Principal> checked = store_.authenticate(login, password);
  if (!checked.ok()) return checked.status();
  storage::Principal principal = std::move(*checked);
  if (settings_.login_cache_ttl.count() > 0) {
    std::lock_guard lock(login_mutex_);
    if (logins_.size() >= settings_.login_cache_max_entries) {
      // Drop expired entries; if still full, start over (simple and bounded).
      std::erase_if(logins_, [&](const auto& kv) { return kv.second.expires <= now; });
      if (logins_.size() >= settings_.login_cache_max_entries) logins_.clear();
    }
    logins_[key] = CachedLogin{principal, now + settings_.login_cache_ttl};
  }
  return principal;
}

void ServerContext::forget_logins() {
  std::lock_guard lock(login_mutex_);
  logins_.clear();
}

}  // namespace fhirbridge::server
