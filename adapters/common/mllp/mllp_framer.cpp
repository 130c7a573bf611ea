// MllpFramer implementation (see mllp_framer.h): one buffer, scanned with memchr, compacted
// only when the free tail is too small and the live bytes are cheap to move. Used by the
// MLLP listener and client. It must never do I/O or look inside a payload.
#include "adapters/common/mllp/mllp_framer.h"

#include <algorithm>
#include <cassert>
#include <cstring>

namespace phrgate::mllp {
namespace {
constexpr std::size_t kInitialCapacity = 16 * 1024;
// An empty buffer bigger than this (left by a large frame) is released on the next prepare.
constexpr std::size_t kShrinkAbove = 256 * 1024;

const char* find_byte(const char* from, const char* to, char byte) {
  if (from >= to) return nullptr;
  return static_cast<const char*>(std::memchr(from, static_cast<unsigned char>(byte),
                                              static_cast<std::size_t>(to - from)));
}
}  // namespace

void append_framed(std::string& out, std::string_view payload) {
  out.reserve(out.size() + payload.size() + 3);
  out.push_back(kStartBlock);
  out.append(payload);
  out.push_back(kEndBlock);
  out.push_back(kCarriageReturn);
}

MllpFramer::MllpFramer(std::size_t max_frame_bytes) : max_frame_bytes_(max_frame_bytes) {}

void MllpFramer::reset() {
  consumed_ = scan_ = end_ = 0;
  frame_start_ = kNone;
  oversize_ = false;
  if (capacity_ > kShrinkAbove) {
    data_.reset();
    capacity_ = 0;
  }
}

void MllpFramer::make_room(std::size_t min_bytes) {
  if (consumed_ == end_) {
    // Nothing live (consumed_ == end_ implies no open frame): restart at the beginning.
    consumed_ = scan_ = end_ = 0;
    if (capacity_ > kShrinkAbove && min_bytes <= kInitialCapacity) {
      data_.reset();
      capacity_ = 0;
    }
  }
  if (capacity_ - end_ >= min_bytes) return;

  const std::size_t live = end_ - consumed_;
  const std::size_t shift = consumed_;
  if (consumed_ + (capacity_ - end_) >= min_bytes && live <= capacity_ / 2) {
    // Compact in place: moving at most half the buffer, paid for by the reads that filled it.
    std::memmove(data_.get(), data_.get() + consumed_, live);
  } else {
    const std::size_t new_capacity =
        std::max({capacity_ * 2, live + min_bytes, kInitialCapacity});
    std::unique_ptr<char[]> grown(new char[new_capacity]);
    if (live > 0) std::memcpy(grown.get(), data_.get() + consumed_, live);
    data_ = std::move(grown);
    capacity_ = new_capacity;
  }
  consumed_ = 0;
  end_ -= shift;
  scan_ -= shift;
  if (frame_start_ != kNone) frame_start_ -= shift;
}

std::span<char> MllpFramer::prepare(std::size_t min_bytes) {
  make_room(std::max<std::size_t>(min_bytes, 1));
  return {data_.get() + end_, capacity_ - end_};
}

void MllpFramer::commit(std::size_t bytes) {
  assert(bytes <= capacity_ - end_);
  end_ += bytes;
}

void MllpFramer::feed(std::string_view bytes) {
  if (bytes.empty()) return;
  std::span<char> room = prepare(bytes.size());
  std::memcpy(room.data(), bytes.data(), bytes.size());
  commit(bytes.size());
}

MllpFramer::Pull MllpFramer::next(std::string_view& frame) {
  if (oversize_) return Pull::Oversize;
  const char* d = data_.get();
  for (;;) {
    if (frame_start_ == kNone) {
      const char* start = find_byte(d + scan_, d + end_, kStartBlock);
      if (start == nullptr) {
        skipped_bytes_ += end_ - scan_;
        consumed_ = scan_ = end_;
        return Pull::NeedMore;
      }
      const auto pos = static_cast<std::size_t>(start - d);
      skipped_bytes_ += pos - scan_;
      consumed_ = pos;
      frame_start_ = scan_ = pos + 1;
    }

    const char* end_block = find_byte(d + scan_, d + end_, kEndBlock);
    const char* limit = end_block != nullptr ? end_block : d + end_;
    if (const char* restart = find_byte(d + scan_, limit, kStartBlock); restart != nullptr) {
      // A new start block before this frame ended: drop the partial frame, resynchronize.
      const auto pos = static_cast<std::size_t>(restart - d);
      skipped_bytes_ += pos - consumed_;
      ++restarts_;
      consumed_ = pos;
      frame_start_ = scan_ = pos + 1;
      continue;
    }
    if (end_block == nullptr) {
      scan_ = end_;
      if (end_ - frame_start_ > max_frame_bytes_) {
        oversize_ = true;
        return Pull::Oversize;
      }
      return Pull::NeedMore;
    }

    const auto pos = static_cast<std::size_t>(end_block - d);
    if (pos - frame_start_ > max_frame_bytes_) {
      oversize_ = true;
      return Pull::Oversize;
    }
    if (pos + 1 >= end_) {
      scan_ = pos;  // 0x1C is the last byte so far: look at it again when more arrives
      return Pull::NeedMore;
    }
    if (d[pos + 1] == kCarriageReturn) {
      frame = std::string_view(d + frame_start_, pos - frame_start_);
      consumed_ = scan_ = pos + 2;
      frame_start_ = kNone;
      ++frames_;
      return Pull::Frame;
    }
    scan_ = pos + 1;  // a lone 0x1C is payload
  }
}

}  // namespace phrgate::mllp
