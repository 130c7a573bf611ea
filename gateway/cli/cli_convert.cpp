// `phrgate convert FILE...`: offline conversion with the daemon's own converters and
// mapping tables. One FHIR R4 transaction Bundle per source message on stdout (NDJSON).
// A file that cannot be read or converted gets one line on stderr and makes the exit
// status 1, while the other files are still converted.
#include <cstdio>

#include "gateway/cli/commands.h"
#include "gateway/cli/read_file.h"
#include "gateway/mapping/code_map.h"
#include "gateway/pipeline/bundle.h"
#include "gateway/pipeline/registry.h"

#ifndef PHRGATE_DEFAULT_MAPPINGS_DIR
#define PHRGATE_DEFAULT_MAPPINGS_DIR "/usr/share/phrgate/mappings"
#endif

namespace phrgate::cli {

int cmd_convert(const std::vector<std::string>& args) {
  pipeline::ConvertInput base;
  base.source = "convert";
  base.uuid_references = true;
  std::string mappings_dir = PHRGATE_DEFAULT_MAPPINGS_DIR;
  std::vector<std::string> files;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--timezone" && i + 1 < args.size()) base.settings.default_zone = args[++i];
    else if (args[i] == "--mappings" && i + 1 < args.size()) mappings_dir = args[++i];
    else if (args[i].rfind("--", 0) == 0) {
      std::fprintf(stderr, "phrgate convert: unknown option %s\n", args[i].c_str());
      return 2;
    } else files.push_back(args[i]);
  }
  if (files.empty()) {
    std::fputs("usage: phrgate convert [--timezone Z|+HH:MM] [--mappings DIR] FILE...\n", stderr);
    return 2;
  }
  std::vector<std::string> errors;
  auto maps = mapping::CodeMaps::load_dir(mappings_dir, &errors);
  if (!maps) {
    for (const auto& e : errors) std::fprintf(stderr, "phrgate convert: %s\n", e.c_str());
    return 1;
  }
  base.code_maps = &*maps;
  pipeline::Registry registry;
  pipeline::register_builtin_adapters(registry);

  int status = 0;
  std::string out;
  for (const auto& path : files) {
    std::string text;
    if (!read_whole_file(path, text)) {
      std::fprintf(stderr, "%s: cannot read file\n", path.c_str());
      status = 1;
      continue;
    }
    // The whole text: a C-CDA document may open with a long comment before its root element.
    const auto* conv = registry.sniff(text);
    if (!conv) {
      std::fprintf(stderr, "%s: not a format phrgate converts (expected HL7 v2 starting with MSH, FHS or BHS, a C-CDA ClinicalDocument, or FHIR R4 JSON)\n", path.c_str());
      status = 1;
      continue;
    }
    pipeline::ConvertInput input = base;
    input.payload = text;
    auto results = conv->convert(input);
    std::size_t index = 0;
    for (const auto& r : results) {
      ++index;
      if (!r.ok) {
        std::fprintf(stderr, "%s: message %zu%s%s: %s\n", path.c_str(), index,
                     r.control_id.empty() ? "" : " control id ", r.control_id.c_str(), r.error.c_str());
        status = 1;
        continue;
      }
      out.clear();
      pipeline::append_transaction_bundle(out, r.resources);
      out.push_back('\n');
      std::fwrite(out.data(), 1, out.size(), stdout);
    }
  }
  std::fflush(stdout);
  return status;
}

}  // namespace phrgate::cli
