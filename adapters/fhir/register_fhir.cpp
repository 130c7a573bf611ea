// The FHIR adapter's registration (see register_fhir.h).
#include "adapters/fhir/register_fhir.h"

#include "adapters/fhir/fhir_poll_source.h"
#include "adapters/fhir/fhir_to_phr.h"

namespace phrgate::fhir {

void register_fhir(pipeline::Registry& registry) {
  registry.add_source({"fhir_poll", [](const config::AdapterConfig& cfg, pipeline::SourceDeps& deps) {
                         return make_fhir_poll_source(cfg, deps);
                       }});
  registry.add_converter({std::string(kFhirContentType), sniff_fhir_json,
                          [](const pipeline::ConvertInput& in) { return convert_fhir(in); }});
}

}  // namespace phrgate::fhir
