#include <boost/test/unit_test.hpp>

#include <botan/auto_rng.h>

#include "fhirbridge/crypto/password.hpp"

using namespace fhirbridge::crypto;

BOOST_AUTO_TEST_SUITE(crypto_password)

BOOST_AUTO_TEST_CASE(argon2id_hashes_are_salted_and_self_describing) {
  Botan::AutoSeeded_RNG rng;
  const std::string hash = hash_password("correct horse é", rng);
  BOOST_TEST(hash.rfind("$argon2id$v=19$m=19456,t=2,p=1$", 0) == 0u);
  BOOST_TEST(hash.find("correct horse") == std::string::npos);
  BOOST_TEST(hash != hash_password("correct horse é", rng));  // fresh salt
  BOOST_TEST(check_password("correct horse é", hash));
  BOOST_TEST(!check_password("correct horse e", hash));
  BOOST_TEST(!check_password("", hash));
}

BOOST_AUTO_TEST_CASE(malformed_or_foreign_hashes_never_match) {
  Botan::AutoSeeded_RNG rng;
  const std::string hash = hash_password("pw", rng);
  BOOST_TEST(!check_password("pw", ""));
  BOOST_TEST(!check_password("pw", "pw"));
  BOOST_TEST(!check_password("pw", "$2a$12$abcdefghijklmnopqrstuu"));  // not ours
  BOOST_TEST(!check_password("pw", hash.substr(0, hash.size() - 4)));
  BOOST_TEST(!check_password("pw", "$argon2id$v=19$m=99999999,t=2,p=1$c2FsdHNhbHQ$aGFzaA"));
  // A character inside the hash: the last one of unpadded base64 carries unused
  // bits, so changing it could leave the decoded hash equal (a flaky test).
  std::string tampered = hash;
  char& c = tampered[tampered.size() - 10];
  c = c == 'A' ? 'B' : 'A';
  BOOST_TEST(!check_password("pw", tampered));
}

BOOST_AUTO_TEST_SUITE_END()
