// Process-memory private-key cache. Key bytes only ever live in
// Botan::secure_vector (zeroed on free) and never appear in a Status message.
#include "fhirbridge/crypto/keychain.hpp"

#include <botan/hex.h>

#include <algorithm>
#include <cctype>
#include <utility>

namespace fhirbridge::crypto {

namespace {

std::string keychain_call(const std::string& hcp_id) {
  return "POST /rest/icdx/v1/keychain/" + hcp_id + " with {\"key\": \"<PKCS#8 private key hex>\"}";
}

}  // namespace

Keychain::Keychain(std::chrono::seconds ttl, Clock clock) : ttl_(ttl), clock_(std::move(clock)) {}

std::chrono::steady_clock::time_point Keychain::now() const {
  return clock_ ? clock_() : std::chrono::steady_clock::now();
}

Status Keychain::put(const std::string& hcp_id, std::string_view private_key_pkcs8_hex,
                     const std::string& expected_public_key_hex) {
  const bool hex = private_key_pkcs8_hex.size() % 2 == 0 &&
                   std::all_of(private_key_pkcs8_hex.begin(), private_key_pkcs8_hex.end(),
                               [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
  if (!hex || private_key_pkcs8_hex.empty())
    return Status::Invalid("key", "the private key must be PKCS#8 DER in hex");
  SecureBytes key;
  try {
    // Decoded straight into locked, zero-on-free memory: no plain copy.
    key = Botan::hex_decode_locked(private_key_pkcs8_hex.data(), private_key_pkcs8_hex.size(),
                                   /*ignore_ws=*/false);
  } catch (const std::exception&) {
    return Status::Invalid("key", "the private key must be PKCS#8 DER in hex");
  }
  return put(hcp_id, std::move(key), expected_public_key_hex);
}

Status Keychain::put(const std::string& hcp_id, SecureBytes private_key_pkcs8,
                     const std::string& expected_public_key_hex) {
  if (hcp_id.empty()) return Status::Invalid("hcpId", "empty healthcare party id");
  auto derived = public_key_hex_of(private_key_pkcs8);
  if (!derived.ok())
    return Status::Invalid(
        "key", "the private key is not a valid PKCS#8 RSA key: " + derived.status().message());
  if (expected_public_key_hex.empty())
    return Status(StatusCode::key_mismatch,
                  "healthcare party " + hcp_id + " has no public key on record", "publicKey");
  if (*derived != expected_public_key_hex)
    return Status(StatusCode::key_mismatch,
                  "the private key does not match the public key of healthcare party " + hcp_id +
                      " (key fingerprint on record " + fingerprint(expected_public_key_hex) +
                      ", given key's " + fingerprint(*derived) + ")",
                  "key");
  std::lock_guard lock(mutex_);
  entries_[hcp_id] = Entry{std::move(private_key_pkcs8), now() + ttl_};
  return {};
}

// The live entry for `hcp_id` (an expired one is erased), or the key_missing
// status; the caller holds mutex_.
const Keychain::Entry* Keychain::find_locked(const std::string& hcp_id, Status& missing) const {
  auto it = entries_.find(hcp_id);
  if (it != entries_.end() && now() >= it->second.expires) {
    entries_.erase(it);  // expired: forget it now rather than on the next sweep
    missing = Status(StatusCode::key_missing,
                     "the private key of healthcare party " + hcp_id +
                         " has expired from the keychain; load it again: " + keychain_call(hcp_id));
    return nullptr;
  }
  if (it == entries_.end()) {
    missing = Status(StatusCode::key_missing,
                     "the private key of healthcare party " + hcp_id +
                         " is not in the keychain; load it first: " + keychain_call(hcp_id));
    return nullptr;
  }
  return &it->second;
}

Result<SecureBytes> Keychain::get(const std::string& hcp_id) const {
  std::lock_guard lock(mutex_);
  Status missing;
  const Entry* entry = find_locked(hcp_id, missing);
  if (!entry) return missing;
  return entry->key;
}

Status Keychain::check(const std::string& hcp_id) const {
  std::lock_guard lock(mutex_);
  Status missing;
  find_locked(hcp_id, missing);
  return missing;
}

bool Keychain::contains(const std::string& hcp_id) const {
  return check(hcp_id).ok();
}

void Keychain::drop(const std::string& hcp_id) {
  std::lock_guard lock(mutex_);
  entries_.erase(hcp_id);
}

void Keychain::clear() {
  std::lock_guard lock(mutex_);
  entries_.clear();
}

}  // namespace fhirbridge::crypto
