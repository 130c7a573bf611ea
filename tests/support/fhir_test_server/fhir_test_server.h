// FhirTestServer: starts and stops tests/support/fhir_test_server/fhir_test_server.cjs (a Node
// FHIR R4 server with an OAuth2 token endpoint and fault knobs) for Catch2 tests, on 127.0.0.1
// with an ephemeral port that a restart keeps. Test-only; never linked into the daemon.
// available() is false (tests then skip) when node, npm or the npm registry is missing.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace phrgate::testing {

struct FhirTestServerOptions {
  std::string data_file;  // persisted resources (kept across restarts); empty: memory only
  bool require_auth = false;
  std::vector<std::pair<std::string, std::string>> clients;        // client_credentials id, secret
  std::vector<std::pair<std::string, std::string>> smart_clients;  // id, public key PEM file
  int token_lifetime_s = 300;
  std::string tls_cert_file;  // https when set
  std::string tls_key_file;
};

class FhirTestServer {
 public:
  // Installs the npm dependencies once per process (install_fhir_test_server.sh); false when
  // that is impossible here (the caller skips its test).
  static bool available();

  explicit FhirTestServer(FhirTestServerOptions options);
  ~FhirTestServer();  // stops the server
  FhirTestServer(const FhirTestServer&) = delete;
  FhirTestServer& operator=(const FhirTestServer&) = delete;

  // Starts the process (the previous port when restarting); throws std::runtime_error.
  void start();
  // SIGKILL (a crash) or SIGTERM, then waits for the process.
  void stop(bool kill = false);
  bool running() const { return pid_ > 0; }

  uint16_t port() const { return port_; }
  std::string origin() const;    // "http://127.0.0.1:PORT"
  std::string base_url() const;  // origin() + "/fhir"
  std::string token_url() const; // origin() + "/auth/token"

  // Admin calls (plain JSON texts); throw std::runtime_error on failure.
  std::string stats_json();
  void set_faults(const std::string& json);
  void revoke_tokens();
  // Number of resources of `type` on the server (from /admin/stats).
  int64_t count(const std::string& type);
  // The accepted transactions' entry request lines, in arrival order.
  std::vector<std::vector<std::string>> transaction_log();

 private:
  std::string admin(const std::string& method, const std::string& target, const std::string& body);
  FhirTestServerOptions options_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

}  // namespace phrgate::testing
