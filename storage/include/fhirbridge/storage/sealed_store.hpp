// Access to patients and contacts AS SEALED, i.e. exactly as the iCure REST
// API exchanges them: the official iCure SDK seals and unseals on the client,
// so the server's iCure-compatible endpoints (server/src/icure_rest/) store
// and return the sealed JSON as is. Same rows as the Store interface sees:
// what the SDK writes here the FHIR API reads (when the key is unlocked), and
// the other way round.
//
// Visibility is iCure's: an entity is visible to a healthcare party when its
// `delegations` has an entry for it. Codes as in store.hpp (not_found,
// conflict, version_conflict, deleted, internal); never throws.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "fhirbridge/icure/entities.hpp"
#include "fhirbridge/status.hpp"
#include "fhirbridge/storage/store.hpp"

namespace fhirbridge::storage {

// (Being filled in: see the owner's report. The SQLite backend implements it.)
class SealedStore {
 public:
  virtual ~SealedStore() = default;
};

}  // namespace fhirbridge::storage
