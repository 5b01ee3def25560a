// FHIR search end to end on a real SqliteStore (sealed documents, clear
// indexes, the store's keyset cursors): the same checks as on the fake store,
// plus what only the real store does (accents, visibility between users).
#include <boost/test/unit_test.hpp>

#include <botan/auto_rng.h>

#include <memory>

#include "common/test_support.hpp"
#include "fhirbridge/crypto/keychain.hpp"
#include "fhirbridge/crypto/primitives.hpp"
#include "fhirbridge/storage/sqlite_store.hpp"
#include "search_world.hpp"

namespace fhirbridge::test {
namespace {

const crypto::RsaKeyPair& search_key(int i) {
  static Botan::AutoSeeded_RNG rng;
  static const crypto::RsaKeyPair keys[2] = {crypto::generate_rsa_key_pair(rng),
                                             crypto::generate_rsa_key_pair(rng)};
  return keys[i];
}

// Owns the store; a base class so it is built before SearchWorld uses it.
struct SqliteHolder {
  TempDir dir;
  crypto::Keychain keychain;
  std::int64_t clock = 1700000000000;
  std::unique_ptr<storage::SqliteStore> sqlite;

  SqliteHolder() {
    storage::SqliteStoreOptions options;
    options.now_ms = [this] { return clock++; };
    auto opened =
        storage::SqliteStore::open(dir.path() / "search.db", keychain, std::move(options));
    BOOST_REQUIRE_MESSAGE(opened.ok(), opened.status().to_string());
    sqlite = std::move(*opened);
    add_hcp("hcp-1", 0);
    add_hcp("hcp-2", 1);
  }

