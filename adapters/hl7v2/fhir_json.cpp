// FhirJson string escaping with UTF-8 repair, and HL7 NM -> FHIR decimal normalization.
// Used only by the HL7 v2 converter; never allocates beyond the output buffer's growth.
#include "adapters/hl7v2/fhir_json.h"

#include <array>
#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace phrgate::hl7v2::detail {
namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 when it is not valid UTF-8
// (overlong forms, surrogates and code points above U+10FFFF are invalid).
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  std::size_t len = 0;
  uint32_t cp = 0;
  if (b0 < 0x80) return 1;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
    cp = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    cp = b0 & 0x0F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    cp = b0 & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
      (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return len;
}

}  // namespace

// Bytes that go into a JSON string as they are: printable ASCII except '"' and '\\'.
constexpr auto kPlain = [] {
  std::array<bool, 256> t{};
  for (int b = 0x20; b < 0x80; ++b) t[static_cast<std::size_t>(b)] = b != '"' && b != '\\';
  return t;
}();

namespace {

// True when none of the eight bytes in x needs attention (SWAR: no byte < 0x20, >= 0x80,
// '"' or '\\'): most HL7 text is plain ASCII.
inline bool eight_plain(uint64_t x) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  const uint64_t below_space = (x - kOnes * 0x20) & ~x;
  const uint64_t quote = x ^ (kOnes * '"');
  const uint64_t backslash = x ^ (kOnes * '\\');
  return ((below_space | x | ((quote - kOnes) & ~quote) | ((backslash - kOnes) & ~backslash)) &
          kHigh) == 0;
}

inline uint64_t load8(const char* p) {
  uint64_t x;
  std::memcpy(&x, p, 8);
  return x;
}

}  // namespace

void FhirJson::string(std::string_view v) {
  static constexpr char kHex[] = "0123456789abcdef";
  separate();
  // Worst case: every byte becomes "\u00XX" (6 bytes); reserving once keeps put() unchecked.
  reserve(v.size() * 6 + 2);
  // Fast path, copying while checking: eight bytes at a time (the last eight overlapping for
  // the tail), or byte by byte below eight; a string with nothing to escape is done here.
  const char* const src = v.data();
  const std::size_t n = v.size();
  char* const out = data_.get() + size_ + 1;
  data_[size_] = '"';
  std::size_t i = 0;
#if defined(__SSE2__)
  if (n >= 16) {  // sixteen bytes at a time: ids, references, URIs, display texts
    const __m128i space = _mm_set1_epi8(0x20);
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');
    // Signed compare: bytes >= 0x80 are negative, so "< 0x20" also catches them.
    auto plain16 = [&](__m128i x) {
      const __m128i special = _mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, backslash));
      const __m128i bad = _mm_or_si128(_mm_cmplt_epi8(x, space), special);
      return _mm_movemask_epi8(bad) == 0;
    };
    for (; i + 16 <= n; i += 16) {
      const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
      if (!plain16(x)) break;
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), x);
    }
    if (i + 16 > n) {  // every full block was plain: the tail is in the last sixteen bytes
      const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + n - 16));
      if (plain16(x)) {
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + n - 16), x);
        out[n] = '"';
        size_ += n + 2;
        return;
      }
    }
  } else
#endif
  if (n >= 8) {
    for (; i + 8 <= n; i += 8) {
      const uint64_t x = load8(src + i);
      if (!eight_plain(x)) break;
      std::memcpy(out + i, &x, 8);
    }
    if (i + 8 > n) {  // every full word was plain: the tail is in the last eight bytes
      const uint64_t x = load8(src + n - 8);
      if (eight_plain(x)) {
        std::memcpy(out + n - 8, &x, 8);
        out[n] = '"';
        size_ += n + 2;
        return;
      }
    }
  } else {
    for (; i < n; ++i) {
      const auto u = static_cast<unsigned char>(src[i]);
      if (!kPlain[u]) break;
      out[i] = static_cast<char>(u);
    }
    if (i == n) {
      out[n] = '"';
      size_ += n + 2;
      return;
    }
  }
  size_ += 1 + i;  // the quote and the plain bytes before i are written
  std::size_t run = i;  // start of the pending run of bytes copied as they are
  while (i < v.size()) {
    while (i + 8 <= v.size() && eight_plain(load8(v.data() + i))) i += 8;
    if (i >= v.size()) break;
    const auto u = static_cast<unsigned char>(v[i]);
    if (kPlain[u]) {
      ++i;
      continue;
    }
    if (u >= 0x80) {
      const std::size_t len = utf8_sequence_length(v, i);
      if (len != 0) {  // valid UTF-8: part of the run
        i += len;
        continue;
      }
    }
    put(v.substr(run, i - run));
    if (u >= 0x80) {  // not UTF-8: read the byte as ISO-8859-1
      put(static_cast<char>(0xC0 | (u >> 6)));
      put(static_cast<char>(0x80 | (u & 0x3F)));
    } else if (u == '"' || u == '\\') {
      put('\\');
      put(static_cast<char>(u));
    } else if (u == '\n') {
      put("\\n");
    } else if (u == '\r') {
      put("\\r");
    } else if (u == '\t') {
      put("\\t");
    } else {
      put("\\u00");
      put(kHex[u >> 4]);
      put(kHex[u & 0x0F]);
    }
    run = ++i;
  }
  put(v.substr(run));
  put('"');
}

void FhirJson::integer(int64_t n) {
  separate();
  char buf[24];
  char* p = buf + sizeof buf;
  const bool negative = n < 0;
  uint64_t u = negative ? 0 - static_cast<uint64_t>(n) : static_cast<uint64_t>(n);
  do {
    *--p = static_cast<char>('0' + u % 10);
    u /= 10;
  } while (u != 0);
  if (negative) *--p = '-';
  append(std::string_view(p, static_cast<std::size_t>(buf + sizeof buf - p)));
}

bool fhir_decimal(std::string_view nm, std::string& out) {
  while (!nm.empty() && nm.front() == ' ') nm.remove_prefix(1);
  while (!nm.empty() && nm.back() == ' ') nm.remove_suffix(1);
  bool negative = false;
  if (!nm.empty() && (nm.front() == '+' || nm.front() == '-')) {
    negative = nm.front() == '-';
    nm.remove_prefix(1);
  }
  const std::size_t dot = nm.find('.');
  std::string_view int_part = nm.substr(0, dot);
  std::string_view frac_part = dot == std::string_view::npos ? std::string_view{} : nm.substr(dot + 1);
  if (int_part.empty() && frac_part.empty()) return false;
  for (char c : int_part)
    if (c < '0' || c > '9') return false;
  for (char c : frac_part)
    if (c < '0' || c > '9') return false;
  while (int_part.size() > 1 && int_part.front() == '0') int_part.remove_prefix(1);
  if (negative) out.push_back('-');
  if (int_part.empty())
    out.push_back('0');
  else
    out.append(int_part);
  if (!frac_part.empty()) {
    out.push_back('.');
    out.append(frac_part);
  }
  return true;
}

}  // namespace phrgate::hl7v2::detail
