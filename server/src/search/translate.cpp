// FHIR search parameters -> PatientPlan / ContactPlan (see detail/search_plan.hpp).
// Tokens are translated exactly as the mappings store them (code_systems.hpp,
// fhir_dates.hpp), so a value found by a read is found by a search.
#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "fhirbridge/mapping/code_systems.hpp"
#include "fhirbridge/mapping/fhir_dates.hpp"
#include "fhirbridge/server/detail/search_plan.hpp"

namespace fhirbridge::server::detail {
namespace {

using storage::AnyOf;
using storage::DateCondition;
using storage::TextCondition;
using storage::TextMatch;
using storage::TokenFilter;

// Printable ASCII only, for messages (names/values may be arbitrary bytes).
std::string printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 80)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  return out;
}

std::string written_name(const QueryParam& p) {
  return p.modifier.empty() ? p.name : p.name + ":" + p.modifier;
}

constexpr std::array<std::string_view, 7> kIcureGenders{
    "male", "female", "indeterminate", "changed", "changedToMale", "changedToFemale", "unknown"};
constexpr std::array<std::string_view, 8> kObservationStatuses{
    "registered", "preliminary",      "final",  "amended", "corrected",
    "cancelled",  "entered-in-error", "unknown"};
constexpr std::string_view kGenderSystem = "http://hl7.org/fhir/administrative-gender";

constexpr std::array<std::string_view, 6> kPatientSorts{"family", "given",        "birthdate",
                                                        "gender", "_lastUpdated", "_id"};
constexpr std::array<std::string_view, 5> kObservationSorts{"date", "code", "status",
                                                            "_lastUpdated", "_id"};

template <std::size_t N>
bool contains(const std::array<std::string_view, N>& a, std::string_view v) {
  return std::find(a.begin(), a.end(), v) != a.end();
}

// FHIR's search prefixes, shared by dates and quantities.
constexpr std::array<std::pair<std::string_view, Comparator>, 9> kPrefixes{
    {{"eq", Comparator::eq},
     {"ne", Comparator::ne},
     {"lt", Comparator::lt},
     {"gt", Comparator::gt},
     {"le", Comparator::le},
     {"ge", Comparator::ge},
     {"sa", Comparator::sa},
     {"eb", Comparator::eb},
     {"ap", Comparator::ap}}};

// Takes the prefix off `text` (none: eq). Dates and numbers start with a digit or a
// sign, so a leading letter is a prefix or a mistake, never part of the value.
Result<Comparator> take_prefix(const std::string& path, std::string_view whole,
                               std::string_view& text, std::string_view what) {
  if (text.empty() || !std::isalpha(static_cast<unsigned char>(text[0]))) return Comparator::eq;
  auto it = std::find_if(kPrefixes.begin(), kPrefixes.end(),
                         [&](const auto& e) { return e.first == text.substr(0, 2); });
  if (it == kPrefixes.end()) {
    return Status::Invalid(path, "'" + printable(whole) + "' does not start with a " +
                                     std::string(what) +
                                     " or a prefix (eq, ne, lt, gt, le, ge, sa, eb, ap)");
  }
  text.remove_prefix(2);
  return it->second;
}

// How a parameter was handled: consumed, not a parameter of this resource, or
// understood but ignored (lenient mode, already warned about).
enum class Handled { yes, unknown, ignored };

// Collects warnings / unknowns while translating one search (and its nested
// chained / _has parameters, which report under their full written name).
struct Translator {
  const SearchOptions& options;
  std::string_view resource_type;  // Patient / Observation
  std::vector<std::string> warnings;
  std::vector<std::string> warning_paths;

  void warn(const std::string& path, std::string message) {
    warning_paths.push_back(printable(path));
    warnings.push_back(std::move(message));
  }

  Status unknown(const std::string& name) {
    if (options.strict)
      return Status::Invalid(name, "unknown search parameter '" + printable(name) + "'");
    warn(name, "unknown search parameter '" + printable(name) + "' ignored");
    return Status::Ok();
  }

  static Status bad_modifier(const std::string& path, const std::string& modifier) {
    return Status::Invalid(path, "modifier ':" + printable(modifier) + "' is not supported here");
  }

  // ---- value parsers -------------------------------------------------------

