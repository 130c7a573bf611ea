// systemd service notifications (Type=notify) written straight to $NOTIFY_SOCKET: READY=1
// once the listeners are open, STOPPING=1 at shutdown, WATCHDOG=1 keep-alives when the unit
// sets WatchdogSec. No libsystemd needed. Every call is a no-op when not run by systemd.
#pragma once

#include <chrono>
#include <string_view>

namespace phrgate::systemd {

// Sends one datagram ("READY=1", "STATUS=...") to $NOTIFY_SOCKET. Returns false when there
// is no socket or the send failed (never throws).
bool notify(std::string_view state);
// The watchdog interval systemd expects keep-alives within ($WATCHDOG_USEC, for this pid),
// or zero when the watchdog is off.
std::chrono::microseconds watchdog_interval();

}  // namespace phrgate::systemd
