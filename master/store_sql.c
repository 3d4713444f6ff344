/* store_sql: the store's MySQL side (store_internal.h): multi-row
 * upserts of run records with prepared statements per chunk size, each
 * record checked against the runs columns first, runs_by_status kept in
 * step, and the cluster facts (nodes, assignments). */
#include "store_internal.h"
#include "hg_error.h"
#include "hg_log.h"
#include "hg_retry.h"
#include "hg_runid.h"
#include "hg_time.h"
#include "routing.h"

#include <errmsg.h>
#include <mysqld_error.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define S_COLS 20 /* parameters per runs row */

/* Chunk sizes with a prepared statement each; a batch is cut greedily,
 * which with powers of two is its binary decomposition: at most one
 * statement per bit (a batch of 200 rows is 128 + 64 + 8, three round
 * trips; with {256, 64, 16, 4, 1} it took five). */
static const int s_chunks[] = {1024, 512, 256, 128, 64, 32, 16, 8, 4, 2, 1};
_Static_assert(sizeof s_chunks / sizeof s_chunks[0] == HG_STORE_NCHUNKS,
               "one prepared statement slot per chunk size");
/* A statement's rows stay under this many bytes of strings and output
 * (one larger row still goes alone): servers with a small
 * max_allowed_packet (1-4 MiB on older ones) must accept it. */
#define S_STATEMENT_BYTES (1u << 20)

/* Storage behind the bind array of one row. */
struct hg_store_row {
    MYSQL_TIME sched, start, finish;  /* times */
    MYSQL_TIME retry_at;              /* next_attempt_at (retries) */
    unsigned long len[S_COLS];        /* lengths of string columns */
    my_bool null[S_COLS];             /* NULL flags */
    unsigned long long job_id, epoch; /* integers */
    int http_status, exit_code;       /* results */
    unsigned int attempt;             /* attempt */
    unsigned short shard_index;       /* shard of a sharded job's run (NULL otherwise) */
    unsigned short shard_total;       /* shards of its job */
};
typedef struct hg_store_row s_row_t;

void hg_store__disconnect(hg_store_state_t *self)
{
    for (int i = 0; i < HG_STORE_NCHUNKS; i++) {
        if (self->runs_st[i]) mysql_stmt_close(self->runs_st[i]);
        if (self->side_up_st[i]) mysql_stmt_close(self->side_up_st[i]);
        if (self->side_del_st[i]) mysql_stmt_close(self->side_del_st[i]);
        self->runs_st[i] = self->side_up_st[i] = self->side_del_st[i] = NULL;
    }
    for (int i = 0; i < 4; i++) {
        if (self->fact_st[i]) mysql_stmt_close(self->fact_st[i]);
        self->fact_st[i] = NULL;
    }
    for (int i = 0; i < 2; i++) {
        if (self->assign_st[i]) mysql_stmt_close(self->assign_st[i]);
        self->assign_st[i] = NULL;
    }
    hg_db_close(&self->conn);
}

static char *s_runs_sql(int rows)
{
    static const char head[] =
        "INSERT INTO runs (run_id, job_id, job_name, node, epoch, scheduled_at, started_at,"
        " finished_at, status, http_status, exit_code, error, output, attempt, trigger_reason,"
        " first_run_id, next_attempt_at, retry_reason, shard_index, shard_total)"
        " VALUES ";
    static const char row[] = "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
    /* A resend or a late RUN_STARTED never turns a finished run back into
     * "running": a running row only fills what is still empty. A record
     * whose run id names a row of another job or another node changes
     * nothing (S_OTHER): the peer guard lets a worker speak only of its own
     * jobs, and this keeps one of them from rewriting another job's run by
     * reusing its id (ids are visible in the API and in request headers). */
#define S_OTHER "(job_id <> VALUES(job_id) OR node <> VALUES(node))"
    static const char tail[] =
        " ON DUPLICATE KEY UPDATE"
        " started_at = IF(" S_OTHER ", started_at, COALESCE(started_at, VALUES(started_at))),"
        " finished_at = IF(" S_OTHER " OR VALUES(status) = 'running', finished_at,"
        " VALUES(finished_at)),"
        " http_status = IF(" S_OTHER " OR VALUES(status) = 'running', http_status,"
        " VALUES(http_status)),"
        " exit_code = IF(" S_OTHER " OR VALUES(status) = 'running', exit_code,"
        " VALUES(exit_code)),"
        " error = IF(" S_OTHER " OR VALUES(status) = 'running', error, VALUES(error)),"
        " output = IF(" S_OTHER " OR VALUES(status) = 'running', output, VALUES(output)),"
        " first_run_id = IF(" S_OTHER ", first_run_id, COALESCE(VALUES(first_run_id),"
        " first_run_id)),"
        " next_attempt_at = IF(" S_OTHER " OR VALUES(status) = 'running', next_attempt_at,"
        " VALUES(next_attempt_at)),"
        " retry_reason = IF(" S_OTHER " OR VALUES(status) = 'running', retry_reason,"
        " VALUES(retry_reason)),"
        " status = IF(" S_OTHER " OR VALUES(status) = 'running', status, VALUES(status))";
#undef S_OTHER
    size_t size = sizeof head + (size_t) rows * (sizeof row + 1) + sizeof tail;
    char *sql = malloc(size);
    if (!sql) return NULL;
    char *p = sql;
    p += sprintf(p, "%s", head);
    for (int i = 0; i < rows; i++)
        p += sprintf(p, "%s%s", i ? "," : "", row);
    sprintf(p, "%s", tail);
    return sql;
}

