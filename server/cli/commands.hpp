// Sub-commands of the `fhirbridge` executable, one file each. `args` excludes
// the program and sub-command names. Each returns the process exit code and
// prints errors (with the offending field path) on stderr.
#pragma once

#include <string>
#include <vector>

namespace fhirbridge::cli {

int map_command(const std::vector<std::string>& args);    // map [--to icure|--to fhir] FILE|-
int serve_command(const std::vector<std::string>& args);  // serve [--db F] [--listen H:P] [--demo] ...
int user_command(const std::vector<std::string>& args);   // user add --login L --password-file F [--db F]

}  // namespace fhirbridge::cli
