// Loading and lookup of the nickname table (see nickname_table.h). Errors name the line
// number only, never the names on it.
#include "gateway/identity/nickname_table.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "gateway/identity/demographics.h"

namespace phrgate::identity {
namespace {

void add_unique(std::vector<std::string>& v, const std::string& s) {
  if (std::find(v.begin(), v.end(), s) == v.end()) v.push_back(s);
}

}  // namespace

void NicknameTable::add(std::string_view name, std::string_view nickname) {
  const std::string formal = normalize_name_token(name), nick = normalize_name_token(nickname);
  if (formal.empty() || nick.empty() || formal == nick) return;
  add_unique(formal_[formal], formal);
  add_unique(formal_[nick], formal);
  ++pairs_;
}

NicknameTable NicknameTable::parse_csv(std::string_view text, std::vector<std::string>* errors) {
  NicknameTable table;
  std::size_t line_no = 0;
  bool header_seen = false;
  while (!text.empty()) {
    const std::size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line_no == 1 && line.substr(0, 3) == "\xEF\xBB\xBF") line.remove_prefix(3);
    if (line.empty() || line.front() == '#') continue;
    if (!header_seen) {
      header_seen = true;
      if (line != "name,nickname" && errors) errors->push_back("line " + std::to_string(line_no) + ": header must be name,nickname");
      continue;
    }
    const std::size_t comma = line.find(',');
    if (comma == std::string_view::npos || line.find(',', comma + 1) != std::string_view::npos) {
      if (errors) errors->push_back("line " + std::to_string(line_no) + ": expected two fields");
      continue;
    }
    const std::string_view name = line.substr(0, comma), nick = line.substr(comma + 1);
    if (normalize_name_token(name).empty() || normalize_name_token(nick).empty()) {
      if (errors) errors->push_back("line " + std::to_string(line_no) + ": empty name");
      continue;
    }
    table.add(name, nick);
  }
  return table;
}

NicknameTable NicknameTable::load_file(const std::string& path, std::vector<std::string>* errors) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read nickname table " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_csv(ss.str(), errors);
}

const std::vector<std::string>* NicknameTable::formal_names(std::string_view name) const {
  auto it = formal_.find(std::string(name));
  return it == formal_.end() ? nullptr : &it->second;
}

std::vector<std::string> NicknameTable::nicknames_of(std::string_view formal) const {
  std::vector<std::string> out;
  for (const auto& [name, formals] : formal_)
    if (name != formal && std::find(formals.begin(), formals.end(), formal) != formals.end()) out.push_back(name);
  std::sort(out.begin(), out.end());
  return out;
}

bool NicknameTable::equivalent(std::string_view a, std::string_view b) const {
  if (a.empty() || b.empty()) return false;
  if (a == b) return true;
  const auto* fa = formal_names(a);
  const auto* fb = formal_names(b);
  if (!fa || !fb) return false;
  for (const auto& x : *fa)
    if (std::find(fb->begin(), fb->end(), x) != fb->end()) return true;
  return false;
}

}  // namespace phrgate::identity