  // "system|code", "code", "system|", "|code". `no_system` is true for "|code".
  struct Token {
    std::optional<std::string> system, code;
    bool no_system = false;
  };
  static Token parse_token(const std::string& text) {
    Token t;
    std::size_t bar = std::string::npos;
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '\\') {
        ++i;
        continue;
      }
      if (text[i] == '|') {
        bar = i;
        break;
      }
    }
    auto unescape = [](std::string_view s) {
      std::string out;
      for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 1 < s.size()) ++i;
        out.push_back(s[i]);
      }
      return out;
    };
    if (bar == std::string::npos) {
      t.code = unescape(text);
      return t;
    }
    std::string system = unescape(std::string_view(text).substr(0, bar));
    std::string code = unescape(std::string_view(text).substr(bar + 1));
    if (system.empty())
      t.no_system = true;
    else
      t.system = system;
    if (!code.empty()) t.code = code;
    return t;
  }

  // Identifier tokens keep the system as written (Identifier.system is a URI
  // in both models). "|value" = no system: stored as the empty system (the
  // tutorial's identifiers have "system": "").
  static AnyOf identifier_tokens(const std::string& value) {
    AnyOf any;
    for (const auto& part : split_or(value)) {
      Token t = parse_token(part);
      any.push_back(TokenFilter{t.no_system ? std::optional<std::string>("") : t.system, t.code});
    }
    return any;
  }

  // Coding tokens: the system becomes CodeStub.type via the shared table.
  static AnyOf coding_tokens(const std::string& value) {
    AnyOf any;
    for (const auto& part : split_or(value)) any.push_back(coding_token(parse_token(part)));
    return any;
  }
  static TokenFilter coding_token(const Token& t) {
    std::optional<std::string> type;
    if (t.no_system)
      type = mapping::icure_code_type("");
    else if (t.system)
      type = mapping::icure_code_type(*t.system);
    return TokenFilter{type, t.code};
  }

  // The inclusive range a date stands for, on the scale of the stored column.
  using DateRange = std::pair<std::int64_t, std::int64_t> (*)(const mapping::FhirDateTime&);
  static std::pair<std::int64_t, std::int64_t> fuzzy_date_range(const mapping::FhirDateTime& d) {
    return mapping::icure_range(d, 8);  // YYYYMMDD (birth dates)
  }
  static std::pair<std::int64_t, std::int64_t> date_time_range(const mapping::FhirDateTime& d) {
    return mapping::icure_range(d, 14);  // YYYYMMDDhhmmss (service and contact dates)
  }

  // Dates with optional prefixes, comma-separated (OR) -> one DateCondition
  // (its alternatives hold the other ranges) on the scale of `range`.
  static Result<DateCondition> date_condition(const std::string& path, const std::string& value,
                                              DateRange range) {
    auto parts = split_or(value);
    if (parts.empty()) return Status::Invalid(path, "'" + printable(value) + "' is not a date");
    auto first = date_part(path, parts.front(), range);
    if (!first) return first.status();
    for (std::size_t i = 1; i < parts.size(); ++i) {
      auto other = date_part(path, parts[i], range);
      if (!other) return other.status();
      first->alternatives.push_back(std::move(*other));
    }
    return first;
  }
  static Result<DateCondition> date_part(const std::string& path, const std::string& part,
                                         DateRange range) {
    std::string_view text = part;
    auto prefix = take_prefix(path, part, text, "date");
    if (!prefix) return prefix.status();
    auto parsed = mapping::parse_fhir_date_time(text, path);
    // Our own message: the engine's echoes the raw bytes, which may not be UTF-8.
    if (!parsed) return Status::Invalid(path, "'" + printable(part) + "' is not a date");
    auto [lo, hi] = range(*parsed);
    DateCondition c;
    switch (*prefix) {
      case Comparator::eq:
      case Comparator::ap: c.lo = lo, c.hi = hi; break;
      case Comparator::ne: c.lo = lo, c.hi = hi, c.negate = true; break;
      case Comparator::lt:
      case Comparator::eb: c.hi = lo - 1; break;
      case Comparator::gt:
      case Comparator::sa: c.lo = hi + 1; break;
      case Comparator::le: c.hi = hi; break;
      case Comparator::ge: c.lo = lo; break;
    }
    return c;
  }

  static Result<TextCondition> text_condition(const std::string& path, const QueryParam& p) {
    TextCondition c;
    if (p.modifier.empty())
      c.match = TextMatch::prefix;
    else if (p.modifier == "exact")
      c.match = TextMatch::exact;
    else if (p.modifier == "contains")
      c.match = TextMatch::contains;
    else
      return bad_modifier(path, p.modifier);
    c.any_of = split_or(p.value);
    return c;
  }

  static Result<bool> boolean(const std::string& path, const std::string& value) {
    Token t = parse_token(value);
    if (t.code == "true") return true;
    if (t.code == "false") return false;
    return Status::Invalid(path, "'" + printable(value) + "' is not true or false");
  }

  // "Patient/x", "x", "http://host/fhir/Patient/x" -> "x". Other resource types
  // cannot be an Observation subject we store: nullopt.
  static std::optional<std::string> patient_reference_id(const std::string& ref) {
    std::string_view r = ref;
    if (auto hist = r.find("/_history/"); hist != std::string_view::npos) r = r.substr(0, hist);
    auto slash = r.rfind('/');
    if (slash == std::string_view::npos) return std::string(r);
    std::string_view type = r.substr(0, slash);
    if (auto prev = type.rfind('/'); prev != std::string_view::npos) type = type.substr(prev + 1);
    if (type != "Patient") return std::nullopt;
    return std::string(r.substr(slash + 1));
  }

  // ---- Patient ---------------------------------------------------------------

  // name:missing=true|false, on the parameters whose element the store indexes.
  template <typename Element, std::size_t N>
  static Result<Handled> presence_param(
      std::vector<storage::Presence<Element>>& presence,
      const std::array<std::pair<std::string_view, Element>, N>& elements, const QueryParam& p,
      const std::string& path) {
    for (const auto& [name, element] : elements) {
      if (name != p.name) continue;
      auto missing = boolean(path, p.value);
      if (!missing) return missing.status();
      presence.push_back({element, *missing});
      return Handled::yes;
    }
    return bad_modifier(path, p.modifier);
  }

  Result<Handled> patient_param(PatientPlan& plan, const QueryParam& p, const std::string& path) {
    auto& q = plan.query;
    const std::string& n = p.name;
    if (auto handled = content_filter("Patient", plan.element_filters, p, path)) return *handled;
    if (p.modifier == "missing" && n.rfind("_has:", 0) != 0) {
      using storage::PatientElement;
      static constexpr std::array<std::pair<std::string_view, PatientElement>, 6> kElements{
          {{"gender", PatientElement::gender},
           {"birthdate", PatientElement::birth_date},
           {"identifier", PatientElement::identifier},
           {"name", PatientElement::name},
           {"family", PatientElement::family},
           {"given", PatientElement::given}}};
      return presence_param(q.presence, kElements, p, path);
    }
    if (n == "_id") {
      if (!p.modifier.empty()) return bad_modifier(path, p.modifier);
      plan.id_or_fhir_id.push_back(split_or(p.value));
    } else if (n == "identifier") {
      if (!p.modifier.empty()) return bad_modifier(path, p.modifier);
      q.identifiers.push_back(identifier_tokens(p.value));
    } else if (n == "name" || n == "family" || n == "given") {
      auto c = text_condition(path, p);
      if (!c) return c.status();
      (n == "name" ? q.names : n == "family" ? q.family : q.given).push_back(std::move(*c));
    } else if (n == "gender") {
      if (!p.modifier.empty() && p.modifier != "not") return bad_modifier(path, p.modifier);
      std::set<std::string> wanted;  // iCure values
      for (const auto& part : split_or(p.value)) {
        Token t = parse_token(part);
        if ((t.system && *t.system != kGenderSystem) || !t.code ||
            !mapping::icure_gender(*t.code)) {
          return Status::Invalid(path, "'" + printable(part) + "' is not an administrative gender");
        }
        // Every iCure gender that reads back as this FHIR gender ("other" has several).
        for (auto g : kIcureGenders)
          if (mapping::fhir_gender(g) == *t.code) wanted.insert(std::string(g));
      }
      std::vector<std::string> genders;
      for (auto g : kIcureGenders) {
        bool in = wanted.count(std::string(g)) > 0;
        if (in != (p.modifier == "not")) genders.emplace_back(g);
      }
      q.genders.push_back(std::move(genders));
    } else if (n == "birthdate") {
      if (!p.modifier.empty()) return bad_modifier(path, p.modifier);
      auto c = date_condition(path, p.value, fuzzy_date_range);
      if (!c) return c.status();
      q.birth_dates.push_back(*c);
    } else if (n == "_lastUpdated") {
      if (!p.modifier.empty()) return bad_modifier(path, p.modifier);
      auto c = date_condition(path, p.value, mapping::epoch_ms_range);
      if (!c) return c.status();
      q.last_updated.push_back(*c);
    } else if (n == "active") {
      if (!p.modifier.empty()) return bad_modifier(path, p.modifier);
      auto b = boolean(path, p.value);
      if (!b) return b.status();
      if (q.active && *q.active != *b) {
        // active=true&active=false: nothing can match; keep it expressible.
        plan.id_or_fhir_id.push_back({});
      }
      q.active = *b;
    } else if (n.rfind("_has:", 0) == 0) {
      return has_param(plan, p, path);
    } else {
      return Handled::unknown;
    }
    return Handled::yes;
  }

  // _has:Observation:patient:<param>[:<modifier>] (also :subject:), and the
  // tutorial's short form _has:Observation:<param>.
  Result<Handled> has_param(PatientPlan& plan, const QueryParam& p, const std::string& path) {
    std::vector<std::string> parts;
    std::string_view rest = p.name;
    while (true) {
      auto colon = rest.find(':');
      parts.emplace_back(rest.substr(0, colon));
      if (colon == std::string_view::npos) break;
      rest.remove_prefix(colon + 1);
    }
    if (parts.size() < 3 || parts[1] != "Observation") return Handled::unknown;
    std::size_t param_at = (parts[2] == "patient" || parts[2] == "subject") ? 3 : 2;
    if (parts.size() <= param_at || parts.size() > param_at + 2) return Handled::unknown;
    QueryParam inner{parts[param_at], parts.size() == param_at + 2 ? parts[param_at + 1] : "",
                     p.value};
    ContactPlan contacts;
    auto handled = observation_param(contacts, inner, path);
    if (!handled) return handled.status();
    if (*handled == Handled::unknown) return Handled::unknown;
    plan.has_observations.push_back(std::move(contacts));
    return Handled::yes;
  }

  // ---- Observation ---------------------------------------------------------

  // A parameter of the element-filter table (element_filters.cpp), or its
  // :missing (also status/category/_tag:missing on Observation), as a
  // post-filter; nullopt when `p` is none of those.
  static std::optional<Result<Handled>> content_filter(std::string_view type,
                                                       std::vector<ElementFilter>& filters,
                                                       const QueryParam& p,
                                                       const std::string& path) {
    if (p.modifier == "missing") {
      const auto* paths = missing_paths(type, p.name);
      if (!paths && element_filter_def(type, p.name))  // a composite
        return Result<Handled>(bad_modifier(path, p.modifier));
      if (!paths) return std::nullopt;
      auto missing = boolean(path, p.value);
      if (!missing) return Result<Handled>(missing.status());
      ElementFilter filter;
      filter.paths = *paths;
      filter.missing = *missing;
      filters.push_back(std::move(filter));
      return Result<Handled>(Handled::yes);
    }
    const auto* def = element_filter_def(type, p.name);
    if (!def) def = content_modifier_def(type, p.name, p.modifier);
    if (!def) return std::nullopt;
    auto filter = element_filter(*def, p, path);
    if (!filter) return Result<Handled>(filter.status());
    filters.push_back(std::move(*filter));
    return Result<Handled>(Handled::yes);
  }

  // A parameter of the element-filter table (element_filters.cpp) with its
  // modifier and OR values checked here, so a bad one is a 400 up front.
  static Result<ElementFilter> element_filter(const ElementFilterDef& def, const QueryParam& p,
                                              const std::string& path) {
    ElementFilter filter;
    filter.paths = def.paths;
    filter.kind = def.kind;
    filter.contact_system = def.contact_system;
    filter.composite_roots = def.composite_roots;
    filter.modifier = p.modifier;
    if (auto bad = modifier_error(def, p.modifier, path)) return *bad;
    for (const auto& part : split_or(p.value)) {
      std::string_view value_part = part;
      if (!def.composite_roots.empty()) {
        // code$value: the code half is a token, the value half of the row's kind.
        const std::size_t dollar = part.find('$');
        if (dollar == std::string::npos)
          return Status::Invalid(path, "'" + printable(part) + "' is not code$value");
        if (dollar == 0)
          return Status::Invalid(path, "'" + printable(part) + "' has no code before '$'");
        auto code = filter_value(ElementFilterKind::token, "", part.substr(0, dollar), path);
        if (!code) return code.status();
        filter.codes.push_back(std::move(*code));
        value_part.remove_prefix(dollar + 1);
      }
      auto value = filter_value(def.kind, p.modifier, std::string(value_part), path);
      if (!value) return value.status();
      filter.values.push_back(std::move(*value));
    }
    if (filter.values.empty()) return Status::Invalid(path, "a value is required");
    return filter;
  }

  // The modifiers a row's kind takes (composites take none).
  static std::optional<Status> modifier_error(const ElementFilterDef& def,
                                              const std::string& modifier,
                                              const std::string& path) {
    if (modifier.empty()) return std::nullopt;
    bool allowed = false;
    if (def.composite_roots.empty()) {
      switch (def.kind) {
        case ElementFilterKind::token: allowed = modifier == "text" || modifier == "not"; break;
        case ElementFilterKind::contact_point: allowed = modifier == "not"; break;
        case ElementFilterKind::string:
          allowed = modifier == "exact" || modifier == "contains";
          break;
        case ElementFilterKind::reference:
          // :Type (a resource type: an upper-case first letter) names the type of a bare id;
          // :identifier matches Reference.identifier (system|value).
          allowed =
              modifier == "identifier" || std::isupper(static_cast<unsigned char>(modifier[0]));
          break;
        case ElementFilterKind::deceased:
        case ElementFilterKind::date:
        case ElementFilterKind::quantity: break;
      }
    }
    if (allowed) return std::nullopt;
    return bad_modifier(path, modifier);
  }

  static std::string ascii_lowered(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  }

  // One OR'ed value of a row's kind (for a composite: its value half).
  static Result<ElementFilter::Value> filter_value(ElementFilterKind kind,
                                                   const std::string& modifier,
                                                   const std::string& part,
                                                   const std::string& path) {
    ElementFilter::Value value;
    switch (kind) {
      case ElementFilterKind::deceased: {
        auto dead = boolean(path, part);
        if (!dead) return dead.status();
        value.code = *dead ? "true" : "false";
        return value;
      }
      case ElementFilterKind::date: {
        auto c = date_part(path, part, date_time_range);
        if (!c) return c.status();
        value.date = *c;
        return value;
      }
      case ElementFilterKind::quantity: {
        auto c = quantity_conditions(path, part);
        if (!c) return c.status();
        value.quantity = std::move(c->front());
        return value;
      }
      case ElementFilterKind::reference:
        if (modifier != "identifier") {
          value.text = modifier.empty() ? part : modifier + "/" + part;
          return value;
        }
        break;  // :identifier is a token
      case ElementFilterKind::string:
        value.text = modifier == "exact" ? part : ascii_lowered(part);
        return value;
      case ElementFilterKind::token:
        if (modifier == "text") {
          value.text = ascii_lowered(part);
          return value;
        }
        break;
      case ElementFilterKind::contact_point: break;
    }
    Token t = parse_token(part);
    if (!t.code && !t.system)
      return Status::Invalid(path, "'" + printable(part) + "' is not a token");
    value.system = t.system;
    value.code = t.code;
    value.no_system = t.no_system;
    return value;
  }

  Result<Handled> observation_param(ContactPlan& plan, const QueryParam& p,
                                    const std::string& path) {
    auto& q = plan.query;
    const std::string& n = p.name;
    if (p.modifier == "missing" && n == "value-quantity") {
      auto missing = boolean(path, p.value);
      if (!missing) return missing.status();
      plan.value_quantity_missing.push_back(*missing);
      return Handled::yes;
    }
    if (auto handled = content_filter("Observation", plan.element_filters, p, path)) {
      // code-value-*: the pairs' codes are Observation.code's, which the store
      // indexes: the indexed code search narrows what gets decrypted.
      if (*handled && **handled == Handled::yes) {
        const ElementFilter& added = plan.element_filters.back();
        if (added.composite_roots.size() == 1 && added.composite_roots.front().empty()) {
          AnyOf codes;
          for (const auto& c : added.codes)
            codes.push_back(coding_token(Token{c.system, c.code, c.no_system}));
          q.codes.push_back(std::move(codes));
        }
      }
      return *handled;
    }
    if (p.modifier == "missing") {
      using storage::ContactElement;
      static constexpr std::array<std::pair<std::string_view, ContactElement>, 3> kElements{
          {{"date", ContactElement::date},
           {"code", ContactElement::code},
           {"identifier", ContactElement::identifier}}};
      return presence_param(q.presence, kElements, p, path);
    }
    if (n == "_id") {
      if (!p.modifier.empty()) return bad_modifier(path, p.modifier);
      plan.id_or_fhir_id.push_back(split_or(p.value));
    } else if (n == "identifier") {
      if (!p.modifier.empty()) return bad_modifier(path, p.modifier);
      q.identifiers.push_back(identifier_tokens(p.value));
    } else if (n == "code") {
      if (!p.modifier.empty()) return bad_modifier(path, p.modifier);
      q.codes.push_back(coding_tokens(p.value));
    } else if (n == "_tag" || n == "category") {
      if (!p.modifier.empty()) return bad_modifier(path, p.modifier);
      q.tags.push_back(coding_tokens(p.value));
    } else if (n == "status") {
      if (!p.modifier.empty() && p.modifier != "not") return bad_modifier(path, p.modifier);
      std::set<std::string> wanted;
      AnyOf other_systems;  // a status token with a foreign system: matches nothing we store
      for (const auto& part : split_or(p.value)) {
        Token t = parse_token(part);
        if (!t.code) return Status::Invalid(path, "'" + printable(part) + "' has no status code");
        if (t.system && *t.system != mapping::kObservationStatusTagType) {
          other_systems.push_back(TokenFilter{t.system, t.code});
          continue;
        }
        wanted.insert(*t.code);
      }
      AnyOf any;
      if (p.modifier == "not") {
        for (auto s : kObservationStatuses)
          if (!wanted.count(std::string(s)))
            any.push_back(TokenFilter{mapping::kObservationStatusTagType, std::string(s)});
      } else {
        for (const auto& s : wanted)
          any.push_back(TokenFilter{mapping::kObservationStatusTagType, s});
        for (auto& t : other_systems) any.push_back(std::move(t));
      }
      if (any.empty())
        plan.id_or_fhir_id.push_back({});  // status:not=<all>: nothing matches
      else
        q.tags.push_back(std::move(any));
    } else if (n == "date") {
      if (!p.modifier.empty()) return bad_modifier(path, p.modifier);
      auto c = date_condition(path, p.value, date_time_range);
      if (!c) return c.status();
      q.dates.push_back(*c);
    } else if (n == "_lastUpdated") {
      if (!p.modifier.empty()) return bad_modifier(path, p.modifier);
      auto c = date_condition(path, p.value, mapping::epoch_ms_range);
      if (!c) return c.status();
      q.last_updated.push_back(*c);
    } else if (n == "value-quantity") {
      if (!p.modifier.empty()) return bad_modifier(path, p.modifier);
      auto c = quantity_conditions(path, p.value);
      if (!c) return c.status();
      plan.value_quantity.push_back(std::move(*c));
    } else if (n == "subject" || n == "patient") {
      return subject_param(plan, p, path, std::string{});
    } else if (n.rfind("subject.", 0) == 0 || n.rfind("patient.", 0) == 0) {
      // Chaining without a type: subject.name=Donald.
      return subject_param(plan, QueryParam{n.substr(0, n.find('.')), p.modifier, p.value}, path,
                           n.substr(n.find('.') + 1));
    } else {
      return Handled::unknown;
    }
    return Handled::yes;
  }

  // subject=Patient/x | x, subject:Patient=x, subject:identifier=sys|v,
  // subject:Patient.name=Donald, subject.name=Donald (chain in `chain`).
  Result<Handled> subject_param(ContactPlan& plan, const QueryParam& p, const std::string& path,
                                std::string chain) {
    std::string modifier = p.modifier;
    if (chain.empty()) {
      if (modifier.rfind("Patient.", 0) == 0) {
        chain = modifier.substr(8);
        modifier.clear();
      } else if (modifier == "Patient") {
        modifier.clear();
      }
    }
    if (!chain.empty()) {
      // The chained parameter may carry its own modifier: name:exact.
      QueryParam inner;
      if (auto colon = chain.find(':'); colon != std::string::npos) {
        inner.name = chain.substr(0, colon);
        inner.modifier = chain.substr(colon + 1);
      } else {
        inner.name = chain;
        inner.modifier = modifier;
      }
      if (!modifier.empty() && inner.modifier != modifier) return bad_modifier(path, modifier);
      inner.value = p.value;
      if (inner.name.rfind("_has:", 0) == 0) return Handled::unknown;
      PatientPlan patients;
      auto handled = patient_param(patients, inner, path);
      if (!handled) return handled.status();
      if (*handled == Handled::unknown) return Handled::unknown;
      plan.subject_chains.push_back(std::move(patients));
      return Handled::yes;
    }
    if (modifier == "identifier") {
      PatientPlan patients;
      patients.query.identifiers.push_back(identifier_tokens(p.value));
      plan.subject_chains.push_back(std::move(patients));
      return Handled::yes;
    }
    if (!modifier.empty()) return bad_modifier(path, modifier);
    std::vector<std::string> ids;
    for (const auto& ref : split_or(p.value)) {
      if (auto id = patient_reference_id(ref)) ids.push_back(*id);
    }
    plan.subject_id_or_fhir_id.push_back(std::move(ids));  // empty: no Patient subject: no match
    return Handled::yes;
  }

  static Result<QuantityAnyOf> quantity_conditions(const std::string& path,
                                                   const std::string& value) {
    QuantityAnyOf any;
    for (const auto& part : split_or(value)) {
      QuantityCondition c;
      std::string_view text = part;
      std::string_view number = text.substr(0, text.find('|'));
      auto comparator = take_prefix(path, part, number, "number");
      if (!comparator) return comparator.status();
      c.comparator = *comparator;
      const char* first = number.data();
      const char* last = number.data() + number.size();
      auto [end, ec] = std::from_chars(first, last, c.value);
      if (number.empty() || ec != std::errc{} || end != last || !std::isfinite(c.value)) {
        return Status::Invalid(path, "'" + printable(part) + "' is not a number[|system|code]");
      }
      // Precision implied by the digits written: 6.3 stands for [6.25, 6.35).
      int decimals = 0;
      if (auto dot = number.find('.'); dot != std::string_view::npos) {
        std::size_t stop = number.find_first_of("eE", dot);
        decimals =
            static_cast<int>((stop == std::string_view::npos ? number.size() : stop) - dot - 1);
      }
      int exponent = 0;
      if (auto e = number.find_first_of("eE"); e != std::string_view::npos) {
        std::size_t at = e + 1 < number.size() && number[e + 1] == '+' ? e + 2 : e + 1;
        std::from_chars(number.data() + std::min(at, number.size()), last, exponent);
      }
      c.half_precision = 0.5 * std::pow(10.0, -(decimals - exponent));
      if (auto first_bar = text.find('|'); first_bar != std::string_view::npos) {
        std::string_view rest = text.substr(first_bar + 1);
        auto bar = rest.find('|');
        std::string system(rest.substr(0, bar));
        std::string code(bar == std::string_view::npos ? std::string_view{} : rest.substr(bar + 1));
        if (!system.empty()) c.system = system;
        if (!code.empty()) c.code = code;
      }
      any.push_back(std::move(c));
    }
    if (any.empty()) return Status::Invalid(path, "empty value-quantity");
    return any;
  }

  // ---- result controls -----------------------------------------------------

  template <std::size_t N>
  Result<Handled> control_param(SearchControls& controls, const QueryParam& p,
                                const std::array<std::string_view, N>& sorts) {
    const std::string& n = p.name;
    if (n == "_count") {
      auto parsed = parse_count(p.value);
      if (!parsed.ok()) return parsed.status();
      const std::size_t count = *parsed;
      controls.count = std::min(count, options.max_count);
      controls.count_only = count == 0;
    } else if (n == "_sort") {
      controls.sort.clear();
      for (const auto& field : split_or(p.value)) {
        bool descending = field.front() == '-';
        std::string name = descending ? field.substr(1) : field;
        if (!contains(sorts, name)) {
          if (options.strict) {
            return Status::Invalid("_sort", "cannot sort on '" + printable(name) + "'");
          }
          warn("_sort", "_sort on '" + printable(name) + "' is not supported: ignored");
          continue;
        }
        controls.sort.push_back(storage::SortKey{name, descending});
      }
    } else if (n == "_summary") {
      if (p.value == "count")
        controls.count_only = true;
      else if (auto mode = summary_mode(p.value))
        controls.summary = *mode;
      else
        return Status::Invalid("_summary", "'" + printable(p.value) + "' is not a _summary value");
    } else if (n == "_total") {
      if (p.value == "none")
        controls.total = TotalMode::none;
      else if (p.value == "estimate")
        controls.total = TotalMode::bounded;
      else if (p.value == "accurate")
        controls.total = TotalMode::accurate;
      else
        return Status::Invalid("_total", "'" + printable(p.value) + "' is not a _total value");
    } else if (n == "_elements") {
      controls.elements = split_or(p.value);
    } else if (n == "_include" || n == "_revinclude") {
      // The one reference we map: Observation.subject (= patient) to a Patient.
      const bool include = n == "_include";
      const bool subject = p.value == "Observation:subject" || p.value == "Observation:patient" ||
                           p.value == "Observation:subject:Patient" ||
                           p.value == "Observation:patient:Patient" ||
                           (include && (p.value == "*" || p.value == "Observation:*"));
      const bool fits = include ? resource_type == "Observation" : resource_type == "Patient";
      if (!subject || !fits || (!p.modifier.empty() && p.modifier != "iterate")) {
        const std::string message = written_name(p) + "=" + printable(p.value) +
                                    " is not supported on " + std::string(resource_type) +
                                    " (supported: _include=Observation:subject on Observation, "
                                    "_revinclude=Observation:subject on Patient)";
        if (options.strict) return Status{StatusCode::not_supported, message, written_name(p)};
        warn(written_name(p), message + ": ignored");
        return Handled::ignored;
      }
      (include ? controls.include_subjects : controls.revinclude_observations) = true;
    } else if (n == "_cursor") {
      controls.cursor = p.value;
    } else if (n == "_format" || n == "_pretty") {
      // Handled by the server (content negotiation); nothing to do here.
    } else {
      return Handled::unknown;
    }
    return Handled::yes;
  }
};

