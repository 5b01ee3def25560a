// SqliteStore against real files: CRUD, revisions, conflicts, reopening,
// sharing/visibility, missing keys and all-or-nothing batches.
#include <boost/test/unit_test.hpp>

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <thread>

#include "faulty_store.hpp"
#include "fhirbridge/json_io.hpp"
#include "fhirbridge/storage/text_fold.hpp"
#include "store_fixture.hpp"

using namespace fhirbridge;
using namespace fhirbridge::storage;
using fhirbridge::test::make_contact;
using fhirbridge::test::make_patient;
using fhirbridge::test::StoreFixture;

BOOST_AUTO_TEST_SUITE(sqlite_store)

BOOST_AUTO_TEST_CASE(fold_text_folds_case_and_latin_accents) {
  BOOST_TEST(fold_text("Élodie") == "elodie");
  BOOST_TEST(fold_text("ØSTERGÅRD") == "ostergard");
  BOOST_TEST(fold_text("Straße") == "strasse");
  BOOST_TEST(fold_text("Œuvre Łukasz Čapek") == "oeuvre lukasz capek");
  BOOST_TEST(fold_text("e\xcc\x81") == "e");      // decomposed é
  BOOST_TEST(fold_text("Иван") == "Иван");        // outside the table: unchanged
  BOOST_TEST(fold_text("bad\xff") == "bad\xff");  // invalid UTF-8 kept
  BOOST_TEST((fold_words("van der berg-smith") ==
              std::vector<std::string>{"van", "der", "berg", "smith"}));
}

BOOST_FIXTURE_TEST_CASE(patient_crud_and_revisions, StoreFixture) {
  auto created = store->create_patient(hcp1, make_patient("Dupont", "Élodie", "female", 19740312));
  REQUIRE_OK(created);
  BOOST_REQUIRE(created->id && created->rev);
  BOOST_TEST(created->rev->rfind("1-", 0) == 0);
  BOOST_TEST(*created->note == "note of Élodie Dupont");
  BOOST_TEST(created->delegations->count(hcp1.hcp_id) == 1);

  auto read = store->get_patient(hcp1, *created->id);
  REQUIRE_OK(read);
  BOOST_TEST(*read->note == "note of Élodie Dupont");
  BOOST_TEST(*read->rev == *created->rev);
  BOOST_TEST(*read->lastName == "Dupont");

  icure::Patient changed = *read;
  changed.note = "changed note";
  auto updated = store->update_patient(hcp1, changed);
  REQUIRE_OK(updated);
  BOOST_TEST(updated->rev->rfind("2-", 0) == 0);
  BOOST_TEST(*updated->created == *created->created);
  BOOST_TEST(*store->get_patient(hcp1, *created->id)->note == "changed note");

  // The rev we read first is stale now.
  auto stale = store->update_patient(hcp1, changed);
  BOOST_TEST((stale.status().code() == StatusCode::version_conflict));
  auto stale_delete = store->delete_patient(hcp1, *created->id, *created->rev);
  BOOST_TEST((stale_delete.status().code() == StatusCode::version_conflict));

  auto deleted = store->delete_patient(hcp1, *created->id, *updated->rev);
  REQUIRE_OK(deleted);
  BOOST_TEST(deleted->rev.rfind("3-", 0) == 0);
  BOOST_TEST((store->get_patient(hcp1, *created->id).status().code() == StatusCode::deleted));
  // Those who could never read it learn nothing.
  BOOST_TEST((store->get_patient(hcp2, *created->id).status().code() == StatusCode::not_found));
  BOOST_TEST((store->update_patient(hcp1, *updated).status().code() == StatusCode::not_found));
  BOOST_TEST(
      (store->delete_patient(hcp1, *created->id, {}).status().code() == StatusCode::not_found));
  BOOST_TEST(store->find_patients(hcp1, {})->total == 0);

  // Re-creating the id continues the generation after the tombstone.
  icure::Patient again = make_patient("Dupont", "Élodie", "female", 19740312);
  again.id = created->id;
  auto recreated = store->create_patient(hcp1, again);
  REQUIRE_OK(recreated);
  BOOST_TEST(recreated->rev->rfind("4-", 0) == 0);
}

// get_patient_shared: get_patient's answers without the copy -- a repeated read
// of an unchanged patient is the one unsealed object the sealer remembers; a
// new rev is a new object; errors are get_patient's; a store that does not
// override it (a wrapper) answers through its own get_patient.
BOOST_FIXTURE_TEST_CASE(a_shared_read_answers_as_get_patient_without_a_copy, StoreFixture) {
  auto created = store->create_patient(hcp1, make_patient("Dupont", "Élodie", "female", 19740312));
  REQUIRE_OK(created);
  auto first = store->get_patient_shared(hcp1, *created->id);
  REQUIRE_OK(first);
  auto second = store->get_patient_shared(hcp1, *created->id);
  REQUIRE_OK(second);
  BOOST_TEST(first->get() == second->get());
  auto copy = store->get_patient(hcp1, *created->id);
  REQUIRE_OK(copy);
  BOOST_TEST(json_io::to_json(**first) == json_io::to_json(*copy));
  BOOST_TEST(*(*first)->lastName == "Dupont");

  icure::Patient changed = *copy;
  changed.note = "changed note";
  REQUIRE_OK(store->update_patient(hcp1, changed));
  auto after = store->get_patient_shared(hcp1, *created->id);
  REQUIRE_OK(after);
  BOOST_TEST(after->get() != first->get());
  BOOST_TEST(*(*after)->note == "changed note");
  BOOST_TEST(*(*first)->note == "note of Élodie Dupont");  // a reader's copy is never changed

  BOOST_TEST(
      (store->get_patient_shared(hcp2, *created->id).status().code() == StatusCode::not_found));
  BOOST_TEST(
      (store->get_patient_shared(hcp1, "no-such-id").status().code() == StatusCode::not_found));
  keychain.drop(hcp1.hcp_id);  // a remembered patient is not served without the key
  BOOST_TEST(
      (store->get_patient_shared(hcp1, *created->id).status().code() == StatusCode::key_missing));
  BOOST_REQUIRE(
      keychain.put(hcp1.hcp_id, test::private_hex(0), test::test_key(0).public_key_hex).ok());

  test::FaultyStore wrapper(*store);
  auto through = wrapper.get_patient_shared(hcp1, *created->id);
  REQUIRE_OK(through);
  BOOST_TEST(*(*through)->note == "changed note");
  REQUIRE_OK(store->delete_patient(hcp1, *created->id, {}));
  BOOST_TEST(
      (wrapper.get_patient_shared(hcp1, *created->id).status().code() == StatusCode::deleted));
}

// find_patients_shared: find_patients' page (items, order, total, cursor)
// without the copies -- the same search again gives the same unsealed
// objects, a changed patient a new one; a wrapper that does not override it
// answers through its own find_patients; a missing key fails it.
BOOST_FIXTURE_TEST_CASE(a_shared_search_answers_as_find_patients_without_copies, StoreFixture) {
  for (const char* given : {"Anna", "Bea", "Carla"})
    REQUIRE_OK(store->create_patient(hcp1, make_patient("Dupont", given, "female", 19740312)));
  REQUIRE_OK(store->create_patient(hcp1, make_patient("Martin", "Zoé", "female", 19800101)));
  PatientQuery q;
  q.names.push_back(TextCondition{{"dupont"}, TextMatch::prefix});
  q.page.limit = 2;
  q.page.sort = {SortKey{"given", false}};  // Anna, Bea | Carla, whatever is updated
  test::FaultyStore wrapper(*store);
  auto copies = store->find_patients(hcp1, q);
  auto first = store->find_patients_shared(hcp1, q);
  auto again = store->find_patients_shared(hcp1, q);
  auto through = wrapper.find_patients_shared(hcp1, q);
  REQUIRE_OK(copies);
  REQUIRE_OK(first);
  REQUIRE_OK(again);
  REQUIRE_OK(through);
  for (const auto* page : {&*first, &*through}) {
    BOOST_TEST(page->total == 3);
    BOOST_TEST((page->next_cursor == copies->next_cursor));
    BOOST_REQUIRE(page->items.size() == 2u);
    for (std::size_t i = 0; i < 2; ++i)
      BOOST_TEST(json_io::to_json(*page->items[i]) == json_io::to_json(copies->items[i]));
  }
  BOOST_TEST(first->items[0].get() == again->items[0].get());
  BOOST_TEST(first->items[1].get() == again->items[1].get());

  icure::Patient changed = copies->items[0];
  changed.note = "changed note";
  REQUIRE_OK(store->update_patient(hcp1, changed));
  auto after = store->find_patients_shared(hcp1, q);
  REQUIRE_OK(after);
  BOOST_REQUIRE(after->items.size() == 2u);
  BOOST_TEST(after->items[0].get() != first->items[0].get());
  BOOST_TEST(*after->items[0]->note == "changed note");
  BOOST_TEST(after->items[1].get() == first->items[1].get());
  BOOST_TEST(*first->items[0]->note == "note of Anna Dupont");  // a reader's copy is never changed

  auto other = store->find_patients_shared(hcp2, q);
  REQUIRE_OK(other);
  BOOST_TEST(other->items.empty());
  keychain.drop(hcp1.hcp_id);
  BOOST_TEST((store->find_patients_shared(hcp1, q).status().code() == StatusCode::key_missing));
  BOOST_REQUIRE(
      keychain.put(hcp1.hcp_id, test::private_hex(0), test::test_key(0).public_key_hex).ok());
}

// change_epoch() (what a server's search cache is keyed by): the same while
// nothing is committed, however often it is asked, and moved on by a commit of
// this store's writer, of another connection to the same file (another
// process), whichever read connection answers. Store's default (a wrapper
// that does not forward it) answers nothing: answers are then never reused.
BOOST_FIXTURE_TEST_CASE(the_change_epoch_moves_with_every_commit_of_any_connection, StoreFixture) {
  auto epoch = [&] {
    auto e = store->change_epoch();
    BOOST_REQUIRE_MESSAGE(e.ok(), e.status().to_string());
    BOOST_REQUIRE(e->has_value());
    return **e;
  };
  const std::uint64_t first = epoch();
  for (int i = 0; i < 8; ++i) BOOST_TEST(epoch() == first);  // each read connection, at rest
  BOOST_TEST((store->get_patient_shared(hcp1, "nobody").status().code() == StatusCode::not_found));
  BOOST_TEST(epoch() == first);  // reads commit nothing

  REQUIRE_OK(store->create_patient(hcp1, make_patient("Dupont", "Anna", "female", 19740312)));
  const std::uint64_t after_write = epoch();
  BOOST_TEST(after_write != first);
  for (int i = 0; i < 8; ++i) BOOST_TEST(epoch() == after_write);

  {  // another connection to the same file, as another process would write
    crypto::Keychain other_keychain;
    auto other = storage::SqliteStore::open(file, other_keychain);
    REQUIRE_OK(other);
    BOOST_REQUIRE(
        other_keychain.put(hcp1.hcp_id, test::private_hex(0), test::test_key(0).public_key_hex)
            .ok());
    REQUIRE_OK((*other)->create_patient(hcp1, make_patient("Martin", "Zoé", "female", 19800101)));
  }
  const std::uint64_t after_other = epoch();
  BOOST_TEST(after_other != after_write);
  BOOST_TEST(epoch() == after_other);

  test::FaultyStore wrapper(*store);
  BOOST_TEST(!wrapper.change_epoch()->has_value());
  wrapper.forward_change_epoch = true;
  BOOST_TEST(**wrapper.change_epoch() == after_other);
}

