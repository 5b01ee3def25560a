// Decrypt what the official @icure/api 6.4.4 SDK produced (../shared/icure/sdk-test-vectors.json).
#include <boost/test/unit_test.hpp>

#include <botan/auto_rng.h>

#include "crypto/crypto_test_support.hpp"
#include "fhirbridge/crypto/entity_sealer.hpp"

using namespace fhirbridge;
using namespace fhirbridge::crypto;
namespace json = boost::json;

namespace {

// The last body the SDK sent for `method path`.
json::value last_body(const std::string& method, const std::string& path) {
  json::value found;
  for (const auto& r : test::sdk_vectors().at("requests").as_array()) {
    const auto& o = r.as_object();
    if (o.at("method").as_string() == method && o.at("path").as_string() == path &&
        o.contains("body"))
      found = o.at("body");
  }
  BOOST_REQUIRE(!found.is_null());
  return found;
}

json::value without_rev(json::value v) {
  v.as_object().erase("rev");
  return v;
}

struct SdkWorld {
  SdkWorld() {
    dir.hcps["hcp-1111"] =
        test::from_json_or_throw<icure::HealthcareParty>(last_body("PUT", "/hcparty"), "HCP");
    dir.add("hcp-2222", test::sdk_string("hcp2PublicKeySpkiHex"));
    patient = test::from_json_or_throw<icure::Patient>(last_body("POST", "/patient"), "Patient");
    contact = test::from_json_or_throw<icure::Contact>(last_body("POST", "/contact"), "Contact");
  }
  void load(const std::string& hcp, const char* vector_prefix) {
    BOOST_REQUIRE(
        keychain
            .put(hcp, test::sdk_string((std::string(vector_prefix) + "PrivateKeyPkcs8Hex").c_str()),
                 test::sdk_string((std::string(vector_prefix) + "PublicKeySpkiHex").c_str()))
            .ok());
  }
  Botan::AutoSeeded_RNG rng;
  Keychain keychain;
  test::MemoryHcpDirectory dir;
  EntitySealer sealer{keychain, rng};
  icure::Patient patient;
  icure::Contact contact;
};

void check_equivalent(const json::value& actual, const json::value& expected) {
  std::string diff;
  BOOST_TEST(test::json_equivalent(actual, expected, diff), diff);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(crypto_sdk_vectors)

BOOST_AUTO_TEST_CASE(hcp1_recovers_the_exchange_key_from_the_put_hcparty_request) {
  SdkWorld w;
  w.load("hcp-1111", "hcp1");
  auto self = w.sealer.exchange_key(w.dir, "hcp-1111", "hcp-1111", "hcp-1111", false);
  BOOST_REQUIRE(self.ok());
  BOOST_TEST(self->size() == 32u);
  auto to_2 = w.sealer.exchange_key(w.dir, "hcp-1111", "hcp-2222", "hcp-1111", false);
  BOOST_REQUIRE(to_2.ok());
  BOOST_TEST(to_2->size() == 32u);
  BOOST_TEST(w.dir.puts == 0);  // reading never writes
}

BOOST_AUTO_TEST_CASE(decrypts_the_sdk_patient_and_contact_as_hcp1_and_as_hcp2) {
  for (auto [hcp, prefix] : {std::pair{"hcp-1111", "hcp1"}, std::pair{"hcp-2222", "hcp2"}}) {
    BOOST_TEST_CONTEXT("reader " << hcp) {
      SdkWorld w;
      w.load(hcp, prefix);
      auto patient = w.sealer.unseal_patient(w.dir, hcp, w.patient);
      BOOST_REQUIRE_MESSAGE(patient.ok(), patient.status().to_string());
      BOOST_TEST(*patient->note == "Secret note \xc3\xa9");
      check_equivalent(json_io::to_json(*patient),
                       without_rev(test::sdk_vectors().at("decryptedPatient")));

      auto contact = w.sealer.unseal_contact(w.dir, hcp, w.contact);
      BOOST_REQUIRE_MESSAGE(contact.ok(), contact.status().to_string());
      BOOST_TEST(*contact->descr == "Visit");
      const auto& measure = *contact->services->at(0).content->at("en").measureValue;
      BOOST_TEST(*measure.value == 72.0);
      BOOST_TEST(*measure.unit == "bpm");
      check_equivalent(json_io::to_json(*contact),
                       without_rev(test::sdk_vectors().at("decryptedContact")));

      auto patient_id = w.sealer.contact_patient_id(w.dir, hcp, w.contact);
      BOOST_REQUIRE(patient_id.ok());
      BOOST_TEST(*patient_id == *w.patient.id);
      auto secrets = w.sealer.patient_secret_ids(w.dir, hcp, w.patient);
      BOOST_REQUIRE(secrets.ok());
      BOOST_TEST((*secrets == *w.contact.secretForeignKeys));
    }
  }
}

BOOST_AUTO_TEST_CASE(sdk_entities_without_the_key_say_key_missing) {
  SdkWorld w;
  auto patient = w.sealer.unseal_patient(w.dir, "hcp-2222", w.patient);
  BOOST_TEST((patient.status().code() == StatusCode::key_missing));
  auto stranger = w.sealer.unseal_contact(w.dir, "hcp-3333", w.contact);
  BOOST_TEST((stranger.status().code() == StatusCode::not_found));
}

BOOST_AUTO_TEST_SUITE_END()