int hg_store__connect(hg_store_state_t *self)
{
    if (self->conn) return 0;
    char err[512];
    self->conn = hg_db_connect(self->params, err, sizeof err);
    if (!self->conn) {
        if (!self->down_since_ms)
            hg_error("store: %s; run records are kept in memory until it is back", err);
        return HG_EDB;
    }
    for (int i = 0; i < HG_STORE_NCHUNKS; i++) {
        char *sql = s_runs_sql(s_chunks[i]);
        self->runs_st[i] = sql ? hg_db_prepare(self->conn, sql, err, sizeof err) : NULL;
        free(sql);
        if (!self->runs_st[i]) {
            hg_error("store: %s", err);
            hg_store__disconnect(self);
            return HG_EDB;
        }
    }
    return 0;
}

static void s_bind_str(MYSQL_BIND *b, const char *s, unsigned long *len, my_bool *null)
{
    b->buffer_type = MYSQL_TYPE_STRING;
    *null = s == NULL;
    *len = s ? strlen(s) : 0;
    b->buffer = (void *) s;
    b->buffer_length = *len;
    b->length = len;
    b->is_null = null;
}

static void s_bind_time(MYSQL_BIND *b, MYSQL_TIME *t, int64_t ms, my_bool *null)
{
    b->buffer_type = MYSQL_TYPE_DATETIME;
    *null = ms <= 0;
    if (ms > 0) hg_db_time_from_ms(ms, t);
    b->buffer = t;
    b->is_null = null;
}

/* Bind one record as row r of binds. */
static void s_bind_run(MYSQL_BIND *b, s_row_t *row, const hg_run_t *run, const char *node)
{
    memset(row, 0, sizeof *row);
    b[0].buffer_type = MYSQL_TYPE_BLOB;
    b[0].buffer = (void *) run->run_id;
    row->len[0] = HG_PROTO_RUN_ID_SIZE;
    b[0].buffer_length = row->len[0];
    b[0].length = &row->len[0];
    /* A run of a broadcast or sharded job's slot names the slot
     * (routing.h): the row gets the job's own id and the shard. */
    uint32_t shard_index, shard_total;
    row->job_id = hg_route_vid_split(run->job_id, &shard_index, &shard_total);
    b[1].buffer_type = MYSQL_TYPE_LONGLONG;
    b[1].is_unsigned = 1;
    b[1].buffer = &row->job_id;
    s_bind_str(&b[2], run->job_name ? run->job_name : "", &row->len[2], &row->null[2]);
    s_bind_str(&b[3], node, &row->len[3], &row->null[3]);
    row->epoch = run->epoch;
    b[4].buffer_type = MYSQL_TYPE_LONGLONG;
    b[4].is_unsigned = 1;
    b[4].buffer = &row->epoch;
    s_bind_time(&b[5], &row->sched, run->scheduled_ms > 0 ? run->scheduled_ms : 1, &row->null[5]);
    s_bind_time(&b[6], &row->start, run->started_ms, &row->null[6]);
    s_bind_time(&b[7], &row->finish, run->finished_ms, &row->null[7]);
    const char *status = hg_run_status_name(run->status);
    s_bind_str(&b[8], status ? status : "failed", &row->len[8], &row->null[8]);
    row->http_status = run->http_status;
    b[9].buffer_type = MYSQL_TYPE_LONG;
    b[9].buffer = &row->http_status;
    row->null[9] = run->http_status == 0;
    b[9].is_null = &row->null[9];
    row->exit_code = run->exit_code;
    b[10].buffer_type = MYSQL_TYPE_LONG;
    b[10].buffer = &row->exit_code;
    row->null[10] = run->status == HG_RUN_RUNNING || run->http_status != 0;
    b[10].is_null = &row->null[10];
    s_bind_str(&b[11], run->error, &row->len[11], &row->null[11]);
    b[12].buffer_type = MYSQL_TYPE_BLOB;
    b[12].buffer = run->output.data;
    row->len[12] = (unsigned long) run->output.len;
    b[12].buffer_length = row->len[12];
    b[12].length = &row->len[12];
    row->null[12] = run->output.len == 0;
    b[12].is_null = &row->null[12];
    row->attempt = run->attempt ? run->attempt : 1;
    b[13].buffer_type = MYSQL_TYPE_LONG;
    b[13].is_unsigned = 1;
    b[13].buffer = &row->attempt;
    s_bind_str(&b[14], run->reason ? run->reason : "schedule", &row->len[14], &row->null[14]);
    /* retries (schema/007_retries.sql) */
    b[15].buffer_type = MYSQL_TYPE_BLOB;
    b[15].buffer = (void *) run->first_run_id;
    row->len[15] = HG_PROTO_RUN_ID_SIZE;
    b[15].buffer_length = row->len[15];
    b[15].length = &row->len[15];
    row->null[15] = hg_retry_id_none(run->first_run_id);
    b[15].is_null = &row->null[15];
    s_bind_time(&b[16], &row->retry_at, run->retry_at_ms, &row->null[16]);
    s_bind_str(&b[17], run->retry_reason, &row->len[17], &row->null[17]);
    row->shard_index = (unsigned short) shard_index;
    row->shard_total = (unsigned short) shard_total;
    row->null[18] = row->null[19] = shard_total == 0;
    b[18].buffer_type = b[19].buffer_type = MYSQL_TYPE_SHORT;
    b[18].is_unsigned = b[19].is_unsigned = 1;
    b[18].buffer = &row->shard_index;
    b[19].buffer = &row->shard_total;
    b[18].is_null = &row->null[18];
    b[19].is_null = &row->null[19];
}

