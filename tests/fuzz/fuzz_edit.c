/* fuzz_edit: what an edit of a job reads from its caller (master/
 * job_edit.c): the If-Match header and the body's "version", the body as
 * a JSON merge patch (PATCH) or a whole job (PUT) applied to a stored job,
 * and the validation of the result.
 *
 * Input: one line, the If-Match value, then the request body. Beyond "no
 * crash": a refused edit names its field; an accepted version is positive;
 * the edit never renames the job nor leaves a read-only member in; an
 * edited job that validates reaches the wire as create's do. */
#include "fuzz_common.h"
#include "hg_error.h"
#include "job.h"
#include "job_edit.h"

#include <string.h>

#define S_STORED                                                                                   \
    "{\"id\": 4, \"version\": 2, \"namespace\": \"default\", \"name\": \"ping\", \"kind\": "       \
    "\"http\", \"schedule\": \"@every 1s\", \"timezone\": \"UTC\", \"status\": \"active\", "       \
    "\"start_at\": null, \"end_at\": null, \"misfire\": \"fire_once\", \"timeout\": \"30s\", "     \
    "\"recover\": false, \"http\": {\"url\": \"http://x/\", \"method\": \"POST\", \"headers\": "   \
    "{\"Authorization\": \"Bearer s3cret\"}, \"body\": null, \"form\": null, \"expect_status\": "  \
    "[], \"expect_body\": null}, \"plugin\": null, \"params\": {\"db_password\": \"hunter2\"}, "   \
    "\"secret_headers\": [], \"secret_params\": [], \"executor\": {\"nodes\": []}, \"jitter\": "   \
    "null, \"pause_note\": null, \"remaining_runs\": null, \"next_fires\": [], \"last_run\": "     \
    "null, \"node\": null}"

static void s_edit(json_t *stored, json_t *body, bool patch)
{
    char field[128] = "", message[1024] = "";
    json_t *out =
        hg_job_edit_body(stored, body, patch, field, sizeof field, message, sizeof message);
    if (!out) {
        FUZZ_CHECK(field[0] != '\0' && message[0] != '\0');
        return;
    }
    FUZZ_CHECK(json_is_object(out));
    FUZZ_CHECK(json_equal(json_object_get(out, "name"), json_object_get(stored, "name")));
    static const char *ro[] = {"id", "version", "node", "next_fires", "last_run"};
    for (size_t i = 0; i < sizeof ro / sizeof ro[0]; i++)
        FUZZ_CHECK(json_object_get(out, ro[i]) == NULL);
    json_t *job = hg_job_validate(out, field, sizeof field, message, sizeof message);
    if (job) {
        hg_job_edit_keep_cutoff(stored, job);
        (void) hg_job_edit_is_noop(stored, job);
        json_object_set_new(job, "id", json_integer(4));
        json_object_set_new(job, "version", json_integer(3));
        hg_assign_t a;
        memset(&a, 0, sizeof a);
        FUZZ_CHECK(hg_job_to_assign(job, &a) == 0);
        hg_assign_clear(&a);
        json_decref(job);
    }
    json_decref(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    if (!nl) return 0;
    char if_match[256];
    size_t hlen = (size_t) (nl - data);
    if (hlen >= sizeof if_match || memchr(data, '\0', hlen)) return 0;
    memcpy(if_match, data, hlen);
    if_match[hlen] = '\0';
    json_t *body = json_loadb((const char *) nl + 1, size - hlen - 1, JSON_REJECT_DUPLICATES, NULL);
    if (!body) return 0;
    json_t *stored = json_loads(S_STORED, 0, NULL);
    FUZZ_CHECK(stored != NULL);
    uint64_t version = 0;
    char field[64], message[256];
    int rc = hg_job_edit_version(hlen ? if_match : NULL, body, &version, field, sizeof field,
                                 message, sizeof message);
    if (rc == 0) {
        FUZZ_CHECK(json_object_get(body, "version") == NULL);
        json_t *copy = json_deep_copy(body);
        s_edit(stored, body, true);
        s_edit(stored, copy, false);
        json_decref(copy);
    } else {
        FUZZ_CHECK(rc == HG_EINVAL && field[0] != '\0');
    }
    json_decref(body);
    json_decref(stored);
    return 0;
}
