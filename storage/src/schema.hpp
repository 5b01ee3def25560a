// The SQLite schema as an ordered list of migrations: migration i takes a
// database from PRAGMA user_version i to i + 1. Never edit a shipped
// migration; append a new one.
#pragma once

#include <string>
#include <vector>

namespace fhirbridge::storage::schema {

// Documents are sealed iCure JSON; every other column is a clear index of a
// field that iCure itself keeps in clear (see docs/storage.md).
inline const std::vector<std::string>& migrations() {
  static const std::vector<std::string> list{
      // 1: the initial schema
      R"sql(
CREATE TABLE healthcare_party(
  id TEXT PRIMARY KEY, rev TEXT NOT NULL, doc TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE app_user(
  id TEXT PRIMARY KEY, login TEXT NOT NULL UNIQUE, rev TEXT NOT NULL, doc TEXT NOT NULL);

CREATE TABLE patient(
  id TEXT PRIMARY KEY, rev TEXT NOT NULL, doc TEXT NOT NULL,
  modified INTEGER NOT NULL, gender TEXT, birth_date INTEGER, active INTEGER NOT NULL,
  family_sort TEXT NOT NULL, given_sort TEXT NOT NULL);
CREATE INDEX patient_modified ON patient(modified, id);
CREATE INDEX patient_birth_date ON patient(birth_date);
CREATE INDEX patient_family ON patient(family_sort, id);

-- Who may read a patient: the keys of its `delegations`.
CREATE TABLE patient_reader(
  hcp_id TEXT NOT NULL,
  patient_id TEXT NOT NULL REFERENCES patient(id) ON DELETE CASCADE,
  PRIMARY KEY(hcp_id, patient_id)) WITHOUT ROWID;
CREATE INDEX patient_reader_patient ON patient_reader(patient_id);

CREATE TABLE patient_identifier(
  patient_id TEXT NOT NULL REFERENCES patient(id) ON DELETE CASCADE,
  system TEXT NOT NULL, value TEXT NOT NULL);
CREATE INDEX patient_identifier_value ON patient_identifier(value, system);
CREATE INDEX patient_identifier_patient ON patient_identifier(patient_id);

-- Folded name parts (whole = 1) and their words (whole = 0);
-- field is 'family', 'given' or 'other' (prefix, suffix, text).
CREATE TABLE patient_name(
  patient_id TEXT NOT NULL REFERENCES patient(id) ON DELETE CASCADE,
  field TEXT NOT NULL, token TEXT NOT NULL, whole INTEGER NOT NULL);
CREATE INDEX patient_name_token ON patient_name(token, field, whole, patient_id);
CREATE INDEX patient_name_patient ON patient_name(patient_id);

-- patient_id: the patient the writer resolved (iCure links the two through
-- secretForeignKeys, kept below as iCure keeps them, in clear).
CREATE TABLE contact(
  id TEXT PRIMARY KEY, rev TEXT NOT NULL, doc TEXT NOT NULL, patient_id TEXT NOT NULL,
  modified INTEGER NOT NULL, sort_date INTEGER, sort_code TEXT NOT NULL, sort_status INTEGER);
CREATE INDEX contact_patient ON contact(patient_id);
CREATE INDEX contact_modified ON contact(modified, id);

CREATE TABLE contact_reader(
  hcp_id TEXT NOT NULL,
  contact_id TEXT NOT NULL REFERENCES contact(id) ON DELETE CASCADE,
  PRIMARY KEY(hcp_id, contact_id)) WITHOUT ROWID;
CREATE INDEX contact_reader_contact ON contact_reader(contact_id);

CREATE TABLE contact_secret_fk(
  contact_id TEXT NOT NULL REFERENCES contact(id) ON DELETE CASCADE, secret_fk TEXT NOT NULL);
CREATE INDEX contact_secret_fk_key ON contact_secret_fk(secret_fk);
CREATE INDEX contact_secret_fk_contact ON contact_secret_fk(contact_id);

CREATE TABLE service(
  contact_id TEXT NOT NULL REFERENCES contact(id) ON DELETE CASCADE,
  service_id TEXT NOT NULL, status INTEGER);
CREATE INDEX service_id ON service(service_id);
CREATE INDEX service_contact ON service(contact_id);

CREATE TABLE service_identifier(
  contact_id TEXT NOT NULL REFERENCES contact(id) ON DELETE CASCADE,
  service_id TEXT NOT NULL, system TEXT NOT NULL, value TEXT NOT NULL);
CREATE INDEX service_identifier_value ON service_identifier(value, system);
CREATE INDEX service_identifier_contact ON service_identifier(contact_id);

-- kind: 'code' or 'tag' (CodeStub type|code).
CREATE TABLE service_code(
  contact_id TEXT NOT NULL REFERENCES contact(id) ON DELETE CASCADE,
  service_id TEXT NOT NULL, kind TEXT NOT NULL, type TEXT NOT NULL, code TEXT NOT NULL);
CREATE INDEX service_code_code ON service_code(code, type, kind);
CREATE INDEX service_code_contact ON service_code(contact_id);

-- Each service's valueDate (else its openingDate, else the contact's openingDate),
-- as YYYYMMDDhhmmss; the contact's openingDate when it has no service.
CREATE TABLE contact_date(
  contact_id TEXT NOT NULL REFERENCES contact(id) ON DELETE CASCADE, date INTEGER NOT NULL);
CREATE INDEX contact_date_date ON contact_date(date);
CREATE INDEX contact_date_contact ON contact_date(contact_id);

-- Deleted entities: their last rev (a re-create continues the generation) and
-- who could read them (only they learn "deleted" rather than "not found").
CREATE TABLE tombstone(
  kind TEXT NOT NULL, id TEXT NOT NULL, rev TEXT NOT NULL, deleted INTEGER NOT NULL,
  readers TEXT NOT NULL, PRIMARY KEY(kind, id)) WITHOUT ROWID;
)sql",
      // 2: patient_name rows carry the patient's `modified`, and the token index
      // ends with it, so one exact token (or a family+given pair, field 'pair':
      // "<family>\x1f<given>", folded) yields its matches already in the default
      // order (_lastUpdated, id): such searches read one page, not every match.
      R"sql(
ALTER TABLE patient_name ADD COLUMN modified INTEGER NOT NULL DEFAULT 0;
UPDATE patient_name SET modified =
  (SELECT p.modified FROM patient p WHERE p.id = patient_name.patient_id);
DROP INDEX patient_name_token;
CREATE INDEX patient_name_token ON patient_name(token, field, whole, modified, patient_id);
INSERT INTO patient_name(patient_id, field, token, whole, modified)
  SELECT f.patient_id, 'pair', f.token || char(31) || g.token, 1, f.modified
  FROM patient_name f JOIN patient_name g
    ON g.patient_id = f.patient_id AND g.field = 'given' AND g.whole = 1
  WHERE f.field = 'family' AND f.whole = 1;
)sql",
      // 3: the other ids a deleted entity was read by (a patient's FHIR ids; a
      // contact's service ids and their FHIR ids), so that reading one of them
      // answers "deleted" (HTTP 410) as reading the store id does. Entities
      // deleted before this migration have none (their documents are gone).
      R"sql(
CREATE TABLE tombstone_alias(
  kind TEXT NOT NULL, alias TEXT NOT NULL, id TEXT NOT NULL,
  PRIMARY KEY(kind, alias, id)) WITHOUT ROWID;
CREATE INDEX tombstone_alias_id ON tombstone_alias(kind, id);
)sql",
      // 4: deletes listed by time (type history: what changed since, deletes too).
      R"sql(
