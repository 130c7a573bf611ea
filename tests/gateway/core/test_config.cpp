// Config loading: ${ENV} expansion and typing, schema errors with JSON paths, per-type
// adapter schemas, semantic checks, and the shipped example config.
#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <sstream>

#include "gateway/core/config.h"
#include "gateway/core/resource_id.h"

using namespace phrgate::config;

namespace {

EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

std::string minimal(const std::string& source_extra = "", const std::string& top_extra = "") {
  return R"({"data_dir": "/var/lib/phrgate", )" + top_extra + R"(
    "http": {"port": 8080, "tokens": [{"name": "ops", "role": "operator", "token": "0123456789abcdef0123"}]},
    "sources": [{"name": "emr", "type": "hl7v2_mllp", "port": 2575)" + source_extra + R"(}],
    "sinks": [{"name": "phr", "type": "phr_store"}]})";
}

std::vector<std::string> error_texts(const LoadResult& r) {
  std::vector<std::string> out;
  for (const auto& e : r.errors) out.push_back(e.to_string());
  return out;
}

bool has_error(const LoadResult& r, const std::string& path, const std::string& fragment) {
  for (const auto& e : r.errors)
    if (e.path == path && e.message.find(fragment) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("expand_env: plain, default, empty, escapes and errors") {
  auto env = env_of({{"HOST", "db.local"}, {"EMPTY", ""}});
  std::string out, err;
  CHECK(expand_env("x-${HOST}-y", env, out, err));
  CHECK(out == "x-db.local-y");
  CHECK(expand_env("${MISSING:-fallback}", env, out, err));
  CHECK(out == "fallback");
  CHECK(expand_env("${EMPTY:-used-when-empty}", env, out, err));
  CHECK(out == "used-when-empty");
  CHECK(expand_env("cost $$5 and $HOME", env, out, err));
  CHECK(out == "cost $5 and $HOME");
  CHECK_FALSE(expand_env("${MISSING}", env, out, err));
  CHECK(err.find("MISSING is not set") != std::string::npos);
  CHECK_FALSE(expand_env("${UNTERMINATED", env, out, err));
  CHECK_FALSE(expand_env("${bad-name}", env, out, err));
}

TEST_CASE("a minimal config loads with defaults filled") {
  auto r = load_config_text(minimal(), env_of({}));
  INFO(error_texts(r).size());
  REQUIRE(r.config);
  const auto& c = *r.config;
  CHECK(c.data_dir == "/var/lib/phrgate");
  CHECK(c.http.listen == "127.0.0.1");
  CHECK(c.http.port == 8080);
  CHECK(c.inbox_max_batch == 1024);
  CHECK(c.inbox_checkpoint_interval_ms == 0);
  CHECK(c.shutdown_timeout_s == 8);
  REQUIRE(c.sources.size() == 1);
  CHECK(c.sources[0].type == "hl7v2_mllp");
  CHECK(get_int(*c.sources[0].options, "port", 0) == 2575);
  REQUIRE(c.http.tokens.size() == 1);
  // Only the hash of the secret is kept.
  CHECK(c.http.tokens[0].sha256_hex == phrgate::sha256_hex("0123456789abcdef0123"));
}

TEST_CASE("${ENV} values become numbers where the schema asks for one") {
  auto text = minimal();
  text.replace(text.find("\"port\": 8080"), 12, R"("port": "${HTTP_PORT:-9090}")");
  auto r = load_config_text(text, env_of({}));
  REQUIRE(r.config);
  CHECK(r.config->http.port == 9090);
  auto r2 = load_config_text(text, env_of({{"HTTP_PORT", "8443"}}));
  REQUIRE(r2.config);
  CHECK(r2.config->http.port == 8443);
  auto r3 = load_config_text(text, env_of({{"HTTP_PORT", "eighty"}}));
  CHECK_FALSE(r3.config);
  CHECK(has_error(r3, "$.http.port", "must be integer, found string"));
}

TEST_CASE("every error names its JSON path, and all errors are reported at once") {
  auto r = load_config_text(R"({"data_dir": "", "bogus": 1,
      "http": {"port": 70000, "tokens": [{"name": "a", "role": "boss", "token": "short"}]},
      "sources": [{"name": "emr", "type": "hl7v2_mllp", "port": 1, "colour": "red"},
                  {"name": "x", "type": "carrier-pigeon"},
                  {"name": "Bad Name", "type": "hl7v2_mllp", "port": 2}],
      "sinks": []})",
                            env_of({}));
  CHECK_FALSE(r.config);
  CHECK(has_error(r, "$.data_dir", "must not be empty"));
  CHECK(has_error(r, "$.bogus", "unknown key"));
  CHECK(has_error(r, "$.http.port", "at most 65535"));
  CHECK(has_error(r, "$.http.tokens[0].role", "must be one of: reader, operator, admin"));
  CHECK(has_error(r, "$.http.tokens[0].token", "at least 16"));
  CHECK(has_error(r, "$.sources[0].colour", "unknown key"));
  CHECK(has_error(r, "$.sources[1].type", "unknown source type \"carrier-pigeon\""));
  CHECK(has_error(r, "$.sources[2].name", "does not match the pattern"));
  CHECK(has_error(r, "$.sinks", "at least 1 item"));
  CHECK(r.errors.size() >= 9);
}

