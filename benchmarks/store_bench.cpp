// store_bench: the encrypted SQLite store under load. Prints, at each size
// (10k and 100k patients by default; 1M with --million):
//   - encrypted inserts/s: batched (Store::apply, 1000 patients + their
//     observations per transaction) and one transaction per call;
//   - point reads/s (get_patient, decrypting);
//   - search latency (median wall and CPU): name prefix (3 characters, any part), family
//     prefix (4 characters), exact family+given, LOINC code, code of one patient; and the
//     growth factor against the first size;
//   - the same searches again at the end, on a copy of the store kept at each size, measured
//     in turn (interleaved rounds): their growth factors are ratios of one moment, which
//     the machine's drift between sizes does not move;
//   - bulk NDJSON import resources/s (parse + map + seal + insert) and re-run.
// Everything is measured in one run: compare rows, not absolute numbers.
//
//   store_bench [--sizes 10000,100000] [--million] [--observations-per-patient 2]
//               [--queries 200] [--import-patients 5000] [--dir /tmp] [--seed 1]
//               [--keep]  (leave the store file for a look with the sqlite3 CLI)
//               [--interleaved-rounds 5]  (0: no copies, no interleaved block)
//               [--threads 4]   (callers of the concurrent rows: reads in parallel,
//                                writes grouped into shared commits)
//               [--warm]  (read the store file through after each fill, so the reads
//                          and searches find it in the OS page cache: see warm_file)
#include <botan/auto_rng.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <span>
#include <sstream>
#include <thread>

#include "bench_util.hpp"
#include "fhirbridge/crypto/keychain.hpp"
#include "fhirbridge/crypto/primitives.hpp"
#include "fhirbridge/mapping/observation.hpp"
#include "fhirbridge/mapping/patient.hpp"
#include "fhirbridge/server/bulk.hpp"
#include "fhirbridge/server/server_context.hpp"
#include "fhirbridge/storage/sqlite_store.hpp"

using namespace fhirbridge;
using namespace fhirbridge::bench;
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

[[noreturn]] void die(const std::string& what, const Status& s) {
  std::fprintf(stderr, "store_bench: %s: %s\n", what.c_str(), s.to_string().c_str());
  std::exit(1);
}

struct Bench {
  Botan::AutoSeeded_RNG rng;
  crypto::Keychain keychain;
  std::unique_ptr<storage::SqliteStore> store;
  storage::Principal who{"hcp-bench", "user-bench"};
  mapping::MappingContext ctx;

  // existing: a copy of a store made by another Bench (its party is already there).
  Bench(const fs::path& file, const crypto::RsaKeyPair& keys, bool existing = false) {
    storage::SqliteStoreOptions options;  // the production defaults (System_RNG)
    auto opened = storage::SqliteStore::open(file, keychain, options);
    if (!opened.ok()) die("open", opened.status());
    store = std::move(*opened);
    if (auto s = keychain.put(who.hcp_id, keys.private_key_pkcs8, keys.public_key_hex); !s.ok())
      die("keychain", s);
    ctx = server::make_system_mapping_context();  // what the server and `import` use
    if (existing) return;
    icure::HealthcareParty hcp;
    hcp.id = who.hcp_id;
    hcp.name = "Dr Bench";
    hcp.publicKey = keys.public_key_hex;
    if (auto r = store->put_healthcare_party(hcp); !r.ok()) die("hcp", r.status());
  }
};

struct Sample {  // what queries are made of
  std::string id, family, given;
  std::string loinc;  // the LOINC code of the patient's first observation (empty: none)
};

struct FillResult {
  std::size_t resources = 0;
  double seconds = 0, cpu_seconds = 0;
};

