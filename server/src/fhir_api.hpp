// Internal to the server library: the FHIR interactions below the HTTP layer,
// shared by handle_request (one request) and Bundle processing (many).
#pragma once

#include <boost/json.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fhirbridge/mapping/fhir_dates.hpp"
#include "fhirbridge/server/search.hpp"
#include "fhirbridge/server/server_context.hpp"
#include "fhirbridge/status.hpp"
#include "fhirbridge/storage/store.hpp"

namespace fhirbridge::server::detail {

enum class PreferReturn { representation, minimal, outcome };

struct CallContext {
  ServerContext& server;
  storage::Principal who;
  std::string base_url;  // absolute FHIR base, e.g. "http://127.0.0.1:8080/rest/fhir/r4"
  PreferReturn prefer = PreferReturn::representation;
  bool strict = false;
};

// A FHIR interaction, independent of how it arrived (HTTP request or Bundle entry).
struct FhirCall {
  std::string method;                 // GET POST PUT DELETE
  std::vector<std::string> segments;  // path after the base: [Type], [Type, id], ...
  std::vector<QueryParam> params;
  boost::json::value body;  // null when none
  std::optional<std::string> if_match;
  std::optional<std::string> if_none_exist;  // conditional create: search criteria
  // The caller sends FhirAnswer::rendered as it is (the HTTP layer); Bundle
  // entries need `body` itself.
  bool accepts_rendered = false;
};

struct FhirAnswer {
  unsigned status = 200;
  boost::json::value body;  // null = no body
  // Or the body already serialised (a read served from the read cache, only
  // when FhirCall::accepts_rendered): then `body` is null.
  std::shared_ptr<const std::string> rendered;
  std::string location;       // absolute URL
  std::string etag;           // W/"<generation>"
  std::string last_modified;  // FHIR instant
  std::vector<std::string> warnings;
  std::string allow;  // set with 405: the methods the route accepts
};

// Routes and runs one interaction. No server-wide lock: the Store is
// thread-safe (store.hpp) and a write that raced with another fails there
// (version_conflict on a stale rev, conflict on a duplicate FHIR id).
Result<FhirAnswer> dispatch(CallContext& call, const FhirCall& request);
// POST of a Bundle at the base (transaction or batch).
Result<FhirAnswer> process_bundle(CallContext& call, const boost::json::value& bundle);
// GET /metadata.
boost::json::object capability_statement(const ServerContext& ctx, const std::string& base_url);

// ---- helpers shared by interactions and bundles ---------------------------

// "3" from rev "3-abcdef"; "" without a rev (mapping::version_id).
inline std::string generation_of(const std::optional<std::string>& rev) {
  return rev ? mapping::version_id(*rev) : std::string();
}
using mapping::fhir_instant;

// "200 OK": Bundle.entry.response.status for an HTTP status.
std::string status_text(unsigned code);
// A Bundle of `type` (a batch/transaction response, a history) with a fresh id
// and meta.lastUpdated now.
boost::json::object response_bundle(const std::string& type, boost::json::array entries,
                                    const ServerContext& ctx);

// One Bundle entry answering an interaction: fullUrl, the resource (or, for an
// error, response.outcome) and response {status, location, etag, lastModified}.
boost::json::object entry_for(const CallContext& call, FhirAnswer&& answer,
                              std::optional<std::string> full_url);

// The body is a JSON object whose resourceType is `expected` (structure /
// invalid at resourceType otherwise).
Status check_resource_type(const boost::json::value& resource, std::string_view expected);
// The resource without meta.versionId / meta.lastUpdated: server-managed fields
// must not end up stored as client content.
boost::json::value without_server_meta(boost::json::value resource);

// One version in a history Bundle, as a client replaying the history would
// send it: request POST <Type> (generation 1) or PUT <Type>/<id>, or DELETE
// when `resource` is null; response status, ETag, lastModified.
boost::json::object history_entry(const CallContext& call, const std::string& type,
                                  const std::string& id, const std::string& generation,
                                  const std::string& last_modified, boost::json::value resource);
// GET <Type>/_history, GET /_history (docs/server.md): what changed since
// `_since` in `types`, newest first, deletes included, paged with `_cursor`.
// `path` is the route after the base, for the links ("Patient/_history").
Result<FhirAnswer> type_history(CallContext& call, const std::vector<std::string>& types,
                                const std::string& path, const std::vector<QueryParam>& params);

// Splits "Patient/123?name=x" into segments and decoded params.
Result<FhirCall> call_from_url(const std::string& method, const std::string& url);

// A stored entity as FHIR, with meta.versionId = generation and meta.lastUpdated.
Result<boost::json::object> patient_view(const icure::Patient& patient, const ServerContext& ctx);
Result<boost::json::object> observation_view(const icure::Contact& contact,
                                             const std::string& patient_id,
                                             const ServerContext& ctx);
Result<boost::json::object> observation_view(const storage::ContactRecord& record,
                                             const ServerContext& ctx);

// The store's calls for one FHIR type: Patient -> patient_*, Observation ->
// contact_*, with the entities as WriteResults. The one place that choice is made
// for versions, deletions and old-version listings.
class TypeStore {
 public:
  TypeStore(storage::Store& store, std::string_view type)
      : store_(store), patient_(type == "Patient") {}
  storage::EntityKind kind() const {
    return patient_ ? storage::EntityKind::patient : storage::EntityKind::contact;
  }
  // Store::patient_versions / contact_versions.
  Result<std::vector<storage::WriteResult>> versions(const storage::Principal& who,
                                                     const std::string& id,
                                                     std::optional<std::int64_t> generation);
  // Store::list_old_patient_versions / list_old_contact_versions.
  Result<std::vector<storage::WriteResult>> list_old_versions(
      const storage::Principal& who, std::int64_t since_ms,
      const std::optional<storage::VersionPosition>& after, std::size_t limit);

