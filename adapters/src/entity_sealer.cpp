// iCure entity sealing, byte-compatible with @icure/api 6.4.4 (checked both
// ways by tests/crypto and tests/node/icure_sdk_crypto.mjs).
#include "fhirbridge/crypto/entity_sealer.hpp"

#include <algorithm>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <string_view>
#include <utility>

#include "fhirbridge/crypto/sealed_version.hpp"
#include "fhirbridge/json_io.hpp"

namespace fhirbridge::crypto {

namespace json = boost::json;

struct EntitySealer::ExchangeKeyEntry {
  SecureBytes key;
  // Names this key in the decryption cache: one id per entry, never reused.
  std::uint64_t id = 0;
};

struct EntitySealer::ExchangeKeyCache {
  using Entry = std::shared_ptr<const ExchangeKeyEntry>;
  // reader fingerprint -> RSA ciphertext hex -> exchange key. The ciphertext
  // identifies the key exactly, so a stale or foreign HCP can never hit a wrong
  // entry. Two levels with transparent comparison: a lookup builds no string.
  using ByCiphertext = std::map<std::string, Entry, std::less<>>;

  Entry find(std::string_view reader_fp, std::string_view ciphertext_hex) const {
    std::shared_lock lock(mutex);
    auto by_reader = keys.find(reader_fp);
    if (by_reader == keys.end()) return nullptr;
    auto hit = by_reader->second.find(ciphertext_hex);
    return hit == by_reader->second.end() ? nullptr : hit->second;
  }
  // The entry now cached for the pair: an earlier one wins, so ids stay stable.
  Entry insert(std::string_view reader_fp, std::string_view ciphertext_hex,
               const SecureBytes& key) {
    std::unique_lock lock(mutex);
    auto by_reader = keys.find(reader_fp);
    if (by_reader == keys.end())
      by_reader = keys.emplace(std::string(reader_fp), ByCiphertext{}).first;
    auto hit = by_reader->second.find(ciphertext_hex);
    if (hit != by_reader->second.end()) return hit->second;
    auto entry = std::make_shared<const ExchangeKeyEntry>(ExchangeKeyEntry{key, next_id++});
    by_reader->second.emplace(std::string(ciphertext_hex), entry);
    return entry;
  }
  void clear() {
    std::unique_lock lock(mutex);
    keys.clear();
  }

  mutable std::shared_mutex mutex;
  std::map<std::string, ByCiphertext, std::less<>> keys;
  std::uint64_t next_id = 1;
};

SealingPolicy SealingPolicy::strict() {
  SealingPolicy p;
  p.patient_fields.insert({"names", "addresses", "firstName", "lastName", "ssin", "partnerships",
                           "picture", "administrativeNote", "languages"});
  return p;
}

namespace {

constexpr std::size_t kExchangeKeySize = 32;  // AES-256
// Unsealed patients, and contacts, kept per sealer (a few KB each: ~20 MB each when full).
constexpr std::size_t kUnsealedEntities = 8192;

// The randomness of one seal call, drawn from the caller's rng in batches of
// 128 bytes and handed out in pieces: a DRBG's fixed cost per request
// (reseed check, timestamp input, state update) was most of a seal's CPU with
// six small requests per entity. Local to one call (so as thread-safe as the
// source) and wiped when the call ends (secure_vector).
class BatchedRng final : public Botan::RandomNumberGenerator {
 public:
  explicit BatchedRng(Botan::RandomNumberGenerator& source) : source_(source) {}
  void randomize(std::uint8_t output[], std::size_t length) override {
    while (length > 0) {
      if (used_ == buffer_.size()) {
        buffer_.resize(kBatch);
        source_.randomize(buffer_.data(), buffer_.size());
        used_ = 0;
      }
      const std::size_t n = std::min(length, buffer_.size() - used_);
      std::copy_n(buffer_.data() + used_, n, output);
      std::fill_n(buffer_.data() + used_, n, std::uint8_t{0});  // handed out: forget it
      used_ += n;
      output += n;
      length -= n;
    }
  }
  bool accepts_input() const override { return false; }
  void add_entropy(const std::uint8_t[], std::size_t) override {}
  std::string name() const override { return "batched(" + source_.name() + ")"; }
  void clear() override {
    buffer_.clear();
    used_ = 0;
  }
  bool is_seeded() const override { return source_.is_seeded(); }

