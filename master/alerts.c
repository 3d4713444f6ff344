/* alerts: rule validation, selection and the send decision (alerts.h). */
#include "alerts.h"
#include "hg_error.h"
#include "hg_proto.h"
#include "hg_time.h"

#include <fnmatch.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    uint32_t bit;     /* hg_alert_event_t */
    const char *name; /* API name */
} s_events[] = {
    {HG_ALERT_FAILED, "failed"},       {HG_ALERT_TIMEOUT, "timeout"}, {HG_ALERT_CRASHED, "crashed"},
    {HG_ALERT_LOST, "lost"},           {HG_ALERT_SKIPPED, "skipped"}, {HG_ALERT_LATE, "late"},
    {HG_ALERT_RECOVERED, "recovered"}, {HG_ALERT_MISSED, "missed"},
};
#define S_EVENTS_N (sizeof s_events / sizeof s_events[0])

const char *hg_alert_event_name(uint32_t event)
{
    for (size_t i = 0; i < S_EVENTS_N; i++)
        if (s_events[i].bit == event) return s_events[i].name;
    return NULL;
}

uint32_t hg_alert_event_parse(const char *name)
{
    for (size_t i = 0; name && i < S_EVENTS_N; i++)
        if (strcmp(s_events[i].name, name) == 0) return s_events[i].bit;
    return 0;
}

const char *hg_alert_outcome_name(hg_alert_outcome_t outcome)
{
    switch (outcome) {
    case HG_ALERT_SEND:
        return "send";
    case HG_ALERT_DEDUP:
        return "dedup";
    case HG_ALERT_THRESHOLD:
        return "threshold";
    case HG_ALERT_SILENCED:
        return "silenced";
    }
    return "?";
}

void hg_alert_events_format(uint32_t events, char *buf, size_t size)
{
    size_t used = 0;
    if (size) buf[0] = '\0';
    for (size_t i = 0; i < S_EVENTS_N; i++) {
        if (!(events & s_events[i].bit)) continue;
        int n = snprintf(buf + used, size > used ? size - used : 0, "%s%s", used ? "," : "",
                         s_events[i].name);
        if (n < 0 || (size_t) n >= size - used) return;
        used += (size_t) n;
    }
}

int hg_alert_events_parse(const char *text, uint32_t *events)
{
    *events = 0;
    char name[32];
    while (text && *text) {
        size_t n = strcspn(text, ",");
        if (n == 0 || n >= sizeof name) return HG_EINVAL;
        memcpy(name, text, n);
        name[n] = '\0';
        uint32_t bit = hg_alert_event_parse(name);
        if (!bit) return HG_EINVAL;
        *events |= bit;
        text += n + (text[n] == ',');
    }
    return *events ? 0 : HG_EINVAL;
}

/* ---------------------------------------------------------------------------
 * Validation of API input
 * ------------------------------------------------------------------------ */

static int s_invalid(const char *field, char *fbuf, size_t fsize, char *err, size_t err_size,
                     const char *message)
{
    snprintf(fbuf, fsize, "%s", field);
    snprintf(err, err_size, "%s: %s", field, message);
    return HG_EINVAL;
}

#define S_INVALID(f, m) s_invalid((f), field, field_size, err, err_size, (m))

/* Printable ASCII without control characters, 1..max bytes. */
static bool s_is_text(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max) return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f) return false;
    return true;
}

/* [A-Za-z0-9._-], starting with a letter or digit: names and namespaces. */
static bool s_is_ident(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max) return false;
    if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') ||
          (s[0] >= '0' && s[0] <= '9')))
        return false;
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

/* An e-mail address: local@domain, printable, no spaces, angle brackets,
 * commas or quotes (it goes into SMTP commands and headers). */
static bool s_is_address(const char *s)
{
    if (!s_is_text(s, HG_ALERT_ADDR_MAX) || strpbrk(s, " <>,;\"\\()[]:")) return false;
    const char *at = strchr(s, '@');
    return at && at != s && at[1] && !strchr(at + 1, '@');
}

/* A duration member ("5m", "30s") or absent (*ms untouched). */
static int s_duration(json_t *body, const char *key, int64_t *ms, char *field, size_t field_size,
                      char *err, size_t err_size)
{
    json_t *v = json_object_get(body, key);
    if (!v || json_is_null(v)) return 0;
    int64_t d;
    if (!json_is_string(v) || hg_duration_parse_ms(json_string_value(v), &d) != 0 || d < 0 ||
        d > HG_ALERT_DURATION_MAX)
        return S_INVALID(key, "must be a duration such as \"30s\" or \"10m\", at most 366 days");
    *ms = d;
    return 0;
}

