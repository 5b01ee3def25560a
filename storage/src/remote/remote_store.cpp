// RemoteStore: the Store interface over an iCure REST API (/rest/v1).
// Entities are sealed/unsealed here with crypto::EntitySealer exactly as
// SqliteStore does; the remote only ever sees sealed JSON. See docs/remote.md.
#include <botan/system_rng.h>

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "fhirbridge/crypto/primitives.hpp"
#include "fhirbridge/json_io.hpp"
#include "fhirbridge/storage/remote_store.hpp"
#include "http_client.hpp"
#include "remote_query.hpp"

namespace fhirbridge::storage {

namespace json = boost::json;
namespace http = boost::beast::http;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kRest = "/rest/v1";

std::string basic_header(const std::string& login, const std::string& password) {
  const std::string raw = login + ":" + password;
  return "Basic " +
         crypto::to_base64(reinterpret_cast<const std::uint8_t*>(raw.data()), raw.size());
}

// Percent-encodes one path segment or query value (RFC 3986 unreserved kept).
std::string escape(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

template <typename T>
Result<T> entity_from(const json::value& v, const std::string& what) {
  T out{};
  Status s = json_io::from_json(v, out, what);
  if (!s.ok())
    return Status::Internal("the remote answered an unexpected " + what + ": " + s.to_string());
  return out;
}

template <typename Entity>
json::value to_wire(const Entity& e) {
  return json_io::to_json(e);
}

// Copies what sealing added onto the clear entity (as SqliteStore does).
template <typename Entity>
Entity reveal(Entity clear, const Entity& sealed) {
  clear.id = sealed.id;
  clear.rev = sealed.rev;
  clear.created = sealed.created ? sealed.created : clear.created;
  clear.modified = sealed.modified ? sealed.modified : clear.modified;
  clear.delegations = sealed.delegations;
  clear.encryptionKeys = sealed.encryptionKeys;
  clear.cryptedForeignKeys = sealed.cryptedForeignKeys;
  clear.secretForeignKeys = sealed.secretForeignKeys;
  clear.encryptedSelf = sealed.encryptedSelf;
  return clear;
}

icure::Contact reveal_contact(icure::Contact clear, const icure::Contact& sealed) {
  if (clear.services && sealed.services && clear.services->size() == sealed.services->size())
    for (std::size_t i = 0; i < clear.services->size(); ++i)
      (*clear.services)[i].encryptedSelf = (*sealed.services)[i].encryptedSelf;
  return reveal(std::move(clear), sealed);
}

bool has_reader(const icure::DelegationMap& delegations, const std::string& hcp) {
  if (!delegations) return false;
  auto it = delegations->find(hcp);
  return it != delegations->end() && !it->second.empty();
}

// The delegation keys and encryptedSelf values of a sealed entity: random per
// write, so a stored entity carrying all of ours is the one we wrote.
void write_marks(const json::value& v, std::set<std::string>& out, bool in_crypto_map = false) {
  if (const auto* o = v.if_object()) {
    for (const auto& [k, child] : *o) {
      if (k == "encryptedSelf" && child.is_string()) out.insert(std::string(child.get_string()));
      if (in_crypto_map && k == "key" && child.is_string())
        out.insert(std::string(child.get_string()));
      const bool crypto =
          in_crypto_map || k == "delegations" || k == "encryptionKeys" || k == "cryptedForeignKeys";
      write_marks(child, out, crypto);
    }
  } else if (const auto* a = v.if_array()) {
    for (const auto& child : *a) write_marks(child, out, in_crypto_map);
  }
}

bool is_our_write(const json::value& sent, const json::value& stored) {
  std::set<std::string> ours, theirs;
  write_marks(sent, ours);
  write_marks(stored, theirs);
  if (ours.empty()) return false;
  return std::includes(theirs.begin(), theirs.end(), ours.begin(), ours.end());
}

// A token the identifier filters can take: a value is required.
json::array identifier_tokens(const AnyOf& any) {
  json::array out;
  for (const auto& t : any) {
    json::object o;
    if (t.system) o["system"] = *t.system;
    o["value"] = *t.value;
    out.push_back(std::move(o));
  }
  return out;
}

bool all_have_values(const AnyOf& any) {
  return !any.empty() && std::all_of(any.begin(), any.end(),
                                     [](const TokenFilter& t) { return t.value.has_value(); });
}

}  // namespace

// ---- internals -------------------------------------------------------------------

struct RemoteStore::Impl {
  struct Session {
    std::string login, auth, hcp_id, user_id;
  };
  struct CachedHcp {
    icure::HealthcareParty hcp;
    Clock::time_point fetched;
  };

  Impl(RemoteStoreOptions opts, crypto::Keychain& keychain, std::unique_ptr<remote::HttpClient> c)
      : options(std::move(opts)),
        http(std::move(c)),
        rng(options.rng ? *options.rng : Botan::system_rng()),
        sealer(keychain, rng, options.sealing),
        new_id(options.new_id),
        now_ms(options.now_ms) {
    if (!new_id) new_id = [this] { return crypto::random_uuid(rng); };
    if (!now_ms)
      now_ms = [] {
        return std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
      };
  }

  RemoteStoreOptions options;
  std::unique_ptr<remote::HttpClient> http;
  Botan::RandomNumberGenerator& rng;
  crypto::EntitySealer sealer;
  std::function<std::string()> new_id;
  std::function<std::int64_t()> now_ms;

  std::mutex mutex;                         // guards sessions and hcps
  std::map<std::string, Session> sessions;  // user_id "\n" hcp_id -> credentials
  std::map<std::string, CachedHcp> hcps;

  // ---- HTTP + JSON -------------------------------------------------------------

  // The JSON answer of a call, or a Status mapped from the HTTP status.
  Result<json::value> call(const std::string& auth, http::verb verb, const std::string& target,
                           const json::value* body, bool idempotent) {
    auto res = http->request(verb, kRest + target, body ? json::serialize(*body) : std::string(),
                             auth, idempotent);
    if (!res.ok()) return res.status();
    return interpret(*res, verb, target);
  }

  static Result<json::value> interpret(const remote::HttpResponse& res, http::verb verb,
                                       const std::string& target) {
    boost::system::error_code ec;
    json::value body = res.body.empty() ? json::value() : json::parse(res.body, ec);
    if (res.status >= 200 && res.status < 300) {
      if (ec)
        return Status(StatusCode::unavailable, "the remote answered invalid JSON to " +
                                                   std::string(http::to_string(verb)) + " " +
                                                   target);
      return body;
    }
    std::string message;
    if (!ec && body.is_object())
      if (const auto* m = body.as_object().if_contains("message"); m && m->is_string())
        message = std::string(m->get_string());
    const std::string what = "remote " + std::string(http::to_string(verb)) + " " + target + ": " +
                             std::to_string(res.status) + (message.empty() ? "" : " " + message);
    switch (res.status) {
      case 400: return Status(StatusCode::invalid, what);
      case 401: return Status(StatusCode::unauthorized, what);
      case 403: return Status(StatusCode::forbidden, what);
      case 404: return Status::NotFound(what);
      case 409: return Status::Conflict(what);
      case 413: return Status(StatusCode::too_large, what);
      default: return Status(StatusCode::unavailable, what);
    }
  }

  // ---- sessions ------------------------------------------------------------------

  Result<Session> session_for(const Principal& who) {
    std::lock_guard lock(mutex);
    auto it = sessions.find(who.user_id + "\n" + who.hcp_id);
    if (it == sessions.end())
      return Status(StatusCode::unauthorized, "no remote session for user '" + who.user_id +
                                                  "': log in (authenticate) first");
    return it->second;
  }

  // Credentials for calls on nobody's behalf: a session of that HCP, else the
  // configured service login, else any session.
  Result<std::string> any_auth(const std::string& prefer_hcp) {
    std::lock_guard lock(mutex);
    for (const auto& [key, s] : sessions)
      if (s.hcp_id == prefer_hcp) return s.auth;
    if (!options.login.empty()) return basic_header(options.login, options.password);
    if (!sessions.empty()) return sessions.begin()->second.auth;
    return Status(StatusCode::unauthorized,
                  "the remote store has no credentials yet: log in first (or set a service login)");
  }

  // ---- healthcare parties (cached) ------------------------------------------------

