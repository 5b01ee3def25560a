// /user/current, /hcparty/..., /dataowner/current and the /device probes.
#include "icure_rest_internal.hpp"

namespace fhirbridge::server::detail::icure_rest {

namespace {

// iCure always serialises an HCP's key maps, empty or not, and the SDK
// writes into them without checking (owner.hcPartyKeys[delegate] = ...).
json::value hcp_json(icure::HealthcareParty hcp) {
  if (!hcp.hcPartyKeys) hcp.hcPartyKeys.emplace();
  if (!hcp.aesExchangeKeys) hcp.aesExchangeKeys.emplace();
  json::value out = json_io::to_json(hcp);
  for (const char* key : {"hcPartyKeys", "aesExchangeKeys"})
    if (!out.as_object().contains(key)) out.as_object()[key] = json::object();
  return out;
}

RestResult current_user(RestCall& call) {
  auto user = call.ctx.store().get_user_by_login(call.login);
  if (!user.ok()) return user.status();
  user->passwordHash.reset();  // never leaves the server
  return json_io::to_json(*user);
}

RestResult healthcare_party(RestCall& call, const std::string& id) {
  auto hcp = call.ctx.store().get_healthcare_party(id);
  if (!hcp.ok()) return hcp.status();
  return hcp_json(std::move(*hcp));
}

// PUT /hcparty: the SDK stores the exchange keys it creates on its own HCP.
// Only the caller's own HCP may be replaced; rev must match (409).
RestResult put_healthcare_party(RestCall& call) {
  auto hcp = body_as<icure::HealthcareParty>(call, "HealthcareParty");
  if (!hcp.ok()) return hcp.status();
  if (!hcp->id || *hcp->id != call.who.hcp_id)
    return Status(StatusCode::forbidden,
                  "you may only update your own healthcare party (" + call.who.hcp_id + ")",
                  "HealthcareParty.id");
  if (!hcp->rev)
    return Status(StatusCode::version_conflict, "an update needs the current rev",
                  "HealthcareParty.rev");
  auto stored = call.ctx.store().put_healthcare_party(std::move(*hcp));
  if (!stored.ok()) return stored.status();
  return hcp_json(std::move(*stored));
}

}  // namespace

RestResult handle_users(RestCall& call) {
  const auto& s = call.segments;
  const bool get = call.method == http::verb::get;
  if (s[0] == "user" && get && s.size() == 2 && s[1] == "current") return current_user(call);
  if (s[0] == "dataowner" && get && s.size() == 2 && s[1] == "current") {
    auto hcp = call.ctx.store().get_healthcare_party(call.who.hcp_id);
    if (!hcp.ok()) return hcp.status();
    return json::value(json::object{{"type", "hcp"}, {"dataOwner", hcp_json(std::move(*hcp))}});
  }
  if (s[0] == "hcparty") {
    if (get && s.size() == 2)
      return healthcare_party(call, s[1] == "current" ? call.who.hcp_id : s[1]);
    if (get && s.size() == 3 && s[2] == "aesExchangeKeys") {
      auto keys = call.sealed.exchange_keys_to(s[1] == "current" ? call.who.hcp_id : s[1]);
      if (!keys.ok()) return keys.status();
      json::object out;
      for (const auto& [delegator, by_key] : *keys) {
        json::object keys_of_delegator;
        for (const auto& [public_key, entries] : by_key) {
          json::object e;
          for (const auto& [fingerprint, encrypted] : entries) e[fingerprint] = encrypted;
          keys_of_delegator[public_key] = std::move(e);
        }
        out[delegator] = std::move(keys_of_delegator);
      }
      return json::value(std::move(out));
    }
    if (call.method == http::verb::put && s.size() == 1) return put_healthcare_party(call);
  }
  // /device/...: we have no devices (the SDK probes data-owner ids here).
  return Status::NotFound("no such iCure endpoint");
}

}  // namespace fhirbridge::server::detail::icure_rest
