// Implementation of MappingVersions (see mapping_versions.h): copy the tables into a temp
// directory, load the copy, then keep the copy as the version's snapshot (fsync the files and
// the directories before the rename, so a version recorded by a durable inbox commit always
// has its tables on disk). Never logs table contents; errors name files, not values.
#include "gateway/mapping/mapping_versions.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace phrgate::mapping {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kIncomingPrefix = ".incoming-";

bool valid_version(const std::string& v) {
  if (v.empty() || v.size() > 64) return false;
  return std::all_of(v.begin(), v.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool write_file(const fs::path& path, const std::string& content) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  std::size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return ::close(fd) == 0;
}

bool fsync_path(const fs::path& path, bool directory) {
  int fd = ::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

// Copies every *.csv under `from` (recursively, as CodeMaps::load_dir selects them) to the
// same relative path under `to`. Errors name the file relative to `from`.
bool copy_tables(const fs::path& from, const fs::path& to, std::vector<std::string>& errors,
                 bool& storage_failed) {
  std::error_code ec;
  std::vector<fs::path> files;
  for (fs::recursive_directory_iterator it(from, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec) && it->path().extension() == ".csv")
      files.push_back(it->path().lexically_relative(from));
  }
  if (ec) {
    errors.push_back(from.string() + ": cannot list directory: " + ec.message());
    return false;
  }
  for (const fs::path& rel : files) {
    std::ifstream in(from / rel, std::ios::binary);
    if (!in) {
      errors.push_back(rel.generic_string() + ": cannot open");
      return false;
    }
    std::ostringstream content;
    content << in.rdbuf();
    fs::create_directories((to / rel).parent_path(), ec);
    if (ec || !write_file(to / rel, content.str())) {
      errors.push_back(rel.generic_string() + ": cannot copy into the snapshot directory");
      storage_failed = true;
      return false;
    }
  }
  return true;
}

// fsyncs every file and directory under `root`, then `root` itself.
bool fsync_tree(const fs::path& root) {
  std::error_code ec;
  bool ok = true;
  for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec))
    ok = fsync_path(it->path(), it->is_directory(ec)) && ok;
  return !ec && ok && fsync_path(root, true);
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  if (from.empty()) return;
  for (std::size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size()))
    s.replace(pos, from.size(), to);
}

}  // namespace

MappingVersions::MappingVersions(std::string tables_dir, std::string snapshots_dir, std::size_t cache_size)
    : tables_dir_(std::move(tables_dir)), snapshots_dir_(std::move(snapshots_dir)), cache_size_(cache_size) {}

std::string MappingVersions::snapshot_dir(const std::string& version) const {
  return (fs::path(snapshots_dir_) / version).string();
}

std::shared_ptr<const CodeMaps> MappingVersions::current() const {
  std::lock_guard lock(state_mutex_);
  return current_;
}

void MappingVersions::subscribe(std::function<void(const std::shared_ptr<const CodeMaps>&)> on_swap) {
  std::lock_guard lock(reload_mutex_);
  subscribers_.push_back(std::move(on_swap));
}