  Result<icure::HealthcareParty> fetch_hcp(const std::string& auth, const std::string& id) {
    auto got = call(auth, http::verb::get, "/hcparty/" + escape(id), nullptr, true);
    if (!got.ok()) return got.status();
    auto hcp = entity_from<icure::HealthcareParty>(*got, "HealthcareParty");
    if (!hcp.ok()) return hcp.status();
    remember(*hcp);
    return hcp;
  }
  void remember(const icure::HealthcareParty& hcp) {
    if (!hcp.id) return;
    std::lock_guard lock(mutex);
    hcps[*hcp.id] = CachedHcp{hcp, Clock::now()};
  }
  void forget_hcp(const std::string& id) {
    std::lock_guard lock(mutex);
    hcps.erase(id);
  }
  Result<icure::HealthcareParty> hcp(const std::string& auth, const std::string& id) {
    {
      std::lock_guard lock(mutex);
      auto it = hcps.find(id);
      if (it != hcps.end() && Clock::now() - it->second.fetched < options.hcp_cache_ttl)
        return it->second.hcp;
    }
    return fetch_hcp(auth, id);
  }

  // The sealer adds exchange keys to an HCP: merge them into a fresh copy and
  // PUT it (rev from the fresh copy; on 409 start again). An exchange key the
  // remote already holds with another value means someone created it
  // meanwhile: ours was used for nothing stored yet, so fail and let the
  // caller retry with the fresh one.
  Status put_exchange_keys(const std::string& auth, const icure::HealthcareParty& updated) {
    if (!updated.id) return Status::Invalid("HealthcareParty.id", "a healthcare party needs an id");
    for (int attempt = 0; attempt < 4; ++attempt) {
      auto fresh = fetch_hcp(auth, *updated.id);
      if (!fresh.ok()) return fresh.status();
      icure::HealthcareParty merged = *fresh;
      bool changed = false;
      const Status raced(StatusCode::unavailable, "the exchange keys of healthcare party " +
                                                      *updated.id +
                                                      " changed on the remote meanwhile; retry");
      if (updated.hcPartyKeys) {
        if (!merged.hcPartyKeys) merged.hcPartyKeys.emplace();
        for (const auto& [delegate, pair] : *updated.hcPartyKeys) {
          auto [it, inserted] = merged.hcPartyKeys->emplace(delegate, pair);
          if (inserted) changed = true;
        }
      }
      if (updated.aesExchangeKeys) {
        if (!merged.aesExchangeKeys) merged.aesExchangeKeys.emplace();
        for (const auto& [pub, by_delegate] : *updated.aesExchangeKeys)
          for (const auto& [delegate, keys] : by_delegate) {
            auto& slot = (*merged.aesExchangeKeys)[pub];
            auto [it, inserted] = slot.emplace(delegate, keys);
            if (inserted) {
              changed = true;
            } else if (it->second != keys) {
              forget_hcp(*updated.id);
              return raced;
            }
          }
      }
      if (!changed) return {};
      json::value body = to_wire(merged);
      auto put = call(auth, http::verb::put, "/hcparty", &body, true);
      if (put.ok()) {
        auto stored = entity_from<icure::HealthcareParty>(*put, "HealthcareParty");
        if (!stored.ok()) return stored.status();
        remember(*stored);
        return {};
      }
      if (put.status().code() != StatusCode::conflict) return put.status();
    }
    return Status(StatusCode::unavailable,
                  "healthcare party " + *updated.id + " keeps changing on the remote; retry");
  }

  // The sealer's view of healthcare parties. The sealer reports a missing HCP
  // as not_found whatever the cause; `failure` keeps the real cause (the
  // remote unreachable, ...) so that `explain` can return it instead.
  struct Directory final : crypto::HcpDirectory {
    Directory(Impl& i, std::string a) : impl(i), auth(std::move(a)) {}
    Result<icure::HealthcareParty> get(const std::string& id) override {
      auto got = impl.hcp(auth, id);
      if (!got.ok() && got.status().code() != StatusCode::not_found) failure = got.status();
      return got;
    }
    Status put(const icure::HealthcareParty& h) override {
      Status st = impl.put_exchange_keys(auth, h);
      if (!st.ok()) failure = st;
      return st;
    }
    Status explain(Status st) const { return !st.ok() && !failure.ok() ? failure : st; }
    template <typename T>
    Result<T> explain(Result<T> r) const {
      if (!r.ok() && !failure.ok()) return failure;
      return r;
    }
    Impl& impl;
    std::string auth;
    Status failure;
  };

  // ---- paging ----------------------------------------------------------------------

  // Every row of a paged filter, following nextKeyPair.
  Result<std::vector<json::value>> filter_all(const Session& s, const std::string& path,
                                              const json::object& filter) {
    std::vector<json::value> rows;
    const json::value body = json::object{{"filter", filter}};
    std::optional<std::string> start_key, start_doc;
    for (int pages = 0; pages < 100000; ++pages) {
      std::string target = path + "?limit=" + std::to_string(options.fetch_page_size);
      if (start_doc) {
        target += "&startDocumentId=" + escape(*start_doc);
        if (start_key) target += "&startKey=" + escape(*start_key);
      }
      auto page = call(s.auth, http::verb::post, target, &body, true);
      if (!page.ok()) return page.status();
      const auto* obj = page->if_object();
      const json::value* got = obj ? obj->if_contains("rows") : nullptr;
      if (!got || !got->is_array())
        return Status(StatusCode::unavailable, "remote " + path + ": no rows in the answer");
      for (const auto& row : got->get_array()) rows.push_back(row);
      const json::value* next = obj->if_contains("nextKeyPair");
      if (!next || !next->is_object()) return rows;
      const auto* doc = next->as_object().if_contains("startKeyDocId");
      if (!doc || !doc->is_string() || doc->get_string().empty()) return rows;
      std::string next_doc(doc->get_string());
      if (start_doc && *start_doc == next_doc)
        return Status(StatusCode::unavailable, "remote " + path + ": paging does not advance");
      start_doc = std::move(next_doc);
      start_key.reset();
      if (const auto* key = next->as_object().if_contains("startKey"); key && !key->is_null())
        start_key = json::serialize(*key);
    }
    return Status(StatusCode::unavailable, "remote " + path + ": too many pages");
  }

  template <typename Entity>
  Result<std::vector<Entity>> by_ids(const Session& s, const std::string& collection,
                                     const std::vector<std::string>& ids, const char* what) {
    std::vector<Entity> out;
    for (std::size_t from = 0; from < ids.size(); from += 500) {
      json::array chunk;
      for (std::size_t i = from; i < ids.size() && i < from + 500; ++i)
        chunk.emplace_back(json::string(ids[i]));
      json::value body = json::object{{"ids", std::move(chunk)}};
      auto got = call(s.auth, http::verb::post, "/" + collection + "/byIds", &body, true);
      if (!got.ok()) return got.status();
      if (!got->is_array()) return Status(StatusCode::unavailable, "remote byIds: not an array");
      for (const auto& row : got->get_array()) {
        auto e = entity_from<Entity>(row, what);
        if (!e.ok()) return e.status();
        if (!e->deletionDate) out.push_back(std::move(*e));
      }
    }
    return out;
  }

  // ---- writes with lost answers ----------------------------------------------------

  // POST a new entity. A create is not retried blindly: after a lost answer
  // (or a 5xx) a GET tells whether it landed (our random delegation keys are
  // on it) before posting again.
  template <typename Entity>
  Result<Entity> post_create(const Session& s, const std::string& collection, const Entity& sealed,
                             const char* what) {
    const json::value body = to_wire(sealed);
    const std::string get_target = "/" + collection + "/" + escape(*sealed.id);
    Status last(StatusCode::unavailable, "no attempt");
    auto backoff = options.first_backoff;
    for (int attempt = 1; attempt <= options.max_attempts; ++attempt) {
      auto posted = call(s.auth, http::verb::post, "/" + collection, &body, false);
      if (posted.ok()) return entity_from<Entity>(*posted, what);
      last = posted.status();
      if (last.code() == StatusCode::conflict)
        return Status::Conflict(std::string(what) + " " + *sealed.id + " already exists",
                                std::string(what) + ".id");
      if (last.code() != StatusCode::unavailable) return last;
      // Did it land? Ask until the remote answers, then decide.
      for (; attempt <= options.max_attempts; ++attempt) {
        std::this_thread::sleep_for(backoff);
        backoff *= 2;
        auto got = call(s.auth, http::verb::get, get_target, nullptr, true);
        if (got.ok()) {
          auto stored = entity_from<Entity>(*got, what);
          if (!stored.ok()) return stored.status();
          if (!stored->deletionDate && is_our_write(body, *got)) return stored;
          if (!stored->deletionDate)
            return Status::Conflict(std::string(what) + " " + *sealed.id + " already exists",
                                    std::string(what) + ".id");
          break;  // a tombstone: ours did not land
        }
        if (got.status().code() == StatusCode::not_found) break;  // not there: post again
        last = got.status();
        if (last.code() != StatusCode::unavailable) return last;
      }
    }
    return Status(StatusCode::unavailable, last.message());
  }

