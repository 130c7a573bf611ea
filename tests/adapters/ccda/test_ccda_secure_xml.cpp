// Hostile and malformed XML against the secure C-CDA parser (secure_xml.h) and the
// converter: XXE, billion laughs, external DTD, oversize, deep nesting, wrong or missing
// namespace, not XML, truncated. Each must be refused with a clear error, quickly, without
// output on stderr and without reading files or the network.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <unistd.h>

#include "adapters/ccda/secure_xml.h"
#include "tests/adapters/ccda/ccda_test_support.h"

using namespace phrgate::ccda;

namespace {

const char* kMinimal =
    "<ClinicalDocument xmlns=\"urn:hl7-org:v3\"><id root=\"1.2.3\" extension=\"d1\"/></ClinicalDocument>";

std::optional<std::string> check(const std::string& xml, std::size_t max_bytes = 20u << 20, int depth = 200) {
  CcdaCheckOptions o;
  o.max_bytes = max_bytes;
  o.max_depth = depth;
  return check_ccda_document(xml, o);
}

// Runs `fn` with stderr redirected to a temp file; returns what was written there.
template <class Fn>
std::string captured_stderr(Fn fn) {
  std::fflush(stderr);
  char path[] = "/tmp/ccda_stderr_XXXXXX";
  const int fd = mkstemp(path);
  const int saved = dup(2);
  dup2(fd, 2);
  fn();
  std::fflush(stderr);
  dup2(saved, 2);
  close(saved);
  close(fd);
  std::string out = test::read_text(path);
  std::remove(path);
  return out;
}

}  // namespace

TEST_CASE("a minimal ClinicalDocument passes the check", "[ccda][secure]") {
  CHECK_FALSE(check(kMinimal).has_value());
  CHECK_FALSE(check(std::string("\xEF\xBB\xBF") + "<?xml version=\"1.0\"?>\n" + kMinimal).has_value());
}

TEST_CASE("XXE with a SYSTEM entity is refused before any file is read", "[ccda][secure]") {
  const std::string xxe =
      "<?xml version=\"1.0\"?>\n<!DOCTYPE ClinicalDocument [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n"
      "<ClinicalDocument xmlns=\"urn:hl7-org:v3\"><title>&xxe;</title></ClinicalDocument>";
  auto err = check(xxe);
  REQUIRE(err.has_value());
  CHECK(err->find("DOCTYPE") != std::string::npos);
  CHECK(err->find("root:") == std::string::npos);  // nothing of /etc/passwd
  auto m = test::convert(xxe);
  CHECK_FALSE(m.ok);
  CHECK(m.error.find("DOCTYPE") != std::string::npos);
}

TEST_CASE("billion laughs is refused without expansion", "[ccda][secure]") {
  std::string bomb = "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n<!ENTITY lol \"lol\">\n";
  bomb += "<!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n";
  for (int i = 2; i <= 9; ++i) {
    bomb += "<!ENTITY lol" + std::to_string(i) + " \"";
    for (int k = 0; k < 10; ++k) bomb += "&lol" + std::to_string(i - 1) + ";";
    bomb += "\">\n";
  }
  bomb += "]>\n<ClinicalDocument xmlns=\"urn:hl7-org:v3\"><title>&lol9;</title></ClinicalDocument>";
  auto err = check(bomb);
  REQUIRE(err.has_value());
  CHECK(err->find("DOCTYPE") != std::string::npos);
}

TEST_CASE("an external DTD is refused and never fetched", "[ccda][secure]") {
  const std::string xml =
      "<?xml version=\"1.0\"?>\n<!DOCTYPE ClinicalDocument SYSTEM \"http://127.0.0.1:9/cda.dtd\">\n"
      "<ClinicalDocument xmlns=\"urn:hl7-org:v3\"/>";
  auto err = check(xml);
  REQUIRE(err.has_value());
  CHECK(err->find("DOCTYPE") != std::string::npos);
  const std::string param_entity =
      "<!DOCTYPE x [<!ENTITY % ext SYSTEM \"file:///etc/hostname\"> %ext;]><ClinicalDocument xmlns=\"urn:hl7-org:v3\"/>";
  CHECK(check(param_entity).has_value());
}

TEST_CASE("a document over the size cap is refused before parsing", "[ccda][secure]") {
  std::string big = "<ClinicalDocument xmlns=\"urn:hl7-org:v3\"><title>";
  big.append(2000, 'x');
  big += "</title></ClinicalDocument>";
  auto err = check(big, 1000);
  REQUIRE(err.has_value());
  CHECK(err->find("over the limit of 1000 bytes") != std::string::npos);
  CHECK_FALSE(check(big, 1u << 20).has_value());
  // The converter has the same default cap (20 MB).
  std::string huge(21u << 20, ' ');
  huge.replace(0, 17, "<ClinicalDocument");
  auto m = test::convert(huge);
  CHECK_FALSE(m.ok);
  CHECK(m.error.find("over the limit") != std::string::npos);
}