// Adds `count` patients (+ observations) in transactions of 1000 patients;
// only Store::apply is timed (mapping is engine_bench's business).
FillResult fill(Bench& b, synthetic::Generator& gen, std::size_t count, std::size_t per_patient,
                std::vector<std::string>& ids, std::vector<Sample>& samples) {
  FillResult result;
  constexpr std::size_t kPatientsPerBatch = 1000;
  for (std::size_t done = 0; done < count;) {
    storage::WriteBatch batch;
    const std::size_t n = std::min(kPatientsPerBatch, count - done);
    for (std::size_t i = 0; i < n; ++i) {
      auto fhir = gen.patient();
      auto patient = mapping::fhir_patient_to_icure(fhir, b.ctx);
      if (!patient.ok()) die("map patient", patient.status());
      const std::string id = *patient->id;
      ids.push_back(id);
      const bool sampled = ids.size() % 97 == 1;
      if (sampled) {
        const auto& name = fhir.at("name").at(0);
        samples.push_back({id, std::string(name.at("family").as_string()),
                           std::string(name.at("given").at(0).as_string()), ""});
      }
      batch.ops.emplace_back(storage::CreatePatient{std::move(*patient)});
      for (std::size_t k = 0; k < per_patient; ++k) {
        auto o = mapping::fhir_observation_to_icure(
            gen.observation(std::string(fhir.at("id").as_string())), b.ctx);
        if (!o.ok()) die("map observation", o.status());
        if (sampled && k == 0 && o->contact.services && !o->contact.services->empty() &&
            (*o->contact.services)[0].codes)
          for (const auto& code : *(*o->contact.services)[0].codes)
            if (code.type == "LOINC" && code.code) samples.back().loinc = *code.code;
        batch.ops.emplace_back(storage::CreateContact{std::move(o->contact), id});
      }
    }
    const Stopwatch watch;
    auto r = b.store->apply(b.who, batch);
    result.seconds += watch.wall();
    result.cpu_seconds += watch.cpu();
    if (!r.ok()) die("apply", r.status());
    result.resources += batch.ops.size();
    done += n;
  }
  return result;
}

// Results returned by the searches measured so far (check_total adds them):
// the decryption part of a search's cost.
std::size_t g_results = 0;

struct Latency {
  double median_ms = 0, p95_ms = 0;
  std::int64_t matches = 0;  // mean Page::total
  double results = 0;        // mean results returned (decrypted) per search
  double cpu_median_ms = 0;  // process CPU time: what the growth factor uses
};

// Up to `queries` queries, stopping after ~5 s (at least 10) so slow
// (unindexed) searches do not blow the run's time budget.
template <typename F>
Latency measure(std::size_t queries, F query) {
  std::vector<double> ms, cpu_ms;
  std::int64_t total = 0;
  const std::size_t results_before = g_results;
  const Stopwatch watch;
  for (std::size_t i = 0; i < queries && (i < 10 || watch.wall() < 5.0); ++i) {
    const auto start = Clock::now();
    const double cpu_start = cpu_seconds();
    total += query(i);
    cpu_ms.push_back((cpu_seconds() - cpu_start) * 1e3);
    ms.push_back(seconds_since(start) * 1e3);
  }
  Latency l{percentile(ms, 0.5), percentile(ms, 0.95),
            ms.empty() ? 0 : total / static_cast<std::int64_t>(ms.size())};
  l.cpu_median_ms = percentile(cpu_ms, 0.5);
  if (!ms.empty()) l.results = static_cast<double>(g_results - results_before) / ms.size();
  return l;
}

// The server's default Bundle.total: counted up to 1000 (docs/search.md).
constexpr std::int64_t kCountUpTo = 1000;

std::int64_t check_total(const auto& page, const char* what) {
  if (!page.ok()) die(what, page.status());
  g_results += page->items.size();
  return page->total < 0 ? kCountUpTo + 1 : page->total;  // "more than 1000"
}

// The searches measured at each size, in their rows' order.
enum class Search { name_prefix, family_prefix, family_given, one_match, code, patient_code };
constexpr std::pair<Search, const char*> kSearches[] = {
    {Search::name_prefix, "name prefix, 20/page"},
    {Search::family_prefix, "family prefix (4), 20/page"},
    {Search::family_given, "family+given exact"},
    {Search::one_match, "family+given, one match"},
    {Search::code, "LOINC code, 20/page"},
    {Search::patient_code, "LOINC code of one patient"}};