  // PUT an update (rev = the stored one). A 409 after our own retry may be
  // our first attempt having landed: the stored entity then carries our marks.
  template <typename Entity>
  Result<Entity> put_update(const Session& s, const std::string& collection, const Entity& sealed,
                            const char* what) {
    const json::value body = to_wire(sealed);
    auto put = call(s.auth, http::verb::put, "/" + collection, &body, true);
    if (put.ok()) return entity_from<Entity>(*put, what);
    if (put.status().code() == StatusCode::conflict) {
      auto got =
          call(s.auth, http::verb::get, "/" + collection + "/" + escape(*sealed.id), nullptr, true);
      if (got.ok() && is_our_write(body, *got)) return entity_from<Entity>(*got, what);
      return Status(StatusCode::version_conflict,
                    std::string(what) + " " + *sealed.id + " changed on the remote meanwhile",
                    std::string(what) + ".rev");
    }
    return put.status();
  }

  // DELETE one entity; after a lost answer the retry finds nothing to delete,
  // and the tombstone's rev is read back.
  Result<Deleted> delete_one(const Session& s, const std::string& collection,
                             const std::string& id) {
    auto del =
        call(s.auth, http::verb::delete_, "/" + collection + "/" + escape(id), nullptr, true);
    if (!del.ok() && del.status().code() != StatusCode::not_found) return del.status();
    if (del.ok() && del->is_array())
      for (const auto& row : del->get_array()) {
        const auto* o = row.if_object();
        const auto* rid = o ? o->if_contains("id") : nullptr;
        const auto* rev = o ? o->if_contains("rev") : nullptr;
        if (rid && rid->is_string() && rid->get_string() == id)
          return Deleted{id, rev && rev->is_string() ? std::string(rev->get_string()) : ""};
      }
    auto got = call(s.auth, http::verb::get, "/" + collection + "/" + escape(id), nullptr, true);
    if (got.ok() && got->is_object()) {
      const auto& o = got->as_object();
      const auto* when = o.if_contains("deletionDate");
      const auto* rev = o.if_contains("rev");
      if (when && !when->is_null())
        return Deleted{id, rev && rev->is_string() ? std::string(rev->get_string()) : ""};
    }
    if (!got.ok() && got.status().code() != StatusCode::not_found) return got.status();
    return Status::NotFound(collection + " " + id + " not found");
  }

  // ---- patients ----------------------------------------------------------------------

  Result<std::optional<icure::Patient>> patient_by_fhir_id(const Session& s,
                                                           const std::string& fhir_id,
                                                           const std::string* except_id) {
    json::object filter{
        {"$type", "PatientByHcPartyAndIdentifiersFilter"},
        {"healthcarePartyId", s.hcp_id},
        {"identifiers", json::array{json::object{{"system", kFhirIdSystem}, {"value", fhir_id}}}}};
    auto rows = filter_all(s, "/patient/filter", filter);
    if (!rows.ok()) return rows.status();
    for (const auto& row : *rows) {
      auto p = entity_from<icure::Patient>(row, "Patient");
      if (!p.ok()) return p.status();
      if (p->deletionDate || !p->id || (except_id && *p->id == *except_id)) continue;
      // The filter matches any FHIR-id identifier; keep exact matches only.
      const auto ids = fhir_ids_of(p->identifier);
      if (std::find(ids.begin(), ids.end(), fhir_id) == ids.end()) continue;
      return std::optional(std::move(*p));
    }
    return std::optional<icure::Patient>();
  }

  // The sealed patient `who` can read, by store id or FHIR id; `deleted` for
  // a tombstone when report_deleted (after the FHIR-id lookup, as SQLite).
  Result<icure::Patient> visible_patient(const Session& s, const std::string& id,
                                         bool report_deleted) {
    const Status missing = Status::NotFound("patient " + id + " not found");
    if (id.empty()) return missing;
    bool tombstone = false;
    auto got = call(s.auth, http::verb::get, "/patient/" + escape(id), nullptr, true);
    if (got.ok()) {
      auto p = entity_from<icure::Patient>(*got, "Patient");
      if (!p.ok()) return p.status();
      if (!p->deletionDate) {
        if (has_reader(p->delegations, s.hcp_id)) return p;
        return missing;
      }
      tombstone = true;
    } else if (got.status().code() != StatusCode::not_found) {
      return got.status();
    }
    auto by_fhir = patient_by_fhir_id(s, id, nullptr);
    if (!by_fhir.ok()) return by_fhir.status();
    if (*by_fhir) return std::move(**by_fhir);
    if (tombstone && report_deleted)
      return Status(StatusCode::deleted, "patient " + id + " was deleted");
    return missing;
  }

  Status check_fhir_id_conflicts(const Session& s, const icure::Patient& patient) {
    if (!patient.identifier) return {};
    for (std::size_t i = 0; i < patient.identifier->size(); ++i) {
      const auto& identifier = (*patient.identifier)[i];
      if (identifier.system != kFhirIdSystem || !identifier.value) continue;
      auto other = patient_by_fhir_id(s, *identifier.value, &*patient.id);
      if (!other.ok()) return other.status();
      if (*other)
        return Status::Conflict("a patient with FHIR id '" + *identifier.value +
                                    "' already exists (" + *(*other)->id + ")",
                                "Patient.identifier[" + std::to_string(i) + "]");
    }
    return {};
  }

  Result<icure::Patient> create_patient(const Session& s, icure::Patient patient) {
    if (!patient.id || patient.id->empty()) patient.id = new_id();
    FHIRBRIDGE_RETURN_IF_ERROR(check_fhir_id_conflicts(s, patient));
    const auto now = now_ms();
    patient.rev.reset();
    patient._type = icure::kPatientType;
    patient.created = patient.created.value_or(now);
    patient.modified = now;
    if (!patient.author && !s.user_id.empty()) patient.author = s.user_id;
    if (!patient.responsible) patient.responsible = s.hcp_id;
    icure::Patient sealed = patient;
    Directory dir(*this, s.auth);
    FHIRBRIDGE_RETURN_IF_ERROR(dir.explain(sealer.seal_new_patient(dir, s.hcp_id, sealed)));
    auto stored = post_create(s, "patient", sealed, "Patient");
    if (!stored.ok()) return stored.status();
    return reveal(std::move(patient), *stored);
  }

  // `previous_out`: the sealed version that was replaced (for apply's undo).
  Result<icure::Patient> update_patient(const Session& s, icure::Patient patient,
                                        icure::Patient* previous_out = nullptr) {
    if (!patient.id || patient.id->empty())
      return Status::Invalid("Patient.id", "an update needs the patient's id");
    auto previous = visible_patient(s, *patient.id, false);
    if (!previous.ok()) return previous.status();
    if (patient.rev && *patient.rev != previous->rev.value_or(""))
      return Status(StatusCode::version_conflict,
                    "patient " + *previous->id + " is at rev " + previous->rev.value_or("") +
                        ", not " + *patient.rev,
                    "Patient.rev");
    patient.id = previous->id;
    FHIRBRIDGE_RETURN_IF_ERROR(check_fhir_id_conflicts(s, patient));
    patient.rev = previous->rev;
    patient._type = icure::kPatientType;
    patient.created = previous->created;
    patient.modified = now_ms();
    if (!patient.responsible) patient.responsible = previous->responsible;
    if (!patient.author) patient.author = previous->author;
    icure::Patient sealed = patient;
    Directory dir(*this, s.auth);
    FHIRBRIDGE_RETURN_IF_ERROR(
        dir.explain(sealer.reseal_patient(dir, s.hcp_id, sealed, *previous)));
    auto stored = put_update(s, "patient", sealed, "Patient");
    if (!stored.ok()) return stored.status();
    if (previous_out) *previous_out = std::move(*previous);
    return reveal(std::move(patient), *stored);
  }

