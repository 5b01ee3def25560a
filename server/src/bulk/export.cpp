// Bulk NDJSON export: see fhirbridge/server/bulk.hpp and docs/bulk.md.
#include <ostream>

#include "fhirbridge/mapping/observation.hpp"
#include "fhirbridge/mapping/patient.hpp"
#include "fhirbridge/server/bulk.hpp"

namespace fhirbridge::server::bulk {

namespace json = boost::json;

namespace {

void write_line(std::ostream& out, const json::object& resource) {
  out << json::serialize(resource) << '\n';
}

// Pages through find_patients / find_contacts with the store's cursor.
template <typename Query, typename Find, typename Each>
Status for_each_page(Query query, std::size_t page_size, Find find, Each each) {
  query.page.limit = page_size == 0 ? 1000 : page_size;
  query.page.count_up_to = 0;  // streamed to the end: counting would cost a scan per page
  for (;;) {
    auto page = find(query);
    if (!page.ok()) return page.status();
    for (const auto& item : page->items) FHIRBRIDGE_RETURN_IF_ERROR(each(item));
    if (!page->next_cursor || page->items.empty()) return {};
    query.page.cursor = *page->next_cursor;
  }
}

}  // namespace

std::string ExportSummary::to_string() const {
  return detail::counted(patients, "patient") + ", " + detail::counted(observations, "observation");
}

Result<ExportSummary> export_ndjson(storage::Store& store, const storage::Principal& who,
                                    const mapping::MappingContext& mapping, std::ostream& out,
                                    const ExportOptions& options) {
  for (const auto& type : options.types)
    if (type != "Patient" && type != "Observation")
      return Status(StatusCode::not_supported,
                    "cannot export '" + type + "' (supported: Patient, Observation)", "--type");
  ExportSummary summary;
  std::vector<storage::DateCondition> last_updated;
  if (options.since_ms) last_updated.push_back(storage::DateCondition{options.since_ms, {}});
  storage::PatientQuery patients;
  patients.last_updated = last_updated;
  storage::ContactQuery contacts;
  contacts.last_updated = last_updated;
  try {
    for (const auto& type : options.types) {
      if (type == "Patient") {
        FHIRBRIDGE_RETURN_IF_ERROR(for_each_page(
            patients, options.page_size,
            [&](const storage::PatientQuery& q) { return store.find_patients(who, q); },
            [&](const icure::Patient& patient) -> Status {
              auto fhir = mapping::icure_patient_to_fhir(patient, mapping);
              if (!fhir.ok()) return fhir.status();
              write_line(out, *fhir);
              ++summary.patients;
              return {};
            }));
      } else {
        FHIRBRIDGE_RETURN_IF_ERROR(for_each_page(
            contacts, options.page_size,
            [&](const storage::ContactQuery& q) { return store.find_contacts(who, q); },
            [&](const storage::ContactRecord& record) -> Status {
              auto fhir =
                  mapping::icure_observation_to_fhir(record.contact, record.patient_id, mapping);
              if (!fhir.ok()) return fhir.status();
              write_line(out, *fhir);
              ++summary.observations;
              return {};
            }));
      }
      if (!out) return Status::Internal("cannot write the export (disk full or closed pipe?)");
    }
  } catch (const std::exception& e) {
    return Status::Internal(std::string("export failed: ") + e.what());
  }
  out.flush();
  return summary;
}

}  // namespace fhirbridge::server::bulk
