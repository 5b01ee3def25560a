// The FHIR JSON of recently read resources, already serialised: a repeated
// GET of an unchanged resource skips mapping and serialisation (docs/server.md,
// "Read cache"). Consulted only after the store has answered the read itself
// (access, keychain, current rev), so it never decides who may read what.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "fhirbridge/crypto/sealed_version.hpp"
#include "fhirbridge/detail/bounded_map.hpp"

namespace fhirbridge::server::detail {

class RenderedCache {
 public:
  struct Entry {
    std::string body;           // the resource, serialised
    std::string etag;           // W/"<generation>"
    std::string last_modified;  // FHIR instant
  };
  // Holds up to `capacity` entries and is emptied when full (like the sealer's
  // caches); 0 disables it.
  explicit RenderedCache(std::size_t capacity) : entries_(capacity) {}

  bool enabled() const { return entries_.enabled(); }
  // The entry remembered under `key` if it was rendered from exactly `sealed`
  // (the sealed Patient or Contact the store answered with: its rev and every
  // encryptedSelf text), else null.
  template <typename Sealed>
  std::shared_ptr<const Entry> find(const std::string& key, const Sealed& sealed) const {
    return entries_.read(
        key, [&](const Kept& kept) { return kept.version.matches(sealed) ? kept.entry : nullptr; });
  }
  void remember(std::string key, crypto::SealedVersion version,
                std::shared_ptr<const Entry> entry) {
    entries_.put(std::move(key), Kept{std::move(version), std::move(entry)});
  }

 private:
  struct Kept {
    crypto::SealedVersion version;
    std::shared_ptr<const Entry> entry;
  };
  fhirbridge::detail::BoundedMap<Kept> entries_;
};

}  // namespace fhirbridge::server::detail
