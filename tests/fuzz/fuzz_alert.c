/* fuzz_alert: alert rule validation, hg_alert_rule_parse (master/alerts.c),
 * the body of POST /api/v1/alerts.
 *
 * Beyond "no crash": a refusal names the member at fault and says why; an
 * accepted rule survives the trip through its API form (what a reveal
 * answer holds is a body that validates as the same rule), its answer
 * without reveal shows the secret as "<redacted>", and the e-mail addresses it
 * keeps cannot carry a line break into SMTP headers. */
#include "alerts.h"
#include "fuzz_common.h"
#include "hg_error.h"

#include <string.h>

static void s_round_trip(const hg_alert_rule_t *rule)
{
    json_t *shown = hg_alert_rule_to_json(rule, false);
    FUZZ_CHECK(shown != NULL);
    if (rule->secret) {
        json_t *ch = json_object_get(shown, "channel");
        const char *key = strcmp(rule->channel, "email") == 0 ? "password" : "secret";
        FUZZ_CHECK(strcmp(json_string_value(json_object_get(ch, key)) ?: "", "<redacted>") == 0);
    }
    json_decref(shown);
    json_t *full = hg_alert_rule_to_json(rule, true);
    FUZZ_CHECK(full != NULL);
    json_object_del(full, "id");
    hg_alert_rule_t again;
    char field[128], err[512];
    int rc = hg_alert_rule_parse(full, &again, field, sizeof field, err, sizeof err);
    if (rc != 0) fprintf(stderr, "fuzz_alert: an accepted rule's own form is refused: %s\n", err);
    FUZZ_CHECK(rc == 0);
    FUZZ_CHECK(strcmp(again.name, rule->name) == 0 && again.events == rule->events &&
               again.threshold == rule->threshold && again.window_ms == rule->window_ms &&
               again.silence_ms == rule->silence_ms && again.dedup == rule->dedup);
    hg_alert_rule_clear(&again);
    json_decref(full);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t jerr;
    json_t *body = json_loadb((const char *) data, size, JSON_REJECT_DUPLICATES, &jerr);
    if (!body) return 0;
    hg_alert_rule_t rule;
    char field[128], err[512];
    int rc = hg_alert_rule_parse(body, &rule, field, sizeof field, err, sizeof err);
    if (rc == 0) {
        FUZZ_CHECK(rule.name[0] && rule.events && rule.threshold >= 1 && rule.config);
        const char *from = json_string_value(json_object_get(rule.config, "from"));
        FUZZ_CHECK(!from || !strpbrk(from, "\r\n"));
        s_round_trip(&rule);
        hg_alert_rule_clear(&rule);
    } else {
        FUZZ_CHECK(rc == HG_EINVAL || rc == HG_ENOMEM);
        FUZZ_CHECK(memchr(field, '\0', sizeof field) && memchr(err, '\0', sizeof err));
        FUZZ_CHECK(rc != HG_EINVAL || (field[0] && err[0]));
    }
    json_decref(body);
    return 0;
}