 private:
  storage::Store& store_;
  bool patient_;
};

// Store id or FHIR id (identifier with the FHIR-id system) -> stored entity;
// the Store resolves both (store.hpp), the server only words the 404.
Result<icure::Patient> resolve_patient(ServerContext& ctx, const storage::Principal& who,
                                       const std::string& id);
// The same, shared with the store's memory of unsealed patients (no copy).
Result<std::shared_ptr<const icure::Patient>> resolve_patient_shared(ServerContext& ctx,
                                                                     const storage::Principal& who,
                                                                     const std::string& id);
Result<storage::ContactRecord> resolve_observation(ServerContext& ctx,
                                                   const storage::Principal& who,
                                                   const std::string& id);

// Patient references created earlier in the same transaction:
// "urn:uuid:...", "Patient/<fhirId>", "<fhirId>", "Patient/<storeId>" -> store id.
using PendingPatients = std::map<std::string, std::string>;

// Observation.subject.reference -> store id of a visible patient, or invalid
// with path Observation.subject.
Result<std::string> resolve_subject(ServerContext& ctx, const storage::Principal& who,
                                    const std::optional<std::string>& reference,
                                    const PendingPatients* pending);

// FHIR resource -> entity ready to create (resourceType checked, FHIR id
// checked for duplicates: conflict with path <Type>.id).
Result<icure::Patient> patient_for_create(ServerContext& ctx, const storage::Principal& who,
                                          const boost::json::value& resource);
struct ObservationForCreate {
  icure::Contact contact;
  std::string patient_id;
};
Result<ObservationForCreate> observation_for_create(ServerContext& ctx,
                                                    const storage::Principal& who,
                                                    const boost::json::value& resource,
                                                    const PendingPatients* pending);
// FHIR resource -> replacement of `existing` (same id, rev, keys). `url_id`
// is the id in the URL, which the body's id must equal (or the store id).
Result<icure::Patient> patient_for_update(ServerContext& ctx, const icure::Patient& existing,
                                          const std::string& url_id,
                                          const boost::json::value& resource);
Result<icure::Contact> observation_for_update(ServerContext& ctx, const storage::Principal& who,
                                              const storage::ContactRecord& existing,
                                              const std::string& url_id,
                                              const boost::json::value& resource);
// Update-as-create (HAPI's and Blaze's default; docs/server.md): a PUT whose
// URL id names no resource of this user (never stored, or deleted) creates one
// with that FHIR id. True when `lookup` (the PUT's resolve_*) says so.
bool update_creates(const Status& lookup);
// The preconditions of such a create: the body carries the URL id as its id
// (invalid at <Type>.id otherwise), and there is no If-Match, which a missing
// resource cannot match (version_conflict, 412).
Status check_update_as_create(const boost::json::value& resource, std::string_view type,
                              const std::string& url_id,
                              const std::optional<std::string>& if_match);
// Conditional read (RFC 9110 13.1.2 / 13.1.3; Bundle request.ifNoneMatch /
// ifModifiedSince): true when a 200 answer to a read is to be a 304.
// `if_none_match` (empty = absent) names the answer's ETag, weakly (W/"3" =
// "3"), or is "*"; else the answer was last modified no later than
// `modified_since_ms`, the last millisecond the client's date stands for
// (an HTTP date's whole second: 10:00:00 = up to 10:00:00.999).
bool not_modified(std::string_view if_none_match, std::optional<std::int64_t> modified_since_ms,
                  const FhirAnswer& answer);
// If-Match "W/\"3\"" / "3" against a rev: version_conflict (412) on mismatch.
Status check_if_match(const std::optional<std::string>& if_match,
                      const std::optional<std::string>& rev);

// PATCH: the JSON Patch `patch` applied to the resource `id` names, as a read
// returns it (errors name the operation: patch[2].path). Nothing is stored.
struct PatchedResource {
  boost::json::value resource;
  std::string version;  // the generation it was applied to (the If-Match to require)
};
Result<PatchedResource> patch_resource(CallContext& call, const std::string& type,
                                       const std::string& id, const boost::json::value& patch);

// The search options a call implies (its base URL, Prefer: handling, page sizes).
SearchOptions search_options(const CallContext& call);

// An operation's parameters from a POST: the query's, then those of a
// Parameters body (name + a primitive value[x]); no body is no parameters.
Result<std::vector<QueryParam>> operation_params(const boost::json::value& body,
                                                 std::vector<QueryParam> query);

// GET Patient/{id}/$everything (docs/server.md): the patient and its
// observations, paged as a search.
Result<FhirAnswer> patient_everything(CallContext& call, const std::string& id,
                                      const std::vector<QueryParam>& params);

// POST <Type>/$validate, <Type>/{id}/$validate (docs/server.md): an
// OperationOutcome saying whether the resource would be accepted in general
// (it maps) or as a create / update / delete (`mode`); nothing is stored. The
// body is the resource or a Parameters (resource, mode, profile). A resource
// that fails is a 200 with its error issue; a request that cannot be validated
// (no resource, an unknown mode or profile, no key) is an error.
Result<FhirAnswer> validate_resource(CallContext& call, const std::string& type,
                                     const std::optional<std::string>& id, const FhirCall& request);

// ---- conditional create / update (docs/server.md) ---------------------------

// If-None-Exist's value ("identifier=a|b"; "Patient?identifier=a|b" is accepted
// too) -> its search parameters; invalid at `path` when it has none.
Result<std::vector<QueryParam>> if_none_exist_criteria(const std::string& raw,
                                                       const std::string& type,
                                                       const std::string& path);
// The one resource `criteria` match: nullopt when none does, multiple_matches
// (412) when several do. Unknown parameters are invalid (search_ids is strict:
// an ignored one would widen the match); no criteria is invalid at `path`.
Result<std::optional<std::string>> conditional_match(CallContext& call, const std::string& type,
                                                     const std::vector<QueryParam>& criteria,
                                                     const std::string& path);
// A conditional update with one match, as the plain update it stands for: the
// URL id is the body's id when that names the match (by store id or FHIR id),
// else the match's store id, which the body then carries. A body id naming
// anything else is invalid at <Type>.id (FHIR: 400).
struct UpdateTarget {
  std::string url_id;
  boost::json::value resource;
};
Result<UpdateTarget> conditional_update_target(CallContext& call, const std::string& type,
                                               const boost::json::value& resource,
                                               const std::string& match_id);
// A conditional update that matches nothing creates, which an If-Match cannot
// match: version_conflict (412) when there is one.
Status check_no_match_if_match(const std::string& type, const std::optional<std::string>& if_match);
// 200 with the stored resource a conditional create found instead of creating.
Result<FhirAnswer> existing_answer(CallContext& call, const std::string& type,
                                   const std::string& store_id);

// Adds the keychain call to a key_missing message.
Status explain(Status status, const ServerContext& ctx, const storage::Principal& who);

}  // namespace fhirbridge::server::detail