TEST_CASE("10,000-deep nesting is refused at the depth limit", "[ccda][secure]") {
  std::string deep = "<ClinicalDocument xmlns=\"urn:hl7-org:v3\">";
  for (int i = 0; i < 10000; ++i) deep += "<a>";
  for (int i = 0; i < 10000; ++i) deep += "</a>";
  deep += "</ClinicalDocument>";
  auto err = check(deep);
  REQUIRE(err.has_value());
  CHECK(err->find("deeper than 200") != std::string::npos);
  std::string shallow = "<ClinicalDocument xmlns=\"urn:hl7-org:v3\">";
  for (int i = 0; i < 150; ++i) shallow += "<a>";
  for (int i = 0; i < 150; ++i) shallow += "</a>";
  shallow += "</ClinicalDocument>";
  CHECK_FALSE(check(shallow).has_value());
  CHECK(check(shallow, 20u << 20, 100).has_value());
}

TEST_CASE("namespaces are matched by URI, not by prefix", "[ccda][secure]") {
  SECTION("wrong namespace") {
    auto err = check("<ClinicalDocument xmlns=\"urn:hl7-org:v2\"/>");
    REQUIRE(err.has_value());
    CHECK(err->find("urn:hl7-org:v3") != std::string::npos);
  }
  SECTION("no namespace") { CHECK(check("<ClinicalDocument/>").has_value()); }
  SECTION("another root") {
    auto err = check("<Bundle xmlns=\"urn:hl7-org:v3\"/>");
    REQUIRE(err.has_value());
    CHECK(err->find("not a CDA ClinicalDocument") != std::string::npos);
  }
  SECTION("a prefix other than the default is fine") {
    CHECK_FALSE(check("<v3:ClinicalDocument xmlns:v3=\"urn:hl7-org:v3\"><v3:id root=\"1.2\"/></v3:ClinicalDocument>")
                    .has_value());
  }
  SECTION("the usual prefix bound to another URI is refused") {
    CHECK(check("<hl7:ClinicalDocument xmlns:hl7=\"urn:example:not-v3\"/>").has_value());
  }
}

TEST_CASE("not XML, truncated XML and empty input are refused with a line number", "[ccda][secure]") {
  auto not_xml = check("MSH|^~\\&|SENDER|FAC|RCV|FAC|20240101||ADT^A01|1|P|2.5\r");
  REQUIRE(not_xml.has_value());
  CHECK(not_xml->find("not well-formed") != std::string::npos);
  auto truncated = check("<ClinicalDocument xmlns=\"urn:hl7-org:v3\">\n<recordTarget>\n<patientRole>");
  REQUIRE(truncated.has_value());
  CHECK(truncated->find("line") != std::string::npos);
  CHECK(check("").has_value());
  CHECK(check("{\"resourceType\":\"Bundle\"}").has_value());
}

TEST_CASE("parse errors never reach stderr", "[ccda][secure]") {
  const std::string err_text = captured_stderr([] {
    check("<ClinicalDocument xmlns=\"urn:hl7-org:v3\"><a></b></ClinicalDocument>");
    check("<!DOCTYPE x [<!ENTITY e \"x\">]><x>&e;</x>");
    check("\x01\x02 not xml");
    test::convert("<ClinicalDocument xmlns=\"urn:hl7-org:v3\"><unclosed>");
  });
  CHECK(err_text.empty());
}

TEST_CASE("the CDA R2 schema validates when the corpus has it", "[ccda][secure][corpus]") {
  const char* env = std::getenv("PHRGATE_CORPUS");
  const std::filesystem::path root = env && *env ? env : PHRGATE_CORPUS_DIR;
  const auto xsd = root / "schemas/cda/HL7-CDA-core-2.0/schema/extensions/SDTC/infrastructure/cda/CDA_SDTC.xsd";
  if (!std::filesystem::exists(xsd)) {
    WARN("CDA schema not found under the corpus: skipped");
    return;
  }
  CcdaCheckOptions o;
  o.schema_path = xsd.string();
  const std::string good = test::document_with({"allergies", "results"});
  CHECK(check_ccda_document(good, o) == std::nullopt);
  std::string bad = good;
  bad.replace(bad.find("<title>Continuity"), 6, "<bogus/><title>");
  auto err = check_ccda_document(bad, o);
  REQUIRE(err.has_value());
  CHECK(err->find("schema") != std::string::npos);
  CHECK(err->find("line") != std::string::npos);
}
