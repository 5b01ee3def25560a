// Creating a login: a User (Argon2 password hash) linked to a new healthcare
// party with a fresh RSA-2048 key pair, as iCure registration does. Used by
// `serve --demo`, and by tests.
#pragma once

#include <botan/rng.h>

#include <string>

#include "fhirbridge/crypto/primitives.hpp"
#include "fhirbridge/icure/entities.hpp"
#include "fhirbridge/status.hpp"
#include "fhirbridge/storage/store.hpp"

namespace fhirbridge::server {

struct NewAccount {
  icure::User user;
  icure::HealthcareParty hcp;
  std::string private_key_hex;  // PKCS#8 DER, hex: shown once, never stored
};

// conflict when the login exists. The private key is only returned: the
// caller hands it to the user (who posts it to the keychain endpoint).
Result<NewAccount> create_account(storage::Store& store, const std::string& login,
                                  const std::string& password, Botan::RandomNumberGenerator& rng,
                                  const std::string& display_name = {});

// A random password of `length` characters from an unambiguous alphabet.
std::string random_password(Botan::RandomNumberGenerator& rng, std::size_t length = 20);

}  // namespace fhirbridge::server
