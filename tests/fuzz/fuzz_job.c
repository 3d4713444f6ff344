/* fuzz_job: job JSON validation, hg_job_validate (master/job.c), and the
 * way from a validated job to the ASSIGN a worker receives.
 *
 * Input: the body of POST /api/v1/jobs, loaded the way the REST API loads
 * it. Beyond "no crash": a job the API accepts must survive the trip the
 * master makes with it, or it would sit in the catalogue and never fire:
 * its JSON reloads, hg_job_to_assign converts it, and hg_msg_encode can
 * put it on the wire. */
#include "fuzz_common.h"
#include "hg_error.h"
#include "hg_proto.h"
#include "job.h"

#include <string.h>

static void s_to_wire(json_t *valid)
{
    json_t *job = json_deep_copy(valid);
    FUZZ_CHECK(job != NULL);
    json_object_set_new(job, "id", json_integer(7));
    json_object_set_new(job, "version", json_integer(1));
    json_object_set_new(job, "status", json_string("active"));
    /* What the catalogue stores and the leader reads back. */
    char *text = json_dumps(job, JSON_COMPACT);
    FUZZ_CHECK(text != NULL);
    json_error_t jerr;
    json_t *reloaded = json_loads(text, 0, &jerr);
    if (!reloaded) fprintf(stderr, "fuzz_job: stored job does not reload: %s\n", jerr.text);
    FUZZ_CHECK(reloaded != NULL);
    free(text);

    hg_assign_t a;
    memset(&a, 0, sizeof a);
    int rc = hg_job_to_assign(reloaded, &a);
    if (rc != 0) fprintf(stderr, "fuzz_job: valid job -> ASSIGN: %s\n", hg_strerror(rc));
    FUZZ_CHECK(rc == 0);
    a.epoch = 1;
    hg_msg_t msg = {.type = HG_MSG_ASSIGN, .seq = 1, .u.assign = a};
    uint8_t *buf = NULL;
    size_t len = 0;
    rc = hg_msg_encode(&msg, &buf, &len);
    if (rc != 0) fprintf(stderr, "fuzz_job: valid job does not encode: %s\n", hg_strerror(rc));
    FUZZ_CHECK(rc == 0);
    hg_msg_t *back = NULL;
    FUZZ_CHECK(hg_msg_decode(buf, len, &back, NULL, 0) == 0);
    hg_msg_destroy(&back);
    free(buf);
    hg_assign_clear(&msg.u.assign);
    (void) hg_job_pinned_nodes(reloaded);
    json_decref(reloaded);
    json_decref(job);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t jerr;
    json_t *body = json_loadb((const char *) data, size, JSON_REJECT_DUPLICATES, &jerr);
    if (!body) return 0;
    char field[128], message[512];
    json_t *valid = hg_job_validate(body, field, sizeof field, message, sizeof message);
    if (valid) {
        FUZZ_CHECK(json_is_object(valid));
        s_to_wire(valid);
        /* Validation is idempotent: a normalized job validates as itself. */
        json_t *again = hg_job_validate(valid, field, sizeof field, message, sizeof message);
        if (!again) fprintf(stderr, "fuzz_job: normalized job refused: %s\n", message);
        FUZZ_CHECK(again != NULL);
        json_decref(again);
        json_decref(valid);
    } else {
        /* A refusal names the field and says why. */
        FUZZ_CHECK(memchr(field, '\0', sizeof field) && memchr(message, '\0', sizeof message));
        FUZZ_CHECK(message[0] != '\0');
    }
    json_decref(body);
    return 0;
}
