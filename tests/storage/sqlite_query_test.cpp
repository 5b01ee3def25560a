// Every PatientQuery / ContactQuery condition, totals, sorting and keyset paging.
#include <boost/test/unit_test.hpp>

#include <set>

#include "store_fixture.hpp"

using namespace fhirbridge;
using namespace fhirbridge::storage;
using fhirbridge::test::make_contact;
using fhirbridge::test::make_patient;
using fhirbridge::test::StoreFixture;

namespace {

struct PeopleFixture : StoreFixture {
  std::map<std::string, std::string> ids;  // given name -> store id

  PeopleFixture() {
    add(make_patient("Dupont", "Élodie", "female", 19740312, "f-elodie"));
    add(make_patient("Dupond", "Jean-Pierre", "male", 19600101));
    add(make_patient("Van der Berg", "Anna", "female", 19991231));
    add(make_patient("Müller", "Jürgen", "male", 19740000));  // fuzzy date
    auto inactive = make_patient("Zoé", "Chloé", "female", 20100615);
    inactive.active = false;
    add(inactive);
    auto with_ssin = make_patient("Martin", "Paul", "unknown", 19450508);
    icure::Identifier ssin;
    ssin.system = "urn:be:ssin";
    ssin.value = "45050812345";
    with_ssin.identifier = std::vector<icure::Identifier>{ssin};
    add(with_ssin);
    add(make_patient("Adam", "Eve", "female", 19000101));
    // Someone else's patient never shows up.
    REQUIRE_OK(store->create_patient(hcp2, make_patient("Dupont", "Hidden", "male", 19740312)));
  }
  void add(icure::Patient p) {
    auto given = *p.firstName;
    auto created = store->create_patient(hcp1, std::move(p));
    REQUIRE_OK(created);
    ids[given] = *created->id;
  }
  std::set<std::string> givens(const PatientQuery& q) {
    auto page = store->find_patients(hcp1, q);
    BOOST_REQUIRE_MESSAGE(page.ok(), page.status().to_string());
    std::set<std::string> out;
    for (const auto& p : page->items) out.insert(*p.firstName);
    BOOST_TEST(page->total == static_cast<std::int64_t>(out.size()));
    return out;
  }
};

TextCondition text(std::vector<std::string> any_of, TextMatch match = TextMatch::prefix) {
  return TextCondition{std::move(any_of), match};
}

using Names = std::set<std::string>;

// SQLite's plan lines of a search (explain_*_query), one string.
std::string plan_text(const Result<std::vector<std::string>>& plan) {
  REQUIRE_OK(plan);
  std::string all;
  for (const auto& line : *plan) all += line + "\n";
  return all;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(sqlite_query)

BOOST_FIXTURE_TEST_CASE(patient_conditions, PeopleFixture) {
  PatientQuery all;
  BOOST_TEST(givens(all).size() == 7u);

  PatientQuery by_id;
  by_id.ids = std::vector<std::string>{ids["Anna"], "f-elodie", "unknown"};
  BOOST_TEST((givens(by_id) == Names{"Anna", "Élodie"}));
  PatientQuery no_ids;
  no_ids.ids = std::vector<std::string>{};
  BOOST_TEST(givens(no_ids).empty());

  PatientQuery by_identifier;
  by_identifier.identifiers = {{{std::string("urn:be:ssin"), std::string("45050812345")}}};
  BOOST_TEST((givens(by_identifier) == Names{"Paul"}));
  PatientQuery by_value_only;
  by_value_only.identifiers = {{{std::nullopt, std::string("f-elodie")}}};
  BOOST_TEST((givens(by_value_only) == Names{"Élodie"}));
  PatientQuery wrong_system;
  wrong_system.identifiers = {{{std::string("other"), std::string("45050812345")}}};
  BOOST_TEST(givens(wrong_system).empty());

  // Names: prefix (default), accent and case blind, on any part and any word.
  PatientQuery dup;
  dup.names = {text({"DUP"})};
  BOOST_TEST((givens(dup) == Names{"Élodie", "Jean-Pierre"}));
  PatientQuery elo;
  elo.names = {text({"elo"})};
  BOOST_TEST((givens(elo) == Names{"Élodie"}));
  PatientQuery accented_query;
  accented_query.names = {text({"MÜLL"})};
  BOOST_TEST((givens(accented_query) == Names{"Jürgen"}));
  PatientQuery word;
  word.names = {text({"berg"})};
  BOOST_TEST((givens(word) == Names{"Anna"}));
  PatientQuery pierre;
  pierre.names = {text({"pierre"})};
  BOOST_TEST((givens(pierre) == Names{"Jean-Pierre"}));
  PatientQuery contains;
  contains.names = {text({"ont"}, TextMatch::contains)};
  BOOST_TEST((givens(contains) == Names{"Élodie"}));
  PatientQuery exact;
  exact.names = {text({"dupon"}, TextMatch::exact)};
  BOOST_TEST(givens(exact).empty());
  exact.names = {text({"DUPONT"}, TextMatch::exact)};
  BOOST_TEST((givens(exact) == Names{"Élodie"}));
  PatientQuery either;
  either.names = {text({"zoe", "adam"})};
  BOOST_TEST((givens(either) == Names{"Chloé", "Eve"}));
  PatientQuery both;  // AND of two conditions
  both.names = {text({"dup"}), text({"jean"})};
  BOOST_TEST((givens(both) == Names{"Jean-Pierre"}));

  PatientQuery family;
  family.family = {text({"eve"})};
  BOOST_TEST(givens(family).empty());
  family.family = {text({"adam"})};
  BOOST_TEST((givens(family) == Names{"Eve"}));
  PatientQuery given;
  given.given = {text({"chlo"})};
  BOOST_TEST((givens(given) == Names{"Chloé"}));
  given.given = {text({"zoe"})};
  BOOST_TEST(givens(given).empty());

  PatientQuery gender;
  gender.genders = {{"male", "unknown"}};
  BOOST_TEST((givens(gender) == Names{"Jean-Pierre", "Jürgen", "Paul"}));

  PatientQuery born_1974;
  born_1974.birth_dates = {{19740000, 19741231, false}};
  BOOST_TEST((givens(born_1974) == Names{"Élodie", "Jürgen"}));
  PatientQuery not_1974 = born_1974;
  not_1974.birth_dates[0].negate = true;
  BOOST_TEST((givens(not_1974) == Names{"Jean-Pierre", "Anna", "Chloé", "Paul", "Eve"}));
  PatientQuery after_2000;
  after_2000.birth_dates = {{20000101, std::nullopt, false}};
  BOOST_TEST((givens(after_2000) == Names{"Chloé"}));
  PatientQuery before_1950;
  before_1950.birth_dates = {{std::nullopt, 19491231, false}};
  BOOST_TEST((givens(before_1950) == Names{"Paul", "Eve"}));

  PatientQuery inactive;
  inactive.active = false;
  BOOST_TEST((givens(inactive) == Names{"Chloé"}));
  PatientQuery active;
  active.active = true;
  BOOST_TEST(givens(active).size() == 6u);

  PatientQuery combined;
  combined.genders = {{"female"}};
  combined.birth_dates = {{19700101, 20001231, false}};
  combined.names = {text({"du"})};  // "d" would also match the word "der"
  BOOST_TEST((givens(combined) == Names{"Élodie"}));
}

BOOST_FIXTURE_TEST_CASE(patient_sorting_and_stable_paging, PeopleFixture) {
  PatientQuery q;
  q.page.limit = 3;
  q.page.sort = {{"family", false}};
  std::vector<std::string> seen;
  std::optional<std::string> cursor;
  int pages = 0;
  do {
    q.page.cursor = cursor;
    auto page = store->find_patients(hcp1, q);
    REQUIRE_OK(page);
    BOOST_TEST(page->total == (pages == 0 ? 7 : 8));  // "Aaron" counts, but is not returned
    for (const auto& p : page->items) seen.push_back(*p.lastName);
    cursor = page->next_cursor;
    ++pages;
    if (pages == 1) {
      // A patient inserted before the cursor does not shift later pages.
      REQUIRE_OK(store->create_patient(hcp1, make_patient("Aaron", "New", "male", 19500101)));
    }
  } while (cursor && pages < 10);
  BOOST_TEST(pages == 3);
  const std::vector<std::string> expected{"Adam",   "Dupond",       "Dupont", "Martin",
                                          "Müller", "Van der Berg", "Zoé"};
  BOOST_TEST(seen == expected, boost::test_tools::per_element());

  // Descending birth date, two keys.
  PatientQuery by_birth;
  by_birth.page.limit = 2;
  by_birth.page.sort = {{"birthdate", true}, {"given", false}};
  std::vector<std::int64_t> dates;
  cursor.reset();
  do {
    by_birth.page.cursor = cursor;
    auto page = store->find_patients(hcp1, by_birth);
    REQUIRE_OK(page);
    for (const auto& p : page->items) dates.push_back(*p.dateOfBirth);
    cursor = page->next_cursor;
  } while (cursor);
  BOOST_TEST(dates.size() == 8u);
  BOOST_TEST(std::is_sorted(dates.rbegin(), dates.rend()));

  // A cursor from another sort, garbage, an unknown sort field: invalid.
  PatientQuery first;
  first.page.limit = 1;
  auto first_page = store->find_patients(hcp1, first);
  REQUIRE_OK(first_page);
  BOOST_REQUIRE(first_page->next_cursor);
  PatientQuery other_sort = q;
  other_sort.page.cursor = first_page->next_cursor;
  BOOST_TEST((store->find_patients(hcp1, other_sort).status().code() == StatusCode::invalid));
  other_sort.page.cursor = "zz-not-hex";
  BOOST_TEST((store->find_patients(hcp1, other_sort).status().code() == StatusCode::invalid));
  // Also when nothing matches (such a search reads no page).
  PatientQuery no_match_bad_cursor;
  no_match_bad_cursor.family.push_back({{"nobody-has-this-name"}, TextMatch::exact});
  no_match_bad_cursor.page.cursor = "zz-not-hex";
  BOOST_TEST(
      (store->find_patients(hcp1, no_match_bad_cursor).status().code() == StatusCode::invalid));
  PatientQuery bad_sort;
  bad_sort.page.sort = {{"shoe-size", false}};
  BOOST_TEST((store->find_patients(hcp1, bad_sort).status().code() == StatusCode::invalid));

  // Count only.
  PatientQuery count;
  count.page.limit = 0;
  auto counted = store->find_patients(hcp1, count);
  REQUIRE_OK(counted);
  BOOST_TEST(counted->total == 8);
  BOOST_TEST(counted->items.empty());
  BOOST_TEST(!counted->next_cursor);
}

BOOST_FIXTURE_TEST_CASE(name_search_uses_the_token_index, PeopleFixture) {
  PatientQuery q;
  q.names = {text({"dup"})};
  const std::string all = plan_text(store->explain_patient_query(hcp1, q));
  BOOST_TEST_MESSAGE(all);
  BOOST_TEST(all.find("patient_name_token") != std::string::npos, all);
  BOOST_TEST(all.find("SCAN patient_name") == std::string::npos, all);
}

// A name condition checked per patient (the sorted scan of a search with many
// matches, or a second name condition beside the driver) reads only
// patient_name_patient's entries (patient_id, token, field, whole): no look-up
// of the name rows themselves. Schema migration 11.
BOOST_FIXTURE_TEST_CASE(name_conditions_are_checked_per_patient_on_a_covering_index,
                        PeopleFixture) {
  auto plan_of = [&](const PatientQuery& q) {
    return plan_text(store->explain_patient_query(hcp1, q));
  };
  PatientQuery prefix;  // longer than its head (schema migration 12): checked per patient
  prefix.names = {text({"dupo"})};
  const std::string scan = plan_of(prefix);
  BOOST_TEST_MESSAGE(scan);
  BOOST_TEST(scan.find("many matches: sorted scan page") != std::string::npos, scan);
  BOOST_TEST(scan.find("COVERING INDEX patient_name_patient") != std::string::npos, scan);
  BOOST_TEST(scan.find("USING INDEX patient_name_patient") == std::string::npos, scan);

  PatientQuery two_names;  // the family drives, the given name is checked per patient
  two_names.family = {text({"dupont"}, TextMatch::exact)};
  two_names.given = {text({"an"})};
  const std::string both = plan_of(two_names);
  BOOST_TEST_MESSAGE(both);
  BOOST_TEST(both.find("COVERING INDEX patient_name_patient") != std::string::npos, both);
  BOOST_TEST(both.find("USING INDEX patient_name_patient") == std::string::npos, both);
}

// A name prefix of three characters or more reads its head's rows (schema
// migration 12), which patient_name_token yields in (modified, id) order: a
// `name` prefix that is its whole head drives the count and every page from
// them (one row per patient: no DISTINCT, no patient row, no sort); a longer
// prefix pages through them when it has many matches, checked per patient.
BOOST_FIXTURE_TEST_CASE(a_name_prefix_reads_its_head_rows, PeopleFixture) {
  // The plan's sections whose heading holds `what`.
  auto plan_of = [&](const PatientQuery& q, const char* what) {
    std::string lines;
    bool in = false;
    auto plan = store->explain_patient_query(hcp1, q);
    REQUIRE_OK(plan);
    for (const auto& line : *plan) {
      if (line.rfind("-- ", 0) == 0) in = line.find(what) != std::string::npos;
      if (in) lines += line + "\n";
    }
    return lines;
  };
  const std::string head_rows = "SEARCH d USING COVERING INDEX patient_name_token";
  PatientQuery whole_head;
  whole_head.names = {text({"Dup"})};
  const std::string count = plan_of(whole_head, "name prefix head count");
  const std::string page = plan_of(whole_head, "name prefix head page");
  BOOST_TEST_MESSAGE(count + page);
  BOOST_TEST(count.find(head_rows) != std::string::npos, count);
  BOOST_TEST(count.find("TEMP B-TREE") == std::string::npos, count);
  BOOST_TEST(count.find("SEARCH p ") == std::string::npos, count);
  BOOST_TEST(count.find("patient_name_patient") == std::string::npos, count);
  BOOST_TEST(page.find(head_rows) != std::string::npos, page);
  BOOST_TEST(page.find("TEMP B-TREE") == std::string::npos, page);  // index order
  BOOST_TEST(page.find("patient_name_patient") == std::string::npos, page);

  PatientQuery longer;
  longer.names = {text({"dupo"})};
  const std::string scan = plan_of(longer, "sorted scan");
  BOOST_TEST_MESSAGE(scan);
  BOOST_TEST(scan.find(head_rows) != std::string::npos, scan);
  BOOST_TEST(scan.find("patient_modified") == std::string::npos, scan);
  BOOST_TEST(scan.find("TEMP B-TREE") == std::string::npos, scan);
  BOOST_TEST(scan.find("COVERING INDEX patient_name_patient") != std::string::npos, scan);

  PatientQuery short_prefix;  // shorter than a head: the scan of every patient in order
  short_prefix.names = {text({"du"})};
  BOOST_TEST(plan_of(short_prefix, "sorted scan").find("patient_modified") != std::string::npos);
  PatientQuery exact_drives = whole_head;  // a narrower member drives: no head search
  exact_drives.family = {text({"dupont"}, TextMatch::exact)};
  BOOST_TEST(plan_of(exact_drives, "name prefix head").empty());
}

// Name rows are kept per reader (schema migration 9): a name search checks
// the caller's number on its index entries. A shared patient is found by
// each reader, counted once, in every search shape (keyed prefix, exact,
// family+given pair, two conditions, a plain condition on the patient row,
// another order); who does not read it finds nothing, and a delete takes
// every reader's rows.
BOOST_FIXTURE_TEST_CASE(name_searches_check_the_reader_on_the_name_rows, PeopleFixture) {
  REQUIRE_OK(store->share_patient(hcp1, ids.at("Jean-Pierre"), hcp2.hcp_id));
  auto shapes = [] {
    std::vector<PatientQuery> all(6);
    all[0].names = {text({"dup"})};
    all[1].names = {text({"DUPOND"}, TextMatch::exact)};
    all[2].family = {text({"dupond"}, TextMatch::exact)};
    all[2].given = {text({"jean-pierre"}, TextMatch::exact)};
    all[3].names = {text({"dup"}), text({"pierre"})};
    all[4].names = {text({"dup"})};
    all[4].genders = {{"male"}};
    all[5].names = {text({"dup"})};
    all[5].page.sort = {{"family", false}};
    return all;
  }();
  // hcp1: Élodie Dupont and Jean-Pierre Dupond for "dup"; hcp2: its own
  // Hidden Dupont and the shared Jean-Pierre; hcp3: nothing.
  const std::vector<std::set<std::string>> for_hcp1{
      {"Élodie", "Jean-Pierre"}, {"Jean-Pierre"}, {"Jean-Pierre"},
      {"Jean-Pierre"},           {"Jean-Pierre"}, {"Élodie", "Jean-Pierre"}};
  const std::vector<std::set<std::string>> for_hcp2{
      {"Hidden", "Jean-Pierre"}, {"Jean-Pierre"},           {"Jean-Pierre"},
      {"Jean-Pierre"},           {"Hidden", "Jean-Pierre"}, {"Hidden", "Jean-Pierre"}};
  auto found = [&](const Principal& who, const PatientQuery& q) {
    auto page = store->find_patients(who, q);
    BOOST_REQUIRE_MESSAGE(page.ok(), page.status().to_string());
    std::set<std::string> givens;
    for (const auto& p : page->items) givens.insert(*p.firstName);
    BOOST_TEST(page->total == static_cast<std::int64_t>(page->items.size()));
    return givens;
  };
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    BOOST_TEST_CONTEXT("shape " << i) {
      BOOST_TEST((found(hcp1, shapes[i]) == for_hcp1[i]));
      BOOST_TEST((found(hcp2, shapes[i]) == for_hcp2[i]));
      BOOST_TEST(found(hcp3, shapes[i]).empty());
    }
  }
  REQUIRE_OK(store->delete_patient(hcp1, ids.at("Jean-Pierre"), {}));
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    BOOST_TEST_CONTEXT("shape " << i << " after the delete") {
      BOOST_TEST(found(hcp1, shapes[i]).count("Jean-Pierre") == 0u);
      BOOST_TEST(found(hcp2, shapes[i]).count("Jean-Pierre") == 0u);
    }
  }
}

