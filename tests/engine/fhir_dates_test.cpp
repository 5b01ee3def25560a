#include <boost/test/unit_test.hpp>

#include "fhirbridge/mapping/code_systems.hpp"
#include "fhirbridge/mapping/code_tables.hpp"
#include "fhirbridge/mapping/fhir_dates.hpp"

using namespace fhirbridge;
using namespace fhirbridge::mapping;

BOOST_AUTO_TEST_SUITE(fhir_dates)

BOOST_AUTO_TEST_CASE(partial_dates_become_fuzzy_dates) {
  auto y = parse_fhir_date_time("1974", "Patient.birthDate");
  BOOST_REQUIRE(y.ok());
  BOOST_TEST(to_icure_fuzzy_date(*y) == 19740000);
  BOOST_TEST(static_cast<int>(y->precision) == static_cast<int>(DatePrecision::year));
  auto m = parse_fhir_date_time("1974-12", "p");
  BOOST_REQUIRE(m.ok());
  BOOST_TEST(to_icure_fuzzy_date(*m) == 19741200);
  auto d = parse_fhir_date_time("1974-12-25", "p");
  BOOST_REQUIRE(d.ok());
  BOOST_TEST(to_icure_fuzzy_date(*d) == 19741225);
  BOOST_TEST(!d->tz_offset_minutes.has_value());
}

BOOST_AUTO_TEST_CASE(date_times_keep_wall_time_and_zone) {
  auto t = parse_fhir_date_time("2013-04-02T09:30:10+01:00", "p");
  BOOST_REQUIRE(t.ok());
  BOOST_TEST(to_icure_date_time(*t) == 20130402093010LL);
  BOOST_TEST(*t->tz_offset_minutes == 60);
  auto z = parse_fhir_date_time("2013-04-02T09:30:10.1234Z", "p");
  BOOST_REQUIRE(z.ok());
  BOOST_TEST(z->millisecond == 123);
  BOOST_TEST(*z->tz_offset_minutes == 0);
  BOOST_TEST(static_cast<int>(z->precision) == static_cast<int>(DatePrecision::millisecond));
  auto neg = parse_fhir_date_time("2013-04-02T09:30:10-05:30", "p");
  BOOST_REQUIRE(neg.ok());
  BOOST_TEST(*neg->tz_offset_minutes == -330);
  auto minute = parse_fhir_date_time("2013-04-02T09:30", "p");
  BOOST_REQUIRE(minute.ok());
  BOOST_TEST(static_cast<int>(minute->precision) == static_cast<int>(DatePrecision::minute));
}

BOOST_AUTO_TEST_CASE(bad_dates_are_errors_with_the_path) {
  auto r = parse_fhir_date_time("1974-13", "Patient.birthDate");
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.status().to_string() == "Patient.birthDate: '1974-13' is not a date");
  BOOST_TEST((r.status().code() == StatusCode::invalid));
  for (const char* bad : {"", "74", "1974-02-30", "1975-02-29", "1974-1", "1974-12-25T25:00:00Z",
                          "1974-12-25T10:00:00+1:00", "1974-12-25 10:00", "1974-12-25T10:00:00Zx",
                          "abcd", "1974-12-25T10:00:00."})
    BOOST_TEST(!parse_fhir_date_time(bad, "p").ok(), bad);
  BOOST_TEST(parse_fhir_date_time("1976-02-29", "p").ok());
  // the message stays printable ASCII whatever the bytes were
  BOOST_TEST(parse_fhir_date_time("19\xff\n\xc3\xa9", "p").status().message() ==
             "'19?"
             "???' is not a date");  // split: "??'" would be a trigraph
}

BOOST_AUTO_TEST_CASE(ranges_cover_the_precision) {
  auto y = *parse_fhir_date_time("1974", "p");
  BOOST_TEST(icure_range(y, 8).first == 19740000);
  BOOST_TEST(icure_range(y, 8).second == 19741231);
  BOOST_TEST(icure_range(y, 14).first == 19740000000000LL);
  BOOST_TEST(icure_range(y, 14).second == 19741231235959LL);
  auto m = *parse_fhir_date_time("1976-02", "p");
  BOOST_TEST(icure_range(m, 8).second == 19760229);
  auto d = *parse_fhir_date_time("1976-02-03", "p");
  BOOST_TEST(icure_range(d, 14).first == 19760203000000LL);
  BOOST_TEST(icure_range(d, 14).second == 19760203235959LL);
  auto mi = *parse_fhir_date_time("1976-02-03T10:20Z", "p");
  BOOST_TEST(icure_range(mi, 14).first == 19760203102000LL);
  BOOST_TEST(icure_range(mi, 14).second == 19760203102059LL);
  auto s = *parse_fhir_date_time("1976-02-03T10:20:30Z", "p");
  BOOST_TEST(icure_range(s, 14).first == icure_range(s, 14).second);
}

