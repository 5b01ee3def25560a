// The smaller code tables of the Patient mapping (name use, address use,
// telecom system). Each returns nullopt for a value with no counterpart; the
// mapping then keeps the original in the FHIR residual (docs/mapping.md).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace fhirbridge::mapping {

// One row of a code table: the FHIR code and its iCure counterpart.
struct CodePair {
  std::string_view fhir;
  std::string_view icure;
};

std::optional<std::string> icure_name_use(std::string_view fhir_use);
std::optional<std::string> fhir_name_use(std::string_view icure_use);
std::optional<std::string> icure_address_type(std::string_view fhir_use);
std::optional<std::string> fhir_address_use(std::string_view icure_type);
std::optional<std::string> icure_telecom_type(std::string_view fhir_system);
std::optional<std::string> fhir_telecom_system(std::string_view icure_type);

// FHIR observation-status: registered, preliminary, final, amended, ...
bool is_observation_status(std::string_view status);

}  // namespace fhirbridge::mapping
