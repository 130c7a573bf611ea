// MllpClient implementation: a private io_context driven with run_one_for() gives blocking
// calls with deadlines; writes and reads run concurrently so pipelining never deadlocks.
// Used by tools, tests and the load generator. Never logs; errors never quote payloads.
#include "adapters/common/mllp/mllp_client.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <functional>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>

namespace phrgate::mllp {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using Kind = MllpClientError::Kind;

namespace {
constexpr std::size_t kReadChunk = 64 * 1024;

void make_client_tls(asio::ssl::context& ctx, const MllpClientTlsOptions& tls) {
  ctx.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                  asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                  asio::ssl::context::no_tlsv1_1);
  SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
  boost::system::error_code ec;
  if (tls.insecure_skip_verify) {
    ctx.set_verify_mode(asio::ssl::verify_none);
  } else {
    if (tls.ca_file.empty()) ctx.set_default_verify_paths(ec);
    else ctx.load_verify_file(tls.ca_file, ec);
    if (ec) throw MllpClientError(Kind::Tls, "mllp client: cannot load CA file " + tls.ca_file + ": " + ec.message());
    ctx.set_verify_mode(asio::ssl::verify_peer);
  }
  if (!tls.cert_file.empty()) {
    ctx.use_certificate_chain_file(tls.cert_file, ec);
    if (!ec) ctx.use_private_key_file(tls.key_file, asio::ssl::context::pem, ec);
    if (ec) throw MllpClientError(Kind::Tls, "mllp client: cannot load client certificate/key: " + ec.message());
  }
}
}  // namespace

struct MllpClient::Impl {
  using TlsStream = asio::ssl::stream<tcp::socket>;

  explicit Impl(MllpClientOptions opts) : options(std::move(opts)), framer(options.max_frame_bytes) {}

  // Reads until `remaining` more frames were handed to `sink`, or an error.
  struct ReadState {
    std::size_t remaining = 0;
    bool done = false;
    bool oversize = false;
    boost::system::error_code ec;
    std::function<void(std::string_view)> sink;
  };

  template <class F>
  void with_stream(F&& f) {
    if (tls) f(*tls);
    else f(*plain);
  }

  void close_sockets() {
    boost::system::error_code ignored;
    if (tls) tls->lowest_layer().close(ignored);
    if (plain) plain->close(ignored);
  }

  void close() {
    close_sockets();
    // Let aborted handlers (which refer to caller stack frames) finish before returning.
    io.restart();
    io.run();
    tls.reset();
    plain.reset();
    framer.reset();
    is_connected = false;
  }

  // Runs handlers until `finished()`; past `deadline` (which handlers may push back)
  // closes the connection and throws Timeout.
  template <class Pred>
  void run_until(Pred finished, const Clock::time_point& deadline, const char* what) {
    io.restart();
    while (!finished()) {
      const Clock::time_point now = Clock::now();
      if (now >= deadline) {
        close();
        throw MllpClientError(Kind::Timeout, std::string("mllp client: ") + what + " timed out");
      }
      io.run_one_for(deadline - now);
    }
  }

  void pump(ReadState& st) {
    while (st.remaining > 0) {
      std::string_view frame;
      const MllpFramer::Pull pull = framer.next(frame);
      if (pull == MllpFramer::Pull::NeedMore) break;
      if (pull == MllpFramer::Pull::Oversize) {
        st.oversize = true;
        st.done = true;
        return;
      }
      st.sink(frame);
      --st.remaining;
    }
    if (st.remaining == 0) {
      st.done = true;
      return;
    }
    const std::span<char> room = framer.prepare(kReadChunk);
    with_stream([&](auto& stream) {
      stream.async_read_some(asio::buffer(room.data(), room.size()),
                             [this, &st](const boost::system::error_code& ec, std::size_t n) {
                               framer.commit(n);
                               if (ec) {
                                 st.ec = ec;
                                 st.done = true;
                                 return;
                               }
                               pump(st);
                             });
    });
  }

  [[noreturn]] void fail_read(const ReadState& st) {
    close();
    if (st.oversize) throw MllpClientError(Kind::Oversize, "mllp client: reply exceeds max_frame_bytes");
    if (st.ec == asio::error::eof || st.ec == asio::ssl::error::stream_truncated ||
        st.ec == asio::error::connection_reset) {
      throw MllpClientError(Kind::Closed, "mllp client: connection closed by peer");
    }
    throw MllpClientError(Kind::Io, "mllp client: read failed: " + st.ec.message());
  }

