#include <boost/test/unit_test.hpp>

#include <botan/auto_rng.h>
#include <botan/base64.h>
#include <botan/cipher_mode.h>
#include <botan/hex.h>

#include <cctype>

#include "crypto/crypto_test_support.hpp"
#include "fhirbridge/crypto/primitives.hpp"

using namespace fhirbridge;
using namespace fhirbridge::crypto;

namespace {
SecureBytes secure_from_hex(const std::string& hex) {
  auto b = from_hex(hex);
  BOOST_REQUIRE(b.ok());
  return SecureBytes(b->begin(), b->end());
}
std::string text_of(const SecureBytes& b) {
  return std::string(b.begin(), b.end());
}
}  // namespace

BOOST_AUTO_TEST_SUITE(crypto_primitives)

BOOST_AUTO_TEST_CASE(hex_and_base64_round_trip_and_reject_garbage) {
  Bytes data{0x00, 0x01, 0xab, 0xff};
  BOOST_TEST(to_hex(data) == "0001abff");
  BOOST_TEST((*from_hex("0001ABff") == data));
  BOOST_TEST(!from_hex("abc").ok());
  BOOST_TEST(!from_hex("zz").ok());
  BOOST_TEST((*from_base64(to_base64(data.data(), data.size())) == data));
  BOOST_TEST(!from_base64("***").ok());
}

// The table decoders (hex, base64) answer exactly as Botan's do, on every
// length and on the inputs only Botan's lenient base64 decoder accepts.
BOOST_AUTO_TEST_CASE(table_decoders_agree_with_botan) {
  Botan::AutoSeeded_RNG rng;
  for (std::size_t n = 0; n < 70; ++n) {
    Bytes data(n);
    rng.randomize(data.data(), data.size());
    const std::string b64 = to_base64(data.data(), data.size());
    auto fast = from_base64(b64);
    BOOST_REQUIRE(fast.ok());
    BOOST_TEST((*fast == data));
    auto secure = from_base64_secure(b64);
    BOOST_REQUIRE(secure.ok());
    BOOST_TEST((Bytes(secure->begin(), secure->end()) == data));
    std::string upper = to_hex(data);
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    BOOST_TEST((*from_hex(upper) == data));
  }
  for (std::string odd : {"QQ", "QUI", "Q===", "QQ=A", "=QQ=", "QQ==QQ==", "QUJD\n", "QU JD"}) {
    bool botan_ok = true;
    Bytes botan;
    try {
      auto v = Botan::base64_decode(odd.data(), odd.size(), false);
      botan.assign(v.begin(), v.end());
    } catch (const std::exception&) {
      botan_ok = false;
    }
    auto ours = from_base64(odd);
    BOOST_TEST_INFO("input " << odd);
    BOOST_TEST(ours.ok() == botan_ok);
    if (ours.ok() && botan_ok) BOOST_TEST((*ours == botan));
  }
  BOOST_TEST(!from_hex("0g").ok());
  BOOST_TEST(!from_hex(std::string("0\0", 2)).ok());
}

// The arithmetic encoders write exactly what Botan's do (lowercase hex,
// padded base64): on every byte value and on every length's padding.
BOOST_AUTO_TEST_CASE(encoders_agree_with_botan) {
  Bytes every(256);
  for (int b = 0; b < 256; ++b) every[b] = static_cast<std::uint8_t>(b);
  // Each byte value at each offset (to_hex takes four bytes at a time).
  for (std::size_t offset = 0; offset < 4; ++offset)
    BOOST_TEST(to_hex(every.data() + offset, every.size() - offset) ==
               Botan::hex_encode(every.data() + offset, every.size() - offset, false));
  BOOST_TEST(to_base64(every.data(), every.size()) ==
             Botan::base64_encode(every.data(), every.size()));
  Botan::AutoSeeded_RNG rng;
  for (std::size_t n = 0; n < 200; ++n) {
    Bytes data(n);
    rng.randomize(data.data(), data.size());
    BOOST_TEST_INFO(n << " bytes");
    BOOST_TEST(to_hex(data) == Botan::hex_encode(data.data(), data.size(), false));
    BOOST_TEST(to_base64(data.data(), data.size()) ==
               Botan::base64_encode(data.data(), data.size()));
  }
  BOOST_TEST(to_base64(reinterpret_cast<const std::uint8_t*>("foobar"), 6) == "Zm9vYmFy");
  BOOST_TEST(to_base64(reinterpret_cast<const std::uint8_t*>("fooba"), 5) == "Zm9vYmE=");
  BOOST_TEST(to_base64(reinterpret_cast<const std::uint8_t*>("foob"), 4) == "Zm9vYg==");
  BOOST_TEST(to_base64(nullptr, 0).empty());
}

