// MllpClient: a blocking MLLP client (plain or TLS) with timeouts, for `phrgate send`, the
// end-to-end tests and the benchmark load generator. One connection, reused buffers,
// TCP_NODELAY. Not thread-safe (one thread per client). Never logs; errors carry no payload.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/common/mllp/mllp_framer.h"

namespace phrgate::mllp {

struct MllpClientTlsOptions {
  std::string ca_file;                  // trust anchors for the server certificate
  bool insecure_skip_verify = false;    // tests only: accept any server certificate
  std::string server_name;              // name/IP to verify and send as SNI; empty: the host
  std::string cert_file;                // optional client certificate (mutual TLS)
  std::string key_file;
};

struct MllpClientOptions {
  std::chrono::milliseconds connect_timeout = std::chrono::seconds(10);  // incl. TLS handshake
  std::chrono::milliseconds reply_timeout = std::chrono::seconds(30);    // per reply
  std::size_t max_frame_bytes = kDefaultMaxFrameBytes;                   // replies
  std::optional<MllpClientTlsOptions> tls;
};

class MllpClientError : public std::runtime_error {
 public:
  enum class Kind { Connect, Tls, Timeout, Closed, Io, Oversize, NotConnected };
  MllpClientError(Kind kind, const std::string& what) : std::runtime_error(what), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

class MllpClient {
 public:
  explicit MllpClient(MllpClientOptions options = {});
  ~MllpClient();
  MllpClient(MllpClient&&) noexcept;
  MllpClient& operator=(MllpClient&&) noexcept;

  // Resolves, connects (and handshakes). Throws MllpClientError; reconnects if connected.
  void connect(const std::string& host, std::uint16_t port);
  // Frames and writes `payload`, returns the next reply's payload. On any error (throws
  // MllpClientError) the connection is closed: replies can no longer be matched.
  std::string send(std::string_view payload);
  // Writes all payloads while reading replies (no deadlock on backpressure); returns the
  // replies in order. reply_timeout bounds the wait for each next reply.
  std::vector<std::string> send_pipelined(const std::vector<std::string>& payloads);
  // Writes raw bytes as they are (no framing): for tests of split or malformed input.
  void write_raw(std::string_view bytes);
  // Reads the next reply frame (after write_raw). Throws like send().
  std::string read_reply();

  void close();
  bool connected() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace phrgate::mllp
