// Precision-preserving FHIR JSON parse and write (see fhir_json_doc.h).
#include "adapters/fhir/fhir_json_doc.h"

#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <string>

namespace phrgate::fhir {
namespace {

// Forwards SAX events to the document, turning raw number text into marked strings.
struct NumberMarkingHandler {
  rapidjson::Document& d;
  std::string scratch;
  bool Null() { return d.Null(); }
  bool Bool(bool b) { return d.Bool(b); }
  bool Int(int i) { return d.Int(i); }
  bool Uint(unsigned i) { return d.Uint(i); }
  bool Int64(int64_t i) { return d.Int64(i); }
  bool Uint64(uint64_t i) { return d.Uint64(i); }
  bool Double(double x) { return d.Double(x); }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool) {
    scratch.assign(1, kNumberMark).append(s, n);
    return d.String(scratch.data(), static_cast<rapidjson::SizeType>(scratch.size()), true);
  }
  bool String(const char* s, rapidjson::SizeType n, bool copy) { return d.String(s, n, copy); }
  bool StartObject() { return d.StartObject(); }
  bool Key(const char* s, rapidjson::SizeType n, bool copy) { return d.Key(s, n, copy); }
  bool EndObject(rapidjson::SizeType n) { return d.EndObject(n); }
  bool StartArray() { return d.StartArray(); }
  bool EndArray(rapidjson::SizeType n) { return d.EndArray(n); }
};

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void write_value(Writer& w, const rapidjson::Value& v, std::string_view skip) {
  if (v.IsObject()) {
    w.StartObject();
    for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
      if (!skip.empty() && view(it->name) == skip) continue;
      w.Key(it->name.GetString(), it->name.GetStringLength());
      write_value(w, it->value, {});
    }
    w.EndObject();
  } else if (v.IsArray()) {
    w.StartArray();
    for (const auto& e : v.GetArray()) write_value(w, e, {});
    w.EndArray();
  } else if (is_marked_number(v)) {
    w.RawValue(v.GetString() + 1, v.GetStringLength() - 1, rapidjson::kNumberType);
  } else {
    v.Accept(w);
  }
}

}  // namespace

bool parse_fhir_json(std::string_view text, rapidjson::Document& doc, std::string& error) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // a UTF-8 byte order mark
  rapidjson::MemoryStream ms(text.data(), text.size());
  bool parsed = false;
  rapidjson::ParseResult result;
  auto generator = [&](rapidjson::Document& d) {
    NumberMarkingHandler h{d, {}};
    rapidjson::Reader reader;
    result = reader.Parse<rapidjson::kParseNumbersAsStringsFlag | rapidjson::kParseValidateEncodingFlag |
                          rapidjson::kParseStopWhenDoneFlag | rapidjson::kParseIterativeFlag>(ms, h);
    parsed = !result.IsError();
    return parsed;
  };
  doc.Populate(generator);
  if (!parsed) {
    error = std::string("not valid JSON: ") + rapidjson::GetParseError_En(result.Code()) + " at byte " +
            std::to_string(result.Offset());
    return false;
  }
  // Only white space may follow the value.
  for (std::size_t i = ms.Tell(); i < text.size(); ++i) {
    const char c = text[i];
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
      error = "not valid JSON: data after the end of the document at byte " + std::to_string(i);
      return false;
    }
  }
  return true;
}

void write_fhir_json(std::string& out, const rapidjson::Value& v, std::string_view skip_member) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  write_value(w, v, skip_member);
  out.append(buf.GetString(), buf.GetSize());
}

std::string_view string_member(const rapidjson::Value& v, std::string_view key) {
  const rapidjson::Value* m = member(v, key);
  return m && m->IsString() && !is_marked_number(*m) ? view(*m) : std::string_view{};
}

const rapidjson::Value* member(const rapidjson::Value& v, std::string_view key) {
  if (!v.IsObject()) return nullptr;
  auto it = v.FindMember(rapidjson::Value(rapidjson::StringRef(key.data(), key.size())));
  return it == v.MemberEnd() ? nullptr : &it->value;
}

rapidjson::Value* member(rapidjson::Value& v, std::string_view key) {
  if (!v.IsObject()) return nullptr;
  auto it = v.FindMember(rapidjson::Value(rapidjson::StringRef(key.data(), key.size())));
  return it == v.MemberEnd() ? nullptr : &it->value;
}

}  // namespace phrgate::fhir
