// FHIR Bundle JSON -> parse_bundle -> every Patient/Observation entry mapped
// (the engine half of a transaction; the server half is fuzz_http_request).
#include "fhirbridge/mapping/bundle.hpp"
#include "fhirbridge/mapping/observation.hpp"
#include "fhirbridge/mapping/patient.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace fhirbridge;
  auto json = fuzz::parse_json(fuzz::as_text(data, size));
  if (!json) return 0;
  auto bundle = mapping::parse_bundle(*json);
  if (!bundle.ok()) return 0;
  for (const auto& entry : bundle->entries) {
    if (!entry.resource.is_object()) continue;
    const auto* type = entry.resource.as_object().if_contains("resourceType");
    if (!type || !type->is_string()) continue;
    if (*type == "Patient") {
      auto p = mapping::fhir_patient_to_icure(entry.resource, fuzz::fixed_context());
      if (p.ok()) (void)mapping::icure_patient_to_fhir(*p, fuzz::fixed_context());
    } else if (*type == "Observation") {
      auto o = mapping::fhir_observation_to_icure(entry.resource, fuzz::fixed_context());
      if (o.ok())
        (void)mapping::icure_observation_to_fhir(o->contact, o->subject_reference,
                                                 fuzz::fixed_context());
    }
  }
  return 0;
}
