// Executes search plans against a Store and builds the searchset Bundle.
//
// Order of work: resolve everything the outer query depends on (FHIR ids ->
// store ids, chained patient searches, _has contact searches), intersect the
// resulting id sets, then run ONE paged store query; the store pages and
// counts. Parameters on content the store cannot index (value-quantity, the
// element filters of element_filters.cpp) need decrypted content: such searches fetch
// all candidates, filter after mapping, and page in memory (cursor "mem:<n>").
#include <algorithm>
#include <charconv>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "fhirbridge/mapping/observation.hpp"
#include "fhirbridge/mapping/patient.hpp"
#include "fhirbridge/server/detail/search_plan.hpp"
#include "fhirbridge/server/search.hpp"

namespace fhirbridge::server {
namespace {

namespace json = boost::json;
using detail::ContactPlan;
using detail::PatientPlan;
using detail::SearchControls;
using detail::TotalMode;
using IdSet = std::optional<std::set<std::string>>;  // nullopt = unconstrained

constexpr std::size_t kChunk = 500;  // page size for internal "fetch everything" loops
constexpr std::string_view kMemCursorPrefix = "mem:";

// How far the store counts for Bundle.total (docs/search.md, "Totals").
std::int64_t count_up_to(const SearchControls& controls) {
  if (controls.count_only || controls.total == TotalMode::accurate) return -1;  // every match
  if (controls.total == TotalMode::none) return 0;
  return detail::kBoundedTotal;
}

void intersect(IdSet& acc, std::set<std::string> more) {
  if (!acc) {
    acc = std::move(more);
    return;
  }
  std::set<std::string> both;
  std::set_intersection(acc->begin(), acc->end(), more.begin(), more.end(),
                        std::inserter(both, both.end()));
  acc = std::move(both);
}

struct Executor {
  storage::Store& store;
  const storage::Principal& who;
  const mapping::MappingContext& ctx;
  const SearchOptions& options;

  Result<json::object> view(const icure::Patient& patient) const {
    return mapping::icure_patient_to_fhir(patient, ctx);
  }
  Result<json::object> view(const storage::ContactRecord& record) const {
    return mapping::icure_observation_to_fhir(record.contact, record.patient_id, ctx);
  }
  Result<json::object> view(const storage::SharedContactRecord& record) const {
    return mapping::icure_observation_to_fhir(*record.contact, record.patient_id, ctx);
  }

  const std::string& fhir_id_system() const { return ctx.settings.fhir_id_system; }

  storage::AnyOf fhir_id_tokens(const std::vector<std::string>& values) const {
    storage::AnyOf any;
    for (const auto& v : values) any.push_back(storage::TokenFilter{fhir_id_system(), v});
    return any;
  }

  // ---- fetch-all loops -------------------------------------------------------

  Result<std::vector<icure::Patient>> all_patients(storage::PatientQuery q) {
    std::vector<icure::Patient> out;
    q.page.limit = kChunk;
    q.page.cursor.reset();
    q.page.count_up_to = 0;  // every page is read: no total needed
    while (true) {
      auto page = store.find_patients(who, q);
      if (!page) return page.status();
      for (auto& p : page->items) out.push_back(std::move(p));
      if (!page->next_cursor || page->items.empty()) break;
      q.page.cursor = page->next_cursor;
    }
    return out;
  }

  Result<std::vector<storage::ContactRecord>> all_contacts(storage::ContactQuery q) {
    std::vector<storage::ContactRecord> out;
    q.page.limit = kChunk;
    q.page.cursor.reset();
    q.page.count_up_to = 0;  // every page is read: no total needed
    while (true) {
      auto page = store.find_contacts(who, q);
      if (!page) return page.status();
      for (auto& c : page->items) out.push_back(std::move(c));
      if (!page->next_cursor || page->items.empty()) break;
      q.page.cursor = page->next_cursor;
    }
    return out;
  }

