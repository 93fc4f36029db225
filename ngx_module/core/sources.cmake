# The module's pure logic: no nginx, no network. Linked into the module and into the unit tests.
set(PULSE_CORE_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/buckets.cpp
  ${CMAKE_CURRENT_LIST_DIR}/cache_policy.cpp
  ${CMAKE_CURRENT_LIST_DIR}/exposition.cpp
  ${CMAKE_CURRENT_LIST_DIR}/labels.cpp
  ${CMAKE_CURRENT_LIST_DIR}/render.cpp
  ${CMAKE_CURRENT_LIST_DIR}/series_store.cpp)
