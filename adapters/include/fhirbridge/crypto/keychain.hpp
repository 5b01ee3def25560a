// Process-memory cache of healthcare parties' private keys (the tutorial's
// /keychain endpoint fills it). Keys never touch disk or logs; entries expire.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "fhirbridge/crypto/primitives.hpp"
#include "fhirbridge/status.hpp"

namespace fhirbridge::crypto {

// Thread-safe: every member may be called from several threads at once (one
// mutex; get() hands out a copy, so a concurrent put/drop never invalidates a
// key in use). An injected Clock must be thread-safe too.
class Keychain {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  explicit Keychain(std::chrono::seconds ttl = std::chrono::hours(12), Clock clock = nullptr);

  // Stores the key for `hcp_id` after checking it is a valid PKCS#8 RSA key
  // (invalid) whose public half equals `expected_public_key_hex`
  // (key_mismatch). Replaces an earlier key. The hex is decoded straight into
  // a secure_vector (zeroed on free); the caller owns (and should wipe) the hex.
  Status put(const std::string& hcp_id, std::string_view private_key_pkcs8_hex,
             const std::string& expected_public_key_hex);
  Status put(const std::string& hcp_id, SecureBytes private_key_pkcs8,
             const std::string& expected_public_key_hex);
  // The key, or key_missing (absent or expired) naming the keychain call to make.
  Result<SecureBytes> get(const std::string& hcp_id) const;
  // The same answer as get() without copying the key (ok or key_missing).
  Status check(const std::string& hcp_id) const;
  bool contains(const std::string& hcp_id) const;
  void drop(const std::string& hcp_id);
  void clear();

 private:
  struct Entry {
    SecureBytes key;
    std::chrono::steady_clock::time_point expires;
  };
  std::chrono::steady_clock::time_point now() const;
  const Entry* find_locked(const std::string& hcp_id, Status& missing) const;
  std::chrono::seconds ttl_;
  Clock clock_;
  mutable std::mutex mutex_;
  mutable std::map<std::string, Entry> entries_;
};

}  // namespace fhirbridge::crypto