  Result<Deleted> delete_patient(const Session& s, const std::string& id,
                                 const std::optional<std::string>& rev,
                                 icure::Patient* previous_out = nullptr) {
    auto previous = visible_patient(s, id, false);
    if (!previous.ok()) return previous.status();
    if (rev && *rev != previous->rev.value_or(""))
      return Status(StatusCode::version_conflict,
                    "patient " + *previous->id + " is at rev " + previous->rev.value_or(""),
                    "Patient.rev");
    auto deleted = delete_one(s, "patient", *previous->id);
    if (deleted.ok() && previous_out) *previous_out = std::move(*previous);
    return deleted;
  }

  // ---- contacts ----------------------------------------------------------------------

  // Service rows of a service filter, as (contactId) list.
  Result<std::vector<std::string>> contact_ids_of_services(const Session& s,
                                                           const json::object& filter) {
    auto rows = filter_all(s, "/contact/service/filter", filter);
    if (!rows.ok()) return rows.status();
    std::vector<std::string> ids;
    for (const auto& row : *rows)
      if (const auto* o = row.if_object())
        if (const auto* c = o->if_contains("contactId"); c && c->is_string())
          if (std::find(ids.begin(), ids.end(), c->get_string()) == ids.end())
            ids.emplace_back(c->get_string());
    return ids;
  }

  json::object service_identifier_filter(const Session& s, json::array identifiers) {
    return json::object{{"$type", "ServiceByHcPartyIdentifiersFilter"},
                        {"healthcarePartyId", s.hcp_id},
                        {"identifiers", std::move(identifiers)}};
  }

  Result<std::optional<icure::Contact>> live_contact(const Session& s, const std::string& id) {
    auto got = call(s.auth, http::verb::get, "/contact/" + escape(id), nullptr, true);
    if (!got.ok()) {
      if (got.status().code() == StatusCode::not_found) return std::optional<icure::Contact>();
      return got.status();
    }
    auto c = entity_from<icure::Contact>(*got, "Contact");
    if (!c.ok()) return c.status();
    return std::optional(std::move(*c));
  }

  // The sealed contact by contact id, service id or service FHIR id.
  Result<icure::Contact> visible_contact(const Session& s, const std::string& id,
                                         bool report_deleted) {
    const Status missing = Status::NotFound("contact " + id + " not found");
    if (id.empty()) return missing;
    auto direct = live_contact(s, id);
    if (!direct.ok()) return direct.status();
    bool tombstone = false;
    if (*direct) {
      if (!(*direct)->deletionDate) {
        if (has_reader((*direct)->delegations, s.hcp_id)) return std::move(**direct);
        return missing;
      }
      tombstone = true;
    }
    // A service id (POST /contact/service/byIds, where the remote has it), or
    // a service's FHIR id (ServiceByHcPartyIdentifiersFilter).
    std::vector<std::string> contact_ids;
    {
      json::value body = json::object{{"ids", json::array{json::string(id)}}};
      auto services = call(s.auth, http::verb::post, "/contact/service/byIds", &body, true);
      if (services.ok() && services->is_array())
        for (const auto& row : services->get_array())
          if (const auto* o = row.if_object())
            if (const auto* c = o->if_contains("contactId"); c && c->is_string())
              contact_ids.emplace_back(c->get_string());
      // Any error here means "not supported by this remote": fall through.
    }
    if (contact_ids.empty()) {
      auto by_fhir = contact_ids_of_services(
          s, service_identifier_filter(
                 s, json::array{json::object{{"system", kFhirIdSystem}, {"value", id}}}));
      if (!by_fhir.ok()) return by_fhir.status();
      contact_ids = std::move(*by_fhir);
    }
    for (const auto& contact_id : contact_ids) {
      auto found = live_contact(s, contact_id);
      if (!found.ok()) return found.status();
      if (*found && !(*found)->deletionDate && has_reader((*found)->delegations, s.hcp_id))
        return std::move(**found);
    }
    if (tombstone && report_deleted)
      return Status(StatusCode::deleted, "contact " + id + " was deleted");
    return missing;
  }

  Status check_service_fhir_id_conflicts(const Session& s, const icure::Contact& contact) {
    if (!contact.services) return {};
    for (std::size_t i = 0; i < contact.services->size(); ++i) {
      for (const auto& value : fhir_ids_of((*contact.services)[i].identifier)) {
        auto ids = contact_ids_of_services(
            s, service_identifier_filter(
                   s, json::array{json::object{{"system", kFhirIdSystem}, {"value", value}}}));
        if (!ids.ok()) return ids.status();
        for (const auto& other : *ids)
          if (other != *contact.id)
            return Status::Conflict(
                "a service with FHIR id '" + value + "' already exists (contact " + other + ")",
                "Contact.services[" + std::to_string(i) + "].identifier");
      }
    }
    return {};
  }

  Result<std::string> contact_patient(const Session& s, const icure::Contact& sealed) {
    Directory dir(*this, s.auth);
    return dir.explain(sealer.contact_patient_id(dir, s.hcp_id, sealed));
  }

  void stamp_services(icure::Contact& contact, std::int64_t now) {
    if (contact.services)
      for (auto& service : *contact.services) {
        if (!service.id || service.id->empty()) service.id = new_id();
        if (!service.created) service.created = now;
        service.modified = now;
      }
  }

  Result<ContactRecord> create_contact(const Session& s, icure::Contact contact,
                                       const std::string& patient_id) {
    auto patient = visible_patient(s, patient_id, false);
    if (!patient.ok()) {
      Status st = patient.status();
      return Status(st.code(), st.message(), "patient_id");
    }
    if (!contact.id || contact.id->empty()) contact.id = new_id();
    const auto now = now_ms();
    stamp_services(contact, now);
    FHIRBRIDGE_RETURN_IF_ERROR(check_service_fhir_id_conflicts(s, contact));
    contact.rev.reset();
    contact._type = icure::kContactType;
    contact.created = contact.created.value_or(now);
    contact.modified = now;
    if (!contact.author && !s.user_id.empty()) contact.author = s.user_id;
    if (!contact.responsible) contact.responsible = s.hcp_id;
    if (!contact.healthcarePartyId) contact.healthcarePartyId = s.hcp_id;
    icure::Contact sealed = contact;
    Directory dir(*this, s.auth);
    FHIRBRIDGE_RETURN_IF_ERROR(
        dir.explain(sealer.seal_new_contact(dir, s.hcp_id, sealed, *patient)));
    auto stored = post_create(s, "contact", sealed, "Contact");
    if (!stored.ok()) return stored.status();
    return ContactRecord{reveal_contact(std::move(contact), *stored), *patient->id};
  }

  Result<ContactRecord> update_contact(const Session& s, icure::Contact contact,
                                       icure::Contact* previous_out = nullptr) {
    if (!contact.id || contact.id->empty())
      return Status::Invalid("Contact.id", "an update needs the contact's id");
    auto previous = visible_contact(s, *contact.id, false);
    if (!previous.ok()) return previous.status();
    if (*contact.id != *previous->id)
      return Status::NotFound("contact " + *contact.id + " not found");
    if (contact.rev && *contact.rev != previous->rev.value_or(""))
      return Status(StatusCode::version_conflict,
                    "contact " + *previous->id + " is at rev " + previous->rev.value_or("") +
                        ", not " + *contact.rev,
                    "Contact.rev");
    auto patient_id = contact_patient(s, *previous);
    if (!patient_id.ok()) return patient_id.status();
    const auto now = now_ms();
    stamp_services(contact, now);
    FHIRBRIDGE_RETURN_IF_ERROR(check_service_fhir_id_conflicts(s, contact));
    contact.rev = previous->rev;
    contact._type = icure::kContactType;
    contact.created = previous->created;
    contact.modified = now;
    if (!contact.responsible) contact.responsible = previous->responsible;
    if (!contact.author) contact.author = previous->author;
    if (!contact.healthcarePartyId) contact.healthcarePartyId = previous->healthcarePartyId;
    icure::Contact sealed = contact;
    Directory dir(*this, s.auth);
    FHIRBRIDGE_RETURN_IF_ERROR(
        dir.explain(sealer.reseal_contact(dir, s.hcp_id, sealed, *previous)));
    auto stored = put_update(s, "contact", sealed, "Contact");
    if (!stored.ok()) return stored.status();
    if (previous_out) *previous_out = std::move(*previous);
    return ContactRecord{reveal_contact(std::move(contact), *stored), *patient_id};
  }

