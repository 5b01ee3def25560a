// Creating logins, as iCure registration does: a HealthcareParty with a fresh
// RSA key pair (only the public key is stored), a User with an Argon2id
// password hash, and the private key handed back ONCE to the caller.
#pragma once

#include <botan/rng.h>

#include <iosfwd>
#include <string>
#include <vector>

#include "fhirbridge/icure/entities.hpp"
#include "fhirbridge/status.hpp"
#include "fhirbridge/storage/store.hpp"

namespace fhirbridge::storage {

struct NewUser {
  std::string login;
  std::string password;  // clear; only its hash is stored
  std::string name;      // the HealthcareParty's name (defaults to the login)
};

struct CreatedUser {
  icure::User user;
  icure::HealthcareParty hcp;
  std::string private_key_hex;  // PKCS#8 DER hex: show once, never store
};

// conflict when the login exists (nothing is created then); invalid for an
// empty login or password.
Result<CreatedUser> create_user(Store& store, const NewUser& request,
                                Botan::RandomNumberGenerator& rng);

// `fhirbridge user add --login L --password-file F [--db FILE] [--name N]`:
// `args` excludes "user". Prints "user <id>", "healthcare-party <id>" and
// "private-key <hex>" lines on `out`, errors on `err`; returns the exit code
// (0 ok, 1 failure, 2 usage).
int run_user_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace fhirbridge::storage
