/* depfire_shards: a sharded parent's fire counts for its dependents once,
 * when all its shards have ended (issue 11; docs/jobs.md "Dependencies").
 *
 * A sharded job's fire is shard_total runs (one per shard, each its own
 * row with shard_index/shard_total). Counted one by one, as the engine
 * counts other parent runs, a child would fire for each shard, and before
 * the others had ended. Instead the engine (depfire.c) leaves shard rows
 * out of its per-run counting and, in its scan of recent parent runs, puts
 * into dep_inbox one row per complete fire: every shard has a final record
 * (ended, no further attempt due). The row's parent run is the fire's
 * smallest run id, so a scan repeated after a leader change finds the same
 * key and INSERT IGNORE keeps it once. Its status is success when every
 * shard succeeded and failed otherwise (what on: success / failure match);
 * no result is passed (each shard has its own). A run of a sharded parent
 * that reaches the engine has its fire (job, scheduled time) looked at on
 * the engine's next tick, so the child fires within about S_TICK_MS of the
 * last shard's record, however long the shards took; the scan covers the
 * last 5 minutes of scheduled times, for records that did not reach it. */
#ifndef HG_MASTER_DEPFIRE_SHARDS_H
#define HG_MASTER_DEPFIRE_SHARDS_H

#include <mysql.h>
#include <stdint.h>

/* The SQL condition, on a row of runs, of a run that is not a shard (for
 * the per-run scan). */
#define HG_DEPFIRE_NOT_SHARD "COALESCE(shard_total, 0) <= 1"

/* Prepare the three statements of the scan (on = success, failure,
 * always: st[0..2]). 0 or HG_EDB with the reason in err. */
int hg_depfire_shards_prepare(MYSQL *db, MYSQL_STMT *st[3], char *err, size_t err_size);

/* Scan the complete sharded fires of parent_id scheduled in [since_ms,
 * until_ms] and finished (the last shard) at or after created_ms into dep_inbox for
 * child_id, with the statement of the edge's on bits (1 success, 2
 * failure, 3 always). *added: rows inserted. 0 or HG_EDB. */
int hg_depfire_shards_scan(MYSQL_STMT *st[3], int on, uint64_t child_id, const char *parent_name,
                           uint64_t parent_id, int64_t since_ms, int64_t until_ms,
                           int64_t created_ms, uint64_t *added);

#endif