static int s_parse_events(json_t *v, uint32_t *events, char *field, size_t field_size, char *err,
                          size_t err_size)
{
    if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > S_EVENTS_N)
        return S_INVALID("events", "must be a non-empty array of event names (failed, timeout, "
                                   "crashed, lost, skipped, late, recovered, missed)");
    size_t i;
    json_t *e;
    *events = 0;
    json_array_foreach(v, i, e)
    {
        uint32_t bit = json_is_string(e) ? hg_alert_event_parse(json_string_value(e)) : 0;
        if (!bit)
            return S_INVALID("events", "unknown event (one of failed, timeout, crashed, lost, "
                                       "skipped, late, recovered, missed)");
        *events |= bit;
    }
    return 0;
}

/* Members of obj other than allowed are refused (a typo must not pass). */
static int s_only_keys(json_t *obj, const char **allowed, const char *prefix, char *field,
                       size_t field_size, char *err, size_t err_size)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        bool known = false;
        for (int i = 0; allowed[i] && !known; i++)
            known = strcmp(key, allowed[i]) == 0;
        if (!known) {
            char name[300];
            /* A member named "" is still named in the answer. */
            snprintf(name, sizeof name, "%s%.200s", prefix, key[0] ? key : "\"\"");
            return S_INVALID(name, "unknown field");
        }
    }
    return 0;
}

static int s_parse_webhook(json_t *ch, hg_alert_rule_t *rule, char *field, size_t field_size,
                           char *err, size_t err_size)
{
    static const char *keys[] = {"type", "url", "secret", NULL};
    int rc = s_only_keys(ch, keys, "channel.", field, field_size, err, err_size);
    if (rc) return rc;
    const char *url = json_string_value(json_object_get(ch, "url"));
    if (!url || !s_is_text(url, HG_ALERT_URL_MAX) ||
        (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) || strchr(url, ' '))
        return S_INVALID("channel.url", "required: an http:// or https:// URL of at most 1024 "
                                        "bytes");
    json_t *s = json_object_get(ch, "secret");
    if (!json_is_string(s) || !s_is_text(json_string_value(s), HG_ALERT_SECRET_MAX) ||
        strlen(json_string_value(s)) < 16)
        return S_INVALID("channel.secret",
                         "required: the HMAC-SHA256 key the receiver checks, 16-512 bytes");
    rule->secret = strdup(json_string_value(s));
    rule->config = json_pack("{s:s}", "url", url);
    return rule->secret && rule->config ? 0 : HG_ENOMEM;
}

static int s_parse_email(json_t *ch, hg_alert_rule_t *rule, char *field, size_t field_size,
                         char *err, size_t err_size)
{
    static const char *keys[] = {"type",     "smtp_url", "from",     "to",
                                 "username", "password", "starttls", NULL};
    int rc = s_only_keys(ch, keys, "channel.", field, field_size, err, err_size);
    if (rc) return rc;
    const char *url = json_string_value(json_object_get(ch, "smtp_url"));
    if (!url || !s_is_text(url, HG_ALERT_URL_MAX) || strchr(url, ' ') ||
        (strncmp(url, "smtp://", 7) != 0 && strncmp(url, "smtps://", 8) != 0))
        return S_INVALID("channel.smtp_url", "required: smtp://host[:port] or smtps://host[:port]");
    const char *from = json_string_value(json_object_get(ch, "from"));
    if (!from || !s_is_address(from))
        return S_INVALID("channel.from", "required: the sender's e-mail address");
    json_t *to = json_object_get(ch, "to");
    if (!json_is_array(to) || json_array_size(to) == 0 || json_array_size(to) > HG_ALERT_TO_MAX)
        return S_INVALID("channel.to", "required: an array of 1-20 e-mail addresses");
    size_t i;
    json_t *a;
    json_array_foreach(to, i, a)
    {
        if (!json_is_string(a) || !s_is_address(json_string_value(a)))
            return S_INVALID("channel.to", "each entry must be an e-mail address");
    }
    json_t *user = json_object_get(ch, "username"), *pass = json_object_get(ch, "password");
    if (user && (!json_is_string(user) || !s_is_text(json_string_value(user), 256)))
        return S_INVALID("channel.username", "must be a string of 1-256 printable bytes");
    if (pass && (!json_is_string(pass) || !s_is_text(json_string_value(pass), HG_ALERT_SECRET_MAX)))
        return S_INVALID("channel.password", "must be a string of 1-512 printable bytes");
    if (pass && !user) return S_INVALID("channel.username", "required with channel.password");
    const char *tls = json_string_value(json_object_get(ch, "starttls"));
    if (json_object_get(ch, "starttls") &&
        (!tls || (strcmp(tls, "required") && strcmp(tls, "try") && strcmp(tls, "none"))))
        return S_INVALID("channel.starttls", "must be \"required\", \"try\" or \"none\"");
    rule->config = json_pack("{s:s, s:s, s:O, s:s}", "smtp_url", url, "from", from, "to", to,
                             "starttls", tls ? tls : "try");
    if (!rule->config) return HG_ENOMEM;
    if (user) json_object_set(rule->config, "username", user);
    if (pass && !(rule->secret = strdup(json_string_value(pass)))) return HG_ENOMEM;
    return 0;
}

