// FHIR search end to end through the mappings and a Store: every parameter,
// modifiers, prefixes, OR/AND, chaining, _has, paging, sorting, strict vs
// lenient. The checks are written once (SearchWorld) and run against the
// in-memory fake store here; search_sqlite_test.cpp runs them on SqliteStore.
#include "search_world.hpp"

#include <boost/test/unit_test.hpp>

#include "fhirbridge/server/detail/search_plan.hpp"
#include "search_fake_store.hpp"

namespace fhirbridge::test {

struct FakeWorld : SearchWorld {
  FakeSearchStore fake;
  FakeWorld() : SearchWorld(fake) { populate(); }
};

BOOST_AUTO_TEST_SUITE(search_execute_fake)

BOOST_FIXTURE_TEST_CASE(patient_parameters, FakeWorld) {
  check_patient_parameters();
}
BOOST_FIXTURE_TEST_CASE(patient_has_observation, FakeWorld) {
  check_patient_has();
}
BOOST_FIXTURE_TEST_CASE(patient_paging_and_sort, FakeWorld) {
  check_patient_paging();
}
BOOST_FIXTURE_TEST_CASE(observation_parameters, FakeWorld) {
  check_observation_parameters();
}
BOOST_FIXTURE_TEST_CASE(observation_subject_and_chaining, FakeWorld) {
  check_observation_subject();
}
BOOST_FIXTURE_TEST_CASE(observation_value_quantity_paging, FakeWorld) {
  check_value_quantity();
}
BOOST_FIXTURE_TEST_CASE(bundle_shape_and_controls, FakeWorld) {
  check_bundle_shape();
}
BOOST_FIXTURE_TEST_CASE(lenient_strict_and_errors, FakeWorld) {
  check_errors();
}
BOOST_FIXTURE_TEST_CASE(conditional_ids, FakeWorld) {
  check_search_ids();
}

BOOST_FIXTURE_TEST_CASE(empty_inner_result_short_circuits, FakeWorld) {
  fake.find_calls = 0;
  BOOST_TEST(fhir_ids("Patient", "_has:Observation:patient:code=nothing").empty());
  // One call for the inner search, none for the outer one.
  BOOST_TEST(fake.find_calls == 1);
}

// Odd input never throws or crashes: it is a result or an error value.
BOOST_FIXTURE_TEST_CASE(odd_input_is_an_error_value, FakeWorld) {
  const std::vector<std::string> pieces{"name",     "=",
                                        "&",        "%",
                                        "%2",       "%ZZ",
                                        "%00",      "%FF",
                                        "+",        ",",
                                        "|",        "\\",
                                        ":",        ".",
                                        "_has",     ":Observation",
                                        ":patient", ":code",
                                        "subject",  ":Patient",
                                        ".name",    "birthdate",
                                        "ge",       "1974",
                                        "-13",      "value-quantity",
                                        "gt",       "1e999",
                                        "_count",   "99999999999999999999",
                                        "_sort",    "-",
                                        "_cursor",  "mem:",
                                        "-1",       "status",
                                        ":not",     "\xC3",
                                        "date",     "T25:00"};
  std::uint32_t seed = 12345;
  auto next = [&] { return seed = seed * 1664525u + 1013904223u; };
  for (int round = 0; round < 3000; ++round) {
    std::string query;
    int n = static_cast<int>(next() % 8) + 1;
    for (int i = 0; i < n; ++i) query += pieces[next() % pieces.size()];
    auto params = server::parse_query(query);
    if (!params.ok()) continue;
    for (std::string_view type : {"Patient", "Observation"}) {
      BOOST_CHECK_NO_THROW({
        auto r = server::search(store, who, type, *params, options, ctx);
        if (r.ok()) (void)boost::json::serialize(r->bundle);
        (void)server::search_ids(store, who, type, *params, options, ctx);
      });
    }
  }
}

BOOST_AUTO_TEST_CASE(capability_lists_every_parameter) {
  auto names = [](std::string_view type) {
    std::set<std::string> out;
    for (const auto& p : server::capability_search_params(type)) {
      const auto& o = p.as_object();
      BOOST_TEST(o.contains("type"));
      BOOST_TEST(o.contains("documentation"));
      out.insert(std::string(o.at("name").as_string()));
    }
    return out;
  };
  // The indexed parameters, then every row of the element-filter table.
  auto with_filtered = [](std::set<std::string> indexed, std::string_view type) {
    for (const auto& def : server::detail::element_filter_defs(type))
      indexed.insert(std::string(def.param));
    return indexed;
  };
  BOOST_TEST(names("Patient") ==
             with_filtered({"_id", "identifier", "name", "family", "given", "gender", "birthdate",
                            "active", "_lastUpdated", "_has"},
                           "Patient"));
  BOOST_TEST(names("Observation") ==
             with_filtered({"_id", "identifier", "code", "_tag", "category", "status", "subject",
                            "patient", "date", "value-quantity", "_lastUpdated"},
                           "Observation"));
  for (const char* filtered : {"phone", "address-city", "deceased", "death-date"})
    BOOST_TEST(names("Patient").count(filtered) == 1u);
  for (const char* filtered : {"value-concept", "combo-code", "performer", "value-date",
                               "component-value-quantity", "code-value-quantity"})
    BOOST_TEST(names("Observation").count(filtered) == 1u);
  for (const auto& p : server::capability_search_params("Observation")) {
    const auto& o = p.as_object();
    if (o.at("name") == "component-code-value-quantity") BOOST_TEST(o.at("type") == "composite");
    if (o.at("name") == "combo-value-quantity") BOOST_TEST(o.at("type") == "quantity");
  }
  BOOST_TEST(server::capability_search_params("Encounter").empty());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace fhirbridge::test
