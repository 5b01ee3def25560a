// The code tables of the FHIR <-> iCure mappings, as data. Lookups are linear
// scans over a handful of rows: clearer than maps and fast enough.
#include "fhirbridge/mapping/code_tables.hpp"

#include <array>
#include <cstring>

#include "datatypes.hpp"
#include "fhirbridge/mapping/code_systems.hpp"

namespace fhirbridge::mapping {
namespace {

// FHIR coding system URI <-> iCure CodeStub.type.
constexpr std::array<CodePair, 8> kCodeSystems{{
    {"http://loinc.org", "LOINC"},
    {"http://snomed.info/sct", "SNOMED"},
    {"http://unitsofmeasure.org", "UCUM"},
    {"http://hl7.org/fhir/sid/icd-10", "ICD10"},
    {"http://hl7.org/fhir/sid/icd-9-cm", "ICD9"},
    {"http://hl7.org/fhir/sid/icpc-2", "ICPC"},
    {"http://www.whocc.no/atc", "CD-ATC"},
    {"urn:ietf:bcp:47", "BCP47"},
}};

// FHIR administrative-gender <-> iCure Gender. FHIR `other` has no exact iCure
// twin: `indeterminate` is the closest (and maps back to `other`).
constexpr std::array<CodePair, 4> kGenders{{
    {"male", "male"},
    {"female", "female"},
    {"other", "indeterminate"},
    {"unknown", "unknown"},
}};
// iCure-only genders, read back as FHIR `other` (lossy: documented).
constexpr std::array<CodePair, 3> kIcureOnlyGenders{{
    {"other", "changed"},
    {"other", "changedToMale"},
    {"other", "changedToFemale"},
}};

// FHIR HumanName.use <-> iCure PersonName.use: the same words.
constexpr std::array<CodePair, 7> kNameUses{{
    {"usual", "usual"},
    {"official", "official"},
    {"temp", "temp"},
    {"nickname", "nickname"},
    {"anonymous", "anonymous"},
    {"old", "old"},
    {"maiden", "maiden"},
}};

// FHIR Address.use / ContactPoint.use <-> iCure Address.addressType.
constexpr std::array<CodePair, 4> kAddressUses{{
    {"home", "home"},
    {"work", "work"},
    {"temp", "temporary"},
    {"billing", "other"},
}};

// FHIR ContactPoint.system <-> iCure Telecom.telecomType. iCure has no `sms`
// (read back as `other`; the residual keeps the exact value). A phone with
// use `mobile` is iCure's `mobile` type (patient.cpp).
constexpr std::array<CodePair, 7> kTelecomSystems{{
    {"phone", "phone"},
    {"fax", "fax"},
    {"email", "email"},
    {"pager", "pager"},
    {"url", "web"},
    {"other", "other"},
    {"sms", "other"},
}};
// iCure-only telecom types, read back as the closest FHIR system.
constexpr std::array<CodePair, 9> kIcureOnlyTelecoms{{
    {"phone", "mobile"},
    {"phone", "home"},
    {"other", "skype"},
    {"other", "im"},
    {"other", "medibridge"},
    {"other", "ehealthbox"},
    {"other", "apicrypt"},
    {"other", "print"},
    {"other", "disk"},
}};

// FHIR observation-status (stored verbatim as a Service tag).
constexpr std::array<std::string_view, 8> kObservationStatuses{
    "registered", "preliminary",      "final",  "amended", "corrected",
    "cancelled",  "entered-in-error", "unknown"};

// string_view's == calls compare() out of line here; most rows differ in length.
inline bool same(std::string_view a, std::string_view b) {
  return detail::key_is(a, b);
}

template <std::size_t N>
std::optional<std::string> find_icure(const std::array<CodePair, N>& table, std::string_view fhir) {
  for (const auto& row : table)
    if (same(row.fhir, fhir)) return std::string(row.icure);
  return std::nullopt;
}
template <std::size_t N>
std::optional<std::string> find_fhir(const std::array<CodePair, N>& table, std::string_view icure) {
  for (const auto& row : table)
    if (same(row.icure, icure)) return std::string(row.fhir);
  return std::nullopt;
}

}  // namespace

namespace detail {
// fhir_code_system(icure_code_type(system)) == system, without building strings
// (the residual's fast path asks it for every coding).
bool code_system_round_trips(std::string_view system) {
  std::string_view type = system;  // an unknown system is kept as is
  for (const auto& row : kCodeSystems)
    if (same(row.fhir, system)) {
      type = row.icure;
      break;
    }
  for (const auto& row : kCodeSystems)
    if (same(row.icure, type)) return same(row.fhir, system);
  return type == system;
}
}  // namespace detail

// (Not find_icure(...).value_or(std::string(x)): value_or's argument would be
// built, and usually allocated, even when the table has the row.)
std::string icure_code_type(std::string_view fhir_system) {
  for (const auto& row : kCodeSystems)
    if (same(row.fhir, fhir_system)) return std::string(row.icure);
  return std::string(fhir_system);
}
std::string fhir_code_system(std::string_view icure_type) {
  for (const auto& row : kCodeSystems)
    if (same(row.icure, icure_type)) return std::string(row.fhir);
  return std::string(icure_type);
}

std::optional<std::string> icure_gender(std::string_view fhir_gender) {
  return find_icure(kGenders, fhir_gender);
}
std::optional<std::string> fhir_gender(std::string_view icure_gender) {
  if (auto g = find_fhir(kGenders, icure_gender)) return g;
  return find_fhir(kIcureOnlyGenders, icure_gender);
}

std::optional<std::string> icure_name_use(std::string_view v) {
  return find_icure(kNameUses, v);
}
std::optional<std::string> fhir_name_use(std::string_view v) {
  return find_fhir(kNameUses, v);
}
std::optional<std::string> icure_address_type(std::string_view v) {
  return find_icure(kAddressUses, v);
}
std::optional<std::string> fhir_address_use(std::string_view v) {
  return find_fhir(kAddressUses, v);
}
std::optional<std::string> icure_telecom_type(std::string_view v) {
  return find_icure(kTelecomSystems, v);
}
std::optional<std::string> fhir_telecom_system(std::string_view v) {
  if (auto system = find_fhir(kTelecomSystems, v)) return system;
  return find_fhir(kIcureOnlyTelecoms, v);
}

bool is_observation_status(std::string_view v) {
  for (auto s : kObservationStatuses)
    if (same(s, v)) return true;
  return false;
}

}  // namespace fhirbridge::mapping