 private:
  static constexpr std::size_t kBatch = 128;
  Botan::RandomNumberGenerator& source_;
  SecureBytes buffer_;
  std::size_t used_ = 0;
};

// The part after the first ':' of a decrypted "<entityId>:<secret>" entry.
std::optional<std::string> secret_part(const SecureBytes& plain) {
  auto colon = std::find(plain.begin(), plain.end(), std::uint8_t{':'});
  if (colon == plain.end()) return std::nullopt;
  return std::string(colon + 1, plain.end());
}

// Last 32 hex characters of a public key, without a copy (see fingerprint()).
std::string_view fingerprint_view(std::string_view public_key_hex) {
  constexpr std::size_t kLen = 32;
  return public_key_hex.size() <= kLen ? public_key_hex
                                       : public_key_hex.substr(public_key_hex.size() - kLen);
}

// iCure's content key: the encryptionKeys UUID without dashes (AES-128), or 64 hex (AES-256).
Result<SecureBytes> content_key_of(const std::string& secret) {
  std::string hex;
  hex.reserve(secret.size());
  for (char c : secret)
    if (c != '-') hex += c;
  if (hex.size() != 32 && hex.size() != 64)
    return Status::Invalid({}, "an encryption key must be a UUID or 64 hex digits");
  auto bytes = from_hex(hex);
  if (!bytes.ok()) return bytes.status();
  SecureBytes key(bytes->begin(), bytes->end());
  std::fill(bytes->begin(), bytes->end(), std::uint8_t{0});
  return key;
}

// Puts decrypted encryptedSelf fields back into a typed entity, member by
// member: the same result as to_json(entity), overwriting those keys, and
// from_json of the whole object, without converting the whole entity twice
// (which cost more than the decryption). Unknown keys go to `extra`; null is
// absent, as json_io reads it. `path` names the entity in errors ("Patient").
template <typename Entity>
Status merge_fields(Entity& entity, const json::object& fields, const std::string& path) {
  using Members = boost::describe::describe_members<Entity, boost::describe::mod_public>;
  json::object* extra = nullptr;
  boost::mp11::mp_for_each<Members>([&](auto D) {
    using M = std::remove_cvref_t<decltype(entity.*D.pointer)>;
    if constexpr (std::is_same_v<M, json::object>) extra = &(entity.*D.pointer);
  });
  Status status;
  for (const auto& kv : fields) {
    bool known = false;
    boost::mp11::mp_for_each<Members>([&](auto D) {
      using M = std::remove_cvref_t<decltype(entity.*D.pointer)>;
      if constexpr (!std::is_same_v<M, json::object>) {
        if (known || kv.key() != D.name) return;
        known = true;
        M& member = entity.*D.pointer;
        member = M{};
        if (kv.value().is_null()) return;
        status = json_io::from_json(kv.value(), member, json_io::detail::child_path(path, D.name));
      }
    });
    if (!known && extra) (*extra)[kv.key()] = kv.value();
    if (!status.ok()) return status;
  }
  return status;
}

// Decrypts `entity.encryptedSelf` with the first of `keys` that opens it and
// merges the fields back. Nothing to do without encryptedSelf.
template <typename Entity>
Status unseal_entity(Entity& entity, const std::vector<SecureBytes>& keys, const std::string& what,
                     const std::string& path) {
  if (!entity.encryptedSelf) return {};
  auto decoded = from_base64_secure(*entity.encryptedSelf);
  if (!decoded.ok()) return Status::Internal("encryptedSelf of " + what + " is not base64");
  SecureBytes ct = std::move(*decoded);
  for (std::size_t i = 0; i < keys.size(); ++i) {
    // The last key may take the buffer; the others decrypt a copy.
    auto plain = aes_decrypt_in_place(keys[i], i + 1 == keys.size() ? std::move(ct) : ct);
    if (!plain.ok()) continue;
    boost::system::error_code ec;
    json::value fields = json::parse(
        json::string_view(reinterpret_cast<const char*>(plain->data()), plain->size()), ec);
    if (ec || !fields.is_object()) continue;
    Status merged = merge_fields(entity, fields.get_object(), path);
    if (!merged.ok())
      return Status::Internal("decrypted " + path +
                              " content has an unexpected shape: " + merged.to_string());
    return {};
  }
  return Status::Internal("encryptedSelf of " + what +
                          " cannot be decrypted with the reader's keys (corrupted data)");
}

// The SDK's rule: content keys come from encryptionKeys, or from delegations
// for entities written before encryptionKeys existed.
template <typename Entity>
const icure::DelegationMap& key_map_of(const Entity& e) {
  return e.encryptionKeys && !e.encryptionKeys->empty() ? e.encryptionKeys : e.delegations;
}

bool has_entries_for(const icure::DelegationMap& map, const std::string& hcp) {
  if (!map) return false;
  auto it = map->find(hcp);
  return it != map->end() && !it->second.empty();
}

void append_unique(std::vector<std::string>& v, std::string s) {
  if (std::find(v.begin(), v.end(), s) == v.end()) v.push_back(std::move(s));
}

// Moves the policy's `fields` out of a typed entity into a JSON object (keys in
// the policy's order, as seal_fields does on JSON): the same result as
// to_json -> seal_fields -> from_json without converting the whole entity
// twice, which cost more than the encryption.
template <typename Entity>
json::object take_fields(Entity& entity, const std::set<std::string>& fields) {
  std::map<std::string, json::value, std::less<>> taken;
  using Members = boost::describe::describe_members<Entity, boost::describe::mod_public>;
  boost::mp11::mp_for_each<Members>([&](auto D) {
    using M = std::remove_cvref_t<decltype(entity.*D.pointer)>;
    M& member = entity.*D.pointer;
    if constexpr (std::is_same_v<M, json::object>) {  // `extra`: unknown keys named by the policy
      for (auto it = member.begin(); it != member.end();) {
        if (fields.count(std::string(it->key()))) {
          taken.emplace(std::string(it->key()), it->value());
          it = member.erase(it);
        } else {
          ++it;
        }
      }
    } else if (fields.count(D.name)) {
      if constexpr (json_io::detail::is_optional<M>::value) {
        if (member) taken.emplace(D.name, json_io::to_json(*member));
      } else {
        taken.emplace(D.name, json_io::to_json(member));
      }
      member = M{};
    }
  });
  json::object secret;
  for (const auto& f : fields)
    if (auto it = taken.find(f); it != taken.end()) secret.emplace(f, std::move(it->second));
  return secret;
}

}  // namespace

// Unsealed entities, keyed by reader and entity id, each valid for exactly the
// sealed version it was decrypted from: its rev and all its encryptedSelf texts
// (a re-sealed, updated or tampered entity is a miss). Bounded: emptied when
// full, like the store's parsed-document cache (reads of a working set refill it).
template <typename Entity>
class EntitySealer::UnsealedCache {
 public:
  explicit UnsealedCache(std::size_t capacity) : entries_(capacity) {}

