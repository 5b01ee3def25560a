// unlock_principal: log in a command-line user and load their key (bulk.hpp).
#include <algorithm>
#include <cctype>
#include <string_view>

#include "fhirbridge/crypto/primitives.hpp"
#include "fhirbridge/server/bulk.hpp"

namespace fhirbridge::server::bulk {

Result<crypto::SecureBytes> private_key_from_file(std::string_view content) {
  // Hex text (whitespace ignored), the saved output of `user add` (its
  // "private-key <hex>" line), or the raw DER bytes.
  std::string_view text = content;
  if (auto pos = text.find("private-key "); pos != std::string_view::npos) {
    text = text.substr(pos + 12);
    text = text.substr(0, text.find('\n'));
  }
  std::string hex;
  std::copy_if(text.begin(), text.end(), std::back_inserter(hex),
               [](unsigned char c) { return !std::isspace(c); });
  const bool is_hex = !hex.empty() && std::all_of(hex.begin(), hex.end(), [](unsigned char c) {
    return std::isxdigit(c) != 0;
  });
  if (!is_hex) return crypto::SecureBytes(content.begin(), content.end());
  auto bytes = crypto::from_hex(hex);
  if (!bytes.ok()) return Status::Invalid("--key-file", "not a hex PKCS#8 key");
  return crypto::SecureBytes(bytes->begin(), bytes->end());
}

Result<storage::Principal> unlock_principal(storage::Store& store, crypto::Keychain& keychain,
                                            const std::string& login, const std::string& password,
                                            const std::string& key_file_content) {
  // The store owns the password check (Argon2id locally, the API for a remote).
  auto principal = store.authenticate(login, password);
  if (!principal.ok()) return principal.status();
  auto hcp = store.get_healthcare_party(principal->hcp_id);
  if (!hcp.ok()) return hcp.status();
  if (!hcp->publicKey)
    return Status(StatusCode::key_missing, "healthcare party " + *hcp->id + " has no public key");

  auto key = private_key_from_file(key_file_content);
  if (!key.ok()) return key.status();
  FHIRBRIDGE_RETURN_IF_ERROR(keychain.put(principal->hcp_id, std::move(*key), *hcp->publicKey));
  return *principal;
}

}  // namespace fhirbridge::server::bulk
