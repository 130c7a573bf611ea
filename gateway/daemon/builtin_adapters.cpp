// The one list of adapters compiled into phrgate (CONVENTIONS: explicit registration,
// no self-registering static objects). Add a new adapter's register_...() call here.
#include "adapters/ccda/ccda_folder_source.h"
#include "adapters/ccda/register_ccda.h"
#include "adapters/fhir/register_fhir.h"
#include "adapters/hl7v2/register_hl7v2.h"
#include "adapters/phr_fhir/phr_fhir_sink.h"
#include "adapters/phr_store/phr_store_sink.h"
#include "gateway/pipeline/registry.h"

namespace phrgate::pipeline {

void register_builtin_adapters(Registry& registry) {
  hl7v2::register_hl7v2(registry);
  fhir::register_fhir(registry);
  ccda::register_ccda(registry);
  ccda::register_ccda_folder_source(registry);
  phr_store::register_phr_store(registry);
  phr_fhir::register_phr_fhir(registry);
}

}  // namespace phrgate::pipeline
