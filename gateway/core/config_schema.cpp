// Implementation of the schema-subset validator and ${ENV} expansion (see config_schema.h).
#include "gateway/core/config_schema.h"

#include <cmath>
#include <cstdlib>
#include <regex>

namespace phrgate::config {
namespace {

std::string_view type_of(const rapidjson::Value& v) {
  if (v.IsNull()) return "null";
  if (v.IsBool()) return "boolean";
  if (v.IsObject()) return "object";
  if (v.IsArray()) return "array";
  if (v.IsString()) return "string";
  if (v.IsInt64() || v.IsUint64()) return "integer";
  if (v.IsNumber()) return (std::floor(v.GetDouble()) == v.GetDouble()) ? "integer" : "number";
  return "unknown";
}

bool type_matches(const rapidjson::Value& v, std::string_view want) {
  auto t = type_of(v);
  if (want == t) return true;
  return want == "number" && t == "integer";
}

bool schema_allows_type(const rapidjson::Value& schema, std::string_view want) {
  auto it = schema.FindMember("type");
  if (it == schema.MemberEnd()) return false;
  if (it->value.IsString()) return want == it->value.GetString();
  if (it->value.IsArray())
    for (const auto& t : it->value.GetArray())
      if (t.IsString() && want == t.GetString()) return true;
  return false;
}

const rapidjson::Value* resolve_ref(const rapidjson::Value& schema, const rapidjson::Value& root) {
  auto it = schema.FindMember("$ref");
  if (it == schema.MemberEnd() || !it->value.IsString()) return &schema;
  std::string_view ref = it->value.GetString();
  constexpr std::string_view prefix = "#/definitions/";
  if (ref.substr(0, prefix.size()) != prefix) return nullptr;
  auto defs = root.FindMember("definitions");
  if (defs == root.MemberEnd()) return nullptr;
  std::string name(ref.substr(prefix.size()));
  auto d = defs->value.FindMember(name.c_str());
  return d == defs->value.MemberEnd() ? nullptr : &d->value;
}

std::string describe_type(const rapidjson::Value& schema) {
  auto it = schema.FindMember("type");
  if (it == schema.MemberEnd()) return "value";
  if (it->value.IsString()) return it->value.GetString();
  std::string out;
  for (const auto& t : it->value.GetArray()) {
    if (!out.empty()) out += " or ";
    out += t.GetString();
  }
  return out;
}

// A string that is exactly one ${...} reference may become a typed value.
bool is_single_reference(std::string_view s) {
  return s.size() > 3 && s.substr(0, 2) == "${" && s.back() == '}' &&
         s.find('}') == s.size() - 1;
}

void coerce(rapidjson::Value& v, const rapidjson::Value& schema,
            rapidjson::Document::AllocatorType& alloc) {
  std::string text(v.GetString(), v.GetStringLength());
  if (schema_allows_type(schema, "string")) return;
  if (schema_allows_type(schema, "integer") || schema_allows_type(schema, "number")) {
    char* end = nullptr;
    errno = 0;
    long long i = std::strtoll(text.c_str(), &end, 10);
    if (!text.empty() && end && *end == '\0' && errno == 0) {
      v.SetInt64(i);
      return;
    }
    if (schema_allows_type(schema, "number")) {
      double d = std::strtod(text.c_str(), &end);
      if (!text.empty() && end && *end == '\0') { v.SetDouble(d); return; }
    }
  }
  if (schema_allows_type(schema, "boolean")) {
    if (text == "true") v.SetBool(true);
    else if (text == "false") v.SetBool(false);
  }
  (void)alloc;
}

}  // namespace

EnvLookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };
}

bool expand_env(std::string_view text, const EnvLookup& env, std::string& out, std::string& error) {
  out.clear();
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c != '$') { out.push_back(c); continue; }
    if (i + 1 < text.size() && text[i + 1] == '$') { out.push_back('$'); ++i; continue; }
    if (i + 1 >= text.size() || text[i + 1] != '{') { out.push_back(c); continue; }
    auto close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      error = "unterminated ${ in value";
      return false;
    }
    std::string_view inner = text.substr(i + 2, close - i - 2);
    std::string_view name = inner;
    std::optional<std::string_view> fallback;
    if (auto sep = inner.find(":-"); sep != std::string_view::npos) {
      name = inner.substr(0, sep);
      fallback = inner.substr(sep + 2);
    }
    bool valid_name = !name.empty();
    for (char n : name)
      if (!(std::isalnum(static_cast<unsigned char>(n)) || n == '_')) valid_name = false;
    if (!valid_name) {
      error = "invalid environment variable name in ${" + std::string(inner) + "}";
      return false;
    }
    auto value = env(std::string(name));
    if (value && !value->empty()) {
      out += *value;
    } else if (fallback) {
      out += *fallback;
    } else if (value) {
      out += *value;  // set but empty, no default: empty string
    } else {
      error = "environment variable " + std::string(name) + " is not set (write ${" +
              std::string(name) + ":-default} to give a default)";
      return false;
    }
    i = close;
  }
  return true;
}

std::string child_path(const std::string& parent, std::string_view key) {
  return parent + "." + std::string(key);
}
std::string index_path(const std::string& parent, std::size_t index) {
  return parent + "[" + std::to_string(index) + "]";
}

