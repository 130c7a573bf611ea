// Implementation of FolderWatcher (see folder_watcher.h).
// One thread owns the folder: it sleeps for poll_interval, scans, and takes the eligible
// files one at a time: read, hand to the handler, wait for its verdict, then move.
// Crash story: a file leaves the inbox folder only by one rename(2) after the handler said
// its content is durable, so a crash at any point leaves it either in place (read again on
// restart; the handler's store deduplicates) or moved; the directory fsyncs make the move
// itself durable. A sidecar is written before its file is moved, so a failed file is never
// found in failed/ without its reason (an orphan sidecar after a crash is overwritten).
#include "adapters/common/folder/folder_watcher.h"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "adapters/common/folder/folder_files.h"
#include "gateway/core/log.h"
#include "gateway/core/metrics.h"

namespace phrgate::folder {
namespace {

using SteadyClock = std::chrono::steady_clock;

struct Candidate {
  std::string name;
  FileSignature signature;
};

// What the thread remembers of each file between scans.
struct Observation {
  FileSignature signature;
  SteadyClock::time_point unchanged_since;  // on the hooks' clock
  SteadyClock::time_point not_before;       // real clock; set after a Retry
  int retries = 0;
};

// The handler's answer for one file; shared with the handler's `done`, which may run on
// another thread after the watcher gave up waiting (shutdown).
struct Waiter {
  std::mutex mutex;
  std::condition_variable cv;
  std::optional<FileResult> result;
  bool abandoned = false;
};

bool passing_trouble(int error_number) {
  return error_number == EMFILE || error_number == ENFILE || error_number == ENOMEM || error_number == EAGAIN ||
         error_number == EINTR || error_number == EBUSY;
}

bool log_this_retry(int n) { return (n & (n - 1)) == 0; }  // 1, 2, 4, 8, ...

std::string text_of(int64_t v) { return std::to_string(v); }

}  // namespace

struct FolderWatcher::Impl {
  FolderWatcherOptions opt;
  FileHandler handler;
  metrics::Counter* processed_metric = nullptr;
  metrics::Counter* failed_metric = nullptr;
  metrics::Counter* retried_metric = nullptr;

  mutable std::mutex mutex;
  std::condition_variable cv;
  bool started = false;
  bool stopping = false;
  bool closing = false;
  bool wake = false;
  bool exited = false;
  std::shared_ptr<Waiter> waiter;  // the file in hand, if any
  FolderWatcherStats stats;
  std::thread thread;

  // Owned by the thread.
  std::map<std::string, Observation> seen;
  std::string last_scan_error;

  SteadyClock::time_point now() const { return opt.hooks.clock ? opt.hooks.clock() : SteadyClock::now(); }

  bool should_stop() {
    std::lock_guard<std::mutex> lock(mutex);
    return stopping || closing;
  }

  bool ignored(const std::string& name) const {
    for (const auto& p : opt.ignore_patterns)
      if (::fnmatch(p.c_str(), name.c_str(), 0) == 0) return true;
    return false;
  }

  void run();
  bool tick();
  std::vector<Candidate> scan();
  void take(const Candidate& c);
  std::optional<FileResult> hand_over(PickedFile file);
  void finish(const std::string& name, const FileResult& result);
  void retry_later(const std::string& name, const std::string& reason);
};

void FolderWatcher::Impl::run() {
  auto next = SteadyClock::now();
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex);
      cv.wait_until(lock, next, [&] { return stopping || closing || wake; });
      if (stopping || closing) break;
      wake = false;
    }
    bool more = false;
    try {
      more = tick();
    } catch (const std::exception& e) {
      if (last_scan_error != e.what()) {  // once per distinct error, not every poll
        last_scan_error = e.what();
        log::error("folder.scan_failed", {{"source", opt.log_name}, {"error", e.what()}});
      }
    }
    next = more ? SteadyClock::now() : SteadyClock::now() + opt.poll_interval;
  }
  {
    std::lock_guard<std::mutex> lock(mutex);
    exited = true;
  }
  cv.notify_all();
}

