// Writes entities sealed by our code for tests/node/icure_sdk_crypto.mjs, which
// decrypts them with the official @icure/api SDK (ctest fixture: this suite runs first).
#include <boost/test/unit_test.hpp>

#include <botan/auto_rng.h>

#include "crypto/crypto_test_support.hpp"
#include "fhirbridge/crypto/entity_sealer.hpp"

using namespace fhirbridge;
using namespace fhirbridge::crypto;
namespace json = boost::json;

BOOST_AUTO_TEST_SUITE(crypto_sdk_export)

BOOST_AUTO_TEST_CASE(writes_sealed_entities_for_the_official_sdk) {
  Botan::AutoSeeded_RNG rng;
  Keychain keychain;
  test::MemoryHcpDirectory dir;
  EntitySealer sealer(keychain, rng);
  const std::string owner = "hcp-owner", delegate = "hcp-delegate";
  RsaKeyPair owner_keys = generate_rsa_key_pair(rng), delegate_keys = generate_rsa_key_pair(rng);
  dir.add(owner, owner_keys.public_key_hex);
  dir.add(delegate, delegate_keys.public_key_hex);
  BOOST_REQUIRE(keychain.put(owner, owner_keys.private_key_pkcs8, owner_keys.public_key_hex).ok());

  icure::Patient patient;
  patient._type = icure::kPatientType;
  patient.firstName = "John";
  patient.lastName = "Doe";
  patient.note = "Secret note \xc3\xa9";
  BOOST_REQUIRE(sealer.seal_new_patient(dir, owner, patient).ok());
  // Shared after creation, the way the server's share call does it.
  BOOST_REQUIRE(sealer.share_patient(dir, owner, patient, delegate).ok());

  icure::Contact contact;
  contact._type = icure::kContactType;
  contact.descr = "Visit";
  icure::Service service;
  service.id = "svc-1";
  service._type = icure::kServiceType;
  service.label = "Heart rate";
  service.valueDate = 20240101120000;
  icure::Measure measure;
  measure.value = 72;
  measure.unit = "bpm";
  icure::Content content;
  content.measureValue = measure;
  service.content = std::map<std::string, icure::Content>{{"en", content}};
  contact.services = std::vector<icure::Service>{service};
  BOOST_REQUIRE(sealer.seal_new_contact(dir, owner, contact, patient, {delegate}).ok());
  BOOST_TEST(!contact.descr);

  json::array hcps;
  for (const auto& [id, hcp] : dir.hcps) hcps.push_back(json_io::to_json(hcp));
  json::array readers;
  for (const auto& [id, keys] :
       {std::pair{owner, &owner_keys}, std::pair{delegate, &delegate_keys}})
    readers.push_back(json::object{
        {"hcpId", id},
        {"privateKeyHex", to_hex(keys->private_key_pkcs8.data(), keys->private_key_pkcs8.size())}});
  json::object world{
      {"comment", "throwaway keys written by tests/crypto/sdk_export_test.cpp"},
      {"hcps", hcps},
      {"readers", readers},
      {"patient", json_io::to_json(patient)},
      {"contact", json_io::to_json(contact)},
      {"expected",
       json::object{{"note", "Secret note \xc3\xa9"},
                    {"descr", "Visit"},
                    {"measureValue", json::object{{"value", 72}, {"unit", "bpm"}}},
                    {"patientId", *patient.id},
                    {"patientSecretIds", json_io::to_json(*contact.secretForeignKeys)}}}};
  test::write_file(test::binary_dir() / "tests" / "icure-sdk-input" / "world.json",
                   test::pretty(world));
}

BOOST_AUTO_TEST_SUITE_END()
