// The C-CDA adapter's registration (see register_ccda.h).
#include "adapters/ccda/register_ccda.h"

#include "adapters/ccda/ccda_to_fhir.h"

namespace phrgate::ccda {

void register_ccda(pipeline::Registry& registry) {
  registry.add_converter({"application/cda+xml", looks_like_ccda, convert_ccda_payload});
}

}  // namespace phrgate::ccda
