// A real SqliteStore in a temp dir with three healthcare parties whose
// private keys are in the keychain (RSA keys generated once per test run).
#pragma once

#include <boost/test/unit_test.hpp>

#include <botan/auto_rng.h>

#include <memory>
#include <string>

#include "common/test_support.hpp"
#include "fhirbridge/crypto/keychain.hpp"
#include "fhirbridge/crypto/primitives.hpp"
#include "fhirbridge/storage/sqlite_store.hpp"

namespace fhirbridge::test {

inline const crypto::RsaKeyPair& test_key(int i) {
  static Botan::AutoSeeded_RNG rng;
  static const crypto::RsaKeyPair keys[3] = {crypto::generate_rsa_key_pair(rng),
                                             crypto::generate_rsa_key_pair(rng),
                                             crypto::generate_rsa_key_pair(rng)};
  return keys[i];
}

inline std::string private_hex(int i) {
  const auto& k = test_key(i).private_key_pkcs8;
  return crypto::to_hex(k.data(), k.size());
}

#define REQUIRE_OK(expr)                                                              \
  do {                                                                                \
    auto&& require_ok_result__ = (expr);                                              \
    BOOST_REQUIRE_MESSAGE(require_ok_result__.ok(),                                   \
                          #expr << ": " << require_ok_result__.status().to_string()); \
  } while (0)

struct StoreFixture {
  TempDir dir;
  std::filesystem::path file = dir.path() / "store.db";
  crypto::Keychain keychain;
  std::int64_t clock = 1700000000000;
  std::unique_ptr<storage::SqliteStore> store;
  storage::Principal hcp1{"hcp-1", "user-1"}, hcp2{"hcp-2", "user-2"}, hcp3{"hcp-3", "user-3"};

  explicit StoreFixture(storage::SqliteStoreOptions options = {}) {
    open(std::move(options));
    add_hcp(hcp1, 0);
    add_hcp(hcp2, 1);
    add_hcp(hcp3, 2);
  }

  void open(storage::SqliteStoreOptions options = {}) {
    store.reset();
    options.now_ms = [this] { return clock++; };
    auto opened = storage::SqliteStore::open(file, keychain, std::move(options));
    BOOST_REQUIRE_MESSAGE(opened.ok(), opened.status().to_string());
    store = std::move(*opened);
  }

  void add_hcp(const storage::Principal& who, int key) {
    icure::HealthcareParty hcp;
    hcp.id = who.hcp_id;
    hcp.name = who.hcp_id;
    hcp.publicKey = test_key(key).public_key_hex;
    REQUIRE_OK(store->put_healthcare_party(hcp));
    auto put = keychain.put(who.hcp_id, private_hex(key), test_key(key).public_key_hex);
    BOOST_REQUIRE_MESSAGE(put.ok(), put.to_string());
  }
};

inline icure::Patient make_patient(const std::string& family, const std::string& given,
                                   const std::string& gender, std::int64_t dob,
                                   const std::string& fhir_id = {}) {
  icure::Patient p;
  p.lastName = family;
  p.firstName = given;
  icure::PersonName name;
  name.lastName = family;
  name.firstNames = std::vector<std::string>{given};
  name.use = "official";
  p.names = std::vector<icure::PersonName>{name};
  p.gender = gender;
  p.dateOfBirth = dob;
  p.note = "note of " + given + " " + family;
  if (!fhir_id.empty()) {
    icure::Identifier id;
    id.system = "https://dxm.icure.dev";
    id.value = fhir_id;
    p.identifier = std::vector<icure::Identifier>{id};
  }
  return p;
}

inline icure::CodeStub code(const std::string& type, const std::string& c) {
  icure::CodeStub s;
  s.id = type + "|" + c + "|1";
  s.type = type;
  s.code = c;
  s.version = "1";
  return s;
}

// A contact with one Service: a measure, a LOINC code, a tag, a value date.
inline icure::Contact make_contact(double value, const std::string& loinc, std::int64_t date,
                                   const std::string& fhir_id = {},
                                   const std::string& tag = "vital") {
  icure::Service s;
  icure::Measure m;
  m.value = value;
  m.unit = "bpm";
  icure::Content content;
  content.measureValue = m;
  s.content = std::map<std::string, icure::Content>{{"en", content}};
  s.valueDate = date;
  s.codes = std::vector<icure::CodeStub>{code("LOINC", loinc)};
  s.tags = std::vector<icure::CodeStub>{code("CD-ITEM", tag)};
  s.label = "Heart rate";
  if (!fhir_id.empty()) {
    icure::Identifier id;
    id.system = "https://dxm.icure.dev";
    id.value = fhir_id;
    s.identifier = std::vector<icure::Identifier>{id};
  }
  icure::Contact c;
  c.descr = "contact descr " + loinc;
  c.openingDate = date;
  c.services = std::vector<icure::Service>{s};
  return c;
}

}  // namespace fhirbridge::test
