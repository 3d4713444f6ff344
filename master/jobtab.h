/* jobtab: the cluster actor's table of active jobs, compact enough for a
 * million of them.
 *
 * A job's wire spec is split in two. What tells jobs apart (id, version,
 * name, URL, parameters, start and end) sits in the job's own record, one
 * allocation per job; everything else (namespace, kind, schedule, time
 * zone, misfire policy, timeout, the rest of the HTTP or plug-in task, the
 * pinned nodes) sits in a template that all jobs with the same values
 * share. Records are found by id in an open-addressing table keyed by the
 * number, not by its text. The table belongs to the cluster actor alone. */
#ifndef HG_MASTER_JOBTAB_H
#define HG_MASTER_JOBTAB_H

#include "hg_proto.h"
#include "routing.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The shared part of the specs of one or more jobs. */
typedef struct {
    hg_assign_t spec;  /* shared fields; job_id, version, name, http.url, params, start_ms,
                          end_ms, epoch and last_fire_ms are unused (0 / NULL) */
    json_t *pins;      /* executor.nodes when it names any (owned), else NULL */
    hg_route_t *route; /* labels, strategy, mode, shards (owned); NULL: none (routing.h) */
    bool sha_resolved; /* spec.plugin.sha256 came from the plug-in store, not the job */
    bool changed;      /* scratch mark for a walk over the templates */
    uint32_t refs;     /* jobs pointing at it */
    size_t hash;       /* hash of key */
    size_t key_len;    /* bytes in key */
    uint8_t *key;      /* canonical encoding of the shared fields as given (owned) */
} hg_jobtpl_t;

/* A run to re-run once on the job's holder: one of a job with recover:
 * true lost with its worker (TRIGGER reason "recover"), or a fire that was
 * not sent (reason "refire"). It stays pending until a record of the
 * re-run comes back: a holder lost before it ran it (its TRIGGER unread)
 * leaves it to the job's next holder (cluster_refire.c). */
typedef struct {
    int64_t scheduled_ms; /* scheduled time of the lost run, kept by the re-run */
    uint32_t attempt;     /* attempt number of the re-run */
    bool refire;          /* a fire that was not sent (refire.h): TRIGGER reason "refire" */
    uint64_t sent_epoch;  /* the job's epoch its TRIGGER went out under; 0: not sent yet */
    size_t sent_to;       /* hg_keyhash_str of the node it went to */
} hg_jobrec_recovery_t;

/* One active job. */
typedef struct {
    uint64_t id;                      /* catalogue id */
    uint64_t version;                 /* job version */
    int64_t start_ms;                 /* no fire before, 0 = unbounded */
    int64_t end_ms;                   /* no fire after, 0 = unbounded */
    hg_jobtpl_t *tpl;                 /* shared part of the spec (a reference) */
    const char *node;                 /* holder's name (owned by the cluster's node table,
                                         which outlives it), "" when unassigned */
    uint64_t epoch;                   /* current assignment epoch */
    int64_t last_fire_ms;             /* last scheduled time known to have fired */
    uint64_t handed_from_epoch;       /* epoch before its last move to another worker, 0: none */
    int64_t handed_last_ms;           /* last_fire_ms that move gave the new holder (refire.h) */
    int64_t revoke_sent_mono_ms;      /* when the pending REVOKE went out (resent if unanswered) */
    hg_jobrec_recovery_t *recoveries; /* runs to re-run, pending until reported (owned) */
    uint32_t recoveries_n;            /* entries in recoveries */
    bool fresh;                       /* created after this master started: nobody can hold it */
    bool revoking;                    /* REVOKE sent to its draining holder, ack awaited */
    bool has_url;                     /* text holds a URL after the name */
    uint16_t params_n;                /* parameters in text (at most HG_PROTO_MAX_ITEMS) */
    bool kept;                        /* scratch mark for the cluster's HELLO handling */
    bool current;                     /* scratch: its holder said it has this version */
    char text[];                      /* name NUL [url NUL] (key NUL value NUL)... */
} hg_jobrec_t;

typedef struct hg_jobtab hg_jobtab_t;

