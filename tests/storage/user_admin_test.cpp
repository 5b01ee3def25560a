// `fhirbridge user add` through the function the CLI calls.
#include <boost/test/unit_test.hpp>

#include <sstream>

#include "common/test_support.hpp"
#include "fhirbridge/crypto/keychain.hpp"
#include "fhirbridge/crypto/password.hpp"
#include "fhirbridge/storage/sqlite_store.hpp"
#include "fhirbridge/storage/user_admin.hpp"

using namespace fhirbridge;
using namespace fhirbridge::storage;

namespace {

// "key value" lines -> map
std::map<std::string, std::string> parse_lines(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  std::string key, value;
  while (in >> key >> value) out[key] = value;
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(user_admin)

BOOST_AUTO_TEST_CASE(user_add_creates_hcp_user_and_prints_the_key_once) {
  test::TempDir dir;
  const auto db = dir.path() / "users.db";
  const auto password_file = dir.path() / "password.txt";
  test::write_file(password_file, "correct horse battery\n");

  std::ostringstream out, err;
  int rc = run_user_command({"add", "--login", "alice", "--password-file", password_file.string(),
                             "--db", db.string(), "--name", "Dr Alice"},
                            out, err);
  BOOST_REQUIRE_MESSAGE(rc == 0, err.str());
  auto printed = parse_lines(out.str());
  BOOST_REQUIRE(printed.count("user") && printed.count("healthcare-party") &&
                printed.count("private-key"));

  crypto::Keychain keychain;
  auto store = SqliteStore::open(db, keychain, {});
  BOOST_REQUIRE(store.ok());
  auto user = (*store)->get_user_by_login("alice");
  BOOST_REQUIRE(user.ok());
  BOOST_TEST(*user->id == printed["user"]);
  BOOST_TEST(*user->healthcarePartyId == printed["healthcare-party"]);
  BOOST_TEST(crypto::check_password("correct horse battery", *user->passwordHash));
  BOOST_TEST(!crypto::check_password("correct horse battery\n", *user->passwordHash));
  BOOST_TEST(user->passwordHash->find("correct") == std::string::npos);
  auto hcp = (*store)->get_healthcare_party(printed["healthcare-party"]);
  BOOST_REQUIRE(hcp.ok());
  BOOST_TEST(*hcp->name == "Dr Alice");
  // The printed private key is the one matching the stored public key.
  auto put = keychain.put(*hcp->id, printed["private-key"], *hcp->publicKey);
  BOOST_TEST(put.ok(), put.to_string());
  store->reset();

  // It is stored nowhere.
  for (const char* suffix : {"", "-wal"}) {
    std::filesystem::path p = db.string() + suffix;
    if (std::filesystem::exists(p))
      BOOST_TEST(test::read_file(p).find(printed["private-key"]) == std::string::npos);
  }

  // Same login again: refused, nothing printed.
  std::ostringstream out2, err2;
  rc = run_user_command(
      {"add", "--login", "alice", "--password-file", password_file.string(), "--db", db.string()},
      out2, err2);
  BOOST_TEST(rc == 1);
  BOOST_TEST(out2.str().empty());
  BOOST_TEST(err2.str().find("already taken") != std::string::npos, err2.str());
}

BOOST_AUTO_TEST_CASE(user_add_usage_errors) {
  std::ostringstream out, err;
  BOOST_TEST(run_user_command({}, out, err) == 2);
  BOOST_TEST(run_user_command({"remove"}, out, err) == 2);
  BOOST_TEST(run_user_command({"add", "--login", "x"}, out, err) == 2);
  BOOST_TEST(run_user_command({"add", "--login"}, out, err) == 2);
  BOOST_TEST(run_user_command({"add", "--bogus", "1"}, out, err) == 2);
  BOOST_TEST(run_user_command({"add", "--login", "x", "--password-file", "/nonexistent/pw"}, out,
                              err) == 1);
  BOOST_TEST(out.str().empty());
  std::ostringstream help;
  BOOST_TEST(run_user_command({"add", "--help"}, help, err) == 0);
  BOOST_TEST(help.str().find("--password-file") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
