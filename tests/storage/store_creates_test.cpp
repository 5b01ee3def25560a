// Creates: store-assigned ids are time-ordered (docs/storage.md), a big batch
// links every contact to its patient, and a contact created after its patient
// changed or vanished earlier in the same batch.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <string>
#include <variant>
#include <vector>

#include "store_fixture.hpp"

using namespace fhirbridge;
using namespace fhirbridge::storage;
using namespace fhirbridge::test;

BOOST_AUTO_TEST_SUITE(store_creates)

// Store-assigned ids are time-ordered UUID v7 (patients, contacts, services).
BOOST_FIXTURE_TEST_CASE(store_ids_are_time_ordered_uuids, StoreFixture) {
  auto first = store->create_patient(hcp1, make_patient("Roux", "Lea", "female", 20000101));
  REQUIRE_OK(first);
  auto second = store->create_patient(hcp1, make_patient("Roux", "Max", "male", 20010101));
  REQUIRE_OK(second);
  for (const auto* p : {&*first, &*second}) {
    BOOST_TEST(p->id->size() == 36u);
    BOOST_TEST((*p->id)[14] == '7');
  }
  auto contact = store->create_contact(hcp1, make_contact(72, "8867-4", 20240301), *second->id);
  REQUIRE_OK(contact);
  BOOST_TEST((*contact->contact.id)[14] == '7');
  BOOST_TEST((*(*contact->contact.services)[0].id)[14] == '7');
  auto read = store->get_contact(hcp1, *contact->contact.id);
  REQUIRE_OK(read);
  BOOST_TEST(read->patient_id == *second->id);
  BOOST_TEST(*read->contact.descr == "contact descr 8867-4");
}

// Every patient and every contact of a big batch is stored, readable, and
// linked to the right patient.
BOOST_FIXTURE_TEST_CASE(a_big_batch_links_each_contact_to_its_patient, StoreFixture) {
  REQUIRE_OK(store->create_patient(hcp1, make_patient("Warm", "Up", "male", 19700101)));
  WriteBatch batch;
  std::vector<std::string> ids;
  for (int i = 0; i < 80; ++i) {
    icure::Patient p = make_patient("Fam" + std::to_string(i), "Giv", "female", 19800101);
    p.id = "00000000-0000-7000-8000-" + std::to_string(100000000000 + i);
    ids.push_back(*p.id);
    batch.ops.push_back(CreatePatient{p});
  }
  for (int i = 0; i < 80; ++i)
    batch.ops.push_back(
        CreateContact{make_contact(60 + i, "8867-4", 20240301), ids[static_cast<std::size_t>(i)]});
  auto applied = store->apply(hcp1, batch);
  REQUIRE_OK(applied);
  BOOST_REQUIRE(applied->size() == 160u);
  for (int i = 0; i < 80; ++i) {
    const auto& record = std::get<ContactRecord>((*applied)[static_cast<std::size_t>(80 + i)]);
    BOOST_TEST(record.patient_id == ids[static_cast<std::size_t>(i)]);
    auto read = store->get_contact(hcp1, *record.contact.id);
    REQUIRE_OK(read);
    BOOST_TEST(read->patient_id == ids[static_cast<std::size_t>(i)]);
    const auto& service = (*read->contact.services)[0];
    BOOST_TEST(*service.content->at("en").measureValue->value == 60.0 + i);
  }
  // Another healthcare party sees none of it.
  BOOST_TEST(store->find_contacts(hcp2, {})->total == 0);
}

// A contact of a patient that an earlier op of the same batch updates.
BOOST_FIXTURE_TEST_CASE(a_contact_after_its_patient_changed_in_the_batch, StoreFixture) {
  auto patient = store->create_patient(hcp1, make_patient("Roux", "Lea", "female", 20000101));
  REQUIRE_OK(patient);
  icure::Patient changed = *patient;
  changed.note = "updated";
  WriteBatch batch;
  batch.ops.push_back(UpdatePatient{changed});
  batch.ops.push_back(CreateContact{make_contact(75, "8867-4", 20240301), *patient->id});
  auto applied = store->apply(hcp1, batch);
  REQUIRE_OK(applied);
  const auto& record = std::get<ContactRecord>((*applied)[1]);
  auto read = store->get_contact(hcp1, *record.contact.id);
  REQUIRE_OK(read);
  BOOST_TEST(read->patient_id == *patient->id);
  ContactQuery of_patient;
  of_patient.patient_ids = std::vector<std::string>{*patient->id};
  BOOST_TEST(store->find_contacts(hcp1, of_patient)->total == 1);
}

// ... and of one an earlier op deletes: not found, nothing kept.
BOOST_FIXTURE_TEST_CASE(a_contact_after_its_patient_was_deleted_in_the_batch, StoreFixture) {
  auto patient = store->create_patient(hcp1, make_patient("Roux", "Lea", "female", 20000101));
  REQUIRE_OK(patient);
  WriteBatch batch;
  batch.ops.push_back(DeletePatient{*patient->id, std::nullopt});
  batch.ops.push_back(CreateContact{make_contact(75, "8867-4", 20240301), *patient->id});
  auto applied = store->apply(hcp1, batch);
  BOOST_REQUIRE(!applied.ok());
  BOOST_TEST((applied.status().code() == StatusCode::not_found));
  BOOST_TEST(applied.status().path() == "ops[1]");
  REQUIRE_OK(store->get_patient(hcp1, *patient->id));  // the batch was rolled back
  BOOST_TEST(store->find_contacts(hcp1, {})->total == 0);
}

