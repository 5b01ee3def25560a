// FHIR interactions on Patient and Observation: create (also conditional), read,
// vread, update (also conditional), patch, delete, conditional delete and search,
// below the HTTP layer.
#include <boost/beast/http/status.hpp>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <ctime>
#include <functional>
#include <memory>

#include "fhir_api.hpp"
#include "fhirbridge/mapping/observation.hpp"
#include "fhirbridge/mapping/patient.hpp"
#include "fhirbridge/server/detail/json_patch.hpp"
#include "fhirbridge/server/detail/search_plan.hpp"
#include "fhirbridge/server/operation_outcome.hpp"
#include "rendered_cache.hpp"
#include "search_cache.hpp"

namespace fhirbridge::server::detail {

namespace json = boost::json;

// ---- small helpers ----------------------------------------------------------

namespace {

bool is_supported_type(const std::string& type) {
  return type == "Patient" || type == "Observation";
}

std::optional<std::string> string_member(const json::object& o, std::string_view key) {
  if (const json::value* m = o.if_contains(key); m && m->is_string())
    return std::string(m->get_string());
  return std::nullopt;
}

// Without the object overload, a json::object argument converted to a
// temporary json::value: a deep copy of a whole resource on every answer.
std::optional<std::string> string_member(const json::value& v, std::string_view key) {
  if (const json::object* o = v.if_object()) return string_member(*o, key);
  return std::nullopt;
}

bool same_identifier(const icure::Identifier& a, const icure::Identifier& b) {
  return a.system == b.system && a.value == b.value;
}

// Keeps the FHIR-id identifiers of `existing` (the id sent at create) when an
// update body does not repeat them, and drops duplicates.
void merge_identifiers(std::optional<std::vector<icure::Identifier>>& updated,
                       const std::optional<std::vector<icure::Identifier>>& existing,
                       const std::string& fhir_id_system) {
  std::vector<icure::Identifier> merged;
  if (updated)
    for (auto& id : *updated)
      if (std::none_of(merged.begin(), merged.end(),
                       [&](auto& m) { return same_identifier(m, id); }))
        merged.push_back(id);
  if (existing)
    for (const auto& id : *existing)
      if (id.system == fhir_id_system && std::none_of(merged.begin(), merged.end(), [&](auto& m) {
            return same_identifier(m, id);
          }))
        merged.push_back(id);
  if (merged.empty() && !updated) return;
  updated = std::move(merged);
}

std::string reference_id(const std::string& reference) {
  // "Patient/x", "http://host/base/Patient/x", "Patient/x/_history/2" -> x
  auto pos = reference.rfind("Patient/");
  if (pos == std::string::npos) return reference;
  std::string rest = reference.substr(pos + 8);
  return rest.substr(0, rest.find('/'));
}

}  // namespace

Status check_resource_type(const json::value& resource, std::string_view expected) {
  const json::object* obj = resource.if_object();
  if (!obj) return {StatusCode::structure, "the body must be a JSON object (a FHIR resource)"};
  const json::value* type = obj->if_contains("resourceType");
  if (!type || !type->is_string())
    return Status::Invalid("resourceType",
                           "missing resourceType (expected '" + std::string(expected) + "')");
  if (type->get_string() != expected)
    return Status::Invalid("resourceType", "resourceType '" + std::string(type->get_string()) +
                                               "' is not accepted here (expected '" +
                                               std::string(expected) + "')");
  return {};
}

json::value without_server_meta(json::value resource) {
  if (json::object* obj = resource.if_object()) {
    if (json::value* meta = obj->if_contains("meta"); meta && meta->is_object()) {
      meta->get_object().erase("versionId");
      meta->get_object().erase("lastUpdated");
      if (meta->get_object().empty()) obj->erase("meta");
    }
  }
  return resource;
}

Status explain(Status status, const ServerContext& ctx, const storage::Principal& who) {
  if (status.code() != StatusCode::key_missing) return status;
  if (status.message().find("keychain") != std::string::npos) return status;
  return {StatusCode::key_missing,
          status.message() + " (post the private key of healthcare party " + who.hcp_id +
              " first: POST " + ctx.settings().keychain_path + "/" + who.hcp_id +
              " with body {\"key\": \"<PKCS#8 hex>\"})",
          status.path()};
}

Status check_if_match(const std::optional<std::string>& if_match,
                      const std::optional<std::string>& rev) {
  if (!if_match) return {};
  std::string tag = *if_match;
  auto trim = [](std::string& s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.erase(s.begin());
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.pop_back();
  };
  trim(tag);
  if (tag == "*") return {};
  if (tag.rfind("W/", 0) == 0) tag = tag.substr(2);
  if (tag.size() >= 2 && tag.front() == '"' && tag.back() == '"')
    tag = tag.substr(1, tag.size() - 2);
  const std::string current = generation_of(rev);
  if (tag == current || (rev && tag == *rev)) return {};
  return {StatusCode::version_conflict,
          "If-Match " + *if_match + " does not match the current version W/\"" + current + "\""};
}

bool not_modified(std::string_view if_none_match, std::optional<std::int64_t> modified_since_ms,
                  const FhirAnswer& answer) {
  auto opaque = [](std::string_view tag) {
    while (!tag.empty() && (tag.front() == ' ' || tag.front() == '\t')) tag.remove_prefix(1);
    while (!tag.empty() && (tag.back() == ' ' || tag.back() == '\t')) tag.remove_suffix(1);
    if (tag.substr(0, 2) == "W/") tag.remove_prefix(2);
    return tag;
  };
  if (!if_none_match.empty()) {  // when present, If-Modified-Since is not looked at
    if (answer.etag.empty()) return false;
    while (true) {
      const auto comma = if_none_match.find(',');
      const std::string_view tag = opaque(if_none_match.substr(0, comma));
      if (tag == "*" || tag == opaque(answer.etag)) return true;
      if (comma == std::string_view::npos) return false;
      if_none_match.remove_prefix(comma + 1);
    }
  }
  if (!modified_since_ms || answer.last_modified.empty()) return false;
  auto modified = mapping::parse_fhir_date_time(answer.last_modified, "lastModified");
  return modified.ok() && mapping::epoch_ms_range(*modified).first <= *modified_since_ms;
}

Result<FhirCall> call_from_url(const std::string& method, const std::string& url) {
  FhirCall call;
  call.method = method;
  std::string path = url;
  std::string query;
  if (auto q = path.find('?'); q != std::string::npos) {
    query = path.substr(q + 1);
    path = path.substr(0, q);
  }
  if (path.rfind("http://", 0) == 0 || path.rfind("https://", 0) == 0) {
    // Absolute URL: keep what follows the resource type.
    auto p = path.find("/Patient");
    if (p == std::string::npos) p = path.find("/Observation");
    path = p == std::string::npos ? std::string{} : path.substr(p);
  }
  std::size_t start = 0;
  while (start <= path.size()) {
    auto end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    if (end > start) call.segments.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  auto params = parse_query(query);
  if (!params.ok()) return params.status();
  call.params = std::move(*params);
  return call;
}

// ---- views -----------------------------------------------------------------

Result<json::object> patient_view(const icure::Patient& patient, const ServerContext& ctx) {
  auto fhir = mapping::icure_patient_to_fhir(patient, ctx.mapping());
  if (!fhir.ok()) return fhir.status();
  if (patient.id) (*fhir)["id"] = *patient.id;
  return fhir;
}

Result<json::object> observation_view(const icure::Contact& contact, const std::string& patient_id,
                                      const ServerContext& ctx) {
  auto fhir = mapping::icure_observation_to_fhir(contact, patient_id, ctx.mapping());
  if (!fhir.ok()) return fhir.status();
  if (contact.id) (*fhir)["id"] = *contact.id;
  return fhir;
}

Result<json::object> observation_view(const storage::ContactRecord& record,
                                      const ServerContext& ctx) {
  return observation_view(record.contact, record.patient_id, ctx);
}

// ---- resolution -------------------------------------------------------------

// Store::get_patient / get_contact accept FHIR ids themselves (store.hpp), in
// one indexed lookup: no second search here. Only the message is the server's.
namespace {
Status missing_resource(const Status& status, std::string_view type, const std::string& id) {
  if (status.code() != StatusCode::not_found) return status;
  return Status::NotFound(std::string(type) + "/" + id + " not found");
}
}  // namespace

namespace {
// Each entity moved into the WriteResult variant, or the store's error.
template <typename Entities>
Result<std::vector<storage::WriteResult>> as_write_results(Result<Entities> found) {
  if (!found.ok()) return found.status();
  std::vector<storage::WriteResult> out;
  out.reserve(found->size());
  for (auto& entity : *found) out.emplace_back(std::move(entity));
  return out;
}
}  // namespace

Result<std::vector<storage::WriteResult>> TypeStore::versions(
    const storage::Principal& who, const std::string& id, std::optional<std::int64_t> generation) {
  return patient_ ? as_write_results(store_.patient_versions(who, id, generation))
                  : as_write_results(store_.contact_versions(who, id, generation));
}

Result<std::vector<storage::WriteResult>> TypeStore::list_old_versions(
    const storage::Principal& who, std::int64_t since_ms,
    const std::optional<storage::VersionPosition>& after, std::size_t limit) {
  return patient_ ? as_write_results(store_.list_old_patient_versions(who, since_ms, after, limit))
                  : as_write_results(store_.list_old_contact_versions(who, since_ms, after, limit));
}

Result<icure::Patient> resolve_patient(ServerContext& ctx, const storage::Principal& who,
                                       const std::string& id) {
  auto found = resolve_patient_shared(ctx, who, id);
  if (!found.ok()) return found.status();
  return **found;
}

Result<std::shared_ptr<const icure::Patient>> resolve_patient_shared(ServerContext& ctx,
                                                                     const storage::Principal& who,
                                                                     const std::string& id) {
  if (id.empty()) return Status::NotFound("Patient/ not found");
  auto found = ctx.store().get_patient_shared(who, id);
  if (!found.ok()) return missing_resource(found.status(), "Patient", id);
  return found;
}

Result<storage::ContactRecord> resolve_observation(ServerContext& ctx,
                                                   const storage::Principal& who,
                                                   const std::string& id) {
  if (id.empty()) return Status::NotFound("Observation/ not found");
  auto found = ctx.store().get_contact(who, id);
  if (!found.ok()) return missing_resource(found.status(), "Observation", id);
  return found;
}

namespace {
// What a conditional create, update or reference names: the one store id its
// criteria match, or none. Several are multiple_matches at `path`, listing up
// to five; `matcher` ("the criteria", "'Patient?...'") and `rule` word it.
Result<std::optional<std::string>> match_at_most_one(
    ServerContext& ctx, const storage::Principal& who, const std::string& type,
    const std::vector<QueryParam>& criteria, const SearchOptions& options, const std::string& path,
    const std::string& matcher, std::string_view rule) {
  auto ids = search_ids(ctx.store(), who, type, criteria, options, ctx.mapping());
  if (!ids.ok()) return ids.status();
  if (ids->empty()) return std::optional<std::string>{};
  if (ids->size() == 1) return std::optional<std::string>{ids->front()};
  std::string list;
  for (std::size_t i = 0; i < ids->size() && i < 5; ++i)
    list += (i ? ", " : "") + type + "/" + (*ids)[i];
  if (ids->size() > 5) list += ", ...";
  return Status(StatusCode::multiple_matches,
                matcher + " match " + std::to_string(ids->size()) + " " + type + " resources (" +
                    list + "): " + std::string(rule),
                path);
}

// A conditional reference ("Patient?identifier=sys|value", FHIR R4 transactions,
// accepted in any create or update): the one patient its criteria match, as
// of the store before the request. Searched strictly, like conditional deletes.
Result<std::string> resolve_conditional_subject(ServerContext& ctx, const storage::Principal& who,
                                                const std::string& reference) {
  const std::string path = "Observation.subject";
  auto criteria = parse_query(std::string_view(reference).substr(std::strlen("Patient?")));
  if (!criteria.ok()) return Status::Invalid(path, criteria.status().message());
  if (criteria->empty())
    return Status::Invalid(path, "'" + reference + "' has no criteria (Patient?identifier=...)");
  auto match =
      match_at_most_one(ctx, who, "Patient", *criteria, SearchOptions{}, path,
                        "'" + reference + "'", "a conditional reference needs exactly one");
  if (!match.ok()) {
    const Status& s = match.status();
    if (s.code() == StatusCode::multiple_matches) return s;
    return Status(s.code(), "'" + reference + "': " + s.message(), path);
  }
  if (!*match) return Status::Invalid(path, "'" + reference + "' matches no patient");
  return **match;
}
}  // namespace

Result<std::string> resolve_subject(ServerContext& ctx, const storage::Principal& who,
                                    const std::optional<std::string>& reference,
                                    const PendingPatients* pending) {
  if (!reference || reference->empty())
    return Status::Invalid(
        "Observation.subject",
        "Observation.subject.reference is required: an observation belongs to a patient");
  if (pending) {
    if (auto it = pending->find(*reference); it != pending->end()) return it->second;
  }
  if (reference->rfind("Patient?", 0) == 0)
    return resolve_conditional_subject(ctx, who, *reference);
  if (reference->rfind("urn:uuid:", 0) == 0)
    // Also a batch's entry, or a lone POST: only a transaction's entries may
    // depend on each other (FHIR http.html#brules).
    return Status::Invalid("Observation.subject",
                           "Observation.subject '" + *reference +
                               "' names no Patient entry of this request: urn:uuid references "
                               "resolve only between the entries of one transaction Bundle");
  if (reference->find('/') != std::string::npos && reference->find("Patient/") == std::string::npos)
    return Status::Invalid("Observation.subject",
                           "Observation.subject '" + *reference + "' must reference a Patient");
  const std::string id = reference_id(*reference);
  if (pending) {
    if (auto it = pending->find(id); it != pending->end()) return it->second;
  }
  auto patient = resolve_patient(ctx, who, id);
  if (patient.ok()) return *patient->id;
  if (patient.status().code() == StatusCode::not_found)
    return Status::Invalid("Observation.subject",
                           "Observation.subject '" + *reference +
                               "' does not resolve to a stored patient (use its id, its FHIR id, "
                               "or Patient/<id>)");
  return patient.status();
}

// ---- create / update preparation --------------------------------------------

Result<icure::Patient> patient_for_create(ServerContext& ctx, const storage::Principal& who,
                                          const json::value& resource) {
  FHIRBRIDGE_RETURN_IF_ERROR(check_resource_type(resource, "Patient"));
  if (auto fhir_id = string_member(resource, "id")) {
    auto existing = resolve_patient(ctx, who, *fhir_id);
    if (existing.ok())
      return Status::Conflict("a Patient with id '" + *fhir_id + "' already exists", "Patient.id");
    // A deleted patient's FHIR id may be reused.
    if (existing.status().code() != StatusCode::not_found &&
        existing.status().code() != StatusCode::deleted)
      return existing.status();
  }
  auto mapped = mapping::fhir_patient_to_icure(without_server_meta(resource), ctx.mapping());
  if (!mapped.ok()) return mapped.status();
  if (!mapped->id || mapped->id->empty()) mapped->id = ctx.mapping().new_id();
  return mapped;
}

Result<ObservationForCreate> observation_for_create(ServerContext& ctx,
                                                    const storage::Principal& who,
                                                    const json::value& resource,
                                                    const PendingPatients* pending) {
  FHIRBRIDGE_RETURN_IF_ERROR(check_resource_type(resource, "Observation"));
  if (auto fhir_id = string_member(resource, "id")) {
    auto existing = resolve_observation(ctx, who, *fhir_id);
    if (existing.ok())
      return Status::Conflict("an Observation with id '" + *fhir_id + "' already exists",
                              "Observation.id");
    if (existing.status().code() != StatusCode::not_found &&
        existing.status().code() != StatusCode::deleted)
      return existing.status();
  }
  auto mapped = mapping::fhir_observation_to_icure(without_server_meta(resource), ctx.mapping());
  if (!mapped.ok()) return mapped.status();
  auto patient_id = resolve_subject(ctx, who, mapped->subject_reference, pending);
  if (!patient_id.ok()) return patient_id.status();
  if (!mapped->contact.id || mapped->contact.id->empty())
    mapped->contact.id = ctx.mapping().new_id();
  return ObservationForCreate{std::move(mapped->contact), std::move(*patient_id)};
}

namespace {
// A PUT body's id: present, and the URL's id (or `store_id`, when the URL
// names a stored resource by its FHIR id). Returns the body's id.
Result<std::string> put_body_id(const json::value& resource, std::string_view type,
                                const std::string& url_id, const std::string* store_id) {
  FHIRBRIDGE_RETURN_IF_ERROR(check_resource_type(resource, type));
  const std::string path = std::string(type) + ".id";
  auto body_id = string_member(resource, "id");
  if (!body_id)
    return Status::Invalid(path, "an update must carry the resource id (" + url_id + ")");
  if (*body_id != url_id && (!store_id || *body_id != *store_id))
    return Status::Invalid(path,
                           "id '" + *body_id + "' does not match the URL id '" + url_id + "'");
  return std::move(*body_id);
}

// The update body's id must name the URL's resource; a store id in the body is
// removed before mapping so it does not become a FHIR-id identifier.
Result<json::value> body_for_update(const json::value& resource, std::string_view type,
                                    const std::string& url_id, const std::string& store_id) {
  auto body_id = put_body_id(resource, type, url_id, &store_id);
  if (!body_id.ok()) return body_id.status();
  json::value copy = without_server_meta(resource);
  if (*body_id == store_id) copy.get_object().erase("id");
  return copy;
}
}  // namespace

bool update_creates(const Status& lookup) {
  return lookup.code() == StatusCode::not_found || lookup.code() == StatusCode::deleted;
}

Status check_update_as_create(const json::value& resource, std::string_view type,
                              const std::string& url_id,
                              const std::optional<std::string>& if_match) {
  auto body_id = put_body_id(resource, type, url_id, nullptr);
  if (!body_id.ok()) return body_id.status();
  if (if_match)
    return {StatusCode::version_conflict, "If-Match " + *if_match + ": there is no " +
                                              std::string(type) + "/" + url_id +
                                              " to match (a PUT without If-Match creates it)"};
  return {};
}

Result<icure::Patient> patient_for_update(ServerContext& ctx, const icure::Patient& existing,
                                          const std::string& url_id, const json::value& resource) {
  auto body = body_for_update(resource, "Patient", url_id, existing.id.value_or(""));
  if (!body.ok()) return body.status();
  auto mapped = mapping::fhir_patient_to_icure(*body, ctx.mapping());
  if (!mapped.ok()) return mapped.status();
  icure::Patient& p = *mapped;
  merge_identifiers(p.identifier, existing.identifier, ctx.mapping().settings.fhir_id_system);
  p.id = existing.id;
  p.rev = existing.rev;
  p.created = existing.created;
  p.author = existing.author;
  p.responsible = existing.responsible;
  // Keys and delegations stay those of the stored patient.
  p.delegations = existing.delegations;
  p.encryptionKeys = existing.encryptionKeys;
  p.cryptedForeignKeys = existing.cryptedForeignKeys;
  p.secretForeignKeys = existing.secretForeignKeys;
  return mapped;
}

Result<icure::Contact> observation_for_update(ServerContext& ctx, const storage::Principal& who,
                                              const storage::ContactRecord& existing,
                                              const std::string& url_id,
                                              const json::value& resource) {
  auto body = body_for_update(resource, "Observation", url_id, existing.contact.id.value_or(""));
  if (!body.ok()) return body.status();
  auto mapped = mapping::fhir_observation_to_icure(*body, ctx.mapping());
  if (!mapped.ok()) return mapped.status();
  if (mapped->subject_reference) {
    auto patient_id = resolve_subject(ctx, who, mapped->subject_reference, nullptr);
    if (!patient_id.ok()) return patient_id.status();
    if (*patient_id != existing.patient_id)
      return Status(StatusCode::not_supported,
                    "moving an observation to another patient is not supported",
                    "Observation.subject");
  }
  icure::Contact& c = mapped->contact;
  const icure::Contact& old = existing.contact;
  c.id = old.id;
  c.rev = old.rev;
  c.created = old.created;
  c.author = old.author;
  c.responsible = old.responsible;
  c.healthcarePartyId = old.healthcarePartyId;
  c.delegations = old.delegations;
  c.encryptionKeys = old.encryptionKeys;
  c.cryptedForeignKeys = old.cryptedForeignKeys;
  c.secretForeignKeys = old.secretForeignKeys;
  if (c.services && !c.services->empty() && old.services && !old.services->empty()) {
    icure::Service& service = c.services->front();
    const icure::Service& old_service = old.services->front();
    service.id = old_service.id;
    service.created = old_service.created;
    merge_identifiers(service.identifier, old_service.identifier,
                      ctx.mapping().settings.fhir_id_system);
  }
  return c;
}

SearchOptions search_options(const CallContext& call) {
  SearchOptions options;
  options.base_url = call.base_url;
  options.strict = call.strict;
  options.default_count = call.server.settings().default_page_size;
  options.max_count = call.server.settings().max_page_size;
  return options;
}

// ---- interactions -----------------------------------------------------------

namespace {

std::string location_of(const CallContext& call, std::string_view type, const std::string& id,
                        const std::string& generation) {
  std::string url = call.base_url + "/" + std::string(type) + "/" + id;
  if (!generation.empty()) url += "/_history/" + generation;
  return url;
}

FhirAnswer resource_answer(const CallContext& call, unsigned status, std::string_view type,
                           json::object resource, const std::string& verb, bool for_write) {
  FhirAnswer answer;
  answer.status = status;
  const std::string id = string_member(resource, "id").value_or("");
  std::string version;
  if (const json::value* meta = resource.if_contains("meta"))
    version = string_member(*meta, "versionId").value_or("");
  if (!version.empty()) answer.etag = "W/\"" + version + "\"";
  if (const json::value* meta = resource.if_contains("meta"))
    answer.last_modified = string_member(*meta, "lastUpdated").value_or("");
  if (for_write || status == 201) answer.location = location_of(call, type, id, version);
  if (!for_write || call.prefer == PreferReturn::representation)
    answer.body = std::move(resource);
  else if (call.prefer == PreferReturn::outcome)
    answer.body = informational_outcome(verb + " " + std::string(type) + "/" + id +
                                        (version.empty() ? "" : " version " + version));
  return answer;
}

FhirAnswer not_allowed(const std::string& allow, const std::string& method) {
  FhirAnswer answer;
  answer.status = 405;
  answer.allow = allow;
  answer.body = operation_outcome(
      Status(StatusCode::not_supported,
             "method " + method + " is not allowed here (allowed: " + allow + ")"));
  return answer;
}

Result<FhirAnswer> view_answer(CallContext& call, std::string_view type, unsigned status,
                               const storage::WriteResult& written, const std::string& verb,
                               bool for_write) {
  if (const auto* patient = std::get_if<icure::Patient>(&written)) {
    auto view = patient_view(*patient, call.server);
    if (!view.ok()) return view.status();
    return resource_answer(call, status, type, std::move(*view), verb, for_write);
  }
  if (const auto* record = std::get_if<storage::ContactRecord>(&written)) {
    auto view = observation_view(*record, call.server);
    if (!view.ok()) return view.status();
    return resource_answer(call, status, type, std::move(*view), verb, for_write);
  }
  return Status::Internal("unexpected write result");
}

// The read cache's key for what the store just answered: the reader and the
// resource (an entry also holds the sealed version it was rendered from, which
// the store's answer must still match).
std::string read_cache_key(const CallContext& call, std::string_view type,
                           const std::string& store_id) {
  std::string key;
  key.reserve(call.who.hcp_id.size() + type.size() + store_id.size() + 2);
  key.append(call.who.hcp_id).append(1, '\x1f').append(type).append(1, '\x1f').append(store_id);
  return key;
}

FhirAnswer rendered_answer(std::shared_ptr<const RenderedCache::Entry> entry) {
  FhirAnswer answer;
  answer.etag = entry->etag;
  answer.last_modified = entry->last_modified;
  answer.rendered = std::shared_ptr<const std::string>(entry, &entry->body);
  return answer;
}

// The read cache's entry for `sealed` (the Patient or Contact the store found,
// with an id and a rev): the one kept for exactly this sealed version, or
// `view()` (its resource) serialised and kept.
template <typename Sealed, typename View>
Result<std::shared_ptr<const RenderedCache::Entry>> rendered_entry(CallContext& call,
                                                                   std::string_view type,
                                                                   const Sealed& sealed,
                                                                   View view) {
  RenderedCache& cache = call.server.read_cache();
  std::string key = read_cache_key(call, type, *sealed.id);
  if (auto entry = cache.find(key, sealed)) return entry;
  Result<json::object> resource = view();
  if (!resource.ok()) return resource.status();
  FhirAnswer answer = resource_answer(call, 200, type, std::move(*resource), "read", false);
  auto entry = std::make_shared<const RenderedCache::Entry>(RenderedCache::Entry{
      json::serialize(answer.body), std::move(answer.etag), std::move(answer.last_modified)});
  cache.put(std::move(key), sealed, entry);
  return entry;
}

// A plain read of the current version that the HTTP layer answers: mapping and
// serialisation are skipped when this version was rendered before. The store
// has already decided access, the key's presence and the current rev, and
// given `sealed` (the Patient or Contact it found); `view` maps it (a miss).
template <typename Sealed, typename View>
Result<FhirAnswer> cached_read(CallContext& call, const std::string& type, const Sealed& sealed,
                               View view) {
  if (!sealed.id || !sealed.rev) {
    auto resource = view();
    if (!resource.ok()) return resource.status();
    return resource_answer(call, 200, type, std::move(*resource), "read", false);
  }
  auto entry = rendered_entry(call, type, sealed, view);
  if (!entry.ok()) return entry.status();
  return rendered_answer(std::move(*entry));
}

// The read cache as a search's renderer: a search answered over HTTP splices
// the serialised resources reads keep, and keeps those it renders for reads.
class ReadCacheRenderer final : public ResourceRenderer {
 public:
  explicit ReadCacheRenderer(CallContext& call) : call_(call) {}

  Result<std::shared_ptr<const std::string>> patient(const icure::Patient& patient) override {
    return body_of("Patient", patient, [&] { return patient_view(patient, call_.server); });
  }
  Result<std::shared_ptr<const std::string>> observation(const icure::Contact& contact,
                                                         const std::string& patient_id) override {
    return body_of("Observation", contact,
                   [&] { return observation_view(contact, patient_id, call_.server); });
  }

 private:
  template <typename Sealed, typename View>
  Result<std::shared_ptr<const std::string>> body_of(std::string_view type, const Sealed& sealed,
                                                     View view) {
    if (!sealed.id || !sealed.rev) {  // never stored: nothing to keep it under
      auto resource = view();
      if (!resource.ok()) return resource.status();
      return std::make_shared<const std::string>(json::serialize(*resource));
    }
    auto entry = rendered_entry(call_, type, sealed, view);
    if (!entry.ok()) return entry.status();
    return std::shared_ptr<const std::string>(*entry, &(*entry)->body);
  }

  CallContext& call_;
};

std::vector<QueryParam> search_params_only(const std::vector<QueryParam>& params) {
  // Format/pretty-printing are handled by the HTTP layer, not search.
  std::vector<QueryParam> out;
  for (const auto& p : params)
    if (p.name != "_format" && p.name != "_pretty") out.push_back(p);
  return out;
}

Result<FhirAnswer> do_search(CallContext& call, const std::string& type, const FhirCall& request) {
  SearchOptions options = search_options(call);
  ReadCacheRenderer renderer(call);
  if (request.accepts_rendered && call.server.read_cache().enabled()) options.renderer = &renderer;
  const std::vector<QueryParam> params = search_params_only(request.params);
  // A serialised answer may come from the search cache: the store's change
  // epoch is taken before the search reads anything, so an answer kept under
  // it is one no commit has overtaken while the epoch stays the same. A
  // reader whose key left the keychain gets the store's own answer.
  detail::SearchCache& cache = call.server.search_cache();
  std::optional<std::uint64_t> epoch;
  std::string key;
  if (options.renderer && cache.enabled() && call.server.keychain().check(call.who.hcp_id).ok()) {
    if (auto current = call.server.store().change_epoch(); current.ok() && *current) {
      epoch = **current;
      key = detail::SearchCache::key(call.who, type, params, options);
      if (auto hit = cache.find(key, *epoch, call.server.mapping().new_id)) {
        FhirAnswer answer;
        answer.rendered = std::move(hit->body);
        answer.warnings = std::move(hit->warnings);
        return answer;
      }
    }
  }
  auto outcome =
      search(call.server.store(), call.who, type, params, options, call.server.mapping());
  if (!outcome.ok()) return outcome.status();
  FhirAnswer answer;
  answer.body = std::move(outcome->bundle);
  answer.rendered = std::move(outcome->rendered);
  answer.warnings = std::move(outcome->warnings);
  if (epoch && answer.rendered)
    cache.put(std::move(key), *epoch, {answer.rendered, answer.warnings});
  return answer;
}

// GET Patient/{id}/Observation (FHIR compartment search, as HAPI and Medplum
// serve it): the Observation search with subject=Patient/{id} added, so its
// self and next links are that search's.
Result<FhirAnswer> do_compartment_search(CallContext& call, const std::string& patient_id,
                                         const FhirCall& request) {
  FhirCall in_compartment = request;
  in_compartment.params.push_back(QueryParam{"subject", "", "Patient/" + patient_id});
  return do_search(call, "Observation", in_compartment);
}

Result<FhirAnswer> do_create(CallContext& call, const std::string& type, const FhirCall& request) {
  if (request.body.is_null())
    return Status(StatusCode::structure, "a " + type + " resource is required in the body");
  if (request.if_none_exist) {
    auto criteria = if_none_exist_criteria(*request.if_none_exist, type, "If-None-Exist");
    if (!criteria.ok()) return criteria.status();
    auto match = conditional_match(call, type, *criteria, "If-None-Exist");
    if (!match.ok()) return match.status();
    if (*match) return existing_answer(call, type, **match);
  }
  ServerContext& ctx = call.server;
  if (type == "Patient") {
    auto patient = patient_for_create(ctx, call.who, request.body);
    if (!patient.ok()) return patient.status();
    auto stored = ctx.store().create_patient(call.who, std::move(*patient));
    if (!stored.ok()) return stored.status();
    return view_answer(call, type, 201, storage::WriteResult{std::move(*stored)}, "created", true);
  }
  auto observation = observation_for_create(ctx, call.who, request.body, nullptr);
  if (!observation.ok()) return observation.status();
  auto stored = ctx.store().create_contact(call.who, std::move(observation->contact),
                                           observation->patient_id);
  if (!stored.ok()) return stored.status();
  return view_answer(call, type, 201, storage::WriteResult{std::move(*stored)}, "created", true);
}

// A Patient or an Observation by any id it is read by.
Result<storage::WriteResult> resolve_resource(CallContext& call, const std::string& type,
                                              const std::string& id) {
  if (type == "Patient") {
    auto patient = resolve_patient(call.server, call.who, id);
    if (!patient.ok()) return patient.status();
    return storage::WriteResult{std::move(*patient)};
  }
  auto record = resolve_observation(call.server, call.who, id);
  if (!record.ok()) return record.status();
  return storage::WriteResult{std::move(*record)};
}

}  // namespace

Result<PatchedResource> patch_resource(CallContext& call, const std::string& type,
                                       const std::string& id, const json::value& patch) {
  auto found = resolve_resource(call, type, id);
  if (!found.ok()) return found.status();
  const auto* patient = std::get_if<icure::Patient>(&*found);
  const auto* record = std::get_if<storage::ContactRecord>(&*found);
  auto view =
      patient ? patient_view(*patient, call.server) : observation_view(*record, call.server);
  if (!view.ok()) return view.status();
  auto patched = apply_json_patch(json::value(std::move(*view)), patch);
  if (!patched.ok()) return patched.status();
  return PatchedResource{std::move(*patched),
                         generation_of(patient ? patient->rev : record->contact.rev)};
}

namespace {

// _summary / _elements on a read (as HAPI): the subsets a search makes.
// Other parameters are ignored, as FHIR servers do on reads.
Status subset_read(const std::vector<QueryParam>& params, FhirAnswer& answer) {
  std::vector<std::string> elements;
  SummaryMode summary = SummaryMode::full;
  for (const auto& p : params) {
    if (p.name == "_elements") {
      elements = split_or(p.value);
    } else if (p.name == "_summary") {
      auto mode = summary_mode(p.value);
      if (!mode)
        return Status::Invalid("_summary", "a read takes _summary=true, text, data or false");
      summary = *mode;
    }
  }
  if ((elements.empty() && summary == SummaryMode::full) || !answer.body.is_object()) return {};
  answer.body = subset_resource(std::move(answer.body.get_object()), elements, summary);
  return {};
}

// The kept versions of a Patient or an Observation, newest first, or the one
// of `generation` (Store::patient_versions / contact_versions).
Result<std::vector<storage::WriteResult>> resource_versions(
    CallContext& call, const std::string& type, const std::string& id,
    std::optional<std::int64_t> generation) {
  if (id.empty()) return Status::NotFound(type + "/ not found");
  auto versions = TypeStore(call.server.store(), type).versions(call.who, id, generation);
  if (!versions.ok()) return missing_resource(versions.status(), type, id);
  return versions;
}

// A FHIR versionId as a rev generation (1, 2, ...); nullopt for anything else.
std::optional<std::int64_t> parse_generation(const std::string& version) {
  std::int64_t generation = 0;
  auto [end, ec] = std::from_chars(version.data(), version.data() + version.size(), generation);
  if (ec != std::errc{} || end != version.data() + version.size() || generation < 1)
    return std::nullopt;
  return generation;
}

// vread: an older version is kept until the resource is deleted (docs/server.md).
Result<storage::WriteResult> resolve_version(CallContext& call, const std::string& type,
                                             const std::string& id, const std::string& version) {
  const Status no_such_version =
      Status::NotFound(type + "/" + id + "/_history/" + version + " not found");
  const auto generation = parse_generation(version);
  if (!generation) return no_such_version;
  auto versions = resource_versions(call, type, id, generation);
  if (!versions.ok())
    return versions.status().code() == StatusCode::not_found ? no_such_version : versions.status();
  return std::move(versions->front());
}

Result<FhirAnswer> do_read(CallContext& call, const std::string& type, const std::string& id,
                           const std::optional<std::string>& version, const FhirCall& request) {
  const bool subset = std::any_of(request.params.begin(), request.params.end(), [](const auto& p) {
    return p.name != "_format" && p.name != "_pretty";
  });
  if (!version && !subset && request.accepts_rendered && call.server.read_cache().enabled()) {
    if (type == "Patient") {  // the remembered unsealed patient itself: no copy on a hit
      auto patient = resolve_patient_shared(call.server, call.who, id);
      if (!patient.ok()) return patient.status();
      return cached_read(call, type, **patient,
                         [&] { return patient_view(**patient, call.server); });
    }
    auto found = resolve_resource(call, type, id);
    if (!found.ok()) return found.status();
    const auto* record = std::get_if<storage::ContactRecord>(&*found);
    if (!record) return view_answer(call, type, 200, *found, "read", false);
    return cached_read(call, type, record->contact,
                       [&] { return observation_view(*record, call.server); });
  }
  auto found =
      version ? resolve_version(call, type, id, *version) : resolve_resource(call, type, id);
  if (!found.ok()) return found.status();
  auto answer = view_answer(call, type, 200, *found, "read", false);
  if (answer.ok() && !request.params.empty())
    FHIRBRIDGE_RETURN_IF_ERROR(subset_read(request.params, *answer));
  return answer;
}

// ---- history ---------------------------------------------------------------

// _since / _at / _count of a history interaction (FHIR http.html#history).
struct HistoryParams {
  std::optional<std::int64_t> since_ms;  // versions changed at or after
  std::optional<std::int64_t> at_ms;     // the version current at
  std::optional<std::size_t> count;
  std::vector<QueryParam> echoed;  // for the self link
};

Result<HistoryParams> history_params(const std::vector<QueryParam>& params) {
  HistoryParams out;
  for (const auto& p : params) {
    if (p.name == "_since" || p.name == "_at") {
      auto when = mapping::parse_fhir_date_time(p.value, p.name);
      if (!when.ok()) return when.status();
      // _since from the start of what it names; _at up to its end ("_at=2026" is all of 2026).
      const auto [first, last] = mapping::epoch_ms_range(*when);
      if (p.name == "_since")
        out.since_ms = first;
      else
        out.at_ms = last;
    } else if (p.name == "_count") {
      auto count = parse_count(p.value);
      if (!count.ok()) return count.status();
      out.count = *count;
    } else {
      continue;  // other parameters (_format, _pretty, _list) are ignored, as on a read
    }
    out.echoed.push_back(p);
  }
  return out;
}

}  // namespace

// One version in a history Bundle: what a client replaying the history would send.
json::object history_entry(const CallContext& call, const std::string& type, const std::string& id,
                           const std::string& generation, const std::string& last_modified,
                           json::value resource) {
  const bool created = generation == "1";
  const bool deleted = resource.is_null();
  FhirAnswer version;
  version.status = created && !deleted ? 201 : 200;
  if (!generation.empty()) version.etag = "W/\"" + generation + "\"";
  version.last_modified = last_modified;
  version.body = std::move(resource);
  json::object entry = entry_for(call, std::move(version), call.base_url + "/" + type + "/" + id);
  // FHIR's element order: request before response.
  json::value response = std::move(entry["response"]);
  entry.erase("response");
  entry["request"] = json::object{{"method", deleted   ? "DELETE"
                                             : created ? "POST"
                                                       : "PUT"},
                                  {"url", created && !deleted ? type : type + "/" + id}};
  entry["response"] = std::move(response);
  return entry;
}

namespace {

// GET <Type>/{id}/_history: the kept versions, newest first (the store keeps
// an entity's older versions until it is deleted), or the delete of a
// deleted entity. _since keeps the versions changed at or after it; _at the
// one version current at that instant.
Result<FhirAnswer> do_history(CallContext& call, const std::string& type, const std::string& id,
                              const std::vector<QueryParam>& params) {
  auto wanted = history_params(params);
  if (!wanted.ok()) return wanted.status();
  json::array entries;
  auto add = [&](const std::string& store_id, const std::string& generation,
                 std::int64_t changed_ms, json::value resource) {
    if (wanted->since_ms && changed_ms < *wanted->since_ms) return;
    if (wanted->at_ms && (changed_ms > *wanted->at_ms || !entries.empty())) return;
    entries.push_back(history_entry(call, type, store_id, generation, fhir_instant(changed_ms),
                                    std::move(resource)));
  };
  auto versions = resource_versions(call, type, id, std::nullopt);
  if (versions.ok()) {
    for (const auto& version : *versions) {
      auto answer = view_answer(call, type, 200, version, "read", false);
      if (!answer.ok()) return answer.status();
      auto stamp = [&](const auto& entity) {
        add(entity.id.value_or(id), generation_of(entity.rev), entity.modified.value_or(0),
            std::move(answer->body));
      };
      if (const auto* patient = std::get_if<icure::Patient>(&version))
        stamp(*patient);
      else
        stamp(std::get<storage::ContactRecord>(version).contact);
    }
  } else if (versions.status().code() == StatusCode::deleted) {
    const auto kind = TypeStore(call.server.store(), type).kind();
    auto deletion = call.server.store().get_deletion(call.who, kind, id);
    if (!deletion.ok()) return versions.status();  // no trace to show: as a read, 410
    add(deletion->id, generation_of(deletion->rev), deletion->deleted_ms, json::value());
  } else {
    return versions.status();
  }
  const std::size_t total = entries.size();
  if (wanted->count && entries.size() > *wanted->count) entries.resize(*wanted->count);
  json::object bundle = response_bundle("history", std::move(entries), call.server);
  if (bundle.at("entry").as_array().empty())
    bundle.erase("entry");  // FHIR JSON has no empty arrays
  bundle["total"] = total;
  const std::string query = encode_query(wanted->echoed);
  bundle["link"] =
      json::array{json::object{{"relation", "self"},
                               {"url", call.base_url + "/" + type + "/" + id + "/_history" +
                                           (query.empty() ? "" : "?" + query)}}};
  FhirAnswer answer;
  answer.body = std::move(bundle);
  return answer;
}

Result<FhirAnswer> do_update(CallContext& call, const std::string& type, const std::string& id,
                             const FhirCall& request) {
  if (request.body.is_null())
    return Status(StatusCode::structure, "a " + type + " resource is required in the body");
  ServerContext& ctx = call.server;
  // Update-as-create: the create checks the FHIR id again (a concurrent create
  // of the same id is a conflict, 409) and answers 201.
  auto create_instead = [&](const Status& lookup) -> Result<FhirAnswer> {
    if (!update_creates(lookup)) return lookup;
    FHIRBRIDGE_RETURN_IF_ERROR(check_update_as_create(request.body, type, id, request.if_match));
    return do_create(call, type, request);
  };
  if (type == "Patient") {
    auto existing = resolve_patient(ctx, call.who, id);
    if (!existing.ok()) return create_instead(existing.status());
    FHIRBRIDGE_RETURN_IF_ERROR(check_if_match(request.if_match, existing->rev));
    auto patient = patient_for_update(ctx, *existing, id, request.body);
    if (!patient.ok()) return patient.status();
    auto stored = ctx.store().update_patient(call.who, std::move(*patient));
    if (!stored.ok()) return stored.status();
    return view_answer(call, type, 200, storage::WriteResult{std::move(*stored)}, "updated", true);
  }
  auto existing = resolve_observation(ctx, call.who, id);
  if (!existing.ok()) return create_instead(existing.status());
  FHIRBRIDGE_RETURN_IF_ERROR(check_if_match(request.if_match, existing->contact.rev));
  auto contact = observation_for_update(ctx, call.who, *existing, id, request.body);
  if (!contact.ok()) return contact.status();
  auto stored = ctx.store().update_contact(call.who, std::move(*contact));
  if (!stored.ok()) return stored.status();
  return view_answer(call, type, 200, storage::WriteResult{std::move(*stored)}, "updated", true);
}

// PUT <Type>?criteria: no match creates (201; a body id becomes the FHIR id),
// one match is updated, several are multiple_matches (412).
Result<FhirAnswer> do_conditional_update(CallContext& call, const std::string& type,
                                         const FhirCall& request) {
  if (request.body.is_null())
    return Status(StatusCode::structure, "a " + type + " resource is required in the body");
  auto match = conditional_match(call, type, request.params, "query");
  if (!match.ok()) return match.status();
  if (!*match) {
    FHIRBRIDGE_RETURN_IF_ERROR(check_no_match_if_match(type, request.if_match));
    return do_create(call, type, request);
  }
  auto target = conditional_update_target(call, type, request.body, **match);
  if (!target.ok()) return target.status();
  FhirCall update;
  update.method = "PUT";
  update.segments = {type, target->url_id};
  update.body = std::move(target->resource);
  update.if_match = request.if_match;
  return do_update(call, type, target->url_id, update);
}

// PATCH <Type>/{id} with a JSON Patch: applied to the resource as it reads,
// then stored as an update of it, with the same checks (its id, the mapping).
// Without an If-Match, the version read is the one required: a concurrent
// update in between is a 412, not a lost update.
Result<FhirAnswer> do_patch(CallContext& call, const std::string& type, const std::string& id,
                            const FhirCall& request) {
  if (request.body.is_null())
    return Status(StatusCode::structure, "a JSON Patch (application/json-patch+json) is required");
  auto patched = patch_resource(call, type, id, request.body);
  if (!patched.ok()) return patched.status();
  FhirCall update;
  update.method = "PUT";
  update.segments = {type, id};
  update.body = std::move(patched->resource);
  update.if_match = request.if_match;
  if (!update.if_match) update.if_match = "W/\"" + patched->version + "\"";
  return do_update(call, type, id, update);
}

// PATCH <Type>?criteria: the one match is patched; none is not_found (HAPI's
// answer: a patch needs something to apply to), several are multiple_matches.
Result<FhirAnswer> do_conditional_patch(CallContext& call, const std::string& type,
                                        const FhirCall& request) {
  auto match = conditional_match(call, type, request.params, "query");
  if (!match.ok()) return match.status();
  if (!*match) return Status::NotFound("no " + type + " matches the criteria of the PATCH");
  return do_patch(call, type, **match, request);
}

FhirAnswer deleted_answer(std::string diagnostics) {
  FhirAnswer answer;
  answer.status = 200;  // with a body: clients that call response.json() keep working
  answer.body = informational_outcome(diagnostics);
  return answer;
}

Result<FhirAnswer> do_delete(CallContext& call, const std::string& type, const std::string& id,
                             const FhirCall& request) {
  ServerContext& ctx = call.server;
  if (type == "Patient") {
    auto existing = resolve_patient(ctx, call.who, id);
    if (!existing.ok()) return existing.status();
    FHIRBRIDGE_RETURN_IF_ERROR(check_if_match(request.if_match, existing->rev));
    auto deleted = ctx.store().delete_patient(call.who, *existing->id, existing->rev);
    if (!deleted.ok()) return deleted.status();
    return deleted_answer("deleted Patient/" + deleted->id);
  }
  auto existing = resolve_observation(ctx, call.who, id);
  if (!existing.ok()) return existing.status();
  FHIRBRIDGE_RETURN_IF_ERROR(check_if_match(request.if_match, existing->contact.rev));
  auto deleted = ctx.store().delete_contact(call.who, *existing->contact.id, existing->contact.rev);
  if (!deleted.ok()) return deleted.status();
  return deleted_answer("deleted Observation/" + deleted->id);
}

Result<FhirAnswer> do_conditional_delete(CallContext& call, const std::string& type,
                                         const FhirCall& request) {
  auto params = search_params_only(request.params);
  if (params.empty())
    return Status::Invalid("query",
                           "a conditional delete needs search parameters (e.g. ?name=Donald)");
  auto ids = search_ids(call.server.store(), call.who, type, params, search_options(call),
                        call.server.mapping());
  if (!ids.ok()) return ids.status();
  if (ids->empty()) return deleted_answer("no " + type + " matched: nothing deleted");
  storage::WriteBatch batch;
  for (const auto& id : *ids) {
    if (type == "Patient")
      batch.ops.emplace_back(storage::DeletePatient{id, std::nullopt});
    else
      batch.ops.emplace_back(storage::DeleteContact{id, std::nullopt});
  }
  auto applied = call.server.store().apply(call.who, batch);
  if (!applied.ok()) return applied.status();
  std::string list;
  for (const auto& id : *ids) list += (list.empty() ? "" : ", ") + type + "/" + id;
  return deleted_answer("deleted " + std::to_string(ids->size()) + " " + type +
                        (ids->size() == 1 ? "" : "s") + ": " + list);
}

}  // namespace

// ---- conditional create / update --------------------------------------------

Result<std::vector<QueryParam>> if_none_exist_criteria(const std::string& raw,
                                                       const std::string& type,
                                                       const std::string& path) {
  std::string_view query = raw;
  if (auto question = query.find('?'); question != std::string_view::npos) {
    std::string_view named = query.substr(0, question);
    if (auto slash = named.rfind('/'); slash != std::string_view::npos)
      named.remove_prefix(slash + 1);
    if (named != type)
      return Status::Invalid(path,
                             "'" + raw + "' searches " + std::string(named) + ", not " + type);
    query.remove_prefix(question + 1);
  }
  auto params = parse_query(query);
  if (!params.ok()) return Status(params.status().code(), params.status().message(), path);
  return params;
}

Result<std::optional<std::string>> conditional_match(CallContext& call, const std::string& type,
                                                     const std::vector<QueryParam>& criteria,
                                                     const std::string& path) {
  auto params = search_params_only(criteria);
  if (params.empty())
    return Status::Invalid(
        path, "a conditional " + type + " needs search criteria (e.g. identifier=system|value)");
  return match_at_most_one(call.server, call.who, type, params, search_options(call), path,
                           "the criteria", "a conditional create or update needs at most one");
}

Result<UpdateTarget> conditional_update_target(CallContext& call, const std::string& type,
                                               const json::value& resource,
                                               const std::string& match_id) {
  FHIRBRIDGE_RETURN_IF_ERROR(check_resource_type(resource, type));
  UpdateTarget target{match_id, resource};
  auto body_id = string_member(resource, "id");
  if (!body_id) {
    target.resource.as_object()["id"] = match_id;
    return target;
  }
  auto named = resolve_resource(call, type, *body_id);
  const std::string* named_id = nullptr;
  if (named.ok()) {
    if (const auto* patient = std::get_if<icure::Patient>(&*named))
      named_id = patient->id ? &*patient->id : nullptr;
    else if (const auto* record = std::get_if<storage::ContactRecord>(&*named))
      named_id = record->contact.id ? &*record->contact.id : nullptr;
  }
  if (!named_id || *named_id != match_id)
    return Status::Invalid(type + ".id", "id '" + *body_id + "' is not the " + type +
                                             " the criteria match (" + type + "/" + match_id + ")");
  target.url_id = *body_id;
  return target;
}

Status check_no_match_if_match(const std::string& type,
                               const std::optional<std::string>& if_match) {
  if (!if_match) return {};
  return {StatusCode::version_conflict, "If-Match " + *if_match + ": no " + type +
                                            " matches the criteria (without If-Match, it is "
                                            "created)"};
}

Result<FhirAnswer> existing_answer(CallContext& call, const std::string& type,
                                   const std::string& store_id) {
  auto found = resolve_resource(call, type, store_id);
  if (!found.ok()) return found.status();
  return view_answer(call, type, 200, *found, "found", true);
}

Result<FhirAnswer> dispatch(CallContext& call, const FhirCall& request) {
  const auto& seg = request.segments;
  const std::string& method = request.method;
  if (seg.empty()) {
    if (method == "POST") return process_bundle(call, request.body);
    return not_allowed("POST", method);
  }
  if (seg.size() == 1 && seg[0] == "metadata") {
    if (method != "GET") return not_allowed("GET", method);
    FhirAnswer answer;
    answer.body = capability_statement(call.server, call.base_url);
    return answer;
  }
  if (seg[0] == "_history") {
    if (seg.size() != 1) return Status::NotFound("no route for " + method + " /_history/...");
    if (method != "GET") return not_allowed("GET", method);
    return type_history(call, {"Patient", "Observation"}, "_history", request.params);
  }
  const std::string& type = seg[0];
  if (!is_supported_type(type))
    return Status::NotFound("resource type '" + type +
                            "' is not supported (Patient and Observation are)");
  auto result = [&]() -> Result<FhirAnswer> {
    if (seg.size() == 1) {
      if (method == "GET") return do_search(call, type, request);
      if (method == "POST") return do_create(call, type, request);
      if (method == "PUT") return do_conditional_update(call, type, request);
      if (method == "PATCH") return do_conditional_patch(call, type, request);
      if (method == "DELETE") return do_conditional_delete(call, type, request);
      return not_allowed("GET, POST, PUT, PATCH, DELETE", method);
    }
    if (seg.size() == 2 && seg[1] == "_history") {
      if (method == "GET") return type_history(call, {type}, type + "/_history", request.params);
      return not_allowed("GET", method);
    }
    if (seg.size() == 2 && seg[1] == "$validate") {
      if (method == "POST") return validate_resource(call, type, std::nullopt, request);
      return not_allowed("POST", method);
    }
    if (seg.size() == 3 && seg[2] == "$validate") {
      if (method == "POST") return validate_resource(call, type, seg[1], request);
      return not_allowed("POST", method);
    }
    if (seg.size() == 2 && seg[1] == "_search") {
      if (method == "POST") return do_search(call, type, request);
      return not_allowed("POST", method);
    }
    if (seg.size() == 2) {
      if (method == "GET") return do_read(call, type, seg[1], std::nullopt, request);
      if (method == "PUT") return do_update(call, type, seg[1], request);
      if (method == "PATCH") return do_patch(call, type, seg[1], request);
      if (method == "DELETE") return do_delete(call, type, seg[1], request);
      return not_allowed("GET, PUT, PATCH, DELETE", method);
    }
    if (seg.size() == 4 && seg[2] == "_history") {
      if (method == "GET") return do_read(call, type, seg[1], seg[3], request);
      return not_allowed("GET", method);
    }
    // Compartment search: Patient/{id}/Observation, POST .../Observation/_search.
    if (type == "Patient" && seg.size() >= 3 && seg[2] != "_history" && !seg[2].starts_with("$") &&
        (seg.size() == 3 || (seg.size() == 4 && seg[3] == "_search"))) {
      if (seg[2] != "Observation")
        return Status::NotFound("the Patient compartment holds Observation here ('" + seg[2] +
                                "' is not stored)");
      if (seg.size() == 3 && method == "GET") return do_compartment_search(call, seg[1], request);
      if (seg.size() == 4 && method == "POST") return do_compartment_search(call, seg[1], request);
      return not_allowed(seg.size() == 3 ? "GET" : "POST", method);
    }
    if (seg.size() == 3 && seg[2] == "$everything") {
      if (type != "Patient") return Status::NotFound("$everything is an operation on Patient");
      if (method == "GET") return patient_everything(call, seg[1], request.params);
      if (method == "POST") {
        auto params = operation_params(request.body, request.params);
        if (!params.ok()) return params.status();
        return patient_everything(call, seg[1], *params);
      }
      return not_allowed("GET, POST", method);
    }
    if (seg.size() == 3 && seg[2] == "_history") {
      if (method == "GET") return do_history(call, type, seg[1], request.params);
      return not_allowed("GET", method);
    }
    return Status::NotFound("no route for " + method + " " + type + "/" + seg[1] + "/...");
  }();
  if (!result.ok()) return explain(result.status(), call.server, call.who);
  return result;
}

}  // namespace fhirbridge::server::detail