  Result<std::set<std::string>> patient_ids_of(storage::PatientQuery q) {
    auto all = all_patients(std::move(q));
    if (!all) return all.status();
    std::set<std::string> ids;
    for (const auto& p : *all)
      if (p.id) ids.insert(*p.id);
    return ids;
  }

  // Values that are a patient's store id or its FHIR id -> store ids.
  Result<std::set<std::string>> resolve_patient_ids(const std::vector<std::string>& values) {
    std::set<std::string> ids(values.begin(), values.end());
    if (values.empty()) return ids;
    storage::PatientQuery q;
    q.identifiers.push_back(fhir_id_tokens(values));
    auto found = patient_ids_of(std::move(q));
    if (!found) return found.status();
    ids.insert(found->begin(), found->end());
    return ids;
  }

  Result<std::set<std::string>> resolve_contact_ids(const std::vector<std::string>& values) {
    std::set<std::string> ids(values.begin(), values.end());
    if (values.empty()) return ids;
    storage::ContactQuery q;
    q.identifiers.push_back(fhir_id_tokens(values));
    auto found = all_contacts(std::move(q));
    if (!found) return found.status();
    for (const auto& r : *found)
      if (r.contact.id) ids.insert(*r.contact.id);
    return ids;
  }

  // ---- plan preparation: fill query.ids / patient_ids; false = provably empty

  Result<bool> prepare(PatientPlan& plan) {
    IdSet ids;
    for (const auto& values : plan.id_or_fhir_id) {
      auto resolved = resolve_patient_ids(values);
      if (!resolved) return resolved.status();
      intersect(ids, std::move(*resolved));
      if (ids->empty()) return false;
    }
    for (auto& has : plan.has_observations) {
      auto records = matching_contacts(has);
      if (!records) return records.status();
      std::set<std::string> patients;
      for (const auto& r : *records) patients.insert(r.patient_id);
      intersect(ids, std::move(patients));
      if (ids->empty()) return false;
    }
    if (ids) plan.query.ids = std::vector<std::string>(ids->begin(), ids->end());
    return true;
  }

  Result<bool> prepare(ContactPlan& plan) {
    IdSet ids;
    for (const auto& values : plan.id_or_fhir_id) {
      auto resolved = resolve_contact_ids(values);
      if (!resolved) return resolved.status();
      intersect(ids, std::move(*resolved));
      if (ids->empty()) return false;
    }
    if (ids) plan.query.ids = std::vector<std::string>(ids->begin(), ids->end());
    IdSet patients;
    for (const auto& values : plan.subject_id_or_fhir_id) {
      auto resolved = resolve_patient_ids(values);
      if (!resolved) return resolved.status();
      intersect(patients, std::move(*resolved));
      if (patients->empty()) return false;
    }
    for (auto& chain : plan.subject_chains) {
      auto ready = prepare(chain);
      if (!ready) return ready.status();
      if (!*ready) return false;
      auto found = filtered_patients(chain);
      if (!found) return found.status();
      std::set<std::string> chained;
      for (const auto& p : *found)
        if (p.id) chained.insert(*p.id);
      intersect(patients, std::move(chained));
      if (patients->empty()) return false;
    }
    if (patients)
      plan.query.patient_ids = std::vector<std::string>(patients->begin(), patients->end());
    return true;
  }

  // The entities of `all` whose FHIR view passes the plan's post-filters.
  template <typename Plan, typename Entity>
  Result<std::vector<Entity>> keep_passing(const Plan& plan, Result<std::vector<Entity>> all) {
    if (!all || !plan.needs_post_filter()) return all;
    std::vector<Entity> kept;
    for (auto& entity : *all) {
      auto fhir = view(entity);
      if (fhir && passes(plan, *fhir)) kept.push_back(std::move(entity));
    }
    return kept;
  }

  // Every patient of a prepared plan's query, post-filters applied.
  Result<std::vector<icure::Patient>> filtered_patients(const PatientPlan& plan) {
    return keep_passing(plan, all_patients(plan.query));
  }

