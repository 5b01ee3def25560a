#include "datatypes.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "fhirbridge/json_io.hpp"
#include "fhirbridge/mapping/code_systems.hpp"
#include "fhirbridge/mapping/code_tables.hpp"
#include "fhirbridge/mapping/fhir_dates.hpp"
#include "fhirbridge/mapping/residual.hpp"

namespace fhirbridge::mapping::detail {

Status wrong_type(const std::string& path, const char* expected, const json::value& got) {
  std::string text;
  if (got.is_double()) {  // 1.5, not Boost.JSON's 1.5E0
    char buf[32];
    auto end = std::to_chars(buf, buf + sizeof buf, got.get_double()).ptr;
    text.assign(buf, end);
  } else {
    text = json::serialize(got);
  }
  if (text.size() > 40) {
    std::size_t cut = 40;  // on a UTF-8 code point boundary
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    text = text.substr(0, cut) + "...";
  }
  return Status(StatusCode::structure, std::string("expected ") + expected + ", got " + text, path);
}

bool valid_fhir_id(std::string_view id) {
  static constexpr auto kIdChar = [] {
    std::array<bool, 256> t{};
    for (int c = 0; c < 256; ++c)
      t[c] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '-' || c == '.';
    return t;
  }();
  if (id.empty() || id.size() > 64) return false;
  bool ok = true;  // no early exit: ids are short and this vectorises
  for (char c : id) ok &= kIdChar[static_cast<unsigned char>(c)];
  return ok;
}

std::string quoted(std::string_view value) {
  std::size_t cut = std::min<std::size_t>(value.size(), 64);
  while (cut < value.size() && cut > 0 && (static_cast<unsigned char>(value[cut]) & 0xC0) == 0x80)
    --cut;
  std::string out = "'";
  for (char c : value.substr(0, cut)) out += static_cast<unsigned char>(c) < 0x20 ? '?' : c;
  out += cut < value.size() ? "...'" : "'";
  return out;
}

namespace {
const json::value* find(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return nullptr;
  return &it->value();
}
}  // namespace

Result<const json::object*> object_at(const json::value* v, std::string_view key,
                                      const std::string& path) {
  if (!v) return static_cast<const json::object*>(nullptr);
  if (!v->is_object()) return wrong_type(child(path, key), "an object", *v);
  return &v->get_object();
}

Result<const json::array*> array_at(const json::value* v, std::string_view key,
                                    const std::string& path) {
  if (!v) return static_cast<const json::array*>(nullptr);
  if (!v->is_array()) return wrong_type(child(path, key), "an array", *v);
  return &v->get_array();
}

Result<std::optional<std::string>> string_at(const json::value* v, std::string_view key,
                                             const std::string& path) {
  if (!v) return std::optional<std::string>{};
  if (!v->is_string()) return wrong_type(child(path, key), "a string", *v);
  return std::optional<std::string>(std::in_place, v->get_string().data(), v->get_string().size());
}

Result<std::optional<std::string_view>> string_view_at(const json::value* v, std::string_view key,
                                                       const std::string& path) {
  if (!v) return std::optional<std::string_view>{};
  if (!v->is_string()) return wrong_type(child(path, key), "a string", *v);
  return std::optional<std::string_view>(std::in_place, v->get_string().data(),
                                         v->get_string().size());
}

Result<std::optional<bool>> bool_at(const json::value* v, std::string_view key,
                                    const std::string& path) {
  if (!v) return std::optional<bool>{};
  if (!v->is_bool()) return wrong_type(child(path, key), "a boolean", *v);
  return std::optional<bool>(v->get_bool());
}

Result<std::optional<double>> number_at(const json::value* v, std::string_view key,
                                        const std::string& path) {
  if (!v) return std::optional<double>{};
  if (!v->is_number()) return wrong_type(child(path, key), "a number", *v);
  const double d = v->to_number<double>();
  // JSON has no infinity: 1e400 parses to inf and could not be written back.
  if (!std::isfinite(d))
    return Status::Invalid(child(path, key), "number is out of range (not a finite double)");
  return std::optional<double>(d);
}

Result<std::optional<std::int64_t>> integer_at(const json::value* v, std::string_view key,
                                               const std::string& path) {
  if (!v) return std::optional<std::int64_t>{};
  if (v->is_int64()) return std::optional<std::int64_t>(v->get_int64());
  if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
    return std::optional<std::int64_t>(static_cast<std::int64_t>(v->get_uint64()));
  if (v->is_double() && v->get_double() == std::trunc(v->get_double()) &&
      std::fabs(v->get_double()) < 9.0e15)
    return std::optional<std::int64_t>(static_cast<std::int64_t>(v->get_double()));
  return wrong_type(child(path, key), "an integer", *v);
}

Result<ObjectList> objects_at(const json::value* v, std::string_view key, const std::string& path) {
  FHIRBRIDGE_ASSIGN_OR_RETURN(array, array_at(v, key, path));
  if (!array) return ObjectList();
  for (std::size_t i = 0; i < array->size(); ++i) {
    const json::value& e = (*array)[i];
    if (!e.is_object()) return wrong_type(item(child(path, key), i), "an object", e);
  }
  return ObjectList(array);
}

Result<const json::object*> get_object(const json::object& o, std::string_view key,
                                       const std::string& path) {
  return object_at(find(o, key), key, path);
}
Result<const json::array*> get_array(const json::object& o, std::string_view key,
                                     const std::string& path) {
  return array_at(find(o, key), key, path);
}
Result<std::optional<std::string>> get_string(const json::object& o, std::string_view key,
                                              const std::string& path) {
  return string_at(find(o, key), key, path);
}
Result<std::optional<bool>> get_bool(const json::object& o, std::string_view key,
                                     const std::string& path) {
  return bool_at(find(o, key), key, path);
}
Result<std::optional<double>> get_number(const json::object& o, std::string_view key,
                                         const std::string& path) {
  return number_at(find(o, key), key, path);
}
Result<std::optional<std::int64_t>> get_integer(const json::object& o, std::string_view key,
                                                const std::string& path) {
  return integer_at(find(o, key), key, path);
}

Result<ObjectList> get_objects(const json::object& o, std::string_view key,
                               const std::string& path) {
  return objects_at(find(o, key), key, path);
}

Result<std::optional<std::vector<std::string>>> get_strings(const json::object& o,
                                                            std::string_view key,
                                                            const std::string& path) {
  FHIRBRIDGE_ASSIGN_OR_RETURN(array, get_array(o, key, path));
  std::optional<std::vector<std::string>> out;
  if (!array) return out;
  out.emplace();
  for (std::size_t i = 0; i < array->size(); ++i) {
    const json::value& e = (*array)[i];
    if (!e.is_string()) return wrong_type(item(child(path, key), i), "a string", e);
    out->emplace_back(e.get_string());
  }
  return out;
}

// ---- dates -------------------------------------------------------------------

namespace {
// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}
void civil_from_days(std::int64_t z, int& y, int& m, int& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  y = static_cast<int>(static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2));
}
}  // namespace