// find_contacts_shared, the same for contacts: find_contacts' page with each
// record's patient, the remembered unsealed contact itself on a repeat, a new
// one for a changed contact, through a wrapper its own find_contacts, and a
// missing key fails it.
BOOST_FIXTURE_TEST_CASE(a_shared_contact_search_answers_as_find_contacts_without_copies,
                        StoreFixture) {
  auto patient = store->create_patient(hcp1, make_patient("Dupont", "Anna", "female", 19740312));
  REQUIRE_OK(patient);
  for (int i = 0; i < 3; ++i)
    REQUIRE_OK(
        store->create_contact(hcp1, make_contact(60 + i, "8867-4", 20240101 + i), *patient->id));
  ContactQuery q;
  q.codes.push_back({TokenFilter{"LOINC", "8867-4"}});
  q.page.limit = 2;
  test::FaultyStore wrapper(*store);
  auto copies = store->find_contacts(hcp1, q);
  auto first = store->find_contacts_shared(hcp1, q);
  auto again = store->find_contacts_shared(hcp1, q);
  auto through = wrapper.find_contacts_shared(hcp1, q);
  REQUIRE_OK(copies);
  REQUIRE_OK(first);
  REQUIRE_OK(again);
  REQUIRE_OK(through);
  for (const auto* page : {&*first, &*through}) {
    BOOST_TEST(page->total == 3);
    BOOST_TEST((page->next_cursor == copies->next_cursor));
    BOOST_REQUIRE(page->items.size() == 2u);
    for (std::size_t i = 0; i < 2; ++i) {
      BOOST_TEST(json_io::to_json(*page->items[i].contact) ==
                 json_io::to_json(copies->items[i].contact));
      BOOST_TEST(page->items[i].patient_id == *patient->id);
    }
  }
  BOOST_TEST(first->items[0].contact.get() == again->items[0].contact.get());
  BOOST_TEST(first->items[1].contact.get() == again->items[1].contact.get());

  icure::Contact changed = copies->items[1].contact;
  changed.descr = "changed descr";
  REQUIRE_OK(store->update_contact(hcp1, changed));  // now the newest: off this page
  auto after = store->find_contacts_shared(hcp1, q);
  REQUIRE_OK(after);
  BOOST_REQUIRE(after->items.size() == 2u);
  BOOST_TEST(after->items[0].contact.get() == first->items[0].contact.get());
  BOOST_TEST(*after->items[1].contact->id != *changed.id);
  q.page.cursor = after->next_cursor;
  auto last = store->find_contacts_shared(hcp1, q);
  REQUIRE_OK(last);
  BOOST_REQUIRE(last->items.size() == 1u);
  BOOST_TEST(*last->items[0].contact->descr == "changed descr");
  BOOST_TEST(*first->items[1].contact->descr == "contact descr 8867-4");  // never changed
  q.page.cursor.reset();

  auto other = store->find_contacts_shared(hcp2, q);
  REQUIRE_OK(other);
  BOOST_TEST(other->items.empty());
  keychain.drop(hcp1.hcp_id);
  BOOST_TEST((store->find_contacts_shared(hcp1, q).status().code() == StatusCode::key_missing));
  BOOST_REQUIRE(
      keychain.put(hcp1.hcp_id, test::private_hex(0), test::test_key(0).public_key_hex).ok());
}

// A read connection remembers what it found for a patient id until SQLite's
// data_version says another connection committed: what a second store on the
// same file (as another process would) writes is seen by the very next read,
// by store id and by FHIR id, for every reader connection. Observations
// (contacts) are remembered the same way, by each id they are read by.
BOOST_FIXTURE_TEST_CASE(a_remembered_read_sees_what_another_connection_commits, StoreFixture) {
  auto created = store->create_patient(
      hcp1, make_patient("Dupont", "Élodie", "female", 19740312, "fhir-dupont"));
  REQUIRE_OK(created);
  const std::string id = *created->id;
  auto note_of = [&](const std::string& key) -> std::string {
    auto read = store->get_patient_shared(hcp1, key);
    BOOST_REQUIRE_MESSAGE(read.ok(), read.status().to_string());
    return (*read)->note.value_or("");
  };
  // Two threads at once, so that more than one reader connection remembers it.
  auto read_on_two_threads = [&](const std::string& key) {
    Result<icure::Patient> other = Status::Internal("not read");
    std::thread second([&] { other = store->get_patient(hcp1, key); });
    const std::string mine = note_of(key);
    second.join();
    REQUIRE_OK(other);
    BOOST_TEST(mine == other->note.value_or(""));
    return mine;
  };
  for (int i = 0; i < 3; ++i) {
    BOOST_TEST(read_on_two_threads(id) == "note of Élodie Dupont");
    BOOST_TEST(read_on_two_threads("fhir-dupont") == "note of Élodie Dupont");
  }

  auto opened = SqliteStore::open(file, keychain, {});
  REQUIRE_OK(opened);
  std::unique_ptr<SqliteStore> other = std::move(*opened);
  auto current = other->get_patient(hcp1, id);
  REQUIRE_OK(current);
  current->note = "changed elsewhere";
  REQUIRE_OK(other->update_patient(hcp1, *current));
  BOOST_TEST(read_on_two_threads(id) == "changed elsewhere");
  BOOST_TEST(read_on_two_threads("fhir-dupont") == "changed elsewhere");

  // Another party's read is never answered from hcp1's remembered row.
  BOOST_TEST((store->get_patient_shared(hcp2, id).status().code() == StatusCode::not_found));
  REQUIRE_OK(other->share_patient(hcp1, id, hcp2.hcp_id));
  auto shared = store->get_patient_shared(hcp2, id);
  REQUIRE_OK(shared);
  BOOST_TEST(*(*shared)->note == "changed elsewhere");

  auto contact =
      store->create_contact(hcp1, make_contact(72, "8867-4", 20240102103000, "obs-1"), id);
  REQUIRE_OK(contact);
  const std::string contact_id = *contact->contact.id;
  const std::string service_id = *contact->contact.services->front().id;
  auto value_of = [&](const std::string& key) {
    auto read = store->get_contact(hcp1, key);
    BOOST_REQUIRE_MESSAGE(read.ok(), read.status().to_string());
    BOOST_TEST(*read->contact.id == contact_id);
    BOOST_TEST(read->patient_id == id);
    return *read->contact.services->front().content->at("en").measureValue->value;
  };
  for (int i = 0; i < 3; ++i)
    for (const std::string& key : {contact_id, service_id, std::string("obs-1")})
      BOOST_TEST(value_of(key) == 72.0);
  auto current_contact = other->get_contact(hcp1, contact_id);
  REQUIRE_OK(current_contact);
  (*current_contact->contact.services)[0].content->at("en").measureValue->value = 80;
  REQUIRE_OK(other->update_contact(hcp1, current_contact->contact));
  for (const std::string& key : {contact_id, service_id, std::string("obs-1")})
    BOOST_TEST(value_of(key) == 80.0);
  BOOST_TEST((store->get_contact(hcp3, contact_id).status().code() == StatusCode::not_found));
  REQUIRE_OK(other->delete_contact(hcp1, contact_id, {}));
  for (const std::string& key : {contact_id, service_id, std::string("obs-1")})
    BOOST_TEST((store->get_contact(hcp1, key).status().code() == StatusCode::deleted));

  REQUIRE_OK(other->delete_patient(hcp1, id, {}));
  BOOST_TEST((store->get_patient_shared(hcp1, id).status().code() == StatusCode::deleted));
  BOOST_TEST(
      (store->get_patient_shared(hcp1, "fhir-dupont").status().code() == StatusCode::deleted));
  BOOST_TEST((store->get_patient_shared(hcp2, id).status().code() == StatusCode::deleted));
}

BOOST_FIXTURE_TEST_CASE(create_conflicts_on_id_and_fhir_id, StoreFixture) {
  auto first =
      store->create_patient(hcp1, make_patient("Martin", "Paul", "male", 19800101, "pat-1"));
  REQUIRE_OK(first);
  icure::Patient same_id = make_patient("Other", "One", "male", 19800101);
  same_id.id = first->id;
  BOOST_TEST((store->create_patient(hcp1, same_id).status().code() == StatusCode::conflict));
  auto same_fhir_id =
      store->create_patient(hcp1, make_patient("Other", "Two", "male", 19800101, "pat-1"));
  BOOST_TEST((same_fhir_id.status().code() == StatusCode::conflict));
  BOOST_TEST(same_fhir_id.status().path() == "Patient.identifier[0]");

  // Reads accept the FHIR id.
  auto by_fhir_id = store->get_patient(hcp1, "pat-1");
  REQUIRE_OK(by_fhir_id);
  BOOST_TEST(*by_fhir_id->id == *first->id);
  // Another HCP does not see pat-1, so for it the FHIR id is free.
  REQUIRE_OK(store->create_patient(hcp2, make_patient("Other", "Three", "male", 1980, "pat-1")));
}

