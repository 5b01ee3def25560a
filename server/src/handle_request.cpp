// The HTTP layer of the API: target parsing, auth, content negotiation, body
// parsing, and turning every answer or Status into an HTTP response.
#include "fhirbridge/server/handle_request.hpp"

#include <boost/beast/version.hpp>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <iostream>
#include <string>
#include <string_view>

#include "fhir_api.hpp"
#include "fhirbridge/crypto/primitives.hpp"
#include "fhirbridge/json_io.hpp"
#include "fhirbridge/server/operation_outcome.hpp"
#include "fhirbridge/server/search.hpp"
#include "http_auth.hpp"
#include "icure_rest/icure_rest.hpp"

namespace fhirbridge::server {

namespace json = boost::json;

namespace {

constexpr std::string_view kFhirJson = "application/fhir+json; charset=utf-8";
constexpr std::string_view kJson = "application/json; charset=utf-8";

// ASCII only (header tokens): no locale look-up per character.
constexpr char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), ascii_lower);
  return out;
}

// Whether `haystack` contains `needle` (lower case) ignoring ASCII case: header
// values are looked into on every request, without building a lower-case copy.
bool icontains(std::string_view haystack, std::string_view needle) {
  return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(),
                     [](char h, char n) { return ascii_lower(h) == n; }) != haystack.end() ||
         needle.empty();
}

// What the response body is labelled: application/json only for clients that
// ask for it and not for FHIR JSON.
std::string_view response_content_type(const Request& req) {
  const std::string_view accept = req[http::field::accept];
  if (icontains(accept, "application/json") && !icontains(accept, "fhir+json")) return kJson;
  return kFhirJson;
}

Response make_response(const Request& req, unsigned status, const json::value& body,
                       std::string_view content_type) {
  Response res{static_cast<http::status>(status), req.version()};
  res.set(http::field::server, "fhirbridge");
  res.keep_alive(req.keep_alive());
  if (!body.is_null()) {
    res.set(http::field::content_type, content_type);
    res.body() = json::serialize(body);
  }
  res.prepare_payload();
  // RFC 9110: no Content-Length on a 204; on a 304 it would describe the 200's body.
  if (status == 204 || status == 304) res.erase(http::field::content_length);
  return res;
}

Response status_response(const Request& req, const Status& status, unsigned http_status = 0) {
  return make_response(req, http_status ? http_status : http_status_for(status.code()),
                       operation_outcome(status), response_content_type(req));
}

Response unauthorized(const Request& req, const Status& status) {
  Response res = status_response(req, status, 401);
  res.set(http::field::www_authenticate, "Basic realm=\"fhirbridge\"");
  return res;
}

// The answer to credentials authenticate_basic refused: 401 with a
// challenge, or what else it said (429 when throttled, 500).
Response refusal(const Request& req, const Status& status) {
  return status.code() == StatusCode::unauthorized ? unauthorized(req, status)
                                                   : status_response(req, status);
}

// "Tue, 15 Nov 1994 08:12:31 GMT" from a FHIR instant "1994-11-15T08:12:31.000Z"
// (UTC, as the mapping writes lastUpdated); "" when it is not one. Read by
// position rather than with strptime/strftime: it runs on every read.
std::string http_date(std::string_view instant) {
  if (instant.size() < 19 || instant[4] != '-' || instant[7] != '-' || instant[10] != 'T' ||
      instant[13] != ':' || instant[16] != ':')
    return {};
  bool digits = true;
  auto number = [&](std::size_t pos, std::size_t len) {
    int value = 0;
    for (std::size_t i = pos; i < pos + len; ++i) {
      const char c = instant[i];
      digits = digits && c >= '0' && c <= '9';
      value = value * 10 + (c - '0');
    }
    return value;
  };
  const int year = number(0, 4), month = number(5, 2), day = number(8, 2);
  const int hour = number(11, 2), minute = number(14, 2), second = number(17, 2);
  const std::chrono::year_month_day date{std::chrono::year{year},
                                         std::chrono::month{static_cast<unsigned>(month)},
                                         std::chrono::day{static_cast<unsigned>(day)}};
  if (!digits || !date.ok() || hour > 23 || minute > 59 || second > 59) return {};
  static constexpr std::string_view kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const unsigned weekday = std::chrono::weekday{std::chrono::sys_days{date}}.c_encoding();
  std::string out;
  out.reserve(29);
  auto two = [&](int v) {
    out.push_back(static_cast<char>('0' + v / 10));
    out.push_back(static_cast<char>('0' + v % 10));
  };
  out.append(kDays[weekday]).append(", ");
  two(day);
  out.append(" ").append(kMonths[month - 1]).append(" ").append(instant.substr(0, 4));
  out.push_back(' ');
  two(hour);
  out.push_back(':');
  two(minute);
  out.push_back(':');
  two(second);
  out.append(" GMT");
  return out;
}