static int s_parse_channel(json_t *ch, hg_alert_rule_t *rule, char *field, size_t field_size,
                           char *err, size_t err_size)
{
    if (!json_is_object(ch))
        return S_INVALID("channel", "required: an object with a type (webhook or email)");
    const char *type = json_string_value(json_object_get(ch, "type"));
    if (type && strcmp(type, "webhook") == 0) {
        snprintf(rule->channel, sizeof rule->channel, "webhook");
        return s_parse_webhook(ch, rule, field, field_size, err, err_size);
    }
    if (type && strcmp(type, "email") == 0) {
        snprintf(rule->channel, sizeof rule->channel, "email");
        return s_parse_email(ch, rule, field, field_size, err, err_size);
    }
    return S_INVALID("channel.type", "required: \"webhook\" or \"email\"");
}

/* Name, namespace, job selector. */
static int s_parse_selector(json_t *body, hg_alert_rule_t *rule, char *field, size_t field_size,
                            char *err, size_t err_size)
{
    const char *name = json_string_value(json_object_get(body, "name"));
    if (!name || !s_is_ident(name, HG_ALERT_NAME_MAX))
        return S_INVALID("name", "required: 1-128 characters of [A-Za-z0-9._-], starting with a "
                                 "letter or digit");
    snprintf(rule->name, sizeof rule->name, "%s", name);
    json_t *ns = json_object_get(body, "namespace");
    if (ns && !json_is_null(ns)) {
        if (!json_is_string(ns) || !s_is_ident(json_string_value(ns), HG_ALERT_NS_MAX))
            return S_INVALID("namespace", "must be a namespace name (1-64 of [A-Za-z0-9._-])");
        snprintf(rule->ns, sizeof rule->ns, "%s", json_string_value(ns));
    }
    json_t *job = json_object_get(body, "job");
    snprintf(rule->job, sizeof rule->job, "*");
    if (job && !json_is_null(job)) {
        if (!json_is_string(job) || !s_is_text(json_string_value(job), HG_ALERT_JOB_MAX))
            return S_INVALID("job", "must be a job name or glob (* ? [...]) of 1-190 bytes");
        snprintf(rule->job, sizeof rule->job, "%s", json_string_value(job));
    }
    return 0;
}

/* threshold, window, silence, dedup, late, missed. */
static int s_parse_limits(json_t *body, hg_alert_rule_t *rule, char *field, size_t field_size,
                          char *err, size_t err_size)
{
    json_t *t = json_object_get(body, "threshold");
    rule->threshold = 1;
    if (t && !json_is_null(t)) {
        if (!json_is_integer(t) || json_integer_value(t) < 1 || json_integer_value(t) > 100000)
            return S_INVALID("threshold", "must be an integer 1-100000");
        rule->threshold = (uint32_t) json_integer_value(t);
    }
    json_t *d = json_object_get(body, "dedup");
    rule->dedup = true;
    if (d && !json_is_null(d)) {
        if (!json_is_boolean(d)) return S_INVALID("dedup", "must be true or false");
        rule->dedup = json_is_true(d);
    }
    int rc;
    if ((rc = s_duration(body, "window", &rule->window_ms, field, field_size, err, err_size)) ||
        (rc = s_duration(body, "silence", &rule->silence_ms, field, field_size, err, err_size)) ||
        (rc = s_duration(body, "late", &rule->late_ms, field, field_size, err, err_size)) ||
        (rc = s_duration(body, "missed", &rule->missed_ms, field, field_size, err, err_size)))
        return rc;
    if (rule->threshold > 1 && rule->window_ms == 0)
        return S_INVALID("window", "required with a threshold above 1");
    if ((rule->events & HG_ALERT_LATE) && rule->late_ms <= 0)
        return S_INVALID("late", "required with the late event: how late a start may be");
    if ((rule->events & HG_ALERT_MISSED) && rule->missed_ms <= 0)
        return S_INVALID("missed", "required with the missed event: how long after a scheduled "
                                   "fire a success must come");
    return 0;
}

