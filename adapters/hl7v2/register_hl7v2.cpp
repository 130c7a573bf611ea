// The HL7 v2 adapter's registration and its payload-level converter (see register_hl7v2.h).
#include "adapters/hl7v2/register_hl7v2.h"

#include "adapters/common/hl7v2/hl7v2_charset.h"
#include "adapters/common/hl7v2/hl7v2_message.h"
#include "adapters/hl7v2/hl7v2_folder_source.h"
#include "adapters/hl7v2/hl7v2_mllp_source.h"
#include "adapters/hl7v2/hl7v2_to_fhir.h"

namespace phrgate::hl7v2 {
namespace {

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

std::string_view skip_bom_and_space(std::string_view s) {
  if (starts_with(s, "\xEF\xBB\xBF")) s.remove_prefix(3);
  while (!s.empty() && (s.front() == '\r' || s.front() == '\n' || s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  return s;
}

// The first component of an HD field (MSH-3, MSH-4): its namespace id.
std::string_view component_text(std::string_view field) {
  const std::size_t caret = field.find('^');
  return caret == std::string_view::npos ? field : field.substr(0, caret);
}

bool is_batch_segment(std::string_view line) {
  return starts_with(line, "FHS") || starts_with(line, "BHS") || starts_with(line, "BTS") ||
         starts_with(line, "FTS");
}

}  // namespace

std::vector<std::string_view> split_messages(std::string_view text) {
  std::vector<std::string_view> out;
  text = skip_bom_and_space(text);
  std::size_t msg_start = std::string_view::npos;
  std::size_t pos = 0;
  auto close = [&](std::size_t end) {
    if (msg_start != std::string_view::npos && end > msg_start) out.push_back(text.substr(msg_start, end - msg_start));
    msg_start = std::string_view::npos;
  };
  while (pos < text.size()) {
    std::size_t eol = text.find_first_of("\r\n", pos);
    std::size_t end = eol == std::string_view::npos ? text.size() : eol;
    std::string_view line = text.substr(pos, end - pos);
    if (starts_with(line, "MSH")) {
      close(pos);
      msg_start = pos;
    } else if (is_batch_segment(line)) {
      close(pos);
    }
    pos = end;
    while (pos < text.size() && (text[pos] == '\r' || text[pos] == '\n')) ++pos;
  }
  close(text.size());
  if (out.empty() && !text.empty()) out.push_back(text);  // let the parser explain what is wrong
  return out;
}

// The character set a message is read in: MSH-18, else the sender's default, else the
// source's; "" when none is named (UTF-8, lenient).
std::string_view declared_charset(const MessageHeader& h, const pipeline::SenderSettings* sender,
                                  const pipeline::ConvertSettings& settings) {
  if (!h.character_set.empty()) return h.character_set;
  if (sender && !sender->default_charset.empty()) return sender->default_charset;
  return settings.default_charset;
}

std::vector<pipeline::ConvertedMessage> convert_hl7v2_payload(const pipeline::ConvertInput& in) {
  std::vector<pipeline::ConvertedMessage> results;
  thread_local std::string transcoded;
  for (std::string_view text : split_messages(in.payload)) {
    pipeline::ConvertedMessage out;
    ParseError perr;
    auto msg = Message::parse(text, &perr);
    if (!msg) {
      out.error = "HL7 v2 parse error at " + (perr.location.empty() ? std::string("message") : perr.location) +
                  ": " + perr.text;
      results.push_back(std::move(out));
      continue;
    }
    out.control_id.assign(msg->header().control_id);
    const MessageHeader& h = msg->header();
    const pipeline::SenderSettings* sender =
        in.settings.sender(component_text(h.sending_application), component_text(h.sending_facility));

    // Output is always UTF-8: a message in another character set is read again, converted.
    const std::string_view charset_name = declared_charset(h, sender, in.settings);
    if (!charset_name.empty()) {
      const auto charset = charset_from_name(charset_name);
      if (!charset) {
        out.error = "unsupported character set \"" + std::string(charset_name.substr(0, 32)) +
                    "\" (MSH-18 or the sender's default_charset); supported: ASCII, 8859/1, 8859/15, "
                    "UNICODE UTF-8";
        results.push_back(std::move(out));
        continue;
      }
      if (!(*charset == Charset::Utf8 && is_valid_utf8(text))) {
        bool has_high = false;
        for (char ch : text) has_high = has_high || static_cast<unsigned char>(ch) >= 0x80;
        if (has_high) {
          to_utf8(text, *charset, transcoded);
          msg = Message::parse(transcoded, &perr);
          if (!msg) {
            out.error = "HL7 v2 parse error after character set conversion: " + perr.text;
            results.push_back(std::move(out));
            continue;
          }
        }
      }
    }

    ConvertOptions opt;
    opt.source_name = in.source;
    opt.default_zone = sender && !sender->default_zone.empty() ? std::string_view(sender->default_zone)
                                                               : std::string_view(in.settings.default_zone);
    opt.code_maps = in.code_maps;
    if (sender && !sender->identifier_systems.empty()) opt.authority_systems = &sender->identifier_systems;
    opt.unmapped = in.unmapped;
    opt.uuid_references = in.uuid_references;
    ConvertResult r = convert_to_fhir(*msg, opt);
    if (!r.ok) {
      out.error = r.error + (r.error_location.empty() ? "" : " (" + r.error_location + ")");
    } else {
      out.ok = true;
      out.person_id = std::move(r.person_id);
      out.resources = std::move(r.resources);
    }
    results.push_back(std::move(out));
  }
  return results;
}

void register_hl7v2(pipeline::Registry& registry) {
  registry.add_source({"hl7v2_mllp", [](const config::AdapterConfig& cfg, pipeline::SourceDeps& deps) {
                         return make_hl7v2_mllp_source(cfg, deps);
                       }});
  registry.add_source({"hl7v2_folder", [](const config::AdapterConfig& cfg, pipeline::SourceDeps& deps) {
                         return make_hl7v2_folder_source(cfg, deps);
                       }});
  registry.add_converter({"application/hl7-v2",
                          [](std::string_view head) {
                            head = skip_bom_and_space(head);
                            return starts_with(head, "MSH") || starts_with(head, "FHS") ||
                                   starts_with(head, "BHS");
                          },
                          convert_hl7v2_payload});
}

}  // namespace phrgate::hl7v2
