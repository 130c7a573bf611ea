// FhirHttpClient against the Node FHIR test server on 127.0.0.1 (real sockets): bearer,
// client credentials (Basic and body), SMART Backend RS384/ES384, token caching and the
// 401-refresh-retry, keep-alive reuse, Retry-After, HTTPS with certificate and address
// verification, and transport errors. Skipped (with a warning) when node/npm is unavailable.
#include <catch2/catch.hpp>

#include <thread>

#include "adapters/common/fhir_client/fhir_http_client.h"
#include "tests/adapters/fhir_client/test_keys.h"
#include "tests/support/fhir_test_server/fhir_test_server.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_tls.h"

using namespace phrgate::fhir_client;
using phrgate::testing::FhirTestServer;
using phrgate::testing::FhirTestServerOptions;

namespace {

const char* kPatient = R"({"resourceType":"Patient","identifier":[{"system":"urn:test","value":"p1"}]})";

#define SKIP_WITHOUT_SERVER()                                          \
  if (!FhirTestServer::available()) {                                  \
    WARN("skipped: node/npm or the npm registry is not available");    \
    return;                                                            \
  }

}  // namespace

TEST_CASE("client credentials: token fetched once, cached, refreshed after a 401", "[fhir_client][adapter]") {
  SKIP_WITHOUT_SERVER();
  FhirTestServerOptions so;
  so.require_auth = true;
  so.clients = {{"app one", "s3cret:&="}};
  FhirTestServer server(so);
  server.start();

  bool in_body = GENERATE(false, true);
  ClientOptions o{server.base_url()};
  o.auth.kind = AuthKind::ClientCredentials;
  o.auth.token_url = server.token_url();
  o.auth.client_id = "app one";
  o.auth.client_secret = "s3cret:&=";
  o.auth.credentials_in_body = in_body;
  o.auth.scope = "system/*.write";
  FhirHttpClient client(o);

  auto created = client.request("POST", "Patient", kPatient);
  INFO(created.error);
  REQUIRE(created.error.empty());
  CHECK(created.status == 201);
  for (int i = 0; i < 3; ++i) CHECK(client.get("Patient?identifier=urn:test|p1").status == 200);
  CHECK(client.tokens_fetched() == 1);
  CHECK(client.connections_opened() == 1);  // token endpoint and FHIR share the origin: one keep-alive connection

  server.revoke_tokens();
  CHECK(client.get("Patient").status == 200);
  CHECK(client.tokens_fetched() == 2);

  ClientOptions wrong = o;
  wrong.auth.client_secret = "nope";
  FhirHttpClient bad(wrong);
  auto r = bad.get("Patient");
  CHECK(r.status == 0);
  CHECK(r.error.find("HTTP 401") != std::string::npos);
}

TEST_CASE("bearer tokens are sent as given; a wrong one gets the 401", "[fhir_client][adapter]") {
  SKIP_WITHOUT_SERVER();
  FhirTestServerOptions so;
  so.require_auth = true;
  FhirTestServer server(so);
  server.start();
  ClientOptions o{server.base_url()};
  o.auth.kind = AuthKind::Bearer;
  o.auth.token = "not-issued";
  FhirHttpClient client(o);
  auto r = client.get("Patient");
  CHECK(r.status == 401);
  CHECK(r.error.empty());
  CHECK(client.tokens_fetched() == 0);
}

TEST_CASE("SMART Backend Services with RS384 and ES384 keys", "[fhir_client][adapter]") {
  SKIP_WITHOUT_SERVER();
  phrgate::testing::TempDir dir;
  auto rsa = phrgate::testing::write_key_pair(dir.path(), false, "rsa");
  auto ec = phrgate::testing::write_key_pair(dir.path(), true, "ec");
  auto other = phrgate::testing::write_key_pair(dir.path(), true, "other");
  FhirTestServerOptions so;
  so.require_auth = true;
  so.smart_clients = {{"rsa-client", rsa.second}, {"ec-client", ec.second}, {"other-client", ec.second}};
  FhirTestServer server(so);
  server.start();

  bool use_ec = GENERATE(false, true);
  ClientOptions o{server.base_url()};
  o.auth.kind = AuthKind::SmartBackend;
  o.auth.token_url = server.token_url();
  o.auth.client_id = use_ec ? "ec-client" : "rsa-client";
  o.auth.private_key_file = use_ec ? ec.first : rsa.first;
  o.auth.alg = use_ec ? JwtAlg::ES384 : JwtAlg::RS384;
  o.auth.key_id = "kid-1";
  FhirHttpClient client(o);
  auto r = client.request("POST", "Patient", kPatient);
  REQUIRE(r.error.empty());
  CHECK(r.status == 201);
  server.revoke_tokens();  // a fresh assertion (new jti) gets a new token
  CHECK(client.get("Patient").status == 200);
  CHECK(client.tokens_fetched() == 2);

  // Signed with a key the server does not know for that client: no token.
  ClientOptions forged = o;
  forged.auth.client_id = "other-client";
  forged.auth.private_key_file = other.first;
  forged.auth.alg = JwtAlg::ES384;
  FhirHttpClient bad(forged);
  auto denied = bad.get("Patient");
  CHECK(denied.status == 0);
  CHECK(denied.error.find("401") != std::string::npos);
}