Result<std::int64_t> fuzzy_date(std::string_view text, const std::string& path) {
  FHIRBRIDGE_ASSIGN_OR_RETURN(d, parse_fhir_date_time(text, path));
  return to_icure_fuzzy_date(d);
}

Result<std::int64_t> icure_date_time(std::string_view text, const std::string& path) {
  FHIRBRIDGE_ASSIGN_OR_RETURN(d, parse_fhir_date_time(text, path));
  return to_icure_date_time(d);
}

Result<std::int64_t> epoch_ms(std::string_view text, const std::string& path) {
  FHIRBRIDGE_ASSIGN_OR_RETURN(d, parse_fhir_date_time(text, path));
  return epoch_ms_range(d).first;
}

namespace {
// fhir_date_time in two pieces: the date, and the 10 characters "Thh:mm:ssZ"
// that follow it when the time is written (time_text[0] == 0 otherwise).
std::optional<std::string> date_time_text(std::int64_t icure_date, char (&time_text)[10]) {
  time_text[0] = 0;
  if (icure_date <= 99991231) return fuzzy_date_to_fhir(icure_date);
  std::int64_t time = icure_date % 1000000;
  auto date = fuzzy_date_to_fhir(icure_date / 1000000);
  int h = static_cast<int>(time / 10000), mi = static_cast<int>(time / 100 % 100),
      s = static_cast<int>(time % 100);
  if (!date || date->size() != 10 || h > 23 || mi > 59 || s > 59) return date;
  if (time == 0) return date;  // midnight: read as a date (iCure's dates often are)
  const char buf[10] = {'T', static_cast<char>('0' + h / 10),  static_cast<char>('0' + h % 10),
                        ':', static_cast<char>('0' + mi / 10), static_cast<char>('0' + mi % 10),
                        ':', static_cast<char>('0' + s / 10),  static_cast<char>('0' + s % 10),
                        'Z'};
  std::memcpy(time_text, buf, sizeof buf);
  return date;
}
}  // namespace

