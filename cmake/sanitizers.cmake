# A closed set of sanitizer builds; anything else is a configuration error. Applied to every
# target in the tree (libraries, executables, tests) so that they link consistently.
if(NOT MANIFOLD_SANITIZER MATCHES "^(none|address|thread|fuzzer)$")
  message(FATAL_ERROR "MANIFOLD_SANITIZER must be none, address, thread or fuzzer, not '${MANIFOLD_SANITIZER}'")
endif()

if(MANIFOLD_SANITIZER STREQUAL "address")
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
elseif(MANIFOLD_SANITIZER STREQUAL "fuzzer")
  # libFuzzer builds (clang): everything instrumented for coverage, fuzz targets link the
  # fuzzer's main (tests/fuzz).
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "MANIFOLD_SANITIZER=fuzzer needs clang (the fuzz preset uses clang++-14)")
  endif()
  # (-fsanitize=function is left out: clang 14 cannot assemble it in coroutines, "Cannot
  # represent a difference across sections".)
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize=function
    -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined -fno-sanitize=function)
elseif(MANIFOLD_SANITIZER STREQUAL "thread")
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
endif()
