#include "fhirbridge/storage/user_admin.hpp"

#include <botan/auto_rng.h>

#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "fhirbridge/crypto/keychain.hpp"
#include "fhirbridge/crypto/password.hpp"
#include "fhirbridge/crypto/primitives.hpp"
#include "fhirbridge/storage/sqlite_store.hpp"

namespace fhirbridge::storage {

Result<CreatedUser> create_user(Store& store, const NewUser& request,
                                Botan::RandomNumberGenerator& rng) {
  if (request.login.empty()) return Status::Invalid("login", "the login is empty");
  if (request.password.empty()) return Status::Invalid("password", "the password is empty");
  // Refuse before creating anything, so a taken login leaves no orphan HCP.
  auto existing = store.get_user_by_login(request.login);
  if (existing.ok())
    return Status::Conflict("login '" + request.login + "' is already taken", "login");
  if (existing.status().code() != StatusCode::not_found) return existing.status();

  crypto::RsaKeyPair keys = crypto::generate_rsa_key_pair(rng);
  icure::HealthcareParty hcp;
  hcp.id = crypto::random_uuid(rng);
  hcp.name = request.name.empty() ? request.login : request.name;
  hcp.publicKey = keys.public_key_hex;
  auto stored_hcp = store.put_healthcare_party(std::move(hcp));
  if (!stored_hcp.ok()) return stored_hcp.status();

  icure::User user;
  user.id = crypto::random_uuid(rng);
  user.login = request.login;
  user.name = request.name.empty() ? request.login : request.name;
  user.healthcarePartyId = stored_hcp->id;
  user.passwordHash = crypto::hash_password(request.password, rng);
  auto stored_user = store.put_user(std::move(user));
  if (!stored_user.ok()) return stored_user.status();

  return CreatedUser{std::move(*stored_user), std::move(*stored_hcp),
                     crypto::to_hex(keys.private_key_pkcs8.data(), keys.private_key_pkcs8.size())};
}

namespace {

constexpr const char* kUsage =
    "usage: fhirbridge user add --login L --password-file F [--db FILE] [--name N]\n"
    "                           [--page-size BYTES]\n"
    "  Creates a healthcare party (with a new RSA key pair) and its login.\n"
    "  The private key is printed ONCE: keep it, it is stored nowhere.\n"
    "  --page-size: when this creates the database file, its SQLite page size\n"
    "  (512..65536, a power of two; default 4096). 16384 speeds up bulk imports\n"
    "  and slows down single creates (docs/storage.md, \"Page size\").\n";

}  // namespace

int run_user_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    (args.empty() ? err : out) << kUsage;
    return args.empty() ? 2 : 0;
  }
  if (args[0] != "add") {
    err << "fhirbridge user: unknown sub-command '" << args[0] << "'\n" << kUsage;
    return 2;
  }
  std::string login, password_file, db = "fhirbridge.db", name, page_size;
  bool page_size_given = false;
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      out << kUsage;
      return 0;
    }
    std::string* target = a == "--login"           ? &login
                          : a == "--password-file" ? &password_file
                          : a == "--db"            ? &db
                          : a == "--name"          ? &name
                          : a == "--page-size"     ? &page_size
                                                   : nullptr;
    if (!target) {
      err << "fhirbridge user add: unknown option '" << a << "'\n" << kUsage;
      return 2;
    }
    if (i + 1 >= args.size()) {
      err << "fhirbridge user add: " << a << " needs a value\n";
      return 2;
    }
    *target = args[++i];
    page_size_given |= target == &page_size;
  }
  if (login.empty() || password_file.empty()) {
    err << "fhirbridge user add: --login and --password-file are required\n" << kUsage;
    return 2;
  }
  SqliteStoreOptions options;
  if (page_size_given) {
    // Digits only (stoul would take "-1", " 8" or "8k"), then the store's rule,
    // so that every refusal names the option. 0 is the store's "default", not
    // a size to ask for: refused like any other.
    const bool digits = !page_size.empty() && page_size.size() <= 5 &&
                        page_size.find_first_not_of("0123456789") == std::string::npos;
    const std::size_t bytes = digits ? std::stoul(page_size) : 0;
    if (bytes == 0 || !SqliteStore::valid_page_size(bytes)) {
      err << "fhirbridge user add: --page-size must be a power of two from 512 to 65536, not '"
          << page_size << "'\n";
      return 2;
    }
    options.page_size = bytes;
  }
  std::ifstream in(password_file, std::ios::binary);
  if (!in) {
    err << "fhirbridge user add: cannot read the password file '" << password_file << "'\n";
    return 1;
  }
  std::string password((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!password.empty() && (password.back() == '\n' || password.back() == '\r'))
    password.pop_back();  // `echo secret > file` adds a newline

  try {
    crypto::Keychain keychain;  // unused for users, but the store needs one
    Botan::AutoSeeded_RNG rng;
    auto store = SqliteStore::open(db, keychain, options);
    if (!store.ok()) {
      err << "fhirbridge user add: " << store.status().to_string() << "\n";
      return store.status().code() == StatusCode::invalid ? 2 : 1;
    }
    if (options.page_size != 0 && (*store)->page_size() != options.page_size)
      err << "fhirbridge user add: " << db << " exists: its page size stays "
          << (*store)->page_size() << " bytes\n";
    auto created = create_user(**store, {login, password, name}, rng);
    std::fill(password.begin(), password.end(), '\0');
    if (!created.ok()) {
      err << "fhirbridge user add: " << created.status().to_string() << "\n";
      return 1;
    }
    out << "user " << *created->user.id << "\n"
        << "healthcare-party " << *created->hcp.id << "\n"
        << "private-key " << created->private_key_hex << "\n";
    err << "The private key above is shown only once and stored nowhere: keep it safe.\n";
    return 0;
  } catch (const std::exception& e) {
    err << "fhirbridge user add: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace fhirbridge::storage
