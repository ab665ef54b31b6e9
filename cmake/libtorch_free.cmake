# cmake -DLIST=FILE -DSTAMP=FILE -P libtorch_free.cmake: fails, naming the file
# and the line, when a file listed in LIST (one path a line: dist2base's sources and
# headers) includes a LibTorch header; touches STAMP otherwise. Run at build time
# before dist2base compiles (see CMakeLists.txt).
file(STRINGS ${LIST} files)
set(found "")
foreach(file ${files})
  file(READ ${file} text)
  string(REGEX MATCHALL "(^|\n)[ \t]*#[ \t]*include[ \t]*[<\"](torch|ATen|c10|caffe2)/[^\n]*" hits "${text}")
  foreach(hit IN LISTS hits)
    string(STRIP "${hit}" hit)
    string(APPEND found "\n  ${file}: ${hit}")
  endforeach()
endforeach()
if(found)
  message(FATAL_ERROR "dist2base (lib/dist2/config, tokenizer, tasks, image and util) must not use LibTorch:"
    "${found}\nMove that code to a dist2core folder (a util/ file that needs LibTorch: add it to "
    "DIST2_UTIL_TORCH in CMakeLists.txt).")
endif()
file(TOUCH ${STAMP})
