// Internal to the MLLP listener: one accepted connection, plain TCP or TLS (the template
// parameter), living on its own strand. Reads into the framer, hands frames to the handler
// while fewer than max_in_flight are unanswered, writes replies in arrival order, enforces
// the idle/handshake/write timeouts. Never logs payload bytes; never blocks the strand.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <utility>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "adapters/common/mllp/mllp_framer.h"
#include "adapters/common/mllp/mllp_listener_shared.h"
#include "gateway/core/log.h"

namespace phrgate::mllp {

using TlsStream = boost::asio::ssl::stream<boost::asio::ip::tcp::socket>;

template <class Stream>
class Connection final : public ConnectionBase,
                         public std::enable_shared_from_this<Connection<Stream>> {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  Connection(std::shared_ptr<MllpListener::Shared> shared, Stream stream, std::uint64_t id,
             std::string peer)
      : shared_(std::move(shared)),
        stream_(std::move(stream)),
        read_timer_(stream_.get_executor()),
        write_timer_(stream_.get_executor()),
        framer_(shared_->options.max_frame_bytes),
        id_(id),
        peer_(std::move(peer)),
        id_text_(std::to_string(id)) {}

  void start() {
    boost::asio::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
      self->begin();
    });
  }

  void post_reply(std::uint64_t sequence, std::string payload) override {
    boost::asio::post(stream_.get_executor(),
                      [self = this->shared_from_this(), sequence, p = std::move(payload)]() mutable {
                        self->on_reply(sequence, std::move(p));
                      });
  }
  void post_skip(std::uint64_t sequence) override {
    boost::asio::post(stream_.get_executor(), [self = this->shared_from_this(), sequence] {
      self->on_reply(sequence, std::nullopt);
    });
  }
  void post_abandoned(std::uint64_t sequence) override {
    boost::asio::post(stream_.get_executor(), [self = this->shared_from_this(), sequence] {
      self->on_abandoned(sequence);
    });
  }
  void post_drain() override {
    boost::asio::post(stream_.get_executor(), [self = this->shared_from_this()] {
      if (self->closed_ || self->draining_) return;
      self->draining_ = true;
      if (!self->handshaken_) {  // nothing was received yet: no reply can be owed
        self->close_now("drained");
        return;
      }
      self->advance();
    });
  }
  void post_force_close() override {
    boost::asio::post(stream_.get_executor(),
                      [self = this->shared_from_this()] { self->close_now("forced"); });
  }

 private:
  static constexpr std::size_t kReadChunk = 64 * 1024;
  static constexpr auto kLingerTime = std::chrono::milliseconds(500);

  void begin() {
    if constexpr (kTls) {
      arm_read_timer(shared_->options.handshake_timeout);
      stream_.async_handshake(boost::asio::ssl::stream_base::server,
                              [self = this->shared_from_this()](const boost::system::error_code& ec) {
                                self->on_handshake(ec);
                              });
    } else {
      handshaken_ = true;
      advance();
    }
  }

  void on_handshake(const boost::system::error_code& ec) {
    if (closed_) return;
    if (ec) {
      shared_->tls_handshake_failures.fetch_add(1, std::memory_order_relaxed);
      log::warn("mllp.tls_handshake_failed", {{"source", shared_->options.log_name},
                                              {"peer", peer_},
                                              {"connection", id_text_},
                                              {"error", ec.message()}});
      close_now("tls handshake failed");
      return;
    }
    handshaken_ = true;
    advance();
  }

  // Decides what happens next after any event: hand out buffered frames, read, or finish.
  void advance() {
    if (closed_ || lingering_) return;
    bool input_done = draining_;
    if (!draining_) {
      const Pulled pulled = pull_frames();
      if (pulled == Pulled::Closed) return;
      if (pulled == Pulled::NeedMore) {
        if (peer_eof_) input_done = true;
        else start_read();
      }
    }
    if (input_done && in_flight_ == 0) {
      if (draining_ && !peer_eof_) begin_linger();
      else close_now(peer_eof_ ? "peer closed" : "drained");
    }
  }

  enum class Pulled { NeedMore, Paused, Closed };

  Pulled pull_frames() {
    const std::size_t max_in_flight = std::max<std::size_t>(shared_->options.max_in_flight_per_connection, 1);
    while (in_flight_ < max_in_flight) {
      std::string_view payload;
      const MllpFramer::Pull pull = framer_.next(payload);
      report_skipped();
      if (pull == MllpFramer::Pull::NeedMore) return Pulled::NeedMore;
      if (pull == MllpFramer::Pull::Oversize) {
        shared_->oversize_closes.fetch_add(1, std::memory_order_relaxed);
        log::warn("mllp.frame_too_large",
                  {{"source", shared_->options.log_name},
                   {"peer", peer_},
                   {"connection", id_text_},
                   {"limit", std::to_string(shared_->options.max_frame_bytes)}});
        close_now("frame too large");
        return Pulled::Closed;
      }
      if (!hand_out(payload)) return Pulled::Closed;
    }
    return Pulled::Paused;
  }

  bool hand_out(std::string_view payload) {
    if (shared_->shut_down.load(std::memory_order_acquire)) {
      close_now("listener destroyed");
      return false;
    }
    const std::uint64_t sequence = next_sequence_++;
    pending_.emplace_back();
    ++in_flight_;
    shared_->frames_received.fetch_add(1, std::memory_order_relaxed);
    MllpFrame frame;
    frame.payload.assign(payload.data(), payload.size());
    frame.peer = peer_;
    frame.connection_id = id_;
    frame.sequence = sequence;
    frame.responder = Responder(std::make_shared<detail::ReplySlot>(
        std::weak_ptr<ConnectionBase>(this->shared_from_this()), sequence));
    try {
      shared_->on_frame(std::move(frame));
    } catch (const std::exception&) {
      // The exception text may quote the payload: log only that it happened.
      log::error("mllp.handler_failed", {{"source", shared_->options.log_name},
                                         {"peer", peer_},
                                         {"connection", id_text_}});
      close_now("handler failed");
      return false;
    }
    return !closed_;
  }

  void report_skipped() {
    const std::uint64_t skipped = framer_.skipped_bytes();
    if (skipped == skipped_reported_) return;
    shared_->garbage_bytes_skipped.fetch_add(skipped - skipped_reported_, std::memory_order_relaxed);
    if (skipped_reported_ == 0) {  // once per connection; the close line has the total
      log::warn("mllp.garbage_skipped", {{"source", shared_->options.log_name},
                                         {"peer", peer_},
                                         {"connection", id_text_},
                                         {"bytes", std::to_string(skipped)}});
    }
    skipped_reported_ = skipped;
  }

  void start_read() {
    if (reading_ || closed_) return;
    reading_ = true;
    if (!lingering_) arm_read_timer(shared_->options.idle_timeout);
    const std::span<char> room = framer_.prepare(kReadChunk);
    stream_.async_read_some(
        boost::asio::buffer(room.data(), room.size()),
        [self = this->shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
          self->on_read(ec, n);
        });
  }

  void on_read(const boost::system::error_code& ec, std::size_t n) {
    reading_ = false;
    if (closed_) return;
    framer_.commit(n);
    shared_->bytes_received.fetch_add(n, std::memory_order_relaxed);
    if (lingering_) {  // draining: the peer's further bytes are dropped
      framer_.reset();
      if (ec) close_now("drained");
      else start_read();
      return;
    }
    if (ec) {
      if (is_peer_eof(ec)) {
        peer_eof_ = true;
        advance();
        return;
      }
      log::debug("mllp.read_failed", {{"source", shared_->options.log_name},
                                      {"peer", peer_},
                                      {"connection", id_text_},
                                      {"error", ec.message()}});
      close_now("read failed");
      return;
    }
    advance();
  }

  static bool is_peer_eof(const boost::system::error_code& ec) {
    if (ec == boost::asio::error::eof) return true;
    if constexpr (kTls) return ec == boost::asio::ssl::error::stream_truncated;
    return false;
  }

  // `payload` empty: the frame was answered with skip() and nothing is written for it.
  void on_reply(std::uint64_t sequence, std::optional<std::string> payload) {
    if (closed_ || sequence < first_pending_sequence_) return;
    const std::uint64_t index = sequence - first_pending_sequence_;
    if (index >= pending_.size()) return;  // impossible for a slot this connection made
    pending_[index].ready = true;
    if (payload) pending_[index].payload = std::move(*payload);
    else pending_[index].skip = true;
    bool skipped = false;
    while (!pending_.empty() && pending_.front().ready) {
      if (pending_.front().skip) {
        --in_flight_;  // nothing to write: done with this frame now
        skipped = true;
      } else {
        append_framed(queued_out_, pending_.front().payload);
        ++queued_frames_;
      }
      pending_.pop_front();
      ++first_pending_sequence_;
    }
    start_write();
    if (skipped) advance();  // room for more frames, or the last answer before closing
  }

  void on_abandoned(std::uint64_t sequence) {
    if (closed_ || sequence < first_pending_sequence_) return;
    log::error("mllp.reply_abandoned", {{"source", shared_->options.log_name},
                                        {"peer", peer_},
                                        {"connection", id_text_},
                                        {"sequence", std::to_string(sequence)}});
    close_now("reply abandoned");
  }

  void start_write() {
    if (writing_ || closed_ || queued_out_.empty()) return;
    writing_ = true;
    std::swap(writing_buf_, queued_out_);
    queued_out_.clear();
    writing_frames_ = queued_frames_;
    queued_frames_ = 0;
    write_timer_.expires_after(shared_->options.write_timeout);
    write_timer_.async_wait([self = this->shared_from_this()](const boost::system::error_code& ec) {
      self->on_write_timer(ec);
    });
    boost::asio::async_write(
        stream_, boost::asio::buffer(writing_buf_),
        [self = this->shared_from_this()](const boost::system::error_code& ec, std::size_t) {
          self->on_write(ec);
        });
  }

  void on_write(const boost::system::error_code& ec) {
    writing_ = false;
    if (closed_) return;
    write_timer_.cancel();
    if (ec) {
      log::debug("mllp.write_failed", {{"source", shared_->options.log_name},
                                       {"peer", peer_},
                                       {"connection", id_text_},
                                       {"error", ec.message()}});
      close_now("write failed");
      return;
    }
    in_flight_ -= writing_frames_;
    shared_->replies_written.fetch_add(writing_frames_, std::memory_order_relaxed);
    writing_frames_ = 0;
    writing_buf_.clear();
    start_write();
    advance();
  }

  void on_write_timer(const boost::system::error_code& ec) {
    if (ec == boost::asio::error::operation_aborted || closed_ || !writing_) return;
    if (write_timer_.expiry() > std::chrono::steady_clock::now()) return;
    log::warn("mllp.write_timeout", {{"source", shared_->options.log_name},
                                     {"peer", peer_},
                                     {"connection", id_text_}});
    close_now("write timeout");
  }

  void arm_read_timer(std::chrono::steady_clock::duration timeout) {
    read_timer_.expires_after(timeout);
    read_timer_.async_wait([self = this->shared_from_this()](const boost::system::error_code& ec) {
      self->on_read_timer(ec);
    });
  }

  void on_read_timer(const boost::system::error_code& ec) {
    if (ec == boost::asio::error::operation_aborted || closed_) return;
    if (read_timer_.expiry() > std::chrono::steady_clock::now()) return;  // re-armed meanwhile
    if (!handshaken_) {
      shared_->tls_handshake_failures.fetch_add(1, std::memory_order_relaxed);
      log::warn("mllp.tls_handshake_timeout", {{"source", shared_->options.log_name},
                                               {"peer", peer_},
                                               {"connection", id_text_}});
      close_now("tls handshake timeout");
      return;
    }
    if (lingering_) {
      close_now("drained");
      return;
    }
    if (!reading_) return;  // paused or finishing: not idle
    if (in_flight_ > 0) {   // the peer is waiting for our replies, not idle
      arm_read_timer(shared_->options.idle_timeout);
      return;
    }
    shared_->idle_timeouts.fetch_add(1, std::memory_order_relaxed);
    log::info("mllp.idle_timeout", {{"source", shared_->options.log_name},
                                    {"peer", peer_},
                                    {"connection", id_text_}});
    close_now("idle timeout");
  }

  // Drain with the peer still sending: send FIN after the last reply, then drop what the
  // peer sends until it closes (or briefly), so closing does not reset away our replies.
  void begin_linger() {
    lingering_ = true;
    boost::system::error_code ignored;
    stream_.lowest_layer().shutdown(boost::asio::ip::tcp::socket::shutdown_send, ignored);
    arm_read_timer(kLingerTime);
    start_read();
  }

  void close_now(const char* reason) {
    if (closed_) return;
    closed_ = true;
    read_timer_.cancel();
    write_timer_.cancel();
    boost::system::error_code ignored;
    stream_.lowest_layer().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
    stream_.lowest_layer().close(ignored);
    pending_.clear();
    log::debug("mllp.connection_closed", {{"source", shared_->options.log_name},
                                          {"peer", peer_},
                                          {"connection", id_text_},
                                          {"reason", reason},
                                          {"frames", std::to_string(framer_.frames())},
                                          {"skipped_bytes", std::to_string(framer_.skipped_bytes())}});
    shared_->active_connections.fetch_sub(1, std::memory_order_relaxed);
    shared_->unregister_connection(id_);
  }

  std::shared_ptr<MllpListener::Shared> shared_;
  Stream stream_;
  boost::asio::steady_timer read_timer_;   // handshake, idle, linger
  boost::asio::steady_timer write_timer_;
  MllpFramer framer_;
  const std::uint64_t id_;
  const std::string peer_;
  const std::string id_text_;

  // Strand-only state.
  bool handshaken_ = false;
  bool reading_ = false;
  bool writing_ = false;
  bool peer_eof_ = false;
  bool draining_ = false;
  bool lingering_ = false;
  bool closed_ = false;
  std::uint64_t next_sequence_ = 0;
  std::uint64_t first_pending_sequence_ = 0;       // sequence of pending_.front()
  struct PendingReply {
    bool ready = false;  // answered (respond or skip)
    bool skip = false;   // answered with nothing to write
    std::string payload;
  };
  std::deque<PendingReply> pending_;                // replies not yet queued, arrival order
  std::uint64_t in_flight_ = 0;                     // handed out, reply not yet written
  std::string queued_out_;                          // framed replies waiting for the writer
  std::uint64_t queued_frames_ = 0;
  std::string writing_buf_;                         // framed replies being written
  std::uint64_t writing_frames_ = 0;
  std::uint64_t skipped_reported_ = 0;
};

}  // namespace phrgate::mllp