TEST_CASE("semantic checks: duplicate names, shared ports, token rules, malformed JSON") {
  auto dup = load_config_text(R"({"data_dir": "d",
      "http": {"port": 8080, "tokens": [{"name": "t", "role": "admin", "token_sha256": ")" +
                                  phrgate::sha256_hex("x") + R"("}]},
      "sources": [{"name": "a", "type": "hl7v2_mllp", "port": 2575},
                  {"name": "a", "type": "hl7v2_mllp", "port": 8080}],
      "sinks": [{"name": "phr", "type": "phr_store"}]})",
                              env_of({}));
  CHECK_FALSE(dup.config);
  CHECK(has_error(dup, "$.sources[1].name", "duplicate source name"));
  CHECK(has_error(dup, "$.sources[1].port", "already used"));

  auto both = load_config_text(R"({"data_dir": "d",
      "http": {"port": 8080, "tokens": [{"name": "t", "role": "admin"}]},
      "sources": [{"name": "a", "type": "hl7v2_mllp", "port": 2575}],
      "sinks": [{"name": "phr", "type": "phr_store"}]})",
                               env_of({}));
  CHECK(has_error(both, "$.http.tokens[0]", "exactly one of"));

  auto broken = load_config_text("{\n  \"data_dir\": \"d\",\n  oops\n}", env_of({}));
  REQUIRE(broken.errors.size() == 1);
  CHECK(broken.errors[0].message.find("line 3") != std::string::npos);
}

TEST_CASE("per-type schema: a source's own options are checked, with its defaults") {
  auto bad_tz = load_config_text(minimal(R"(, "default_timezone": "EST")"), env_of({}));
  CHECK(has_error(bad_tz, "$.sources[0].default_timezone", "pattern"));
  auto good = load_config_text(minimal(R"(, "default_timezone": "-05:00", "tls": {"cert_file": "c.pem", "key_file": "k.pem"})"),
                               env_of({}));
  REQUIRE(good.config);
  auto tls = get_tls(*good.config->sources[0].options, "tls");
  REQUIRE(tls);
  CHECK(tls->cert_file == "c.pem");
  auto no_key = load_config_text(minimal(R"(, "tls": {"cert_file": "c.pem"})"), env_of({}));
  CHECK(has_error(no_key, "$.sources[0].tls.key_file", "is required"));
}

TEST_CASE("every registered schema parses, and the shipped example config is valid") {
  const auto& set = SchemaSet::builtin();
  CHECK(set.main.IsObject());
  CHECK(set.sources.size() >= 1);
  CHECK(set.sinks.size() >= 1);
  CHECK(embedded_schema_files().size() == set.sources.size() + set.sinks.size() + 1);

  std::ifstream in(std::string(PHRGATE_SOURCE_DIR) + "/deploy/phrgate.example.json");
  std::stringstream ss;
  ss << in.rdbuf();
  auto missing = load_config_text(ss.str(), env_of({}));
  CHECK(has_error(missing, "$.http.tokens[0].token", "PHRGATE_API_TOKEN is not set"));
  auto ok = load_config_text(ss.str(), env_of({{"PHRGATE_API_TOKEN", "a-long-enough-secret"},
                                               {"PHRGATE_MLLP_PORT", "3000"},
                                               {"PHRGATE_DATA_DIR", "/srv/phrgate"}}));
  INFO((ok.errors.empty() ? "" : ok.errors[0].to_string()));
  REQUIRE(ok.config);
  CHECK(ok.config->data_dir == "/srv/phrgate");
  CHECK(get_int(*ok.config->sources[0].options, "port", 0) == 3000);
  CHECK(ok.config->http.port == 8080);
}
