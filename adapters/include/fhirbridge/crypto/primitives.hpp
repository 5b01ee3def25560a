// iCure's crypto primitives on Botan 2 (see ../shared/docs/icure-model.md):
// RSA-OAEP(SHA-1) 2048, AES-CBC/PKCS7 with a 16-byte IV prefix, hex keys.
#pragma once

#include <botan/rng.h>
#include <botan/secmem.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fhirbridge/status.hpp"

namespace fhirbridge::crypto {

using Bytes = std::vector<std::uint8_t>;
using SecureBytes = Botan::secure_vector<std::uint8_t>;

std::string to_hex(const std::uint8_t* data, std::size_t size);  // lowercase
inline std::string to_hex(const Bytes& b) {
  return to_hex(b.data(), b.size());
}
Result<Bytes> from_hex(std::string_view hex);
std::string to_base64(const std::uint8_t* data, std::size_t size);
Result<Bytes> from_base64(std::string_view b64);
// The same into a secure_vector (decrypted in place by aes_decrypt_in_place).
Result<SecureBytes> from_base64_secure(std::string_view b64);

struct RsaKeyPair {
  std::string public_key_hex;     // X.509 SubjectPublicKeyInfo DER, hex
  SecureBytes private_key_pkcs8;  // PKCS#8 DER
};
// 2048-bit, e = 65537.
RsaKeyPair generate_rsa_key_pair(Botan::RandomNumberGenerator& rng);
// Public key (SPKI hex) derived from a PKCS#8 private key; invalid on bad DER.
Result<std::string> public_key_hex_of(const SecureBytes& private_key_pkcs8);
// Last 32 hex characters of the public key hex.
std::string fingerprint(std::string_view public_key_hex);

// RSA-OAEP with SHA-1 (OAEP and MGF1), no label.
Result<Bytes> rsa_encrypt(std::string_view public_key_hex, const std::uint8_t* data,
                          std::size_t size, Botan::RandomNumberGenerator& rng);
Result<SecureBytes> rsa_decrypt(const SecureBytes& private_key_pkcs8, const Bytes& ciphertext);

// AES-CBC/PKCS7; key length picks AES-128/256. Output = IV(16) || ciphertext.
Bytes aes_encrypt(const SecureBytes& key, const std::uint8_t* data, std::size_t size,
                  Botan::RandomNumberGenerator& rng);
Result<SecureBytes> aes_decrypt(const SecureBytes& key, const Bytes& iv_and_ciphertext);
Result<SecureBytes> aes_decrypt(const SecureBytes& key, const std::uint8_t* iv_and_ciphertext,
                                std::size_t size);
// Decrypts in the given buffer (no copy of the ciphertext).
Result<SecureBytes> aes_decrypt_in_place(const SecureBytes& key, SecureBytes iv_and_ciphertext);
// The hex of IV || ciphertext (delegations, encryptionKeys), decoded straight
// into the buffer that is decrypted.
Result<SecureBytes> aes_decrypt_hex(const SecureBytes& key, std::string_view iv_and_ciphertext_hex);
// AES objects are per thread and re-keyed per call: every function here may be
// called from several threads at once (an rng passed in must then be
// thread-safe itself, as Botan's AutoSeeded_RNG / ChaCha_RNG / System_RNG are).

// Random UUID v4 string. For secrets (secretId, content keys) and anything
// that must not reveal when it was made.
std::string random_uuid(Botan::RandomNumberGenerator& rng);

// UUID version 7 (RFC 9562): 48 bits of Unix milliseconds, then 74 random
// bits. For entity ids: ids made one after another sort together, so the
// store's id-keyed B-trees grow at their right edge instead of at a random
// leaf per insert (docs/storage.md). It tells when the entity was made, which
// its clear `created` field already does.
std::string time_ordered_uuid(Botan::RandomNumberGenerator& rng, std::int64_t unix_ms);

}  // namespace fhirbridge::crypto
