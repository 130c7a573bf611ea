// Fault tests of the SQLite inbox: failed commits (injected, and a size cap that behaves like
// a full disk) report Failed and leave nothing half-written; misbehaving callbacks do not stop
// the committer; a process SIGKILLed mid-stream loses no message it reported Committed.
// Also two hidden throughput probes ("[.bench]"), run by hand, never by ctest.
#include <catch2/catch.hpp>

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <semaphore>
#include <set>
#include <thread>

#include "gateway/core/sqlite_db.h"
#include "tests/gateway/queue/inbox_test_util.h"

using namespace phrgate::queue;
using namespace phrgate::queue::testing;

namespace {

int64_t count_rows(const std::string& path) {
  phrgate::sqlite::Db db(path, true);
  phrgate::sqlite::Stmt count(db, "SELECT count(*) FROM inbox");
  count.step();
  return count.column_int(0);
}

}  // namespace

TEST_CASE("an injected commit failure reports Failed and writes nothing", "[fault]") {
  TempDir dir;
  std::atomic<bool> fail{false};
  SqliteInboxOptions options;
  options.path = dir.file("inbox.db");
  options.fail_commit_hook = [&] { return fail.load(); };
  auto inbox = open_sqlite_inbox(options);
  auto kept = submit_and_wait(*inbox, make_message("KEEP"));
  REQUIRE(kept.first == SubmitResult::Committed);
  auto row = inbox->fetch_pending(1);
  REQUIRE(row.size() == 1);

  fail = true;
  Recorder rec;
  for (int i = 0; i < 20; ++i) inbox->submit(make_message("F" + std::to_string(i)), rec.callback());
  inbox->flush();
  auto results = rec.results();
  REQUIRE(results.size() == 20);
  for (auto& r : results) CHECK(r == std::make_pair(SubmitResult::Failed, int64_t{0}));
  // A failed completion throws and leaves the row handed out and pending.
  CHECK_THROWS_AS(inbox->complete(row[0].id, InboxStatus::Done, "", "v1"), std::runtime_error);
  CHECK(inbox->fetch_pending(10).empty());
  CHECK(inbox->stats().pending == 1);
  CHECK(inbox->stats().done == 0);
  CHECK(count_rows(options.path) == 1);

  fail = false;  // the inbox carries on: the same messages commit on retry
  auto retried = submit_and_wait(*inbox, make_message("F0"));
  CHECK(retried.first == SubmitResult::Committed);
  inbox->complete(row[0].id, InboxStatus::Done, "", "v1");
  CHECK(inbox->stats().done == 1);
  CHECK(inbox->stats().pending == 1);
  CHECK(count_rows(options.path) == 2);
}

TEST_CASE("a size cap that fills up fails commits without losing earlier rows", "[fault]") {
  TempDir dir;
  SqliteInboxOptions options;
  options.path = dir.file("inbox.db");
  options.max_page_count = 64;  // 64 pages of 4 KiB
  std::set<std::string> committed;
  int failed = 0;
  {
    auto inbox = open_sqlite_inbox(options);
    const std::string payload(8000, 'x');
    for (int i = 0; i < 100 && failed < 3; ++i) {
      std::string control = "BIG-" + std::to_string(i);
      auto [result, id] = submit_and_wait(*inbox, make_message(control, "LAB^A", payload));
      if (result == SubmitResult::Committed) committed.insert(control);
      if (result == SubmitResult::Failed) ++failed;
    }
    CHECK(failed == 3);
    CHECK_FALSE(committed.empty());
    CHECK(inbox->stats().pending == static_cast<int64_t>(committed.size()));
  }
  options.max_page_count = 0;
  auto inbox = open_sqlite_inbox(options);
  auto rows = inbox->fetch_pending(1000);
  std::set<std::string> found;
  for (auto& r : rows) found.insert(r.control_id);
  CHECK(found == committed);
}

TEST_CASE("misbehaving callbacks do not stop the committer", "[fault]") {
  TempDir dir;
  SqliteInboxOptions options;
  options.path = dir.file("inbox.db");
  auto inbox = open_sqlite_inbox(options);
  std::atomic<bool> flush_refused{false};
  inbox->submit(make_message("A"), [&](SubmitResult, int64_t) {
    try {
      inbox->flush();  // would wait for this very thread
    } catch (const std::logic_error&) {
      flush_refused = true;
    }
  });
  inbox->submit(make_message("B"), [](SubmitResult, int64_t) { throw std::runtime_error("boom"); });
  inbox->flush();
  CHECK(flush_refused);
  CHECK(submit_and_wait(*inbox, make_message("C")).first == SubmitResult::Committed);
  CHECK(inbox->stats().pending == 3);
}

namespace {

// Child process: submits from 4 threads (with some repeats) and writes the control id of
// every Committed callback to `fd`, until it is killed. Never returns. The committer
// checkpoints the WAL whenever it holds `checkpoint_frames` frames.
[[noreturn]] void submit_until_killed(const std::string& path, int fd, int64_t checkpoint_frames) {
  try {
    SqliteInboxOptions options;
    options.path = path;
    options.checkpoint_frames = checkpoint_frames;
    auto inbox = open_sqlite_inbox(options);
    std::counting_semaphore<4096> in_flight(2000);
    auto worker = [&](int t) {
      for (int i = 0;; ++i) {
        int n = (i % 10 == 9) ? i - 5 : i;  // every tenth is a repeat: Duplicate, not reported
        std::string control = "K" + std::to_string(t) + "-" + std::to_string(n);
        in_flight.acquire();
        inbox->submit(make_message(control), [&, control](SubmitResult r, int64_t) {
          if (r == SubmitResult::Committed) {
            std::string line = control + "\n";
            if (write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) _exit(3);
          }
          in_flight.release();
        });
      }
    };
    std::thread threads[4] = {std::thread(worker, 0), std::thread(worker, 1),
                              std::thread(worker, 2), std::thread(worker, 3)};
    for (auto& t : threads) t.join();
  } catch (...) {
    _exit(2);
  }
  _exit(1);
}

}  // namespace

