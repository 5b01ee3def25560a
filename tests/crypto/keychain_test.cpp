#include <boost/test/unit_test.hpp>

#include <botan/auto_rng.h>

#include "crypto/crypto_test_support.hpp"
#include "fhirbridge/crypto/keychain.hpp"

using namespace fhirbridge;
using namespace fhirbridge::crypto;

BOOST_AUTO_TEST_SUITE(crypto_keychain)

BOOST_AUTO_TEST_CASE(accepts_the_matching_key_and_rejects_others) {
  Keychain keychain;
  const std::string pub1 = test::sdk_string("hcp1PublicKeySpkiHex");
  const std::string priv1 = test::sdk_string("hcp1PrivateKeyPkcs8Hex");
  const std::string priv2 = test::sdk_string("hcp2PrivateKeyPkcs8Hex");

  Status mismatch = keychain.put("hcp-1", priv2, pub1);
  BOOST_TEST((mismatch.code() == StatusCode::key_mismatch));
  BOOST_TEST(mismatch.message().find("does not match the public key") != std::string::npos);
  BOOST_TEST(mismatch.message().find(priv2.substr(100, 40)) == std::string::npos);
  BOOST_TEST(!keychain.contains("hcp-1"));

  BOOST_TEST((keychain.put("hcp-1", "zz", pub1).code() == StatusCode::invalid));
  BOOST_TEST((keychain.put("hcp-1", "3003020100", pub1).code() == StatusCode::invalid));

  BOOST_TEST(keychain.put("hcp-1", priv1, pub1).ok());
  auto key = keychain.get("hcp-1");
  BOOST_REQUIRE(key.ok());
  BOOST_TEST(to_hex(key->data(), key->size()) == priv1);
}

BOOST_AUTO_TEST_CASE(missing_key_error_names_the_keychain_call) {
  Keychain keychain;
  auto key = keychain.get("hcp-9");
  BOOST_REQUIRE(!key.ok());
  BOOST_TEST((key.status().code() == StatusCode::key_missing));
  BOOST_TEST(key.status().message().find("POST /rest/icdx/v1/keychain/hcp-9") != std::string::npos);
  BOOST_TEST(key.status().message().find("\"key\"") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(entries_expire_and_can_be_dropped) {
  auto now = std::chrono::steady_clock::time_point{};
  Keychain keychain(std::chrono::seconds(60), [&] { return now; });
  const std::string pub1 = test::sdk_string("hcp1PublicKeySpkiHex");
  BOOST_REQUIRE(keychain.put("hcp-1", test::sdk_string("hcp1PrivateKeyPkcs8Hex"), pub1).ok());
  now += std::chrono::seconds(59);
  BOOST_TEST(keychain.contains("hcp-1"));
  now += std::chrono::seconds(1);
  auto expired = keychain.get("hcp-1");
  BOOST_TEST((expired.status().code() == StatusCode::key_missing));
  BOOST_TEST(expired.status().message().find("expired") != std::string::npos);

  BOOST_REQUIRE(keychain.put("hcp-1", test::sdk_string("hcp1PrivateKeyPkcs8Hex"), pub1).ok());
  keychain.drop("hcp-1");
  BOOST_TEST(!keychain.contains("hcp-1"));
  BOOST_REQUIRE(keychain.put("hcp-1", test::sdk_string("hcp1PrivateKeyPkcs8Hex"), pub1).ok());
  keychain.clear();
  BOOST_TEST(!keychain.contains("hcp-1"));
}

BOOST_AUTO_TEST_SUITE_END()
