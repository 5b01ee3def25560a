// A tiny in-memory Store for the search tests: implements find_patients /
// find_contacts with the contract's semantics (ASCII case-insensitive text,
// offset cursors) so search execution is testable without SQLite. Everything
// else is a minimal create/get.
#pragma once

#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

#include "fhirbridge/storage/store.hpp"

namespace fhirbridge::test {

class FakeSearchStore final : public storage::Store {
 public:
  int find_calls = 0;

  Result<icure::HealthcareParty> get_healthcare_party(const std::string&) override {
    return nope();
  }
  Result<icure::HealthcareParty> put_healthcare_party(icure::HealthcareParty) override {
    return nope();
  }
  Result<icure::User> get_user_by_login(const std::string&) override { return nope(); }
  Result<icure::User> put_user(icure::User) override { return nope(); }

  Result<icure::Patient> create_patient(const storage::Principal&, icure::Patient p) override {
    if (!p.id || p.id->empty()) p.id = "P" + std::to_string(patients_.size() + 1);
    p.modified = static_cast<std::int64_t>(patients_.size());
    p.rev = "1-x";
    patients_.push_back(p);
    return p;
  }
  Result<icure::Patient> get_patient(const storage::Principal&, const std::string& id) override {
    for (const auto& p : patients_)
      if (p.id == id) return p;
    return Status::NotFound("no patient");
  }
  Result<icure::Patient> update_patient(const storage::Principal&, icure::Patient) override {
    return nope();
  }
  Result<storage::Deleted> delete_patient(const storage::Principal&, const std::string&,
                                          const std::optional<std::string>&) override {
    return nope();
  }
  Status share_patient(const storage::Principal&, const std::string&, const std::string&) override {
    return nope();
  }
  Result<storage::ContactRecord> create_contact(const storage::Principal&, icure::Contact c,
                                                const std::string& patient_id) override {
    if (!c.id || c.id->empty()) c.id = "C" + std::to_string(contacts_.size() + 1);
    c.modified = static_cast<std::int64_t>(contacts_.size());
    c.rev = "1-x";
    contacts_.push_back(storage::ContactRecord{c, patient_id});
    return contacts_.back();
  }
  Result<storage::ContactRecord> get_contact(const storage::Principal&,
                                             const std::string&) override {
    return nope();
  }
  Result<storage::ContactRecord> update_contact(const storage::Principal&,
                                                icure::Contact) override {
    return nope();
  }
  Result<storage::Deleted> delete_contact(const storage::Principal&, const std::string&,
                                          const std::optional<std::string>&) override {
    return nope();
  }
  Result<std::vector<storage::WriteResult>> apply(const storage::Principal&,
                                                  const storage::WriteBatch&) override {
    return nope();
  }

  Result<storage::Page<icure::Patient>> find_patients(const storage::Principal&,
                                                      const storage::PatientQuery& q) override {
    ++find_calls;
    std::vector<icure::Patient> hits;
    for (const auto& p : patients_)
      if (matches(p, q)) hits.push_back(p);
    sort(hits, q.page.sort, [](const icure::Patient& p, const std::string& f) -> std::string {
      if (f == "family") return lower(p.lastName.value_or(""));
      if (f == "given") return lower(p.firstName.value_or(""));
      if (f == "birthdate") return pad(p.dateOfBirth.value_or(0));
      if (f == "gender") return p.gender.value_or("");
      if (f == "_id") return p.id.value_or("");
      return pad(p.modified.value_or(0));
    });
    return page(std::move(hits), q.page);
  }

  Result<storage::Page<storage::ContactRecord>> find_contacts(
      const storage::Principal&, const storage::ContactQuery& q) override {
    ++find_calls;
    std::vector<storage::ContactRecord> hits;
    for (const auto& r : contacts_)
      if (matches(r, q)) hits.push_back(r);
    sort(hits, q.page.sort,
         [](const storage::ContactRecord& r, const std::string& f) -> std::string {
           const icure::Service& s = r.contact.services->front();
           if (f == "date") return pad(s.valueDate.value_or(s.openingDate.value_or(0)));
           if (f == "code")
             return s.codes && !s.codes->empty() ? s.codes->front().code.value_or("") : "";
           if (f == "_id") return r.contact.id.value_or("");
           return pad(r.contact.modified.value_or(0));
         });
    return page(std::move(hits), q.page);
  }

 private:
  std::vector<icure::Patient> patients_;
  std::vector<storage::ContactRecord> contacts_;

  static Status nope() { return Status{StatusCode::not_supported, "fake"}; }
  static std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  }
  static std::string pad(std::int64_t v) {
    std::string s = std::to_string(v);
    return std::string(20 - s.size(), '0') + s;
  }

  template <typename T, typename KeyFn>
  static void sort(std::vector<T>& items, const std::vector<storage::SortKey>& keys, KeyFn key) {
    std::vector<storage::SortKey> all = keys;
    all.push_back({"_lastUpdated", false});
    std::stable_sort(items.begin(), items.end(), [&](const T& a, const T& b) {
      for (const auto& k : all) {
        auto ka = key(a, k.field), kb = key(b, k.field);
        if (ka != kb) return k.descending ? kb < ka : ka < kb;
      }
      return false;
    });
  }

  template <typename T>
  static Result<storage::Page<T>> page(std::vector<T> hits, const storage::PageRequest& req) {
    storage::Page<T> out;
    out.total = static_cast<std::int64_t>(hits.size());
    std::size_t offset = 0;
    if (req.cursor) {
      if (req.cursor->rfind("off", 0) != 0) return Status::Invalid("cursor", "bad cursor");
      offset = std::stoul(req.cursor->substr(3));
    }
    for (std::size_t i = offset; i < hits.size() && i < offset + req.limit; ++i)
      out.items.push_back(hits[i]);
    if (req.limit > 0 && offset + req.limit < hits.size())
      out.next_cursor = "off" + std::to_string(offset + req.limit);
    return out;
  }

