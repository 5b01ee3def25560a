// Helpers for creating logins from the server side. The account itself is
// created by storage::create_user (storage/user_admin.hpp), shared with
// `fhirbridge user add`.
#pragma once

#include <botan/rng.h>

#include <cstddef>
#include <string>

namespace fhirbridge::server {

// A random password of `length` characters from an unambiguous alphabet
// (for `serve --demo`).
std::string random_password(Botan::RandomNumberGenerator& rng, std::size_t length = 20);

}  // namespace fhirbridge::server