TEST_CASE("Retry-After of a 503 is parsed; transport errors are reported, not thrown", "[fhir_client][adapter]") {
  SKIP_WITHOUT_SERVER();
  FhirTestServer server(FhirTestServerOptions{});
  server.start();
  FhirHttpClient client(ClientOptions{server.base_url()});
  server.set_faults(R"({"fail_next":1,"fail_status":503,"retry_after":7})");
  auto r = client.get("Patient");
  CHECK(r.status == 503);
  REQUIRE(r.retry_after.has_value());
  CHECK(r.retry_after->count() == 7);
  CHECK(client.get("Patient").status == 200);

  uint16_t port = server.port();
  server.stop();
  ClientOptions o{"http://127.0.0.1:" + std::to_string(port) + "/fhir"};
  o.connect_timeout = std::chrono::milliseconds(2000);
  FhirHttpClient down(o);
  auto e = down.get("Patient");
  CHECK(e.status == 0);
  CHECK(e.error.find("connect") != std::string::npos);
}

TEST_CASE("a stalled server costs at most the request timeout", "[fhir_client][adapter]") {
  SKIP_WITHOUT_SERVER();
  FhirTestServer server(FhirTestServerOptions{});
  server.start();
  server.set_faults(R"({"delay_ms":3000})");
  ClientOptions o{server.base_url()};
  o.request_timeout = std::chrono::milliseconds(300);
  FhirHttpClient client(o);
  auto r = client.get("Patient");
  CHECK(r.status == 0);
  CHECK(r.error.find("timed out") != std::string::npos);
}

TEST_CASE("cancel() ends a request in flight at once (shutdown)", "[fhir_client][adapter]") {
  SKIP_WITHOUT_SERVER();
  FhirTestServer server(FhirTestServerOptions{});
  server.start();
  server.set_faults(R"({"delay_ms":20000})");
  FhirHttpClient client(ClientOptions{server.base_url()});
  HttpResult r;
  std::thread t([&] { r = client.get("Patient"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  client.cancel();
  t.join();  // would take 20 s (the server's delay) without the cancel
  CHECK(r.status == 0);
  CHECK(r.error.find("cancelled") != std::string::npos);
  CHECK(client.get("Patient").error == "cancelled");
}

TEST_CASE("HTTPS verifies the certificate and the address it names", "[fhir_client][adapter]") {
  SKIP_WITHOUT_SERVER();
  phrgate::testing::TempDir dir;
  auto [cert, key] = phrgate::testing::write_self_signed_cert(dir.path());
  FhirTestServerOptions so;
  so.tls_cert_file = cert;
  so.tls_key_file = key;
  FhirTestServer server(so);
  server.start();
  std::string port = std::to_string(server.port());

  ClientOptions trusted{"https://127.0.0.1:" + port + "/fhir"};
  trusted.ca_file = cert;
  FhirHttpClient ok(trusted);
  auto r = ok.request("POST", "Patient", kPatient);
  CHECK(r.error.empty());
  CHECK(r.status == 201);

  ClientOptions by_name{"https://localhost:" + port + "/fhir"};
  by_name.ca_file = cert;
  CHECK(FhirHttpClient(by_name).get("Patient").status == 200);

  FhirHttpClient untrusted(ClientOptions{"https://127.0.0.1:" + port + "/fhir"});
  auto u = untrusted.get("Patient");
  CHECK(u.status == 0);
  CHECK(u.error.find("handshake") != std::string::npos);

  // The certificate names 127.0.0.1 and localhost, not 127.0.0.2 (which also reaches the server).
  ClientOptions wrong_host{"https://127.0.0.2:" + port + "/fhir"};
  wrong_host.ca_file = cert;
  auto w = FhirHttpClient(wrong_host).get("Patient");
  CHECK(w.status == 0);
}

TEST_CASE("polling: search pages are followed through absolute next links, with the token", "[fhir_client][adapter]") {
  SKIP_WITHOUT_SERVER();
  FhirTestServerOptions so;
  so.require_auth = true;
  so.clients = {{"poller", "pw"}};
  FhirTestServer server(so);
  server.start();
  ClientOptions o{server.base_url()};
  o.auth.kind = AuthKind::ClientCredentials;
  o.auth.token_url = server.token_url();
  o.auth.client_id = "poller";
  o.auth.client_secret = "pw";
  FhirHttpClient client(o);
  for (int i = 0; i < 5; ++i) REQUIRE(client.request("POST", "Patient", kPatient).status == 201);

  std::string url = "Patient?_count=2";
  int pages = 0;
  std::size_t seen = 0;
  while (pages < 10) {
    auto r = client.get(url);
    REQUIRE(r.status == 200);
    ++pages;
    for (std::size_t pos = 0; (pos = r.body.find("\"resourceType\":\"Patient\"", pos)) != std::string::npos; ++pos) ++seen;
    auto next = bundle_next_link(r.body);
    if (!next) break;
    CHECK(next->rfind("http://127.0.0.1:", 0) == 0);
    url = *next;
  }
  CHECK(pages == 3);
  CHECK(seen == 5);
  CHECK(client.tokens_fetched() == 1);
}