std::optional<std::string> fhir_date_time(std::int64_t icure_date) {
  char time_text[10];
  auto date = date_time_text(icure_date, time_text);
  if (date && time_text[0]) date->append(time_text, sizeof time_text);
  return date;
}

bool fhir_date_time_is(std::int64_t icure_date, std::string_view text) {
  char time_text[10];
  const auto date = date_time_text(icure_date, time_text);  // a date fits in std::string's SSO
  if (!date) return false;
  if (!time_text[0]) return key_is(text, *date);
  return text.size() == date->size() + sizeof time_text &&
         key_is(text.substr(0, date->size()), *date) &&
         key_is(text.substr(date->size()), std::string_view(time_text, sizeof time_text));
}

// ---- datatypes -----------------------------------------------------------------

std::string code_stub_id(const icure::CodeStub& c) {
  // Sized once and filled by memcpy (reserve + five appends cost twice as much).
  auto text = [](const std::optional<std::string>& v) {
    return v ? std::string_view(*v) : std::string_view("");  // (never a null data())
  };
  const std::string_view type = text(c.type), code = text(c.code), version = text(c.version);
  std::string id(type.size() + code.size() + version.size() + 2, '|');
  char* p = id.data();
  std::memcpy(p, type.data(), type.size());
  p += type.size() + 1;
  std::memcpy(p, code.data(), code.size());
  p += code.size() + 1;
  std::memcpy(p, version.data(), version.size());
  return id;
}

Status read_coding(const json::object& coding, const std::string& path, const MappingContext& ctx,
                   icure::CodeStub& stub) {
  static constexpr std::string_view keys[] = {"system", "code", "version", "display"};
  const auto v = lookup(coding, keys);
  for (std::size_t i = 0; i < std::size(keys); ++i)
    if (v[i] && !v[i]->is_string()) return wrong_type(child(path, keys[i]), "a string", *v[i]);
  if (v[0]) stub.type = icure_code_type(v[0]->get_string());
  if (v[1]) stub.code.emplace(v[1]->get_string().data(), v[1]->get_string().size());
  if (v[2]) stub.version.emplace(v[2]->get_string().data(), v[2]->get_string().size());
  stub.id = code_stub_id(stub);
  if (v[3]) {
    stub.label.emplace();
    stub.label->emplace(ctx.settings.content_language,
                        std::string(v[3]->get_string().data(), v[3]->get_string().size()));
  }
  return {};
}

Result<icure::CodeStub> coding_to_code_stub(const json::object& coding, const std::string& path,
                                            const MappingContext& ctx) {
  icure::CodeStub stub;
  FHIRBRIDGE_RETURN_IF_ERROR(read_coding(coding, path, ctx, stub));
  return stub;
}

