// HTTP Basic authentication (internal to the server library).
#pragma once

#include "fhirbridge/server/handle_request.hpp"
#include "fhirbridge/storage/store.hpp"

namespace fhirbridge::server::detail {

// The Principal of a request's `Authorization: Basic` credentials, checked
// by ServerContext::authenticate. unauthorized when missing or malformed.
Result<storage::Principal> authenticate_basic(const Request& req, ServerContext& ctx);

}  // namespace fhirbridge::server::detail
