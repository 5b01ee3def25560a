// FHIR R4 Patient <-> iCure Patient (docs/mapping.md has the field table).
//
// Forward: every FHIR element with an iCure home is mapped explicitly; then the
// iCure patient is mapped back and whatever differs from the input (narrative,
// extensions, displays, exact strings...) is kept as the FHIR residual, a JSON
// patch stored in a sealed PropertyStub. Backward: map the iCure fields, then
// apply the residual.
#include "fhirbridge/mapping/patient.hpp"

#include <algorithm>

#include "datatypes.hpp"
#include "fhirbridge/mapping/code_systems.hpp"
#include "fhirbridge/mapping/code_tables.hpp"
#include "fhirbridge/mapping/fhir_dates.hpp"
#include "fhirbridge/mapping/residual.hpp"

namespace fhirbridge::mapping {

using namespace detail;

namespace {

const std::string kPath = "Patient";

// healthcare party link types of patientHealthCareParties
constexpr const char* kGeneralPractitioner = "doctor";
constexpr const char* kManagingOrganization = "managingorganization";

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i) out += sep;
    out += parts[i];
  }
  return out;
}

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    auto pos = text.find(sep, start);
    out.push_back(text.substr(start, pos - start));
    if (pos == std::string::npos) return out;
    start = pos + 1;
  }
}

// A reference to a resource we only know by id ("Practitioner/<id>"); ids that
// are URIs (urn:uuid:...) are written back as they came.
std::string make_reference(std::string_view type, const std::string& id) {
  if (id.find(':') != std::string::npos || id.find('/') != std::string::npos) return id;
  return std::string(type) + "/" + id;
}

Status map_addresses(const json::object& o, icure::Patient& p) {
  FHIRBRIDGE_ASSIGN_OR_RETURN(addresses, get_objects(o, "address", kPath));
  FHIRBRIDGE_ASSIGN_OR_RETURN(telecoms, get_objects(o, "telecom", kPath));
  if (addresses.empty() && telecoms.empty()) return {};
  std::vector<icure::Address> out;
  out.reserve(addresses.size() + telecoms.size());
  for (std::size_t i = 0; i < addresses.size(); ++i) {
    const json::object& a = *addresses[i];
    const std::string& path = kRelative;  // errors: moved under Patient.address[i]
    auto at = [&] { return item(kPath + ".address", i); };
    static constexpr std::string_view keys[] = {"use",   "text",       "line",   "city",
                                                "state", "postalCode", "country"};
    const auto f = lookup(a, keys);
    icure::Address address;
    FHIRBRIDGE_ASSIGN_OR_RETURN_AT(use, at(), string_at(f[0], "use", path));
    FHIRBRIDGE_ASSIGN_OR_RETURN_AT(text, at(), string_at(f[1], "text", path));
    FHIRBRIDGE_ASSIGN_OR_RETURN_AT(lines, at(), get_strings(a, "line", path));
    FHIRBRIDGE_ASSIGN_OR_RETURN_AT(city, at(), string_at(f[3], "city", path));
    FHIRBRIDGE_ASSIGN_OR_RETURN_AT(state, at(), string_at(f[4], "state", path));
    FHIRBRIDGE_ASSIGN_OR_RETURN_AT(postal_code, at(), string_at(f[5], "postalCode", path));
    FHIRBRIDGE_ASSIGN_OR_RETURN_AT(country, at(), string_at(f[6], "country", path));
    if (use) address.addressType = icure_address_type(*use);  // `old`: residual
    address.descr = std::move(text);
    if (lines && !lines->empty()) address.street = join(*lines, "\n");
    address.city = std::move(city);
    address.state = std::move(state);
    address.postalCode = std::move(postal_code);
    address.country = std::move(country);
    out.push_back(std::move(address));
  }
  // iCure keeps telecoms inside addresses: each goes to the first address of
  // its use (created when there is none).
  for (std::size_t i = 0; i < telecoms.size(); ++i) {
    const json::object& t = *telecoms[i];
    const std::string& path = kRelative;  // errors: moved under Patient.telecom[i]
    auto at = [&] { return item(kPath + ".telecom", i); };
    static constexpr std::string_view keys[] = {"system", "value", "use"};
    const auto f = lookup(t, keys);
    FHIRBRIDGE_ASSIGN_OR_RETURN_AT(system, at(), string_at(f[0], "system", path));
    FHIRBRIDGE_ASSIGN_OR_RETURN_AT(value, at(), string_at(f[1], "value", path));
    FHIRBRIDGE_ASSIGN_OR_RETURN_AT(use, at(), string_at(f[2], "use", path));
    icure::Telecom telecom;
    if (system) {
      telecom.telecomType = icure_telecom_type(*system);
      if (!telecom.telecomType)
        return Status::Invalid(child(at(), "system"),
                               quoted(*system) + " is not a ContactPoint system");
    }
    std::optional<std::string> address_type;
    if (use == "mobile") {
      if (!system || system == "phone" || system == "sms") telecom.telecomType = "mobile";
      address_type = "home";
    } else if (use) {
      address_type = icure_address_type(*use);
    }
    telecom.telecomNumber = std::move(value);
    auto it = std::find_if(out.begin(), out.end(),
                           [&](const icure::Address& a) { return a.addressType == address_type; });
    if (it == out.end()) {
      icure::Address address;
      address.addressType = address_type;
      out.push_back(std::move(address));
      it = std::prev(out.end());
    }
    if (!it->telecoms) it->telecoms.emplace();
    it->telecoms->push_back(std::move(telecom));
  }
  p.addresses = std::move(out);
  return {};
}

Status map_links(const json::object& o, icure::Patient& p) {
  FHIRBRIDGE_ASSIGN_OR_RETURN(gps, get_objects(o, "generalPractitioner", kPath));
  FHIRBRIDGE_ASSIGN_OR_RETURN(org, get_object(o, "managingOrganization", kPath));
  std::vector<icure::PatientHealthCareParty> hcps;
  for (std::size_t i = 0; i < gps.size(); ++i) {
    FHIRBRIDGE_ASSIGN_OR_RETURN(
        ref, get_string(*gps[i], "reference", item(kPath + ".generalPractitioner", i)));
    if (!ref) continue;  // display-only references live in the residual
    icure::PatientHealthCareParty hcp;
    hcp.type = kGeneralPractitioner;
    hcp.healthcarePartyId = reference_id(*ref);
    hcps.push_back(std::move(hcp));
  }
  if (org) {
    FHIRBRIDGE_ASSIGN_OR_RETURN(ref,
                                get_string(*org, "reference", kPath + ".managingOrganization"));
    if (ref) {
      icure::PatientHealthCareParty hcp;
      hcp.type = kManagingOrganization;
      hcp.healthcarePartyId = reference_id(*ref);
      hcps.push_back(std::move(hcp));
    }
  }
  if (!hcps.empty()) p.patientHealthCareParties = std::move(hcps);

  FHIRBRIDGE_ASSIGN_OR_RETURN(links, get_objects(o, "link", kPath));
  std::vector<icure::Partnership> partners;
  for (std::size_t i = 0; i < links.size(); ++i) {
    const std::string path = item(kPath + ".link", i);
    FHIRBRIDGE_ASSIGN_OR_RETURN(other, get_object(*links[i], "other", path));
    FHIRBRIDGE_ASSIGN_OR_RETURN(type, get_string(*links[i], "type", path));
    if (!other) return Status::Invalid(child(path, "other"), "is required");
    FHIRBRIDGE_ASSIGN_OR_RETURN(ref, get_string(*other, "reference", child(path, "other")));
    icure::Partnership partner;
    if (ref) partner.partnerId = reference_id(*ref);
    // iCure's Partnership.type is a family-relation enum: the FHIR link type
    // (seealso, refer, replaces, replaced-by) goes to the free-text description.
    partner.meToOtherRelationshipDescription = type;
    partners.push_back(std::move(partner));
  }
  if (!partners.empty()) p.partnerships = std::move(partners);
  return {};
}

}  // namespace

