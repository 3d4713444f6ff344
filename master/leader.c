/* leader: advisory-lock leader election on a dedicated MySQL connection
 * (see leader.h for the rules). Every MySQL call here may block up to the
 * connection's timeouts; that delays only this actor, never the cluster
 * loop, which goes on serving workers meanwhile. */
#include "leader.h"
#include "actor_loop.h"
#include "masters.h"
#include "hg_error.h"
#include "hg_log.h"
#include "hg_time.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_LOCK_PREFIX "hourglass.leader."
#define S_LOCK_MAX    64 /* MySQL's limit on lock names */

typedef enum { S_STANDBY, S_LEADER, S_DONE } s_role_t;

typedef struct {
    const hg_leader_args_t *args; /* settings */
    zsock_t *pipe;                /* to the owner */
    MYSQL *conn;                  /* the lock connection, NULL while down */
    char lock_name[S_LOCK_MAX + 1];
    char lock_sql[2 * S_LOCK_MAX + 3]; /* lock_name escaped and quoted for SQL */
    s_role_t role;                     /* standby, leader, or done after LOST */
    uint64_t epoch;                    /* our fencing epoch while leading */
    bool unconfirmed;       /* leader whose lock connection broke; lock not taken again yet */
    int64_t unconfirmed_ms; /* monotonic time it broke */
    bool db_warned;         /* "cannot reach MySQL" logged for this outage */
    char seen[1100];        /* leadership row last reported to the owner */
    uint64_t seen_epoch;    /* the leader's epoch per that row, 0 unknown */
    int64_t started_ms;     /* wall-clock start, for the masters row */
    int64_t beat_ms;        /* monotonic time of the last masters row write, 0 never */
    bool beat_warned;       /* "cannot write the masters row" logged for this outage */
} s_leader_t;

void hg_leader_lock_name(const char *database, char *buf, size_t size)
{
    const char *db = database ? database : "";
    size_t len = strlen(db);
    if (strlen(S_LOCK_PREFIX) + len <= S_LOCK_MAX) {
        snprintf(buf, size, "%s%s", S_LOCK_PREFIX, db);
        return;
    }
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a, 64 bits */
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char) db[i];
        h *= 0x100000001b3ULL;
    }
    snprintf(buf, size, "%s%.30s.%016" PRIx64, S_LOCK_PREFIX, db, h);
}

/* ------------------------------------------------------------ connection */

static void s_drop(s_leader_t *self)
{
    hg_db_close(&self->conn);
}

static int s_connect(s_leader_t *self)
{
    if (self->conn) return 0;
    char err[512];
    self->conn = hg_db_connect(self->args->db, err, sizeof err);
    if (!self->conn) {
        if (!self->db_warned)
            hg_warn("leader: %s; %s", err,
                    self->role == S_LEADER ? "leading on while MySQL is unreachable" : "retrying");
        self->db_warned = true;
        return HG_EUNAVAIL;
    }
    if (self->db_warned) hg_info("leader: MySQL reachable again");
    self->db_warned = false;
    char escaped[2 * S_LOCK_MAX + 1];
    mysql_real_escape_string(self->conn, escaped, self->lock_name, strlen(self->lock_name));
    snprintf(self->lock_sql, sizeof self->lock_sql, "'%s'", escaped);
    return 0;
}

/* Run a query returning one row; copy up to n columns into cols (NULL
 * for SQL NULL; caller frees each). 0 when a row came, HG_ENOTFOUND when
 * none, HG_EDB on failure (the connection is then dropped: a fresh one is
 * the only safe assumption about lock state). */
static int s_query_row(s_leader_t *self, const char *sql, char **cols, size_t n)
{
    for (size_t i = 0; i < n; i++)
        cols[i] = NULL;
    if (mysql_query(self->conn, sql) != 0) {
        hg_warn("leader: query failed: %s", mysql_error(self->conn));
        s_drop(self);
        return HG_EDB;
    }
    MYSQL_RES *res = mysql_store_result(self->conn);
    if (!res) {
        hg_warn("leader: no result: %s", mysql_error(self->conn));
        s_drop(self);
        return HG_EDB;
    }
    MYSQL_ROW row = mysql_fetch_row(res);
    unsigned int fields = mysql_num_fields(res);
    if (row)
        for (size_t i = 0; i < n && i < fields; i++)
            cols[i] = row[i] ? strdup(row[i]) : NULL;
    mysql_free_result(res);
    return row ? 0 : HG_ENOTFOUND;
}

/* 1 when we hold the lock now, 0 when another connection holds it,
 * HG_EDB on failure. */
static int s_try_lock(s_leader_t *self)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT GET_LOCK(%s, 0)", self->lock_sql);
    char *v = NULL;
    int rc = s_query_row(self, sql, &v, 1);
    if (rc != 0) return HG_EDB;
    /* NULL means an error inside GET_LOCK (e.g. the thread was killed). */
    int got = v && strcmp(v, "1") == 0 ? 1 : v ? 0 : HG_EDB;
    free(v);
    if (got == HG_EDB) s_drop(self);
    return got;
}