json::object code_stub_to_coding(const icure::CodeStub& c, const MappingContext& ctx,
                                 json::storage_ptr sp) {
  json::object coding(sp);
  if (c.type) coding["system"] = fhir_code_system(*c.type);
  if (c.version) coding["version"] = *c.version;
  if (c.code) coding["code"] = *c.code;
  if (c.label) {
    auto it = c.label->find(ctx.settings.content_language);
    if (it != c.label->end()) coding["display"] = it->second;
  }
  return coding;
}

Status append_code_stubs(const json::object* cc, const std::string& path, const MappingContext& ctx,
                         std::vector<icure::CodeStub>& out, const char* context) {
  if (!cc) return {};
  FHIRBRIDGE_ASSIGN_OR_RETURN(codings, get_objects(*cc, "coding", path));
  out.reserve(out.size() + codings.size());
  for (std::size_t i = 0; i < codings.size(); ++i) {
    icure::CodeStub& stub = out.emplace_back();  // built in place: a CodeStub is costly to move
    Status read = read_coding(*codings[i], kRelative, ctx, stub);  // the path only on error
    if (!read.ok()) return rebase(read, [&] { return item(child(path, "coding"), i); });
    if (context) stub.context = context;
  }
  return {};
}

Result<std::vector<icure::CodeStub>> codeable_concept_to_code_stubs(const json::object* cc,
                                                                    const std::string& path,
                                                                    const MappingContext& ctx) {
  std::vector<icure::CodeStub> out;
  FHIRBRIDGE_RETURN_IF_ERROR(append_code_stubs(cc, path, ctx, out));
  return out;
}

Result<icure::Identifier> identifier_to_icure(const json::object& id, const std::string& path,
                                              const MappingContext& ctx) {
  icure::Identifier out;
  static constexpr std::string_view keys[] = {"use",  "system", "value",
                                              "type", "period", "assigner"};
  const auto f = lookup(id, keys);
  FHIRBRIDGE_ASSIGN_OR_RETURN(use, string_at(f[0], "use", path));
  FHIRBRIDGE_ASSIGN_OR_RETURN(system, string_at(f[1], "system", path));
  FHIRBRIDGE_ASSIGN_OR_RETURN(value, string_at(f[2], "value", path));
  FHIRBRIDGE_ASSIGN_OR_RETURN(type, object_at(f[3], "type", path));
  FHIRBRIDGE_ASSIGN_OR_RETURN(period, object_at(f[4], "period", path));
  FHIRBRIDGE_ASSIGN_OR_RETURN(assigner, object_at(f[5], "assigner", path));
  out.use = std::move(use);
  out.system = std::move(system);
  out.value = std::move(value);
  // iCure has one CodeStub for the type: the first coding (others: residual).
  if (type) {
    FHIRBRIDGE_ASSIGN_OR_RETURN_AT(types, child(path, "type"),
                                   codeable_concept_to_code_stubs(type, kRelative, ctx));
    if (!types.empty()) out.type = std::move(types.front());
  }
  if (period) {
    // iCure keeps the period bounds as strings: the FHIR text verbatim.
    FHIRBRIDGE_ASSIGN_OR_RETURN(start, get_string(*period, "start", child(path, "period")));
    FHIRBRIDGE_ASSIGN_OR_RETURN(end, get_string(*period, "end", child(path, "period")));
    if (start)
      FHIRBRIDGE_RETURN_IF_ERROR(parse_fhir_date_time(*start, child(path, "period.start")));
    if (end) FHIRBRIDGE_RETURN_IF_ERROR(parse_fhir_date_time(*end, child(path, "period.end")));
    out.start = start;
    out.end = end;
  }
  if (assigner) {
    FHIRBRIDGE_ASSIGN_OR_RETURN(display, get_string(*assigner, "display", child(path, "assigner")));
    out.assigner = display;
  }
  return out;
}

