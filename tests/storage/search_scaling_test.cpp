// The search shapes that keep searches indexed (docs/search.md, "How searches
// stay indexed") return exactly what a plain filter + sort would: the
// member-driven bounded count, the sorted scan above 500 matches, the
// family+given pair rows. Semantics only: no timing.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <functional>
#include <set>

#include "fhirbridge/crypto/primitives.hpp"
#include "store_fixture.hpp"

using namespace fhirbridge;
using namespace fhirbridge::storage;
using fhirbridge::test::make_contact;
using fhirbridge::test::make_patient;
using fhirbridge::test::StoreFixture;

namespace {

// A keyed search's two plans in an explain_*_query answer: the list of the
// matches' keys, and the read of one page item by id.
std::pair<std::string, std::string> keyed_plan(const std::vector<std::string>& plan) {
  std::string keys_plan, page_plan;
  std::string* section = nullptr;
  for (const auto& line : plan) {
    if (line.rfind("-- ", 0) == 0)
      section = line == "-- few matches count (the matches' keys):" ? &keys_plan
                : line == "-- few matches page (each item by id):"  ? &page_plan
                                                                    : nullptr;
    else if (section)
      *section += line + "\n";
  }
  return {keys_plan, page_plan};
}

// A paging cursor as the store encodes one (hex of its JSON), for forging.
std::string cursor_of(const std::string& json) {
  return crypto::to_hex(reinterpret_cast<const std::uint8_t*>(json.data()), json.size());
}

struct Person {
  std::string id, family, given, gender;
  std::int64_t modified = 0;
};

// 560 patients of hcp1, so that "dup" matches more than 500 of them (the
// sorted-scan shape), plus patients hcp1 cannot read.
struct CrowdFixture : StoreFixture {
  std::vector<Person> people;

  CrowdFixture() {
    WriteBatch batch;
    for (int i = 0; i < 560; ++i) {
      const std::string family = i % 8 == 7 ? "Martin" : i % 2 ? "Dupont" : "Dupuis";
      const std::string given = i % 5 == 0 ? "Dupré" : i % 3 == 0 ? "Anne" : "Bob";
      batch.ops.emplace_back(
          CreatePatient{make_patient(family, given, i % 2 ? "male" : "female", 19700101 + i)});
    }
    REQUIRE_OK(store->apply(hcp1, batch));
    WriteBatch hidden;
    for (int i = 0; i < 6; ++i)  // the pair searches must not count these either
      hidden.ops.emplace_back(
          CreatePatient{make_patient(i % 2 ? "Martin" : "Dupont", "Dupré", "male", 19800101)});
    REQUIRE_OK(store->apply(hcp2, hidden));
    reload();
    BOOST_REQUIRE_EQUAL(people.size(), 560u);
  }

  // `people`: every patient hcp1 reads, as stored now.
  void reload() {
    PatientQuery all;
    all.page.limit = 2000;
    auto page = store->find_patients(hcp1, all);
    REQUIRE_OK(page);
    people.clear();
    for (const auto& p : page->items) {
      BOOST_REQUIRE(p.modified && p.gender);
      people.push_back({*p.id, *p.lastName, *p.firstName, *p.gender, *p.modified});
    }
  }

  // Ids of the readable patients that `keep`, in the default order (_lastUpdated, id).
  std::vector<std::string> expected(const std::function<bool(const Person&)>& keep) const {
    std::vector<Person> matches;
    for (const auto& p : people)
      if (keep(p)) matches.push_back(p);
    std::sort(matches.begin(), matches.end(), [](const Person& a, const Person& b) {
      return std::tie(a.modified, a.id) < std::tie(b.modified, b.id);
    });
    std::vector<std::string> ids;
    for (const auto& p : matches) ids.push_back(p.id);
    return ids;
  }

  // Every page of `q` (20 at a time), checking the bounded total on each.
  std::vector<std::string> all_pages(PatientQuery q, std::size_t expected_total) {
    q.page.limit = 20;
    q.page.count_up_to = 1000;
    std::vector<std::string> ids;
    int pages = 0;
    do {
      auto page = store->find_patients(hcp1, q);
      BOOST_REQUIRE_MESSAGE(page.ok(), page.status().to_string());
      BOOST_TEST(page->total == static_cast<std::int64_t>(expected_total));
      for (const auto& p : page->items) ids.push_back(*p.id);
      q.page.cursor = page->next_cursor;
    } while (q.page.cursor && ++pages < 100);
    return ids;
  }

