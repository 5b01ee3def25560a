// HTTP Basic authentication (internal to the server library).
#pragma once

#include "fhirbridge/server/handle_request.hpp"
#include "fhirbridge/storage/store.hpp"

namespace fhirbridge::server::detail {

// The Principal of a request's `Authorization: Basic` credentials, checked
// by ServerContext::authenticate. unauthorized when missing or malformed.
Result<storage::Principal> authenticate_basic(const Request& req, ServerContext& ctx);

// Whether authenticate_basic(req) would hash a password: there are Basic
// credentials and ServerContext does not remember them. Missing or other
// credentials are refused, and remembered ones accepted, without hashing.
bool authentication_hashes(const Request& req, ServerContext& ctx);

}  // namespace fhirbridge::server::detail
