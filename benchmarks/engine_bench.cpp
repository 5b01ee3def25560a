// engine_bench: FHIR JSON -> iCure JSON throughput (parse + map + serialise),
// next to the bare Boost.JSON parse + serialise of the same bytes. The ratio
// of the two, measured in the same run with rounds interleaved, is the figure
// (target: mapping >= 50% of bare). See benchmarks/README.md.
//
//   engine_bench [--patients 4000] [--observations-per-patient 4] [--rounds 5] [--seed 1]
//                [--heap-parse] [--profile N] [--profile-bare N]
//
// The mapped path parses each resource into a per-resource arena
// (json_io::Arena, a bump allocator over a stack buffer): the mapping reads the tree by
// reference and copies what it keeps, so the tree is dropped in one go instead
// of one free per node. That is how a caller of the engine should parse (the
// residual no longer copies the input either). --heap-parse parses with the
// default heap resource instead, exactly as the bare path does.
#include <boost/json.hpp>

#include "bench_util.hpp"
#include "fhirbridge/json_arena.hpp"
#include "fhirbridge/json_io.hpp"
#include "fhirbridge/mapping/context.hpp"
#include "fhirbridge/mapping/json_writer.hpp"
#include "fhirbridge/mapping/observation.hpp"
#include "fhirbridge/mapping/patient.hpp"

using namespace fhirbridge;
using namespace fhirbridge::bench;
namespace json = boost::json;

namespace {

struct Totals {
  std::size_t resources = 0, bytes_in = 0, bytes_out = 0, errors = 0;
};

// Bare: what any JSON service does with the bytes at least once.
Totals bare(const std::vector<CorpusItem>& corpus, bool patients, bool observations) {
  Totals t;
  for (const auto& item : corpus) {
    if (item.is_patient ? !patients : !observations) continue;
    json::value v = json::parse(item.json);
    t.bytes_out += json::serialize(v).size();
    t.bytes_in += item.json.size();
    ++t.resources;
  }
  return t;
}

// The engine: parse, map to the typed iCure entity, write it as iCure JSON.
Totals mapped(const std::vector<CorpusItem>& corpus, const mapping::MappingContext& ctx,
              bool patients, bool observations, bool heap_parse) {
  Totals t;
  for (const auto& item : corpus) {
    if (item.is_patient ? !patients : !observations) continue;
    alignas(16) unsigned char buffer[32768];
    json_io::Arena arena(buffer, sizeof buffer);
    json::value v = heap_parse ? json::parse(item.json) : json::parse(item.json, &arena);
    if (item.is_patient) {
      auto p = mapping::fhir_patient_to_icure(v, ctx);
      if (!p.ok()) {
        ++t.errors;
        continue;
      }
      t.bytes_out += json_writer::to_string(*p).size();
    } else {
      auto o = mapping::fhir_observation_to_icure(v, ctx);
      if (!o.ok()) {
        ++t.errors;
        continue;
      }
      t.bytes_out += json_writer::to_string(o->contact).size();
    }
    t.bytes_in += item.json.size();
    ++t.resources;
  }
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  const Args args(argc, argv);
  args.accept_only({"--patients", "--observations-per-patient", "--rounds", "--seed", "--profile",
                    "--profile-bare"},
                   {"--heap-parse"},
                   "usage: engine_bench [--patients 4000] [--observations-per-patient 4] "
                   "[--rounds 5] [--seed 1]\n"
                   "  [--heap-parse] [--profile N | --profile-bare N]   (benchmarks/README.md)\n");
  const std::size_t patients = args.size("--patients", 4000);
  const std::size_t per_patient = args.size("--observations-per-patient", 4);
  const std::size_t rounds = std::max<std::size_t>(1, args.size("--rounds", 5));
  const bool heap_parse = args.flag("--heap-parse");
  // --profile N: only the mapped path of the mix, N times, no table (for perf/callgrind);
  // --profile-bare N: the same for the bare path.
  const std::size_t profile_rounds = args.size("--profile", 0);
  const std::size_t profile_bare_rounds = args.size("--profile-bare", 0);
  const auto corpus = make_corpus(patients, per_patient, args.size("--seed", 1));
  std::size_t corpus_bytes = 0;
  for (const auto& c : corpus) corpus_bytes += c.json.size();

  // Ids from a counter, as the production CSPRNG is not what is measured here.
  std::size_t counter = 0;
  mapping::MappingContext ctx;
  // (hex digits by hand: snprintf alone cost ~10% of an Observation's mapping)
  ctx.new_id = [&counter] {
    std::string id = "00000000-0000-4000-8000-000000000000";
    std::size_t n = ++counter;
    for (std::size_t i = id.size(); n != 0 && i-- > 24; n >>= 4) id[i] = "0123456789abcdef"[n & 15];
    return id;
  };
  ctx.now_ms = [] { return std::int64_t{1700000000000}; };

  if (profile_rounds) {
    std::size_t mapped_resources = 0;
    for (std::size_t r = 0; r < profile_rounds; ++r)
      mapped_resources += mapped(corpus, ctx, true, true, heap_parse).resources;
    std::printf("profile: %zu resources mapped\n", mapped_resources);
    return 0;
  }
  if (profile_bare_rounds) {
    std::size_t bare_resources = 0;
    for (std::size_t r = 0; r < profile_bare_rounds; ++r)
      bare_resources += bare(corpus, true, true).resources;
    std::printf("profile: %zu resources parsed and serialised (bare)\n", bare_resources);
    return 0;
  }

  print_machine();
  std::printf(
      "corpus: %zu resources (%zu Patients, %zu Observations), %.1f MB, %zu rounds, best CPU time "
      "of each\nmapped path parses into %s\n\n",
      corpus.size(), patients, patients * per_patient, corpus_bytes / 1e6, rounds,
      heap_parse ? "the heap (--heap-parse), as bare does" : "a per-resource arena");

  struct Row {
    const char* name;
    bool patients, observations;
  };
  const Row rows[] = {{"mix", true, true}, {"Patient", true, false}, {"Observation", false, true}};
  std::printf("%-12s %14s %14s %10s %12s\n", "resources", "bare res/s", "mapped res/s", "ratio",
              "mapped MB/s");
  for (const Row& row : rows) {
    double best_bare = 1e100, best_mapped = 1e100;
    Totals tb, tm;
    for (std::size_t r = 0; r < rounds; ++r) {  // interleaved: both see the same noise
      double start = cpu_seconds();
      tb = bare(corpus, row.patients, row.observations);
      best_bare = std::min(best_bare, cpu_seconds() - start);
      start = cpu_seconds();
      tm = mapped(corpus, ctx, row.patients, row.observations, heap_parse);
      best_mapped = std::min(best_mapped, cpu_seconds() - start);
    }
    const double bare_rate = tb.resources / best_bare, mapped_rate = tm.resources / best_mapped;
    std::printf("%-12s %14s %14s %9.0f%% %12.1f%s\n", row.name, rate(bare_rate).c_str(),
                rate(mapped_rate).c_str(), 100.0 * mapped_rate / bare_rate,
                tm.bytes_in / best_mapped / 1e6,
                tm.errors ? ("  (" + std::to_string(tm.errors) + " mapping errors!)").c_str() : "");
  }
  return 0;
}
