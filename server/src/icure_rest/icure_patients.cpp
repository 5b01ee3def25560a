// /patient: create, update, get, byIds, delete, filter (sealed, as sent).
#include "icure_rest_internal.hpp"

namespace fhirbridge::server::detail::icure_rest {

namespace {

using storage::SealedPatientFilter;

Result<SealedPatientFilter> patient_filter(const RestCall& call) {
  auto filter = filter_of(call);
  if (!filter.ok()) return filter.status();
  SealedPatientFilter out;
  const std::string type(filter->at("$type").get_string());
  if (type == "PatientByHcPartyFilter")
    out.kind = SealedPatientFilter::Kind::by_healthcare_party;
  else if (type == "PatientByHcPartyNameContainsFuzzyFilter")
    out.kind = SealedPatientFilter::Kind::name_contains;
  else if (type == "PatientByHcPartyAndIdentifiersFilter")
    out.kind = SealedPatientFilter::Kind::by_identifiers;
  else
    return Status(StatusCode::not_supported, "unsupported patient filter '" + type + "'",
                  "filter.$type");
  auto hcp = filter_string(*filter, "healthcarePartyId");
  if (!hcp.ok()) return hcp.status();
  out.healthcare_party_id = hcp->value_or(call.who.hcp_id);
  if (out.kind == SealedPatientFilter::Kind::name_contains) {
    auto search = filter_string(*filter, "searchString");
    if (!search.ok()) return search.status();
    out.search_string = search->value_or("");
  }
  if (out.kind == SealedPatientFilter::Kind::by_identifiers) {
    auto identifiers = filter_identifiers(*filter);
    if (!identifiers.ok()) return identifiers.status();
    out.identifiers = std::move(*identifiers);
  }
  return out;
}

}  // namespace

RestResult handle_patients(RestCall& call) {
  const auto& s = call.segments;
  auto& store = call.sealed;
  switch (call.method) {
    case http::verb::post:
      if (s.size() == 1) {
        auto patient = body_as<icure::Patient>(call, "Patient");
        if (!patient.ok()) return patient.status();
        auto created = store.create_sealed_patient(call.who, std::move(*patient));
        if (!created.ok()) return created.status();
        return json_io::to_json(*created);
      }
      if (s.size() == 2 && s[1] == "byIds") {
        auto ids = body_ids(call);
        if (!ids.ok()) return ids.status();
        auto patients = store.get_sealed_patients(call.who, *ids);
        if (!patients.ok()) return patients.status();
        return array_json(*patients);
      }
      if (s.size() == 2 && s[1] == "filter") {
        auto filter = patient_filter(call);
        if (!filter.ok()) return filter.status();
        auto page = page_request(call);
        if (!page.ok()) return page.status();
        auto result = store.filter_sealed_patients(call.who, *filter, *page);
        if (!result.ok()) return result.status();
        return page_json(*result, page->limit);
      }
      break;
    case http::verb::put:
      if (s.size() == 1) {
        auto patient = body_as<icure::Patient>(call, "Patient");
        if (!patient.ok()) return patient.status();
        auto updated = store.update_sealed_patient(call.who, std::move(*patient));
        if (!updated.ok()) return updated.status();
        return json_io::to_json(*updated);
      }
      break;
    case http::verb::get:
      // Also answers the SDK's data-owner probe GET /patient/{hcpId}: 404.
      if (s.size() == 2) {
        auto patient = store.get_sealed_patient(call.who, s[1]);
        if (!patient.ok()) return patient.status();
        return json_io::to_json(*patient);
      }
      break;
    case http::verb::delete_:
      if (s.size() == 2) {
        auto deleted = store.delete_sealed_patients(call.who, split_ids(s[1]));
        if (!deleted.ok()) return deleted.status();
        return deleted_json(*deleted);
      }
      break;
    default: break;
  }
  return Status::NotFound("no such iCure endpoint");
}

}  // namespace fhirbridge::server::detail::icure_rest