CREATE INDEX IF NOT EXISTS tombstone_deleted ON tombstone(kind, deleted);
)sql",
      // 5: the versions an update replaced, sealed as the live row was, kept
      // while the entity lives (a delete drops them): vread and instance
      // history. generation: the rev's leading number (FHIR versionId);
      // patient_id: a contact's, NULL for a patient.
      R"sql(
CREATE TABLE entity_version(
  kind TEXT NOT NULL, id TEXT NOT NULL, generation INTEGER NOT NULL, rev TEXT NOT NULL,
  modified INTEGER NOT NULL, patient_id TEXT, doc TEXT NOT NULL);
CREATE UNIQUE INDEX entity_version_key ON entity_version(kind, id, generation);
CREATE INDEX entity_version_modified ON entity_version(kind, modified);
)sql",
      // 6: both service_code indexes cover what a code search reads of the
      // row, so neither the count (code -> contact) nor the per-contact check
      // (contact -> code) looks the row up: about half the SQL of a LOINC
      // code search (docs/search.md). A deferred service_code_code (an import
      // killed before it built it) is built here, as open() would.
      R"sql(
DROP INDEX IF EXISTS service_code_code;
CREATE INDEX service_code_code ON service_code(code, type, kind, contact_id);
DROP INDEX service_code_contact;
CREATE INDEX service_code_contact ON service_code(contact_id, kind, type, code);
)sql",
      // 7: service_code rows carry their contact's `modified`, as patient_name
      // rows carry the patient's (2), and service_code_code covers it: a code
      // search of few matches lists its matches' (modified, contact id) keys
      // from the index alone and reads only the page's contacts
      // (docs/search.md). The index is dropped first so that the rewrite of
      // every row does not also update it entry by entry.
      R"sql(
