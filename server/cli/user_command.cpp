// `fhirbridge user add ...`: the logic lives in fhirbridge::storage (tested there).
#include <iostream>

#include "commands.hpp"
#include "fhirbridge/storage/user_admin.hpp"

namespace fhirbridge::cli {

int user_command(const std::vector<std::string>& args) {
  return storage::run_user_command(args, std::cout, std::cerr);
}

}  // namespace fhirbridge::cli
