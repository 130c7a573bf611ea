# The operator dashboard (GET /, /dashboard/...): static_files.cpp and the files of this
# folder embedded at build time, added to phrgate_http. Included from gateway/admin/CMakeLists.txt.
set(dashboard_dir ${CMAKE_CURRENT_LIST_DIR})
set(embedded_dashboard_cpp ${CMAKE_CURRENT_BINARY_DIR}/embedded_dashboard.cpp)
add_custom_command(OUTPUT ${embedded_dashboard_cpp}
  COMMAND ${CMAKE_COMMAND} -DDASHBOARD_DIR=${dashboard_dir} -DOUTPUT=${embedded_dashboard_cpp}
          -P ${dashboard_dir}/embed_dashboard.cmake
  DEPENDS ${dashboard_dir}/index.html ${dashboard_dir}/dashboard.css ${dashboard_dir}/dashboard.js
          ${dashboard_dir}/embed_dashboard.cmake
  COMMENT "Embedding the dashboard")
target_sources(phrgate_http PRIVATE ${CMAKE_CURRENT_LIST_DIR}/../static_files.cpp ${embedded_dashboard_cpp})