void validate_and_expand(rapidjson::Value& doc, rapidjson::Document::AllocatorType& alloc,
                         const rapidjson::Value& schema_in, const rapidjson::Value& root,
                         const EnvLookup& env, const std::string& path,
                         std::vector<ConfigError>& errors) {
  const rapidjson::Value* sp = resolve_ref(schema_in, root);
  if (!sp) {
    errors.push_back({path, "internal error: unresolvable $ref in schema"});
    return;
  }
  const rapidjson::Value& schema = *sp;
  if (!schema.IsObject()) return;

  if (doc.IsString()) {
    std::string_view raw(doc.GetString(), doc.GetStringLength());
    if (raw.find('$') != std::string_view::npos) {
      bool single = is_single_reference(raw);
      std::string expanded, err;
      if (!expand_env(raw, env, expanded, err)) {
        errors.push_back({path, err});
        return;
      }
      doc.SetString(expanded.c_str(), static_cast<rapidjson::SizeType>(expanded.size()), alloc);
      if (single) coerce(doc, schema, alloc);
    }
  }

  if (auto t = schema.FindMember("type"); t != schema.MemberEnd()) {
    bool ok = false;
    if (t->value.IsString()) ok = type_matches(doc, t->value.GetString());
    else
      for (const auto& tt : t->value.GetArray()) ok = ok || type_matches(doc, tt.GetString());
    if (!ok) {
      errors.push_back({path, "must be " + describe_type(schema) + ", found " +
                                  std::string(type_of(doc))});
      return;
    }
  }
  if (auto e = schema.FindMember("enum"); e != schema.MemberEnd()) {
    bool found = false;
    std::string allowed;
    for (const auto& opt : e->value.GetArray()) {
      if (opt == doc) found = true;
      if (opt.IsString()) {
        if (!allowed.empty()) allowed += ", ";
        allowed += opt.GetString();
      }
    }
    if (!found) errors.push_back({path, "must be one of: " + allowed});
  }
  if (auto c = schema.FindMember("const"); c != schema.MemberEnd() && !(c->value == doc)) {
    errors.push_back({path, "must be " + std::string(c->value.IsString() ? c->value.GetString() : "the fixed value")});
  }
  if (doc.IsNumber()) {
    double v = doc.GetDouble();
    auto mn = schema.FindMember("minimum");
    auto mx = schema.FindMember("maximum");
    bool lo = mn != schema.MemberEnd() && v < mn->value.GetDouble();
    bool hi = mx != schema.MemberEnd() && v > mx->value.GetDouble();
    if (lo || hi) {
      std::string msg = "must be";
      if (mn != schema.MemberEnd()) msg += " at least " + std::to_string(mn->value.GetInt64());
      if (mn != schema.MemberEnd() && mx != schema.MemberEnd()) msg += " and";
      if (mx != schema.MemberEnd()) msg += " at most " + std::to_string(mx->value.GetInt64());
      errors.push_back({path, msg});
    }
  }
  if (doc.IsString()) {
    auto len = doc.GetStringLength();
    if (auto m = schema.FindMember("minLength"); m != schema.MemberEnd() && len < m->value.GetUint())
      errors.push_back({path, len == 0 ? "must not be empty"
                                       : "must be at least " + std::to_string(m->value.GetUint()) + " characters"});
    if (auto m = schema.FindMember("maxLength"); m != schema.MemberEnd() && len > m->value.GetUint())
      errors.push_back({path, "must be at most " + std::to_string(m->value.GetUint()) + " characters"});
    if (auto p = schema.FindMember("pattern"); p != schema.MemberEnd()) {
      try {
        std::regex re(p->value.GetString(), std::regex::ECMAScript);
        if (!std::regex_search(doc.GetString(), re))
          errors.push_back({path, std::string("does not match the pattern ") + p->value.GetString()});
      } catch (const std::regex_error&) {
        errors.push_back({path, "internal error: bad pattern in schema"});
      }
    }
  }
  if (doc.IsArray()) {
    auto n = doc.Size();
    if (auto m = schema.FindMember("minItems"); m != schema.MemberEnd() && n < m->value.GetUint())
      errors.push_back({path, "must have at least " + std::to_string(m->value.GetUint()) + " item(s)"});
    if (auto m = schema.FindMember("maxItems"); m != schema.MemberEnd() && n > m->value.GetUint())
      errors.push_back({path, "must have at most " + std::to_string(m->value.GetUint()) + " item(s)"});
    if (auto items = schema.FindMember("items"); items != schema.MemberEnd())
      for (rapidjson::SizeType i = 0; i < n; ++i)
        validate_and_expand(doc[i], alloc, items->value, root, env, index_path(path, i), errors);
  }
  if (doc.IsObject()) {
    auto props = schema.FindMember("properties");
    if (auto req = schema.FindMember("required"); req != schema.MemberEnd())
      for (const auto& r : req->value.GetArray())
        if (!doc.HasMember(r.GetString()))
          errors.push_back({child_path(path, r.GetString()), "is required"});
    auto additional = schema.FindMember("additionalProperties");
    for (auto& m : doc.GetObject()) {
      std::string key(m.name.GetString(), m.name.GetStringLength());
      std::string p = child_path(path, key);
      const rapidjson::Value* sub = nullptr;
      if (props != schema.MemberEnd()) {
        auto s = props->value.FindMember(key.c_str());
        if (s != props->value.MemberEnd()) sub = &s->value;
      }
      if (sub) {
        validate_and_expand(m.value, alloc, *sub, root, env, p, errors);
      } else if (additional != schema.MemberEnd()) {
        if (additional->value.IsFalse()) {
          std::string known;
          if (props != schema.MemberEnd())
            for (const auto& k : props->value.GetObject()) {
              if (!known.empty()) known += ", ";
              known += k.name.GetString();
            }
          errors.push_back({p, "unknown key (known keys: " + known + ")"});
        } else if (additional->value.IsObject()) {
          validate_and_expand(m.value, alloc, additional->value, root, env, p, errors);
        }
      }
    }
  }
}

}  // namespace phrgate::config
