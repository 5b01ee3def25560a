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

// --page-size applies when user add creates the file; a file that exists keeps
// its own, and says so; a size SQLite would ignore is refused before any file
// is created.
BOOST_AUTO_TEST_CASE(user_add_page_size_sets_a_new_files_page_size) {
  test::TempDir dir;
  const auto db = dir.path() / "paged.db";
  const auto password_file = dir.path() / "password.txt";
  test::write_file(password_file, "pw");
  auto add = [&](const std::string& login, const std::string& page_size, std::ostream& err) {
    std::ostringstream out;
    return run_user_command({"add", "--login", login, "--password-file", password_file.string(),
                             "--db", db.string(), "--page-size", page_size},
                            out, err);
  };
  auto page_size_of_file = [&] {
    crypto::Keychain keychain;
    auto store = SqliteStore::open(db, keychain, {});
    BOOST_REQUIRE(store.ok());
    return (*store)->page_size();
  };

  for (const std::string bad : {"1000", "256", "131072", "8k", "-4096", " 4096", "", "0"}) {
    std::ostringstream err;
    BOOST_TEST_INFO("--page-size '" << bad << "'");
    BOOST_TEST(add("bad", bad, err) == 2);
    // Out of range or not a number: the message names the option either way.
    BOOST_TEST(err.str().find("--page-size must be a power of two from 512 to 65536, not '" + bad +
                              "'") != std::string::npos,
               err.str());
    BOOST_TEST(!std::filesystem::exists(db));
  }

  std::ostringstream err;
  BOOST_REQUIRE_MESSAGE(add("first", "16384", err) == 0, err.str());
  BOOST_TEST(page_size_of_file() == 16384u);

  std::ostringstream err2;
  BOOST_REQUIRE_MESSAGE(add("second", "8192", err2) == 0, err2.str());
  BOOST_TEST(err2.str().find("page size stays 16384") != std::string::npos, err2.str());
  BOOST_TEST(page_size_of_file() == 16384u);
  crypto::Keychain keychain;
  auto store = SqliteStore::open(db, keychain, {});
  BOOST_REQUIRE(store.ok());
  BOOST_TEST((*store)->get_user_by_login("first").ok());
  BOOST_TEST((*store)->get_user_by_login("second").ok());
}

BOOST_AUTO_TEST_CASE(a_new_store_has_sqlites_default_page_size_unless_told) {
  test::TempDir dir;
  crypto::Keychain keychain;
  auto plain = SqliteStore::open(dir.path() / "plain.db", keychain, {});
  BOOST_REQUIRE(plain.ok());
  BOOST_TEST((*plain)->page_size() == 4096u);
  SqliteStoreOptions options;
  options.page_size = 65536;
  auto big = SqliteStore::open(dir.path() / "big.db", keychain, options);
  BOOST_REQUIRE(big.ok());
  BOOST_TEST((*big)->page_size() == 65536u);
  options.page_size = 3000;
  auto bad = SqliteStore::open(dir.path() / "bad.db", keychain, options);
  BOOST_TEST((bad.status().code() == StatusCode::invalid), bad.status().to_string());
  BOOST_TEST(!std::filesystem::exists(dir.path() / "bad.db"));
}

BOOST_AUTO_TEST_SUITE_END()
