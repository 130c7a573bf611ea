// Synthetic population generator (see population.h). Deterministic for a seed: one
// mt19937_64 drives every choice, in a fixed order. Invented data only.
#include "tests/bench/identity/population.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <set>
#include <unordered_map>

#include "gateway/identity/string_similarity.h"
#include "tests/bench/identity/name_lists.h"

namespace phrgate::identity::bench {
namespace {

struct Address {
  std::string line, city, zip;
};

struct Person {
  char sex = 'F';
  std::string given, middle, family, maiden, suffix, birth_date, phone, email, ssn4;
  Address home, moved_to;
  bool suffix_always = false;
};

class Generator {
 public:
  Generator(const PopulationOptions& o, const NicknameTable& nick) : o_(o), nick_(nick), rng_(o.seed) {
    const int zips = std::max(20, o.persons / 1000);
    std::set<std::string> seen;
    while (static_cast<int>(zip_pool_.size()) < zips) {
      std::string z = std::to_string(10000 + uniform(89999));
      if (seen.insert(z).second) zip_pool_.push_back({z, std::string(kCities[uniform(kCities.size())])});
    }
    surname_cdf_ = zipf_cdf(kSurnames.size(), 30.0);
    male_cdf_ = zipf_cdf(kMaleGiven.size(), 8.0);
    female_cdf_ = zipf_cdf(kFemaleGiven.size(), 8.0);
  }

  uint64_t uniform(uint64_t n) { return n ? rng_() % n : 0; }
  bool chance(double p) { return static_cast<double>(rng_() >> 11) * 0x1.0p-53 < p; }

  static std::vector<double> zipf_cdf(std::size_t n, double offset) {
    std::vector<double> cdf(n);
    double sum = 0;
    for (std::size_t r = 0; r < n; ++r) cdf[r] = (sum += 1.0 / (static_cast<double>(r) + offset));
    for (auto& c : cdf) c /= sum;
    return cdf;
  }
  std::size_t pick(const std::vector<double>& cdf) {
    const double x = static_cast<double>(rng_() >> 11) * 0x1.0p-53;
    return static_cast<std::size_t>(std::lower_bound(cdf.begin(), cdf.end(), x) - cdf.begin()) % cdf.size();
  }

  std::string surname() {
    if (chance(0.30)) return std::string(kSurnameStarts[uniform(kSurnameStarts.size())]) +
                             std::string(kSurnameEnds[uniform(kSurnameEnds.size())]);
    return std::string(kSurnames[pick(surname_cdf_)]);
  }
  std::string given_name(char sex) {
    if (chance(0.15)) return std::string(kGivenStarts[uniform(kGivenStarts.size())]) +
                             std::string(kGivenEnds[uniform(kGivenEnds.size())]);
    return sex == 'M' ? std::string(kMaleGiven[pick(male_cdf_)]) : std::string(kFemaleGiven[pick(female_cdf_)]);
  }
  std::string birth_date(int from_year, int to_year) {
    static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const int y = from_year + static_cast<int>(uniform(static_cast<uint64_t>(to_year - from_year + 1)));
    const int m = 1 + static_cast<int>(uniform(12));
    const int d = 1 + static_cast<int>(uniform(static_cast<uint64_t>(kDays[m - 1])));
    char buf[48];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", y, m, d);
    return buf;
  }
  Address address() {
    const auto& [zip, city] = zip_pool_[uniform(zip_pool_.size())];
    std::string line = std::to_string(1 + uniform(9899)) + " " + std::string(kStreets[uniform(kStreets.size())]) + " " +
                       std::string(kStreetTypes[uniform(kStreetTypes.size())]);
    if (chance(0.15)) line += " APT " + std::to_string(1 + uniform(40));
    return {line, city, zip};
  }
  std::string phone() {
    return std::to_string(200 + uniform(799)) + std::to_string(200 + uniform(799)) + std::to_string(1000 + uniform(8999));
  }
  std::string email(const std::string& given, const std::string& family) {
    std::string s = given.substr(0, 1 + uniform(given.size())) + (chance(0.5) ? "." : "") + family;
    if (chance(0.6)) s += std::to_string(uniform(100));
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s + "@" + std::string(kEmailDomains[uniform(kEmailDomains.size())]);
  }
  std::string ssn4() { return std::to_string(1000 + uniform(9000)); }