/* A flat view of the records of several batches. */
typedef struct {
    const hg_run_t *run; /* record */
    const char *node;    /* node that sent it */
    int side;            /* what it does to runs_by_status (S_SIDE_*) */
} s_rec_t;

/* What a record does to runs_by_status. */
enum { S_SIDE_NONE, S_SIDE_UPSERT, S_SIDE_DELETE };

/* Bytes a record adds to a statement (strings and output; the fixed-size
 * columns are small next to them). */
static size_t s_rec_bytes(const hg_run_t *run, const char *node)
{
    return 64 + strlen(node) + (run->job_name ? strlen(run->job_name) : 0) +
           (run->error ? strlen(run->error) : 0) + run->output.len +
           (run->reason ? strlen(run->reason) : 0) +
           (run->retry_reason ? strlen(run->retry_reason) : 0);
}

static int s_exec_chunk(hg_store_state_t *self, int ci, const s_rec_t *recs, MYSQL_BIND *binds,
                        s_row_t *rows, char *err, size_t err_size)
{
    int n = s_chunks[ci];
    memset(binds, 0, sizeof *binds * (size_t) n * S_COLS);
    for (int i = 0; i < n; i++)
        s_bind_run(binds + i * S_COLS, &rows[i], recs[i].run, recs[i].node);
    MYSQL_STMT *st = self->runs_st[ci];
    if (mysql_stmt_bind_param(st, binds) != 0 || mysql_stmt_execute(st) != 0) {
        snprintf(err, err_size, "%s", mysql_stmt_error(st));
        return (int) mysql_stmt_errno(st);
    }
    return 0;
}

/* ------------------------------------------------- fields against columns */

/* Limits of the runs columns (schema/001_init.sql). Strings are utf8mb4:
 * VARCHAR counts characters, TEXT and BLOB bytes. */
#define S_NAME_CHARS   190             /* job_name, node: VARCHAR(190) */
#define S_REASON_CHARS 16              /* trigger_reason: VARCHAR(16) */
#define S_TEXT_BYTES   65535u          /* error: TEXT, output: BLOB */
#define S_MAX_TIME_MS  253402300799999 /* DATETIME(3) ends at 9999-12-31 23:59:59.999 */

/* Bytes of the valid UTF-8 sequence at s (1 to 4; what utf8mb4 takes), 0
 * when s does not start one. */
static size_t s_utf8_seq(const unsigned char *s)
{
    if (s[0] < 0x80) return 1;
    size_t n = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
    if (n == 0 || s[0] > 0xf4) return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80) return 0;
    /* No overlong forms, surrogates or code points past U+10FFFF. */
    if (n == 3 && s[0] == 0xe0 && s[1] < 0xa0) return 0;
    if (n == 3 && s[0] == 0xed && s[1] >= 0xa0) return 0;
    if (n == 4 && s[0] == 0xf0 && s[1] < 0x90) return 0;
    if (n == 4 && s[0] == 0xf4 && s[1] >= 0x90) return 0;
    return n;
}

/* Characters of s, and whether it is valid UTF-8. */
static size_t s_utf8_chars(const char *s, bool *valid)
{
    size_t chars = 0;
    *valid = true;
    for (const unsigned char *p = (const unsigned char *) s; *p; chars++) {
        size_t n = s_utf8_seq(p);
        if (n == 0) {
            *valid = false;
            n = 1;
        }
        p += n;
    }
    return chars;
}

/* Make s valid UTF-8 in place (a bad byte becomes '?') and cut it to at
 * most max_chars characters and max_bytes bytes, on a character boundary.
 * Returns the bytes cut off. */
