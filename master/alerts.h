/* alerts: alert rules (issue 12) and the decisions made on them, without
 * I/O: parsing and validating a rule from the API's JSON, which jobs a rule
 * selects, which event a finished run is for a rule, and whether an event
 * is sent, given the rule's threshold, silence and dedup state.
 *
 * The engine (alert_engine.h) feeds committed run records through these
 * and keeps the state in MySQL; the sender (alert_sender.h) delivers; the
 * channels (alert_channel.h) speak webhook and SMTP. */
#ifndef HG_MASTER_ALERTS_H
#define HG_MASTER_ALERTS_H

#include "hg_runid.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Events a rule may ask for, as bits of hg_alert_rule_t.events. */
typedef enum {
    HG_ALERT_FAILED = 1u << 0,    /* final failure (after retries) */
    HG_ALERT_TIMEOUT = 1u << 1,   /* the run hit its timeout */
    HG_ALERT_CRASHED = 1u << 2,   /* the executor crashed */
    HG_ALERT_LOST = 1u << 3,      /* its worker was lost mid-run */
    HG_ALERT_SKIPPED = 1u << 4,   /* not run (concurrency, misfire) */
    HG_ALERT_LATE = 1u << 5,      /* started more than late_ms after its scheduled time */
    HG_ALERT_RECOVERED = 1u << 6, /* first success after an alerted problem */
    HG_ALERT_MISSED = 1u << 7,    /* no success within missed_ms of a scheduled fire */
} hg_alert_event_t;

#define HG_ALERT_EVENTS_ALL 0xffu

/* Bounds of a rule's fields (API validation). */
#define HG_ALERT_NAME_MAX     128
#define HG_ALERT_NS_MAX       64
#define HG_ALERT_JOB_MAX      190
#define HG_ALERT_URL_MAX      1024
#define HG_ALERT_SECRET_MAX   512
#define HG_ALERT_ADDR_MAX     254
#define HG_ALERT_TO_MAX       20
#define HG_ALERT_DURATION_MAX (366LL * 24 * 3600 * 1000)

/* One rule as the engine and the sender use it. */
typedef struct {
    uint64_t id;                      /* alert_rules.id; 0 before it is stored */
    char name[HG_ALERT_NAME_MAX + 1]; /* unique name */
    char ns[HG_ALERT_NS_MAX + 1];     /* namespace it watches; "" = every namespace */
    char job[HG_ALERT_JOB_MAX + 1];   /* job name or glob (fnmatch: * ? [...]) */
    uint32_t events;                  /* hg_alert_event_t bits */
    char channel[16];                 /* "webhook" or "email" */
    json_t *config;                   /* channel settings without the secret (owned) */
    char *secret;                     /* webhook HMAC key or SMTP password, NULL if none (owned) */
    uint32_t threshold;               /* events within window_ms before one is sent (>= 1) */
    int64_t window_ms;                /* threshold window; 0 = unbounded */
    int64_t silence_ms;               /* after a send, nothing more for (rule, job, event) */
    bool dedup;                       /* one alert per problem episode until recovered */
    int64_t late_ms;                  /* "late" threshold (events has HG_ALERT_LATE) */
    int64_t missed_ms;                /* "missed" grace after a scheduled fire */
} hg_alert_rule_t;

/* The facts of one finished run an alert needs (a fixed-size copy: the
 * cluster actor passes these to the engine without further allocation). */
typedef struct {
    uint8_t run_id[HG_RUNID_SIZE]; /* run id */
    uint64_t job_id;               /* catalogue id */
    int64_t scheduled_ms;          /* scheduled fire */
    int64_t started_ms;            /* actual start, 0 if never */
    int64_t finished_ms;           /* end */
    uint32_t attempt;              /* attempt number */
    int32_t status;                /* hg_run_status_t */
    int32_t http_status;           /* 0 if none */
    int32_t exit_code;             /* 0 if none */
    bool final;                    /* no further attempt follows (retry policy) */
    char job_name[192];            /* job name at fire time */
    char node[192];                /* worker */
    char error[512];               /* error text, cut */
} hg_alert_run_t;

/* The dedup, threshold and silence state of one (rule, job, event). */
typedef struct {
    bool alerted;              /* an alert was sent and no recovery seen since */
    int64_t window_start_ms;   /* start of the threshold window */
    uint32_t window_count;     /* events in it */
    int64_t silenced_until_ms; /* no send before this */
} hg_alert_state_t;

/* What becomes of one event. */
typedef enum {
    HG_ALERT_SEND = 0,  /* deliver it */
    HG_ALERT_DEDUP,     /* the same problem was alerted already */
    HG_ALERT_THRESHOLD, /* fewer than threshold events in the window so far */
    HG_ALERT_SILENCED,  /* within the silence after a send */
} hg_alert_outcome_t;

/* "failed", "timeout", ...: the name of one event bit; NULL if unknown. */
const char *hg_alert_event_name(uint32_t event);
/* Inverse; 0 when unknown. */
uint32_t hg_alert_event_parse(const char *name);
/* "send", "dedup", "threshold", "silenced". */
const char *hg_alert_outcome_name(hg_alert_outcome_t outcome);

/* Events bits as a comma-separated list ("failed,recovered") into buf. */
void hg_alert_events_format(uint32_t events, char *buf, size_t size);
/* Parse such a list; 0 or HG_EINVAL (an unknown or empty name). */
int hg_alert_events_parse(const char *text, uint32_t *events);

/* Validate a rule given as the body of POST /api/v1/alerts (docs/api.md)
 * into *rule (cleared first; free with hg_alert_rule_clear). 0, or
 * HG_EINVAL with the offending member's name in field and why in err. */
int hg_alert_rule_parse(json_t *body, hg_alert_rule_t *rule, char *field, size_t field_size,
                        char *err, size_t err_size);

/* The rule in API form; the channel's secret as "<redacted>" unless
 * reveal (nothing when it has none). New reference. */
json_t *hg_alert_rule_to_json(const hg_alert_rule_t *rule, bool reveal);

/* Free what the rule owns and zero it. */
void hg_alert_rule_clear(hg_alert_rule_t *rule);

/* Does the rule watch job name of namespace ns? */
bool hg_alert_rule_matches(const hg_alert_rule_t *rule, const char *ns, const char *name);

/* The problem event a finished run is for this rule (one of its events
 * bits), 0 for none: a success (see hg_alert_run_is_ok), a run of a
 * status the rule does not watch, or an attempt that a retry follows. */
uint32_t hg_alert_run_event(const hg_alert_rule_t *rule, const hg_alert_run_t *run);

/* A run that counts as a success: it may close an alerted episode. */
bool hg_alert_run_is_ok(const hg_alert_rule_t *rule, const hg_alert_run_t *run);

/* Decide an event at now_ms and update state for it. */
hg_alert_outcome_t hg_alert_decide(const hg_alert_rule_t *rule, hg_alert_state_t *state,
                                   int64_t now_ms);

/* A stable key of a synthetic event (no run of its own: "missed" for the
 * fire at fire_ms of job_id) in the run id's shape, for the outbox's
 * unique (rule, run) key. */
void hg_alert_synthetic_key(uint64_t job_id, int64_t fire_ms, uint8_t key[HG_RUNID_SIZE]);

/* The human line of an event, Slack's "text": "[hourglass] failed:
 * default/backup run 0190... on w1: HTTP 500". */
void hg_alert_text(const char *event, const char *ns, const char *job, const char *run_id,
                   const char *node, const char *error, char *buf, size_t size);

#endif