/* New empty table; NULL when out of memory. */
hg_jobtab_t *hg_jobtab_new(void);
/* Free the table, its records and templates; NULL the caller's pointer. */
void hg_jobtab_destroy(hg_jobtab_t **self);

/* Make a record from a full wire spec (as hg_job_to_assign gives it) and
 * the job's pinned nodes (borrowed; copied when it names any), or its
 * whole executor object (hg_job_executor), whose routing then goes into
 * the template too. Takes the
 * members of spec, which is left cleared, also on failure. The record is
 * not in the table yet (hg_jobtab_put). NULL on failure, with *err (when
 * err is not NULL) HG_ENOMEM, or HG_ETOOBIG / HG_EINVAL when the spec
 * cannot go on the wire (more than HG_PROTO_MAX_ITEMS parameters, an
 * oversize string). */
hg_jobrec_t *hg_jobtab_make(hg_jobtab_t *self, hg_assign_t *spec, json_t *pins, int *err);

/* Make a record like `like`: the same template (one more reference), URL
 * and parameters, with id and name given; version, start and end 0 and
 * nothing assigned. NULL when out of memory. */
hg_jobrec_t *hg_jobtab_make_like(hg_jobtab_t *self, const hg_jobrec_t *like, uint64_t id,
                                 const char *name);

/* Make a record with the template of `like` (one more reference) and its
 * own id, name, URL (NULL for none) and parameters (all borrowed);
 * version, start and end 0 and nothing assigned. NULL when out of memory
 * or with more than HG_PROTO_MAX_ITEMS parameters. */
hg_jobrec_t *hg_jobtab_make_shaped(hg_jobtab_t *self, const hg_jobrec_t *like, uint64_t id,
                                   const char *name, const char *url, const hg_kv_t *params,
                                   size_t params_n);

/* Insert rec, or replace the record with its id: *old (when not NULL) gets
 * the replaced record (the caller frees it with hg_jobtab_free), else NULL.
 * 0 or HG_ENOMEM (rec not inserted). */
int hg_jobtab_put(hg_jobtab_t *self, hg_jobrec_t *rec, hg_jobrec_t **old);
/* The record of id, or NULL. */
hg_jobrec_t *hg_jobtab_find(hg_jobtab_t *self, uint64_t id);
/* Take id's record out of the table and free it. Safe when absent. */
void hg_jobtab_remove(hg_jobtab_t *self, uint64_t id);
/* Free a record that is not (or no longer) in the table; NULLs *rec. */
void hg_jobtab_free(hg_jobtab_t *self, hg_jobrec_t **rec);
/* Records in the table. */
size_t hg_jobtab_size(hg_jobtab_t *self);

/* Walk the records: start with *cursor = 0; returns the next record at or
 * after *cursor (advancing it past) or NULL at the end. Removing records
 * during a walk is allowed; inserting is not. */
hg_jobrec_t *hg_jobtab_next(hg_jobtab_t *self, size_t *cursor);
/* The record in slot i (< hg_jobtab_slots), or NULL when it holds none. */
hg_jobrec_t *hg_jobtab_at(hg_jobtab_t *self, size_t i);
/* Slots a cursor runs over (a walk started at some cursor c may wrap and
 * go on from 0 up to c). */
size_t hg_jobtab_slots(hg_jobtab_t *self);

/* Walk the templates (same cursor rule; nothing may be added meanwhile). */
hg_jobtpl_t *hg_jobtab_tpl_next(hg_jobtab_t *self, size_t *cursor);
/* Templates in the table. */
size_t hg_jobtab_tpl_count(hg_jobtab_t *self);

/* The job's wire spec: a view of the record and its template (borrowed
 * pointers, valid while both live) with epoch and last_fire_ms set. kv
 * has room for rec->params_n entries (NULL when 0); out->params points
 * at it. */
void hg_jobrec_spec(const hg_jobrec_t *rec, hg_assign_t *out, hg_kv_t *kv);
/* The job's URL, NULL for plug-in jobs. */
const char *hg_jobrec_url(const hg_jobrec_t *rec);
/* The job's name. */
static inline const char *hg_jobrec_name(const hg_jobrec_t *rec)
{
    return rec->text;
}

#endif
