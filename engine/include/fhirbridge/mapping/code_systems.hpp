// Code tables shared by the mappings and by FHIR search (the search layer must
// translate tokens exactly as the mappings store them). Tables are data
// (engine/src/mapping/code_tables.cpp), not switch forests.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace fhirbridge::mapping {

// CodeStub.type for a FHIR coding system: "http://loinc.org" -> "LOINC",
// "http://snomed.info/sct" -> "SNOMED", ...; an unknown system is kept as is.
std::string icure_code_type(std::string_view fhir_system);
// The reverse: "LOINC" -> "http://loinc.org"; an unknown type is kept as is.
std::string fhir_code_system(std::string_view icure_type);

// FHIR administrative gender <-> iCure gender. nullopt for an unknown value.
std::optional<std::string> icure_gender(std::string_view fhir_gender);
std::optional<std::string> fhir_gender(std::string_view icure_gender);

// Where the Observation mapping keeps things the store indexes (Service.tags):
//   Observation.status   -> tag {type: kObservationStatusTagType, code: status}
//   Observation.category -> tags {type: icure_code_type(system), code}
//   Observation.meta.tag -> tags {type: icure_code_type(system), code}
inline constexpr const char* kObservationStatusTagType = "http://hl7.org/fhir/observation-status";

}  // namespace fhirbridge::mapping