BOOST_FIXTURE_TEST_CASE(contact_crud_and_lookup_by_service_ids, StoreFixture) {
  auto patient =
      store->create_patient(hcp1, make_patient("Lefèvre", "Anne", "female", 19900505, "p-anne"));
  REQUIRE_OK(patient);
  // The patient may be named by its FHIR id.
  auto created =
      store->create_contact(hcp1, make_contact(72, "8867-4", 20240102103000, "obs-1"), "p-anne");
  REQUIRE_OK(created);
  BOOST_TEST(created->patient_id == *patient->id);
  BOOST_TEST(created->contact.secretForeignKeys->size() == 1);
  const std::string service_id = *created->contact.services->front().id;

  for (const std::string& id : {*created->contact.id, service_id, std::string("obs-1")}) {
    auto read = store->get_contact(hcp1, id);
    REQUIRE_OK(read);
    BOOST_TEST(*read->contact.id == *created->contact.id);
    BOOST_TEST(read->patient_id == *patient->id);
    BOOST_TEST(*read->contact.descr == "contact descr 8867-4");
    BOOST_TEST(*read->contact.services->front().content->at("en").measureValue->value == 72.0);
  }

  icure::Contact changed = store->get_contact(hcp1, *created->contact.id)->contact;
  (*changed.services)[0].content->at("en").measureValue->value = 80;
  auto updated = store->update_contact(hcp1, changed);
  REQUIRE_OK(updated);
  BOOST_TEST(updated->contact.rev->rfind("2-", 0) == 0);
  BOOST_TEST(*store->get_contact(hcp1, service_id)
                  ->contact.services->front()
                  .content->at("en")
                  .measureValue->value == 80.0);
  BOOST_TEST(
      (store->update_contact(hcp1, changed).status().code() == StatusCode::version_conflict));
  // Same observation FHIR id again: conflict.
  BOOST_TEST((store->create_contact(hcp1, make_contact(1, "8867-4", 20240102, "obs-1"), "p-anne")
                  .status()
                  .code() == StatusCode::conflict));
  // Unknown patient.
  auto orphan = store->create_contact(hcp1, make_contact(1, "x", 20240102), "nobody");
  BOOST_TEST((orphan.status().code() == StatusCode::not_found));
  BOOST_TEST(orphan.status().path() == "patient_id");

  REQUIRE_OK(store->delete_contact(hcp1, *created->contact.id, *updated->contact.rev));
  BOOST_TEST(
      (store->get_contact(hcp1, *created->contact.id).status().code() == StatusCode::deleted));
  // The other ids it was read by answer "deleted" too (HTTP 410), to its readers only.
  for (const std::string& id : {service_id, std::string("obs-1")}) {
    BOOST_TEST_INFO(id);
    BOOST_TEST((store->get_contact(hcp1, id).status().code() == StatusCode::deleted));
    BOOST_TEST((store->get_contact(hcp2, id).status().code() == StatusCode::not_found));
  }
}

BOOST_FIXTURE_TEST_CASE(a_deleted_patient_read_by_its_fhir_id_answers_deleted, StoreFixture) {
  auto first = store->create_patient(hcp1, make_patient("Martin", "Paul", "male", 1980, "pat-1"));
  REQUIRE_OK(first);
  REQUIRE_OK(store->delete_patient(hcp1, "pat-1", {}));
  BOOST_TEST((store->get_patient(hcp1, "pat-1").status().code() == StatusCode::deleted));
  BOOST_TEST((store->get_patient(hcp2, "pat-1").status().code() == StatusCode::not_found));
  BOOST_TEST((store->delete_patient(hcp1, "pat-1", {}).status().code() == StatusCode::not_found));

  // The FHIR id is free again; the live patient wins over the tombstone.
  auto second =
      store->create_patient(hcp1, make_patient("Martin", "Paula", "female", 1981, "pat-1"));
  REQUIRE_OK(second);
  BOOST_TEST(*store->get_patient(hcp1, "pat-1")->id == *second->id);
  REQUIRE_OK(store->delete_patient(hcp1, *second->id, {}));
  BOOST_TEST((store->get_patient(hcp1, "pat-1").status().code() == StatusCode::deleted));

  // Re-creating a store id drops its tombstone's aliases; the other deleted
  // patient with that FHIR id still answers "deleted".
  icure::Patient again = make_patient("Martin", "Paul", "male", 1980);
  again.id = first->id;
  REQUIRE_OK(store->create_patient(hcp1, again));
  BOOST_TEST((store->get_patient(hcp1, "pat-1").status().code() == StatusCode::deleted));
  REQUIRE_OK(store->delete_patient(hcp1, *first->id, {}));
  BOOST_TEST((store->get_patient(hcp1, "pat-1").status().code() == StatusCode::deleted));
}

BOOST_FIXTURE_TEST_CASE(list_deletions_pages_newest_first_to_their_readers, StoreFixture) {
  using storage::EntityKind;
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    auto p =
        store->create_patient(hcp1, make_patient("Del", "P" + std::to_string(i), "male", 1980));
    REQUIRE_OK(p);
    ids.push_back(*p->id);
  }
  auto kept = store->create_patient(hcp1, make_patient("Kept", "Alive", "male", 1980));
  REQUIRE_OK(kept);
  for (int i = 0; i < 5; ++i) REQUIRE_OK(store->delete_patient(hcp1, ids[i], {}));
  auto all = store->list_deletions(hcp1, EntityKind::patient, 0, std::nullopt, 100);
  REQUIRE_OK(all);
  BOOST_REQUIRE_EQUAL(all->size(), 5u);
  for (std::size_t i = 1; i < all->size(); ++i) {
    const auto& a = (*all)[i - 1];
    const auto& b = (*all)[i];
    BOOST_TEST((a.deleted_ms > b.deleted_ms || (a.deleted_ms == b.deleted_ms && a.id > b.id)));
  }
  // Keyset paging: two at a time gives the same sequence.
  std::vector<std::string> paged;
  std::optional<storage::Deletion> after;
  for (;;) {
    auto page = store->list_deletions(hcp1, EntityKind::patient, 0, after, 2);
    REQUIRE_OK(page);
    for (const auto& d : *page) paged.push_back(d.id);
    if (page->size() < 2) break;
    after = page->back();
  }
  std::vector<std::string> expected;
  for (const auto& d : *all) expected.push_back(d.id);
  BOOST_TEST(paged == expected);
  // Since: only the later deletes; hcp2 never read them; contacts are another kind.
  const std::int64_t since = (*all)[2].deleted_ms;
  auto later = store->list_deletions(hcp1, EntityKind::patient, since, std::nullopt, 100);
  REQUIRE_OK(later);
  BOOST_TEST(later->size() ==
             static_cast<std::size_t>(std::count_if(
                 all->begin(), all->end(), [&](const auto& d) { return d.deleted_ms >= since; })));
  BOOST_TEST(later->size() >= 3u);
  BOOST_TEST(store->list_deletions(hcp2, EntityKind::patient, 0, std::nullopt, 100)->empty());
  BOOST_TEST(store->list_deletions(hcp1, EntityKind::contact, 0, std::nullopt, 100)->empty());
}

BOOST_FIXTURE_TEST_CASE(get_deletion_finds_the_latest_delete_by_any_id, StoreFixture) {
  using storage::EntityKind;
  auto first = store->create_patient(hcp1, make_patient("Martin", "Paul", "male", 1980, "pat-1"));
  REQUIRE_OK(first);
  BOOST_TEST((store->get_deletion(hcp1, EntityKind::patient, *first->id).status().code() ==
              StatusCode::not_found));  // alive
  auto deleted = store->delete_patient(hcp1, *first->id, {});
  REQUIRE_OK(deleted);
  for (const std::string& id : {*first->id, std::string("pat-1")}) {
    BOOST_TEST_INFO(id);
    auto found = store->get_deletion(hcp1, EntityKind::patient, id);
    REQUIRE_OK(found);
    BOOST_TEST(found->id == *first->id);
    BOOST_TEST(found->rev == deleted->rev);
    BOOST_TEST(found->deleted_ms > 0);
    BOOST_TEST((store->get_deletion(hcp2, EntityKind::patient, id).status().code() ==
                StatusCode::not_found));  // hcp2 never read it
    BOOST_TEST((store->get_deletion(hcp1, EntityKind::contact, id).status().code() ==
                StatusCode::not_found));  // another kind
  }
  // A second patient with that FHIR id, deleted later: the FHIR id now names its delete.
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  auto second =
      store->create_patient(hcp1, make_patient("Martin", "Paula", "female", 1981, "pat-1"));
  REQUIRE_OK(second);
  REQUIRE_OK(store->delete_patient(hcp1, *second->id, {}));
  auto latest = store->get_deletion(hcp1, EntityKind::patient, "pat-1");
  REQUIRE_OK(latest);
  BOOST_TEST(latest->id == *second->id);
  // Re-created under its store id: no deletion any more.
  icure::Patient again = make_patient("Martin", "Paul", "male", 1980);
  again.id = first->id;
  REQUIRE_OK(store->create_patient(hcp1, again));
  BOOST_TEST((store->get_deletion(hcp1, EntityKind::patient, *first->id).status().code() ==
              StatusCode::not_found));
}

BOOST_FIXTURE_TEST_CASE(reopening_the_file_finds_everything, StoreFixture) {
  auto patient = store->create_patient(hcp1, make_patient("Durand", "Luc", "male", 19601231));
  REQUIRE_OK(patient);
  auto contact = store->create_contact(hcp1, make_contact(64, "8867-4", 20230101), *patient->id);
  REQUIRE_OK(contact);
  open();  // closes, then opens the same file
  auto p = store->get_patient(hcp1, *patient->id);
  REQUIRE_OK(p);
  BOOST_TEST(*p->note == "note of Luc Durand");
  BOOST_TEST(*p->rev == *patient->rev);
  auto c = store->get_contact(hcp1, *contact->contact.id);
  REQUIRE_OK(c);
  BOOST_TEST(*c->contact.services->front().content->at("en").measureValue->value == 64.0);
  BOOST_TEST(store->find_patients(hcp1, {})->total == 1);
  REQUIRE_OK(store->get_healthcare_party(hcp1.hcp_id));

  // Schema version recorded, WAL on.
  sqlite3* db = nullptr;
  BOOST_REQUIRE(sqlite3_open(file.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, nullptr);
  BOOST_REQUIRE(sqlite3_step(stmt) == SQLITE_ROW);
  BOOST_TEST(sqlite3_column_int(stmt, 0) == SqliteStore::schema_version());
  sqlite3_finalize(stmt);
  sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, nullptr);
  BOOST_REQUIRE(sqlite3_step(stmt) == SQLITE_ROW);
  BOOST_TEST(std::string(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0))) == "wal");
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

