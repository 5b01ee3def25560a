// FHIR R4 Observation <-> iCure Contact + Service. See docs/mapping.md.
#pragma once

#include <boost/json.hpp>

#include <optional>
#include <string>

#include "fhirbridge/icure/entities.hpp"
#include "fhirbridge/mapping/context.hpp"
#include "fhirbridge/status.hpp"

namespace fhirbridge::mapping {

// An Observation is one iCure Contact holding one Service (components are the
// Service's compoundValue). The link Contact -> Patient is made by the storage
// layer's crypto (secretForeignKeys), so the engine only reports the subject
// reference as the client wrote it; the caller resolves it to a stored patient.
struct MappedObservation {
  icure::Contact contact;                        // contact.services has exactly one Service
  std::optional<std::string> subject_reference;  // Observation.subject.reference verbatim
};

// FHIR content with no iCure home is kept as the FHIR residual in the sealed
// Service.content[kFhirResidualContentKey] (fhirbridge/mapping/residual.hpp).
// Never throws; errors name the FHIR path.
Result<MappedObservation> fhir_observation_to_icure(const boost::json::value& fhir,
                                                    const MappingContext& ctx);

// `patient_id` is the iCure id of the patient the contact belongs to (from the
// store); it becomes subject.reference "Patient/<id>". The Observation's id is
// the Contact's id (one Observation per Contact); its FHIR id sent on create is
// kept as a Service identifier with settings.fhir_id_system.
Result<boost::json::object> icure_observation_to_fhir(const icure::Contact& contact,
                                                      const std::optional<std::string>& patient_id,
                                                      const MappingContext& ctx);

}  // namespace fhirbridge::mapping
