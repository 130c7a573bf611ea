// Implementation of the phonetic codes and string distances (see string_similarity.h).
// Written from the published descriptions of each algorithm.
#include "gateway/identity/string_similarity.h"

#include <algorithm>
#include <array>
#include <vector>

namespace phrgate::identity {
namespace {

bool is_letter(char c) { return c >= 'A' && c <= 'Z'; }
bool is_vowel(char c) { return c == 'A' || c == 'E' || c == 'I' || c == 'O' || c == 'U'; }

std::string letters_only(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (is_letter(c)) out.push_back(c);
  }
  return out;
}

char soundex_digit(char c) {
  switch (c) {
    case 'B': case 'F': case 'P': case 'V': return '1';
    case 'C': case 'G': case 'J': case 'K': case 'Q': case 'S': case 'X': case 'Z': return '2';
    case 'D': case 'T': return '3';
    case 'L': return '4';
    case 'M': case 'N': return '5';
    case 'R': return '6';
    case 'H': case 'W': return 'h';  // transparent: do not separate equal codes
    default: return '0';             // vowels and Y separate equal codes
  }
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool ends_with(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}

}  // namespace

std::string soundex(std::string_view name) {
  const std::string s = letters_only(name);
  if (s.empty()) return {};
  std::string out(1, s[0]);
  char last = soundex_digit(s[0]);
  for (std::size_t i = 1; i < s.size() && out.size() < 4; ++i) {
    const char d = soundex_digit(s[i]);
    if (d == 'h') continue;
    if (d != '0' && d != last) out.push_back(d);
    last = d;
  }
  out.resize(4, '0');
  return out;
}

std::string nysiis(std::string_view name) {
  std::string s = letters_only(name);
  if (s.empty()) return {};
  // Step 1: leading patterns.
  if (starts_with(s, "MAC")) s.replace(0, 3, "MCC");
  else if (starts_with(s, "KN")) s.replace(0, 2, "NN");
  else if (starts_with(s, "K")) s[0] = 'C';
  else if (starts_with(s, "PH") || starts_with(s, "PF")) s.replace(0, 2, "FF");
  else if (starts_with(s, "SCH")) s.replace(0, 3, "SSS");
  // Step 2: trailing patterns.
  if (ends_with(s, "EE") || ends_with(s, "IE")) s.replace(s.size() - 2, 2, "Y");
  else if (ends_with(s, "DT") || ends_with(s, "RT") || ends_with(s, "RD") || ends_with(s, "NT") ||
           ends_with(s, "ND"))
    s.replace(s.size() - 2, 2, "D");
  // Steps 3–4: first letter kept; the rest translated in place, left to right.
  std::string key(1, s[0]);
  for (std::size_t i = 1; i < s.size(); ++i) {
    const char c = s[i];
    const char next = i + 1 < s.size() ? s[i + 1] : '\0';
    if (c == 'E' && next == 'V') {
      s[i] = 'A';
      s[i + 1] = 'F';
    } else if (is_vowel(c)) {
      s[i] = 'A';
    } else if (c == 'Q') {
      s[i] = 'G';
    } else if (c == 'Z') {
      s[i] = 'S';
    } else if (c == 'M') {
      s[i] = 'N';
    } else if (c == 'K') {
      s[i] = next == 'N' ? 'N' : 'C';
    } else if (c == 'S' && next == 'C' && i + 2 < s.size() && s[i + 2] == 'H') {
      s[i + 1] = 'S';
      s[i + 2] = 'S';
    } else if (c == 'P' && next == 'H') {
      s[i] = 'F';
      s[i + 1] = 'F';
    } else if (c == 'H' && (!is_vowel(s[i - 1]) || (next != '\0' && !is_vowel(next)))) {
      s[i] = s[i - 1];
    } else if (c == 'W' && is_vowel(s[i - 1])) {
      s[i] = s[i - 1];
    }
    if (s[i] != key.back()) key.push_back(s[i]);
  }
  // Step 5–7: trailing S, AY, A.
  if (key.size() > 1 && key.back() == 'S') key.pop_back();
  if (key.size() > 2 && ends_with(key, "AY")) key.replace(key.size() - 2, 2, "Y");
  if (key.size() > 1 && key.back() == 'A') key.pop_back();
  return key;
}

double jaro(std::string_view a, std::string_view b) {
  if (a.empty() || b.empty()) return 0.0;
  if (a == b) return 1.0;
  const std::size_t window = std::max<std::size_t>(std::max(a.size(), b.size()) / 2, 1) - 1;
  std::array<bool, 64> a_small{}, b_small{};
  std::vector<bool> a_big, b_big;
  const bool small = a.size() <= 64 && b.size() <= 64;
  if (!small) {
    a_big.assign(a.size(), false);
    b_big.assign(b.size(), false);
  }
  auto a_used = [&](std::size_t i) -> bool { return small ? a_small[i] : a_big[i]; };
  auto b_used = [&](std::size_t i) -> bool { return small ? b_small[i] : b_big[i]; };
  std::size_t matches = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const std::size_t lo = i > window ? i - window : 0;
    const std::size_t hi = std::min(b.size(), i + window + 1);
    for (std::size_t j = lo; j < hi; ++j) {
      if (b_used(j) || a[i] != b[j]) continue;
      if (small) a_small[i] = b_small[j] = true;
      else a_big[i] = b_big[j] = true;
      ++matches;
      break;
    }
  }
  if (matches == 0) return 0.0;
  std::size_t transpositions = 0, k = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!a_used(i)) continue;
    while (!b_used(k)) ++k;
    if (a[i] != b[k]) ++transpositions;
    ++k;
  }
  const double m = static_cast<double>(matches);
  return (m / static_cast<double>(a.size()) + m / static_cast<double>(b.size()) +
          (m - static_cast<double>(transpositions) / 2.0) / m) / 3.0;
}

double jaro_winkler(std::string_view a, std::string_view b) {
  const double j = jaro(a, b);
  std::size_t prefix = 0;
  while (prefix < 4 && prefix < a.size() && prefix < b.size() && a[prefix] == b[prefix]) ++prefix;
  return j + static_cast<double>(prefix) * 0.1 * (1.0 - j);
}

std::size_t edit_distance(std::string_view a, std::string_view b, std::size_t cap) {
  const std::size_t diff = a.size() > b.size() ? a.size() - b.size() : b.size() - a.size();
  if (diff > cap) return cap + 1;
  const std::size_t n = a.size(), m = b.size();
  // Three rolling rows (two back for transpositions).
  std::vector<std::size_t> prev2(m + 1), prev(m + 1), cur(m + 1);
  for (std::size_t j = 0; j <= m; ++j) prev[j] = j;
  for (std::size_t i = 1; i <= n; ++i) {
    cur[0] = i;
    std::size_t row_min = cur[0];
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      std::size_t v = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) v = std::min(v, prev2[j - 2] + 1);
      cur[j] = v;
      row_min = std::min(row_min, v);
    }
    if (row_min > cap) return cap + 1;
    std::swap(prev2, prev);
    std::swap(prev, cur);
  }
  return std::min(prev[m], cap + 1);
}

}  // namespace phrgate::identity
