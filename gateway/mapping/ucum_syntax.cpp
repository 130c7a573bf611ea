// UCUM syntax check (see ucum_syntax.h): a recursive-descent parser over the UCUM grammar
//   main-term := '/' term | term;  term := component (('.' | '/') component)*
//   component := (simple-unit exponent? | factor | '(' term ')') annotation? | annotation
// with simple-unit := atom | prefix metric-atom, checked against the compact tables below
// (facts from the UCUM specification; not the full UCUM atom list). Never allocates unless it
// reports an error, and never recurses deeper than kMaxDepth parentheses.
#include "gateway/mapping/ucum_syntax.h"

#include <algorithm>
#include <array>
#include <iterator>

namespace phrgate::mapping {
namespace {

struct Atom {
  std::string_view symbol;
  bool metric;  // only metric atoms take a prefix
};

// clang-format off
// UCUM atoms: SI base and derived units, the other metric units of UCUM, and the non-metric
// units seen in clinical data (time, customary lengths and weights, arbitrary units...).
constexpr Atom kAtoms[] = {
    // Base units and dimensionless.
    {"m", true}, {"s", true}, {"g", true}, {"rad", true}, {"K", true}, {"C", true},
    {"cd", true}, {"10*", false}, {"10^", false}, {"[pi]", false}, {"%", false},
    {"[ppth]", false}, {"[ppm]", false}, {"[ppb]", false}, {"[pptr]", false},
    // SI derived and other metric units.
    {"mol", true}, {"sr", true}, {"Hz", true}, {"N", true}, {"Pa", true}, {"J", true},
    {"W", true}, {"A", true}, {"V", true}, {"F", true}, {"Ohm", true}, {"S", true},
    {"Wb", true}, {"Cel", true}, {"T", true}, {"H", true}, {"lm", true}, {"lx", true},
    {"Bq", true}, {"Gy", true}, {"Sv", true}, {"l", true}, {"L", true}, {"ar", true},
    {"t", true}, {"bar", true}, {"u", true}, {"eV", true}, {"pc", true}, {"[c]", true},
    {"[h]", true}, {"[k]", true}, {"[eps_0]", true}, {"[mu_0]", true}, {"[e]", true},
    {"[m_e]", true}, {"[m_p]", true}, {"[G]", true}, {"[g]", true}, {"[ly]", true},
    {"gf", true}, {"Ky", true}, {"Gal", true}, {"dyn", true}, {"erg", true}, {"P", true},
    {"Bi", true}, {"St", true}, {"Mx", true}, {"G", true}, {"Oe", true}, {"Gb", true},
    {"sb", true}, {"Lmb", true}, {"ph", true}, {"Ci", true}, {"R", true}, {"RAD", true},
    {"REM", true}, {"cal", true}, {"cal_[15]", true}, {"cal_[20]", true}, {"cal_m", true},
    {"cal_IT", true}, {"cal_th", true}, {"tex", true}, {"m[H2O]", true}, {"m[Hg]", true},
    {"eq", true}, {"osm", true}, {"g%", true}, {"kat", true}, {"U", true}, {"[iU]", true},
    {"[IU]", true}, {"Np", true}, {"B", true}, {"B[SPL]", true}, {"B[V]", true},
    {"B[mV]", true}, {"B[uV]", true}, {"B[10.nV]", true}, {"B[W]", true}, {"B[kW]", true},
    {"st", true}, {"b", true}, {"mho", true}, {"bit", true}, {"By", true}, {"Bd", true},
    // Time and angle (non-metric).
    {"min", false}, {"h", false}, {"d", false}, {"a_t", false}, {"a_j", false},
    {"a_g", false}, {"a", false}, {"wk", false}, {"mo_s", false}, {"mo_j", false},
    {"mo_g", false}, {"mo", false}, {"gon", false}, {"deg", false}, {"'", false},
    {"''", false}, {"circ", false}, {"sph", false},
    // Customary lengths, areas, volumes and weights.
    {"[in_i]", false}, {"[ft_i]", false}, {"[yd_i]", false}, {"[mi_i]", false},
    {"[fth_i]", false}, {"[nmi_i]", false}, {"[kn_i]", false}, {"[sin_i]", false},
    {"[sft_i]", false}, {"[syd_i]", false}, {"[cin_i]", false}, {"[cft_i]", false},
    {"[cyd_i]", false}, {"[mil_i]", false}, {"[hd_i]", false}, {"[ft_us]", false},
    {"[yd_us]", false}, {"[in_us]", false}, {"[mi_us]", false}, {"[acr_us]", false},
    {"[in_br]", false}, {"[ft_br]", false}, {"[yd_br]", false}, {"[mi_br]", false},
    {"[gal_us]", false}, {"[bbl_us]", false}, {"[qt_us]", false}, {"[pt_us]", false},
    {"[gil_us]", false}, {"[foz_us]", false}, {"[fdr_us]", false}, {"[min_us]", false},
    {"[tbs_us]", false}, {"[tsp_us]", false}, {"[cup_us]", false}, {"[foz_m]", false},
    {"[cup_m]", false}, {"[tsp_m]", false}, {"[tbs_m]", false}, {"[gal_br]", false},
    {"[qt_br]", false}, {"[pt_br]", false}, {"[gil_br]", false}, {"[foz_br]", false},
    {"[gr]", false}, {"[lb_av]", false}, {"[oz_av]", false}, {"[dr_av]", false},
    {"[scwt_av]", false}, {"[lcwt_av]", false}, {"[ston_av]", false}, {"[lton_av]", false},
    {"[stone_av]", false}, {"[lbf_av]", false}, {"[pwt_tr]", false}, {"[oz_tr]", false},
    {"[lb_tr]", false}, {"[sc_ap]", false}, {"[dr_ap]", false}, {"[oz_ap]", false},
    {"[lb_ap]", false}, {"[oz_m]", false}, {"[car_m]", false}, {"[car_Au]", false},
    {"[acr_br]", false}, {"[bf_i]", false}, {"[bu_br]", false}, {"[bu_us]", false},
    {"[ch_br]", false}, {"[ch_us]", false}, {"[cml_i]", false}, {"[cr_i]", false},
    {"[crd_us]", false}, {"[dpt_us]", false}, {"[dqt_us]", false}, {"[fdr_br]", false},
    {"[fth_br]", false}, {"[fth_us]", false}, {"[fur_us]", false}, {"[gal_wi]", false},
    {"[kn_br]", false}, {"[lk_br]", false}, {"[lk_us]", false}, {"[mil_us]", false},
    {"[min_br]", false}, {"[nmi_br]", false}, {"[pc_br]", false}, {"[pk_br]", false},
    {"[pk_us]", false}, {"[rch_us]", false}, {"[rd_br]", false}, {"[rd_us]", false},
    {"[rlk_us]", false}, {"[sct]", false}, {"[smi_us]", false}, {"[srd_us]", false},
    {"[twp]", false}, {"[smoot]", false},
    // Typesetting.
    {"[lne]", false}, {"[pnt]", false}, {"[pca]", false}, {"[pnt_pr]", false},
    {"[pca_pr]", false}, {"[pied]", false}, {"[pouce]", false}, {"[ligne]", false},
    {"[didot]", false}, {"[cicero]", false},
    // Pressure, heat, power.
    {"atm", false}, {"att", false}, {"[psi]", false}, {"[in_i'H2O]", false},
    {"[in_i'Hg]", false}, {"[degF]", false}, {"[degR]", false}, {"[degRe]", false},
    {"[Cal]", false}, {"[Btu]", false}, {"[Btu_IT]", false}, {"[Btu_th]", false},
    {"[Btu_39]", false}, {"[Btu_59]", false}, {"[Btu_60]", false}, {"[Btu_m]", false},
    {"[HP]", false}, {"Ao", false}, {"AU", false}, {"[den]", false},
    // Clinical and biochemical.
    {"[PRU]", false}, {"[wood'U]", false}, {"[diop]", false}, {"[p'diop]", false},
    {"%[slope]", false}, {"[mesh_i]", false}, {"[Ch]", false}, {"[drp]", false},
    {"[hnsf'U]", false}, {"[MET]", false}, {"[hp'_X]", false}, {"[hp'_C]", false},
    {"[hp'_M]", false}, {"[hp'_Q]", false}, {"[hp_X]", false}, {"[hp_C]", false},
    {"[hp_M]", false}, {"[hp_Q]", false}, {"[kp_X]", false}, {"[kp_C]", false},
    {"[kp_M]", false}, {"[kp_Q]", false}, {"[pH]", false}, {"[S]", false}, {"[HPF]", false},
    {"[LPF]", false}, {"[arb'U]", false}, {"[USP'U]", false}, {"[GPL'U]", false},
    {"[MPL'U]", false}, {"[APL'U]", false}, {"[beth'U]", false}, {"[anti'Xa'U]", false},
    {"[todd'U]", false}, {"[dye'U]", false}, {"[smgy'U]", false}, {"[bdsk'U]", false},
    {"[ka'U]", false}, {"[knk'U]", false}, {"[mclg'U]", false}, {"[tb'U]", false},
    {"[CCID_50]", false}, {"[TCID_50]", false}, {"[EID_50]", false}, {"[PFU]", false},
    {"[FFU]", false}, {"[CFU]", false}, {"[IR]", false}, {"[BAU]", false}, {"[AU]", false},
    {"[Amb'a'1'U]", false}, {"[PNU]", false}, {"[Lf]", false}, {"[D'ag'U]", false},
    {"[FEU]", false}, {"[ELU]", false}, {"[EU]", false}, {"bit_s", false},
};

// Two-letter prefixes first, so "da" is tried before "d".
constexpr std::string_view kPrefixes[] = {"da", "Ki", "Mi", "Gi", "Ti", "Y", "Z", "E",
                                          "P",  "T",  "G",  "M",  "k",  "h", "d", "c",
                                          "m",  "u",  "n",  "p",  "f",  "a", "z", "y"};

// Spellings seen in hospital data that UCUM writes differently.
constexpr std::pair<std::string_view, std::string_view> kHints[] = {
    {"mmHg", "mm[Hg]"}, {"cmH2O", "cm[H2O]"}, {"IU", "[IU]"},  {"iu", "[IU]"},
    {"mIU", "m[IU]"},   {"uIU", "u[IU]"},     {"mEq", "meq"},  {"Eq", "eq"},
    {"mcg", "ug"},      {"cc", "mL"},         {"degC", "Cel"}, {"degF", "[degF]"},
    {"in", "[in_i]"},   {"ft", "[ft_i]"},     {"lb", "[lb_av]"}, {"lbs", "[lb_av]"},
    {"oz", "[oz_av]"},  {"hr", "h"},          {"hrs", "h"},    {"sec", "s"},
    {"yr", "a"},        {"yrs", "a"},         {"day", "d"},    {"days", "d"},
    {"bpm", "/min"},    {"mOsm", "mosm"},     {"deg C", "Cel"}, {"deg F", "[degF]"},
};

// clang-format on

constexpr int kMaxDepth = 16;

const Atom* find_atom(std::string_view symbol) {
  static const auto sorted = [] {
    std::array<Atom, std::size(kAtoms)> a{};
    std::copy(std::begin(kAtoms), std::end(kAtoms), a.begin());
    std::sort(a.begin(), a.end(), [](const Atom& x, const Atom& y) { return x.symbol < y.symbol; });
    return a;
  }();
  auto it = std::lower_bound(sorted.begin(), sorted.end(), symbol,
                             [](const Atom& a, std::string_view s) { return a.symbol < s; });
  return (it != sorted.end() && it->symbol == symbol) ? &*it : nullptr;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

class UcumParser {
 public:
  explicit UcumParser(std::string_view code) : s_(code) {}

  std::string run() {
    if (s_.empty()) return "empty unit code";
    if (s_[0] == '/') ++i_;
    if (at_end()) return "nothing after the leading '/'";
    if (term(0)) {
      if (at_end()) return {};
      unexpected();
    }
    // A known misspelling of the whole code gets its hint even when the error is elsewhere.
    if (error_.find("did you mean") == std::string::npos)
      for (const auto& [wrong, right] : kHints)
        if (wrong == s_) error_ += " (did you mean " + std::string(right) + "?)";
    return std::move(error_);
  }

 private:
  bool at_end() const { return i_ >= s_.size(); }
  std::string pos(std::size_t i) const { return " at position " + std::to_string(i + 1); }
  bool fail(std::string message) {
    error_ = std::move(message);
    return false;
  }

  // A character that cannot follow a complete component.
  bool unexpected() {
    const char c = s_[i_];
    if (c == ')') return fail("unmatched ')'" + pos(i_));
    if (c == '^' || c == '*')
      return fail(quoted(std::string_view(&s_[i_], 1)) + pos(i_) +
                  " is not UCUM syntax: write the exponent as digits right after the unit "
                  "(m2, s-1) and powers of ten as 10*3");
    if (c == ' ') return fail("space" + pos(i_) + " (UCUM codes contain no spaces)");
    if (static_cast<unsigned char>(c) >= 0x80)
      return fail("non-ASCII character" + pos(i_) + " (UCUM is plain ASCII: 'u' for micro)");
    if (is_digit(c) || c == '+' || c == '-')
      return fail("exponent" + pos(i_) + " can only follow a unit atom, not a number, ')' or '}'");
    return fail("unexpected " + quoted(std::string_view(&s_[i_], 1)) + pos(i_) +
                " (components are joined with '.' or '/')");
  }

  bool term(int depth) {
    if (!component(depth)) return false;
    while (!at_end() && (s_[i_] == '.' || s_[i_] == '/')) {
      const std::size_t op = i_++;
      if (at_end()) return fail("missing unit after " + quoted(s_.substr(op, 1)) + " at the end");
      if (s_[i_] == '.' || s_[i_] == '/' || s_[i_] == ')')
        return fail("missing unit between " + quoted(s_.substr(op, 1)) + " and " +
                    quoted(s_.substr(i_, 1)) + pos(op));
      if (!component(depth)) return false;
    }
    return true;
  }

  bool component(int depth) {
    const char c = s_[i_];
    if (c == '(') {
      if (depth >= kMaxDepth) return fail("parentheses nested too deeply" + pos(i_));
      const std::size_t open = i_++;
      if (at_end()) return fail("missing ')' for the '('" + pos(open));
      if (s_[i_] == ')') return fail("empty parentheses" + pos(open));
      if (!term(depth + 1)) return false;
      if (at_end() || s_[i_] != ')') {
        if (!at_end() && s_[i_] != ')') return unexpected();
        return fail("missing ')' for the '('" + pos(open));
      }
      ++i_;
      return at_end() || s_[i_] != '{' || annotation();
    }
    if (c == '{') return annotation();
    if (c == '.' || c == '/')
      return fail("missing unit before " + quoted(s_.substr(i_, 1)) + pos(i_));
    if (c == ')') return fail("missing unit before ')'" + pos(i_));
    if (is_digit(c) && s_.substr(i_, 3) != "10*" && s_.substr(i_, 3) != "10^") {
      const std::size_t start = i_;
      while (!at_end() && is_digit(s_[i_])) ++i_;
      if (!at_end() && s_[i_] == '{') return annotation();
      if (!at_end() && s_[i_] != '.' && s_[i_] != '/' && s_[i_] != ')') {
        if (s_[i_] == '*' || s_[i_] == '^' || s_[i_] == ' ' || s_[i_] == '+' || s_[i_] == '-')
          return unexpected();
        return fail("number " + quoted(s_.substr(start, i_ - start)) + pos(start) +
                    " must be joined to the unit after it with '.'");
      }
      return true;
    }
    if (!simple_unit()) return false;
    if (!at_end() && s_[i_] == '{') return annotation();
    return true;
  }

  bool simple_unit() {
    const std::size_t start = i_;
    std::string_view symbol;
    if (s_.substr(i_, 3) == "10*" || s_.substr(i_, 3) == "10^") {
      i_ += 3;
      symbol = s_.substr(start, 3);
      if (at_end() || !(is_digit(s_[i_]) || s_[i_] == '+' || s_[i_] == '-'))
        return fail(quoted(symbol) + pos(start) +
                    " needs an exponent (e.g. 10*3); a bare power of ten is taken as truncated");
    } else {
      while (!at_end()) {
        const char c = s_[i_];
        if (c == '[') {
          const std::size_t close = s_.find(']', i_);
          if (close == std::string_view::npos) return fail("missing ']' for the '['" + pos(i_));
          i_ = close + 1;
          continue;
        }
        if (c == '.' || c == '/' || c == '(' || c == ')' || c == '{' || c == '}' || c == '+' ||
            c == '-' || is_digit(c))
          break;
        if (c == ']') return fail("unmatched ']'" + pos(i_));
        if (c == '^' || c == '*' || c == ' ' || static_cast<unsigned char>(c) >= 0x80 ||
            static_cast<unsigned char>(c) < 0x20)
          return unexpected();
        ++i_;
      }
      symbol = s_.substr(start, i_ - start);
      if (symbol.empty()) return unexpected();
      if (!known_unit(symbol, start)) return false;
    }
    // Exponent: optional sign, then digits.
    if (!at_end() && (s_[i_] == '+' || s_[i_] == '-')) {
      ++i_;
      if (at_end() || !is_digit(s_[i_])) return fail("sign without exponent digits" + pos(i_ - 1));
    }
    while (!at_end() && is_digit(s_[i_])) ++i_;
    return true;
  }

  // `symbol` is an atom, or a prefix followed by a metric atom.
  bool known_unit(std::string_view symbol, std::size_t start) {
    if (find_atom(symbol)) return true;
    std::string_view non_metric_prefix;
    for (std::string_view prefix : kPrefixes) {
      if (symbol.size() <= prefix.size() || symbol.substr(0, prefix.size()) != prefix) continue;
      const Atom* atom = find_atom(symbol.substr(prefix.size()));
      if (atom && atom->metric) return true;
      if (atom && non_metric_prefix.empty()) non_metric_prefix = prefix;
    }
    if (!non_metric_prefix.empty())
      return fail("unit " + quoted(symbol) + pos(start) + ": prefix " + quoted(non_metric_prefix) +
                  " on " + quoted(symbol.substr(non_metric_prefix.size())) +
                  ", but prefixes only go with metric units");
    std::string message = "unknown unit " + quoted(symbol) + pos(start);
    for (const auto& [wrong, right] : kHints)
      if (wrong == symbol) message += " (did you mean " + std::string(right) + "?)";
    return fail(std::move(message));
  }

  bool annotation() {
    const std::size_t open = i_++;
    while (!at_end() && s_[i_] != '}') {
      const auto c = static_cast<unsigned char>(s_[i_]);
      if (c == '{') return fail("'{' inside the annotation that starts" + pos(open));
      if (c < 33 || c > 126)
        return fail(std::string(c == ' ' ? "space" : "character") + pos(i_) +
                    " inside an annotation (UCUM allows ASCII 33-126 there; use '_' for spaces)");
      ++i_;
    }
    if (at_end()) return fail("missing '}' for the '{'" + pos(open));
    ++i_;
    return true;
  }

  std::string_view s_;
  std::size_t i_ = 0;
  std::string error_;
};

}  // namespace

std::string ucum_syntax_error(std::string_view code) { return UcumParser(code).run(); }

}  // namespace phrgate::mapping
