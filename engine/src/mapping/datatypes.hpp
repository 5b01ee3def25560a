// Internal helpers of the FHIR <-> iCure mappings: checked access to FHIR JSON
// (wrong JSON types become errors with the FHIR path, never exceptions), FHIR
// datatypes <-> iCure embedded types, instants, and the FHIR residual (the
// patch that restores what has no iCure home; see docs/mapping.md).
#pragma once

#include <boost/json.hpp>

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fhirbridge/icure/entities.hpp"
#include "fhirbridge/mapping/context.hpp"
#include "fhirbridge/status.hpp"

#include "fhirbridge/mapping/fhir_dates.hpp"

namespace fhirbridge::mapping::detail {

namespace json = boost::json;

// Assigns the value of a Result expression to a new variable, or returns its error.
// `var` names the value inside the Result (no move out of it; `return var;`
// still moves, as var is an rvalue reference).
#define FHIRBRIDGE_ASSIGN_OR_RETURN(var, expr)              \
  auto var##_result__ = (expr);                             \
  if (!var##_result__.ok()) return var##_result__.status(); \
  auto&& var = std::move(*var##_result__)

// The same for a Result computed at kRelative (below): its error is moved under
// `prefix` (an expression evaluated only on error).
#define FHIRBRIDGE_ASSIGN_OR_RETURN_AT(var, prefix, expr)                              \
  auto var##_result__ = (expr);                                                        \
  if (!var##_result__.ok())                                                            \
    return ::fhirbridge::mapping::detail::rebase(var##_result__.status(),              \
                                                 [&] { return std::string(prefix); }); \
  auto&& var = std::move(*var##_result__)

inline std::string child(const std::string& path, std::string_view key) {
  return path + "." + std::string(key);
}
inline std::string item(const std::string& path, std::size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

Status wrong_type(const std::string& path, const char* expected, const json::value& got);
// FHIR id syntax: [A-Za-z0-9-.]{1,64}.
bool valid_fhir_id(std::string_view id);
// A client's value for an error message: 'value', clipped to 64 bytes on a
// UTF-8 boundary, control characters replaced by '?'.
std::string quoted(std::string_view value);

// The elements of a JSON array already checked to all be objects: a view,
// so reading an array costs no vector allocation.
class ObjectList {
 public:
  ObjectList() = default;
  explicit ObjectList(const json::array* array) : array_(array) {}
  std::size_t size() const { return array_ ? array_->size() : 0; }
  bool empty() const { return size() == 0; }
  const json::object* operator[](std::size_t i) const { return &(*array_)[i].get_object(); }
  const json::object* front() const { return (*this)[0]; }

 private:
  const json::array* array_ = nullptr;
};

// Checked accessors: absent (or null) -> nullopt/nullptr; wrong kind -> a
// `structure` error at `path.key`.
Result<const json::object*> get_object(const json::object& o, std::string_view key,
                                       const std::string& path);
Result<const json::array*> get_array(const json::object& o, std::string_view key,
                                     const std::string& path);
Result<std::optional<std::string>> get_string(const json::object& o, std::string_view key,
                                              const std::string& path);
Result<std::optional<bool>> get_bool(const json::object& o, std::string_view key,
                                     const std::string& path);
Result<std::optional<double>> get_number(const json::object& o, std::string_view key,
                                         const std::string& path);
Result<std::optional<std::int64_t>> get_integer(const json::object& o, std::string_view key,
                                                const std::string& path);
// The same on a value found by the caller (nullptr = absent; `key` names it in errors).
Result<const json::object*> object_at(const json::value* v, std::string_view key,
                                      const std::string& path);
Result<const json::array*> array_at(const json::value* v, std::string_view key,
                                    const std::string& path);
Result<std::optional<std::string>> string_at(const json::value* v, std::string_view key,
                                             const std::string& path);
// The same as a view into the JSON tree (for text that is only parsed, not kept).
Result<std::optional<std::string_view>> string_view_at(const json::value* v, std::string_view key,
                                                       const std::string& path);
Result<std::optional<bool>> bool_at(const json::value* v, std::string_view key,
                                    const std::string& path);
Result<std::optional<double>> number_at(const json::value* v, std::string_view key,
                                        const std::string& path);
Result<std::optional<std::int64_t>> integer_at(const json::value* v, std::string_view key,
                                               const std::string& path);
Result<ObjectList> objects_at(const json::value* v, std::string_view key, const std::string& path);

// The n bytes at a and b are equal: inline word compares (memcmp with a
// run-time size is a library call, and keys and codes are short).
inline bool same_bytes(const char* a, const char* b, std::size_t n) {
  auto load8 = [](const char* p) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    return w;
  };
  auto load4 = [](const char* p) {
    std::uint32_t w;
    std::memcpy(&w, p, 4);
    return w;
  };
  if (n >= 8) {
    for (; n > 8; n -= 8, a += 8, b += 8)
      if (load8(a) != load8(b)) return false;
    return load8(a + n - 8) == load8(b + n - 8);  // the last 8, overlapping
  }
  if (n >= 4) return load4(a) == load4(b) && load4(a + n - 4) == load4(b + n - 4);
  for (; n; --n)
    if (*a++ != *b++) return false;
  return true;
}

// a == b, inline (string_view's == calls compare() out of line): the
// residual's fast path compares every input key with a few names.
inline bool key_is(std::string_view a, std::string_view b) {
  return a.size() == b.size() && same_bytes(a.data(), b.data(), a.size());
}
inline bool is_value_key(std::string_view key) {  // value[x]
  return key.size() > 5 && same_bytes(key.data(), "value", 5);
}

// The values of `keys` in `o` in one pass over it (a find per key hashes the
// key and probes each time): nullptr for an absent key or a null (= absent).
template <std::size_t N>
std::array<const json::value*, N> lookup(const json::object& o, const std::string_view (&keys)[N]) {
  std::array<const json::value*, N> out{};
  for (const auto& kv : o) {
    const std::string_view key(kv.key().data(), kv.key().size());
    for (std::size_t i = 0; i < N; ++i)
      if (key.size() == keys[i].size() &&  // most keys differ in length
          same_bytes(key.data(), keys[i].data(), key.size())) {
        if (!kv.value().is_null()) out[i] = &kv.value();
        break;
      }
  }
  return out;
}

// Paths of errors are built only when there is an error: a sub-mapping is run
// at the relative path kRelative ("") and its error, if any, is moved under
// prefix() (child("", "x") is ".x" and item("", 2) is "[2]", so the
// concatenation is the full path).
inline const std::string kRelative;
template <typename Prefix>
Status rebase(const Status& s, Prefix&& prefix) {
  if (s.code() == StatusCode::internal) return s;
  return Status(s.code(), s.message(), prefix() + s.path());
}

// Every element of o[key] as an object (error at path.key[i] otherwise).
Result<ObjectList> get_objects(const json::object& o, std::string_view key,
                               const std::string& path);
// Every element of o[key] as a string.
Result<std::optional<std::vector<std::string>>> get_strings(const json::object& o,
                                                            std::string_view key,
                                                            const std::string& path);

// ---- dates -----------------------------------------------------------------
// A FHIR date/dateTime string at `path` -> iCure YYYYMMDD (fuzzy).
Result<std::int64_t> fuzzy_date(std::string_view text, const std::string& path);
// A FHIR dateTime/instant -> iCure YYYYMMDDhhmmss (wall time).
Result<std::int64_t> icure_date_time(std::string_view text, const std::string& path);
// A FHIR instant/dateTime -> epoch milliseconds (a zone-less time counts as UTC).
Result<std::int64_t> epoch_ms(std::string_view text, const std::string& path);
// iCure YYYYMMDDhhmmss (or YYYYMMDD) -> FHIR dateTime. iCure keeps no zone: a
// time is written as UTC ("Z"), midnight as a plain date. nullopt when the integer is not a date.
std::optional<std::string> fhir_date_time(std::int64_t icure_date);
// fhir_date_time(icure_date) == text, without building the string (the residual's fast path).
bool fhir_date_time_is(std::int64_t icure_date, std::string_view text);
// Epoch milliseconds -> FHIR instant "2023-11-14T22:13:20.000Z".
using mapping::fhir_instant;

// ---- datatypes -------------------------------------------------------------
// "type|code|version" (an absent version leaves the last part empty).
std::string code_stub_id(const icure::CodeStub& c);
// FHIR Coding -> CodeStub {type: icure_code_type(system), code, version, label[lang]: display}.
// read_coding fills `stub` in place (a CodeStub costs ~200 instructions per move).
Status read_coding(const json::object& coding, const std::string& path, const MappingContext& ctx,
                   icure::CodeStub& stub);
Result<icure::CodeStub> coding_to_code_stub(const json::object& coding, const std::string& path,
                                            const MappingContext& ctx);
// The FHIR builders take the storage to build in: the forward mappings build
// the FHIR they compare against in a per-resource arena (default: the heap).
json::object code_stub_to_coding(const icure::CodeStub& c, const MappingContext& ctx,
                                 json::storage_ptr sp = {});
// All codings of a CodeableConcept (nullptr -> none), appended to `out` in
// place, with CodeStub.context = `context` when given.
Status append_code_stubs(const json::object* cc, const std::string& path, const MappingContext& ctx,
                         std::vector<icure::CodeStub>& out, const char* context = nullptr);
// All codings of a CodeableConcept (nullptr -> none).
Result<std::vector<icure::CodeStub>> codeable_concept_to_code_stubs(const json::object* cc,
                                                                    const std::string& path,
                                                                    const MappingContext& ctx);

Result<icure::Identifier> identifier_to_icure(const json::object& id, const std::string& path,
                                              const MappingContext& ctx);
json::object identifier_to_fhir(const icure::Identifier& id, const MappingContext& ctx,
                                json::storage_ptr sp = {});

Result<icure::PersonName> human_name_to_icure(const json::object& name, const std::string& path);
json::object person_name_to_fhir(const icure::PersonName& name, json::storage_ptr sp = {});

// "Patient/abc" -> "abc"; anything without a single '/' is kept whole.
std::string reference_id(std::string_view reference);

// FHIR Quantity -> iCure Measure {value, unit, unitCodes, comparator} (read_quantity: in place).
Status read_quantity(const json::object& q, const std::string& path, icure::Measure& m);
Result<icure::Measure> quantity_to_measure(const json::object& q, const std::string& path);
// The Quantity of a Measure's value/unit; `value` picks which number to write.
json::object measure_to_quantity(const icure::Measure& m, std::optional<double> value,
                                 json::storage_ptr sp = {});

// ---- the residual ------------------------------------------------------------
// A patch that turns `regenerated` into `original`: null when they are
// equivalent. Objects are merged key by key (a null deletes a key), arrays of
// the same length element by element as {"$items": [patch | null (= keep)]},
// anything else is replaced whole.
json::value make_patch(const json::value& original, const json::value& regenerated);
// The same for two objects (no conversion to json::value, which deep-copies).
json::value make_patch(const json::object& original, const json::object& regenerated);
void apply_patch(json::value& target, const json::value& patch);

// Drops what the server assigns (id, meta.versionId, meta.lastUpdated) so it
// never enters a residual.
void strip_server_fields(json::object& resource);

}  // namespace fhirbridge::mapping::detail

namespace fhirbridge::mapping::detail {

// The residual's home in each entity (fhirbridge/mapping/residual.hpp).
void set_patient_residual(icure::Patient& p, const json::value& patch);
Result<json::value> patient_residual(const icure::Patient& p);  // null when there is none
void set_service_residual(icure::Service& s, const json::value& patch);
Result<json::value> service_residual(const icure::Service& s);

// References the iCure side owns (resolved by the server) must not be restored
// from the residual: copy the regenerated `reference` into the original (or
// drop it) so the patch never mentions it. For original[array_key][i][object_key].
void own_references(json::object& original, const json::object& regenerated,
                    std::string_view array_key, std::string_view object_key);
// For original[object_key].reference; an object left empty is removed.
void own_reference(json::object& original, const json::object& regenerated,
                   std::string_view object_key);

}  // namespace fhirbridge::mapping::detail

// ---- the residual's fast path -------------------------------------------------
// The residual is null exactly when the regenerated resource (stripped of the
// server fields) is json_io::equivalent to the input (same stripping). The
// checks below answer that question element by element from the entity the
// mapping built, without building the regenerated FHIR, copying the input or
// diffing: each mirrors what the *_to_fhir builders write. They may answer
// false when unsure ("not proven"): the caller then computes the residual the
// full way (regenerate and diff), so a false is only slower, never different.
namespace fhirbridge::mapping::detail {

// Test hook: with false, every residual is computed the full way (the
// differential test compares both). Default true.
void set_residual_fast_path(bool enabled);
bool residual_fast_path();

// fhir_code_system(icure_code_type(system)) == system (code_tables.cpp).
bool code_system_round_trips(std::string_view system);
// Every key of `o` is one of `keys`.
bool only_keys(const json::object& o, std::initializer_list<std::string_view> keys);
// o[key] is absent, or a string equal to `expected` (which must then be set).
bool same_optional_string(const json::object& o, std::string_view key,
                          const std::optional<std::string>& expected);
// The same on a value found by the caller (nullptr = absent).
inline bool same_string_at(const json::value* v, const std::optional<std::string>& expected) {
  if (!v) return !expected;
  return expected && v->is_string() && key_is(v->get_string(), *expected);
}
// The values of `keys` in `o` (one pass), when `o` has no other key and no
// null: only_keys + one find per key, without the hash lookups.
template <std::size_t N>
bool only_these(const json::object& o, const std::string_view (&keys)[N],
                std::array<const json::value*, N>& found) {
  found = lookup(o, keys);
  std::size_t present = 0;
  for (const auto* v : found) present += v != nullptr;
  return present == o.size();
}
// A Coding that code_stub_to_coding(coding_to_code_stub(x)) gives back; its
// system is not `reserved_system` (a tag of that type would be read back as
// something else, e.g. the Observation status).
bool coding_round_trips(const json::value& coding, std::string_view reserved_system = {});
// A non-empty array of such codings.
bool codings_round_trip(const json::value& codings, std::string_view reserved_system = {});
// A Quantity that measure_to_quantity(quantity_to_measure(x), value) gives back.
bool quantity_round_trips(const json::value& quantity);
// An Identifier that identifier_to_fhir(identifier_to_icure(x)) gives back
// and that the FHIR side emits (its system is not settings.fhir_id_system).
bool identifier_round_trips(const json::value& identifier, const MappingContext& ctx);
// A meta holding only server fields (stripped) and, if any, tags that round trip.
bool meta_round_trips(const json::value& meta, std::string_view reserved_system = {});

}  // namespace fhirbridge::mapping::detail
