// fhirbridge export [--db F] --login L --password-file P --key-file K
//                   [--type Patient,Observation] [--since INSTANT] > out.ndjson
// Streams every resource the user can read as FHIR NDJSON (docs/bulk.md), or
// what changed since an instant; says as of when, for the next --since.
#include <boost/program_options.hpp>

#include <iostream>
#include <sstream>

#include "commands.hpp"
#include "fhirbridge/mapping/fhir_dates.hpp"
#include "fhirbridge/server/bulk.hpp"
#include "fhirbridge/server/server_context.hpp"
#include "fhirbridge/storage/sqlite_store.hpp"
#include "unlocked_store.hpp"

namespace fhirbridge::cli {

namespace po = boost::program_options;

int export_command(const std::vector<std::string>& args) {
  std::string db = "fhirbridge.db", login, password_file, key_file, types = "Patient,Observation",
              since;
  po::options_description opts("fhirbridge export [options] > out.ndjson");
  opts.add_options()("help,h", "this help")("db", po::value(&db)->default_value(db),
                                            "SQLite store file")(
      "login", po::value(&login)->required(), "user whose data is exported")(
      "password-file", po::value(&password_file)->required(), "file holding the password")(
      "key-file", po::value(&key_file)->required(),
      "the healthcare party's private key (PKCS#8, hex or DER)")(
      "type", po::value(&types)->default_value(types), "resource types, comma-separated")(
      "since", po::value(&since),
      "only what changed at or after this FHIR instant (meta.lastUpdated), e.g. the "
      "\"as of\" of the previous export");
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(opts).run(), vm);
    if (vm.count("help")) {
      std::cout << opts << "\n";
      return 0;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "fhirbridge export: " << e.what() << "\n" << opts << "\n";
    return 2;
  }
  server::bulk::ExportOptions options;
  options.types.clear();
  std::stringstream list(types);
  for (std::string t; std::getline(list, t, ',');)
    if (!t.empty()) options.types.push_back(t);
  if (vm.count("since")) {
    auto when = mapping::parse_fhir_date_time(since, "--since");
    if (!when.ok()) {
      std::cerr << "fhirbridge export: " << when.status().to_string() << "\n";
      return 2;
    }
    options.since_ms = mapping::epoch_ms_range(*when).first;
  }

  int exit_code = 0;
  auto unlocked = open_unlocked_store("export", db, login, password_file, key_file, exit_code);
  if (!unlocked) return exit_code;
  // Taken before the first page is read: whatever this export misses changed
  // at or after it (SqliteStore::write_fence_time), so the next --since it
  // finds them.
  auto as_of = unlocked->store->write_fence_time();
  if (!as_of.ok()) {
    std::cerr << "fhirbridge export: " << as_of.status().to_string() << "\n";
    return 1;
  }
  std::ios::sync_with_stdio(false);
  auto summary = server::bulk::export_ndjson(
      *unlocked->store, unlocked->who, server::make_system_mapping_context(), std::cout, options);
  if (!summary.ok()) {
    std::cerr << "fhirbridge export: " << summary.status().to_string() << "\n";
    return 1;
  }
  std::cerr << "fhirbridge export: " << summary->to_string()
            << (options.since_ms ? " changed since " + since : std::string()) << "; as of "
            << mapping::fhir_instant(*as_of) << " (the next --since)\n";
  return 0;
}

}  // namespace fhirbridge::cli