/* Leader row: name, endpoint, api_url, epoch text. 0, HG_ENOTFOUND, HG_EDB. */
static int s_read_row(s_leader_t *self, char **cols)
{
    return s_query_row(self,
                       "SELECT master, endpoint, api_url, CAST(epoch AS CHAR) FROM leadership"
                       " WHERE id = 1",
                       cols, 4);
}

/* Raise the epoch and write who we are. Only the lock holder writes the
 * row, so the read that follows sees our own write. */
static int s_bump_epoch(s_leader_t *self)
{
    char err[512];
    MYSQL_STMT *st = hg_db_prepare(
        self->conn,
        "INSERT INTO leadership (id, master, endpoint, api_url, epoch, since)"
        " VALUES (1, ?, ?, ?, CAST(ROUND(UNIX_TIMESTAMP(NOW(3)) * 1000) AS UNSIGNED), NOW(3))"
        " ON DUPLICATE KEY UPDATE epoch = GREATEST(epoch + 1, VALUES(epoch)),"
        " master = VALUES(master), endpoint = VALUES(endpoint), api_url = VALUES(api_url),"
        " since = VALUES(since)",
        err, sizeof err);
    if (!st) {
        hg_error("leader: %s", err);
        s_drop(self);
        return HG_EDB;
    }
    const char *vals[3] = {self->args->master_name, self->args->endpoint, self->args->api_url};
    unsigned long lens[3];
    MYSQL_BIND b[3];
    memset(b, 0, sizeof b);
    for (int i = 0; i < 3; i++) {
        lens[i] = strlen(vals[i]);
        b[i].buffer_type = MYSQL_TYPE_STRING;
        b[i].buffer = (void *) vals[i];
        b[i].buffer_length = lens[i];
        b[i].length = &lens[i];
    }
    int rc = 0;
    if (mysql_stmt_bind_param(st, b) != 0 || mysql_stmt_execute(st) != 0) {
        hg_error("leader: cannot write the leadership row: %s", mysql_stmt_error(st));
        rc = HG_EDB;
    }
    mysql_stmt_close(st);
    if (rc != 0) {
        s_drop(self);
        return rc;
    }
    char *cols[4];
    rc = s_read_row(self, cols);
    if (rc == 0 && cols[3]) self->epoch = strtoull(cols[3], NULL, 10);
    for (int i = 0; i < 4; i++)
        free(cols[i]);
    if (rc != 0) {
        s_drop(self);
        return HG_EDB;
    }
    return 0;
}

/* ------------------------------------------------------------------ roles */

static void s_lost(s_leader_t *self, const char *reason)
{
    hg_error("leader: lost the leadership: %s", reason);
    self->role = S_DONE;
    s_drop(self); /* we may hold the lock again (reconfirm): let a standby have it now */
    zstr_sendx(self->pipe, "LOST", reason, NULL);
}

static void s_standby_tick(s_leader_t *self)
{
    if (s_connect(self) != 0) return;
    int got = s_try_lock(self);
    if (got == 1) {
        if (s_bump_epoch(self) != 0) return; /* dropped: the lock went with it */
        self->role = S_LEADER;
        self->unconfirmed = false;
        self->beat_ms = 0; /* the masters row says so at once */
        char epoch[24];
        snprintf(epoch, sizeof epoch, "%" PRIu64, self->epoch);
        hg_info("leader: this master (%s) leads now, epoch %s; workers dial %s, API at %s",
                self->args->master_name, epoch, self->args->endpoint, self->args->api_url);
        zstr_sendx(self->pipe, "LEADER", epoch, NULL);
        return;
    }
    if (got != 0) return;
    char *cols[4];
    int rc = s_read_row(self, cols);
    if (rc == 0 || rc == HG_ENOTFOUND) {
        char seen[sizeof self->seen];
        snprintf(seen, sizeof seen, "%s\t%s\t%s\t%s", cols[0] ? cols[0] : "",
                 cols[1] ? cols[1] : "", cols[2] ? cols[2] : "", cols[3] ? cols[3] : "");
        if (strcmp(seen, self->seen) != 0) {
            snprintf(self->seen, sizeof self->seen, "%s", seen);
            self->seen_epoch = cols[3] ? strtoull(cols[3], NULL, 10) : 0;
            hg_info("leader: standing by; the leader is %s (workers dial %s, API at %s, "
                    "epoch %s)",
                    cols[0] ? cols[0] : "unknown", cols[1] ? cols[1] : "-", cols[2] ? cols[2] : "-",
                    cols[3] ? cols[3] : "-");
            zstr_sendx(self->pipe, "STANDBY", cols[0] ? cols[0] : "", cols[1] ? cols[1] : "",
                       cols[2] ? cols[2] : "", cols[3] ? cols[3] : "", NULL);
        }
    }
    for (int i = 0; i < 4; i++)
        free(cols[i]);
}