json::object identifier_to_fhir(const icure::Identifier& id, const MappingContext& ctx,
                                json::storage_ptr sp) {
  json::object out(4, sp);  // reserved: each growth rehashes
  if (id.use) out["use"] = *id.use;
  if (id.type)
    out["type"] =
        json::object({{"coding", json::array({code_stub_to_coding(*id.type, ctx, sp)}, sp)}}, sp);
  if (id.system) out["system"] = *id.system;
  if (id.value) out["value"] = *id.value;
  if (id.start || id.end) {
    json::object period(sp);
    if (id.start) period["start"] = *id.start;
    if (id.end) period["end"] = *id.end;
    out["period"] = std::move(period);
  }
  if (id.assigner) out["assigner"] = json::object{{"display", *id.assigner}};
  return out;
}

Result<icure::PersonName> human_name_to_icure(const json::object& name, const std::string& path) {
  icure::PersonName out;
  static constexpr std::string_view keys[] = {"use", "text", "family", "period"};
  const auto f = lookup(name, keys);
  FHIRBRIDGE_ASSIGN_OR_RETURN(use, string_at(f[0], "use", path));
  FHIRBRIDGE_ASSIGN_OR_RETURN(text, string_at(f[1], "text", path));
  FHIRBRIDGE_ASSIGN_OR_RETURN(family, string_at(f[2], "family", path));
  FHIRBRIDGE_ASSIGN_OR_RETURN(given, get_strings(name, "given", path));
  FHIRBRIDGE_ASSIGN_OR_RETURN(prefix, get_strings(name, "prefix", path));
  FHIRBRIDGE_ASSIGN_OR_RETURN(suffix, get_strings(name, "suffix", path));
  FHIRBRIDGE_ASSIGN_OR_RETURN(period, object_at(f[3], "period", path));
  if (use) {
    out.use = icure_name_use(*use);
    if (!out.use)
      return Status::Invalid(child(path, "use"), quoted(*use) + " is not a HumanName use");
  }
  out.text = std::move(text);
  out.lastName = std::move(family);
  out.firstNames = std::move(given);
  out.prefix = std::move(prefix);
  out.suffix = std::move(suffix);
  if (period) {
    const std::string ppath = child(path, "period");
    FHIRBRIDGE_ASSIGN_OR_RETURN(start, get_string(*period, "start", ppath));
    FHIRBRIDGE_ASSIGN_OR_RETURN(end, get_string(*period, "end", ppath));
    if (start) {
      FHIRBRIDGE_ASSIGN_OR_RETURN(v, fuzzy_date(*start, child(ppath, "start")));
      out.start = v;
    }
    if (end) {
      FHIRBRIDGE_ASSIGN_OR_RETURN(v, fuzzy_date(*end, child(ppath, "end")));
      out.end = v;
    }
  }
  return out;
}

namespace {
json::array to_array(const std::vector<std::string>& v, json::storage_ptr sp) {
  json::array a(sp);
  for (const auto& s : v) a.emplace_back(s);
  return a;
}
}  // namespace

json::object person_name_to_fhir(const icure::PersonName& name, json::storage_ptr sp) {
  json::object out(4, sp);  // reserved: each growth rehashes
  if (name.use)
    if (auto use = fhir_name_use(*name.use)) out["use"] = *use;
  if (name.text) out["text"] = *name.text;
  if (name.lastName) out["family"] = *name.lastName;
  if (name.firstNames) out["given"] = to_array(*name.firstNames, sp);
  if (name.prefix) out["prefix"] = to_array(*name.prefix, sp);
  if (name.suffix) out["suffix"] = to_array(*name.suffix, sp);
  if (name.start || name.end) {
    json::object period(sp);
    if (name.start)
      if (auto s = fuzzy_date_to_fhir(*name.start)) period["start"] = *s;
    if (name.end)
      if (auto e = fuzzy_date_to_fhir(*name.end)) period["end"] = *e;
    if (!period.empty()) out["period"] = std::move(period);
  }
  return out;
}

std::string reference_id(std::string_view reference) {
  auto slash = reference.find('/');
  if (slash == std::string_view::npos || reference.find('/', slash + 1) != std::string_view::npos ||
      reference.find(':') != std::string_view::npos)
    return std::string(reference);
  return std::string(reference.substr(slash + 1));
}