DROP INDEX IF EXISTS service_code_code;
ALTER TABLE service_code ADD COLUMN modified INTEGER NOT NULL DEFAULT 0;
UPDATE service_code SET modified =
  coalesce((SELECT c.modified FROM contact c WHERE c.id = service_code.contact_id), 0);
CREATE INDEX service_code_code ON service_code(code, type, kind, contact_id, modified);
)sql",
      // 8: a pair row's token starts with the separator, char(31)
      // (name_pair_token): the pairs of a family sorted right after its own
      // token ("<family>" char(31) "<given>"), so a name prefix search walked
      // them in its index range only to drop them. The index is dropped
      // first (as in 7); migration 9 builds it again (and open() builds a
      // missing deferrable index after the last migration).
      R"sql(
DROP INDEX IF EXISTS patient_name_token;
UPDATE patient_name SET token = char(31) || token WHERE field = 'pair';
)sql",
      // 9: patient_name rows are kept per reader of the patient, tagged with
      // the reader's number (data_owner_number: owner ids are ~36 bytes, a
      // number is one or two), and patient_name_token carries it before the
      // sort keys: a name search checks who may read a match on the index
      // entry instead of a look-up in patient_reader per match (docs/search.md).
      // Numbers are never reused: rows of this table are never deleted.
      R"sql(
CREATE TABLE data_owner_number(number INTEGER PRIMARY KEY, owner_id TEXT NOT NULL UNIQUE);
INSERT INTO data_owner_number(owner_id) SELECT DISTINCT hcp_id FROM patient_reader ORDER BY hcp_id;
DROP INDEX IF EXISTS patient_name_token;
ALTER TABLE patient_name RENAME TO patient_name_v8;
CREATE TABLE patient_name(
  patient_id TEXT NOT NULL REFERENCES patient(id) ON DELETE CASCADE,
  field TEXT NOT NULL, token TEXT NOT NULL, whole INTEGER NOT NULL,
  modified INTEGER NOT NULL DEFAULT 0, reader INTEGER NOT NULL);
INSERT INTO patient_name(patient_id, field, token, whole, modified, reader)
  SELECT n.patient_id, n.field, n.token, n.whole, n.modified, o.number
  FROM patient_name_v8 n JOIN patient_reader r ON r.patient_id = n.patient_id
  JOIN data_owner_number o ON o.owner_id = r.hcp_id
  ORDER BY n.rowid, o.number;
DROP TABLE patient_name_v8;
CREATE INDEX patient_name_patient ON patient_name(patient_id);
CREATE INDEX patient_name_token ON patient_name(token, field, whole, reader, modified, patient_id);
)sql",
      // 10: service_code rows per reader of the contact, tagged as name rows
      // are (9), and service_code_code carries the reader before the contact:
      // a code search checks who reads a match on the index entry instead of
      // a look-up in contact_reader per match (docs/search.md).
      R"sql(
