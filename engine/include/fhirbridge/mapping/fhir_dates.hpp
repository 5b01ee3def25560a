// FHIR date / dateTime / instant parsing and conversion to iCure's integer dates.
// Shared by the mappings and by FHIR search (date prefixes, partial dates).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "fhirbridge/status.hpp"

namespace fhirbridge::mapping {

enum class DatePrecision { year, month, day, minute, second, millisecond };

struct FhirDateTime {
  int year = 0, month = 0, day = 0;  // 0 = absent (partial date)
  int hour = 0, minute = 0, second = 0, millisecond = 0;
  DatePrecision precision = DatePrecision::year;
  std::optional<int> tz_offset_minutes;  // absent for dates and zone-less times
};

// Parses "1974", "1974-12", "1974-12-25", "2013-04-02T09:30:10+01:00",
// "2013-04-02T09:30:10.123Z". Checks ranges (month 1-12, day valid for the
// month, hour < 24...). Error: invalid at `path`, "'1974-13' is not a date".
Result<FhirDateTime> parse_fhir_date_time(std::string_view text, const std::string& path);

// YYYYMMDD with 00 for absent month/day (iCure fuzzy date: 19740000).
std::int64_t to_icure_fuzzy_date(const FhirDateTime& d);
// YYYYMMDDhhmmss in the value's own wall-clock time (iCure keeps no zone).
std::int64_t to_icure_date_time(const FhirDateTime& d);

// The inclusive range the value stands for at its precision, as iCure
// integers: "1974" -> {19740000, 19741231} with digits=8, or
// {19740000000000, 19741231235959} with digits=14.
std::pair<std::int64_t, std::int64_t> icure_range(const FhirDateTime& d, int digits);

// The inclusive range of epoch milliseconds the value stands for at its
// precision: "2026" -> [2026-01-01T00:00:00.000, 2026-12-31T23:59:59.999].
// The value's zone applies; a value without one (a date) is read as UTC.
std::pair<std::int64_t, std::int64_t> epoch_ms_range(const FhirDateTime& d);

// iCure fuzzy date (YYYYMMDD, 00 = absent) back to a FHIR date ("1974", "1974-12").
std::optional<std::string> fuzzy_date_to_fhir(std::int64_t yyyymmdd);

// Epoch milliseconds as a FHIR instant in UTC: "2013-04-03T14:30:10.000Z".
std::string fhir_instant(std::int64_t epoch_ms);

// FHIR meta.versionId of an iCure rev "<generation>-<hash>": the generation
// ("3"), which is what ETag / If-Match carry. "" for an absent rev.
std::string version_id(std::string_view rev);

}  // namespace fhirbridge::mapping