  Person single(char sex) {
    Person p;
    p.sex = sex;
    p.given = given_name(sex);
    if (chance(0.6)) p.middle = given_name(sex);
    p.family = surname();
    p.birth_date = birth_date(1930, 2022);
    p.home = address();
    p.moved_to = address();
    p.phone = phone();
    p.email = email(p.given, p.family);
    p.ssn4 = ssn4();
    return p;
  }

  // A given name that no comparator could take for `other`'s (twins, siblings).
  std::string distinct_given(char sex, const std::string& other) {
    for (;;) {
      std::string g = given_name(sex);
      if (g[0] != other[0] && !nick_.equivalent(g, other) && jaro_winkler(g, other) < 0.8) return g;
    }
  }

  std::vector<Person> persons() {
    std::vector<Person> out;
    while (static_cast<int>(out.size()) < o_.persons) {
      const int left = o_.persons - static_cast<int>(out.size());
      if (left >= 2 && chance(o_.twin_rate / 2)) {
        Person a = single(chance(0.5) ? 'M' : 'F');
        Person b = single(chance(0.5) ? 'M' : 'F');
        b.given = distinct_given(b.sex, a.given);
        b.family = a.family;
        b.birth_date = a.birth_date;
        b.home = a.home;
        b.phone = a.phone;
        b.email = email(b.given, b.family);
        out.push_back(std::move(a));
        out.push_back(std::move(b));
        ++twin_pairs;
      } else if (left >= 2 && chance(o_.junior_rate / 2)) {
        Person father = single('M');
        father.birth_date = birth_date(1930, 1975);
        Person son = father;
        son.birth_date = birth_date(std::stoi(father.birth_date.substr(0, 4)) + 20,
                                    std::stoi(father.birth_date.substr(0, 4)) + 40);
        son.suffix = "JR";
        son.suffix_always = chance(0.5);
        father.suffix = chance(0.4) ? "SR" : "";
        son.email = email(son.given, son.family);
        son.ssn4 = ssn4();
        son.moved_to = address();
        out.push_back(std::move(father));
        out.push_back(std::move(son));
        ++junior_pairs;
      } else if (left >= 2 && chance(o_.spouse_rate / 2)) {
        Person a = single('M');
        Person b = single('F');
        b.home = a.home;
        b.phone = a.phone;
        if (chance(0.7)) {  // she took his name; some hospitals still know her maiden name
          if (chance(0.3)) b.maiden = b.family;
          b.family = a.family;
        }
        out.push_back(std::move(a));
        out.push_back(std::move(b));
      } else {
        Person p = single(chance(0.5) ? 'M' : 'F');
        if (p.sex == 'F' && chance(o_.married_name)) p.maiden = surname();
        out.push_back(std::move(p));
      }
    }
    return out;
  }

  std::string typo(const std::string& s) {
    if (s.size() < 4) return s;
    std::string t = s;
    const std::size_t i = 1 + uniform(t.size() - 2);
    switch (uniform(4)) {
      case 0: t[i] = static_cast<char>('A' + uniform(26)); break;
      case 1: t.erase(i, 1); break;
      case 2: t.insert(t.begin() + static_cast<long>(i), static_cast<char>('A' + uniform(26))); break;
      default: std::swap(t[i], t[i - 1]); break;
    }
    return t;
  }

  std::string date_noise(const std::string& d) {
    if (chance(o_.date_swap) && d.substr(8, 2) <= "12" && d.substr(5, 2) != d.substr(8, 2)) {
      std::string s = d;
      std::swap(s[5], s[8]);
      std::swap(s[6], s[9]);
      return s;
    }
    if (chance(o_.date_typo)) {
      std::string s = d;
      if (chance(0.5)) std::swap(s[2], s[3]);      // 1985 -> 1958
      else s[9] = static_cast<char>('0' + uniform(10));  // last day digit
      if (is_valid_date(s)) return s;
    }
    return d;
  }

