// fhirbridge import [--db F] --login L --password-file P --key-file K
//                   [--on-error skip|stop] [--batch-size N] [--max-json-bytes N]
//                   [--defer-indexes auto|yes|no] FILE...
// Streams FHIR NDJSON / Bundle files into the encrypted store (docs/bulk.md).
#include <unistd.h>

#include <boost/program_options.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "commands.hpp"
#include "count_option.hpp"
#include "fhirbridge/server/bulk.hpp"
#include "fhirbridge/server/server_context.hpp"
#include "fhirbridge/storage/sqlite_store.hpp"
#include "unlocked_store.hpp"

namespace fhirbridge::cli {

namespace po = boost::program_options;
using namespace std::chrono;

namespace {

// WAL pages between checkpoints while importing (the server's default is 1000).
constexpr std::size_t kImportCheckpointPages = 65536;

// Bytes of the input files (0 when one is stdin: unknown) and of the store.
std::uint64_t input_bytes(const std::vector<std::string>& files) {
  std::uint64_t total = 0;
  for (const auto& file : files) {
    std::error_code ec;
    const auto size = file == "-" ? 0 : std::filesystem::file_size(file, ec);
    if (file == "-" || ec) return 0;
    total += size;
  }
  return total;
}

std::uint64_t file_bytes(const std::string& file) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(file, ec);
  return ec ? 0 : size;
}

std::string human_duration(double seconds) {
  char buf[32];
  const long s = static_cast<long>(seconds + 0.5);
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", s / 3600, (s / 60) % 60);
  else
    std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  return buf;
}

// A one-line bar redrawn in place on a terminal; a plain line every few
// seconds otherwise (logs, CI).
class ProgressDisplay {
 public:
  explicit ProgressDisplay(bool enabled) : enabled_(enabled), tty_(isatty(2) != 0) {}

  void update(const server::bulk::ImportProgress& p, bool final = false) {
    if (!enabled_ || (final && !tty_)) return;  // off a TTY the summary line says it all
    const auto now = steady_clock::now();
    const double min_gap = tty_ ? 0.2 : 5.0;
    if (!final && duration<double>(now - last_).count() < min_gap) return;
    last_ = now;
    const double elapsed = std::max(1e-3, duration<double>(now - start_).count());
    const double rate = static_cast<double>(p.resources_read) / elapsed;
    const double done =
        p.bytes_total ? std::min(1.0, static_cast<double>(p.bytes_read) / p.bytes_total) : 0.0;
    std::string eta = "?";
    if (done > 0 && !final) eta = human_duration(elapsed / done - elapsed);
    char line[200];
    if (tty_) {
      constexpr int kWidth = 30;
      const int filled = static_cast<int>(done * kWidth);
      std::string bar(filled, '#');
      bar.resize(kWidth, '.');
      std::snprintf(line, sizeof line,
                    "\r[%s] %3.0f%%  %zu read, %zu stored  %.0f resources/s  ETA %s\033[K",
                    bar.c_str(), done * 100, p.resources_read, p.resources_stored, rate,
                    final ? "0m00s" : eta.c_str());
      std::cerr << line << (final ? "\n" : "") << std::flush;
    } else {
      std::snprintf(line, sizeof line,
                    "import: %.0f%% %zu read, %zu stored, %.0f resources/s, ETA %s\n", done * 100,
                    p.resources_read, p.resources_stored, rate, eta.c_str());
      std::cerr << line << std::flush;
    }
  }

 private:
  bool enabled_, tty_;
  steady_clock::time_point start_ = steady_clock::now(), last_{};
};

}  // namespace

