// Unit tests for MllpFramer and append_framed: every split point of a two-frame stream,
// byte-at-a-time input, garbage, restarts, lone 0x1C, empty frames, oversize, buffer reuse.
// Pure: no sockets, no files.
#include <catch2/catch.hpp>

#include <algorithm>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "adapters/common/mllp/mllp_framer.h"

using phrgate::mllp::append_framed;
using phrgate::mllp::MllpFramer;

namespace {

std::string framed(std::string_view payload) {
  std::string out;
  append_framed(out, payload);
  return out;
}

// Pulls every complete frame currently available; records whether Oversize was hit.
std::vector<std::string> drain(MllpFramer& framer, bool* oversize = nullptr) {
  std::vector<std::string> frames;
  for (;;) {
    std::string_view frame;
    const MllpFramer::Pull pull = framer.next(frame);
    if (pull == MllpFramer::Pull::Frame) {
      frames.emplace_back(frame);
      continue;
    }
    if (oversize != nullptr) *oversize = pull == MllpFramer::Pull::Oversize;
    return frames;
  }
}

}  // namespace

TEST_CASE("append_framed wraps the payload in start and end blocks", "[mllp][framer]") {
  std::string out = "x";
  append_framed(out, "MSH|abc");
  CHECK(out == std::string("x\x0BMSH|abc\x1C\x0D"));
}

TEST_CASE("two frames are reassembled at every split point", "[mllp][framer]") {
  const std::string first = "MSH|^~\\&|A|B\rPID|1\r";
  const std::string second = "MSH|^~\\&|C|D\r";
  const std::string stream = framed(first) + framed(second);

  for (std::size_t split = 0; split <= stream.size(); ++split) {
    CAPTURE(split);
    MllpFramer framer;
    framer.feed(std::string_view(stream).substr(0, split));
    std::vector<std::string> frames = drain(framer);
    framer.feed(std::string_view(stream).substr(split));
    for (auto& f : drain(framer)) frames.push_back(f);
    REQUIRE(frames.size() == 2);
    CHECK(frames[0] == first);
    CHECK(frames[1] == second);
    CHECK(framer.skipped_bytes() == 0);
    CHECK(framer.buffered_bytes() == 0);
  }
}

TEST_CASE("two frames are reassembled at every pair of split points", "[mllp][framer]") {
  const std::string stream = framed("AB") + framed("CDE");
  for (std::size_t a = 0; a <= stream.size(); ++a) {
    for (std::size_t b = a; b <= stream.size(); ++b) {
      MllpFramer framer;
      std::vector<std::string> frames;
      for (auto [from, to] : {std::pair{std::size_t{0}, a}, std::pair{a, b}, std::pair{b, stream.size()}}) {
        framer.feed(std::string_view(stream).substr(from, to - from));
        for (auto& f : drain(framer)) frames.push_back(f);
      }
      REQUIRE(frames == std::vector<std::string>{"AB", "CDE"});
    }
  }
}

TEST_CASE("byte-by-byte input, including a split between 0x1C and 0x0D", "[mllp][framer]") {
  const std::string stream = framed("hello") + framed("world") + framed("!");
  MllpFramer framer;
  std::vector<std::string> frames;
  for (char c : stream) {
    framer.feed(std::string_view(&c, 1));
    for (auto& f : drain(framer)) frames.push_back(f);
  }
  CHECK(frames == std::vector<std::string>{"hello", "world", "!"});
  CHECK(framer.frames() == 3);
}

TEST_CASE("several frames in one feed come out in order", "[mllp][framer]") {
  std::string stream;
  for (int i = 0; i < 100; ++i) append_framed(stream, "message " + std::to_string(i));
  MllpFramer framer;
  framer.feed(stream);
  const std::vector<std::string> frames = drain(framer);
  REQUIRE(frames.size() == 100);
  for (int i = 0; i < 100; ++i) CHECK(frames[static_cast<std::size_t>(i)] == "message " + std::to_string(i));
}

TEST_CASE("bytes before a start block are skipped and counted", "[mllp][framer]") {
  MllpFramer framer;
  framer.feed("garbage\r\n\x1C\x0D");
  CHECK(drain(framer).empty());
  CHECK(framer.skipped_bytes() == 11);
  CHECK(framer.buffered_bytes() == 0);  // garbage is not kept
  framer.feed("xx" + framed("ok") + "yy");
  CHECK(drain(framer) == std::vector<std::string>{"ok"});
  CHECK(framer.skipped_bytes() == 15);
}