// The iCure fields as FHIR, without the residual.
// Built in `sp` (the forward mapping passes its per-resource arena).
static json::object patient_fields_to_fhir(const icure::Patient& p, const MappingContext& ctx,
                                           json::storage_ptr sp = {}) {
  // Capacities cover the usual fields: each growth of a json::object rehashes
  // (~26 rehashes per Patient read before).
  json::object out(16, sp);
  out["resourceType"] = "Patient";
  if (p.id) out["id"] = *p.id;
  json::object meta(3, sp);
  if (p.rev) meta["versionId"] = version_id(*p.rev);
  if (p.modified) meta["lastUpdated"] = fhir_instant(*p.modified);
  if (p.tags && !p.tags->empty()) {
    json::array tags(sp);
    for (const auto& t : *p.tags) tags.push_back(code_stub_to_coding(t, ctx, sp));
    meta["tag"] = std::move(tags);
  }
  if (!meta.empty()) out["meta"] = std::move(meta);
  if (p.identifier) {
    json::array ids(sp);
    for (const auto& id : *p.identifier)
      if (id.system != ctx.settings.fhir_id_system) ids.push_back(identifier_to_fhir(id, ctx, sp));
    if (!ids.empty()) out["identifier"] = std::move(ids);
  }
  if (p.active) out["active"] = *p.active;
  if (p.names && !p.names->empty()) {
    json::array names(sp);
    for (const auto& n : *p.names) names.push_back(person_name_to_fhir(n, sp));
    out["name"] = std::move(names);
  } else if (p.firstName || p.lastName) {  // an iCure patient without names[]
    json::object name;
    if (p.lastName) name["family"] = *p.lastName;
    if (p.firstName) name["given"] = json::array{json::value(*p.firstName)};
    out["name"] = json::array{std::move(name)};
  }
  if (p.addresses) {
    json::array telecoms(sp), addresses(sp);
    for (const auto& a : *p.addresses) {
      std::optional<std::string> use;
      if (a.addressType) use = fhir_address_use(*a.addressType);
      if (a.telecoms)
        for (const auto& t : *a.telecoms) {
          json::object cp(3, sp);
          if (t.telecomType)
            if (auto system = fhir_telecom_system(*t.telecomType)) cp["system"] = *system;
          if (t.telecomNumber) cp["value"] = *t.telecomNumber;
          if (t.telecomType == "mobile")
            cp["use"] = "mobile";
          else if (use)
            cp["use"] = *use;
          telecoms.push_back(std::move(cp));
        }
      if (!(a.descr || a.street || a.houseNumber || a.postboxNumber || a.city || a.state ||
            a.postalCode || a.country))
        continue;  // an address that only holds telecoms
      json::object address(8, sp);
      if (use) address["use"] = *use;
      if (a.descr) address["text"] = *a.descr;
      if (a.street || a.houseNumber || a.postboxNumber) {
        std::vector<std::string> lines =
            a.street ? split(*a.street, '\n') : std::vector<std::string>{""};
        if (a.houseNumber) lines.front() += (lines.front().empty() ? "" : " ") + *a.houseNumber;
        if (a.postboxNumber) lines.front() += " box " + *a.postboxNumber;
        json::array line(sp);
        for (auto& l : lines) line.emplace_back(l);
        address["line"] = std::move(line);
      }
      if (a.city) address["city"] = *a.city;
      if (a.state) address["state"] = *a.state;
      if (a.postalCode) address["postalCode"] = *a.postalCode;
      if (a.country) address["country"] = *a.country;
      addresses.push_back(std::move(address));
    }
    if (!telecoms.empty()) out["telecom"] = std::move(telecoms);
    if (!addresses.empty()) out["address"] = std::move(addresses);
  }
  if (p.gender)
    if (auto g = fhir_gender(*p.gender)) out["gender"] = *g;
  if (p.dateOfBirth)
    if (auto d = fuzzy_date_to_fhir(*p.dateOfBirth)) out["birthDate"] = *d;
  if (p.dateOfDeath) {
    if (auto d = fuzzy_date_to_fhir(*p.dateOfDeath)) out["deceasedDateTime"] = *d;
  } else if (p.deceased) {
    out["deceasedBoolean"] = *p.deceased;
  }
  if (p.picture) out["photo"] = json::array{json::object{{"data", *p.picture}}};
  if (p.languages && !p.languages->empty()) {
    json::array communication;
    for (const auto& l : *p.languages) {
      json::object coding{{"system", "urn:ietf:bcp:47"}, {"code", l}};
      json::object language{{"coding", json::array{std::move(coding)}}};
      communication.push_back(json::object{{"language", std::move(language)}});
    }
    out["communication"] = std::move(communication);
  }
  if (p.patientHealthCareParties) {
    json::array gps;
    for (const auto& h : *p.patientHealthCareParties) {
      if (!h.healthcarePartyId) continue;
      if (h.type == kManagingOrganization && !out.contains("managingOrganization"))
        out["managingOrganization"] =
            json::object{{"reference", make_reference("Organization", *h.healthcarePartyId)}};
      else if (h.type == kGeneralPractitioner)
        gps.push_back(
            json::object{{"reference", make_reference("Practitioner", *h.healthcarePartyId)}});
    }
    if (!gps.empty()) out["generalPractitioner"] = std::move(gps);
  }
  if (p.partnerships) {
    json::array links;
    for (const auto& partner : *p.partnerships) {
      if (!partner.partnerId) continue;
      links.push_back(json::object{
          {"other", json::object{{"reference", make_reference("Patient", *partner.partnerId)}}},
          {"type", partner.meToOtherRelationshipDescription.value_or("seealso")}});
    }
    if (!links.empty()) out["link"] = std::move(links);
  }
  return out;
}

