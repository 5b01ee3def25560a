// Maps a FHIR Patient with the installed engine and prints the iCure JSON.
#include <boost/json.hpp>

#include <iostream>

#include "fhirbridge/json_io.hpp"
#include "fhirbridge/mapping/patient.hpp"

int main() {
  auto fhir = boost::json::parse(R"({"resourceType":"Patient","id":"p1","gender":"female",
                                      "birthDate":"1974-12","name":[{"family":"Duck","given":["Daisy"]}]})");
  auto ctx = fhirbridge::mapping::make_fixed_context();
  auto patient = fhirbridge::mapping::fhir_patient_to_icure(fhir, ctx);
  if (!patient) {
    std::cerr << patient.status().to_string() << "\n";
    return 1;
  }
  std::cout << boost::json::serialize(fhirbridge::json_io::to_json(*patient)) << "\n";
  return patient->dateOfBirth == 19741200 ? 0 : 1;
}
