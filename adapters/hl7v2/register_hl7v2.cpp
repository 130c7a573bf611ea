// The HL7 v2 adapter's registration and its payload-level converter (see register_hl7v2.h).
#include "adapters/hl7v2/register_hl7v2.h"

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

std::vector<pipeline::ConvertedMessage> convert_hl7v2_payload(const pipeline::ConvertInput& in) {
  std::vector<pipeline::ConvertedMessage> results;
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
    ConvertOptions opt;
    opt.source_name = in.source;
    opt.default_zone = in.settings.default_zone;
    opt.code_maps = in.code_maps;
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
