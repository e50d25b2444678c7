# A closed set of sanitizer builds; anything else is a configuration error.
if(NOT MANIFOLD_SANITIZER MATCHES "^(none|address|thread)$")
  message(FATAL_ERROR "MANIFOLD_SANITIZER must be none, address or thread, not '${MANIFOLD_SANITIZER}'")
endif()

function(manifold_apply_sanitizer target)
  if(MANIFOLD_SANITIZER STREQUAL "address")
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  elseif(MANIFOLD_SANITIZER STREQUAL "thread")
    target_compile_options(${target} PRIVATE -fsanitize=thread -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=thread)
  endif()
endfunction()
