// End-to-end over TLS: the real daemon with TLS on its MLLP source and its HTTP port, both
// configured from the config file. A client trusting the certificate gets its ACK and reads
// the record back over HTTPS; a plain-text client gets nothing.
#include <catch2/catch.hpp>

#include "adapters/common/mllp/mllp_client.h"
#include "tests/e2e/daemon_process.h"
#include "tests/e2e/e2e_support.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_tls.h"

using namespace phrgate::testing;

TEST_CASE("daemon: TLS on the MLLP source and on the HTTP port", "[e2e]") {
  TempDir dir;
  auto [cert, key] = write_self_signed_cert(dir.path());
  const std::string token = "tls-secret-token-0123456789";
  const std::string tls = R"({"cert_file": ")" + cert + R"(", "key_file": ")" + key + R"("})";
  std::string config = R"({
  "data_dir": ")" + dir.path() + R"(/data",
  "http": {"listen": "127.0.0.1", "port": 0, "tls": )" + tls + R"(,
           "tokens": [{"name": "t", "role": "admin", "token": ")" + token + R"("}]},
  "sources": [{"name": "emr", "type": "hl7v2_mllp", "listen": "127.0.0.1", "port": 0, "tls": )" + tls + R"(}],
  "sinks": [{"name": "phr", "type": "phr_store"}]})";
  DaemonProcess daemon(dir.path(), config);
  daemon.start();

  phrgate::mllp::MllpClientOptions opts;
  phrgate::mllp::MllpClientTlsOptions client_tls;
  client_tls.ca_file = cert;
  opts.tls = client_tls;
  phrgate::mllp::MllpClient client(opts);
  client.connect("127.0.0.1", daemon.source_port("emr"));
  std::string ack = client.send(oru_message("TLS-1", "TLS-MRN", "FTLS1", "88"));
  CHECK(segment_field(ack, "MSA", 1) == "AA");
  client.close();

  // Plain MLLP against the TLS listener: no ACK comes back.
  phrgate::mllp::MllpClientOptions plain_opts;
  plain_opts.reply_timeout = std::chrono::milliseconds(1500);
  phrgate::mllp::MllpClient plain(plain_opts);
  plain.connect("127.0.0.1", daemon.source_port("emr"));
  CHECK_THROWS(plain.send(oru_message("TLS-2", "TLS-MRN", "FTLS2", "89")));

  // HTTPS with certificate verification; plain HTTP fails.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  int total = 0;
  while (std::chrono::steady_clock::now() < deadline && total == 0) {
    auto r = http_request("127.0.0.1", daemon.http_port(), "GET", "/fhir/Patient?identifier=TLS-MRN", {},
                          {{"Authorization", "Bearer " + token}}, true, cert);
    REQUIRE(r.status == 200);
    total = r.body.find("\"total\":1") != std::string::npos ? 1 : 0;
    if (!total) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(total == 1);
  CHECK_THROWS(http_request("127.0.0.1", daemon.http_port(), "GET", "/healthz"));
  CHECK(daemon.running());
  CHECK(daemon.stop() == 0);
}
