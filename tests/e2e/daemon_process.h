// DaemonProcess: starts the real phrgate binary for end-to-end tests, with a config written
// to a temp dir, ports chosen by the daemon (port 0) and read back from its "daemon.ready"
// log line. Stops it with SIGTERM (graceful) or SIGKILL (crash tests).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

namespace phrgate::testing {

class DaemonProcess {
 public:
  // `config_json` is written to <dir>/phrgate.json; stderr goes to <dir>/daemon-N.log.
  DaemonProcess(std::string dir, std::string config_json);
  ~DaemonProcess();  // SIGKILLs a daemon still running

  // Starts the binary and waits (up to `timeout`) for its ready line. Throws on failure.
  void start(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // SIGTERM and wait; returns the exit status (or -signal), or -1000 on timeout (then killed).
  int stop(std::chrono::milliseconds timeout = std::chrono::seconds(15));
  void kill9();
  bool running();

  uint16_t http_port() const { return http_port_; }
  uint16_t source_port(const std::string& name) const { return source_ports_.at(name); }
  const std::string& log_path() const { return log_path_; }
  std::string log_text() const;
  double startup_ms() const { return startup_ms_; }
  pid_t pid() const { return pid_; }

 private:
  std::string dir_;
  std::string config_path_;
  std::string log_path_;
  pid_t pid_ = -1;
  int starts_ = 0;
  uint16_t http_port_ = 0;
  std::map<std::string, uint16_t> source_ports_;
  double startup_ms_ = 0;
};

// A config for one MLLP source "emr" and the embedded store, on ephemeral ports, with the
// API token `token`, data under <dir>/data.
std::string basic_config(const std::string& dir, const std::string& token);

}  // namespace phrgate::testing
