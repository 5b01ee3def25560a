// The FHIR id of an entity, as both backends keep it: an Identifier with
// a fixed system, so that iCure clients see it too.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "fhirbridge/icure/entities.hpp"

namespace fhirbridge::storage {

// The system under which a FHIR id sent on create is kept as an Identifier.
inline constexpr const char* kFhirIdSystem = "https://dxm.icure.dev";

// The values of the identifiers with the FHIR id system.
inline std::vector<std::string> fhir_ids_of(
    const std::optional<std::vector<icure::Identifier>>& identifiers) {
  std::vector<std::string> ids;
  if (identifiers)
    for (const auto& identifier : *identifiers)
      if (identifier.system == kFhirIdSystem && identifier.value) ids.push_back(*identifier.value);
  return ids;
}

}  // namespace fhirbridge::storage