  Result<Deleted> delete_contact(const Session& s, const std::string& id,
                                 const std::optional<std::string>& rev,
                                 icure::Contact* previous_out = nullptr) {
    auto previous = visible_contact(s, id, false);
    if (!previous.ok()) return previous.status();
    if (rev && *rev != previous->rev.value_or(""))
      return Status(StatusCode::version_conflict,
                    "contact " + *previous->id + " is at rev " + previous->rev.value_or(""),
                    "Contact.rev");
    auto deleted = delete_one(s, "contact", *previous->id);
    if (deleted.ok() && previous_out) *previous_out = std::move(*previous);
    return deleted;
  }

  // ---- queries -----------------------------------------------------------------------

  Result<std::vector<icure::Patient>> patient_rows(const Session& s, const json::object& filter) {
    auto rows = filter_all(s, "/patient/filter", filter);
    if (!rows.ok()) return rows.status();
    std::vector<icure::Patient> out;
    for (const auto& row : *rows) {
      auto p = entity_from<icure::Patient>(row, "Patient");
      if (!p.ok()) return p.status();
      if (!p->deletionDate) out.push_back(std::move(*p));
    }
    return out;
  }

  // Candidates from the most selective filter the remote understands.
  Result<std::vector<icure::Patient>> patient_candidates(const Session& s, const PatientQuery& q) {
    std::vector<icure::Patient> out;
    std::set<std::string> seen;
    auto add = [&](std::vector<icure::Patient> more) {
      for (auto& p : more)
        if (p.id && seen.insert(*p.id).second) out.push_back(std::move(p));
    };
    const json::string hcp(s.hcp_id);
    if (q.ids) {
      auto direct = by_ids<icure::Patient>(s, "patient", *q.ids, "Patient");
      if (!direct.ok()) return direct.status();
      add(std::move(*direct));
      json::array fhir_ids;
      for (const auto& id : *q.ids)
        fhir_ids.push_back(json::object{{"system", kFhirIdSystem}, {"value", id}});
      if (!fhir_ids.empty()) {
        auto by_fhir = patient_rows(s, {{"$type", "PatientByHcPartyAndIdentifiersFilter"},
                                        {"healthcarePartyId", hcp},
                                        {"identifiers", std::move(fhir_ids)}});
        if (!by_fhir.ok()) return by_fhir.status();
        add(std::move(*by_fhir));
      }
      return out;
    }
    for (const auto& any : q.identifiers)
      if (all_have_values(any)) {
        auto rows = patient_rows(s, {{"$type", "PatientByHcPartyAndIdentifiersFilter"},
                                     {"healthcarePartyId", hcp},
                                     {"identifiers", identifier_tokens(any)}});
        if (!rows.ok()) return rows.status();
        add(std::move(*rows));
        return out;
      }
    // Family/given words are contained in the clear name parts the fuzzy
    // filter searches (`names` may also hit prefix/suffix/text, which it
    // does not search: those go through the full list).
    for (const auto* conditions : {&q.family, &q.given})
      for (const auto& c : *conditions) {
        const bool usable =
            !c.any_of.empty() && std::none_of(c.any_of.begin(), c.any_of.end(),
                                              [](const std::string& t) { return t.empty(); });
        if (!usable) continue;
        for (const auto& text : c.any_of) {
          auto rows = patient_rows(s, {{"$type", "PatientByHcPartyNameContainsFuzzyFilter"},
                                       {"healthcarePartyId", hcp},
                                       {"searchString", text}});
          if (!rows.ok()) return rows.status();
          add(std::move(*rows));
        }
        return out;
      }
    auto all = patient_rows(s, {{"$type", "PatientByHcPartyFilter"}, {"healthcarePartyId", hcp}});
    if (!all.ok()) return all.status();
    add(std::move(*all));
    return out;
  }

  Result<Page<icure::Patient>> find_patients(const Session& s, const PatientQuery& q) {
    auto order = remote::resolve_patient_order(q.page.sort);
    if (!order.ok()) return order.status();
    if (q.ids && q.ids->empty()) return Page<icure::Patient>{};
    auto candidates = patient_candidates(s, q);
    if (!candidates.ok()) return candidates.status();
    std::vector<std::pair<remote::SortKeyValues, std::size_t>> keyed;
    for (std::size_t i = 0; i < candidates->size(); ++i) {
      const auto& p = (*candidates)[i];
      if (has_reader(p.delegations, s.hcp_id) && remote::patient_matches(p, q))
        keyed.emplace_back(remote::patient_sort_key(p, *order), i);
    }
    auto slice = remote::slice_page(std::move(keyed), *order, q.page);
    if (!slice.ok()) return slice.status();
    Page<icure::Patient> page;
    page.total = slice->total;
    page.next_cursor = slice->next_cursor;
    Directory dir(*this, s.auth);
    for (auto i : slice->indexes) {
      auto clear = dir.explain(sealer.unseal_patient(dir, s.hcp_id, (*candidates)[i]));
      if (!clear.ok()) return clear.status();
      page.items.push_back(std::move(*clear));
    }
    return page;
  }

  struct ContactCandidate {
    icure::Contact sealed;
    std::optional<std::string> patient_id;
  };

  Result<std::vector<ContactCandidate>> contacts_by_ids(const Session& s,
                                                        const std::vector<std::string>& ids) {
    auto got = by_ids<icure::Contact>(s, "contact", ids, "Contact");
    if (!got.ok()) return got.status();
    std::vector<ContactCandidate> out;
    for (auto& c : *got) out.push_back({std::move(c), std::nullopt});
    return out;
  }

  Result<std::vector<ContactCandidate>> contact_candidates(
      const Session& s, const ContactQuery& q,
      const std::optional<std::vector<icure::Patient>>& patients) {
    const json::string hcp(s.hcp_id);
    if (q.ids) {
      std::vector<std::string> ids = *q.ids;
      json::array fhir_ids;
      for (const auto& id : *q.ids)
        fhir_ids.push_back(json::object{{"system", kFhirIdSystem}, {"value", id}});
      auto via_services =
          contact_ids_of_services(s, service_identifier_filter(s, std::move(fhir_ids)));
      if (!via_services.ok()) return via_services.status();
      ids.insert(ids.end(), via_services->begin(), via_services->end());
      json::value body = json::object{{"ids", json::value_from(*q.ids)}};
      auto services = call(s.auth, http::verb::post, "/contact/service/byIds", &body, true);
      if (services.ok() && services->is_array())
        for (const auto& row : services->get_array())
          if (const auto* o = row.if_object())
            if (const auto* c = o->if_contains("contactId"); c && c->is_string())
              ids.emplace_back(c->get_string());
      std::sort(ids.begin(), ids.end());
      ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
      return contacts_by_ids(s, ids);
    }
    if (patients) {
      // byHcPartySecretForeignKeys: the patients' secret ids, in clear on contacts.
      std::map<std::string, std::string> patient_of_secret;
      Directory dir(*this, s.auth);
      for (const auto& p : *patients) {
        auto secrets = dir.explain(sealer.patient_secret_ids(dir, s.hcp_id, p));
        if (!secrets.ok()) return secrets.status();
        for (const auto& secret : *secrets) patient_of_secret[secret] = *p.id;
      }
      std::vector<ContactCandidate> out;
      if (patient_of_secret.empty()) return out;
      std::string keys;
      for (const auto& [secret, pid] : patient_of_secret)
        keys += (keys.empty() ? "" : ",") + secret;
      auto got = call(s.auth, http::verb::get,
                      "/contact/byHcPartySecretForeignKeys?hcPartyId=" + escape(s.hcp_id) +
                          "&secretFKeys=" + escape(keys),
                      nullptr, true);
      if (!got.ok()) return got.status();
      if (!got->is_array())
        return Status(StatusCode::unavailable, "remote byHcPartySecretForeignKeys: not an array");
      std::set<std::string> seen;
      for (const auto& row : got->get_array()) {
        auto c = entity_from<icure::Contact>(row, "Contact");
        if (!c.ok()) return c.status();
        if (c->deletionDate || !c->id || !seen.insert(*c->id).second) continue;
        std::optional<std::string> pid;
        if (c->secretForeignKeys)
          for (const auto& fk : *c->secretForeignKeys)
            if (auto it = patient_of_secret.find(fk); it != patient_of_secret.end())
              pid = it->second;
        out.push_back({std::move(*c), pid});
      }
      return out;
    }
    for (const auto& any : q.identifiers)
      if (all_have_values(any)) {
        auto ids = contact_ids_of_services(s, service_identifier_filter(s, identifier_tokens(any)));
        if (!ids.ok()) return ids.status();
        return contacts_by_ids(s, *ids);
      }
    for (const auto& [list, is_tag] : {std::pair{&q.codes, false}, std::pair{&q.tags, true}})
      for (const auto& any : *list) {
        const bool usable =
            !any.empty() && std::all_of(any.begin(), any.end(),
                                        [](const TokenFilter& t) { return t.system && t.value; });
        if (!usable) continue;
        std::vector<std::string> ids;
        for (const auto& t : any) {
          json::object filter{{"$type", "ServiceByHcPartyTagCodeDateFilter"},
                              {"healthcarePartyId", hcp}};
          filter[is_tag ? "tagType" : "codeType"] = *t.system;
          filter[is_tag ? "tagCode" : "codeCode"] = *t.value;
          auto more = contact_ids_of_services(s, filter);
          if (!more.ok()) return more.status();
          ids.insert(ids.end(), more->begin(), more->end());
        }
        std::sort(ids.begin(), ids.end());
        ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
        return contacts_by_ids(s, ids);
      }
    auto rows = filter_all(s, "/contact/filter",
                           {{"$type", "ContactByHcPartyFilter"}, {"healthcarePartyId", hcp}});
    if (!rows.ok()) return rows.status();
    std::vector<ContactCandidate> out;
    for (const auto& row : *rows) {
      auto c = entity_from<icure::Contact>(row, "Contact");
      if (!c.ok()) return c.status();
      if (!c->deletionDate) out.push_back({std::move(*c), std::nullopt});
    }
    return out;
  }

