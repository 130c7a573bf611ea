// Corpus smoke test: every .xml under <corpus>/ccda whose root is a CDA ClinicalDocument
// must convert without throwing, with a Patient, and pass the structural checks. Prints
// counts. Skipped (WARN, early return) when the corpus is absent.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>

#include "adapters/ccda/secure_xml.h"
#include "tests/adapters/ccda/ccda_test_support.h"

namespace fs = std::filesystem;
using namespace phrgate::ccda;

TEST_CASE("every ClinicalDocument of the corpus converts with a Patient", "[ccda][corpus]") {
  const char* env = std::getenv("PHRGATE_CORPUS");
  const fs::path dir = fs::path(env && *env ? env : PHRGATE_CORPUS_DIR) / "ccda";
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    WARN("corpus not found at " << dir.string() << ": skipped");
    return;
  }
  std::vector<fs::path> files;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_regular_file(ec) && it->path().extension() == ".xml") files.push_back(it->path());
  std::sort(files.begin(), files.end());
  int documents = 0, not_cda = 0, converted = 0, resources = 0;
  std::map<std::string, int> failures;
  std::map<std::string, int> refused;
  CcdaConvertStats total;
  const auto start = std::chrono::steady_clock::now();
  for (const auto& f : files) {
    const std::string xml = test::read_text(f.string());
    std::string error;
    XmlDocPtr doc = parse_secure_xml(xml, {}, error);
    if (!doc || !check_ccda_root(doc.get()).empty()) {
      ++not_cda;
      // Files that look like documents but are refused: reported (hostile or broken samples).
      if (xml.find("<ClinicalDocument") != std::string::npos)
        ++refused[(doc ? check_ccda_root(doc.get()) : error).substr(0, 70)];
      continue;
    }
    ++documents;
    CcdaConvertStats stats;
    phrgate::pipeline::ConvertedMessage m;
    REQUIRE_NOTHROW(m = test::convert(xml, &stats));
    // CDA requires effectiveTime; a sample without any time gets no Provenance.
    const bool timed = xml.find("<effectiveTime") != std::string::npos || xml.find("<time ") != std::string::npos;
    const std::string problem = test::check_structure(m, false, timed);
    if (!problem.empty()) {
      ++failures[problem.substr(0, 80)];
      UNSCOPED_INFO(f.string() << ": " << problem);
      continue;
    }
    ++converted;
    resources += static_cast<int>(m.resources.size());
    total.sections_converted += stats.sections_converted;
    total.sections_unknown += stats.sections_unknown;
    total.sections_narrative += stats.sections_narrative;
    total.entries_converted += stats.entries_converted;
    total.entries_skipped += stats.entries_skipped;
    total.entries_failed += stats.entries_failed;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  WARN("C-CDA corpus: " << files.size() << " .xml files, " << documents << " ClinicalDocuments ("
                        << not_cda << " other), " << converted << " converted, " << resources
                        << " resources; sections converted " << total.sections_converted << ", unknown "
                        << total.sections_unknown << ", narrative-only " << total.sections_narrative
                        << "; entries converted " << total.entries_converted << ", skipped "
                        << total.entries_skipped << ", failed " << total.entries_failed << "; "
                        << seconds << " s");
  for (const auto& [what, n] : failures) WARN(n << " x " << what);
  for (const auto& [what, n] : refused) WARN("refused before conversion: " << n << " x " << what);
  CHECK(documents > 0);
  CHECK(converted == documents);
}
