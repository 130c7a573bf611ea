// Helpers for tests that build a source the way the daemon does: a source's config object
// validated through the real config loader (so its schema applies), and a real SQLite inbox
// whose next N commits can be made to fail. Header-only; tests only.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "gateway/core/config.h"
#include "gateway/queue/inbox.h"

namespace phrgate::testing {

// A minimal daemon config around one source object (JSON text, no ${ENV}).
inline std::string config_with_source(const std::string& source_json) {
  return R"({"data_dir": "/unused",
    "http": {"port": 0, "tokens": [{"name": "ops", "role": "operator", "token": "0123456789abcdef0123"}]},
    "sources": [)" + source_json + R"(],
    "sinks": [{"name": "phr", "type": "phr_store"}]})";
}

// The validated AdapterConfig of that source; throws with every config error when invalid.
inline config::AdapterConfig load_source_config(const std::string& source_json) {
  auto r = config::load_config_text(config_with_source(source_json),
                                    [](const std::string&) -> std::optional<std::string> { return std::nullopt; });
  if (!r.config) {
    std::string all;
    for (const auto& e : r.errors) all += e.to_string() + "\n";
    throw std::runtime_error("config rejected: " + all);
  }
  return r.config->sources.at(0);
}

// A SQLite inbox at `path` whose commits fail while `fail_commits` > 0 (each failure counts
// it down), for the commit-failure paths of sources.
inline std::unique_ptr<queue::Inbox> open_failable_inbox(const std::string& path, std::atomic<int>& fail_commits) {
  queue::SqliteInboxOptions o;
  o.path = path;
  o.fail_commit_hook = [&fail_commits] {
    int n = fail_commits.load();
    while (n > 0 && !fail_commits.compare_exchange_weak(n, n - 1)) {
    }
    return n > 0;
  };
  return queue::open_sqlite_inbox(o);
}

}  // namespace phrgate::testing
