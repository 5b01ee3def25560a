// A Store decorator that forwards everything to another Store and fails the
// Nth write (create/update/delete/share/apply), to test crash safety: either
// before the write reaches the inner store, or after it (a lost response).
#pragma once

#include <atomic>
#include <functional>

#include "fhirbridge/storage/store.hpp"

namespace fhirbridge::test {

class FaultyStore final : public storage::Store {
 public:
  enum class When { before_write, after_write };

  explicit FaultyStore(storage::Store& inner) : inner_(inner) {}

  // Fails write number `n` (1-based, counted from now); 0 disables.
  void fail_write(int n, When when = When::before_write,
                  StatusCode code = StatusCode::unavailable) {
    fail_at_ = n;
    when_ = when;
    code_ = code;
    writes_ = 0;
  }
  int writes() const { return writes_; }
  // Called before every write reaches the inner store (e.g. to hold one back).
  std::function<void()> before_each_write;
  std::atomic<int> authentications{0};  // password checks that reached the inner store
  std::atomic<int> searches{0};         // find_patients / find_contacts that reached it

  Result<icure::HealthcareParty> get_healthcare_party(const std::string& id) override {
    return inner_.get_healthcare_party(id);
  }
  Result<icure::HealthcareParty> put_healthcare_party(icure::HealthcareParty hcp) override {
    return inner_.put_healthcare_party(std::move(hcp));
  }
  Result<icure::User> get_user_by_login(const std::string& login) override {
    return inner_.get_user_by_login(login);
  }
  Result<icure::User> put_user(icure::User user) override {
    return inner_.put_user(std::move(user));
  }
  Result<storage::Principal> authenticate(const std::string& login,
                                          const std::string& password) override {
    ++authentications;
    return inner_.authenticate(login, password);
  }

  Result<icure::Patient> create_patient(const storage::Principal& who,
                                        icure::Patient patient) override {
    return write([&] { return inner_.create_patient(who, std::move(patient)); });
  }
  Result<icure::Patient> get_patient(const storage::Principal& who,
                                     const std::string& id) override {
    return inner_.get_patient(who, id);
  }
  Result<icure::Patient> update_patient(const storage::Principal& who,
                                        icure::Patient patient) override {
    return write([&] { return inner_.update_patient(who, std::move(patient)); });
  }
  Result<storage::Deleted> delete_patient(const storage::Principal& who, const std::string& id,
                                          const std::optional<std::string>& rev) override {
    return write([&] { return inner_.delete_patient(who, id, rev); });
  }
  Result<storage::Page<icure::Patient>> find_patients(const storage::Principal& who,
                                                      const storage::PatientQuery& query) override {
    ++searches;
    return inner_.find_patients(who, query);
  }
  Status share_patient(const storage::Principal& who, const std::string& patient_id,
                       const std::string& delegate_hcp_id) override {
    auto result = write([&]() -> Result<bool> {
      auto s = inner_.share_patient(who, patient_id, delegate_hcp_id);
      if (!s.ok()) return s;
      return true;
    });
    return result.status();
  }

  Result<storage::ContactRecord> create_contact(const storage::Principal& who,
                                                icure::Contact contact,
                                                const std::string& patient_id) override {
    return write([&] { return inner_.create_contact(who, std::move(contact), patient_id); });
  }
  Result<storage::ContactRecord> get_contact(const storage::Principal& who,
                                             const std::string& id) override {
    return inner_.get_contact(who, id);
  }
  bool keeps_old_versions() const override { return inner_.keeps_old_versions(); }
  Result<std::vector<icure::Patient>> list_old_patient_versions(
      const storage::Principal& who, std::int64_t since_ms,
      const std::optional<storage::VersionPosition>& after, std::size_t limit) override {
    return inner_.list_old_patient_versions(who, since_ms, after, limit);
  }
  Result<std::vector<storage::ContactRecord>> list_old_contact_versions(
      const storage::Principal& who, std::int64_t since_ms,
      const std::optional<storage::VersionPosition>& after, std::size_t limit) override {
    return inner_.list_old_contact_versions(who, since_ms, after, limit);
  }
  Result<std::vector<icure::Patient>> patient_versions(
      const storage::Principal& who, const std::string& id,
      std::optional<std::int64_t> generation) override {
    return inner_.patient_versions(who, id, generation);
  }
  Result<std::vector<storage::ContactRecord>> contact_versions(
      const storage::Principal& who, const std::string& id,
      std::optional<std::int64_t> generation) override {
    return inner_.contact_versions(who, id, generation);
  }
  Result<storage::Deletion> get_deletion(const storage::Principal& who, storage::EntityKind kind,
                                         const std::string& id) override {
    return inner_.get_deletion(who, kind, id);
  }
  Result<std::vector<storage::Deletion>> list_deletions(
      const storage::Principal& who, storage::EntityKind kind, std::int64_t since_ms,
      const std::optional<storage::Deletion>& after, std::size_t limit) override {
    return inner_.list_deletions(who, kind, since_ms, after, limit);
  }
  Result<storage::ContactRecord> update_contact(const storage::Principal& who,
                                                icure::Contact contact) override {
    return write([&] { return inner_.update_contact(who, std::move(contact)); });
  }
  Result<storage::Deleted> delete_contact(const storage::Principal& who, const std::string& id,
                                          const std::optional<std::string>& rev) override {
    return write([&] { return inner_.delete_contact(who, id, rev); });
  }
  Result<storage::Page<storage::ContactRecord>> find_contacts(
      const storage::Principal& who, const storage::ContactQuery& query) override {
    ++searches;
    return inner_.find_contacts(who, query);
  }
  // The inner store's change epoch only when asked for (a server's search
  // cache is then on); otherwise Store's default: answers are never reused.
  bool forward_change_epoch = false;
  Result<std::optional<std::uint64_t>> change_epoch() override {
    if (!forward_change_epoch) return std::optional<std::uint64_t>{};
    return inner_.change_epoch();
  }

  Result<std::vector<storage::WriteResult>> apply(const storage::Principal& who,
                                                  const storage::WriteBatch& batch) override {
    return write([&] { return inner_.apply(who, batch); });
  }

 private:
  template <typename Fn>
  auto write(Fn&& fn) -> decltype(fn()) {
    if (before_each_write) before_each_write();
    ++writes_;
    const bool fail = fail_at_ > 0 && writes_ == fail_at_;
    if (fail && when_ == When::before_write)
      return Status(code_, "injected fault before write " + std::to_string(writes_));
    auto result = fn();
    if (fail) return Status(code_, "injected fault after write " + std::to_string(writes_));
    return result;
  }

  storage::Store& inner_;
  int fail_at_ = 0;
  int writes_ = 0;
  When when_ = When::before_write;
  StatusCode code_ = StatusCode::unavailable;
};

}  // namespace fhirbridge::test
