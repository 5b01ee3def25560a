// In-memory evaluation of store queries for the remote backend (see
// remote_query.hpp); each rule mirrors a SQL fragment of sqlite_query.cpp.
#include "remote_query.hpp"

#include <boost/json.hpp>

#include <algorithm>

#include "fhirbridge/crypto/primitives.hpp"
#include "fhirbridge/storage/text_fold.hpp"

namespace fhirbridge::storage::remote {

namespace json = boost::json;

namespace {

// ---- conditions ---------------------------------------------------------------

bool token_hit(const AnyOf& any, const std::string& system, const std::string& value) {
  return std::any_of(any.begin(), any.end(), [&](const TokenFilter& t) {
    return (!t.value || *t.value == value) && (!t.system || *t.system == system);
  });
}

// Identifiers without a value are not indexed by SQLite, so never match.
bool identifiers_hit(const AnyOf& any, const std::optional<std::vector<icure::Identifier>>& ids) {
  if (!ids) return false;
  return std::any_of(ids->begin(), ids->end(), [&](const icure::Identifier& i) {
    return i.value && token_hit(any, i.system.value_or(""), *i.value);
  });
}

bool stubs_hit(const AnyOf& any, const icure::CodeStubs& stubs) {
  if (!stubs) return false;
  return std::any_of(stubs->begin(), stubs->end(), [&](const icure::CodeStub& s) {
    return token_hit(any, s.type.value_or(""), s.code.value_or(""));
  });
}

bool has_fhir_id(const std::optional<std::vector<icure::Identifier>>& ids,
                 const std::vector<std::string>& wanted) {
  if (!ids) return false;
  return std::any_of(ids->begin(), ids->end(), [&](const icure::Identifier& i) {
    return i.system == kFhirIdSystem && i.value &&
           std::find(wanted.begin(), wanted.end(), *i.value) != wanted.end();
  });
}

// An identifier with a value other than the FHIR-id one (which is the
// resource's id): what SqliteStore indexes.
bool has_business_identifier(const std::optional<std::vector<icure::Identifier>>& ids) {
  return ids && std::any_of(ids->begin(), ids->end(), [](const icure::Identifier& i) {
           return i.value && i.system.value_or("") != kFhirIdSystem;
         });
}

std::int64_t normalize_contact_date(std::int64_t date) {
  return date < 100000000 ? date * 1000000 : date;
}

bool date_hit(const DateCondition& d, std::optional<std::int64_t> value, bool contact_dates) {
  if (!value) return false;  // a missing date matches neither the range nor its negation
  return d.matches(*value, [&](std::int64_t v, bool high) {
    if (contact_dates && v < 100000000) v = v * 1000000 + (high ? 235959 : 0);
    return v;
  });
}

// The name index of a patient: (field, token, whole) as write_patient builds it.
struct NameToken {
  std::string field, token;
  bool whole;
};

std::vector<NameToken> name_tokens(const icure::Patient& p) {
  std::vector<NameToken> tokens;
  auto add_part = [&](const char* field, const std::optional<std::string>& part) {
    if (!part || part->empty()) return;
    std::string folded = fold_text(*part);
    tokens.push_back({field, folded, true});
    for (auto& word : fold_words(folded))
      if (word != folded) tokens.push_back({field, std::move(word), false});
  };
  add_part("family", p.lastName);
  add_part("given", p.firstName);
  if (p.names)
    for (const auto& name : *p.names) {
      add_part("family", name.lastName);
      if (name.firstNames)
        for (const auto& given : *name.firstNames) add_part("given", given);
      if (name.prefix)
        for (const auto& x : *name.prefix) add_part("other", x);
      if (name.suffix)
        for (const auto& x : *name.suffix) add_part("other", x);
      add_part("other", name.text);
    }
  return tokens;
}

bool text_hit(const TextCondition& c, const std::vector<NameToken>& tokens, const char* field) {
  for (const auto& text : c.any_of) {
    const std::string folded = fold_text(text);
    for (const auto& t : tokens) {
      if (field && t.field != field) continue;
      switch (c.match) {
        case TextMatch::prefix:
          if (t.token.compare(0, folded.size(), folded) == 0) return true;
          break;
        case TextMatch::exact:
          if (t.whole && t.token == folded) return true;
          break;
        case TextMatch::contains:
          if (t.whole && t.token.find(folded) != std::string::npos) return true;
          break;
      }
    }
  }
  return false;
}

// The contact_date rows of a contact (write_contact).
std::vector<std::int64_t> contact_dates(const icure::Contact& c) {
  std::vector<std::int64_t> dates;
  if (c.services)
    for (const auto& s : *c.services) {
      auto date = s.valueDate ? s.valueDate : s.openingDate ? s.openingDate : c.openingDate;
      if (date) dates.push_back(normalize_contact_date(*date));
    }
  if ((!c.services || c.services->empty()) && c.openingDate)
    dates.push_back(normalize_contact_date(*c.openingDate));
  return dates;
}

// ---- order ------------------------------------------------------------------------

Result<ResolvedOrder> resolve_order(const std::vector<SortKey>& requested,
                                    const std::vector<std::string>& fields) {
  std::vector<SortKey> sort = requested;
  if (sort.empty()) sort = {{"_lastUpdated", false}};
  ResolvedOrder out;
  bool has_id = false;
  for (const auto& key : sort) {
    if (std::find(fields.begin(), fields.end(), key.field) == fields.end())
      return Status(StatusCode::invalid, "cannot sort on '" + key.field + "'", "page.sort");
    out.keys.emplace_back(key.field, key.descending);
    out.spec += key.field + (key.descending ? ":desc," : ":asc,");
    if (key.field == "_id") {
      has_id = true;
      break;
    }
  }
  if (!has_id) {
    out.keys.emplace_back("_id", false);
    out.spec += "_id:asc";
  }
  return out;
}

int compare(const KeyValue& a, const KeyValue& b) {
  if (a.index() != b.index()) return a.index() < b.index() ? -1 : 1;
  if (const auto* i = std::get_if<std::int64_t>(&a)) {
    const auto j = std::get<std::int64_t>(b);
    return *i < j ? -1 : *i > j ? 1 : 0;
  }
  const int c = std::get<std::string>(a).compare(std::get<std::string>(b));
  return c < 0 ? -1 : c > 0 ? 1 : 0;
}

// <0 when `a` comes first in `order`.
int compare_keys(const SortKeyValues& a, const SortKeyValues& b, const ResolvedOrder& order) {
  for (std::size_t k = 0; k < order.keys.size() && k < a.size() && k < b.size(); ++k) {
    int c = compare(a[k], b[k]);
    if (c != 0) return order.keys[k].second ? -c : c;
  }
  return 0;
}

std::string encode_cursor(const ResolvedOrder& order, const SortKeyValues& key) {
  json::array values;
  for (const auto& v : key) {
    if (const auto* i = std::get_if<std::int64_t>(&v))
      values.emplace_back(*i);
    else
      values.emplace_back(json::string(std::get<std::string>(v)));
  }
  const std::string text = json::serialize(json::object{{"s", order.spec}, {"k", values}});
  return crypto::to_hex(reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
}

Result<SortKeyValues> decode_cursor(const ResolvedOrder& order, const std::string& cursor) {
  const Status bad(StatusCode::invalid, "the paging cursor is not valid for this search",
                   "page.cursor");
  auto bytes = crypto::from_hex(cursor);
  if (!bytes.ok()) return bad;
  boost::system::error_code ec;
  json::value jv = json::parse(
      json::string_view(reinterpret_cast<const char*>(bytes->data()), bytes->size()), ec);
  if (ec || !jv.is_object()) return bad;
  const auto& o = jv.get_object();
  const auto* spec = o.if_contains("s");
  const auto* keys = o.if_contains("k");
  if (!spec || !spec->is_string() || spec->get_string() != order.spec || !keys ||
      !keys->is_array() || keys->get_array().size() != order.keys.size())
    return bad;
  SortKeyValues values;
  for (const auto& k : keys->get_array()) {
    if (k.is_int64())
      values.emplace_back(k.get_int64());
    else if (k.is_string())
      values.emplace_back(std::string(k.get_string()));
    else
      return bad;
  }
  return values;
}

}  // namespace

bool patient_matches(const icure::Patient& p, const PatientQuery& q) {
  if (q.ids) {
    const bool by_id = std::find(q.ids->begin(), q.ids->end(), p.id.value_or("")) != q.ids->end();
    if (!by_id && !has_fhir_id(p.identifier, *q.ids)) return false;
  }
  for (const auto& any : q.identifiers)
    if (!identifiers_hit(any, p.identifier)) return false;
  if (!q.names.empty() || !q.family.empty() || !q.given.empty()) {
    const auto tokens = name_tokens(p);
    for (const auto& c : q.names)
      if (!text_hit(c, tokens, nullptr)) return false;
    for (const auto& c : q.family)
      if (!text_hit(c, tokens, "family")) return false;
    for (const auto& c : q.given)
      if (!text_hit(c, tokens, "given")) return false;
  }
  for (const auto& genders : q.genders)
    if (!p.gender || std::find(genders.begin(), genders.end(), *p.gender) == genders.end())
      return false;
  for (const auto& d : q.birth_dates)
    if (!date_hit(d, p.dateOfBirth, false)) return false;
  if (q.active && p.active.value_or(true) != *q.active) return false;  // iCure: absent = active
  for (const auto& d : q.last_updated)
    if (!date_hit(d, p.modified, false)) return false;
  for (const auto& [element, missing] : q.presence) {
    bool present = false;
    switch (element) {
      case PatientElement::gender: present = p.gender.has_value(); break;
      case PatientElement::birth_date: present = p.dateOfBirth.has_value(); break;
      case PatientElement::identifier: present = has_business_identifier(p.identifier); break;
      case PatientElement::name:
      case PatientElement::family:
      case PatientElement::given: {
        const char* field = element == PatientElement::family  ? "family"
                            : element == PatientElement::given ? "given"
                                                               : nullptr;
        const auto tokens = name_tokens(p);
        present = std::any_of(tokens.begin(), tokens.end(), [&](const NameToken& t) {
          return field ? t.field == field : t.field != "pair";
        });
        break;
      }
    }
    if (present == missing) return false;
  }
  return true;
}

bool contact_matches(const icure::Contact& c, const std::string& patient_id, const ContactQuery& q,
                     const std::optional<std::set<std::string>>& patient_store_ids) {
  static const std::vector<icure::Service> no_services;
  const auto& services = c.services ? *c.services : no_services;
  if (q.ids) {
    bool hit = std::find(q.ids->begin(), q.ids->end(), c.id.value_or("")) != q.ids->end();
    for (const auto& s : services) {
      if (hit) break;
      hit = (s.id && std::find(q.ids->begin(), q.ids->end(), *s.id) != q.ids->end()) ||
            has_fhir_id(s.identifier, *q.ids);
    }
    if (!hit) return false;
  }
  if (patient_store_ids && !patient_store_ids->count(patient_id)) return false;
  for (const auto& any : q.identifiers)
    if (std::none_of(services.begin(), services.end(),
                     [&](const icure::Service& s) { return identifiers_hit(any, s.identifier); }))
      return false;
  for (const auto& any : q.codes)
    if (std::none_of(services.begin(), services.end(),
                     [&](const icure::Service& s) { return stubs_hit(any, s.codes); }))
      return false;
  for (const auto& any : q.tags)
    if (std::none_of(services.begin(), services.end(),
                     [&](const icure::Service& s) { return stubs_hit(any, s.tags); }))
      return false;
  if (!q.dates.empty()) {
    const auto dates = contact_dates(c);
    for (const auto& d : q.dates)
      if (std::none_of(dates.begin(), dates.end(),
                       [&](std::int64_t v) { return date_hit(d, v, true); }))
        return false;
  }
  for (const auto& d : q.last_updated)
    if (!date_hit(d, c.modified, false)) return false;
  for (const auto& [element, missing] : q.presence) {
    bool present = false;
    switch (element) {
      case ContactElement::date: present = !contact_dates(c).empty(); break;
      case ContactElement::code:
        present = std::any_of(services.begin(), services.end(),
                              [](const icure::Service& s) { return s.codes && !s.codes->empty(); });
        break;
      case ContactElement::identifier:
        present = std::any_of(services.begin(), services.end(), [](const icure::Service& s) {
          return has_business_identifier(s.identifier);
        });
        break;
    }
    if (present == missing) return false;
  }
  return true;
}

Result<ResolvedOrder> resolve_patient_order(const std::vector<SortKey>& sort) {
  return resolve_order(sort, {"family", "given", "birthdate", "gender", "_lastUpdated", "_id"});
}
Result<ResolvedOrder> resolve_contact_order(const std::vector<SortKey>& sort) {
  return resolve_order(sort, {"date", "code", "status", "_lastUpdated", "_id"});
}

SortKeyValues patient_sort_key(const icure::Patient& p, const ResolvedOrder& order) {
  SortKeyValues out;
  for (const auto& [field, descending] : order.keys) {
    if (field == "family") {
      std::string family = p.lastName ? fold_text(*p.lastName) : "";
      if (family.empty() && p.names)
        for (const auto& n : *p.names)
          if (n.lastName) {
            family = fold_text(*n.lastName);
            break;
          }
      out.emplace_back(family);
    } else if (field == "given") {
      std::string given = p.firstName ? fold_text(*p.firstName) : "";
      if (given.empty() && p.names)
        for (const auto& n : *p.names)
          if (n.firstNames && !n.firstNames->empty()) {
            given = fold_text(n.firstNames->front());
            break;
          }
      out.emplace_back(given);
    } else if (field == "birthdate") {
      out.emplace_back(p.dateOfBirth.value_or(0));
    } else if (field == "gender") {
      out.emplace_back(p.gender.value_or(""));
    } else if (field == "_lastUpdated") {
      out.emplace_back(p.modified.value_or(0));
    } else {
      out.emplace_back(p.id.value_or(""));
    }
  }
  return out;
}

SortKeyValues contact_sort_key(const icure::Contact& c, const ResolvedOrder& order) {
  SortKeyValues out;
  for (const auto& [field, descending] : order.keys) {
    if (field == "date") {
      auto dates = contact_dates(c);
      out.emplace_back(dates.empty() ? 0 : *std::min_element(dates.begin(), dates.end()));
    } else if (field == "code") {
      std::string code;
      if (c.services && !c.services->empty()) {
        const auto& first = c.services->front();
        if (first.codes && !first.codes->empty())
          code =
              first.codes->front().type.value_or("") + "|" + first.codes->front().code.value_or("");
      }
      out.emplace_back(code);
    } else if (field == "status") {
      std::int64_t status = 0;
      if (c.services && !c.services->empty()) status = c.services->front().status.value_or(0);
      out.emplace_back(status);
    } else if (field == "_lastUpdated") {
      out.emplace_back(c.modified.value_or(0));
    } else {
      out.emplace_back(c.id.value_or(""));
    }
  }
  return out;
}

Result<PageSlice> slice_page(std::vector<std::pair<SortKeyValues, std::size_t>> keyed,
                             const ResolvedOrder& order, const PageRequest& page) {
  PageSlice out;
  out.total = static_cast<std::int64_t>(keyed.size());
  if (page.limit == 0) return out;
  std::optional<SortKeyValues> after;
  if (page.cursor) {
    auto decoded = decode_cursor(order, *page.cursor);
    if (!decoded.ok()) return decoded.status();
    after = std::move(*decoded);
  }
  std::sort(keyed.begin(), keyed.end(), [&](const auto& a, const auto& b) {
    return compare_keys(a.first, b.first, order) < 0;
  });
  const SortKeyValues* last_key = nullptr;
  for (const auto& [key, index] : keyed) {
    if (after && compare_keys(key, *after, order) <= 0) continue;
    if (out.indexes.size() == page.limit) {  // one more row: there is a next page
      out.next_cursor = encode_cursor(order, *last_key);
      break;
    }
    out.indexes.push_back(index);
    last_key = &key;
  }
  return out;
}

}  // namespace fhirbridge::storage::remote
