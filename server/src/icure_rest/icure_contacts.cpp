// /contact: create, update, get, byIds, delete, byHcPartySecretForeignKeys,
// filter, and /contact/service/filter (sealed, as sent).
#include "icure_rest_internal.hpp"

namespace fhirbridge::server::detail::icure_rest {

namespace {

using storage::SealedServiceFilter;

Result<storage::SealedContactFilter> contact_filter(const RestCall& call) {
  auto filter = filter_of(call);
  if (!filter.ok()) return filter.status();
  const std::string type(filter->at("$type").get_string());
  if (type != "ContactByHcPartyFilter")
    return Status(StatusCode::not_supported, "unsupported contact filter '" + type + "'",
                  "filter.$type");
  auto hcp = filter_string(*filter, "healthcarePartyId");
  if (!hcp.ok()) return hcp.status();
  return storage::SealedContactFilter{hcp->value_or(call.who.hcp_id)};
}

Result<std::optional<std::int64_t>> filter_date(const json::object& filter, const char* key) {
  const auto* v = filter.if_contains(key);
  if (!v || v->is_null()) return std::optional<std::int64_t>();
  if (v->is_int64()) return std::optional<std::int64_t>(v->get_int64());
  if (v->is_uint64() && v->get_uint64() < (1ull << 62))
    return std::optional<std::int64_t>(static_cast<std::int64_t>(v->get_uint64()));
  return Status::Invalid(std::string("filter.") + key,
                         std::string(key) + " must be an integer date (YYYYMMDD[hhmmss])");
}

Result<SealedServiceFilter> service_filter(const RestCall& call) {
  auto filter = filter_of(call);
  if (!filter.ok()) return filter.status();
  SealedServiceFilter out;
  const std::string type(filter->at("$type").get_string());
  if (type == "ServiceByHcPartyTagCodeDateFilter")
    out.kind = SealedServiceFilter::Kind::by_tag_code_date;
  else if (type == "ServiceByHcPartyIdentifiersFilter")
    out.kind = SealedServiceFilter::Kind::by_identifiers;
  else
    return Status(StatusCode::not_supported, "unsupported service filter '" + type + "'",
                  "filter.$type");
  auto hcp = filter_string(*filter, "healthcarePartyId");
  if (!hcp.ok()) return hcp.status();
  out.healthcare_party_id = hcp->value_or(call.who.hcp_id);
  if (out.kind == SealedServiceFilter::Kind::by_identifiers) {
    auto identifiers = filter_identifiers(*filter);
    if (!identifiers.ok()) return identifiers.status();
    out.identifiers = std::move(*identifiers);
    return out;
  }
  for (const auto& [key, target] :
       {std::pair{"tagType", &out.tag_type}, std::pair{"tagCode", &out.tag_code},
        std::pair{"codeType", &out.code_type}, std::pair{"codeCode", &out.code_code}}) {
    auto value = filter_string(*filter, key);
    if (!value.ok()) return value.status();
    *target = *value;
  }
  for (const auto& [key, target] : {std::pair{"startValueDate", &out.start_value_date},
                                    std::pair{"endValueDate", &out.end_value_date}}) {
    auto value = filter_date(*filter, key);
    if (!value.ok()) return value.status();
    *target = *value;
  }
  return out;
}

// The secret foreign keys of GET ?secretFKeys=a,b or of a POST body (array / {"ids"}).
Result<std::vector<std::string>> secret_keys(const RestCall& call) {
  if (call.method == http::verb::get) {
    auto keys = call.param("secretFKeys");
    if (!keys) return Status::Invalid("secretFKeys", "secretFKeys is required");
    return split_ids(*keys);
  }
  return body_ids(call);
}

}  // namespace

RestResult handle_contacts(RestCall& call) {
  const auto& s = call.segments;
  auto& store = call.sealed;
  if (s.size() == 2 && s[1] == "byHcPartySecretForeignKeys" &&
      (call.method == http::verb::get || call.method == http::verb::post)) {
    auto keys = secret_keys(call);
    if (!keys.ok()) return keys.status();
    auto contacts = store.contacts_by_secret_foreign_keys(
        call.who, call.param("hcPartyId").value_or(call.who.hcp_id), *keys);
    if (!contacts.ok()) return contacts.status();
    return array_json(*contacts);
  }
  switch (call.method) {
    case http::verb::post:
      if (s.size() == 1) {
        auto contact = body_as<icure::Contact>(call, "Contact");
        if (!contact.ok()) return contact.status();
        auto created = store.create_sealed_contact(call.who, std::move(*contact));
        if (!created.ok()) return created.status();
        return json_io::to_json(*created);
      }
      if (s.size() == 2 && s[1] == "byIds") {
        auto ids = body_ids(call);
        if (!ids.ok()) return ids.status();
        auto contacts = store.get_sealed_contacts(call.who, *ids);
        if (!contacts.ok()) return contacts.status();
        return array_json(*contacts);
      }
      if (s.size() == 2 && s[1] == "filter") {
        auto filter = contact_filter(call);
        if (!filter.ok()) return filter.status();
        auto page = page_request(call);
        if (!page.ok()) return page.status();
        auto result = store.filter_sealed_contacts(call.who, *filter, *page);
        if (!result.ok()) return result.status();
        return page_json(*result, page->limit);
      }
      if (s.size() == 3 && s[1] == "service" && s[2] == "filter") {
        auto filter = service_filter(call);
        if (!filter.ok()) return filter.status();
        auto page = page_request(call);
        if (!page.ok()) return page.status();
        auto result = store.filter_sealed_services(call.who, *filter, *page);
        if (!result.ok()) return result.status();
        return page_json(*result, page->limit);
      }
      break;
    case http::verb::put:
      if (s.size() == 1) {
        auto contact = body_as<icure::Contact>(call, "Contact");
        if (!contact.ok()) return contact.status();
        auto updated = store.update_sealed_contact(call.who, std::move(*contact));
        if (!updated.ok()) return updated.status();
        return json_io::to_json(*updated);
      }
      break;
    case http::verb::get:
      if (s.size() == 2) {
        auto contact = store.get_sealed_contact(call.who, s[1]);
        if (!contact.ok()) return contact.status();
        return json_io::to_json(*contact);
      }
      break;
    case http::verb::delete_:
      if (s.size() == 2) {
        auto deleted = store.delete_sealed_contacts(call.who, split_ids(s[1]));
        if (!deleted.ok()) return deleted.status();
        return deleted_json(*deleted);
      }
      break;
    default: break;
  }
  return Status::NotFound("no such iCure endpoint");
}

}  // namespace fhirbridge::server::detail::icure_rest
