# Duktape, the ES5.1 engine under the JavaScript plugin VM (middleware/jsvm/), built from the
# amalgamated sources Debian's duktape-dev ships in /usr/share/duktape. The packaged
# libduktape.so has no execution-timeout hook, so we build our own copy with a patched
# duk_config.h:
#   DUK_USE_INTERRUPT_COUNTER                    on
#   DUK_USE_EXEC_TIMEOUT_CHECK(udata)            portcullis_duk_exec_timeout(udata), which
#                                                js_vm.cpp defines (deadline per heap)
# and a patched duktape.c whose regexp matcher also asks that hook (every 64K steps), so a
# catastrophic-backtracking regexp cannot hold a worker past the plugin deadline either.
#
# The generated tree is <build>/duktape_gen/duktape/{duktape.c,duktape.h,duk_config.h}; code
# includes <duktape/duktape.h>, a path /usr/include does not have, so the packaged (unpatched)
# header can never be picked up by mistake.
#
# Include from the top-level CMakeLists.txt (enable_language must run at the top directory).

set(PORTCULLIS_DUKTAPE_DIR "/usr/share/duktape" CACHE PATH
    "Directory holding Duktape's amalgamated duktape.c, duktape.h and duk_config.h")
foreach(_pc_duk_file duktape.c duktape.h duk_config.h)
    if(NOT EXISTS "${PORTCULLIS_DUKTAPE_DIR}/${_pc_duk_file}")
        message(FATAL_ERROR
            "Duktape source ${PORTCULLIS_DUKTAPE_DIR}/${_pc_duk_file} not found: install "
            "Debian's duktape-dev (scripts/install-deps.sh does) or set PORTCULLIS_DUKTAPE_DIR "
            "to a directory with the Duktape 2.x amalgamation.")
    endif()
endforeach()

enable_language(C)

set(_pc_duk_gen "${CMAKE_BINARY_DIR}/duktape_gen/duktape")
set_property(DIRECTORY "${PROJECT_SOURCE_DIR}" APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
    "${PORTCULLIS_DUKTAPE_DIR}/duktape.c" "${PORTCULLIS_DUKTAPE_DIR}/duktape.h"
    "${PORTCULLIS_DUKTAPE_DIR}/duk_config.h")

# Writes `content` to `path` only when it differs (configure_file keeps the timestamp of an
# identical file), so re-running CMake does not recompile the 3.6 MB duktape.c.
function(_pc_duk_write path content)
    file(WRITE "${path}.tmp" "${content}")
    configure_file("${path}.tmp" "${path}" COPYONLY)
    file(REMOVE "${path}.tmp")
endfunction()

# duk_config.h: turn the timeout hook and the interrupt counter on.
file(READ "${PORTCULLIS_DUKTAPE_DIR}/duk_config.h" _pc_duk_config)
foreach(_pc_duk_needle "#undef DUK_USE_EXEC_TIMEOUT_CHECK\n" "#undef DUK_USE_INTERRUPT_COUNTER\n")
    string(FIND "${_pc_duk_config}" "${_pc_duk_needle}" _pc_duk_pos)
    if(_pc_duk_pos EQUAL -1)
        message(FATAL_ERROR "${PORTCULLIS_DUKTAPE_DIR}/duk_config.h has no line "
            "'${_pc_duk_needle}': not the Duktape 2.x config this build knows how to patch.")
    endif()
endforeach()
string(REPLACE "#undef DUK_USE_EXEC_TIMEOUT_CHECK\n"
    "/* Portcullis: per-heap execution deadline (middleware/jsvm/js_vm.cpp). */
#if defined(__cplusplus)
extern \"C\" duk_bool_t portcullis_duk_exec_timeout(void *udata);
#else
extern duk_bool_t portcullis_duk_exec_timeout(void *udata);
#endif
#define DUK_USE_EXEC_TIMEOUT_CHECK(udata) portcullis_duk_exec_timeout((udata))
"
    _pc_duk_config "${_pc_duk_config}")
