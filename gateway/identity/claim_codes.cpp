// ClaimCodeBook (see claim_codes.h): code generation (OpenSSL RAND_bytes, Crockford base32),
// the SQLite store of salted code hashes, the per-person_id throttle of wrong codes (kept in
// the same file, so a restart does not reset it) and the link through the PersonIndex's
// public API. Never logs or returns a code after issue(), an identifier or a person id.
#include "gateway/identity/claim_codes.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <mutex>
#include <stdexcept>

#include "gateway/core/log.h"
#include "gateway/core/resource_id.h"
#include "gateway/core/sqlite_db.h"

namespace phrgate::identity {
namespace {

constexpr std::string_view kAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";  // Crockford base32
constexpr std::size_t kCodeLength = 10;                                     // 50 bits

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS claims(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  code_hash TEXT NOT NULL UNIQUE,
  system TEXT NOT NULL,
  value TEXT NOT NULL,
  issued_by TEXT NOT NULL,
  issued_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL,
  state TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'redeemed', 'revoked')),
  closed_by TEXT NOT NULL DEFAULT '',
  closed_ms INTEGER NOT NULL DEFAULT 0,
  person_id TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS claims_active_ident ON claims(system, value) WHERE state = 'active';
CREATE TABLE IF NOT EXISTS claim_failures(person_key TEXT NOT NULL, at_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS claim_failures_key ON claim_failures(person_key, at_ms);
CREATE INDEX IF NOT EXISTS claim_failures_at ON claim_failures(at_ms);
)sql";

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1)
    throw std::runtime_error("RAND_bytes failed");
  return out;
}

std::string to_hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

// 10 symbols; each from one random byte's low 5 bits (256 is a multiple of 32: uniform).
std::string new_code() {
  const std::string bytes = random_bytes(kCodeLength);
  std::string code;
  for (unsigned char b : bytes) code.push_back(kAlphabet[b & 31]);
  return code;
}

std::string display_form(const std::string& code) { return code.substr(0, 5) + "-" + code.substr(5); }

std::string text(const sqlite::Stmt& s, int col) { return std::string(s.column_text(col)); }

// The person `person_id` ends at after merges; nullopt when unknown.
std::optional<std::string> surviving_person(PersonIndex& index, const std::string& person_id) {
  std::string current = person_id;
  for (int hops = 0; hops < 64; ++hops) {
    const auto view = index.person(current);
    if (!view) return std::nullopt;
    if (view->merged_into.empty()) return view->person_id;
    current = view->merged_into;
  }
  return std::nullopt;  // a merge cycle cannot happen; treat as unknown
}

}  // namespace

const char* to_string(ClaimState state) {
  switch (state) {
    case ClaimState::Active: return "active";
    case ClaimState::Expired: return "expired";
    case ClaimState::Redeemed: return "redeemed";
    case ClaimState::Revoked: return "revoked";
  }
  return "active";
}

std::optional<ClaimState> parse_claim_state(std::string_view t) {
  for (ClaimState s : {ClaimState::Active, ClaimState::Expired, ClaimState::Redeemed, ClaimState::Revoked})
    if (t == to_string(s)) return s;
  return std::nullopt;
}

std::optional<std::string> normalize_claim_code(std::string_view typed) {
  std::string out;
  for (char raw : typed) {
    if (raw == '-' || raw == ' ') continue;
    char c = static_cast<char>(std::toupper(static_cast<unsigned char>(raw)));
    if (c == 'O') c = '0';
    if (c == 'I' || c == 'L') c = '1';
    if (kAlphabet.find(c) == std::string_view::npos || out.size() == kCodeLength) return std::nullopt;
    out.push_back(c);
  }
  if (out.size() != kCodeLength) return std::nullopt;
  return out;
}

