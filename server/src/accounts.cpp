#include "fhirbridge/server/accounts.hpp"

#include <chrono>

#include "fhirbridge/crypto/password.hpp"

namespace fhirbridge::server {

Result<NewAccount> create_account(storage::Store& store, const std::string& login,
                                  const std::string& password, Botan::RandomNumberGenerator& rng,
                                  const std::string& display_name) {
  if (login.empty()) return Status::Invalid("login", "the login must not be empty");
  if (password.empty()) return Status::Invalid("password", "the password must not be empty");
  auto existing = store.get_user_by_login(login);
  if (existing.ok()) return Status::Conflict("user '" + login + "' already exists", "login");
  if (existing.status().code() != StatusCode::not_found) return existing.status();

  const std::int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  crypto::RsaKeyPair keys = crypto::generate_rsa_key_pair(rng);
  icure::HealthcareParty hcp;
  hcp.id = crypto::random_uuid(rng);
  hcp._type = "org.taktik.icure.entities.HealthcareParty";
  hcp.created = now;
  hcp.modified = now;
  hcp.name = display_name.empty() ? login : display_name;
  hcp.publicKey = keys.public_key_hex;
  auto stored_hcp = store.put_healthcare_party(hcp);
  if (!stored_hcp.ok()) return stored_hcp.status();

  icure::User user;
  user.id = crypto::random_uuid(rng);
  user.login = login;
  user.name = display_name.empty() ? login : display_name;
  user.passwordHash = crypto::hash_password(password, rng);
  user.healthcarePartyId = hcp.id;
  user.created = now;
  auto stored_user = store.put_user(user);
  if (!stored_user.ok()) return stored_user.status();

  return NewAccount{std::move(*stored_user), std::move(*stored_hcp),
                    crypto::to_hex(keys.private_key_pkcs8.data(), keys.private_key_pkcs8.size())};
}

std::string random_password(Botan::RandomNumberGenerator& rng, std::size_t length) {
  static constexpr char kAlphabet[] = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  constexpr std::size_t kSize = sizeof(kAlphabet) - 1;  // 56
  std::string out;
  while (out.size() < length) {
    std::uint8_t byte = 0;
    rng.randomize(&byte, 1);
    if (byte < 256 - 256 % kSize) out.push_back(kAlphabet[byte % kSize]);  // no modulo bias
  }
  return out;
}

}  // namespace fhirbridge::server