static size_t s_utf8_fit(char *s, size_t max_chars, size_t max_bytes)
{
    unsigned char *p = (unsigned char *) s;
    size_t chars = 0;
    while (*p && chars < max_chars) {
        size_t n = s_utf8_seq(p);
        if (n == 0) {
            *p = '?';
            n = 1;
        }
        if ((size_t) (p - (unsigned char *) s) + n > max_bytes) break;
        p += n;
        chars++;
    }
    size_t cut = strlen((char *) p);
    *p = '\0';
    return cut;
}

/* Fit the error text into its column: a text the worker made is only
 * information, so it is cut (with a note saying so) rather than refused. */
static void s_fit_error(hg_run_t *run)
{
    if (!run->error) return;
    static const char note[] = " [cut by the store: %zu more bytes]";
    size_t cut = s_utf8_fit(run->error, SIZE_MAX, S_TEXT_BYTES - sizeof note - 20);
    if (cut == 0) return;
    size_t len = strlen(run->error);
    char *grown = realloc(run->error, len + sizeof note + 20);
    if (!grown) return; /* cut, without the note */
    run->error = grown;
    snprintf(grown + len, sizeof note + 20, note, cut);
}

/* Likewise the output excerpt (binary: only its size matters). */
static void s_fit_output(hg_run_t *run)
{
    static const char note[] = "\n[cut by the store]";
    if (run->output.len <= S_TEXT_BYTES) return;
    run->output.len = S_TEXT_BYTES;
    memcpy(run->output.data + S_TEXT_BYTES - (sizeof note - 1), note, sizeof note - 1);
}

/* An identifying string field against its VARCHAR(max_chars) column:
 * NULL when it fits, else why not (in why). */
static const char *s_check_name(const char *what, const char *s, size_t max_chars, char *why,
                                size_t why_size)
{
    bool valid;
    size_t chars = s ? s_utf8_chars(s, &valid) : 0;
    if (s && !valid)
        snprintf(why, why_size, "%s is not valid UTF-8", what);
    else if (chars > max_chars)
        snprintf(why, why_size, "%s is %zu characters long, the column holds %zu", what, chars,
                 max_chars);
    else
        return NULL;
    return why;
}

/* Check one record against the runs columns before it reaches SQL. Fields
 * that are only information (error text, output) are cut to fit; a field
 * that identifies or dates the run (job name, node, trigger reason,
 * status, times) is not altered silently: NULL when the record fits, else
 * the reason it cannot be stored as it is. */
static const char *s_check_run(hg_run_t *run, const char *node, char *why, size_t why_size)
{
    s_fit_error(run);
    s_fit_output(run);
    const char *bad = s_check_name("job_name", run->job_name, S_NAME_CHARS, why, why_size);
    if (!bad) bad = s_check_name("node", node, S_NAME_CHARS, why, why_size);
    if (!bad) bad = s_check_name("trigger_reason", run->reason, S_REASON_CHARS, why, why_size);
    if (!bad) bad = s_check_name("retry_reason", run->retry_reason, S_REASON_CHARS, why, why_size);
    if (bad) return bad;
    if (run->retry_at_ms > S_MAX_TIME_MS) run->retry_at_ms = S_MAX_TIME_MS;
    if (!hg_run_status_name(run->status)) {
        snprintf(why, why_size, "status %d is not a run status", (int) run->status);
        return why;
    }
    const int64_t times[] = {run->scheduled_ms, run->started_ms, run->finished_ms};
    static const char *const names[] = {"scheduled_at", "started_at", "finished_at"};
    for (int i = 0; i < 3; i++) {
        if (times[i] > S_MAX_TIME_MS) {
            snprintf(why, why_size, "%s is after the year 9999, which the column cannot hold",
                     names[i]);
            return why;
        }
    }
    return NULL;
}

/* Turn run into a failed run whose error says why the store could not
 * keep it as it came, with every field made to fit (it then is stored
 * and acknowledged: a resend would be refused the same way). Logged (up
 * to a few per report interval; the rest are counted). */
static void s_refuse(hg_store_state_t *self, hg_run_t *run, const char *node, const char *why)
{
    char id[HG_RUNID_STR_LEN + 1];
    hg_runid_format(run->run_id, id);
    if (self->refused_logged++ < 10)
        hg_error("store: run record %s of job %llu from %s refused: %s; recorded as failed", id,
                 (unsigned long long) run->job_id, node, why);
    self->refused++;
    char text[512];
    snprintf(text, sizeof text, "run record refused by the master's store: %s", why);
    char *error = strdup(text);
    if (error) {
        free(run->error);
        run->error = error;
    }
    if (run->job_name) s_utf8_fit(run->job_name, S_NAME_CHARS, SIZE_MAX);
    if (run->reason) s_utf8_fit(run->reason, S_REASON_CHARS, SIZE_MAX);
    if (run->retry_reason) s_utf8_fit(run->retry_reason, S_REASON_CHARS, SIZE_MAX);
    run->retry_at_ms = 0; /* a refused record ends its chain */
    run->status = HG_RUN_FAILED;
    run->output.len = 0; /* the output belongs to the run as it was */
    int64_t *times[] = {&run->scheduled_ms, &run->started_ms, &run->finished_ms};
    for (int i = 0; i < 3; i++)
        if (*times[i] > S_MAX_TIME_MS) *times[i] = S_MAX_TIME_MS;
    if (run->finished_ms <= 0) run->finished_ms = hg_now_ms();
}

