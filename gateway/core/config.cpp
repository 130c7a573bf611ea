// Implementation of config loading (see config.h).
#include "gateway/core/config.h"

#include <rapidjson/error/en.h>

#include <sys/stat.h>

#include <fstream>
#include <set>
#include <sstream>

#include "gateway/core/resource_id.h"

namespace phrgate::config {
namespace {

void line_col(std::string_view text, std::size_t offset, std::size_t& line, std::size_t& col) {
  line = 1;
  col = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') { ++line; col = 1; } else { ++col; }
  }
}

const rapidjson::Value* find_schema(const std::vector<std::pair<std::string, rapidjson::Document>>& list,
                                    std::string_view type) {
  for (const auto& [t, doc] : list)
    if (t == type) return &doc;
  return nullptr;
}

std::string known_types(const std::vector<std::pair<std::string, rapidjson::Document>>& list) {
  std::string out;
  for (const auto& [t, doc] : list) {
    if (!out.empty()) out += ", ";
    out += t;
  }
  return out;
}

void load_adapters(rapidjson::Value& array, const char* kind, const std::string& path,
                   const std::vector<std::pair<std::string, rapidjson::Document>>& schemas,
                   const rapidjson::Value& main_schema, const EnvLookup& env,
                   std::vector<AdapterConfig>& out, std::vector<ConfigError>& errors) {
  std::set<std::string> names;
  for (rapidjson::SizeType i = 0; i < array.Size(); ++i) {
    std::string p = index_path(path, i);
    rapidjson::Value& item = array[i];
    if (!item.IsObject() || !item.HasMember("type") || !item["type"].IsString() ||
        !item.HasMember("name") || !item["name"].IsString())
      continue;  // already reported by the main schema
    std::string type = item["type"].GetString();
    std::string name = item["name"].GetString();
    if (!names.insert(name).second)
      errors.push_back({child_path(p, "name"), "duplicate " + std::string(kind) + " name \"" + name + "\""});
    const rapidjson::Value* schema = find_schema(schemas, type);
    if (!schema) {
      errors.push_back({child_path(p, "type"), "unknown " + std::string(kind) + " type \"" + type +
                                                   "\" (known: " + known_types(schemas) + ")"});
      continue;
    }
    auto doc = std::make_shared<rapidjson::Document>();
    doc->CopyFrom(item, doc->GetAllocator());
    std::size_t before = errors.size();
    validate_and_expand(*doc, doc->GetAllocator(), *schema, main_schema, env, p, errors);
    if (errors.size() == before) out.push_back({name, type, p, std::move(doc)});
  }
}

}  // namespace

