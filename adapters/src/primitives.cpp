// iCure's crypto primitives on Botan 2. Every Botan exception is caught here
// and turned into a Status: callers never see a throw from bad input.
#include "fhirbridge/crypto/primitives.hpp"

#include <botan/base64.h>
#include <botan/block_cipher.h>
#include <botan/cipher_mode.h>
#include <botan/data_src.h>
#include <botan/mem_ops.h>
#include <botan/pkcs8.h>
#include <botan/pubkey.h>
#include <botan/rsa.h>
#include <botan/system_rng.h>
#include <botan/x509_key.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
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

// AES by key size: the block cipher's name and its CBC/PKCS#7 mode's; null
// names for any other size.
struct AesNames {
  std::size_t slot;  // index of the key size in the per-thread caches below
  const char* block_cipher;
  const char* cbc_mode;
};
AesNames aes_names(std::size_t key_size) {
  switch (key_size) {
    case 16: return {0, "AES-128", "AES-128/CBC/PKCS7"};
    case 24: return {1, "AES-192", "AES-192/CBC/PKCS7"};
    case 32: return {2, "AES-256", "AES-256/CBC/PKCS7"};
    default: return {0, nullptr, nullptr};
  }
}
bool is_aes_key_size(std::size_t key_size) {
  return aes_names(key_size).block_cipher != nullptr;
}

// Cipher_Mode::create parses the mode name and probes every provider: it cost
// more than the AES itself on the read path. Each thread keeps one decryption
// object per key size and only re-keys it; Botan's mode objects are not
// thread-safe, hence thread_local rather than shared. `key_size` is valid.
Botan::Cipher_Mode& thread_decryption_mode(std::size_t key_size) {
  thread_local std::unique_ptr<Botan::Cipher_Mode> modes[3];
  const AesNames names = aes_names(key_size);
  auto& slot = modes[names.slot];
  if (!slot) slot = Botan::Cipher_Mode::create_or_throw(names.cbc_mode, Botan::DECRYPTION);
  return *slot;
}

// Encryption runs CBC over the bare block cipher: Botan's CBC mode pads in
// constant time and wipes its buffers per call, which cost 2.5x the AES of a
// delegation entry (~80 bytes); there is no secret to hide in the padding of
// a message being encrypted. One per thread and key size, as above.
Botan::BlockCipher& thread_block_cipher(std::size_t key_size) {
  thread_local std::unique_ptr<Botan::BlockCipher> ciphers[3];
  const AesNames names = aes_names(key_size);
  auto& slot = ciphers[names.slot];
  if (!slot) slot = Botan::BlockCipher::create_or_throw(names.block_cipher);
  return *slot;
}

// Wipes the key schedule when the call is done (also on a throw), so a
// thread's cached cipher never keeps a key between calls.
template <typename Cipher>
struct CipherLease {
  Cipher& cipher;
  ~CipherLease() {
    try {
      cipher.clear();
    } catch (...) {
    }
  }
};

// -1 for a non-hex character.
constexpr std::array<std::int8_t, 256> kHexValue = [] {
  std::array<std::int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int c = '0'; c <= '9'; ++c) t[c] = static_cast<std::int8_t>(c - '0');
  for (int c = 'a'; c <= 'f'; ++c) t[c] = static_cast<std::int8_t>(c - 'a' + 10);
  for (int c = 'A'; c <= 'F'; ++c) t[c] = static_cast<std::int8_t>(c - 'A' + 10);
  return t;
}();

// -1 for a character outside the standard base64 alphabet.
constexpr std::array<std::int8_t, 256> kBase64Value = [] {
  std::array<std::int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = static_cast<std::int8_t>(c - 'A');
  for (int c = 'a'; c <= 'z'; ++c) t[c] = static_cast<std::int8_t>(c - 'a' + 26);
  for (int c = '0'; c <= '9'; ++c) t[c] = static_cast<std::int8_t>(c - '0' + 52);
  t['+'] = 62;
  t['/'] = 63;
  return t;
}();

