// The whole FHIR REST API as one pure function of a parsed HTTP request:
// auth, routing, CRUD, transactions, search and errors. No sockets, so every
// route is testable directly; http_server.hpp only moves bytes.
#pragma once

#include <optional>

#include <boost/beast/http.hpp>

#include "fhirbridge/server/server_context.hpp"
#include "fhirbridge/status.hpp"

namespace fhirbridge::server {

namespace http = boost::beast::http;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

// Never throws: any escaping exception becomes a 500 OperationOutcome.
Response handle_request(Request&& request, ServerContext& ctx);

// The answer a request gets whatever its body holds, from its header alone:
// the refusal (401, or 429 when throttled) of missing or wrong credentials on
// a path that needs them, or 417 for an HTTP/1.1 `Expect` other than
// 100-continue. nullopt when the body is needed to answer. The HTTP
// server asks before it sends "100 Continue", so that a client with a wrong
// password is told before it uploads its body (RFC 9110 10.1.1). Never throws.
std::optional<Response> answer_before_body(const Request& header, ServerContext& ctx);
// Whether answer_before_body(header) would hash a password (credentials seen
// for the first time, or wrong): the HTTP server then runs it off the I/O
// threads. False when it is answered from the header and remembered logins.
bool answer_before_body_hashes(const Request& header, ServerContext& ctx);

// An OperationOutcome response for `status` (used for errors found before a
// request is complete, e.g. a body over the limit while reading).
Response error_response(const Status& status, unsigned http_version, bool keep_alive);

}  // namespace fhirbridge::server