/* Check every record of a batch as it arrives (from a worker or the spill
 * file). A node name that does not fit is cut for the rows (db_node); the
 * batch keeps the real one, to acknowledge to. */
void hg_store__check_batch(hg_store_state_t *self, hg_store_batch_t *batch)
{
    char why[300];
    const char *node = batch->node;
    if (s_check_name("node", node, S_NAME_CHARS, why, sizeof why)) {
        snprintf(batch->db_node, sizeof batch->db_node, "%s", node);
        s_utf8_fit(batch->db_node, S_NAME_CHARS, SIZE_MAX);
    }
    hg_runs_t *runs = &batch->msg->u.runs;
    for (size_t i = 0; i < runs->runs_n; i++) {
        const char *bad = s_check_run(&runs->runs[i], node, why, sizeof why);
        if (bad) s_refuse(self, &runs->runs[i], batch->db_node[0] ? batch->db_node : node, bad);
    }
}

/* A write error worth retrying later rather than a refusal of the data:
 * connection trouble, memory, lock conflicts. */
static bool s_retryable(hg_store_state_t *self, unsigned rc)
{
    return rc == CR_OUT_OF_MEMORY || rc == ER_LOCK_DEADLOCK || rc == ER_LOCK_WAIT_TIMEOUT ||
           hg_db_is_conn_error(rc) || hg_db_conn_lost(self->conn);
}

/* ------------------------------------------------------ runs_by_status */

/* The statement keeping runs_by_status in step with rows of one chunk
 * size: del, a delete of runs that ended in success; else an upsert of
 * runs that did not (a late "running" never replaces an end, as in
 * runs). Prepared once per size and connection. */
static MYSQL_STMT *s_side_stmt(hg_store_state_t *self, int ci, bool del, char *err, size_t err_size)
{
    MYSQL_STMT **slot = del ? &self->side_del_st[ci] : &self->side_up_st[ci];
    if (*slot) return *slot;
    int rows = s_chunks[ci];
    char *sql = malloc(256 + (size_t) rows * 8); /* head and tail: under 256 */
    if (!sql) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    char *p = sql;
    p += sprintf(p, del ? "DELETE FROM runs_by_status WHERE run_id IN ("
                        : "INSERT INTO runs_by_status (run_id, status) VALUES ");
    for (int i = 0; i < rows; i++)
        p += sprintf(p, "%s%s", i ? "," : "", del ? "?" : "(?,?)");
    sprintf(p, "%s",
            del ? ")"
                : " ON DUPLICATE KEY UPDATE"
                  " status = IF(VALUES(status) = 'running', status, VALUES(status))");
    *slot = hg_db_prepare(self->conn, sql, err, err_size);
    free(sql);
    return *slot;
}

/* What record j of batch does to runs_by_status: a run not ending in
 * success enters it; a success leaves it, when its run can be there (its
 * RUN_STARTED was stored, or that is not known). */
static int s_side_of(const hg_store_batch_t *batch, size_t j)
{
    if (batch->msg->u.runs.runs[j].status != HG_RUN_SUCCESS) return S_SIDE_UPSERT;
    return !batch->had_start || batch->had_start[j] ? S_SIDE_DELETE : S_SIDE_NONE;
}

/* The largest chunk size not over left (left > 0). */
static int s_chunk_at_most(size_t left)
{
    int ci = 0;
    while (ci < HG_STORE_NCHUNKS - 1 && (size_t) s_chunks[ci] > left)
        ci++;
    return ci;
}

/* Bring runs_by_status in step with recs[0..n) as their side says: a
 * run that did not end in success enters it or takes the new status, one
 * that did leaves it (the upserts go first, so a run started and ended in
 * one batch leaves no row). Runs that end in success are the bulk: for
 * them this is a look-up in a small table, where an index on runs.status
 * cost an insert into a large one. Returns 0 or the MySQL error number. */
