// FolderWatcher: a watched drop folder. Knows nothing of the files' format: it polls the
// folder on its own thread, picks files that have stopped changing (oldest first), reads
// each one and hands it to the adapter's handler, then, once the handler reports that all
// of the file's content is durable, moves it atomically to processed/ or failed/ (with a
// "<name>.error.txt" sidecar). Used by adapters/hl7v2 ("hl7v2_folder"), later C-CDA.
// It never moves a file before the handler says so, and never blocks an io_context thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace phrgate::metrics {
class Registry;
}

namespace phrgate::folder {

// Seams for tests; defaults are the real thing.
struct FolderWatcherHooks {
  // The clock that decides when a file has been still for min_file_age.
  std::function<std::chrono::steady_clock::time_point()> clock;
  // Called just before a finished file is moved (or deleted). Returning false leaves the
  // file where it is, as if the process died at that instant (crash-recovery tests).
  std::function<bool(const std::string& name)> before_move;
};

struct FolderWatcherOptions {
  std::string inbox_dir;          // the folder the sender writes into
  std::string processed_dir;      // "" -> <inbox_dir>/processed
  std::string failed_dir;         // "" -> <inbox_dir>/failed
  std::chrono::milliseconds poll_interval{1000};
  // A file is picked only once its size, times and inode have not changed for this long.
  std::chrono::milliseconds min_file_age{1000};
  std::uint64_t max_file_bytes = 64ull << 20;  // larger files go to failed/ unread
  std::vector<std::string> ignore_patterns{"*.tmp", ".*"};  // fnmatch(3) on the base name
  bool keep_processed = true;     // false: delete a processed file instead of moving it
  std::size_t max_files_per_tick = 100;
  std::string log_name;           // the source's config name, for logs and metric labels
  FolderWatcherHooks hooks;
};

// One file taken from the folder, whole.
struct PickedFile {
  std::string name;     // base name (chosen by the sender: log nothing else about the file)
  std::string path;     // full path in the inbox folder
  std::string content;  // every byte of the file
};

enum class FileOutcome {
  Processed,  // everything in the file is durable: move it to processed/
  Failed,     // the durable parts are committed, the rest is bad: move it to failed/
  Retry,      // could not make it durable (disk trouble): leave it, try again next tick
};

// The handler's verdict on one file. Counts are for the log line; texts carry no PHI.
struct FileResult {
  FileOutcome outcome = FileOutcome::Processed;
  std::string summary;       // one line for the log (why it failed / must be retried)
  std::string sidecar_text;  // Failed: the body of <name>.error.txt
  int64_t messages = 0;      // items found in the file
  int64_t committed = 0;     // newly committed
  int64_t duplicates = 0;    // already committed earlier (e.g. before a crash)
  int64_t rejected = 0;      // kept as rejected
};

using FileDone = std::function<void(FileResult)>;
// Runs on the watcher's thread. Must call `done` exactly once, from any thread, when every
// part of the file is durable (or has failed); it must not keep references into `file`
// after it returns. The watcher waits for `done` before it takes the next file.
using FileHandler = std::function<void(const PickedFile& file, FileDone done)>;

struct FolderWatcherStats {
  int64_t scans = 0;
  int64_t files_processed = 0;
  int64_t files_failed = 0;
  int64_t files_retried = 0;   // Retry verdicts and moves that failed (file left in place)
  int64_t files_waiting = 0;   // seen at the last scan, not yet taken
};

class FolderWatcher {
 public:
  // `metrics` may be null; when set, file counters are registered with source=<log_name>.
  FolderWatcher(FolderWatcherOptions options, FileHandler handler, metrics::Registry* metrics);
  // Stops the thread. A file whose handler has not answered yet is left in place.
  ~FolderWatcher();
  FolderWatcher(const FolderWatcher&) = delete;
  FolderWatcher& operator=(const FolderWatcher&) = delete;

  // Creates the three folders, checks that processed/ and failed/ are distinct from the
  // inbox and on its filesystem (rename must be atomic), starts polling. Throws
  // std::runtime_error with an operator-readable message when it cannot.
  void start();
  // Takes no new file; the file in hand is finished (moved) or left in place, never half-moved.
  void stop();
  // After stop(): waits until the file in hand is finished, or the deadline. True when idle.
  bool wait_idle(std::chrono::steady_clock::time_point deadline);
  // Wakes the thread for a scan now (e.g. from inotify, or tests).
  void poke();

  FolderWatcherStats stats() const;
  const FolderWatcherOptions& options() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace phrgate::folder