  static bool passes(const PatientPlan& plan, const json::object& patient) {
    return std::all_of(plan.element_filters.begin(), plan.element_filters.end(),
                       [&](const auto& f) { return detail::element_filter_matches(f, patient); });
  }

  // Every contact matching a plan, post-filters applied (for _has and search_ids).
  Result<std::vector<storage::ContactRecord>> matching_contacts(ContactPlan& plan) {
    auto ready = prepare(plan);
    if (!ready) return ready.status();
    if (!*ready) return std::vector<storage::ContactRecord>{};
    return keep_passing(plan, all_contacts(plan.query));
  }

  static bool passes(const ContactPlan& plan, const json::object& observation) {
    const bool has_quantity = observation.contains("valueQuantity");
    for (bool missing : plan.value_quantity_missing)
      if (missing == has_quantity) return false;
    for (const auto& any : plan.value_quantity) {
      bool one = std::any_of(any.begin(), any.end(), [&](const auto& c) {
        return detail::quantity_matches(c, observation);
      });
      if (!one) return false;
    }
    for (const auto& filter : plan.element_filters)
      if (!detail::element_filter_matches(filter, observation)) return false;
    return true;
  }
};

// ---- Bundle building ---------------------------------------------------------

struct BundleBuilder {
  BundleBuilder(std::string type, const SearchOptions& search_options,
                const SearchControls& search_controls, const std::vector<QueryParam>& echoed_params)
      : resource_type(std::move(type)),
        options(search_options),
        controls(search_controls),
        echoed(echoed_params) {}

  std::string resource_type;
  const SearchOptions& options;
  const SearchControls& controls;
  const std::vector<QueryParam>& echoed;
  json::array entries;
  json::array issues;
  // When splicing: the entries, each already serialised.
  std::vector<std::string> serialized;

  // Whole resources and a renderer: the entries are kept serialised and each
  // match's resource is the renderer's text (the read cache's), spliced in.
  bool splices() const {
    return options.renderer && controls.elements.empty() &&
           controls.summary == detail::SummaryMode::full;
  }

  std::string link(const std::optional<std::string>& cursor) const {
    std::vector<QueryParam> params = echoed;
    if (cursor) params.push_back(QueryParam{"_cursor", "", *cursor});
    std::string query = detail::encode_query(params);
    std::string url = options.base_url + "/" + resource_type;
    return query.empty() ? url : url + "?" + query;
  }

  void warn(const std::string& path, const std::string& message) {
    json::object issue{
        {"severity", "warning"}, {"code", "not-supported"}, {"diagnostics", message}};
    if (!path.empty()) issue["expression"] = json::array{json::string(path)};
    issues.push_back(std::move(issue));
  }

  json::object subset(json::object resource) const {
    return detail::subset_resource(std::move(resource), controls.elements, controls.summary);
  }

  void push(json::object entry) {
    if (splices())
      serialized.push_back(json::serialize(entry));
    else
      entries.push_back(std::move(entry));
  }

  void add(const std::string& id, json::object resource) {
    push(json::object{{"fullUrl", options.base_url + "/" + resource_type + "/" + id},
                      {"resource", subset(std::move(resource))},
                      {"search", json::object{{"mode", "match"}}}});
  }

  // A match of the page: the renderer's text when splicing, else mapped here.
  // An error when it cannot be mapped (the caller warns).
  template <typename Entity>
  Status add_match(const std::string& id, const Entity& entity, const Executor& ex) {
    if (!splices()) {
      auto fhir = ex.view(entity);
      if (!fhir) return fhir.status();
      add(id, std::move(*fhir));
      return {};
    }
    auto resource = render(entity);
    if (!resource) return resource.status();
    // The same members, in the same order, as add() would give.
    std::string entry = R"({"fullUrl":)";
    entry += json::serialize(json::string(options.base_url + "/" + resource_type + "/" + id));
    entry += R"(,"resource":)";
    entry += **resource;
    entry += R"(,"search":{"mode":"match"}})";
    serialized.push_back(std::move(entry));
    return {};
  }
  Result<std::shared_ptr<const std::string>> render(const icure::Patient& patient) const {
    return options.renderer->patient(patient);
  }
  Result<std::shared_ptr<const std::string>> render(
      const storage::SharedContactRecord& record) const {
    return options.renderer->observation(*record.contact, record.patient_id);
  }

