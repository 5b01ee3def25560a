// Pure FHIR search translation: query-string decoding and params -> store
// queries, without a store.
#include <boost/test/unit_test.hpp>

#include "fhirbridge/mapping/code_systems.hpp"
#include "fhirbridge/server/detail/search_plan.hpp"
#include "fhirbridge/server/search.hpp"

namespace fhirbridge::server {
namespace {

std::vector<QueryParam> q(std::string_view raw) {
  auto parsed = parse_query(raw);
  BOOST_REQUIRE_MESSAGE(parsed.ok(), parsed.status().to_string());
  return *parsed;
}

detail::TranslatedSearch<detail::PatientPlan> patients(std::string_view raw, bool strict = false) {
  SearchOptions options;
  options.strict = strict;
  auto t = detail::translate_patient_search(q(raw), options);
  BOOST_REQUIRE_MESSAGE(t.ok(), t.status().to_string());
  return std::move(*t);
}

detail::TranslatedSearch<detail::ContactPlan> observations(std::string_view raw) {
  auto t = detail::translate_observation_search(q(raw), SearchOptions{});
  BOOST_REQUIRE_MESSAGE(t.ok(), t.status().to_string());
  return std::move(*t);
}

Status patient_error(std::string_view raw, bool strict = false) {
  SearchOptions options;
  options.strict = strict;
  auto t = detail::translate_patient_search(q(raw), options);
  BOOST_REQUIRE(!t.ok());
  return t.status();
}

Status observation_error(std::string_view raw) {
  auto t = detail::translate_observation_search(q(raw), SearchOptions{});
  BOOST_REQUIRE(!t.ok());
  return t.status();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(search_query_string)

BOOST_AUTO_TEST_CASE(decodes_plus_percent_and_modifiers) {
  auto params =
      q("?name=Donald+Duck&_has%3AObservation%3Apatient%3Acode=15074-8&family:exact=D%C3%BCck&"
        "subject:Patient.name=x&&flag");
  BOOST_REQUIRE_EQUAL(params.size(), 5u);
  BOOST_TEST(params[0].name == "name");
  BOOST_TEST(params[0].value == "Donald Duck");
  BOOST_TEST(params[1].name == "_has:Observation:patient:code");
  BOOST_TEST(params[1].modifier == "");
  BOOST_TEST(params[2].name == "family");
  BOOST_TEST(params[2].modifier == "exact");
  BOOST_TEST(params[2].value ==
             "D\xC3\xBC"
             "ck");
  BOOST_TEST(params[3].name == "subject");
  BOOST_TEST(params[3].modifier == "Patient.name");
  BOOST_TEST(params[4].name == "flag");
  BOOST_TEST(params[4].value == "");
}

BOOST_AUTO_TEST_CASE(tutorial_trailing_ampersand) {
  auto params = q("_id=pat2&name=Donald&");
  BOOST_REQUIRE_EQUAL(params.size(), 2u);
  BOOST_TEST(params[1].value == "Donald");
  BOOST_TEST(q("").empty());
  BOOST_TEST(q("?").empty());
}

BOOST_AUTO_TEST_CASE(bad_percent_escapes_are_invalid) {
  for (std::string_view raw : {"name=%", "name=%4", "name=%zz", "na%g1me=x"}) {
    auto parsed = parse_query(raw);
    BOOST_REQUIRE(!parsed.ok());
    BOOST_TEST((parsed.status().code() == StatusCode::invalid));
    BOOST_TEST(parsed.status().path() == "query");
  }
}

BOOST_AUTO_TEST_CASE(split_or_honours_escaped_commas) {
  auto parts = detail::split_or("a,b\\,c,,d");
  BOOST_REQUIRE_EQUAL(parts.size(), 3u);
  BOOST_TEST(parts[1] == "b,c");
}

BOOST_AUTO_TEST_CASE(encode_round_trips) {
  std::vector<QueryParam> params{{"name", "exact", "Donald Duck&Co"},
                                 {"code", "", "http://loinc.org|1,2"}};
  auto back = q(detail::encode_query(params));
  BOOST_REQUIRE_EQUAL(back.size(), 2u);
  BOOST_TEST(back[0].modifier == "exact");
  BOOST_TEST(back[0].value == "Donald Duck&Co");
  BOOST_TEST(back[1].value == "http://loinc.org|1,2");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(search_translate_patient)

BOOST_AUTO_TEST_CASE(tutorial_search) {
  auto t = patients("_id=pat2&name=Donald&");
  BOOST_REQUIRE_EQUAL(t.plan.id_or_fhir_id.size(), 1u);
  BOOST_TEST(t.plan.id_or_fhir_id[0] == std::vector<std::string>{"pat2"});
  BOOST_REQUIRE_EQUAL(t.plan.query.names.size(), 1u);
  BOOST_TEST(t.plan.query.names[0].any_of == std::vector<std::string>{"Donald"});
  BOOST_TEST((t.plan.query.names[0].match == storage::TextMatch::prefix));
  BOOST_TEST(!t.plan.query.ids.has_value());
  BOOST_TEST(t.warnings.empty());
  BOOST_TEST(t.echoed.size() == 2u);
}

BOOST_AUTO_TEST_CASE(repeats_are_and_commas_are_or) {
  auto t = patients("given=Don,Dan&given:contains=ald&family:exact=Duck");
  BOOST_REQUIRE_EQUAL(t.plan.query.given.size(), 2u);
  BOOST_TEST(t.plan.query.given[0].any_of.size() == 2u);
  BOOST_TEST((t.plan.query.given[1].match == storage::TextMatch::contains));
  BOOST_TEST((t.plan.query.family[0].match == storage::TextMatch::exact));
}

BOOST_AUTO_TEST_CASE(identifier_tokens) {
  auto t = patients("identifier=urn:oid:1.2|123,456,sys|,|789");
  BOOST_REQUIRE_EQUAL(t.plan.query.identifiers.size(), 1u);
  const auto& any = t.plan.query.identifiers[0];
  BOOST_REQUIRE_EQUAL(any.size(), 4u);
  BOOST_TEST(*any[0].system == "urn:oid:1.2");
  BOOST_TEST(*any[0].value == "123");
  BOOST_TEST(!any[1].system.has_value());
  BOOST_TEST(*any[2].system == "sys");
  BOOST_TEST(!any[2].value.has_value());
  BOOST_TEST(*any[3].system == "");
  BOOST_TEST(*any[3].value == "789");
}

BOOST_AUTO_TEST_CASE(gender_maps_to_icure_values) {
  auto t = patients("gender=female,other");
  BOOST_REQUIRE_EQUAL(t.plan.query.genders.size(), 1u);
  auto g = t.plan.query.genders[0];
  std::sort(g.begin(), g.end());
  BOOST_TEST(g == (std::vector<std::string>{"changed", "changedToFemale", "changedToMale", "female",
                                            "indeterminate"}));
  auto n = patients("gender:not=male").plan.query.genders[0];
  BOOST_TEST((std::find(n.begin(), n.end(), "male") == n.end()));
  BOOST_TEST(n.size() == 6u);
  BOOST_TEST(patient_error("gender=robot").path() == "gender");
}

BOOST_AUTO_TEST_CASE(birthdate_prefixes_and_partial_dates) {
  auto one = [](std::string_view raw) {
    auto t = patients(raw);
    BOOST_REQUIRE_EQUAL(t.plan.query.birth_dates.size(), 1u);
    return t.plan.query.birth_dates[0];
  };
  auto eq = one("birthdate=1974");
  BOOST_TEST(*eq.lo == 19740000);
  BOOST_TEST(*eq.hi == 19741231);
  BOOST_TEST(!eq.negate);
  auto month = one("birthdate=eq1974-02");
  BOOST_TEST(*month.lo == 19740200);
  BOOST_TEST(*month.hi == 19740228);
  BOOST_TEST(one("birthdate=ne1974-12-25").negate);
  BOOST_TEST(*one("birthdate=lt1974-12-25").hi == 19741224);
  BOOST_TEST(!one("birthdate=lt1974-12-25").lo.has_value());
  BOOST_TEST(*one("birthdate=le1974-12").hi == 19741231);
  BOOST_TEST(*one("birthdate=gt1974-12-25").lo == 19741226);
  BOOST_TEST(*one("birthdate=ge1974").lo == 19740000);
  BOOST_TEST(*one("birthdate=sa1974").lo == 19741232);
  BOOST_TEST(*one("birthdate=eb1974").hi == 19739999);
  auto both = patients("birthdate=ge1970&birthdate=lt1980").plan.query.birth_dates;
  BOOST_TEST(both.size() == 2u);
}

BOOST_AUTO_TEST_CASE(missing_modifier) {
  auto q = patients("birthdate:missing=true&identifier:missing=false").plan.query;
  BOOST_REQUIRE_EQUAL(q.presence.size(), 2u);
  BOOST_TEST((q.presence[0].element == storage::PatientElement::birth_date));
  BOOST_TEST(q.presence[0].missing);
  BOOST_TEST((q.presence[1].element == storage::PatientElement::identifier));
  BOOST_TEST(!q.presence[1].missing);
  BOOST_TEST(patient_error("birthdate:missing=maybe").path() == "birthdate:missing");
  // Only where the store knows presence: not active (iCure: absent = active).
  BOOST_TEST(patient_error("active:missing=true").path() == "active:missing");
}

BOOST_AUTO_TEST_CASE(malformed_values_name_the_parameter) {
  auto s = patient_error("birthdate=1974-13");
  BOOST_TEST((s.code() == StatusCode::invalid));
  BOOST_TEST(s.path() == "birthdate");
  BOOST_TEST(s.message().find("1974-13") != std::string::npos);
  BOOST_TEST(patient_error("birthdate=xx1974").path() == "birthdate");
  BOOST_TEST(patient_error("active=yes").path() == "active");
  BOOST_TEST(patient_error("_count=-1").path() == "_count");
  BOOST_TEST(patient_error("_count=ten").path() == "_count");
  BOOST_TEST(patient_error("name:fuzzy=x").path() == "name:fuzzy");
  BOOST_TEST(patient_error("_summary=maybe").path() == "_summary");
  BOOST_TEST(patient_error("_total=lots").path() == "_total");
  BOOST_TEST(patient_error("birthdate=1974,nineteen").path() == "birthdate");
  BOOST_TEST(patient_error("birthdate=1974,xx1975").path() == "birthdate");
  BOOST_TEST(patient_error("birthdate=,").path() == "birthdate");
}

// The message quotes the whole value as written, and names a prefix only when one is there:
// `nope` once read as the prefix "no" and reported "'pe' is not a date".
BOOST_AUTO_TEST_CASE(date_and_quantity_errors_quote_the_whole_value) {
  BOOST_TEST(patient_error("birthdate=nope").to_string() ==
             "birthdate: 'nope' does not start with a date or a prefix "
             "(eq, ne, lt, gt, le, ge, sa, eb, ap)");
  BOOST_TEST(patient_error("birthdate=x1974").to_string() ==
             "birthdate: 'x1974' does not start with a date or a prefix "
             "(eq, ne, lt, gt, le, ge, sa, eb, ap)");
  BOOST_TEST(patient_error("birthdate=gt1974-13").to_string() ==
             "birthdate: 'gt1974-13' is not a date");
  BOOST_TEST(patient_error("birthdate=ge").to_string() == "birthdate: 'ge' is not a date");
  BOOST_TEST(observation_error("date=ap2013-02-30").to_string() ==
             "date: 'ap2013-02-30' is not a date");
  BOOST_TEST(observation_error("value-quantity=zz5").to_string() ==
             "value-quantity: 'zz5' does not start with a number or a prefix "
             "(eq, ne, lt, gt, le, ge, sa, eb, ap)");
  BOOST_TEST(observation_error("value-quantity=gtx|http://unitsofmeasure.org|kg").to_string() ==
             "value-quantity: 'gtx|http://unitsofmeasure.org|kg' is not a number[|system|code]");
}

BOOST_AUTO_TEST_CASE(active_and_controls) {
  auto t = patients(
      "active=true&_count=10&_sort=family,-birthdate&_format=json&_total=none&"
      "_elements=name,gender&_cursor=abc");
  BOOST_TEST(*t.plan.query.active == true);
  BOOST_TEST(t.controls.count == 10u);
  BOOST_REQUIRE_EQUAL(t.controls.sort.size(), 2u);
  BOOST_TEST(t.controls.sort[0].field == "family");
  BOOST_TEST(!t.controls.sort[0].descending);
  BOOST_TEST(t.controls.sort[1].field == "birthdate");
  BOOST_TEST(t.controls.sort[1].descending);
  BOOST_TEST((t.controls.total == detail::TotalMode::none));
  BOOST_TEST(t.controls.elements.size() == 2u);
  BOOST_TEST(*t.controls.cursor == "abc");
  BOOST_TEST(t.warnings.empty());  // _format is silent
  // _cursor is not echoed (links add their own).
  for (const auto& p : t.echoed) BOOST_TEST(p.name != "_cursor");

  BOOST_TEST(patients("_summary=count").controls.count_only);
  BOOST_TEST(patients("_count=0").controls.count_only);
  BOOST_TEST(patients("_count=100000").controls.count == SearchOptions{}.max_count);
  BOOST_TEST(patients("").controls.count == SearchOptions{}.default_count);
}

BOOST_AUTO_TEST_CASE(unknown_parameters_lenient_or_strict) {
  auto t = patients("foo=1&name=x&_sort=shoe");
  BOOST_REQUIRE_EQUAL(t.warnings.size(), 2u);
  BOOST_TEST(t.warning_paths[0] == "foo");
  BOOST_TEST(t.warning_paths[1] == "_sort");
  BOOST_TEST(t.controls.sort.empty());
  auto s = patient_error("foo=1&name=x", true);
  BOOST_TEST((s.code() == StatusCode::invalid));
  BOOST_TEST(s.path() == "foo");
  BOOST_TEST(patient_error("_sort=shoe", true).path() == "_sort");
  // Empty values are ignored, even when strict.
  BOOST_TEST(patients("name=&foo=", true).warnings.empty());
}

BOOST_AUTO_TEST_CASE(has_observation_forms) {
  for (std::string_view raw :
       {"_has:Observation:patient:code=http://loinc.org|15074-8",
        "_has%3AObservation%3Apatient%3Acode=http%3A%2F%2Floinc.org%7C15074-8",
        "_has:Observation:subject:code=http://loinc.org|15074-8",
        "_has:Observation:code=http://loinc.org|15074-8"}) {
    auto t = patients(raw);
    BOOST_REQUIRE_EQUAL(t.plan.has_observations.size(), 1u);
    const auto& codes = t.plan.has_observations[0].query.codes;
    BOOST_REQUIRE_EQUAL(codes.size(), 1u);
    BOOST_TEST(*codes[0][0].system == mapping::icure_code_type("http://loinc.org"));
    BOOST_TEST(*codes[0][0].value == "15074-8");
    BOOST_TEST(t.warnings.empty());
  }
  auto tag = patients("_has:Observation:_tag=urn:sys|vip");
  BOOST_REQUIRE_EQUAL(tag.plan.has_observations.size(), 1u);
  BOOST_TEST(tag.plan.has_observations[0].query.tags.size() == 1u);
  // An unknown inner parameter / resource is an unknown parameter.
  BOOST_TEST(patients("_has:Observation:patient:shoe=1").warnings.size() == 1u);
  BOOST_TEST(patients("_has:Encounter:patient:code=1").warnings.size() == 1u);
  BOOST_TEST(patient_error("_has:Observation:patient:date=2013-13").path() ==
             "_has:Observation:patient:date");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(search_translate_observation)

BOOST_AUTO_TEST_CASE(code_tokens_use_the_shared_code_table) {
  auto t = observations("code=http://loinc.org|15074-8,http://snomed.info/sct|&code=42");
  const auto& codes = t.plan.query.codes;
  BOOST_REQUIRE_EQUAL(codes.size(), 2u);
  BOOST_TEST(*codes[0][0].system == mapping::icure_code_type("http://loinc.org"));
  BOOST_TEST(*codes[0][1].system == mapping::icure_code_type("http://snomed.info/sct"));
  BOOST_TEST(!codes[0][1].value.has_value());
  BOOST_TEST(!codes[1][0].system.has_value());
  BOOST_TEST(*codes[1][0].value == "42");
  auto unknown_system = observations("code=urn:x|1").plan.query.codes[0][0];
  BOOST_TEST(*unknown_system.system == "urn:x");
}

BOOST_AUTO_TEST_CASE(status_category_and_tag_are_service_tags) {
  auto t = observations(
      "status=final,amended&category=http://terminology.hl7.org/CodeSystem/"
      "observation-category|laboratory&_tag=urn:t|x");
  const auto& tags = t.plan.query.tags;
  BOOST_REQUIRE_EQUAL(tags.size(), 3u);
  BOOST_TEST(tags[0].size() == 2u);
  BOOST_TEST(*tags[0][0].system == mapping::kObservationStatusTagType);
  BOOST_TEST(*tags[1][0].value == "laboratory");
  BOOST_TEST(*tags[2][0].system == "urn:t");
  auto n = observations("status:not=final").plan.query.tags[0];
  BOOST_TEST(n.size() == 7u);
}

BOOST_AUTO_TEST_CASE(subject_forms) {
  auto t = observations("subject=Patient/abc,def&patient=http://h/fhir/Patient/ghi");
  BOOST_REQUIRE_EQUAL(t.plan.subject_id_or_fhir_id.size(), 2u);
  BOOST_TEST(t.plan.subject_id_or_fhir_id[0] == (std::vector<std::string>{"abc", "def"}));
  BOOST_TEST(t.plan.subject_id_or_fhir_id[1] == std::vector<std::string>{"ghi"});
  // A non-Patient reference can match nothing.
  BOOST_TEST(observations("subject=Group/1").plan.subject_id_or_fhir_id[0].empty());

  for (std::string_view raw : {"subject:Patient.name=Donald", "subject.name=Donald",
                               "patient:Patient.name=Donald", "subject%3APatient.name=Donald"}) {
    auto c = observations(raw);
    BOOST_REQUIRE_EQUAL(c.plan.subject_chains.size(), 1u);
    BOOST_TEST(c.plan.subject_chains[0].query.names.size() == 1u);
    BOOST_TEST(c.warnings.empty());
  }
  auto exact = observations("subject:Patient.family:exact=Duck");
  BOOST_TEST((exact.plan.subject_chains[0].query.family[0].match == storage::TextMatch::exact));
  auto by_identifier = observations("subject:identifier=urn:sys|42");
  BOOST_TEST(by_identifier.plan.subject_chains[0].query.identifiers.size() == 1u);
  auto by_id = observations("subject:Patient._id=pat1");
  BOOST_TEST(by_id.plan.subject_chains[0].id_or_fhir_id.size() == 1u);
  BOOST_TEST(observation_error("subject:Patient.birthdate=1974-13").path() ==
             "subject:Patient.birthdate");
}

BOOST_AUTO_TEST_CASE(date_uses_fourteen_digits) {
  auto d = observations("date=2013-04-02").plan.query.dates[0];
  BOOST_TEST(*d.lo == 20130402000000);
  BOOST_TEST(*d.hi == 20130402235959);
  auto t = observations("date=ge2013-04-02T09:30:10%2B01:00").plan.query.dates[0];
  BOOST_TEST(*t.lo == 20130402093010);
  BOOST_TEST(!t.hi.has_value());
  BOOST_TEST(observation_error("date=2013-02-30").path() == "date");
}

BOOST_AUTO_TEST_CASE(last_updated_is_an_epoch_range_on_both_types) {
  const std::int64_t day = 1796256000000;  // 2026-12-03T00:00:00Z
  auto p = patients("_lastUpdated=2026-12-03").plan.query.last_updated;
  BOOST_REQUIRE_EQUAL(p.size(), 1u);
  BOOST_TEST(*p[0].lo == day);
  BOOST_TEST(*p[0].hi == day + 86400000 - 1);
  auto o = observations("_lastUpdated=gt2026-12-03T10:00:00%2B01:00").plan.query.last_updated;
  BOOST_REQUIRE_EQUAL(o.size(), 1u);
  BOOST_TEST(*o[0].lo == day + 9 * 3600000 + 1000);
  BOOST_TEST(!o[0].hi.has_value());
  BOOST_TEST(patients("_lastUpdated=ne2026").plan.query.last_updated[0].negate);
  // Chained and _has forms reach it too.
  BOOST_TEST(observations("subject:Patient._lastUpdated=ge2026")
                 .plan.subject_chains[0]
                 .query.last_updated.size() == 1u);
  BOOST_TEST(patients("_has:Observation:patient:_lastUpdated=lt2026")
                 .plan.has_observations[0]
                 .query.last_updated.size() == 1u);
  auto bad = patient_error("_lastUpdated=2026-13");
  BOOST_TEST(bad.path() == "_lastUpdated");
  BOOST_TEST(bad.message().find("2026-13") != std::string::npos);
  BOOST_TEST(observation_error("_lastUpdated:missing=true").path() == "_lastUpdated:missing");
}

BOOST_AUTO_TEST_CASE(value_quantity) {
  auto t = observations("value-quantity=gt5.4|http://unitsofmeasure.org|mmol/L,6.3||mmol/l");
  BOOST_REQUIRE_EQUAL(t.plan.value_quantity.size(), 1u);
  const auto& any = t.plan.value_quantity[0];
  BOOST_REQUIRE_EQUAL(any.size(), 2u);
  BOOST_TEST((any[0].comparator == detail::Comparator::gt));
  BOOST_TEST(any[0].value == 5.4);
  BOOST_TEST(*any[0].system == "http://unitsofmeasure.org");
  BOOST_TEST(*any[0].code == "mmol/L");
  BOOST_TEST(!any[1].system.has_value());
  BOOST_TEST(std::abs(any[1].half_precision - 0.05) < 1e-12);
  BOOST_TEST(t.plan.needs_post_filter());
  BOOST_TEST(observation_error("value-quantity=abc").path() == "value-quantity");
  BOOST_TEST(observation_error("value-quantity=zz5").path() == "value-quantity");

  boost::json::object obs{{"valueQuantity",
                           {{"value", 6.3},
                            {"unit", "mmol/l"},
                            {"system", "http://unitsofmeasure.org"},
                            {"code", "mmol/L"}}}};
  BOOST_TEST(detail::quantity_matches(any[0], obs));
  BOOST_TEST(detail::quantity_matches(any[1], obs));  // unit matches when no system
  auto cond = [](std::string_view v) {
    return observations(std::string("value-quantity=") + std::string(v)).plan.value_quantity[0][0];
  };
  BOOST_TEST(detail::quantity_matches(cond("6.3"), obs));
  BOOST_TEST(detail::quantity_matches(cond("6"), obs));  // 6 stands for [5.5, 6.5)
  BOOST_TEST(!detail::quantity_matches(cond("6.30"),
                                       boost::json::object{{"valueQuantity", {{"value", 6.31}}}}));
  BOOST_TEST(detail::quantity_matches(cond("ne7"), obs));
  BOOST_TEST(detail::quantity_matches(cond("le6.3"), obs));
  BOOST_TEST(!detail::quantity_matches(cond("lt6.3"), obs));
  BOOST_TEST(detail::quantity_matches(cond("ap6"), obs));
  BOOST_TEST(!detail::quantity_matches(cond("6.3|http://other|mmol/L"), obs));
  BOOST_TEST(!detail::quantity_matches(cond("6.3"), boost::json::object{}));
}

BOOST_AUTO_TEST_CASE(composite_parameters_pair_a_code_with_a_value) {
  auto t = observations("code-value-quantity=http://loinc.org|8480-6$gt140,8462-4$gt90");
  BOOST_REQUIRE_EQUAL(t.plan.element_filters.size(), 1u);
  const auto& filter = t.plan.element_filters[0];
  BOOST_REQUIRE_EQUAL(filter.codes.size(), 2u);
  BOOST_REQUIRE_EQUAL(filter.values.size(), 2u);
  BOOST_TEST(*filter.codes[0].system == "http://loinc.org");
  BOOST_TEST(*filter.codes[1].code == "8462-4");
  BOOST_TEST((filter.values[0].quantity.comparator == detail::Comparator::gt));
  BOOST_TEST(filter.values[1].quantity.value == 90);
  // Observation.code is indexed: the pairs' codes narrow the store query too.
  BOOST_REQUIRE_EQUAL(t.plan.query.codes.size(), 1u);
  BOOST_TEST(t.plan.query.codes[0].size() == 2u);
  // Component codes are not indexed: a post-filter only.
  auto components = observations("component-code-value-quantity=8480-6$gt140");
  BOOST_TEST(components.plan.query.codes.empty());
  BOOST_TEST(components.plan.needs_post_filter());

  boost::json::object bp{
      {"code", {{"coding", {{{"system", "http://loinc.org"}, {"code", "85354-9"}}}}}},
      {"component",
       {{{"code", {{"coding", {{{"system", "http://loinc.org"}, {"code", "8480-6"}}}}}},
         {"valueQuantity", {{"value", 150}}}},
        {{"code", {{"coding", {{{"system", "http://loinc.org"}, {"code", "8462-4"}}}}}},
         {"valueQuantity", {{"value", 80}}}}}}};
  auto matches = [&](std::string_view query) {
    return detail::element_filter_matches(observations(query).plan.element_filters.at(0), bp);
  };
  BOOST_TEST(matches("component-code-value-quantity=8480-6$gt140"));
  BOOST_TEST(!matches("component-code-value-quantity=8462-4$gt140"));  // not crossed
  BOOST_TEST(matches("component-code-value-quantity=8462-4$gt140,8462-4$80"));
  BOOST_TEST(!matches("code-value-quantity=85354-9$150"));  // no valueQuantity of its own
  BOOST_TEST(matches("combo-code-value-quantity=85354-9$150,8480-6$150"));
  BOOST_TEST(matches("combo-value-quantity=80"));

  BOOST_TEST(observation_error("code-value-quantity=8480-6").to_string() ==
             "code-value-quantity: '8480-6' is not code$value");
  BOOST_TEST(observation_error("code-value-concept=$x").path() == "code-value-concept");
  BOOST_TEST(observation_error("code-value-date=x$2021-13").path() == "code-value-date");
  BOOST_TEST(observation_error("code-value-quantity:missing=true").path() ==
             "code-value-quantity:missing");
}

BOOST_AUTO_TEST_CASE(sort_fields_per_resource) {
  auto t = observations("_sort=-date,code,status,_lastUpdated,_id");
  BOOST_TEST(t.controls.sort.size() == 5u);
  BOOST_TEST(t.controls.sort[0].descending);
  BOOST_TEST(observations("_sort=family").warnings.size() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace fhirbridge::server