  std::shared_ptr<const Entity> find(const std::string& reader, const Entity& sealed) const {
    if (!entries_.enabled() || !sealed.id) return nullptr;
    return entries_.find(key(reader, *sealed.id), sealed);
  }
  void put(const std::string& reader, const Entity& sealed, std::shared_ptr<const Entity> clear) {
    if (!entries_.enabled() || !sealed.id) return;
    entries_.put(key(reader, *sealed.id), sealed, std::move(clear));
  }
  void clear() { entries_.clear(); }

 private:
  static std::string key(const std::string& reader, const std::string& id) {
    std::string k;
    k.reserve(reader.size() + 1 + id.size());
    k.append(reader).append(1, '\n').append(id);
    return k;
  }
  SealedVersionCache<Entity> entries_;
};

EntitySealer::EntitySealer(Keychain& keychain, Botan::RandomNumberGenerator& rng,
                           SealingPolicy policy, std::size_t decryption_cache_capacity)
    : keychain_(keychain),
      rng_(rng),
      policy_(std::move(policy)),
      cache_(std::make_shared<ExchangeKeyCache>()),
      decrypted_(std::make_shared<DecryptionCache>(decryption_cache_capacity)),
      unsealed_patients_(std::make_shared<UnsealedCache<icure::Patient>>(
          decryption_cache_capacity == 0 ? 0 : kUnsealedEntities)),
      unsealed_contacts_(std::make_shared<UnsealedCache<icure::Contact>>(
          decryption_cache_capacity == 0 ? 0 : kUnsealedEntities)) {}

void EntitySealer::clear_caches() {
  cache_->clear();
  decrypted_->clear();
  unsealed_patients_->clear();
  unsealed_contacts_->clear();
}

// ---- exchange keys ------------------------------------------------------------

Result<SecureBytes> EntitySealer::exchange_key(HcpDirectory& dir, const std::string& owner_hcp_id,
                                               const std::string& delegate_hcp_id,
                                               const std::string& reader_hcp_id,
                                               bool create_if_missing) {
  auto entry =
      exchange_key_entry(dir, owner_hcp_id, delegate_hcp_id, reader_hcp_id, create_if_missing);
  if (!entry.ok()) return entry.status();
  return (*entry)->key;
}

namespace {
// A party the directory does not have is not_found; any other failure (the
// store's I/O, a remote backend down) keeps its own code: a client must see
// 503, not 404, and nothing may take it for "no exchange key yet".
Status party_lookup_failed(const Status& failure, const std::string& hcp_id) {
  if (failure.code() == StatusCode::not_found)
    return Status::NotFound("healthcare party " + hcp_id + " not found: " + failure.message());
  return Status(failure.code(), "reading healthcare party " + hcp_id + ": " + failure.message(),
                failure.path());
}
}  // namespace

Result<std::shared_ptr<const EntitySealer::ExchangeKeyEntry>> EntitySealer::exchange_key_entry(
    HcpDirectory& dir, const std::string& owner_hcp_id, const std::string& delegate_hcp_id,
    const std::string& reader_hcp_id, bool create_if_missing) {
  if (reader_hcp_id != owner_hcp_id && reader_hcp_id != delegate_hcp_id)
    return Status(StatusCode::forbidden, "healthcare party " + reader_hcp_id +
                                             " is neither end of the exchange key " + owner_hcp_id +
                                             " -> " + delegate_hcp_id);
  // The reader's key must be present (and not expired) before any cached
  // decryption is handed out; the key itself is only copied on a cache miss.
  FHIRBRIDGE_RETURN_IF_ERROR(keychain_.check(reader_hcp_id));

  auto owner_shared = dir.get_shared(owner_hcp_id);
  if (!owner_shared.ok()) return party_lookup_failed(owner_shared.status(), owner_hcp_id);
  const icure::HealthcareParty* owner = owner_shared->get();
  if (!owner->publicKey || owner->publicKey->empty())
    return Status::Invalid("HealthcareParty.publicKey",
                           "healthcare party " + owner_hcp_id + " has no public key");
  std::shared_ptr<const icure::HealthcareParty> reader_shared;  // keeps reader_public_key alive
  const std::string* reader_public_key = &*owner->publicKey;
  if (reader_hcp_id != owner_hcp_id) {
    auto reader = dir.get_shared(reader_hcp_id);
    if (!reader.ok()) return party_lookup_failed(reader.status(), reader_hcp_id);
    reader_shared = std::move(*reader);
    if (!reader_shared->publicKey || reader_shared->publicKey->empty())
      return Status::Invalid("HealthcareParty.publicKey",
                             "healthcare party " + reader_hcp_id + " has no public key");
    reader_public_key = &*reader_shared->publicKey;
  }
  const std::string_view reader_fp = fingerprint_view(*reader_public_key);

  // Find the key encrypted for the reader: aesExchangeKeys first (current SDK),
  // the owner's own public key preferred, then the legacy hcPartyKeys pair.
  const std::string* encrypted = nullptr;
  if (owner->aesExchangeKeys) {
    auto look_in = [&](const std::map<std::string, std::map<std::string, std::string>>& by_dlg) {
      auto d = by_dlg.find(delegate_hcp_id);
      if (d == by_dlg.end()) return;
      for (const auto& [fp, key] : d->second)
        if (fp == reader_fp && !key.empty()) encrypted = &key;
    };
    auto mine = owner->aesExchangeKeys->find(*owner->publicKey);
    if (mine != owner->aesExchangeKeys->end()) look_in(mine->second);
    for (const auto& [pub, by_dlg] : *owner->aesExchangeKeys) {
      if (encrypted) break;
      look_in(by_dlg);
    }
  }
  if (!encrypted && owner->hcPartyKeys) {
    auto it = owner->hcPartyKeys->find(delegate_hcp_id);
    if (it != owner->hcPartyKeys->end() && it->second.size() == 2) {
      const std::string& candidate = it->second[reader_hcp_id == owner_hcp_id ? 0 : 1];
      if (!candidate.empty()) encrypted = &candidate;
    }
  }

  if (encrypted) {
    if (auto hit = cache_->find(reader_fp, *encrypted)) return hit;
    auto private_key = keychain_.get(reader_hcp_id);
    if (!private_key.ok()) return private_key.status();
    auto ciphertext = from_hex(*encrypted);
    if (!ciphertext.ok())
      return Status::Internal("exchange key " + owner_hcp_id + " -> " + delegate_hcp_id +
                              " is not hex");
    auto key = rsa_decrypt(*private_key, *ciphertext);
    if (!key.ok())
      return Status(StatusCode::key_mismatch,
                    "the private key of healthcare party " + reader_hcp_id +
                        " cannot decrypt the exchange key " + owner_hcp_id + " -> " +
                        delegate_hcp_id + " (the key in the keychain is not the one on record)");
    if (key->size() != 16 && key->size() != 32)
      return Status::Internal("exchange key " + owner_hcp_id + " -> " + delegate_hcp_id +
                              " has a wrong length");
    return cache_->insert(reader_fp, *encrypted, *key);
  }

  if (!create_if_missing)
    return Status::NotFound("no exchange key from healthcare party " + owner_hcp_id + " to " +
                            delegate_hcp_id);

  // Create K(owner -> delegate), encrypted for both ends, stored on the owner's HCP.
  std::string delegate_public_key = *owner->publicKey;
  if (delegate_hcp_id != owner_hcp_id) {
    auto delegate = dir.get(delegate_hcp_id);
    if (!delegate.ok())
      return Status::NotFound("healthcare party " + delegate_hcp_id +
                              " not found: " + delegate.status().message());
    if (!delegate->publicKey || delegate->publicKey->empty())
      return Status::Invalid("HealthcareParty.publicKey",
                             "healthcare party " + delegate_hcp_id + " has no public key");
    delegate_public_key = *delegate->publicKey;
  }
  SecureBytes key(kExchangeKeySize);
  rng_.randomize(key.data(), key.size());
  auto for_owner = rsa_encrypt(*owner->publicKey, key.data(), key.size(), rng_);
  if (!for_owner.ok()) return for_owner.status();
  std::string owner_hex = to_hex(*for_owner);
  std::string delegate_hex = owner_hex;  // the SDK reuses the ciphertext for A -> A
  if (delegate_hcp_id != owner_hcp_id) {
    auto for_delegate = rsa_encrypt(delegate_public_key, key.data(), key.size(), rng_);
    if (!for_delegate.ok()) return for_delegate.status();
    delegate_hex = to_hex(*for_delegate);
  }
  icure::HealthcareParty updated = *owner;
  if (!updated.hcPartyKeys) updated.hcPartyKeys.emplace();
  (*updated.hcPartyKeys)[delegate_hcp_id] = {owner_hex, delegate_hex};
  if (!updated.aesExchangeKeys) updated.aesExchangeKeys.emplace();
  auto& entry = (*updated.aesExchangeKeys)[*owner->publicKey][delegate_hcp_id];
  entry.clear();
  entry[fingerprint(*owner->publicKey)] = owner_hex;
  entry[fingerprint(delegate_public_key)] = delegate_hex;
  FHIRBRIDGE_RETURN_IF_ERROR(dir.put(updated));

  auto for_owner_entry = cache_->insert(fingerprint_view(*owner->publicKey), owner_hex, key);
  auto for_delegate_entry =
      cache_->insert(fingerprint_view(delegate_public_key), delegate_hex, key);
  return reader_hcp_id == owner_hcp_id ? for_owner_entry : for_delegate_entry;
}

Result<std::shared_ptr<const SecureBytes>> EntitySealer::decrypt_entry(
    const ExchangeKeyEntry& key, const std::string& ciphertext_hex) {
  if (auto hit = decrypted_->find(key.id, ciphertext_hex)) return hit;
  auto plain = aes_decrypt_hex(key.key, ciphertext_hex);
  if (!plain.ok()) return plain.status();  // failures are not cached: they are rare and cheap
  auto shared = std::make_shared<const SecureBytes>(std::move(*plain));
  decrypted_->insert(key.id, ciphertext_hex, shared);
  return shared;
}

// ---- delegations ----------------------------------------------------------------

Result<std::vector<std::string>> EntitySealer::decrypt_delegations(HcpDirectory& dir,
                                                                   const std::string& reader,
                                                                   const icure::DelegationMap& map,
                                                                   const std::string& entity_id,
                                                                   const char* what) {
  if (!has_entries_for(map, reader))
    return Status::NotFound(entity_id + " is not shared with healthcare party " + reader + " (no " +
                            what + " entry)");
  // Without the reader's key nothing can be read: say so before anything else.
  FHIRBRIDGE_RETURN_IF_ERROR(keychain_.check(reader));
  std::vector<std::string> secrets;
  Status first_error;
  // Entries of one owner share the exchange key: resolve it once per owner.
  const std::string* last_owner = nullptr;
  Result<std::shared_ptr<const ExchangeKeyEntry>> key = Status::NotFound("no exchange key");
  for (const auto& d : map->find(reader)->second) {
    if (!d.key || !d.owner) continue;
    if (!last_owner || *last_owner != *d.owner) {
      key = exchange_key_entry(dir, *d.owner, reader, reader, false);
      last_owner = &*d.owner;
    }
    if (!key.ok()) {
      if (first_error.ok()) first_error = key.status();
      continue;
    }
    auto plain = decrypt_entry(**key, *d.key);
    std::optional<std::string> secret = plain.ok() ? secret_part(**plain) : std::nullopt;
    if (!secret) {
      if (first_error.ok())
        first_error = Status::Internal(std::string(what) + " of " + entity_id + " for " + reader +
                                       " cannot be decrypted (corrupted)");
      continue;
    }
    append_unique(secrets, std::move(*secret));
  }
  if (secrets.empty()) {
    if (!first_error.ok()) return first_error;
    return Status::NotFound(entity_id + " has no usable " + what + " entry for " + reader);
  }
  return secrets;
}

Result<std::vector<SecureBytes>> EntitySealer::content_keys(
    HcpDirectory& dir, const std::string& reader, const icure::DelegationMap& encryption_keys,
    const std::string& entity_id) {
  auto secrets = decrypt_delegations(dir, reader, encryption_keys, entity_id, "encryptionKeys");
  if (!secrets.ok()) return secrets.status();
  std::vector<SecureBytes> keys;
  for (const auto& s : *secrets) {
    auto key = content_key_of(s);
    if (key.ok()) keys.push_back(std::move(*key));
  }
  if (keys.empty())
    return Status::Internal("encryptionKeys of " + entity_id + " hold no valid content key");
  return keys;
}

Status EntitySealer::add_delegation_entries(HcpDirectory& dir, const std::string& owner,
                                            const std::string& delegate,
                                            const std::string& entity_id,
                                            const std::vector<std::string>& secrets,
                                            icure::DelegationMap& map,
                                            Botan::RandomNumberGenerator& rng, bool remember) {
  auto key = exchange_key_entry(dir, owner, delegate, owner, true);
  if (!key.ok()) return key.status();
  return add_delegation_entries(**key, owner, delegate, entity_id, secrets, map, rng, remember);
}

Status EntitySealer::add_delegation_entries(const ExchangeKeyEntry& exchange,
                                            const std::string& owner, const std::string& delegate,
                                            const std::string& entity_id,
                                            const std::vector<std::string>& secrets,
                                            icure::DelegationMap& map,
                                            Botan::RandomNumberGenerator& rng, bool remember) {
  if (!map) map.emplace();
  auto& entries = (*map)[delegate];
  // Skip secrets the delegate already gets from this owner (sharing is idempotent).
  std::vector<std::string> present;
  for (const auto& d : entries) {
    if (!d.key || d.owner != owner) continue;
    auto plain = decrypt_entry(exchange, *d.key);
    if (!plain.ok()) continue;
    if (auto secret = secret_part(**plain)) present.push_back(std::move(*secret));
  }
  for (const auto& secret : secrets) {
    if (std::find(present.begin(), present.end(), secret) != present.end()) continue;
    icure::Delegation d;
    d.owner = owner;
    d.delegatedTo = delegate;
    SecureBytes plain;
    plain.reserve(entity_id.size() + 1 + secret.size());
    plain.insert(plain.end(), entity_id.begin(), entity_id.end());
    plain.push_back(':');
    plain.insert(plain.end(), secret.begin(), secret.end());
    d.key = to_hex(aes_encrypt(exchange.key, plain.data(), plain.size(), rng));
    // Remembered as if read back: the first read after a create is warm too.
    if (remember) decrypted_->insert(exchange.id, *d.key, std::move(plain));
    entries.push_back(std::move(d));
  }
  return {};
}

Status EntitySealer::add_new_entity_entries(HcpDirectory& dir, const std::string& owner,
                                            const std::vector<std::string>& parties,
                                            const std::string& entity_id,
                                            std::initializer_list<NewEntry> entries,
                                            Botan::RandomNumberGenerator& rng, bool remember) {
  for (const auto& party : parties) {
    auto key = exchange_key_entry(dir, owner, party, owner, true);
    if (!key.ok()) return key.status();
    for (const NewEntry& entry : entries)
      FHIRBRIDGE_RETURN_IF_ERROR(add_delegation_entries(**key, owner, party, entity_id,
                                                        {entry.secret}, entry.map, rng, remember));
  }
  return {};
}

// ---- encryptedSelf -----------------------------------------------------------------

template <typename Entity>
void EntitySealer::seal_entity(Entity& entity, const std::set<std::string>& fields,
                               const SecureBytes& content_key, Botan::RandomNumberGenerator& rng) {
  json::object secret = take_fields(entity, fields);
  std::string text = json::serialize(secret);
  Bytes ct = aes_encrypt(content_key, reinterpret_cast<const std::uint8_t*>(text.data()),
                         text.size(), rng);
  std::fill(text.begin(), text.end(), '\0');
  entity.encryptedSelf = to_base64(ct.data(), ct.size());
}

// ---- patients ---------------------------------------------------------------------

Status EntitySealer::seal_new_patient(HcpDirectory& dir, const std::string& owner_hcp_id,
                                      icure::Patient& patient,
                                      const std::vector<std::string>& delegates,
                                      bool remember_entries, std::vector<std::string>* secret_ids) {
  BatchedRng rng(rng_);
  FHIRBRIDGE_RETURN_IF_ERROR(keychain_.check(owner_hcp_id));
  if (!patient.id || patient.id->empty()) patient.id = random_uuid(rng);
  const std::string secret_id = random_uuid(rng);
  const std::string encryption_key = random_uuid(rng);

  icure::DelegationMap delegations, encryption_keys;
  std::vector<std::string> parties{owner_hcp_id};
  for (const auto& d : delegates) append_unique(parties, d);
  FHIRBRIDGE_RETURN_IF_ERROR(add_new_entity_entries(
      dir, owner_hcp_id, parties, *patient.id,
      {{secret_id, delegations}, {encryption_key, encryption_keys}}, rng, remember_entries));
  auto content_key = content_key_of(encryption_key);
  if (!content_key.ok()) return content_key.status();

  seal_entity(patient, policy_.patient_fields, *content_key, rng);
  patient.delegations = std::move(delegations);
  patient.encryptionKeys = std::move(encryption_keys);
  if (!patient.cryptedForeignKeys) patient.cryptedForeignKeys.emplace();  // as the SDK sends
  if (secret_ids) *secret_ids = {secret_id};
  return {};
}

Status EntitySealer::reseal_patient(HcpDirectory& dir, const std::string& hcp_id,
                                    icure::Patient& patient, const icure::Patient& previous) {
  BatchedRng rng(rng_);
  if (!previous.id) return Status::Invalid("Patient.id", "the stored patient has no id");
  if (patient.id && *patient.id != *previous.id)
    return Status::Invalid("Patient.id", "the updated patient has another id than the stored one");
  patient.id = previous.id;
  if (!has_entries_for(previous.encryptionKeys, hcp_id) &&
      !has_entries_for(previous.delegations, hcp_id))
    return Status::NotFound("patient " + *previous.id + " is not shared with healthcare party " +
                            hcp_id);
  if (!previous.encryptedSelf && (!previous.encryptionKeys || previous.encryptionKeys->empty()))
    return seal_new_patient(dir, hcp_id, patient);  // stored unsealed: seal it now
  auto keys = content_keys(dir, hcp_id, key_map_of(previous), *previous.id);
  if (!keys.ok()) return keys.status();

  seal_entity(patient, policy_.patient_fields, keys->front(), rng);
  patient.delegations = previous.delegations;
  patient.encryptionKeys = previous.encryptionKeys;
  patient.cryptedForeignKeys = previous.cryptedForeignKeys;
  patient.secretForeignKeys = previous.secretForeignKeys;
  return {};
}

Result<icure::Patient> EntitySealer::unseal_patient(HcpDirectory& dir,
                                                    const std::string& reader_hcp_id,
                                                    const icure::Patient& sealed) {
  auto clear = unseal_patient_shared(dir, reader_hcp_id, sealed);
  if (!clear.ok()) return clear.status();
  return **clear;
}

Result<std::shared_ptr<const icure::Patient>> EntitySealer::unseal_patient_shared(
    HcpDirectory& dir, const std::string& reader_hcp_id, const icure::Patient& sealed) {
  const std::string what = "patient " + sealed.id.value_or("?");
  if (!has_entries_for(sealed.delegations, reader_hcp_id) &&
      !has_entries_for(sealed.encryptionKeys, reader_hcp_id))
    return Status::NotFound(what + " is not shared with healthcare party " + reader_hcp_id);
  if (!sealed.encryptedSelf) {
    FHIRBRIDGE_RETURN_IF_ERROR(keychain_.get(reader_hcp_id));
    return std::make_shared<const icure::Patient>(sealed);
  }
  if (auto hit = unsealed_patients_->find(reader_hcp_id, sealed)) {
    // As on a miss, a key dropped from the keychain (or expired) stops the read.
    FHIRBRIDGE_RETURN_IF_ERROR(keychain_.check(reader_hcp_id));
    return hit;
  }
  auto keys = content_keys(dir, reader_hcp_id, key_map_of(sealed), sealed.id.value_or("?"));
  if (!keys.ok()) return keys.status();
  icure::Patient clear = sealed;
  FHIRBRIDGE_RETURN_IF_ERROR(unseal_entity(clear, *keys, what, "Patient"));
  auto shared = std::make_shared<const icure::Patient>(std::move(clear));
  unsealed_patients_->put(reader_hcp_id, sealed, shared);
  return shared;
}

Result<std::vector<std::string>> EntitySealer::patient_secret_ids(HcpDirectory& dir,
                                                                  const std::string& reader_hcp_id,
                                                                  const icure::Patient& sealed) {
  return decrypt_delegations(dir, reader_hcp_id, sealed.delegations,
                             "patient " + sealed.id.value_or("?"), "delegations");
}

Status EntitySealer::share_patient(HcpDirectory& dir, const std::string& owner_hcp_id,
                                   icure::Patient& sealed, const std::string& delegate_hcp_id) {
  BatchedRng rng(rng_);
  if (!sealed.id) return Status::Invalid("Patient.id", "cannot share a patient without id");
  const std::string what = "patient " + *sealed.id;
  auto secrets = decrypt_delegations(dir, owner_hcp_id, sealed.delegations, what, "delegations");
  if (!secrets.ok()) return secrets.status();
  icure::DelegationMap delegations = sealed.delegations;
  FHIRBRIDGE_RETURN_IF_ERROR(add_delegation_entries(dir, owner_hcp_id, delegate_hcp_id, *sealed.id,
                                                    *secrets, delegations, rng));
  icure::DelegationMap encryption_keys = sealed.encryptionKeys;
  if (has_entries_for(sealed.encryptionKeys, owner_hcp_id)) {
    auto keys =
        decrypt_delegations(dir, owner_hcp_id, sealed.encryptionKeys, what, "encryptionKeys");
    if (!keys.ok()) return keys.status();
    FHIRBRIDGE_RETURN_IF_ERROR(add_delegation_entries(dir, owner_hcp_id, delegate_hcp_id,
                                                      *sealed.id, *keys, encryption_keys, rng));
  }
  sealed.delegations = std::move(delegations);
  sealed.encryptionKeys = std::move(encryption_keys);
  return {};
}

// ---- contacts ------------------------------------------------------------------------

Status EntitySealer::seal_new_contact(HcpDirectory& dir, const std::string& owner_hcp_id,
                                      icure::Contact& contact, const icure::Patient& sealed_patient,
                                      const std::vector<std::string>& delegates) {
  FHIRBRIDGE_RETURN_IF_ERROR(keychain_.get(owner_hcp_id));
  if (!sealed_patient.id) return Status::Invalid("Patient.id", "the contact's patient has no id");
  auto patient_secrets = patient_secret_ids(dir, owner_hcp_id, sealed_patient);
  if (!patient_secrets.ok()) return patient_secrets.status();
  return seal_new_contact_of(dir, owner_hcp_id, contact, *sealed_patient.id,
                             std::move(*patient_secrets), delegates);
}

Status EntitySealer::seal_new_contact_of(HcpDirectory& dir, const std::string& owner_hcp_id,
                                         icure::Contact& contact, const std::string& patient_id,
                                         std::vector<std::string> patient_secret_ids,
                                         const std::vector<std::string>& delegates,
                                         bool remember_entries) {
  BatchedRng rng(rng_);
  FHIRBRIDGE_RETURN_IF_ERROR(keychain_.check(owner_hcp_id));
  if (!contact.id || contact.id->empty()) contact.id = random_uuid(rng);
  const std::string secret_id = random_uuid(rng);
  const std::string encryption_key = random_uuid(rng);

  icure::DelegationMap delegations, encryption_keys, crypted_foreign_keys;
  std::vector<std::string> parties{owner_hcp_id};
  for (const auto& d : delegates) append_unique(parties, d);
  FHIRBRIDGE_RETURN_IF_ERROR(add_new_entity_entries(dir, owner_hcp_id, parties, *contact.id,
                                                    {{secret_id, delegations},
                                                     {encryption_key, encryption_keys},
                                                     {patient_id, crypted_foreign_keys}},
                                                    rng, remember_entries));
  auto content_key = content_key_of(encryption_key);
  if (!content_key.ok()) return content_key.status();

  if (contact.services)
    for (auto& service : *contact.services)
      seal_entity(service, policy_.service_fields, *content_key, rng);
  seal_entity(contact, policy_.contact_fields, *content_key, rng);
  contact.delegations = std::move(delegations);
  contact.encryptionKeys = std::move(encryption_keys);
  contact.cryptedForeignKeys = std::move(crypted_foreign_keys);
  contact.secretForeignKeys = std::move(patient_secret_ids);
  return {};
}

Status EntitySealer::reseal_contact(HcpDirectory& dir, const std::string& hcp_id,
                                    icure::Contact& contact, const icure::Contact& previous) {
  BatchedRng rng(rng_);
  if (!previous.id) return Status::Invalid("Contact.id", "the stored contact has no id");
  if (contact.id && *contact.id != *previous.id)
    return Status::Invalid("Contact.id", "the updated contact has another id than the stored one");
  contact.id = previous.id;
  auto keys = content_keys(dir, hcp_id, key_map_of(previous), *previous.id);
  if (!keys.ok()) return keys.status();
  if (contact.services)
    for (auto& service : *contact.services)
      seal_entity(service, policy_.service_fields, keys->front(), rng);
  seal_entity(contact, policy_.contact_fields, keys->front(), rng);
  contact.delegations = previous.delegations;
  contact.encryptionKeys = previous.encryptionKeys;
  contact.cryptedForeignKeys = previous.cryptedForeignKeys;
  contact.secretForeignKeys = previous.secretForeignKeys;
  return {};
}

Result<icure::Contact> EntitySealer::unseal_contact(HcpDirectory& dir,
                                                    const std::string& reader_hcp_id,
                                                    const icure::Contact& sealed) {
  auto clear = unseal_contact_shared(dir, reader_hcp_id, sealed);
  if (!clear.ok()) return clear.status();
  return **clear;
}

Result<std::shared_ptr<const icure::Contact>> EntitySealer::unseal_contact_shared(
    HcpDirectory& dir, const std::string& reader_hcp_id, const icure::Contact& sealed) {
  const std::string what = "contact " + sealed.id.value_or("?");
  if (!has_entries_for(sealed.delegations, reader_hcp_id) &&
      !has_entries_for(sealed.encryptionKeys, reader_hcp_id))
    return Status::NotFound(what + " is not shared with healthcare party " + reader_hcp_id);
  bool has_sealed_part = sealed.encryptedSelf.has_value();
  if (sealed.services)
    for (const auto& s : *sealed.services) has_sealed_part |= s.encryptedSelf.has_value();
  if (!has_sealed_part) {
    FHIRBRIDGE_RETURN_IF_ERROR(keychain_.get(reader_hcp_id));
    return std::make_shared<const icure::Contact>(sealed);  // nothing to decrypt
  }
  if (auto hit = unsealed_contacts_->find(reader_hcp_id, sealed)) {
    FHIRBRIDGE_RETURN_IF_ERROR(keychain_.check(reader_hcp_id));  // as for patients
    return hit;
  }
  auto keys = content_keys(dir, reader_hcp_id, key_map_of(sealed), sealed.id.value_or("?"));
  if (!keys.ok()) return keys.status();
  icure::Contact clear = sealed;
  if (clear.services) {
    std::size_t index = 0;
    for (auto& service : *clear.services) {
      if (service.encryptedSelf)
        FHIRBRIDGE_RETURN_IF_ERROR(
            unseal_entity(service, *keys, what + " service " + service.id.value_or("?"),
                          json_io::detail::index_path("Contact.services", index)));
      ++index;
    }
  }
  FHIRBRIDGE_RETURN_IF_ERROR(unseal_entity(clear, *keys, what, "Contact"));
  auto shared = std::make_shared<const icure::Contact>(std::move(clear));
  unsealed_contacts_->put(reader_hcp_id, sealed, shared);
  return shared;
}

Result<std::string> EntitySealer::contact_patient_id(HcpDirectory& dir,
                                                     const std::string& reader_hcp_id,
                                                     const icure::Contact& sealed) {
  auto ids = decrypt_delegations(dir, reader_hcp_id, sealed.cryptedForeignKeys,
                                 "contact " + sealed.id.value_or("?"), "cryptedForeignKeys");
  if (!ids.ok()) return ids.status();
  return ids->front();
}

Status EntitySealer::share_contact(HcpDirectory& dir, const std::string& owner_hcp_id,
                                   icure::Contact& sealed, const std::string& delegate_hcp_id) {
  BatchedRng rng(rng_);
  if (!sealed.id) return Status::Invalid("Contact.id", "cannot share a contact without id");
  const std::string what = "contact " + *sealed.id;
  icure::DelegationMap delegations = sealed.delegations, encryption_keys = sealed.encryptionKeys,
                       crypted_foreign_keys = sealed.cryptedForeignKeys;
  auto secrets = decrypt_delegations(dir, owner_hcp_id, sealed.delegations, what, "delegations");
  if (!secrets.ok()) return secrets.status();
  FHIRBRIDGE_RETURN_IF_ERROR(add_delegation_entries(dir, owner_hcp_id, delegate_hcp_id, *sealed.id,
                                                    *secrets, delegations, rng));
  if (has_entries_for(sealed.encryptionKeys, owner_hcp_id)) {
    auto keys =
        decrypt_delegations(dir, owner_hcp_id, sealed.encryptionKeys, what, "encryptionKeys");
    if (!keys.ok()) return keys.status();
    FHIRBRIDGE_RETURN_IF_ERROR(add_delegation_entries(dir, owner_hcp_id, delegate_hcp_id,
                                                      *sealed.id, *keys, encryption_keys, rng));
  }
  if (has_entries_for(sealed.cryptedForeignKeys, owner_hcp_id)) {
    auto ids = decrypt_delegations(dir, owner_hcp_id, sealed.cryptedForeignKeys, what,
                                   "cryptedForeignKeys");
    if (!ids.ok()) return ids.status();
    FHIRBRIDGE_RETURN_IF_ERROR(add_delegation_entries(dir, owner_hcp_id, delegate_hcp_id,
                                                      *sealed.id, *ids, crypted_foreign_keys, rng));
  }
  sealed.delegations = std::move(delegations);
  sealed.encryptionKeys = std::move(encryption_keys);
  sealed.cryptedForeignKeys = std::move(crypted_foreign_keys);
  return {};
}

}  // namespace fhirbridge::crypto