  // One hospital's record of `p`, with noise and formatting variety.
  Demographics record(const Person& p, int hospital) {
    Demographics d;
    const bool maiden = !p.maiden.empty() && (hospital % 2 == 0) == chance(0.8);
    d.family = maiden ? p.maiden : p.family;
    if (chance(o_.typo_family)) d.family = typo(d.family);
    std::string given = p.given;
    if (chance(o_.nickname)) {
      const auto nicks = nick_.nicknames_of(given);
      if (!nicks.empty()) given = nicks[uniform(nicks.size())];
    }
    if (chance(o_.typo_given)) given = typo(given);
    d.given.push_back(given);
    if (!p.middle.empty() && chance(0.5)) d.given.push_back(chance(0.5) ? p.middle.substr(0, 1) : p.middle);
    if (!p.suffix.empty() && (p.suffix_always || chance(0.6))) d.suffix = p.suffix;
    if (!chance(o_.missing_birth_date)) d.birth_date = date_noise(p.birth_date);
    if (!chance(o_.missing_sex)) d.sex = p.sex == 'M' ? "male" : "female";
    const Address& a = chance(o_.moved) ? p.moved_to : p.home;
    if (!chance(o_.missing_address)) {
      d.address_line = a.line;
      d.city = a.city;
      d.postal_code = chance(0.2) ? a.zip + "-" + std::to_string(1000 + uniform(9000)) : a.zip;
    }
    if (!chance(o_.missing_phone))
      d.phone = chance(0.5) ? "(" + p.phone.substr(0, 3) + ") " + p.phone.substr(3, 3) + "-" + p.phone.substr(6) : p.phone;
    if (!chance(o_.missing_email)) d.email = p.email;
    if (chance(o_.ssn_collected)) d.ssn_last4 = p.ssn4;
    if (chance(0.5)) {  // title case at some sources
      for (std::size_t i = 1; i < d.family.size(); ++i) d.family[i] = static_cast<char>(std::tolower(d.family[i]));
    }
    return d;
  }

  int twin_pairs = 0, junior_pairs = 0;

 private:
  const PopulationOptions& o_;
  const NicknameTable& nick_;
  std::mt19937_64 rng_;
  std::vector<std::pair<std::string, std::string>> zip_pool_;
  std::vector<double> surname_cdf_, male_cdf_, female_cdf_;
};

}  // namespace

Population generate_population(const PopulationOptions& options, const NicknameTable& nicknames) {
  Generator g(options, nicknames);
  const std::vector<Person> people = g.persons();
  Population pop;
  pop.persons = static_cast<int>(people.size());
  std::vector<int> mrn_counter(static_cast<std::size_t>(options.hospitals), 0);
  for (std::size_t i = 0; i < people.size(); ++i) {
    const double r = static_cast<double>(g.uniform(100)) / 100.0;
    int k = r < 0.40 ? 1 : r < 0.70 ? 2 : r < 0.90 ? 3 : 4;
    k = std::min(k, options.hospitals);
    std::vector<int> hospitals(static_cast<std::size_t>(options.hospitals));
    for (int h = 0; h < options.hospitals; ++h) hospitals[static_cast<std::size_t>(h)] = h;
    for (int j = 0; j < k; ++j)
      std::swap(hospitals[static_cast<std::size_t>(j)],
                hospitals[static_cast<std::size_t>(j) + g.uniform(static_cast<uint64_t>(options.hospitals - j))]);
    for (int j = 0; j < k; ++j) {
      const int h = hospitals[static_cast<std::size_t>(j)];
      GeneratedRecord rec;
      rec.id.system = "urn:oid:2.16.840.1.113883.3.7777." + std::to_string(h + 1);
      rec.id.value = "MRN" + std::to_string(100000 + 7 * (++mrn_counter[static_cast<std::size_t>(h)]));
      rec.demographics = g.record(people[i], h);
      rec.true_person = static_cast<int>(i);
      rec.hospital = h;
      pop.records.push_back(std::move(rec));
    }
  }
  for (std::size_t i = pop.records.size(); i > 1; --i) std::swap(pop.records[i - 1], pop.records[g.uniform(i)]);
  pop.twin_pairs = g.twin_pairs;
  pop.junior_pairs = g.junior_pairs;
  return pop;
}

PairwiseQuality pairwise_quality(const std::vector<GeneratedRecord>& records, const std::vector<int64_t>& assigned) {
  auto pairs = [](uint64_t n) { return n * (n - 1) / 2; };
  std::unordered_map<int, uint64_t> per_person;
  std::unordered_map<int64_t, uint64_t> per_cluster;
  std::map<std::pair<int64_t, int>, uint64_t> per_both;
  for (std::size_t i = 0; i < records.size(); ++i) {
    ++per_person[records[i].true_person];
    if (assigned[i] < 0) continue;
    ++per_cluster[assigned[i]];
    ++per_both[{assigned[i], records[i].true_person}];
  }
  PairwiseQuality q;
  for (const auto& [k, n] : per_person) q.true_pairs += pairs(n);
  for (const auto& [k, n] : per_cluster) q.predicted_pairs += pairs(n);
  for (const auto& [k, n] : per_both) q.correct_pairs += pairs(n);
  return q;
}

}  // namespace phrgate::identity::bench