int import_command(const std::vector<std::string>& args) {
  std::string db = "fhirbridge.db", login, password_file, key_file, on_error = "skip",
              defer_indexes = "auto";
  Count<std::size_t, 1> batch_size{2000};
  Count<std::size_t, 1> max_json_bytes{server::bulk::kDefaultMaxJsonBytes};
  std::vector<std::string> files;
  po::options_description opts(
      "fhirbridge import [options] FILE...  (NDJSON or Bundle; - = stdin)");
  opts.add_options()("help,h", "this help")("db", po::value(&db)->default_value(db),
                                            "SQLite store file")(
      "login", po::value(&login)->required(), "user whose healthcare party will own the data")(
      "password-file", po::value(&password_file)->required(), "file holding the password")(
      "key-file", po::value(&key_file)->required(),
      "the healthcare party's private key (PKCS#8, hex or DER)")(
      "on-error", po::value(&on_error)->default_value(on_error),
      "skip: report bad lines and go on; stop: stop at the first bad line")(
      "batch-size", po::value(&batch_size)->default_value(batch_size), "resources per transaction")(
      "max-json-bytes", po::value(&max_json_bytes)->default_value(max_json_bytes),
      "the longest NDJSON line (or pretty-printed document) read; a longer one is a bad line")(
      "defer-indexes", po::value(&defer_indexes)->default_value(defer_indexes),
      "drop the search-only indexes while importing and build them at the end: yes, no, or "
      "auto (when the input files are >= 16 MiB and >= 1/8 of the store file)")(
      "quiet,q", "no progress display")("file", po::value(&files), "input files");
  po::positional_options_description positional;
  positional.add("file", -1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(opts).positional(positional).run(), vm);
    if (vm.count("help")) {
      std::cout << opts << "\n";
      return 0;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "fhirbridge import: " << e.what() << "\n" << opts << "\n";
    return 2;
  }
  if (files.empty() || (on_error != "skip" && on_error != "stop") ||
      (defer_indexes != "auto" && defer_indexes != "yes" && defer_indexes != "no")) {
    std::cerr << "fhirbridge import: "
              << (files.empty() ? "no input file"
                  : on_error != "skip" && on_error != "stop"
                      ? "--on-error must be skip or stop"
                      : "--defer-indexes must be auto, yes or no")
              << "\n";
    return 2;
  }

  int exit_code = 0;
  // A checkpoint every 256 MB of WAL rather than 4 MB: a page that several
  // batches touch (index pages above all) reaches the file once per
  // checkpoint, and fsyncs are fewer. Imports ran ~25% faster (docs/bulk.md).
  storage::SqliteStoreOptions store_options;
  store_options.checkpoint_pages = kImportCheckpointPages;
  auto unlocked =
      open_unlocked_store("import", db, login, password_file, key_file, exit_code, store_options);
  if (!unlocked) return exit_code;

  const bool quiet = vm.count("quiet") > 0;
  bool defer = defer_indexes == "yes" ||
               (defer_indexes == "auto" &&
                server::bulk::defer_indexes_pays(input_bytes(files), file_bytes(db)));
  if (defer) {
    if (const Status s = unlocked->store->defer_search_indexes(); !s.ok()) {
      std::cerr << "fhirbridge import: importing with the search indexes (cannot defer them: "
                << s.to_string() << ")\n";
      defer = false;
    }
  }

  ProgressDisplay progress(!quiet);
  server::bulk::ImportOptions options;
  options.on_error = on_error == "stop" ? server::bulk::OnError::stop : server::bulk::OnError::skip;
  options.batch_size = batch_size.value;
  options.max_json_bytes = max_json_bytes.value;
  options.on_issue = [&](const server::bulk::ImportIssue& issue) {
    std::cerr << (isatty(2) ? "\r\033[K" : "") << issue.to_string() << "\n";
  };
  options.on_progress = [&](const server::bulk::ImportProgress& p) { progress.update(p); };
  const auto start = steady_clock::now();
  std::vector<std::filesystem::path> paths(files.begin(), files.end());
  const auto summary = server::bulk::import_files(
      *unlocked->store, unlocked->who, server::make_system_mapping_context(), paths, options);
  progress.update({1, 1, summary.resources_read, summary.stored()}, true);
  // Built whatever happened above: searches must not scan once we are gone
  // (if this fails, the next open of the store builds them).
  Status indexes_built;
  if (defer) {
    if (!quiet) std::cerr << "fhirbridge import: building the search indexes\n";
    indexes_built = unlocked->store->build_search_indexes();
  }
  const double seconds = duration<double>(steady_clock::now() - start).count();
  std::cerr << "fhirbridge import: " << summary.to_string() << " in " << human_duration(seconds)
            << " (" << static_cast<long>(summary.resources_read / std::max(seconds, 1e-3))
            << " resources/s" << (defer ? ", search indexes built at the end" : "") << ")\n";
  if (!indexes_built.ok()) {
    std::cerr << "fhirbridge import: building the search indexes failed ("
              << indexes_built.to_string() << "); the next open of the store builds them\n";
    return 1;
  }
  if (!summary.status.ok()) return 1;
  return summary.failed ? 3 : 0;
}

}  // namespace fhirbridge::cli
