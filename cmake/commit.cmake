# Writes OUT (a header defining DIST2_COMMIT) with the source tree's commit, and
# "-dirty" when it has uncommitted changes; rewritten only when that changes, so
# a new commit recompiles one file. Runs at every build (see CMakeLists.txt).
execute_process(COMMAND git -C ${SRC} rev-parse --short HEAD OUTPUT_VARIABLE commit
                OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR commit STREQUAL "")
  set(commit "unknown")
else()
  execute_process(COMMAND git -C ${SRC} status --porcelain --untracked-files=no OUTPUT_VARIABLE dirty ERROR_QUIET)
  if(NOT dirty STREQUAL "")
    set(commit "${commit}-dirty")
  endif()
endif()
set(content "#pragma once\n#define DIST2_COMMIT \"${commit}\"\n")
include(${CMAKE_CURRENT_LIST_DIR}/write_if_changed.cmake)
write_if_changed(${OUT} "${content}")
