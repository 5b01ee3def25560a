// Sub-commands of the `fhirbridge` executable, one file each. `args` excludes
// the program and sub-command names. Each returns the process exit code and
// prints errors (with the offending field path) on stderr.
#pragma once

#include <string>
#include <vector>

namespace fhirbridge::cli {

int map_command(const std::vector<std::string>& args);  // map [--to icure|--to fhir] FILE|-
int serve_command(
    const std::vector<std::string>& args);  // serve [--db F] [--listen H:P] [--demo] ...
int user_command(
    const std::vector<std::string>& args);  // user add --login L --password-file F [--db F]
// Bulk data (docs/bulk.md): import/export FHIR NDJSON, generate synthetic NDJSON.
int import_command(const std::vector<std::string>& args);  // import [--db F] --login L ... FILE...
int export_command(
    const std::vector<std::string>& args);  // export [--db F] --login L ... [--type T,U]
int generate_command(const std::vector<std::string>& args);  // generate --patients N ... [--seed S]
// Offline-first (docs/sync.md): push a local store to a remote iCure and pull back.
int sync_command(const std::vector<std::string>& args);  // sync [--db F] --icure-url URL ...

}  // namespace fhirbridge::cli
