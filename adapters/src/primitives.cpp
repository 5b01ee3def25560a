// iCure's crypto primitives on Botan 2. Every Botan exception is caught here
// and turned into a Status: callers never see a throw from bad input.
#include "fhirbridge/crypto/primitives.hpp"

#include <botan/base64.h>
#include <botan/cipher_mode.h>
#include <botan/data_src.h>
#include <botan/hex.h>
#include <botan/pkcs8.h>
#include <botan/pubkey.h>
#include <botan/rsa.h>
#include <botan/system_rng.h>
#include <botan/x509_key.h>

#include <memory>

namespace fhirbridge::crypto {

namespace {

// iCure: OAEP with SHA-1 for both the label hash and MGF1, empty label.
constexpr const char* kOaep = "EME1(SHA-1)";
constexpr std::size_t kIvSize = 16;

// Loads a PKCS#8 RSA private key; nullptr (and `error`) on anything else.
std::unique_ptr<Botan::RSA_PrivateKey> load_rsa_private(const SecureBytes& pkcs8,
                                                        std::string& error) {
  try {
    Botan::DataSource_Memory source(pkcs8);
    std::unique_ptr<Botan::Private_Key> key = Botan::PKCS8::load_key(source);
    if (!key) {
      error = "not a PKCS#8 private key";
      return nullptr;
    }
    if (key->algo_name() != "RSA") {
      error = "not an RSA key (" + key->algo_name() + ")";
      return nullptr;
    }
    return std::unique_ptr<Botan::RSA_PrivateKey>(
        dynamic_cast<Botan::RSA_PrivateKey*>(key.release()));
  } catch (const std::exception&) {
    // Botan's messages may quote input bytes: keep key material out of errors.
    error = "not a valid PKCS#8 DER private key";
    return nullptr;
  }
}

std::unique_ptr<Botan::Public_Key> load_rsa_public(std::string_view public_key_hex,
                                                   std::string& error) {
  auto der = from_hex(public_key_hex);
  if (!der.ok()) {
    error = "public key is not hex";
    return nullptr;
  }
  try {
    std::unique_ptr<Botan::Public_Key> key(Botan::X509::load_key(*der));
    if (!key || key->algo_name() != "RSA") {
      error = "public key is not an RSA SubjectPublicKeyInfo";
      return nullptr;
    }
    return key;
  } catch (const std::exception&) {
    error = "public key is not a valid SubjectPublicKeyInfo DER";
    return nullptr;
  }
}

const char* aes_mode_for(std::size_t key_size) {
  switch (key_size) {
    case 16: return "AES-128/CBC/PKCS7";
    case 24: return "AES-192/CBC/PKCS7";
    case 32: return "AES-256/CBC/PKCS7";
    default: return nullptr;
  }
}

}  // namespace

std::string to_hex(const std::uint8_t* data, std::size_t size) {
  return Botan::hex_encode(data, size, /*uppercase=*/false);
}

Result<Bytes> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return Status::Invalid({}, "odd number of hex digits");
  for (char c : hex) {
    bool digit = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (!digit) return Status::Invalid({}, "not a hex string");
  }
  try {
    return Botan::hex_decode(hex.data(), hex.size(), /*ignore_ws=*/false);
  } catch (const std::exception&) {
    return Status::Invalid({}, "not a hex string");
  }
}

std::string to_base64(const std::uint8_t* data, std::size_t size) {
  return Botan::base64_encode(data, size);
}

Result<Bytes> from_base64(std::string_view b64) {
  try {
    Botan::secure_vector<std::uint8_t> out =
        Botan::base64_decode(b64.data(), b64.size(), /*ignore_ws=*/false);
    return Bytes(out.begin(), out.end());
  } catch (const std::exception&) {
    return Status::Invalid({}, "not a base64 string");
  }
}

RsaKeyPair generate_rsa_key_pair(Botan::RandomNumberGenerator& rng) {
  Botan::RSA_PrivateKey key(rng, 2048, 65537);
  RsaKeyPair pair;
  std::vector<std::uint8_t> spki = Botan::X509::BER_encode(key);
  pair.public_key_hex = to_hex(spki);
  pair.private_key_pkcs8 = Botan::PKCS8::BER_encode(key);
  return pair;
}

