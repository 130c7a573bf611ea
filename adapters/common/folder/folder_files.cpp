// Implementation of the watched folder's file-system steps (see folder_files.h).
// Every step that makes a move durable ends with fsync of the directories it touched;
// nothing here ever replaces or truncates a file the sender wrote.
#include "adapters/common/folder/folder_files.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace phrgate::folder {
namespace {

std::runtime_error os_error(const std::string& step) {
  return std::runtime_error(step + ": " + std::strerror(errno));
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // close(2) reports deferred write errors (NFS): callers that wrote check it.
  bool close_checked() {
    int fd = fd_;
    fd_ = -1;
    return ::close(fd) == 0;
  }

 private:
  int fd_;
};

FileSignature signature_of(const struct stat& st) {
  FileSignature s;
  s.size = static_cast<std::uint64_t>(st.st_size);
  s.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  s.ctime_ns = static_cast<std::int64_t>(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec;
  s.inode = static_cast<std::uint64_t>(st.st_ino);
  return s;
}

std::string parent_dir(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

bool exists_no_follow(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0 || errno != ENOENT;
}

// rename(2) that fails with EEXIST instead of replacing `to`. Filesystems without
// RENAME_NOREPLACE (some network mounts) fall back to check-then-rename; the folder's
// only other writer there is an operator, so the window is accepted.
int rename_no_replace(const std::string& from, const std::string& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP) return -1;
  if (exists_no_follow(to)) {
    errno = EEXIST;
    return -1;
  }
  return ::rename(from.c_str(), to.c_str());
}

}  // namespace

ReadResult read_whole_file(const std::string& path, std::uint64_t max_bytes) {
  ReadResult r;
  Fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
  if (fd.get() < 0) {
    r.error_number = errno;
    r.error = std::string("open: ") + std::strerror(errno);
    if (errno == ENOENT) r.status = ReadStatus::Vanished;
    else if (errno == ELOOP) r.status = ReadStatus::NotRegular;
    return r;
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) {
    r.error_number = errno;
    r.error = std::string("fstat: ") + std::strerror(errno);
    return r;
  }
  if (!S_ISREG(st.st_mode)) {
    r.status = ReadStatus::NotRegular;
    return r;
  }
  r.signature = signature_of(st);
  if (r.signature.size > max_bytes) {
    r.status = ReadStatus::TooLarge;
    return r;
  }
  r.content.resize(static_cast<std::size_t>(r.signature.size));
  std::size_t got = 0;
  for (;;) {
    if (got == r.content.size()) {
      // The file may have grown since fstat: read on, still bounded by max_bytes.
      if (r.content.size() >= max_bytes + 1) break;
      r.content.resize(std::min<std::uint64_t>(max_bytes + 1, r.content.size() + 65536));
    }
    ssize_t n = ::read(fd.get(), r.content.data() + got, r.content.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      r.error_number = errno;
      r.error = std::string("read: ") + std::strerror(errno);
      r.content.clear();
      return r;
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  r.content.resize(got);
  if (::fstat(fd.get(), &st) != 0) {
    r.error_number = errno;
    r.error = std::string("fstat: ") + std::strerror(errno);
    r.content.clear();
    return r;
  }
  r.signature = signature_of(st);
  if (got > max_bytes) {
    r.content.clear();
    r.status = ReadStatus::TooLarge;
    return r;
  }
  r.status = ReadStatus::Ok;
  return r;
}

std::string suffixed_name(const std::string& name, int n) {
  if (n == 0) return name;
  auto dot = name.find_last_of('.');
  if (dot == std::string::npos || dot == 0) return name + "-" + std::to_string(n);
  return name.substr(0, dot) + "-" + std::to_string(n) + name.substr(dot);
}

std::string move_into(const std::string& from, const std::string& dir, const std::string& name,
                      const std::function<void(const std::string& final_name)>& before_rename) {
  constexpr int kMaxSuffix = 100000;
  for (int n = 0; n <= kMaxSuffix; ++n) {
    std::string candidate = suffixed_name(name, n);
    std::string to = dir + "/" + candidate;
    if (exists_no_follow(to)) continue;
    if (before_rename) before_rename(candidate);
    if (rename_no_replace(from, to) == 0) {
      fsync_dir(dir);
      fsync_dir(parent_dir(from));
      return candidate;
    }
    if (errno != EEXIST) throw os_error("rename into " + dir);
  }
  throw std::runtime_error("rename into " + dir + ": no free name after " + std::to_string(kMaxSuffix) +
                           " suffixes");
}

void write_file_durably(const std::string& path, const std::string& text) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0640));
  if (fd.get() < 0) throw os_error("create " + path);
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw os_error("write " + path);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0) throw os_error("fsync " + path);
  if (!fd.close_checked()) throw os_error("close " + path);
}

void remove_durably(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) throw os_error("unlink");
  fsync_dir(parent_dir(path));
}

void fsync_dir(const std::string& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) throw os_error("open directory " + dir);
  if (::fsync(fd.get()) != 0 && errno != EINVAL) throw os_error("fsync directory " + dir);
}

}  // namespace phrgate::folder
