// Shared by the bulk commands (import, export): open the SQLite store and log
// a user in from a password file and a private-key file.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "fhirbridge/crypto/keychain.hpp"
#include "fhirbridge/storage/remote_store.hpp"
#include "fhirbridge/storage/sqlite_store.hpp"

namespace fhirbridge::cli {

struct UnlockedStore {
  std::unique_ptr<crypto::Keychain> keychain;  // declared first: outlives the store
  std::unique_ptr<storage::SqliteStore> store;
  storage::Principal who;
};

// On failure prints "fhirbridge <command>: <why>" on stderr, sets `exit_code`
// (2 unreadable files, 1 store or login failure) and returns nullopt.
std::optional<UnlockedStore> open_unlocked_store(const std::string& command, const std::string& db,
                                                 const std::string& login,
                                                 const std::string& password_file,
                                                 const std::string& key_file, int& exit_code,
                                                 storage::SqliteStoreOptions options = {});

// The remote side of `sync`: a remote iCure Store logged in with the remote's
// own check (Store::authenticate), its healthcare party's private key put in
// a keychain of its own. Same error conventions as open_unlocked_store.
struct UnlockedRemoteStore {
  std::unique_ptr<crypto::Keychain> keychain;  // declared first: outlives the store
  std::unique_ptr<storage::Store> store;
  storage::Principal who;
};

std::optional<UnlockedRemoteStore> open_unlocked_remote_store(
    const std::string& command, storage::RemoteStoreOptions options, const std::string& login,
    const std::string& password_file, const std::string& key_file, int& exit_code);

}  // namespace fhirbridge::cli