  static bool token_hit(const storage::AnyOf& any, const std::optional<std::string>& system,
                        const std::optional<std::string>& value) {
    return std::any_of(any.begin(), any.end(), [&](const storage::TokenFilter& t) {
      return (!t.system || *t.system == system.value_or("")) && (!t.value || t.value == value);
    });
  }
  static bool any_identifier(const storage::AnyOf& any,
                             const std::optional<std::vector<icure::Identifier>>& ids) {
    if (!ids) return false;
    return std::any_of(ids->begin(), ids->end(), [&](const icure::Identifier& i) {
      return token_hit(any, i.system, i.value);
    });
  }
  static bool any_code(const storage::AnyOf& any, const icure::CodeStubs& codes) {
    if (!codes) return false;
    return std::any_of(codes->begin(), codes->end(),
                       [&](const icure::CodeStub& c) { return token_hit(any, c.type, c.code); });
  }
  static bool text_hit(const storage::TextCondition& c, const std::vector<std::string>& parts) {
    for (const auto& wanted : c.any_of) {
      std::string w = lower(wanted);
      for (const auto& part : parts) {
        std::string p = lower(part);
        if ((c.match == storage::TextMatch::exact && p == w) ||
            (c.match == storage::TextMatch::prefix && p.rfind(w, 0) == 0) ||
            (c.match == storage::TextMatch::contains && p.find(w) != std::string::npos))
          return true;
      }
    }
    return false;
  }
  static bool business_identifier(const std::optional<std::vector<icure::Identifier>>& ids) {
    return ids && std::any_of(ids->begin(), ids->end(), [](const icure::Identifier& i) {
             return i.value && i.system.value_or("") != "https://dxm.icure.dev";
           });
  }

  static bool date_hit(const storage::DateCondition& c, std::optional<std::int64_t> v) {
    return v && c.matches(*v);
  }

  static bool matches(const icure::Patient& p, const storage::PatientQuery& q) {
    if (q.ids && std::find(q.ids->begin(), q.ids->end(), p.id.value_or("")) == q.ids->end())
      return false;
    for (const auto& any : q.identifiers)
      if (!any_identifier(any, p.identifier)) return false;
    std::vector<std::string> family, given, all;
    if (p.lastName) family.push_back(*p.lastName);
    if (p.firstName) given.push_back(*p.firstName);
    if (p.names)
      for (const auto& n : *p.names) {
        if (n.lastName) family.push_back(*n.lastName);
        if (n.firstNames) given.insert(given.end(), n.firstNames->begin(), n.firstNames->end());
        if (n.text) all.push_back(*n.text);
      }
    all.insert(all.end(), family.begin(), family.end());
    all.insert(all.end(), given.begin(), given.end());
    for (const auto& c : q.names)
      if (!text_hit(c, all)) return false;
    for (const auto& c : q.family)
      if (!text_hit(c, family)) return false;
    for (const auto& c : q.given)
      if (!text_hit(c, given)) return false;
    for (const auto& g : q.genders)
      if (std::find(g.begin(), g.end(), p.gender.value_or("")) == g.end()) return false;
    for (const auto& d : q.birth_dates)
      if (!date_hit(d, p.dateOfBirth)) return false;
    if (q.active && p.active != q.active) return false;
    for (const auto& d : q.last_updated)
      if (!date_hit(d, p.modified)) return false;
    for (const auto& [element, missing] : q.presence) {
      using storage::PatientElement;
      bool present = false;
      switch (element) {
        case PatientElement::gender: present = p.gender.has_value(); break;
        case PatientElement::birth_date: present = p.dateOfBirth.has_value(); break;
        case PatientElement::identifier: present = business_identifier(p.identifier); break;
        case PatientElement::name: present = !all.empty(); break;
        case PatientElement::family: present = !family.empty(); break;
        case PatientElement::given: present = !given.empty(); break;
      }
      if (present == missing) return false;
    }
    return true;
  }

  static bool matches(const storage::ContactRecord& r, const storage::ContactQuery& q) {
    if (q.ids && std::find(q.ids->begin(), q.ids->end(), r.contact.id.value_or("")) == q.ids->end())
      return false;
    if (q.patient_ids && std::find(q.patient_ids->begin(), q.patient_ids->end(), r.patient_id) ==
                             q.patient_ids->end())
      return false;
    if (!r.contact.services || r.contact.services->empty()) return false;
    const icure::Service& s = r.contact.services->front();
    for (const auto& any : q.identifiers)
      if (!any_identifier(any, s.identifier)) return false;
    for (const auto& any : q.codes)
      if (!any_code(any, s.codes)) return false;
    for (const auto& any : q.tags)
      if (!any_code(any, s.tags)) return false;
    for (const auto& d : q.dates)
      if (!date_hit(d, s.valueDate ? s.valueDate : s.openingDate)) return false;
    for (const auto& d : q.last_updated)
      if (!date_hit(d, r.contact.modified)) return false;
    for (const auto& [element, missing] : q.presence) {
      using storage::ContactElement;
      bool present = false;
      switch (element) {
        case ContactElement::date: present = s.valueDate || s.openingDate; break;
        case ContactElement::code: present = s.codes && !s.codes->empty(); break;
        case ContactElement::identifier: present = business_identifier(s.identifier); break;
      }
      if (present == missing) return false;
    }
    return true;
  }
};

}  // namespace fhirbridge::test
