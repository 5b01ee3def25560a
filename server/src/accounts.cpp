#include "fhirbridge/server/accounts.hpp"

#include <cstdint>

namespace fhirbridge::server {

std::string random_password(Botan::RandomNumberGenerator& rng, std::size_t length) {
  static constexpr char kAlphabet[] = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  constexpr std::size_t kSize = sizeof(kAlphabet) - 1;  // 56
  std::string out;
  while (out.size() < length) {
    std::uint8_t byte = 0;
    rng.randomize(&byte, 1);
    if (byte < 256 - 256 % kSize) out.push_back(kAlphabet[byte % kSize]);  // no modulo bias
  }
  return out;
}

}  // namespace fhirbridge::server