template <typename Plan, typename ParamFn, std::size_t N>
Result<TranslatedSearch<Plan>> translate(std::string_view resource_type,
                                         const std::vector<QueryParam>& params,
                                         const SearchOptions& options,
                                         const std::array<std::string_view, N>& sorts,
                                         ParamFn&& resource_param) {
  Translator tr{options, resource_type, {}, {}};
  TranslatedSearch<Plan> out;
  out.controls.count = std::min(options.default_count, options.max_count);
  for (const auto& p : params) {
    // FHIR: a parameter with an empty value is ignored.
    if (p.value.empty() || p.name.empty()) continue;
    // The error path names the parameter as written (ASCII-safe for OperationOutcome).
    const std::string path = printable(written_name(p));
    auto control = tr.control_param(out.controls, p, sorts);
    if (!control) return control.status();
    if (*control == Handled::ignored) continue;  // not in the self link
    if (*control == Handled::yes) {
      // The self link shows what was used (FHIR): _sort without ignored fields.
      if (p.name == "_sort") {
        QueryParam used{p.name, p.modifier, {}};
        for (const auto& key : out.controls.sort) {
          if (!used.value.empty()) used.value += ',';
          used.value += (key.descending ? "-" : "") + key.field;
        }
        if (!used.value.empty()) out.echoed.push_back(std::move(used));
      } else if (p.name != "_cursor") {
        out.echoed.push_back(p);
      }
      continue;
    }
    auto handled = resource_param(tr, out.plan, p, path);
    if (!handled) return handled.status();
    if (*handled == Handled::unknown) {
      if (auto s = tr.unknown(path); !s.ok()) return s;
      continue;  // ignored: not in the self link
    }
    out.echoed.push_back(p);
  }
  if (out.controls.count_only) out.controls.count = 0;
  out.warnings = std::move(tr.warnings);
  out.warning_paths = std::move(tr.warning_paths);
  return out;
}

}  // namespace

