// Query strings -> parse_query -> FHIR search translation (Patient and
// Observation), OR-splitting and re-encoding for links.
#include "fhirbridge/server/detail/search_plan.hpp"
#include "fhirbridge/server/search.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace fhirbridge;
  auto params = server::parse_query(fuzz::as_text(data, size));
  if (!params.ok()) return 0;
  for (const auto& p : *params) (void)server::detail::split_or(p.value);
  (void)server::detail::encode_query(*params);
  server::SearchOptions options;
  options.base_url = "http://fuzz.test/fhir/r4";
  for (bool strict : {false, true}) {
    options.strict = strict;
    auto patients = server::detail::translate_patient_search(*params, options);
    if (patients.ok()) (void)server::detail::encode_query(patients->echoed);
    auto observations = server::detail::translate_observation_search(*params, options);
    if (observations.ok()) {
      (void)server::detail::encode_query(observations->echoed);
      boost::json::object obs{{"resourceType", "Observation"},
                              {"valueQuantity",
                               {{"value", 72.5},
                                {"unit", "kg"},
                                {"system", "http://unitsofmeasure.org"},
                                {"code", "kg"}}}};
      for (const auto& any_of : observations->plan.value_quantity)
        for (const auto& condition : any_of) (void)server::detail::quantity_matches(condition, obs);
    }
  }
  return 0;
}
