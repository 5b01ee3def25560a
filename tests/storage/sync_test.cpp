// sync_stores() between two real SqliteStores in a temp dir (docs/sync.md).
//
// Both stores know the SAME healthcare party (same id, same RSA key pair, each
// in its own keychain): the offline practice and its remote are the same
// practitioner, as in real use. One case syncs two different HCPs.
#include <boost/test/unit_test.hpp>

#include <memory>

#include "fhirbridge/storage/sqlite_store.hpp"
#include "fhirbridge/storage/sync.hpp"
#include "storage/faulty_store.hpp"
#include "store_fixture.hpp"

using namespace fhirbridge;
using namespace fhirbridge::storage;
using fhirbridge::test::FaultyStore;
using fhirbridge::test::make_contact;
using fhirbridge::test::make_patient;

namespace {

struct Side {
  crypto::Keychain keychain;
  std::unique_ptr<SqliteStore> store;
};

struct SyncFixture {
  test::TempDir dir;
  std::int64_t clock = 1700000000000;
  Side local, remote;
  Principal who{"hcp-1", "user-1"};
  Principal remote_who{"hcp-1", "user-1"};
  std::filesystem::path journal = default_journal_path(dir.path() / "local.db");

  SyncFixture() {
    open(local, "local.db");
    open(remote, "remote.db");
    add_hcp(local, who.hcp_id, 0);
    add_hcp(remote, who.hcp_id, 0);
  }

  void open(Side& side, const std::string& name) {
    SqliteStoreOptions options;
    options.now_ms = [this] { return clock++; };
    auto opened = SqliteStore::open(dir.path() / name, side.keychain, std::move(options));
    BOOST_REQUIRE_MESSAGE(opened.ok(), opened.status().to_string());
    side.store = std::move(*opened);
  }

  static void add_hcp(Side& side, const std::string& hcp_id, int key) {
    icure::HealthcareParty hcp;
    hcp.id = hcp_id;
    hcp.name = hcp_id;
    hcp.publicKey = test::test_key(key).public_key_hex;
    REQUIRE_OK(side.store->put_healthcare_party(hcp));
    auto put =
        side.keychain.put(hcp_id, test::private_hex(key), test::test_key(key).public_key_hex);
    BOOST_REQUIRE_MESSAGE(put.ok(), put.to_string());
  }

  Result<SyncReport> try_sync(Store* remote_store = nullptr, bool dry_run = false) {
    SyncOptions options;
    options.journal = journal;
    options.peer_label = "test remote";
    options.dry_run = dry_run;
    options.page_size = 2;  // several pages even for small data
    return sync_stores(*local.store, who, remote_store ? *remote_store : *remote.store, remote_who,
                       options);
  }

  SyncReport sync(Store* remote_store = nullptr) {
    auto report = try_sync(remote_store);
    BOOST_REQUIRE_MESSAGE(report.ok(), report.status().to_string());
    return *report;
  }

  std::string add_patient(Side& side, const std::string& family, const std::string& given) {
    auto made = side.store->create_patient(who, make_patient(family, given, "female", 19800101));
    BOOST_REQUIRE_MESSAGE(made.ok(), made.status().to_string());
    return *made->id;
  }

  std::string add_contact(Side& side, const std::string& patient_id, double value) {
    auto made =
        side.store->create_contact(who, make_contact(value, "8867-4", 20240102), patient_id);
    BOOST_REQUIRE_MESSAGE(made.ok(), made.status().to_string());
    return *made->contact.id;
  }

  void set_note(Side& side, const std::string& id, const std::string& note) {
    auto patient = side.store->get_patient(who, id);
    BOOST_REQUIRE_MESSAGE(patient.ok(), patient.status().to_string());
    patient->note = note;
    REQUIRE_OK(side.store->update_patient(who, *patient));
  }

  std::string note(Side& side, const std::string& id) {
    auto patient = side.store->get_patient(who, id);
    BOOST_REQUIRE_MESSAGE(patient.ok(), patient.status().to_string());
    return patient->note.value_or("");
  }

