// Everything a request handler needs, shared by all connections: the store,
// the keychain, the mapping context (ids + clock) and the server settings.
// Thread-safe: handle_request may be called from several threads at once.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
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
  std::size_t default_page_size = 50;
  std::size_t max_page_size = 1000;
};

// Ids from a CSPRNG (crypto::random_uuid over Botan's System_RNG) and the
// system clock: the production mapping context.
mapping::MappingContext make_system_mapping_context(mapping::MappingSettings settings = {});

class ServerContext {
 public:
  ServerContext(storage::Store& store, crypto::Keychain& keychain, ServerSettings settings = {},
                mapping::MappingContext mapping = make_system_mapping_context());

  storage::Store& store() { return store_; }
  // The same data as sealed entities (the SQLite backend); null when the
  // backend has none (a remote store): the iCure REST subset then answers 404.
  storage::SealedStore* sealed_store() { return sealed_store_; }
  void attach_sealed_store(storage::SealedStore* sealed) { sealed_store_ = sealed; }
  crypto::Keychain& keychain() { return keychain_; }
  const ServerSettings& settings() const { return settings_; }
  const mapping::MappingContext& mapping() const { return mapping_; }

  // Checks Basic credentials against the store (crypto::check_password); a
  // success is cached for settings.login_cache_ttl keyed by a SHA-256 of the
  // credentials, so the clear password is never kept. unauthorized otherwise.
  Result<storage::Principal> authenticate(const std::string& login, const std::string& password);
  void forget_logins();

  // The SQLite backend is one connection: store calls are serialised through
  // this lock (Argon2 checks run outside it).
  std::unique_lock<std::mutex> lock_store() { return std::unique_lock<std::mutex>(store_mutex_); }

 private:
  struct CachedLogin {
    storage::Principal principal;
    std::chrono::steady_clock::time_point expires;
  };
  storage::Store& store_;
  storage::SealedStore* sealed_store_ = nullptr;
  crypto::Keychain& keychain_;
  ServerSettings settings_;
  mapping::MappingContext mapping_;
  std::mutex store_mutex_;
  std::mutex login_mutex_;
  std::map<std::string, CachedLogin> logins_;  // sha256(login ":" password) hex -> principal
};

}  // namespace fhirbridge::server
