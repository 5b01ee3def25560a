// The one place where the iCure REST subset turns a Status into an HTTP error:
// iCure's status codes and a small JSON body {"error", "message"[, "path"]}.
#include "fhirbridge/json_io.hpp"
#include "fhirbridge/server/operation_outcome.hpp"
#include "icure_rest_internal.hpp"

namespace fhirbridge::server::detail::icure_rest {

namespace {

unsigned icure_status_for(StatusCode code) {
  switch (code) {
    case StatusCode::version_conflict:  // iCure answers a stale rev with 409
      return 409;
    case StatusCode::deleted:  // iCure has no 410: a deleted entity is not found
      return 404;
    case StatusCode::structure: return 400;
    default: return http_status_for(code);
  }
}

Response make(const Request& req, unsigned status, const json::value& body) {
  Response res{static_cast<http::status>(status), req.version()};
  res.set(http::field::server, "fhirbridge");
  res.set(http::field::content_type, "application/json; charset=utf-8");
  res.keep_alive(req.keep_alive());
  res.body() = json::serialize(body);
  res.prepare_payload();
  return res;
}

}  // namespace

Response error_response(const Request& req, const Status& status) {
  const unsigned code = icure_status_for(status.code());
  json::object body{{"error", std::string(http::obsolete_reason(static_cast<http::status>(code)))},
                    // Messages may quote client input: keep the body valid UTF-8.
                    {"message", json_io::valid_utf8(status.message())}};
  if (!status.path().empty()) body["path"] = json_io::valid_utf8(status.path());
  Response res = make(req, code, body);
  if (code == 401) res.set(http::field::www_authenticate, "Basic realm=\"fhirbridge\"");
  return res;
}

Response json_response(const Request& req, const json::value& body) {
  return make(req, 200, body);
}

}  // namespace fhirbridge::server::detail::icure_rest
