// Implementation of run_population (see identity_run.h).
#include "tests/bench/identity/identity_run.h"

#include <chrono>
#include <cstdlib>
#include <string>
#include <unordered_map>

namespace phrgate::identity::bench {
namespace {

// Where the value after `prefix` starts in a decision explanation (flat search: the keys
// used here occur once, or first in the best candidate's comparison), or npos.
std::size_t value_at(const std::string& json, const std::string& prefix) {
  const std::size_t at = json.find(prefix);
  return at == std::string::npos ? at : at + prefix.size();
}

// The quoted text starting at `begin`, or `absent`.
std::string quoted(const std::string& json, std::size_t begin, const char* absent) {
  return begin == std::string::npos ? absent : json.substr(begin, json.find('"', begin) - begin);
}

std::string explanation_value(const std::string& json, const std::string& key) {
  return quoted(json, value_at(json, "\"" + key + "\":\""), "-");
}

double explanation_number(const std::string& json, const std::string& key) {
  const std::size_t begin = value_at(json, "\"" + key + "\":");
  return begin == std::string::npos ? 0.0 : std::strtod(json.c_str() + begin, nullptr);
}

// The level of `field` in the best candidate's comparison, or "missing".
std::string field_level(const std::string& json, const std::string& field) {
  return quoted(json, value_at(json, "\"" + field + "\":{\"level\":\""), "missing");
}

}  // namespace

RunResult run_population(PersonIndex& index, const Population& pop) {
  RunResult out;
  out.records = pop.records.size();
  out.resolve_us.reserve(pop.records.size());
  std::unordered_map<std::string, int> founder;        // person id -> true person of its first record
  std::unordered_map<std::string, std::size_t> founder_record;
  std::unordered_map<std::string, int64_t> cluster_of;  // person id -> dense cluster number
  std::unordered_map<int64_t, std::size_t> review_record;  // review id -> record index
  std::unordered_map<int64_t, std::string> review_reason;  // review id -> why
  std::vector<std::string> person_of(pop.records.size());
  std::unordered_map<int64_t, RunResult::NamesakeHold> namesake_held;  // review id -> item (truth filled later)
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < pop.records.size(); ++i) {
    const auto& rec = pop.records[i];
    const auto t0 = std::chrono::steady_clock::now();
    const Resolution r = index.resolve(rec.id, rec.demographics);
    const auto t1 = std::chrono::steady_clock::now();
    out.resolve_us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    switch (r.kind) {
      case Resolution::Kind::Linked:
        ++out.linked;
        if (founder.at(r.person_id) != rec.true_person) {
          ++out.wrong_auto_links;
          out.wrong_links.push_back({i, founder_record.at(r.person_id), r.explanation});
        }
        break;
      case Resolution::Kind::Created:
        ++out.created;
        founder[r.person_id] = rec.true_person;
        founder_record[r.person_id] = i;
        break;
      case Resolution::Kind::Review:
        ++out.review;
        review_record[r.review_id] = i;
        review_reason[r.review_id] =
            explanation_value(r.explanation, "rule") + "/" + explanation_value(r.explanation, "hold_reason");
        ++out.review_reasons[review_reason[r.review_id]];
        ++out.review_levels[review_reason[r.review_id] + " given=" + field_level(r.explanation, "given") +
                            " birth=" + field_level(r.explanation, "birth_date")];
        if (review_reason[r.review_id].rfind("guarded/namesake_possible", 0) == 0)
          namesake_held[r.review_id] = {explanation_number(r.explanation, "expected_namesakes"), false,
                                        review_reason[r.review_id].find("address") != std::string::npos};
        break;
      case Resolution::Kind::Known: ++out.known; break;
    }
    person_of[i] = r.person_id;
  }
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  auto cluster = [&cluster_of](const std::string& person) {
    auto [it, fresh] = cluster_of.try_emplace(person, static_cast<int64_t>(cluster_of.size()));
    return it->second;
  };
  std::vector<int64_t> automatic(pop.records.size(), -1), with_review(pop.records.size(), -1);
  for (std::size_t i = 0; i < pop.records.size(); ++i)
    if (!person_of[i].empty()) automatic[i] = with_review[i] = cluster(person_of[i]);
  // A correct operator links a held record to its true person when that person is listed.
  int64_t next_new = 1'000'000'000;
  const ReviewPage page = index.list_review(0, static_cast<int64_t>(pop.records.size()));
  for (const auto& item : page.items) {
    auto it = review_record.find(item.id);
    if (it == review_record.end()) continue;
    const int truth = pop.records[it->second].true_person;
    int64_t chosen = -1;
    for (const auto& c : item.candidates) {
      auto f = founder.find(c.person_id);
      if (f != founder.end() && f->second == truth) {
        chosen = cluster(c.person_id);
        break;
      }
    }
    with_review[it->second] = chosen >= 0 ? chosen : next_new++;
    if (auto n = namesake_held.find(item.id); n != namesake_held.end()) {
      auto f = item.candidates.empty() ? founder.end() : founder.find(item.candidates[0].person_id);
      n->second.best_is_true_person = f != founder.end() && f->second == truth;
      out.namesake_holds.push_back(n->second);
    }
    if (chosen >= 0) ++out.review_reasons_listed[review_reason[item.id]];
  }
  out.automatic = pairwise_quality(pop.records, automatic);
  out.with_review = pairwise_quality(pop.records, with_review);
  return out;
}

}  // namespace phrgate::identity::bench