// ---- request body ----------------------------------------------------------

enum class BodyKind { json, form, json_patch, other };

BodyKind body_kind(const Request& req) {
  const std::string type = lower(req[http::field::content_type]);
  // Before application/json, which is its prefix.
  if (type.rfind("application/json-patch+json", 0) == 0) return BodyKind::json_patch;
  // A body without a Content-Type is read as JSON (curl -d without -H does
  // send one; some scripts do not).
  if (type.empty() || type.rfind("application/fhir+json", 0) == 0 ||
      type.rfind("application/json", 0) == 0 || type.rfind("text/json", 0) == 0)
    return BodyKind::json;
  if (type.rfind("application/x-www-form-urlencoded", 0) == 0) return BodyKind::form;
  return BodyKind::other;
}

// ---- the keychain endpoint -------------------------------------------------

// POST puts the caller's key; DELETE forgets it before its TTL (leaving a shared
// laptop, say): the unsealed caches are consulted only while the key is there.
Response handle_keychain(const Request& req, ServerContext& ctx, std::string_view rest) {
  const bool forget = req.method() == http::verb::delete_;
  if (req.method() != http::verb::post && !forget) {
    Response res =
        status_response(req, Status(StatusCode::not_supported, "use POST or DELETE"), 405);
    res.set(http::field::allow, "POST, DELETE");
    return res;
  }
  auto who = detail::authenticate_basic(req, ctx);
  if (!who.ok()) return refusal(req, who.status());
  const std::string hcp_id(rest);
  if (hcp_id.empty() || hcp_id.find('/') != std::string::npos)
    return status_response(req, Status::NotFound("use POST /rest/icdx/v1/keychain/{hcpId}"));
  if (hcp_id != who->hcp_id)
    return status_response(req, Status(StatusCode::forbidden,
                                       "you may only post or delete the key of your own "
                                       "healthcare party (" +
                                           who->hcp_id + ")"));
  if (forget) {
    ctx.keychain().drop(hcp_id);
    return make_response(req, 204, json::value(nullptr), kJson);  // also when it was not there
  }
  if (body_kind(req) != BodyKind::json)
    return status_response(
        req, Status(StatusCode::not_supported, "the key must be sent as application/json"), 415);
  auto body = json_io::parse_client_json(req.body());
  if (!body.ok()) return status_response(req, body.status());
  json::value* key = body->is_object() ? body->as_object().if_contains("key") : nullptr;
  // The parsed copy of the key is overwritten on every way out (the HTTP
  // server wipes the request body itself; docs/security.md).
  struct WipeKey {
    json::value* key;
    ~WipeKey() {
      if (!key || !key->is_string()) return;
      volatile char* p = key->as_string().data();
      for (std::size_t i = 0; i < key->as_string().size(); ++i) p[i] = 0;
    }
  } wipe_key{key};
  if (!key || !key->is_string())
    return status_response(
        req, Status::Invalid("key", "expected {\"key\": \"<PKCS#8 private key hex>\"}"));
  Result<icure::HealthcareParty> hcp = [&] {
    auto lock = ctx.lock_store();
    return ctx.store().get_healthcare_party(hcp_id);
  }();
  if (!hcp.ok()) return status_response(req, hcp.status());
  if (!hcp->publicKey || hcp->publicKey->empty())
    return status_response(
        req, Status(StatusCode::key_mismatch, "healthcare party " + hcp_id + " has no public key"));
  Status put = ctx.keychain().put(hcp_id, std::string_view(key->as_string()), *hcp->publicKey);
  if (!put.ok())
    return status_response(
        req, Status(put.code(), put.message(), put.path().empty() ? "key" : put.path()));
  // iCure answers a JSON boolean; the tutorial's client prints it.
  return make_response(req, 200, json::value(true), kJson);
}