// One search of `kind` on `store`, made of `samples` (patients of that store) or, for the
// one-match search, of `markers`; returns its total.
std::int64_t run_search(Search kind, storage::Store& store, const storage::Principal& who,
                        std::span<const Sample> samples, std::span<const Sample> markers,
                        std::mt19937_64& pick) {
  const auto& codes = synthetic::Generator::loinc_codes();
  switch (kind) {
    case Search::name_prefix:
    case Search::family_prefix: {  // 4 characters: longer than a head, checked per row
      const auto& s = samples[pick() % samples.size()];
      storage::PatientQuery q;
      const bool any_part = kind == Search::name_prefix;
      (any_part ? q.names : q.family)
          .push_back({{s.family.substr(0, any_part ? 3 : 4)}, storage::TextMatch::prefix});
      q.page.limit = 20;
      q.page.count_up_to = kCountUpTo;
      return check_total(store.find_patients(who, q), "name search");
    }
    case Search::family_given:
    case Search::one_match: {  // exact family+given of a patient picked from the list
      const auto from = kind == Search::one_match ? markers : samples;
      const auto& s = from[pick() % from.size()];
      storage::PatientQuery q;
      q.family.push_back({{s.family}, storage::TextMatch::exact});
      q.given.push_back({{s.given}, storage::TextMatch::exact});
      q.page.limit = 20;
      q.page.count_up_to = kCountUpTo;
      return check_total(store.find_patients(who, q), "name search");
    }
    case Search::code: {
      storage::ContactQuery q;
      q.codes.push_back({storage::TokenFilter{"LOINC", codes[pick() % codes.size()]}});
      q.page.limit = 20;
      q.page.count_up_to = kCountUpTo;
      return check_total(store.find_contacts(who, q), "code search");
    }
    case Search::patient_code: {
      // A (patient, code) pair drawn from the data: the patient's own observation
      // (a random pair of a patient with few observations rarely matches).
      const auto& s = samples[pick() % samples.size()];
      storage::ContactQuery q;
      q.patient_ids = std::vector<std::string>{s.id};
      q.codes.push_back({storage::TokenFilter{
          "LOINC", s.loinc.empty() ? codes[pick() % codes.size()] : s.loinc}});
      q.page.limit = 20;
      q.page.count_up_to = kCountUpTo;
      return check_total(store.find_contacts(who, q), "code search");
    }
  }
  return 0;
}

// Reads `file` through once and returns the bytes read: its pages land in the
// OS page cache. Without it, a 1M-patient store (~10 GB) is partly on disk
// right after its fill (this machine's kernel does not keep all it wrote), and
// every random read that misses costs a disk read: growth that the plans do
// not cause (benchmarks/README.md, twenty-fourth session).
std::uintmax_t warm_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::vector<char> chunk(1 << 20);
  std::uintmax_t total = 0;
  while (in.read(chunk.data(), static_cast<std::streamsize>(chunk.size())) || in.gcount() > 0)
    total += static_cast<std::uintmax_t>(in.gcount());
  return total;
}

}  // namespace

