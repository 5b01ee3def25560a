// The iCure-compatible REST subset (/rest/v1/...) over ctx.sealed_store():
// the endpoints and JSON shapes the official iCure SDK (@icure/api) needs.
// Internal to the server library; handle_request routes here.
#pragma once

#include <string_view>

#include "fhirbridge/server/handle_request.hpp"

namespace fhirbridge::server::detail {

// `rest` is the path after /rest/v1 without its leading '/', `query` the raw
// query string. Authenticates (Basic) itself. Never throws.
Response handle_icure_rest(Request& req, ServerContext& ctx, std::string_view rest,
                           std::string_view query);

// An error as handle_icure_rest answers it (iCure's `{"error": ...}` format):
// what answer_before_body gives, without reading the body, for refused
// credentials (401/429) and an unmet expectation (417).
Response icure_rest_error(const Request& req, const Status& status);

}  // namespace fhirbridge::server::detail
