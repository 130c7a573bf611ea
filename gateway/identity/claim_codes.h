// ClaimCodeBook: one-time codes with which a patient claims a source identifier through their
// PHR. An operator issues a code for an identifier the person index knows; the PHR backend
// redeems it for the patient's person and the identifier is linked there (PersonIndex::link or
// unlink). Backed by its own SQLite file (e.g. <data_dir>/identity-claims.db); claim_routes.h
// is its HTTP face. Only a salted SHA-256 of each code is stored; the code itself exists once,
// in issue()'s result. It never logs codes, identifiers or person ids.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/identity/person_index.h"

namespace phrgate::identity {

// Expired is derived: an active code whose expiry has passed.
enum class ClaimState { Active, Expired, Redeemed, Revoked };
const char* to_string(ClaimState state);
std::optional<ClaimState> parse_claim_state(std::string_view text);

struct ClaimInfo {
  int64_t id = 0;
  SourceIdentifier identifier;
  ClaimState state = ClaimState::Active;
  std::string issued_by;
  int64_t issued_ms = 0;
  int64_t expires_ms = 0;
  std::string closed_by;  // redeemed: "claim:<id>"; revoked: the operator, or "reissued"
  int64_t closed_ms = 0;  // 0 while active or expired
  std::string person_id;  // redeemed: the person the identifier was linked to
};

struct ClaimPage {
  std::vector<ClaimInfo> items;  // newest first
  int64_t total = 0;             // rows in the chosen state
};

struct IssuedClaim {
  enum class Status { Ok, UnknownIdentifier };
  Status status = Status::Ok;
  int64_t id = 0;
  std::string code;  // shown once, e.g. "7K3QD-M9XWA"; never stored
  int64_t expires_ms = 0;
  int replaced = 0;  // earlier active codes of the identifier revoked by this one
};

struct ClaimRedemption {
  enum class Status {
    Linked,         // the identifier moved to the person (see action)
    Unchanged,      // it already belonged to the person; the code is used up all the same
    Refused,        // wrong, expired, revoked or used code: indistinguishable on purpose
    Throttled,      // too many wrong codes for this person_id lately
    UnknownPerson,  // no such person in the index (checked before the code)
    Conflict,       // the index changed under us twice in a row; the code stays valid
  };
  Status status = Status::Refused;
  int64_t claim_id = 0;
  std::string actor;      // "claim:<claim id>"
  std::string person_id;  // the (surviving) person the identifier now belongs to
  // For the IdentityDecisionHook when Linked: "link" (a held record was decided, review_id
  // set) or "unlink" (moved from from_person).
  std::string action;
  int64_t review_id = 0;
  std::string from_person;
  SourceIdentifier identifier;
  int64_t retry_after_s = 0;  // Throttled: when the oldest counted failure leaves the window
};

enum class RevokeStatus { Ok, NotFound, NotActive };

struct ClaimCodeBookOptions {
  std::string path;  // SQLite file, created when missing
  std::chrono::seconds code_lifetime = std::chrono::hours(72);
  int max_failures = 5;  // wrong codes per person_id within failure_window before 429
  std::chrono::seconds failure_window = std::chrono::minutes(15);
  std::function<int64_t()> now_ms;  // wall clock (ms since epoch); empty: system_clock
};

// Canonical form of a typed code (Crockford base32: case-insensitive, hyphens and spaces
// ignored, O read as 0, I and L as 1); nullopt unless exactly 10 valid characters remain.
std::optional<std::string> normalize_claim_code(std::string_view typed);

// Thread-safe: every call takes one internal mutex. Lock order: this book, then the index.
class ClaimCodeBook {
 public:
  // Opens or creates the file; throws sqlite::SqliteError when it cannot.
  explicit ClaimCodeBook(ClaimCodeBookOptions options);
  ~ClaimCodeBook();
  ClaimCodeBook(const ClaimCodeBook&) = delete;
  ClaimCodeBook& operator=(const ClaimCodeBook&) = delete;

  // A new code for an identifier that is linked to a person or held for review; revokes the
  // identifier's earlier active codes. Throws std::runtime_error if no random bytes.
  IssuedClaim issue(PersonIndex& index, const SourceIdentifier& id, const std::string& actor);
  // Redeems `code` for `person_id`. Single use. Crash order: the index is changed first, then
  // the claim is marked redeemed; a crash in between leaves the code active and redeeming it
  // again finds the identifier already linked (Unchanged) and completes.
  ClaimRedemption redeem(PersonIndex& index, std::string_view code, const std::string& person_id);
  RevokeStatus revoke(int64_t claim_id, const std::string& actor);
  // `state` empty: every claim.
  ClaimPage list(std::optional<ClaimState> state, int64_t offset, int64_t count);
  std::optional<ClaimInfo> get(int64_t claim_id);

  const ClaimCodeBookOptions& options() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace phrgate::identity
