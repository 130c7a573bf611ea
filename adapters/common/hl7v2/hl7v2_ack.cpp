// Builds original-mode (AA/AE/AR) and commit (CA/CE/CR) acknowledgements as ER7 text.
// Called by the MLLP source after the durable commit (or on rejection).
// Must never echo message content beyond the header routing fields and the control id:
// error texts come from the gateway, never from the received message.
#include "adapters/common/hl7v2/hl7v2_ack.h"

#include <array>
#include <string>

namespace phrgate::hl7v2 {
namespace {

constexpr std::size_t kMaxSalvagedField = 256;  // longer header values are dropped
constexpr std::size_t kMaxSalvagedControlId = 199;

bool is_upper_or_digit(char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool all_upper_or_digit(std::string_view s) {
  for (char c : s) {
    if (!is_upper_or_digit(c)) return false;
  }
  return true;
}

bool needs_err(AckCode code) {
  return code == AckCode::AE || code == AckCode::AR || code == AckCode::CE ||
         code == AckCode::CR;
}

// Reads up to three digits at `i`; false when there are none.
bool read_small_number(std::string_view s, std::size_t& i, int& value) {
  const std::size_t start = i;
  value = 0;
  while (i < s.size() && is_digit(s[i]) && i - start < 3) value = value * 10 + (s[i++] - '0');
  return i > start;
}

// Versions before 2.5 carry the error in ERR-1 (ELD); 2.5 and later use ERR-2..4.
// An unreadable version gets the current layout.
bool uses_legacy_err(std::string_view version) {
  std::size_t i = 0;
  int major = 0;
  int minor = 0;
  if (!read_small_number(version, i, major)) return false;
  if (i >= version.size() || version[i] != '.') return false;
  ++i;
  if (!read_small_number(version, i, minor)) return false;
  return major == 2 && minor < 5;
}

// Error location as ERL parts: segment id, sequence, field, repetition, component, sub.
// Accepts "PID", "PID-3", "PID-3.1", "PID-3.1.2" or "PID^1^3[^...]". Anything else
// yields no location (the location is gateway-made; this only guards the format).
using Location = std::array<std::string_view, 6>;

bool parse_number(std::string_view s, std::size_t& i, std::string_view& out) {
  const std::size_t start = i;
  while (i < s.size() && is_digit(s[i])) ++i;
  out = s.substr(start, i - start);
  return i > start && i - start <= 5;
}

Location parse_location(std::string_view loc) {
  Location parts{};
  if (loc.empty()) return parts;
  if (loc.find('^') != std::string_view::npos) {
    std::size_t n = 0;
    std::size_t start = 0;
    while (true) {
      const std::size_t hat = loc.find('^', start);
      const std::size_t len = hat == std::string_view::npos ? loc.size() - start : hat - start;
      const std::string_view part = loc.substr(start, len);
      if (n >= parts.size() || part.size() > 5 || !all_upper_or_digit(part)) return Location{};
      parts[n++] = part;
      if (hat == std::string_view::npos) break;
      start = hat + 1;
    }
    return parts;
  }
  if (loc.size() < 3 || !all_upper_or_digit(loc.substr(0, 3))) return parts;
  Location out{};
  out[0] = loc.substr(0, 3);
  std::size_t i = 3;
  if (i < loc.size()) {
    if (loc[i] != '-' || !parse_number(loc, ++i, out[2])) return parts;
    out[1] = "1";
    if (i < loc.size()) {
      if (loc[i] != '.' || !parse_number(loc, ++i, out[4])) return parts;
      out[3] = "1";
      if (i < loc.size()) {
        if (loc[i] != '.' || !parse_number(loc, ++i, out[5]) || i != loc.size()) return parts;
      }
    }
  }
  return out;
}

// Appends the first `count` location parts joined by the component separator, trailing
// empty parts trimmed.
void append_location(std::string& out, const Location& loc, std::size_t count, char comp) {
  std::size_t last = 0;
  for (std::size_t i = 0; i < count; ++i) {
    if (!loc[i].empty()) last = i + 1;
  }
  for (std::size_t i = 0; i < last; ++i) {
    if (i > 0) out.push_back(comp);
    out.append(loc[i]);
  }
}

void append_err(std::string& out, const Delimiters& d, bool legacy, ErrorCode error,
                std::string_view text, std::string_view location) {
  if (text.empty()) text = describe(error);
  const Location loc = parse_location(location);
  const std::string code = std::to_string(static_cast<int>(error));
  out.append("ERR");
  out.push_back(d.field);
  if (legacy) {
    // ERR-1 (ELD): segment ^ sequence ^ field ^ code&text&HL70357
    for (std::size_t i = 0; i < 3; ++i) {
      out.append(loc[i]);
      out.push_back(d.component);
    }
    out.append(code);
    out.push_back(d.subcomponent);
    escape_append(out, text, d);
    out.push_back(d.subcomponent);
    out.append("HL70357");
  } else {
    // ERR-2 location, ERR-3 code^text^HL70357, ERR-4 severity
    out.push_back(d.field);
    append_location(out, loc, loc.size(), d.component);
    out.push_back(d.field);
    out.append(code);
    out.push_back(d.component);
    escape_append(out, text, d);
    out.push_back(d.component);
    out.append("HL70357");
    out.push_back(d.field);
    out.push_back('E');
  }
  out.push_back('\r');
}

void append_encoding_chars(std::string& out, const Delimiters& d) {
  out.push_back(d.field);
  out.push_back(d.component);
  out.push_back(d.repetition);
  out.push_back(d.escape);
  out.push_back(d.subcomponent);
  if (d.truncation != 0) out.push_back(d.truncation);
}

// Re-encodes a raw value from the sender's delimiters into `to`, escaping characters
// that are delimiters in `to` but plain data in `from`.
void append_translated(std::string& out, std::string_view raw, const Delimiters& from,
                       const Delimiters& to) {
  for (char c : raw) {
    if (c == from.component) out.push_back(to.component);
    else if (c == from.repetition) out.push_back(to.repetition);
    else if (c == from.escape) out.push_back(to.escape);
    else if (c == from.subcomponent) out.push_back(to.subcomponent);
    else escape_append(out, std::string_view(&c, 1), to);
  }
}

bool plausible_version(std::string_view v) {
  if (v.empty() || v.size() > 10 || !is_digit(v[0])) return false;
  for (char c : v) {
    if (!is_digit(c) && c != '.') return false;
  }
  return true;
}

}  // namespace

std::string_view to_string(AckCode c) {
  switch (c) {
    case AckCode::AA: return "AA";
    case AckCode::AE: return "AE";
    case AckCode::AR: return "AR";
    case AckCode::CA: return "CA";
    case AckCode::CE: return "CE";
    case AckCode::CR: return "CR";
  }
  return "AR";
}

std::string_view describe(ErrorCode c) {
  switch (c) {
    case ErrorCode::SegmentSequence: return "Segment sequence error";
    case ErrorCode::RequiredFieldMissing: return "Required field missing";
    case ErrorCode::DataType: return "Data type error";
    case ErrorCode::TableValueNotFound: return "Table value not found";
    case ErrorCode::UnsupportedMessageType: return "Unsupported message type";
    case ErrorCode::UnsupportedEventCode: return "Unsupported event code";
    case ErrorCode::UnsupportedProcessingId: return "Unsupported processing id";
    case ErrorCode::UnsupportedVersionId: return "Unsupported version id";
    case ErrorCode::UnknownKeyIdentifier: return "Unknown key identifier";
    case ErrorCode::DuplicateKeyIdentifier: return "Duplicate key identifier";
    case ErrorCode::ApplicationRecordLocked: return "Application record locked";
    case ErrorCode::ApplicationInternalError: return "Application internal error";
  }
  return "Application internal error";
}

std::string build_ack(const Message& original, AckCode code, const AckOptions& opts,
                      ErrorCode error, std::string_view error_text,
                      std::string_view error_location) {
  const Delimiters& d = original.delimiters();
  const MessageHeader& h = original.header();
  const Segment& msh = original.segments().front();
  const std::string_view version = h.version.empty() ? opts.fallback_version : h.version;
  const char fs = d.field;

  std::string out;
  out.reserve(160 + h.sending_application.size() + h.sending_facility.size() +
              h.receiving_application.size() + h.receiving_facility.size() +
              h.control_id.size() + error_text.size());
  out.append("MSH");
  append_encoding_chars(out, d);
  out.push_back(fs);
  out.append(h.receiving_application);
  out.push_back(fs);
  out.append(h.receiving_facility);
  out.push_back(fs);
  out.append(h.sending_application);
  out.push_back(fs);
  out.append(h.sending_facility);
  out.push_back(fs);
  escape_append(out, opts.timestamp, d);
  out.push_back(fs);
  out.push_back(fs);
  out.append("ACK");
  out.push_back(d.component);
  out.append(h.trigger_event);
  out.push_back(d.component);
  out.append("ACK");
  out.push_back(fs);
  escape_append(out, opts.ack_control_id, d);
  out.push_back(fs);
  out.append(msh.field(11));
  out.push_back(fs);
  if (h.version.empty()) escape_append(out, version, d);
  else out.append(version);
  out.push_back('\r');

  out.append("MSA");
  out.push_back(fs);
  out.append(to_string(code));
  out.push_back(fs);
  out.append(h.control_id);
  out.push_back('\r');

  if (needs_err(code)) {
    append_err(out, d, uses_legacy_err(version), error, error_text, error_location);
  }
  return out;
}

std::string build_reject_for_unparseable(std::string_view raw, const ParseError& error,
                                         const AckOptions& opts) {
  return build_reject_for_unparseable(raw, error, opts, AckCode::AR);
}

std::string build_reject_for_unparseable(std::string_view raw, const ParseError& error,
                                         const AckOptions& opts, AckCode code) {
  const Delimiters dd{};
  std::string sending_app, sending_fac, receiving_app, receiving_fac, control_id, processing;
  std::string trigger;
  std::string_view version = opts.fallback_version;

  // Salvage the routing fields only when the first line is an MSH with usable delimiters.
  std::size_t start = 0;
  while (start < raw.size() && (raw[start] == '\r' || raw[start] == '\n')) ++start;
  std::size_t end = start;
  while (end < raw.size() && raw[end] != '\r' && raw[end] != '\n') ++end;
  const std::string_view first_line = raw.substr(start, end - start);
  Delimiters orig;
  if (read_delimiters(first_line, orig, nullptr)) {
    const Segment msh(first_line, &orig);
    const auto salvage = [&](std::size_t n, std::size_t limit, std::string& into) {
      const std::string_view v = msh.field(n);
      if (v.size() <= limit) append_translated(into, v, orig, dd);
    };
    salvage(3, kMaxSalvagedField, sending_app);
    salvage(4, kMaxSalvagedField, sending_fac);
    salvage(5, kMaxSalvagedField, receiving_app);
    salvage(6, kMaxSalvagedField, receiving_fac);
    salvage(10, kMaxSalvagedControlId, control_id);
    salvage(11, 20, processing);
    const std::string_view trig = msh.get(9, 2);
    if (trig.size() <= 8 && all_upper_or_digit(trig)) trigger = trig;
    const std::string_view v = msh.get(12);
    if (plausible_version(v)) version = v;
  }
  if (processing.empty()) processing = "P";

  std::string out;
  out.reserve(200 + sending_app.size() + sending_fac.size() + receiving_app.size() +
              receiving_fac.size() + control_id.size() + error.text.size());
  out.append("MSH");
  append_encoding_chars(out, dd);
  out.push_back('|');
  out.append(receiving_app);
  out.push_back('|');
  out.append(receiving_fac);
  out.push_back('|');
  out.append(sending_app);
  out.push_back('|');
  out.append(sending_fac);
  out.push_back('|');
  escape_append(out, opts.timestamp, dd);
  out.append("||ACK^");
  out.append(trigger);
  out.append("^ACK|");
  escape_append(out, opts.ack_control_id, dd);
  out.push_back('|');
  out.append(processing);
  out.push_back('|');
  escape_append(out, version, dd);
  out.push_back('\r');
  out.append("MSA|");
  out.append(to_string(code));
  out.push_back('|');
  out.append(control_id);
  out.push_back('\r');
  append_err(out, dd, uses_legacy_err(version), error.code, error.text, error.location);
  return out;
}

RequestedAckTypes salvage_ack_types(std::string_view raw) {
  RequestedAckTypes out;
  std::size_t start = 0;
  while (start < raw.size() && (raw[start] == '\r' || raw[start] == '\n')) ++start;
  std::size_t end = start;
  while (end < raw.size() && raw[end] != '\r' && raw[end] != '\n') ++end;
  const std::string_view first_line = raw.substr(start, end - start);
  Delimiters d;
  if (!read_delimiters(first_line, d, nullptr)) return out;
  const Segment msh(first_line, &d);
  const auto take = [](std::string_view v, std::string& into) {
    if (v.size() <= 2 && all_upper_or_digit(v)) into.assign(v);  // table 0155 codes only
  };
  take(msh.get(15), out.accept);
  take(msh.get(16), out.application);
  return out;
}

std::string build_batch_ack(std::string_view batch_header, AckCode code,
                            const std::vector<BatchMessageError>& errors, const AckOptions& opts,
                            std::string_view version, std::string_view processing_id) {
  // Read the BHS/FHS like an MSH (same first fields), so field(n) is BHS-n.
  std::string header_text = "MSH";
  if (batch_header.size() > 3) header_text.append(batch_header.substr(3));
  Delimiters d;
  if (!read_delimiters(header_text, d, nullptr)) {
    d = Delimiters{};
    header_text = "MSH|^~\\&";
  }
  const Segment bhs(header_text, &d);
  if (!plausible_version(version)) version = opts.fallback_version;
  if (processing_id.empty() || processing_id.size() > 3 || !all_upper_or_digit(processing_id))
    processing_id = "P";
  const char fs = d.field;

  std::string out;
  out.append("MSH");
  append_encoding_chars(out, d);
  for (const std::size_t n : {std::size_t{5}, std::size_t{6}, std::size_t{3}, std::size_t{4}}) {  // receiver and sender swapped
    out.push_back(fs);
    const std::string_view v = bhs.field(n);
    if (v.size() <= kMaxSalvagedField) out.append(v);
  }
  out.push_back(fs);
  escape_append(out, opts.timestamp, d);
  out.push_back(fs);
  out.push_back(fs);
  out.append("ACK");
  out.push_back(fs);
  escape_append(out, opts.ack_control_id, d);
  out.push_back(fs);
  out.append(processing_id);
  out.push_back(fs);
  out.append(version);
  out.push_back('\r');

  out.append("MSA");
  out.push_back(fs);
  out.append(to_string(code));
  out.push_back(fs);
  const std::string_view batch_control_id = bhs.field(11);
  if (batch_control_id.size() <= kMaxSalvagedControlId) out.append(batch_control_id);
  out.push_back('\r');

  const bool legacy = uses_legacy_err(version);
  for (const BatchMessageError& e : errors) {
    std::string text = "message " + std::to_string(e.index) + " (MSH-10 " +
                       (e.control_id.size() <= kMaxSalvagedControlId ? e.control_id : std::string("?")) +
                       "): " + (e.text.empty() ? std::string(describe(e.error)) : e.text);
    const std::string location = "MSH^" + std::to_string(e.index);
    append_err(out, d, legacy, e.error, text, location);
  }
  return out;
}

}  // namespace phrgate::hl7v2