string(REPLACE "#undef DUK_USE_INTERRUPT_COUNTER\n"
    "#define DUK_USE_INTERRUPT_COUNTER /* Portcullis: needed by DUK_USE_EXEC_TIMEOUT_CHECK */\n"
    _pc_duk_config "${_pc_duk_config}")
# duk_bool_t is declared after the config's option block, so the prototype above needs it early:
# duk_config.h defines duk_bool_t before the "#undef DUK_USE_..." block in Duktape 2.x; check.
string(FIND "${_pc_duk_config}" "typedef duk_small_uint_t duk_bool_t;" _pc_duk_bool_pos)
string(FIND "${_pc_duk_config}" "portcullis_duk_exec_timeout(void *udata);" _pc_duk_proto_pos)
if(_pc_duk_bool_pos EQUAL -1 OR _pc_duk_bool_pos GREATER _pc_duk_proto_pos)
    message(FATAL_ERROR "${PORTCULLIS_DUKTAPE_DIR}/duk_config.h: duk_bool_t is not typedef'd "
        "before the option block; the exec-timeout patch needs adjusting for this version.")
endif()
_pc_duk_write("${_pc_duk_gen}/duk_config.h" "${_pc_duk_config}")

# duktape.h: copied as is (it includes "duk_config.h", found next to it first).
file(READ "${PORTCULLIS_DUKTAPE_DIR}/duktape.h" _pc_duk_header)
_pc_duk_write("${_pc_duk_gen}/duktape.h" "${_pc_duk_header}")

# duktape.c: the regexp matcher only counts steps up to 1e9 (seconds of CPU); make it also
# consult the timeout hook every 64K steps.
file(READ "${PORTCULLIS_DUKTAPE_DIR}/duktape.c" _pc_duk_source)
set(_pc_duk_re_needle "\t\tre_ctx->steps_count++;\n")
string(FIND "${_pc_duk_source}" "${_pc_duk_re_needle}" _pc_duk_re_pos)
if(_pc_duk_re_pos EQUAL -1)
    message(WARNING "duktape.c: regexp step counter not found; regular expressions are not "
        "subject to the plugin timeout (only to Duktape's own step limit).")
else()
    string(REPLACE "${_pc_duk_re_needle}"
        "\t\tre_ctx->steps_count++;
\t\tif ((re_ctx->steps_count & 0xffffUL) == 0 &&
\t\t    DUK_USE_EXEC_TIMEOUT_CHECK(re_ctx->thr->heap->heap_udata)) { /* Portcullis */
\t\t\tDUK_ERROR_RANGE(re_ctx->thr, \"execution timeout\");
\t\t\tDUK_WO_NORETURN(return NULL;);
\t\t}
"
        _pc_duk_source "${_pc_duk_source}")
endif()
_pc_duk_write("${_pc_duk_gen}/duktape.c" "${_pc_duk_source}")
unset(_pc_duk_config)
unset(_pc_duk_header)
unset(_pc_duk_source)

add_library(pc_duktape STATIC "${_pc_duk_gen}/duktape.c")
set_target_properties(pc_duktape PROPERTIES C_STANDARD 99 C_EXTENSIONS ON
    POSITION_INDEPENDENT_CODE ON)
# Third-party code: no warnings, always optimised (an -O0 interpreter is painfully slow), no
# debug info (saves compile time on 2 cores). Under PORTCULLIS_SANITIZE, ASan stays on but UBSan
# is off for it: a report inside Duktape is not ours to fix and would abort the whole suite
# (-fno-sanitize-recover). The [jsvm] tests did pass with UBSan on Duktape too.
target_compile_options(pc_duktape PRIVATE -w -O2 -g0
    $<$<BOOL:${PORTCULLIS_SANITIZE}>:-fno-sanitize=undefined>)
target_include_directories(pc_duktape PRIVATE "${_pc_duk_gen}")
# Users include <duktape/duktape.h>; SYSTEM keeps our -Wpedantic away from Duktape's header.
target_include_directories(pc_duktape SYSTEM INTERFACE "${CMAKE_BINARY_DIR}/duktape_gen")
target_link_libraries(pc_duktape PUBLIC m)
