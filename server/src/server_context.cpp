#include "fhirbridge/server/server_context.hpp"

#include <botan/hash.h>
#include <botan/hex.h>
#include <botan/system_rng.h>

#include <chrono>

#include "fhirbridge/crypto/password.hpp"
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

// An unknown login pays for one Argon2 check too, so response time does not
// tell which logins exist.
void spend_a_password_check(const std::string& password) {
  static const std::string dummy_hash =
      crypto::hash_password("fhirbridge-dummy-password", Botan::system_rng());
  (void)crypto::check_password(password, dummy_hash);
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
  Result<icure::User> user = [&] {
    auto store_lock = lock_store();
    return store_.get_user_by_login(login);
  }();
  if (!user.ok()) {
    if (user.status().code() != StatusCode::not_found) return user.status();
    spend_a_password_check(password);
    return denied;
  }
  // Argon2 runs outside every lock: it is the slow part.
  if (!user->passwordHash || !crypto::check_password(password, *user->passwordHash)) return denied;
  if (!user->healthcarePartyId || user->healthcarePartyId->empty())
    return Status(StatusCode::forbidden, "user '" + login + "' has no healthcare party");
  storage::Principal principal{*user->healthcarePartyId, user->id.value_or(login)};
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