  // The lines of SQLite's plan for `q`'s count query(ies).
  std::string count_plan(const PatientQuery& q) {
    auto plan = store->explain_patient_query(hcp1, q);
    REQUIRE_OK(plan);
    std::string lines;
    bool in_count = false;
    for (const auto& line : *plan) {
      if (line.rfind("-- ", 0) == 0) in_count = line.find("count") != std::string::npos;
      if (in_count) lines += line + "\n";
    }
    return lines;
  }

  void check(const PatientQuery& q, const std::function<bool(const Person&)>& keep) {
    const auto want = expected(keep);
    BOOST_TEST(all_pages(q, want.size()) == want, boost::test_tools::per_element());
    // A small bound: exact up to it, -1 ("more") beyond; an accurate total.
    PatientQuery bounded = q;
    bounded.page.limit = 5;
    bounded.page.count_up_to = 10;
    auto page = store->find_patients(hcp1, bounded);
    REQUIRE_OK(page);
    BOOST_TEST(page->total == (want.size() > 10 ? -1 : static_cast<std::int64_t>(want.size())));
    bounded.page.count_up_to = -1;
    page = store->find_patients(hcp1, bounded);
    REQUIRE_OK(page);
    BOOST_TEST(page->total == static_cast<std::int64_t>(want.size()));
    bounded.page.limit = 0;  // count only
    page = store->find_patients(hcp1, bounded);
    REQUIRE_OK(page);
    BOOST_TEST(page->total == static_cast<std::int64_t>(want.size()));
  }
};

bool starts_dup(const std::string& s) {
  return s.rfind("Dup", 0) == 0;
}

TextCondition text(std::string value, TextMatch match = TextMatch::prefix) {
  return TextCondition{{std::move(value)}, match};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(search_scaling)

BOOST_FIXTURE_TEST_CASE(name_prefix_over_500_matches_counts_each_patient_once, CrowdFixture) {
  // Dupont + Dupré matches through two tokens: counted and returned once.
  PatientQuery dup;
  dup.names = {text("dup")};
  const auto matches = [](const Person& p) { return starts_dup(p.family) || starts_dup(p.given); };
  BOOST_REQUIRE_GT(expected(matches).size(), 500u);  // the sorted-scan shape
  check(dup, matches);

  // A plain condition on the patient row next to the driving member.
  PatientQuery dup_male = dup;
  dup_male.genders = {{"male"}};
  check(dup_male, [&](const Person& p) { return matches(p) && p.gender == "male"; });

  // Two members: the exact one drives, the prefix is checked per candidate.
  PatientQuery anne_dupu;
  anne_dupu.given = {text("anne", TextMatch::exact)};
  anne_dupu.names = {text("dupu")};
  check(anne_dupu, [](const Person& p) { return p.given == "Anne" && p.family == "Dupuis"; });

  // No member can drive (:contains): same results.
  PatientQuery contains;
  contains.names = {text("upr", TextMatch::contains)};
  check(contains, [](const Person& p) { return p.given == "Dupré"; });
}

// A name prefix of three characters or more with many matches pages through
// its head's rows (schema migration 12): the same patients, once each, in
// order, through every page, with bounded and accurate totals. A prefix that
// is its whole head ("dup") is not checked again; a longer one, one of a
// given field, a second name condition and a plain condition are checked per
// row; a patient another reader shares is found, that reader's rows are not.
BOOST_FIXTURE_TEST_CASE(name_prefix_with_many_matches_pages_through_its_head, CrowdFixture) {
  WriteBatch more;
  for (int i = 0; i < 320; ++i)
    more.ops.emplace_back(CreatePatient{make_patient("Dupontel", i % 2 ? "Anne" : "Marc",
                                                     i % 2 ? "male" : "female", 19900101 + i)});
  REQUIRE_OK(store->apply(hcp1, more));
  PatientQuery of_hcp2;
  auto hidden = store->find_patients(hcp2, of_hcp2);
  REQUIRE_OK(hidden);
  BOOST_REQUIRE(!hidden->items.empty());
  REQUIRE_OK(store->share_patient(hcp2, *hidden->items.front().id, hcp1.hcp_id));
  reload();
  BOOST_REQUIRE_EQUAL(people.size(), 881u);

  const auto starts = [](const std::string& s, const char* prefix) {
    return s.rfind(prefix, 0) == 0;
  };
  PatientQuery dup;
  dup.names = {text("DUP")};
  check(dup, [](const Person& p) { return starts_dup(p.family) || starts_dup(p.given); });

  PatientQuery dupo;
  dupo.names = {text("dupo")};
  const auto is_dupo = [&](const Person& p) { return starts(p.family, "Dupo"); };
  BOOST_REQUIRE_GT(expected(is_dupo).size(), 500u);  // the sorted scan
  check(dupo, is_dupo);

  PatientQuery family_dup;
  family_dup.family = {text("dup")};
  check(family_dup, [](const Person& p) { return starts_dup(p.family); });

  PatientQuery dup_male_anne = dup;
  dup_male_anne.genders = {{"male"}};
  dup_male_anne.given = {text("ann")};
  check(dup_male_anne, [](const Person& p) {
    return (starts_dup(p.family) || starts_dup(p.given)) && p.gender == "male" && p.given == "Anne";
  });

  for (const auto& [q, keep] :
       {std::pair<PatientQuery, std::function<bool(const Person&)>>{dupo, is_dupo},
        {dup, [](const Person& p) { return starts_dup(p.family) || starts_dup(p.given); }}}) {
    PatientQuery newest_first = q;
    newest_first.page.sort = {{"_lastUpdated", true}, {"_id", true}};
    auto want = expected(keep);
    std::reverse(want.begin(), want.end());
    BOOST_TEST(all_pages(newest_first, want.size()) == want, boost::test_tools::per_element());
  }
}

BOOST_FIXTURE_TEST_CASE(family_given_pair_keeps_the_other_conditions, CrowdFixture) {
  PatientQuery pair;
  pair.family = {text("martin", TextMatch::exact)};
  pair.given = {text("DUPRE", TextMatch::exact)};
  check(pair, [](const Person& p) { return p.family == "Martin" && p.given == "Dupré"; });

  PatientQuery pair_female = pair;
  pair_female.genders = {{"female"}};
  check(pair_female, [](const Person& p) {
    return p.family == "Martin" && p.given == "Dupré" && p.gender == "female";
  });

  // A second family condition is still applied.
  PatientQuery two_families = pair;
  two_families.family.push_back(text("dupont", TextMatch::exact));
  check(two_families, [](const Person&) { return false; });

  // `family` prefix is not a pair: found through the other shapes.
  PatientQuery prefix_family = pair;
  prefix_family.family = {text("mart")};
  check(prefix_family, [](const Person& p) { return p.family == "Martin" && p.given == "Dupré"; });
}

BOOST_FIXTURE_TEST_CASE(count_walks_the_driving_index, CrowdFixture) {
  PatientQuery dup;
  dup.names = {text("dup")};
  const std::string plan = count_plan(dup);
  BOOST_TEST_MESSAGE(plan);
  BOOST_TEST(plan.find("patient_name_token") != std::string::npos, plan);
  // The whole list is not collected first (what `p.id IN (SELECT ...)` did).
  BOOST_TEST(plan.find("LIST SUBQUERY") == std::string::npos, plan);
  BOOST_TEST(plan.find("SCAN p") == std::string::npos, plan);
}

// A name search of few matches in the (_lastUpdated, id) order: its count
// lists the keys of the patient_name rows, which carry the patient's
// `modified`, the page is cut from them and only its patients are read: each
// patient once, in either direction, through every page, and where an
// update moved it.
BOOST_FIXTURE_TEST_CASE(few_name_matches_page_on_the_name_rows, CrowdFixture) {
  PatientQuery dupu;
  dupu.names = {text("dupu")};
  const auto is_dupuis = [](const Person& p) { return p.family == "Dupuis"; };
  BOOST_REQUIRE_LE(expected(is_dupuis).size(), 500u);  // the few-matches shape
  auto plan = store->explain_patient_query(hcp1, dupu);
  REQUIRE_OK(plan);
  const auto [keys_plan, page_plan] = keyed_plan(*plan);
  BOOST_TEST_MESSAGE(keys_plan + page_plan);
  BOOST_TEST(keys_plan.find("COVERING INDEX patient_name_token") != std::string::npos, keys_plan);
  BOOST_TEST(keys_plan.find("SEARCH p ") == std::string::npos, keys_plan);
  BOOST_TEST(
      page_plan.find("SEARCH p USING INDEX sqlite_autoindex_patient_1 (id=?)") != std::string::npos,
      page_plan);
  BOOST_TEST(page_plan.find("patient_name") == std::string::npos, page_plan);
  check(dupu, is_dupuis);

  PatientQuery newest_first = dupu;
  newest_first.page.sort = {{"_lastUpdated", true}, {"_id", true}};
  auto want = expected(is_dupuis);
  std::reverse(want.begin(), want.end());
  BOOST_TEST(all_pages(newest_first, want.size()) == want, boost::test_tools::per_element());

  auto oldest = store->get_patient(hcp1, expected(is_dupuis).front());
  REQUIRE_OK(oldest);
  auto updated = store->update_patient(hcp1, *oldest);
  REQUIRE_OK(updated);
  for (auto& p : people)
    if (p.id == *updated->id) p.modified = *updated->modified;
  BOOST_TEST(expected(is_dupuis).back() == *updated->id);
  check(dupu, is_dupuis);

  // A cursor of this sort whose keys have the wrong types is refused, not misread.
  auto with_cursor = [&](const std::string& json) {
    PatientQuery q = dupu;
    q.page.limit = 20;
    q.page.cursor = cursor_of(json);
    return store->find_patients(hcp1, q);
  };
  auto from_start = with_cursor(R"({"s":"_lastUpdated:asc,_id:asc","k":[0,""]})");
  REQUIRE_OK(from_start);
  BOOST_TEST(from_start->items.size() == 20u);
  BOOST_TEST((with_cursor(R"({"s":"_lastUpdated:asc,_id:asc","k":["1",2]})").status().code() ==
              StatusCode::invalid));
}

// _lastUpdated (a sync client's "what changed since"): a range on the
// patient_modified index for the page and for the count, not a scan.
BOOST_FIXTURE_TEST_CASE(last_updated_is_a_modified_index_range, CrowdFixture) {
  std::int64_t newest = 0;
  for (const auto& p : people) newest = std::max(newest, p.modified);
  PatientQuery since;
  since.last_updated = {{newest, std::nullopt, false}};
  check(since, [&](const Person& p) { return p.modified >= newest; });
  since.last_updated = {{newest + 1, std::nullopt, false}};
  check(since, [&](const Person& p) { return p.modified > newest; });
  PatientQuery before;
  before.last_updated = {{std::nullopt, newest - 1, false}};
  check(before, [&](const Person& p) { return p.modified < newest; });

  auto plan = store->explain_patient_query(hcp1, since);
  REQUIRE_OK(plan);
  std::string all;
  for (const auto& line : *plan) all += line + "\n";
  BOOST_TEST_MESSAGE(all);
  BOOST_TEST(all.find("patient_modified (modified>?)") != std::string::npos, all);
  BOOST_TEST(all.find("SCAN p") == std::string::npos, all);
}

// The pair count reads the patient row only for a condition on it: the
// readers and the pair rows alone give the total, and a deleted patient's
// pair row goes with it.
BOOST_FIXTURE_TEST_CASE(family_given_pair_counts_without_the_patient_row, CrowdFixture) {
  PatientQuery pair;
  pair.family = {text("Martin", TextMatch::exact)};
  pair.given = {text("Dupré", TextMatch::exact)};
  const std::string plain = count_plan(pair);
  BOOST_TEST(plain.find("patient_name_token") != std::string::npos, plain);
  BOOST_TEST(plain.find("SEARCH p ") == std::string::npos, plain);
  PatientQuery pair_female = pair;
  pair_female.genders = {{"female"}};
  const std::string with_gender = count_plan(pair_female);
  BOOST_TEST(with_gender.find("SEARCH p ") != std::string::npos, with_gender);

  auto martin_dupre = [](const Person& p) { return p.family == "Martin" && p.given == "Dupré"; };
  const auto before = expected(martin_dupre);
  BOOST_REQUIRE_GE(before.size(), 2u);
  REQUIRE_OK(store->delete_patient(hcp1, before.front(), std::nullopt));
  people.erase(std::find_if(people.begin(), people.end(),
                            [&](const Person& p) { return p.id == before.front(); }));
  check(pair, martin_dupre);
  check(pair_female, [&](const Person& p) { return martin_dupre(p) && p.gender == "female"; });
}

BOOST_FIXTURE_TEST_CASE(contact_count_and_pages, StoreFixture) {
  auto anne = store->create_patient(hcp1, make_patient("Lefèvre", "Anne", "female", 1990));
  REQUIRE_OK(anne);
  struct Made {
    std::string id, loinc, tag;
    std::int64_t date, modified;
  };
  std::vector<Made> made;
  WriteBatch batch;
  for (int i = 0; i < 40; ++i) {
    const std::string loinc = i % 3 ? "8867-4" : "29463-7";
    const std::string tag = i % 2 ? "vital" : "weight";
    const std::int64_t date = 20240101000000 + (i % 10) * 1000000;
    batch.ops.emplace_back(CreateContact{make_contact(60 + i, loinc, date, "", tag), *anne->id});
    made.push_back({"", loinc, tag, date, 0});
  }
  auto written = store->apply(hcp1, batch);
  REQUIRE_OK(written);
  REQUIRE_OK(
      store->create_contact(hcp2, make_contact(1, "8867-4", 20240101000000),
                            *store->create_patient(hcp2, make_patient("X", "Y", "male", 1))->id));
  // Ids and modified, matched back through the measure value (60 + i).
  ContactQuery all;
  all.page.limit = 100;
  auto listed = store->find_contacts(hcp1, all);
  REQUIRE_OK(listed);
  BOOST_REQUIRE_EQUAL(listed->items.size(), 40u);
  for (const auto& r : listed->items) {
    const auto i = static_cast<std::size_t>(
        *r.contact.services->front().content->at("en").measureValue->value - 60);
    made[i].id = *r.contact.id;
    BOOST_REQUIRE(r.contact.modified);
    made[i].modified = *r.contact.modified;
  }
  auto check = [&](ContactQuery q, const std::function<bool(const Made&)>& keep) {
    std::vector<Made> want;
    for (const auto& m : made)
      if (keep(m)) want.push_back(m);
    std::sort(want.begin(), want.end(), [](const Made& a, const Made& b) {
      return std::tie(a.modified, a.id) < std::tie(b.modified, b.id);
    });
    std::vector<std::string> want_ids, got;
    for (const auto& m : want) want_ids.push_back(m.id);
    q.page.limit = 7;
    q.page.count_up_to = 1000;
    do {
      auto page = store->find_contacts(hcp1, q);
      REQUIRE_OK(page);
      BOOST_TEST(page->total == static_cast<std::int64_t>(want.size()));
      for (const auto& r : page->items) got.push_back(*r.contact.id);
      q.page.cursor = page->next_cursor;
    } while (q.page.cursor && got.size() <= want.size());
    BOOST_TEST(got == want_ids, boost::test_tools::per_element());
    q.page.cursor.reset();
    q.page.count_up_to = 3;
    auto bounded = store->find_contacts(hcp1, q);
    REQUIRE_OK(bounded);
    BOOST_TEST(bounded->total == (want.size() > 3 ? -1 : static_cast<std::int64_t>(want.size())));
  };
  ContactQuery by_code;
  by_code.codes = {{{std::string("LOINC"), std::string("8867-4")}}};
  check(by_code, [](const Made& m) { return m.loinc == "8867-4"; });
  ContactQuery code_and_tag = by_code;
  code_and_tag.tags = {{{std::string("CD-ITEM"), std::string("weight")}}};
  check(code_and_tag, [](const Made& m) { return m.loinc == "8867-4" && m.tag == "weight"; });
  ContactQuery code_and_date = by_code;
  code_and_date.dates = {{20240103, 20240105, false}};
  check(code_and_date, [](const Made& m) {
    return m.loinc == "8867-4" && m.date >= 20240103000000 && m.date <= 20240105235959;
  });
  ContactQuery system_only;  // a token without a value cannot drive
  system_only.codes = {{{std::string("LOINC"), std::nullopt}}};
  system_only.dates = {{20240103, std::nullopt, true}};  // negated: cannot drive either
  check(system_only, [](const Made& m) { return m.date < 20240103000000; });
}

// A code search of few matches in the (_lastUpdated, id) order: its count
// lists the keys of the service_code rows, which carry the contact's
// `modified` (migration 7), the page is cut from them and only its contacts
// are read: every page in either direction, a contact an update moved, a
// contact with the code twice counted once, and a cursor of the wrong types
// refused.
BOOST_FIXTURE_TEST_CASE(few_code_matches_page_on_the_code_rows, StoreFixture) {
  auto anne = store->create_patient(hcp1, make_patient("Lefèvre", "Anne", "female", 1990));
  REQUIRE_OK(anne);
  WriteBatch batch;
  for (int i = 0; i < 30; ++i)
    batch.ops.emplace_back(
        CreateContact{make_contact(60 + i, i % 3 ? "8867-4" : "29463-7", 20240101), *anne->id});
  REQUIRE_OK(store->apply(hcp1, batch));
  // One contact whose two services both carry the code.
  icure::Contact twice = make_contact(99, "8867-4", 20240102);
  twice.services->push_back(twice.services->front());
  twice.services->back().id.reset();
  REQUIRE_OK(store->create_contact(hcp1, twice, *anne->id));
  REQUIRE_OK(store->create_contact(  // another reader's: never counted
      hcp2, make_contact(1, "8867-4", 20240101),
      *store->create_patient(hcp2, make_patient("X", "Y", "male", 1))->id));

  ContactQuery by_code;
  by_code.codes = {{{std::string("LOINC"), std::string("8867-4")}}};
  auto plan = store->explain_contact_query(hcp1, by_code);
  REQUIRE_OK(plan);
  const auto [keys_plan, page_plan] = keyed_plan(*plan);
  BOOST_TEST_MESSAGE(keys_plan + page_plan);
  BOOST_TEST(keys_plan.find("COVERING INDEX service_code_code") != std::string::npos, keys_plan);
  BOOST_TEST(keys_plan.find("SEARCH c ") == std::string::npos, keys_plan);
  BOOST_TEST(keys_plan.find("TEMP B-TREE") == std::string::npos, keys_plan);
  BOOST_TEST(
      page_plan.find("SEARCH c USING INDEX sqlite_autoindex_contact_1 (id=?)") != std::string::npos,
      page_plan);
  BOOST_TEST(page_plan.find("service_code") == std::string::npos, page_plan);

  struct Made {
    std::string id;
    std::int64_t modified;
  };
  auto expected = [&] {
    ContactQuery all;
    all.page.limit = 100;
    auto listed = store->find_contacts(hcp1, all);
    REQUIRE_OK(listed);
    std::vector<Made> matches;
    for (const auto& r : listed->items)
      if (r.contact.services->front().codes->front().code == "8867-4")
        matches.push_back({*r.contact.id, *r.contact.modified});
    std::sort(matches.begin(), matches.end(), [](const Made& a, const Made& b) {
      return std::tie(a.modified, a.id) < std::tie(b.modified, b.id);
    });
    std::vector<std::string> ids;
    for (const auto& m : matches) ids.push_back(m.id);
    return ids;
  };
  auto all_pages = [&](ContactQuery q) {
    q.page.limit = 4;
    std::vector<std::string> ids;
    do {
      auto page = store->find_contacts(hcp1, q);
      REQUIRE_OK(page);
      BOOST_TEST(page->total == 21);
      for (const auto& r : page->items) ids.push_back(*r.contact.id);
      q.page.cursor = page->next_cursor;
    } while (q.page.cursor && ids.size() < 100);
    return ids;
  };
  auto want = expected();
  BOOST_REQUIRE_EQUAL(want.size(), 21u);
  BOOST_TEST(all_pages(by_code) == want, boost::test_tools::per_element());
  ContactQuery newest_first = by_code;
  newest_first.page.sort = {{"_lastUpdated", true}, {"_id", true}};
  auto reversed = want;
  std::reverse(reversed.begin(), reversed.end());
  BOOST_TEST(all_pages(newest_first) == reversed, boost::test_tools::per_element());

  auto oldest = store->get_contact(hcp1, want.front());
  REQUIRE_OK(oldest);
  REQUIRE_OK(store->update_contact(hcp1, oldest->contact));
  want = expected();
  BOOST_TEST(want.back() == *oldest->contact.id);
  BOOST_TEST(all_pages(by_code) == want, boost::test_tools::per_element());

  auto with_cursor = [&](const std::string& json) {
    ContactQuery q = by_code;
    q.page.limit = 4;
    q.page.cursor = cursor_of(json);
    return store->find_contacts(hcp1, q);
  };
  auto from_start = with_cursor(R"({"s":"_lastUpdated:asc,_id:asc","k":[0,""]})");
  REQUIRE_OK(from_start);
  BOOST_TEST(from_start->items.size() == 4u);
  BOOST_TEST((with_cursor(R"({"s":"_lastUpdated:asc,_id:asc","k":["1",2]})").status().code() ==
              StatusCode::invalid));
}

BOOST_AUTO_TEST_SUITE_END()
