// Medical equipment section -> FHIR: a Non-Medicinal Supply Activity naming a device
// (participant/participantRole/playingDevice) becomes a Device (the product instance: its ids,
// type code, manufacturer) and a DeviceUseStatement (status, timing, the patient); a Medical
// Equipment Organizer contributes its start time to its members; procedures (device placement)
// go to convert_procedure(). A supply that names no device is skipped, never guessed.
#include "adapters/ccda/ccda_context.h"

namespace phrgate::ccda::detail {

using xml::attr;
using xml::child;
using xml::children;

namespace {

std::string_view use_status(std::string_view mood, std::string_view code) {
  if (mood == "INT" || mood == "RQO" || mood == "PRP" || code == "new") return "intended";
  if (code == "active") return "active";
  if (code == "aborted" || code == "cancelled") return "stopped";
  if (code == "suspended" || code == "held") return "on-hold";
  if (code == "nullified") return "entered-in-error";
  return "completed";
}

const xmlNode* device_role(const xmlNode* supply) {
  for (const xmlNode* p : children(supply, "participant")) {
    const xmlNode* role = child(p, "participantRole");
    if (child(role, "playingDevice")) return role;
  }
  return nullptr;
}

std::string write_device(Context& c, const xmlNode* role) {
  const xmlNode* code = xml::path(role, {"playingDevice", "code"});
  const std::string name = xml::text_of(xml::path(role, {"playingDevice", "manufacturerModelName"}));
  if (!cd_present(c, code) && name.empty()) return {};
  const std::string id = c.entry_id("Device", role);
  const std::string r = c.ref("Device", id);
  if (!c.begin("Device", id)) return r;
  IdentifierIndex index;
  identifiers_if(c, role, &index);
  c.str_if("manufacturer", xml::text_of(xml::path(role, {"scopingEntity", "desc"})));
  if (!name.empty()) c.str_if("modelNumber", name);
  codeable_concept_if(c, "type", code);
  c.subject("patient");
  c.finish(std::move(index));
  return r;
}

// timingPeriod / timingDateTime from the supply's effectiveTime, the organizer's start filling
// a missing one.
void timing(Context& c, const xmlNode* supply, const xmlNode* organizer) {
  const xmlNode* et = child(supply, "effectiveTime");
  const std::string_view zone = c.in.settings.default_zone;
  std::string_view value = xml::has_null_flavor(et) ? std::string_view{} : attr(et, "value");
  std::string_view low = attr(child(et, "low"), "value");
  const std::string_view high = attr(child(et, "high"), "value");
  if (!value.empty() && low.empty() && high.empty()) {
    time_if(c, "timingDateTime", value);
    return;
  }
  if (low.empty()) low = attr(xml::path(organizer, {"effectiveTime", "low"}), "value");
  std::string start, end;
  if (!low.empty()) ts_to_fhir(low, zone, TimeKind::DateTime, start);
  if (!high.empty()) ts_to_fhir(high, zone, TimeKind::DateTime, end);
  if (start.empty() && end.empty()) return;
  c.key("timingPeriod");
  c.w().StartObject();
  c.str_if("start", start);
  c.str_if("end", end);
  c.w().EndObject();
}

bool one_supply(Context& c, const xmlNode* supply, const xmlNode* organizer) {
  if (!xml::is(supply, "supply")) return false;
  const xmlNode* role = device_role(supply);
  if (!role) return false;
  const std::string device = write_device(c, role);
  if (device.empty()) return false;
  const std::string source = participant_ref(c, child(supply, "author"));
  const std::string id = c.entry_id("DeviceUseStatement", supply);
  if (!c.begin("DeviceUseStatement", id)) return true;
  IdentifierIndex index;
  identifiers_if(c, supply, &index);
  c.str_if("status", use_status(attr(supply, "moodCode"), attr(child(supply, "statusCode"), "code")));
  c.subject();
  timing(c, supply, organizer);
  time_if(c, "recordedOn", attr(xml::path(supply, {"author", "time"}), "value"));
  if (!source.empty()) c.reference("source", source);
  c.reference("device", device);
  c.finish(std::move(index));
  return true;
}

}  // namespace

bool convert_device_entry(Context& c, const xmlNode* node) {
  if (xml::is(node, "supply")) return one_supply(c, node, nullptr);
  if (xml::is(node, "procedure")) return convert_procedure(c, node);
  if (!xml::is(node, "organizer")) return false;
  bool any = false;
  for (const xmlNode* comp : children(node, "component")) {
    if (const xmlNode* s = child(comp, "supply")) any = one_supply(c, s, node) || any;
    else if (const xmlNode* p = child(comp, "procedure")) any = convert_procedure(c, p) || any;
  }
  return any;
}

}  // namespace phrgate::ccda::detail
