// Errors as values at every module edge: a Status carries a FHIR-friendly code,
// a message and the FHIR/iCure field path it is about.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace fhirbridge {

// Mirrors the FHIR OperationOutcome issue-type codes we emit, plus the HTTP
// status the server maps each to. Keep storage/crypto/engine errors in here so
// the server has exactly one table to translate.
enum class StatusCode {
  ok,
  invalid,               // bad input value / structure (400 / 422)
  structure,             // malformed JSON or wrong JSON type (400)
  not_found,             // entity does not exist or is not visible to the caller (404)
  conflict,              // duplicate id / identifier (409)
  version_conflict,      // stale rev / If-Match mismatch (409 or 412)
  deleted,               // entity existed and was deleted (410)
  forbidden,             // authenticated but not allowed (403)
  unauthorized,          // missing/wrong credentials (401)
  key_missing,           // decryption needs a private key not in the keychain (4xx)
  key_mismatch,          // private key does not match the public key on record
  not_supported,         // valid FHIR we do not implement (400/501)
  too_large,             // body/entity over a limit (413)
  internal,              // bug or I/O failure (500)
  unavailable,           // remote backend down / timeout (503)
  insufficient_storage,  // the store's disk (or file size limit) is full (507)
  throttled,             // too many attempts, e.g. wrong passwords (429 + Retry-After)
  multiple_matches,      // a conditional create/update's criteria match several resources (412)
};

const char* to_string(StatusCode code) noexcept;

class Status {
 public:
  Status() = default;  // ok
  Status(StatusCode code, std::string message, std::string path = {})
      : code_(code), message_(std::move(message)), path_(std::move(path)) {}

  static Status Ok() { return {}; }
  static Status Invalid(std::string path, std::string message) {
    return {StatusCode::invalid, std::move(message), std::move(path)};
  }
  static Status NotFound(std::string message, std::string path = {}) {
    return {StatusCode::not_found, std::move(message), std::move(path)};
  }
  static Status Conflict(std::string message, std::string path = {}) {
    return {StatusCode::conflict, std::move(message), std::move(path)};
  }
  static Status Internal(std::string message) { return {StatusCode::internal, std::move(message)}; }

  bool ok() const noexcept { return code_ == StatusCode::ok; }
  explicit operator bool() const noexcept { return ok(); }
  StatusCode code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }
  // The FHIR path of the offending field, e.g. "Patient.birthDate".
  const std::string& path() const noexcept { return path_; }
  // "Patient.birthDate: '1974-13' is not a date" (or just the message without a path).
  std::string to_string() const;
  // Lets FHIRBRIDGE_RETURN_IF_ERROR take a Status or a Result alike.
  const Status& status() const noexcept { return *this; }

 private:
  StatusCode code_ = StatusCode::ok;
  std::string message_;
  std::string path_;
};

// A value or a non-ok Status (a small std::expected stand-in; GCC 12 has no <expected>).
template <typename T>
class Result {
 public:
  // (By reference rather than by value: a by-value parameter cost a second
  // move of the value, measurable for the entities the mappings return.)
  Result(T&& value) : data_(std::in_place_index<0>, std::move(value)) {}  // NOLINT
  Result(const T& value) : data_(std::in_place_index<0>, value) {}        // NOLINT
  Result(Status status) : data_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!std::get<Status>(data_).ok());
  }

  bool ok() const noexcept { return std::holds_alternative<T>(data_); }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & { return std::get<T>(data_); }
  const T& value() const& { return std::get<T>(data_); }
  T&& value() && { return std::get<T>(std::move(data_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // The error; Status::Ok() when a value is held.
  Status status() const { return ok() ? Status{} : std::get<Status>(data_); }

 private:
  std::variant<T, Status> data_;
};

}  // namespace fhirbridge

// Propagate a non-ok Status / Result from the current function.
#define FHIRBRIDGE_RETURN_IF_ERROR(expr)                                \
  do {                                                                  \
    auto fhirbridge_status__ = (expr);                                  \
    if (!fhirbridge_status__.ok()) return fhirbridge_status__.status(); \
  } while (0)
