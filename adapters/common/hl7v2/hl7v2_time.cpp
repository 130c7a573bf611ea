// HL7 v2 DT/TM/DTM -> FHIR date, dateTime, instant and time, keeping precision and zone.
// Used by the HL7 v2 -> FHIR converter for every timestamp it maps, and by the ACK path.
// Must never guess: an invalid value (bad digit, impossible date, bad zone) returns false
// and leaves `out` untouched; it never silently shifts a value into another zone.
#include "adapters/common/hl7v2/hl7v2_time.h"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace phrgate::hl7v2 {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

int two_digits(std::string_view s, std::size_t at) {
  return (s[at] - '0') * 10 + (s[at + 1] - '0');
}

bool is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int days_in_month(int y, int m) {
  static constexpr int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return (m == 2 && is_leap(y)) ? 29 : kDays[m - 1];
}

// FHIR zone rule: (Z|(+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00)).
bool valid_zone_offset(int hours, int minutes) {
  if (minutes < 0 || minutes > 59) return false;
  return hours <= 13 || (hours == 14 && minutes == 0);
}

// One parsed HL7 DTM (or TM when `time_only`). Views point into the input.
struct Parsed {
  std::string_view digits;    // leading digit run: 4..14 (DTM) or 2..6 (TM)
  std::string_view fraction;  // digits after '.', may be empty
  std::string_view zone;      // "+HHMM" / "-HHMM", may be empty
};

bool split(std::string_view hl7, bool time_only, Parsed& p) {
  std::size_t i = 0;
  while (i < hl7.size() && is_digit(hl7[i])) ++i;
  p.digits = hl7.substr(0, i);
  const std::size_t n = p.digits.size();
  const std::size_t full = time_only ? 6 : 14;
  if (time_only ? (n != 2 && n != 4 && n != 6) : (n < 4 || n > 14 || n % 2 != 0)) return false;
  if (i < hl7.size() && hl7[i] == '.') {
    if (n != full) return false;  // a fraction needs seconds
    const std::size_t start = ++i;
    while (i < hl7.size() && is_digit(hl7[i])) ++i;
    p.fraction = hl7.substr(start, i - start);
    if (p.fraction.empty() || p.fraction.size() > 4) return false;
  }
  if (i < hl7.size() && (hl7[i] == '+' || hl7[i] == '-')) {
    p.zone = hl7.substr(i, 5);
    if (p.zone.size() != 5) return false;
    for (std::size_t k = 1; k < 5; ++k) {
      if (!is_digit(p.zone[k])) return false;
    }
    if (!valid_zone_offset(two_digits(p.zone, 1), two_digits(p.zone, 3))) return false;
    i += 5;
  }
  return i == hl7.size();
}

bool valid_time_digits(std::string_view t) {
  if (t.size() >= 2 && two_digits(t, 0) > 23) return false;
  if (t.size() >= 4 && two_digits(t, 2) > 59) return false;
  if (t.size() >= 6 && two_digits(t, 4) > 59) return false;
  return true;
}

bool valid_date_digits(std::string_view d) {
  const int year = (d[0] - '0') * 1000 + (d[1] - '0') * 100 + two_digits(d, 2);
  if (year == 0) return false;  // FHIR has no year 0000
  if (d.size() < 6) return true;
  const int month = two_digits(d, 4);
  if (month < 1 || month > 12) return false;
  if (d.size() < 8) return true;
  const int day = two_digits(d, 6);
  return day >= 1 && day <= days_in_month(year, month);
}

bool parse_dtm(std::string_view hl7, Parsed& p) {
  if (!split(hl7, false, p)) return false;
  if (!valid_date_digits(p.digits)) return false;
  return p.digits.size() <= 8 || valid_time_digits(p.digits.substr(8));
}

bool valid_default_zone(std::string_view z) {
  if (z == "Z") return true;
  if (z.size() != 6 || (z[0] != '+' && z[0] != '-') || z[3] != ':') return false;
  if (!is_digit(z[1]) || !is_digit(z[2]) || !is_digit(z[4]) || !is_digit(z[5])) return false;
  return valid_zone_offset(two_digits(z, 1), two_digits(z, 4));
}

void append_date(std::string& out, std::string_view d) {
  out.append(d.substr(0, 4));
  if (d.size() >= 6) {
    out.push_back('-');
    out.append(d.substr(4, 2));
  }
  if (d.size() >= 8) {
    out.push_back('-');
    out.append(d.substr(6, 2));
  }
}

// "HH[MM[SS]]" plus fraction -> "HH:MM:SS[.f]", padding with zeros.
void append_time(std::string& out, std::string_view t, std::string_view fraction) {
  out.append(t.substr(0, 2));
  out.push_back(':');
  out.append(t.size() >= 4 ? t.substr(2, 2) : std::string_view("00"));
  out.push_back(':');
  out.append(t.size() >= 6 ? t.substr(4, 2) : std::string_view("00"));
  if (!fraction.empty()) {
    out.push_back('.');
    out.append(fraction);
  }
}

// Date plus "THH:MM:SS[.f]" plus zone; false when no zone can be given.
bool append_date_time(std::string& out, const Parsed& p, std::string_view default_zone) {
  if (p.zone.empty() && !valid_default_zone(default_zone)) return false;
  append_date(out, p.digits);
  out.push_back('T');
  append_time(out, p.digits.substr(8), p.fraction);
  if (p.zone.empty()) {
    out.append(default_zone);
  } else {
    out.append(p.zone.substr(0, 3));
    out.push_back(':');
    out.append(p.zone.substr(3, 2));
  }
  return true;
}

}  // namespace

bool to_fhir_date(std::string_view hl7, std::string& out) {
  Parsed p;
  if (!parse_dtm(hl7, p)) return false;
  append_date(out, p.digits.substr(0, p.digits.size() < 8 ? p.digits.size() : 8));
  return true;
}

bool to_fhir_datetime(std::string_view hl7, std::string_view default_zone, std::string& out) {
  Parsed p;
  if (!parse_dtm(hl7, p)) return false;
  if (p.digits.size() <= 8) {  // date-only stays date-only; a zone on a date is dropped
    append_date(out, p.digits);
    return true;
  }
  return append_date_time(out, p, default_zone);
}

bool to_fhir_instant(std::string_view hl7, std::string_view default_zone, std::string& out) {
  Parsed p;
  if (!parse_dtm(hl7, p) || p.digits.size() <= 8) return false;
  return append_date_time(out, p, default_zone);
}

bool to_fhir_time(std::string_view hl7, std::string& out) {
  Parsed p;
  if (!split(hl7, true, p) || !valid_time_digits(p.digits)) return false;
  append_time(out, p.digits, p.fraction);
  return true;
}

namespace {

std::tm utc_now(int* millis) {
  const auto now = std::chrono::system_clock::now();
  const auto since_epoch = now.time_since_epoch();
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
  const std::time_t t = static_cast<std::time_t>(secs.count());
  if (millis != nullptr) {
    *millis = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch - secs).count());
  }
  std::tm tm{};
  gmtime_r(&t, &tm);
  return tm;
}

}  // namespace

std::string now_hl7() {
  const std::tm tm = utc_now(nullptr);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d%02d%02d%02d%02d%02d+0000", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::string now_fhir_instant() {
  int millis = 0;
  const std::tm tm = utc_now(&millis);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return buf;
}

}  // namespace phrgate::hl7v2