// Runs submit_until_killed() in a child, SIGKILLs it mid-stream, and checks that every
// message it reported Committed is in the file exactly once.
void check_sigkill_loses_nothing(int64_t checkpoint_frames) {
  TempDir dir;
  const std::string path = dir.file("inbox.db");
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    close(fds[0]);
    submit_until_killed(path, fds[1], checkpoint_frames);
  }
  close(fds[1]);

  // Read reports for a while, kill the child mid-stream, then drain what it wrote before.
  std::vector<std::string> reported;
  std::string buffer;
  auto started = std::chrono::steady_clock::now();
  bool killed = false;
  for (;;) {
    auto elapsed = std::chrono::steady_clock::now() - started;
    bool enough = reported.size() >= 20000 ||
                  (reported.size() >= 200 && elapsed > std::chrono::milliseconds(700)) ||
                  elapsed > std::chrono::seconds(5);  // then the REQUIRE below fails
    if (!killed && enough) {
      kill(child, SIGKILL);
      killed = true;
    }
    pollfd pfd{fds[0], POLLIN, 0};
    if (poll(&pfd, 1, 100) <= 0) continue;
    char chunk[4096];
    ssize_t n = read(fds[0], chunk, sizeof chunk);
    if (n <= 0) break;  // EOF: the child is gone and the pipe is drained
    buffer.append(chunk, static_cast<std::size_t>(n));
    std::size_t start = 0, end;
    while ((end = buffer.find('\n', start)) != std::string::npos) {
      reported.push_back(buffer.substr(start, end - start));
      start = end + 1;
    }
    buffer.erase(0, start);
  }
  close(fds[0]);
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  REQUIRE(WIFSIGNALED(status));  // it did not exit early on an error of its own
  CHECK(buffer.empty());         // writes of one short line are atomic
  REQUIRE(reported.size() >= 200);

  phrgate::sqlite::Db db(path);  // opening recovers the WAL, as a restart would
  phrgate::sqlite::Stmt check(db, "PRAGMA integrity_check");
  REQUIRE(check.step());
  CHECK(check.column_text(0) == "ok");
  check.reset();
  phrgate::sqlite::Stmt find(db, 
      "SELECT count(*) FROM inbox WHERE sender = ?1 AND control_id = ?2 AND control_id <> ''");
  int64_t missing = 0, repeated = 0;
  for (const std::string& control : reported) {
    find.bind(1, std::string("LAB^HOSP_A")).bind(2, control);
    REQUIRE(find.step());
    int64_t n = find.column_int(0);
    find.reset();
    if (n == 0) ++missing;
    if (n > 1) ++repeated;
  }
  CHECK(missing == 0);
  CHECK(repeated == 0);
  CHECK(std::set<std::string>(reported.begin(), reported.end()).size() == reported.size());
  auto inbox = open_sqlite_inbox(SqliteInboxOptions{path});  // and the inbox reopens
  CHECK(inbox->stats().pending >= static_cast<int64_t>(reported.size()));
}

TEST_CASE("a SIGKILLed process loses no message it reported Committed", "[fault]") {
  check_sigkill_loses_nothing(SqliteInboxOptions{}.checkpoint_frames);
}

// Checkpoints between nearly every two transactions, so the kill often lands in one (or in
// the commit right after one, when the WAL restarts from its beginning).
TEST_CASE("a SIGKILL during the inbox committer's frequent checkpoints loses no message", "[fault]") {
  check_sigkill_loses_nothing(8);
}

// ---- throughput probes: ./test_sqlite_inbox "[.bench]" --------------------------------

TEST_CASE("bench: many submitters each waiting for its commit", "[.bench]") {
  for (int submitters : {1, 16, 64, 256}) {
    TempDir dir;
    auto inbox = open_sqlite_inbox(SqliteInboxOptions{dir.file("inbox.db")});
    std::atomic<bool> stop{false};
    std::atomic<int64_t> committed{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < submitters; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; !stop; ++i) {
          auto msg = make_message("S" + std::to_string(submitters) + "-" + std::to_string(t) +
                                  "-" + std::to_string(i), "LAB^A", std::string(600, 'p'));
          if (submit_and_wait(*inbox, std::move(msg)).first == SubmitResult::Committed) ++committed;
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::seconds(2));
    stop = true;
    for (auto& t : threads) t.join();
    std::cout << submitters << " waiting submitters: " << committed / 2 << " msgs/s\n";
  }
}

TEST_CASE("bench: 8 threads submitting without waiting", "[.bench]") {
  TempDir dir;
  auto inbox = open_sqlite_inbox(SqliteInboxOptions{dir.file("inbox.db")});
  constexpr int kPerThread = 25000;
  auto started = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        inbox->submit(make_message("A" + std::to_string(t) + "-" + std::to_string(i), "LAB^A",
                                   std::string(600, 'p')),
                      nullptr);
      }
    });
  }
  for (auto& t : threads) t.join();
  inbox->flush();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cout << "8 threads without waiting: " << static_cast<int64_t>(8 * kPerThread / seconds)
            << " msgs/s\n";
}
