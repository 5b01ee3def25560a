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

// The answer handle_icure_rest gives a request whose credentials were refused
// with `status` (answer_before_body gives it without reading the body).
Response icure_rest_refusal(const Request& req, const Status& status);

}  // namespace fhirbridge::server::detail
