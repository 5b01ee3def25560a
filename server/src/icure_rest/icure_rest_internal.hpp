// Internals of the iCure REST subset, shared by its files: one parsed call,
// the answer type, the paging and filter helpers, and the one place where a
// Status becomes an iCure-style error response (icure_errors.cpp).
#pragma once

#include <boost/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fhirbridge/json_io.hpp"
#include "fhirbridge/server/handle_request.hpp"
#include "fhirbridge/server/search.hpp"
#include "fhirbridge/storage/sealed_store.hpp"

namespace fhirbridge::server::detail::icure_rest {

namespace json = boost::json;

// One authenticated request, routed by its first path segment.
struct RestCall {
  const Request& req;
  ServerContext& ctx;
  storage::SealedStore& sealed;
  storage::Principal who;
  std::string login;  // from the Basic credentials
  http::verb method;
  std::vector<std::string> segments;  // percent-decoded path after /rest/v1
  std::vector<QueryParam> params;     // decoded query string
  json::value body;                   // null when there is none

  // The last value of query parameter `name`, if any.
  std::optional<std::string> param(std::string_view name) const;
};

// A successful answer is a JSON body with 200; errors are Status values.
using RestResult = Result<json::value>;

// The resource families; each answers not_found for routes it does not serve.
RestResult handle_users(RestCall& call);     // /user, /hcparty, /dataowner, /device
RestResult handle_patients(RestCall& call);  // /patient
RestResult handle_contacts(RestCall& call);  // /contact

// The iCure error response for `status`: {"error": "<Reason>", "message": ...}.
// version_conflict (stale rev) is 409 here, as iCure answers it.
Response error_response(const Request& req, const Status& status);
Response json_response(const Request& req, const json::value& body);

// ---- shared helpers (icure_common.cpp) ---------------------------------------

// The body as the entity T (unknown keys kept in `extra`): 400 when absent or malformed.
template <typename T>
Result<T> body_as(const RestCall& call, const char* what) {
  if (!call.body.is_object())
    return Status(StatusCode::invalid, std::string("the body must be a JSON ") + what + " object",
                  what);
  T out;
  Status s = json_io::from_json(call.body, out, what);
  if (!s.ok()) return s;
  return out;
}

// {"ids": [...]} (or a bare array of strings).
Result<std::vector<std::string>> body_ids(const RestCall& call);
// "a,b,c" -> ids (empty parts dropped).
std::vector<std::string> split_ids(std::string_view list);

// limit / startDocumentId / startKey -> a page request (limit capped by the settings).
Result<storage::SealedPageRequest> page_request(const RestCall& call);
// The `filter` object of a FilterChain body (or the body itself when it has a $type).
Result<json::object> filter_of(const RestCall& call);
// A string member of a filter; nullopt when absent or null, invalid when not a string.
Result<std::optional<std::string>> filter_string(const json::object& filter, const char* key);
// [{system, value}] of a filter's `identifiers`.
Result<std::vector<storage::TokenFilter>> filter_identifiers(const json::object& filter);

// The paginated list iCure answers: {pageSize, totalSize, rows, nextKeyPair?}.
template <typename T>
json::value page_json(const storage::SealedPage<T>& page, std::size_t page_size) {
  json::array rows;
  rows.reserve(page.rows.size());
  for (const auto& row : page.rows) rows.push_back(json_io::to_json(row));
  json::object out{{"pageSize", page_size}, {"totalSize", page.total}, {"rows", std::move(rows)}};
  if (page.next_document_id)
    out["nextKeyPair"] = json::object{{"startKey", *page.next_document_id},
                                      {"startKeyDocId", *page.next_document_id}};
  return out;
}

template <typename T>
json::value array_json(const std::vector<T>& items) {
  json::array out;
  out.reserve(items.size());
  for (const auto& item : items) out.push_back(json_io::to_json(item));
  return out;
}

json::value deleted_json(const std::vector<storage::Deleted>& deleted);

}  // namespace fhirbridge::server::detail::icure_rest
