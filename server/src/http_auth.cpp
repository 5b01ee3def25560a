// HTTP Basic authentication, shared by the FHIR API, the keychain endpoint
// and the iCure REST subset.
#include "http_auth.hpp"

#include <algorithm>
#include <cctype>

#include <botan/base64.h>
#include <botan/mem_ops.h>

#include "fhirbridge/crypto/primitives.hpp"

namespace fhirbridge::server::detail {

namespace {
// Overwrites a string's bytes when it goes out of scope (Basic credentials).
class WipedString {
 public:
  // Built in place: a moved-from temporary could leave a copy behind (small-string buffer).
  template <typename Iterator>
  WipedString(Iterator begin, Iterator end) : value_(begin, end) {}
  WipedString(const WipedString&) = delete;
  WipedString& operator=(const WipedString&) = delete;
  ~WipedString() { Botan::secure_scrub_memory(value_.data(), value_.size()); }
  const std::string& get() const { return value_; }

 private:
  std::string value_;
};

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return out;
}
}  // namespace

Result<storage::Principal> authenticate_basic(const Request& req, ServerContext& ctx) {
  const std::string_view header = req[http::field::authorization];
  const Status missing(
      StatusCode::unauthorized,
      "authentication required: HTTP Basic with your fhirbridge login and password");
  if (header.empty()) return missing;
  if (header.size() < 6 || lower(header.substr(0, 6)) != "basic ") return missing;
  std::string_view encoded = header.substr(6);
  while (!encoded.empty() && encoded.front() == ' ') encoded.remove_prefix(1);
  while (!encoded.empty() && encoded.back() == ' ') encoded.remove_suffix(1);
  const Status malformed(StatusCode::unauthorized, "malformed Basic credentials");
  // Decoded into a secure_vector (wiped when freed); the login and password
  // strings are wiped when this function returns, on every path.
  Botan::secure_vector<std::uint8_t> decoded;
  try {
    decoded = Botan::base64_decode(encoded.data(), encoded.size(), /*ignore_ws=*/false);
  } catch (const std::exception&) {
    return malformed;
  }
  const auto colon = std::find(decoded.begin(), decoded.end(), std::uint8_t{':'});
  if (colon == decoded.end()) return malformed;
  const WipedString login(decoded.begin(), colon);
  const WipedString password(colon + 1, decoded.end());
  return ctx.authenticate(login.get(), password.get());
}

}  // namespace fhirbridge::server::detail
