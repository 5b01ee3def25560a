// The remote Store: the same interface over an iCure REST API (/rest/v1),
// e.g. an iCure cloud deployment or another fhirbridge serving its iCure
// subset. Entities are sealed here, with the same crypto as the SQLite
// backend: the remote never sees clear medical content.
#pragma once

#include <botan/rng.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "fhirbridge/crypto/keychain.hpp"
#include "fhirbridge/storage/store.hpp"

namespace fhirbridge::storage {

struct RemoteStoreOptions {
  // "http://host:port" or "https://host:port" (the /rest/v1 prefix is added).
  std::string base_url;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds request_timeout{30000};
  // Idempotent calls (GET, PUT, DELETE, filters) are retried on connection
  // errors and 5xx with exponential backoff; creates only when the request
  // cannot have reached the remote.
  int max_attempts = 4;
  std::chrono::milliseconds first_backoff{100};
  // TLS: verify the server certificate against this CA file (PEM), or the
  // system store when empty; verify_tls = false only for tests.
  std::string ca_file;
  bool verify_tls = true;
  // Injectable for tests, as for SqliteStoreOptions.
  std::function<std::string()> new_id;
  std::function<std::int64_t()> now_ms;
  Botan::RandomNumberGenerator* rng = nullptr;  // not owned
};

class RemoteStore;  // defined by the remote backend (being filled in)

// Opens a remote store; nothing is sent until the first call (authenticate
// first: the remote is then called with those credentials for that principal).
Result<std::unique_ptr<Store>> open_remote_store(RemoteStoreOptions options,
                                                 crypto::Keychain& keychain);

}  // namespace fhirbridge::storage