  Result<Page<ContactRecord>> find_contacts(const Session& s, const ContactQuery& q) {
    auto order = remote::resolve_contact_order(q.page.sort);
    if (!order.ok()) return order.status();
    if ((q.ids && q.ids->empty()) || (q.patient_ids && q.patient_ids->empty()))
      return Page<ContactRecord>{};
    // Patients named by store id or FHIR id, as the ones `who` can see.
    std::optional<std::vector<icure::Patient>> patients;
    std::optional<std::set<std::string>> patient_store_ids;
    if (q.patient_ids) {
      patients.emplace();
      patient_store_ids.emplace();
      for (const auto& id : *q.patient_ids) {
        auto p = visible_patient(s, id, false);
        if (!p.ok()) {
          if (p.status().code() == StatusCode::not_found) continue;
          return p.status();
        }
        if (patient_store_ids->insert(*p->id).second) patients->push_back(std::move(*p));
      }
      if (patients->empty()) return Page<ContactRecord>{};
    }
    auto candidates = contact_candidates(s, q, patients);
    if (!candidates.ok()) return candidates.status();
    std::vector<std::pair<remote::SortKeyValues, std::size_t>> keyed;
    for (std::size_t i = 0; i < candidates->size(); ++i) {
      auto& cand = (*candidates)[i];
      if (!has_reader(cand.sealed.delegations, s.hcp_id)) continue;
      if (patient_store_ids && !cand.patient_id) {
        auto pid = contact_patient(s, cand.sealed);
        if (!pid.ok()) return pid.status();
        cand.patient_id = *pid;
      }
      if (remote::contact_matches(cand.sealed, cand.patient_id.value_or(""), q, patient_store_ids))
        keyed.emplace_back(remote::contact_sort_key(cand.sealed, *order), i);
    }
    auto slice = remote::slice_page(std::move(keyed), *order, q.page);
    if (!slice.ok()) return slice.status();
    Page<ContactRecord> page;
    page.total = slice->total;
    page.next_cursor = slice->next_cursor;
    Directory dir(*this, s.auth);
    for (auto i : slice->indexes) {
      auto& cand = (*candidates)[i];
      if (!cand.patient_id) {
        auto pid = contact_patient(s, cand.sealed);
        if (!pid.ok()) return pid.status();
        cand.patient_id = *pid;
      }
      auto clear = dir.explain(sealer.unseal_contact(dir, s.hcp_id, cand.sealed));
      if (!clear.ok()) return clear.status();
      page.items.push_back(ContactRecord{std::move(*clear), *cand.patient_id});
    }
    return page;
  }
};

// ---- the public class --------------------------------------------------------------

Result<std::unique_ptr<RemoteStore>> RemoteStore::open(RemoteStoreOptions options,
                                                       crypto::Keychain& keychain) {
  remote::HttpClientOptions http_options;
  http_options.base_url = options.base_url;
  http_options.connect_timeout = options.connect_timeout;
  http_options.request_timeout = options.request_timeout;
  http_options.max_attempts = options.max_attempts;
  http_options.first_backoff = options.first_backoff;
  http_options.ca_file = options.ca_file;
  http_options.verify_tls = options.verify_tls;
  auto client = remote::HttpClient::create(std::move(http_options));
  if (!client.ok()) return client.status();
  if (options.max_attempts < 1) options.max_attempts = 1;
  if (options.fetch_page_size == 0) options.fetch_page_size = 1000;
  auto impl = std::make_unique<Impl>(std::move(options), keychain, std::move(*client));
  return std::unique_ptr<RemoteStore>(new RemoteStore(std::move(impl)));
}

RemoteStore::RemoteStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RemoteStore::~RemoteStore() = default;

std::size_t RemoteStore::connections_opened() const {
  return impl_->http->connections_opened();
}

Result<Principal> RemoteStore::authenticate(const std::string& login, const std::string& password) {
  const Status denied(StatusCode::unauthorized, "wrong login or password");
  if (login.empty()) return denied;
  const std::string auth = basic_header(login, password);
  auto got = impl_->call(auth, http::verb::get, "/user/current", nullptr, true);
  if (!got.ok()) {
    if (got.status().code() == StatusCode::unauthorized) return denied;
    return got.status();
  }
  auto user = entity_from<icure::User>(*got, "User");
  if (!user.ok()) return user.status();
  if (!user->healthcarePartyId || user->healthcarePartyId->empty())
    return Status(StatusCode::forbidden, "user '" + login + "' has no healthcare party");
  Principal who{*user->healthcarePartyId, user->id.value_or(login)};
  std::lock_guard lock(impl_->mutex);
  impl_->sessions[who.user_id + "\n" + who.hcp_id] =
      Impl::Session{login, auth, who.hcp_id, who.user_id};
  return who;
}

Result<icure::HealthcareParty> RemoteStore::get_healthcare_party(const std::string& id) {
  auto auth = impl_->any_auth(id);
  if (!auth.ok()) return auth.status();
  return impl_->hcp(*auth, id);
}

Result<icure::HealthcareParty> RemoteStore::put_healthcare_party(icure::HealthcareParty hcp) {
  if (!hcp.id || !hcp.rev)
    return Status(StatusCode::not_supported,
                  "healthcare parties are created on the remote, not through fhirbridge");
  auto auth = impl_->any_auth(*hcp.id);
  if (!auth.ok()) return auth.status();
  json::value body = to_wire(hcp);
  auto put = impl_->call(*auth, http::verb::put, "/hcparty", &body, true);
  if (!put.ok()) {
    if (put.status().code() == StatusCode::conflict)
      return Status(StatusCode::version_conflict, put.status().message(), "HealthcareParty.rev");
    return put.status();
  }
  auto stored = entity_from<icure::HealthcareParty>(*put, "HealthcareParty");
  if (stored.ok()) impl_->remember(*stored);
  return stored;
}

Result<icure::User> RemoteStore::get_user_by_login(const std::string& login) {
  std::string auth;
  {
    std::lock_guard lock(impl_->mutex);
    for (const auto& [key, s] : impl_->sessions)
      if (s.login == login) auth = s.auth;
  }
  if (auth.empty() && !impl_->options.login.empty() && impl_->options.login == login)
    auth = basic_header(impl_->options.login, impl_->options.password);
  if (auth.empty())
    return Status(StatusCode::not_supported,
                  "the remote backend only knows users that logged in through it");
  auto got = impl_->call(auth, http::verb::get, "/user/current", nullptr, true);
  if (!got.ok()) return got.status();
  auto user = entity_from<icure::User>(*got, "User");
  if (user.ok()) user->passwordHash.reset();
  return user;
}

Result<icure::User> RemoteStore::put_user(icure::User) {
  return Status(StatusCode::not_supported,
                "users are managed on the remote, not through fhirbridge");
}

#define FHIRBRIDGE_SESSION(who)                 \
  auto session_ = impl_->session_for(who);      \
  if (!session_.ok()) return session_.status(); \
  const Impl::Session& s = *session_

Result<icure::Patient> RemoteStore::create_patient(const Principal& who, icure::Patient patient) {
  FHIRBRIDGE_SESSION(who);
  return impl_->create_patient(s, std::move(patient));
}

Result<icure::Patient> RemoteStore::get_patient(const Principal& who, const std::string& id) {
  FHIRBRIDGE_SESSION(who);
  auto sealed = impl_->visible_patient(s, id, true);
  if (!sealed.ok()) return sealed.status();
  Impl::Directory dir(*impl_, s.auth);
  return dir.explain(impl_->sealer.unseal_patient(dir, s.hcp_id, *sealed));
}

Result<icure::Patient> RemoteStore::update_patient(const Principal& who, icure::Patient patient) {
  FHIRBRIDGE_SESSION(who);
  return impl_->update_patient(s, std::move(patient));
}

Result<Deleted> RemoteStore::delete_patient(const Principal& who, const std::string& id,
                                            const std::optional<std::string>& rev) {
  FHIRBRIDGE_SESSION(who);
  return impl_->delete_patient(s, id, rev);
}

Result<Page<icure::Patient>> RemoteStore::find_patients(const Principal& who,
                                                        const PatientQuery& query) {
  FHIRBRIDGE_SESSION(who);
  return impl_->find_patients(s, query);
}

Status RemoteStore::share_patient(const Principal& who, const std::string& patient_id,
                                  const std::string& delegate_hcp_id) {
  FHIRBRIDGE_SESSION(who);
  auto patient = impl_->visible_patient(s, patient_id, false);
  if (!patient.ok()) return patient.status();
  auto delegate = impl_->hcp(s.auth, delegate_hcp_id);
  if (!delegate.ok())
    return Status::NotFound("healthcare party " + delegate_hcp_id + " not found",
                            "delegate_hcp_id");
  Impl::Directory dir(*impl_, s.auth);
  if (!has_reader(patient->delegations, delegate_hcp_id)) {
    icure::Patient sealed = *patient;
    FHIRBRIDGE_RETURN_IF_ERROR(
        dir.explain(impl_->sealer.share_patient(dir, s.hcp_id, sealed, delegate_hcp_id)));
    auto stored = impl_->put_update(s, "patient", sealed, "Patient");
    if (!stored.ok()) return stored.status();
    patient = std::move(*stored);
  }
  // Its contacts that `who` can read follow (one PUT each: not atomic).
  ContactQuery query;
  query.patient_ids = std::vector<std::string>{*patient->id};
  std::optional<std::vector<icure::Patient>> patients(std::vector<icure::Patient>{*patient});
  auto contacts = impl_->contact_candidates(s, query, patients);
  if (!contacts.ok()) return contacts.status();
  for (auto& cand : *contacts) {
    if (!has_reader(cand.sealed.delegations, s.hcp_id) ||
        has_reader(cand.sealed.delegations, delegate_hcp_id))
      continue;
    icure::Contact sealed = cand.sealed;
    FHIRBRIDGE_RETURN_IF_ERROR(
        dir.explain(impl_->sealer.share_contact(dir, s.hcp_id, sealed, delegate_hcp_id)));
    auto stored = impl_->put_update(s, "contact", sealed, "Contact");
    if (!stored.ok()) return stored.status();
  }
  return {};
}

Result<ContactRecord> RemoteStore::create_contact(const Principal& who, icure::Contact contact,
                                                  const std::string& patient_id) {
  FHIRBRIDGE_SESSION(who);
  return impl_->create_contact(s, std::move(contact), patient_id);
}

Result<ContactRecord> RemoteStore::get_contact(const Principal& who, const std::string& id) {
  FHIRBRIDGE_SESSION(who);
  auto sealed = impl_->visible_contact(s, id, true);
  if (!sealed.ok()) return sealed.status();
  auto patient_id = impl_->contact_patient(s, *sealed);
  if (!patient_id.ok()) return patient_id.status();
  Impl::Directory dir(*impl_, s.auth);
  auto clear = dir.explain(impl_->sealer.unseal_contact(dir, s.hcp_id, *sealed));
  if (!clear.ok()) return clear.status();
  return ContactRecord{std::move(*clear), *patient_id};
}

Result<Deletion> RemoteStore::get_deletion(const Principal& who, EntityKind kind,
                                           const std::string& id) {
  FHIRBRIDGE_SESSION(who);
  const bool patient = kind == EntityKind::patient;
  const Status none =
      Status::NotFound((patient ? "patient " : "contact ") + id + ": no deletion known");
  if (id.empty()) return none;
  auto got = impl_->call(s.auth, http::verb::get,
                         (patient ? "/patient/" : "/contact/") + escape(id), nullptr, true);
  if (!got.ok()) return got.status().code() == StatusCode::not_found ? none : got.status();
  // Both entities carry what matters here (rev, deletionDate) alike. As for a
  // read, the remote decides who learns of a delete (ours answers a stub
  // without delegations to former readers only).
  auto trace = [&](const auto& e) -> Result<Deletion> {
    if (!e.ok()) return e.status();
    if (!e->deletionDate || !e->id || !e->rev) return none;
    return Deletion{*e->id, *e->rev, *e->deletionDate};
  };
  if (patient) return trace(entity_from<icure::Patient>(*got, "Patient"));
  return trace(entity_from<icure::Contact>(*got, "Contact"));
}

Result<ContactRecord> RemoteStore::update_contact(const Principal& who, icure::Contact contact) {
  FHIRBRIDGE_SESSION(who);
  return impl_->update_contact(s, std::move(contact));
}

Result<Deleted> RemoteStore::delete_contact(const Principal& who, const std::string& id,
                                            const std::optional<std::string>& rev) {
  FHIRBRIDGE_SESSION(who);
  return impl_->delete_contact(s, id, rev);
}

Result<Page<ContactRecord>> RemoteStore::find_contacts(const Principal& who,
                                                       const ContactQuery& query) {
  FHIRBRIDGE_SESSION(who);
  return impl_->find_contacts(s, query);
}

// ---- transactions -------------------------------------------------------------------
//
// iCure has no multi-entity transaction. 1) Validate every op against the
// remote and the ops before it (existence, visibility, revs, FHIR-id
// conflicts), so the common failures write nothing. 2) Apply in order.
// 3) If an op still fails (a concurrent writer, the remote going away), undo
// the ops already applied, newest first: delete what was created, PUT back
// the previous content of what was updated, re-create what was deleted. The
// undo is best effort (docs/remote.md): undone creates leave tombstones, and
// an undo that fails is reported in the error message.

Result<std::vector<WriteResult>> RemoteStore::apply(const Principal& who, const WriteBatch& batch) {
  FHIRBRIDGE_SESSION(who);
  Impl& impl = *impl_;
  auto at = [](std::size_t i, const Status& st) {
    return Status(st.code(), st.to_string(), "ops[" + std::to_string(i) + "]");
  };

  // 1) validation, on a copy of the ops (ids assigned now so later ops can use them).
  std::vector<WriteOp> ops = batch.ops;
  std::set<std::string> created_patients, created_contacts, gone;
  std::map<std::string, std::string> fhir_ids_in_batch;  // patient FHIR id -> patient id
  std::set<std::string> service_fhir_ids_in_batch;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    Status checked = std::visit(
        [&](auto& op) -> Status {
          using Op = std::decay_t<decltype(op)>;
          if constexpr (std::is_same_v<Op, CreatePatient>) {
            auto& p = op.patient;
            if (!p.id || p.id->empty()) p.id = impl.new_id();
            if (created_patients.count(*p.id))
              return Status::Conflict("patient " + *p.id + " is created twice", "Patient.id");
            auto got =
                impl.call(s.auth, http::verb::get, "/patient/" + escape(*p.id), nullptr, true);
            if (got.ok() && got->is_object() && !got->as_object().if_contains("deletionDate"))
              return Status::Conflict("patient " + *p.id + " already exists", "Patient.id");
            if (!got.ok() && got.status().code() != StatusCode::not_found) return got.status();
            FHIRBRIDGE_RETURN_IF_ERROR(impl.check_fhir_id_conflicts(s, p));
            for (const auto& f : fhir_ids_of(p.identifier))
              if (!fhir_ids_in_batch.emplace(f, *p.id).second)
                return Status::Conflict("two patients with FHIR id '" + f + "'",
                                        "Patient.identifier");
            created_patients.insert(*p.id);
            return {};
          } else if constexpr (std::is_same_v<Op, UpdatePatient> ||
                               std::is_same_v<Op, DeletePatient>) {
            std::string id;
            std::optional<std::string> rev;
            if constexpr (std::is_same_v<Op, UpdatePatient>) {
              if (!op.patient.id)
                return Status::Invalid("Patient.id", "an update needs the patient's id");
              id = *op.patient.id;
              rev = op.patient.rev;
            } else {
              id = op.id;
              rev = op.rev;
            }
            if (gone.count(id))
              return Status::NotFound("patient " + id + " is deleted earlier in the batch");
            if (created_patients.count(id)) {
              if constexpr (std::is_same_v<Op, DeletePatient>) gone.insert(id);
              return {};
            }
            auto previous = impl.visible_patient(s, id, false);
            if (!previous.ok()) return previous.status();
            if (rev && *rev != previous->rev.value_or(""))
              return Status(StatusCode::version_conflict,
                            "patient " + id + " is at rev " + previous->rev.value_or(""),
                            "Patient.rev");
            if constexpr (std::is_same_v<Op, DeletePatient>) {
              gone.insert(id);
              gone.insert(*previous->id);
            } else {
              FHIRBRIDGE_RETURN_IF_ERROR(impl.check_fhir_id_conflicts(s, op.patient));
            }
            return {};
          } else if constexpr (std::is_same_v<Op, CreateContact>) {
            auto& c = op.contact;
            if (!c.id || c.id->empty()) c.id = impl.new_id();
            if (created_contacts.count(*c.id))
              return Status::Conflict("contact " + *c.id + " is created twice", "Contact.id");
            const bool in_batch =
                created_patients.count(op.patient_id) || fhir_ids_in_batch.count(op.patient_id);
            if (gone.count(op.patient_id))
              return Status::NotFound(
                  "patient " + op.patient_id + " is deleted earlier in the batch", "patient_id");
            if (!in_batch) {
              auto patient = impl.visible_patient(s, op.patient_id, false);
              if (!patient.ok())
                return Status(patient.status().code(), patient.status().message(), "patient_id");
            }
            auto existing = impl.live_contact(s, *c.id);
            if (!existing.ok()) return existing.status();
            if (*existing && !(*existing)->deletionDate)
              return Status::Conflict("contact " + *c.id + " already exists", "Contact.id");
            FHIRBRIDGE_RETURN_IF_ERROR(impl.check_service_fhir_id_conflicts(s, c));
            if (c.services)
              for (const auto& service : *c.services)
                for (const auto& f : fhir_ids_of(service.identifier))
                  if (!service_fhir_ids_in_batch.insert(f).second)
                    return Status::Conflict("two services with FHIR id '" + f + "'",
                                            "Contact.services.identifier");
            created_contacts.insert(*c.id);
            return {};
          } else {
            std::string id;
            std::optional<std::string> rev;
            if constexpr (std::is_same_v<Op, UpdateContact>) {
              if (!op.contact.id)
                return Status::Invalid("Contact.id", "an update needs the contact's id");
              id = *op.contact.id;
              rev = op.contact.rev;
            } else {
              id = op.id;
              rev = op.rev;
            }
            if (gone.count(id))
              return Status::NotFound("contact " + id + " is deleted earlier in the batch");
            if (created_contacts.count(id)) {
              if constexpr (std::is_same_v<Op, DeleteContact>) gone.insert(id);
              return {};
            }
            auto previous = impl.visible_contact(s, id, false);
            if (!previous.ok()) return previous.status();
            if (rev && *rev != previous->rev.value_or(""))
              return Status(StatusCode::version_conflict,
                            "contact " + id + " is at rev " + previous->rev.value_or(""),
                            "Contact.rev");
            if constexpr (std::is_same_v<Op, DeleteContact>) {
              gone.insert(id);
              gone.insert(*previous->id);
            } else {
              FHIRBRIDGE_RETURN_IF_ERROR(impl.check_service_fhir_id_conflicts(s, op.contact));
            }
            return {};
          }
        },
        ops[i]);
    if (!checked.ok()) return at(i, checked);
  }