ReloadResult MappingVersions::reload() {
  std::lock_guard reload_lock(reload_mutex_);
  ReloadResult r;
  std::shared_ptr<const CodeMaps> before = current();
  if (before) {
    r.previous_version = before->version();
    r.version = before->version();
    r.rows = before->size();
  }
  std::error_code ec;
  if (!fs::is_directory(tables_dir_, ec)) {
    r.errors.push_back(tables_dir_ + ": not a directory");
    return r;
  }
  fs::create_directories(snapshots_dir_, ec);
  if (ec) {
    r.errors.push_back(snapshots_dir_ + ": cannot create: " + ec.message());
    r.storage_failed = true;
    return r;
  }
  // Leftovers of a load interrupted by a crash (reloads are serialized: none is in progress).
  for (fs::directory_iterator it(snapshots_dir_, ec), end; !ec && it != end; it.increment(ec))
    if (it->path().filename().string().rfind(kIncomingPrefix, 0) == 0) fs::remove_all(it->path(), ec);

  static std::atomic<unsigned> counter{0};
  const fs::path incoming = fs::path(snapshots_dir_) /
                            (std::string(kIncomingPrefix) + std::to_string(::getpid()) + "-" +
                             std::to_string(counter.fetch_add(1)));
  fs::remove_all(incoming, ec);
  fs::create_directories(incoming, ec);
  std::vector<std::string> errors;
  std::optional<CodeMaps> loaded;
  if (ec) {
    errors.push_back(incoming.string() + ": cannot create: " + ec.message());
    r.storage_failed = true;
  } else if (copy_tables(tables_dir_, incoming, errors, r.storage_failed)) {
    loaded = CodeMaps::load_dir(incoming.string(), &errors);
  }
  for (std::string& e : errors) replace_all(e, incoming.string(), tables_dir_);
  if (!loaded) {
    fs::remove_all(incoming, ec);
    if (errors.empty()) errors.push_back(tables_dir_ + ": the tables could not be loaded");
    r.errors = std::move(errors);
    return r;
  }

  const std::string version = loaded->version();
  const fs::path final_dir = snapshot_dir(version);
  if (fs::is_directory(final_dir, ec)) {
    fs::remove_all(incoming, ec);  // this version's snapshot exists already: keep it as it is
  } else {
    bool synced = fsync_tree(incoming);
    fs::rename(incoming, final_dir, ec);
    if (!synced || ec || !fsync_path(snapshots_dir_, true)) {
      std::string why = !synced ? "cannot fsync the snapshot" : ec ? ec.message() : "cannot fsync the directory";
      fs::remove_all(incoming, ec);
      r.errors.push_back(final_dir.string() + ": cannot write the snapshot: " + why);
      r.storage_failed = true;
      return r;
    }
  }

  std::shared_ptr<const CodeMaps> maps;
  if (before && before->version() == version) {
    maps = before;  // same contents: keep the set in force
  } else {
    maps = std::make_shared<const CodeMaps>(std::move(*loaded));
    {
      std::lock_guard lock(state_mutex_);
      current_ = maps;
    }
    remember(maps);
    for (const auto& on_swap : subscribers_) on_swap(maps);
  }
  r.ok = true;
  r.version = maps->version();
  r.rows = maps->size();
  return r;
}

std::shared_ptr<const CodeMaps> MappingVersions::cached(const std::string& version) {
  std::lock_guard lock(state_mutex_);
  if (current_ && current_->version() == version) return current_;
  auto it = std::find_if(cache_.begin(), cache_.end(), [&](const auto& m) { return m->version() == version; });
  if (it == cache_.end()) return nullptr;
  std::shared_ptr<const CodeMaps> found = *it;
  cache_.erase(it);
  cache_.push_back(found);  // most recently used last
  return found;
}

void MappingVersions::remember(const std::shared_ptr<const CodeMaps>& maps) {
  std::lock_guard lock(state_mutex_);
  auto it = std::find(cache_.begin(), cache_.end(), maps);
  if (it != cache_.end()) cache_.erase(it);
  cache_.push_back(maps);
  while (cache_.size() > cache_size_) cache_.erase(cache_.begin());
}

std::shared_ptr<const CodeMaps> MappingVersions::get(const std::string& version, std::string* error) {
  auto fail = [error](std::string why) {
    if (error) *error = std::move(why);
    return std::shared_ptr<const CodeMaps>();
  };
  if (!valid_version(version)) return fail("the message has no valid mapping version recorded");
  if (auto hit = cached(version)) return hit;
  std::lock_guard reload_lock(reload_mutex_);  // one snapshot load at a time
  if (auto hit = cached(version)) return hit;   // loaded while we waited
  const std::string dir = snapshot_dir(version);
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    return fail("no snapshot of mapping version " + version + " (expected in mapping-versions/" + version + ")");
  std::vector<std::string> errors;
  auto loaded = CodeMaps::load_dir(dir, &errors);
  if (!loaded)
    return fail("the snapshot of mapping version " + version + " does not load: " +
                (errors.empty() ? std::string("unknown error") : errors.front()));
  if (loaded->version() != version)
    return fail("the snapshot of mapping version " + version + " now loads as version " + loaded->version());
  auto maps = std::make_shared<const CodeMaps>(std::move(*loaded));
  remember(maps);
  return maps;
}

}  // namespace phrgate::mapping