  std::string rev(Side& side, const std::string& id) {
    auto patient = side.store->get_patient(who, id);
    BOOST_REQUIRE_MESSAGE(patient.ok(), patient.status().to_string());
    return patient->rev.value_or("");
  }

  void set_value(Side& side, const std::string& contact_id, double value) {
    auto record = side.store->get_contact(who, contact_id);
    BOOST_REQUIRE_MESSAGE(record.ok(), record.status().to_string());
    (*record->contact.services)[0].content->at("en").measureValue->value = value;
    REQUIRE_OK(side.store->update_contact(who, record->contact));
  }

  double value(Side& side, const std::string& contact_id) {
    auto record = side.store->get_contact(who, contact_id);
    BOOST_REQUIRE_MESSAGE(record.ok(), record.status().to_string());
    return *(*record->contact.services)[0].content->at("en").measureValue->value;
  }

  std::int64_t patient_count(Side& side) {
    PatientQuery query;
    query.page.limit = 0;
    auto page = side.store->find_patients(who, query);
    BOOST_REQUIRE_MESSAGE(page.ok(), page.status().to_string());
    return page->total;
  }

  std::int64_t contact_count(Side& side) {
    ContactQuery query;
    query.page.limit = 0;
    auto page = side.store->find_contacts(who, query);
    BOOST_REQUIRE_MESSAGE(page.ok(), page.status().to_string());
    return page->total;
  }