// Code rows are kept per reader too (schema migration 10). A contact shared
// with its patient is found by code by each reader, once, in every shape
// (keyed code, code + tag, code + date, a patient's contacts, another order);
// who does not read it finds nothing, and a delete takes every reader's rows.
BOOST_FIXTURE_TEST_CASE(code_searches_check_the_reader_on_the_code_rows, StoreFixture) {
  auto anne = store->create_patient(hcp1, make_patient("Lefèvre", "Anne", "female", 1990));
  auto own = store->create_patient(hcp2, make_patient("Own", "Patient", "male", 1980));
  REQUIRE_OK(anne);
  REQUIRE_OK(own);
  auto shared = store->create_contact(hcp1, make_contact(61, "8867-4", 20240101), *anne->id);
  REQUIRE_OK(shared);
  REQUIRE_OK(store->create_contact(hcp1, make_contact(62, "8867-4", 20240102), *anne->id));
  auto of_hcp2 = store->create_contact(hcp2, make_contact(63, "8867-4", 20240103), *own->id);
  REQUIRE_OK(of_hcp2);
  REQUIRE_OK(store->share_patient(hcp1, *anne->id, hcp2.hcp_id));  // her contacts follow
  const std::string& shared_id = *shared->contact.id;
  auto shapes = [&] {
    std::vector<ContactQuery> all(5);
    for (auto& q : all) q.codes = {{TokenFilter{"LOINC", "8867-4"}}};
    all[1].tags = {{TokenFilter{"CD-ITEM", "vital"}}};
    all[2].dates = {DateCondition{20240101, 20240101}};
    all[3].patient_ids = std::vector<std::string>{*anne->id, *own->id};
    all[4].page.sort = {{"date", true}};
    return all;
  }();
  const std::vector<std::size_t> for_hcp1{2, 2, 1, 2, 2};
  const std::vector<std::size_t> for_hcp2{3, 3, 1, 3, 3};
  auto found = [&](const Principal& who, const ContactQuery& q) {
    auto page = store->find_contacts(who, q);
    BOOST_REQUIRE_MESSAGE(page.ok(), page.status().to_string());
    std::set<std::string> ids;
    for (const auto& r : page->items) ids.insert(*r.contact.id);
    BOOST_TEST(page->total == static_cast<std::int64_t>(page->items.size()));
    BOOST_TEST(ids.size() == page->items.size());
    return ids;
  };
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    BOOST_TEST_CONTEXT("shape " << i) {
      auto one = found(hcp1, shapes[i]);
      BOOST_TEST(one.size() == for_hcp1[i]);
      BOOST_TEST(one.count(shared_id) == 1u);
      BOOST_TEST(one.count(*of_hcp2->contact.id) == 0u);
      auto two = found(hcp2, shapes[i]);
      BOOST_TEST(two.size() == for_hcp2[i]);
      BOOST_TEST(two.count(shared_id) == 1u);
      BOOST_TEST(found(hcp3, shapes[i]).empty());
    }
  }
  REQUIRE_OK(store->delete_contact(hcp1, shared_id, {}));
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    BOOST_TEST_CONTEXT("shape " << i << " after the delete") {
      BOOST_TEST(found(hcp1, shapes[i]).count(shared_id) == 0u);
      BOOST_TEST(found(hcp2, shapes[i]).count(shared_id) == 0u);
    }
  }
}

