// MappingVersions: the mapping tables in force and every version conversions were made with.
// Loaded at start-up, on SIGHUP and on POST /api/mappings/reload; replay asks it for the set a
// message was first converted with. A load copies the tables to a temp dir, loads that copy and
// renames it (fsynced) to <snapshots_dir>/<version>/ (kept as it is if it exists), so memory and
// snapshot hold the same files. An invalid set is refused whole (the running set stays); swaps
// are atomic (shared_ptr): a conversion keeps the set it took, whole, until it finishes.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "gateway/mapping/code_map.h"

namespace phrgate::mapping {

struct ReloadResult {
  bool ok = false;
  std::vector<std::string> errors;  // "file:line: message" (file relative to the tables dir)
  std::string version;              // the set in force after the call
  std::string previous_version;     // the set in force before it ("" at the first load)
  std::size_t rows = 0;             // rows of the set in force after the call
  bool storage_failed = false;      // refused because the snapshot could not be written
};

class MappingVersions {
 public:
  // `tables_dir`: the editable tables (config "mappings_dir"); `snapshots_dir`:
  // <data_dir>/mapping-versions. `cache_size`: loaded older versions kept for replays.
  MappingVersions(std::string tables_dir, std::string snapshots_dir, std::size_t cache_size = 4);

  // Loads tables_dir, snapshots it and makes it current; on any error refuses it whole.
  // Reloads are serialized; subscribers are called (under that serialization, in load order)
  // with the new set after a successful load.
  ReloadResult reload();

  // The set in force (null before the first successful reload()).
  std::shared_ptr<const CodeMaps> current() const;

  // The set with this version: the current one, a cached one, or loaded from its snapshot.
  // Null with a PHI-free reason in `error` when no snapshot of it exists or it is unusable.
  std::shared_ptr<const CodeMaps> get(const std::string& version, std::string* error);

  // Called after every successful reload with the new set, e.g. Pipeline::set_code_maps.
  // Register before the first reload that should reach the subscriber; must be quick.
  void subscribe(std::function<void(const std::shared_ptr<const CodeMaps>&)> on_swap);

  const std::string& tables_dir() const { return tables_dir_; }
  // Directory of one version's snapshot (whether or not it exists).
  std::string snapshot_dir(const std::string& version) const;

 private:
  std::shared_ptr<const CodeMaps> cached(const std::string& version);
  void remember(const std::shared_ptr<const CodeMaps>& maps);

  const std::string tables_dir_;
  const std::string snapshots_dir_;
  const std::size_t cache_size_;

  std::mutex reload_mutex_;  // one reload (and one snapshot load) at a time
  mutable std::mutex state_mutex_;
  std::shared_ptr<const CodeMaps> current_;
  std::vector<std::shared_ptr<const CodeMaps>> cache_;  // most recently used last
  std::vector<std::function<void(const std::shared_ptr<const CodeMaps>&)>> subscribers_;
};

}  // namespace phrgate::mapping
