// Launcher for the Node FHIR test server (see fhir_test_server.h): fork/exec of node with the
// server script, the port read from its first stdout line within a deadline, admin calls over
// plain HTTP on 127.0.0.1. Test-only.
#include "tests/support/fhir_test_server/fhir_test_server.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <rapidjson/document.h>

#include "tests/support/http_client.h"

namespace phrgate::testing {
namespace {

std::string& modules_dir() {
  static std::string dir;
  return dir;
}

}  // namespace

bool FhirTestServer::available() {
  static std::once_flag once;
  static bool ok = false;
  std::call_once(once, [] {
    std::string cmd = std::string(PHRGATE_FHIR_TEST_SERVER_DIR) + "/install_fhir_test_server.sh";
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) return;
    char buf[4096];
    std::string out;
    while (std::fgets(buf, sizeof buf, p)) out += buf;
    int rc = pclose(p);
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    if (rc == 0 && !out.empty()) {
      modules_dir() = out;
      ok = true;
    }
  });
  return ok;
}

FhirTestServer::FhirTestServer(FhirTestServerOptions options) : options_(std::move(options)) {}

FhirTestServer::~FhirTestServer() { stop(); }

void FhirTestServer::start() {
  if (pid_ > 0) return;
  if (!available()) throw std::runtime_error("FHIR test server unavailable (node/npm/registry)");
  std::vector<std::string> args = {"node", std::string(PHRGATE_FHIR_TEST_SERVER_DIR) + "/fhir_test_server.cjs",
                                   "--modules", modules_dir(), "--port", std::to_string(port_),
                                   "--token-lifetime", std::to_string(options_.token_lifetime_s)};
  if (!options_.data_file.empty()) args.insert(args.end(), {"--data", options_.data_file});
  if (options_.require_auth) args.push_back("--require-auth");
  for (const auto& [id, secret] : options_.clients) args.insert(args.end(), {"--client", id + "=" + secret});
  for (const auto& [id, key] : options_.smart_clients) args.insert(args.end(), {"--smart-client", id + "=" + key});
  if (!options_.tls_cert_file.empty())
    args.insert(args.end(), {"--tls-cert", options_.tls_cert_file, "--tls-key", options_.tls_key_file});

  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    dup2(out[1], 1);
    close(out[0]);
    close(out[1]);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execvp("node", argv.data());
    _exit(127);
  }
  close(out[1]);
  pid_ = pid;
  // First stdout line: {"port":N}. Loading the FHIR definitions takes a few seconds.
  std::string line;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (line.find('\n') == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd pfd{out[0], POLLIN, 0};
    if (left.count() <= 0 || poll(&pfd, 1, static_cast<int>(left.count())) <= 0) break;
    char buf[256];
    ssize_t n = read(out[0], buf, sizeof buf);
    if (n <= 0) break;
    line.append(buf, static_cast<std::size_t>(n));
  }
  // Keep draining stdout so the child never blocks on a full pipe.
  int fd = out[0];
  std::thread([fd] {
    char buf[512];
    while (read(fd, buf, sizeof buf) > 0) {
    }
    close(fd);
  }).detach();
  rapidjson::Document doc;
  doc.Parse(line.c_str());
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("port") || !doc["port"].IsInt()) {
    stop(true);
    throw std::runtime_error("FHIR test server did not start");
  }
  port_ = static_cast<uint16_t>(doc["port"].GetInt());
}

void FhirTestServer::stop(bool kill_it) {
  if (pid_ <= 0) return;
  ::kill(pid_, kill_it ? SIGKILL : SIGTERM);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

std::string FhirTestServer::origin() const { return "http://127.0.0.1:" + std::to_string(port_); }
std::string FhirTestServer::base_url() const { return origin() + "/fhir"; }
std::string FhirTestServer::token_url() const { return origin() + "/auth/token"; }

std::string FhirTestServer::admin(const std::string& method, const std::string& target, const std::string& body) {
  auto r = http_request("127.0.0.1", port_, method, target, body, {{"Content-Type", "application/json"}});
  if (r.status != 200) throw std::runtime_error("admin call failed: " + target);
  return r.body;
}

std::string FhirTestServer::stats_json() { return admin("GET", "/admin/stats", {}); }
void FhirTestServer::set_faults(const std::string& json) { admin("POST", "/admin/faults", json); }
void FhirTestServer::revoke_tokens() { admin("POST", "/admin/revoke-tokens", "{}"); }

int64_t FhirTestServer::count(const std::string& type) {
  rapidjson::Document doc;
  std::string text = stats_json();
  doc.Parse(text.c_str());
  if (doc.HasParseError() || !doc.HasMember("counts")) throw std::runtime_error("bad stats");
  auto it = doc["counts"].FindMember(type.c_str());
  return it == doc["counts"].MemberEnd() ? 0 : it->value.GetInt64();
}

std::vector<std::vector<std::string>> FhirTestServer::transaction_log() {
  rapidjson::Document doc;
  std::string text = stats_json();
  doc.Parse(text.c_str());
  std::vector<std::vector<std::string>> out;
  if (doc.HasParseError() || !doc.HasMember("log")) return out;
  for (const auto& t : doc["log"].GetArray()) {
    std::vector<std::string> entries;
    for (const auto& e : t["entries"].GetArray()) entries.emplace_back(e.GetString());
    out.push_back(std::move(entries));
  }
  return out;
}

}  // namespace phrgate::testing