// Canonical padded base64 (what the SDK and we write) decoded with a table;
// false for anything else, which then goes to Botan's more lenient decoder.
// Botan 2's decoder was a sixth of an unseal.
bool base64_decode_strict(std::string_view b64, SecureBytes& out) {
  if (b64.empty() || b64.size() % 4 != 0) return false;
  const auto* in = reinterpret_cast<const unsigned char*>(b64.data());
  const std::size_t padding = (in[b64.size() - 1] == '=') + (in[b64.size() - 2] == '=');
  out.resize(b64.size() / 4 * 3 - padding);
  std::size_t o = 0;
  for (std::size_t i = 0; i < b64.size(); i += 4) {
    const bool last = i + 4 == b64.size();
    const int a = kBase64Value[in[i]], b = kBase64Value[in[i + 1]];
    const int c = last && padding == 2 ? 0 : kBase64Value[in[i + 2]];
    const int d = last && padding >= 1 ? 0 : kBase64Value[in[i + 3]];
    if ((a | b | c | d) < 0) return false;
    const std::uint32_t v = (std::uint32_t(a) << 18) | (std::uint32_t(b) << 12) |
                            (std::uint32_t(c) << 6) | std::uint32_t(d);
    out[o++] = static_cast<std::uint8_t>(v >> 16);
    if (o < out.size()) out[o++] = static_cast<std::uint8_t>(v >> 8);
    if (o < out.size()) out[o++] = static_cast<std::uint8_t>(v);
  }
  return true;
}

}  // namespace

namespace {
// Digit of a nibble / base64 character of a sextet by arithmetic, with no
// table or branch indexed by the value (as Botan's encoders, constant time:
// a key may be encoded), inlined: Botan 2's out-of-line encoders were ~7% of
// an import's instructions (~80 per hex byte, ~25 per base64 byte).
constexpr char hex_digit(unsigned nibble) {
  // 0-9 -> '0'-'9'; 10-15: (9 - n) is negative, its sign bits add 'a' - '0' - 10.
  return static_cast<char>(nibble + '0' + ((static_cast<int>(9 - nibble) >> 8) & 39));
}
constexpr char base64_char(unsigned sextet) {
  const int v = static_cast<int>(sextet);
  int c = v + 'A';            // A-Z
  c += ((25 - v) >> 8) & 6;   // a-z
  c -= ((51 - v) >> 8) & 75;  // 0-9
  c -= ((61 - v) >> 8) & 15;  // +
  c += ((62 - v) >> 8) & 3;   // /
  return static_cast<char>(c);
}
static_assert(hex_digit(0) == '0' && hex_digit(9) == '9' && hex_digit(10) == 'a' &&
              hex_digit(15) == 'f');
static_assert(base64_char(0) == 'A' && base64_char(25) == 'Z' && base64_char(26) == 'a' &&
              base64_char(51) == 'z' && base64_char(52) == '0' && base64_char(61) == '9' &&
              base64_char(62) == '+' && base64_char(63) == '/');
}  // namespace

std::string to_hex(const std::uint8_t* data, std::size_t size) {
  std::string out(2 * size, '\0');
  std::size_t i = 0;
  if constexpr (std::endian::native == std::endian::little) {
    // Four bytes at a time in one 64-bit word (SWAR), with hex_digit's
    // arithmetic per byte lane: the delegations' hex was ~2% of an import.
    constexpr std::uint64_t kLow = 0x000F000F000F000Full, kEach = 0x0101010101010101ull;
    for (; i + 4 <= size; i += 4) {
      std::uint32_t word;
      std::memcpy(&word, data + i, 4);
      std::uint64_t x = word;
      x = (x | (x << 16)) & 0x0000FFFF0000FFFFull;
      x = (x | (x << 8)) & 0x00FF00FF00FF00FFull;  // byte k in the low byte of lane k
      // Lane k's bytes: its high nibble, then its low nibble (the text order).
      const std::uint64_t nibbles = ((x >> 4) & kLow) | ((x & kLow) << 8);
      const std::uint64_t over_nine = ((nibbles + 6 * kEach) >> 4) & kEach;
      const std::uint64_t digits = nibbles + '0' * kEach + over_nine * ('a' - '0' - 10);
      std::memcpy(out.data() + 2 * i, &digits, 8);
    }
  }
  for (; i < size; ++i) {
    out[2 * i] = hex_digit(data[i] >> 4);
    out[2 * i + 1] = hex_digit(data[i] & 0x0f);
  }
  return out;
}