std::string get_string(const rapidjson::Value& obj, const char* key, std::string_view fallback) {
  auto it = obj.FindMember(key);
  if (it == obj.MemberEnd() || !it->value.IsString()) return std::string(fallback);
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

int64_t get_int(const rapidjson::Value& obj, const char* key, int64_t fallback) {
  auto it = obj.FindMember(key);
  if (it == obj.MemberEnd() || !it->value.IsNumber()) return fallback;
  return it->value.IsInt64() ? it->value.GetInt64() : static_cast<int64_t>(it->value.GetDouble());
}

bool get_bool(const rapidjson::Value& obj, const char* key, bool fallback) {
  auto it = obj.FindMember(key);
  return it == obj.MemberEnd() || !it->value.IsBool() ? fallback : it->value.GetBool();
}

double get_double(const rapidjson::Value& obj, const char* key, double fallback) {
  auto it = obj.FindMember(key);
  return it == obj.MemberEnd() || !it->value.IsNumber() ? fallback : it->value.GetDouble();
}

std::optional<TlsConfig> get_tls(const rapidjson::Value& obj, const char* key) {
  auto it = obj.FindMember(key);
  if (it == obj.MemberEnd() || !it->value.IsObject()) return std::nullopt;
  TlsConfig t;
  t.cert_file = get_string(it->value, "cert_file", "");
  t.key_file = get_string(it->value, "key_file", "");
  t.ca_file = get_string(it->value, "ca_file", "");
  return t;
}

const SchemaSet& SchemaSet::builtin() {
  static const SchemaSet set = [] {
    SchemaSet s;
    for (const auto& f : embedded_schema_files()) {
      std::string_view path = f.path;
      rapidjson::Document doc;
      doc.Parse(f.text);
      if (doc.HasParseError()) continue;  // guarded by the schema test
      auto type_of = [&](std::string_view prefix) {
        std::string_view rest = path.substr(prefix.size());
        return std::string(rest.substr(0, rest.find(".schema.json")));
      };
      if (path == "phrgate.config.schema.json") s.main = std::move(doc);
      else if (path.rfind("sources/", 0) == 0) s.sources.emplace_back(type_of("sources/"), std::move(doc));
      else if (path.rfind("sinks/", 0) == 0) s.sinks.emplace_back(type_of("sinks/"), std::move(doc));
    }
    return s;
  }();
  return set;
}

LoadResult load_config_text(std::string_view text, const EnvLookup& env, const SchemaSet& schemas) {
  LoadResult result;
  auto& errors = result.errors;
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseCommentsFlag>(text.data(), text.size());
  if (doc.HasParseError()) {
    std::size_t line, col;
    line_col(text, doc.GetErrorOffset(), line, col);
    errors.push_back({"$", std::string("not valid JSON at line ") + std::to_string(line) + ", column " +
                               std::to_string(col) + ": " + rapidjson::GetParseError_En(doc.GetParseError())});
    return result;
  }
  validate_and_expand(doc, doc.GetAllocator(), schemas.main, schemas.main, env, "$", errors);
  if (!doc.IsObject()) return result;

  GatewayConfig cfg;
  if (doc.HasMember("sources") && doc["sources"].IsArray())
    load_adapters(doc["sources"], "source", "$.sources", schemas.sources, schemas.main, env,
                  cfg.sources, errors);
  if (doc.HasMember("sinks") && doc["sinks"].IsArray())
    load_adapters(doc["sinks"], "sink", "$.sinks", schemas.sinks, schemas.main, env, cfg.sinks, errors);
  // Everything below reads the document defensively: it may have failed validation, and
  // all errors are reported together.
  cfg.data_dir = get_string(doc, "data_dir", "");
  cfg.mappings_dir = get_string(doc, "mappings_dir", "");
  if (auto it = doc.FindMember("log"); it != doc.MemberEnd() && it->value.IsObject()) {
    cfg.log_level = get_string(it->value, "level", "info");
    cfg.log_format = get_string(it->value, "format", "json");
  }
  static const rapidjson::Value kEmptyObject(rapidjson::kObjectType);
  auto member_object = [&doc](const char* key) -> const rapidjson::Value& {
    auto it = doc.FindMember(key);
    return it != doc.MemberEnd() && it->value.IsObject() ? it->value : kEmptyObject;
  };
  const auto& http = member_object("http");
  cfg.http.listen = get_string(http, "listen", "127.0.0.1");
  cfg.http.port = static_cast<uint16_t>(get_int(http, "port", 8080));
  cfg.http.tls = get_tls(http, "tls");
  cfg.http.max_body_bytes = static_cast<std::size_t>(get_int(http, "max_body_bytes", 16 << 20));
  std::set<std::string> token_names, token_hashes;
  static const rapidjson::Value kEmptyArray(rapidjson::kArrayType);
  auto tokens_it = http.FindMember("tokens");
  const auto& tokens = tokens_it != http.MemberEnd() && tokens_it->value.IsArray() ? tokens_it->value : kEmptyArray;
  for (rapidjson::SizeType i = 0; i < tokens.Size(); ++i) {
    if (!tokens[i].IsObject()) continue;
    std::string p = index_path("$.http.tokens", i);
    TokenConfig t;
    t.name = get_string(tokens[i], "name", "");
    t.role = get_string(tokens[i], "role", "");
    bool has_secret = tokens[i].HasMember("token");
    bool has_hash = tokens[i].HasMember("token_sha256");
    bool has_file = tokens[i].HasMember("token_file");
    if (int(has_secret) + int(has_hash) + int(has_file) != 1) {
      errors.push_back({p, "give exactly one of \"token\", \"token_sha256\" or \"token_file\""});
      continue;
    }
    if (has_file) t.secret_file = get_string(tokens[i], "token_file", "");
    else t.sha256_hex = has_secret ? sha256_hex(get_string(tokens[i], "token", "")) : get_string(tokens[i], "token_sha256", "");
    if (!token_names.insert(t.name).second) errors.push_back({child_path(p, "name"), "duplicate token name"});
    if (!has_file && !token_hashes.insert(t.sha256_hex).second)
      errors.push_back({p, "the same secret is configured twice (each token needs its own secret)"});
    cfg.http.tokens.push_back(std::move(t));
  }
  if (auto it = doc.FindMember("inbox"); it != doc.MemberEnd() && it->value.IsObject()) {
    cfg.inbox_max_batch = static_cast<std::size_t>(get_int(it->value, "max_batch", 1024));
    cfg.inbox_max_delay_us = get_int(it->value, "max_delay_us", 1000);
    cfg.inbox_checkpoint_interval_ms = get_int(it->value, "checkpoint_interval_ms", 0);
  }
  if (auto it = doc.FindMember("retention"); it != doc.MemberEnd() && it->value.IsObject()) {
    cfg.retention_max_age_days = get_int(it->value, "max_age_days", 0);
    cfg.retention_max_bytes = get_int(it->value, "max_bytes", 0);
    cfg.retention_batch_rows = get_int(it->value, "batch_rows", 500);
    cfg.retention_interval_seconds = get_int(it->value, "interval_seconds", 300);
  }
  if (auto it = doc.FindMember("identity"); it != doc.MemberEnd() && it->value.IsObject()) {
    cfg.identity_enabled = get_bool(it->value, "enabled", true);
    cfg.identity_upper_threshold = get_double(it->value, "upper_threshold", cfg.identity_upper_threshold);
    cfg.identity_lower_threshold = get_double(it->value, "lower_threshold", cfg.identity_lower_threshold);
    cfg.identity_synchronous_full = get_bool(it->value, "synchronous_full", false);
  }
  if (auto it = doc.FindMember("pipeline"); it != doc.MemberEnd() && it->value.IsObject()) {
    cfg.pipeline_batch_size = static_cast<std::size_t>(get_int(it->value, "batch_size", 256));
    cfg.pipeline_retry_delay_ms = get_int(it->value, "retry_delay_ms", 1000);
  }
  cfg.shutdown_timeout_s = static_cast<int>(get_int(doc, "shutdown_timeout_s", 8));

  // Two listeners on one port cannot both bind (port 0 means "any free port").
  std::set<uint16_t> ports;
  if (cfg.http.port != 0) ports.insert(cfg.http.port);
  for (const auto& s : cfg.sources) {
    auto port = get_int(*s.options, "port", 0);
    if (port != 0 && !ports.insert(static_cast<uint16_t>(port)).second)
      errors.push_back({child_path(s.path, "port"), "port " + std::to_string(port) + " is already used by another listener"});
  }
  if (errors.empty()) result.config = std::move(cfg);
  return result;
}

LoadResult load_config_file(const std::string& path, const EnvLookup& env, const SchemaSet& schemas) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    LoadResult r;
    r.errors.push_back({"$", "cannot read config file " + path});
    return r;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  LoadResult r = load_config_text(ss.str(), env, schemas);
  if (r.config) {
    r.errors = resolve_token_files(*r.config);
    if (!r.errors.empty()) r.config.reset();
  }
  return r;
}