Result<std::string> public_key_hex_of(const SecureBytes& private_key_pkcs8) {
  std::string error;
  auto key = load_rsa_private(private_key_pkcs8, error);
  if (!key) return Status::Invalid({}, error);
  try {
    // A Public_Key view of the private key encodes as the standard minimal
    // SPKI (rsaEncryption OID + NULL params), the same bytes WebCrypto exports.
    Botan::RSA_PublicKey pub(key->get_n(), key->get_e());
    return to_hex(Botan::X509::BER_encode(pub));
  } catch (const std::exception&) {
    return Status::Invalid({}, "cannot derive the public key");
  }
}

std::string fingerprint(std::string_view public_key_hex) {
  constexpr std::size_t kLen = 32;
  if (public_key_hex.size() <= kLen) return std::string(public_key_hex);
  return std::string(public_key_hex.substr(public_key_hex.size() - kLen));
}

Result<Bytes> rsa_encrypt(std::string_view public_key_hex, const std::uint8_t* data,
                          std::size_t size, Botan::RandomNumberGenerator& rng) {
  std::string error;
  auto key = load_rsa_public(public_key_hex, error);
  if (!key) return Status::Invalid({}, error);
  try {
    Botan::PK_Encryptor_EME encryptor(*key, rng, kOaep);
    if (size > encryptor.maximum_input_size())
      return Status::Invalid({}, "data too long for RSA-OAEP");
    return encryptor.encrypt(data, size, rng);
  } catch (const std::exception& e) {
    return Status::Internal(std::string("RSA encryption failed: ") + e.what());
  }
}

Result<SecureBytes> rsa_decrypt(const SecureBytes& private_key_pkcs8, const Bytes& ciphertext) {
  std::string error;
  auto key = load_rsa_private(private_key_pkcs8, error);
  if (!key) return Status::Invalid({}, error);
  try {
    // Blinding needs randomness; the OS generator keeps this signature rng-free.
    Botan::System_RNG rng;
    Botan::PK_Decryptor_EME decryptor(*key, rng, kOaep);
    return decryptor.decrypt(ciphertext);
  } catch (const std::exception&) {
    return Status(StatusCode::key_mismatch,
                  "RSA-OAEP decryption failed (wrong private key or corrupted ciphertext)");
  }
}

Bytes aes_encrypt(const SecureBytes& key, const std::uint8_t* data, std::size_t size,
                  Botan::RandomNumberGenerator& rng) {
  const char* mode = aes_mode_for(key.size());
  if (!mode) return {};  // programming error: keys are always 16/24/32 bytes here
  auto cipher = Botan::Cipher_Mode::create_or_throw(mode, Botan::ENCRYPTION);
  cipher->set_key(key);
  Bytes iv(kIvSize);
  rng.randomize(iv.data(), iv.size());
  cipher->start(iv);
  SecureBytes buffer(data, data + size);
  cipher->finish(buffer);
  Bytes out;
  out.reserve(iv.size() + buffer.size());
  out.insert(out.end(), iv.begin(), iv.end());
  out.insert(out.end(), buffer.begin(), buffer.end());
  return out;
}

Result<SecureBytes> aes_decrypt(const SecureBytes& key, const Bytes& iv_and_ciphertext) {
  const char* mode = aes_mode_for(key.size());
  if (!mode) return Status::Invalid({}, "AES key must be 16, 24 or 32 bytes");
  if (iv_and_ciphertext.size() < kIvSize + 16 || (iv_and_ciphertext.size() - kIvSize) % 16 != 0)
    return Status::Invalid({}, "AES-CBC ciphertext has a wrong length");
  try {
    auto cipher = Botan::Cipher_Mode::create_or_throw(mode, Botan::DECRYPTION);
    cipher->set_key(key);
    cipher->start(iv_and_ciphertext.data(), kIvSize);
    SecureBytes buffer(iv_and_ciphertext.begin() + kIvSize, iv_and_ciphertext.end());
    cipher->finish(buffer);
    return buffer;
  } catch (const std::exception&) {
    return Status::Invalid({}, "AES-CBC decryption failed (wrong key or corrupted data)");
  }
}

std::string random_uuid(Botan::RandomNumberGenerator& rng) {
  std::uint8_t b[16];
  rng.randomize(b, sizeof b);
  b[6] = static_cast<std::uint8_t>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<std::uint8_t>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  std::string hex = to_hex(b, sizeof b);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20, 12);
}

}  // namespace fhirbridge::crypto