bool hex_decode_into(std::string_view hex, std::uint8_t* out) {
  if (hex.size() % 2 != 0) return false;
  const auto* in = reinterpret_cast<const unsigned char*>(hex.data());
  for (std::size_t i = 0, n = hex.size() / 2; i < n; ++i) {
    const int hi = kHexValue[in[2 * i]], lo = kHexValue[in[2 * i + 1]];
    if ((hi | lo) < 0) return false;
    out[i] = static_cast<std::uint8_t>((hi << 4) | lo);
  }
  return true;
}

Result<Bytes> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return Status::Invalid({}, "odd number of hex digits");
  Bytes out(hex.size() / 2);
  if (!hex_decode_into(hex, out.data())) return Status::Invalid({}, "not a hex string");
  return out;
}

std::string to_base64(const std::uint8_t* data, std::size_t size) {
  std::string out((size + 2) / 3 * 4, '=');  // padded, as Botan and the SDK write it
  std::size_t i = 0, o = 0;
  for (; i + 3 <= size; i += 3, o += 4) {
    const std::uint32_t v = (std::uint32_t(data[i]) << 16) | (std::uint32_t(data[i + 1]) << 8) |
                            std::uint32_t(data[i + 2]);
    out[o] = base64_char(v >> 18);
    out[o + 1] = base64_char((v >> 12) & 63);
    out[o + 2] = base64_char((v >> 6) & 63);
    out[o + 3] = base64_char(v & 63);
  }
  if (const std::size_t rest = size - i; rest > 0) {
    std::uint32_t v = std::uint32_t(data[i]) << 16;
    if (rest == 2) v |= std::uint32_t(data[i + 1]) << 8;
    out[o] = base64_char(v >> 18);
    out[o + 1] = base64_char((v >> 12) & 63);
    if (rest == 2) out[o + 2] = base64_char((v >> 6) & 63);
  }
  return out;
}

Result<Bytes> from_base64(std::string_view b64) {
  auto out = from_base64_secure(b64);
  if (!out.ok()) return out.status();
  return Bytes(out->begin(), out->end());
}

Result<SecureBytes> from_base64_secure(std::string_view b64) {
  SecureBytes out;
  if (base64_decode_strict(b64, out)) return out;
  try {
    return Botan::base64_decode(b64.data(), b64.size(), /*ignore_ws=*/false);
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
  if (!is_aes_key_size(key.size())) return {};  // programming error: keys are 16/24/32 bytes here
  // Encrypted in place in the output: IV(16) || plaintext || PKCS#7 padding
  // (1 to 16 bytes, each the padding's length), then CBC over the tail: each
  // block XORed with the ciphertext block before it (the IV first), then
  // encrypted. The plaintext is overwritten as it goes.
  constexpr std::size_t kBlock = 16;
  const std::size_t padding = kBlock - size % kBlock;
  Bytes out(kIvSize + size + padding);
  rng.randomize(out.data(), kIvSize);
  if (size > 0) std::memcpy(out.data() + kIvSize, data, size);
  std::memset(out.data() + kIvSize + size, static_cast<int>(padding), padding);
  Botan::BlockCipher& aes = thread_block_cipher(key.size());
  CipherLease<Botan::BlockCipher> lease{aes};
  aes.set_key(key);
  for (std::uint8_t* block = out.data() + kIvSize; block != out.data() + out.size();
       block += kBlock) {
    Botan::xor_buf(block, block - kBlock, kBlock);
    aes.encrypt(block);
  }
  return out;
}

Result<SecureBytes> aes_decrypt(const SecureBytes& key, const Bytes& iv_and_ciphertext) {
  return aes_decrypt(key, iv_and_ciphertext.data(), iv_and_ciphertext.size());
}

Result<SecureBytes> aes_decrypt(const SecureBytes& key, const std::uint8_t* iv_and_ciphertext,
                                std::size_t size) {
  if (size < kIvSize + 16 || (size - kIvSize) % 16 != 0)
    return Status::Invalid({}, "AES-CBC ciphertext has a wrong length");
  return aes_decrypt_in_place(key, SecureBytes(iv_and_ciphertext, iv_and_ciphertext + size));
}

Result<SecureBytes> aes_decrypt_in_place(const SecureBytes& key, SecureBytes iv_and_ciphertext) {
  if (!is_aes_key_size(key.size()))
    return Status::Invalid({}, "AES key must be 16, 24 or 32 bytes");
  if (iv_and_ciphertext.size() < kIvSize + 16 || (iv_and_ciphertext.size() - kIvSize) % 16 != 0)
    return Status::Invalid({}, "AES-CBC ciphertext has a wrong length");
  try {
    Botan::Cipher_Mode& cipher = thread_decryption_mode(key.size());
    CipherLease<Botan::Cipher_Mode> lease{cipher};
    cipher.set_key(key);
    cipher.start(iv_and_ciphertext.data(), kIvSize);
    // finish(buffer, offset) decrypts from `offset` on and leaves the prefix
    // (the IV) alone; the IV is then dropped from the front.
    cipher.finish(iv_and_ciphertext, kIvSize);
    iv_and_ciphertext.erase(iv_and_ciphertext.begin(),
                            iv_and_ciphertext.begin() + static_cast<std::ptrdiff_t>(kIvSize));
    return iv_and_ciphertext;
  } catch (const std::exception&) {
    return Status::Invalid({}, "AES-CBC decryption failed (wrong key or corrupted data)");
  }
}

Result<SecureBytes> aes_decrypt_hex(const SecureBytes& key,
                                    std::string_view iv_and_ciphertext_hex) {
  if (iv_and_ciphertext_hex.size() % 2 != 0) return Status::Invalid({}, "odd number of hex digits");
  SecureBytes buffer(iv_and_ciphertext_hex.size() / 2);
  if (!hex_decode_into(iv_and_ciphertext_hex, buffer.data()))
    return Status::Invalid({}, "not a hex string");
  return aes_decrypt_in_place(key, std::move(buffer));
}

namespace {

// 8-4-4-4-12 hex digits, written in place (one allocation).
std::string uuid_text(const std::uint8_t (&b)[16]) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(36, '-');
  std::size_t pos = 0;
  for (std::size_t i = 0; i < 16; ++i) {
    if (pos == 8 || pos == 13 || pos == 18 || pos == 23) ++pos;
    out[pos++] = kDigits[b[i] >> 4];
    out[pos++] = kDigits[b[i] & 0x0f];
  }
  return out;
}

}  // namespace

std::string random_uuid(Botan::RandomNumberGenerator& rng) {
  std::uint8_t b[16];
  rng.randomize(b, sizeof b);
  b[6] = static_cast<std::uint8_t>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<std::uint8_t>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  return uuid_text(b);
}

std::string time_ordered_uuid(Botan::RandomNumberGenerator& rng, std::int64_t unix_ms) {
  std::uint8_t b[16];
  rng.randomize(b + 6, sizeof b - 6);
  const auto ms = static_cast<std::uint64_t>(std::max<std::int64_t>(0, unix_ms));
  for (int i = 0; i < 6; ++i) b[i] = static_cast<std::uint8_t>(ms >> (8 * (5 - i)));
  b[6] = static_cast<std::uint8_t>((b[6] & 0x0f) | 0x70);  // version 7
  b[8] = static_cast<std::uint8_t>((b[8] & 0x3f) | 0x80);  // RFC 9562 variant
  return uuid_text(b);
}

}  // namespace fhirbridge::crypto
