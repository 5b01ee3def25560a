// Bundle processing: `transaction` (one atomic storage::WriteBatch; Patients
// before Observations; urn:uuid and FHIR-id references rewritten to store ids)
// and `batch` (independent entries, each with its own status).
#include <boost/beast/http/status.hpp>

#include <algorithm>
#include <optional>
#include <set>

#include "fhir_api.hpp"
#include "fhirbridge/crypto/primitives.hpp"
#include "fhirbridge/mapping/bundle.hpp"
#include "fhirbridge/server/operation_outcome.hpp"

namespace fhirbridge::server::detail {

namespace json = boost::json;
namespace http = boost::beast::http;

std::string status_text(unsigned code) {
  return std::to_string(code) + " " +
         std::string(http::obsolete_reason(static_cast<http::status>(code)));
}

json::object response_bundle(const std::string& type, json::array entries,
                             const ServerContext& ctx) {
  return {{"resourceType", "Bundle"},
          {"id", ctx.mapping().new_id()},
          {"type", type},
          {"meta", {{"lastUpdated", fhir_instant(ctx.mapping().now_ms())}}},
          {"entry", std::move(entries)}};
}

namespace {

std::string resource_type_of(const json::value& resource) {
  if (const json::object* o = resource.if_object())
    if (const json::value* t = o->if_contains("resourceType"); t && t->is_string())
      return std::string(t->get_string());
  return {};
}

// Relative "Patient/x/_history/2" form inside Bundles, as FHIR examples use.
std::string relative_location(const std::string& absolute, const std::string& base_url) {
  if (absolute.rfind(base_url + "/", 0) == 0) return absolute.substr(base_url.size() + 1);
  return absolute;
}

}  // namespace

json::object entry_for(const CallContext& call, FhirAnswer&& answer,
                       std::optional<std::string> full_url) {
  json::object response{{"status", status_text(answer.status)}};
  if (!answer.location.empty())
    response["location"] = relative_location(answer.location, call.base_url);
  if (!answer.etag.empty()) response["etag"] = answer.etag;
  if (!answer.last_modified.empty()) response["lastModified"] = answer.last_modified;
  json::object entry;
  if (full_url) entry["fullUrl"] = *full_url;
  const bool is_outcome = resource_type_of(answer.body) == "OperationOutcome";
  if (answer.status >= 400 && is_outcome)
    response["outcome"] = std::move(answer.body);
  else if (!answer.body.is_null())
    entry["resource"] = std::move(answer.body);
  entry["response"] = std::move(response);
  return entry;
}

namespace {

json::object error_entry(const Status& status) {
  return {{"response",
           {{"status", status_text(http_status_for(status.code()))},
            {"outcome", operation_outcome(status)}}}};
}

Status at_entry(const Status& status, std::size_t index) {
  return {status.code(), "Bundle.entry[" + std::to_string(index) + "]: " + status.message(),
          status.path()};
}

// The URL an entry targets: request.url, or the resource type for a POST without one.
std::string entry_url(const mapping::BundleEntry& entry) {
  if (!entry.url.empty()) return entry.url;
  if (entry.method == "POST") return resource_type_of(entry.resource);
  return {};
}

// "Patient?identifier=a|b" for the criteria "identifier=a|b" or "Patient?identifier=a|b":
// the same text as a conditional reference to what they find.
std::string criteria_key(const std::string& type, const std::string& criteria) {
  const auto question = criteria.find('?');
  return type + "?" + (question == std::string::npos ? criteria : criteria.substr(question + 1));
}

// A GET entry's conditional read (request.ifNoneMatch / ifModifiedSince, as
// If-None-Match / If-Modified-Since over HTTP): 304 without the resource.
void apply_conditional_read(const mapping::BundleEntry& entry, FhirAnswer& answer) {
  if (entry.method != "GET" || answer.status != 200) return;
  std::optional<std::int64_t> since;
  if (entry.if_modified_since)  // an instant, checked by parse_bundle
    if (auto d = mapping::parse_fhir_date_time(*entry.if_modified_since, "ifModifiedSince"); d.ok())
      since = mapping::epoch_ms_range(*d).second;
  if (not_modified(entry.if_none_match.value_or(""), since, answer)) {
    answer.status = 304;
    answer.body = nullptr;  // ETag and lastModified stay
  }
}

// A PATCH entry's resource: a Binary holding a JSON Patch (FHIR's way to carry
// one in a Bundle: contentType application/json-patch+json, base64 data) ->
// the patch. A Parameters resource (FHIRPath Patch) is not supported.
Result<json::value> json_patch_of_binary(const json::value& resource) {
  const std::string type = resource_type_of(resource);
  if (type == "Parameters")
    return Status(StatusCode::not_supported, "FHIRPath Patch (Parameters) is not supported",
                  "Bundle.entry.resource");
  if (type != "Binary")
    return Status::Invalid("Bundle.entry.resource",
                           "a PATCH entry carries a Binary with a JSON Patch, not '" + type + "'");
  const json::object& binary = resource.get_object();
  const json::value* content_type = binary.if_contains("contentType");
  if (!content_type || !content_type->is_string() ||
      content_type->get_string().subview().substr(0, 27) != "application/json-patch+json")
    return Status::Invalid("Bundle.entry.resource.contentType",
                           "must be application/json-patch+json");
  const json::value* data = binary.if_contains("data");
  if (!data || !data->is_string())
    return Status::Invalid("Bundle.entry.resource.data", "the base64 JSON Patch is required");
  auto bytes = crypto::from_base64(data->get_string().subview());
  if (!bytes.ok()) return Status::Invalid("Bundle.entry.resource.data", "is not base64");
  boost::system::error_code ec;
  json::value patch = json::parse(
      json::string_view(reinterpret_cast<const char*>(bytes->data()), bytes->size()), ec);
  if (ec) return Status::Invalid("Bundle.entry.resource.data", "is not a JSON document");
  return patch;
}

// ---- batch ------------------------------------------------------------------

Result<FhirAnswer> process_batch(CallContext& call, const mapping::ParsedBundle& bundle) {
  json::array entries;
  for (const auto& entry : bundle.entries) {
    auto request = call_from_url(entry.method, entry_url(entry));
    if (!request.ok()) {
      entries.push_back(error_entry(at_entry(request.status(), entry.index)));
      continue;
    }
    if (request->segments.empty()) {
      entries.push_back(error_entry(at_entry(
          Status::Invalid("Bundle.entry.request.url", "a batch entry must name a resource type"),
          entry.index)));
      continue;
    }
    if (entry.method == "PATCH") {
      auto patch = json_patch_of_binary(entry.resource);
      if (!patch.ok()) {
        entries.push_back(error_entry(at_entry(patch.status(), entry.index)));
        continue;
      }
      request->body = std::move(*patch);
    } else {
      request->body = entry.resource;
    }
    request->if_match = entry.if_match;
    request->if_none_exist = entry.if_none_exist;
    auto answer = dispatch(call, *request);
    if (!answer.ok()) {
      entries.push_back(error_entry(at_entry(answer.status(), entry.index)));
      continue;
    }
    apply_conditional_read(entry, *answer);
    entries.push_back(entry_for(call, std::move(*answer), entry.full_url));
  }
  FhirAnswer answer;
  answer.body = response_bundle("batch-response", std::move(entries), call.server);
  return answer;
}

// ---- transaction ------------------------------------------------------------

// What each WriteOp stands for, to build the response entry.
struct OpOrigin {
  std::size_t entry;  // index in Bundle.entry
  std::string type;   // Patient / Observation
  unsigned status;    // 201 create, 200 update/delete
};

int method_rank(const std::string& method) {
  // FHIR's transaction order (DELETE, POST, PUT, GET); within it, Patients
  // before Observations so observations can reference them.
  if (method == "DELETE") return 0;
  if (method == "POST") return 1;
  if (method == "PUT" || method == "PATCH") return 2;
  return 3;
}

Result<FhirAnswer> process_transaction(CallContext& call, const mapping::ParsedBundle& bundle) {
  ServerContext& ctx = call.server;
  std::vector<const mapping::BundleEntry*> order;
  for (const auto& entry : bundle.entries) order.push_back(&entry);
  std::vector<FhirCall> calls(bundle.entries.size());
  for (const auto& entry : bundle.entries) {
    auto request = call_from_url(entry.method, entry_url(entry));
    if (!request.ok()) return at_entry(request.status(), entry.index);
    if (request->segments.empty() ||
        (request->segments[0] != "Patient" && request->segments[0] != "Observation"))
      return at_entry(Status(StatusCode::not_supported,
                             "only Patient and Observation entries are supported in a transaction",
                             "Bundle.entry.request.url"),
                      entry.index);
    // No copy of the resource: writes read it from the entry, reads need none.
    request->if_match = entry.if_match;
    calls[entry.index] = std::move(*request);
  }
  std::stable_sort(order.begin(), order.end(), [&](auto* a, auto* b) {
    const auto& ca = calls[a->index];
    const auto& cb = calls[b->index];
    auto key = [](const FhirCall& c) {
      return std::pair{method_rank(c.method), c.segments[0] == "Patient" ? 0 : 1};
    };
    return key(ca) < key(cb);
  });

  storage::WriteBatch batch;
  std::vector<OpOrigin> origins;
  std::vector<std::size_t> reads;               // GET entries, run after the writes
  std::map<std::size_t, FhirAnswer> immediate;  // entries answered without a write
  PendingPatients pending;
  std::set<std::string> fhir_ids_in_bundle;
  // Conditional creates of this Bundle that create: "Patient?identifier=..." ->
  // the entry. A later entry with the same criteria is that same resource.
  std::map<std::string, std::size_t> created_by_criteria;
  std::map<std::size_t, std::size_t> same_as;  // entry -> the entry that creates it

  for (const auto* entry : order) {
    const FhirCall& request = calls[entry->index];
    const std::string& type = request.segments[0];
    const auto& seg = request.segments;
    const std::string& method = request.method;
    auto fail = [&](const Status& s) { return at_entry(explain(s, ctx, call.who), entry->index); };

    if (method == "GET") {
      reads.push_back(entry->index);
      continue;
    }
    // A create, from a POST or from a PUT to an id that names nothing yet.
    auto add_create = [&]() -> Status {
      const std::string fhir_id = [&] {
        if (const json::object* o = entry->resource.if_object())
          if (const json::value* id = o->if_contains("id"); id && id->is_string())
            return std::string(id->get_string());
        return std::string{};
      }();
      if (!fhir_id.empty() && !fhir_ids_in_bundle.insert(type + "/" + fhir_id).second)
        return Status::Conflict("two entries create " + type + " with id '" + fhir_id + "'",
                                type + ".id");
      if (type == "Patient") {
        auto patient = patient_for_create(ctx, call.who, entry->resource);
        if (!patient.ok()) return patient.status();
        const std::string store_id = *patient->id;
        if (entry->full_url) pending[*entry->full_url] = store_id;
        if (!fhir_id.empty()) {
          pending["Patient/" + fhir_id] = store_id;
          pending[fhir_id] = store_id;
        }
        pending["Patient/" + store_id] = store_id;
        pending[store_id] = store_id;
        batch.ops.emplace_back(storage::CreatePatient{std::move(*patient)});
      } else {
        auto observation = observation_for_create(ctx, call.who, entry->resource, &pending);
        if (!observation.ok()) return observation.status();
        batch.ops.emplace_back(storage::CreateContact{std::move(observation->contact),
                                                      std::move(observation->patient_id)});
      }
      origins.push_back({entry->index, type, 201});
      return {};
    };
    // An update of what `url_id` names, or a create at it when it names nothing.
    auto add_update = [&](const std::string& url_id, const json::value& resource) -> Status {
      auto create_at_url_id = [&]() -> Status {
        FHIRBRIDGE_RETURN_IF_ERROR(
            check_update_as_create(resource, type, url_id, request.if_match));
        return add_create();
      };
      if (type == "Patient") {
        auto existing = resolve_patient(ctx, call.who, url_id);
        if (!existing.ok()) {
          if (!update_creates(existing.status())) return existing.status();
          return create_at_url_id();
        }
        FHIRBRIDGE_RETURN_IF_ERROR(check_if_match(request.if_match, existing->rev));
        auto patient = patient_for_update(ctx, *existing, url_id, resource);
        if (!patient.ok()) return patient.status();
        // Observations may name an updated patient by its entry's fullUrl too.
        if (entry->full_url) pending[*entry->full_url] = *existing->id;
        batch.ops.emplace_back(storage::UpdatePatient{std::move(*patient)});
      } else {
        auto existing = resolve_observation(ctx, call.who, url_id);
        if (!existing.ok()) {
          if (!update_creates(existing.status())) return existing.status();
          return create_at_url_id();
        }
        FHIRBRIDGE_RETURN_IF_ERROR(check_if_match(request.if_match, existing->contact.rev));
        auto contact = observation_for_update(ctx, call.who, *existing, url_id, resource);
        if (!contact.ok()) return contact.status();
        batch.ops.emplace_back(storage::UpdateContact{std::move(*contact)});
      }
      origins.push_back({entry->index, type, 200});
      return {};
    };
    if ((method == "POST" || method == "PUT") && entry->resource.is_null())
      return fail(Status(StatusCode::structure, "a " + method + " entry needs a resource",
                         "Bundle.entry.resource"));
    if (method == "POST" && seg.size() == 1) {
      // Conditional create: the criteria are searched in the store as it was
      // before this transaction (docs/server.md).
      if (entry->if_none_exist) {
        const std::string path = "Bundle.entry.request.ifNoneExist";
        auto criteria = if_none_exist_criteria(*entry->if_none_exist, type, path);
        if (!criteria.ok()) return fail(criteria.status());
        const std::string key = criteria_key(type, *entry->if_none_exist);
        if (auto first = created_by_criteria.find(key); first != created_by_criteria.end()) {
          if (auto id = pending.find(key); id != pending.end() && entry->full_url)
            pending[*entry->full_url] = id->second;
          same_as[entry->index] = first->second;
          continue;
        }
        auto match = conditional_match(call, type, *criteria, path);
        if (!match.ok()) return fail(match.status());
        if (*match) {
          if (type == "Patient" && entry->full_url) pending[*entry->full_url] = **match;
          auto found = existing_answer(call, type, **match);
          if (!found.ok()) return fail(found.status());
          immediate[entry->index] = std::move(*found);
          continue;
        }
        if (auto created = add_create(); !created.ok()) return fail(created);
        created_by_criteria[key] = entry->index;
        // Observations of this Bundle may name it by the same criteria.
        if (const auto* op = std::get_if<storage::CreatePatient>(&batch.ops.back()))
          pending[key] = *op->patient.id;
        continue;
      }
      if (auto created = add_create(); !created.ok()) return fail(created);
      continue;
    }
    if (method == "PUT" && seg.size() == 2) {
      if (auto updated = add_update(seg[1], entry->resource); !updated.ok()) return fail(updated);
      continue;
    }
    if (method == "PUT" && seg.size() == 1) {  // conditional update
      auto match = conditional_match(call, type, request.params, "Bundle.entry.request.url");
      if (!match.ok()) return fail(match.status());
      if (!*match) {
        if (auto s = check_no_match_if_match(type, request.if_match); !s.ok()) return fail(s);
        if (auto created = add_create(); !created.ok()) return fail(created);
        continue;
      }
      auto target = conditional_update_target(call, type, entry->resource, **match);
      if (!target.ok()) return fail(target.status());
      if (auto updated = add_update(target->url_id, target->resource); !updated.ok())
        return fail(updated);
      continue;
    }
    if (method == "PATCH") {
      // Applied to the resource as it was before the transaction; the store
      // refuses the update if it changed since (its rev is checked).
      auto patch = json_patch_of_binary(entry->resource);
      if (!patch.ok()) return fail(patch.status());
      std::string id = seg.size() == 2 ? seg[1] : std::string{};
      if (seg.size() == 1) {  // conditional patch
        auto match = conditional_match(call, type, request.params, "Bundle.entry.request.url");
        if (!match.ok()) return fail(match.status());
        if (!*match)
          return fail(Status::NotFound("no " + type + " matches the criteria of the PATCH"));
        id = **match;
      }
      auto patched = patch_resource(call, type, id, *patch);
      if (!patched.ok()) return fail(patched.status());
      if (auto updated = add_update(id, patched->resource); !updated.ok()) return fail(updated);
      continue;
    }
    if (method == "DELETE") {
      std::vector<std::string> ids;
      if (seg.size() == 2) {
        if (type == "Patient") {
          auto existing = resolve_patient(ctx, call.who, seg[1]);
          if (!existing.ok()) return fail(existing.status());
          ids.push_back(*existing->id);
        } else {
          auto existing = resolve_observation(ctx, call.who, seg[1]);
          if (!existing.ok()) return fail(existing.status());
          ids.push_back(*existing->contact.id);
        }
      } else if (seg.size() == 1 && !request.params.empty()) {
        SearchOptions options;
        options.base_url = call.base_url;
        options.strict = call.strict;
        auto found =
            search_ids(ctx.store(), call.who, type, request.params, options, ctx.mapping());
        if (!found.ok()) return fail(found.status());
        ids = std::move(*found);
      } else {
        return fail(
            Status::Invalid("Bundle.entry.request.url", "DELETE needs Type/id or Type?search"));
      }
      if (ids.empty()) {
        FhirAnswer none;
        none.status = 204;
        immediate[entry->index] = none;
      }
      for (const auto& id : ids) {
        if (type == "Patient")
          batch.ops.emplace_back(storage::DeletePatient{id, std::nullopt});
        else
          batch.ops.emplace_back(storage::DeleteContact{id, std::nullopt});
        origins.push_back({entry->index, type, 204});
      }
      continue;
    }
    return fail(Status(StatusCode::not_supported,
                       method + " " + entry_url(*entry) + " is not supported in a transaction",
                       "Bundle.entry.request"));
  }

  auto applied = ctx.store().apply(call.who, batch);
  if (!applied.ok()) {
    // "ops[3]" -> the Bundle entry it came from.
    Status s = applied.status();
    const std::string& path = s.path();
    if (path.rfind("ops[", 0) == 0) {
      std::size_t op = std::strtoul(path.c_str() + 4, nullptr, 10);
      if (op < origins.size())
        return at_entry(Status(s.code(), s.message(), origins[op].type), origins[op].entry);
    }
    return explain(s, ctx, call.who);
  }

  std::map<std::size_t, FhirAnswer> answers = std::move(immediate);
  for (std::size_t k = 0; k < applied->size() && k < origins.size(); ++k) {
    const OpOrigin& origin = origins[k];
    const storage::WriteResult& written = (*applied)[k];
    if (const auto* deleted = std::get_if<storage::Deleted>(&written)) {
      FhirAnswer a;
      a.status = 204;
      answers[origin.entry] = a;
      (void)deleted;
      continue;
    }
    Result<json::object> view =
        std::holds_alternative<icure::Patient>(written)
            ? patient_view(std::get<icure::Patient>(written), ctx)
            : observation_view(std::get<storage::ContactRecord>(written), ctx);
    if (!view.ok()) return view.status();
    FhirAnswer a;
    a.status = origin.status;
    const std::string id = view->at("id").as_string().c_str();
    std::string version;
    if (const json::value* meta = view->if_contains("meta"))
      if (const json::value* v = meta->as_object().if_contains("versionId"); v && v->is_string())
        version = v->as_string().c_str();
    if (!version.empty()) a.etag = "W/\"" + version + "\"";
    if (const json::value* meta = view->if_contains("meta"))
      if (const json::value* v = meta->as_object().if_contains("lastUpdated"); v && v->is_string())
        a.last_modified = v->as_string().c_str();
    a.location = call.base_url + "/" + origin.type + "/" + id +
                 (version.empty() ? "" : "/_history/" + version);
    if (call.prefer != PreferReturn::minimal) a.body = std::move(*view);
    answers[origin.entry] = std::move(a);
  }
  for (const auto& [index, first] : same_as) {
    answers[index] = answers[first];
    answers[index].status = 200;  // found, not created again
  }
  for (std::size_t index : reads) {
    auto answer = dispatch(call, calls[index]);
    if (!answer.ok()) {
      answers[index].status = http_status_for(answer.status().code());
      answers[index].body = operation_outcome(answer.status());
    } else {
      apply_conditional_read(bundle.entries[index], *answer);
      answers[index] = std::move(*answer);
    }
  }

  json::array entries;
  for (const auto& entry : bundle.entries)
    entries.push_back(entry_for(call, std::move(answers[entry.index]), entry.full_url));
  FhirAnswer answer;
  answer.body = response_bundle("transaction-response", std::move(entries), ctx);
  return answer;
}

}  // namespace

Result<FhirAnswer> process_bundle(CallContext& call, const json::value& body) {
  if (body.is_null()) return Status(StatusCode::structure, "a Bundle is required in the body");
  if (const json::object* o = body.if_object()) {
    const json::value* type = o->if_contains("resourceType");
    // The tutorial's bundle has no resourceType: accept it when absent.
    if (type && (!type->is_string() || type->get_string() != "Bundle"))
      return Status::Invalid("resourceType", "only a Bundle can be posted to the base URL");
  }
  // Copy the Bundle only when resourceType must be added (the tutorial's case).
  std::optional<json::value> completed;
  if (const json::object* o = body.if_object(); o && !o->contains("resourceType")) {
    completed = body;
    completed->get_object()["resourceType"] = "Bundle";
  }
  auto parsed = mapping::parse_bundle(completed ? *completed : body);
  if (!parsed.ok()) return parsed.status();
  if (parsed->type == "batch") return process_batch(call, *parsed);
  if (parsed->type == "transaction") return process_transaction(call, *parsed);
  return Status::Invalid(
      "Bundle.type", "Bundle.type must be 'transaction' or 'batch', not '" + parsed->type + "'");
}

}  // namespace fhirbridge::server::detail