// A reader's number is drawn inside the write that first needs it and
// remembered only for that write: a number drawn by a write that fails is
// undone with it, the next owner gets that number, and the first owner draws
// another. Kept in memory past the failed write, it would tag the first
// owner's rows with the second owner's number.
BOOST_FIXTURE_TEST_CASE(an_owner_number_drawn_by_a_failed_write_is_not_kept, StoreFixture) {
  WriteBatch failing;  // hcp3's first write: its second patient takes a taken FHIR id
  failing.ops.emplace_back(CreatePatient{make_patient("Alpha", "Three", "male", 1980, "same")});
  failing.ops.emplace_back(CreatePatient{make_patient("Alpha", "Again", "male", 1981, "same")});
  BOOST_REQUIRE(!store->apply(hcp3, failing).ok());
  REQUIRE_OK(store->create_patient(hcp2, make_patient("Alpha", "Two", "male", 1982)));
  REQUIRE_OK(store->create_patient(hcp3, make_patient("Alpha", "Three", "male", 1983)));
  PatientQuery alpha;
  alpha.names = {text({"alpha"})};
  for (const auto& [who, given] : {std::pair{hcp2, "Two"}, {hcp3, "Three"}}) {
    auto page = store->find_patients(who, alpha);
    REQUIRE_OK(page);
    BOOST_TEST(page->total == 1);
    BOOST_REQUIRE(page->items.size() == 1u);
    BOOST_TEST(*page->items[0].firstName == given);
  }
}

