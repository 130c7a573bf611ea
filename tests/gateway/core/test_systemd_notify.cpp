// systemd notifications: datagrams reach $NOTIFY_SOCKET (path and abstract names), the
// watchdog interval is read for this pid only, and everything is a no-op without systemd.
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "gateway/core/systemd_notify.h"
#include "tests/support/temp_dir.h"

namespace {
int bind_dgram(const std::string& name, bool abstract) {
  int fd = ::socket(AF_UNIX, SOCK_DGRAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, name.data(), name.size());
  if (abstract) addr.sun_path[0] = '\0';
  auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) == 0);
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}
std::string receive(int fd) {
  char buf[256];
  ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}
}  // namespace

TEST_CASE("notify writes one datagram to NOTIFY_SOCKET, or does nothing without it") {
  ::unsetenv("NOTIFY_SOCKET");
  CHECK_FALSE(phrgate::systemd::notify("READY=1"));

  phrgate::testing::TempDir dir;
  std::string path = dir.file("notify.sock");
  int fd = bind_dgram(path, false);
  ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
  CHECK(phrgate::systemd::notify("READY=1"));
  CHECK(receive(fd) == "READY=1");
  CHECK(phrgate::systemd::notify("STATUS=draining\nSTOPPING=1"));
  CHECK(receive(fd) == "STATUS=draining\nSTOPPING=1");
  ::close(fd);

  std::string abstract = "@phrgate-test-" + std::to_string(::getpid());
  int afd = bind_dgram(abstract, true);
  ::setenv("NOTIFY_SOCKET", abstract.c_str(), 1);
  CHECK(phrgate::systemd::notify("WATCHDOG=1"));
  CHECK(receive(afd) == "WATCHDOG=1");
  ::close(afd);
  ::unsetenv("NOTIFY_SOCKET");
}

TEST_CASE("the watchdog interval applies to this process only") {
  ::unsetenv("WATCHDOG_USEC");
  CHECK(phrgate::systemd::watchdog_interval().count() == 0);
  ::setenv("WATCHDOG_USEC", "30000000", 1);
  ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);
  CHECK(phrgate::systemd::watchdog_interval().count() == 30000000);
  ::setenv("WATCHDOG_PID", "1", 1);
  CHECK(phrgate::systemd::watchdog_interval().count() == 0);
  ::unsetenv("WATCHDOG_USEC");
  ::unsetenv("WATCHDOG_PID");
}
