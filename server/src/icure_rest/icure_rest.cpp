// Placeholder until the iCure REST subset lands: every route answers 404.
#include "icure_rest.hpp"

#include "fhirbridge/server/operation_outcome.hpp"

namespace fhirbridge::server::detail {

Response handle_icure_rest(Request& req, ServerContext&, std::string_view rest, std::string_view) {
  return error_response(Status::NotFound("no such iCure endpoint: /rest/v1/" + std::string(rest)),
                        req.version(), req.keep_alive());
}

}  // namespace fhirbridge::server::detail
