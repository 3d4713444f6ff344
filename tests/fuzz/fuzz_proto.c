/* fuzz_proto: the wire decoder, hg_msg_decode (common/hg_proto.c).
 *
 * Input: one frame as a peer would send it. Every frame a worker or the
 * master receives goes through this decoder first, so it must survive
 * anything. Beyond "no crash", a frame the decoder accepts must encode
 * again (the master forwards and spills what it decoded), and the encoding
 * must decode to the same bytes: decoder and encoder agree on the limits. */
#include "fuzz_common.h"
#include "hg_error.h"
#include "hg_proto.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hg_msg_t *msg = NULL;
    char detail[256];
    int rc = hg_msg_decode(data, size, &msg, detail, sizeof detail);
    if (rc != 0) {
        FUZZ_CHECK(rc < 0 && msg == NULL);
        FUZZ_CHECK(memchr(detail, '\0', sizeof detail) != NULL);
        return 0;
    }
    FUZZ_CHECK(msg != NULL);
    /* A NULL detail buffer is allowed too. */
    hg_msg_t *again = NULL;
    FUZZ_CHECK(hg_msg_decode(data, size, &again, NULL, 0) == 0);
    hg_msg_destroy(&again);

    uint8_t *enc = NULL;
    size_t enc_len = 0;
    rc = hg_msg_encode(msg, &enc, &enc_len);
    if (rc != 0)
        fprintf(stderr, "fuzz_proto: re-encode of a decoded %s failed: %s\n",
                hg_msg_type_name(msg->type), hg_strerror(rc));
    FUZZ_CHECK(rc == 0);
    FUZZ_CHECK(hg_msg_decode(enc, enc_len, &again, detail, sizeof detail) == 0);
    uint8_t *enc2 = NULL;
    size_t enc2_len = 0;
    FUZZ_CHECK(hg_msg_encode(again, &enc2, &enc2_len) == 0);
    FUZZ_CHECK(enc2_len == enc_len && memcmp(enc, enc2, enc_len) == 0);

    /* The deep copies the worker and the store make of what they receive. */
    if (msg->type == HG_MSG_ASSIGN) {
        hg_assign_t copy;
        memset(&copy, 0, sizeof copy);
        if (hg_assign_copy(&copy, &msg->u.assign) == 0) hg_assign_clear(&copy);
    } else if (msg->type == HG_MSG_RUN_STARTED || msg->type == HG_MSG_RUN_FINISHED) {
        for (size_t i = 0; i < msg->u.runs.runs_n; i++) {
            hg_run_t copy;
            memset(&copy, 0, sizeof copy);
            if (hg_run_copy(&copy, &msg->u.runs.runs[i]) == 0) hg_run_clear(&copy);
        }
    }
    free(enc);
    free(enc2);
    hg_msg_destroy(&again);
    hg_msg_destroy(&msg);
    return 0;
}
