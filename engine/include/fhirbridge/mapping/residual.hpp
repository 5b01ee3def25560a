// Where the mappings keep the "FHIR residual": the part of a FHIR resource
// with no iCure home (narrative, extensions, displays, exact date strings with
// their time zones...), stored as a JSON patch over what the iCure fields map
// back to. Both places are sealed by the default SealingPolicy, never in clear
// codes/tags. See docs/mapping.md ("The FHIR residual").
#pragma once

namespace fhirbridge::mapping {

// Patient: a PropertyStub {id: kFhirResidualProperty, type: {identifier:
// kFhirResidualProperty, type: "JSON"}, typedValue: {type: "JSON", stringValue: patch}}.
inline constexpr const char* kFhirResidualProperty = "fhirbridge.fhir-residual";

// Observation: Service.content[kFhirResidualContentKey].stringValue = patch
// (next to the value in Service.content[settings.content_language]).
inline constexpr const char* kFhirResidualContentKey = "x-fhir-residual";

}  // namespace fhirbridge::mapping
