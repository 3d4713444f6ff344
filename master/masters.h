/* masters: every master's heartbeat row (schema/014_masters.sql), written
 * by the election actor (leader.c) on its lock connection and read by
 * GET /api/v1/masters (api_masters.c): the leader and its standbys, each
 * with its epoch, for the dashboard's Overview and `hourglass masters`.
 *
 * A master beats every HG_MASTERS_BEAT_MS; a row whose beat is older than
 * HG_MASTERS_STALE_MS is reported as down (the master stopped or lost
 * MySQL); the leader deletes rows silent for HG_MASTERS_FORGET_S. */
#ifndef HG_MASTER_MASTERS_H
#define HG_MASTER_MASTERS_H

#include <jansson.h>
#include <mysql.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HG_MASTERS_BEAT_MS  2000
#define HG_MASTERS_STALE_MS 10000
#define HG_MASTERS_FORGET_S (24 * 3600)
#define HG_MASTERS_MAX      100 /* rows listed: more masters than this is a misconfiguration */

/* What one master says of itself. */
typedef struct {
    const char *name;     /* master name */
    const char *api_url;  /* its REST API URL */
    const char *endpoint; /* ZeroMQ endpoint workers dial */
    bool leading;         /* leader or standby */
    uint64_t epoch;       /* its epoch while leading, the leader's it follows; 0 unknown */
    int64_t started_ms;   /* when this master started (wall clock) */
} hg_masters_beat_t;

/* Write this master's row (insert or update); the leader also forgets rows
 * silent for a day. 0 or HG_EDB with err set. Blocks on MySQL. */
int hg_masters_beat(MYSQL *conn, const hg_masters_beat_t *beat, char *err, size_t err_size);

/* Every master's row, leader first then by name, as a JSON array of
 * {name, api_url, endpoint, role, epoch, started_at, last_heartbeat,
 * state: up|down}; *out is the caller's. 0 or HG_EDB/HG_ENOMEM. */
int hg_masters_list(MYSQL *conn, json_t **out, char *err, size_t err_size);

#endif
