# Generates embedded_schemas.cpp: every JSON Schema under schemas/ compiled into the binary,
# so `phrgate check-config` validates with exactly the schemas shipped in the repository.
# Run as a script: cmake -DSCHEMA_DIR=... -DOUTPUT=... -P embed_schemas.cmake
file(GLOB_RECURSE schema_files RELATIVE ${SCHEMA_DIR} ${SCHEMA_DIR}/*.schema.json)
list(SORT schema_files)
set(body "// Generated from schemas/ by gateway/core/embed_schemas.cmake. Do not edit.\n#include \"gateway/core/config.h\"\nnamespace phrgate::config {\nconst std::vector<EmbeddedFile>& embedded_schema_files() {\n  static const std::vector<EmbeddedFile> files = {\n")
foreach(f ${schema_files})
  file(READ ${SCHEMA_DIR}/${f} content)
  string(APPEND body "    {\"${f}\", R\"phrgate_schema(${content})phrgate_schema\"},\n")
endforeach()
string(APPEND body "  };\n  return files;\n}\n}  // namespace phrgate::config\n")
file(WRITE ${OUTPUT}.tmp "${body}")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different ${OUTPUT}.tmp ${OUTPUT})
