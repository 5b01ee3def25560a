// Synthetic FHIR data: see fhirbridge/synthetic/generator.hpp.
#include "fhirbridge/synthetic/generator.hpp"

#include <array>
#include <cmath>
#include <cstdio>
#include <string_view>

namespace fhirbridge::synthetic {

namespace json = boost::json;

// ---- Prng ------------------------------------------------------------------

namespace {
std::uint64_t splitmix64(std::uint64_t& x) {
  std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
std::uint64_t rotl(std::uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}
}  // namespace

Prng::Prng(std::uint64_t seed) {
  for (auto& word : s_) word = splitmix64(seed);
}

std::uint64_t Prng::next() {
  const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const std::uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

std::uint64_t Prng::below(std::uint64_t bound) {
  if (bound == 0) return 0;
  // Rejection sampling: drop the top partial range so every value is equally likely.
  const std::uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
  for (;;) {
    std::uint64_t r = next();
    if (r < limit) return r % bound;
  }
}

std::int64_t Prng::between(std::int64_t lo, std::int64_t hi) {
  if (hi <= lo) return lo;
  return lo + static_cast<std::int64_t>(below(static_cast<std::uint64_t>(hi - lo) + 1));
}

double Prng::unit() {
  return static_cast<double>(next() >> 11) * 0x1.0p-53;
}

double Prng::normal(double mean, double sd, double lo, double hi) {
  // Irwin-Hall with 12 uniforms: mean 6, variance 1; good enough and portable.
  double sum = 0;
  for (int i = 0; i < 12; ++i) sum += unit();
  double v = mean + (sum - 6.0) * sd;
  return v < lo ? lo : (v > hi ? hi : v);
}

// ---- vocabularies ------------------------------------------------------------

namespace {

template <std::size_t N>
std::string_view pick(Prng& prng, const std::array<std::string_view, N>& items) {
  return items[prng.below(N)];
}

// Names as found in Belgian/European registries, accents included on purpose
// (search must fold them).
constexpr std::array<std::string_view, 40> kFemaleGiven{
    "Élodie",   "Marie",    "Zoë",    "Léa",    "Anaïs",     "Chloé",   "Emma",    "Sofía",
    "Inès",     "Noémie",   "Hélène", "Ana",    "Agnieszka", "Maëlle",  "Camille", "Louise",
    "Julie",    "Sarah",    "Laura",  "Anna",   "Françoise", "Renée",   "Björk",   "Astrid",
    "Nathalie", "Isabelle", "Ingrid", "Fatima", "Aïcha",     "Yasmine", "Eline",   "Lotte",
    "Femke",    "Fleur",    "Manon",  "Océane", "Clémence",  "Jeanne",  "Marta",   "Dorothée"};
constexpr std::array<std::string_view, 40> kMaleGiven{
    "François", "Jean",     "Luc",      "Pieter", "José",     "Jérôme",  "Noël",      "Mathéo",
    "Loïc",     "Thomas",   "Lucas",    "Hugo",   "Louis",    "Arthur",  "Jules",     "Mohamed",
    "Ahmed",    "Youssef",  "Lars",     "Jörg",   "Stéphane", "André",   "René",      "Benoît",
    "Cédric",   "Frédéric", "Grégoire", "Hervé",  "Joël",     "Raphaël", "Sébastien", "Wim",
    "Jan",      "Koen",     "Bram",     "Daan",   "Miguel",   "Tomás",   "Łukasz",    "Piotr"};
constexpr std::array<std::string_view, 60> kFamily{
    "Dupont",    "Dubois",   "Lambert",  "Peeters",  "Janssens",   "Maes",           "Jacobs",
    "Willems",   "Claes",    "Goossens", "Wouters",  "De Smet",    "Van den Broeck", "Mertens",
    "Lefèvre",   "Lejeune",  "Müller",   "Schröder", "Nuñez",      "García",         "Fernández",
    "Ørsted",    "Šimić",    "Kovač",    "Nowak",    "Wiśniewski", "Brontë",         "Gonçalves",
    "Lemaître",  "Rémy",     "Denis",    "Martin",   "Bernard",    "Thomas",         "Petit",
    "Robert",    "Richard",  "Durand",   "Leroy",    "Moreau",     "Simon",          "Laurent",
    "Michel",    "Garcia",   "David",    "Bertrand", "Roux",       "Vincent",        "Fournier",
    "Morel",     "Girard",   "André",    "Mercier",  "Blanc",      "Guérin",         "Boyer",
    "Chevalier", "François", "Legrand",  "Gauthier"};
constexpr std::array<std::string_view, 16> kCities{
    "Bruxelles", "Liège",   "Namur", "Gent",  "Antwerpen", "Leuven", "Mons", "Charleroi",
    "Brugge",    "Hasselt", "Wavre", "Arlon", "Genève",    "Lyon",   "Köln", "Maastricht"};
constexpr std::array<std::string_view, 12> kStreets{"Rue de la Loi",
                                                    "Avenue Louise",
                                                    "Chaussée de Wavre",
                                                    "Boulevard Anspach",
                                                    "Kerkstraat",
                                                    "Stationsstraat",
                                                    "Rue du Marché",
                                                    "Place Saint-Lambert",
                                                    "Grand-Rue",
                                                    "Rue des Écoles",
                                                    "Meir",
                                                    "Rue Émile Francqui"};

struct Quantity {
  std::string_view loinc, display, ucum, unit, category;
  double mean, sd, lo, hi;
  int decimals;
};

// LOINC vitals and labs with their UCUM units (the brief's list plus a few more).
constexpr std::array<Quantity, 14> kQuantities{{
    {"8867-4", "Heart rate", "/min", "beats/minute", "vital-signs", 74, 12, 38, 180, 0},
    {"29463-7", "Body weight", "kg", "kg", "vital-signs", 74, 15, 35, 180, 1},
    {"8302-2", "Body height", "cm", "cm", "vital-signs", 170, 10, 140, 205, 0},
    {"39156-5", "Body mass index (BMI) [Ratio]", "kg/m2", "kg/m2", "vital-signs", 25.5, 4, 15, 50,
     1},
    {"8310-5", "Body temperature", "Cel", "°C", "vital-signs", 36.9, 0.5, 35, 41, 1},
    {"9279-1", "Respiratory rate", "/min", "breaths/minute", "vital-signs", 16, 3, 8, 40, 0},
    {"59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "%", "%", "vital-signs",
     97, 1.5, 80, 100, 0},
    {"8480-6", "Systolic blood pressure", "mm[Hg]", "mmHg", "vital-signs", 125, 15, 80, 220, 0},
    {"15074-8", "Glucose [Moles/volume] in Blood", "mmol/L", "mmol/L", "laboratory", 5.6, 1.2, 2.5,
     25, 1},
    {"718-7", "Hemoglobin [Mass/volume] in Blood", "g/dL", "g/dL", "laboratory", 14, 1.5, 6, 20, 1},
    {"2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "mg/dL", "mg/dL", "laboratory", 0.95,
     0.25, 0.3, 8, 2},
    {"2093-3", "Cholesterol [Mass/volume] in Serum or Plasma", "mg/dL", "mg/dL", "laboratory", 195,
     35, 90, 400, 0},
    {"4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "%", "%", "laboratory", 5.7, 0.8, 4, 14,
     1},
    {"2823-3", "Potassium [Moles/volume] in Serum or Plasma", "mmol/L", "mmol/L", "laboratory", 4.2,
     0.4, 2.5, 7, 1},
}};

double round_to(double v, int decimals) {
  const double scale = std::pow(10.0, decimals);
  return std::round(v * scale) / scale;
}

json::object coding(std::string_view system, std::string_view code, std::string_view display) {
  return json::object{{"system", system}, {"code", code}, {"display", display}};
}

json::object quantity(double value, std::string_view unit, std::string_view ucum) {
  return json::object{
      {"value", value}, {"unit", unit}, {"system", "http://unitsofmeasure.org"}, {"code", ucum}};
}

json::array category(std::string_view code) {
  const bool vital = code == "vital-signs";
  return json::array{json::object{
      {"coding", json::array{coding("http://terminology.hl7.org/CodeSystem/observation-category",
                                    code, vital ? "Vital Signs" : "Laboratory")}}}};
}

std::string two_digits(int v) {
  char buf[4];
  std::snprintf(buf, sizeof buf, "%02d", v % 100);
  return buf;
}

bool leap(int y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}
int days_in_month(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : kDays[m - 1];
}

}  // namespace

const std::vector<std::string>& Generator::loinc_codes() {
  static const std::vector<std::string> codes = [] {
    std::vector<std::string> out;
    for (const auto& q : kQuantities) out.emplace_back(q.loinc);
    out.emplace_back("85354-9");  // the blood-pressure panel
    return out;
  }();
  return codes;
}

Generator::Generator(Prng& prng, GeneratorOptions options) : prng_(prng), options_(options) {}

std::string Generator::uuid() {
  const std::uint64_t hi = prng_.next(), lo = prng_.next();
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xffff), static_cast<unsigned>(hi & 0xfff),
                static_cast<unsigned>(0x8000 | ((lo >> 48) & 0x3fff)),
                static_cast<unsigned long long>(lo & 0xffffffffffffULL));
  return buf;
}

std::string Generator::date_time_before_reference() {
  // Any minute in the five years before the reference day (UTC, whole minutes).
  int year = options_.reference_year - static_cast<int>(prng_.below(5));
  int month = static_cast<int>(prng_.between(1, 12));
  if (year == options_.reference_year && month > options_.reference_month) year -= 1;
  int day = static_cast<int>(prng_.between(1, days_in_month(year, month)));
  int hour = static_cast<int>(prng_.between(7, 19)), minute = static_cast<int>(prng_.below(60));
  return std::to_string(year) + "-" + two_digits(month) + "-" + two_digits(day) + "T" +
         two_digits(hour) + ":" + two_digits(minute) + ":00Z";
}

json::object Generator::patient() {
  json::object p;
  p["resourceType"] = "Patient";
  const std::string id = uuid();
  p["id"] = id;

  // 49% female, 49% male, 1% other, 1% unknown (as registries report).
  const std::uint64_t g = prng_.below(100);
  const char* gender = g < 49 ? "female" : g < 98 ? "male" : g < 99 ? "other" : "unknown";
  const bool female = g < 49 || (g >= 98 && prng_.chance(0.5));
  auto given_name = [&] {
    return std::string(female ? pick(prng_, kFemaleGiven) : pick(prng_, kMaleGiven));
  };

  const std::string family(pick(prng_, kFamily));
  json::array given{json::string(given_name())};
  if (prng_.chance(0.3)) given.emplace_back(json::string(given_name()));
  json::array names{json::object{{"use", "official"}, {"family", family}, {"given", given}}};
  if (female && prng_.chance(0.15))  // maiden name
    names.emplace_back(json::object{
        {"use", "maiden"}, {"family", pick(prng_, kFamily)}, {"given", json::array{given[0]}}});
  p["active"] = true;

  // SSIN-like national number (YYMMDD + 5 digits) and a hospital MRN.
  const int year = static_cast<int>(prng_.between(1930, options_.reference_year - 1));
  const int month = static_cast<int>(prng_.between(1, 12));
  const int day = static_cast<int>(prng_.between(1, days_in_month(year, month)));
  char ssin[16], mrn[16];
  std::snprintf(ssin, sizeof ssin, "%s%s%s%05llu", two_digits(year).c_str(),
                two_digits(month).c_str(), two_digits(day).c_str(),
                static_cast<unsigned long long>(prng_.below(100000)));
  std::snprintf(mrn, sizeof mrn, "MRN%08llu",
                static_cast<unsigned long long>(prng_.below(100000000)));
  p["identifier"] = json::array{
      json::object{{"use", "official"},
                   {"system", "https://www.ehealth.fgov.be/standards/fhir/core/NamingSystem/ssin"},
                   {"value", ssin}},
      json::object{
          {"use", "usual"}, {"system", "urn:oid:2.16.840.1.113883.2.4.6.3"}, {"value", mrn}}};
  p["name"] = std::move(names);
  char phone[24];
  std::snprintf(phone, sizeof phone, "+32 4%02llu %02llu %02llu %02llu",
                static_cast<unsigned long long>(prng_.below(100)),
                static_cast<unsigned long long>(prng_.below(100)),
                static_cast<unsigned long long>(prng_.below(100)),
                static_cast<unsigned long long>(prng_.below(100)));
  p["telecom"] =
      json::array{json::object{{"system", "phone"}, {"value", phone}, {"use", "mobile"}}};
  p["gender"] = gender;
  p["birthDate"] = std::to_string(year) + "-" + two_digits(month) + "-" + two_digits(day);
  p["address"] = json::array{
      json::object{{"use", "home"},
                   {"line", json::array{json::string(std::string(pick(prng_, kStreets)) + " " +
                                                     std::to_string(prng_.between(1, 250)))}},
                   {"city", pick(prng_, kCities)},
                   {"postalCode", std::to_string(prng_.between(1000, 9999))},
                   {"country", "BE"}}};
  return p;
}

json::object Generator::observation(const std::string& patient_id) {
  json::object o;
  o["resourceType"] = "Observation";
  o["id"] = uuid();
  o["status"] = "final";
  const std::string when = date_time_before_reference();
  const json::string subject("Patient/" + patient_id);

  if (prng_.chance(options_.panel_share)) {
    const double systolic = std::round(prng_.normal(125, 15, 80, 220));
    const double diastolic = std::round(prng_.normal(80, 10, 40, systolic - 20));
    auto component = [](std::string_view code, std::string_view display, double v) {
      return json::object{
          {"code",
           json::object{{"coding", json::array{coding("http://loinc.org", code, display)}}}},
          {"valueQuantity", quantity(v, "mmHg", "mm[Hg]")}};
    };
    o["category"] = category("vital-signs");
    o["code"] = json::object{
        {"coding", json::array{coding("http://loinc.org", "85354-9",
                                      "Blood pressure panel with all children optional")}},
        {"text", "Blood pressure"}};
    o["subject"] = json::object{{"reference", subject}};
    o["effectiveDateTime"] = when;
    o["component"] = json::array{component("8480-6", "Systolic blood pressure", systolic),
                                 component("8462-4", "Diastolic blood pressure", diastolic)};
    return o;
  }

  const Quantity& q = kQuantities[prng_.below(kQuantities.size())];
  o["category"] = category(q.category);
  o["code"] = json::object{{"coding", json::array{coding("http://loinc.org", q.loinc, q.display)}},
                           {"text", q.display}};
  o["subject"] = json::object{{"reference", subject}};
  o["effectiveDateTime"] = when;
  o["valueQuantity"] =
      quantity(round_to(prng_.normal(q.mean, q.sd, q.lo, q.hi), q.decimals), q.unit, q.ucum);
  return o;
}

}  // namespace fhirbridge::synthetic
