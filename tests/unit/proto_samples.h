/* proto_samples: one message of every type, built the way callers build
 * them (malloc'ed members that hg_msg_destroy frees). The codec's unit test
 * round-trips them; the fuzz seeds (tests/fuzz/make_seeds.c) are their
 * encodings. */
#ifndef HG_TEST_PROTO_SAMPLES_H
#define HG_TEST_PROTO_SAMPLES_H

#include "hg_proto.h"

#include <stdbool.h>

/* A message of the given type; full sets every field, otherwise only the
 * required ones. The caller frees it with hg_msg_destroy. Exits on out of
 * memory. */
hg_msg_t *hg_test_proto_sample(int type, bool full);

/* Fill run record r (number i) or assignment a the same way, for tests
 * that build their own messages around them. */
void hg_test_proto_fill_run(hg_run_t *r, int i, bool full);
void hg_test_proto_fill_assign(hg_assign_t *a, bool full);

#endif