BOOST_AUTO_TEST_CASE(aes_objects_are_reused_safely_across_key_sizes) {
  Botan::AutoSeeded_RNG rng;
  const std::string text = "p-1:3f6e5c1a-0b0c-4d4e-8f8f-123456789abc";
  for (std::size_t size : {16u, 32u, 16u, 24u, 32u}) {
    SecureBytes key(size);
    rng.randomize(key.data(), key.size());
    Bytes ct =
        aes_encrypt(key, reinterpret_cast<const std::uint8_t*>(text.data()), text.size(), rng);
    BOOST_TEST(text_of(*aes_decrypt(key, ct)) == text);
    BOOST_TEST(text_of(*aes_decrypt_hex(key, to_hex(ct))) == text);
    SecureBytes other(size, 0x42);
    auto wrong = aes_decrypt(other, ct);
    BOOST_TEST((!wrong.ok() || text_of(*wrong) != text));
    // A failed decryption leaves the thread's cipher usable.
    BOOST_TEST(text_of(*aes_decrypt(key, ct)) == text);
  }
  BOOST_TEST(!aes_decrypt_hex(SecureBytes(16), "abc").ok());
  BOOST_TEST(!aes_decrypt_hex(SecureBytes(16), std::string(64, 'z')).ok());
}

BOOST_AUTO_TEST_CASE(public_key_derived_from_the_sdk_private_keys_is_byte_identical) {
  for (const char* hcp : {"hcp1", "hcp2"}) {
    auto derived = public_key_hex_of(
        secure_from_hex(test::sdk_string((std::string(hcp) + "PrivateKeyPkcs8Hex").c_str())));
    BOOST_REQUIRE(derived.ok());
    BOOST_TEST(*derived == test::sdk_string((std::string(hcp) + "PublicKeySpkiHex").c_str()));
  }
  BOOST_TEST(fingerprint(test::sdk_string("hcp1PublicKeySpkiHex")) ==
             "d4436165d10c48f865ecf30203010001");
}

BOOST_AUTO_TEST_CASE(generated_keys_have_the_sdk_shape_and_round_trip) {
  Botan::AutoSeeded_RNG rng;
  RsaKeyPair pair = generate_rsa_key_pair(rng);
  BOOST_TEST(pair.public_key_hex.size() == 294u * 2);
  BOOST_TEST(pair.public_key_hex.rfind("30820122300d0609", 0) == 0u);
  BOOST_TEST(to_hex(pair.private_key_pkcs8.data(), 4).rfind("308204b", 0) == 0u);
  BOOST_TEST(*public_key_hex_of(pair.private_key_pkcs8) == pair.public_key_hex);

  const std::string secret = "0123456789abcdef0123456789abcdef";
  auto ct = rsa_encrypt(pair.public_key_hex, reinterpret_cast<const std::uint8_t*>(secret.data()),
                        secret.size(), rng);
  BOOST_REQUIRE(ct.ok());
  BOOST_TEST(ct->size() == 256u);
  auto pt = rsa_decrypt(pair.private_key_pkcs8, *ct);
  BOOST_REQUIRE(pt.ok());
  BOOST_TEST(text_of(*pt) == secret);

  Bytes tampered = *ct;
  tampered[100] ^= 1;
  BOOST_TEST(!rsa_decrypt(pair.private_key_pkcs8, tampered).ok());
  BOOST_TEST(!public_key_hex_of(SecureBytes{0x30, 0x03, 0x02, 0x01, 0x00}).ok());
  BOOST_TEST(!rsa_encrypt("nothex", ct->data(), 4, rng).ok());
}