  // 2) apply, remembering how to undo.
  struct Undo {
    enum class Kind {
      delete_patient,
      delete_contact,
      restore_patient,
      restore_contact,
      recreate_patient,
      recreate_contact
    } kind;
    std::string id;
    icure::Patient patient;  // previous sealed version (restore/recreate)
    icure::Contact contact;
  };
  std::vector<Undo> undo;
  std::vector<WriteResult> results;
  std::optional<std::pair<std::size_t, Status>> failure;
  for (std::size_t i = 0; i < ops.size() && !failure; ++i) {
    Result<WriteResult> result = std::visit(
        [&](const auto& op) -> Result<WriteResult> {
          using Op = std::decay_t<decltype(op)>;
          if constexpr (std::is_same_v<Op, CreatePatient>) {
            auto r = impl.create_patient(s, op.patient);
            if (!r.ok()) return r.status();
            undo.push_back({Undo::Kind::delete_patient, *r->id, {}, {}});
            return WriteResult(std::move(*r));
          } else if constexpr (std::is_same_v<Op, UpdatePatient>) {
            icure::Patient previous;
            auto r = impl.update_patient(s, op.patient, &previous);
            if (!r.ok()) return r.status();
            undo.push_back({Undo::Kind::restore_patient, *r->id, std::move(previous), {}});
            undo.back().patient.rev = r->rev;
            return WriteResult(std::move(*r));
          } else if constexpr (std::is_same_v<Op, DeletePatient>) {
            icure::Patient previous;
            auto r = impl.delete_patient(s, op.id, op.rev, &previous);
            if (!r.ok()) return r.status();
            undo.push_back({Undo::Kind::recreate_patient, r->id, std::move(previous), {}});
            return WriteResult(std::move(*r));
          } else if constexpr (std::is_same_v<Op, CreateContact>) {
            auto r = impl.create_contact(s, op.contact, op.patient_id);
            if (!r.ok()) return r.status();
            undo.push_back({Undo::Kind::delete_contact, *r->contact.id, {}, {}});
            return WriteResult(std::move(*r));
          } else if constexpr (std::is_same_v<Op, UpdateContact>) {
            icure::Contact previous;
            auto r = impl.update_contact(s, op.contact, &previous);
            if (!r.ok()) return r.status();
            undo.push_back({Undo::Kind::restore_contact, *r->contact.id, {}, std::move(previous)});
            undo.back().contact.rev = r->contact.rev;
            return WriteResult(std::move(*r));
          } else {
            icure::Contact previous;
            auto r = impl.delete_contact(s, op.id, op.rev, &previous);
            if (!r.ok()) return r.status();
            undo.push_back({Undo::Kind::recreate_contact, r->id, {}, std::move(previous)});
            return WriteResult(std::move(*r));
          }
        },
        ops[i]);
    if (!result.ok())
      failure.emplace(i, result.status());
    else
      results.push_back(std::move(*result));
  }
  if (!failure) return results;