std::vector<ConfigError> resolve_token_files(GatewayConfig& cfg) {
  std::vector<ConfigError> errors;
  std::set<std::string> hashes;
  for (const auto& t : cfg.http.tokens)
    if (t.secret_file.empty()) hashes.insert(t.sha256_hex);
  for (std::size_t i = 0; i < cfg.http.tokens.size(); ++i) {
    TokenConfig& t = cfg.http.tokens[i];
    if (t.secret_file.empty()) continue;
    const std::string p = child_path(index_path("$.http.tokens", i), "token_file");
    struct stat st{};
    if (::stat(t.secret_file.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      errors.push_back({p, "cannot read the token file " + t.secret_file + " (missing or not a regular file)"});
      continue;
    }
    if (st.st_mode & (S_IROTH | S_IWOTH | S_IWGRP)) {
      errors.push_back({p, "the token file " + t.secret_file +
                               " is readable or writable by others (or writable by its group); "
                               "chmod 0600 (or 0640 with the daemon's group) it"});
      continue;
    }
    std::ifstream in(t.secret_file, std::ios::binary);
    std::stringstream content;
    content << in.rdbuf();
    if (!in) {
      errors.push_back({p, "cannot read the token file " + t.secret_file});
      continue;
    }
    std::string secret = content.str();
    if (!secret.empty() && secret.back() == '\n') secret.pop_back();
    if (!secret.empty() && secret.back() == '\r') secret.pop_back();
    if (secret.size() < 16) {
      errors.push_back({p, "the token file " + t.secret_file + " must hold a secret of at least 16 characters"});
      continue;
    }
    t.sha256_hex = sha256_hex(secret);
    if (!hashes.insert(t.sha256_hex).second)
      errors.push_back({p, "the same secret is configured twice (each token needs its own secret)"});
  }
  return errors;
}

}  // namespace phrgate::config