  // A resource of _include/_revinclude (not counted in total).
  void include(std::string_view type, const std::string& id, json::object resource) {
    push(json::object{{"fullUrl", options.base_url + "/" + std::string(type) + "/" + id},
                      {"resource", subset(std::move(resource))},
                      {"search", json::object{{"mode", "include"}}}});
  }

  // The entry that carries the warnings (search.mode = outcome).
  json::object outcome_entry() {
    return json::object{{"resource", json::object{{"resourceType", "OperationOutcome"},
                                                  {"issue", std::move(issues)}}},
                        {"search", json::object{{"mode", "outcome"}}}};
  }

  json::object finish(std::int64_t total, const std::optional<std::string>& next_cursor,
                      const mapping::MappingContext& ctx) {
    json::object bundle{{"resourceType", "Bundle"}};
    if (ctx.new_id) bundle["id"] = ctx.new_id();
    bundle["type"] = "searchset";
    // total < 0: more matches than the bounded count reached; FHIR lets us omit it.
    if ((controls.total != TotalMode::none || controls.count_only) && total >= 0)
      bundle["total"] = total;
    json::array links{json::object{{"relation", "self"}, {"url", link(controls.cursor)}}};
    if (next_cursor && !controls.count_only) {
      links.push_back(json::object{{"relation", "next"}, {"url", link(next_cursor)}});
    }
    bundle["link"] = std::move(links);
    if (!issues.empty()) entries.insert(entries.begin(), outcome_entry());
    if (!entries.empty()) bundle["entry"] = std::move(entries);
    return bundle;
  }

