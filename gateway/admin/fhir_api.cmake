# phrgate_fhir_api: the FHIR read API handlers (fhir_read_api.h) over the PHR store. Plain
# handlers on http_types.h, no Beast/Asio. Included from gateway/admin/CMakeLists.txt with
#   include(${CMAKE_CURRENT_LIST_DIR}/fhir_api.cmake)
# (the include guard makes a second include, e.g. from the tests, a no-op).
include_guard(GLOBAL)

add_library(phrgate_fhir_api STATIC
  ${CMAKE_CURRENT_LIST_DIR}/fhir_read_api.cpp
  ${CMAKE_CURRENT_LIST_DIR}/fhir_api_json.cpp
  ${CMAKE_CURRENT_LIST_DIR}/duplicate_facts.cpp)
target_link_libraries(phrgate_fhir_api PUBLIC phrgate_store phrgate_core PRIVATE phrgate_warnings)
