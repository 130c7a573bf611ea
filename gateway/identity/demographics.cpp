// Normalisation of demographics and extraction from FHIR Patient JSON (see demographics.h).
// Never logs; never copies a value into an error.
#include "gateway/identity/demographics.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <utility>

namespace phrgate::identity {
namespace {

constexpr std::string_view kSsnSystem = "http://hl7.org/fhir/sid/us-ssn";

// Folds the UTF-8 encodings of Latin-1 letters (U+00C0..U+00FF) to their base letter.
char fold_latin1(unsigned char second) {
  static constexpr std::string_view kMap =  // index = code point - 0xC0
      "AAAAAAACEEEEIIIIDNOOOOOxOUUUUYTSAAAAAAACEEEEIIIIDNOOOOO/OUUUUYTY";
  const unsigned cp = 0xC0u + (second & 0x3Fu);
  if (cp < 0xC0u || cp > 0xFFu) return '\0';
  const char c = kMap[cp - 0xC0u];
  return (c >= 'A' && c <= 'Z') ? c : '\0';
}

// Splits upper-cased text into words of letters/digits (other characters separate words).
std::vector<std::string> words(std::string_view text, bool keep_digits) {
  std::vector<std::string> out;
  std::string cur;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == 0xC3 && i + 1 < text.size()) {
      const char f = fold_latin1(static_cast<unsigned char>(text[i + 1]));
      ++i;
      if (f) cur.push_back(f);
      continue;
    }
    if (c == '\'' || c == '`') continue;  // O'BRIEN -> OBRIEN
    if (std::isalpha(c) || (keep_digits && std::isdigit(c))) {
      cur.push_back(static_cast<char>(std::toupper(c)));
    } else if (!cur.empty()) {
      out.push_back(std::move(cur));
      cur.clear();
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += sep;
    out += p;
  }
  return out;
}

std::string canonical_suffix(std::string_view word) {
  if (word == "JR" || word == "JUNIOR") return "JR";
  if (word == "SR" || word == "SENIOR") return "SR";
  if (word == "II" || word == "2ND") return "II";
  if (word == "III" || word == "3RD") return "III";
  if (word == "IV" || word == "4TH") return "IV";
  return {};
}

std::string abbreviate_street_word(const std::string& w) {
  static const std::array<std::pair<const char*, const char*>, 24> kAbbrev = {{
      {"STREET", "ST"}, {"AVENUE", "AVE"}, {"AV", "AVE"}, {"ROAD", "RD"}, {"DRIVE", "DR"},
      {"LANE", "LN"}, {"BOULEVARD", "BLVD"}, {"COURT", "CT"}, {"PLACE", "PL"}, {"TERRACE", "TER"},
      {"CIRCLE", "CIR"}, {"HIGHWAY", "HWY"}, {"PARKWAY", "PKWY"}, {"SQUARE", "SQ"}, {"APARTMENT", "APT"},
      {"SUITE", "STE"}, {"NORTH", "N"}, {"SOUTH", "S"}, {"EAST", "E"}, {"WEST", "W"},
      {"TRAIL", "TRL"}, {"WAY", "WAY"}, {"UNIT", "APT"}, {"NUMBER", "NO"}}};
  for (const auto& [full, abbr] : kAbbrev)
    if (w == full) return abbr;
  return w;
}

std::string digits_of(std::string_view s) {
  std::string out;
  for (char c : s)
    if (c >= '0' && c <= '9') out.push_back(c);
  return out;
}

std::string_view str_of(const rapidjson::Value& v, const char* key) {
  if (!v.IsObject()) return {};
  auto it = v.FindMember(key);
  if (it == v.MemberEnd() || !it->value.IsString()) return {};
  return {it->value.GetString(), it->value.GetStringLength()};
}

const rapidjson::Value* array_of(const rapidjson::Value& v, const char* key) {
  if (!v.IsObject()) return nullptr;
  auto it = v.FindMember(key);
  if (it == v.MemberEnd() || !it->value.IsArray() || it->value.Empty()) return nullptr;
  return &it->value;
}

// The first element of `arr` whose `key` equals `want`, else the first object element.
const rapidjson::Value* preferred(const rapidjson::Value* arr, const char* key, std::string_view want) {
  if (!arr) return nullptr;
  const rapidjson::Value* first = nullptr;
  for (const auto& e : arr->GetArray()) {
    if (!e.IsObject()) continue;
    if (!first) first = &e;
    if (str_of(e, key) == want) return &e;
  }
  return first;
}

bool parse_patient(std::string_view json, rapidjson::Document& doc) {
  doc.Parse(json.data(), json.size());
  return !doc.HasParseError() && doc.IsObject() && str_of(doc, "resourceType") == "Patient";
}

bool is_ssn(const rapidjson::Value& ident) { return str_of(ident, "system") == kSsnSystem; }

bool is_mr(const rapidjson::Value& ident) {
  auto t = ident.FindMember("type");
  if (t == ident.MemberEnd() || !t->value.IsObject()) return false;
  if (const auto* codings = array_of(t->value, "coding"))
    for (const auto& c : codings->GetArray())
      if (str_of(c, "code") == "MR") return true;
  return false;
}

}  // namespace

std::string normalize_name_token(std::string_view text) { return join(words(text, false), ""); }

bool is_valid_date(std::string_view d) {
  if (d.size() != 10 || d[4] != '-' || d[7] != '-') return false;
  for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (d[i] < '0' || d[i] > '9') return false;
  const int y = (d[0] - '0') * 1000 + (d[1] - '0') * 100 + (d[2] - '0') * 10 + (d[3] - '0');
  const int m = (d[5] - '0') * 10 + (d[6] - '0');
  const int day = (d[8] - '0') * 10 + (d[9] - '0');
  if (y < 1800 || m < 1 || m > 12 || day < 1) return false;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return day <= kDays[m - 1] + ((m == 2 && leap) ? 1 : 0);
}

