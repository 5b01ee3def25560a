// Small helpers shared by the benchmark programs: timing, argument parsing,
// the synthetic corpus and the table printer. Benchmarks print tables; they
// never assert on times.
#pragma once

#include <boost/json.hpp>

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <initializer_list>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "fhirbridge/synthetic/generator.hpp"

namespace fhirbridge::bench {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// CPU seconds of this process: on a shared machine, a single-threaded
// benchmark's CPU time is much steadier than wall time (other jobs steal the
// core, not the work).
inline double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Wall and CPU time of one measured stretch.
struct Stopwatch {
  Clock::time_point wall_start = Clock::now();
  double cpu_start = cpu_seconds();
  double wall() const { return seconds_since(wall_start); }
  double cpu() const { return cpu_seconds() - cpu_start; }
};

// --name value / --flag parsing; unknown options are an error (exit 2).
struct Args {
  Args(int argc, char** argv) : args(argv + 1, argv + argc) {}
  std::vector<std::string> args;
  // Every program calls this first: --help / -h prints `usage` (exit 0);
  // anything that is neither one of `valued` (followed by its value) nor one
  // of `flags` prints the error and `usage` (exit 2), rather than a long run
  // with a misspelt option ignored.
  void accept_only(std::initializer_list<const char*> valued,
                   std::initializer_list<const char*> flags, const char* usage) const {
    auto is = [](std::initializer_list<const char*> names, const std::string& arg) {
      return std::any_of(names.begin(), names.end(), [&](const char* n) { return arg == n; });
    };
    for (std::size_t i = 0; i < args.size(); ++i) {
      if (args[i] == "--help" || args[i] == "-h") {
        std::cout << usage;
        std::exit(0);
      }
      if (is(flags, args[i])) continue;
      if (is(valued, args[i]) && i + 1 < args.size()) {
        ++i;
        continue;
      }
      std::cerr << (is(valued, args[i]) ? "missing value for " : "unknown option ") << args[i]
                << "\n"
                << usage;
      std::exit(2);
    }
  }
  std::size_t size(const std::string& name, std::size_t fallback) const {
    for (std::size_t i = 0; i + 1 < args.size(); ++i)
      if (args[i] == name) return std::strtoull(args[i + 1].c_str(), nullptr, 10);
    return fallback;
  }
  std::string text(const std::string& name, std::string fallback) const {
    for (std::size_t i = 0; i + 1 < args.size(); ++i)
      if (args[i] == name) return args[i + 1];
    return fallback;
  }
  bool flag(const std::string& name) const {
    return std::find(args.begin(), args.end(), name) != args.end();
  }
};

// One FHIR resource as bytes, and what it is.
struct CorpusItem {
  std::string json;
  bool is_patient = false;
};

// `patients` patients, each followed by `per_patient` observations (the same
// order as `fhirbridge generate`).
inline std::vector<CorpusItem> make_corpus(std::size_t patients, std::size_t per_patient,
                                           std::uint64_t seed) {
  synthetic::Prng prng(seed);
  synthetic::Generator generator(prng);
  std::vector<CorpusItem> out;
  out.reserve(patients * (1 + per_patient));
  for (std::size_t i = 0; i < patients; ++i) {
    auto patient = generator.patient();
    const std::string id(patient.at("id").as_string());
    out.push_back({boost::json::serialize(patient), true});
    for (std::size_t k = 0; k < per_patient; ++k)
      out.push_back({boost::json::serialize(generator.observation(id)), false});
  }
  return out;
}

inline std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown CPU";
}

inline void print_machine() {
  std::printf("machine: %u hardware threads, %s\n", std::thread::hardware_concurrency(),
              cpu_model().c_str());
}

// "12.3k" style counts for rates.
inline std::string rate(double per_second) {
  char buf[32];
  if (per_second >= 1e6)
    std::snprintf(buf, sizeof buf, "%.2fM", per_second / 1e6);
  else if (per_second >= 1e3)
    std::snprintf(buf, sizeof buf, "%.1fk", per_second / 1e3);
  else
    std::snprintf(buf, sizeof buf, "%.0f", per_second);
  return buf;
}

inline double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

}  // namespace fhirbridge::bench
