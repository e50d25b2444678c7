# A closed set of sanitizer builds; anything else is a configuration error. Applied to every
# target in the tree (libraries, executables, tests) so that they link consistently.
if(NOT MANIFOLD_SANITIZER MATCHES "^(none|address|thread)$")
  message(FATAL_ERROR "MANIFOLD_SANITIZER must be none, address or thread, not '${MANIFOLD_SANITIZER}'")
endif()

if(MANIFOLD_SANITIZER STREQUAL "address")
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
elseif(MANIFOLD_SANITIZER STREQUAL "thread")
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
endif()