  bool patient_gone(Side& side, const std::string& id) {
    auto code = side.store->get_patient(who, id).status().code();
    return code == StatusCode::deleted || code == StatusCode::not_found;
  }
};

void check_nothing_moves(SyncFixture& f) {
  auto again = f.sync();
  BOOST_TEST(again.moved() == 0u);
  BOOST_TEST(again.adopted == 0u);
  BOOST_TEST(again.conflicts.empty());
  BOOST_TEST(again.failures.empty());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(store_sync)

BOOST_FIXTURE_TEST_CASE(first_sync_pushes_everything_and_a_rerun_moves_nothing, SyncFixture) {
  const auto a = add_patient(local, "Dupont", "Anne");
  const auto b = add_patient(local, "Martin", "Bea");
  const auto c = add_patient(local, "Leroy", "Chloe");
  const auto ca = add_contact(local, a, 72);
  const auto cb = add_contact(local, b, 64);

  auto first = sync();
  BOOST_TEST(first.pushed == 5u);
  BOOST_TEST(first.pulled == 0u);
  BOOST_TEST(first.conflicts.empty());
  BOOST_TEST(std::filesystem::exists(journal));

  // Same ids and content on the remote; contacts attached to the same patients.
  BOOST_TEST(patient_count(remote) == 3);
  BOOST_TEST(contact_count(remote) == 2);
  BOOST_TEST(note(remote, c) == "note of Chloe Leroy");
  BOOST_TEST(value(remote, ca) == 72.0);
  auto record = remote.store->get_contact(who, cb);
  REQUIRE_OK(record);
  BOOST_TEST(record->patient_id == b);

  auto second = sync();
  BOOST_TEST(second.moved() == 0u);
  BOOST_TEST(second.unchanged == 5u);
  check_nothing_moves(*this);
}

BOOST_FIXTURE_TEST_CASE(remote_data_is_pulled_into_an_empty_local_store, SyncFixture) {
  const auto a = add_patient(remote, "Remote", "Rita");
  const auto ca = add_contact(remote, a, 80);
  auto report = sync();
  BOOST_TEST(report.pulled == 2u);
  BOOST_TEST(report.pushed == 0u);
  BOOST_TEST(note(local, a) == "note of Rita Remote");
  BOOST_TEST(value(local, ca) == 80.0);
  check_nothing_moves(*this);
}

BOOST_FIXTURE_TEST_CASE(local_edits_are_pushed_and_remote_edits_pulled, SyncFixture) {
  const auto a = add_patient(local, "Dupont", "Anne");
  const auto b = add_patient(local, "Martin", "Bea");
  const auto cb = add_contact(local, b, 64);
  sync();

  set_note(local, a, "edited offline");
  set_note(remote, b, "edited on the remote");
  set_value(remote, cb, 99);
  const auto remote_rev_of_b = rev(remote, b);

  auto report = sync();
  BOOST_TEST(report.pushed == 1u);
  BOOST_TEST(report.pulled == 2u);
  BOOST_TEST(report.conflicts.empty());
  BOOST_TEST(note(remote, a) == "edited offline");
  BOOST_TEST(note(local, b) == "edited on the remote");
  BOOST_TEST(value(local, cb) == 99.0);
  BOOST_TEST(rev(remote, b) == remote_rev_of_b);  // pulling does not touch the remote
  check_nothing_moves(*this);
}

BOOST_FIXTURE_TEST_CASE(edits_on_both_sides_are_a_conflict_and_nothing_is_overwritten,
                        SyncFixture) {
  const auto a = add_patient(local, "Dupont", "Anne");
  const auto b = add_patient(local, "Martin", "Bea");
  const auto ca = add_contact(local, a, 72);
  sync();

  set_note(local, a, "local version");
  set_note(remote, a, "remote version");
  set_value(local, ca, 73);  // its patient conflicts: this contact waits
  set_note(local, b, "unrelated edit");
  const auto local_rev = rev(local, a), remote_rev = rev(remote, a);

  auto report = sync();
  BOOST_REQUIRE_EQUAL(report.conflicts.size(), 1u);
  const auto& conflict = report.conflicts[0];
  BOOST_TEST(conflict.id == a);
  BOOST_TEST((conflict.kind == SyncEntityKind::patient));
  BOOST_TEST(conflict.local_rev.value_or("") == local_rev);
  BOOST_TEST(conflict.remote_rev.value_or("") == remote_rev);
  BOOST_TEST(report.pushed == 1u);  // b only
  BOOST_REQUIRE_EQUAL(report.waiting.size(), 1u);
  BOOST_TEST(report.waiting[0] == ca);
  BOOST_TEST(note(local, a) == "local version");
  BOOST_TEST(note(remote, a) == "remote version");
  BOOST_TEST(rev(local, a) == local_rev);
  BOOST_TEST(rev(remote, a) == remote_rev);
  BOOST_TEST(value(remote, ca) == 72.0);

  // Still a conflict on the next run.
  auto again = sync();
  BOOST_TEST(again.conflicts.size() == 1u);
  BOOST_TEST(again.moved() == 0u);

  // Resolving: make both sides hold the chosen version; the sync adopts it
  // and the waiting contact follows.
  set_note(remote, a, "local version");
  auto resolved = sync();
  BOOST_TEST(resolved.conflicts.empty());
  BOOST_TEST(resolved.adopted == 1u);
  BOOST_TEST(resolved.pushed == 1u);  // the contact
  BOOST_TEST(value(remote, ca) == 73.0);
  check_nothing_moves(*this);
}

BOOST_FIXTURE_TEST_CASE(identical_edits_on_both_sides_are_adopted, SyncFixture) {
  const auto a = add_patient(local, "Dupont", "Anne");
  sync();
  set_note(local, a, "same");
  set_note(remote, a, "same");
  auto report = sync();
  BOOST_TEST(report.conflicts.empty());
  BOOST_TEST(report.adopted == 1u);
  BOOST_TEST(report.moved() == 0u);
  check_nothing_moves(*this);
}

BOOST_FIXTURE_TEST_CASE(deletes_propagate_and_delete_versus_edit_conflicts, SyncFixture) {
  const auto a = add_patient(local, "Dupont", "Anne");
  const auto b = add_patient(local, "Martin", "Bea");
  const auto c = add_patient(local, "Leroy", "Chloe");
  const auto d = add_patient(local, "Petit", "Dora");
  const auto cc = add_contact(local, c, 50);
  sync();

  REQUIRE_OK(local.store->delete_patient(who, a, std::nullopt));
  REQUIRE_OK(remote.store->delete_patient(who, b, std::nullopt));
  REQUIRE_OK(local.store->delete_contact(who, cc, std::nullopt));
  // Deleted locally but edited on the remote: a conflict, nothing deleted.
  REQUIRE_OK(local.store->delete_patient(who, d, std::nullopt));
  set_note(remote, d, "edited remotely");

  auto report = sync();
  BOOST_TEST(report.deleted_remote == 2u);  // a, cc
  BOOST_TEST(report.deleted_local == 1u);   // b
  BOOST_REQUIRE_EQUAL(report.conflicts.size(), 1u);
  BOOST_TEST(report.conflicts[0].id == d);
  BOOST_TEST(!report.conflicts[0].local_rev.has_value());
  BOOST_TEST(patient_gone(remote, a));
  BOOST_TEST(patient_gone(local, b));
  BOOST_TEST(note(remote, d) == "edited remotely");
  BOOST_TEST(!remote.store->get_contact(who, cc).ok());
  BOOST_TEST(note(local, c) == "note of Chloe Leroy");
  BOOST_TEST(note(remote, c) == "note of Chloe Leroy");

  auto again = sync();
  BOOST_TEST(again.moved() == 0u);
  BOOST_TEST(again.conflicts.size() == 1u);
}

BOOST_FIXTURE_TEST_CASE(contacts_follow_their_patients_both_ways, SyncFixture) {
  sync();  // empty: nothing to do, but the journal is bound to the parties
  const auto p = add_patient(local, "Local", "Lea");
  const auto cp1 = add_contact(local, p, 60);
  const auto cp2 = add_contact(local, p, 61);
  const auto q = add_patient(remote, "Remote", "Rose");
  const auto cq = add_contact(remote, q, 62);

  auto report = sync();
  BOOST_TEST(report.pushed == 3u);
  BOOST_TEST(report.pulled == 2u);
  for (const auto& id : {cp1, cp2}) {
    auto record = remote.store->get_contact(who, id);
    REQUIRE_OK(record);
    BOOST_TEST(record->patient_id == p);
  }
  auto record = local.store->get_contact(who, cq);
  REQUIRE_OK(record);
  BOOST_TEST(record->patient_id == q);
  check_nothing_moves(*this);
}

BOOST_FIXTURE_TEST_CASE(an_interrupted_sync_reruns_cleanly, SyncFixture) {
  std::vector<std::string> patients;
  for (int i = 0; i < 4; ++i)
    patients.push_back(add_patient(local, "Family" + std::to_string(i), "G"));
  add_contact(local, patients[0], 70);
  add_contact(local, patients[3], 71);
  add_patient(remote, "Remote", "Rita");

  // The 3rd write to the remote fails before reaching it.
  FaultyStore faulty(*remote.store);
  faulty.fail_write(3);
  auto broken = try_sync(&faulty);
  BOOST_TEST(!broken.ok());
  BOOST_TEST((broken.status().code() == StatusCode::unavailable));

  // The 2nd write of the rerun reaches the remote but its answer is lost.
  faulty.fail_write(2, FaultyStore::When::after_write);
  BOOST_TEST(!try_sync(&faulty).ok());

  faulty.fail_write(0);
  auto rerun = sync(&faulty);
  BOOST_TEST(rerun.conflicts.empty());
  BOOST_TEST(rerun.adopted == 1u);  // the write whose answer was lost
  BOOST_TEST(patient_count(remote) == 5);
  BOOST_TEST(patient_count(local) == 5);
  BOOST_TEST(contact_count(remote) == 2);
  for (const auto& id : patients) BOOST_TEST(note(remote, id) == note(local, id));
  check_nothing_moves(*this);
}

BOOST_FIXTURE_TEST_CASE(an_interrupted_pull_reruns_cleanly, SyncFixture) {
  for (int i = 0; i < 3; ++i) add_patient(remote, "Family" + std::to_string(i), "G");
  const auto a = add_patient(local, "Local", "Lea");
  sync();
  set_note(remote, a, "remote edit");

  // Local writes fail: the pull of `a` is lost after being written locally.
  FaultyStore faulty_local(*local.store);
  faulty_local.fail_write(1, FaultyStore::When::after_write);
  SyncOptions options;
  options.journal = journal;
  BOOST_TEST(!sync_stores(faulty_local, who, *remote.store, remote_who, options).ok());
  BOOST_TEST(note(local, a) == "remote edit");

  auto rerun = sync();
  BOOST_TEST(rerun.conflicts.empty());
  BOOST_TEST(rerun.adopted == 1u);
  check_nothing_moves(*this);
}

BOOST_FIXTURE_TEST_CASE(an_entity_the_remote_refuses_is_reported_and_its_contacts_wait,
                        SyncFixture) {
  const auto p = add_patient(local, "Dupont", "Anne");
  const auto c = add_contact(local, p, 72);
  FaultyStore faulty(*remote.store);
  faulty.fail_write(1, FaultyStore::When::before_write, StatusCode::invalid);
  auto report = sync(&faulty);
  BOOST_REQUIRE_EQUAL(report.failures.size(), 1u);
  BOOST_TEST(report.failures[0].id == p);
  BOOST_TEST((report.failures[0].status.code() == StatusCode::invalid));
  BOOST_REQUIRE_EQUAL(report.waiting.size(), 1u);
  BOOST_TEST(report.waiting[0] == c);
  BOOST_TEST(report.pushed == 0u);

  auto rerun = sync();
  BOOST_TEST(rerun.pushed == 2u);
  BOOST_TEST(rerun.failures.empty());
  check_nothing_moves(*this);
}

BOOST_FIXTURE_TEST_CASE(a_dry_run_writes_nothing, SyncFixture) {
  add_patient(local, "Dupont", "Anne");
  add_patient(remote, "Remote", "Rita");
  auto planned = try_sync(nullptr, /*dry_run=*/true);
  REQUIRE_OK(planned);
  BOOST_TEST(planned->dry_run);
  BOOST_TEST(planned->pushed == 1u);
  BOOST_TEST(planned->pulled == 1u);
  BOOST_TEST(!std::filesystem::exists(journal));
  BOOST_TEST(patient_count(remote) == 1);
  BOOST_TEST(patient_count(local) == 1);

  auto real = sync();
  BOOST_TEST(real.pushed == 1u);
  BOOST_TEST(real.pulled == 1u);
}

BOOST_FIXTURE_TEST_CASE(a_journal_made_for_other_parties_is_refused, SyncFixture) {
  add_patient(local, "Dupont", "Anne");
  sync();
  add_hcp(remote, "hcp-2", 1);
  remote_who = Principal{"hcp-2", "user-2"};
  auto refused = try_sync();
  BOOST_TEST(!refused.ok());
  BOOST_TEST((refused.status().code() == StatusCode::invalid));
  BOOST_TEST(refused.status().path() == "journal");
  BOOST_TEST(patient_count(local) == 1);
}

BOOST_FIXTURE_TEST_CASE(two_different_healthcare_parties_can_sync, SyncFixture) {
  // The remote acts as another practitioner: entities are re-sealed for it.
  add_hcp(remote, "hcp-2", 1);
  remote_who = Principal{"hcp-2", "user-2"};
  const auto a = add_patient(local, "Dupont", "Anne");
  add_contact(local, a, 72);
  auto report = sync();
  BOOST_TEST(report.pushed == 2u);
  auto seen = remote.store->get_patient(remote_who, a);
  REQUIRE_OK(seen);
  BOOST_TEST(seen->note.value_or("") == "note of Anne Dupont");
  BOOST_TEST(seen->delegations->count("hcp-2") == 1u);
  check_nothing_moves(*this);
}

BOOST_AUTO_TEST_SUITE_END()
