#include "unlocked_store.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iostream>
#include <sstream>

#include "fhirbridge/crypto/primitives.hpp"
#include "fhirbridge/server/bulk.hpp"

namespace fhirbridge::cli {

namespace {
bool read_whole_file(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream buf;
  buf << in.rdbuf();
  out = buf.str();
  return true;
}

}  // namespace

std::optional<UnlockedStore> open_unlocked_store(const std::string& command, const std::string& db,
                                                 const std::string& login,
                                                 const std::string& password_file,
                                                 const std::string& key_file, int& exit_code,
                                                 storage::SqliteStoreOptions options) {
  const std::string prefix = "fhirbridge " + command + ": ";
  std::string password, key;
  if (!read_whole_file(password_file, password) || !read_whole_file(key_file, key)) {
    std::cerr << prefix << "cannot read the password or key file\n";
    exit_code = 2;
    return std::nullopt;
  }
  while (!password.empty() && (password.back() == '\n' || password.back() == '\r'))
    password.pop_back();

  UnlockedStore unlocked;
  unlocked.keychain = std::make_unique<crypto::Keychain>();
  auto store = storage::SqliteStore::open(db, *unlocked.keychain, std::move(options));
  if (!store.ok()) {
    std::cerr << prefix << store.status().to_string() << "\n";
    exit_code = 1;
    return std::nullopt;
  }
  unlocked.store = std::move(*store);
  auto who =
      server::bulk::unlock_principal(*unlocked.store, *unlocked.keychain, login, password, key);
  if (!who.ok()) {
    std::cerr << prefix << who.status().to_string() << "\n";
    exit_code = 1;
    return std::nullopt;
  }
  unlocked.who = std::move(*who);
  return unlocked;
}

std::optional<UnlockedRemoteStore> open_unlocked_remote_store(
    const std::string& command, storage::RemoteStoreOptions options, const std::string& login,
    const std::string& password_file, const std::string& key_file, int& exit_code) {
  const std::string prefix = "fhirbridge " + command + ": remote: ";
  std::string password, key;
  if (!read_whole_file(password_file, password) || !read_whole_file(key_file, key)) {
    std::cerr << prefix << "cannot read the password or key file\n";
    exit_code = 2;
    return std::nullopt;
  }
  while (!password.empty() && (password.back() == '\n' || password.back() == '\r'))
    password.pop_back();

  const auto fail = [&](const Status& status) {
    std::cerr << prefix << status.to_string() << "\n";
    exit_code = 1;
    return std::nullopt;
  };
  UnlockedRemoteStore unlocked;
  unlocked.keychain = std::make_unique<crypto::Keychain>();
  auto store = storage::open_remote_store(std::move(options), *unlocked.keychain);
  if (!store.ok()) return fail(store.status());
  unlocked.store = std::move(*store);
  auto who = unlocked.store->authenticate(login, password);
  if (!who.ok()) return fail(who.status());
  auto hcp = unlocked.store->get_healthcare_party(who->hcp_id);
  if (!hcp.ok()) return fail(hcp.status());
  if (!hcp->publicKey)
    return fail(
        Status(StatusCode::key_missing, "healthcare party " + who->hcp_id + " has no public key"));
  auto key_bytes = server::bulk::private_key_from_file(key);
  if (!key_bytes.ok()) return fail(key_bytes.status());
  auto put = unlocked.keychain->put(who->hcp_id, std::move(*key_bytes), *hcp->publicKey);
  if (!put.ok()) return fail(put);
  unlocked.who = std::move(*who);
  return unlocked;
}

}  // namespace fhirbridge::cli
