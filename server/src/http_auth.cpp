// HTTP Basic authentication, shared by the FHIR API, the keychain endpoint
// and the iCure REST subset.
#include "http_auth.hpp"

#include <algorithm>
#include <cctype>

#include "fhirbridge/crypto/primitives.hpp"

namespace fhirbridge::server::detail {

namespace {
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
  auto decoded = crypto::from_base64(encoded);
  const Status malformed(StatusCode::unauthorized, "malformed Basic credentials");
  if (!decoded.ok()) return malformed;
  std::string credentials(decoded->begin(), decoded->end());
  const auto colon = credentials.find(':');
  if (colon == std::string::npos) return malformed;
  return ctx.authenticate(credentials.substr(0, colon), credentials.substr(colon + 1));
}

}  // namespace fhirbridge::server::detail