  // Writes `out` while reading `count` replies into `sink`.
  void exchange(std::size_t count, std::function<void(std::string_view)> sink) {
    if (!is_connected) throw MllpClientError(Kind::NotConnected, "mllp client: not connected");
    Clock::time_point deadline = Clock::now() + options.reply_timeout;
    bool wrote = out.empty();
    boost::system::error_code write_ec;
    if (!wrote) {
      with_stream([&](auto& stream) {
        asio::async_write(stream, asio::buffer(out), [&](const boost::system::error_code& ec, std::size_t) {
          write_ec = ec;
          wrote = true;
        });
      });
    }
    ReadState st;
    st.remaining = count;
    st.sink = [&](std::string_view frame) {
      sink(frame);
      deadline = Clock::now() + options.reply_timeout;
    };
    if (count > 0) pump(st);
    else st.done = true;
    run_until([&] { return (wrote && st.done) || write_ec || st.ec || st.oversize; }, deadline, "reply");
    if (write_ec) {
      const bool reset = write_ec == asio::error::broken_pipe || write_ec == asio::error::connection_reset;
      close();
      throw MllpClientError(reset ? Kind::Closed : Kind::Io, "mllp client: write failed: " + write_ec.message());
    }
    if (st.ec || st.oversize) fail_read(st);
  }

  MllpClientOptions options;
  asio::io_context io{1};
  std::optional<asio::ssl::context> tls_context;
  std::optional<tcp::socket> plain;
  std::optional<TlsStream> tls;
  MllpFramer framer;
  std::string out;  // reused write buffer
  bool is_connected = false;
};

MllpClient::MllpClient(MllpClientOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
MllpClient::~MllpClient() {
  if (impl_) impl_->close();
}
MllpClient::MllpClient(MllpClient&&) noexcept = default;
MllpClient& MllpClient::operator=(MllpClient&&) noexcept = default;

void MllpClient::connect(const std::string& host, std::uint16_t port) {
  Impl& im = *impl_;
  im.close();
  const std::string where = host + ":" + std::to_string(port);
  const Clock::time_point deadline = Clock::now() + im.options.connect_timeout;

  tcp::resolver resolver(im.io);
  bool resolved = false;
  boost::system::error_code ec;
  tcp::resolver::results_type endpoints;
  resolver.async_resolve(host, std::to_string(port),
                         [&](const boost::system::error_code& e, tcp::resolver::results_type r) {
                           ec = e;
                           endpoints = std::move(r);
                           resolved = true;
                         });
  im.run_until([&] { return resolved; }, deadline, "resolve");
  if (ec) throw MllpClientError(Kind::Connect, "mllp client: cannot resolve " + where + ": " + ec.message());

  im.plain.emplace(im.io);
  bool connected = false;
  asio::async_connect(*im.plain, endpoints, [&](const boost::system::error_code& e, const tcp::endpoint&) {
    ec = e;
    connected = true;
  });
  im.run_until([&] { return connected; }, deadline, "connect");
  if (ec) {
    im.close();
    throw MllpClientError(Kind::Connect, "mllp client: cannot connect to " + where + ": " + ec.message());
  }
  im.plain->set_option(tcp::no_delay(true), ec);

  if (im.options.tls) {
    const MllpClientTlsOptions& opts = *im.options.tls;
    if (!im.tls_context) {
      im.tls_context.emplace(asio::ssl::context::tls_client);
      make_client_tls(*im.tls_context, opts);
    }
    im.tls.emplace(std::move(*im.plain), *im.tls_context);
    im.plain.reset();
    const std::string& name = opts.server_name.empty() ? host : opts.server_name;
    SSL* ssl = im.tls->native_handle();
    boost::system::error_code not_ip;
    asio::ip::make_address(name, not_ip);
    if (not_ip) {
      SSL_set_tlsext_host_name(ssl, name.c_str());
      if (!opts.insecure_skip_verify) SSL_set1_host(ssl, name.c_str());
    } else if (!opts.insecure_skip_verify) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str());
    }
    bool handshaken = false;
    im.tls->async_handshake(asio::ssl::stream_base::client, [&](const boost::system::error_code& e) {
      ec = e;
      handshaken = true;
    });
    im.run_until([&] { return handshaken; }, deadline, "tls handshake");
    if (ec) {
      im.close();
      throw MllpClientError(Kind::Tls, "mllp client: tls handshake with " + where + " failed: " + ec.message());
    }
  }
  im.is_connected = true;
}

std::string MllpClient::send(std::string_view payload) {
  Impl& im = *impl_;
  im.out.clear();
  append_framed(im.out, payload);
  std::string reply;
  im.exchange(1, [&](std::string_view frame) { reply.assign(frame.data(), frame.size()); });
  return reply;
}

std::vector<std::string> MllpClient::send_pipelined(const std::vector<std::string>& payloads) {
  Impl& im = *impl_;
  im.out.clear();
  for (const std::string& p : payloads) append_framed(im.out, p);
  std::vector<std::string> replies;
  replies.reserve(payloads.size());
  im.exchange(payloads.size(), [&](std::string_view frame) { replies.emplace_back(frame); });
  return replies;
}

void MllpClient::write_raw(std::string_view bytes) {
  Impl& im = *impl_;
  im.out.assign(bytes.data(), bytes.size());
  im.exchange(0, {});
}

std::string MllpClient::read_reply() {
  Impl& im = *impl_;
  im.out.clear();
  std::string reply;
  im.exchange(1, [&](std::string_view frame) { reply.assign(frame.data(), frame.size()); });
  return reply;
}

void MllpClient::close() { impl_->close(); }

bool MllpClient::connected() const { return impl_ && impl_->is_connected; }

}  // namespace phrgate::mllp
