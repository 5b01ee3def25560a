// fhirbridge serve [--db FILE] [--listen HOST:PORT] [--threads N] [--io-model pinned|shared]
//                  [--write-threads N] [--body-limit BYTES]
//                  [--demo] [--key-ttl SECONDS] [--public-url URL] [--strict] [--read-cache N]
//                  [--search-cache N]
//                  [--store sqlite|icure --icure-url URL [--icure-ca-file F] [--icure-insecure]]
// Runs the FHIR server until SIGINT/SIGTERM, on an embedded SQLite store or
// on a remote iCure REST API (docs/remote.md).
#include <botan/auto_rng.h>

#include <boost/program_options.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <optional>
#include <thread>

#include "commands.hpp"
#include "count_option.hpp"
#include "fhirbridge/crypto/keychain.hpp"
#include "fhirbridge/server/accounts.hpp"
#include "fhirbridge/server/http_server.hpp"
#include "fhirbridge/server/server_context.hpp"
#include "fhirbridge/storage/remote_store.hpp"
#include "fhirbridge/storage/sqlite_store.hpp"
#include "fhirbridge/storage/user_admin.hpp"

namespace fhirbridge::cli {

namespace po = boost::program_options;

namespace {

constexpr const char* kDemoLogin = "demo";

bool split_listen(const std::string& listen, std::string& host, unsigned short& port) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) return false;
  host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  try {
    const unsigned long p = std::stoul(listen.substr(colon + 1));
    if (p > 65535) return false;
    port = static_cast<unsigned short>(p);
  } catch (const std::exception&) {
    return false;
  }
  return !host.empty();
}

// Creates the demo account once per database and prints how to use it.
int ensure_demo_account(storage::Store& store, const std::string& base_url) {
  auto existing = store.get_user_by_login(kDemoLogin);
  if (existing.ok()) {
    std::cout << "demo user exists: login '" << kDemoLogin << "', healthcare party "
              << existing->healthcarePartyId.value_or("?") << "\n"
              << "  (its password and private key were printed when this database was first started"
                 " with --demo; they are not stored in clear)\n";
    return 0;
  }
  if (existing.status().code() != StatusCode::not_found) {
    std::cerr << "fhirbridge serve: " << existing.status().to_string() << "\n";
    return 1;
  }
  Botan::AutoSeeded_RNG rng;
  const std::string password = server::random_password(rng);
  auto account = storage::create_user(store, {kDemoLogin, password, "Demo Doctor"}, rng);
  if (!account.ok()) {
    std::cerr << "fhirbridge serve: cannot create the demo user: " << account.status().to_string()
              << "\n";
    return 1;
  }
  const std::string hcp_id = account->hcp.id.value_or("");
  std::cout << "demo account created (printed once: keep it)\n"
            << "  login:       " << kDemoLogin << "\n"
            << "  password:    " << password << "\n"
            << "  hcp id:      " << hcp_id << "\n"
            << "  private key: " << account->private_key_hex << "\n"
            << "post the key first (it stays in memory only):\n"
            << "  curl -u " << kDemoLogin << ":" << password
            << " -H 'Content-Type: application/json' -d '{\"key\": \"" << account->private_key_hex
            << "\"}' " << base_url << "/rest/icdx/v1/keychain/" << hcp_id << "\n";
  return 0;
}

}  // namespace