Demographics normalize(const Demographics& raw) {
  Demographics n;
  std::vector<std::string> fam = words(raw.family, false);
  n.suffix = canonical_suffix(join(words(raw.suffix, true), ""));
  while (fam.size() > 1) {
    const std::string s = canonical_suffix(fam.back());
    if (s.empty()) break;
    if (n.suffix.empty()) n.suffix = s;
    fam.pop_back();
  }
  n.family = join(fam, " ");
  for (const auto& g : raw.given)
    for (auto& w : words(g, false)) n.given.push_back(std::move(w));
  if (raw.birth_date.size() >= 10 && is_valid_date(std::string_view(raw.birth_date).substr(0, 10)))
    n.birth_date = raw.birth_date.substr(0, 10);
  std::string sex;
  for (char c : raw.sex) sex.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  if (sex == "M" || sex == "MALE") n.sex = "M";
  else if (sex == "F" || sex == "FEMALE") n.sex = "F";
  else if (sex == "O" || sex == "OTHER") n.sex = "O";
  std::vector<std::string> addr = words(raw.address_line, true);
  for (auto& w : addr) w = abbreviate_street_word(w);
  n.address_line = join(addr, " ");
  n.city = join(words(raw.city, false), " ");
  for (char c : raw.postal_code)
    if (std::isalnum(static_cast<unsigned char>(c))) n.postal_code.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  if (n.postal_code.size() == 9 && digits_of(n.postal_code).size() == 9) n.postal_code.resize(5);
  std::string phone = digits_of(raw.phone);
  if (phone.size() == 11 && phone[0] == '1') phone.erase(0, 1);
  if (phone.size() > 10) phone = phone.substr(phone.size() - 10);
  if (phone.size() >= 7) n.phone = phone;
  std::string_view email = raw.email;
  while (!email.empty() && std::isspace(static_cast<unsigned char>(email.front()))) email.remove_prefix(1);
  while (!email.empty() && std::isspace(static_cast<unsigned char>(email.back()))) email.remove_suffix(1);
  if (email.find('@') != std::string_view::npos)
    for (char c : email) n.email.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  const std::string ssn = digits_of(raw.ssn_last4);
  if (ssn.size() == 4 || ssn.size() == 9) n.ssn_last4 = ssn.substr(ssn.size() - 4);
  return n;
}

std::optional<Demographics> demographics_from_patient_json(std::string_view json) {
  rapidjson::Document doc;
  if (!parse_patient(json, doc)) return std::nullopt;
  Demographics raw;
  if (const auto* name = preferred(array_of(doc, "name"), "use", "official")) {
    raw.family = std::string(str_of(*name, "family"));
    if (const auto* given = array_of(*name, "given"))
      for (const auto& g : given->GetArray())
        if (g.IsString()) raw.given.emplace_back(g.GetString(), g.GetStringLength());
    if (const auto* suffix = array_of(*name, "suffix"))
      for (const auto& s : suffix->GetArray())
        if (s.IsString() && !canonical_suffix(normalize_name_token({s.GetString(), s.GetStringLength()})).empty())
          raw.suffix.assign(s.GetString(), s.GetStringLength());
  }
  raw.birth_date = std::string(str_of(doc, "birthDate"));
  raw.sex = std::string(str_of(doc, "gender"));
  if (const auto* addr = preferred(array_of(doc, "address"), "use", "home")) {
    if (const auto* lines = array_of(*addr, "line"))
      for (const auto& l : lines->GetArray())
        if (l.IsString()) {
          if (!raw.address_line.empty()) raw.address_line.push_back(' ');
          raw.address_line.append(l.GetString(), l.GetStringLength());
        }
    raw.city = std::string(str_of(*addr, "city"));
    raw.postal_code = std::string(str_of(*addr, "postalCode"));
  }
  if (const auto* telecom = array_of(doc, "telecom"))
    for (const auto& t : telecom->GetArray()) {
      const std::string_view system = str_of(t, "system"), value = str_of(t, "value");
      if (system == "phone" && raw.phone.empty()) raw.phone = std::string(value);
      if (system == "email" && raw.email.empty()) raw.email = std::string(value);
    }
  if (const auto* ids = array_of(doc, "identifier"))
    for (const auto& id : ids->GetArray())
      if (is_ssn(id)) raw.ssn_last4 = std::string(str_of(id, "value"));
  return normalize(raw);
}

std::vector<SourceIdentifier> identifiers_from_patient_json(std::string_view json) {
  std::vector<SourceIdentifier> out;
  rapidjson::Document doc;
  if (!parse_patient(json, doc)) return out;
  if (const auto* ids = array_of(doc, "identifier"))
    for (const auto& id : ids->GetArray()) {
      const std::string_view system = str_of(id, "system"), value = str_of(id, "value");
      if (!system.empty() && !value.empty() && !is_ssn(id)) out.push_back({std::string(system), std::string(value)});
    }
  return out;
}

std::optional<SourceIdentifier> key_identifier_from_patient_json(std::string_view json) {
  rapidjson::Document doc;
  if (!parse_patient(json, doc)) return std::nullopt;
  std::optional<SourceIdentifier> first;
  if (const auto* ids = array_of(doc, "identifier"))
    for (const auto& id : ids->GetArray()) {
      const std::string_view system = str_of(id, "system"), value = str_of(id, "value");
      if (system.empty() || value.empty() || is_ssn(id)) continue;
      if (is_mr(id)) return SourceIdentifier{std::string(system), std::string(value)};
      if (!first) first = SourceIdentifier{std::string(system), std::string(value)};
    }
  return first;
}

}  // namespace phrgate::identity
