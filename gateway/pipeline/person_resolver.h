// PersonResolver: the pipeline's hook for patient identity. After a message is converted and
// before any sink sees it, the resolver decides which PHR person the record belongs to and
// rewrites the message to that person (person_id, the Patient's id and every reference to it),
// or holds it for an operator's review. The daemon installs the identity index's resolver
// (gateway/identity/identity_linker.h); without one a record's person is its source Patient.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "gateway/pipeline/converter.h"

namespace phrgate::pipeline {

struct PersonDecision {
  enum class Kind { Proceed, Hold } kind = Kind::Proceed;
  std::string reason;     // for Hold: operator-readable, no PHI ("held for identity review 12")
  int64_t review_id = 0;  // for Hold: the review item that releases it
};

class PersonResolver {
 public:
  virtual ~PersonResolver() = default;
  // Called on the pipeline's thread (or an operator's replay) for each converted message of
  // inbox row `inbox_id`, whose type is `message_type` ("ADT^A08", "CCDA^34133-9", ...).
  // May rewrite `message`. Throws on a storage failure (the row is retried later).
  virtual PersonDecision resolve(ConvertedMessage& message, int64_t inbox_id, std::string_view message_type) = 0;
};

}  // namespace phrgate::pipeline
