/* routing: where a job may run and how its holder is chosen (issue 11,
 * "Routing, broadcast and sharding"); pure logic, no cluster state.
 *
 * A job's executor object carries, besides its pinned nodes:
 *   labels    a selector over the labels workers send in HELLO; every
 *             term must hold. JSON form, one member per label key:
 *               "region": "eu"                  label equals "eu"
 *               "region": {"not": "eu"}         label absent or not "eu"
 *               "gpu":    {"exists": true}      label present, any value
 *               "spot":   {"exists": false}     label absent
 *             (CLI form: region=eu,region!=eu,gpu,!spot)
 *   strategy  how the one holder is picked among the matching nodes:
 *             least_loaded (default), round_robin, random, consistent_hash
 *   mode      "single" (default: one holder fires each time) or
 *             "broadcast" (every matching live node fires each time)
 *   shards    1 (default) or N >= 2: each fire runs as N shard runs
 *
 * A broadcast or sharded job is held as several "slot" records, one per
 * node (broadcast) or per shard, each a job of its own to the lease and
 * placement machinery. A slot's id packs the job id with the slot, so the
 * worker, the peer guard and the lease rule need no change, and the store
 * turns it back into the job id and shard columns by arithmetic alone
 * (hg_route_vid_split): a late record of a slot that no longer exists is
 * still recorded under its job. */
#ifndef HG_MASTER_ROUTING_H
#define HG_MASTER_ROUTING_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HG_ROUTE_SHARDS_MAX  1000 /* shards of one job */
#define HG_ROUTE_LABELS_MAX  64   /* terms in one selector */
#define HG_ROUTE_LABEL_MAX   190  /* bytes of one label key or value */
#define HG_ROUTE_BCAST_SLOTS 4096 /* broadcast slots (nodes) of one job */
#define HG_RING_VNODES       160  /* points per node on the hash ring */

typedef enum {
    HG_ROUTE_LEAST_LOADED = 0,
    HG_ROUTE_ROUND_ROBIN,
    HG_ROUTE_RANDOM,
    HG_ROUTE_CONSISTENT_HASH,
} hg_route_strategy_t;

typedef enum {
    HG_ROUTE_SINGLE = 0, /* one holder */
    HG_ROUTE_BROADCAST,  /* one slot per matching node */
    HG_ROUTE_SHARDS,     /* one slot per shard */
} hg_route_mode_t;

typedef enum { HG_SEL_EQ, HG_SEL_NE, HG_SEL_EXISTS, HG_SEL_ABSENT } hg_sel_op_t;

/* One selector term. */
typedef struct {
    char *key;      /* label key (owned) */
    char *value;    /* HG_SEL_EQ / HG_SEL_NE: the value (owned), else NULL */
    hg_sel_op_t op; /* what must hold */
} hg_sel_term_t;

/* The routing of a job beyond pinned nodes. */
typedef struct {
    hg_route_strategy_t strategy; /* how the holder of a slot or a single job is picked */
    hg_route_mode_t mode;         /* single, broadcast or shards */
    uint32_t shards;              /* HG_ROUTE_SHARDS: shard count (>= 2), else 1 */
    hg_sel_term_t *terms;         /* label selector (owned), all must hold */
    size_t terms_n;               /* terms in it */
} hg_route_t;

/* Validate the routing members of an API executor object (labels,
 * strategy, mode, shards) and write them, normalized, into out (the
 * executor object being built). Defaults are left out, so a job without
 * routing keeps the executor it always had. 0, or HG_EINVAL with the dotted
 * field name in field and the reason (without the field) in reason. */
int hg_route_validate(json_t *executor, json_t *out, char *field, size_t field_size, char *reason,
                      size_t reason_size);

/* The routing of a normalized executor object; NULL when it has none
 * beyond pins (the common case: nothing to store or check), or when out
 * of memory (*err HG_ENOMEM; err may be NULL). */
hg_route_t *hg_route_new(json_t *executor, int *err);
void hg_route_destroy(hg_route_t **route);

/* Do labels (an object of strings, may be NULL) satisfy the selector? */
bool hg_route_matches(const hg_route_t *route, json_t *labels);
/* The selector in its CLI form ("region=eu,!spot") into buf. */
void hg_route_selector_text(const hg_route_t *route, char *buf, size_t size);

/* "least_loaded", ... / "single", ... */
const char *hg_route_strategy_name(hg_route_strategy_t s);
const char *hg_route_mode_name(hg_route_mode_t m);

/* ------------------------------------------------------------ slot ids */

/* A slot id: bit 63 set, shard total in bits 52-62 (0 for broadcast),
 * slot index in bits 40-51, the job id in bits 0-39. Job ids are
 * AUTO_INCREMENT values far below 2^40. */
#define HG_ROUTE_ID_BITS 40

/* The id of slot index of job_id; total is the shard count (0 for a
 * broadcast slot). */
uint64_t hg_route_vid(uint64_t job_id, uint32_t index, uint32_t total);
/* Is id a slot id? */
static inline bool hg_route_is_vid(uint64_t id)
{
    return (id >> 63) != 0;
}
/* The job id of id (id itself for a plain job id); index and total (may
 * be NULL) get the slot's index and shard total, 0 and 0 for a plain id. */
uint64_t hg_route_vid_split(uint64_t id, uint32_t *index, uint32_t *total);

/* The broadcast slot index of a node name for a job: a hash of the name,
 * so that another master derives the same slot (taken tells which are in
 * use by other nodes; the next free one is used on a collision). */
uint32_t hg_route_bcast_index(const char *node, const bool *taken);

/* ------------------------------------------------------------ hash ring */

/* A consistent-hash ring of node names with HG_RING_VNODES points each:
 * a key belongs to the first point at or after its hash whose node is
 * acceptable. When one node of n joins, only the keys whose first
 * acceptable point is now one of its points move: about 1/(n+1). */
typedef struct hg_ring hg_ring_t;

hg_ring_t *hg_ring_new(void);
void hg_ring_destroy(hg_ring_t **ring);
/* Replace the ring's nodes with names (copied). 0 or HG_ENOMEM. */
int hg_ring_build(hg_ring_t *ring, const char *const *names, size_t n);
/* Nodes on the ring. */
size_t hg_ring_size(const hg_ring_t *ring);
/* The node owning key: the first point clockwise from hash(key) whose
 * node accept(arg, name) takes (accept NULL: any). NULL when none does. */
const char *hg_ring_pick(const hg_ring_t *ring, uint64_t key,
                         bool (*accept)(void *arg, const char *name), void *arg);

/* 64-bit FNV-1a of a string, then mixed; the ring's and slots' hash. */
uint64_t hg_route_hash(const void *data, size_t len);

#endif
