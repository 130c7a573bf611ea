// Implementation of DaemonProcess (see daemon_process.h).
#include "tests/e2e/daemon_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <rapidjson/document.h>

#ifndef PHRGATE_BINARY
#error "PHRGATE_BINARY must name the phrgate executable"
#endif

namespace phrgate::testing {

DaemonProcess::DaemonProcess(std::string dir, std::string config_json) : dir_(std::move(dir)) {
  config_path_ = dir_ + "/phrgate.json";
  std::ofstream(config_path_) << config_json;
}

DaemonProcess::~DaemonProcess() {
  if (pid_ > 0) kill9();
}

std::string DaemonProcess::log_text() const {
  std::ifstream in(log_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void DaemonProcess::start(std::chrono::milliseconds timeout) {
  log_path_ = dir_ + "/daemon-" + std::to_string(++starts_) + ".log";
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    // Die with the test or benchmark that started us, even if it is killed (ctest timeout).
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, 2);
      dup2(fd, 1);
      close(fd);
    }
    execl(PHRGATE_BINARY, PHRGATE_BINARY, "run", "--config", config_path_.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream in(log_path_);
    std::string line;
    while (std::getline(in, line)) {
      if (line.find("\"event\":\"daemon.ready\"") == std::string::npos) continue;
      rapidjson::Document d;
      d.Parse(line.c_str());
      if (d.HasParseError()) continue;
      http_port_ = static_cast<uint16_t>(std::stoi(d["http_port"].GetString()));
      startup_ms_ = std::stod(d["startup_ms"].GetString());
      std::string sources = d["sources"].GetString();
      std::stringstream ss(sources);
      std::string item;
      while (std::getline(ss, item, ',')) {
        auto colon = item.rfind(':');
        std::string port = item.substr(colon + 1);
        if (colon == std::string::npos || port.empty()) continue;  // sources without a listener
        source_ports_[item.substr(0, colon)] = static_cast<uint16_t>(std::stoi(port));
      }
      return;
    }
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("phrgate exited during start-up; log:\n" + log_text());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill9();
  throw std::runtime_error("phrgate did not become ready; log:\n" + log_text());
}

int DaemonProcess::stop(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      return -WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill9();
  return -1000;
}

void DaemonProcess::kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

bool DaemonProcess::running() {
  if (pid_ <= 0) return false;
  int status;
  if (waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

std::string basic_config(const std::string& dir, const std::string& token) {
  return R"({
  "data_dir": ")" + dir + R"(/data",
  "log": {"level": "info"},
  "http": {"listen": "127.0.0.1", "port": 0,
           "tokens": [{"name": "test-admin", "role": "admin", "token": ")" + token + R"("}]},
  "inbox": {"max_delay_us": 500},
  "pipeline": {"retry_delay_ms": 100},
  "sources": [{"name": "emr", "type": "hl7v2_mllp", "listen": "127.0.0.1", "port": 0,
               "default_timezone": "-05:00"}],
  "sinks": [{"name": "phr", "type": "phr_store"}]
})";
}

}  // namespace phrgate::testing
