// fhirbridge: the command-line entry point; dispatches to one sub-command.
#include <cstring>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "commands.hpp"

namespace {

void usage(std::ostream& out) {
  out << "usage: fhirbridge <command> [options]\n"
         "  serve [--db FILE] [--listen 127.0.0.1:8080] [--demo] ...  run the FHIR server\n"
         "  map [--to icure|--to fhir] FILE|-                         map one resource\n"
         "  user add --login L --password-file F [--db FILE]          create a user\n"
         "  import [--db FILE] --login L --password-file P --key-file K FILE...  bulk "
         "NDJSON/Bundle import\n"
         "  export [--db FILE] --login L --password-file P --key-file K [--type "
         "Patient,Observation]\n"
         "  generate --patients N --observations-per-patient M [--seed S]  synthetic NDJSON\n"
         "  sync [--db FILE] --icure-url URL --login L ...            reconcile with a remote "
         "iCure\n"
         "Run `fhirbridge <command> --help` for a command's options.\n";
}

}  // namespace

int main(int argc, char** argv) {
  using Command = int (*)(const std::vector<std::string>&);
  const std::map<std::string, Command> commands{
      {"serve", fhirbridge::cli::serve_command},   {"map", fhirbridge::cli::map_command},
      {"user", fhirbridge::cli::user_command},     {"import", fhirbridge::cli::import_command},
      {"export", fhirbridge::cli::export_command}, {"generate", fhirbridge::cli::generate_command},
      {"sync", fhirbridge::cli::sync_command},
  };
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    usage(argc < 2 ? std::cerr : std::cout);
    return argc < 2 ? 2 : 0;
  }
  auto it = commands.find(argv[1]);
  if (it == commands.end()) {
    std::cerr << "fhirbridge: unknown command '" << argv[1] << "'\n";
    usage(std::cerr);
    return 2;
  }
  try {
    return it->second(std::vector<std::string>(argv + 2, argv + argc));
  } catch (const std::exception& e) {  // last line of defence: never die with a core dump
    std::cerr << "fhirbridge " << argv[1] << ": " << e.what() << "\n";
    return 1;
  }
}
