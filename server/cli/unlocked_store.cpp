#include "unlocked_store.hpp"

#include <fstream>
#include <iostream>
#include <sstream>

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
                                                 const std::string& key_file, int& exit_code) {
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
  auto store = storage::SqliteStore::open(db, *unlocked.keychain);
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

}  // namespace fhirbridge::cli