Status read_quantity(const json::object& q, const std::string& path, icure::Measure& m) {
  static constexpr std::string_view keys[] = {"value", "comparator", "unit", "system", "code"};
  const auto v = lookup(q, keys);
  FHIRBRIDGE_ASSIGN_OR_RETURN(value, number_at(v[0], keys[0], path));
  for (std::size_t i = 1; i < std::size(keys); ++i)
    if (v[i] && !v[i]->is_string()) return wrong_type(child(path, keys[i]), "a string", *v[i]);
  auto text = [](const json::value* s) {
    return std::string(s->get_string().data(), s->get_string().size());
  };
  m.value = value;
  if (v[1]) m.comparator = text(v[1]);
  if (v[2]) m.unit = text(v[2]);
  if (v[3] || v[4]) {
    icure::CodeStub& stub = m.unitCodes.emplace().emplace_back();
    if (v[3]) stub.type = icure_code_type(v[3]->get_string());
    if (v[4]) stub.code = text(v[4]);
    stub.id = code_stub_id(stub);
  }
  return {};
}

Result<icure::Measure> quantity_to_measure(const json::object& q, const std::string& path) {
  icure::Measure m;
  FHIRBRIDGE_RETURN_IF_ERROR(read_quantity(q, path, m));
  return m;
}

json::object measure_to_quantity(const icure::Measure& m, std::optional<double> value,
                                 json::storage_ptr sp) {
  json::object q(sp);
  if (value) q["value"] = json_io::to_json(*value);
  if (m.comparator) q["comparator"] = *m.comparator;
  if (m.unit) q["unit"] = *m.unit;
  if (m.unitCodes && !m.unitCodes->empty()) {
    const icure::CodeStub& unit = m.unitCodes->front();
    if (unit.type) q["system"] = fhir_code_system(*unit.type);
    if (unit.code) q["code"] = *unit.code;
  }
  return q;
}

// ---- the residual -------------------------------------------------------------

namespace {

// One pass over both trees (the former version compared every subtree once per
// level above it). Returns whether `original` and `regenerated` differ
// (json_io::equivalent's sense) and, when they do, the patch in `patch`.
bool diff(const json::value& original, const json::value& regenerated, json::value& patch);

bool diff_objects(const json::object& o, const json::object& r, json::value& patch) {
  {
    json::object out;
    bool differs = false;
    for (const auto& kv : o) {
      auto it = r.find(kv.key());
      if (it == r.end()) {
        out[kv.key()] = kv.value();
        differs = true;
      } else {
        json::value sub;
        if (diff(kv.value(), it->value(), sub)) {
          out[kv.key()] = std::move(sub);
          differs = true;
        }
      }
    }
    if (r.size() != o.size() || differs)
      for (const auto& kv : r)
        if (!o.contains(kv.key())) {
          out[kv.key()] = nullptr;
          differs = true;
        }
    if (differs) patch = std::move(out);
    return differs;
  }
}

bool diff(const json::value& original, const json::value& regenerated, json::value& patch) {
  if (original.is_object() && regenerated.is_object())
    return diff_objects(original.get_object(), regenerated.get_object(), patch);
  if (original.is_array() && regenerated.is_array() &&
      original.get_array().size() == regenerated.get_array().size()) {
    const auto& o = original.get_array();
    const auto& r = regenerated.get_array();
    json::array items;
    bool differs = false;
    for (std::size_t i = 0; i < o.size(); ++i) {
      json::value p;
      if (diff(o[i], r[i], p)) {
        differs = true;
        // a null element cannot be told from "keep": replace the whole array then
        if (p.is_null() && o[i].is_null() && !r[i].is_null()) {
          patch = original;
          return true;
        }
      }
      items.push_back(std::move(p));
    }
    if (differs) patch = json::object{{"$items", std::move(items)}};
    return differs;
  }
  if (json_io::equivalent(original, regenerated)) return false;
  patch = original;
  return true;
}

}  // namespace

