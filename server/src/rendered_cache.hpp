// The FHIR JSON of recently read resources, already serialised: a repeated
// GET of an unchanged resource skips mapping and serialisation (docs/server.md,
// "Read cache"). Consulted only after the store has answered the read itself
// (access, keychain, current rev), so it never decides who may read what.
#pragma once

#include <string>

#include "fhirbridge/crypto/sealed_version.hpp"

namespace fhirbridge::server::detail {

// The entries, by reader, type and store id, each served only for the sealed
// version it was rendered from. Holds up to `capacity` entries and is emptied
// when full (like the sealer's caches); 0 disables it.
struct RenderedEntry {
  std::string body;           // the resource, serialised
  std::string etag;           // W/"<generation>"
  std::string last_modified;  // FHIR instant
};
// A class (not an alias) so that server_context.hpp can declare it ahead.
class RenderedCache final : public crypto::SealedVersionCache<RenderedEntry> {
 public:
  using Entry = RenderedEntry;
  using SealedVersionCache::SealedVersionCache;
};

}  // namespace fhirbridge::server::detail
