// FHIR date/dateTime/instant parsing and iCure integer dates.
#include "fhirbridge/mapping/fhir_dates.hpp"

#include <array>
#include <cstdio>

namespace fhirbridge::mapping {
namespace {

bool is_leap(int year) {
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int days_in_month(int year, int month) {
  static constexpr std::array<int, 12> kDays{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12) return 31;
  return month == 2 && is_leap(year) ? 29 : kDays[month - 1];
}

// Reads exactly `n` digits at `pos`; false when they are not all digits.
bool read_digits(std::string_view s, std::size_t& pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  pos += n;
  return true;
}

bool expect(std::string_view s, std::size_t& pos, char c) {
  if (pos >= s.size() || s[pos] != c) return false;
  ++pos;
  return true;
}

// The offending text for an error message: at most 64 bytes, ASCII only (a
// date is ASCII; anything else, e.g. bytes that are not UTF-8, becomes '?').
std::string printable(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 64)) {
    auto u = static_cast<unsigned char>(c);
    out += (u >= 0x20 && u < 0x7f) ? c : '?';
  }
  if (text.size() > 64) out += "...";
  return out;
}

}  // namespace

Result<FhirDateTime> parse_fhir_date_time(std::string_view text, const std::string& path) {
  const auto bad = [&] { return Status::Invalid(path, "'" + printable(text) + "' is not a date"); };
  FhirDateTime d;
  std::size_t pos = 0;
  if (!read_digits(text, pos, 4, d.year) || d.year < 1) return bad();
  d.precision = DatePrecision::year;
  if (pos == text.size()) return d;
  if (!expect(text, pos, '-') || !read_digits(text, pos, 2, d.month)) return bad();
  if (d.month < 1 || d.month > 12) return bad();
  d.precision = DatePrecision::month;
  if (pos == text.size()) return d;
  if (!expect(text, pos, '-') || !read_digits(text, pos, 2, d.day)) return bad();
  if (d.day < 1 || d.day > days_in_month(d.year, d.month)) return bad();
  d.precision = DatePrecision::day;
  if (pos == text.size()) return d;
  // Time: hh:mm[:ss[.fff...]] then an optional zone (FHIR requires one on
  // dateTime/instant with a time; search also accepts it without).
  if (!expect(text, pos, 'T') || !read_digits(text, pos, 2, d.hour) || !expect(text, pos, ':') ||
      !read_digits(text, pos, 2, d.minute))
    return bad();
  if (d.hour > 23 || d.minute > 59) return bad();
  d.precision = DatePrecision::minute;
  if (pos < text.size() && text[pos] == ':') {
    ++pos;
    if (!read_digits(text, pos, 2, d.second) || d.second > 60) return bad();  // 60: leap second
    d.precision = DatePrecision::second;
    if (pos < text.size() && text[pos] == '.') {
      ++pos;
      std::size_t start = pos;
      int ms = 0, digits = 0;
      while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
        if (digits < 3) ms = ms * 10 + (text[pos] - '0'), ++digits;
        ++pos;
      }
      if (pos == start) return bad();
      while (digits < 3) ms *= 10, ++digits;
      d.millisecond = ms;
      d.precision = DatePrecision::millisecond;
    }
  }
  if (pos == text.size()) return d;
  if (text[pos] == 'Z') {
    d.tz_offset_minutes = 0;
    ++pos;
  } else if (text[pos] == '+' || text[pos] == '-') {
    int sign = text[pos] == '-' ? -1 : 1;
    ++pos;
    int hh = 0, mm = 0;
    if (!read_digits(text, pos, 2, hh) || !expect(text, pos, ':') ||
        !read_digits(text, pos, 2, mm) || hh > 14 || mm > 59)
      return bad();
    d.tz_offset_minutes = sign * (hh * 60 + mm);
  } else {
    return bad();
  }
  if (pos != text.size()) return bad();
  return d;
}

std::int64_t to_icure_fuzzy_date(const FhirDateTime& d) {
  return static_cast<std::int64_t>(d.year) * 10000 + d.month * 100 + d.day;
}

std::int64_t to_icure_date_time(const FhirDateTime& d) {
  return to_icure_fuzzy_date(d) * 1000000 + d.hour * 10000 + d.minute * 100 + d.second;
}

std::pair<std::int64_t, std::int64_t> icure_range(const FhirDateTime& d, int digits) {
  // The low end keeps the value's own zeros (19740000), so fuzzy stored dates
  // of the same precision fall inside the range.
  std::int64_t low_date = to_icure_fuzzy_date(d);
  std::int64_t high_date = 0;
  switch (d.precision) {
    case DatePrecision::year: high_date = d.year * 10000LL + 1231; break;
    case DatePrecision::month:
      high_date = d.year * 10000LL + d.month * 100 + days_in_month(d.year, d.month);
      break;
    default: high_date = low_date; break;
  }
  if (digits == 8) return {low_date, high_date};
  std::int64_t low = to_icure_date_time(d);
  std::int64_t high = 0;
  switch (d.precision) {
    case DatePrecision::year:
    case DatePrecision::month:
    case DatePrecision::day:
      low = low_date * 1000000;
      high = high_date * 1000000 + 235959;
      break;
    case DatePrecision::minute:
      high = low_date * 1000000 + d.hour * 10000 + d.minute * 100 + 59;
      break;
    default: high = low; break;
  }
  return {low, high};
}

std::optional<std::string> fuzzy_date_to_fhir(std::int64_t yyyymmdd) {
  if (yyyymmdd <= 0) return std::nullopt;
  // iCure also accepts YYYYMMDDhhmmss in date fields: keep the date part.
  if (yyyymmdd > 99991231) yyyymmdd /= 1000000;
  int year = static_cast<int>(yyyymmdd / 10000);
  int month = static_cast<int>(yyyymmdd / 100 % 100);
  int day = static_cast<int>(yyyymmdd % 100);
  if (year < 1 || year > 9999 || month > 12 || (month == 0 && day != 0)) return std::nullopt;
  if (day > days_in_month(year, month)) return std::nullopt;
  // Digits by hand: snprintf was a visible share of the mapping's time.
  char buf[10] = {static_cast<char>('0' + year / 1000),
                  static_cast<char>('0' + year / 100 % 10),
                  static_cast<char>('0' + year / 10 % 10),
                  static_cast<char>('0' + year % 10),
                  '-',
                  static_cast<char>('0' + month / 10),
                  static_cast<char>('0' + month % 10),
                  '-',
                  static_cast<char>('0' + day / 10),
                  static_cast<char>('0' + day % 10)};
  return std::string(buf, month == 0 ? 4 : day == 0 ? 7 : 10);
}

}  // namespace fhirbridge::mapping