json::value make_patch(const json::value& original, const json::value& regenerated) {
  json::value patch;
  if (!diff(original, regenerated, patch)) return nullptr;
  return patch;
}

json::value make_patch(const json::object& original, const json::object& regenerated) {
  json::value patch;
  if (!diff_objects(original, regenerated, patch)) return nullptr;
  return patch;
}

void apply_patch(json::value& target, const json::value& patch) {
  if (patch.is_null()) return;
  if (!patch.is_object()) {
    target = patch;
    return;
  }
  const auto& p = patch.get_object();
  if (p.size() == 1 && p.contains("$items") && p.at("$items").is_array()) {
    const auto& items = p.at("$items").get_array();
    if (target.is_array() && target.get_array().size() == items.size())
      for (std::size_t i = 0; i < items.size(); ++i) apply_patch(target.get_array()[i], items[i]);
    return;  // the entity changed shape since: keep what the iCure fields say
  }
  if (!target.is_object()) {
    target = patch;
    return;
  }
  auto& t = target.get_object();
  for (const auto& kv : p) {
    if (kv.value().is_null()) {
      t.erase(kv.key());
    } else if (auto it = t.find(kv.key()); it != t.end()) {
      apply_patch(it->value(), kv.value());
    } else {
      t[kv.key()] = kv.value();
    }
  }
}

void strip_server_fields(json::object& resource) {
  resource.erase("id");
  auto it = resource.find("meta");
  if (it != resource.end() && it->value().is_object()) {
    auto& meta = it->value().get_object();
    meta.erase("versionId");
    meta.erase("lastUpdated");
    if (meta.empty()) resource.erase("meta");
  }
}

}  // namespace fhirbridge::mapping::detail

namespace fhirbridge::mapping::detail {

namespace {
Result<json::value> parse_patch(const std::string& text, const std::string& path) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec)
    return Status(StatusCode::internal, "the FHIR residual is not JSON: " + ec.message(), path);
  return v;
}
}  // namespace

void set_patient_residual(icure::Patient& p, const json::value& patch) {
  icure::PropertyStub prop;
  prop.id = kFhirResidualProperty;
  prop.type = icure::PropertyTypeStub{kFhirResidualProperty, "JSON", {}};
  icure::TypedValue value;
  value.type = "JSON";
  value.stringValue = json::serialize(patch);
  prop.typedValue = std::move(value);
  if (!p.properties) p.properties.emplace();
  p.properties->push_back(std::move(prop));
}

Result<json::value> patient_residual(const icure::Patient& p) {
  if (!p.properties) return json::value(nullptr);
  for (const auto& prop : *p.properties) {
    if (prop.id != kFhirResidualProperty || prop.deletionDate) continue;
    if (!prop.typedValue || !prop.typedValue->stringValue) return json::value(nullptr);
    return parse_patch(*prop.typedValue->stringValue, "Patient.properties");
  }
  return json::value(nullptr);
}

void set_service_residual(icure::Service& s, const json::value& patch) {
  if (!s.content) s.content.emplace();
  icure::Content content;
  content.stringValue = json::serialize(patch);
  (*s.content)[kFhirResidualContentKey] = std::move(content);
}

Result<json::value> service_residual(const icure::Service& s) {
  if (!s.content) return json::value(nullptr);
  auto it = s.content->find(kFhirResidualContentKey);
  if (it == s.content->end() || !it->second.stringValue) return json::value(nullptr);
  return parse_patch(*it->second.stringValue, "Service.content");
}

void own_references(json::object& original, const json::object& regenerated,
                    std::string_view array_key, std::string_view object_key) {
  auto o = original.find(array_key);
  auto r = regenerated.find(array_key);
  if (o == original.end() || !o->value().is_array()) return;
  auto& items = o->value().get_array();
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (!items[i].is_object()) continue;
    const json::object* regen_item = nullptr;
    if (r != regenerated.end() && r->value().is_array() && i < r->value().get_array().size() &&
        r->value().get_array()[i].is_object())
      regen_item = &r->value().get_array()[i].get_object();
    own_reference(items[i].get_object(), regen_item ? *regen_item : json::object{}, object_key);
  }
}

