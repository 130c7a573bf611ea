// Tests of FolderWatcher (adapters/common/folder) on real temp folders with a stand-in
// handler (no file format): which files are taken and in what order, the quiet period,
// size limit, sidecars, name collisions, retries, stop/drain and start-up checks.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "adapters/common/folder/folder_files.h"
#include "adapters/common/folder/folder_watcher.h"
#include "gateway/core/metrics.h"
#include "tests/support/temp_dir.h"

using namespace phrgate::folder;
using phrgate::testing::TempDir;
namespace fs = std::filesystem;

namespace {

void write_file(const std::string& path, const std::string& content, bool append = false) {
  std::ofstream out(path, std::ios::binary | (append ? std::ios::app : std::ios::trunc));
  out << content;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool exists(const std::string& path) { return fs::exists(fs::symlink_status(path)); }

void set_mtime(const std::string& path, long seconds) {
  struct timespec times[2] = {{seconds, 0}, {seconds, 0}};
  REQUIRE(::utimensat(AT_FDCWD, path.c_str(), times, 0) == 0);
}

template <class Pred>
bool wait_until(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

// Records each file handed over and answers with `verdict(name, attempt)`.
struct RecordingHandler {
  std::mutex mutex;
  std::vector<std::string> names;
  std::vector<std::string> contents;
  std::function<FileResult(const std::string&, int)> verdict = [](const std::string&, int) { return FileResult{}; };

  FileHandler handler() {
    return [this](const PickedFile& f, FileDone done) {
      int attempt = 0;
      {
        std::lock_guard<std::mutex> lock(mutex);
        names.push_back(f.name);
        contents.push_back(f.content);
        for (const auto& n : names) attempt += n == f.name;
      }
      done(verdict(f.name, attempt));
    };
  }
  std::vector<std::string> seen() {
    std::lock_guard<std::mutex> lock(mutex);
    return names;
  }
  std::vector<std::string> seen_contents() {
    std::lock_guard<std::mutex> lock(mutex);
    return contents;
  }
};

struct FakeClock {
  std::atomic<int64_t> ms{0};
  std::function<std::chrono::steady_clock::time_point()> fn() {
    return [this] { return std::chrono::steady_clock::time_point(std::chrono::milliseconds(ms.load())); };
  }
};

FolderWatcherOptions fast_options(const std::string& inbox) {
  FolderWatcherOptions o;
  o.inbox_dir = inbox;
  o.poll_interval = std::chrono::milliseconds(5);
  o.min_file_age = std::chrono::milliseconds(0);
  o.log_name = "test-folder";
  return o;
}

// Waits for `n` more scans than now: every file present before the call has been looked at.
void wait_scans(FolderWatcher& w, int n = 3) {
  auto target = w.stats().scans + n;
  REQUIRE(wait_until([&] { return w.stats().scans >= target; }));
}

}  // namespace

TEST_CASE("folder watcher: still files are taken oldest first and moved to processed/", "[folder]") {
  TempDir dir;
  const std::string in = dir.file("in");
  fs::create_directories(in);
  write_file(in + "/newer.txt", "B");
  write_file(in + "/older.txt", "A");
  set_mtime(in + "/newer.txt", 2000000000);
  set_mtime(in + "/older.txt", 1000000000);
  RecordingHandler h;
  phrgate::metrics::Registry metrics;
  FolderWatcher w(fast_options(in), h.handler(), &metrics);
  w.start();
  REQUIRE(wait_until([&] { return w.stats().files_processed == 2; }));
  CHECK(h.seen() == std::vector<std::string>{"older.txt", "newer.txt"});
  CHECK(read_file(in + "/processed/older.txt") == "A");
  CHECK_FALSE(exists(in + "/older.txt"));
  CHECK(w.stats().files_processed == 2);
  CHECK(metrics.render().find("phrgate_folder_files_total{source=\"test-folder\",outcome=\"processed\"} 2") !=
        std::string::npos);
}

TEST_CASE("folder watcher: ignored names, subfolders and processed/failed are never read", "[folder]") {
  TempDir dir;
  const std::string in = dir.file("in");
  fs::create_directories(in + "/processed");
  fs::create_directories(in + "/failed");
  fs::create_directories(in + "/nested");
  write_file(in + "/processed/done.txt", "x");
  write_file(in + "/failed/bad.txt", "x");
  write_file(in + "/nested/deep.txt", "x");
  write_file(in + "/partial.tmp", "x");
  write_file(in + "/.hidden", "x");
  fs::create_symlink(in + "/processed/done.txt", in + "/link.txt");
  write_file(in + "/real.txt", "x");
  RecordingHandler h;
  FolderWatcher w(fast_options(in), h.handler(), nullptr);
  w.start();
  REQUIRE(wait_until([&] { return exists(in + "/processed/real.txt"); }));
  wait_scans(w);
  CHECK(h.seen() == std::vector<std::string>{"real.txt"});
  CHECK(exists(in + "/partial.tmp"));
  CHECK(exists(in + "/.hidden"));
  CHECK(exists(in + "/link.txt"));
  CHECK_FALSE(exists(in + "/processed/real-1.txt"));
}

TEST_CASE("folder watcher: a file still being written waits until it has been still for min_file_age", "[folder]") {
  TempDir dir;
  const std::string in = dir.file("in");
  fs::create_directories(in);
  FakeClock clock;
  auto o = fast_options(in);
  o.min_file_age = std::chrono::milliseconds(1000);
  o.hooks.clock = clock.fn();
  RecordingHandler h;
  FolderWatcher w(o, h.handler(), nullptr);
  w.start();
  write_file(in + "/growing.txt", "first half;");
  wait_scans(w);
  clock.ms = 900;
  wait_scans(w);
  CHECK(h.seen().empty());

  write_file(in + "/growing.txt", "second half", true);  // written again: the quiet period restarts
  wait_scans(w);
  clock.ms = 1500;  // 1500 since first seen, but only 600 since the last change
  wait_scans(w);
  CHECK(h.seen().empty());
  CHECK(w.stats().files_waiting == 1);

  clock.ms = 1900;
  REQUIRE(wait_until([&] { return exists(in + "/processed/growing.txt"); }));
  CHECK(h.seen_contents().at(0) == "first half;second half");
}

TEST_CASE("folder watcher: oversize and empty files go to failed/ unread, with a sidecar", "[folder]") {
  TempDir dir;
  const std::string in = dir.file("in");
  fs::create_directories(in);
  write_file(in + "/big.dat", std::string(11, 'x'));
  write_file(in + "/empty.dat", "");
  auto o = fast_options(in);
  o.max_file_bytes = 10;
  RecordingHandler h;
  FolderWatcher w(o, h.handler(), nullptr);
  w.start();
  REQUIRE(wait_until([&] { return w.stats().files_failed == 2; }));
  CHECK(h.seen().empty());
  CHECK(read_file(in + "/failed/big.dat") == std::string(11, 'x'));
  std::string why = read_file(in + "/failed/big.dat.error.txt");
  CHECK(why.find("max_file_bytes (11 > 10 bytes)") != std::string::npos);
  CHECK(why.find("test-folder") != std::string::npos);
  CHECK(read_file(in + "/failed/empty.dat.error.txt").find("file is empty") != std::string::npos);
}

TEST_CASE("folder watcher: a Failed verdict writes the handler's sidecar, taken names get a suffix", "[folder]") {
  TempDir dir;
  const std::string in = dir.file("in");
  fs::create_directories(in + "/failed");
  fs::create_directories(in + "/processed");
  write_file(in + "/failed/r.hl7", "earlier");
  write_file(in + "/failed/r.hl7.error.txt", "earlier reason");
  write_file(in + "/processed/ok.hl7", "earlier ok");
  write_file(in + "/r.hl7", "now");
  write_file(in + "/ok.hl7", "now ok");
  RecordingHandler h;
  h.verdict = [](const std::string& name, int) {
    FileResult r;
    if (name == "r.hl7") {
      r.outcome = FileOutcome::Failed;
      r.summary = "1 of 1 rejected";
      r.sidecar_text = "message 1: rejected because\n";
    }
    return r;
  };
  FolderWatcher w(fast_options(in), h.handler(), nullptr);
  w.start();
  REQUIRE(wait_until([&] { return exists(in + "/failed/r-1.hl7") && exists(in + "/processed/ok-1.hl7"); }));
  CHECK(read_file(in + "/failed/r-1.hl7") == "now");
  CHECK(read_file(in + "/failed/r-1.hl7.error.txt") == "message 1: rejected because\n");
  CHECK(read_file(in + "/failed/r.hl7") == "earlier");
  CHECK(read_file(in + "/failed/r.hl7.error.txt") == "earlier reason");
  CHECK(read_file(in + "/processed/ok.hl7") == "earlier ok");
  CHECK(read_file(in + "/processed/ok-1.hl7") == "now ok");
}

TEST_CASE("folder watcher: a Retry verdict leaves the file in place and it is taken again", "[folder]") {
  TempDir dir;
  const std::string in = dir.file("in");
  fs::create_directories(in);
  write_file(in + "/flaky.txt", "x");
  RecordingHandler h;
  h.verdict = [](const std::string&, int attempt) {
    FileResult r;
    if (attempt < 3) {
      r.outcome = FileOutcome::Retry;
      r.summary = "disk trouble";
    }
    return r;
  };
  FolderWatcher w(fast_options(in), h.handler(), nullptr);
  w.start();
  REQUIRE(wait_until([&] { return w.stats().files_processed == 1; }));
  CHECK(exists(in + "/processed/flaky.txt"));
  CHECK(h.seen().size() == 3);
  CHECK(w.stats().files_retried == 2);
}

TEST_CASE("folder watcher: keep_processed=false deletes the file after the handler's verdict", "[folder]") {
  TempDir dir;
  const std::string in = dir.file("in");
  fs::create_directories(in);
  write_file(in + "/gone.txt", "x");
  auto o = fast_options(in);
  o.keep_processed = false;
  RecordingHandler h;
  FolderWatcher w(o, h.handler(), nullptr);
  w.start();
  REQUIRE(wait_until([&] { return w.stats().files_processed == 1; }));
  CHECK_FALSE(exists(in + "/gone.txt"));
  CHECK_FALSE(exists(in + "/processed/gone.txt"));
}

TEST_CASE("folder watcher: stop() finishes the file in hand and takes no other", "[folder]") {
  TempDir dir;
  const std::string in = dir.file("in");
  fs::create_directories(in);
  write_file(in + "/a.txt", "a");
  write_file(in + "/b.txt", "b");
  set_mtime(in + "/a.txt", 1000000000);
  std::mutex mutex;
  std::vector<FileDone> held;
  FolderWatcher w(fast_options(in), [&](const PickedFile&, FileDone done) {
    std::lock_guard<std::mutex> lock(mutex);
    held.push_back(std::move(done));
  }, nullptr);
  w.start();
  REQUIRE(wait_until([&] { std::lock_guard<std::mutex> lock(mutex); return held.size() == 1; }));
  w.stop();
  CHECK_FALSE(w.wait_idle(std::chrono::steady_clock::now() + std::chrono::milliseconds(20)));
  CHECK(exists(in + "/a.txt"));  // not moved before its verdict
  std::thread answer([&] { held[0](FileResult{}); });  // the verdict may come from any thread
  answer.join();
  CHECK(w.wait_idle(std::chrono::steady_clock::now() + std::chrono::seconds(10)));
  CHECK(exists(in + "/processed/a.txt"));
  CHECK(exists(in + "/b.txt"));
  std::lock_guard<std::mutex> lock(mutex);
  CHECK(held.size() == 1);
}

TEST_CASE("folder watcher: destroyed with a file in hand, the file stays where it was", "[folder]") {
  TempDir dir;
  const std::string in = dir.file("in");
  fs::create_directories(in);
  write_file(in + "/a.txt", "a");
  std::mutex mutex;
  FileDone held;
  {
    FolderWatcher w(fast_options(in), [&](const PickedFile&, FileDone done) {
      std::lock_guard<std::mutex> lock(mutex);
      held = std::move(done);
    }, nullptr);
    w.start();
    REQUIRE(wait_until([&] { std::lock_guard<std::mutex> lock(mutex); return bool(held); }));
  }
  held(FileResult{});  // a late answer after the watcher is gone is harmless
  CHECK(exists(in + "/a.txt"));
  CHECK_FALSE(exists(in + "/processed/a.txt"));
}

TEST_CASE("folder watcher: start() refuses folders it cannot use", "[folder]") {
  TempDir dir;
  RecordingHandler h;
  SECTION("processed_dir is the inbox itself") {
    auto o = fast_options(dir.file("in"));
    o.processed_dir = dir.file("in/.");
    FolderWatcher w(o, h.handler(), nullptr);
    CHECK_THROWS_WITH(w.start(), Catch::Contains("three different folders"));
  }
  SECTION("path is a file") {
    write_file(dir.file("plain"), "x");
    FolderWatcher w(fast_options(dir.file("plain")), h.handler(), nullptr);
    CHECK_THROWS(w.start());
  }
  SECTION("processed_dir on another filesystem") {
    struct stat a, b;
    if (::stat("/dev/shm", &a) != 0 || ::stat(dir.path().c_str(), &b) != 0 || a.st_dev == b.st_dev) return;
    std::string other = "/dev/shm/phrgate-folder-test-" + std::to_string(::getpid());
    auto o = fast_options(dir.file("in"));
    o.processed_dir = other;
    FolderWatcher w(o, h.handler(), nullptr);
    CHECK_THROWS_WITH(w.start(), Catch::Contains("same filesystem"));
    fs::remove_all(other);
  }
}

TEST_CASE("folder files: suffixed names and bounded reads", "[folder]") {
  CHECK(suffixed_name("adt.hl7", 0) == "adt.hl7");
  CHECK(suffixed_name("adt.hl7", 2) == "adt-2.hl7");
  CHECK(suffixed_name("noext", 1) == "noext-1");
  CHECK(suffixed_name(".profile", 1) == ".profile-1");
  TempDir dir;
  write_file(dir.file("f"), "0123456789");
  auto ok = read_whole_file(dir.file("f"), 10);
  CHECK(ok.status == ReadStatus::Ok);
  CHECK(ok.content == "0123456789");
  CHECK(read_whole_file(dir.file("f"), 9).status == ReadStatus::TooLarge);
  CHECK(read_whole_file(dir.file("missing"), 9).status == ReadStatus::Vanished);
  fs::create_symlink(dir.file("f"), dir.file("link"));
  CHECK(read_whole_file(dir.file("link"), 100).status == ReadStatus::NotRegular);
}
