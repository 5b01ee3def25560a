// Synthetic but realistic FHIR R4 data (Patients and the Observations that
// reference them) for benchmarks and tests, so neither needs downloads.
//
// Deterministic: everything comes from the Prng passed in (xoshiro256**,
// seeded with splitmix64), whose output is the same on every platform, unlike
// the std:: distributions. No clock, no global randomness: the reference date
// observations are spread before is an option.
#pragma once

#include <boost/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace fhirbridge::synthetic {

// xoshiro256** (Blackman & Vigna), seeded through splitmix64.
class Prng {
 public:
  explicit Prng(std::uint64_t seed);
  std::uint64_t next();
  // Uniform in [0, bound) without modulo bias; bound 0 gives 0.
  std::uint64_t below(std::uint64_t bound);
  // Uniform in [lo, hi] (inclusive).
  std::int64_t between(std::int64_t lo, std::int64_t hi);
  // Uniform in [0, 1).
  double unit();
  // Approximately normal (sum of uniforms), clamped to [lo, hi].
  double normal(double mean, double sd, double lo, double hi);
  bool chance(double probability) { return unit() < probability; }

 private:
  std::uint64_t s_[4];
};

struct GeneratorOptions {
  // Observations are dated in the 5 years before this day (YYYY-MM-DD), and
  // birth dates are between 1930-01-01 and it.
  int reference_year = 2025, reference_month = 6, reference_day = 30;
  // Share of observations that are blood-pressure panels with two components.
  double panel_share = 0.1;
};

class Generator {
 public:
  Generator(Prng& prng, GeneratorOptions options = {});

  // A Patient with a random UUID id, one or two names (accented ones among
  // them), gender, birthDate, an SSIN-like and an MRN identifier, telecom and
  // address.
  boost::json::object patient();
  // An Observation of `patient_id` ("subject": "Patient/<patient_id>"): a LOINC
  // vital sign or lab result with an adult-plausible UCUM quantity, or
  // (panel_share) a blood-pressure panel with systolic/diastolic components.
  boost::json::object observation(const std::string& patient_id);

  // The LOINC codes observation() draws from (for tests and code searches).
  static const std::vector<std::string>& loinc_codes();

 private:
  std::string uuid();
  std::string date_time_before_reference();
  Prng& prng_;
  GeneratorOptions options_;
};

}  // namespace fhirbridge::synthetic