TEST_CASE("a start block inside a frame restarts the frame", "[mllp][framer]") {
  MllpFramer framer;
  framer.feed("\x0B" "partial" "\x0B" "whole" "\x1C\x0D");
  CHECK(drain(framer) == std::vector<std::string>{"whole"});
  CHECK(framer.restarts() == 1);
  CHECK(framer.skipped_bytes() == 8);  // 0x0B + "partial"

  SECTION("also when the restart arrives in a later read") {
    framer.feed("\x0B" "cut off");
    CHECK(drain(framer).empty());
    framer.feed("\x0B" "next" "\x1C");
    CHECK(drain(framer).empty());
    framer.feed("\x0D");
    CHECK(drain(framer) == std::vector<std::string>{"next"});
    CHECK(framer.restarts() == 2);
  }
}

TEST_CASE("empty frames are frames", "[mllp][framer]") {
  MllpFramer framer;
  framer.feed(framed("") + framed("") + framed("x"));
  CHECK(drain(framer) == std::vector<std::string>{"", "", "x"});
}

TEST_CASE("0x1C not followed by 0x0D is payload", "[mllp][framer]") {
  MllpFramer framer;
  framer.feed("\x0B" "a\x1C" "b");
  CHECK(drain(framer).empty());
  framer.feed("\x1C");  // could still be the end
  CHECK(drain(framer).empty());
  framer.feed("c\x1C\x0D");
  CHECK(drain(framer) == std::vector<std::string>{"a\x1C" "b\x1C" "c"});
}

TEST_CASE("a frame larger than max_frame_bytes is reported as Oversize", "[mllp][framer]") {
  SECTION("exactly the limit is accepted") {
    MllpFramer framer(8);
    framer.feed(framed("12345678"));
    CHECK(drain(framer) == std::vector<std::string>{"12345678"});
  }
  SECTION("one over the limit, complete in one feed") {
    MllpFramer framer(8);
    framer.feed(framed("123456789"));
    bool oversize = false;
    CHECK(drain(framer, &oversize).empty());
    CHECK(oversize);
  }
  SECTION("detected before the end block arrives, and sticky until reset") {
    MllpFramer framer(8);
    framer.feed("\x0B" "12345678");
    bool oversize = false;
    CHECK(drain(framer, &oversize).empty());
    CHECK_FALSE(oversize);
    framer.feed("9");
    CHECK(drain(framer, &oversize).empty());
    CHECK(oversize);
    CHECK(framer.oversize());
    framer.feed(framed("ok"));
    CHECK(drain(framer, &oversize).empty());
    CHECK(oversize);
    framer.reset();
    framer.feed(framed("ok"));
    CHECK(drain(framer) == std::vector<std::string>{"ok"});
  }
  SECTION("garbage outside frames never counts toward the limit") {
    MllpFramer framer(8);
    framer.feed(std::string(1000, 'g') + framed("ok"));
    bool oversize = true;
    CHECK(drain(framer, &oversize) == std::vector<std::string>{"ok"});
    CHECK_FALSE(oversize);
  }
}

TEST_CASE("prepare/commit reads in place and compacts across many frames", "[mllp][framer]") {
  MllpFramer framer(1024 * 1024);
  const std::string big(100 * 1024, 'b');
  std::string stream;
  for (int i = 0; i < 20; ++i) {
    append_framed(stream, big);
    append_framed(stream, "small" + std::to_string(i));
  }
  std::size_t offset = 0;
  std::vector<std::string> frames;
  while (offset < stream.size()) {
    std::span<char> room = framer.prepare(3000);
    REQUIRE(room.size() >= 3000);
    const std::size_t n = std::min<std::size_t>(3000, stream.size() - offset);
    std::copy_n(stream.data() + offset, n, room.data());
    framer.commit(n);
    offset += n;
    for (auto& f : drain(framer)) frames.push_back(f);
  }
  REQUIRE(frames.size() == 40);
  for (int i = 0; i < 20; ++i) {
    CHECK(frames[static_cast<std::size_t>(2 * i)] == big);
    CHECK(frames[static_cast<std::size_t>(2 * i + 1)] == "small" + std::to_string(i));
  }
}
