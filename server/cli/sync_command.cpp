// fhirbridge sync --db F --login L --password-file P --key-file K --icure-url URL
//                 [--remote-login L2 --remote-password-file P2 --remote-key-file K2]
//                 [--journal J] [--ca-file PEM] [--dry-run]
// Reconciles the local SQLite store with a remote iCure REST API (docs/sync.md).
// Exit codes: 0 in sync, 3 conflicts found (nothing overwritten), 1 error or
// an entity one side refused, 2 usage.
#include <boost/program_options.hpp>

#include <iostream>

#include "commands.hpp"
#include "fhirbridge/storage/remote_store.hpp"
#include "fhirbridge/storage/sync.hpp"
#include "unlocked_store.hpp"

namespace fhirbridge::cli {

namespace po = boost::program_options;

namespace {

void print_report(const storage::SyncReport& report, std::ostream& out) {
  const char* verb = report.dry_run ? "would push" : "pushed";
  out << "sync" << (report.dry_run ? " (dry run)" : "") << ": " << verb << " " << report.pushed
      << ", " << (report.dry_run ? "would pull " : "pulled ") << report.pulled << ", deleted "
      << report.deleted_remote << " remotely and " << report.deleted_local << " locally, adopted "
      << report.adopted << ", unchanged " << report.unchanged << ", conflicts "
      << report.conflicts.size() << ", waiting " << report.waiting.size() << ", failed "
      << report.failures.size() << "\n";
  for (const auto& conflict : report.conflicts)
    out << "conflict " << storage::to_string(conflict.kind) << " " << conflict.id << ": "
        << conflict.reason << " (local rev " << conflict.local_rev.value_or("-") << ", remote rev "
        << conflict.remote_rev.value_or("-") << ")\n";
  for (const auto& id : report.waiting)
    out << "waiting contact " << id << ": its patient is in conflict\n";
  for (const auto& failure : report.failures)
    out << "failed " << storage::to_string(failure.kind) << " " << failure.id << ": "
        << failure.status.to_string() << "\n";
}

}  // namespace

int sync_command(const std::vector<std::string>& args) {
  std::string db = "fhirbridge.db", login, password_file, key_file, url, journal, ca_file;
  std::string remote_login, remote_password_file, remote_key_file;
  po::options_description opts("fhirbridge sync [options]");
  opts.add_options()("help,h", "this help")("db", po::value(&db)->default_value(db),
                                            "local SQLite store file")(
      "login", po::value(&login)->required(), "local user")(
      "password-file", po::value(&password_file)->required(), "file holding the local password")(
      "key-file", po::value(&key_file)->required(),
      "the healthcare party's private key (PKCS#8, hex or DER)")(
      "icure-url", po::value(&url)->required(), "remote base URL, e.g. https://host:port")(
      "remote-login", po::value(&remote_login), "remote user (default: --login)")(
      "remote-password-file", po::value(&remote_password_file),
      "remote password file (default: --password-file)")(
      "remote-key-file", po::value(&remote_key_file),
      "remote healthcare party's private key (default: --key-file)")(
      "journal", po::value(&journal), "sync journal file (default: <db>.sync)")(
      "ca-file", po::value(&ca_file), "PEM CA file to verify the remote's TLS certificate")(
      "dry-run", "show what would move, write nothing");
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(opts).run(), vm);
    if (vm.count("help")) {
      std::cout << opts << "\n";
      return 0;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "fhirbridge sync: " << e.what() << "\n" << opts << "\n";
    return 2;
  }
  if (remote_login.empty()) remote_login = login;
  if (remote_password_file.empty()) remote_password_file = password_file;
  if (remote_key_file.empty()) remote_key_file = key_file;

  int exit_code = 0;
  auto local = open_unlocked_store("sync", db, login, password_file, key_file, exit_code);
  if (!local) return exit_code;
  storage::RemoteStoreOptions remote_options;
  remote_options.base_url = url;
  remote_options.ca_file = ca_file;
  auto remote = open_unlocked_remote_store("sync", std::move(remote_options), remote_login,
                                           remote_password_file, remote_key_file, exit_code);
  if (!remote) return exit_code;

  storage::SyncOptions options;
  options.journal =
      journal.empty() ? storage::default_journal_path(db) : std::filesystem::path(journal);
  options.peer_label = url;
  options.dry_run = vm.count("dry-run") > 0;
  auto report =
      storage::sync_stores(*local->store, local->who, *remote->store, remote->who, options);
  if (!report.ok()) {
    std::cerr << "fhirbridge sync: " << report.status().to_string()
              << " (what was done is journaled: running sync again is safe)\n";
    return 1;
  }
  print_report(*report, std::cout);
  if (!report->failures.empty()) return 1;
  return report->conflicts.empty() ? 0 : 3;
}

}  // namespace fhirbridge::cli
