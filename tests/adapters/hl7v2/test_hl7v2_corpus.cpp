// Corpus run of the HL7 v2 -> FHIR converter: every ADT^A01/A04/A08 and ORU^R01 message in
// <corpus>/hl7v2 (multi-message files split at "MSH" segment starts) must either convert to
// structurally valid FHIR (valid JSON, no empty values, Patient present and referenced,
// Provenance targeting everything) or fail with a clear error. Prints counts; exits 77 when
// the corpus is absent (ctest SKIP_RETURN_CODE), 1 when any output breaks the rules.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "adapters/common/hl7v2/hl7v2_message.h"
#include "adapters/hl7v2/hl7v2_to_fhir.h"
#include "tests/adapters/hl7v2/fhir_checks.h"

namespace fs = std::filesystem;
using namespace phrgate;

namespace {

bool is_alnum(char ch) {
  return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
}

// Splits a file into messages at every "MSH" + separator found at the start of a segment.
std::vector<std::string_view> split_messages(std::string_view text) {
  std::vector<std::size_t> starts;
  for (std::size_t i = 0; i + 3 < text.size(); ++i) {
    if (text.compare(i, 3, "MSH") != 0 || is_alnum(text[i + 3])) continue;
    const bool at_start = i == 0 || text[i - 1] == '\r' || text[i - 1] == '\n' ||
                          (i == 3 && text.substr(0, 3) == "\xEF\xBB\xBF");
    if (at_start) starts.push_back(i);
  }
  std::vector<std::string_view> out;
  for (std::size_t k = 0; k < starts.size(); ++k) {
    const std::size_t end = k + 1 < starts.size() ? starts[k + 1] : text.size();
    out.push_back(text.substr(starts[k], end - starts[k]));
  }
  return out;
}

}  // namespace

int main() {
  const char* env = std::getenv("PHRGATE_CORPUS");
  const fs::path root = (env && *env) ? fs::path(env) : fs::path(PHRGATE_CORPUS_DIR);
  const fs::path dir = root / "hl7v2";
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    std::printf("corpus not found at %s: skipped\n", dir.string().c_str());
    return 77;
  }
  std::vector<std::string> errors;
  auto maps = mapping::CodeMaps::load_dir(PHRGATE_MAPPINGS_DIR, &errors);
  if (!maps) {
    std::printf("cannot load mappings: %s\n", errors.empty() ? "?" : errors.front().c_str());
    return 1;
  }

  std::vector<fs::path> files;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_regular_file(ec)) files.push_back(it->path());
  std::sort(files.begin(), files.end());

  int messages = 0, unparsed = 0, other_types = 0, converted = 0, resources = 0, invalid = 0;
  std::map<std::string, int> rejected;  // "location: error" -> count
  std::map<std::string, int> by_type;
  for (const fs::path& file : files) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream buf;
    buf << in.rdbuf();
    const std::string text = buf.str();
    const auto parts = split_messages(text);
    for (std::size_t k = 0; k < parts.size(); ++k) {
      ++messages;
      hl7v2::ParseError perr;
      auto msg = hl7v2::Message::parse(parts[k], &perr);
      if (!msg) {
        ++unparsed;
        continue;
      }
      if (!hl7v2::is_supported(msg->header())) {
        ++other_types;
        continue;
      }
      const std::string type =
          std::string(msg->header().message_code) + "^" + std::string(msg->header().trigger_event);
      ++by_type[type];
      hl7v2::ConvertOptions opt;
      opt.source_name = "corpus";
      opt.code_maps = &*maps;
      hl7v2::ConvertResult r = hl7v2::convert_to_fhir(*msg, opt);
      const std::string where = fs::relative(file, dir).string() + " #" + std::to_string(k + 1);
      if (!r.ok) {
        if (r.error.empty() || r.error_location.empty()) {
          std::printf("UNCLEAR ERROR %s (%s)\n", where.c_str(), type.c_str());
          ++invalid;
        }
        ++rejected[r.error_location + ": " + r.error];
        std::printf("rejected  %s (%s): %s: %s\n", where.c_str(), type.c_str(),
                    r.error_location.c_str(), r.error.c_str());
        continue;
      }
      const std::string problem = test::check_result(r);
      if (!problem.empty()) {
        std::printf("INVALID   %s (%s): %s\n", where.c_str(), type.c_str(), problem.c_str());
        ++invalid;
        continue;
      }
      ++converted;
      resources += static_cast<int>(r.resources.size());
    }
  }
  std::printf("\nfiles %zu, messages %d (unparseable %d, other types %d)\n", files.size(), messages,
              unparsed, other_types);
  for (const auto& [type, n] : by_type) std::printf("  supported %-8s %d\n", type.c_str(), n);
  int total_rejected = 0;
  for (const auto& [reason, n] : rejected) total_rejected += n;
  std::printf("converted %d (%d resources), rejected %d, invalid output %d\n", converted, resources,
              total_rejected, invalid);
  for (const auto& [reason, n] : rejected) std::printf("  rejected %3d x %s\n", n, reason.c_str());
  return invalid == 0 ? 0 : 1;
}
