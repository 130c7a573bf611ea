// Hl7v2Message: a zero-copy, read-only view over one HL7 v2 message (ER7 "pipe" encoding).
// Used by the MLLP source (to build ACKs) and by the HL7 v2 -> FHIR converter.
// The parser records segment boundaries only; fields, repetitions, components and
// subcomponents are found on demand by scanning the segment text. Nothing is copied:
// every string_view points into the caller's buffer, which must outlive the Message.
// Values are returned raw (still escaped); call unescape_append() to decode.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace phrgate::hl7v2 {

// Encoding characters from MSH-1 / MSH-2 of each message.
struct Delimiters {
  char field = '|';
  char component = '^';
  char repetition = '~';
  char escape = '\\';
  char subcomponent = '&';
  char truncation = 0;  // v2.7+ fifth encoding character ('#'), 0 when absent
};

// HL7 table 0357 error codes used in ERR-3 of negative acknowledgements.
enum class ErrorCode : int {
  SegmentSequence = 100,
  RequiredFieldMissing = 101,
  DataType = 102,
  TableValueNotFound = 103,
  UnsupportedMessageType = 200,
  UnsupportedEventCode = 201,
  UnsupportedProcessingId = 202,
  UnsupportedVersionId = 203,
  UnknownKeyIdentifier = 204,
  DuplicateKeyIdentifier = 205,
  ApplicationRecordLocked = 206,
  ApplicationInternalError = 207,
};

struct ParseError {
  ErrorCode code = ErrorCode::SegmentSequence;
  std::string text;        // operator-readable, never contains message content (no PHI)
  int segment_index = -1;  // 0-based segment number, -1 when not segment-specific
  std::string location;    // e.g. "MSH-2", "" when unknown
};

class Segment {
 public:
  Segment(std::string_view text, const Delimiters* delims) : text_(text), delims_(delims) {}

  std::string_view id() const { return text_.substr(0, text_.size() < 3 ? text_.size() : 3); }
  std::string_view text() const { return text_; }  // whole segment, no terminator
  const Delimiters& delimiters() const { return *delims_; }

  // Raw field n in HL7 numbering. For MSH, field(1) is the field separator itself
  // ("|") and field(2) the encoding characters ("^~\&"), so MSH-9 is field(9).
  // For other segments field(1) is the first field after the segment id.
  // Returns an empty view when the field is absent.
  std::string_view field(std::size_t n) const;
  // Number of fields present (the highest n for which field(n) can be non-empty).
  std::size_t field_count() const;

  // Shorthand: raw subcomponent `sub` of component `comp` of repetition `rep` (0-based)
  // of field `n`; all other indexes 1-based. get(3) == first repetition of field 3,
  // component 1, subcomponent 1 (i.e. text up to the first '^' / '&' / '~').
  std::string_view get(std::size_t n, std::size_t comp = 1, std::size_t sub = 1,
                       std::size_t rep = 0) const;

 private:
  std::string_view text_;
  const Delimiters* delims_;
};

// Splitting helpers over raw text (field, repetition or component), all zero-copy.
std::size_t repetition_count(std::string_view field, const Delimiters& d);  // 0 for empty field
std::string_view repetition(std::string_view field, std::size_t index0, const Delimiters& d);
std::string_view component(std::string_view value, std::size_t n1, const Delimiters& d);
std::size_t component_count(std::string_view value, const Delimiters& d);
std::string_view subcomponent(std::string_view comp, std::size_t n1, const Delimiters& d);

// Decodes escape sequences (\F\ \S\ \T\ \R\ \E\ \P\ \Xhh..\ \.br\ \H\ \N\; \Cxxyy\,
// \Mxxyyzz\ and \Zxx\ are kept literally) and appends the result to `out`. Both \.br\ and
// \.sp\ become "\n"; \H\ and \N\ are dropped; \Xhh..\ appends the raw bytes. An unknown or
// unterminated escape is appended literally. Returns false when an escape was malformed
// (the output is still usable).
bool unescape_append(std::string& out, std::string_view raw, const Delimiters& d);
// Convenience: unescape into a new string (allocates; not for the hot path).
std::string unescape(std::string_view raw, const Delimiters& d);
// The reverse, for building ACKs and outbound messages: escapes delimiter characters
// (and the truncation character when set); LF becomes \.br\ and CR \X0D\ so the
// output never contains a segment terminator.
void escape_append(std::string& out, std::string_view text, const Delimiters& d);

// Reads and validates MSH-1 / MSH-2 from the start of `msh_segment` (text beginning with
// "MSH", terminator optional). Returns false and fills `error` (location "MSH-1"/"MSH-2")
// when they are missing or unusable. Used by Message::parse and by the NAK builder to
// decide whether a broken message's header can be salvaged.
bool read_delimiters(std::string_view msh_segment, Delimiters& out, ParseError* error);

// The fields of MSH that the gateway needs, as raw views.
struct MessageHeader {
  std::string_view sending_application;    // MSH-3 (whole field, components intact)
  std::string_view sending_facility;       // MSH-4
  std::string_view receiving_application;  // MSH-5
  std::string_view receiving_facility;     // MSH-6
  std::string_view date_time;              // MSH-7
  std::string_view message_code;           // MSH-9.1, e.g. "ADT"
  std::string_view trigger_event;          // MSH-9.2, e.g. "A01" (EVN-1 when MSH-9.2 is empty)
  std::string_view message_structure;      // MSH-9.3, e.g. "ADT_A01" (may be empty)
  std::string_view control_id;             // MSH-10
  std::string_view processing_id;          // MSH-11.1 ("P", "T", "D")
  std::string_view version;                // MSH-12.1, e.g. "2.5.1"
  std::string_view accept_ack_type;        // MSH-15 ("AL","NE","ER","SU" or empty)
  std::string_view application_ack_type;   // MSH-16
  std::string_view character_set;          // MSH-18 first repetition
};

class Message {
 public:
  // Parses `raw` (one message; segments end with CR, LF or CRLF; trailing terminators
  // and empty lines are ignored). On failure returns std::nullopt and fills `error`.
  // Rejects: empty input, no leading "MSH", bad encoding characters (fewer than 4, repeated,
  // alphanumeric, or equal to the field separator), segment ids that are not 3 upper-case
  // letters/digits, and a missing MSH-9.1, MSH-10 or MSH-12.1 (RequiredFieldMissing).
  // Blank lines before the MSH are tolerated. Z-segments are kept like any other segment.
  static std::optional<Message> parse(std::string_view raw, ParseError* error);

  std::string_view raw() const { return raw_; }
  const Delimiters& delimiters() const { return delims_; }
  const std::vector<Segment>& segments() const { return segments_; }
  const MessageHeader& header() const { return header_; }

  // First segment with this id, or nullptr.
  const Segment* find(std::string_view id) const;
  // Appends every segment with this id (in order) to `out`.
  void find_all(std::string_view id, std::vector<const Segment*>& out) const;

  Message(const Message& other);
  Message& operator=(const Message& other);
  Message(Message&&) noexcept;
  Message& operator=(Message&&) noexcept;
  ~Message() = default;

 private:
  Message() = default;
  void rebind();  // re-points segments_ at this->delims_ after copy/move
  std::string_view raw_;
  Delimiters delims_;
  std::vector<Segment> segments_;
  MessageHeader header_;
};

}  // namespace phrgate::hl7v2
