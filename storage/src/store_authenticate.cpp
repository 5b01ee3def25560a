// The default Store::authenticate: the user's Argon2id hash, as kept by a
// local store (user_admin.cpp writes it).
#include <botan/system_rng.h>

#include "fhirbridge/crypto/password.hpp"
#include "fhirbridge/storage/store.hpp"

namespace fhirbridge::storage {

namespace {
// An unknown login pays for one Argon2 check too, so response time does not
// tell which logins exist.
void spend_a_password_check(const std::string& password) {
  static const std::string dummy_hash =
      crypto::hash_password("fhirbridge-dummy-password", Botan::system_rng());
  (void)crypto::check_password(password, dummy_hash);
}
}  // namespace

Result<Principal> Store::authenticate(const std::string& login, const std::string& password) {
  const Status denied(StatusCode::unauthorized, "wrong login or password");
  if (login.empty()) return denied;
  Result<icure::User> user = get_user_by_login(login);
  if (!user.ok()) {
    if (user.status().code() != StatusCode::not_found) return user.status();
    spend_a_password_check(password);
    return denied;
  }
  if (!user->passwordHash || !crypto::check_password(password, *user->passwordHash)) return denied;
  if (!user->healthcarePartyId || user->healthcarePartyId->empty())
    return Status(StatusCode::forbidden, "user '" + login + "' has no healthcare party");
  return Principal{*user->healthcarePartyId, user->id.value_or(login)};
}

}  // namespace fhirbridge::storage