// A create whose id is already taken is refused; the stored one is kept.
BOOST_FIXTURE_TEST_CASE(a_duplicate_id_is_a_conflict, StoreFixture) {
  auto patient = store->create_patient(hcp1, make_patient("Roux", "Lea", "female", 20000101));
  REQUIRE_OK(patient);
  icure::Patient again = make_patient("Other", "One", "male", 19990101);
  again.id = patient->id;
  auto duplicate = store->create_patient(hcp1, again);
  BOOST_TEST((duplicate.status().code() == StatusCode::conflict));
  BOOST_TEST(*store->get_patient(hcp1, *patient->id)->lastName == "Roux");
}

// A patient's name rows are written several per INSERT (16 at most): with 20
// given names (41 rows: the family, 20 given names, 20 family+given pairs)
// every row is written, on a create and on an update, and none of another
// patient's.
BOOST_FIXTURE_TEST_CASE(every_name_row_is_written_past_one_insert_of_rows, StoreFixture) {
  auto many_given = [](const std::string& family, const std::string& stem) {
    icure::Patient p = make_patient(family, stem + "00", "female", 19900101);
    for (int i = 1; i < 20; ++i)
      (*p.names)[0].firstNames->push_back(stem + (i < 10 ? "0" : "") + std::to_string(i));
    return p;
  };
  auto other = store->create_patient(hcp1, make_patient("Other", "Given07", "male", 19800101));
  REQUIRE_OK(other);
  auto patient = store->create_patient(hcp1, many_given("Manyname", "Given"));
  REQUIRE_OK(patient);
  auto ids_of = [&](PatientQuery q) {
    auto page = store->find_patients(hcp1, q);
    BOOST_REQUIRE(page.ok());
    std::vector<std::string> ids;
    for (const auto& p : page->items) ids.push_back(*p.id);
    return ids;
  };
  auto by = [](const std::string& family, const std::string& given) {
    PatientQuery q;
    if (!family.empty()) q.family = {TextCondition{{family}, TextMatch::exact}};
    if (!given.empty()) q.given = {TextCondition{{given}, TextMatch::exact}};
    return q;
  };
  for (int i = 0; i < 20; ++i) {
    const std::string given = std::string("given") + (i < 10 ? "0" : "") + std::to_string(i);
    const auto expected = i == 7 ? std::vector<std::string>{*other->id, *patient->id}
                                 : std::vector<std::string>{*patient->id};
    auto found = ids_of(by("", given));
    std::sort(found.begin(), found.end());
    auto sorted = expected;
    std::sort(sorted.begin(), sorted.end());
    BOOST_TEST(found == sorted, given);
    BOOST_TEST(ids_of(by("manyname", given)) == std::vector<std::string>{*patient->id}, given);
  }
  BOOST_TEST(ids_of(by("other", "given07")) == std::vector<std::string>{*other->id});

  icure::Patient renamed = many_given("Manyname", "Renamed");
  renamed.id = patient->id;
  renamed.rev = patient->rev;
  REQUIRE_OK(store->update_patient(hcp1, renamed));
  BOOST_TEST(ids_of(by("manyname", "given19")).empty());
  BOOST_TEST(ids_of(by("", "given03")).empty());
  BOOST_TEST(ids_of(by("manyname", "renamed19")) == std::vector<std::string>{*patient->id});
  BOOST_TEST(ids_of(by("", "renamed00")) == std::vector<std::string>{*patient->id});
}

// A create checks its id in one statement (a live row: conflict; a
// tombstone: the next generation), for contacts as for patients.
BOOST_FIXTURE_TEST_CASE(a_contact_id_is_refused_while_live_and_continues_after_a_delete,
                        StoreFixture) {
  auto patient = store->create_patient(hcp1, make_patient("Roux", "Lea", "female", 20000101));
  REQUIRE_OK(patient);
  icure::Contact contact = make_contact(70, "8867-4", 20240301);
  contact.id = "00000000-0000-7000-8000-0000000000c1";
  auto created = store->create_contact(hcp1, contact, *patient->id);
  REQUIRE_OK(created);
  BOOST_TEST(created->contact.rev->rfind("1-", 0) == 0);
  auto twice = store->create_contact(hcp1, contact, *patient->id);
  BOOST_TEST((twice.status().code() == StatusCode::conflict));
  BOOST_TEST(twice.status().path() == "Contact.id");
  REQUIRE_OK(store->delete_contact(hcp1, *contact.id, std::nullopt));
  auto again = store->create_contact(hcp1, contact, *patient->id);
  REQUIRE_OK(again);
  BOOST_TEST(again->contact.rev->rfind("3-", 0) == 0);  // created 1, deleted 2
  auto read = store->get_contact(hcp1, *contact.id);
  REQUIRE_OK(read);
  BOOST_TEST(read->patient_id == *patient->id);
}

BOOST_AUTO_TEST_SUITE_END()
