// The file-system steps of the watched folder, written once with their durability rules:
// read a file whole (bounded), move it into another folder without ever replacing a file
// there (rename(2), RENAME_NOREPLACE where the filesystem has it), write a small file
// durably, fsync a directory. Used by folder_watcher.cpp; knows nothing of file formats.
// Errors are thrown as std::runtime_error naming the step and errno text, never file content.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace phrgate::folder {

// What identifies "the same file, unchanged": any write, truncate, rename into the folder
// or replacement changes one of these.
struct FileSignature {
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  std::int64_t ctime_ns = 0;
  std::uint64_t inode = 0;
  bool operator==(const FileSignature&) const = default;
};

enum class ReadStatus { Ok, Vanished, NotRegular, TooLarge, Error };

struct ReadResult {
  ReadStatus status = ReadStatus::Error;
  std::string content;        // Ok: every byte
  FileSignature signature;    // taken after the read (Ok, TooLarge)
  std::string error;          // Error: "open: Permission denied"
  int error_number = 0;       // Error: errno, to tell passing trouble (EMFILE) from lasting
};

// Reads `path` whole without following a symlink. A file over `max_bytes` is not read
// (TooLarge; signature.size tells the size).
ReadResult read_whole_file(const std::string& path, std::uint64_t max_bytes);

// "adt.hl7" with n = 2 -> "adt-2.hl7"; n = 0 returns the name unchanged.
std::string suffixed_name(const std::string& name, int n);

// Moves `from` into `dir`, named `name` or, when that is taken, suffixed_name(name, 1, 2...).
// `before_rename(final_name)` runs just before the rename (e.g. to write a sidecar) and may
// throw. Then fsyncs `dir` and `from`'s directory. Returns the final base name.
std::string move_into(const std::string& from, const std::string& dir, const std::string& name,
                      const std::function<void(const std::string& final_name)>& before_rename = {});

// Writes `text` to `path` (created or truncated) and fsyncs it.
void write_file_durably(const std::string& path, const std::string& text);

// Deletes `path` and fsyncs its directory.
void remove_durably(const std::string& path);

// fsync(2) on a directory, so renames and unlinks in it survive a power cut.
void fsync_dir(const std::string& dir);

}  // namespace phrgate::folder
