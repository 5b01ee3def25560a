// sync_stores() end to end: a local SqliteStore synced with a SECOND
// fhirbridge serving the iCure REST subset (/rest/v1) over its own SqliteStore
// on 127.0.0.1, reached through open_remote_store (docs/sync.md).
// The same practitioner (alice: same HCP id and key pair) on both sides.
#include <boost/test/unit_test.hpp>

#include <memory>

#include "fhirbridge/storage/remote_store.hpp"
#include "fhirbridge/storage/sqlite_store.hpp"
#include "fhirbridge/storage/sync.hpp"
#include "server/backend_world.hpp"

using namespace fhirbridge;
using namespace fhirbridge::storage;

namespace {

icure::Patient patient(const std::string& family, const std::string& given) {
  icure::Patient p;
  p.lastName = family;
  p.firstName = given;
  p.gender = "female";
  p.dateOfBirth = 19800101;
  p.note = "note of " + given;
  return p;
}

icure::Contact contact(double value) {
  icure::Measure m;
  m.value = value;
  m.unit = "bpm";
  icure::Content content;
  content.measureValue = m;
  icure::Service s;
  s.content = std::map<std::string, icure::Content>{{"en", content}};
  s.valueDate = 20240102;
  s.label = "Heart rate";
  icure::Contact c;
  c.descr = "visit";
  c.openingDate = 20240102;
  c.services = std::vector<icure::Service>{s};
  return c;
}

struct SyncE2e {
  test::IcureSide icure;  // the remote: /rest/v1 over its own SqliteStore
  const test::Account& alice = icure.fixture.alice;
  test::TempDir dir;
  crypto::Keychain local_keychain, remote_keychain;
  std::unique_ptr<SqliteStore> local;
  std::unique_ptr<Store> remote;
  Principal local_who, remote_who;
  // The remote's own store, as alice sees it there (to check and edit).
  Store& behind_remote() { return *icure.fixture.store; }

  SyncE2e() {
    auto opened = SqliteStore::open(dir.path() / "local.db", local_keychain);
    BOOST_REQUIRE_MESSAGE(opened.ok(), opened.status().to_string());
    local = std::move(*opened);
    icure::HealthcareParty hcp;
    hcp.id = alice.hcp_id;
    hcp.name = "alice";
    hcp.publicKey = alice.public_key_hex;
    BOOST_REQUIRE(local->put_healthcare_party(hcp).ok());
    BOOST_REQUIRE(
        local_keychain.put(alice.hcp_id, alice.private_key_hex, alice.public_key_hex).ok());
    local_who = Principal{alice.hcp_id, "local-user"};

    auto store = open_remote_store(test::fast_remote_options(icure.url()), remote_keychain);
    BOOST_REQUIRE_MESSAGE(store.ok(), store.status().to_string());
    remote = std::move(*store);
    auto who = remote->authenticate(alice.login, alice.password);
    BOOST_REQUIRE_MESSAGE(who.ok(), who.status().to_string());
    remote_who = *who;
    BOOST_REQUIRE(remote_who.hcp_id == alice.hcp_id);
    BOOST_REQUIRE(
        remote_keychain.put(alice.hcp_id, alice.private_key_hex, alice.public_key_hex).ok());
  }

  SyncReport sync() {
    SyncOptions options;
    options.journal = default_journal_path(dir.path() / "local.db");
    options.peer_label = icure.url();
    options.page_size = 2;
    auto report = sync_stores(*local, local_who, *remote, remote_who, options);
    BOOST_REQUIRE_MESSAGE(report.ok(), report.status().to_string());
    return *report;
  }

  Principal remote_alice() const { return Principal{alice.hcp_id, ""}; }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(sync_e2e)

BOOST_FIXTURE_TEST_CASE(push_pull_conflict_and_idempotence_over_rest, SyncE2e) {
  auto a = local->create_patient(local_who, patient("Dupont", "Anne"));
  auto b = local->create_patient(local_who, patient("Martin", "Bea"));
  BOOST_REQUIRE(a.ok() && b.ok());
  auto ca = local->create_contact(local_who, contact(72), *a->id);
  BOOST_REQUIRE_MESSAGE(ca.ok(), ca.status().to_string());
  auto r = behind_remote().create_patient(remote_alice(), patient("Remote", "Rita"));
  BOOST_REQUIRE(r.ok());

  auto first = sync();
  BOOST_TEST(first.pushed == 3u);
  BOOST_TEST(first.pulled == 1u);
  BOOST_TEST(first.conflicts.empty());
  BOOST_TEST(first.failures.empty());

  // On the remote with the same ids; the contact on the same patient.
  auto seen = behind_remote().get_patient(remote_alice(), *a->id);
  BOOST_REQUIRE_MESSAGE(seen.ok(), seen.status().to_string());
  BOOST_TEST(seen->note.value_or("") == "note of Anne");
  auto seen_contact = behind_remote().get_contact(remote_alice(), *ca->contact.id);
  BOOST_REQUIRE_MESSAGE(seen_contact.ok(), seen_contact.status().to_string());
  BOOST_TEST(seen_contact->patient_id == *a->id);
  auto pulled = local->get_patient(local_who, *r->id);
  BOOST_REQUIRE_MESSAGE(pulled.ok(), pulled.status().to_string());
  BOOST_TEST(pulled->note.value_or("") == "note of Rita");

  auto second = sync();
  BOOST_TEST(second.moved() == 0u);
  BOOST_TEST(second.conflicts.empty());

  // A remote edit is pulled; edits on both sides conflict and stay put.
  auto remote_b = behind_remote().get_patient(remote_alice(), *b->id);
  BOOST_REQUIRE(remote_b.ok());
  remote_b->note = "edited on the remote";
  BOOST_REQUIRE(behind_remote().update_patient(remote_alice(), *remote_b).ok());
  auto remote_a = behind_remote().get_patient(remote_alice(), *a->id);
  BOOST_REQUIRE(remote_a.ok());
  remote_a->note = "remote version";
  BOOST_REQUIRE(behind_remote().update_patient(remote_alice(), *remote_a).ok());
  auto local_a = local->get_patient(local_who, *a->id);
  BOOST_REQUIRE(local_a.ok());
  local_a->note = "local version";
  BOOST_REQUIRE(local->update_patient(local_who, *local_a).ok());

  auto third = sync();
  BOOST_TEST(third.pulled == 1u);
  BOOST_REQUIRE_EQUAL(third.conflicts.size(), 1u);
  BOOST_TEST(third.conflicts[0].id == *a->id);
  BOOST_TEST(local->get_patient(local_who, *b->id)->note.value_or("") == "edited on the remote");
  BOOST_TEST(local->get_patient(local_who, *a->id)->note.value_or("") == "local version");
  BOOST_TEST(behind_remote().get_patient(remote_alice(), *a->id)->note.value_or("") ==
             "remote version");

  // A local delete propagates.
  BOOST_REQUIRE(local->delete_patient(local_who, *b->id, std::nullopt).ok());
  auto fourth = sync();
  BOOST_TEST(fourth.deleted_remote == 1u);
  BOOST_TEST(!behind_remote().get_patient(remote_alice(), *b->id).ok());
  auto fifth = sync();
  BOOST_TEST(fifth.moved() == 0u);
  BOOST_TEST(fifth.conflicts.size() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
