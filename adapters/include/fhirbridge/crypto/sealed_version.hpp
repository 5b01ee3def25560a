// Exactly which sealed version of an entity something was derived from: its
// rev and every encryptedSelf text it is unsealed from. A cache of unsealed or
// rendered entities keeps one next to each entry and serves the entry only for
// an entity that still matches it (an updated, re-sealed or tampered entity is
// a miss, even under the same rev).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "fhirbridge/icure/entities.hpp"

namespace fhirbridge::crypto {

class SealedVersion {
 public:
  // nullopt for an entity without an id or a rev (never stored).
  static std::optional<SealedVersion> of(const icure::Patient& sealed);
  static std::optional<SealedVersion> of(const icure::Contact& sealed);

  bool matches(const icure::Patient& sealed) const;
  bool matches(const icure::Contact& sealed) const;

 private:
  SealedVersion() = default;
  template <typename Entity>
  static std::optional<SealedVersion> make(const Entity& sealed);
  template <typename Entity>
  bool same(const Entity& sealed) const;

  std::string rev_;
  // The entity's own encryptedSelf, then a contact's services' in order; ""
  // for a part without one.
  std::vector<std::string> ciphertexts_;
};

}  // namespace fhirbridge::crypto
