// iCure entity sealing, byte-compatible with @icure/api 6.4.4 (checked both
// ways by tests/crypto and tests/node/icure_sdk_crypto.mjs).
#include "fhirbridge/crypto/entity_sealer.hpp"

#include <algorithm>
#include <map>
#include <mutex>
#include <utility>

#include "fhirbridge/json_io.hpp"

namespace fhirbridge::crypto {

namespace json = boost::json;

struct EntitySealer::ExchangeKeyCache {
  std::mutex mutex;
  // "<reader fingerprint>|<RSA ciphertext hex>" -> exchange key. The ciphertext
  // identifies the key exactly, so a stale or foreign HCP can never hit a wrong entry.
  std::map<std::string, SecureBytes> keys;
};

SealingPolicy SealingPolicy::strict() {
  SealingPolicy p;
  p.patient_fields.insert({"names", "addresses", "firstName", "lastName", "ssin", "partnerships",
                           "picture", "administrativeNote", "languages"});
  return p;
}

namespace {

constexpr std::size_t kExchangeKeySize = 32;  // AES-256

std::string encrypt_text_hex(const SecureBytes& key, const std::string& text,
                             Botan::RandomNumberGenerator& rng) {
  return to_hex(
      aes_encrypt(key, reinterpret_cast<const std::uint8_t*>(text.data()), text.size(), rng));
}

Result<std::string> decrypt_text_hex(const SecureBytes& key, const std::string& hex) {
  auto bytes = from_hex(hex);
  if (!bytes.ok()) return bytes.status();
  auto plain = aes_decrypt(key, *bytes);
  if (!plain.ok()) return plain.status();
  return std::string(plain->begin(), plain->end());
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

template <typename Entity>
json::object entity_json(const Entity& e) {
  return json_io::to_json(e).as_object();
}

template <typename Entity>
Result<Entity> entity_from(const json::object& obj, const std::string& what) {
  Entity out{};
  Status s = json_io::from_json(json::value(obj), out, what);
  if (!s.ok())
    return Status::Internal("decrypted " + what +
                            " content has an unexpected shape: " + s.to_string());
  return out;
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

EntitySealer::EntitySealer(Keychain& keychain, Botan::RandomNumberGenerator& rng,
                           SealingPolicy policy)
    : keychain_(keychain),
      rng_(rng),
      policy_(std::move(policy)),
      cache_(std::make_shared<ExchangeKeyCache>()) {}

// ---- exchange keys ------------------------------------------------------------

Result<SecureBytes> EntitySealer::exchange_key(HcpDirectory& dir, const std::string& owner_hcp_id,
                                               const std::string& delegate_hcp_id,
                                               const std::string& reader_hcp_id,
                                               bool create_if_missing) {
  if (reader_hcp_id != owner_hcp_id && reader_hcp_id != delegate_hcp_id)
    return Status(StatusCode::forbidden, "healthcare party " + reader_hcp_id +
                                             " is neither end of the exchange key " + owner_hcp_id +
                                             " -> " + delegate_hcp_id);
  auto private_key = keychain_.get(reader_hcp_id);
  if (!private_key.ok()) return private_key.status();

  auto owner_shared = dir.get_shared(owner_hcp_id);
  if (!owner_shared.ok())
    return Status::NotFound("healthcare party " + owner_hcp_id +
                            " not found: " + owner_shared.status().message());
  const icure::HealthcareParty* owner = owner_shared->get();
  if (!owner->publicKey || owner->publicKey->empty())
    return Status::Invalid("HealthcareParty.publicKey",
                           "healthcare party " + owner_hcp_id + " has no public key");
  std::string reader_public_key = *owner->publicKey;
  if (reader_hcp_id != owner_hcp_id) {
    auto reader_shared = dir.get_shared(reader_hcp_id);
    if (!reader_shared.ok())
      return Status::NotFound("healthcare party " + reader_hcp_id +
                              " not found: " + reader_shared.status().message());
    const icure::HealthcareParty* reader = reader_shared->get();
    if (!reader->publicKey || reader->publicKey->empty())
      return Status::Invalid("HealthcareParty.publicKey",
                             "healthcare party " + reader_hcp_id + " has no public key");
    reader_public_key = *reader->publicKey;
  }
  const std::string reader_fp = fingerprint(reader_public_key);

  // Find the key encrypted for the reader: aesExchangeKeys first (current SDK),
  // the owner's own public key preferred, then the legacy hcPartyKeys pair.
  std::string encrypted;
  if (owner->aesExchangeKeys) {
    auto look_in = [&](const std::map<std::string, std::map<std::string, std::string>>& by_dlg) {
      auto d = by_dlg.find(delegate_hcp_id);
      if (d == by_dlg.end()) return;
      auto k = d->second.find(reader_fp);
      if (k != d->second.end()) encrypted = k->second;
    };
    auto mine = owner->aesExchangeKeys->find(*owner->publicKey);
    if (mine != owner->aesExchangeKeys->end()) look_in(mine->second);
    for (const auto& [pub, by_dlg] : *owner->aesExchangeKeys) {
      if (!encrypted.empty()) break;
      look_in(by_dlg);
    }
  }
  if (encrypted.empty() && owner->hcPartyKeys) {
    auto it = owner->hcPartyKeys->find(delegate_hcp_id);
    if (it != owner->hcPartyKeys->end() && it->second.size() == 2)
      encrypted = it->second[reader_hcp_id == owner_hcp_id ? 0 : 1];
  }

  if (!encrypted.empty()) {
    const std::string cache_key = reader_fp + "|" + encrypted;
    {
      std::lock_guard lock(cache_->mutex);
      auto hit = cache_->keys.find(cache_key);
      if (hit != cache_->keys.end()) return hit->second;
    }
    auto ciphertext = from_hex(encrypted);
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
    std::lock_guard lock(cache_->mutex);
    cache_->keys[cache_key] = *key;
    return key;
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

  std::lock_guard lock(cache_->mutex);
  cache_->keys[fingerprint(*owner->publicKey) + "|" + owner_hex] = key;
  cache_->keys[fingerprint(delegate_public_key) + "|" + delegate_hex] = key;
  return key;
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
  if (auto k = keychain_.get(reader); !k.ok()) return k.status();
  std::vector<std::string> secrets;
  Status first_error;
  for (const auto& d : map->at(reader)) {
    if (!d.key || !d.owner) continue;
    auto key = exchange_key(dir, *d.owner, reader, reader, false);
    if (!key.ok()) {
      if (first_error.ok()) first_error = key.status();
      continue;
    }
    auto plain = decrypt_text_hex(*key, *d.key);
    std::size_t colon = plain.ok() ? plain->find(':') : std::string::npos;
    if (colon == std::string::npos) {
      if (first_error.ok())
        first_error = Status::Internal(std::string(what) + " of " + entity_id + " for " + reader +
                                       " cannot be decrypted (corrupted)");
      continue;
    }
    append_unique(secrets, plain->substr(colon + 1));
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
                                            icure::DelegationMap& map) {
  auto key = exchange_key(dir, owner, delegate, owner, true);
  if (!key.ok()) return key.status();
  if (!map) map.emplace();
  auto& entries = (*map)[delegate];
  // Skip secrets the delegate already gets from this owner (sharing is idempotent).
  std::vector<std::string> present;
  for (const auto& d : entries) {
    if (!d.key || d.owner != owner) continue;
    auto plain = decrypt_text_hex(*key, *d.key);
    if (!plain.ok()) continue;
    std::size_t colon = plain->find(':');
    if (colon != std::string::npos) present.push_back(plain->substr(colon + 1));
  }
  for (const auto& secret : secrets) {
    if (std::find(present.begin(), present.end(), secret) != present.end()) continue;
    icure::Delegation d;
    d.owner = owner;
    d.delegatedTo = delegate;
    d.key = encrypt_text_hex(*key, entity_id + ":" + secret, rng_);
    entries.push_back(std::move(d));
  }
  return {};
}

// ---- encryptedSelf -----------------------------------------------------------------

template <typename Entity>
void EntitySealer::seal_entity(Entity& entity, const std::set<std::string>& fields,
                               const SecureBytes& content_key) {
  json::object secret = take_fields(entity, fields);
  std::string text = json::serialize(secret);
  Bytes ct = aes_encrypt(content_key, reinterpret_cast<const std::uint8_t*>(text.data()),
                         text.size(), rng_);
  std::fill(text.begin(), text.end(), '\0');
  entity.encryptedSelf = to_base64(ct.data(), ct.size());
}

void EntitySealer::seal_fields(json::object& entity, const std::set<std::string>& fields,
                               const SecureBytes& content_key) {
  json::object secret;
  for (const auto& f : fields) {
    auto it = entity.find(f);
    if (it == entity.end()) continue;
    secret.emplace(f, it->value());
    entity.erase(it);
  }
  // Always written (possibly "{}") so a reader knows the entity is sealed.
  std::string text = json::serialize(secret);
  Bytes ct = aes_encrypt(content_key, reinterpret_cast<const std::uint8_t*>(text.data()),
                         text.size(), rng_);
  std::fill(text.begin(), text.end(), '\0');
  entity["encryptedSelf"] = to_base64(ct.data(), ct.size());
}

Status EntitySealer::unseal_fields(json::object& entity, const std::vector<SecureBytes>& keys,
                                   const std::string& what) {
  auto it = entity.find("encryptedSelf");
  if (it == entity.end() || !it->value().is_string()) return {};
  auto ct = from_base64(std::string(it->value().get_string()));
  if (!ct.ok()) return Status::Internal("encryptedSelf of " + what + " is not base64");
  for (const auto& key : keys) {
    auto plain = aes_decrypt(key, *ct);
    if (!plain.ok()) continue;
    boost::system::error_code ec;
    json::value fields = json::parse(
        json::string_view(reinterpret_cast<const char*>(plain->data()), plain->size()), ec);
    std::fill(plain->begin(), plain->end(), std::uint8_t{0});
    if (ec || !fields.is_object()) continue;
    for (const auto& kv : fields.get_object()) entity[kv.key()] = kv.value();
    return {};
  }
  return Status::Internal("encryptedSelf of " + what +
                          " cannot be decrypted with the reader's keys (corrupted data)");
}

// ---- patients ---------------------------------------------------------------------

Status EntitySealer::seal_new_patient(HcpDirectory& dir, const std::string& owner_hcp_id,
                                      icure::Patient& patient,
                                      const std::vector<std::string>& delegates) {
  FHIRBRIDGE_RETURN_IF_ERROR(keychain_.get(owner_hcp_id));
  if (!patient.id || patient.id->empty()) patient.id = random_uuid(rng_);
  const std::string secret_id = random_uuid(rng_);
  const std::string encryption_key = random_uuid(rng_);

  icure::DelegationMap delegations, encryption_keys;
  std::vector<std::string> parties{owner_hcp_id};
  for (const auto& d : delegates) append_unique(parties, d);
  for (const auto& party : parties) {
    FHIRBRIDGE_RETURN_IF_ERROR(
        add_delegation_entries(dir, owner_hcp_id, party, *patient.id, {secret_id}, delegations));
    FHIRBRIDGE_RETURN_IF_ERROR(add_delegation_entries(dir, owner_hcp_id, party, *patient.id,
                                                      {encryption_key}, encryption_keys));
  }
  auto content_key = content_key_of(encryption_key);
  if (!content_key.ok()) return content_key.status();

  seal_entity(patient, policy_.patient_fields, *content_key);
  patient.delegations = std::move(delegations);
  patient.encryptionKeys = std::move(encryption_keys);
  if (!patient.cryptedForeignKeys) patient.cryptedForeignKeys.emplace();  // as the SDK sends
  return {};
}

Status EntitySealer::reseal_patient(HcpDirectory& dir, const std::string& hcp_id,
                                    icure::Patient& patient, const icure::Patient& previous) {
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

  seal_entity(patient, policy_.patient_fields, keys->front());
  patient.delegations = previous.delegations;
  patient.encryptionKeys = previous.encryptionKeys;
  patient.cryptedForeignKeys = previous.cryptedForeignKeys;
  patient.secretForeignKeys = previous.secretForeignKeys;
  return {};
}

Result<icure::Patient> EntitySealer::unseal_patient(HcpDirectory& dir,
                                                    const std::string& reader_hcp_id,
                                                    const icure::Patient& sealed) {
  const std::string what = "patient " + sealed.id.value_or("?");
  if (!has_entries_for(sealed.delegations, reader_hcp_id) &&
      !has_entries_for(sealed.encryptionKeys, reader_hcp_id))
    return Status::NotFound(what + " is not shared with healthcare party " + reader_hcp_id);
  if (!sealed.encryptedSelf) {
    FHIRBRIDGE_RETURN_IF_ERROR(keychain_.get(reader_hcp_id));
    return sealed;
  }
  auto keys = content_keys(dir, reader_hcp_id, key_map_of(sealed), sealed.id.value_or("?"));
  if (!keys.ok()) return keys.status();
  json::object obj = entity_json(sealed);
  FHIRBRIDGE_RETURN_IF_ERROR(unseal_fields(obj, *keys, what));
  return entity_from<icure::Patient>(obj, "Patient");
}

Result<std::vector<std::string>> EntitySealer::patient_secret_ids(HcpDirectory& dir,
                                                                  const std::string& reader_hcp_id,
                                                                  const icure::Patient& sealed) {
  return decrypt_delegations(dir, reader_hcp_id, sealed.delegations,
                             "patient " + sealed.id.value_or("?"), "delegations");
}

Status EntitySealer::share_patient(HcpDirectory& dir, const std::string& owner_hcp_id,
                                   icure::Patient& sealed, const std::string& delegate_hcp_id) {
  if (!sealed.id) return Status::Invalid("Patient.id", "cannot share a patient without id");
  const std::string what = "patient " + *sealed.id;
  auto secrets = decrypt_delegations(dir, owner_hcp_id, sealed.delegations, what, "delegations");
  if (!secrets.ok()) return secrets.status();
  icure::DelegationMap delegations = sealed.delegations;
  FHIRBRIDGE_RETURN_IF_ERROR(add_delegation_entries(dir, owner_hcp_id, delegate_hcp_id, *sealed.id,
                                                    *secrets, delegations));
  icure::DelegationMap encryption_keys = sealed.encryptionKeys;
  if (has_entries_for(sealed.encryptionKeys, owner_hcp_id)) {
    auto keys =
        decrypt_delegations(dir, owner_hcp_id, sealed.encryptionKeys, what, "encryptionKeys");
    if (!keys.ok()) return keys.status();
    FHIRBRIDGE_RETURN_IF_ERROR(add_delegation_entries(dir, owner_hcp_id, delegate_hcp_id,
                                                      *sealed.id, *keys, encryption_keys));
  }
  sealed.delegations = std::move(delegations);
  sealed.encryptionKeys = std::move(encryption_keys);
  return {};
}

// ---- contacts ------------------------------------------------------------------------

namespace {

// Seals each service's fields with the contact's key (the SDK's behaviour).
template <typename SealFn>
void for_each_service(json::object& contact, SealFn&& fn) {
  auto it = contact.find("services");
  if (it == contact.end() || !it->value().is_array()) return;
  for (auto& s : it->value().get_array())
    if (s.is_object()) fn(s.get_object());
}

}  // namespace

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
                                         const std::vector<std::string>& delegates) {
  FHIRBRIDGE_RETURN_IF_ERROR(keychain_.get(owner_hcp_id));
  if (!contact.id || contact.id->empty()) contact.id = random_uuid(rng_);
  const std::string secret_id = random_uuid(rng_);
  const std::string encryption_key = random_uuid(rng_);

  icure::DelegationMap delegations, encryption_keys, crypted_foreign_keys;
  std::vector<std::string> parties{owner_hcp_id};
  for (const auto& d : delegates) append_unique(parties, d);
  for (const auto& party : parties) {
    FHIRBRIDGE_RETURN_IF_ERROR(
        add_delegation_entries(dir, owner_hcp_id, party, *contact.id, {secret_id}, delegations));
    FHIRBRIDGE_RETURN_IF_ERROR(add_delegation_entries(dir, owner_hcp_id, party, *contact.id,
                                                      {encryption_key}, encryption_keys));
    FHIRBRIDGE_RETURN_IF_ERROR(add_delegation_entries(dir, owner_hcp_id, party, *contact.id,
                                                      {patient_id}, crypted_foreign_keys));
  }
  auto content_key = content_key_of(encryption_key);
  if (!content_key.ok()) return content_key.status();

  if (contact.services)
    for (auto& service : *contact.services)
      seal_entity(service, policy_.service_fields, *content_key);
  seal_entity(contact, policy_.contact_fields, *content_key);
  contact.delegations = std::move(delegations);
  contact.encryptionKeys = std::move(encryption_keys);
  contact.cryptedForeignKeys = std::move(crypted_foreign_keys);
  contact.secretForeignKeys = std::move(patient_secret_ids);
  return {};
}

Status EntitySealer::reseal_contact(HcpDirectory& dir, const std::string& hcp_id,
                                    icure::Contact& contact, const icure::Contact& previous) {
  if (!previous.id) return Status::Invalid("Contact.id", "the stored contact has no id");
  if (contact.id && *contact.id != *previous.id)
    return Status::Invalid("Contact.id", "the updated contact has another id than the stored one");
  contact.id = previous.id;
  auto keys = content_keys(dir, hcp_id, key_map_of(previous), *previous.id);
  if (!keys.ok()) return keys.status();
  if (contact.services)
    for (auto& service : *contact.services)
      seal_entity(service, policy_.service_fields, keys->front());
  seal_entity(contact, policy_.contact_fields, keys->front());
  contact.delegations = previous.delegations;
  contact.encryptionKeys = previous.encryptionKeys;
  contact.cryptedForeignKeys = previous.cryptedForeignKeys;
  contact.secretForeignKeys = previous.secretForeignKeys;
  return {};
}

Result<icure::Contact> EntitySealer::unseal_contact(HcpDirectory& dir,
                                                    const std::string& reader_hcp_id,
                                                    const icure::Contact& sealed) {
  const std::string what = "contact " + sealed.id.value_or("?");
  if (!has_entries_for(sealed.delegations, reader_hcp_id) &&
      !has_entries_for(sealed.encryptionKeys, reader_hcp_id))
    return Status::NotFound(what + " is not shared with healthcare party " + reader_hcp_id);
  bool has_sealed_part = sealed.encryptedSelf.has_value();
  if (sealed.services)
    for (const auto& s : *sealed.services) has_sealed_part |= s.encryptedSelf.has_value();
  if (!has_sealed_part) {
    FHIRBRIDGE_RETURN_IF_ERROR(keychain_.get(reader_hcp_id));
    return sealed;  // nothing to decrypt
  }
  auto keys = content_keys(dir, reader_hcp_id, key_map_of(sealed), sealed.id.value_or("?"));
  if (!keys.ok()) return keys.status();
  json::object obj = entity_json(sealed);
  Status status;
  for_each_service(obj, [&](json::object& s) {
    if (!status.ok()) return;
    std::string service =
        what + " service " +
        (s.contains("id") && s.at("id").is_string() ? std::string(s.at("id").get_string())
                                                    : std::string("?"));
    status = unseal_fields(s, *keys, service);
  });
  FHIRBRIDGE_RETURN_IF_ERROR(status);
  FHIRBRIDGE_RETURN_IF_ERROR(unseal_fields(obj, *keys, what));
  return entity_from<icure::Contact>(obj, "Contact");
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
  if (!sealed.id) return Status::Invalid("Contact.id", "cannot share a contact without id");
  const std::string what = "contact " + *sealed.id;
  icure::DelegationMap delegations = sealed.delegations, encryption_keys = sealed.encryptionKeys,
                       crypted_foreign_keys = sealed.cryptedForeignKeys;
  auto secrets = decrypt_delegations(dir, owner_hcp_id, sealed.delegations, what, "delegations");
  if (!secrets.ok()) return secrets.status();
  FHIRBRIDGE_RETURN_IF_ERROR(add_delegation_entries(dir, owner_hcp_id, delegate_hcp_id, *sealed.id,
                                                    *secrets, delegations));
  if (has_entries_for(sealed.encryptionKeys, owner_hcp_id)) {
    auto keys =
        decrypt_delegations(dir, owner_hcp_id, sealed.encryptionKeys, what, "encryptionKeys");
    if (!keys.ok()) return keys.status();
    FHIRBRIDGE_RETURN_IF_ERROR(add_delegation_entries(dir, owner_hcp_id, delegate_hcp_id,
                                                      *sealed.id, *keys, encryption_keys));
  }
  if (has_entries_for(sealed.cryptedForeignKeys, owner_hcp_id)) {
    auto ids = decrypt_delegations(dir, owner_hcp_id, sealed.cryptedForeignKeys, what,
                                   "cryptedForeignKeys");
    if (!ids.ok()) return ids.status();
    FHIRBRIDGE_RETURN_IF_ERROR(add_delegation_entries(dir, owner_hcp_id, delegate_hcp_id,
                                                      *sealed.id, *ids, crypted_foreign_keys));
  }
  sealed.delegations = std::move(delegations);
  sealed.encryptionKeys = std::move(encryption_keys);
  sealed.cryptedForeignKeys = std::move(crypted_foreign_keys);
  return {};
}

}  // namespace fhirbridge::crypto