int main(int argc, char** argv) {
  const Args args(argc, argv);
  args.accept_only({"--sizes", "--observations-per-patient", "--queries", "--import-patients",
                    "--time-budget", "--threads", "--seed", "--dir", "--interleaved-rounds"},
                   {"--million", "--explain", "--keep", "--warm"},
                   "usage: store_bench [--sizes 10000,100000] [--million] "
                   "[--observations-per-patient 1]\n"
                   "  [--queries 200] [--import-patients 5000] [--time-budget 150] "
                   "[--threads 4] [--seed S]\n"
                   "  [--interleaved-rounds 5] [--explain] [--keep] [--warm] [--dir /tmp]   "
                   "(benchmarks/README.md)\n");
  std::vector<std::size_t> sizes;
  {
    std::stringstream list(args.text("--sizes", "10000,100000"));
    for (std::string s; std::getline(list, s, ',');) sizes.push_back(std::stoull(s));
    if (args.flag("--million")) sizes.push_back(1000000);
    std::sort(sizes.begin(), sizes.end());
  }
  const std::size_t per_patient = args.size("--observations-per-patient", 1);
  // Sizes whose fill would not end within this many seconds are skipped (shared machines).
  const double budget = static_cast<double>(args.size("--time-budget", 150));
  const std::size_t queries = args.size("--queries", 200);
  const std::size_t interleaved_rounds = args.size("--interleaved-rounds", 5);
  const std::size_t threads = std::max<std::size_t>(1, args.size("--threads", 4));
  const std::size_t import_patients = args.size("--import-patients", 5000);
  const fs::path dir = fs::path(args.text("--dir", fs::temp_directory_path().string())) /
                       ("fhirbridge-store-bench-" + std::to_string(::getpid()));
  fs::create_directories(dir);

  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // rows appear as they are measured
  print_machine();
  Botan::AutoSeeded_RNG key_rng;
  const auto keys = crypto::generate_rsa_key_pair(key_rng);

  // ---- bulk import on its own fresh store --------------------------------------
  if (import_patients > 0) {
    std::printf("\n== bulk NDJSON import (parse + map + seal + insert), %zu patients x 4 obs\n",
                import_patients);
    std::string ndjson;
    synthetic::Prng prng(args.size("--seed", 1) + 1000);
    synthetic::Generator gen(prng);
    for (std::size_t i = 0; i < import_patients; ++i) {
      auto p = gen.patient();
      ndjson += json::serialize(p) + "\n";
      for (int k = 0; k < 4; ++k)
        ndjson += json::serialize(gen.observation(std::string(p.at("id").as_string()))) + "\n";
    }
    {
      Bench b(dir / "import.db", keys);
      for (const char* run : {"first run", "re-run (all skipped)"}) {
        std::istringstream in(ndjson);
        const Stopwatch watch;
        const auto s = server::bulk::import_stream(*b.store, b.who, b.ctx, in, "bench.ndjson");
        const double secs = watch.wall(), cpu = watch.cpu();
        if (!s.status.ok() || s.failed)
          die("import", s.status.ok() ? Status::Internal(s.to_string()) : s.status);
        std::printf("%-22s %8zu resources %7.2f s %10s res/s wall %10s res/s CPU (stored %zu)\n",
                    run, s.resources_read, secs, rate(s.resources_read / secs).c_str(),
                    rate(s.resources_read / cpu).c_str(), s.stored());
      }
    }
    {  // what `fhirbridge import` does into an empty store: search indexes built at the end
      Bench b(dir / "import-deferred.db", keys);
      std::istringstream in(ndjson);
      const Stopwatch watch;
      if (Status st = b.store->defer_search_indexes(); !st.ok()) die("defer indexes", st);
      const auto s = server::bulk::import_stream(*b.store, b.who, b.ctx, in, "bench.ndjson");
      if (Status st = b.store->build_search_indexes(); !st.ok()) die("build indexes", st);
      const double secs = watch.wall(), cpu = watch.cpu();
      if (!s.status.ok() || s.failed)
        die("import", s.status.ok() ? Status::Internal(s.to_string()) : s.status);
      std::printf("%-22s %8zu resources %7.2f s %10s res/s wall %10s res/s CPU (stored %zu)\n",
                  "indexes built at end", s.resources_read, secs,
                  rate(s.resources_read / secs).c_str(), rate(s.resources_read / cpu).c_str(),
                  s.stored());
    }
  }

  // ---- growing store -------------------------------------------------------------
  Bench b(dir / "store.db", keys);
  synthetic::Prng prng(args.size("--seed", 1));
  synthetic::Generator gen(prng);
  std::vector<std::string> ids;
  std::vector<Sample> samples;
  std::vector<Sample> markers;  // one patient per family+given
  constexpr std::size_t kMarkers = 100;
  std::mt19937_64 pick(7);  // which ids/samples to query: fixed, not timed

  std::printf(
      "\n%zu observation(s) per patient; rates: wall | CPU; searches: median wall ms | median "
      "CPU ms, growth on CPU\n",
      per_patient);
  std::printf("%-10s %-44s %12s %12s %10s\n", "patients", "measure", "rate wall|ms", "CPU|CPU ms",
              "growth");
  std::map<std::string, double> first_latency;
  // The stores kept for the interleaved block: size, file, how many samples it holds.
  struct Snapshot {
    std::size_t size;
    fs::path file;
    std::size_t samples;
  };
  std::vector<Snapshot> snapshots;
  std::size_t have = 0;
  const Stopwatch run_watch;
  double fill_rate = 0;  // patients/s of the last fill, to predict the next one
  for (std::size_t size : sizes) {
    if (fill_rate > 0) {
      const double predicted = static_cast<double>(size - have) / fill_rate;
      if (run_watch.wall() + predicted + 30 > budget) {  // + ~30 s of reads and queries
        std::printf("%-10zu skipped: filling would take ~%.0f s, over --time-budget %.0f s\n", size,
                    predicted, budget);
        continue;
      }
    }
    const Stopwatch fill_watch;
    auto f = fill(b, gen, size - have, per_patient, ids, samples);
    fill_rate = static_cast<double>(size - have) / fill_watch.wall();
    have = size;
    auto row = [&](const std::string& what, const std::string& value, const std::string& p95,
                   const std::string& growth) {
      std::printf("%-10zu %-44s %12s %12s %10s\n", size, what.c_str(), value.c_str(), p95.c_str(),
                  growth.c_str());
    };
    row("insert, batched (res/s wall|CPU)", rate(f.resources / f.seconds),
        rate(f.resources / f.cpu_seconds), "");
    if (args.flag("--warm")) {
      const Stopwatch warm_watch;
      const auto bytes = warm_file(dir / "store.db");
      std::printf("%-10zu   (store file read through: %.0f MB in %.1f s)\n", size,
                  static_cast<double>(bytes) / 1e6, warm_watch.wall());
    }

    if (size == sizes.front()) {
      // Patients whose family+given is unique: the "one match" search finds
      // exactly one at every size, so its growth is the index's alone (the
      // generator's names repeat: their matches grow with the store).
      for (std::size_t k = 0; k < kMarkers; ++k) {
        const std::string suffix{static_cast<char>('a' + k / 26 % 26),
                                 static_cast<char>('a' + k % 26)};
        json::object fhir = gen.patient();
        fhir["name"] = json::array{json::object{{"family", "Uniqmarker" + suffix},
                                                {"given", json::array{"Solo" + suffix}}}};
        auto patient = mapping::fhir_patient_to_icure(fhir, b.ctx);
        if (!patient.ok()) die("map", patient.status());
        auto r = b.store->create_patient(b.who, std::move(*patient));
        if (!r.ok()) die("create_patient", r.status());
        markers.push_back({*r->id, "Uniqmarker" + suffix, "Solo" + suffix, ""});
      }
    }
    if (size == sizes.front()) {  // one transaction per call: durable commit each time
      const std::size_t n = 500;
      double secs = 0, cpu = 0;
      for (std::size_t i = 0; i < n; ++i) {
        auto patient = mapping::fhir_patient_to_icure(gen.patient(), b.ctx);
        if (!patient.ok()) die("map", patient.status());
        const Stopwatch watch;
        auto r = b.store->create_patient(b.who, std::move(*patient));
        secs += watch.wall();
        cpu += watch.cpu();
        if (!r.ok()) die("create_patient", r.status());
        ids.push_back(*r->id);
      }
      row("insert, one per call (res/s wall|CPU)", rate(n / secs), rate(n / cpu), "");

      // The same from `threads` callers at once: concurrent writes share commits.
      std::vector<icure::Patient> mapped;
      for (std::size_t i = 0; i < n; ++i) {
        auto patient = mapping::fhir_patient_to_icure(gen.patient(), b.ctx);
        if (!patient.ok()) die("map", patient.status());
        mapped.push_back(std::move(*patient));
      }
      const auto stats_before = b.store->write_stats();
      const Stopwatch watch;
      std::vector<std::thread> workers;
      for (std::size_t t = 0; t < threads; ++t)
        workers.emplace_back([&, t] {
          for (std::size_t i = t; i < n; i += threads) {
            auto r = b.store->create_patient(b.who, mapped[i]);
            if (!r.ok()) die("create_patient", r.status());
          }
        });
      for (auto& w : workers) w.join();
      const double wall = watch.wall(), cpu_used = watch.cpu();
      const auto stats_after = b.store->write_stats();
      row("insert, one per call, " + std::to_string(threads) + " threads", rate(n / wall),
          rate(n / cpu_used), "");
      std::printf("%-10s   (%llu writes in %llu commits)\n", "",
                  static_cast<unsigned long long>(stats_after.writes - stats_before.writes),
                  static_cast<unsigned long long>(stats_after.commits - stats_before.commits));
    }

    {
      const std::size_t n = 2000;
      const Stopwatch watch;
      for (std::size_t i = 0; i < n; ++i) {
        auto r = b.store->get_patient(b.who, ids[pick() % ids.size()]);
        if (!r.ok()) die("get_patient", r.status());
      }
      row("point read (reads/s wall|CPU)", rate(n / watch.wall()), rate(n / watch.cpu()), "");
    }
    {
      const std::size_t n = 2000;
      std::vector<std::size_t> picks(n);
      for (auto& p : picks) p = pick() % ids.size();
      const Stopwatch watch;
      std::vector<std::thread> workers;
      for (std::size_t t = 0; t < threads; ++t)
        workers.emplace_back([&, t] {
          for (std::size_t i = t; i < n; i += threads) {
            auto r = b.store->get_patient(b.who, ids[picks[i]]);
            if (!r.ok()) die("get_patient", r.status());
          }
        });
      for (auto& w : workers) w.join();
      row("point read, " + std::to_string(threads) + " threads", rate(n / watch.wall()),
          rate(n / watch.cpu()), "");
    }

    auto latency_row = [&](const std::string& what, Latency l) {
      // median wall ms | median CPU ms; growth on CPU time (wall moves with the load).
      char med[32], cpu[32], growth[32] = "";
      std::snprintf(med, sizeof med, "%.2f ms", l.median_ms);
      std::snprintf(cpu, sizeof cpu, "%.2f ms", l.cpu_median_ms);
      if (!first_latency.count(what))
        first_latency[what] = std::max(l.cpu_median_ms, 1e-3);
      else
        std::snprintf(growth, sizeof growth, "x%.2f", l.cpu_median_ms / first_latency[what]);
      const std::string hits = l.matches > kCountUpTo ? ">1000" : "~" + std::to_string(l.matches);
      char returned[32];
      std::snprintf(returned, sizeof returned, ", %.0f back", l.results);
      row(what + " [" + hits + " hits" + returned + "]", med, cpu, growth);
    };
    for (const auto& [kind, label] : kSearches)
      latency_row(label, measure(queries, [&, kind = kind](std::size_t) {
                    return run_search(kind, *b.store, b.who, samples, markers, pick);
                  }));
    // A copy of the store at this size, for the interleaved block (the last size is the
    // store itself). Closing the store checkpoints its WAL into the file.
    if (interleaved_rounds > 0 && size != sizes.back()) {
      b.store.reset();
      const fs::path copy = dir / ("store-" + std::to_string(size) + ".db");
      fs::copy_file(dir / "store.db", copy, fs::copy_options::overwrite_existing);
      auto reopened = storage::SqliteStore::open(dir / "store.db", b.keychain, {});
      if (!reopened.ok()) die("reopen", reopened.status());
      b.store = std::move(*reopened);
      snapshots.push_back({size, copy, samples.size()});
    }
    std::fflush(stdout);
  }
  // (a last size skipped for time leaves the previous size both copied and live)
  if (!snapshots.empty() && snapshots.back().size == have) snapshots.pop_back();
  if (interleaved_rounds > 0 && !snapshots.empty()) {
    // Every size's store open at once; each search runs `rounds` times over the sizes in
    // turn, queries/rounds queries per turn; the medians of all its turns per size.
    std::vector<std::unique_ptr<Bench>> copies;
    std::vector<std::pair<storage::Store*, std::size_t>> stores;  // store, samples it holds
    for (const auto& snap : snapshots) {
      copies.push_back(std::make_unique<Bench>(snap.file, keys, true));
      stores.emplace_back(copies.back()->store.get(), snap.samples);
    }
    stores.emplace_back(b.store.get(), samples.size());
    if (args.flag("--warm")) {  // the copies too, and the live store again: the fills since evict
      std::uintmax_t bytes = warm_file(dir / "store.db");
      for (const auto& snap : snapshots) bytes += warm_file(snap.file);
      std::printf("\n(every size's store file read through again: %.0f MB)\n",
                  static_cast<double>(bytes) / 1e6);
    }
    const std::size_t per_turn = std::max<std::size_t>(1, queries / interleaved_rounds);
    std::printf(
        "\n== searches again, interleaved: the store of each size kept, each search measured on "
        "every size in turn\n   (%zu rounds of %zu queries per size), median CPU ms, growth "
        "against the first size\n",
        interleaved_rounds, per_turn);
    std::printf("%-28s", "measure");
    for (const auto& snap : snapshots) std::printf(" %10zu", snap.size);
    std::printf(" %10zu %8s\n", have, "growth");
    for (const auto& [kind, label] : kSearches) {
      std::vector<std::vector<double>> cpu_ms(stores.size());
      for (std::size_t round = 0; round < interleaved_rounds; ++round)
        for (std::size_t k = 0; k < stores.size(); ++k) {
          const auto [store, held] = stores[k];
          const std::span<const Sample> some(samples.data(), held);
          for (std::size_t i = 0; i < per_turn; ++i) {
            const double cpu_start = cpu_seconds();
            run_search(kind, *store, b.who, some, markers, pick);
            cpu_ms[k].push_back((cpu_seconds() - cpu_start) * 1e3);
          }
        }
      std::printf("%-28s", label);
      for (auto& v : cpu_ms) std::printf(" %7.2f ms", percentile(v, 0.5));
      std::printf("    x%.2f\n",
                  percentile(cpu_ms.back(), 0.5) / std::max(percentile(cpu_ms.front(), 0.5), 1e-3));
    }
  }
  if (args.flag("--explain") && !samples.empty()) {  // why a search grows: SQLite's plans
    storage::PatientQuery exact;
    exact.family.push_back({{samples[0].family}, storage::TextMatch::exact});
    exact.given.push_back({{samples[0].given}, storage::TextMatch::exact});
    storage::PatientQuery prefix;
    prefix.names.push_back({{samples[0].family.substr(0, 3)}, storage::TextMatch::prefix});
    storage::PatientQuery family_prefix;
    family_prefix.family.push_back({{samples[0].family.substr(0, 4)}, storage::TextMatch::prefix});
    for (auto [what, q] : {std::pair{"family+given exact", exact}, std::pair{"name prefix", prefix},
                           std::pair{"family prefix (4)", family_prefix}}) {
      q.page.limit = 20;
      auto plan = b.store->explain_patient_query(b.who, q);
      std::printf("\nEXPLAIN QUERY PLAN, %s:\n", what);
      if (plan.ok())
        for (const auto& line : *plan) std::printf("  %s\n", line.c_str());
    }
    storage::ContactQuery by_code;
    by_code.codes.push_back(
        {storage::TokenFilter{"LOINC", synthetic::Generator::loinc_codes().front()}});
    by_code.page.limit = 20;
    storage::ContactQuery by_patient_code = by_code;
    by_patient_code.patient_ids = std::vector<std::string>{samples[0].id};
    for (auto [what, q] : {std::pair{"LOINC code", by_code},
                           std::pair{"LOINC code of one patient", by_patient_code}}) {
      auto plan = b.store->explain_contact_query(b.who, q);
      std::printf("\nEXPLAIN QUERY PLAN, %s:\n", what);
      if (plan.ok())
        for (const auto& line : *plan) std::printf("  %s\n", line.c_str());
    }
  }
  if (args.flag("--keep")) {  // leave the store for offline look (sqlite3 CLI on the clear index)
    std::printf("\nkept %s\n", (dir / "store.db").c_str());
    return 0;
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  return 0;
}
