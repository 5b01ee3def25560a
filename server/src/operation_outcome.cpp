#include "fhirbridge/server/operation_outcome.hpp"

#include "fhirbridge/json_io.hpp"

namespace fhirbridge::server {

unsigned http_status_for(StatusCode code) noexcept {
  switch (code) {
    case StatusCode::ok: return 200;
    case StatusCode::invalid: return 400;
    case StatusCode::structure: return 400;
    case StatusCode::not_found: return 404;
    case StatusCode::conflict: return 409;
    // If-Match mismatch, or a rev gone stale under a concurrent writer.
    case StatusCode::version_conflict: return 412;
    case StatusCode::deleted: return 410;
    case StatusCode::forbidden: return 403;
    case StatusCode::unauthorized: return 401;
    // Authenticated, but the server cannot decrypt until the key is posted:
    // the diagnostics name the keychain call to make.
    case StatusCode::key_missing: return 403;
    case StatusCode::key_mismatch: return 400;
    case StatusCode::not_supported: return 400;
    case StatusCode::too_large: return 413;
    case StatusCode::internal: return 500;
    case StatusCode::unavailable: return 503;
    case StatusCode::insufficient_storage: return 507;
    // Login throttling; the HTTP server adds Retry-After.
    case StatusCode::throttled: return 429;
    // FHIR: a conditional create or update whose criteria match more than one.
    case StatusCode::multiple_matches: return 412;
  }
  return 500;
}

const char* fhir_issue_code(StatusCode code) noexcept {
  switch (code) {
    case StatusCode::ok: return "informational";
    case StatusCode::invalid: return "invalid";
    case StatusCode::structure: return "structure";
    case StatusCode::not_found: return "not-found";
    case StatusCode::conflict: return "duplicate";
    case StatusCode::version_conflict: return "conflict";
    case StatusCode::deleted: return "deleted";
    case StatusCode::forbidden: return "forbidden";
    case StatusCode::unauthorized: return "login";
    case StatusCode::key_missing: return "security";
    case StatusCode::key_mismatch: return "security";
    case StatusCode::not_supported: return "not-supported";
    case StatusCode::too_large: return "too-costly";
    case StatusCode::internal: return "exception";
    case StatusCode::unavailable: return "transient";
    case StatusCode::insufficient_storage: return "no-store";
    case StatusCode::throttled: return "throttled";
    case StatusCode::multiple_matches: return "multiple-matches";
  }
  return "exception";
}

boost::json::object operation_outcome(const Status& status) {
  boost::json::object issue;
  issue["severity"] =
      status.ok() ? "information" : (status.code() == StatusCode::internal ? "fatal" : "error");
  issue["code"] = fhir_issue_code(status.code());
  // Messages may echo client bytes (ids, paths): keep the JSON valid UTF-8.
  issue["diagnostics"] = status.message().empty() ? std::string(to_string(status.code()))
                                                  : json_io::valid_utf8(status.message());
  if (!status.path().empty())
    issue["expression"] =
        boost::json::array{boost::json::string(json_io::valid_utf8(status.path()))};
  return {{"resourceType", "OperationOutcome"}, {"issue", boost::json::array{std::move(issue)}}};
}

boost::json::object informational_outcome(const std::string& diagnostics) {
  boost::json::object issue{{"severity", "information"},
                            {"code", "informational"},
                            {"diagnostics", json_io::valid_utf8(diagnostics)}};
  return {{"resourceType", "OperationOutcome"}, {"issue", boost::json::array{std::move(issue)}}};
}

}  // namespace fhirbridge::server