// A code search reads service_code only through its two covering indexes:
// the count walks (code, type, kind, contact_id) without a row look-up or a
// temporary B-tree for DISTINCT, and the sorted scan checks each contact on
// (contact_id, kind, type, code). Schema migration 6.
BOOST_FIXTURE_TEST_CASE(code_search_reads_service_code_from_covering_indexes, StoreFixture) {
  auto patient = store->create_patient(hcp1, make_patient("Dupont", "Anne", "female", 1990));
  REQUIRE_OK(patient);
  REQUIRE_OK(store->create_contact(hcp1, make_contact(64, "8867-4", 20240101), *patient->id));
  auto text_of = [&](const ContactQuery& q) {
    return plan_text(store->explain_contact_query(hcp1, q));
  };
  ContactQuery by_code;
  by_code.codes.push_back({TokenFilter{"LOINC", "8867-4"}});
  by_code.page.limit = 10;
  const std::string plan = text_of(by_code);
  BOOST_TEST_MESSAGE(plan);
  BOOST_TEST(plan.find("COVERING INDEX service_code_code") != std::string::npos, plan);
  BOOST_TEST(plan.find("COVERING INDEX service_code_contact") != std::string::npos, plan);
  BOOST_TEST(plan.find("USING INDEX service_code") == std::string::npos, plan);  // no row look-up
  BOOST_TEST(plan.find("TEMP B-TREE FOR DISTINCT") == std::string::npos, plan);
  BOOST_TEST(plan.find("many matches: sorted scan page") != std::string::npos, plan);

  ContactQuery of_one_patient = by_code;  // the patient's contacts, checked per contact
  of_one_patient.patient_ids = std::vector<std::string>{*patient->id};
  const std::string patient_plan = text_of(of_one_patient);
  BOOST_TEST(patient_plan.find("COVERING INDEX service_code_contact") != std::string::npos,
             patient_plan);
  BOOST_TEST(patient_plan.find("USING INDEX service_code") == std::string::npos, patient_plan);

  auto found = store->find_contacts(hcp1, by_code);
  REQUIRE_OK(found);
  BOOST_TEST(found->total == 1);
}

