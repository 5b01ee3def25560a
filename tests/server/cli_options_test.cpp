// The `fhirbridge` command run as the real binary: serve's banner (its I/O
// model), the bulk commands end to end, and the whole-number options
// (server/cli/count_option.hpp): a negative, fractional, out-of-range or overflowing
// value is refused with exit code 2 and a message naming the option and its
// range, before anything is opened or started. Boost's own parse wrapped "-1"
// to the largest value: `generate --patients -1` never ended, `import
// --batch-size -1` meant one transaction for everything.
#include <sys/wait.h>

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <string>

#include "common/test_support.hpp"

namespace {

using fhirbridge::test::fhirbridge_binary;

struct Run {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

// `timeout` bounds a command that, refused or not, would run forever (a
// server: SIGTERM, then its clean stop).
Run run_fhirbridge(const std::string& args, int seconds = 20) {
  const std::string command = "timeout " + std::to_string(seconds) + " " +
                              fhirbridge_binary().string() + " " + args + " 2>&1 < /dev/null";
  Run run;
  FILE* out = popen(command.c_str(), "r");
  BOOST_REQUIRE(out != nullptr);
  std::array<char, 4096> buffer{};
  std::size_t n = 0;
  while ((n = fread(buffer.data(), 1, buffer.size(), out)) > 0 && run.output.size() < (1u << 20))
    run.output.append(buffer.data(), n);
  const int status = pclose(out);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

void expect_refused(const std::string& args, const std::string& option, const std::string& range) {
  const Run run = run_fhirbridge(args);
  BOOST_TEST_CONTEXT("fhirbridge " << args << "\n" << run.output.substr(0, 400)) {
    BOOST_TEST(run.exit_code == 2);
    BOOST_TEST(run.output.find("for option '" + option + "' is invalid") != std::string::npos);
    BOOST_TEST(run.output.find(range) != std::string::npos);
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(cli_options)

BOOST_AUTO_TEST_CASE(whole_number_options_refuse_what_would_wrap_or_overflow) {
  if (!std::filesystem::exists(fhirbridge_binary())) {
    BOOST_TEST_MESSAGE("skipped: " << fhirbridge_binary() << " is not built");
    return;
  }
  fhirbridge::test::TempDir dir;
  const std::string db = "--db " + (dir.path() / "never.db").string();
  const std::string import = "import " + db + " --login a --password-file p --key-file k ";

  expect_refused("generate --patients -1", "--patients", "from 0 up");
  expect_refused("generate --seed 1.5", "--seed", "from 0 up");
  expect_refused("generate --observations-per-patient 18446744073709551616",
                 "--observations-per-patient", "from 0 up");
  expect_refused(import + "--batch-size -1 x.ndjson", "--batch-size", "from 1 up");
  expect_refused(import + "--batch-size 0 x.ndjson", "--batch-size", "from 1 up");
  expect_refused(import + "--max-json-bytes -1 x.ndjson", "--max-json-bytes", "from 1 up");
  expect_refused("serve " + db + " --threads -1", "--threads", "from 1 to 1024");
  expect_refused("serve " + db + " --threads 0", "--threads", "from 1 to 1024");
  expect_refused("serve " + db + " --write-threads 1025", "--write-threads", "from 0 to 1024");
  expect_refused("serve " + db + " --body-limit -1", "--body-limit", "from 1 up");
  expect_refused("serve " + db + " --read-cache ' 5'", "--read-cache", "from 0 up");
  expect_refused("serve " + db + " --key-ttl 0", "--key-ttl", "from 1 to 31622400");
  expect_refused("serve " + db + " --read-timeout 1e3", "--read-timeout", "from 1 to 86400");
  // Not a whole number, but refused the same way: before anything is opened.
  const Run io_model = run_fhirbridge("serve " + db + " --io-model threaded");
  BOOST_TEST(io_model.exit_code == 2);
  BOOST_TEST(io_model.output.find("--io-model must be pinned or shared, not 'threaded'") !=
             std::string::npos);
  const Run since = run_fhirbridge("export " + db +
                                   " --login a --password-file p --key-file k --since yesterday");
  BOOST_TEST(since.exit_code == 2);
  BOOST_TEST(since.output.find("--since: 'yesterday' is not a date") != std::string::npos);
  // Refused before the database was opened or created.
  BOOST_TEST(!std::filesystem::exists(dir.path() / "never.db"));

  // In range: taken as before (2 patients with 1 observation each: 4 lines).
  const Run generated = run_fhirbridge(
      "generate --patients 2 --observations-per-patient 1 --seed 18446744073709551615");
  BOOST_TEST(generated.exit_code == 0);
  BOOST_TEST(std::count(generated.output.begin(), generated.output.end(), '\n') == 4);
}

// The bulk commands end to end, as a user runs them: export says as of when
// it read (on stderr, after the NDJSON on stdout), and `export --since` that
// instant gives what was imported after it, and nothing else (docs/bulk.md,
// "Incremental export").
BOOST_AUTO_TEST_CASE(export_since_its_as_of_gives_what_came_after) {
  if (!std::filesystem::exists(fhirbridge_binary())) {
    BOOST_TEST_MESSAGE("skipped: " << fhirbridge_binary() << " is not built");
    return;
  }
  fhirbridge::test::TempDir dir;
  const std::string d = dir.path().string() + "/";
  fhirbridge::test::write_file(dir.path() / "pw", "a long enough password\n");
  const std::string db = "--db " + d + "bulk.db";
  const std::string who = db + " --login bulk --password-file " + d + "pw --key-file " + d + "acct";
  BOOST_REQUIRE(
      run_fhirbridge("user add --login bulk --password-file " + d + "pw " + db + " > " + d + "acct")
          .exit_code == 0);
  BOOST_REQUIRE(run_fhirbridge("generate --patients 3 --observations-per-patient 1 --seed 1 > " +
                               d + "a.ndjson")
                    .exit_code == 0);
  BOOST_REQUIRE(run_fhirbridge("generate --patients 2 --observations-per-patient 2 --seed 2 > " +
                               d + "b.ndjson")
                    .exit_code == 0);
  BOOST_REQUIRE(run_fhirbridge("import -q " + who + " " + d + "a.ndjson").exit_code == 0);

  auto resources = [](const std::string& output) {
    std::size_t n = 0;
    for (std::size_t at = 0; (at = output.find("{\"resourceType\"", at)) != std::string::npos; ++at)
      ++n;
    return n;
  };
  const Run everything = run_fhirbridge("export " + who);
  BOOST_TEST_INFO(everything.output.substr(
      everything.output.size() > 400 ? everything.output.size() - 400 : 0));
  BOOST_REQUIRE(everything.exit_code == 0);
  BOOST_TEST(resources(everything.output) == 6u);
  const std::string marker = "; as of ";
  const auto at = everything.output.find(marker);
  BOOST_REQUIRE(at != std::string::npos);
  const std::string as_of = everything.output.substr(at + marker.size(), 24);  // ...T..:..:..sssZ
  BOOST_TEST(as_of.back() == 'Z');

  BOOST_REQUIRE(run_fhirbridge("import -q " + who + " " + d + "b.ndjson").exit_code == 0);
  const Run since = run_fhirbridge("export " + who + " --since " + as_of);
  BOOST_TEST_INFO(since.output.substr(since.output.size() > 400 ? since.output.size() - 400 : 0));
  BOOST_REQUIRE(since.exit_code == 0);
  BOOST_TEST(resources(since.output) == 6u);  // b's 2 patients and 4 observations, none of a's
  BOOST_TEST(since.output.find("2 patients, 4 observations changed since " + as_of) !=
             std::string::npos);
}

// How connections share the I/O threads (docs/server.md, "I/O threads"): pinned
// with the SQLite store, shared with --store icure (its reads wait on the
// network), as given when given. serve's banner says which it runs.
BOOST_AUTO_TEST_CASE(serve_runs_pinned_on_sqlite_and_shared_on_icure_unless_told) {
  if (!std::filesystem::exists(fhirbridge_binary())) {
    BOOST_TEST_MESSAGE("skipped: " << fhirbridge_binary() << " is not built");
    return;
  }
  fhirbridge::test::TempDir dir;
  const std::string sqlite = "serve --listen 127.0.0.1:0 --no-access-log --threads 3 --db " +
                             (dir.path() / "a.db").string();
  // Nothing listens on port 9 (discard): the remote is only reached by a request.
  const std::string icure =
      "serve --listen 127.0.0.1:0 --no-access-log --threads 2 --store icure --icure-url "
      "http://127.0.0.1:9";
  const struct {
    std::string args;
    std::string banner;
  } cases[] = {
      {sqlite, "(3 I/O threads, pinned)"},
      {sqlite + " --io-model shared", "(3 I/O threads, shared)"},
      {icure, "(2 I/O threads, shared)"},
      {icure + " --io-model pinned", "(2 I/O threads, pinned)"},
  };
  for (const auto& c : cases) {
    const Run run = run_fhirbridge(c.args, 2);
    BOOST_TEST_CONTEXT("fhirbridge " << c.args << "\n" << run.output.substr(0, 600)) {
      BOOST_TEST(run.output.find("listening on http://127.0.0.1:") != std::string::npos);
      BOOST_TEST(run.output.find(c.banner) != std::string::npos);
      BOOST_TEST(run.output.find("fhirbridge: stopped") != std::string::npos);  // SIGTERM, clean
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
