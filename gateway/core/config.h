// GatewayConfig: the daemon's configuration as typed values, loaded from one JSON file.
// Loading is pure (CONVENTIONS: parse and validate, never open sockets or data files):
// text -> JSON -> schema validation with ${ENV} expansion (config_schema.h) -> each source
// and sink checked against the schema of its type -> typed structs with defaults filled.
// Every error names its JSON path. `phrgate check-config` runs exactly this.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/document.h>

#include "gateway/core/config_schema.h"

namespace phrgate::config {

struct TlsConfig {
  std::string cert_file;
  std::string key_file;
  std::string ca_file;  // empty: no client certificates required
};

struct TokenConfig {
  std::string name;
  std::string role;        // "reader" | "operator" | "admin" | "ingest" | "phr"
  std::string sha256_hex;  // of the secret; the secret itself is never kept
  // "token_file": a file holding the secret. load_config_text() only records the path;
  // load_config_file() / resolve_token_files() read it (sha256_hex stays empty until then).
  std::string secret_file;
};

struct HttpConfig {
  std::string listen = "127.0.0.1";
  uint16_t port = 8080;
  std::optional<TlsConfig> tls;
  std::size_t max_body_bytes = 16 * 1024 * 1024;
  std::vector<TokenConfig> tokens;
};

// One source or sink: its name and type, and its own options (already validated against
// the type's schema and env-expanded), for the adapter's factory to read.
struct AdapterConfig {
  std::string name;
  std::string type;
  std::string path;  // "$.sources[0]", for errors reported later
  std::shared_ptr<rapidjson::Document> options;
};

struct GatewayConfig {
  std::string data_dir;
  std::string mappings_dir;  // empty: the compiled-in default
  std::string log_level = "info";
  std::string log_format = "json";
  HttpConfig http;
  std::size_t inbox_max_batch = 1024;
  int64_t inbox_max_delay_us = 1000;
  int64_t inbox_checkpoint_interval_ms = 0;
  // "retention": the inbox's background pruning (gateway/queue/retention.h); 0 = off.
  int64_t retention_max_age_days = 0;
  int64_t retention_max_bytes = 0;
  int64_t retention_batch_rows = 500;
  int64_t retention_interval_seconds = 300;
  // Patient identity (gateway/identity): on by default; thresholds per docs/identity.md.
  bool identity_enabled = true;
  double identity_upper_threshold = 23.0;
  double identity_lower_threshold = 15.0;
  bool identity_synchronous_full = false;
  std::size_t pipeline_batch_size = 256;
  int64_t pipeline_retry_delay_ms = 1000;
  int shutdown_timeout_s = 8;
  std::vector<AdapterConfig> sources;
  std::vector<AdapterConfig> sinks;
};

// The schemas config loading checks against. Adapter schemas resolve "#/definitions/..."
// against the main schema, so ports, TLS and names are defined once.
struct SchemaSet {
  rapidjson::Document main;
  std::vector<std::pair<std::string, rapidjson::Document>> sources;  // type -> schema
  std::vector<std::pair<std::string, rapidjson::Document>> sinks;
  // Loads the schemas compiled into the binary from schemas/.
  static const SchemaSet& builtin();
};

struct LoadResult {
  std::optional<GatewayConfig> config;
  std::vector<ConfigError> errors;
};

LoadResult load_config_text(std::string_view json_text, const EnvLookup& env,
                            const SchemaSet& schemas = SchemaSet::builtin());
// Reads the file (the only I/O), calls load_config_text, then resolve_token_files.
LoadResult load_config_file(const std::string& path, const EnvLookup& env,
                            const SchemaSet& schemas = SchemaSet::builtin());
// Reads every token's "token_file" into its sha256_hex (call again to pick up a rotated
// secret). Refuses, with an error naming the JSON path, a file that is missing, unreadable,
// readable or writable by others, writable by its group, or holding fewer than 16 characters
// (one trailing newline is ignored). Group-read (0640 root:phrgate) is allowed.
std::vector<ConfigError> resolve_token_files(GatewayConfig& config);

// Convenience accessors for adapter factories reading validated options.
std::string get_string(const rapidjson::Value& obj, const char* key, std::string_view fallback);
int64_t get_int(const rapidjson::Value& obj, const char* key, int64_t fallback);
bool get_bool(const rapidjson::Value& obj, const char* key, bool fallback);
double get_double(const rapidjson::Value& obj, const char* key, double fallback);
std::optional<TlsConfig> get_tls(const rapidjson::Value& obj, const char* key);

// Files compiled into the binary (schemas/), by path relative to schemas/.
struct EmbeddedFile {
  const char* path;
  const char* text;
};
const std::vector<EmbeddedFile>& embedded_schema_files();

}  // namespace phrgate::config
