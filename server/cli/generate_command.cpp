// fhirbridge generate --patients N --observations-per-patient M [--seed S] > out.ndjson
// Synthetic FHIR NDJSON: each Patient followed by its Observations. The same
// seed always gives the same bytes.
#include <boost/json.hpp>
#include <boost/program_options.hpp>

#include <iostream>

#include "commands.hpp"
#include "count_option.hpp"
#include "fhirbridge/synthetic/generator.hpp"

namespace fhirbridge::cli {

namespace po = boost::program_options;

int generate_command(const std::vector<std::string>& args) {
  Count<std::size_t> patients{100}, per_patient{5};
  Count<std::uint64_t> seed{42};
  po::options_description opts("fhirbridge generate [options] > out.ndjson");
  opts.add_options()("help,h", "this help")(
      "patients", po::value(&patients)->default_value(patients), "number of patients")(
      "observations-per-patient", po::value(&per_patient)->default_value(per_patient),
      "observations of each patient")("seed", po::value(&seed)->default_value(seed),
                                      "PRNG seed (same seed, same output)");
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(opts).run(), vm);
    if (vm.count("help")) {
      std::cout << opts << "\n";
      return 0;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "fhirbridge generate: " << e.what() << "\n" << opts << "\n";
    return 2;
  }
  std::ios::sync_with_stdio(false);
  synthetic::Prng prng(seed.value);
  synthetic::Generator generator(prng);
  for (std::size_t i = 0; i < patients.value && std::cout; ++i) {
    const boost::json::object patient = generator.patient();
    std::cout << boost::json::serialize(patient) << '\n';
    const std::string id(patient.at("id").as_string());
    for (std::size_t k = 0; k < per_patient.value; ++k)
      std::cout << boost::json::serialize(generator.observation(id)) << '\n';
  }
  std::cout.flush();
  if (!std::cout) {
    std::cerr << "fhirbridge generate: cannot write the output\n";
    return 1;
  }
  return 0;
}

}  // namespace fhirbridge::cli
