// FHIR Observation JSON -> iCure Contact/Service -> iCure JSON -> FHIR Observation.
#include "fhirbridge/json_io.hpp"
#include "fhirbridge/mapping/observation.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace fhirbridge;
  auto json = fuzz::parse_json(fuzz::as_text(data, size));
  if (!json) return 0;
  auto mapped = mapping::fhir_observation_to_icure(*json, fuzz::fixed_context());
  if (!mapped.ok()) return 0;
  auto wire = json_io::to_json(mapped->contact);
  fuzz::require_reparsable(wire);
  icure::Contact reread;
  if (!json_io::from_json(wire, reread, "Contact").ok())
    __builtin_trap();  // our own output must parse
  auto back =
      mapping::icure_observation_to_fhir(reread, std::string("patient-1"), fuzz::fixed_context());
  if (back.ok()) (void)boost::json::serialize(*back);
  return 0;
}
