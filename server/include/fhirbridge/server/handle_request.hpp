// The whole FHIR REST API as one pure function of a parsed HTTP request:
// auth, routing, CRUD, transactions, search and errors. No sockets, so every
// route is testable directly; http_server.hpp only moves bytes.
#pragma once

#include <boost/beast/http.hpp>

#include "fhirbridge/server/server_context.hpp"
#include "fhirbridge/status.hpp"

namespace fhirbridge::server {

namespace http = boost::beast::http;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

// Never throws: any escaping exception becomes a 500 OperationOutcome.
Response handle_request(Request&& request, ServerContext& ctx);

// An OperationOutcome response for `status` (used for errors found before a
// request is complete, e.g. a body over the limit while reading).
Response error_response(const Status& status, unsigned http_version, bool keep_alive);

}  // namespace fhirbridge::server
