# write_if_changed(PATH CONTENT): writes PATH only when its text differs, so a
# generated file that did not change does not recompile what includes it.
function(write_if_changed path content)
  set(old "")
  if(EXISTS ${path})
    file(READ ${path} old)
  endif()
  if(NOT old STREQUAL content)
    file(WRITE ${path} "${content}")
  endif()
endfunction()
