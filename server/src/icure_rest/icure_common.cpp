// Helpers shared by the iCure REST resource families: ids, paging, filters.
#include <charconv>

#include "icure_rest_internal.hpp"

namespace fhirbridge::server::detail::icure_rest {

std::optional<std::string> RestCall::param(std::string_view name) const {
  std::optional<std::string> value;
  for (const auto& p : params)
    if (p.name == name && p.modifier.empty()) value = p.value;
  return value;
}

std::vector<std::string> split_ids(std::string_view list) {
  std::vector<std::string> ids;
  while (!list.empty()) {
    const auto comma = list.find(',');
    std::string_view part = list.substr(0, comma);
    if (!part.empty()) ids.emplace_back(part);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return ids;
}

Result<std::vector<std::string>> body_ids(const RestCall& call) {
  const json::value* list = &call.body;
  if (call.body.is_object()) {
    list = call.body.get_object().if_contains("ids");
    if (!list) return Status::Invalid("ids", "the body must be {\"ids\": [...]}");
  }
  if (!list->is_array()) return Status::Invalid("ids", "ids must be an array of strings");
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < list->get_array().size(); ++i) {
    const auto& id = list->get_array()[i];
    if (!id.is_string())
      return Status::Invalid("ids[" + std::to_string(i) + "]", "ids must be strings");
    ids.emplace_back(id.get_string());
  }
  return ids;
}

Result<storage::SealedPageRequest> page_request(const RestCall& call) {
  storage::SealedPageRequest page;
  const std::size_t max = call.ctx.settings().max_page_size;
  page.limit = std::min<std::size_t>(1000, max);
  if (auto limit = call.param("limit"); limit && !limit->empty()) {
    std::size_t n = 0;
    auto [end, ec] = std::from_chars(limit->data(), limit->data() + limit->size(), n);
    if (ec != std::errc() || end != limit->data() + limit->size() || n == 0)
      return Status::Invalid("limit", "limit must be a positive integer, not '" + *limit + "'");
    page.limit = std::min(n, max);
  }
  if (auto start = call.param("startDocumentId"); start && !start->empty()) {
    page.start_document_id = *start;
  } else if (auto key = call.param("startKey"); key && !key->empty()) {
    // Our startKey is the next document id, as a JSON string (or bare).
    boost::system::error_code ec;
    json::value parsed = json::parse(*key, ec);
    page.start_document_id = !ec && parsed.is_string() ? std::string(parsed.get_string()) : *key;
  }
  return page;
}

Result<json::object> filter_of(const RestCall& call) {
  if (!call.body.is_object())
    return Status::Invalid("filter", "the body must be {\"filter\": {\"$type\": ...}}");
  const auto& body = call.body.get_object();
  const json::value* filter = body.contains("$type") ? &call.body : body.if_contains("filter");
  if (!filter || !filter->is_object())
    return Status::Invalid("filter", "the body must be {\"filter\": {\"$type\": ...}}");
  const auto* type = filter->get_object().if_contains("$type");
  if (!type || !type->is_string())
    return Status::Invalid("filter.$type", "the filter needs a $type");
  return filter->get_object();
}

Result<std::optional<std::string>> filter_string(const json::object& filter, const char* key) {
  const auto* v = filter.if_contains(key);
  if (!v || v->is_null()) return std::optional<std::string>();
  if (!v->is_string())
    return Status::Invalid(std::string("filter.") + key, std::string(key) + " must be a string");
  return std::optional<std::string>(std::string(v->get_string()));
}

Result<std::vector<storage::TokenFilter>> filter_identifiers(const json::object& filter) {
  const auto* list = filter.if_contains("identifiers");
  if (!list || !list->is_array())
    return Status::Invalid("filter.identifiers", "identifiers must be an array");
  std::vector<storage::TokenFilter> out;
  for (std::size_t i = 0; i < list->get_array().size(); ++i) {
    const auto& item = list->get_array()[i];
    const std::string path = "filter.identifiers[" + std::to_string(i) + "]";
    if (!item.is_object()) return Status::Invalid(path, "an identifier must be an object");
    storage::TokenFilter token;
    for (const auto& [key, target] :
         {std::pair{"system", &token.system}, std::pair{"value", &token.value}}) {
      auto s = filter_string(item.get_object(), key);
      if (!s.ok()) return Status::Invalid(path + "." + key, key + std::string(" must be a string"));
      *target = *s;
    }
    out.push_back(std::move(token));
  }
  return out;
}

json::value deleted_json(const std::vector<storage::Deleted>& deleted) {
  json::array out;
  for (const auto& d : deleted) out.push_back(json::object{{"id", d.id}, {"rev", d.rev}});
  return out;
}

}  // namespace fhirbridge::server::detail::icure_rest