int serve_command(const std::vector<std::string>& args) {
  po::options_description desc("fhirbridge serve options");
  std::string db, listen, public_url, store_kind, icure_url, icure_ca_file, io_model;
  // Upper bounds: past 1024 threads only fail to start; seconds are bounded
  // (a year, a day) so that a deadline computed from them cannot overflow.
  Count<unsigned, 1, 1024> threads{std::clamp(std::thread::hardware_concurrency(), 2u, 1024u)};
  Count<unsigned, 0, 1024> write_threads{16};
  Count<std::size_t, 1> body_limit{8 * 1024 * 1024};
  Count<std::size_t> read_cache{server::ServerSettings{}.read_cache_entries};
  Count<std::size_t> search_cache{server::ServerSettings{}.search_cache_entries};
  Count<long, 1, 366 * 24 * 3600> key_ttl{12 * 3600};
  Count<long, 1, 24 * 3600> read_timeout{30};
  desc.add_options()("help,h", "this help")("db", po::value(&db)->default_value("fhirbridge.db"),
                                            "SQLite database file (created if missing)")(
      "listen", po::value(&listen)->default_value("127.0.0.1:8080"),
      "HOST:PORT to listen on (port 0: any free port)")(
      "threads", po::value(&threads)->default_value(threads),
      "I/O threads, which also handle reads (one per core: more only contend)")(
      "io-model", po::value(&io_model),
      "how connections share the I/O threads: pinned (each stays on one thread; the default "
      "with --store sqlite) or shared (any free thread; the default with --store icure)")(
      "write-threads", po::value(&write_threads)->default_value(write_threads),
      "threads that handle writes (POST/PUT/DELETE); writes waiting together share one commit "
      "(0: writes run on the I/O threads)")("body-limit",
                                            po::value(&body_limit)->default_value(body_limit),
                                            "largest request body, in bytes (413 above)")(
      "key-ttl", po::value(&key_ttl)->default_value(key_ttl),
      "seconds a posted private key stays in memory")(
      "read-timeout", po::value(&read_timeout)->default_value(read_timeout),
      "seconds before an idle connection is closed")(
      "read-cache", po::value(&read_cache)->default_value(read_cache),
      "resource versions whose FHIR JSON is kept for repeated reads (docs/server.md; 0: none)")(
      "search-cache", po::value(&search_cache)->default_value(search_cache),
      "searchset Bundles kept for repeated searches while nothing is committed (docs/server.md; "
      "0: none)")("public-url", po::value(&public_url),
                  "base URL for Location/fullUrl (default: from the Host header)")(
      "strict", "reject unknown search parameters (400) unless Prefer: handling=lenient")(
      "no-access-log", "do not log one line per request on stderr")(
      "demo", "create a demo user on first start and print its credentials and private key")(
      "store", po::value(&store_kind)->default_value("sqlite"),
      "sqlite (the --db file) or icure (a remote iCure REST API, see --icure-url)")(
      "icure-url", po::value(&icure_url),
      "with --store icure: the remote's base URL, http(s)://host:port (/rest/v1 is added)")(
      "icure-ca-file", po::value(&icure_ca_file),
      "with --store icure: PEM CA certificates to verify the remote (default: the system's)")(
      "icure-insecure",
      "with --store icure: do not verify the remote's TLS certificate (tests only)");
  // HTTPS (docs/server.md, "HTTPS (TLS)"): both or neither.
  std::string tls_cert, tls_key;
  desc.add_options()("tls-cert", po::value(&tls_cert),
                     "serve HTTPS: PEM certificate (chain) file; needs --tls-key")(
      "tls-key", po::value(&tls_key), "serve HTTPS: PEM private key file of --tls-cert");
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(desc).run(), vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    std::cerr << "fhirbridge serve: " << e.what() << "\n" << desc;
    return 2;
  }
  if (vm.count("help")) {
    std::cout << "usage: fhirbridge serve [options]\n" << desc;
    return 0;
  }
  std::string host;
  unsigned short port = 0;
  if (!split_listen(listen, host, port)) {
    std::cerr << "fhirbridge serve: --listen must be HOST:PORT, not '" << listen << "'\n";
    return 2;
  }
  if (store_kind != "sqlite" && store_kind != "icure") {
    std::cerr << "fhirbridge serve: --store must be sqlite or icure, not '" << store_kind << "'\n";
    return 2;
  }
  const bool remote = store_kind == "icure";
  // A remote store's reads wait on the network: there a free thread should
  // take the next request (docs/server.md, "I/O threads").
  if (io_model.empty()) io_model = remote ? "shared" : "pinned";
  if (io_model != "pinned" && io_model != "shared") {
    std::cerr << "fhirbridge serve: --io-model must be pinned or shared, not '" << io_model
              << "'\n";
    return 2;
  }
  if (remote && icure_url.empty()) {
    std::cerr << "fhirbridge serve: --store icure needs --icure-url URL\n";
    return 2;
  }
  if (remote && vm.count("demo")) {
    std::cerr << "fhirbridge serve: --demo creates a local user; with --store icure users live on "
                 "the remote\n";
    return 2;
  }

  crypto::Keychain keychain{std::chrono::seconds(key_ttl.value)};
  std::unique_ptr<storage::Store> store;
  storage::SqliteStore* sqlite = nullptr;
  if (remote) {
    // Logins are checked by the remote (GET /user/current); entities are
    // sealed here with the keys posted to our keychain endpoint.
    storage::RemoteStoreOptions remote_options;
    remote_options.base_url = icure_url;
    remote_options.ca_file = icure_ca_file;
    remote_options.verify_tls = vm.count("icure-insecure") == 0;
    auto opened = storage::open_remote_store(std::move(remote_options), keychain);
    if (!opened.ok()) {
      std::cerr << "fhirbridge serve: --icure-url " << icure_url << ": "
                << opened.status().to_string() << "\n";
      return 1;
    }
    store = std::move(*opened);
  } else {
    auto opened = storage::SqliteStore::open(db, keychain);
    if (!opened.ok()) {
      std::cerr << "fhirbridge serve: cannot open " << db << ": " << opened.status().to_string()
                << "\n";
      return 1;
    }
    sqlite = opened->get();
    store = std::move(*opened);
  }

  server::ServerSettings settings;
  settings.body_limit = body_limit.value;
  settings.public_base_url = public_url;
  settings.strict_by_default = vm.count("strict") > 0;
  settings.read_cache_entries = read_cache.value;
  settings.search_cache_entries = search_cache.value;
  server::ServerContext ctx(*store, keychain, settings);
  // The iCure REST subset (/rest/v1) for the official SDK, over the same rows.
  if (auto* sealed = dynamic_cast<storage::SealedStore*>(sqlite)) ctx.attach_sealed_store(sealed);

  server::HttpServerOptions options;
  options.address = host;
  options.port = port;
  options.threads = threads.value;
  options.write_threads = write_threads.value;
  options.io_model = io_model == "shared" ? server::HttpServerOptions::IoModel::shared
                                          : server::HttpServerOptions::IoModel::pinned;
  options.read_timeout = std::chrono::seconds(read_timeout.value);
  options.access_log = vm.count("no-access-log") == 0;
  options.tls_cert_file = tls_cert;
  options.tls_key_file = tls_key;
  int rc = 0;
  {
    server::HttpServer http(ctx, options);
    http.stop_on_signals();
    if (Status started = http.start(); !started.ok()) {
      std::cerr << "fhirbridge serve: " << started.to_string() << "\n";
      return 1;
    }
    const std::string shown_host = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    const std::string base_url =
        std::string(http.scheme()) + "://" + shown_host + ":" + std::to_string(http.port());
    if (vm.count("demo")) {
      auto lock = ctx.lock_store();
      rc = ensure_demo_account(*store, public_url.empty() ? base_url : public_url);
    }
    if (rc != 0) {
      http.stop();
      http.wait();
      return rc;
    }
    std::cout << "FHIR R4 API at " << base_url << "/rest/fhir/r4 ("
              << (remote ? "remote iCure " + icure_url : "database " + db) << ")\n"
              << "listening on " << base_url << " (" << options.threads << " I/O threads, "
              << io_model << ")" << std::endl;
    http.wait();  // until SIGINT/SIGTERM and the requests in flight are answered
  }
  // How well writes shared commits (group commit, docs/storage.md), and how
  // long the one writer spent running them: read by
  // benchmarks/http/cpu_per_request.sh, useful to an operator too.
  std::optional<storage::SqliteStore::WriteStats> writes;
  if (sqlite) writes = sqlite->write_stats();
  // How many searches the search cache answered (docs/server.md): what a
  // benchmark of repeated searches measured is then in plain sight.
  const auto searches = ctx.search_cache_stats();
  if (settings.search_cache_entries > 0)
    std::cerr << "fhirbridge: the search cache answered " << searches.answered << " of "
              << searches.looked_up << " searches\n";
  store.reset();  // closes the database cleanly
  std::cerr << "fhirbridge: stopped";
  if (writes) {
    // Seconds to the microsecond, formatted aside: std::cerr keeps its flags.
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%.6f",
                  std::chrono::duration<double>(writes->group_time).count());
    std::cerr << " (" << writes->writes << " writes in " << writes->commits << " commits, "
              << seconds << " s in write groups)";
  }
  std::cerr << "\n";
  return rc;
}

}  // namespace fhirbridge::cli
