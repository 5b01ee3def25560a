// Typed iCure entities, field names exactly as on the iCure wire
// (../shared/docs/icure-model.md). Every field is optional because iCure
// omits absent fields and an empty array is not the same as no array.
// `extra` keeps keys we do not model, so read -> write loses nothing.
// Serialise with fhirbridge::json_io::to_json / from_json.
#pragma once

#include <boost/describe.hpp>
#include <boost/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace fhirbridge::icure {

namespace json = boost::json;
template <typename T>
using Opt = std::optional<T>;
using Str = std::optional<std::string>;
using Strings = std::optional<std::vector<std::string>>;
using Int = std::optional<std::int64_t>;
using Bool = std::optional<bool>;
using Num = std::optional<double>;

inline constexpr const char* kPatientType = "org.taktik.icure.entities.Patient";
inline constexpr const char* kContactType = "org.taktik.icure.entities.Contact";
inline constexpr const char* kServiceType = "org.taktik.icure.entities.embed.Service";

struct CodeStub {
  Str id, context, type, code, version;
  Opt<std::map<std::string, std::string>> label;  // lang -> text
  json::object extra;
};
BOOST_DESCRIBE_STRUCT(CodeStub, (), (id, context, type, code, version, label, extra))
using CodeStubs = Opt<std::vector<CodeStub>>;

struct Identifier {
  Str id, assigner, start, end, system;
  Opt<CodeStub> type;
  Str use, value;
  json::object extra;
};
BOOST_DESCRIBE_STRUCT(Identifier, (), (id, assigner, start, end, system, type, use, value, extra))

struct PersonName {
  Str lastName;
  Strings firstNames;
  Int start, end;
  Strings prefix, suffix;
  Str text, use;
  json::object extra;
};
BOOST_DESCRIBE_STRUCT(PersonName, (),
                      (lastName, firstNames, start, end, prefix, suffix, text, use, extra))

struct Telecom {
  Str telecomType, telecomNumber, telecomDescription;
  json::object extra;
};
BOOST_DESCRIBE_STRUCT(Telecom, (), (telecomType, telecomNumber, telecomDescription, extra))

struct Address {
  Str addressType, descr, street, houseNumber, postboxNumber, postalCode, city, state, country,
      note;
  Opt<std::vector<Telecom>> telecoms;
  json::object extra;
};
BOOST_DESCRIBE_STRUCT(Address, (),
                      (addressType, descr, street, houseNumber, postboxNumber, postalCode, city,
                       state, country, note, telecoms, extra))

struct Partnership {
  Str type, status, partnerId, meToOtherRelationshipDescription, otherToMeRelationshipDescription;
  json::object extra;
};
BOOST_DESCRIBE_STRUCT(Partnership, (),
                      (type, status, partnerId, meToOtherRelationshipDescription,
                       otherToMeRelationshipDescription, extra))

struct ReferralPeriod {
  Int startDate, endDate;
  Str comment;
  json::object extra;
};
BOOST_DESCRIBE_STRUCT(ReferralPeriod, (), (startDate, endDate, comment, extra))

struct PatientHealthCareParty {
  Str type, healthcarePartyId;
  Bool referral;
  Opt<std::vector<ReferralPeriod>> referralPeriods;
  json::object extra;
};
BOOST_DESCRIBE_STRUCT(PatientHealthCareParty, (),
                      (type, healthcarePartyId, referral, referralPeriods, extra))

struct PropertyTypeStub {
  Str identifier, type;
  json::object extra;
};
BOOST_DESCRIBE_STRUCT(PropertyTypeStub, (), (identifier, type, extra))

struct TypedValue {
  Str type;
  Bool booleanValue;
  Int integerValue;
  Num doubleValue;
  Str stringValue;
  Int dateValue;
  json::object extra;
};
BOOST_DESCRIBE_STRUCT(TypedValue, (),
                      (type, booleanValue, integerValue, doubleValue, stringValue, dateValue,
                       extra))

struct PropertyStub {
  Str id;
  Opt<PropertyTypeStub> type;
  Opt<TypedValue> typedValue;
  Int deletionDate;
  json::object extra;
};
BOOST_DESCRIBE_STRUCT(PropertyStub, (), (id, type, typedValue, deletionDate, extra))

struct Delegation {
  Str owner, delegatedTo, key;
  Strings tags;
  json::object extra;
};
BOOST_DESCRIBE_STRUCT(Delegation, (), (owner, delegatedTo, key, tags, extra))
// delegate hcp id -> delegations
using DelegationMap = Opt<std::map<std::string, std::vector<Delegation>>>;