Result<TranslatedSearch<PatientPlan>> translate_patient_search(
    const std::vector<QueryParam>& params, const SearchOptions& options) {
  return translate<PatientPlan>(
      "Patient", params, options, kPatientSorts,
      [](Translator& tr, PatientPlan& plan, const QueryParam& p, const std::string& path) {
        return tr.patient_param(plan, p, path);
      });
}

Result<TranslatedSearch<ContactPlan>> translate_observation_search(
    const std::vector<QueryParam>& params, const SearchOptions& options) {
  return translate<ContactPlan>(
      "Observation", params, options, kObservationSorts,
      [](Translator& tr, ContactPlan& plan, const QueryParam& p, const std::string& path) {
        return tr.observation_param(plan, p, path);
      });
}

bool quantity_matches(const QuantityCondition& c, const boost::json::object& observation) {
  const auto* vq = observation.if_contains("valueQuantity");
  return vq && quantity_value_matches(c, *vq);
}

bool quantity_value_matches(const QuantityCondition& c, const boost::json::value& quantity) {
  if (!quantity.is_object()) return false;
  const auto& q = quantity.get_object();
  const auto* value = q.if_contains("value");
  if (!value || !value->is_number()) return false;
  double v = value->to_number<double>();
  auto str = [&](const char* key) -> std::string {
    const auto* s = q.if_contains(key);
    return s && s->is_string() ? std::string(s->get_string()) : std::string{};
  };
  if (c.system && str("system") != *c.system) return false;
  // With no system, the code may be the code or the human unit (FHIR search spec).
  if (c.code && str("code") != *c.code && (c.system || str("unit") != *c.code)) return false;
  const double n = c.value;
  switch (c.comparator) {
    case Comparator::eq: return v >= n - c.half_precision && v < n + c.half_precision;
    case Comparator::ne: return !(v >= n - c.half_precision && v < n + c.half_precision);
    case Comparator::lt:
    case Comparator::eb: return v < n;
    case Comparator::gt:
    case Comparator::sa: return v > n;
    case Comparator::le: return v <= n;
    case Comparator::ge: return v >= n;
    case Comparator::ap: return std::fabs(v - n) <= std::fabs(n) * 0.1;
  }
  return false;
}

}  // namespace fhirbridge::server::detail
