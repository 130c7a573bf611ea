// The one list of adapters compiled into phrgate (CONVENTIONS: explicit registration,
// no self-registering static objects). Add a new adapter's register_...() call here.
#include "adapters/hl7v2/register_hl7v2.h"
#include "adapters/phr_store/phr_store_sink.h"
#include "gateway/pipeline/registry.h"

namespace phrgate::pipeline {

void register_builtin_adapters(Registry& registry) {
  hl7v2::register_hl7v2(registry);
  phr_store::register_phr_store(registry);
}

}  // namespace phrgate::pipeline