  // finish() when splicing: the same Bundle, serialised, with `serialized` as its entries.
  std::shared_ptr<const std::string> finish_serialized(
      std::int64_t total, const std::optional<std::string>& next_cursor,
      const mapping::MappingContext& ctx) {
    if (!issues.empty()) serialized.insert(serialized.begin(), json::serialize(outcome_entry()));
    issues.clear();
    std::string out = json::serialize(finish(total, next_cursor, ctx));  // no entry member
    if (!serialized.empty()) {
      std::size_t size = out.size() + 12;
      for (const auto& entry : serialized) size += entry.size() + 1;
      out.reserve(size);
      out.pop_back();  // the Bundle's closing brace: "entry" is its last member
      out += R"(,"entry":[)";
      for (std::size_t i = 0; i < serialized.size(); ++i) {
        if (i) out += ',';
        out += serialized[i];
      }
      out += "]}";
    }
    return std::make_shared<const std::string>(std::move(out));
  }
};

// The searchset and what the caller needs besides it.
SearchOutcome outcome_of(BundleBuilder& b, std::int64_t total,
                         const std::optional<std::string>& next_cursor,
                         const mapping::MappingContext& ctx, std::vector<std::string> warnings) {
  SearchOutcome out;
  if (b.splices())
    out.rendered = b.finish_serialized(total, next_cursor, ctx);
  else
    out.bundle = b.finish(total, next_cursor, ctx);
  out.warnings = std::move(warnings);
  if (!b.controls.count_only) out.next_cursor = next_cursor;
  return out;
}

template <typename Plan>
SearchOutcome empty_outcome(const std::string& type, const detail::TranslatedSearch<Plan>& t,
                            const SearchOptions& options, const mapping::MappingContext& ctx) {
  BundleBuilder b{type, options, t.controls, t.echoed};
  for (std::size_t i = 0; i < t.warnings.size(); ++i) b.warn(t.warning_paths[i], t.warnings[i]);
  return outcome_of(b, 0, std::nullopt, ctx, t.warnings);
}

// _revinclude=Observation:subject: the observations of the page's patients, up
// to options.max_count (a warning says when there are more).
Status include_observations(Executor& ex, std::vector<std::string> patient_ids, BundleBuilder& b,
                            std::vector<std::string>& warnings) {
  storage::ContactQuery q;
  q.patient_ids = std::move(patient_ids);
  q.page.limit = ex.options.max_count;
  auto page = ex.store.find_contacts(ex.who, q);
  if (!page) return page.status();
  for (const auto& record : page->items) {
    std::string id = record.contact.id.value_or("");
    auto fhir = ex.view(record);
    if (!fhir) {
      warnings.push_back("observation " + id +
                         " could not be mapped: " + fhir.status().to_string());
      b.warn("_revinclude", warnings.back());
      continue;
    }
    b.include("Observation", id, std::move(*fhir));
  }
  if (page->next_cursor) {
    warnings.push_back("_revinclude: only the first " + std::to_string(ex.options.max_count) +
                       " observations of these patients are included");
    b.warn("_revinclude", warnings.back());
  }
  return {};
}

// _include=Observation:subject: each patient of the page's observations, once.
Status include_subjects(Executor& ex, const std::vector<std::string>& patient_ids, BundleBuilder& b,
                        std::vector<std::string>& warnings) {
  std::set<std::string> seen;
  for (const auto& id : patient_ids) {
    if (id.empty() || !seen.insert(id).second) continue;
    auto patient = ex.store.get_patient(ex.who, id);
    if (!patient) {
      // Deleted since, or not visible: the match stays, without its patient.
      if (patient.status().code() == StatusCode::not_found ||
          patient.status().code() == StatusCode::deleted)
        continue;
      return patient.status();
    }
    auto fhir = ex.view(*patient);
    if (!fhir) {
      warnings.push_back("patient " + id + " could not be mapped: " + fhir.status().to_string());
      b.warn("_include", warnings.back());
      continue;
    }
    b.include("Patient", id, std::move(*fhir));
  }
  return {};
}

Result<std::size_t> parse_mem_cursor(const std::optional<std::string>& cursor);

// Post-filtered (elements only the content holds): every candidate in the
// requested order, mapped, filtered, paged here with a "mem:<offset>" cursor.
Result<SearchOutcome> search_filtered_patients(Executor& ex,
                                               detail::TranslatedSearch<PatientPlan>& t,
                                               const SearchOptions& options) {
  auto offset = parse_mem_cursor(t.controls.cursor);
  if (!offset) return offset.status();
  auto all = ex.all_patients(t.plan.query);
  if (!all) return all.status();
  BundleBuilder b{"Patient", options, t.controls, t.echoed};
  std::vector<std::string> warnings = t.warnings;
  for (std::size_t i = 0; i < t.warnings.size(); ++i) b.warn(t.warning_paths[i], t.warnings[i]);
  std::vector<std::pair<icure::Patient, json::object>> matches;
  for (auto& patient : *all) {
    auto fhir = ex.view(patient);
    if (!fhir) {
      warnings.push_back("patient " + patient.id.value_or("") +
                         " could not be mapped: " + fhir.status().to_string());
      b.warn("Patient", warnings.back());
      continue;
    }
    if (Executor::passes(t.plan, *fhir)) matches.emplace_back(std::move(patient), std::move(*fhir));
  }
  const std::size_t begin = std::min(*offset, matches.size());
  const std::size_t end = std::min(begin + t.controls.count, matches.size());
  std::vector<std::string> page_ids;
  for (std::size_t i = begin; i < end; ++i) {
    b.add(matches[i].first.id.value_or(""), std::move(matches[i].second));
    if (matches[i].first.id) page_ids.push_back(*matches[i].first.id);
  }
  if (t.controls.revinclude_observations && begin < end)
    FHIRBRIDGE_RETURN_IF_ERROR(include_observations(ex, std::move(page_ids), b, warnings));
  std::optional<std::string> next;
  if (end < matches.size()) next = std::string(kMemCursorPrefix) + std::to_string(end);
  return outcome_of(b, static_cast<std::int64_t>(matches.size()), next, ex.ctx,
                    std::move(warnings));
}

Result<SearchOutcome> search_patients(Executor& ex, const std::vector<QueryParam>& params,
                                      const SearchOptions& options) {
  auto t = detail::translate_patient_search(params, options);
  if (!t) return t.status();
  auto ready = ex.prepare(t->plan);
  if (!ready) return ready.status();
  if (!*ready) return empty_outcome("Patient", *t, options, ex.ctx);

  storage::PatientQuery& q = t->plan.query;
  q.page.sort = t->controls.sort;
  if (t->plan.needs_post_filter()) return search_filtered_patients(ex, *t, options);
  q.page.limit = t->controls.count;
  q.page.cursor = t->controls.cursor;
  q.page.count_up_to = count_up_to(t->controls);
  auto page = ex.store.find_patients_shared(ex.who, q);
  if (!page)
    return page.status().code() == StatusCode::invalid && t->controls.cursor
               ? Status::Invalid("_cursor", page.status().message())
               : page.status();

  BundleBuilder b{"Patient", options, t->controls, t->echoed};
  std::vector<std::string> warnings = t->warnings;
  for (std::size_t i = 0; i < t->warnings.size(); ++i) b.warn(t->warning_paths[i], t->warnings[i]);
  std::vector<std::string> page_ids;
  for (const auto& patient : page->items) {
    std::string id = patient->id.value_or("");
    if (!id.empty()) page_ids.push_back(id);
    if (Status added = b.add_match(id, *patient, ex); !added.ok()) {
      warnings.push_back("patient " + id + " could not be mapped: " + added.to_string());
      b.warn("Patient", warnings.back());
    }
  }
  if (t->controls.revinclude_observations && !page->items.empty()) {
    FHIRBRIDGE_RETURN_IF_ERROR(include_observations(ex, std::move(page_ids), b, warnings));
  }
  return outcome_of(b, page->total, page->next_cursor, ex.ctx, std::move(warnings));
}

Result<std::size_t> parse_mem_cursor(const std::optional<std::string>& cursor) {
  if (!cursor) return std::size_t{0};
  std::string_view c = *cursor;
  std::size_t offset = 0;
  if (c.substr(0, kMemCursorPrefix.size()) == kMemCursorPrefix) {
    c.remove_prefix(kMemCursorPrefix.size());
    auto [end, ec] = std::from_chars(c.data(), c.data() + c.size(), offset);
    if (ec == std::errc{} && end == c.data() + c.size() && !c.empty()) return offset;
  }
  return Status::Invalid("_cursor", "not a cursor of this search");
}

Result<SearchOutcome> search_observations(Executor& ex, const std::vector<QueryParam>& params,
                                          const SearchOptions& options) {
  auto t = detail::translate_observation_search(params, options);
  if (!t) return t.status();
  auto ready = ex.prepare(t->plan);
  if (!ready) return ready.status();
  if (!*ready) return empty_outcome("Observation", *t, options, ex.ctx);

  BundleBuilder b{"Observation", options, t->controls, t->echoed};
  std::vector<std::string> warnings = t->warnings;
  for (std::size_t i = 0; i < t->warnings.size(); ++i) b.warn(t->warning_paths[i], t->warnings[i]);
  auto map_failed = [&](const std::string& id, const Status& s) {
    warnings.push_back("observation " + id + " could not be mapped: " + s.to_string());
    b.warn("Observation", warnings.back());
  };

  storage::ContactQuery& q = t->plan.query;
  q.page.sort = t->controls.sort;
  if (!t->plan.needs_post_filter()) {
    q.page.limit = t->controls.count;
    q.page.cursor = t->controls.cursor;
    q.page.count_up_to = count_up_to(t->controls);
    auto page = ex.store.find_contacts_shared(ex.who, q);
    if (!page)
      return page.status().code() == StatusCode::invalid && t->controls.cursor
                 ? Status::Invalid("_cursor", page.status().message())
                 : page.status();
    std::vector<std::string> subjects;
    for (const auto& record : page->items) {
      std::string id = record.contact->id.value_or("");
      if (Status added = b.add_match(id, record, ex); !added.ok()) {
        map_failed(id, added);
        continue;
      }
      subjects.push_back(record.patient_id);
    }
    if (t->controls.include_subjects)
      FHIRBRIDGE_RETURN_IF_ERROR(include_subjects(ex, subjects, b, warnings));
    return outcome_of(b, page->total, page->next_cursor, ex.ctx, std::move(warnings));
  }

  // Post-filtered: everything, in the requested order, filtered, paged here.
  auto offset = parse_mem_cursor(t->controls.cursor);
  if (!offset) return offset.status();
  auto all = ex.all_contacts(q);
  if (!all) return all.status();
  struct Match {
    std::string id, patient_id;
    json::object resource;
  };
  std::vector<Match> matches;
  for (const auto& record : *all) {
    std::string id = record.contact.id.value_or("");
    auto fhir = ex.view(record);
    if (!fhir) {
      map_failed(id, fhir.status());
      continue;
    }
    if (Executor::passes(t->plan, *fhir))
      matches.push_back(Match{std::move(id), record.patient_id, std::move(*fhir)});
  }
  std::size_t begin = std::min(*offset, matches.size());
  std::size_t end = std::min(begin + t->controls.count, matches.size());
  std::vector<std::string> subjects;
  for (std::size_t i = begin; i < end; ++i) {
    b.add(matches[i].id, std::move(matches[i].resource));
    subjects.push_back(matches[i].patient_id);
  }
  if (t->controls.include_subjects)
    FHIRBRIDGE_RETURN_IF_ERROR(include_subjects(ex, subjects, b, warnings));
  std::optional<std::string> next;
  if (end < matches.size()) next = std::string(kMemCursorPrefix) + std::to_string(end);
  return outcome_of(b, static_cast<std::int64_t>(matches.size()), next, ex.ctx,
                    std::move(warnings));
}

mapping::MappingContext default_context() {
  mapping::MappingContext ctx;
  ctx.new_id = [] { return std::string(); };
  ctx.now_ms = [] { return std::int64_t{0}; };
  return ctx;
}

json::object param(std::string_view name, std::string_view type, std::string_view doc) {
  return json::object{{"name", name}, {"type", type}, {"documentation", doc}};
}

}  // namespace

Result<SearchOutcome> search(storage::Store& store, const storage::Principal& who,
                             std::string_view resource_type, const std::vector<QueryParam>& params,
                             const SearchOptions& options, const mapping::MappingContext& ctx) {
  Executor ex{store, who, ctx, options};
  if (resource_type == "Patient") return search_patients(ex, params, options);
  if (resource_type == "Observation") return search_observations(ex, params, options);
  return Status{StatusCode::not_supported,
                "search on '" + std::string(resource_type.substr(0, 64)) + "' is not supported",
                "resourceType"};
}

Result<std::vector<std::string>> search_ids(storage::Store& store, const storage::Principal& who,
                                            std::string_view resource_type,
                                            const std::vector<QueryParam>& params,
                                            const SearchOptions& options,
                                            const mapping::MappingContext& ctx) {
  // A conditional delete/update must never widen because a parameter was
  // ignored: unknown parameters are always errors here.
  SearchOptions strict = options;
  strict.strict = true;
  Executor ex{store, who, ctx, options};
  std::vector<std::string> ids;
  if (resource_type == "Patient") {
    auto t = detail::translate_patient_search(params, strict);
    if (!t) return t.status();
    auto ready = ex.prepare(t->plan);
    if (!ready) return ready.status();
    if (!*ready) return ids;
    t->plan.query.page.sort = t->controls.sort;
    auto all = ex.filtered_patients(t->plan);
    if (!all) return all.status();
    for (const auto& p : *all)
      if (p.id) ids.push_back(*p.id);
    return ids;
  }
  if (resource_type == "Observation") {
    auto t = detail::translate_observation_search(params, strict);
    if (!t) return t.status();
    t->plan.query.page.sort = t->controls.sort;
    auto records = ex.matching_contacts(t->plan);
    if (!records) return records.status();
    for (const auto& r : *records)
      if (r.contact.id) ids.push_back(*r.contact.id);
    return ids;
  }
  return Status{StatusCode::not_supported,
                "search on '" + std::string(resource_type.substr(0, 64)) + "' is not supported",
                "resourceType"};
}

Result<std::vector<std::string>> search_ids(storage::Store& store, const storage::Principal& who,
                                            std::string_view resource_type,
                                            const std::vector<QueryParam>& params,
                                            const SearchOptions& options) {
  return search_ids(store, who, resource_type, params, options, default_context());
}

boost::json::array capability_search_params(std::string_view resource_type) {
  // Parameters filtered after decryption, from the element-filter table.
  auto add_filtered = [&](json::array& params) {
    static constexpr std::string_view kTypes[] = {"token", "string", "reference", "token",
                                                  "token", "date",   "quantity"};
    for (const auto& def : detail::element_filter_defs(resource_type))
      params.push_back(def.composite_roots.empty()
                           ? param(def.param, kTypes[static_cast<int>(def.kind)],
                                   "Filtered after decryption (docs/search.md); :missing too")
                           : param(def.param, "composite",
                                   "code$value, the code and the value of the same "
                                   "Observation or component; filtered after decryption"));
    return std::move(params);
  };
  if (resource_type == "Patient") {
    json::array params{
        param("_id", "token", "Store id or the FHIR id given on create"),
        param("identifier", "token", "system|value, value, system| or |value"),
        param(
            "name", "string",
            "Any name part (family, given, prefix, suffix, text); starts-with, :exact, :contains; "
            "case- and accent-insensitive"),
        param("family", "string", "Family name; starts-with, :exact, :contains"),
        param("given", "string", "Given name; starts-with, :exact, :contains"),
        param("gender", "token", "male | female | other | unknown; :not"),
        param("birthdate", "date",
              "Partial dates (YYYY, YYYY-MM, YYYY-MM-DD) with eq ne lt gt le ge sa eb ap"),
        param("active", "token", "true | false"),
        param("_lastUpdated", "date",
              "meta.lastUpdated; eq ne lt gt le ge sa eb ap, partial dates (UTC when no zone)"),
        param("_has", "special",
              "_has:Observation:patient:<param> (also :subject:, and the short form "
              "_has:Observation:<param>) with any Observation parameter"),
    };
    return add_filtered(params);
  }
  if (resource_type == "Observation") {
    json::array params{
        param("_id", "token", "Store id or the FHIR id given on create"),
        param("identifier", "token", "system|value, value, system| or |value"),
        param("code", "token", "system|code, code, system| or |code; :text, :not"),
        param("_tag", "token", "meta.tag (and category/status tags): system|code, code, system|"),
        param("category", "token", "system|code, code, system|; :text, :not"),
        param("status", "token", "Observation status; :not"),
        param("subject", "reference",
              "Patient/<id>, <id> (store or FHIR id), :identifier, chained subject:Patient.<param> "
              "and subject.<param>"),
        param("patient", "reference", "As subject"),
        param("date", "date", "effective[x]; eq ne lt gt le ge sa eb ap, partial dates"),
        param("value-quantity", "quantity",
              "[prefix]number|system|code on valueQuantity (filtered after decryption)"),
        param("_lastUpdated", "date",
              "meta.lastUpdated; eq ne lt gt le ge sa eb ap, partial dates (UTC when no zone)"),
    };
    return add_filtered(params);
  }
  return {};
}

}  // namespace fhirbridge::server