// ---- the residual's fast path (datatypes.hpp) ----------------------------------

namespace {

std::optional<std::string> fhir_address_use_of(const std::optional<std::string>& type) {
  return type ? fhir_address_use(*type) : std::nullopt;
}

// telecom[] and address[] are what patient_fields_to_fhir writes for p.addresses.
bool addresses_round_trip(const json::object& o, const icure::Patient& p) {
  const json::value* telecom = o.if_contains("telecom");
  const json::value* address = o.if_contains("address");
  if ((telecom && !telecom->is_array()) || (address && !address->is_array())) return false;
  std::size_t telecoms = 0, addresses = 0;
  if (p.addresses)
    for (const auto& a : *p.addresses) {
      const std::optional<std::string> use = fhir_address_use_of(a.addressType);
      if (a.telecoms)
        for (const auto& t : *a.telecoms) {
          if (!telecom || telecoms >= telecom->get_array().size()) return false;
          const json::value& cp = telecom->get_array()[telecoms++];
          if (!cp.is_object()) return false;
          static constexpr std::string_view keys[] = {"system", "value", "use"};
          std::array<const json::value*, 3> f;
          if (!only_these(cp.get_object(), keys, f) ||
              !same_string_at(f[0],
                              t.telecomType ? fhir_telecom_system(*t.telecomType) : std::nullopt) ||
              !same_string_at(f[1], t.telecomNumber) ||
              !same_string_at(
                  f[2], t.telecomType == "mobile" ? std::optional<std::string>("mobile") : use))
            return false;
        }
      if (!(a.descr || a.street || a.houseNumber || a.postboxNumber || a.city || a.state ||
            a.postalCode || a.country))
        continue;
      if (!address || addresses >= address->get_array().size() || a.houseNumber || a.postboxNumber)
        return false;
      const json::value& av = address->get_array()[addresses++];
      if (!av.is_object()) return false;
      static constexpr std::string_view keys[] = {"use",   "text",       "line",   "city",
                                                  "state", "postalCode", "country"};
      std::array<const json::value*, 7> f;
      if (!only_these(av.get_object(), keys, f) || !same_string_at(f[0], use) ||
          !same_string_at(f[1], a.descr) || !same_string_at(f[3], a.city) ||
          !same_string_at(f[4], a.state) || !same_string_at(f[5], a.postalCode) ||
          !same_string_at(f[6], a.country))
        return false;
      const json::value* line = f[2];
      if (!a.street) {
        if (line) return false;
        continue;
      }
      if (!line || !line->is_array()) return false;
      // line[] == split(street, '\n'), without building the pieces
      std::string_view rest = *a.street;
      for (std::size_t i = 0;; ++i) {
        const std::size_t end = rest.find('\n');
        const std::string_view piece = rest.substr(0, end);
        if (i >= line->get_array().size() || !line->get_array()[i].is_string() ||
            line->get_array()[i].get_string() != piece)
          return false;
        if (end == std::string_view::npos) {
          if (i + 1 != line->get_array().size()) return false;
          break;
        }
        rest.remove_prefix(end + 1);
      }
    }
  // exactly as many as written, and a key only when something is written
  if (telecom ? telecoms == 0 || telecoms != telecom->get_array().size() : telecoms != 0)
    return false;
  if (address ? addresses == 0 || addresses != address->get_array().size() : addresses != 0)
    return false;
  return true;
}

// Whether the residual of `o`, mapped to `p`, is null.
bool patient_round_trips(const json::object& o, const icure::Patient& p,
                         const MappingContext& ctx) {
  for (const auto& kv : o) {
    const std::string_view key = kv.key();
    const json::value& v = kv.value();
    if (key_is(key, "resourceType") || key_is(key, "id") || key_is(key, "telecom") ||
        key_is(key, "address")) {
      continue;  // checked by the mapping, or below
    } else if (key_is(key, "meta")) {
      if (!meta_round_trips(v)) return false;
    } else if (key_is(key, "identifier")) {
      if (!v.is_array() || v.get_array().empty()) return false;
      for (const auto& id : v.get_array())
        if (!identifier_round_trips(id, ctx)) return false;
    } else if (key_is(key, "active") || key_is(key, "deceasedBoolean")) {
      if (!v.is_bool()) return false;
    } else if (key_is(key, "name")) {
      if (!v.is_array() || v.get_array().empty() || !p.names ||
          p.names->size() != v.get_array().size())
        return false;
      for (std::size_t i = 0; i < p.names->size(); ++i) {
        const json::value& name = v.get_array()[i];
        if (!name.is_object()) return false;
        // (a null is read as absent but kept by the residual: only_these fails on one)
        static constexpr std::string_view keys[] = {"use",   "text",   "family",
                                                    "given", "prefix", "suffix"};
        std::array<const json::value*, 6> f;
        const auto& use = (*p.names)[i].use;
        if (!only_these(name.get_object(), keys, f) ||
            !same_string_at(f[0], use ? fhir_name_use(*use) : std::nullopt))
          return false;
      }
    } else if (key_is(key, "gender")) {
      if (!v.is_string() || !p.gender) return false;
      auto back = fhir_gender(*p.gender);
      if (!back || *back != v.get_string()) return false;
    } else if (key_is(key, "birthDate")) {
      if (!v.is_string() || !p.dateOfBirth) return false;
      auto back = fuzzy_date_to_fhir(*p.dateOfBirth);
      if (!back || *back != v.get_string()) return false;
    } else {
      return false;  // photo, communication, links, text, extension...: the full way
    }
  }
  return addresses_round_trip(o, p);
}

}  // namespace

