#include "fhirbridge/status.hpp"

namespace fhirbridge {

const char* to_string(StatusCode code) noexcept {
  switch (code) {
    case StatusCode::ok: return "ok";
    case StatusCode::invalid: return "invalid";
    case StatusCode::structure: return "structure";
    case StatusCode::not_found: return "not-found";
    case StatusCode::conflict: return "conflict";
    case StatusCode::version_conflict: return "version-conflict";
    case StatusCode::deleted: return "deleted";
    case StatusCode::forbidden: return "forbidden";
    case StatusCode::unauthorized: return "login";
    case StatusCode::key_missing: return "key-missing";
    case StatusCode::key_mismatch: return "key-mismatch";
    case StatusCode::not_supported: return "not-supported";
    case StatusCode::too_large: return "too-costly";
    case StatusCode::internal: return "exception";
    case StatusCode::unavailable: return "transient";
    case StatusCode::insufficient_storage: return "no-store";
    case StatusCode::throttled: return "throttled";
    case StatusCode::multiple_matches: return "multiple-matches";
  }
  return "unknown";
}

std::string Status::to_string() const {
  if (ok()) return "ok";
  return path_.empty() ? message_ : path_ + ": " + message_;
}

}  // namespace fhirbridge
