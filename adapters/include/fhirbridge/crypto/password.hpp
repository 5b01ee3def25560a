// Password hashing for logins (Botan Argon2id; never stored in clear).
#pragma once

#include <botan/rng.h>

#include <string>

namespace fhirbridge::crypto {

std::string hash_password(const std::string& password, Botan::RandomNumberGenerator& rng);
// Constant-time check; false for a malformed hash.
bool check_password(const std::string& password, const std::string& hash);

}  // namespace fhirbridge::crypto