static Result<icure::Patient> patient_to_icure(const json::value& fhir, const MappingContext& ctx) {
  if (!fhir.is_object()) return wrong_type(kPath, "a JSON object", fhir);
  const json::object& o = fhir.get_object();
  FHIRBRIDGE_ASSIGN_OR_RETURN(resource_type, get_string(o, "resourceType", kPath));
  if (resource_type != "Patient")
    return Status::Invalid(
        kPath + ".resourceType",
        resource_type ? "expected 'Patient', got '" + *resource_type + "'" : "is required");
  FHIRBRIDGE_ASSIGN_OR_RETURN(fhir_id, get_string(o, "id", kPath));
  if (fhir_id && !valid_fhir_id(*fhir_id))
    return Status::Invalid(kPath + ".id", quoted(*fhir_id) + " is not a FHIR id");

  icure::Patient p;
  p.id = ctx.new_id();
  p._type = icure::kPatientType;
  p.created = ctx.now_ms();
  p.modified = p.created;

  // meta.tag -> tags
  FHIRBRIDGE_ASSIGN_OR_RETURN(meta, get_object(o, "meta", kPath));
  if (meta) {
    FHIRBRIDGE_ASSIGN_OR_RETURN(tags, get_objects(*meta, "tag", kPath + ".meta"));
    std::vector<icure::CodeStub> stubs;
    for (std::size_t i = 0; i < tags.size(); ++i) {
      FHIRBRIDGE_ASSIGN_OR_RETURN_AT(stub, item(kPath + ".meta.tag", i),
                                     coding_to_code_stub(*tags[i], kRelative, ctx));
      stubs.push_back(std::move(stub));
    }
    if (!stubs.empty()) p.tags = std::move(stubs);
  }

  // identifier (+ the FHIR id, kept as an identifier of settings.fhir_id_system)
  FHIRBRIDGE_ASSIGN_OR_RETURN(identifiers, get_objects(o, "identifier", kPath));
  std::vector<icure::Identifier> ids;
  ids.reserve(identifiers.size() + 1);
  for (std::size_t i = 0; i < identifiers.size(); ++i) {
    FHIRBRIDGE_ASSIGN_OR_RETURN_AT(id, item(kPath + ".identifier", i),
                                   identifier_to_icure(*identifiers[i], kRelative, ctx));
    ids.push_back(std::move(id));
  }
  if (fhir_id) {
    icure::Identifier id;
    id.system = ctx.settings.fhir_id_system;
    id.value = *fhir_id;
    ids.push_back(std::move(id));
  }
  if (!ids.empty()) p.identifier = std::move(ids);

  FHIRBRIDGE_ASSIGN_OR_RETURN(active, get_bool(o, "active", kPath));
  p.active = active;

  // name -> names[], and firstName/lastName from the first official (else first) name
  FHIRBRIDGE_ASSIGN_OR_RETURN(names, get_objects(o, "name", kPath));
  if (!names.empty()) {
    std::vector<icure::PersonName> out;
    out.reserve(names.size());
    for (std::size_t i = 0; i < names.size(); ++i) {
      FHIRBRIDGE_ASSIGN_OR_RETURN_AT(n, item(kPath + ".name", i),
                                     human_name_to_icure(*names[i], kRelative));
      out.push_back(std::move(n));
    }
    auto main = std::find_if(out.begin(), out.end(),
                             [](const icure::PersonName& n) { return n.use == "official"; });
    if (main == out.end()) main = out.begin();
    p.lastName = main->lastName;
    if (main->firstNames && !main->firstNames->empty()) p.firstName = join(*main->firstNames, " ");
    p.names = std::move(out);
  }

  FHIRBRIDGE_RETURN_IF_ERROR(map_addresses(o, p));

  FHIRBRIDGE_ASSIGN_OR_RETURN(gender, get_string(o, "gender", kPath));
  if (gender) {
    p.gender = icure_gender(*gender);
    if (!p.gender)
      return Status::Invalid(kPath + ".gender",
                             quoted(*gender) + " is not an administrative gender");
  }
  FHIRBRIDGE_ASSIGN_OR_RETURN(birth_date, get_string(o, "birthDate", kPath));
  if (birth_date) {
    FHIRBRIDGE_ASSIGN_OR_RETURN_AT(d, kPath + ".birthDate",
                                   parse_fhir_date_time(*birth_date, kRelative));
    if (d.precision > DatePrecision::day)
      return Status::Invalid(kPath + ".birthDate", quoted(*birth_date) + " is not a date");
    p.dateOfBirth = to_icure_fuzzy_date(d);
  }
  FHIRBRIDGE_ASSIGN_OR_RETURN(deceased, get_bool(o, "deceasedBoolean", kPath));
  FHIRBRIDGE_ASSIGN_OR_RETURN(deceased_at, get_string(o, "deceasedDateTime", kPath));
  p.deceased = deceased;
  if (deceased_at) {
    FHIRBRIDGE_ASSIGN_OR_RETURN(d, fuzzy_date(*deceased_at, kPath + ".deceasedDateTime"));
    p.dateOfDeath = d;
    p.deceased = true;
  }

  // photo -> picture (the first one's data; the rest stays in the residual)
  FHIRBRIDGE_ASSIGN_OR_RETURN(photos, get_objects(o, "photo", kPath));
  if (!photos.empty()) {
    FHIRBRIDGE_ASSIGN_OR_RETURN(data, get_string(*photos.front(), "data", kPath + ".photo[0]"));
    p.picture = data;
  }

  // communication -> languages (the first coding's code)
  FHIRBRIDGE_ASSIGN_OR_RETURN(communication, get_objects(o, "communication", kPath));
  std::vector<std::string> languages;
  for (std::size_t i = 0; i < communication.size(); ++i) {
    const std::string path = item(kPath + ".communication", i);
    FHIRBRIDGE_ASSIGN_OR_RETURN(language, get_object(*communication[i], "language", path));
    if (!language) return Status::Invalid(child(path, "language"), "is required");
    FHIRBRIDGE_ASSIGN_OR_RETURN(
        codes, codeable_concept_to_code_stubs(language, child(path, "language"), ctx));
    if (!codes.empty() && codes.front().code) languages.push_back(*codes.front().code);
  }
  if (!languages.empty()) p.languages = std::move(languages);

  FHIRBRIDGE_RETURN_IF_ERROR(map_links(o, p));

  // Whatever the iCure fields do not give back is kept in the residual.
  // The working copy lives in a stack arena: a deep copy into it costs no
  // malloc per node, and freeing it is a no-op (the arena is dropped whole).
  if (!residual_fast_path() || !patient_round_trips(o, p, ctx)) {
    unsigned char arena_buffer[16384];
    json::monotonic_resource arena(arena_buffer, sizeof arena_buffer);
    json::object original(o, &arena);
    json::object regenerated = patient_fields_to_fhir(p, ctx, &arena);
    strip_server_fields(original);
    strip_server_fields(regenerated);
    // Patient.link[].other.reference belongs to the iCure partnership (the
    // server may resolve it to a stored patient): never restore it from the residual.
    own_references(original, regenerated, "link", "other");
    json::value patch = make_patch(original, regenerated);
    if (!patch.is_null()) set_patient_residual(p, patch);
  }
  return p;
}