  // 3) undo, newest first.
  std::string undo_errors;
  for (auto it = undo.rbegin(); it != undo.rend(); ++it) {
    Status st;
    switch (it->kind) {
      case Undo::Kind::delete_patient: st = impl.delete_one(s, "patient", it->id).status(); break;
      case Undo::Kind::delete_contact: st = impl.delete_one(s, "contact", it->id).status(); break;
      case Undo::Kind::restore_patient:
        st = impl.put_update(s, "patient", it->patient, "Patient").status();
        break;
      case Undo::Kind::restore_contact:
        st = impl.put_update(s, "contact", it->contact, "Contact").status();
        break;
      case Undo::Kind::recreate_patient: {
        icure::Patient again = it->patient;
        again.rev.reset();
        st = impl.post_create(s, "patient", again, "Patient").status();
        break;
      }
      case Undo::Kind::recreate_contact: {
        icure::Contact again = it->contact;
        again.rev.reset();
        st = impl.post_create(s, "contact", again, "Contact").status();
        break;
      }
    }
    if (!st.ok()) undo_errors += (undo_errors.empty() ? "" : "; ") + it->id + ": " + st.message();
  }
  Status st = failure->second;
  std::string message = st.to_string();
  if (!undo_errors.empty())
    message += " (the batch was only partly undone on the remote: " + undo_errors + ")";
  return Status(st.code(), message, "ops[" + std::to_string(failure->first) + "]");
}

#undef FHIRBRIDGE_SESSION

}  // namespace fhirbridge::storage