BOOST_FIXTURE_TEST_CASE(a_file_newer_than_the_build_is_refused, StoreFixture) {
  store.reset();
  sqlite3* db = nullptr;
  BOOST_REQUIRE(sqlite3_open(file.c_str(), &db) == SQLITE_OK);
  sqlite3_exec(db, "PRAGMA user_version = 99", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  auto opened = SqliteStore::open(file, keychain, {});
  BOOST_TEST(!opened.ok());
  BOOST_TEST(opened.status().message().find("newer") != std::string::npos);
}

namespace {
std::map<std::string, std::string> index_definitions(const std::filesystem::path& file);
// Before version 12 patient_name had no head rows.
constexpr const char* kHeadRowsOfVersion11 = "DELETE FROM patient_name WHERE field = 'head'; ";
// Before version 11 patient_name_patient was on the patient id alone.
constexpr const char* kNameIndexOfVersion10 =
    "DROP INDEX patient_name_patient; "
    "CREATE INDEX patient_name_patient ON patient_name(patient_id); ";
// Before version 10 service_code had one row per code (not per reader) and
// no reader column. For files whose contacts hcp-1 reads (what these tests
// write), its rows are those rows.
constexpr const char* kCodeRowsOfVersion9 =
    "DROP INDEX service_code_code; "
    "DELETE FROM service_code WHERE reader <> "
    "(SELECT number FROM data_owner_number WHERE owner_id = 'hcp-1'); "
    "ALTER TABLE service_code DROP COLUMN reader; "
    "CREATE INDEX service_code_code ON service_code(code, type, kind, contact_id, modified); ";
// Before version 9 patient_name had one row per token, no reader column, and
// there was no data_owner_number.
constexpr const char* kNameRowsOfVersion8 =
    "DROP INDEX patient_name_token; "
    "DELETE FROM patient_name WHERE reader <> "
    "(SELECT number FROM data_owner_number WHERE owner_id = 'hcp-1'); "
    "ALTER TABLE patient_name DROP COLUMN reader; DROP TABLE data_owner_number; "
    "CREATE INDEX patient_name_token ON patient_name(token, field, whole, modified, patient_id); ";
// Before version 8 a pair row's token was "<family>" char(31) "<given>",
// without the leading separator: what a file of an older version holds.
constexpr const char* kNameRowsOfVersion7 =
    "UPDATE patient_name SET token = substr(token, 2) WHERE field = 'pair'; ";
// The SQL that turns a fresh file's index rows into those of `version` (7 to
// 9), run before the other changes a test makes to look older.
std::string older_index_rows(int version) {
  return std::string(kHeadRowsOfVersion11) + kNameIndexOfVersion10 + kCodeRowsOfVersion9 +
         (version <= 8 ? kNameRowsOfVersion8 : "") + (version <= 7 ? kNameRowsOfVersion7 : "");
}
// Scalar answer of `sql` on a connection of its own.
std::int64_t query_int(const std::filesystem::path& file, const char* sql);
// Closes the fixture's store and runs `sql` on its file (to make it look older).
void rewrite_file(StoreFixture& fixture, const std::string& sql) {
  fixture.store.reset();
  sqlite3* db = nullptr;
  BOOST_REQUIRE(sqlite3_open(fixture.file.c_str(), &db) == SQLITE_OK);
  BOOST_REQUIRE(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
}
}  // namespace

BOOST_FIXTURE_TEST_CASE(a_file_of_schema_version_2_is_migrated, StoreFixture) {
  REQUIRE_OK(store->create_patient(hcp1, make_patient("Martin", "Paul", "male", 1980, "pat-1")));
  store.reset();
  // What a version-2 file looks like: no tombstone aliases, no index of deletes by time.
  sqlite3* db = nullptr;
  BOOST_REQUIRE(sqlite3_open(file.c_str(), &db) == SQLITE_OK);
  BOOST_REQUIRE(sqlite3_exec(db, older_index_rows(7).c_str(), nullptr, nullptr, nullptr) ==
                SQLITE_OK);
  BOOST_REQUIRE(sqlite3_exec(db,
                             "DROP TABLE tombstone_alias; DROP INDEX tombstone_deleted; "
                             "DROP TABLE entity_version; DROP INDEX service_code_code; "
                             "ALTER TABLE service_code DROP COLUMN modified; "
                             "PRAGMA user_version = 2",
                             nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
  open();
  auto migrated = store->get_patient(hcp1, "pat-1");
  REQUIRE_OK(migrated);
  REQUIRE_OK(store->update_patient(hcp1, *migrated));
  BOOST_TEST(store->patient_versions(hcp1, "pat-1", std::nullopt)->size() == 2u);
  REQUIRE_OK(store->delete_patient(hcp1, "pat-1", {}));
  BOOST_TEST((store->get_patient(hcp1, "pat-1").status().code() == StatusCode::deleted));
  BOOST_TEST(index_definitions(file).count("tombstone_deleted") == 1u);
  auto listed = store->list_deletions(hcp1, storage::EntityKind::patient, 0, std::nullopt, 10);
  REQUIRE_OK(listed);
  BOOST_TEST(listed->size() == 1u);
}

// Version 5 had service_code indexes that did not cover a code search; an
// import killed before it built its deferred indexes may have left
// service_code_code out altogether. Either way the migration puts in the
// covering ones and code searches answer as before.
BOOST_FIXTURE_TEST_CASE(a_file_of_schema_version_5_gets_covering_code_indexes, StoreFixture) {
  auto patient = store->create_patient(hcp1, make_patient("Martin", "Paul", "male", 1980));
  REQUIRE_OK(patient);
  REQUIRE_OK(store->create_contact(hcp1, make_contact(64, "8867-4", 20240101), *patient->id));
  ContactQuery by_code;
  by_code.codes.push_back({TokenFilter{"LOINC", "8867-4"}});
  for (const bool code_index_deferred : {false, true}) {
    store.reset();
    sqlite3* db = nullptr;
    BOOST_REQUIRE(sqlite3_open(file.c_str(), &db) == SQLITE_OK);
    const std::string version_5 =
        older_index_rows(7) +
        "DROP INDEX service_code_code; DROP INDEX service_code_contact; "
        "ALTER TABLE service_code DROP COLUMN modified; " +
        (code_index_deferred
             ? ""
             : "CREATE INDEX service_code_code ON service_code(code, type, kind); ") +
        "CREATE INDEX service_code_contact ON service_code(contact_id); PRAGMA user_version = 5";
    BOOST_REQUIRE(sqlite3_exec(db, version_5.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
    BOOST_TEST(index_definitions(file).count("service_code_code") ==
               (code_index_deferred ? 0u : 1u));
    open();
    auto indexes = index_definitions(file);
    BOOST_TEST(indexes["service_code_code"] ==
               "CREATE INDEX service_code_code ON service_code(code, type, kind, reader, "
               "contact_id, modified)");
    BOOST_TEST(indexes["service_code_contact"] ==
               "CREATE INDEX service_code_contact ON service_code(contact_id, kind, type, code)");
    auto found = store->find_contacts(hcp1, by_code);
    REQUIRE_OK(found);
    BOOST_TEST(found->total == 1);
  }
}

// Version 6 had no `modified` on service_code rows: the migration copies each
// contact's (an updated one's too) and a code search pages on the rows as it
// does on a store created with it.
BOOST_FIXTURE_TEST_CASE(a_file_of_schema_version_6_gets_modified_on_code_rows, StoreFixture) {
  auto patient = store->create_patient(hcp1, make_patient("Martin", "Paul", "male", 1980));
  REQUIRE_OK(patient);
  std::vector<std::string> oldest_first;
  for (int i = 0; i < 3; ++i) {
    auto made =
        store->create_contact(hcp1, make_contact(60 + i, "8867-4", 20240101 + i), *patient->id);
    REQUIRE_OK(made);
    oldest_first.push_back(*made->contact.id);
  }
  auto first = store->get_contact(hcp1, oldest_first.front());
  REQUIRE_OK(first);
  REQUIRE_OK(store->update_contact(hcp1, first->contact));  // now the newest
  oldest_first.push_back(oldest_first.front());
  oldest_first.erase(oldest_first.begin());
  store.reset();
  sqlite3* db = nullptr;
  BOOST_REQUIRE(sqlite3_open(file.c_str(), &db) == SQLITE_OK);
  BOOST_REQUIRE(sqlite3_exec(db, older_index_rows(7).c_str(), nullptr, nullptr, nullptr) ==
                SQLITE_OK);
  BOOST_REQUIRE(sqlite3_exec(db,
                             "DROP INDEX service_code_code; "
                             "ALTER TABLE service_code DROP COLUMN modified; "
                             "CREATE INDEX service_code_code ON service_code(code, type, kind, "
                             "contact_id); PRAGMA user_version = 6",
                             nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
  open();
  BOOST_TEST(index_definitions(file)["service_code_code"] ==
             "CREATE INDEX service_code_code ON service_code(code, type, kind, reader, "
             "contact_id, modified)");
  BOOST_REQUIRE(sqlite3_open(file.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  BOOST_REQUIRE(sqlite3_prepare_v2(db,
                                   "SELECT count(*), sum(s.modified = c.modified) "
                                   "FROM service_code s JOIN contact c ON c.id = s.contact_id",
                                   -1, &stmt, nullptr) == SQLITE_OK);
  BOOST_REQUIRE(sqlite3_step(stmt) == SQLITE_ROW);
  BOOST_TEST(sqlite3_column_int(stmt, 0) >= 3);  // a code (and a tag) per contact
  BOOST_TEST(sqlite3_column_int(stmt, 1) == sqlite3_column_int(stmt, 0));
  sqlite3_finalize(stmt);
  sqlite3_close(db);

  ContactQuery by_code;
  by_code.codes.push_back({TokenFilter{"LOINC", "8867-4"}});
  by_code.page.limit = 2;
  std::vector<std::string> paged;
  do {
    auto page = store->find_contacts(hcp1, by_code);
    REQUIRE_OK(page);
    BOOST_TEST(page->total == 3);
    for (const auto& r : page->items) paged.push_back(*r.contact.id);
    by_code.page.cursor = page->next_cursor;
  } while (by_code.page.cursor && paged.size() < 10);
  BOOST_TEST(paged == oldest_first, boost::test_tools::per_element());
}

// Version 7 kept a pair row's token right after its family's own token, so a
// name prefix range walked the pairs. The migration moves every pair apart
// (leading char(31)), with or without the token index (an import may have
// deferred it), and searches answer as on a fresh store: the family+given
// pair, a prefix of the family, an exact given name.
BOOST_FIXTURE_TEST_CASE(a_file_of_schema_version_7_moves_its_pair_tokens, StoreFixture) {
  REQUIRE_OK(store->create_patient(hcp1, make_patient("Martin", "Paul", "male", 1980)));
  REQUIRE_OK(store->create_patient(hcp1, make_patient("Martinez", "Ana", "female", 1981)));
  REQUIRE_OK(store->create_patient(hcp1, make_patient("Dupont", "Paul", "male", 1982)));
  const char* misplaced_pairs =
      "SELECT count(*) FROM patient_name WHERE field = 'pair' AND substr(token, 1, 1) <> char(31)";
  const char* pairs = "SELECT count(*) FROM patient_name WHERE field = 'pair'";
  BOOST_TEST(query_int(file, pairs) == 3);
  BOOST_TEST(query_int(file, misplaced_pairs) == 0);  // a fresh store writes them apart
  const auto fresh = index_definitions(file);
  for (const bool token_index_deferred : {false, true}) {
    rewrite_file(*this, older_index_rows(7) +
                            (token_index_deferred ? "DROP INDEX patient_name_token; " : "") +
                            "PRAGMA user_version = 7");
    BOOST_TEST(query_int(file, misplaced_pairs) == 3);
    open();
    BOOST_TEST(query_int(file, misplaced_pairs) == 0);
    BOOST_TEST(query_int(file, pairs) == 3);
    BOOST_TEST(query_int(file, "PRAGMA user_version") >= 8);
    BOOST_TEST(index_definitions(file)["patient_name_token"] == fresh.at("patient_name_token"));

    PatientQuery pair;
    pair.family = {TextCondition{{"martin"}, TextMatch::exact}};
    pair.given = {TextCondition{{"paul"}, TextMatch::exact}};
    PatientQuery family_prefix;
    family_prefix.names = {TextCondition{{"mart"}, TextMatch::prefix}};
    PatientQuery given_paul;
    given_paul.given = {TextCondition{{"Paul"}, TextMatch::exact}};
    for (const auto& [query, total] : {std::pair{pair, 1}, {family_prefix, 2}, {given_paul, 2}}) {
      auto found = store->find_patients(hcp1, query);
      REQUIRE_OK(found);
      BOOST_TEST(found->total == total);
      BOOST_TEST(found->items.size() == static_cast<std::size_t>(total));
    }
  }
}

// The FHIR mapping keeps a patient's given names both as the firstName
// ("Wrk Lua") and one by one (names[].firstNames): the firstName's words are
// then whole given names too, and get one row each (whole), not a second
// one as a word: a prefix search reads both kinds, exact and :contains only
// whole parts, so every search finds the same patients.
BOOST_FIXTURE_TEST_CASE(a_word_that_is_also_a_whole_name_part_has_one_name_row, StoreFixture) {
  auto patient = make_patient("Benchmark", "Wrk", "female", 1980);
  patient.firstName = "Wrk Lua";
  patient.names->front().firstNames = std::vector<std::string>{"Wrk", "Lua"};
  auto created = store->create_patient(hcp1, patient);
  REQUIRE_OK(created);
  const std::string of_it =
      "SELECT count(*) FROM patient_name WHERE patient_id = '" + *created->id + "'";
  // benchmark, "wrk lua", wrk, lua; three family+given pairs; the heads
  // ben, wrk, lua (never whole).
  BOOST_TEST(query_int(file, of_it.c_str()) == 10);
  BOOST_TEST(query_int(file, (of_it + " AND whole = 0 AND field <> 'head'").c_str()) == 0);
  BOOST_TEST(query_int(file, (of_it + " AND field = 'head'").c_str()) == 3);

  auto total = [&](PatientQuery q) {
    auto found = store->find_patients(hcp1, q);
    REQUIRE_OK(found);
    BOOST_TEST(found->items.size() == static_cast<std::size_t>(found->total));
    return found->total;
  };
  for (const auto& [given, match] :
       std::vector<std::pair<std::string, TextMatch>>{{"Lu", TextMatch::prefix},
                                                      {"wr", TextMatch::prefix},
                                                      {"Wrk Lu", TextMatch::prefix},
                                                      {"Lua", TextMatch::exact},
                                                      {"Wrk Lua", TextMatch::exact},
                                                      {"ua", TextMatch::contains},
                                                      {"k l", TextMatch::contains}}) {
    PatientQuery q;
    q.given = {TextCondition{{given}, match}};
    BOOST_TEST(total(q) == 1, given);
    PatientQuery any_part;
    any_part.names = q.given;
    BOOST_TEST(total(any_part) == 1, given);
  }
  PatientQuery pair;
  pair.family = {TextCondition{{"Benchmark"}, TextMatch::exact}};
  pair.given = {TextCondition{{"Lua"}, TextMatch::exact}};
  BOOST_TEST(total(pair) == 1);
  PatientQuery not_a_part;
  not_a_part.given = {TextCondition{{"Wr"}, TextMatch::exact}};
  BOOST_TEST(total(not_a_part) == 0);
}

// Version 8 kept one patient_name row per token, checked against
// patient_reader. The migration numbers every reader and writes each
// patient's rows once per reader, with or without the token index: a shared
// patient is then found by name by both readers, the others by their own.
BOOST_FIXTURE_TEST_CASE(a_file_of_schema_version_8_gets_name_rows_per_reader, StoreFixture) {
  auto shared = store->create_patient(hcp1, make_patient("Martin", "Paul", "male", 1980));
  REQUIRE_OK(shared);
  REQUIRE_OK(store->create_patient(hcp1, make_patient("Martinez", "Ana", "female", 1981)));
  REQUIRE_OK(store->share_patient(hcp1, *shared->id, hcp2.hcp_id));
  const std::int64_t rows_per_reader = query_int(
      file, ("SELECT count(*) FROM patient_name WHERE patient_id = '" + *shared->id + "'").c_str());
  const std::int64_t heads_per_reader =
      query_int(file, ("SELECT count(*) FROM patient_name WHERE field = 'head' AND patient_id = '" +
                       *shared->id + "'")
                          .c_str());
  const char* owners = "SELECT count(*) FROM data_owner_number";
  BOOST_TEST(query_int(file, owners) == 2);
  for (const bool token_index_deferred : {false, true}) {
    rewrite_file(*this, older_index_rows(8) +
                            (token_index_deferred ? "DROP INDEX patient_name_token; " : "") +
                            "PRAGMA user_version = 8");
    BOOST_TEST(query_int(file,
                         "SELECT count(*) FROM patient_name p WHERE p.patient_id = "
                         "(SELECT id FROM patient WHERE family_sort = 'martin')") ==
               (rows_per_reader - heads_per_reader) / 2);  // no head rows before version 12
    open();
    BOOST_TEST(query_int(file, "PRAGMA user_version") >= 9);
    BOOST_TEST(query_int(file, owners) == 2);
    BOOST_TEST(query_int(file, ("SELECT count(*) FROM patient_name WHERE patient_id = '" +
                                *shared->id + "'")
                                   .c_str()) == rows_per_reader);
    // Every row is tagged with a reader of its patient.
    BOOST_TEST(query_int(file,
                         "SELECT count(*) FROM patient_name n WHERE NOT EXISTS (SELECT 1 FROM "
                         "patient_reader r JOIN data_owner_number o ON o.owner_id = r.hcp_id "
                         "WHERE r.patient_id = n.patient_id AND o.number = n.reader)") == 0);
    PatientQuery martin;
    martin.names = {TextCondition{{"martin"}, TextMatch::prefix}};
    auto of_hcp1 = store->find_patients(hcp1, martin);
    REQUIRE_OK(of_hcp1);
    BOOST_TEST(of_hcp1->total == 2);
    auto of_hcp2 = store->find_patients(hcp2, martin);
    REQUIRE_OK(of_hcp2);
    BOOST_TEST(of_hcp2->total == 1);
    BOOST_REQUIRE(of_hcp2->items.size() == 1u);
    BOOST_TEST(*of_hcp2->items[0].id == *shared->id);
    BOOST_TEST(store->find_patients(hcp3, martin)->total == 0);
  }
}

// Version 9 kept one service_code row per code, checked against
// contact_reader. The migration numbers the contacts' readers and writes
// each contact's code rows once per reader, with or without the code index:
// a shared contact is then found by code by both readers.
BOOST_FIXTURE_TEST_CASE(a_file_of_schema_version_9_gets_code_rows_per_reader, StoreFixture) {
  auto anne = store->create_patient(hcp1, make_patient("Martin", "Anne", "female", 1980));
  REQUIRE_OK(anne);
  auto shared = store->create_contact(hcp1, make_contact(61, "8867-4", 20240101), *anne->id);
  REQUIRE_OK(shared);
  REQUIRE_OK(store->share_patient(hcp1, *anne->id, hcp2.hcp_id));
  auto own = store->create_patient(hcp3, make_patient("Own", "Patient", "male", 1980));
  REQUIRE_OK(own);
  REQUIRE_OK(store->create_contact(hcp3, make_contact(62, "8867-4", 20240102), *own->id));
  const std::string rows_of_shared =
      "SELECT count(*) FROM service_code WHERE contact_id = '" + *shared->contact.id + "'";
  const std::int64_t rows_per_reader = query_int(file, rows_of_shared.c_str()) / 2;
  BOOST_TEST(rows_per_reader == 2);  // a code and a tag
  ContactQuery by_code;
  by_code.codes = {{TokenFilter{"LOINC", "8867-4"}}};
  for (const bool code_index_deferred : {false, true}) {
    // hcp-1 reads the shared contact; hcp-3's contact keeps its own rows.
    const std::string version_9 =
        "DROP INDEX service_code_code; DELETE FROM service_code WHERE reader = "
        "(SELECT number FROM data_owner_number WHERE owner_id = 'hcp-2'); "
        "ALTER TABLE service_code DROP COLUMN reader; " +
        std::string(code_index_deferred
                        ? ""
                        : "CREATE INDEX service_code_code ON service_code(code, type, kind, "
                          "contact_id, modified); ") +
        "PRAGMA user_version = 9";
    rewrite_file(*this, version_9);
    BOOST_TEST(query_int(file, rows_of_shared.c_str()) == rows_per_reader);
    open();
    BOOST_TEST(query_int(file, "PRAGMA user_version") >= 10);
    BOOST_TEST(query_int(file, rows_of_shared.c_str()) == 2 * rows_per_reader);
    BOOST_TEST(query_int(file,
                         "SELECT count(*) FROM service_code s WHERE NOT EXISTS (SELECT 1 FROM "
                         "contact_reader r JOIN data_owner_number o ON o.owner_id = r.hcp_id "
                         "WHERE r.contact_id = s.contact_id AND o.number = s.reader)") == 0);
    BOOST_TEST(index_definitions(file)["service_code_code"] ==
               "CREATE INDEX service_code_code ON service_code(code, type, kind, reader, "
               "contact_id, modified)");
    for (const auto& [who, total] : {std::pair{hcp1, 1}, {hcp2, 1}, {hcp3, 1}}) {
      auto found = store->find_contacts(who, by_code);
      REQUIRE_OK(found);
      BOOST_TEST(found->total == total);
    }
    BOOST_TEST(*store->find_contacts(hcp2, by_code)->items.at(0).contact.id == *shared->contact.id);
  }
}

// Version 11 widens patient_name_patient to what a name check per patient
// reads: a name search then finds the same patients, and only the caller's.
BOOST_FIXTURE_TEST_CASE(a_file_of_schema_version_10_gets_a_covering_name_index, StoreFixture) {
  REQUIRE_OK(store->create_patient(hcp1, make_patient("Martin", "Anne", "female", 1980)));
  REQUIRE_OK(store->create_patient(hcp2, make_patient("Martin", "Bob", "male", 1981)));
  rewrite_file(*this, std::string(kHeadRowsOfVersion11) + kNameIndexOfVersion10 +
                          "PRAGMA user_version = 10");
  open();
  BOOST_TEST(query_int(file, "PRAGMA user_version") >= 11);
  BOOST_TEST(index_definitions(file)["patient_name_patient"] ==
             "CREATE INDEX patient_name_patient ON patient_name(patient_id, token, field, whole)");
  PatientQuery by_name;
  by_name.names = {{{"mart"}, TextMatch::prefix}};
  for (const auto& who : {hcp1, hcp2}) {
    auto found = store->find_patients(who, by_name);
    REQUIRE_OK(found);
    BOOST_TEST(found->total == 1);
  }
}

// Version 12 adds the head rows (name_head_token): the migration writes the
// rows a fresh store writes (counting characters, not bytes, in names of two-
// byte letters; none for a token shorter than three), per reader, with or
// without the token index, and a name prefix answers as before.
BOOST_FIXTURE_TEST_CASE(a_file_of_schema_version_11_gets_name_head_rows, StoreFixture) {
  auto shared = store->create_patient(hcp1, make_patient("Martin", "Anne", "female", 1980));
  REQUIRE_OK(shared);
  REQUIRE_OK(store->share_patient(hcp1, *shared->id, hcp2.hcp_id));
  REQUIRE_OK(store->create_patient(hcp1, make_patient("Σωκράτης", "Li", "male", 1981)));
  REQUIRE_OK(store->create_patient(hcp2, make_patient("Martinez", "Bob", "male", 1982)));
  const char* heads = "SELECT count(*) FROM patient_name WHERE field = 'head'";
  const std::int64_t fresh_heads = query_int(file, heads);
  // mar, ann (twice: two readers), Σωκ; mar, bob.
  BOOST_TEST(fresh_heads == 7);
  const char* differing =
      "SELECT count(*) FROM (SELECT * FROM (SELECT patient_id, token, whole, modified, reader "
      "FROM patient_name WHERE field = 'head' EXCEPT SELECT * FROM fresh_heads) UNION ALL "
      "SELECT * FROM (SELECT * FROM fresh_heads EXCEPT SELECT patient_id, token, whole, "
      "modified, reader FROM patient_name WHERE field = 'head'))";
  for (const bool token_index_deferred : {false, true}) {
    rewrite_file(*this, std::string("DROP TABLE IF EXISTS fresh_heads; CREATE TABLE fresh_heads AS "
                                    "SELECT patient_id, token, whole, modified, reader FROM "
                                    "patient_name WHERE field = 'head'; ") +
                            kHeadRowsOfVersion11 +
                            (token_index_deferred ? "DROP INDEX patient_name_token; " : "") +
                            "PRAGMA user_version = 11");
    BOOST_TEST(query_int(file, heads) == 0);
    open();
    BOOST_TEST(query_int(file, "PRAGMA user_version") >= 12);
    BOOST_TEST(query_int(file, heads) == fresh_heads);
    BOOST_TEST(query_int(file, differing) == 0);
    PatientQuery by_name;
    by_name.names = {{{"mar"}, TextMatch::prefix}};
    for (const auto& [who, total] : {std::pair{hcp1, 1}, std::pair{hcp2, 2}}) {
      auto found = store->find_patients(who, by_name);
      REQUIRE_OK(found);
      BOOST_TEST(found->total == total);
    }
    by_name.names = {{{"Σωκ"}, TextMatch::prefix}};
    auto found = store->find_patients(hcp1, by_name);
    REQUIRE_OK(found);
    BOOST_TEST(found->total == 1);
  }
}

namespace {

std::int64_t query_int(const std::filesystem::path& file, const char* sql) {
  sqlite3* db = nullptr;
  BOOST_REQUIRE(sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  BOOST_REQUIRE(sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) == SQLITE_OK);
  BOOST_REQUIRE(sqlite3_step(stmt) == SQLITE_ROW);
  const std::int64_t value = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return value;
}

// name -> sql of the file's indexes, read on a connection of its own.
std::map<std::string, std::string> index_definitions(const std::filesystem::path& file) {
  std::map<std::string, std::string> found;
  sqlite3* db = nullptr;
  BOOST_REQUIRE(sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  BOOST_REQUIRE(sqlite3_prepare_v2(db,
                                   "SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND "
                                   "sql IS NOT NULL",
                                   -1, &stmt, nullptr) == SQLITE_OK);
  while (sqlite3_step(stmt) == SQLITE_ROW)
    found[reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0))] =
        reinterpret_cast<const char*>(sqlite3_column_text(stmt, 1));
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return found;
}

}  // namespace

// Bulk loading: without the search-only indexes every search answers the
// same (by scanning), writes meanwhile are found too, building them puts back
// the migrations' own definitions, and a store opened while they are missing
// (an import killed before it built them) builds them itself.
BOOST_FIXTURE_TEST_CASE(deferred_search_indexes_change_no_answer_and_come_back, StoreFixture) {
  const auto fresh = index_definitions(file);
  const auto deferrable = SqliteStore::deferrable_search_indexes();
  BOOST_REQUIRE(deferrable.size() == 6u);
  for (const auto& name : deferrable) BOOST_TEST(fresh.count(name) == 1u, name);

  std::vector<std::string> secret_keys;
  auto add = [&](const std::string& family, std::int64_t dob, const std::string& loinc,
                 std::int64_t date) {
    auto patient = store->create_patient(hcp1, make_patient(family, "Anna", "female", dob));
    REQUIRE_OK(patient);
    auto contact = store->create_contact(hcp1, make_contact(70, loinc, date), *patient->id);
    REQUIRE_OK(contact);
    secret_keys.push_back(contact->contact.secretForeignKeys->front());
  };
  add("Martin", 19800315, "8867-4", 20240101120000);
  add("Dubois", 19920704, "8310-5", 20230101120000);
  add("Lambert", 19801224, "8867-4", 20220601120000);

  // Each search a deferrable index serves, as sorted ids.
  auto answers = [&] {
    std::vector<std::vector<std::string>> all;
    auto ids_of = [](const auto& items, auto id_of) {
      std::vector<std::string> ids;
      for (const auto& item : items) ids.push_back(id_of(item));
      std::sort(ids.begin(), ids.end());
      return ids;
    };
    auto patient_id = [](const icure::Patient& p) { return *p.id; };
    auto contact_id = [](const ContactRecord& r) { return *r.contact.id; };
    PatientQuery born_1980;
    born_1980.birth_dates.push_back({19800101, 19801231});
    auto patients = store->find_patients(hcp1, born_1980);
    REQUIRE_OK(patients);
    all.push_back(ids_of(patients->items, patient_id));
    ContactQuery heart_rate;
    heart_rate.codes.push_back({TokenFilter{"LOINC", "8867-4"}});
    auto by_code = store->find_contacts(hcp1, heart_rate);
    REQUIRE_OK(by_code);
    all.push_back(ids_of(by_code->items, contact_id));
    ContactQuery since_2023;
    since_2023.dates.push_back({20230101000000, std::nullopt});
    auto by_date = store->find_contacts(hcp1, since_2023);
    REQUIRE_OK(by_date);
    all.push_back(ids_of(by_date->items, contact_id));
    auto by_key = store->contacts_by_secret_foreign_keys(hcp1, hcp1.hcp_id, secret_keys);
    REQUIRE_OK(by_key);
    all.push_back(ids_of(*by_key, [](const icure::Contact& c) { return *c.id; }));
    return all;
  };
  const auto before = answers();
  BOOST_TEST(before[0].size() == 2u);
  BOOST_TEST(before[1].size() == 2u);
  BOOST_TEST(before[2].size() == 2u);
  BOOST_TEST(before[3].size() == 3u);

  REQUIRE_OK(store->defer_search_indexes());
  REQUIRE_OK(store->defer_search_indexes());  // idempotent
  const auto deferred = index_definitions(file);
  for (const auto& name : deferrable) BOOST_TEST(deferred.count(name) == 0u, name);
  BOOST_TEST(deferred.size() == fresh.size() - deferrable.size());
  BOOST_TEST(answers() == before);

  add("Petit", 19800101, "8867-4", 20250101120000);  // written while deferred
  const auto with_more = answers();
  BOOST_TEST(with_more[0].size() == 3u);
  BOOST_TEST(with_more[1].size() == 3u);
  BOOST_TEST(with_more[2].size() == 3u);
  BOOST_TEST(with_more[3].size() == 4u);

  REQUIRE_OK(store->build_search_indexes());
  REQUIRE_OK(store->build_search_indexes());  // idempotent
  BOOST_TEST(index_definitions(file) == fresh);
  BOOST_TEST(answers() == with_more);

  REQUIRE_OK(store->defer_search_indexes());
  open();  // as after an import killed before it built them
  BOOST_TEST(index_definitions(file) == fresh);
  BOOST_TEST(answers() == with_more);
}

// Two plans name an index (INDEXED BY): family+given exact (patient_name_token)
// and a sort by family over many matches (patient_family). Dropped by an
// import in another process, those searches still answer, the same.
BOOST_FIXTURE_TEST_CASE(searches_that_name_a_deferred_index_still_answer, StoreFixture) {
  WriteBatch batch;
  batch.return_entities = false;
  for (int i = 0; i < 3; ++i)
    batch.ops.emplace_back(CreatePatient{make_patient("Martin", "Anna", "female", 19800101)});
  for (int i = 0; i < 520; ++i)  // past the sorted-scan threshold (500 matches)
    batch.ops.emplace_back(
        CreatePatient{make_patient("Family" + std::to_string(i % 97), "Given", "male", 19700101)});
  REQUIRE_OK(store->apply(hcp1, batch));

  auto pages = [&](PatientQuery query) {
    std::vector<std::string> ids;
    for (int n = 0; n < 3; ++n) {
      auto page = store->find_patients(hcp1, query);
      REQUIRE_OK(page);
      for (const auto& p : page->items) ids.push_back(*p.id);
      if (!page->next_cursor) break;
      query.page.cursor = page->next_cursor;
    }
    return ids;
  };
  PatientQuery pair;
  pair.family.push_back({{"Martin"}, TextMatch::exact});
  pair.given.push_back({{"Anna"}, TextMatch::exact});
  pair.page.limit = 2;
  PatientQuery by_family;
  by_family.page.sort = {SortKey{"family", false}};
  by_family.page.limit = 5;
  const auto pair_before = pages(pair), family_before = pages(by_family);
  BOOST_TEST(pair_before.size() == 3u);
  BOOST_TEST(family_before.size() == 15u);

  sqlite3* other = nullptr;  // "another process"
  BOOST_REQUIRE(sqlite3_open(file.c_str(), &other) == SQLITE_OK);
  BOOST_REQUIRE(sqlite3_exec(other, "DROP INDEX patient_name_token; DROP INDEX patient_family",
                             nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(other);
  BOOST_TEST(pages(pair) == pair_before);
  BOOST_TEST(pages(by_family) == family_before);

  REQUIRE_OK(store->build_search_indexes());
  BOOST_TEST(pages(pair) == pair_before);
  BOOST_TEST(pages(by_family) == family_before);
}

// An import's "already stored?" look-ups: SQLite answers from its clear
// identifier indexes, the default (any other backend) through find_*; both
// give the same map, over more values than one query takes, and only for
// entities the caller reads.
BOOST_FIXTURE_TEST_CASE(identifier_lookups_find_what_the_caller_reads, StoreFixture) {
  const std::string system = "https://dxm.icure.dev";
  constexpr int kCount = 450;  // past the default's 200 values per query
  WriteBatch batch;
  batch.return_entities = false;
  std::vector<std::string> patient_values{"p-missing"}, service_values{"o-missing"};
  for (int i = 0; i < kCount; ++i) {
    const std::string n = std::to_string(i);
    auto patient = make_patient("Family" + n, "Given", "female", 19800101, "p-" + n);
    patient.id = "patient-" + n;
    auto contact = make_contact(60 + i % 40, "8867-4", 20240101120000, "o-" + n);
    contact.id = "contact-" + n;
    batch.ops.emplace_back(CreatePatient{std::move(patient)});
    batch.ops.emplace_back(CreateContact{std::move(contact), "patient-" + n});
    patient_values.push_back("p-" + n);
    service_values.push_back("o-" + n);
  }
  REQUIRE_OK(store->apply(hcp1, batch));

  auto patients = store->patient_ids_by_identifier(hcp1, system, patient_values);
  REQUIRE_OK(patients);
  BOOST_TEST(patients->size() == static_cast<std::size_t>(kCount));
  BOOST_TEST(patients->at("p-7") == "patient-7");
  BOOST_TEST(patients->count("p-missing") == 0u);
  auto contacts = store->contact_ids_by_service_identifier(hcp1, system, service_values);
  REQUIRE_OK(contacts);
  BOOST_TEST(contacts->size() == static_cast<std::size_t>(kCount));
  BOOST_TEST(contacts->at("o-449") == "contact-449");

  test::FaultyStore through_find(*store);  // forwards find_*: the default look-ups
  auto default_patients = through_find.patient_ids_by_identifier(hcp1, system, patient_values);
  REQUIRE_OK(default_patients);
  BOOST_TEST((*default_patients == *patients));
  auto default_contacts =
      through_find.contact_ids_by_service_identifier(hcp1, system, service_values);
  REQUIRE_OK(default_contacts);
  BOOST_TEST((*default_contacts == *contacts));

  // Another party reads none of them; no values, no answer.
  BOOST_TEST(store->patient_ids_by_identifier(hcp2, system, patient_values)->empty());
  BOOST_TEST(store->contact_ids_by_service_identifier(hcp2, system, service_values)->empty());
  BOOST_TEST(through_find.patient_ids_by_identifier(hcp2, system, patient_values)->empty());
  BOOST_TEST(store->patient_ids_by_identifier(hcp1, system, {})->empty());
  BOOST_TEST(store->patient_ids_by_identifier(hcp1, "other-system", patient_values)->empty());
}

BOOST_FIXTURE_TEST_CASE(sharing_makes_a_patient_and_its_contacts_visible, StoreFixture) {
  auto patient = store->create_patient(hcp1, make_patient("Bernard", "Julie", "female", 19851111));
  REQUIRE_OK(patient);
  auto contact = store->create_contact(hcp1, make_contact(70, "8867-4", 20240101), *patient->id);
  REQUIRE_OK(contact);

  BOOST_TEST((store->get_patient(hcp2, *patient->id).status().code() == StatusCode::not_found));
  BOOST_TEST(
      (store->get_contact(hcp2, *contact->contact.id).status().code() == StatusCode::not_found));
  BOOST_TEST(store->find_patients(hcp2, {})->total == 0);
  BOOST_TEST((store->share_patient(hcp2, *patient->id, hcp3.hcp_id).code() ==
              StatusCode::not_found));  // hcp2 cannot share what it cannot see
  BOOST_TEST(
      (store->share_patient(hcp1, *patient->id, "no-such-hcp").code() == StatusCode::not_found));

  auto shared = store->share_patient(hcp1, *patient->id, hcp2.hcp_id);
  BOOST_REQUIRE_MESSAGE(shared.ok(), shared.to_string());
  REQUIRE_OK(store->share_patient(hcp1, *patient->id, hcp2.hcp_id));  // idempotent

  auto seen = store->get_patient(hcp2, *patient->id);
  REQUIRE_OK(seen);
  BOOST_TEST(*seen->note == "note of Julie Bernard");
  auto seen_contact = store->get_contact(hcp2, *contact->contact.id);
  REQUIRE_OK(seen_contact);
  BOOST_TEST(*seen_contact->contact.descr == "contact descr 8867-4");
  BOOST_TEST(store->find_patients(hcp2, {})->total == 1);
  ContactQuery by_patient;
  by_patient.patient_ids = std::vector<std::string>{*patient->id};
  BOOST_TEST(store->find_contacts(hcp2, by_patient)->total == 1);

  BOOST_TEST((store->get_patient(hcp3, *patient->id).status().code() == StatusCode::not_found));
  BOOST_TEST(
      (store->get_contact(hcp3, *contact->contact.id).status().code() == StatusCode::not_found));
  BOOST_TEST(store->find_patients(hcp3, {})->total == 0);

  // hcp2 edits; hcp1 still reads the result.
  icure::Patient edited = *seen;
  edited.note = "edited by hcp2";
  REQUIRE_OK(store->update_patient(hcp2, edited));
  BOOST_TEST(*store->get_patient(hcp1, *patient->id)->note == "edited by hcp2");
}

BOOST_FIXTURE_TEST_CASE(a_missing_key_is_reported_as_key_missing, StoreFixture) {
  auto patient = store->create_patient(hcp1, make_patient("Petit", "Marc", "male", 19700101));
  REQUIRE_OK(patient);
  keychain.drop(hcp1.hcp_id);
  BOOST_TEST((store->get_patient(hcp1, *patient->id).status().code() == StatusCode::key_missing));
  BOOST_TEST((store->find_patients(hcp1, {}).status().code() == StatusCode::key_missing));
  BOOST_TEST((store->create_patient(hcp1, make_patient("A", "B", "male", 1)).status().code() ==
              StatusCode::key_missing));
  // Counting needs no key.
  PatientQuery count_only;
  count_only.page.limit = 0;
  BOOST_TEST(store->find_patients(hcp1, count_only)->total == 1);
}

BOOST_FIXTURE_TEST_CASE(a_batch_is_all_or_nothing, StoreFixture) {
  auto hcp_before = store->get_healthcare_party(hcp1.hcp_id);
  REQUIRE_OK(hcp_before);

  WriteBatch failing;
  failing.ops.push_back(CreatePatient{make_patient("Roux", "Lea", "female", 20000101, "lea")});
  failing.ops.push_back(CreateContact{make_contact(88, "8867-4", 20240301), "lea"});
  failing.ops.push_back(CreateContact{make_contact(90, "8867-4", 20240302), "unknown-patient"});
  auto failed = store->apply(hcp1, failing);
  BOOST_REQUIRE(!failed.ok());
  BOOST_TEST((failed.status().code() == StatusCode::not_found));
  BOOST_TEST(failed.status().path() == "ops[2]");
  BOOST_TEST(store->find_patients(hcp1, {})->total == 0);
  BOOST_TEST(store->find_contacts(hcp1, {})->total == 0);
  BOOST_TEST((store->get_patient(hcp1, "lea").status().code() == StatusCode::not_found));
  // Not even the exchange key the first op created on the HCP survived.
  BOOST_TEST(*store->get_healthcare_party(hcp1.hcp_id)->rev == *hcp_before->rev);

  WriteBatch good;
  good.ops.push_back(CreatePatient{make_patient("Roux", "Lea", "female", 20000101, "lea")});
  good.ops.push_back(CreateContact{make_contact(88, "8867-4", 20240301), "lea"});
  auto applied = store->apply(hcp1, good);
  REQUIRE_OK(applied);
  BOOST_REQUIRE(applied->size() == 2);
  const auto& p = std::get<icure::Patient>((*applied)[0]);
  const auto& c = std::get<ContactRecord>((*applied)[1]);
  BOOST_TEST(c.patient_id == *p.id);

  WriteBatch update_and_fail;
  icure::Patient changed = p;
  changed.note = "should not stick";
  update_and_fail.ops.push_back(UpdatePatient{changed});
  update_and_fail.ops.push_back(DeleteContact{*c.contact.id, std::string("1-stale")});
  auto failed2 = store->apply(hcp1, update_and_fail);
  BOOST_TEST((failed2.status().code() == StatusCode::version_conflict));
  BOOST_TEST(failed2.status().path() == "ops[1]");
  BOOST_TEST(*store->get_patient(hcp1, *p.id)->note == "note of Lea Roux");
  REQUIRE_OK(store->get_contact(hcp1, *c.contact.id));
}

namespace {
// Rows of `table` (read straight from the file, as another process would).
long long rows_in(const std::filesystem::path& file, const std::string& table) {
  sqlite3* db = nullptr;
  BOOST_REQUIRE(sqlite3_open(file.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  BOOST_REQUIRE(sqlite3_prepare_v2(db, ("SELECT COUNT(*) FROM " + table).c_str(), -1, &stmt,
                                   nullptr) == SQLITE_OK);
  BOOST_REQUIRE(sqlite3_step(stmt) == SQLITE_ROW);
  const long long n = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return n;
}
}  // namespace

// The store runs with foreign_keys off (no cascade): deleting an entity must
// clear every index table itself, or searches would find ghosts.
// Old versions: kept on update (and share), decrypted for whoever may read the
// current version, dropped by the delete.
BOOST_FIXTURE_TEST_CASE(updates_keep_old_versions_until_the_delete, StoreFixture) {
  auto patient = store->create_patient(hcp1, make_patient("Martin", "Paul", "male", 1980, "pat-1"));
  REQUIRE_OK(patient);
  icure::Patient renamed = *patient;
  renamed.firstName = "Paulo";
  auto second = store->update_patient(hcp1, renamed);
  REQUIRE_OK(second);
  renamed.firstName = "Pablo";
  renamed.rev = second->rev;
  REQUIRE_OK(store->update_patient(hcp1, renamed));

  auto versions = store->patient_versions(hcp1, "pat-1", std::nullopt);  // by FHIR id too
  REQUIRE_OK(versions);
  BOOST_REQUIRE_EQUAL(versions->size(), 3u);
  BOOST_TEST(*(*versions)[0].firstName == "Pablo");
  BOOST_TEST(*(*versions)[1].firstName == "Paulo");
  BOOST_TEST(*(*versions)[2].firstName == "Paul");
  BOOST_TEST(storage::rev_generation((*versions)[2].rev) == 1);
  BOOST_TEST(*(*versions)[1].rev == *second->rev);
  auto first = store->patient_versions(hcp1, *patient->id, 1);
  REQUIRE_OK(first);
  BOOST_REQUIRE_EQUAL(first->size(), 1u);
  BOOST_TEST(*first->front().firstName == "Paul");
  BOOST_TEST(*first->front().rev == *patient->rev);
  BOOST_TEST(*store->patient_versions(hcp1, *patient->id, 3)->front().firstName == "Pablo");
  BOOST_TEST(
      (store->patient_versions(hcp1, *patient->id, 9).status().code() == StatusCode::not_found));
  BOOST_TEST(
      (store->patient_versions(hcp2, *patient->id, 1).status().code() == StatusCode::not_found));

  // A delegate added later reads the older versions too (same content key).
  auto contact = store->create_contact(hcp1, make_contact(70, "8867-4", 20240101), *patient->id);
  REQUIRE_OK(contact);
  icure::Contact changed = contact->contact;
  changed.descr = "changed";
  REQUIRE_OK(store->update_contact(hcp1, changed));
  REQUIRE_OK(store->share_patient(hcp1, *patient->id, hcp2.hcp_id));
  auto seen = store->patient_versions(hcp2, *patient->id, 1);
  REQUIRE_OK(seen);
  BOOST_TEST(*seen->front().firstName == "Paul");
  auto contact_versions = store->contact_versions(hcp2, *contact->contact.id, std::nullopt);
  REQUIRE_OK(contact_versions);
  BOOST_REQUIRE_EQUAL(contact_versions->size(), 3u);  // created, updated, shared
  BOOST_TEST(*(*contact_versions)[1].contact.descr == "changed");
  BOOST_TEST(*(*contact_versions)[2].contact.descr == "contact descr 8867-4");
  BOOST_TEST((*contact_versions)[2].patient_id == *patient->id);
  BOOST_TEST(rows_in(file, "entity_version") == 5);  // patient 1, 2, 3; contact 1, 2

  // Listed by time for type history, newest first, paged by position, to current readers.
  auto listed = store->list_old_patient_versions(hcp2, 0, std::nullopt, 10);
  REQUIRE_OK(listed);
  BOOST_REQUIRE_EQUAL(listed->size(), 3u);
  BOOST_TEST(*(*listed)[0].firstName == "Pablo");  // version 3, replaced by the share
  BOOST_TEST(*(*listed)[2].firstName == "Paul");
  const storage::VersionPosition after{*(*listed)[0].modified, *(*listed)[0].id,
                                       storage::rev_generation((*listed)[0].rev)};
  auto rest = store->list_old_patient_versions(hcp1, 0, after, 10);
  REQUIRE_OK(rest);
  BOOST_REQUIRE_EQUAL(rest->size(), 2u);
  BOOST_TEST(*(*rest)[0].firstName == "Paulo");
  BOOST_TEST(store->list_old_patient_versions(hcp1, 0, std::nullopt, 1)->size() == 1u);
  BOOST_TEST(store->list_old_patient_versions(hcp3, 0, std::nullopt, 10)->empty());
  BOOST_TEST(store->list_old_patient_versions(hcp1, INT64_MAX, std::nullopt, 10)->empty());
  auto old_contacts = store->list_old_contact_versions(hcp1, 0, std::nullopt, 10);
  REQUIRE_OK(old_contacts);
  BOOST_REQUIRE_EQUAL(old_contacts->size(), 2u);
  BOOST_TEST(*old_contacts->front().contact.descr == "changed");
  BOOST_TEST(old_contacts->front().patient_id == *patient->id);

  // The delete keeps nothing readable: the old versions go with it.
  REQUIRE_OK(store->delete_contact(hcp1, *contact->contact.id, std::nullopt));
  REQUIRE_OK(store->delete_patient(hcp1, *patient->id, std::nullopt));
  BOOST_TEST(rows_in(file, "entity_version") == 0);
  BOOST_TEST(
      (store->patient_versions(hcp1, *patient->id, 1).status().code() == StatusCode::deleted));
}

BOOST_FIXTURE_TEST_CASE(deletes_leave_no_index_rows, StoreFixture) {
  auto patient =
      store->create_patient(hcp1, make_patient("Lefèvre", "Anne Marie", "female", 19900505, "p1"));
  REQUIRE_OK(patient);
  auto contact =
      store->create_contact(hcp1, make_contact(72, "8867-4", 20240102103000, "obs-1"), "p1");
  REQUIRE_OK(contact);
  const std::vector<std::string> tables{"patient_reader",     "patient_identifier", "patient_name",
                                        "contact_reader",     "contact_secret_fk",  "service",
                                        "service_identifier", "service_code",       "contact_date"};
  for (const auto& table : tables) {
    BOOST_TEST_INFO(table);
    BOOST_TEST(rows_in(file, table) > 0);
  }

  REQUIRE_OK(store->delete_contact(hcp1, *contact->contact.id, std::nullopt));
  REQUIRE_OK(store->delete_patient(hcp1, *patient->id, std::nullopt));
  for (const auto& table : tables) {
    BOOST_TEST_INFO(table);
    BOOST_TEST(rows_in(file, table) == 0);
  }
  BOOST_TEST(store->find_patients(hcp1, {})->total == 0);
  PatientQuery by_name;
  by_name.names.push_back({{"lefevre"}, TextMatch::prefix});
  BOOST_TEST(store->find_patients(hcp1, by_name)->total == 0);
  ContactQuery by_code;
  by_code.codes.push_back({TokenFilter{std::nullopt, std::string("8867-4")}});
  BOOST_TEST(store->find_contacts(hcp1, by_code)->total == 0);
}

// return_entities = false (bulk imports): the same rows are stored, and the
// results carry the ids and revs only.
BOOST_FIXTURE_TEST_CASE(a_batch_without_entities_back_stores_the_same, StoreFixture) {
  WriteBatch batch;
  batch.return_entities = false;
  batch.ops.push_back(CreatePatient{make_patient("Roux", "Lea", "female", 20000101, "lea")});
  batch.ops.push_back(CreateContact{make_contact(88, "8867-4", 20240301, "obs-lea"), "lea"});
  auto applied = store->apply(hcp1, batch);
  REQUIRE_OK(applied);
  BOOST_REQUIRE(applied->size() == 2);
  const auto& p = std::get<icure::Patient>((*applied)[0]);
  const auto& c = std::get<ContactRecord>((*applied)[1]);
  BOOST_REQUIRE(p.id && p.rev && c.contact.id && c.contact.rev);
  BOOST_TEST(!p.lastName);  // not copied back
  BOOST_TEST(c.patient_id == *p.id);

  auto read = store->get_patient(hcp1, "lea");
  REQUIRE_OK(read);
  BOOST_TEST(*read->id == *p.id);
  BOOST_TEST(*read->rev == *p.rev);
  BOOST_TEST(*read->lastName == "Roux");
  BOOST_TEST(*read->note == "note of Lea Roux");
  auto contact = store->get_contact(hcp1, "obs-lea");
  REQUIRE_OK(contact);
  BOOST_TEST(*contact->contact.rev == *c.contact.rev);
  BOOST_TEST(*contact->contact.services->front().content->at("en").measureValue->value == 88.0);
}

BOOST_FIXTURE_TEST_CASE(healthcare_parties_and_users, StoreFixture) {
  auto hcp = store->get_healthcare_party(hcp1.hcp_id);
  REQUIRE_OK(hcp);
  icure::HealthcareParty duplicate;
  duplicate.id = hcp1.hcp_id;
  BOOST_TEST((store->put_healthcare_party(duplicate).status().code() == StatusCode::conflict));
  icure::HealthcareParty stale = *hcp;
  stale.rev = "1-0000";
  BOOST_TEST((store->put_healthcare_party(stale).status().code() == StatusCode::version_conflict));
  hcp->speciality = "cardiology";
  auto updated = store->put_healthcare_party(*hcp);
  REQUIRE_OK(updated);
  BOOST_TEST(*updated->speciality == "cardiology");
  BOOST_TEST((store->get_healthcare_party("nope").status().code() == StatusCode::not_found));

  icure::User user;
  user.login = "alice";
  user.healthcarePartyId = hcp1.hcp_id;
  user.passwordHash = "$argon2id$fake";
  auto created = store->put_user(user);
  REQUIRE_OK(created);
  BOOST_TEST(*store->get_user_by_login("alice")->id == *created->id);
  BOOST_TEST((store->put_user(user).status().code() == StatusCode::conflict));
  BOOST_TEST((store->get_user_by_login("bob").status().code() == StatusCode::not_found));
  icure::User renamed = *created;
  renamed.email = "alice@example.org";
  REQUIRE_OK(store->put_user(renamed));
  BOOST_TEST((store->put_user(renamed).status().code() == StatusCode::version_conflict));
}

BOOST_FIXTURE_TEST_CASE(calls_from_several_threads_are_serialised, StoreFixture) {
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        auto p = store->create_patient(
            hcp1, make_patient("Thread" + std::to_string(t), "P" + std::to_string(i), "male",
                               19800101, "t" + std::to_string(t) + "-" + std::to_string(i)));
        if (!p.ok() || !store->get_patient(hcp1, *p->id).ok() ||
            !store->find_patients(hcp1, {}).ok())
          ++failures;
      }
    });
  for (auto& t : threads) t.join();
  BOOST_TEST(failures.load() == 0);
  BOOST_TEST(store->find_patients(hcp1, {})->total == 20);
}

BOOST_AUTO_TEST_SUITE_END()
