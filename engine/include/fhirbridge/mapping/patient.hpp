// FHIR R4 Patient <-> iCure Patient. See docs/mapping.md for the field table.
#pragma once

#include <boost/json.hpp>

#include "fhirbridge/icure/entities.hpp"
#include "fhirbridge/mapping/context.hpp"
#include "fhirbridge/status.hpp"

namespace fhirbridge::mapping {

// Maps a FHIR Patient resource (JSON object) to a new iCure Patient.
// The FHIR `id`, if any, becomes an Identifier {system: settings.fhir_id_system,
// value: id}; the iCure id is ctx.new_id(); created/modified are ctx.now_ms().
// FHIR content with no iCure home is kept as the FHIR residual, a sealed
// PropertyStub (fhirbridge/mapping/residual.hpp, docs/mapping.md), so
// icure_patient_to_fhir(fhir_patient_to_icure(x)) == x apart from id/meta.
// Errors name the FHIR path ("Patient.birthDate: '1974-13' is not a date").
// Never throws.
Result<icure::Patient> fhir_patient_to_icure(const boost::json::value& fhir,
                                             const MappingContext& ctx);

// Maps a (decrypted) iCure Patient back to a FHIR Patient. `id` is the iCure id;
// meta.versionId/lastUpdated come from rev/modified. Never throws.
Result<boost::json::object> icure_patient_to_fhir(const icure::Patient& patient,
                                                  const MappingContext& ctx);

}  // namespace fhirbridge::mapping