/* The lock connection broke: take the lock again. Leading on is safe only
 * if nobody led in between, which the row's epoch tells. */
static void s_reconfirm(s_leader_t *self)
{
    if (s_connect(self) != 0) return; /* MySQL unreachable: nobody can take the lock */
    int got = s_try_lock(self);
    if (got == 0) {
        s_lost(self, "another master holds the leader lock");
        return;
    }
    if (got != 1) return;
    char *cols[4];
    int rc = s_read_row(self, cols);
    uint64_t epoch = rc == 0 && cols[3] ? strtoull(cols[3], NULL, 10) : 0;
    char reason[512] = "";
    if (rc == 0 && epoch != self->epoch)
        snprintf(reason, sizeof reason,
                 "master %s led meanwhile (epoch %" PRIu64 ", ours %" PRIu64 ")",
                 cols[0] ? cols[0] : "?", epoch, self->epoch);
    else if (rc == HG_ENOTFOUND)
        snprintf(reason, sizeof reason, "the leadership row is gone");
    for (int i = 0; i < 4; i++)
        free(cols[i]);
    if (reason[0]) {
        s_lost(self, reason);
    } else if (rc == 0) {
        hg_info("leader: leadership confirmed again after %lld ms without the lock connection "
                "(epoch %" PRIu64 ")",
                (long long) (hg_mono_ms() - self->unconfirmed_ms), self->epoch);
        self->unconfirmed = false;
    }
}

static void s_leader_tick(s_leader_t *self)
{
    if (!self->unconfirmed) {
        char sql[256];
        snprintf(sql, sizeof sql, "SELECT IS_USED_LOCK(%s) = CONNECTION_ID()", self->lock_sql);
        char *v = NULL;
        int rc = self->conn ? s_query_row(self, sql, &v, 1) : HG_EDB;
        bool held = rc == 0 && v && strcmp(v, "1") == 0;
        free(v);
        if (held) return;
        if (rc == 0) {
            /* The connection lives but the lock is not ours: someone
             * released it from our session or the server lost it. */
            s_drop(self);
        }
        self->unconfirmed = true;
        self->unconfirmed_ms = hg_mono_ms();
        hg_warn("leader: the lock connection is gone; taking the lock again");
    }
    s_reconfirm(self);
}

/* This master's heartbeat row (masters.h), on the lock connection, every
 * HG_MASTERS_BEAT_MS: the Overview lists leader and standbys from it. A
 * failure is only logged: the election does not depend on it. */
static void s_beat(s_leader_t *self)
{
    int64_t now = hg_mono_ms();
    if (!self->conn || self->role == S_DONE || self->unconfirmed ||
        (self->beat_ms && now - self->beat_ms < HG_MASTERS_BEAT_MS))
        return;
    self->beat_ms = now;
    hg_masters_beat_t beat = {.name = self->args->master_name,
                              .api_url = self->args->api_url,
                              .endpoint = self->args->endpoint,
                              .leading = self->role == S_LEADER,
                              .epoch = self->role == S_LEADER ? self->epoch : self->seen_epoch,
                              .started_ms = self->started_ms};
    char err[512];
    if (hg_masters_beat(self->conn, &beat, err, sizeof err) != 0) {
        if (!self->beat_warned) hg_warn("leader: %s", err);
        self->beat_warned = true;
    } else {
        self->beat_warned = false;
    }
}

static int s_on_tick(zloop_t *loop, int timer_id, void *arg)
{
    s_leader_t *self = arg;
    if (self->role == S_STANDBY)
        s_standby_tick(self);
    else if (self->role == S_LEADER)
        s_leader_tick(self);
    s_beat(self);
    return 0;
}

static void s_actor(zsock_t *pipe, void *arg)
{
    s_leader_t self = {0};
    self.args = arg;
    self.pipe = pipe;
    self.role = S_STANDBY;
    self.started_ms = hg_now_ms();
    hg_leader_lock_name(self.args->db->database, self.lock_name, sizeof self.lock_name);
    zloop_t *loop = zloop_new();
    zloop_reader(loop, pipe, hg_actor_on_term, &self);
    int64_t interval = self.args->interval_ms > 0 ? self.args->interval_ms : 500;
    zloop_timer(loop, (size_t) interval, 0, s_on_tick, &self);
    zsock_signal(pipe, 0);
    s_on_tick(loop, 0, &self); /* a lone master leads at once */
    hg_actor_loop_run(loop);
    zloop_destroy(&loop);
    s_drop(&self); /* releases the lock: a standby takes over within its interval */
}

zactor_t *hg_leader_new(const hg_leader_args_t *args)
{
    if (!args || !args->db || !args->master_name || !args->endpoint || !args->api_url) return NULL;
    return zactor_new(s_actor, (void *) args);
}
