// Zero-copy HL7 v2 (ER7) parser: records segment boundaries, finds fields on demand.
// Used by the MLLP source (ACKs) and the HL7 v2 -> FHIR converter on the hot path.
// Must never copy message text, recurse, read outside the caller's buffer, or put
// message content into a ParseError (the texts below are fixed strings: no PHI).
#include "adapters/common/hl7v2/hl7v2_message.h"

#include <algorithm>
#include <cstring>
#include <utility>

namespace phrgate::hl7v2 {
namespace {

bool is_terminator(char c) { return c == '\r' || c == '\n'; }

bool is_upper_or_digit(char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

// A usable delimiter is printable ASCII that is neither a letter, a digit nor a space.
bool is_valid_delimiter(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u <= 0x20 || u >= 0x7f) return false;
  const bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  return !alnum;
}

bool is_msh(std::string_view seg) {
  return seg.size() >= 3 && seg[0] == 'M' && seg[1] == 'S' && seg[2] == 'H';
}

// Part n (0-based) of `text` split at `sep`; empty when there are fewer parts.
std::string_view nth_part(std::string_view text, std::size_t n, char sep) {
  if (text.empty()) return {};  // memchr must not see a null pointer
  const char* p = text.data();
  const char* const end = p + text.size();
  for (; n > 0; --n) {
    const void* hit = std::memchr(p, sep, static_cast<std::size_t>(end - p));
    if (hit == nullptr) return {};
    p = static_cast<const char*>(hit) + 1;
  }
  if (p == end) return {};
  const void* stop = std::memchr(p, sep, static_cast<std::size_t>(end - p));
  const char* e = stop == nullptr ? end : static_cast<const char*>(stop);
  return {p, static_cast<std::size_t>(e - p)};
}

std::size_t count_char(std::string_view text, char c) {
  std::size_t n = 0;
  for (char x : text) n += (x == c) ? 1 : 0;
  return n;
}

void set_error(ParseError* error, ErrorCode code, const char* text, int segment_index,
               const char* location) {
  if (error == nullptr) return;
  error->code = code;
  error->text = text;
  error->segment_index = segment_index;
  error->location = location;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool all_hex(std::string_view s) {
  for (char c : s) {
    if (hex_value(c) < 0) return false;
  }
  return true;
}

// Appends the decoded form of one escape sequence body (the text between the escape
// characters). Returns false when the body is not a sequence this decoder knows.
bool decode_escape_body(std::string& out, std::string_view body, const Delimiters& d) {
  if (body.size() == 1) {
    switch (body[0]) {
      case 'F': out.push_back(d.field); return true;
      case 'S': out.push_back(d.component); return true;
      case 'T': out.push_back(d.subcomponent); return true;
      case 'R': out.push_back(d.repetition); return true;
      case 'E': out.push_back(d.escape); return true;
      case 'P':
        if (d.truncation == 0) return false;
        out.push_back(d.truncation);
        return true;
      case 'H':
      case 'N': return true;  // highlighting on/off: no plain-text meaning
      default: return false;
    }
  }
  if (body.empty()) return false;
  const std::string_view rest = body.substr(1);
  switch (body[0]) {
    case 'X': {
      if (rest.empty() || rest.size() % 2 != 0 || !all_hex(rest)) return false;
      for (std::size_t i = 0; i < rest.size(); i += 2) {
        out.push_back(static_cast<char>(hex_value(rest[i]) * 16 + hex_value(rest[i + 1])));
      }
      return true;
    }
    case 'C':  // single-byte character set switch: kept for a later decoder
      if (rest.size() != 4 || !all_hex(rest)) return false;
      break;
    case 'M':  // multi-byte character set switch
      if ((rest.size() != 4 && rest.size() != 6) || !all_hex(rest)) return false;
      break;
    case 'Z':  // locally defined: kept as sent
      break;
    case '.': {
      // Formatted-text commands. Line breaks become "\n"; layout-only ones are dropped.
      if (rest == "br" || rest == "ce") {
        out.push_back('\n');
        return true;
      }
      const std::string_view cmd = rest.substr(0, 2);
      if (cmd == "sp") {
        out.push_back('\n');
        return true;
      }
      if (cmd == "fi" || cmd == "nf" || cmd == "in" || cmd == "ti" || cmd == "sk") return true;
      return false;
    }
    default: return false;
  }
  // Kept literally (C, M, Z).
  out.push_back(d.escape);
  out.append(body);
  out.push_back(d.escape);
  return true;
}

void append_escape_for(std::string& out, char code, char escape) {
  out.push_back(escape);
  out.push_back(code);
  out.push_back(escape);
}

}  // namespace

// ---------------------------------------------------------------- Segment

std::string_view Segment::field(std::size_t n) const {
  if (is_msh(text_)) {
    if (n == 0) return id();
    if (n == 1) return text_.size() > 3 ? text_.substr(3, 1) : std::string_view{};
    return nth_part(text_, n - 1, delims_->field);
  }
  return nth_part(text_, n, delims_->field);
}

std::size_t Segment::field_count() const {
  const std::size_t separators = count_char(text_, delims_->field);
  if (is_msh(text_)) return separators == 0 ? 0 : separators + 1;
  return separators;
}

std::string_view Segment::get(std::size_t n, std::size_t comp, std::size_t sub,
                              std::size_t rep) const {
  const std::string_view f = field(n);
  if (is_msh(text_) && n <= 2) {
    // MSH-1 and MSH-2 hold the delimiters themselves: never split them.
    return (comp == 1 && sub == 1 && rep == 0) ? f : std::string_view{};
  }
  return subcomponent(component(repetition(f, rep, *delims_), comp, *delims_), sub, *delims_);
}

// ---------------------------------------------------------------- splitting helpers

std::size_t repetition_count(std::string_view field, const Delimiters& d) {
  return field.empty() ? 0 : count_char(field, d.repetition) + 1;
}

std::string_view repetition(std::string_view field, std::size_t index0, const Delimiters& d) {
  return nth_part(field, index0, d.repetition);
}

std::string_view component(std::string_view value, std::size_t n1, const Delimiters& d) {
  if (n1 == 0) return {};
  return nth_part(value, n1 - 1, d.component);
}

std::size_t component_count(std::string_view value, const Delimiters& d) {
  return value.empty() ? 0 : count_char(value, d.component) + 1;
}

std::string_view subcomponent(std::string_view comp, std::size_t n1, const Delimiters& d) {
  if (n1 == 0) return {};
  return nth_part(comp, n1 - 1, d.subcomponent);
}

// ---------------------------------------------------------------- escaping

bool unescape_append(std::string& out, std::string_view raw, const Delimiters& d) {
  bool ok = true;
  std::size_t pos = 0;
  while (pos < raw.size()) {
    const std::size_t open = raw.find(d.escape, pos);
    if (open == std::string_view::npos) {
      out.append(raw.substr(pos));
      break;
    }
    out.append(raw.substr(pos, open - pos));
    const std::size_t close = raw.find(d.escape, open + 1);
    if (close == std::string_view::npos) {  // unterminated: keep the rest as sent
      out.append(raw.substr(open));
      return false;
    }
    const std::string_view body = raw.substr(open + 1, close - open - 1);
    if (!decode_escape_body(out, body, d)) {
      out.append(raw.substr(open, close - open + 1));
      ok = false;
    }
    pos = close + 1;
  }
  return ok;
}

std::string unescape(std::string_view raw, const Delimiters& d) {
  std::string out;
  out.reserve(raw.size());
  unescape_append(out, raw, d);
  return out;
}

void escape_append(std::string& out, std::string_view text, const Delimiters& d) {
  std::size_t run = 0;  // start of the pending run of plain characters
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    char code = 0;
    if (c == d.field) code = 'F';
    else if (c == d.component) code = 'S';
    else if (c == d.subcomponent) code = 'T';
    else if (c == d.repetition) code = 'R';
    else if (c == d.escape) code = 'E';
    else if (d.truncation != 0 && c == d.truncation) code = 'P';
    else if (c == '\n' || c == '\r') code = c;
    else continue;
    out.append(text.substr(run, i - run));
    run = i + 1;
    if (code == '\n') {  // a raw terminator would end the segment
      out.push_back(d.escape);
      out.append(".br");
      out.push_back(d.escape);
    } else if (code == '\r') {
      out.push_back(d.escape);
      out.append("X0D");
      out.push_back(d.escape);
    } else {
      append_escape_for(out, code, d.escape);
    }
  }
  out.append(text.substr(run));
}

// ---------------------------------------------------------------- delimiters

bool read_delimiters(std::string_view msh_segment, Delimiters& out, ParseError* error) {
  if (!is_msh(msh_segment)) {
    set_error(error, ErrorCode::SegmentSequence, "message does not start with an MSH segment",
              0, "MSH");
    return false;
  }
  if (msh_segment.size() < 4 || is_terminator(msh_segment[3])) {
    set_error(error, ErrorCode::RequiredFieldMissing, "MSH field separator is missing", 0,
              "MSH-1");
    return false;
  }
  const char fs = msh_segment[3];
  if (!is_valid_delimiter(fs)) {
    set_error(error, ErrorCode::DataType,
              "MSH field separator must be a printable non-alphanumeric character", 0, "MSH-1");
    return false;
  }
  // MSH-2 runs to the next field separator or the end of the segment.
  std::size_t end = 4;
  while (end < msh_segment.size() && msh_segment[end] != fs && !is_terminator(msh_segment[end])) {
    ++end;
  }
  const std::string_view enc = msh_segment.substr(4, end - 4);
  if (end < 8 && (end >= msh_segment.size() || is_terminator(msh_segment[end]))) {
    set_error(error, ErrorCode::RequiredFieldMissing, "MSH segment is too short", 0, "MSH-2");
    return false;
  }
  if (enc.size() < 4 || enc.size() > 5) {
    set_error(error, ErrorCode::DataType, "MSH encoding characters must be 4 or 5 characters",
              0, "MSH-2");
    return false;
  }
  for (std::size_t i = 0; i < enc.size(); ++i) {
    if (!is_valid_delimiter(enc[i]) || enc[i] == fs) {
      set_error(error, ErrorCode::DataType,
                "MSH encoding character is not a usable delimiter", 0, "MSH-2");
      return false;
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (enc[j] == enc[i]) {
        set_error(error, ErrorCode::DataType, "MSH encoding characters are repeated", 0,
                  "MSH-2");
        return false;
      }
    }
  }
  out.field = fs;
  out.component = enc[0];
  out.repetition = enc[1];
  out.escape = enc[2];
  out.subcomponent = enc[3];
  out.truncation = enc.size() == 5 ? enc[4] : 0;
  return true;
}

// ---------------------------------------------------------------- Message

std::optional<Message> Message::parse(std::string_view raw, ParseError* error) {
  // Blank lines before the MSH (left over from file transfers) are tolerated.
  std::size_t pos = 0;
  while (pos < raw.size() && is_terminator(raw[pos])) ++pos;
  if (pos == raw.size()) {
    set_error(error, ErrorCode::SegmentSequence, "message is empty", -1, "");
    return std::nullopt;
  }

  Message msg;
  msg.raw_ = raw;
  if (!read_delimiters(raw.substr(pos), msg.delims_, error)) return std::nullopt;

  // A segment is at least 4 bytes with its terminator; most are far longer.
  msg.segments_.reserve(raw.size() / 48 + 4);
  const char fs = msg.delims_.field;
  const char* const base = raw.data();
  const std::size_t size = raw.size();
  // Segment ends: the next CR and the next LF, each found with one (vectorized) search and
  // searched again only once passed, so a CR-only or LF-only message is still one pass.
  std::size_t next_cr = raw.find('\r', pos);
  std::size_t next_lf = raw.find('\n', pos);
  while (pos < size) {
    if (next_cr < pos) next_cr = raw.find('\r', pos);
    if (next_lf < pos) next_lf = raw.find('\n', pos);
    const std::size_t end = std::min(std::min(next_cr, next_lf), size);
    if (end > pos) {
      const std::string_view seg(base + pos, end - pos);
      const bool id_ok = seg.size() >= 3 && is_upper_or_digit(seg[0]) &&
                         is_upper_or_digit(seg[1]) && is_upper_or_digit(seg[2]) &&
                         (seg.size() == 3 || seg[3] == fs);
      if (!id_ok) {
        set_error(error, ErrorCode::SegmentSequence,
                  "segment id is not 3 upper-case letters or digits",
                  static_cast<int>(msg.segments_.size()), "");
        return std::nullopt;
      }
      msg.segments_.emplace_back(seg, &msg.delims_);
    }
    pos = end + 1;
  }

  const Segment& msh = msg.segments_.front();
  MessageHeader& h = msg.header_;
  const Delimiters& d = msg.delims_;
  h.sending_application = msh.field(3);
  h.sending_facility = msh.field(4);
  h.receiving_application = msh.field(5);
  h.receiving_facility = msh.field(6);
  h.date_time = msh.field(7);
  const std::string_view type = repetition(msh.field(9), 0, d);
  h.message_code = subcomponent(component(type, 1, d), 1, d);
  h.trigger_event = subcomponent(component(type, 2, d), 1, d);
  h.message_structure = subcomponent(component(type, 3, d), 1, d);
  h.control_id = msh.field(10);
  h.processing_id = msh.get(11);
  h.version = msh.get(12);
  h.accept_ack_type = msh.field(15);
  h.application_ack_type = msh.field(16);
  h.character_set = repetition(msh.field(18), 0, d);
  // Versions 2.1 and 2.2 may send MSH-9 as the message type alone ("ADT"): the trigger event
  // is then EVN-1 (the event type code of those versions).
  if (h.trigger_event.empty()) {
    for (const Segment& s : msg.segments_)
      if (s.id() == "EVN") {
        h.trigger_event = subcomponent(component(s.field(1), 1, d), 1, d);
        break;
      }
  }

  if (h.message_code.empty()) {
    set_error(error, ErrorCode::RequiredFieldMissing, "MSH-9 message type is missing", 0,
              "MSH-9");
    return std::nullopt;
  }
  if (h.control_id.empty()) {
    set_error(error, ErrorCode::RequiredFieldMissing, "MSH-10 message control id is missing", 0,
              "MSH-10");
    return std::nullopt;
  }
  if (h.version.empty()) {
    set_error(error, ErrorCode::RequiredFieldMissing, "MSH-12 version id is missing", 0,
              "MSH-12");
    return std::nullopt;
  }
  return std::optional<Message>(std::move(msg));
}

const Segment* Message::find(std::string_view id) const {
  for (const Segment& s : segments_) {
    if (s.id() == id) return &s;
  }
  return nullptr;
}

void Message::find_all(std::string_view id, std::vector<const Segment*>& out) const {
  for (const Segment& s : segments_) {
    if (s.id() == id) out.push_back(&s);
  }
}

Message::Message(const Message& other)
    : raw_(other.raw_), delims_(other.delims_), segments_(other.segments_),
      header_(other.header_) {
  rebind();
}

Message& Message::operator=(const Message& other) {
  if (this != &other) {
    raw_ = other.raw_;
    delims_ = other.delims_;
    segments_ = other.segments_;
    header_ = other.header_;
    rebind();
  }
  return *this;
}

Message::Message(Message&& other) noexcept
    : raw_(other.raw_), delims_(other.delims_), segments_(std::move(other.segments_)),
      header_(other.header_) {
  rebind();
}

Message& Message::operator=(Message&& other) noexcept {
  if (this != &other) {
    raw_ = other.raw_;
    delims_ = other.delims_;
    segments_ = std::move(other.segments_);
    header_ = other.header_;
    rebind();
  }
  return *this;
}

void Message::rebind() {
  for (Segment& s : segments_) s = Segment(s.text(), &delims_);
}

}  // namespace phrgate::hl7v2
