// Our own sealing: round trips, sharing, access errors and tampering.
#include <boost/test/unit_test.hpp>

#include <botan/auto_rng.h>

#include "crypto/crypto_test_support.hpp"
#include "fhirbridge/crypto/entity_sealer.hpp"

using namespace fhirbridge;
using namespace fhirbridge::crypto;

namespace {

// RSA generation is slow: three key pairs shared by every test of this file.
const RsaKeyPair& key_pair(int i) {
  static Botan::AutoSeeded_RNG rng;
  static const RsaKeyPair pairs[3] = {generate_rsa_key_pair(rng), generate_rsa_key_pair(rng),
                                      generate_rsa_key_pair(rng)};
  return pairs[i];
}

struct World {
  World() {
    for (int i = 0; i < 3; ++i) dir.add(hcp(i), key_pair(i).public_key_hex);
  }
  static std::string hcp(int i) { return "hcp-" + std::to_string(i + 1); }
  void load(int i) {
    BOOST_REQUIRE(
        keychain.put(hcp(i), key_pair(i).private_key_pkcs8, key_pair(i).public_key_hex).ok());
  }
  Botan::AutoSeeded_RNG rng;
  Keychain keychain;
  test::MemoryHcpDirectory dir;
  EntitySealer sealer{keychain, rng};
};

icure::Patient sample_patient() {
  icure::Patient p;
  p.id = "p-1";
  p._type = icure::kPatientType;
  p.firstName = "Jane";
  p.lastName = "Roe";
  p.note = "Allergic to penicillin é";
  icure::PropertyStub prop;
  prop.id = "narrative";
  prop.typedValue.emplace();
  prop.typedValue->stringValue = "<div>Jane Roe</div>";
  p.properties = std::vector<icure::PropertyStub>{prop};
  return p;
}

icure::Contact sample_contact() {
  icure::Contact c;
  c.id = "c-1";
  c.descr = "Consultation";
  icure::Service s;
  s.id = "s-1";
  s.label = "Heart rate";
  s.valueDate = 20240101120000;
  icure::Measure m;
  m.value = 72.5;
  m.unit = "bpm";
  icure::Content content;
  content.measureValue = m;
  s.content = std::map<std::string, icure::Content>{{"en", content}};
  c.services = std::vector<icure::Service>{s};
  return c;
}

std::string serialized(const icure::Patient& p) {
  return boost::json::serialize(json_io::to_json(p));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(crypto_entity_sealer)

BOOST_AUTO_TEST_CASE(patient_round_trip_hides_the_sealed_fields) {
  World w;
  w.load(0);
  icure::Patient p = sample_patient();
  BOOST_REQUIRE(w.sealer.seal_new_patient(w.dir, w.hcp(0), p).ok());
  BOOST_TEST(!p.note);
  BOOST_TEST(!p.properties);
  BOOST_TEST(*p.firstName == "Jane");  // searchable fields stay clear by default
  BOOST_TEST(p.encryptedSelf.has_value());
  BOOST_TEST(serialized(p).find("penicillin") == std::string::npos);
  BOOST_TEST(p.delegations->at(w.hcp(0)).size() == 1u);
  BOOST_TEST(p.encryptionKeys->at(w.hcp(0)).size() == 1u);
  BOOST_TEST(w.dir.puts == 1);  // the A -> A exchange key was created and stored
  const auto& hcp = w.dir.hcps.at(w.hcp(0));
  BOOST_TEST(hcp.aesExchangeKeys->at(key_pair(0).public_key_hex).at(w.hcp(0)).size() == 1u);
  BOOST_TEST(hcp.hcPartyKeys->at(w.hcp(0)).size() == 2u);

  auto clear = w.sealer.unseal_patient(w.dir, w.hcp(0), p);
  BOOST_REQUIRE_MESSAGE(clear.ok(), clear.status().to_string());
  BOOST_TEST(*clear->note == "Allergic to penicillin é");
  BOOST_TEST(*clear->properties->at(0).typedValue->stringValue == "<div>Jane Roe</div>");

  // The secretId the sealer reports is the one its delegation holds.
  icure::Patient reported = sample_patient();
  std::vector<std::string> drawn;
  BOOST_REQUIRE(w.sealer.seal_new_patient(w.dir, w.hcp(0), reported, {}, false, &drawn).ok());
  auto decrypted = w.sealer.patient_secret_ids(w.dir, w.hcp(0), reported);
  BOOST_REQUIRE(decrypted.ok());
  BOOST_REQUIRE(drawn.size() == 1u);
  BOOST_TEST(*decrypted == drawn, boost::test_tools::per_element());

  // A second patient reuses the exchange key: no further HCP write.
  icure::Patient p2 = sample_patient();
  p2.id.reset();
  BOOST_REQUIRE(w.sealer.seal_new_patient(w.dir, w.hcp(0), p2).ok());
  BOOST_TEST(p2.id->size() == 36u);
  BOOST_TEST(w.dir.puts == 1);
}

BOOST_AUTO_TEST_CASE(reseal_keeps_keys_and_replaces_content) {
  World w;
  w.load(0);
  icure::Patient stored = sample_patient();
  BOOST_REQUIRE(w.sealer.seal_new_patient(w.dir, w.hcp(0), stored).ok());
  icure::Patient update = *w.sealer.unseal_patient(w.dir, w.hcp(0), stored);
  update.note = "Updated note";
  BOOST_REQUIRE(w.sealer.reseal_patient(w.dir, w.hcp(0), update, stored).ok());
  BOOST_TEST(!update.note);
  BOOST_TEST(*update.delegations->at(w.hcp(0))[0].key == *stored.delegations->at(w.hcp(0))[0].key);
  BOOST_TEST(*update.encryptedSelf != *stored.encryptedSelf);
  BOOST_TEST(*w.sealer.unseal_patient(w.dir, w.hcp(0), update)->note == "Updated note");
  icure::Patient other = sample_patient();
  other.id = "p-other";
  BOOST_TEST(
      (w.sealer.reseal_patient(w.dir, w.hcp(0), other, stored).code() == StatusCode::invalid));
}

BOOST_AUTO_TEST_CASE(sharing_lets_the_delegate_read_and_nobody_else) {
  World w;
  w.load(0);
  w.load(1);
  w.load(2);
  icure::Patient p = sample_patient();
  BOOST_REQUIRE(w.sealer.seal_new_patient(w.dir, w.hcp(0), p).ok());
  BOOST_TEST(
      (w.sealer.unseal_patient(w.dir, w.hcp(1), p).status().code() == StatusCode::not_found));

  BOOST_REQUIRE(w.sealer.share_patient(w.dir, w.hcp(0), p, w.hcp(1)).ok());
  BOOST_REQUIRE(w.sealer.share_patient(w.dir, w.hcp(0), p, w.hcp(1)).ok());  // idempotent
  BOOST_TEST(p.delegations->at(w.hcp(1)).size() == 1u);
  auto read = w.sealer.unseal_patient(w.dir, w.hcp(1), p);
  BOOST_REQUIRE_MESSAGE(read.ok(), read.status().to_string());
  BOOST_TEST(*read->note == "Allergic to penicillin é");
  BOOST_TEST((*w.sealer.patient_secret_ids(w.dir, w.hcp(1), p) ==
              *w.sealer.patient_secret_ids(w.dir, w.hcp(0), p)));

  auto third = w.sealer.unseal_patient(w.dir, w.hcp(2), p);
  BOOST_TEST((third.status().code() == StatusCode::not_found));

  // The delegate can share on: hcp-2 -> hcp-3 uses K(hcp-2 -> hcp-3).
  BOOST_REQUIRE(w.sealer.share_patient(w.dir, w.hcp(1), p, w.hcp(2)).ok());
  BOOST_TEST(*w.sealer.unseal_patient(w.dir, w.hcp(2), p)->note == "Allergic to penicillin é");
}

BOOST_AUTO_TEST_CASE(contact_round_trip_and_sharing_at_creation) {
  World w;
  w.load(0);
  w.load(1);
  w.load(2);
  icure::Patient p = sample_patient();
  BOOST_REQUIRE(w.sealer.seal_new_patient(w.dir, w.hcp(0), p, {w.hcp(1)}).ok());
  icure::Contact c = sample_contact();
  BOOST_REQUIRE(w.sealer.seal_new_contact(w.dir, w.hcp(0), c, p, {w.hcp(1)}).ok());
  BOOST_TEST(!c.descr);
  BOOST_TEST(!c.services->at(0).content);
  BOOST_TEST(c.services->at(0).encryptedSelf.has_value());
  BOOST_TEST(*c.services->at(0).label == "Heart rate");  // clear: the store indexes it
  BOOST_TEST((*c.secretForeignKeys == *w.sealer.patient_secret_ids(w.dir, w.hcp(0), p)));
  const std::string text = boost::json::serialize(json_io::to_json(c));
  BOOST_TEST(text.find("72.5") == std::string::npos);
  BOOST_TEST(text.find("7.25") == std::string::npos);
  BOOST_TEST(text.find("Consultation") == std::string::npos);

  for (int reader : {0, 1}) {
    auto clear = w.sealer.unseal_contact(w.dir, w.hcp(reader), c);
    BOOST_REQUIRE_MESSAGE(clear.ok(), clear.status().to_string());
    BOOST_TEST(*clear->descr == "Consultation");
    BOOST_TEST(*clear->services->at(0).content->at("en").measureValue->value == 72.5);
    BOOST_TEST(*w.sealer.contact_patient_id(w.dir, w.hcp(reader), c) == "p-1");
  }
  BOOST_TEST(
      (w.sealer.unseal_contact(w.dir, w.hcp(2), c).status().code() == StatusCode::not_found));
  BOOST_REQUIRE(w.sealer.share_contact(w.dir, w.hcp(0), c, w.hcp(2)).ok());
  BOOST_TEST(*w.sealer.unseal_contact(w.dir, w.hcp(2), c)->descr == "Consultation");
  BOOST_TEST(*w.sealer.contact_patient_id(w.dir, w.hcp(2), c) == "p-1");

  icure::Contact update = *w.sealer.unseal_contact(w.dir, w.hcp(0), c);
  update.descr = "Follow-up";
  BOOST_REQUIRE(w.sealer.reseal_contact(w.dir, w.hcp(0), update, c).ok());
  BOOST_TEST(!update.descr);
  BOOST_TEST(*w.sealer.unseal_contact(w.dir, w.hcp(1), update)->descr == "Follow-up");
}

BOOST_AUTO_TEST_CASE(missing_and_wrong_keys_are_distinct_errors) {
  World w;
  w.load(0);
  icure::Patient p = sample_patient();
  BOOST_REQUIRE(w.sealer.seal_new_patient(w.dir, w.hcp(0), p, {w.hcp(1)}).ok());

  auto missing = w.sealer.unseal_patient(w.dir, w.hcp(1), p);
  BOOST_TEST((missing.status().code() == StatusCode::key_missing));
  BOOST_TEST(missing.status().message().find("/rest/icdx/v1/keychain/hcp-2") != std::string::npos);

  icure::Patient fresh = sample_patient();
  BOOST_TEST((w.sealer.seal_new_patient(w.dir, w.hcp(1), fresh).code() == StatusCode::key_missing));

  // The keychain refuses hcp-3's key for hcp-2...
  BOOST_TEST(
      (w.keychain.put(w.hcp(1), key_pair(2).private_key_pkcs8, key_pair(1).public_key_hex).code() ==
       StatusCode::key_mismatch));
  // ...and if the HCP's public key changed after keys were exchanged, reads say key_mismatch.
  BOOST_REQUIRE(
      w.keychain.put(w.hcp(1), key_pair(2).private_key_pkcs8, key_pair(2).public_key_hex).ok());
  w.dir.hcps[w.hcp(1)].publicKey = key_pair(2).public_key_hex;
  // Fingerprint lookup finds nothing for the new key: legacy slot is tried and fails.
  auto wrong = w.sealer.unseal_patient(w.dir, w.hcp(1), p);
  BOOST_TEST((wrong.status().code() == StatusCode::key_mismatch));

  w.keychain.drop(w.hcp(0));
  BOOST_TEST(
      (w.sealer.unseal_patient(w.dir, w.hcp(0), p).status().code() == StatusCode::key_missing));
}

BOOST_AUTO_TEST_CASE(a_failing_directory_is_not_reported_as_a_missing_party) {
  // The directory's own failure (I/O, remote backend down) keeps its code: it
  // is neither "not found" nor a reason to create an exchange key.
  struct FailingDirectory : test::MemoryHcpDirectory {
    Result<icure::HealthcareParty> get(const std::string&) override {
      return Status(StatusCode::unavailable, "disk unplugged");
    }
  };
  World w;
  w.load(0);
  icure::Patient sealed = sample_patient();
  BOOST_REQUIRE(w.sealer.seal_new_patient(w.dir, w.hcp(0), sealed).ok());
  w.sealer.clear_caches();
  FailingDirectory failing;
  failing.hcps = w.dir.hcps;
  icure::Patient fresh = sample_patient();
  const Status seal = w.sealer.seal_new_patient(failing, w.hcp(0), fresh);
  BOOST_TEST((seal.code() == StatusCode::unavailable), seal.to_string());
  BOOST_TEST(seal.message().find("disk unplugged") != std::string::npos);
  BOOST_TEST(failing.puts == 0);
  auto read = w.sealer.unseal_patient(failing, w.hcp(0), sealed);
  BOOST_TEST((read.status().code() == StatusCode::unavailable), read.status().to_string());
  // A party the directory does not know is still not_found.
  test::MemoryHcpDirectory empty;
  icure::Patient other = sample_patient();
  BOOST_TEST((w.sealer.seal_new_patient(empty, w.hcp(0), other).code() == StatusCode::not_found));
}

BOOST_AUTO_TEST_CASE(tampered_ciphertexts_give_errors_not_garbage) {
  World w;
  w.load(0);
  icure::Patient p = sample_patient();
  BOOST_REQUIRE(w.sealer.seal_new_patient(w.dir, w.hcp(0), p).ok());
  icure::Contact c = sample_contact();
  BOOST_REQUIRE(w.sealer.seal_new_contact(w.dir, w.hcp(0), c, p).ok());

  auto flip_last_b64 = [](std::string s) {
    auto bytes = *from_base64(s);
    bytes.back() ^= 0x5a;
    return to_base64(bytes.data(), bytes.size());
  };
  icure::Patient bad_self = p;
  bad_self.encryptedSelf = flip_last_b64(*p.encryptedSelf);
  BOOST_TEST(!w.sealer.unseal_patient(w.dir, w.hcp(0), bad_self).ok());
  bad_self.encryptedSelf = "not base64!";
  BOOST_TEST(!w.sealer.unseal_patient(w.dir, w.hcp(0), bad_self).ok());

  icure::Patient bad_key = p;
  std::string& key = *(*bad_key.encryptionKeys)[w.hcp(0)][0].key;
  key[key.size() - 1] = key.back() == '0' ? '1' : '0';
  BOOST_TEST(!w.sealer.unseal_patient(w.dir, w.hcp(0), bad_key).ok());
  (*bad_key.encryptionKeys)[w.hcp(0)][0].key = "zz";
  BOOST_TEST(!w.sealer.unseal_patient(w.dir, w.hcp(0), bad_key).ok());

  icure::Contact bad_service = c;
  bad_service.services->at(0).encryptedSelf = flip_last_b64(*c.services->at(0).encryptedSelf);
  BOOST_TEST(!w.sealer.unseal_contact(w.dir, w.hcp(0), bad_service).ok());

  // A corrupted exchange key on the HCP: RSA fails cleanly.
  World w2;
  w2.load(0);
  icure::Patient p2 = sample_patient();
  BOOST_REQUIRE(w2.sealer.seal_new_patient(w2.dir, w2.hcp(0), p2).ok());
  EntitySealer fresh_sealer(w2.keychain, w2.rng);  // no cached exchange key
  auto& hcp = w2.dir.hcps[w2.hcp(0)];
  for (auto& [pub, by_delegate] : *hcp.aesExchangeKeys)
    for (auto& [d, by_fp] : by_delegate)
      for (auto& [fp, hex] : by_fp) hex[10] = hex[10] == 'a' ? 'b' : 'a';
  hcp.hcPartyKeys.reset();
  BOOST_TEST(!fresh_sealer.unseal_patient(w2.dir, w2.hcp(0), p2).ok());
}

BOOST_AUTO_TEST_CASE(strict_policy_also_seals_names) {
  World w;
  w.load(0);
  EntitySealer strict(w.keychain, w.rng, SealingPolicy::strict());
  icure::Patient p = sample_patient();
  BOOST_REQUIRE(strict.seal_new_patient(w.dir, w.hcp(0), p).ok());
  BOOST_TEST(!p.firstName);
  BOOST_TEST(serialized(p).find("Jane") == std::string::npos);
  // Any sealer reads it back: the field list travels inside encryptedSelf.
  BOOST_TEST(*w.sealer.unseal_patient(w.dir, w.hcp(0), p)->firstName == "Jane");
}

BOOST_AUTO_TEST_SUITE_END()
