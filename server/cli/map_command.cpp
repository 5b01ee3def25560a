// `fhirbridge map [--to icure|--to fhir] [--patient ID] [--fixed] FILE|-`
//
// Maps one JSON document and prints the result on stdout:
//   FHIR Patient / Observation  -> the iCure Patient / Contact (default --to icure)
//   FHIR Bundle (transaction/batch) -> [{index, fullUrl, request, icure, subjectReference}]
//   iCure Patient / Contact (or an array of them) -> FHIR (default --to fhir)
//   FHIR input with --to fhir   -> FHIR -> iCure -> FHIR (what the server would return)
// Exit 0 on success; 1 with "<path>: <message>" on stderr for bad input.
#include <boost/json.hpp>

#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "commands.hpp"
#include "fhirbridge/json_io.hpp"
#include "fhirbridge/mapping/bundle.hpp"
#include "fhirbridge/mapping/context.hpp"
#include "fhirbridge/mapping/observation.hpp"
#include "fhirbridge/mapping/patient.hpp"
#include "fhirbridge/server/server_context.hpp"

namespace fhirbridge::cli {

namespace {

namespace json = boost::json;
using namespace fhirbridge::mapping;

constexpr const char* kUsage =
    "usage: fhirbridge map [--to icure|--to fhir] [--patient ID] [--fixed] FILE|-\n"
    "  Maps a FHIR Patient/Observation/Bundle to iCure JSON (default for FHIR input),\n"
    "  or iCure Patient/Contact JSON to FHIR (default for iCure input).\n"
    "  --to fhir on FHIR input maps to iCure and back.\n"
    "  --patient ID   the patient id for an Observation's subject (iCure -> FHIR)\n"
    "  --fixed        deterministic ids and clock (for tests)\n";

int fail(const std::string& message) {
  std::cerr << "fhirbridge map: " << message << "\n";
  return 1;
}

bool is_icure_patient(const json::object& o) {
  if (auto* t = o.if_contains("_type"); t && t->is_string())
    return t->get_string() == icure::kPatientType;
  return o.contains("firstName") || o.contains("lastName") || o.contains("names") ||
         o.contains("dateOfBirth");
}
bool is_icure_contact(const json::object& o) {
  if (auto* t = o.if_contains("_type"); t && t->is_string())
    return t->get_string() == icure::kContactType;
  return o.contains("services");
}

// One iCure entity to FHIR.
Result<json::value> icure_to_fhir(const json::value& v, const std::string& path,
                                  const std::optional<std::string>& patient_id,
                                  const MappingContext& ctx) {
  if (!v.is_object()) return Status(StatusCode::structure, "expected an iCure entity object", path);
  const auto& o = v.get_object();
  if (is_icure_contact(o)) {
    icure::Contact contact;
    FHIRBRIDGE_RETURN_IF_ERROR(json_io::from_json(v, contact, path));
    auto fhir = icure_observation_to_fhir(contact, patient_id, ctx);
    if (!fhir.ok()) return fhir.status();
    return json::value(std::move(*fhir));
  }
  if (is_icure_patient(o)) {
    icure::Patient patient;
    FHIRBRIDGE_RETURN_IF_ERROR(json_io::from_json(v, patient, path));
    auto fhir = icure_patient_to_fhir(patient, ctx);
    if (!fhir.ok()) return fhir.status();
    return json::value(std::move(*fhir));
  }
  return Status::Invalid(path, "neither an iCure Patient nor a Contact");
}

struct MappedResource {
  json::value icure;
  std::optional<std::string> subject_reference;
};

Result<MappedResource> fhir_to_icure(const json::value& resource, const MappingContext& ctx) {
  const json::value* rt =
      resource.is_object() ? resource.get_object().if_contains("resourceType") : nullptr;
  if (rt && *rt == "Patient") {
    auto p = fhir_patient_to_icure(resource, ctx);
    if (!p.ok()) return p.status();
    return MappedResource{json_io::to_json(*p), std::nullopt};
  }
  if (rt && *rt == "Observation") {
    auto o = fhir_observation_to_icure(resource, ctx);
    if (!o.ok()) return o.status();
    return MappedResource{json_io::to_json(o->contact), o->subject_reference};
  }
  std::string type = rt && rt->is_string() ? std::string(rt->get_string()) : "";
  return Status(StatusCode::not_supported, "'" + type + "' is not a resource type fhirbridge maps",
                "resourceType");
}

// Prefixes an entry's errors with its position in the Bundle.
// "Patient.birthDate" -> "Bundle.entry[3].resource.birthDate".
Status in_entry(const Status& s, std::size_t index) {
  std::string path = "Bundle.entry[" + std::to_string(index) + "].resource";
  const std::string& inner = s.path();
  auto dot = inner.find('.');
  if (!inner.empty() && std::isupper(static_cast<unsigned char>(inner[0])))
    path += dot == std::string::npos ? "" : inner.substr(dot);
  else if (!inner.empty())
    path += "." + inner;
  return Status(s.code(), s.message(), path);
}

// The patient an Observation mapped back names: --patient, else the id in the
// input's subject reference.
std::optional<std::string> subject_patient(const std::optional<std::string>& patient_id,
                                           const std::optional<std::string>& reference) {
  if (patient_id || !reference) return patient_id;
  auto slash = reference->rfind('/');
  return slash == std::string::npos ? *reference : reference->substr(slash + 1);
}

}  // namespace

int map_command(const std::vector<std::string>& args) {
  std::optional<std::string> to, input, patient_id;
  bool fixed = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      return 0;
    } else if (a == "--to" && i + 1 < args.size()) {
      to = args[++i];
    } else if (a.rfind("--to=", 0) == 0) {
      to = a.substr(5);
    } else if (a == "--patient" && i + 1 < args.size()) {
      patient_id = args[++i];
    } else if (a == "--fixed") {
      fixed = true;
    } else if ((a == "-" || a.rfind("-", 0) != 0) && !input) {
      input = a;
    } else {
      std::cerr << "fhirbridge map: unexpected argument '" << a << "'\n" << kUsage;
      return 2;
    }
  }
  if (!input || (to && *to != "icure" && *to != "fhir")) {
    std::cerr << kUsage;
    return 2;
  }

  std::string text;
  if (*input == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(*input, std::ios::binary);
    if (!in) return fail(*input + ": cannot read the file");
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  boost::system::error_code ec;
  const std::string_view json_text = json_io::without_byte_order_mark(text);
  json::value doc = json::parse(json::string_view(json_text.data(), json_text.size()), ec);
  if (ec) return fail(*input + ": malformed JSON: " + ec.message());

  const MappingContext ctx =
      fixed ? make_fixed_context() : fhirbridge::server::make_system_mapping_context();
  const bool is_fhir = doc.is_object() && doc.get_object().contains("resourceType");
  json::value out;

  if (!is_fhir) {  // iCure input: an entity or an array of entities
    if (to == "icure") return fail("the input is iCure JSON already (use --to fhir)");
    if (doc.is_array()) {
      json::array results;
      for (std::size_t i = 0; i < doc.get_array().size(); ++i) {
        auto r = icure_to_fhir(doc.get_array()[i], "[" + std::to_string(i) + "]", patient_id, ctx);
        if (!r.ok()) return fail(r.status().to_string());
        results.push_back(std::move(*r));
      }
      out = std::move(results);
    } else {
      auto r = icure_to_fhir(
          doc, doc.is_object() && is_icure_contact(doc.get_object()) ? "Contact" : "Patient",
          patient_id, ctx);
      if (!r.ok()) return fail(r.status().to_string());
      out = std::move(*r);
    }
  } else if (doc.get_object().at("resourceType") == "Bundle") {
    auto bundle = parse_bundle(doc);
    if (!bundle.ok()) return fail(bundle.status().to_string());
    json::array results;
    for (const auto& entry : bundle->entries) {
      json::object item{{"index", entry.index}, {"request", entry.method + " " + entry.url}};
      if (entry.full_url) item["fullUrl"] = *entry.full_url;
      if (entry.resource.is_object()) {
        auto mapped = fhir_to_icure(entry.resource, ctx);
        if (!mapped.ok()) return fail(in_entry(mapped.status(), entry.index).to_string());
        if (to == "fhir") {
          auto back = icure_to_fhir(mapped->icure, "icure",
                                    subject_patient(patient_id, mapped->subject_reference), ctx);
          if (!back.ok()) return fail(in_entry(back.status(), entry.index).to_string());
          item["fhir"] = std::move(*back);
        } else {
          item["icure"] = std::move(mapped->icure);
          if (mapped->subject_reference) item["subjectReference"] = *mapped->subject_reference;
        }
      }
      results.push_back(std::move(item));
    }
    out = std::move(results);
  } else {
    auto mapped = fhir_to_icure(doc, ctx);
    if (!mapped.ok()) return fail(mapped.status().to_string());
    if (to == "fhir") {
      auto back = icure_to_fhir(mapped->icure, "icure",
                                subject_patient(patient_id, mapped->subject_reference), ctx);
      if (!back.ok()) return fail(back.status().to_string());
      out = std::move(*back);
    } else {
      out = std::move(mapped->icure);
    }
  }
  std::cout << json_io::serialize(out, /*pretty=*/true);
  return 0;
}

}  // namespace fhirbridge::cli