int hg_alert_rule_parse(json_t *body, hg_alert_rule_t *rule, char *field, size_t field_size,
                        char *err, size_t err_size)
{
    static const char *keys[] = {"name",   "namespace", "job",   "events", "channel", "threshold",
                                 "window", "silence",   "dedup", "late",   "missed",  NULL};
    memset(rule, 0, sizeof *rule);
    if (field_size) field[0] = '\0';
    if (!json_is_object(body)) return S_INVALID("body", "must be a JSON object");
    int rc = s_only_keys(body, keys, "", field, field_size, err, err_size);
    if (!rc) rc = s_parse_selector(body, rule, field, field_size, err, err_size);
    if (!rc)
        rc = s_parse_events(json_object_get(body, "events"), &rule->events, field, field_size, err,
                            err_size);
    if (!rc) rc = s_parse_limits(body, rule, field, field_size, err, err_size);
    if (!rc)
        rc = s_parse_channel(json_object_get(body, "channel"), rule, field, field_size, err,
                             err_size);
    if (rc) hg_alert_rule_clear(rule);
    return rc;
}

#undef S_INVALID

static json_t *s_duration_json(int64_t ms)
{
    char buf[32];
    if (ms % 1000)
        snprintf(buf, sizeof buf, "%lldms", (long long) ms);
    else
        snprintf(buf, sizeof buf, "%llds", (long long) (ms / 1000));
    return json_string(buf);
}

/* A channel URL as shown to readers: scheme and host only. A webhook's
 * path often is its credential (Slack's /services/T/B/X), and an SMTP URL
 * may carry user:password@; either would let a reader post as Hourglass. */
static json_t *s_url_shown(const char *url)
{
    const char *host = strstr(url, "://");
    if (!host) return json_string("<redacted>");
    host += 3;
    const char *at = strchr(host, '@'), *slash = strchr(host, '/');
    if (at && (!slash || at < slash)) host = at + 1;
    size_t n = strcspn(host, "/?#");
    char buf[HG_ALERT_URL_MAX + 32];
    snprintf(buf, sizeof buf, "%.*s%.*s%s", (int) (strstr(url, "://") + 3 - url), url, (int) n,
             host, host[n] ? "/<redacted>" : "");
    return json_string(buf);
}

json_t *hg_alert_rule_to_json(const hg_alert_rule_t *rule, bool reveal)
{
    json_t *events = json_array();
    for (size_t i = 0; i < S_EVENTS_N; i++)
        if (rule->events & s_events[i].bit)
            json_array_append_new(events, json_string(s_events[i].name));
    json_t *ch = rule->config ? json_deep_copy(rule->config) : json_object();
    json_object_set_new(ch, "type", json_string(rule->channel));
    const char *url_key = strcmp(rule->channel, "email") == 0 ? "smtp_url" : "url";
    const char *url = json_string_value(json_object_get(ch, url_key));
    if (url && !reveal) json_object_set_new(ch, url_key, s_url_shown(url));
    if (rule->secret)
        json_object_set_new(ch, strcmp(rule->channel, "email") == 0 ? "password" : "secret",
                            json_string(reveal ? rule->secret : "<redacted>"));
    json_t *o = json_pack("{s:I, s:s, s:s, s:o, s:o, s:i, s:b}", "id", (json_int_t) rule->id,
                          "name", rule->name, "job", rule->job, "events", events, "channel", ch,
                          "threshold", (int) rule->threshold, "dedup", rule->dedup);
    if (!o) return NULL;
    json_object_set_new(o, "namespace", rule->ns[0] ? json_string(rule->ns) : json_null());
    if (rule->window_ms) json_object_set_new(o, "window", s_duration_json(rule->window_ms));
    if (rule->silence_ms) json_object_set_new(o, "silence", s_duration_json(rule->silence_ms));
    if (rule->late_ms) json_object_set_new(o, "late", s_duration_json(rule->late_ms));
    if (rule->missed_ms) json_object_set_new(o, "missed", s_duration_json(rule->missed_ms));
    return o;
}

void hg_alert_rule_clear(hg_alert_rule_t *rule)
{
    if (!rule) return;
    json_decref(rule->config);
    if (rule->secret) {
        sodium_memzero(rule->secret, strlen(rule->secret));
        free(rule->secret);
    }
    memset(rule, 0, sizeof *rule);
}

