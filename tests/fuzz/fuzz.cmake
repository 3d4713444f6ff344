# Fuzz targets: tests/fuzz/fuzz_<target>.c plus the sources below, one
# executable each.
#
# HG_FUZZ=ON (clang, scripts/fuzz): fuzz_<target> is a libFuzzer binary.
# Otherwise, with the tests: replay_<target> links tests/fuzz/replay_main.c
# instead of libFuzzer, and ctest fuzz/<target> runs every file of
# tests/fuzz/corpus/<target>/ through it, so seeds and crash inputs stay
# regression tests of the normal build (and of scripts/test --asan).
set(HG_FUZZ_DIR ${CMAKE_SOURCE_DIR}/tests/fuzz)
set(HG_FUZZ_TARGETS proto sched job tz spill cli auth alert wmetrics page edit)
set(HG_FUZZ_SOURCES_job ${CMAKE_SOURCE_DIR}/master/job.c ${CMAKE_SOURCE_DIR}/master/job_policy.c
    ${CMAKE_SOURCE_DIR}/master/deps.c ${CMAKE_SOURCE_DIR}/master/job_ext.c
    ${CMAKE_SOURCE_DIR}/master/routing.c)
set(HG_FUZZ_SOURCES_edit ${CMAKE_SOURCE_DIR}/master/job_edit.c ${CMAKE_SOURCE_DIR}/master/job.c
    ${CMAKE_SOURCE_DIR}/master/job_ext.c ${CMAKE_SOURCE_DIR}/master/job_policy.c
    ${CMAKE_SOURCE_DIR}/master/deps.c ${CMAKE_SOURCE_DIR}/master/routing.c
    ${CMAKE_SOURCE_DIR}/master/redact.c ${CMAKE_SOURCE_DIR}/master/auth.c)
set(HG_FUZZ_SOURCES_auth ${CMAKE_SOURCE_DIR}/master/auth.c ${CMAKE_SOURCE_DIR}/master/redact.c
    ${CMAKE_SOURCE_DIR}/master/zap.c ${CMAKE_SOURCE_DIR}/master/db.c)
set(HG_FUZZ_SOURCES_spill ${CMAKE_SOURCE_DIR}/master/spill.c)
set(HG_FUZZ_SOURCES_alert ${CMAKE_SOURCE_DIR}/master/alerts.c)
set(HG_FUZZ_SOURCES_wmetrics ${CMAKE_SOURCE_DIR}/worker/worker_metrics.c)
set(HG_FUZZ_SOURCES_page ${CMAKE_SOURCE_DIR}/master/job_page.c)
# The CLI target takes every CLI source but its main (fuzz_cli_client.c
# stands in for the HTTP client), so a new command needs no edit here.
file(GLOB HG_FUZZ_CLI_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/cli/*.c)
list(REMOVE_ITEM HG_FUZZ_CLI_SOURCES ${CMAKE_SOURCE_DIR}/cli/main.c
     ${CMAKE_SOURCE_DIR}/cli/client.c)
set(HG_FUZZ_SOURCES_cli ${HG_FUZZ_DIR}/fuzz_cli_client.c ${HG_FUZZ_CLI_SOURCES})

function(hg_fuzz_target target exe main)
  add_executable(${exe} ${HG_FUZZ_DIR}/fuzz_${target}.c ${main} ${HG_FUZZ_SOURCES_${target}})
  target_include_directories(${exe} PRIVATE ${HG_FUZZ_DIR} ${CMAKE_SOURCE_DIR}/master
                             ${CMAKE_SOURCE_DIR}/cli ${CMAKE_SOURCE_DIR}/worker)
  target_link_libraries(${exe} hgcommon PkgConfig::MARIADB PkgConfig::JANSSON ${CMAKE_DL_LIBS})
endfunction()

if(HG_FUZZ)
  foreach(t ${HG_FUZZ_TARGETS})
    hg_fuzz_target(${t} fuzz_${t} "")
    target_link_options(fuzz_${t} PRIVATE -fsanitize=fuzzer)
  endforeach()
elseif(HG_BUILD_TESTS)
  foreach(t ${HG_FUZZ_TARGETS})
    hg_fuzz_target(${t} replay_${t} ${HG_FUZZ_DIR}/replay_main.c)
    add_test(NAME fuzz/${t} COMMAND replay_${t} ${HG_FUZZ_DIR}/corpus/${t})
    set_tests_properties(fuzz/${t} PROPERTIES LABELS "unit;fuzz" TIMEOUT 300)
  endforeach()
endif()

# Writes the binary seeds (encoded messages, spill files) into the corpus:
#   cmake --build build --target fuzz_make_seeds && build/fuzz_make_seeds tests/fuzz/corpus
add_executable(fuzz_make_seeds EXCLUDE_FROM_ALL ${HG_FUZZ_DIR}/make_seeds.c
               ${CMAKE_SOURCE_DIR}/tests/unit/proto_samples.c ${CMAKE_SOURCE_DIR}/master/spill.c)
target_include_directories(fuzz_make_seeds PRIVATE ${CMAKE_SOURCE_DIR}/master
                           ${CMAKE_SOURCE_DIR}/tests/unit)
target_link_libraries(fuzz_make_seeds hgcommon)
