// find_patients / find_contacts: every condition is SQL over the index tables,
// visibility is a join on the reader table, paging is keyset-based.
//
// Cursor: hex of {"s": "<sort spec>", "k": [sort key values of the last row]}.
// The next page is "rows strictly after that key" in ORDER BY <sort keys>, id,
// so inserts and deletes between two calls never shift or repeat rows that
// were already returned (unlike an OFFSET).
#include <boost/json.hpp>

#include <algorithm>
#include <functional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "fhirbridge/crypto/primitives.hpp"
#include "fhirbridge/json_io.hpp"
#include "fhirbridge/storage/text_fold.hpp"
#include "sqlite_store_impl.hpp"

namespace fhirbridge::storage {

namespace json = boost::json;
using sqlite::Statement;
using sqlite::Value;

namespace {

// A sort field's SQL expression: never NULL, so that keyset comparisons work.
struct SortColumn {
  const char* field;
  const char* expr;
};
constexpr SortColumn kPatientSort[] = {
    {"family", "p.family_sort"},
    {"given", "p.given_sort"},
    {"birthdate", "COALESCE(p.birth_date, 0)"},
    {"gender", "COALESCE(p.gender, '')"},
    {"_lastUpdated", "p.modified"},
    {"_id", "p.id"},
};
constexpr SortColumn kContactSort[] = {
    {"date", "COALESCE(c.sort_date, 0)"},
    {"code", "c.sort_code"},
    {"status", "COALESCE(c.sort_status, 0)"},
    {"_lastUpdated", "c.modified"},
    {"_id", "c.id"},
};

struct ResolvedSort {
  std::vector<std::pair<std::string, bool>> keys;  // SQL expression, descending
  std::string spec;                                // identifies the sort in a cursor
};

template <std::size_t N>
Result<ResolvedSort> resolve_sort(const std::vector<SortKey>& requested,
                                  const SortColumn (&columns)[N], const char* id_expr) {
  std::vector<SortKey> sort = requested;
  if (sort.empty()) sort = {{"_lastUpdated", false}};
  ResolvedSort out;
  bool has_id = false;
  for (const auto& key : sort) {
    const SortColumn* column = nullptr;
    for (const auto& c : columns)
      if (key.field == c.field) column = &c;
    if (!column)
      return Status(StatusCode::invalid, "cannot sort on '" + key.field + "'", "page.sort");
    out.keys.emplace_back(column->expr, key.descending);
    out.spec += key.field + (key.descending ? ":desc," : ":asc,");
    if (std::string(column->expr) == id_expr) {
      has_id = true;
      break;  // the id is unique: later keys cannot matter
    }
  }
  if (!has_id) {  // the tiebreaker that makes the order total
    out.keys.emplace_back(id_expr, false);
    out.spec += "_id:asc";
  }
  return out;
}

std::string encode_cursor(const ResolvedSort& sort, const std::vector<Value>& key) {
  json::array values;
  for (const auto& v : key) {
    if (const auto* i = std::get_if<std::int64_t>(&v))
      values.emplace_back(*i);
    else if (const auto* s = std::get_if<std::string>(&v))
      values.emplace_back(json::string(*s));
    else
      values.emplace_back(nullptr);
  }
  std::string text = json::serialize(json::object{{"s", sort.spec}, {"k", values}});
  return crypto::to_hex(reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
}

Result<std::vector<Value>> decode_cursor(const ResolvedSort& sort, const std::string& cursor) {
  const Status bad(StatusCode::invalid, "the paging cursor is not valid for this search",
                   "page.cursor");
  auto bytes = crypto::from_hex(cursor);
  if (!bytes.ok()) return bad;
  boost::system::error_code ec;
  json::value jv = json::parse(
      json::string_view(reinterpret_cast<const char*>(bytes->data()), bytes->size()), ec);
  if (ec || !jv.is_object()) return bad;
  const auto& o = jv.get_object();
  const auto* spec = o.if_contains("s");
  const auto* keys = o.if_contains("k");
  if (!spec || !spec->is_string() || spec->get_string() != sort.spec || !keys ||
      !keys->is_array() || keys->get_array().size() != sort.keys.size())
    return bad;
  std::vector<Value> values;
  for (const auto& k : keys->get_array()) {
    if (k.is_int64())
      values.emplace_back(k.get_int64());
    else if (k.is_string())
      values.emplace_back(std::string(k.get_string()));
    else
      return bad;
  }
  return values;
}

// "<entity> has a row in <table> matching <where>": one condition over a
// per-entity index table, kept apart so that a search can be driven by it.
struct Member {
  const char* table;  // e.g. "patient_name"
  // The alias `where` uses. Members that keep their rows per reader have
  // one of their own (a driver of them is correlated to by its alias).
  std::string alias;
  const char* column;  // the entity id column ("patient_id" / "contact_id")
  std::string where;
  std::vector<Value> params;
  // 0: cannot drive a search (no index range: `:contains`, a token without a
  // value, a negated date); else lower = expected to match fewer rows.
  int drive_rank = 0;
  // The column of `table` holding a reader's data-owner number, when the
  // table keeps its rows per reader (patient_name, service_code: schema
  // migrations 9, 10): a
  // search it drives checks the reader on its own rows (kCallerReaderNumber)
  // instead of joining the reader table. nullptr: rows are not per reader.
  const char* own_reader = nullptr;
};

// The caller's data-owner number: a scalar subquery SQLite evaluates once per
// run; NULL (no row matches) when the caller reads nothing yet.
constexpr const char* kCallerReaderNumber =
    "(SELECT number FROM data_owner_number WHERE owner_id = ?)";

// "<outer> is one of the <column>s of <table> rows matching <where>", in one of
// two shapes. Uncorrelated (`outer IN (SELECT ...)`) lets SQLite drive the
// search from the index table: best when few rows match (SQLite materialises
// the whole list first). Correlated (`EXISTS (... WHERE fk = outer ...)`)
// checks one row at a time: what a scan in the sort order, or a count driven
// by another member, needs (see run_search).
// The correlated shape names the per-entity index ("<table>_<entity>"):
// otherwise SQLite may prefer the value index (e.g. service_code_code) and
// re-read every row of that value for each outer row.
std::string member(bool correlated, const char* outer, const Member& m) {
  const std::string ref = std::string(m.alias) + "." + m.column;
  if (correlated) {
    const std::string index =
        std::string(m.table) + (std::string(m.column) == "patient_id" ? "_patient" : "_contact");
    return std::string("EXISTS (SELECT 1 FROM ") + m.table + " " + m.alias + " INDEXED BY " +
           index + " WHERE " + ref + " = " + outer + " AND (" + m.where + "))";
  }
  return std::string(outer) + " IN (SELECT " + ref + " FROM " + m.table + " " + m.alias +
         " WHERE " + m.where + ")";
}

// The conditions of one query: plain ones on the entity row, and members.
struct Conditions {
  std::vector<std::pair<std::string, std::vector<Value>>> plain;
  std::vector<Member> members;
  void add(std::string condition, std::vector<Value> params = {}) {
    plain.emplace_back(std::move(condition), std::move(params));
  }
  // The member that should drive a search from its index (-1: none).
  int driver() const {
    int best = -1;
    for (std::size_t i = 0; i < members.size(); ++i)
      if (members[i].drive_rank > 0 &&
          (best < 0 || members[i].drive_rank < members[static_cast<std::size_t>(best)].drive_rank))
        best = static_cast<int>(i);
    return best;
  }
  // " AND (...)" for each condition but member `skip`, appending their values.
  void render(bool correlated, const char* outer, int skip, std::string& sql,
              std::vector<Value>& params) const {
    for (const auto& [condition, values] : plain) {
      sql += " AND (" + condition + ")";
      params.insert(params.end(), values.begin(), values.end());
    }
    for (std::size_t i = 0; i < members.size(); ++i) {
      if (static_cast<int>(i) == skip) continue;
      sql += " AND (" + member(correlated, outer, members[i]) + ")";
      params.insert(params.end(), members[i].params.begin(), members[i].params.end());
    }
  }
};

// token_or can use a (value, ...) index only when every alternative names a value.
bool all_have_values(const AnyOf& tokens) {
  if (tokens.empty()) return false;
  for (const auto& t : tokens)
    if (!t.value) return false;
  return true;
}

std::string placeholders(std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out += i ? ", ?" : "?";
  return out;
}

// A SELECT of n bound values (a one-column VALUES table; no rows when n = 0).
std::string values_select(std::size_t n) {
  if (n == 0) return "SELECT NULL WHERE 0";
  std::string out = "SELECT column1 FROM (VALUES ";
  for (std::size_t i = 0; i < n; ++i) out += i ? ", (?)" : "(?)";
  return out + ")";
}

std::string date_range(const DateCondition& d, const char* column, bool contact_dates,
                       std::vector<Value>& params) {
  std::string range;
  auto bound = [&](std::int64_t v, bool high) {
    // Contact dates are indexed as YYYYMMDDhhmmss; accept YYYYMMDD bounds too.
    if (contact_dates && v < 100000000) v = v * 1000000 + (high ? 235959 : 0);
    return v;
  };
  if (d.lo) {
    range = std::string(column) + " >= ?";
    params.emplace_back(bound(*d.lo, false));
  }
  if (d.hi) {
    range += std::string(range.empty() ? "" : " AND ") + column + " <= ?";
    params.emplace_back(bound(*d.hi, true));
  }
  if (range.empty()) range = "1";
  // A missing date matches neither the range nor its negation.
  return std::string(column) + " IS NOT NULL AND " + (d.negate ? "NOT (" + range + ")" : range);
}

// A date parameter: its range, or any of them (a comma list).
std::string date_condition(const DateCondition& d, const char* column, bool contact_dates,
                           std::vector<Value>& params) {
  if (d.alternatives.empty()) return date_range(d, column, contact_dates, params);
  std::string any = "((" + date_range(d, column, contact_dates, params) + ")";
  for (const auto& other : d.alternatives)
    any += " OR (" + date_range(other, column, contact_dates, params) + ")";
  return any + ")";
}

// One bounded range (not a list, not negated): an index on the date can drive.
bool is_range(const DateCondition& d) {
  return (d.lo || d.hi) && !d.negate && d.alternatives.empty();
}

// Member::drive_rank of a name condition.
constexpr int kExactNameRank = 2;
constexpr int kPrefixRank = 3;

// One TextCondition over patient_name, restricted to `field` (nullptr = any).
void add_name_condition(Conditions& c, const TextCondition& t, const char* field) {
  if (t.any_of.empty()) {
    c.add("0");
    return;
  }
  // Its own alias: a search driven by one name condition correlates the
  // others to the driver's rows (Member::own_reader).
  Member m{"patient_name", "n" + std::to_string(c.members.size()), "patient_id", "", {}, 0,
           "reader"};
  const std::string& n = m.alias;
  std::string alternatives;
  int rank = kExactNameRank;
  for (const auto& text : t.any_of) {
    std::string folded = fold_text(text);
    std::string one;
    switch (t.match) {
      case TextMatch::prefix:
        // A range on the token index; 0xFF never occurs in UTF-8.
        one = n + ".token >= ? AND " + n + ".token < ?";
        m.params.emplace_back(folded);
        m.params.emplace_back(folded + "\xff");
        rank = kPrefixRank;
        break;
      case TextMatch::exact:
        one = n + ".token = ? AND " + n + ".whole = 1";
        m.params.emplace_back(folded);
        break;
      case TextMatch::contains:
        one = n + ".whole = 1 AND instr(" + n + ".token, ?) > 0";
        m.params.emplace_back(folded);
        rank = 0;  // no index range: every token is read
        break;
    }
    alternatives += (alternatives.empty() ? "(" : " OR (") + one + ")";
  }
  m.where = "(" + alternatives + ")";
  if (field) {
    m.where += " AND " + n + ".field = ?";
    m.params.emplace_back(std::string(field));
  } else {
    // A pair row (name_pair_token) matches only where its family row does:
    // skipping it saves a look-up per match, not a result. A head row
    // (name_head_token) is in no folded token's range.
    m.where += " AND " + n + ".field NOT IN ('pair', 'head')";
  }
  m.drive_rank = rank;
  c.members.push_back(std::move(m));
}

// :missing over an index table: the entity has (missing = false) or has no
// row `x` of `table` that is its own (`own`) and matches `where`.
void add_presence(Conditions& c, bool missing, const char* table, const char* own,
                  const char* where, std::vector<Value> params) {
  c.add(std::string(missing ? "NOT " : "") + "EXISTS (SELECT 1 FROM " + table + " x WHERE " + own +
            " AND " + where + ")",
        std::move(params));
}

Conditions patient_conditions(const PatientQuery& q) {
  Conditions c;
  if (q.ids) {
    // One IN over a UNION (not "IN (...) OR IN (...)": an OR of two lists
    // defeats the primary-key lookup and scans the whole table).
    const auto n = q.ids->size();
    std::vector<Value> params(q.ids->begin(), q.ids->end());
    params.emplace_back(std::string(kFhirIdSystem));
    params.insert(params.end(), q.ids->begin(), q.ids->end());
    c.add("p.id IN (" + values_select(n) +
              " UNION ALL SELECT patient_id FROM patient_identifier WHERE system = ? AND value "
              "IN (" +
              placeholders(n) + "))",
          std::move(params));
  }
  for (const auto& any : q.identifiers) {
    Member m{"patient_identifier", "i", "patient_id", "", {}, all_have_values(any) ? 1 : 0};
    m.where = token_or(any, "i.system", "i.value", m.params);
    c.members.push_back(std::move(m));
  }
  for (const auto& t : q.names) add_name_condition(c, t, nullptr);
  for (const auto& t : q.family) add_name_condition(c, t, "family");
  for (const auto& t : q.given) add_name_condition(c, t, "given");
  for (const auto& genders : q.genders)
    c.add("p.gender IN (" + (genders.empty() ? std::string("NULL") : placeholders(genders.size())) +
              ")",
          std::vector<Value>(genders.begin(), genders.end()));
  for (const auto& d : q.birth_dates) {
    std::vector<Value> params;
    std::string cond = date_condition(d, "p.birth_date", false, params);
    c.add(std::move(cond), std::move(params));
  }
  if (q.active) c.add("p.active = ?", {std::int64_t{*q.active ? 1 : 0}});
  for (const auto& d : q.last_updated) {
    std::vector<Value> params;
    std::string cond = date_condition(d, "p.modified", false, params);
    c.add(std::move(cond), std::move(params));
  }
  for (const auto& [element, missing] : q.presence) {
    const std::string is = missing ? "IS NULL" : "IS NOT NULL";
    auto rows = [&, missing = missing](const char* table, const char* where,
                                       std::vector<Value> params = {}) {
      add_presence(c, missing, table, "x.patient_id = p.id", where, std::move(params));
    };
    switch (element) {
      case PatientElement::gender: c.add("p.gender " + is); break;
      case PatientElement::birth_date: c.add("p.birth_date " + is); break;
      case PatientElement::identifier:
        rows("patient_identifier", "x.system <> ?", {std::string(kFhirIdSystem)});
        break;
      case PatientElement::name: rows("patient_name", "x.field NOT IN ('pair', 'head')"); break;
      case PatientElement::family: rows("patient_name", "x.field = 'family'"); break;
      case PatientElement::given: rows("patient_name", "x.field = 'given'"); break;
    }
  }
  return c;
}

Conditions contact_conditions(const ContactQuery& q) {
  Conditions c;
  if (q.ids) {
    // A contact id, one of its service ids, or a service's FHIR id.
    const auto n = q.ids->size();
    std::vector<Value> params;
    for (int pass = 0; pass < 2; ++pass) params.insert(params.end(), q.ids->begin(), q.ids->end());
    params.emplace_back(std::string(kFhirIdSystem));
    params.insert(params.end(), q.ids->begin(), q.ids->end());
    c.add("c.id IN (" + values_select(n) +
              " UNION ALL SELECT contact_id FROM service WHERE service_id IN (" + placeholders(n) +
              ") UNION ALL SELECT contact_id FROM service_identifier WHERE system = ? AND value "
              "IN (" +
              placeholders(n) + "))",
          std::move(params));
  }
  if (q.patient_ids) {
    // The patient's store id, or its FHIR id.
    const auto n = q.patient_ids->size();
    std::vector<Value> params(q.patient_ids->begin(), q.patient_ids->end());
    params.emplace_back(std::string(kFhirIdSystem));
    params.insert(params.end(), q.patient_ids->begin(), q.patient_ids->end());
    c.add("c.patient_id IN (" + values_select(n) +
              " UNION ALL SELECT patient_id FROM patient_identifier WHERE system = ? AND "
              "value IN (" +
              placeholders(n) + "))",
          std::move(params));
  }
  for (const auto& any : q.identifiers) {
    Member m{"service_identifier", "i", "contact_id", "", {}, all_have_values(any) ? 1 : 0};
    m.where = token_or(any, "i.system", "i.value", m.params);
    c.members.push_back(std::move(m));
  }
  for (const auto& [list, kind] : {std::pair{&q.codes, "code"}, std::pair{&q.tags, "tag"}}) {
    for (const auto& any : *list) {
      // Its own alias, and the reader on its rows: as a name condition's.
      Member m{"service_code",      "s" + std::to_string(c.members.size()), "contact_id", "",
               {std::string(kind)}, all_have_values(any) ? 2 : 0,           "reader"};
      const std::string& s = m.alias;
      m.where = s + ".kind = ? AND (" +
                token_or(any, (s + ".type").c_str(), (s + ".code").c_str(), m.params) + ")";
      c.members.push_back(std::move(m));
    }
  }
  for (const auto& d : q.dates) {
    Member m{"contact_date", "d", "contact_id", "", {}, is_range(d) ? 4 : 0};
    m.where = date_condition(d, "d.date", true, m.params);
    c.members.push_back(std::move(m));
  }
  for (const auto& d : q.last_updated) {
    std::vector<Value> params;
    std::string cond = date_condition(d, "c.modified", false, params);
    c.add(std::move(cond), std::move(params));
  }
  for (const auto& [element, missing] : q.presence) {
    auto rows = [&, missing = missing](const char* table, const char* where,
                                       std::vector<Value> params = {}) {
      add_presence(c, missing, table, "x.contact_id = c.id", where, std::move(params));
    };
    switch (element) {
      case ContactElement::date: rows("contact_date", "1"); break;
      case ContactElement::code: rows("service_code", "x.kind = 'code'"); break;
      case ContactElement::identifier:
        rows("service_identifier", "x.system <> ?", {std::string(kFhirIdSystem)});
        break;
    }
  }
  return c;
}

// "(k1 > ?) OR (k1 = ? AND k2 < ?) OR ..." for rows after `after` in the order.
std::string keyset_condition(const ResolvedSort& sort, const std::vector<Value>& after,
                             std::vector<Value>& params) {
  std::string sql;
  for (std::size_t i = 0; i < sort.keys.size(); ++i) {
    std::string one;
    for (std::size_t j = 0; j < i; ++j) {
      one += sort.keys[j].first + " = ? AND ";
      params.push_back(after[j]);
    }
    one += sort.keys[i].first + (sort.keys[i].second ? " < ?" : " > ?");
    params.push_back(after[i]);
    sql += (sql.empty() ? "(" : " OR (") + one + ")";
  }
  return sql;
}

// The SQL of one search: FROM/JOIN/WHERE shared by the count and page queries.
struct SearchSql {
  std::string from_where;  // "FROM ... WHERE ..."
  std::vector<Value> params;
  // When one member can drive: "SELECT DISTINCT <id> FROM <member's table>
  // JOIN <entity> ...", the count's own shape. `x IN (SELECT ...)` would make
  // SQLite collect every match of the list before the count's LIMIT applies;
  // this walks the member's index range and stops after the bound.
  std::string count_select;
  std::vector<Value> count_params;
  // The count's "FROM <member's table> ... WHERE ..." and the driving member
  // (empty when none drives).
  std::string driver_from_where;
  std::string driver_table, driver_alias;
  // A keyed search: the driver's rows carry the sort's keys, (modified, id),
  // under these names (patient_name's modified, patient_id; service_code's
  // modified, contact_id). Its count lists the matches' keys (the rows of
  // driver_from_where with count_params, repeats dropped: match_keys), a page
  // of few matches is cut from them, and each of its items is read by
  // `entity_by_id` ("FROM <entity> WHERE <id> = ?"). Empty: a plain count,
  // and a page of from_where.
  std::vector<std::string> page_keys;
  std::string entity_by_id;
  // The sort's key expressions in this shape, when not the entity's columns:
  // a search driven by index rows that carry copies of the keys orders by
  // those, so that SQLite reads the index range in order (empty: the sort's).
  std::vector<std::string> order_keys;
};

// `sort` with the key expressions of `search` (SearchSql::order_keys).
ResolvedSort ordered_as(const SearchSql& search, ResolvedSort sort) {
  for (std::size_t k = 0; k < search.order_keys.size() && k < sort.keys.size(); ++k)
    sort.keys[k].first = search.order_keys[k];
  return sort;
}

// `from_where`, and the member-driven count when a member can drive (the
// most selective by drive_rank; `allow_driver` is false when a list of ids
// drives instead). In the uncorrelated shape, only the driver stays
// uncorrelated. `reader_join`: "<reader table> r ON r.<entity>_id = {ref} AND r.hcp_id = ?"
// ({ref}: the member's entity id column), unless the driver keeps its rows
// per reader (Member::own_reader); `entity_join`: the entity table ("... ON
// <id> = {ref}"), joined only when a plain condition needs its row.
SearchSql make_search(const Conditions& c, bool correlated, const char* outer,
                      const std::string& from, const std::string& hcp_id, bool allow_driver,
                      const char* reader_join, const char* reader_outer, const char* entity_join) {
  SearchSql s;
  s.from_where = from + "WHERE 1";
  s.params = {hcp_id};
  const int driver = allow_driver ? c.driver() : -1;
  if (correlated || driver < 0) {
    c.render(correlated, outer, -1, s.from_where, s.params);
    if (driver < 0) return s;
  } else {
    // Only the driver's list is collected; the other members are checked
    // per candidate (each uncorrelated list would be collected in full).
    const Member& m = c.members[static_cast<std::size_t>(driver)];
    s.from_where += " AND (" + member(false, outer, m) + ")";
    s.params.insert(s.params.end(), m.params.begin(), m.params.end());
    c.render(/*correlated=*/true, outer, driver, s.from_where, s.params);
  }
  const Member& m = c.members[static_cast<std::size_t>(driver)];
  const std::string ref = m.alias + "." + m.column;
  auto with_ref = [](std::string sql, const std::string& to) {
    return sql.replace(sql.find("{ref}"), 5, to);
  };
  // The driver's rows joined to the entity's readers (or carrying them), the
  // entity row only when a plain condition needs it. `outer`: the entity id.
  std::string joins;
  std::string reader_check;
  std::string outer_id = reader_outer;
  if (m.own_reader) {
    reader_check = m.alias + "." + m.own_reader + " = " + kCallerReaderNumber + " AND ";
    outer_id = ref;
  } else {
    joins = " CROSS JOIN " + with_ref(reader_join, ref);
  }
  if (!c.plain.empty()) joins += " CROSS JOIN " + with_ref(entity_join, outer_id);
  // DISTINCT on the driver's own column (equal to the reader's): when the
  // driver's index ends with it (service_code_code) an equality range yields
  // it in order, and SQLite needs no temporary B-tree to drop repeats.
  s.driver_from_where = std::string("FROM ") + m.table + " " + m.alias + joins + " WHERE " +
                        reader_check + "(" + m.where + ")";
  s.count_params = {hcp_id};
  s.count_params.insert(s.count_params.end(), m.params.begin(), m.params.end());
  c.render(/*correlated=*/true, outer_id.c_str(), driver, s.driver_from_where, s.count_params);
  s.count_select =
      std::string("SELECT DISTINCT ") + m.alias + "." + m.column + " " + s.driver_from_where;
  s.driver_table = m.table;
  s.driver_alias = m.alias;
  return s;
}

// A search's sorted-scan shape (run_search), built only when a page takes
// it: most searches have few matches, and building its SQL every time was ~2%
// of a name search's instructions. Empty: no index has the sort's order, or
// the query names its ids.
using SortedScan = std::function<SearchSql()>;

struct PageSql {
  std::string sql;
  std::vector<Value> params;
};

PageSql page_query(const SearchSql& search, const ResolvedSort& sort, const char* select,
                   const std::vector<Value>* after, std::size_t limit) {
  PageSql page{std::string("SELECT ") + select, search.params};
  for (const auto& key : sort.keys) page.sql += ", " + key.first;
  page.sql += " " + search.from_where;
  if (after) page.sql += " AND (" + keyset_condition(sort, *after, page.params) + ")";
  page.sql += " ORDER BY ";
  for (std::size_t i = 0; i < sort.keys.size(); ++i)
    page.sql += (i ? ", " : "") + sort.keys[i].first + (sort.keys[i].second ? " DESC" : "");
  page.sql += " LIMIT ?";
  page.params.emplace_back(static_cast<std::int64_t>(limit + 1));  // one more: is there a next?
  return page;
}

// `ordered_index`: scan the entity table in that index's order (it must be
// the sort's order), checking each row's conditions, and stop after the page;
// or a range of it (modified_range_index); nullptr: let SQLite drive from the
// most selective index table, then sort.
SearchSql patient_search(const Principal& who, const Conditions& c, bool by_ids,
                         const char* ordered_index) {
  const std::string from =
      ordered_index ? std::string("FROM patient p INDEXED BY ") + ordered_index +
                          " CROSS JOIN patient_reader r ON r.patient_id = p.id AND r.hcp_id = ? "
                    : std::string(
                          "FROM patient p JOIN patient_reader r ON r.patient_id = p.id "
                          "AND r.hcp_id = ? ");
  // With a list of ids, those drive: every other condition is checked per row.
  return make_search(c, ordered_index != nullptr || by_ids, "p.id", from, who.hcp_id, !by_ids,
                     "patient_reader r ON r.patient_id = {ref} AND r.hcp_id = ?", "r.patient_id",
                     "patient p ON p.id = {ref}");
}

// A bounded _lastUpdated range ("what changed since", as sync clients ask)
// drives from the entity's modified index when no member can: otherwise the
// search reads every entity the caller may read. `index` when it does.
bool has_range(const std::vector<DateCondition>& dates) {
  return std::any_of(dates.begin(), dates.end(), is_range);
}
const char* modified_range_index(const PatientQuery& q) {
  return !q.ids && has_range(q.last_updated) && patient_conditions(q).driver() < 0
             ? "patient_modified"
             : nullptr;
}

SearchSql patient_search(const Principal& who, const PatientQuery& query,
                         const char* ordered_index = nullptr) {
  return patient_search(who, patient_conditions(query), query.ids.has_value(), ordered_index);
}

SearchSql contact_search(const Principal& who, const ContactQuery& query,
                         const char* ordered_index = nullptr) {
  Conditions c = contact_conditions(query);
  // A patient's contacts: drive from contact_patient (SQLite, without
  // statistics, may otherwise scan contact_modified to save the sort).
  const char* index = ordered_index                     ? ordered_index
                      : query.patient_ids && !query.ids ? "contact_patient"
                      : !query.ids && has_range(query.last_updated) && c.driver() < 0
                          ? "contact_modified"
                          : nullptr;
  const std::string from =
      index ? std::string("FROM contact c INDEXED BY ") + index +
                  " CROSS JOIN contact_reader r ON r.contact_id = c.id AND r.hcp_id = ? "
            : std::string(
                  "FROM contact c JOIN contact_reader r ON r.contact_id = c.id "
                  "AND r.hcp_id = ? ");
  const bool by_ids = query.ids.has_value() || query.patient_ids.has_value();
  return make_search(c, index != nullptr || by_ids, "c.id", from, who.hcp_id, !by_ids,
                     "contact_reader r ON r.contact_id = {ref} AND r.hcp_id = ?", "r.contact_id",
                     "contact c ON c.id = {ref}");
}

// The index whose order is exactly `sort` (all keys in one direction), if any.
struct OrderedIndex {
  const char* name;
  std::vector<const char*> keys;
};
const char* index_for(const ResolvedSort& sort, std::initializer_list<OrderedIndex> indexes) {
  for (const auto& index : indexes) {
    if (index.keys.size() != sort.keys.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < sort.keys.size() && same; ++i)
      same = sort.keys[i].first == index.keys[i] && sort.keys[i].second == sort.keys[0].second;
    if (same) return index.name;
  }
  return nullptr;
}

// Keys `s` (SearchSql::page_keys) when its driver is `keyed_table`, whose
// rows carry the entity's `modified` beside `id_column`, and `sort` is the
// default (_lastUpdated, id) order, `modified_order`.
SearchSql keyed_when_driven_by(SearchSql s, const ResolvedSort& sort, const char* keyed_table,
                               const char* id_column, const OrderedIndex& modified_order,
                               const char* entity_by_id) {
  if (s.driver_table == keyed_table && index_for(sort, {modified_order})) {
    s.page_keys = {s.driver_alias + ".modified", s.driver_alias + "." + id_column};
    s.entity_by_id = entity_by_id;
  }
  return s;
}

// The search for few matches (run_search). A name search in the default
// order (_lastUpdated, id) is keyed: its patient_name rows carry the
// patient's `modified` (migration 2), so its count lists the matches' keys,
// the page is cut from that list and only the page's patients are read: not
// a second walk of the matches, each one's patient row, and an SQL sort.
SearchSql patient_few_matches_search(const Principal& who, const PatientQuery& query,
                                     const ResolvedSort& sort) {
  return keyed_when_driven_by(
      patient_search(who, query, modified_range_index(query)), sort, "patient_name", "patient_id",
      {"patient_modified", {"p.modified", "p.id"}}, "FROM patient p WHERE p.id = ?");
}

// The same for a code (or tag) search of contacts: its service_code rows
// carry the contact's `modified` (migration 7), and service_code_code covers
// it, so the count lists the keys without reading a contact row.
// A patient's contacts (Observation?subject=, contact_patient drives) are
// keyed too: the count's rows are the contacts themselves, one per match,
// which it reads anyway; listing their keys replaces the page's second walk
// of every match (each look-up again) and its SQL sort.
SearchSql contact_few_matches_search(const Principal& who, const ContactQuery& query,
                                     const ResolvedSort& sort) {
  const OrderedIndex modified_order{"contact_modified", {"c.modified", "c.id"}};
  constexpr const char* kContactById = "FROM contact c WHERE c.id = ?";
  SearchSql s = keyed_when_driven_by(contact_search(who, query), sort, "service_code", "contact_id",
                                     modified_order, kContactById);
  if (s.page_keys.empty() && s.driver_table.empty() && query.patient_ids && !query.ids &&
      index_for(sort, {modified_order})) {
    s.driver_from_where = s.from_where;
    s.count_params = s.params;
    s.page_keys = {"c.modified", "c.id"};
    s.entity_by_id = kContactById;
  }
  return s;
}

// Above this many matches a search scans in sort order (when an index has
// it) instead of collecting and sorting every match: the scan reads about
// page size / selectivity rows, which does not grow with the store.
constexpr std::int64_t kSortedScanThreshold = 500;
// What a search page selects of each match: the id and rev (the parsed-doc
// cache's key), the rowid and, for a contact, its patient; then the sort
// keys. The rowid, not the doc: a page sorted after the fact (few matches)
// puts every match's columns in SQLite's sorter, and a ~1.7 KB doc there
// costs overflow pages per row. The doc is read by rowid on a cache miss.
constexpr const char* kPatientColumns = "p.id, p.rev, p.rowid";
constexpr const char* kContactColumns = "c.id, c.rev, c.rowid, c.patient_id";
// The bound explain_patient_query shows counts with (the server's default total).
constexpr std::int64_t kExplainedCountBound = 1000;

// " LIMIT <up_to + 1>" (nothing when up_to < 0: every match).
std::string bound_clause(std::int64_t up_to) {
  return up_to < 0 ? "" : " LIMIT " + std::to_string(up_to + 1);
}

// A keyed search's match (SearchSql::page_keys).
struct MatchKey {
  std::int64_t modified = 0;
  std::string id;
};

// The keyed search's matching rows, as its count would walk them. Not
// DISTINCT: an entity matched by several rows (a name prefix of its family
// and of its given name) is dropped in match_keys, where a hash set costs
// less than the temporary B-tree SQLite builds for a range that is not in
// key order (a prefix range is not); nor LIMIT: match_keys stops stepping at
// the bound of distinct matches.
std::string match_keys_query(const SearchSql& search) {
  return "SELECT " + search.page_keys[0] + ", " + search.page_keys[1] + " " +
         search.driver_from_where;
}

// The matches' number (at most `up_to` + 1 when up_to >= 0) and the keys of
// the first `keep` of them (all when keep < 0): past the sorted-scan
// threshold the page comes from a scan, and those rows are only counted.
struct MatchKeys {
  std::int64_t count = 0;
  std::vector<MatchKey> keys;
};
// Positions in a list of keys, hashed and compared by their ids, and found
// by an id itself (a heterogeneous look-up: no copy of the id to ask).
struct KeyPosition {
  const std::vector<MatchKey>* keys;
  std::string_view id(std::size_t position) const { return (*keys)[position].id; }
  std::string_view id(std::string_view id) const { return id; }
};
struct KeyPositionHash : KeyPosition {
  using is_transparent = void;
  template <typename Key>
  std::size_t operator()(const Key& key) const {
    return std::hash<std::string_view>{}(id(key));
  }
};
struct KeyPositionEqual : KeyPosition {
  using is_transparent = void;
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    return id(a) == id(b);
  }
};

Result<MatchKeys> match_keys(sqlite::Database& db, const SearchSql& search, std::int64_t up_to,
                             std::int64_t keep) {
  auto stmt = db.cached_dynamic(match_keys_query(search));
  if (!stmt.ok()) return stmt.status();
  stmt->bind_all(search.count_params);
  MatchKeys found;
  // Every distinct match is listed (cut to `keep` at the end); the set of
  // those seen holds their positions in the list and is looked up by the
  // row's text in SQLite's buffer: one copy of an id per match, none per
  // repeat (an id has one `modified`).
  auto& keys = found.keys;
  std::unordered_set<std::size_t, KeyPositionHash, KeyPositionEqual> seen(
      64, KeyPositionHash{{&keys}}, KeyPositionEqual{{&keys}});
  while (up_to < 0 || found.count <= up_to) {
    auto row = stmt->step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    const std::string_view id = stmt->text_view(1);
    if (seen.find(id) != seen.end()) continue;
    keys.push_back({stmt->int64(0), std::string(id)});
    seen.insert(keys.size() - 1);
    ++found.count;
  }
  if (keep >= 0 && static_cast<std::int64_t>(keys.size()) > keep)
    keys.resize(static_cast<std::size_t>(keep));
  return found;
}

// The statement that reads one item of a keyed search's page.
std::string by_id_query(const SearchSql& search, const ResolvedSort& sort, const char* select) {
  std::string sql = std::string("SELECT ") + select;
  for (const auto& key : sort.keys) sql += ", " + key.first;
  return sql + " " + search.entity_by_id;
}

// Counts the matches (at most `up_to` when >= 0: then "more" is up_to + 1).
Result<std::int64_t> count_matches(sqlite::Database& db, const SearchSql& search,
                                   std::int64_t up_to) {
  const std::string limit = bound_clause(up_to);
  auto count = db.cached_dynamic(
      !search.count_select.empty()
          ? "SELECT COUNT(*) FROM (" + search.count_select + limit + ")"
          : (up_to < 0 ? "SELECT COUNT(*) " + search.from_where
                       : "SELECT COUNT(*) FROM (SELECT 1 " + search.from_where + limit + ")"));
  if (!count.ok()) return count.status();
  count->bind_all(search.count_select.empty() ? search.params : search.count_params);
  auto row = count->step();
  if (!row.ok()) return row.status();
  return *row ? count->int64(0) : 0;
}

// The page of a keyed search's few matches: their keys sorted (both keys in
// one direction, SearchSql::page_keys), those after the cursor, each item
// read by its id. Replaces a second walk of the matches and the SQL sort of
// their rows.
template <typename Item, typename Unseal>
Result<Page<Item>> page_of_keys(sqlite::Database& db, const SearchSql& search,
                                const ResolvedSort& sort, const char* select,
                                const std::optional<std::vector<Value>>& after, std::size_t limit,
                                std::vector<MatchKey> keys, Page<Item> page, Unseal& unseal) {
  const bool descending = sort.keys[0].second;
  const auto in_order = [descending](const MatchKey& a, const MatchKey& b) {
    return descending ? std::tie(b.modified, b.id) < std::tie(a.modified, a.id)
                      : std::tie(a.modified, a.id) < std::tie(b.modified, b.id);
  };
  std::sort(keys.begin(), keys.end(), in_order);
  auto next = keys.begin();
  if (after) {
    const auto* modified = std::get_if<std::int64_t>(&(*after)[0]);
    const auto* id = std::get_if<std::string>(&(*after)[1]);
    if (!modified || !id)
      return Status(StatusCode::invalid, "the paging cursor is not valid for this search",
                    "page.cursor");
    next = std::upper_bound(keys.begin(), keys.end(), MatchKey{*modified, *id}, in_order);
  }
  const std::string sql = by_id_query(search, sort, select);
  for (; next != keys.end(); ++next) {
    if (page.items.size() == limit) {  // one more match: there is a next page
      const MatchKey& last = *std::prev(next);
      page.next_cursor = encode_cursor(sort, {last.modified, last.id});
      break;
    }
    auto stmt = db.cached_dynamic(sql);
    if (!stmt.ok()) return stmt.status();
    stmt->bind(1, next->id);
    auto row = stmt->step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::Internal("search: a match's row is missing: " + next->id);
    auto item = unseal(*stmt);
    if (!item.ok()) return item.status();
    page.items.push_back(std::move(*item));
  }
  return page;
}

// Runs the count and the page; `unseal(stmt)` turns a row into an item.
// `sorted_scan`: the same search as a scan in sort order (empty when no
// index has the sort's order, or the query names its ids).
template <typename Item, typename Unseal>
Result<Page<Item>> run_search(sqlite::Database& db, const SearchSql& search,
                              const SortedScan& sorted_scan, const ResolvedSort& sort,
                              const char* select, int first_key_column, const PageRequest& request,
                              Unseal&& unseal) {
  Page<Item> page;
  // A bad cursor is refused whether or not anything matches.
  std::optional<std::vector<Value>> after;
  if (request.cursor && request.limit > 0) {
    auto decoded = decode_cursor(sort, *request.cursor);
    if (!decoded.ok()) return decoded.status();
    after = std::move(*decoded);
  }
  // One bounded count serves both Page::total and the choice of plan; only
  // an accurate total (count_up_to < 0) counts every match.
  const std::int64_t bound =
      request.count_up_to < 0 ? -1 : std::max(request.count_up_to, kSortedScanThreshold);
  // A keyed search's count is the list of its matches' keys.
  std::vector<MatchKey> keys;
  Result<std::int64_t> matches = std::int64_t{0};
  if (search.page_keys.empty()) {
    matches = count_matches(db, search, bound);
  } else if (auto listed = match_keys(db, search, bound, sorted_scan ? kSortedScanThreshold : -1);
             listed.ok()) {
    keys = std::move(listed->keys);
    matches = listed->count;
  } else {
    matches = listed.status();
  }
  if (!matches.ok()) return matches.status();
  page.total = request.count_up_to < 0 || *matches <= request.count_up_to ? *matches : -1;
  // No match: no page to read (e.g. an import's "already stored?" look-ups).
  if (request.limit == 0 || *matches == 0) return page;
  const bool scan = sorted_scan && *matches > kSortedScanThreshold;
  // Every match's key, and every match listed (not cut at the bound).
  if (!search.page_keys.empty() && !scan && static_cast<std::int64_t>(keys.size()) == *matches &&
      (bound < 0 || *matches <= bound))
    return page_of_keys<Item>(db, search, sort, select, after, request.limit, std::move(keys),
                              std::move(page), unseal);
  std::optional<SearchSql> scan_sql;
  if (scan) scan_sql = sorted_scan();
  const SearchSql& chosen = scan ? *scan_sql : search;
  PageSql sql = page_query(chosen, ordered_as(chosen, sort), select, after ? &*after : nullptr,
                           request.limit);
  auto stmt = db.cached_dynamic(sql.sql);
  if (!stmt.ok()) return stmt.status();
  stmt->bind_all(sql.params);
  std::vector<Value> last_key;
  for (;;) {
    auto row = stmt->step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    if (page.items.size() == request.limit) {  // the extra row: there is a next page
      page.next_cursor = encode_cursor(sort, last_key);
      break;
    }
    auto item = unseal(*stmt);
    if (!item.ok()) return item.status();
    page.items.push_back(std::move(*item));
    last_key.clear();
    for (std::size_t k = 0; k < sort.keys.size(); ++k)
      last_key.push_back(stmt->value(first_key_column + static_cast<int>(k)));
  }
  return page;
}

// A name prefix condition whose head rows a search can read instead of every
// patient (name_head_token): a single-value prefix of at least
// kNameHeadLength characters, one that is its whole head if there is one.
struct HeadCondition {
  std::string token;  // the head row's
  // A condition of `names` (any field) whose prefix is its whole head: the
  // head row stands for it, and it is not checked again per row. -1: none.
  int implied = -1;
};
std::optional<HeadCondition> head_condition(const PatientQuery& query) {
  std::optional<HeadCondition> first;
  for (const auto& [list, any_field] :
       {std::pair{&query.names, true}, std::pair{&query.family, false},
        std::pair{&query.given, false}}) {
    for (std::size_t i = 0; i < list->size(); ++i) {
      const TextCondition& t = (*list)[i];
      if (t.match != TextMatch::prefix || t.any_of.size() != 1) continue;
      const std::string folded = fold_text(t.any_of.front());
      auto head = name_head_token(folded);
      if (!head) continue;
      if (any_field && head->size() == folded.size() + 1)
        return HeadCondition{std::move(*head), static_cast<int>(i)};
      if (!first) first = HeadCondition{std::move(*head)};
    }
  }
  return first;
}

// A search driven by one kind of the caller's own patient_name rows, whose
// condition `rows` (over alias d, one `?` for `token`) is an equality on
// every patient_name_token column before (modified, patient_id): those rows
// come out of the index in (modified, id) order, so a page is the first rows
// of one index range that pass `c` (SearchSql::order_keys: the row's copies
// of the keys), and the count walks the same range. The rows are kept per
// reader (migration 9) and are one per patient and reader, so the count
// needs neither the reader table nor a DISTINCT (its temporary B-tree); it
// joins the patient row only for a condition on it (gender, birthdate,
// active). Each patient joined is a random page once the file outgrows the
// cache, and a common name has hundreds of matches in a 1M-patient store.
// The members of `c` are correlated to the row (d.patient_id), not to the
// patient, so SQLite checks them before it reads the patient.
SearchSql driven_by_name_rows(const Principal& who, const Conditions& c, const char* rows,
                              const std::string& token) {
  SearchSql s;
  s.from_where = std::string(
                     "FROM patient_name d INDEXED BY patient_name_token "
                     "CROSS JOIN patient p ON p.id = d.patient_id "
                     "WHERE d.reader = ") +
                 kCallerReaderNumber + " AND " + rows;
  s.params = {who.hcp_id, token};
  c.render(/*correlated=*/true, "d.patient_id", -1, s.from_where, s.params);
  Conditions counted = c;
  counted.members.insert(counted.members.begin(), Member{"patient_name",
                                                         "d",
                                                         "patient_id",
                                                         rows,
                                                         {token},
                                                         /*drive_rank=*/1,
                                                         /*own_reader=*/"reader"});
  SearchSql count = patient_search(who, counted, /*by_ids=*/false, nullptr);
  s.count_select = "SELECT d.patient_id " + count.driver_from_where;
  s.count_params = std::move(count.count_params);
  s.order_keys = {"d.modified", "d.patient_id"};
  return s;
}
constexpr const char* kHeadRows = "d.token = ? AND d.field = 'head' AND d.whole = 0";
constexpr const char* kPairRows = "d.token = ? AND d.field = 'pair' AND d.whole = 1";

// The sorted scan of a name prefix search (many matches) through its head's
// rows: it reads only patients that have the head, about page size /
// (matches / head rows) rows, not page size / (matches / patients).
SearchSql patient_head_scan(const Principal& who, const PatientQuery& query,
                            const HeadCondition& head) {
  PatientQuery rest = query;
  if (head.implied >= 0) rest.names.erase(rest.names.begin() + head.implied);
  return driven_by_name_rows(who, patient_conditions(rest), kHeadRows, head.token);
}

// A name prefix that is its whole head (`name=mar`) and drives the search (no
// narrower member), in the default order: the head's rows are the matches,
// so the count and every page come from them (driven_by_name_rows), few
// matches or many: no list of keys to collect and sort.
std::optional<SearchSql> patient_head_search(const Principal& who, const PatientQuery& query,
                                             const ResolvedSort& sort) {
  if (query.ids || !index_for(sort, {{"patient_modified", {"p.modified", "p.id"}}}))
    return std::nullopt;
  auto head = head_condition(query);
  if (!head || head->implied < 0) return std::nullopt;
  const Conditions all = patient_conditions(query);
  const int driver = all.driver();
  if (driver < 0 || all.members[static_cast<std::size_t>(driver)].drive_rank < kPrefixRank)
    return std::nullopt;
  return patient_head_scan(who, query, *head);
}

SortedScan patient_sorted_scan(const Principal& who, const PatientQuery& query,
                               const ResolvedSort& sort) {
  if (query.ids) return {};  // a handful of rows by primary key
  const char* index = index_for(sort, {{"patient_modified", {"p.modified", "p.id"}},
                                       {"patient_family", {"p.family_sort", "p.id"}}});
  if (!index) return {};
  // Which scan is decided when a page takes it (most searches have few matches).
  const bool in_modified_order = std::string_view(index) == "patient_modified";
  return [&who, &query, index, in_modified_order] {
    if (in_modified_order)
      if (auto head = head_condition(query)) return patient_head_scan(who, query, *head);
    return patient_search(who, query, index);
  };
}

// family:exact=F & given:exact=G in the default order: the (F, G) pair rows of
// patient_name (schema migration 2) drive the search (driven_by_name_rows).
std::optional<SearchSql> patient_pair_search(const Principal& who, const PatientQuery& query,
                                             const ResolvedSort& sort) {
  if (query.ids || !index_for(sort, {{"patient_modified", {"p.modified", "p.id"}}}))
    return std::nullopt;
  auto single_exact = [](const std::vector<TextCondition>& conditions) {
    for (auto c = conditions.begin(); c != conditions.end(); ++c)
      if (c->match == TextMatch::exact && c->any_of.size() == 1) return c;
    return conditions.end();
  };
  const auto family = single_exact(query.family);
  const auto given = single_exact(query.given);
  if (family == query.family.end() || given == query.given.end()) return std::nullopt;
  const std::string folded_family = fold_text(family->any_of.front());
  const std::string folded_given = fold_text(given->any_of.front());
  // The pair row stands for both conditions (a patient has it iff it has
  // that whole family part and that whole given part), so they are not
  // checked again per row; unless a part holds the separator itself.
  PatientQuery rest = query;
  if (folded_family.find(kNamePairSeparator) == std::string::npos &&
      folded_given.find(kNamePairSeparator) == std::string::npos) {
    rest.family.erase(rest.family.begin() + (family - query.family.begin()));
    rest.given.erase(rest.given.begin() + (given - query.given.begin()));
  }
  return driven_by_name_rows(who, patient_conditions(rest), kPairRows,
                             name_pair_token(folded_family, folded_given));
}

SortedScan contact_sorted_scan(const Principal& who, const ContactQuery& query,
                               const ResolvedSort& sort) {
  if (query.ids || query.patient_ids) return {};  // few rows, by index
  const char* index = index_for(sort, {{"contact_modified", {"c.modified", "c.id"}}});
  if (!index) return {};
  return [&who, &query, index] { return contact_search(who, query, index); };
}

}  // namespace

std::string token_or(const AnyOf& tokens, const char* system_col, const char* value_col,
                     std::vector<sqlite::Value>& params) {
  if (tokens.empty()) return "0";
  std::string sql;
  for (const auto& t : tokens) {
    std::string one;
    if (t.value) {
      one = std::string(value_col) + " = ?";
      params.emplace_back(*t.value);
    }
    if (t.system) {
      one += std::string(one.empty() ? "" : " AND ") + system_col + " = ?";
      params.emplace_back(*t.system);
    }
    if (one.empty()) one = "1";
    sql += (sql.empty() ? "(" : " OR (") + one + ")";
  }
  return sql;
}

Result<Page<icure::Patient>> SqliteStore::find_patients(const Principal& who,
                                                        const PatientQuery& query) {
  auto shared = find_patients_shared(who, query);
  if (!shared.ok()) return shared.status();
  Page<icure::Patient> page;
  page.items.reserve(shared->items.size());
  for (const auto& patient : shared->items) page.items.push_back(*patient);
  page.next_cursor = std::move(shared->next_cursor);
  page.total = shared->total;
  return page;
}

Result<Page<std::shared_ptr<const icure::Patient>>> SqliteStore::find_patients_shared(
    const Principal& who, const PatientQuery& query) {
  using Item = std::shared_ptr<const icure::Patient>;
  return impl_->read([&]() -> Result<Page<Item>> {
    auto sort = resolve_sort(query.page.sort, kPatientSort, "p.id");
    if (!sort.ok()) return sort.status();
    // The parsed document comes from the cache reads by id fill (keyed by id
    // and rev) when it is there: parsing was a fifth of a name search. The
    // unsealed patient is the sealer's remembered one (copying it was a tenth).
    auto unseal = [&](const Statement& row) -> Result<Item> {
      const std::string id = row.text(0), rev = row.text(1);
      auto sealed = impl_->parsed_patients.find(id, rev);
      if (!sealed) {
        auto doc = impl_->doc_at("patient", row.int64(2));
        if (!doc.ok()) return doc.status();
        auto parsed = json_io::parse<icure::Patient>(*doc, "Patient");
        if (!parsed.ok()) return Status::Internal("stored patient: " + parsed.status().to_string());
        sealed = std::make_shared<const icure::Patient>(std::move(*parsed));
        impl_->parsed_patients.put(id, rev, sealed);
      }
      return impl_->sealer.unseal_patient_shared(*impl_, who.hcp_id, *sealed);
    };
    auto found = [&] {
      if (auto pair = patient_pair_search(who, query, *sort))
        return run_search<Item>(impl_->db(), *pair, SortedScan(), *sort, kPatientColumns, 3,
                                query.page, unseal);
      if (auto head = patient_head_search(who, query, *sort))
        return run_search<Item>(impl_->db(), *head, SortedScan(), *sort, kPatientColumns, 3,
                                query.page, unseal);
      return run_search<Item>(impl_->db(), patient_few_matches_search(who, query, *sort),
                              patient_sorted_scan(who, query, *sort), *sort, kPatientColumns, 3,
                              query.page, unseal);
    }();
    // An import (here or in another process) deferred the indexes those plans
    // name (SqliteStore::defer_search_indexes): the same search, planned by
    // SQLite. Same answer and cursors (the pair plan's keys are the same values).
    if (!found.ok() && found.status().message().find("no such index") != std::string::npos)
      return run_search<Item>(impl_->db(), patient_search(who, query), SortedScan(), *sort,
                              kPatientColumns, 3, query.page, unseal);
    return found;
  });
}

Result<Page<ContactRecord>> SqliteStore::find_contacts(const Principal& who,
                                                       const ContactQuery& query) {
  auto shared = find_contacts_shared(who, query);
  if (!shared.ok()) return shared.status();
  Page<ContactRecord> page;
  page.items.reserve(shared->items.size());
  for (auto& record : shared->items)
    page.items.push_back({*record.contact, std::move(record.patient_id)});
  page.next_cursor = std::move(shared->next_cursor);
  page.total = shared->total;
  return page;
}

Result<Page<SharedContactRecord>> SqliteStore::find_contacts_shared(const Principal& who,
                                                                    const ContactQuery& query) {
  using Item = SharedContactRecord;
  return impl_->read([&]() -> Result<Page<Item>> {
    auto sort = resolve_sort(query.page.sort, kContactSort, "c.id");
    if (!sort.ok()) return sort.status();
    return run_search<Item>(
        impl_->db(), contact_few_matches_search(who, query, *sort),
        contact_sorted_scan(who, query, *sort), *sort, kContactColumns, 4, query.page,
        [&](const Statement& row) -> Result<Item> {
          // As for patients: the cached parsed document when it is there, the
          // doc read by rowid when not; the sealer's remembered unsealed
          // contact, not a copy of it (copying was a tenth of a code search).
          const std::string id = row.text(0), rev = row.text(1);
          auto sealed = impl_->parsed_contacts.find(id, rev);
          if (!sealed) {
            auto doc = impl_->doc_at("contact", row.int64(2));
            if (!doc.ok()) return doc.status();
            auto parsed = json_io::parse<icure::Contact>(*doc, "Contact");
            if (!parsed.ok())
              return Status::Internal("stored contact: " + parsed.status().to_string());
            sealed = std::make_shared<const icure::Contact>(std::move(*parsed));
            impl_->parsed_contacts.put(id, rev, sealed);
          }
          auto contact = impl_->sealer.unseal_contact_shared(*impl_, who.hcp_id, *sealed);
          if (!contact.ok()) return contact.status();
          return Item{std::move(*contact), row.text(3)};
        });
  });
}

namespace {

// value -> entity id for the values of `system` in `values` whose entity
// `who` reads, from an identifier table (`sql_head`: ?1 reader, ?2 system,
// then the values), a chunk of values per statement. The plan is forced
// (value index first, CROSS JOIN): with the reader as a parameter SQLite
// otherwise drives from the reader's every entity.
Result<std::unordered_map<std::string, std::string>> ids_by_value(
    sqlite::Database& db, const std::string& sql_head, const Principal& who,
    const std::string& system, const std::vector<std::string>& values) {
  constexpr std::size_t kValuesPerStatement = 500;  // far below SQLite's variable limit
  std::unordered_map<std::string, std::string> found;
  for (std::size_t i = 0; i < values.size(); i += kValuesPerStatement) {
    const std::size_t end = std::min(values.size(), i + kValuesPerStatement);
    std::string sql = sql_head + " IN (";
    for (std::size_t k = i; k < end; ++k) sql += k == i ? "?" : ", ?";
    auto stmt = db.cached_dynamic(sql + ")");
    if (!stmt.ok()) return stmt.status();
    stmt->bind(1, who.hcp_id).bind(2, system);
    for (std::size_t k = i; k < end; ++k) stmt->bind(static_cast<int>(k - i + 3), values[k]);
    for (;;) {
      auto row = stmt->step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      found.emplace(stmt->text(0), stmt->text(1));
    }
  }
  return found;
}

}  // namespace

Result<std::unordered_map<std::string, std::string>> SqliteStore::patient_ids_by_identifier(
    const Principal& who, const std::string& system, const std::vector<std::string>& values) {
  return impl_->read([&] {
    return ids_by_value(impl_->db(),
                        "SELECT i.value, i.patient_id FROM patient_identifier i INDEXED BY "
                        "patient_identifier_value CROSS JOIN patient_reader r "
                        "ON r.patient_id = i.patient_id AND r.hcp_id = ?1 "
                        "WHERE i.system = ?2 AND i.value",
                        who, system, values);
  });
}

Result<std::unordered_map<std::string, std::string>> SqliteStore::contact_ids_by_service_identifier(
    const Principal& who, const std::string& system, const std::vector<std::string>& values) {
  return impl_->read([&] {
    return ids_by_value(impl_->db(),
                        "SELECT s.value, s.contact_id FROM service_identifier s INDEXED BY "
                        "service_identifier_value CROSS JOIN contact_reader r "
                        "ON r.contact_id = s.contact_id AND r.hcp_id = ?1 "
                        "WHERE s.system = ?2 AND s.value",
                        who, system, values);
  });
}

namespace {

// EXPLAIN QUERY PLAN lines of a search's queries, each shape under a
// "-- <which>:" heading line (the count, then the page shapes).
class PlanExplainer {
 public:
  // `select`: the columns the search's page reads (they decide whether an
  // index covers it).
  PlanExplainer(sqlite::Database& db, const char* select, std::size_t limit)
      : db_(db), select_(select), limit_(limit) {}