/* ---------------------------------------------------------------------------
 * Selection and decisions
 * ------------------------------------------------------------------------ */

bool hg_alert_rule_matches(const hg_alert_rule_t *rule, const char *ns, const char *name)
{
    if (rule->ns[0] && strcmp(rule->ns, ns ? ns : "") != 0) return false;
    return fnmatch(rule->job, name ? name : "", 0) == 0;
}

uint32_t hg_alert_run_event(const hg_alert_rule_t *rule, const hg_alert_run_t *run)
{
    uint32_t ev = 0;
    switch (run->status) {
    case HG_RUN_FAILED:
        ev = HG_ALERT_FAILED;
        break;
    case HG_RUN_TIMEOUT:
        ev = HG_ALERT_TIMEOUT;
        break;
    case HG_RUN_CRASHED:
        ev = HG_ALERT_CRASHED;
        break;
    case HG_RUN_LOST:
        ev = HG_ALERT_LOST;
        break;
    case HG_RUN_SKIPPED:
        ev = HG_ALERT_SKIPPED;
        break;
    case HG_RUN_SUCCESS:
        if ((rule->events & HG_ALERT_LATE) && run->started_ms &&
            run->started_ms - run->scheduled_ms > rule->late_ms)
            return HG_ALERT_LATE;
        return 0;
    default:
        return 0;
    }
    /* One alert per run, never per attempt: an attempt that another
     * follows is no event yet. */
    if (!run->final) return 0;
    return (rule->events & ev) ? ev : 0;
}

bool hg_alert_run_is_ok(const hg_alert_rule_t *rule, const hg_alert_run_t *run)
{
    return run->status == HG_RUN_SUCCESS && hg_alert_run_event(rule, run) == 0;
}

hg_alert_outcome_t hg_alert_decide(const hg_alert_rule_t *rule, hg_alert_state_t *state,
                                   int64_t now_ms)
{
    /* The same problem again, already alerted: one alert per episode. */
    if (rule->dedup && state->alerted) return HG_ALERT_DEDUP;
    if (state->window_count == 0 ||
        (rule->window_ms > 0 && now_ms - state->window_start_ms > rule->window_ms)) {
        state->window_start_ms = now_ms;
        state->window_count = 0;
    }
    if (state->window_count < UINT32_MAX) state->window_count++;
    /* Only the event that meets the threshold may send: the ones after it
     * in the same window do not, so a threshold rule sends at most once
     * per window (threshold 1 without a window: every event). */
    bool every = rule->threshold == 1 && rule->window_ms == 0;
    if (every)
        state->window_count = 0;
    else if (state->window_count != rule->threshold)
        return HG_ALERT_THRESHOLD;
    if (now_ms < state->silenced_until_ms) return HG_ALERT_SILENCED;
    state->alerted = true;
    state->silenced_until_ms = rule->silence_ms > 0 ? now_ms + rule->silence_ms : 0;
    return HG_ALERT_SEND;
}

void hg_alert_synthetic_key(uint64_t job_id, int64_t fire_ms, uint8_t key[HG_RUNID_SIZE])
{
    /* The fire time first, as in a run id; then the job; a marker byte
     * that no UUIDv7 has (version nibble 0) keeps it from any real id. */
    memset(key, 0, HG_RUNID_SIZE);
    uint64_t t = (uint64_t) fire_ms;
    for (int i = 0; i < 6; i++)
        key[i] = (uint8_t) (t >> (40 - 8 * i));
    key[6] = 0x00;
    key[7] = 0xA1;
    for (int i = 0; i < 8; i++)
        key[8 + i] = (uint8_t) (job_id >> (56 - 8 * i));
}

void hg_alert_text(const char *event, const char *ns, const char *job, const char *run_id,
                   const char *node, const char *error, char *buf, size_t size)
{
    int n = snprintf(buf, size, "[hourglass] %s: %s/%s", event, ns ? ns : "default", job);
    if (n < 0 || (size_t) n >= size) return;
    size_t used = (size_t) n;
    if (run_id && *run_id) {
        n = snprintf(buf + used, size - used, " run %s", run_id);
        if (n < 0 || (size_t) n >= size - used) return;
        used += (size_t) n;
    }
    if (node && *node) {
        n = snprintf(buf + used, size - used, " on %s", node);
        if (n < 0 || (size_t) n >= size - used) return;
        used += (size_t) n;
    }
    if (error && *error) snprintf(buf + used, size - used, ": %s", error);
}
