// phrgate: entry point. Dispatches to the subcommands in gateway/cli/.
#include <cstdio>
#include <string>
#include <vector>

#include "gateway/cli/commands.h"

namespace {
constexpr const char* kUsage =
    "usage: phrgate <command> [options]\n"
    "\n"
    "  run --config FILE            run the daemon\n"
    "  check-config FILE            validate a config file (no sockets, no data files)\n"
    "  convert [--timezone Z|+HH:MM] [--mappings DIR] FILE...\n"
    "                               convert HL7 v2 files offline: one FHIR R4 Bundle per\n"
    "                               message, as newline-delimited JSON on stdout\n"
    "  send --port N [--host H] [--tls-ca FILE] FILE...\n"
    "                               send HL7 v2 messages over MLLP, print each ACK's MSA\n"
    "  mappings check DIR           validate mapping tables offline, as the daemon loads them\n"
    "  version                      print the version\n";
}

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  std::string cmd = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  using namespace phrgate::cli;
  if (cmd == "run") return cmd_run(args);
  if (cmd == "check-config") return cmd_check_config(args);
  if (cmd == "convert") return cmd_convert(args);
  if (cmd == "send") return cmd_send(args);
  if (cmd == "mappings") return cmd_mappings(args);
  if (cmd == "version" || cmd == "--version") return cmd_version();
  if (cmd == "help" || cmd == "--help" || cmd == "-h") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  std::fprintf(stderr, "phrgate: unknown command \"%s\"\n\n%s", cmd.c_str(), kUsage);
  return 2;
}