  // The bounded count and the page of `search` under `what` (a keyed
  // search's: the list of its matches' keys, and the read of one item).
  Status shape(const std::string& what, const SearchSql& search, const ResolvedSort& order) {
    if (!search.page_keys.empty()) {
      FHIRBRIDGE_RETURN_IF_ERROR(explain(what + " count (the matches' keys)",
                                         match_keys_query(search), search.count_params));
      return explain(what + " page (each item by id)", by_id_query(search, order, select_),
                     {std::string()});
    }
    const std::string bound = bound_clause(kExplainedCountBound);
    if (search.count_select.empty())
      FHIRBRIDGE_RETURN_IF_ERROR(explain(
          what + " count", "SELECT COUNT(*) FROM (SELECT 1 " + search.from_where + bound + ")",
          search.params));
    else
      FHIRBRIDGE_RETURN_IF_ERROR(
          explain(what + " count", "SELECT COUNT(*) FROM (" + search.count_select + bound + ")",
                  search.count_params));
    return page(what + " page", search, order);
  }
  Status page(const std::string& what, const SearchSql& search, const ResolvedSort& order) {
    PageSql page = page_query(search, ordered_as(search, order), select_, nullptr, limit_);
    return explain(what, page.sql, page.params);
  }
  std::vector<std::string> take() { return std::move(lines_); }