INSERT INTO data_owner_number(owner_id)
  SELECT DISTINCT hcp_id FROM contact_reader
  WHERE hcp_id NOT IN (SELECT owner_id FROM data_owner_number) ORDER BY hcp_id;
DROP INDEX IF EXISTS service_code_code;
ALTER TABLE service_code RENAME TO service_code_v9;
CREATE TABLE service_code(
  contact_id TEXT NOT NULL REFERENCES contact(id) ON DELETE CASCADE,
  service_id TEXT NOT NULL, kind TEXT NOT NULL, type TEXT NOT NULL, code TEXT NOT NULL,
  modified INTEGER NOT NULL DEFAULT 0, reader INTEGER NOT NULL);
INSERT INTO service_code(contact_id, service_id, kind, type, code, modified, reader)
  SELECT s.contact_id, s.service_id, s.kind, s.type, s.code, s.modified, o.number
  FROM service_code_v9 s JOIN contact_reader r ON r.contact_id = s.contact_id
  JOIN data_owner_number o ON o.owner_id = r.hcp_id
  ORDER BY s.rowid, o.number;
DROP TABLE service_code_v9;
CREATE INDEX service_code_contact ON service_code(contact_id, kind, type, code);
CREATE INDEX service_code_code ON service_code(code, type, kind, reader, contact_id, modified);
)sql",
      // 11: patient_name_patient covers what a name condition checks of a
      // patient's own rows (token, field, whole), as service_code_contact does
      // for codes (6): a name search scanning in sort order (many matches)
      // checks each patient on the index alone, with no look-up of its name
      // rows; a prefix is one range of the patient's entries (docs/search.md).
      R"sql(
DROP INDEX patient_name_patient;
CREATE INDEX patient_name_patient ON patient_name(patient_id, token, field, whole);
)sql",
      // 12: 'head' rows, one per patient, reader and distinct first three
      // characters of its family, given and other tokens (name_head_token):
      // a name prefix search with many matches pages through its head's rows
      // in (modified, id) order instead of scanning every patient
      // (docs/search.md). length and substr count characters, as
      // name_head_token does.
      R"sql(
INSERT INTO patient_name(patient_id, field, token, whole, modified, reader)
  SELECT DISTINCT patient_id, 'head', char(30) || substr(token, 1, 3), 0, modified, reader
  FROM patient_name
  WHERE field IN ('family', 'given', 'other') AND length(token) >= 3;
)sql",
  };
  return list;
}

// Indexes that only searches use: a bulk import may drop them and build each
// once, sorted, at its end (SqliteStore::defer_search_indexes,
// docs/storage.md). Ids, identifiers, readers and the per-entity indexes stay:
// writes and the import's own look-ups need them. Searches that name
// patient_family or patient_name_token (INDEXED BY) fall back to a plain plan
// while they are missing (sqlite_query.cpp). These are the current
// definitions: a migration that changes one of these indexes changes it here
// too and drops it with IF EXISTS (sqlite_store_test checks that a fresh
// store's definitions match).
struct DeferrableIndex {
  const char* name;
  const char* create_sql;  // CREATE INDEX IF NOT EXISTS ...
};
inline constexpr DeferrableIndex kDeferrableIndexes[] = {
    {"patient_birth_date", "CREATE INDEX IF NOT EXISTS patient_birth_date ON patient(birth_date)"},
    {"patient_family", "CREATE INDEX IF NOT EXISTS patient_family ON patient(family_sort, id)"},
    {"patient_name_token",
     "CREATE INDEX IF NOT EXISTS patient_name_token ON patient_name(token, field, whole, "
     "reader, modified, patient_id)"},
    {"contact_secret_fk_key",
     "CREATE INDEX IF NOT EXISTS contact_secret_fk_key ON contact_secret_fk(secret_fk)"},
    {"service_code_code",
     "CREATE INDEX IF NOT EXISTS service_code_code ON service_code(code, type, kind, reader, "
     "contact_id, modified)"},
    {"contact_date_date", "CREATE INDEX IF NOT EXISTS contact_date_date ON contact_date(date)"},
};

}  // namespace fhirbridge::storage::schema
