/* fuzz_common: what every fuzz target shares (see docs/security.md, Fuzzing).
 *
 * A target defines LLVMFuzzerTestOneInput and may define
 * LLVMFuzzerInitialize. It must not print on a clean input (the fuzzer runs
 * it millions of times) and reports a bug by aborting: FUZZ_CHECK for a
 * broken promise of the code under test, sanitizers for memory and UB. */
#ifndef HG_FUZZ_COMMON_H
#define HG_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A check that holds in release builds too (assert may be compiled out). */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: fuzz check failed: %s\n", __FILE__, __LINE__, #cond);          \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif
