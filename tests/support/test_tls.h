// Test-only TLS material: writes a fresh self-signed certificate and key (EC P-256, CN and
// SAN "localhost", SAN IP 127.0.0.1, valid one day) as PEM files, built with the OpenSSL
// APIs (no shell). The certificate doubles as its own CA file. Never used by the daemon.
#pragma once

#include <string>
#include <utility>

namespace phrgate::testing {

// Writes <dir>/<stem>.cert.pem and <dir>/<stem>.key.pem; returns (cert_path, key_path).
// Throws std::runtime_error if OpenSSL or the file writes fail.
std::pair<std::string, std::string> write_self_signed_cert(const std::string& dir,
                                                           const std::string& stem = "server");

}  // namespace phrgate::testing