// A patient's contacts in the default order (Observation?subject=) are a
// keyed search: the count lists the contacts' (modified, id), and a page of
// them is cut from that list and read by id, in both directions, across
// cursors, with another reader's contacts and the FHIR id resolved.
BOOST_FIXTURE_TEST_CASE(a_patients_contacts_are_paged_from_their_listed_keys, StoreFixture) {
  auto anne = store->create_patient(hcp1, make_patient("Lefèvre", "Anne", "female", 1990, "anne"));
  auto bob = store->create_patient(hcp1, make_patient("Leroy", "Bob", "male", 1980));
  REQUIRE_OK(anne);
  REQUIRE_OK(bob);
  std::vector<std::string> annes;  // in creation order: ascending (modified, id)
  for (int day = 1; day <= 7; ++day) {
    auto c =
        store->create_contact(hcp1, make_contact(60 + day, "8867-4", 20240100 + day), *anne->id);
    REQUIRE_OK(c);
    annes.push_back(*c->contact.id);
    REQUIRE_OK(store->create_contact(hcp1, make_contact(80, "29463-7", 20240100 + day), *bob->id));
  }
  REQUIRE_OK(store->share_patient(hcp1, *anne->id, hcp2.hcp_id));  // her contacts follow
  auto own = store->create_contact(hcp2, make_contact(1, "8867-4", 20240101), *anne->id);
  REQUIRE_OK(own);  // hcp2's own contact of Anne: not hcp1's to see

  ContactQuery q;
  q.patient_ids = std::vector<std::string>{"anne"};  // the FHIR id
  q.page.limit = 3;
  const std::string plan = plan_text(store->explain_contact_query(hcp1, q));
  BOOST_TEST(plan.find("few matches count (the matches' keys)") != std::string::npos, plan);
  BOOST_TEST(plan.find("page (each item by id)") != std::string::npos, plan);

  // Every page of `query` for `who`: the ids in page order, each page's total.
  auto pages_of = [&](const Principal& who, ContactQuery query) {
    std::vector<std::string> ids;
    std::set<std::int64_t> totals;
    std::optional<std::string> cursor;
    for (int pages = 0; pages < 20; ++pages) {
      query.page.cursor = cursor;
      auto page = store->find_contacts(who, query);
      BOOST_REQUIRE_MESSAGE(page.ok(), page.status().to_string());
      for (const auto& r : page->items) {
        BOOST_TEST(r.patient_id == *anne->id);
        ids.push_back(*r.contact.id);
      }
      totals.insert(page->total);
      cursor = page->next_cursor;
      if (!cursor) break;
    }
    return std::pair{ids, totals};
  };
  auto [ascending, totals] = pages_of(hcp1, q);
  BOOST_TEST(ascending == annes);
  BOOST_TEST((totals == std::set<std::int64_t>{7}));

  q.page.sort = {{"_lastUpdated", true}};
  auto [descending, descending_totals] = pages_of(hcp1, q);
  BOOST_TEST(descending == std::vector<std::string>(annes.rbegin(), annes.rend()));
  BOOST_TEST((descending_totals == std::set<std::int64_t>{7}));

  q.page.sort.clear();
  q.patient_ids = std::vector<std::string>{*anne->id, *bob->id};  // two patients: 14
  q.page.limit = 0;
  auto count_only = store->find_contacts(hcp1, q);
  REQUIRE_OK(count_only);
  BOOST_TEST(count_only->total == 14);
  BOOST_TEST(count_only->items.empty());

  q.patient_ids = std::vector<std::string>{*anne->id};
  q.page.limit = 3;
  auto [for_hcp2, hcp2_totals] = pages_of(hcp2, q);  // shared ones and its own
  std::vector<std::string> expected = annes;
  expected.push_back(*own->contact.id);
  BOOST_TEST(for_hcp2 == expected);
  BOOST_TEST((hcp2_totals == std::set<std::int64_t>{8}));
  auto [for_hcp3, hcp3_totals] = pages_of(hcp3, q);
  BOOST_TEST(for_hcp3.empty());

  // More matches than the total is counted to: -1, the same pages (the keys
  // are listed up to the sorted-scan threshold whatever the total asks).
  q.page.count_up_to = 2;
  auto [bounded, bounded_totals] = pages_of(hcp1, q);
  BOOST_TEST(bounded == annes);
  BOOST_TEST((bounded_totals == std::set<std::int64_t>{-1}));

  // A deleted contact leaves the list, and the keys stay in order.
  REQUIRE_OK(store->delete_contact(hcp1, annes[3], {}));
  q.page.count_up_to = 1000;
  auto [after_delete, after_delete_totals] = pages_of(hcp1, q);
  annes.erase(annes.begin() + 3);
  BOOST_TEST(after_delete == annes);
  BOOST_TEST((after_delete_totals == std::set<std::int64_t>{6}));

  // Past the count's bound (the sorted-scan threshold, 500) the keys are not
  // all listed: the page is the SQL walk of every match, sorted, as before.
  WriteBatch many;
  for (int i = 0; i < 520; ++i)
    many.ops.emplace_back(CreateContact{make_contact(i, "8867-4", 20240201), *bob->id});
  REQUIRE_OK(store->apply(hcp1, many));
  ContactQuery bobs;
  bobs.patient_ids = std::vector<std::string>{*bob->id};
  bobs.page.limit = 100;
  bobs.page.count_up_to = 10;
  std::set<std::string> seen;
  std::optional<std::string> cursor;
  std::int64_t last_modified = 0;
  for (int pages = 0; pages < 20; ++pages) {
    bobs.page.cursor = cursor;
    auto page = store->find_contacts(hcp1, bobs);
    REQUIRE_OK(page);
    BOOST_TEST(page->total == -1);
    for (const auto& r : page->items) {
      BOOST_TEST(*r.contact.modified >= last_modified);
      last_modified = *r.contact.modified;
      seen.insert(*r.contact.id);
    }
    cursor = page->next_cursor;
    if (!cursor) break;
  }
  BOOST_TEST(seen.size() == 527u);
}