static unsigned s_write_side(hg_store_state_t *self, const s_rec_t *recs, size_t n, char *err,
                             size_t err_size)
{
    if (!self->side_binds)
        self->side_binds = malloc(sizeof *self->side_binds * 2 * (size_t) s_chunks[0]);
    if (!self->side_lens)
        self->side_lens = malloc(sizeof *self->side_lens * 2 * (size_t) s_chunks[0]);
    const s_rec_t **pick = malloc(sizeof *pick * (n + 1));
    if (!self->side_binds || !self->side_lens || !pick) {
        free(pick);
        snprintf(err, err_size, "out of memory");
        return CR_OUT_OF_MEMORY;
    }
    unsigned rc = 0;
    for (int pass = 0; pass < 2 && rc == 0; pass++) {
        bool del = pass == 1; /* upserts first: a start and an end in one batch leave no row */
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (recs[i].side == (del ? S_SIDE_DELETE : S_SIDE_UPSERT)) pick[m++] = &recs[i];
        for (size_t at = 0; at < m && rc == 0;) {
            int ci = s_chunk_at_most(m - at);
            int rows = s_chunks[ci];
            MYSQL_STMT *st = s_side_stmt(self, ci, del, err, err_size);
            if (!st) return mysql_errno(self->conn) ? mysql_errno(self->conn) : 1;
            MYSQL_BIND *b = self->side_binds;
            int per = del ? 1 : 2;
            memset(b, 0, sizeof *b * (size_t) (rows * per));
            for (int r = 0; r < rows; r++) {
                const hg_run_t *run = pick[at + (size_t) r]->run;
                MYSQL_BIND *x = b + r * per;
                unsigned long *len = self->side_lens + r * per;
                x[0].buffer_type = MYSQL_TYPE_BLOB;
                x[0].buffer = (void *) run->run_id;
                len[0] = HG_PROTO_RUN_ID_SIZE;
                x[0].buffer_length = len[0];
                x[0].length = &len[0];
                if (!del) {
                    const char *status = hg_run_status_name(run->status);
                    if (!status) status = "failed";
                    x[1].buffer_type = MYSQL_TYPE_STRING;
                    x[1].buffer = (void *) status;
                    len[1] = (unsigned long) strlen(status);
                    x[1].buffer_length = len[1];
                    x[1].length = &len[1];
                }
            }
            if (mysql_stmt_bind_param(st, b) != 0 || mysql_stmt_execute(st) != 0) {
                snprintf(err, err_size, "runs_by_status: %s", mysql_stmt_error(st));
                rc = mysql_stmt_errno(st);
            }
            at += (size_t) rows;
        }
    }
    free(pick);
    return rc;
}

/* Write recs[0..records) in one transaction. Returns 0 or the MySQL
 * error number. */
static unsigned s_write_recs(hg_store_state_t *self, const s_rec_t *recs, size_t records, char *err,
                             size_t err_size)
{
    size_t *bytes = calloc(records + 1, sizeof *bytes);
    int *plan = malloc(sizeof *plan * (records + 1));
    if (!self->binds) self->binds = malloc(sizeof *self->binds * (size_t) s_chunks[0] * S_COLS);
    if (!self->rows) self->rows = malloc(sizeof *self->rows * (size_t) s_chunks[0]);
    MYSQL_BIND *binds = self->binds;
    s_row_t *rows = self->rows;
    unsigned rc = 0;
    if (!bytes || !plan || !binds || !rows) {
        snprintf(err, err_size, "out of memory");
        rc = CR_OUT_OF_MEMORY;
        goto done;
    }
    size_t side_n = 0;
    for (size_t i = 0; i < records; i++)
        if (recs[i].side != S_SIDE_NONE) side_n++;
    /* Cut the batch into statements: the largest chunk that fits the
     * records left and S_STATEMENT_BYTES, each time. */
    for (size_t i = 0; i < records; i++)
        bytes[i + 1] = bytes[i] + s_rec_bytes(recs[i].run, recs[i].node);
    size_t at = 0, plan_n = 0;
    while (at < records) {
        int ci = s_chunk_at_most(records - at);
        while (ci < HG_STORE_NCHUNKS - 1 &&
               bytes[at + (size_t) s_chunks[ci]] - bytes[at] > S_STATEMENT_BYTES)
            ci++;
        plan[plan_n++] = ci;
        at += (size_t) s_chunks[ci];
    }
    /* One statement is atomic by itself: only a batch that takes several
     * (rows in chunks, runs_by_status) needs a transaction, and its three
     * extra round trips. */
    bool single = plan_n == 1 && side_n == 0;
    if (!single && mysql_autocommit(self->conn, 0) != 0) {
        snprintf(err, err_size, "%s", mysql_error(self->conn));
        rc = mysql_errno(self->conn);
        goto done;
    }
    at = 0;
    for (size_t p = 0; p < plan_n && rc == 0; p++) {
        rc = (unsigned) s_exec_chunk(self, plan[p], recs + at, binds, rows, err, err_size);
        at += (size_t) s_chunks[plan[p]];
    }
    if (rc == 0 && !single) rc = s_write_side(self, recs, records, err, err_size);
    if (!single) {
        if (rc == 0 && mysql_commit(self->conn) != 0) {
            snprintf(err, err_size, "commit: %s", mysql_error(self->conn));
            rc = mysql_errno(self->conn);
        }
        if (rc != 0 && self->conn) mysql_rollback(self->conn);
        if (self->conn) mysql_autocommit(self->conn, 1);
    }
done:
    free(bytes);
    free(plan);
    return rc;
}

/* The records of ops[0..count) (all HG_STORE_OP_RUNS) as one flat array of
 * records entries; NULL when out of memory. */
