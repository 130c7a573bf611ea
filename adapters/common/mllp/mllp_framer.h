// MLLP framing (0x0B payload 0x1C 0x0D): a pure, incremental deframer and the writer side.
// Used by MllpListener and MllpClient; knows nothing of HL7 and does no I/O. It must never
// buffer without bound: bytes outside a frame are dropped at once, and a frame that grows
// past max_frame_bytes is reported as Oversize before more of it is kept.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace phrgate::mllp {

inline constexpr char kStartBlock = '\x0B';
inline constexpr char kEndBlock = '\x1C';
inline constexpr char kCarriageReturn = '\x0D';
inline constexpr std::size_t kDefaultMaxFrameBytes = 10u * 1024u * 1024u;

// Appends 0x0B payload 0x1C 0x0D to `out` (one allocation at most).
void append_framed(std::string& out, std::string_view payload);

// Incremental deframer over one growable buffer.
//
// Input: feed(bytes) copies bytes in; or, to read from a socket without an extra copy,
// prepare(n) returns writable space at the end of the buffer and commit(k) appends the k
// bytes written there.
// Output: next(frame) hands out complete frames, oldest first, as views into the buffer.
// A view stays valid until the next feed/prepare/reset call (those may compact or grow
// the buffer); copy it (std::string(frame)) if it must live longer.
//
// Rules: bytes before a start block are skipped and counted; a start block inside a frame
// discards the partial frame and starts a new one (counted as a restart, its bytes as
// skipped); 0x1C not followed by 0x0D is an ordinary payload byte (HL7 forbids it, so the
// message parser will reject the payload); a frame whose payload exceeds max_frame_bytes
// turns the framer into the Oversize state, which persists until reset().
class MllpFramer {
 public:
  enum class Pull { Frame, NeedMore, Oversize };

  explicit MllpFramer(std::size_t max_frame_bytes = kDefaultMaxFrameBytes);

  MllpFramer(MllpFramer&&) noexcept = default;
  MllpFramer& operator=(MllpFramer&&) noexcept = default;
  MllpFramer(const MllpFramer&) = delete;
  MllpFramer& operator=(const MllpFramer&) = delete;

  void feed(std::string_view bytes);
  // Writable space of at least min_bytes at the end of the buffer; invalidates views.
  std::span<char> prepare(std::size_t min_bytes);
  // Appends the first `bytes` bytes written into the span from the last prepare().
  void commit(std::size_t bytes);

  // Next complete frame's payload (framing bytes stripped), NeedMore, or Oversize.
  Pull next(std::string_view& frame);

  // Forgets all buffered bytes and the Oversize state (counters are kept).
  void reset();

  bool oversize() const { return oversize_; }
  bool in_frame() const { return frame_start_ != kNone; }
  std::size_t max_frame_bytes() const { return max_frame_bytes_; }
  // Bytes held that are not yet part of a handed-out frame.
  std::size_t buffered_bytes() const { return end_ - consumed_; }

  // Cumulative counters, for log lines and metrics.
  std::uint64_t frames() const { return frames_; }
  std::uint64_t skipped_bytes() const { return skipped_bytes_; }
  std::uint64_t restarts() const { return restarts_; }

 private:
  static constexpr std::size_t kNone = static_cast<std::size_t>(-1);

  void make_room(std::size_t min_bytes);

  std::unique_ptr<char[]> data_;
  std::size_t capacity_ = 0;
  std::size_t consumed_ = 0;              // bytes before this index are done with
  std::size_t scan_ = 0;                  // next byte not yet examined
  std::size_t end_ = 0;                   // one past the last valid byte
  std::size_t frame_start_ = kNone;       // index of the first payload byte, if in a frame
  std::size_t max_frame_bytes_;
  bool oversize_ = false;

  std::uint64_t frames_ = 0;
  std::uint64_t skipped_bytes_ = 0;
  std::uint64_t restarts_ = 0;
};

}  // namespace phrgate::mllp
