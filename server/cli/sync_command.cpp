// fhirbridge sync: placeholder until the sync command lands.
#include <iostream>

#include "commands.hpp"

namespace fhirbridge::cli {

int sync_command(const std::vector<std::string>&) {
  std::cerr << "fhirbridge sync: not implemented yet\n";
  return 2;
}

}  // namespace fhirbridge::cli
