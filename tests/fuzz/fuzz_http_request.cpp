// Raw HTTP/1.1 bytes -> Beast's request parser (as http_server.cpp reads
// them) -> handle_request over a real SqliteStore in a temp file, with one
// account ("alice" / "alice-password") whose key is in the keychain.
//
// To let the fuzzer reach authenticated routes, the input may contain the
// placeholders @HCP@ (alice's healthcare party id) and @KEY@ (her private key
// hex); seeds use "Authorization: Basic YWxpY2U6YWxpY2UtcGFzc3dvcmQ=".
#include <botan/auto_rng.h>

#include <boost/beast/http.hpp>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "fhirbridge/crypto/keychain.hpp"
#include "fhirbridge/server/accounts.hpp"
#include "fhirbridge/server/handle_request.hpp"
#include "fhirbridge/server/server_context.hpp"
#include "fhirbridge/storage/sqlite_store.hpp"
#include "fhirbridge/storage/user_admin.hpp"
#include "fuzz_support.hpp"

namespace {

using namespace fhirbridge;
namespace http = boost::beast::http;

struct World {
  World() {
    char pattern[] = "/tmp/fhirbridge-fuzz-XXXXXX";
    if (!mkdtemp(pattern)) std::abort();
    dir = pattern;
    auto opened = storage::SqliteStore::open(dir / "fuzz.db", keychain);
    if (!opened.ok()) std::abort();
    store = std::move(*opened);
    server::ServerSettings settings;
    settings.public_base_url = "http://fuzz.test";
    settings.login_cache_ttl = std::chrono::hours(24);  // Argon2 once, not per input
    settings.body_limit = 1 << 20;
    ctx = std::make_unique<server::ServerContext>(*store, keychain, settings);
    Botan::AutoSeeded_RNG rng;
    auto account = storage::create_user(*store, {"alice", "alice-password", "alice"}, rng);
    if (!account.ok()) std::abort();
    hcp_id = account->hcp.id.value_or("");
    key_hex = account->private_key_hex;
    if (!keychain.put(hcp_id, key_hex, account->hcp.publicKey.value_or("")).ok()) std::abort();
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(instance().dir, ec);
    });
  }
  static World& instance() {
    static World world;
    return world;
  }
  std::filesystem::path dir;
  crypto::Keychain keychain;
  std::unique_ptr<storage::SqliteStore> store;
  std::unique_ptr<server::ServerContext> ctx;
  std::string hcp_id, key_hex;
};

void replace_all(std::string& text, std::string_view from, const std::string& to) {
  for (std::size_t at = text.find(from); at != std::string::npos;
       at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  World& world = World::instance();
  std::string raw(fuzz::as_text(data, size));
  replace_all(raw, "@HCP@", world.hcp_id);
  replace_all(raw, "@KEY@", world.key_hex);

  http::request_parser<http::string_body> parser;
  parser.eager(true);
  parser.body_limit(world.ctx->settings().body_limit);
  boost::system::error_code ec;
  std::size_t offset = 0;
  while (!parser.is_done() && offset < raw.size()) {
    const std::size_t used =
        parser.put(boost::asio::buffer(raw.data() + offset, raw.size() - offset), ec);
    if (ec == http::error::need_more) break;
    if (ec) return 0;
    if (used == 0) break;
    offset += used;
  }
  if (!parser.is_done()) {
    parser.put_eof(ec);
    if (ec || !parser.is_done()) return 0;
  }
  // What the server asks of the header alone, before "100 Continue": a
  // refusal (401/429) or 417, never anything else.
  server::answer_before_body_hashes(parser.get(), *world.ctx);
  if (auto early = server::answer_before_body(parser.get(), *world.ctx))
    if (early->result_int() != 401 && early->result_int() != 417 && early->result_int() != 429 &&
        early->result_int() != 500)
      __builtin_trap();
  auto response = server::handle_request(parser.release(), *world.ctx);
  // Every answer must be a well-formed HTTP response.
  if (response.result_int() < 100 || response.result_int() > 599) __builtin_trap();
  return 0;
}