struct Patient {
  Str id, rev, _type;
  Int created, modified;
  Str author, responsible;
  Int deletionDate, endOfLife;
  Opt<std::vector<Identifier>> identifier;
  CodeStubs codes, tags;
  Str firstName, lastName;
  Opt<std::vector<PersonName>> names;
  Str gender, birthSex;
  Int dateOfBirth, dateOfDeath;
  Bool deceased, active;
  Str deactivationReason, ssin;
  Opt<std::vector<Address>> addresses;
  Strings languages;
  Str picture, note, administrativeNote;
  Opt<std::vector<Partnership>> partnerships;
  Opt<std::vector<PatientHealthCareParty>> patientHealthCareParties;
  Opt<std::vector<PropertyStub>> properties;
  DelegationMap delegations, encryptionKeys, cryptedForeignKeys;
  Strings secretForeignKeys;
  Str encryptedSelf;
  json::object extra;
};
BOOST_DESCRIBE_STRUCT(Patient, (),
                      (id, rev, _type, created, modified, author, responsible, deletionDate,
                       endOfLife, identifier, codes, tags, firstName, lastName, names, gender,
                       birthSex, dateOfBirth, dateOfDeath, deceased, active, deactivationReason,
                       ssin, addresses, languages, picture, note, administrativeNote, partnerships,
                       patientHealthCareParties, properties, delegations, encryptionKeys,
                       cryptedForeignKeys, secretForeignKeys, encryptedSelf, extra))

struct Measure {
  Num value, min, max, ref;
  Int severity;
  Str severityCode, evolution, unit;
  CodeStubs unitCodes;
  Str comment, comparator;
  json::object extra;
};
BOOST_DESCRIBE_STRUCT(Measure, (),
                      (value, min, max, ref, severity, severityCode, evolution, unit, unitCodes,
                       comment, comparator, extra))

struct Service;

struct Content {
  Str stringValue;
  Num numberValue;
  Bool booleanValue;
  Int instantValue, fuzzyDateValue;
  Str binaryValue, documentId;
  Opt<Measure> measureValue;
  Opt<std::vector<Service>> compoundValue;
  Opt<std::vector<Measure>> range, ratio;
  json::object extra;
};

struct Service {
  Str id, _type;
  Opt<std::vector<Identifier>> identifier;
  Str contactId, label;
  Int index;
  Opt<std::map<std::string, Content>> content;  // language -> content
  Int valueDate, openingDate, closingDate, created, modified, endOfLife;
  Str author, responsible, comment;
  Int status;  // bit field: 1 = inactive, 2 = irrelevant, 4 = absent
  CodeStubs codes, tags;
  Str encryptedSelf;
  json::object extra;
};

BOOST_DESCRIBE_STRUCT(Content, (),
                      (stringValue, numberValue, booleanValue, instantValue, fuzzyDateValue,
                       binaryValue, documentId, measureValue, compoundValue, range, ratio, extra))
BOOST_DESCRIBE_STRUCT(Service, (),
                      (id, _type, identifier, contactId, label, index, content, valueDate,
                       openingDate, closingDate, created, modified, endOfLife, author, responsible,
                       comment, status, codes, tags, encryptedSelf, extra))

struct Contact {
  Str id, rev, _type;
  Int created, modified;
  Str author, responsible;
  Int deletionDate, endOfLife;
  Opt<std::vector<Identifier>> identifier;
  CodeStubs codes, tags;
  Str groupId;
  Int openingDate, closingDate;
  Str descr, location;
  Opt<CodeStub> encounterType;
  Opt<json::array> subContacts;
  Opt<std::vector<Service>> services;
  Str healthcarePartyId;
  DelegationMap delegations, encryptionKeys, cryptedForeignKeys;
  Strings secretForeignKeys;
  Str encryptedSelf;
  json::object extra;
};
BOOST_DESCRIBE_STRUCT(Contact, (),
                      (id, rev, _type, created, modified, author, responsible, deletionDate,
                       endOfLife, identifier, codes, tags, groupId, openingDate, closingDate, descr,
                       location, encounterType, subContacts, services, healthcarePartyId,
                       delegations, encryptionKeys, cryptedForeignKeys, secretForeignKeys,
                       encryptedSelf, extra))

// delegator public key hex -> delegate id -> {fingerprint: encrypted key hex}
using AesExchangeKeys =
    std::map<std::string, std::map<std::string, std::map<std::string, std::string>>>;

struct HealthcareParty {
  Str id, rev, _type;
  Int created, modified, deletionDate;
  Str name, firstName, lastName, gender, speciality, publicKey;
  Opt<std::map<std::string, std::vector<std::string>>> hcPartyKeys;  // legacy A->B keys
  Opt<AesExchangeKeys> aesExchangeKeys;
  json::object extra;
};
BOOST_DESCRIBE_STRUCT(HealthcareParty, (),
                      (id, rev, _type, created, modified, deletionDate, name, firstName, lastName,
                       gender, speciality, publicKey, hcPartyKeys, aesExchangeKeys, extra))

// A login. passwordHash is a Botan Argon2id/bcrypt hash string, never a clear password.
struct User {
  Str id, rev, login, passwordHash, healthcarePartyId, name, email;
  Int created;
  json::object extra;
};
BOOST_DESCRIBE_STRUCT(User, (),
                      (id, rev, login, passwordHash, healthcarePartyId, name, email, created,
                       extra))

}  // namespace fhirbridge::icure
