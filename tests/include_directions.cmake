# Includes go one way (docs/architecture.md, "The rooms"): common/ includes only common/;
# the module's sources only their own headers, core/ and common/ (and nginx's <...>); the sidecar, its tools
# and its tests nothing of ngx_module/. Run by ctest: cmake -D REPO=<repo> -P <this file>.
set(failures "")

# The quoted includes of `files` that match `pattern` (mode DENY) or do not (mode ALLOW)
# are failures.
function(check_includes files mode pattern rule)
  foreach(f IN LISTS files)
    file(STRINGS "${f}" lines REGEX "^[ \t]*#[ \t]*include[ \t]*\"")
    foreach(line IN LISTS lines)
      string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]*\"([^\"]*)\".*" "\\1" included "${line}")
      set(bad FALSE)
      if(included MATCHES "${pattern}")
        if(mode STREQUAL "DENY")
          set(bad TRUE)
        endif()
      elseif(mode STREQUAL "ALLOW")
        set(bad TRUE)
      endif()
      if(bad)
        file(RELATIVE_PATH rel "${REPO}" "${f}")
        string(APPEND failures "\n  ${rel}: #include \"${included}\" (${rule})")
      endif()
    endforeach()
  endforeach()
  set(failures "${failures}" PARENT_SCOPE)
endfunction()

file(GLOB_RECURSE common_files "${REPO}/common/*.h" "${REPO}/tests/unit/common/*.cpp")
check_includes("${common_files}" ALLOW "^common/" "common/ includes only common/")

file(GLOB_RECURSE module_files "${REPO}/ngx_module/*.h" "${REPO}/ngx_module/*.cpp")
check_includes("${module_files}" ALLOW "^(core|common)/|^ngx_http_pulse_[a-z_]+\\.h$"
  "the module includes its own headers, core/ and common/")

file(GLOB_RECURSE sidecar_files "${REPO}/sidecar/*.h" "${REPO}/sidecar/*.cpp"
  "${REPO}/tests/unit/sidecar/*.cpp" "${REPO}/tests/tools/*.cpp" "${REPO}/tests/fuzz/*.cpp"
  "${REPO}/bench/*.cpp")
# Fuzz targets of the module's core (the writer is read back by the sidecar's parser, as a
# scraper reads it) test both rooms, as the integration tests do.
list(FILTER sidecar_files EXCLUDE REGEX "/tests/fuzz/(exposition_writer_fuzz|exposition_replay|cache_classifier_fuzz)\\.cpp$")
check_includes("${sidecar_files}" DENY "^core/|ngx_module/|\\.\\./"
  "the sidecar includes nothing of ngx_module/")

if(failures)
  message(FATAL_ERROR "includes against the one-way flow:${failures}")
endif()