BOOST_AUTO_TEST_CASE(aes_cbc_prefixes_a_random_iv_and_detects_bad_padding) {
  Botan::AutoSeeded_RNG rng;
  for (std::size_t key_size : {16u, 32u}) {
    SecureBytes key(key_size);
    rng.randomize(key.data(), key.size());
    const std::string text = "{\"note\":\"Secret note é\"}";
    Bytes ct =
        aes_encrypt(key, reinterpret_cast<const std::uint8_t*>(text.data()), text.size(), rng);
    BOOST_TEST(ct.size() == 16u + 32u);
    Bytes ct2 =
        aes_encrypt(key, reinterpret_cast<const std::uint8_t*>(text.data()), text.size(), rng);
    BOOST_TEST((ct != ct2));  // fresh IV each time
    auto pt = aes_decrypt(key, ct);
    BOOST_REQUIRE(pt.ok());
    BOOST_TEST(text_of(*pt) == text);
    BOOST_TEST(!aes_decrypt(key, Bytes(ct.begin(), ct.begin() + 20)).ok());
  }
  BOOST_TEST(!aes_decrypt(SecureBytes(5), Bytes(32)).ok());
}

// aes_encrypt runs CBC and PKCS#7 itself over the bare block cipher: its
// ciphertext must be the one Botan's "AES-n/CBC/PKCS7" mode gives for the same
// key and IV, at every length around the block boundaries (0, 15, 16, 17...).
BOOST_AUTO_TEST_CASE(aes_encrypt_is_standard_cbc_with_pkcs7_padding) {
  Botan::AutoSeeded_RNG rng;
  for (std::size_t key_size : {16u, 24u, 32u}) {
    SecureBytes key(key_size);
    rng.randomize(key.data(), key.size());
    auto mode = Botan::Cipher_Mode::create_or_throw(
        "AES-" + std::to_string(key_size * 8) + "/CBC/PKCS7", Botan::ENCRYPTION);
    for (std::size_t size = 0; size <= 49; ++size) {
      Bytes plain(size);
      rng.randomize(plain.data(), plain.size());
      Bytes ct = aes_encrypt(key, plain.data(), plain.size(), rng);
      BOOST_REQUIRE(ct.size() == 16 + (size / 16 + 1) * 16);
      Botan::secure_vector<std::uint8_t> expected(plain.begin(), plain.end());
      mode->set_key(key);
      mode->start(ct.data(), 16);  // the IV aes_encrypt drew
      mode->finish(expected);
      BOOST_TEST((Bytes(ct.begin() + 16, ct.end()) == Bytes(expected.begin(), expected.end())),
                 "key size " << key_size << ", " << size << " bytes");
      BOOST_TEST((*aes_decrypt(key, ct) == SecureBytes(plain.begin(), plain.end())));
    }
  }
}

BOOST_AUTO_TEST_CASE(random_uuids_are_version_4) {
  Botan::AutoSeeded_RNG rng;
  std::string a = random_uuid(rng), b = random_uuid(rng);
  BOOST_TEST(a.size() == 36u);
  BOOST_TEST(a[14] == '4');
  BOOST_TEST(a != b);
}

BOOST_AUTO_TEST_CASE(time_ordered_uuids_are_version_7_and_sort_by_time) {
  Botan::AutoSeeded_RNG rng;
  // 0x0189abcdef01 ms -> the first 48 bits, in hex.
  const std::string a = time_ordered_uuid(rng, 0x0189abcdef01);
  BOOST_TEST(a.size() == 36u);
  BOOST_TEST(a.substr(0, 13) == "0189abcd-ef01");
  BOOST_TEST(a[14] == '7');
  BOOST_TEST((a[19] == '8' || a[19] == '9' || a[19] == 'a' || a[19] == 'b'));
  const std::string later = time_ordered_uuid(rng, 0x0189abcdef02);
  BOOST_TEST(a < later);
  BOOST_TEST(time_ordered_uuid(rng, 0x0189abcdef01) != a);  // random bits differ
  BOOST_TEST(time_ordered_uuid(rng, -5).substr(0, 13) == "00000000-0000");
}

BOOST_AUTO_TEST_SUITE_END()