BOOST_AUTO_TEST_CASE(epoch_ranges_cover_the_precision_in_utc_or_the_zone) {
  auto range = [](const char* text) {
    auto d = parse_fhir_date_time(text, "_lastUpdated");
    BOOST_REQUIRE(d.ok());
    return epoch_ms_range(*d);
  };
  const std::int64_t day_2026_12_03 = 1796256000000;  // 2026-12-03T00:00:00Z
  BOOST_TEST(range("2026-12-03").first == day_2026_12_03);
  BOOST_TEST(range("2026-12-03").second == day_2026_12_03 + 86400000 - 1);
  // December rolls over to the next year; a year is 365 or 366 days.
  BOOST_TEST(range("2026-12").second == 1798761600000 - 1);  // 2027-01-01T00:00:00Z - 1 ms
  BOOST_TEST(range("2024").second - range("2024").first == 366LL * 86400000 - 1);
  // The zone applies: 10:00+01:00 is 09:00Z, for one second at second precision.
  auto t = range("2026-12-03T10:00:00+01:00");
  BOOST_TEST(t.first == day_2026_12_03 + 9 * 3600000);
  BOOST_TEST(t.second == t.first + 999);
  BOOST_TEST(range("2026-12-03T10:00:00.250Z").first == day_2026_12_03 + 10 * 3600000 + 250);
  BOOST_TEST(range("2026-12-03T10:00:00.250Z").second == range("2026-12-03T10:00:00.250Z").first);
  BOOST_TEST(range("1969-12-31").first == -86400000);
}

BOOST_AUTO_TEST_CASE(fuzzy_dates_back_to_fhir) {
  BOOST_TEST(*fuzzy_date_to_fhir(19740000) == "1974");
  BOOST_TEST(*fuzzy_date_to_fhir(19741200) == "1974-12");
  BOOST_TEST(*fuzzy_date_to_fhir(19741225) == "1974-12-25");
  BOOST_TEST(*fuzzy_date_to_fhir(19741225103000LL) == "1974-12-25");
  BOOST_TEST(!fuzzy_date_to_fhir(19741300).has_value());
  BOOST_TEST(!fuzzy_date_to_fhir(19740025).has_value());
  BOOST_TEST(!fuzzy_date_to_fhir(0).has_value());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(code_systems)

BOOST_AUTO_TEST_CASE(systems_and_types) {
  BOOST_TEST(icure_code_type("http://loinc.org") == "LOINC");
  BOOST_TEST(icure_code_type("http://snomed.info/sct") == "SNOMED");
  BOOST_TEST(icure_code_type("http://unitsofmeasure.org") == "UCUM");
  BOOST_TEST(icure_code_type("CD-ITEM") == "CD-ITEM");
  BOOST_TEST(fhir_code_system("LOINC") == "http://loinc.org");
  BOOST_TEST(fhir_code_system("CD-ITEM") == "CD-ITEM");
  BOOST_TEST(fhir_code_system("urn:oid:1.2.3") == "urn:oid:1.2.3");
}

BOOST_AUTO_TEST_CASE(genders) {
  BOOST_TEST(*icure_gender("male") == "male");
  BOOST_TEST(*icure_gender("other") == "indeterminate");
  BOOST_TEST(*fhir_gender("indeterminate") == "other");
  BOOST_TEST(*fhir_gender("changedToMale") == "other");
  BOOST_TEST(*fhir_gender("unknown") == "unknown");
  BOOST_TEST(!icure_gender("Male").has_value());
  BOOST_TEST(!fhir_gender("x").has_value());
}

BOOST_AUTO_TEST_CASE(small_tables) {
  BOOST_TEST(*icure_name_use("maiden") == "maiden");
  BOOST_TEST(*icure_address_type("temp") == "temporary");
  BOOST_TEST(*fhir_address_use("temporary") == "temp");
  BOOST_TEST(*icure_telecom_type("url") == "web");
  BOOST_TEST(*fhir_telecom_system("mobile") == "phone");
  BOOST_TEST(*icure_telecom_type("sms") == "other");
  BOOST_TEST(*fhir_telecom_system("other") == "other");
  BOOST_TEST(!icure_telecom_type("carrier-pigeon").has_value());
}

BOOST_AUTO_TEST_SUITE_END()