static s_rec_t *s_flatten(hg_store_op_t **ops, size_t count, size_t records)
{
    s_rec_t *recs = malloc(sizeof *recs * (records + 1));
    if (!recs) return NULL;
    size_t k = 0;
    for (size_t i = 0; i < count; i++) {
        hg_store_batch_t *batch = ops[i]->batch;
        hg_runs_t *runs = &batch->msg->u.runs;
        for (size_t j = 0; j < runs->runs_n; j++) {
            recs[k].run = &runs->runs[j];
            recs[k].node = batch->db_node[0] ? batch->db_node : batch->node;
            recs[k].side = s_side_of(batch, j);
            k++;
        }
    }
    return recs;
}

/* The server refused a statement holding recs[0..n): write them one by
 * one, so that one bad record costs only itself. A record the server
 * refuses alone is recorded as a failed run saying why (the worker gets
 * its acknowledgement: a resend would be refused the same way); one
 * refused even so is logged and dropped. Returns 0, or the error number
 * of a lost connection. */
static unsigned s_write_one_by_one(hg_store_state_t *self, s_rec_t *recs, size_t n, char *err,
                                   size_t err_size)
{
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned rc = s_write_recs(self, &recs[i], 1, err, err_size);
        if (rc && s_retryable(self, rc)) return rc;
        if (rc == 0) continue;
        bad++;
        char why[400];
        snprintf(why, sizeof why, "MySQL refused it (error %u: %.300s)", rc, err);
        hg_run_t *run = (hg_run_t *) recs[i].run;
        s_refuse(self, run, recs[i].node, why);
        recs[i].side = S_SIDE_UPSERT; /* failed now */
        rc = s_write_recs(self, &recs[i], 1, err, err_size);
        if (rc && !s_retryable(self, rc) && run->job_name) {
            /* The server's columns are narrower than ours (an altered
             * table): keep the run, its job id and why, without the name. */
            run->job_name[0] = '\0';
            rc = s_write_recs(self, &recs[i], 1, err, err_size);
        }
        if (rc && s_retryable(self, rc)) return rc;
        if (rc) {
            char id[HG_RUNID_STR_LEN + 1];
            hg_runid_format(run->run_id, id);
            hg_error("store: run record %s from %s cannot be stored even as failed (error %u: "
                     "%s); dropped",
                     id, recs[i].node, rc, err);
        }
    }
    hg_warn("store: MySQL refused a statement of %zu run records; written one by one, %zu "
            "recorded as failed",
            n, bad);
    return 0;
}

/* Write every record of ops[0..count) (all HG_STORE_OP_RUNS). A refused
 * statement does not hold the others back (s_write_one_by_one). Returns 0
 * or the MySQL error number of a lost connection (then nothing counts as
 * written: the rows are upserts, writing them again is harmless). */
unsigned hg_store__write_runs(hg_store_state_t *self, hg_store_op_t **ops, size_t count,
                              size_t records, char *err, size_t err_size)
{
    s_rec_t *recs = s_flatten(ops, count, records);
    if (!recs) {
        snprintf(err, err_size, "out of memory");
        return CR_OUT_OF_MEMORY;
    }
    unsigned rc = s_write_recs(self, recs, records, err, err_size);
    if (rc && !s_retryable(self, rc)) rc = s_write_one_by_one(self, recs, records, err, err_size);
    free(recs);
    return rc;
}

unsigned hg_store__write_fact(hg_store_state_t *self, hg_store_op_t *op, char *err, size_t err_size)
{
    const char *sql;
    MYSQL_BIND b[7];
    memset(b, 0, sizeof b);
    unsigned long len[7] = {0};
    my_bool null[7] = {0};
    MYSQL_TIME now;
    hg_db_time_from_ms(hg_now_ms(), &now);
    unsigned long long job_id = op->job_id;
    unsigned int capacity = op->capacity;
    MYSQL_TIME cutoff;
    hg_db_time_from_ms(op->cutoff_ms, &cutoff);
    if (op->kind == HG_STORE_OP_FORGET) {
        /* Runs keep the node's name: only the node's own row goes. */
        sql = "DELETE FROM nodes WHERE drained = 0 AND state IN ('lost', 'left')"
              " AND (name = ? OR last_seen_at < ?)";
        s_bind_str(&b[0], op->node, &len[0], &null[0]);
        b[1].buffer_type = MYSQL_TYPE_DATETIME;
        b[1].buffer = &cutoff;
    } else if (op->kind == HG_STORE_OP_NODE) {
        sql = "INSERT INTO nodes (name, state, labels, capacity, version, first_seen_at,"
              " last_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE"
              " state = VALUES(state), labels = VALUES(labels), capacity = VALUES(capacity),"
              " version = VALUES(version), last_seen_at = VALUES(last_seen_at)";
        s_bind_str(&b[0], op->node, &len[0], &null[0]);
        s_bind_str(&b[1], op->state, &len[1], &null[1]);
        s_bind_str(&b[2], op->labels ? op->labels : "{}", &len[2], &null[2]);
        b[3].buffer_type = MYSQL_TYPE_LONG;
        b[3].is_unsigned = 1;
        b[3].buffer = &capacity;
        s_bind_str(&b[4], op->version, &len[4], &null[4]);
        b[5].buffer_type = MYSQL_TYPE_DATETIME;
        b[5].buffer = &now;
        b[6].buffer_type = MYSQL_TYPE_DATETIME;
        b[6].buffer = &now;
    } else {
        sql = "DELETE FROM assignments WHERE job_id = ?";
        b[0].buffer_type = MYSQL_TYPE_LONGLONG;
        b[0].is_unsigned = 1;
        b[0].buffer = &job_id;
    }
    /* Kept prepared: a job created through the API costs one of these,
     * and preparing it each time was a round trip and a parse more. */
    int which = op->kind == HG_STORE_OP_NODE       ? 0
                : op->kind == HG_STORE_OP_ASSIGN   ? 1
                : op->kind == HG_STORE_OP_UNASSIGN ? 2
                                                   : 3;
    MYSQL_STMT *st = self->fact_st[which];
    if (!st) st = self->fact_st[which] = hg_db_prepare(self->conn, sql, err, err_size);
    if (!st) return mysql_errno(self->conn) ? mysql_errno(self->conn) : 1;
    unsigned rc = 0;
    if (mysql_stmt_bind_param(st, b) != 0 || mysql_stmt_execute(st) != 0) {
        snprintf(err, err_size, "%s", mysql_stmt_error(st));
        rc = mysql_stmt_errno(st);
    }
    return rc;
}