 private:
  Status explain(const std::string& what, const std::string& sql,
                 const std::vector<Value>& params) {
    auto stmt = db_.prepare("EXPLAIN QUERY PLAN " + sql);
    if (!stmt.ok()) return stmt.status();
    stmt->bind_all(params);
    lines_.push_back("-- " + what + ":");
    for (;;) {
      auto row = stmt->step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      lines_.push_back(stmt->text(3));
    }
    return {};
  }

  sqlite::Database& db_;
  const char* select_;
  std::size_t limit_;
  std::vector<std::string> lines_;
};

}  // namespace

Result<std::vector<std::string>> SqliteStore::explain_patient_query(const Principal& who,
                                                                    const PatientQuery& query) {
  return impl_->read([&]() -> Result<std::vector<std::string>> {
    auto sort = resolve_sort(query.page.sort, kPatientSort, "p.id");
    if (!sort.ok()) return sort.status();
    PlanExplainer plans(impl_->db(), kPatientColumns, query.page.limit);
    if (auto pair = patient_pair_search(who, query, *sort)) {
      FHIRBRIDGE_RETURN_IF_ERROR(plans.shape("family+given pair", *pair, *sort));
      return plans.take();
    }
    if (auto head = patient_head_search(who, query, *sort)) {
      FHIRBRIDGE_RETURN_IF_ERROR(plans.shape("name prefix head", *head, *sort));
      return plans.take();
    }
    FHIRBRIDGE_RETURN_IF_ERROR(
        plans.shape("few matches", patient_few_matches_search(who, query, *sort), *sort));
    if (auto scan = patient_sorted_scan(who, query, *sort))
      FHIRBRIDGE_RETURN_IF_ERROR(plans.page("many matches: sorted scan page", scan(), *sort));
    return plans.take();
  });
}

Result<std::vector<std::string>> SqliteStore::explain_contact_query(const Principal& who,
                                                                    const ContactQuery& query) {
  return impl_->read([&]() -> Result<std::vector<std::string>> {
    auto sort = resolve_sort(query.page.sort, kContactSort, "c.id");
    if (!sort.ok()) return sort.status();
    PlanExplainer plans(impl_->db(), kContactColumns, query.page.limit);
    FHIRBRIDGE_RETURN_IF_ERROR(
        plans.shape("few matches", contact_few_matches_search(who, query, *sort), *sort));
    if (auto scan = contact_sorted_scan(who, query, *sort))
      FHIRBRIDGE_RETURN_IF_ERROR(plans.page("many matches: sorted scan page", scan(), *sort));
    return plans.take();
  });
}

}  // namespace fhirbridge::storage