static Result<json::object> patient_to_fhir(const icure::Patient& patient,
                                            const MappingContext& ctx) {
  json::object out = patient_fields_to_fhir(patient, ctx);
  FHIRBRIDGE_ASSIGN_OR_RETURN(patch, patient_residual(patient));
  if (!patch.is_null()) {
    json::value v = std::move(out);
    apply_patch(v, patch);
    if (!v.is_object())
      return Status::Internal("Patient.properties: the FHIR residual is not an object patch");
    out = std::move(v.get_object());
  }
  return out;
}

// The public entry points: a missing id generator/clock or an unexpected
// exception (allocation failure...) becomes an `internal` Status.
Result<icure::Patient> fhir_patient_to_icure(const json::value& fhir, const MappingContext& ctx) {
  if (!ctx.new_id || !ctx.now_ms) return Status::Internal("MappingContext has no new_id/now_ms");
  try {
    return patient_to_icure(fhir, ctx);
  } catch (const std::exception& e) {
    return Status::Internal(std::string("Patient mapping failed: ") + e.what());
  }
}

Result<json::object> icure_patient_to_fhir(const icure::Patient& patient,
                                           const MappingContext& ctx) {
  try {
    return patient_to_fhir(patient, ctx);
  } catch (const std::exception& e) {
    return Status::Internal(std::string("Patient mapping failed: ") + e.what());
  }
}

}  // namespace fhirbridge::mapping
