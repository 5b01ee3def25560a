// Login passwords: Argon2id (Botan) in the standard PHC string form
// "$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>", which carries its own salt
// and parameters, so they can be raised later without breaking old hashes.
#include "fhirbridge/crypto/password.hpp"

#include <botan/argon2.h>

#include <cstdio>

namespace fhirbridge::crypto {

namespace {
// OWASP's minimum Argon2id configuration: 19 MiB, 2 passes, 1 lane.
constexpr std::size_t kMemoryKiB = 19456;
constexpr std::size_t kPasses = 2;
constexpr std::size_t kLanes = 1;
constexpr std::uint8_t kArgon2id = 2;
constexpr std::size_t kSaltBytes = 16;
constexpr std::size_t kHashBytes = 32;

// A stored hash names its own cost; refuse costs that would let a tampered row
// exhaust memory or CPU on every login attempt.
bool acceptable_cost(const std::string& hash) {
  unsigned long version = 0, memory = 0, passes = 0, lanes = 0;
  if (std::sscanf(hash.c_str(), "$argon2id$v=%lu$m=%lu,t=%lu,p=%lu$", &version, &memory, &passes,
                  &lanes) != 4)
    return false;
  return memory >= 8 && memory <= 1024 * 1024 && passes >= 1 && passes <= 16 && lanes >= 1 &&
         lanes <= 16;
}
}  // namespace

std::string hash_password(const std::string& password, Botan::RandomNumberGenerator& rng) {
  return Botan::argon2_generate_pwhash(password.data(), password.size(), rng, kLanes, kMemoryKiB,
                                       kPasses, kArgon2id, kSaltBytes, kHashBytes);
}

bool check_password(const std::string& password, const std::string& hash) {
  // Only our own algorithm: a tampered row must not downgrade to something weaker.
  if (hash.rfind("$argon2id$", 0) != 0 || !acceptable_cost(hash)) return false;
  try {
    // Botan compares the recomputed hash in constant time.
    return Botan::argon2_check_pwhash(password.data(), password.size(), hash);
  } catch (const std::exception&) {
    return false;  // malformed parameters (e.g. absurd memory cost)
  }
}

}  // namespace fhirbridge::crypto