BOOST_FIXTURE_TEST_CASE(contact_conditions_and_paging, StoreFixture) {
  auto anne = store->create_patient(hcp1, make_patient("Lefèvre", "Anne", "female", 1990, "anne"));
  auto bob = store->create_patient(hcp1, make_patient("Leroy", "Bob", "male", 1980));
  REQUIRE_OK(anne);
  REQUIRE_OK(bob);
  std::vector<std::string> contact_ids;
  std::vector<std::int64_t> modified;
  // 5 heart rates for Anne on 5 days, 2 weights for Bob.
  for (int day = 1; day <= 5; ++day) {
    auto c = store->create_contact(
        hcp1,
        make_contact(60 + day, "8867-4", 20240100000000 + day * 1000000 + 83000,
                     "hr-" + std::to_string(day)),
        *anne->id);
    REQUIRE_OK(c);
    contact_ids.push_back(*c->contact.id);
    modified.push_back(*c->contact.modified);
  }
  for (int i = 0; i < 2; ++i)
    REQUIRE_OK(store->create_contact(
        hcp1, make_contact(80 + i, "29463-7", 20230601 + i, "", "weight"), *bob->id));
  REQUIRE_OK(
      store->create_contact(hcp2, make_contact(1, "8867-4", 20240101),
                            *store->create_patient(hcp2, make_patient("X", "Y", "male", 1))->id));

  auto count = [&](const ContactQuery& q) {
    auto page = store->find_contacts(hcp1, q);
    BOOST_REQUIRE_MESSAGE(page.ok(), page.status().to_string());
    return page->total;
  };
  BOOST_TEST(count({}) == 7);

  ContactQuery by_patient;
  by_patient.patient_ids = std::vector<std::string>{"anne"};  // FHIR id works too
  BOOST_TEST(count(by_patient) == 5);
  by_patient.patient_ids = std::vector<std::string>{*anne->id, *bob->id};
  BOOST_TEST(count(by_patient) == 7);

  ContactQuery by_ids;
  by_ids.ids = std::vector<std::string>{contact_ids[0], "hr-2"};
  BOOST_TEST(count(by_ids) == 2);

  ContactQuery by_code;
  by_code.codes = {{{std::string("LOINC"), std::string("29463-7")}}};
  BOOST_TEST(count(by_code) == 2);
  by_code.codes = {{{std::nullopt, std::string("8867-4")}, {std::nullopt, std::string("29463-7")}}};
  BOOST_TEST(count(by_code) == 7);
  by_code.codes = {{{std::string("SNOMED"), std::string("8867-4")}}};
  BOOST_TEST(count(by_code) == 0);

  ContactQuery by_tag;
  by_tag.tags = {{{std::string("CD-ITEM"), std::string("weight")}}};
  BOOST_TEST(count(by_tag) == 2);

  ContactQuery by_identifier;
  by_identifier.identifiers = {{{std::string("https://dxm.icure.dev"), std::string("hr-3")}}};
  BOOST_TEST(count(by_identifier) == 1);

  ContactQuery by_date;  // YYYYMMDD bounds are widened to whole days
  by_date.dates = {{20240102, 20240104, false}};
  BOOST_TEST(count(by_date) == 3);
  by_date.dates = {{20240102000000, 20240102235959, true}};
  BOOST_TEST(count(by_date) == 6);
  by_date.dates = {{std::nullopt, 20231231, false}};
  BOOST_TEST(count(by_date) == 2);  // Bob's YYYYMMDD value dates

  // _lastUpdated: the contact's modified time (epoch ms); Bob's came later.
  ContactQuery by_modified;
  by_modified.last_updated = {{modified[1], modified[3], false}};
  BOOST_TEST(count(by_modified) == 3);
  by_modified.last_updated = {{modified[4] + 1, std::nullopt, false}};
  BOOST_TEST(count(by_modified) == 2);
  by_modified.last_updated = {{modified[1], modified[3], true}};
  BOOST_TEST(count(by_modified) == 4);
  by_modified.last_updated = {{std::nullopt, modified[0], false}};
  by_modified.codes = {{{std::nullopt, std::string("8867-4")}}};
  BOOST_TEST(count(by_modified) == 1);

  ContactQuery combined;
  combined.patient_ids = std::vector<std::string>{*anne->id};
  combined.codes = {{{std::string("LOINC"), std::string("8867-4")}}};
  combined.dates = {{20240103, std::nullopt, false}};
  BOOST_TEST(count(combined) == 3);

  // Paging by date descending: 3 pages of 2, 2, 1 for Anne.
  ContactQuery paged;
  paged.patient_ids = std::vector<std::string>{*anne->id};
  paged.page.limit = 2;
  paged.page.sort = {{"date", true}};
  std::vector<double> values;
  std::optional<std::string> cursor;
  int pages = 0;
  do {
    paged.page.cursor = cursor;
    auto page = store->find_contacts(hcp1, paged);
    REQUIRE_OK(page);
    BOOST_TEST(page->total == 5);
    for (const auto& r : page->items) {
      BOOST_TEST(r.patient_id == *anne->id);
      values.push_back(*r.contact.services->front().content->at("en").measureValue->value);
    }
    cursor = page->next_cursor;
    ++pages;
  } while (cursor && pages < 10);
  BOOST_TEST(pages == 3);
  BOOST_TEST((values == std::vector<double>{65, 64, 63, 62, 61}));
}

BOOST_AUTO_TEST_SUITE_END()
