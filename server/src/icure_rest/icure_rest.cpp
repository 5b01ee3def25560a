// The iCure REST subset's entry point: authentication (Basic, as the FHIR
// API), body limit and JSON parsing, then routing by resource family.
#include "icure_rest.hpp"

#include <exception>
#include <iostream>

#include "../http_auth.hpp"
#include "fhirbridge/crypto/primitives.hpp"
#include "fhirbridge/json_io.hpp"
#include "icure_rest_internal.hpp"

namespace fhirbridge::server::detail {

namespace {

namespace json = boost::json;
using icure_rest::RestCall;
using icure_rest::RestResult;

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Path segments, percent-decoded (the SDK encodeURIComponent()s ids).
Result<std::vector<std::string>> path_segments(std::string_view rest) {
  std::vector<std::string> segments;
  while (!rest.empty()) {
    const auto slash = rest.find('/');
    std::string_view raw = rest.substr(0, slash);
    std::string decoded;
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] != '%') {
        decoded += raw[i];
        continue;
      }
      const int hi = i + 2 < raw.size() ? hex_digit(raw[i + 1]) : -1;
      const int lo = i + 2 < raw.size() ? hex_digit(raw[i + 2]) : -1;
      if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
        return Status::Invalid("path", "bad percent-escape in the path");
      decoded += static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    segments.push_back(std::move(decoded));
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  return segments;
}

// The login of the (already checked) Basic credentials.
std::string basic_login(const Request& req) {
  std::string_view header = req[http::field::authorization];
  if (header.size() < 6) return {};
  header.remove_prefix(6);
  while (!header.empty() && header.front() == ' ') header.remove_prefix(1);
  while (!header.empty() && header.back() == ' ') header.remove_suffix(1);
  auto decoded = crypto::from_base64(header);
  if (!decoded.ok()) return {};
  std::string credentials(decoded->begin(), decoded->end());
  return credentials.substr(0, credentials.find(':'));
}

Result<json::value> parse_body(const Request& req) {
  if (req.body().empty()) return json::value();
  return json_io::parse_client_json(req.body());
}

Response handle(Request& req, ServerContext& ctx, std::string_view rest, std::string_view query) {
  auto who = authenticate_basic(req, ctx);
  if (!who.ok()) return icure_rest::error_response(req, who.status());
  if (req.body().size() > ctx.settings().body_limit)
    return icure_rest::error_response(
        req,
        Status(StatusCode::too_large,
               "body over the limit of " + std::to_string(ctx.settings().body_limit) + " bytes"));
  auto segments = path_segments(rest);
  if (!segments.ok()) return icure_rest::error_response(req, segments.status());
  auto params = parse_query(query);
  if (!params.ok()) return icure_rest::error_response(req, params.status());
  auto body = parse_body(req);
  if (!body.ok()) return icure_rest::error_response(req, body.status());

  RestCall call{req,
                ctx,
                *ctx.sealed_store(),
                std::move(*who),
                basic_login(req),
                req.method(),
                std::move(*segments),
                std::move(*params),
                std::move(*body)};
  const std::string family = call.segments.empty() ? "" : call.segments.front();
  RestResult answer =
      Status::NotFound("no such iCure endpoint: " + std::string(req.method_string()) +
                       " /rest/v1/" + std::string(rest));
  if (family == "patient")
    answer = icure_rest::handle_patients(call);
  else if (family == "contact")
    answer = icure_rest::handle_contacts(call);
  else if (family == "user" || family == "hcparty" || family == "dataowner" || family == "device")
    answer = icure_rest::handle_users(call);
  if (!answer.ok()) return icure_rest::error_response(req, answer.status());
  return icure_rest::json_response(req, *answer);
}

}  // namespace

Response handle_icure_rest(Request& req, ServerContext& ctx, std::string_view rest,
                           std::string_view query) {
  try {
    if (!ctx.sealed_store())
      return icure_rest::error_response(
          req, Status::NotFound("this backend does not serve the iCure REST API"));
    return handle(req, ctx, rest, query);
  } catch (const std::exception& e) {
    std::cerr << "fhirbridge: internal error in /rest/v1/"
              << std::string(rest.substr(0, std::min<std::size_t>(rest.size(), 200))) << ": "
              << e.what() << "\n";
  } catch (...) {
    std::cerr << "fhirbridge: unknown internal error in /rest/v1\n";
  }
  return icure_rest::error_response(req, Status::Internal("internal server error"));
}

Response icure_rest_error(const Request& req, const Status& status) {
  return icure_rest::error_response(req, status);
}

}  // namespace fhirbridge::server::detail
