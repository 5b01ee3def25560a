// The one place where a Status becomes an HTTP status and a FHIR
// OperationOutcome (issue.severity/code/diagnostics/expression).
#pragma once

#include <boost/json.hpp>

#include <string>

#include "fhirbridge/status.hpp"

namespace fhirbridge::server {

// The HTTP status for a StatusCode (the single translation table).
unsigned http_status_for(StatusCode code) noexcept;
// The FHIR issue-type code (http://hl7.org/fhir/issue-type) for a StatusCode.
const char* fhir_issue_code(StatusCode code) noexcept;

// OperationOutcome with one issue; `expression` is status.path() when set.
boost::json::object operation_outcome(const Status& status);
// An informational OperationOutcome (e.g. for Prefer: return=OperationOutcome).
boost::json::object informational_outcome(const std::string& diagnostics);

}  // namespace fhirbridge::server
