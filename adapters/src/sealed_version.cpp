#include "fhirbridge/crypto/sealed_version.hpp"

namespace fhirbridge::crypto {
namespace {

// Every ciphertext a sealed entity is unsealed from, in order.
template <typename Visit>
void for_each_ciphertext(const icure::Patient& sealed, Visit visit) {
  visit(sealed.encryptedSelf);
}
template <typename Visit>
void for_each_ciphertext(const icure::Contact& sealed, Visit visit) {
  visit(sealed.encryptedSelf);
  if (sealed.services)
    for (const auto& service : *sealed.services) visit(service.encryptedSelf);
}

}  // namespace

template <typename Entity>
std::optional<SealedVersion> SealedVersion::make(const Entity& sealed) {
  if (!sealed.id || !sealed.rev) return std::nullopt;
  SealedVersion version;
  version.rev_ = *sealed.rev;
  for_each_ciphertext(sealed, [&](const std::optional<std::string>& text) {
    version.ciphertexts_.push_back(text.value_or(std::string()));
  });
  return version;
}

template <typename Entity>
bool SealedVersion::same(const Entity& sealed) const {
  if (!sealed.rev || *sealed.rev != rev_) return false;
  std::size_t i = 0;
  bool same = true;
  for_each_ciphertext(sealed, [&](const std::optional<std::string>& text) {
    same = same && i < ciphertexts_.size() &&
           ciphertexts_[i] == (text ? std::string_view(*text) : std::string_view());
    ++i;
  });
  return same && i == ciphertexts_.size();
}

std::optional<SealedVersion> SealedVersion::of(const icure::Patient& sealed) {
  return make(sealed);
}
std::optional<SealedVersion> SealedVersion::of(const icure::Contact& sealed) {
  return make(sealed);
}
bool SealedVersion::matches(const icure::Patient& sealed) const {
  return same(sealed);
}
bool SealedVersion::matches(const icure::Contact& sealed) const {
  return same(sealed);
}

}  // namespace fhirbridge::crypto
