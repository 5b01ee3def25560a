// What reaches the disk: `grep` the database file and its WAL for secrets.
#include <boost/test/unit_test.hpp>

#include <fstream>
#include <iterator>

#include "store_fixture.hpp"

using namespace fhirbridge;
using namespace fhirbridge::storage;
using fhirbridge::test::make_contact;
using fhirbridge::test::make_patient;
using fhirbridge::test::StoreFixture;

namespace {

std::string file_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Which of `needles` occur in the db file or its -wal / -journal siblings.
std::vector<std::string> found_on_disk(const std::filesystem::path& db,
                                       const std::vector<std::string>& needles) {
  std::vector<std::string> found;
  for (const char* suffix : {"", "-wal", "-journal", "-shm"}) {
    std::filesystem::path p = db.string() + suffix;
    if (!std::filesystem::exists(p)) continue;
    const std::string bytes = file_bytes(p);
    for (const auto& n : needles)
      if (bytes.find(n) != std::string::npos) found.push_back(n + " in " + p.filename().string());
  }
  return found;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += s + "; ";
  return out;
}

icure::Patient secret_patient() {
  auto p = make_patient("Secretname", "Hidden", "female", 19770707, "secret-fhir-id");
  p.note = "SECRET-NOTE-7f3a e\xcc\x81";
  icure::PropertyStub narrative;
  narrative.id = "narrative";
  icure::TypedValue v;
  v.type = "STRING";
  v.stringValue = "<div>NARRATIVE-TEXT-91b2</div>";
  narrative.typedValue = v;
  p.properties = std::vector<icure::PropertyStub>{narrative};
  return p;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(sqlite_security)

BOOST_FIXTURE_TEST_CASE(no_sealed_field_or_private_key_reaches_the_disk, StoreFixture) {
  auto patient = store->create_patient(hcp1, secret_patient());
  REQUIRE_OK(patient);
  auto contact = make_contact(98.7654, "8867-4", 20240101);
  contact.descr = "DESCR-SECRET-55";
  (*contact.services)[0].content->at("en").measureValue->comment = "MEASURE-COMMENT-3c";
  auto stored = store->create_contact(hcp1, contact, *patient->id);
  REQUIRE_OK(stored);
  // Updates and shares rewrite documents: old versions must not leak either.
  icure::Patient changed = *patient;
  changed.note = "SECRET-NOTE-7f3a second version";
  REQUIRE_OK(store->update_patient(hcp1, changed));
  BOOST_REQUIRE(store->share_patient(hcp1, *patient->id, hcp2.hcp_id).ok());
  // And reading them back works (so the needles were really stored).
  BOOST_TEST(store->get_patient(hcp2, *patient->id)->note->find("SECRET-NOTE-7f3a") == 0u);
  BOOST_TEST(*store->get_contact(hcp1, *stored->contact.id)->contact.descr == "DESCR-SECRET-55");

  const auto& der = test::test_key(0).private_key_pkcs8;
  const std::vector<std::string> needles{
      "SECRET-NOTE-7f3a",
      "NARRATIVE-TEXT-91b2",
      "98.7654",
      "DESCR-SECRET-55",
      "MEASURE-COMMENT-3c",
      test::private_hex(0),
      test::private_hex(1),
      std::string(der.begin() + 64, der.begin() + 128),  // raw DER bytes too
  };
  auto while_open = found_on_disk(file, needles);
  BOOST_TEST(while_open.empty(), "found while open: " << join(while_open));
  store.reset();  // checkpoint the WAL into the main file
  auto after_close = found_on_disk(file, needles);
  BOOST_TEST(after_close.empty(), "found after close: " << join(after_close));
  // Sanity: the scan does find what is meant to be clear (the name index).
  BOOST_TEST(!found_on_disk(file, {"Secretname"}).empty());
}

BOOST_AUTO_TEST_CASE(strict_sealing_hides_names_and_they_become_unsearchable) {
  SqliteStoreOptions options;
  options.sealing = crypto::SealingPolicy::strict();
  StoreFixture f(options);
  auto patient = f.store->create_patient(f.hcp1, secret_patient());
  REQUIRE_OK(patient);
  auto read = f.store->get_patient(f.hcp1, *patient->id);
  REQUIRE_OK(read);
  BOOST_TEST(*read->lastName == "Secretname");
  BOOST_TEST(read->names->front().lastName.value() == "Secretname");

  PatientQuery by_name;
  by_name.names = {TextCondition{{"secretname"}, TextMatch::prefix}};
  BOOST_TEST(f.store->find_patients(f.hcp1, by_name)->total == 0);
  // Still searchable: what stays in clear.
  PatientQuery by_birth;
  by_birth.birth_dates = {{19770707, 19770707, false}};
  BOOST_TEST(f.store->find_patients(f.hcp1, by_birth)->total == 1);
  BOOST_REQUIRE(f.store->get_patient(f.hcp1, "secret-fhir-id").ok());

  f.store.reset();
  auto found = found_on_disk(f.file, {"Secretname", "secretname", "SECRET-NOTE-7f3a"});
  BOOST_TEST(found.empty(), "found: " << join(found));
}

BOOST_AUTO_TEST_SUITE_END()
