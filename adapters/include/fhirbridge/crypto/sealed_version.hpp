// Exactly which sealed version of an entity something was derived from: its
// rev and every encryptedSelf text it is unsealed from. A cache of unsealed or
// rendered entities keeps one next to each entry and serves the entry only for
// an entity that still matches it (an updated, re-sealed or tampered entity is
// a miss, even under the same rev).
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fhirbridge/detail/bounded_map.hpp"
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

// Values derived from sealed entities (unsealed copies, rendered JSON), each
// served only while the entity still matches the sealed version it was made
// from. Bounded and thread-safe (fhirbridge::detail::BoundedMap); capacity 0
// keeps nothing.
template <typename Value>
class SealedVersionCache {
 public:
  explicit SealedVersionCache(std::size_t capacity) : entries_(capacity) {}

  bool enabled() const { return entries_.enabled(); }
  // The value under `key` if it was made from exactly `sealed`, else null.
  template <typename Sealed>
  std::shared_ptr<const Value> find(const std::string& key, const Sealed& sealed) const {
    if (!entries_.enabled()) return nullptr;
    return entries_.read(
        key, [&](const Kept& kept) { return kept.version.matches(sealed) ? kept.value : nullptr; });
  }
  // Keeps `value` as made from `sealed`; nothing for an entity without an id or a rev.
  template <typename Sealed>
  void put(std::string key, const Sealed& sealed, std::shared_ptr<const Value> value) {
    if (!entries_.enabled()) return;
    auto version = SealedVersion::of(sealed);
    if (version) entries_.put(std::move(key), Kept{std::move(*version), std::move(value)});
  }
  void clear() { entries_.clear(); }

 private:
  struct Kept {
    SealedVersion version;
    std::shared_ptr<const Value> value;
  };
  fhirbridge::detail::BoundedMap<Kept> entries_;
};

}  // namespace fhirbridge::crypto
