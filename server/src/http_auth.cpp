// HTTP Basic authentication, shared by the FHIR API, the keychain endpoint
// and the iCure REST subset.
#include "http_auth.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <string_view>

#include <botan/base64.h>
#include <botan/mem_ops.h>
#include <boost/beast/core/string.hpp>

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

// Credentials up to this size (encoded) are decoded on the stack: no secure
// allocation per request; longer ones into a secure_vector.
constexpr std::size_t kStackCredentials = 1024;
constexpr std::size_t kStackDecoded = kStackCredentials / 4 * 3;

Status missing_credentials() {
  return Status(StatusCode::unauthorized,
                "authentication required: HTTP Basic with your fhirbridge login and password");
}
Status malformed_credentials() {
  return Status(StatusCode::unauthorized, "malformed Basic credentials");
}

// The base64 part of `Authorization: Basic <base64>`; nullopt for none.
std::optional<std::string_view> encoded_basic(const Request& req) {
  const std::string_view header = req[http::field::authorization];
  if (header.size() < 6 || !boost::beast::iequals(header.substr(0, 6), "basic "))
    return std::nullopt;
  std::string_view encoded = header.substr(6);
  while (!encoded.empty() && encoded.front() == ' ') encoded.remove_prefix(1);
  while (!encoded.empty() && encoded.back() == ' ') encoded.remove_suffix(1);
  return encoded;
}
}  // namespace

bool authentication_hashes(const Request& req, ServerContext& ctx) {
  const auto encoded = encoded_basic(req);
  return encoded && !encoded->empty() && !ctx.remembered_basic(*encoded);
}

Result<storage::Principal> authenticate_basic(const Request& req, ServerContext& ctx) {
  const auto basic = encoded_basic(req);
  if (!basic) return missing_credentials();
  const std::string_view encoded = *basic;
  if (auto remembered = ctx.remembered_basic(encoded)) return std::move(*remembered);
  // Decoded on the stack (or into a secure_vector when long), wiped on every
  // path; so are the login and password strings when this function returns.
  std::array<std::uint8_t, kStackDecoded> stack_buffer;
  Botan::secure_vector<std::uint8_t> heap_buffer;
  std::uint8_t* out = stack_buffer.data();
  if (encoded.size() > kStackCredentials) {
    heap_buffer.resize(Botan::base64_decode_max_output(encoded.size()));
    out = heap_buffer.data();
  }
  struct Scrub {
    std::uint8_t* data;
    std::size_t size;
    ~Scrub() { Botan::secure_scrub_memory(data, size); }
  } scrub{stack_buffer.data(), stack_buffer.size()};
  std::size_t size = 0;
  try {
    size = Botan::base64_decode(out, encoded.data(), encoded.size(), /*ignore_ws=*/false);
  } catch (const std::exception&) {
    return malformed_credentials();
  }
  const std::uint8_t* decoded = out;
  const std::uint8_t* end = decoded + size;
  const std::uint8_t* colon = std::find(decoded, end, std::uint8_t{':'});
  if (colon == end) return malformed_credentials();
  const WipedString login(decoded, colon);
  const WipedString password(colon + 1, end);
  return ctx.authenticate(login.get(), password.get(), encoded);
}

}  // namespace fhirbridge::server::detail
