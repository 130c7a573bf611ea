// Observation trees for the C-CDA converter: an observation with the observations under its
// entryRelationships (wound measurements, nutrition assessments, priority preferences...)
// becomes one Observation per node, children as hasMember, so no nested coded fact is lost.
// Used by the exam / skin / nutrition / advance-directive / imaging-findings sections and, with
// a focus reference, for the observations attached to plans, goals and referrals.
// Never invents values: an observation without a usable code is skipped.
#include "adapters/ccda/ccda_context.h"

namespace phrgate::ccda::detail {

using xml::attr;
using xml::child;
using xml::children;

namespace {

constexpr std::string_view kEntryReference = "2.16.840.1.113883.10.20.22.4.122";
constexpr int kMaxDepth = 4;

std::vector<ObservationCategory> categories_of_kind(std::string_view kind) {
  if (kind == "exam") return {{kObservationCategory, "exam", "Exam"}};
  if (kind == "imaging") return {{kObservationCategory, "imaging", "Imaging"}};
  return {};
}

bool skipped(const xmlNode* obs, std::initializer_list<std::string_view> skip) {
  if (xml::has_template(obs, kEntryReference)) return true;
  for (std::string_view t : skip)
    if (xml::has_template(obs, t)) return true;
  return false;
}

// `obs` and its nested observations; the reference written, "" when nothing was.
std::string observation_tree(Context& c, const xmlNode* obs, const std::vector<ObservationCategory>& cats,
                             std::string_view focus, int depth) {
  if (!xml::is(obs, "observation") || !cd_present(c, child(obs, "code"))) return {};
  std::vector<std::string> members;
  if (depth < kMaxDepth) {
    for (const xmlNode* er : children(obs, "entryRelationship")) {
      const xmlNode* nested = child(er, "observation");
      if (!nested || skipped(nested, {})) continue;
      std::string r = observation_tree(c, nested, cats, {}, depth + 1);
      if (!r.empty()) members.push_back(std::move(r));
    }
  }
  const std::string id = c.entry_id("Observation", obs);
  ObservationLinks links;
  if (!members.empty()) links.members = &members;
  links.focus = focus;
  if (!write_linked_observation(c, obs, id, cats, links)) return {};
  return c.ref("Observation", id);
}

}  // namespace

std::vector<std::string> write_related_observations(Context& c, const xmlNode* node, std::string_view focus_ref,
                                                    std::initializer_list<std::string_view> skip) {
  std::vector<std::string> out;
  for (const xmlNode* er : children(node, "entryRelationship")) {
    const xmlNode* obs = child(er, "observation");
    if (!obs || skipped(obs, skip)) continue;
    const std::string_view mood = attr(obs, "moodCode");
    if (!mood.empty() && mood != "EVN") continue;  // planned observations are requests, not results
    std::string r = observation_tree(c, obs, {}, focus_ref, 0);
    if (!r.empty()) out.push_back(std::move(r));
  }
  return out;
}

bool convert_observation_entry(Context& c, const xmlNode* node, std::string_view kind) {
  const std::vector<ObservationCategory> cats = categories_of_kind(kind);
  if (xml::is(node, "observation")) return !observation_tree(c, node, cats, {}, 0).empty();
  if (!xml::is(node, "organizer")) return false;
  std::vector<std::string> members;
  for (const xmlNode* comp : children(node, "component")) {
    std::string r = observation_tree(c, child(comp, "observation"), cats, {}, 0);
    if (!r.empty()) members.push_back(std::move(r));
  }
  if (members.empty()) return false;
  if (cd_present(c, child(node, "code")))
    write_observation(c, node, c.entry_id("Observation", node, "panel"), cats, &members);
  return true;
}

}  // namespace phrgate::ccda::detail