/* Write n assignments (row i: node nodes[i], job vals[2i], epoch
 * vals[2i + 1]) in one multi-row upsert: placing a million jobs makes a
 * million of them, one statement each took minutes. */
unsigned hg_store__write_assigns(hg_store_state_t *self, const char **nodes, const uint64_t *pairs,
                                 size_t n, char *err, size_t err_size)
{
    static const char head[] = "INSERT INTO assignments (job_id, node, epoch, assigned_at) VALUES ";
    static const char row[] = "(?, ?, ?, ?)";
    static const char tail[] = " ON DUPLICATE KEY UPDATE node = VALUES(node),"
                               " epoch = VALUES(epoch), assigned_at = VALUES(assigned_at)";
    /* The two sizes that recur are kept prepared: one row (a job created
     * through the API) and a full statement (a placement). */
    MYSQL_STMT **keep = n == 1                      ? &self->assign_st[0]
                        : n == HG_STORE_ASSIGN_ROWS ? &self->assign_st[1]
                                                    : NULL;
    MYSQL_STMT *st = keep ? *keep : NULL;
    char *sql = st ? NULL : malloc(sizeof head + n * (sizeof row + 1) + sizeof tail);
    MYSQL_BIND *b = calloc(n * 4, sizeof *b);
    unsigned long *len = calloc(n, sizeof *len);
    my_bool *null = calloc(n, sizeof *null);
    unsigned long long *vals = calloc(n * 2, sizeof *vals);
    unsigned rc = 0;
    if ((!st && !sql) || !b || !len || !null || !vals) {
        snprintf(err, err_size, "out of memory");
        rc = 1;
        goto done;
    }
    MYSQL_TIME now;
    hg_db_time_from_ms(hg_now_ms(), &now);
    for (size_t i = 0; i < n; i++) {
        MYSQL_BIND *r = b + i * 4;
        vals[2 * i] = pairs[2 * i];
        vals[2 * i + 1] = pairs[2 * i + 1];
        r[0].buffer_type = MYSQL_TYPE_LONGLONG;
        r[0].is_unsigned = 1;
        r[0].buffer = &vals[2 * i];
        s_bind_str(&r[1], nodes[i], &len[i], &null[i]);
        r[2].buffer_type = MYSQL_TYPE_LONGLONG;
        r[2].is_unsigned = 1;
        r[2].buffer = &vals[2 * i + 1];
        r[3].buffer_type = MYSQL_TYPE_DATETIME;
        r[3].buffer = &now;
    }
    if (!st) { /* its text only when it has to be prepared */
        char *p = sql + sprintf(sql, "%s", head);
        for (size_t i = 0; i < n; i++)
            p += sprintf(p, "%s%s", i ? "," : "", row);
        sprintf(p, "%s", tail);
        st = hg_db_prepare(self->conn, sql, err, err_size);
    }
    if (!st) {
        rc = mysql_errno(self->conn) ? mysql_errno(self->conn) : 1;
        goto done;
    }
    if (keep) *keep = st;
    if (mysql_stmt_bind_param(st, b) != 0 || mysql_stmt_execute(st) != 0) {
        snprintf(err, err_size, "%s", mysql_stmt_error(st));
        rc = mysql_stmt_errno(st);
    }
    if (!keep || rc != 0) mysql_stmt_close(st);
    if (keep && rc != 0) *keep = NULL;
done:
    free(sql);
    free(b);
    free(len);
    free(null);
    free(vals);
    return rc;
}