void own_reference(json::object& original, const json::object& regenerated,
                   std::string_view object_key) {
  auto o = original.find(object_key);
  if (o == original.end() || !o->value().is_object()) return;
  auto& target = o->value().get_object();
  const json::value* regen_ref = nullptr;
  if (auto r = regenerated.find(object_key); r != regenerated.end() && r->value().is_object())
    regen_ref = r->value().get_object().if_contains("reference");
  if (regen_ref)
    target["reference"] = *regen_ref;
  else
    target.erase("reference");
  if (target.empty()) original.erase(object_key);
}

}  // namespace fhirbridge::mapping::detail

namespace fhirbridge::mapping {

std::pair<std::int64_t, std::int64_t> epoch_ms_range(const FhirDateTime& d) {
  const unsigned month = d.month ? static_cast<unsigned>(d.month) : 1;
  const unsigned day = d.day ? static_cast<unsigned>(d.day) : 1;
  const std::int64_t zone_ms = d.tz_offset_minutes.value_or(0) * 60000LL;
  const auto start_of_day = [&](std::int64_t days) { return days * 86400000 - zone_ms; };
  const std::int64_t low = start_of_day(detail::days_from_civil(d.year, month, day)) +
                           d.hour * 3600000LL + d.minute * 60000LL + d.second * 1000LL +
                           d.millisecond;
  std::int64_t next = 0;  // the start of the next value at the same precision
  switch (d.precision) {
    case DatePrecision::year: next = start_of_day(detail::days_from_civil(d.year + 1, 1, 1)); break;
    case DatePrecision::month:
      next = start_of_day(month == 12 ? detail::days_from_civil(d.year + 1, 1, 1)
                                      : detail::days_from_civil(d.year, month + 1, 1));
      break;
    case DatePrecision::day: next = low + 86400000; break;
    case DatePrecision::minute: next = low + 60000; break;
    case DatePrecision::second: next = low + 1000; break;
    case DatePrecision::millisecond: next = low + 1; break;
  }
  return {low, next - 1};
}

std::string fhir_instant(std::int64_t ms) {
  std::int64_t seconds = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
  int millis = static_cast<int>(ms - seconds * 1000);
  std::int64_t days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400;
  int secs_of_day = static_cast<int>(seconds - days * 86400);
  int y = 0, m = 0, d = 0;
  detail::civil_from_days(days, y, m, d);
  if (y < 0 || y > 9999) {  // outside the 4-digit years: the general (slow) path
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", y, m, d,
                  secs_of_day / 3600, secs_of_day / 60 % 60, secs_of_day % 60, millis);
    return buf;
  }
  const int hh = secs_of_day / 3600, mi = secs_of_day / 60 % 60, ss = secs_of_day % 60;
  auto digit = [](int v) { return static_cast<char>('0' + v); };
  const char buf[24] = {digit(y / 1000),
                        digit(y / 100 % 10),
                        digit(y / 10 % 10),
                        digit(y % 10),
                        '-',
                        digit(m / 10),
                        digit(m % 10),
                        '-',
                        digit(d / 10),
                        digit(d % 10),
                        'T',
                        digit(hh / 10),
                        digit(hh % 10),
                        ':',
                        digit(mi / 10),
                        digit(mi % 10),
                        ':',
                        digit(ss / 10),
                        digit(ss % 10),
                        '.',
                        digit(millis / 100),
                        digit(millis / 10 % 10),
                        digit(millis % 10),
                        'Z'};
  return std::string(buf, sizeof buf);
}

std::string version_id(std::string_view rev) {
  return std::string(rev.substr(0, rev.find('-')));
}

}  // namespace fhirbridge::mapping
