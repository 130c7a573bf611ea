// `phrgate mappings check DIR`: validates a mapping table directory offline with the daemon's
// own loader (CodeMaps::load_dir via check_mapping_dir), so what passes here also loads on
// start-up and reload. Prints every problem as FILE:LINE: message on stderr; exit 1 on any
// error, else 0 and a one-line summary on stdout. Reads files only; never writes anything.
#include <cstdio>

#include "gateway/cli/commands.h"
#include "gateway/mapping/code_map_check.h"

namespace phrgate::cli {
namespace {

constexpr const char* kUsage =
    "usage: phrgate mappings check DIR\n"
    "  validate the mapping tables under DIR (every *.csv, code_systems.csv as the registry\n"
    "  of target systems) exactly as the daemon loads them; see docs/mappings.md\n";

int check(const std::string& dir) {
  std::string prefix = dir;
  if (!prefix.empty() && prefix.back() != '/') prefix.push_back('/');
  const mapping::LoadReport report = mapping::check_mapping_dir(dir, prefix);
  for (const auto& w : report.warnings) std::fprintf(stderr, "%s\n", w.c_str());
  for (const auto& e : report.errors) std::fprintf(stderr, "%s\n", e.c_str());
  if (!report.ok()) {
    std::fprintf(stderr, "%zu error(s) in %zu tables, %zu rows\n",
                 report.errors.size() + report.errors_not_shown, report.tables, report.rows);
    return 1;
  }
  std::printf("%zu tables, %zu rows, OK\n", report.tables, report.rows);
  return 0;
}

}  // namespace

int cmd_mappings(const std::vector<std::string>& args) {
  if (args.size() == 2 && args[0] == "check") return check(args[1]);
  if (args.size() == 1 && (args[0] == "--help" || args[0] == "-h" || args[0] == "help")) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  std::fputs(kUsage, stderr);
  return 2;
}

}  // namespace phrgate::cli