// Scans once and takes up to max_files_per_tick files. True when eligible files remain.
bool FolderWatcher::Impl::tick() {
  std::vector<Candidate> eligible = scan();
  if (!last_scan_error.empty()) {
    log::info("folder.scan_recovered", {{"source", opt.log_name}});
    last_scan_error.clear();
  }
  std::size_t taken = 0;
  for (const auto& c : eligible) {
    if (taken == opt.max_files_per_tick || should_stop()) break;
    take(c);
    ++taken;
  }
  return taken < eligible.size() && !should_stop();
}

std::vector<Candidate> FolderWatcher::Impl::scan() {
  DIR* dir = ::opendir(opt.inbox_dir.c_str());
  if (!dir) throw std::runtime_error("cannot list " + opt.inbox_dir + ": " + std::strerror(errno));
  const auto t = now();
  const auto real_now = SteadyClock::now();
  std::map<std::string, Observation> still_there;
  std::vector<std::pair<int64_t, Candidate>> eligible;  // (mtime, file) for oldest-first
  while (dirent* e = ::readdir(dir)) {
    std::string name = e->d_name;
    if (name == "." || name == ".." || ignored(name)) continue;
    struct stat st;
    if (::fstatat(::dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (!S_ISREG(st.st_mode)) continue;  // processed/, failed/, other folders, symlinks, fifos
    FileSignature sig;
    sig.size = static_cast<std::uint64_t>(st.st_size);
    sig.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    sig.ctime_ns = static_cast<int64_t>(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec;
    sig.inode = static_cast<std::uint64_t>(st.st_ino);
    Observation ob;
    if (auto it = seen.find(name); it != seen.end() && it->second.signature == sig) {
      ob = it->second;
    } else {
      ob.signature = sig;
      ob.unchanged_since = t;
    }
    if (t - ob.unchanged_since >= opt.min_file_age && real_now >= ob.not_before)
      eligible.push_back({sig.mtime_ns, Candidate{name, sig}});
    still_there.emplace(std::move(name), ob);
  }
  ::closedir(dir);
  seen = std::move(still_there);
  std::sort(eligible.begin(), eligible.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first < b.first : a.second.name < b.second.name;
  });
  {
    std::lock_guard<std::mutex> lock(mutex);
    ++stats.scans;
    stats.files_waiting = static_cast<int64_t>(seen.size());
  }
  std::vector<Candidate> out;
  out.reserve(eligible.size());
  for (auto& e : eligible) out.push_back(std::move(e.second));
  return out;
}

void FolderWatcher::Impl::take(const Candidate& c) {
  const std::string path = opt.inbox_dir + "/" + c.name;
  ReadResult read = read_whole_file(path, opt.max_file_bytes);
  FileResult result;
  switch (read.status) {
    case ReadStatus::Vanished:
    case ReadStatus::NotRegular:
      seen.erase(c.name);  // taken away or replaced by something we do not read
      return;
    case ReadStatus::TooLarge:
      result.outcome = FileOutcome::Failed;
      result.summary = "file is larger than max_file_bytes (" + std::to_string(read.signature.size) + " > " +
                       std::to_string(opt.max_file_bytes) + " bytes); not read";
      break;
    case ReadStatus::Error:
      // Out of descriptors or memory passes; anything else (permissions, I/O errors) needs
      // an operator, who finds the file in failed/ with the reason.
      result.outcome = passing_trouble(read.error_number) ? FileOutcome::Retry : FileOutcome::Failed;
      result.summary = "cannot read the file (" + read.error + ")";
      break;
    case ReadStatus::Ok:
      if (read.signature != c.signature) {
        // Written to since the scan: the sender is not done. Start the quiet period again.
        seen.erase(c.name);
        log::debug("folder.file_changed", {{"source", opt.log_name}, {"file", c.name}});
        return;
      }
      if (read.content.empty()) {
        result.outcome = FileOutcome::Failed;
        result.summary = "file is empty";
        break;
      }
      {
        auto answer = hand_over(PickedFile{c.name, path, std::move(read.content)});
        if (!answer) return;  // shutting down before the handler answered: leave it in place
        result = std::move(*answer);
      }
      break;
  }
  if (result.outcome == FileOutcome::Failed && result.sidecar_text.empty())
    result.sidecar_text = "phrgate could not process this file.\nsource: " + opt.log_name +
                          "\nfile: " + c.name + "\nreason: " + result.summary + "\n";
  finish(c.name, result);
}

std::optional<FileResult> FolderWatcher::Impl::hand_over(PickedFile file) {
  auto w = std::make_shared<Waiter>();
  {
    std::lock_guard<std::mutex> lock(mutex);
    // Stopping before the handler started: the file was only read, so leave it in place
    // rather than start work the daemon's shutdown would not wait for.
    if (closing || stopping) return std::nullopt;
    waiter = w;
  }
  auto done = [w](FileResult r) {
    std::lock_guard<std::mutex> lock(w->mutex);
    if (!w->result) w->result = std::move(r);
    w->cv.notify_all();
  };
  try {
    handler(file, done);
  } catch (const std::exception& e) {
    done(FileResult{FileOutcome::Retry, std::string("handler error: ") + e.what()});
  }
  std::optional<FileResult> answer;
  {
    std::unique_lock<std::mutex> lock(w->mutex);
    w->cv.wait(lock, [&] { return w->result.has_value() || w->abandoned; });
    if (w->result) answer = std::move(w->result);
  }
  std::lock_guard<std::mutex> lock(mutex);
  waiter.reset();
  return answer;
}

void FolderWatcher::Impl::finish(const std::string& name, const FileResult& result) {
  if (result.outcome == FileOutcome::Retry) {
    retry_later(name, result.summary);
    return;
  }
  if (opt.hooks.before_move && !opt.hooks.before_move(name)) return;  // "crash" before the move
  const std::string path = opt.inbox_dir + "/" + name;
  const bool ok = result.outcome == FileOutcome::Processed;
  std::string moved_to;
  try {
    if (!ok) {
      moved_to = move_into(path, opt.failed_dir, name, [&](const std::string& final_name) {
        write_file_durably(opt.failed_dir + "/" + final_name + ".error.txt", result.sidecar_text);
      });
    } else if (opt.keep_processed) {
      moved_to = move_into(path, opt.processed_dir, name);
    } else {
      remove_durably(path);
    }
  } catch (const std::exception& e) {
    retry_later(name, std::string("could not move the file: ") + e.what());
    return;
  }
  seen.erase(name);
  {
    std::lock_guard<std::mutex> lock(mutex);
    ++(ok ? stats.files_processed : stats.files_failed);
  }
  if (auto* m = ok ? processed_metric : failed_metric) m->inc();
  const std::string messages = text_of(result.messages), committed = text_of(result.committed),
                    duplicates = text_of(result.duplicates), rejected = text_of(result.rejected);
  log::write(ok ? log::Level::Info : log::Level::Warn, ok ? "folder.file_processed" : "folder.file_failed",
             {{"source", opt.log_name},
              {"file", name},
              {"to", ok ? (opt.keep_processed ? "processed" : "deleted") : "failed"},
              {"moved_as", moved_to},
              {"messages", messages},
              {"committed", committed},
              {"duplicates", duplicates},
              {"rejected", rejected},
              {"reason", result.summary}});
}

void FolderWatcher::Impl::retry_later(const std::string& name, const std::string& reason) {
  int attempt = 1;
  if (auto it = seen.find(name); it != seen.end()) {
    it->second.not_before = SteadyClock::now() + opt.poll_interval;
    attempt = ++it->second.retries;
  }
  {
    std::lock_guard<std::mutex> lock(mutex);
    ++stats.files_retried;
  }
  if (retried_metric) retried_metric->inc();
  if (log_this_retry(attempt))
    log::warn("folder.file_retry", {{"source", opt.log_name}, {"file", name}, {"attempt", std::to_string(attempt)},
                                    {"reason", reason}, {"action", "file left in place; tried again next poll"}});
}

FolderWatcher::FolderWatcher(FolderWatcherOptions options, FileHandler handler, metrics::Registry* metrics)
    : impl_(std::make_unique<Impl>()) {
  impl_->opt = std::move(options);
  impl_->handler = std::move(handler);
  auto& o = impl_->opt;
  while (o.inbox_dir.size() > 1 && o.inbox_dir.back() == '/') o.inbox_dir.pop_back();
  if (o.processed_dir.empty()) o.processed_dir = o.inbox_dir + "/processed";
  if (o.failed_dir.empty()) o.failed_dir = o.inbox_dir + "/failed";
  if (o.max_files_per_tick == 0) o.max_files_per_tick = 1;
  if (metrics) {
    std::string labels = "source=\"" + o.log_name + "\"";
    const char* help = "Files taken from a watched folder, by where they went";
    impl_->processed_metric = &metrics->counter("phrgate_folder_files_total", help, labels + ",outcome=\"processed\"");
    impl_->failed_metric = &metrics->counter("phrgate_folder_files_total", help, labels + ",outcome=\"failed\"");
    impl_->retried_metric = &metrics->counter(
        "phrgate_folder_retries_total", "Files left in place to be tried again (commit or move failed)", labels);
  }
}

FolderWatcher::~FolderWatcher() {
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->closing = true;
    if (impl_->waiter) {
      std::lock_guard<std::mutex> wlock(impl_->waiter->mutex);
      impl_->waiter->abandoned = true;
      impl_->waiter->cv.notify_all();
    }
  }
  impl_->cv.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
}

void FolderWatcher::start() {
  auto& o = impl_->opt;
  if (o.inbox_dir.empty()) throw std::runtime_error("folder source " + o.log_name + ": path is empty");
  struct stat st[3];
  const std::string* dirs[3] = {&o.inbox_dir, &o.processed_dir, &o.failed_dir};
  for (int i = 0; i < 3; ++i) {
    std::error_code ec;
    std::filesystem::create_directories(*dirs[i], ec);
    if (ec) throw std::runtime_error("folder source " + o.log_name + ": cannot create " + *dirs[i] + ": " + ec.message());
    if (::stat(dirs[i]->c_str(), &st[i]) != 0 || !S_ISDIR(st[i].st_mode))
      throw std::runtime_error("folder source " + o.log_name + ": " + *dirs[i] + " is not a folder");
  }
  auto same = [&](int a, int b) { return st[a].st_dev == st[b].st_dev && st[a].st_ino == st[b].st_ino; };
  if (same(0, 1) || same(0, 2) || same(1, 2))
    throw std::runtime_error("folder source " + o.log_name + ": path, processed_dir and failed_dir must be three different folders");
  if (st[0].st_dev != st[1].st_dev || st[0].st_dev != st[2].st_dev)
    throw std::runtime_error("folder source " + o.log_name + ": processed_dir and failed_dir must be on the same filesystem as path (files are moved with rename)");
  std::lock_guard<std::mutex> lock(impl_->mutex);
  if (impl_->started) return;
  impl_->started = true;
  impl_->thread = std::thread([impl = impl_.get()] { impl->run(); });
}

void FolderWatcher::stop() {
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
}

bool FolderWatcher::wait_idle(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(impl_->mutex);
  return impl_->cv.wait_until(lock, deadline, [&] { return impl_->exited || !impl_->started; });
}

void FolderWatcher::poke() {
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->wake = true;
  }
  impl_->cv.notify_all();
}

FolderWatcherStats FolderWatcher::stats() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->stats;
}

const FolderWatcherOptions& FolderWatcher::options() const { return impl_->opt; }

}  // namespace phrgate::folder
