// The real daemon under a fake systemd: with $NOTIFY_SOCKET and $WATCHDOG_USEC set, it sends
// READY=1 once its listeners are open, WATCHDOG=1 keep-alives, and STOPPING=1 on SIGTERM.
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "tests/e2e/daemon_process.h"
#include "tests/support/temp_dir.h"

using namespace phrgate::testing;

namespace {
std::string receive(int fd) {
  char buf[512];
  ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}
}  // namespace

TEST_CASE("daemon: systemd READY, WATCHDOG and STOPPING notifications", "[e2e]") {
  TempDir dir;
  std::string path = dir.file("notify.sock");
  int fd = ::socket(AF_UNIX, SOCK_DGRAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

  ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
  ::setenv("WATCHDOG_USEC", "400000", 1);  // keep-alives every 200 ms
  DaemonProcess daemon(dir.path(), basic_config(dir.path(), "systemd-token-0123456789"));
  daemon.start();
  ::unsetenv("NOTIFY_SOCKET");
  ::unsetenv("WATCHDOG_USEC");

  std::vector<std::string> seen;
  for (int i = 0; i < 4; ++i) seen.push_back(receive(fd));
  CHECK(seen[0].find("READY=1") != std::string::npos);
  int watchdogs = 0;
  for (const auto& s : seen)
    if (s == "WATCHDOG=1") ++watchdogs;
  CHECK(watchdogs >= 2);
  CHECK(daemon.stop() == 0);
  bool stopping = false;
  for (int i = 0; i < 20 && !stopping; ++i) stopping = receive(fd).find("STOPPING=1") != std::string::npos;
  CHECK(stopping);
  ::close(fd);
}