  void add_hcp(const std::string& id, int key) {
    icure::HealthcareParty hcp;
    hcp.id = id;
    hcp.name = id;
    hcp.publicKey = search_key(key).public_key_hex;
    auto put = sqlite->put_healthcare_party(hcp);
    BOOST_REQUIRE_MESSAGE(put.ok(), put.status().to_string());
    const auto& pk = search_key(key).private_key_pkcs8;
    auto status =
        keychain.put(id, crypto::to_hex(pk.data(), pk.size()), search_key(key).public_key_hex);
    BOOST_REQUIRE_MESSAGE(status.ok(), status.to_string());
  }
};

struct SqliteWorld : SqliteHolder, SearchWorld {
  SqliteWorld() : SearchWorld(*sqlite) { populate(); }
};

// The tutorial's own resources (../shared/fixtures/seed), nothing else.
struct TutorialWorld : SqliteHolder, SearchWorld {
  TutorialWorld() : SearchWorld(*sqlite) {
    const auto seed = shared_dir() / "fixtures" / "seed";
    add_patient(read_json(seed / "patient-pat1.json").as_object());
    boost::json::object pat2, f005;
    const auto transaction = read_json(seed / "bundle-transaction.json");
    for (const auto& e : transaction.at("entry").as_array()) {
      const auto& resource = e.at("resource").as_object();
      (resource.at("resourceType") == "Patient" ? pat2 : f005) = resource;
    }
    add_patient(pat2);
    add_observation(read_json(seed / "observation-f001.json").as_object(), "pat1");
    add_observation(f005, "pat2");
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(search_execute_sqlite)

BOOST_FIXTURE_TEST_CASE(tutorial_searches, TutorialWorld) {
  check("Patient", "_id=pat2&name=Donald&", {"pat2"});
  check("Patient", "name=Donald", {"pat1", "pat2"});  // the conditional delete's target
  check("Patient", "identifier=urn:oid:0.1.2.3.4.5.6.7|654321", {"pat1"});
  check("Observation", "", {"f001", "f005"});
  check("Observation", "code=http://loinc.org|15074-8", {"f001"});
  check("Observation", "subject:Patient.name=Donald", {"f001", "f005"});
  check("Observation", "subject=pat2", {"f005"});
  check("Observation", "date=2013-04-02", {"f001"});
  check("Observation", "value-quantity=6.3|http://unitsofmeasure.org|mmol/L", {"f001"});
  check("Patient", "_has:Observation:code=http://loinc.org|718-7", {"pat2"});
  check("Patient", "_has:Observation:patient:code=15074-8", {"pat1"});
  // Exact family + given: the pair rows, counted with or without the patient row.
  check("Patient", "family:exact=Donald&given:exact=Duck", {"pat1", "pat2"});
  check("Patient", "family:exact=Donald&given:exact=D", {"pat2"});
  check("Patient", "family:exact=Donald&given:exact=Duck&gender=male", {"pat1"});
  BOOST_TEST(total(bundle("Patient", "family:exact=Donald&given:exact=Duck&_summary=count")) == 2);
  BOOST_TEST(total(bundle("Patient", "family:exact=Donald&given:exact=Duck&gender=other")) == 1);
}

BOOST_FIXTURE_TEST_CASE(patient_parameters, SqliteWorld) {
  check_patient_parameters();
}
BOOST_FIXTURE_TEST_CASE(patient_has_observation, SqliteWorld) {
  check_patient_has();
}
BOOST_FIXTURE_TEST_CASE(patient_paging_and_sort, SqliteWorld) {
  check_patient_paging();
}
BOOST_FIXTURE_TEST_CASE(observation_parameters, SqliteWorld) {
  check_observation_parameters();
}
BOOST_FIXTURE_TEST_CASE(observation_subject_and_chaining, SqliteWorld) {
  check_observation_subject();
}
BOOST_FIXTURE_TEST_CASE(observation_value_quantity_paging, SqliteWorld) {
  check_value_quantity();
}
BOOST_FIXTURE_TEST_CASE(bundle_shape_and_controls, SqliteWorld) {
  check_bundle_shape();
}
BOOST_FIXTURE_TEST_CASE(lenient_strict_and_errors, SqliteWorld) {
  check_errors();
}
BOOST_FIXTURE_TEST_CASE(conditional_ids, SqliteWorld) {
  check_search_ids();
}

BOOST_FIXTURE_TEST_CASE(accents_and_case_are_folded, SqliteWorld) {
  add_patient(parse(
      R"({"resourceType":"Patient","id":"pat5","name":[{"family":"Dupré","given":["Élodie"]}]})"));
  check("Patient", "given=elodie", {"pat5"});
  check("Patient", "name=DUPRE", {"pat5"});
  check("Patient", "family:exact=dupre", {"pat5"});
  check("Patient", "given=%C3%89lo", {"pat5"});
}

BOOST_FIXTURE_TEST_CASE(another_user_sees_nothing, SqliteWorld) {
  who = storage::Principal{"hcp-2", "user-2"};
  check("Patient", "", {});
  check("Patient", "_id=pat1", {});
  check("Observation", "subject=pat1", {});
  check("Patient", "_has:Observation:patient:code=15074-8", {});
  BOOST_TEST(total(bundle("Observation", "_summary=count")) == 0);
}

BOOST_FIXTURE_TEST_CASE(paging_walks_many_pages_once, SqliteWorld) {
  for (int i = 0; i < 23; ++i) {
    add_patient(parse(R"({"resourceType":"Patient","id":"many)" + std::to_string(i) +
                      R"(","name":[{"family":"Many","given":["N)" + std::to_string(i) +
                      R"("]}]})"));
  }
  for (std::string_view sort :
       {"", "&_sort=given", "&_sort=-given", "&_sort=_id", "&_sort=-_lastUpdated"}) {
    auto pages = all_pages("Patient", "family=Many&_count=5" + std::string(sort));
    BOOST_TEST(pages.size() == 5u);
    std::set<std::string> seen;
    std::size_t count = 0;
    for (const auto& page : pages) {
      count += page.size();
      seen.insert(page.begin(), page.end());
    }
    BOOST_TEST(count == 23u);
    BOOST_TEST(seen.size() == 23u);
  }
  auto given = all_pages("Patient", "family=Many&_count=10&_sort=-given");
  BOOST_TEST(given.front().front() == "many9");  // "N9" sorts last
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace fhirbridge::test