// ---- FHIR ------------------------------------------------------------------

void parse_prefer(const Request& req, detail::CallContext& call, const ServerSettings& settings) {
  call.strict = settings.strict_by_default;
  const std::string_view prefer = req[http::field::prefer];
  if (icontains(prefer, "return=minimal")) call.prefer = detail::PreferReturn::minimal;
  if (icontains(prefer, "return=operationoutcome")) call.prefer = detail::PreferReturn::outcome;
  if (icontains(prefer, "handling=strict")) call.strict = true;
  if (icontains(prefer, "handling=lenient")) call.strict = false;
}

bool format_is_json(std::string_view format) {
  const std::string f = lower(format);
  return f == "json" || f == "application/json" || f == "application/fhir+json" ||
         f == "fhir+json" || f.rfind("application/fhir+json;", 0) == 0 ||
         f.rfind("application/json;", 0) == 0;
}

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    if (end > start) out.emplace_back(path.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

Response answer_response(const Request& req, const detail::FhirAnswer& answer) {
  const std::string_view content_type = response_content_type(req);
  Response res = make_response(req, answer.status, answer.body, content_type);
  if (answer.rendered) {
    res.set(http::field::content_type, content_type);
    res.body() = *answer.rendered;
    res.prepare_payload();
  }
  if (!answer.location.empty()) {
    res.set(http::field::location, answer.location);
    if (answer.status == 201) res.set(http::field::content_location, answer.location);
  }
  if (!answer.etag.empty()) res.set(http::field::etag, answer.etag);
  if (!answer.last_modified.empty())
    if (auto date = http_date(answer.last_modified); !date.empty())
      res.set(http::field::last_modified, date);
  if (!answer.allow.empty()) res.set(http::field::allow, answer.allow);
  for (const auto& warning : answer.warnings) {
    std::string text = warning;
    std::replace_if(
        text.begin(), text.end(), [](char c) { return c == '"' || c == '\r' || c == '\n'; }, '\'');
    res.insert(http::field::warning, "299 fhirbridge \"" + text + "\"");
  }
  return res;
}

// If-Modified-Since (an HTTP date, whole seconds) -> the last millisecond it
// stands for; nullopt when absent or not an HTTP date (then ignored, RFC 9110).
std::optional<std::int64_t> modified_since_ms(const Request& req) {
  const std::string since(req[http::field::if_modified_since]);
  std::tm since_tm{};
  if (since.empty() || !strptime(since.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &since_tm))
    return std::nullopt;
  return static_cast<std::int64_t>(timegm(&since_tm)) * 1000 + 999;
}

Response handle_fhir(Request& req, ServerContext& ctx, std::string_view base, std::string_view rest,
                     std::string_view query) {
  detail::FhirCall call;
  call.method = std::string(req.method_string());
  call.segments = split_path(rest);
  auto params = parse_query(query);
  if (!params.ok()) return status_response(req, params.status());
  call.params = std::move(*params);

  for (const auto& p : call.params)
    if (p.name == "_format" && !format_is_json(p.value))
      return status_response(
          req,
          Status(StatusCode::not_supported, "only JSON is supported (_format=json)", "_format"),
          406);
  const std::string_view accept = req[http::field::accept];
  if (!accept.empty() && icontains(accept, "xml") && !icontains(accept, "json") &&
      !icontains(accept, "*/*"))
    return status_response(
        req,
        Status(StatusCode::not_supported, "only JSON is supported (Accept: application/fhir+json)"),
        406);

  // Everything below needs the base URL for links and locations.
  std::string base_url = ctx.settings().public_base_url;
  if (base_url.empty()) {
    std::string_view host = req[http::field::host];
    base_url = "http://" + std::string(host.empty() ? "localhost" : host);
  }
  while (!base_url.empty() && base_url.back() == '/') base_url.pop_back();
  base_url += std::string(base);

  // The CapabilityStatement is public, as FHIR clients fetch it before logging in.
  const bool is_metadata = call.segments.size() == 1 && call.segments[0] == "metadata";
  storage::Principal who;
  if (!is_metadata) {
    auto principal = detail::authenticate_basic(req, ctx);
    if (!principal.ok()) return refusal(req, principal.status());
    who = std::move(*principal);
  }

  const bool patch = req.method() == http::verb::patch;
  if (req.method() == http::verb::post || req.method() == http::verb::put || patch) {
    if (req.body().size() > ctx.settings().body_limit)
      return status_response(req, Status(StatusCode::too_large,
                                         "body over the limit of " +
                                             std::to_string(ctx.settings().body_limit) + " bytes"));
    const bool is_search = !call.segments.empty() && call.segments.back() == "_search" &&
                           (call.segments.size() == 2 || call.segments.size() == 4);
    const BodyKind kind = body_kind(req);
    if (is_search && kind == BodyKind::form) {
      auto form = parse_query(req.body());
      if (!form.ok()) return status_response(req, form.status());
      call.params.insert(call.params.end(), form->begin(), form->end());
    } else if (patch && (call.segments.size() == 1 || call.segments.size() == 2) && !is_search &&
               kind != BodyKind::json_patch) {
      // PATCH <Type>/{id} and <Type>?criteria; other targets are 405 (routing).
      return status_response(
          req,
          Status(StatusCode::not_supported,
                 "unsupported Content-Type '" + std::string(req[http::field::content_type]) +
                     "' for PATCH: use application/json-patch+json (FHIRPath Patch is not "
                     "supported)"),
          415);
    } else if (kind != BodyKind::json && !(patch && kind == BodyKind::json_patch)) {
      return status_response(
          req,
          Status(StatusCode::not_supported, "unsupported Content-Type '" +
                                                std::string(req[http::field::content_type]) +
                                                "': use application/fhir+json or application/json"),
          415);
    } else if (!req.body().empty()) {
      auto body = json_io::parse_client_json(req.body());
      if (!body.ok()) return status_response(req, body.status());
      call.body = std::move(*body);
    }
  }
  if (auto if_match = req[http::field::if_match]; !if_match.empty())
    call.if_match = std::string(if_match);
  if (auto if_none_exist = req["If-None-Exist"]; !if_none_exist.empty())
    call.if_none_exist = std::string(if_none_exist);
  call.accepts_rendered = true;  // answer_response sends FhirAnswer::rendered

  detail::CallContext context{ctx, std::move(who), std::move(base_url)};
  parse_prefer(req, context, ctx.settings());
  auto answer = detail::dispatch(context, call);
  if (!answer.ok()) return status_response(req, answer.status());
  if (req.method() == http::verb::get && answer->status == 200 &&
      detail::not_modified(req[http::field::if_none_match], modified_since_ms(req), *answer)) {
    answer->status = 304;
    answer->body = nullptr;  // a 304 has no body; ETag and Last-Modified stay
    answer->rendered = nullptr;
  }
  return answer_response(req, *answer);
}

// Where a request's path leads: which API, and the path and query after its base.
struct Route {
  enum class Api { none, keychain, icure_rest, fhir } api = Api::none;
  std::string_view base, rest, query, path;
};

Route route(const Request& req, ServerContext& ctx) {
  Route route;
  const std::string_view target = req.target();
  const auto qmark = target.find('?');
  std::string_view path = target.substr(0, qmark);
  route.query = qmark == std::string_view::npos ? std::string_view{} : target.substr(qmark + 1);
  while (path.size() > 1 && path.back() == '/')
    path.remove_suffix(1);  // "/rest/fhir/r4/" == "/rest/fhir/r4"
  route.path = path;

  auto under = [&](std::string_view prefix) {
    if (path.size() < prefix.size() || path.substr(0, prefix.size()) != prefix ||
        (path.size() != prefix.size() && path[prefix.size()] != '/'))
      return false;
    route.base = prefix;
    route.rest = path.substr(prefix.size());
    return true;
  };
  if (under(ctx.settings().keychain_path)) {
    if (!route.rest.empty()) route.rest.remove_prefix(1);
    route.api = Route::Api::keychain;
  } else if (ctx.sealed_store() && under(ctx.settings().icure_rest_base)) {
    if (!route.rest.empty()) route.rest.remove_prefix(1);
    route.api = Route::Api::icure_rest;
  } else {
    for (const auto& base : ctx.settings().fhir_base_paths)
      if (under(base)) {
        route.api = Route::Api::fhir;
        break;
      }
  }
  return route;
}

// RFC 9110 10.1.1: an HTTP/1.1 expectation other than 100-continue cannot be
// met (an HTTP/1.0 one is ignored). 417, as Jetty (HAPI) and Node (Medplum)
// answer, whether or not the request has a body.
std::optional<Response> unmet_expectation(const Request& req, const Route& to) {
  const auto expect = req[http::field::expect];
  if (req.version() < 11 || expect.empty() || boost::beast::iequals(expect, "100-continue"))
    return std::nullopt;
  const Status failed(StatusCode::not_supported,
                      "Expect: '" + std::string(expect) +
                          "' cannot be met (100-continue is the only expectation known)",
                      "Expect");
  if (to.api != Route::Api::icure_rest) return status_response(req, failed, 417);
  Response res = detail::icure_rest_error(req, failed);
  res.result(http::status::expectation_failed);
  return res;
}

Response handle(Request& req, ServerContext& ctx) {
  const Route to = route(req, ctx);
  if (auto failed = unmet_expectation(req, to)) return std::move(*failed);
  switch (to.api) {
    case Route::Api::keychain: return handle_keychain(req, ctx, to.rest);
    case Route::Api::icure_rest: return detail::handle_icure_rest(req, ctx, to.rest, to.query);
    case Route::Api::fhir: return handle_fhir(req, ctx, to.base, to.rest, to.query);
    case Route::Api::none: break;
  }
  return status_response(req, Status::NotFound("no such endpoint: " + std::string(to.path) +
                                               " (the FHIR API is under /rest/fhir/r4)"));
}

// Whether a request to `to` is refused without credentials: everything but
// the CapabilityStatement, the keychain's GET and unknown paths.
bool needs_credentials(const Request& req, const Route& to) {
  return (to.api == Route::Api::keychain && req.method() == http::verb::post) ||
         to.api == Route::Api::icure_rest ||
         (to.api == Route::Api::fhir &&
          split_path(to.rest) != std::vector<std::string>{"metadata"});
}

}  // namespace

