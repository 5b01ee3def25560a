// iCure JSON (what the store and a remote iCure return) -> typed entities ->
// JSON -> FHIR. The first byte picks the entity type.
#include "fhirbridge/json_io.hpp"
#include "fhirbridge/mapping/observation.hpp"
#include "fhirbridge/mapping/patient.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace fhirbridge;
  if (size < 1) return 0;
  const bool contact = data[0] & 1;
  const auto text = fuzz::as_text(data + 1, size - 1);
  if (contact) {
    auto c = json_io::parse<icure::Contact>(text, "Contact");
    if (!c.ok()) return 0;
    (void)boost::json::serialize(json_io::to_json(*c));
    (void)mapping::icure_observation_to_fhir(*c, std::nullopt, fuzz::fixed_context());
  } else {
    auto p = json_io::parse<icure::Patient>(text, "Patient");
    if (!p.ok()) return 0;
    (void)boost::json::serialize(json_io::to_json(*p));
    (void)mapping::icure_patient_to_fhir(*p, fuzz::fixed_context());
  }
  return 0;
}
