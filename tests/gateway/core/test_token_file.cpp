// API token secrets given as "token_file": load_config_file() reads the file into the
// token's SHA-256, refuses files others may read or write, and refuses short secrets.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <fstream>

#include "gateway/core/config.h"
#include "gateway/core/resource_id.h"
#include "tests/support/temp_dir.h"

using namespace phrgate::config;

namespace {

std::string config_with_token(const std::string& token_json) {
  return R"({"data_dir": "/var/lib/phrgate",
    "http": {"port": 8080, "tokens": [)" + token_json + R"(]},
    "sources": [{"name": "emr", "type": "hl7v2_mllp", "port": 2575}],
    "sinks": [{"name": "phr", "type": "phr_store"}]})";
}

void write_file(const std::string& path, const std::string& text, mode_t mode) {
  std::ofstream(path, std::ios::binary) << text;
  REQUIRE(::chmod(path.c_str(), mode) == 0);
}

EnvLookup no_env() {
  return [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
}

LoadResult load(const phrgate::testing::TempDir& dir, const std::string& secret_path) {
  const std::string cfg = dir.file("phrgate.json");
  std::ofstream(cfg) << config_with_token(R"({"name": "ops", "role": "operator", "token_file": ")" +
                                          secret_path + R"("})");
  return load_config_file(cfg, no_env());
}

bool has_error(const LoadResult& r, const std::string& fragment) {
  for (const auto& e : r.errors)
    if (e.path == "$.http.tokens[0].token_file" && e.message.find(fragment) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("token_file: the secret is read from a private file, a trailing newline ignored") {
  phrgate::testing::TempDir dir;
  write_file(dir.file("ops.secret"), "0123456789abcdef-secret\n", 0600);
  LoadResult r = load(dir, dir.file("ops.secret"));
  REQUIRE(r.errors.empty());
  REQUIRE(r.config->http.tokens.size() == 1);
  CHECK(r.config->http.tokens[0].sha256_hex == phrgate::sha256_hex("0123456789abcdef-secret"));

  // Group-read (0640, root:phrgate) is a normal way to share it with the daemon's group.
  write_file(dir.file("ops.secret"), "0123456789abcdef-rotated", 0640);
  r = load(dir, dir.file("ops.secret"));
  REQUIRE(r.errors.empty());
  CHECK(r.config->http.tokens[0].sha256_hex == phrgate::sha256_hex("0123456789abcdef-rotated"));
}

TEST_CASE("token_file: refused when others may read it, when missing, or when too short") {
  phrgate::testing::TempDir dir;
  write_file(dir.file("open.secret"), "0123456789abcdef-secret", 0644);
  LoadResult r = load(dir, dir.file("open.secret"));
  CHECK_FALSE(r.config);
  CHECK(has_error(r, "readable or writable by others"));
  // The error names the file but never the secret.
  for (const auto& e : r.errors) CHECK(e.message.find("0123456789abcdef") == std::string::npos);

  write_file(dir.file("group-writable.secret"), "0123456789abcdef-secret", 0620);
  CHECK(has_error(load(dir, dir.file("group-writable.secret")), "writable by its group"));

  CHECK(has_error(load(dir, dir.file("absent.secret")), "cannot read the token file"));

  write_file(dir.file("short.secret"), "short\n", 0600);
  CHECK(has_error(load(dir, dir.file("short.secret")), "at least 16 characters"));
}

TEST_CASE("token_file: exactly one way of giving the secret; pure loading keeps only the path") {
  LoadResult both = load_config_text(
      config_with_token(R"({"name": "ops", "role": "operator", "token_file": "/x", "token_sha256": ")" +
                        std::string(64, 'a') + R"("})"),
      no_env());
  CHECK_FALSE(both.config);
  bool found = false;
  for (const auto& e : both.errors) found |= e.message.find("exactly one of") != std::string::npos;
  CHECK(found);

  LoadResult pure = load_config_text(config_with_token(R"({"name": "ops", "role": "operator", "token_file": "/nonexistent/ops.secret"})"), no_env());
  REQUIRE(pure.config);
  CHECK(pure.config->http.tokens[0].secret_file == "/nonexistent/ops.secret");
  CHECK(pure.config->http.tokens[0].sha256_hex.empty());
  CHECK_FALSE(resolve_token_files(*pure.config).empty());
}