struct ClaimCodeBook::Impl {
  explicit Impl(ClaimCodeBookOptions o) : options(std::move(o)), db(options.path) {
    db.exec(kSchema);
    sqlite::Stmt get(db, "SELECT value FROM meta WHERE key = 'code_salt'");
    if (get.step()) {
      salt = text(get, 0);
    } else {
      salt = to_hex(random_bytes(16));
      sqlite::Stmt put(db, "INSERT INTO meta(key, value) VALUES ('code_salt', ?)");
      put.bind(1, salt).run();
    }
  }

  int64_t now() const {
    if (options.now_ms) return options.now_ms();
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  std::string code_hash(const std::string& normalized) const { return sha256_hex(salt + ":code:" + normalized); }
  std::string person_key(const std::string& person_id) const { return sha256_hex(salt + ":person:" + person_id); }
  int64_t window_ms() const { return std::chrono::duration_cast<std::chrono::milliseconds>(options.failure_window).count(); }

  // Counted wrong codes for `key` within the window, and the oldest of them.
  std::pair<int64_t, int64_t> failures(const std::string& key, int64_t now_ms) {
    sqlite::Stmt q(db, "SELECT COUNT(*), MIN(at_ms) FROM claim_failures WHERE person_key = ? AND at_ms > ?");
    q.bind(1, key).bind(2, now_ms - window_ms());
    if (!q.step()) return {0, 0};
    return {q.column_int(0), q.column_is_null(1) ? 0 : q.column_int(1)};
  }
  void record_failure(const std::string& key, int64_t now_ms) {
    sqlite::Transaction tx(db);
    sqlite::Stmt prune(db, "DELETE FROM claim_failures WHERE at_ms <= ?");
    prune.bind(1, now_ms - window_ms()).run();
    sqlite::Stmt add(db, "INSERT INTO claim_failures(person_key, at_ms) VALUES (?, ?)");
    add.bind(1, key).bind(2, now_ms).run();
    tx.commit();
  }

  ClaimInfo row_to_info(const sqlite::Stmt& q, int64_t now_ms) const {
    ClaimInfo c;
    c.id = q.column_int(0);
    c.identifier = {text(q, 1), text(q, 2)};
    c.issued_by = text(q, 3);
    c.issued_ms = q.column_int(4);
    c.expires_ms = q.column_int(5);
    const std::string state = text(q, 6);
    c.closed_by = text(q, 7);
    c.closed_ms = q.column_int(8);
    c.person_id = text(q, 9);
    if (state == "redeemed") c.state = ClaimState::Redeemed;
    else if (state == "revoked") c.state = ClaimState::Revoked;
    else c.state = c.expires_ms <= now_ms ? ClaimState::Expired : ClaimState::Active;
    return c;
  }

  ClaimCodeBookOptions options;
  std::mutex mu;
  sqlite::Db db;
  std::string salt;  // per file: a leaked file cannot be matched against precomputed hashes
};

ClaimCodeBook::ClaimCodeBook(ClaimCodeBookOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
ClaimCodeBook::~ClaimCodeBook() = default;

const ClaimCodeBookOptions& ClaimCodeBook::options() const { return impl_->options; }

IssuedClaim ClaimCodeBook::issue(PersonIndex& index, const SourceIdentifier& id, const std::string& actor) {
  Impl& m = *impl_;
  std::lock_guard lock(m.mu);
  IssuedClaim out;
  if (id.system.empty() || id.value.empty() || (!index.person_of(id) && !index.open_review_of(id))) {
    out.status = IssuedClaim::Status::UnknownIdentifier;
    return out;
  }
  const int64_t now = m.now();
  out.expires_ms = now + std::chrono::duration_cast<std::chrono::milliseconds>(m.options.code_lifetime).count();
  sqlite::Transaction tx(m.db);
  sqlite::Stmt revoke(m.db, "UPDATE claims SET state = 'revoked', closed_by = 'reissued', closed_ms = ? "
                            "WHERE system = ? AND value = ? AND state = 'active'");
  revoke.bind(1, now).bind(2, id.system).bind(3, id.value).run();
  out.replaced = m.db.changes();
  sqlite::Stmt insert(m.db, "INSERT OR IGNORE INTO claims(code_hash, system, value, issued_by, issued_ms, expires_ms) "
                            "VALUES (?, ?, ?, ?, ?, ?)");
  for (int attempt = 0; out.code.empty(); ++attempt) {
    if (attempt == 8) throw std::runtime_error("could not draw an unused claim code");  // 2^50 codes: never
    const std::string code = new_code();
    insert.bind(1, m.code_hash(code)).bind(2, id.system).bind(3, id.value).bind(4, actor).bind(5, now);
    insert.bind(6, out.expires_ms).run();
    if (m.db.changes() == 1) out.code = code;
  }
  out.id = m.db.last_insert_rowid();
  tx.commit();
  log::info("identity.claim_issued", {{"claim_id", std::to_string(out.id)}, {"actor", actor},
                                      {"replaced", std::to_string(out.replaced)}});
  out.code = display_form(out.code);
  return out;
}

ClaimRedemption ClaimCodeBook::redeem(PersonIndex& index, std::string_view code, const std::string& person_id) {
  Impl& m = *impl_;
  std::lock_guard lock(m.mu);
  ClaimRedemption out;
  const int64_t now = m.now();
  const auto target = surviving_person(index, person_id);
  if (!target) {
    out.status = ClaimRedemption::Status::UnknownPerson;
    return out;
  }
  const std::string key = m.person_key(person_id);
  const auto [failed, oldest] = m.failures(key, now);
  if (failed >= m.options.max_failures) {
    out.status = ClaimRedemption::Status::Throttled;
    out.retry_after_s = std::max<int64_t>(1, (oldest + m.window_ms() - now + 999) / 1000);
    log::warn("identity.claim_throttled", {{"failures", std::to_string(failed)}});
    return out;
  }
  const auto normalized = normalize_claim_code(code);
  std::optional<int64_t> claim_id;
  if (normalized) {
    sqlite::Stmt q(m.db, "SELECT id, system, value FROM claims WHERE code_hash = ? AND state = 'active' AND expires_ms > ?");
    q.bind(1, m.code_hash(*normalized)).bind(2, now);
    if (q.step()) {
      claim_id = q.column_int(0);
      out.identifier = {text(q, 1), text(q, 2)};
    }
  }
  if (!claim_id) {
    m.record_failure(key, now);
    log::info("identity.claim_refused", {{"failures", std::to_string(failed + 1)}});
    return out;  // Refused
  }
  out.claim_id = *claim_id;
  out.actor = "claim:" + std::to_string(*claim_id);
  out.person_id = *target;

  // Two tries: the pipeline or an operator may decide or move the identifier in between.
  out.status = ClaimRedemption::Status::Conflict;
  for (int attempt = 0; attempt < 2 && out.status == ClaimRedemption::Status::Conflict; ++attempt) {
    ActionResult r;
    if (const auto current = index.person_of(out.identifier)) {
      if (*current == *target) {
        out.status = ClaimRedemption::Status::Unchanged;
        break;
      }
      r = index.unlink(out.identifier, out.actor, *target);
      out.action = "unlink";
      out.from_person = *current;
      out.review_id = 0;
    } else if (const auto review = index.open_review_of(out.identifier)) {
      r = index.link(*review, *target, out.actor);
      out.action = "link";
      out.review_id = *review;
      out.from_person.clear();
    } else {
      continue;  // neither linked nor held: a decision is being committed right now
    }
    if (r.status == ActionStatus::Ok) {
      out.status = ClaimRedemption::Status::Linked;
      out.person_id = r.person_id;
    } else if (r.status == ActionStatus::UnknownPerson) {
      out.status = ClaimRedemption::Status::UnknownPerson;
    }
  }
  if (out.status != ClaimRedemption::Status::Linked) {
    out.action.clear();
    out.review_id = 0;
    out.from_person.clear();
  }
  if (out.status != ClaimRedemption::Status::Linked && out.status != ClaimRedemption::Status::Unchanged) {
    log::warn("identity.claim_not_applied", {{"claim_id", std::to_string(out.claim_id)}});
    return out;
  }
  sqlite::Transaction tx(m.db);
  sqlite::Stmt done(m.db, "UPDATE claims SET state = 'redeemed', closed_by = ?, closed_ms = ?, person_id = ? "
                          "WHERE id = ? AND state = 'active'");
  done.bind(1, out.actor).bind(2, now).bind(3, out.person_id).bind(4, out.claim_id).run();
  sqlite::Stmt clear(m.db, "DELETE FROM claim_failures WHERE person_key = ?");
  clear.bind(1, key).run();
  tx.commit();
  log::info("identity.claim_redeemed", {{"claim_id", std::to_string(out.claim_id)},
                                        {"action", out.action.empty() ? std::string("none") : out.action}});
  return out;
}

RevokeStatus ClaimCodeBook::revoke(int64_t claim_id, const std::string& actor) {
  Impl& m = *impl_;
  std::lock_guard lock(m.mu);
  sqlite::Stmt u(m.db, "UPDATE claims SET state = 'revoked', closed_by = ?, closed_ms = ? WHERE id = ? AND state = 'active'");
  u.bind(1, actor).bind(2, m.now()).bind(3, claim_id).run();
  if (m.db.changes() == 1) {
    log::info("identity.claim_revoked", {{"claim_id", std::to_string(claim_id)}, {"actor", actor}});
    return RevokeStatus::Ok;
  }
  sqlite::Stmt q(m.db, "SELECT 1 FROM claims WHERE id = ?");
  q.bind(1, claim_id);
  return q.step() ? RevokeStatus::NotActive : RevokeStatus::NotFound;
}

namespace {
constexpr const char* kClaimColumns =
    "SELECT id, system, value, issued_by, issued_ms, expires_ms, state, closed_by, closed_ms, person_id FROM claims ";

// WHERE clause for a listed state; `?1` is now.
std::string state_filter(std::optional<ClaimState> state) {
  if (!state) return "WHERE ?1 IS NOT NULL ";
  switch (*state) {
    case ClaimState::Active: return "WHERE state = 'active' AND expires_ms > ?1 ";
    case ClaimState::Expired: return "WHERE state = 'active' AND expires_ms <= ?1 ";
    case ClaimState::Redeemed: return "WHERE state = 'redeemed' AND ?1 IS NOT NULL ";
    case ClaimState::Revoked: return "WHERE state = 'revoked' AND ?1 IS NOT NULL ";
  }
  return "WHERE ?1 IS NOT NULL ";
}
}  // namespace

ClaimPage ClaimCodeBook::list(std::optional<ClaimState> state, int64_t offset, int64_t count) {
  Impl& m = *impl_;
  std::lock_guard lock(m.mu);
  const int64_t now = m.now();
  const std::string where = state_filter(state);
  ClaimPage page;
  sqlite::Stmt total(m.db, ("SELECT COUNT(*) FROM claims " + where).c_str());
  total.bind(1, now);
  if (total.step()) page.total = total.column_int(0);
  sqlite::Stmt q(m.db, (kClaimColumns + where + "ORDER BY id DESC LIMIT ?2 OFFSET ?3").c_str());
  q.bind(1, now).bind(2, count).bind(3, offset);
  while (q.step()) page.items.push_back(m.row_to_info(q, now));
  return page;
}

std::optional<ClaimInfo> ClaimCodeBook::get(int64_t claim_id) {
  Impl& m = *impl_;
  std::lock_guard lock(m.mu);
  sqlite::Stmt q(m.db, (std::string(kClaimColumns) + "WHERE id = ?").c_str());
  q.bind(1, claim_id);
  if (!q.step()) return std::nullopt;
  return m.row_to_info(q, m.now());
}

}  // namespace phrgate::identity