bool answer_before_body_hashes(const Request& header, ServerContext& ctx) {
  try {
    const Route to = route(header, ctx);
    return !unmet_expectation(header, to) && needs_credentials(header, to) &&
           detail::authentication_hashes(header, ctx);
  } catch (const std::exception&) {
    return true;  // answer_before_body will tell, wherever it runs
  }
}

std::optional<Response> answer_before_body(const Request& header, ServerContext& ctx) {
  try {
    const Route to = route(header, ctx);
    if (auto failed = unmet_expectation(header, to)) return failed;
    if (!needs_credentials(header, to)) return std::nullopt;
    auto who = detail::authenticate_basic(header, ctx);
    if (who.ok()) return std::nullopt;
    return to.api == Route::Api::icure_rest ? detail::icure_rest_error(header, who.status())
                                            : refusal(header, who.status());
  } catch (const std::exception&) {
    return std::nullopt;  // the whole request will tell
  }
}

Response error_response(const Status& status, unsigned http_version, bool keep_alive) {
  Response res{static_cast<http::status>(http_status_for(status.code())), http_version};
  res.set(http::field::server, "fhirbridge");
  res.set(http::field::content_type, kFhirJson);
  res.keep_alive(keep_alive);
  res.body() = json::serialize(operation_outcome(status));
  res.prepare_payload();
  return res;
}

Response handle_request(Request&& request, ServerContext& ctx) {
  try {
    if (request.method() == http::verb::head) {
      // HEAD is GET without the body (RFC 9110 9.3.2): the same status and
      // headers, Content-Length included.
      request.method(http::verb::get);
      Response res = handle(request, ctx);
      request.method(http::verb::head);
      if (!res.body().empty()) {
        const auto length = res.body().size();
        res.body().clear();
        res.content_length(length);
      }
      return res;
    }
    return handle(request, ctx);
  } catch (const std::exception& e) {
    // Never crash on input: log the cause (no body, no credentials) and answer 500.
    std::cerr << "fhirbridge: internal error on " << request.method_string() << " "
              << std::string_view(request.target())
                     .substr(0, std::string_view(request.target()).find('?'))
              << ": " << e.what() << "\n";
  } catch (...) {
    std::cerr << "fhirbridge: unknown internal error\n";
  }
  return error_response(Status::Internal("internal server error"), request.version(), false);
}

}  // namespace fhirbridge::server
