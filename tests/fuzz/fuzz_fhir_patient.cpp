// FHIR Patient JSON -> iCure Patient -> iCure JSON -> FHIR Patient.
// Any input must give a value or an error, never a crash.
#include "fhirbridge/json_io.hpp"
#include "fhirbridge/mapping/patient.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace fhirbridge;
  auto json = fuzz::parse_json(fuzz::as_text(data, size));
  if (!json) return 0;
  auto patient = mapping::fhir_patient_to_icure(*json, fuzz::fixed_context());
  if (!patient.ok()) return 0;
  // Through the iCure wire format, as the store would keep it.
  auto wire = json_io::to_json(*patient);
  fuzz::require_reparsable(wire);
  icure::Patient reread;
  if (!json_io::from_json(wire, reread, "Patient").ok())
    __builtin_trap();  // our own output must parse
  auto back = mapping::icure_patient_to_fhir(reread, fuzz::fixed_context());
  if (back.ok()) (void)boost::json::serialize(*back);
  return 0;
}
