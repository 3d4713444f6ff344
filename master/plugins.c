/* plugins: validation, SQL, file copies, the name -> hash index and the
 * loader actor of the master's plug-in store (see plugins.h). */
#include "plugins.h"
#include "elf.h"
#include "db.h"
#include "hg_error.h"
#include "hg_log.h"
#include "hg_time.h"

#include "hourglass/plugin.h"

#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <mysqld_error.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------ validation */

/* 1-max chars of letters, digits and the given punctuation, starting with
 * a letter or digit. */
static bool s_is_word(const char *s, const char *punct, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > max) return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || !strchr(punct, c))) return false;
    }
    return true;
}

int hg_plugin_check_name(const char *name, char *err, size_t err_size)
{
    if (s_is_word(name, "._-", HG_PLUGIN_NAME_MAX)) return 0;
    snprintf(err, err_size,
             "name: must be 1-%d letters, digits, '.', '_' or '-', starting with a letter or "
             "digit",
             HG_PLUGIN_NAME_MAX);
    return HG_EINVAL;
}

int hg_plugin_check_version(const char *version, char *err, size_t err_size)
{
    if (s_is_word(version, "._+~-", HG_PLUGIN_NAME_MAX)) return 0;
    snprintf(err, err_size,
             "version: must be 1-%d letters, digits, '.', '_', '+', '~' or '-', starting with a "
             "letter or digit",
             HG_PLUGIN_NAME_MAX);
    return HG_EINVAL;
}

bool hg_plugin_sha256_valid(const char *hex)
{
    if (!hex || strlen(hex) != 64) return false;
    for (size_t i = 0; i < 64; i++)
        if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f'))) return false;
    return true;
}

static void s_hex(const uint8_t hash[crypto_hash_sha256_BYTES], char out[65])
{
    sodium_bin2hex(out, 65, hash, crypto_hash_sha256_BYTES);
}

void hg_plugin_sha256_hex(const uint8_t *data, size_t len, char out[65])
{
    uint8_t hash[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(hash, data, len);
    s_hex(hash, out);
}

int hg_plugin_check_bytes(const uint8_t *data, size_t len, char *arch, size_t arch_size, char *err,
                          size_t err_size)
{
    if (len == 0) {
        snprintf(err, err_size, "empty upload: send the plug-in's .so file as the request body");
        return HG_EINVAL;
    }
    hg_elf_info_t info;
    char why[512];
    if (hg_elf_inspect(data, len, HG_PLUGIN_SYMBOL, &info, why, sizeof why) != 0) {
        snprintf(err, err_size, "not a plug-in: %s", why);
        return HG_EINVAL;
    }
    if (info.exports_entry == 0) {
        snprintf(err, err_size,
                 "not a plug-in: the shared object does not export %s() (see docs/plugins.md)",
                 HG_PLUGIN_SYMBOL);
        return HG_EINVAL;
    }
    snprintf(arch, arch_size, "%s", info.arch);
    return 0;
}

json_t *hg_plugin_meta_json(const hg_plugin_meta_t *m)
{
    char at[40];
    hg_time_format_ms(m->uploaded_ms, at, sizeof at);
    return json_pack("{s:s, s:s, s:s, s:I, s:s, s:s}", "name", m->name, "version", m->version,
                     "sha256", m->sha256, "size", (json_int_t) m->size, "arch", m->arch,
                     "uploaded_at", at);
}

/* ------------------------------------------------------------------ SQL */

/* Plug-in rows read by s_select. */
typedef struct {
    hg_plugin_meta_t *items; /* rows */
    uint64_t *ids;           /* their ids */
    size_t n, cap;           /* count and capacity */
} s_metas_t;

static void s_metas_free(s_metas_t *m)
{
    free(m->items);
    free(m->ids);
    memset(m, 0, sizeof *m);
}

/* One fetched row; the string buffers take any VARCHAR(64) in utf8mb4. */
typedef struct {
    uint64_t id, size;
    char name[257], version[257], sha256[257], arch[129];
    MYSQL_TIME uploaded;
    unsigned long len[7];
    my_bool is_null[7];
} s_row_t;

/* Copy src into dst, cut to fit (the columns are wider than our fields
 * only when a row was written by something other than this code). */
static void s_copy(char *dst, size_t size, const char *src)
{
    size_t n = strnlen(src, size - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Run "SELECT <meta columns> FROM plugins <tail>" with params and append
 * each row to out. */
static int s_select(MYSQL *db, const char *tail, MYSQL_BIND *params, s_metas_t *out, char *err,
                    size_t err_size)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT id, name, version, sha256, size, arch, uploaded_at FROM plugins %s", tail);
    MYSQL_STMT *st = hg_db_prepare(db, sql, err, err_size);
    if (!st) return HG_EDB;
    s_row_t r;
    memset(&r, 0, sizeof r);
    MYSQL_BIND b[7];
    memset(b, 0, sizeof b);
    hg_db_bind_out(&b[0], MYSQL_TYPE_LONGLONG, &r.id, 0, &r.len[0], &r.is_null[0]);
    b[0].is_unsigned = 1;
    hg_db_bind_out(&b[1], MYSQL_TYPE_STRING, r.name, sizeof r.name, &r.len[1], &r.is_null[1]);
    hg_db_bind_out(&b[2], MYSQL_TYPE_STRING, r.version, sizeof r.version, &r.len[2], &r.is_null[2]);
    hg_db_bind_out(&b[3], MYSQL_TYPE_STRING, r.sha256, sizeof r.sha256, &r.len[3], &r.is_null[3]);
    hg_db_bind_out(&b[4], MYSQL_TYPE_LONGLONG, &r.size, 0, &r.len[4], &r.is_null[4]);
    b[4].is_unsigned = 1;
    hg_db_bind_out(&b[5], MYSQL_TYPE_STRING, r.arch, sizeof r.arch, &r.len[5], &r.is_null[5]);
    hg_db_bind_out(&b[6], MYSQL_TYPE_DATETIME, &r.uploaded, 0, &r.len[6], &r.is_null[6]);
    int rc = 0;
    if ((params && mysql_stmt_bind_param(st, params)) || mysql_stmt_execute(st) ||
        mysql_stmt_store_result(st) || mysql_stmt_bind_result(st, b)) {
        snprintf(err, err_size, "plug-ins: %s", mysql_stmt_error(st));
        rc = HG_EDB;
    }
    while (rc == 0) {
        memset(r.name, 0, sizeof r.name); /* MySQL does not terminate strings */
        memset(r.version, 0, sizeof r.version);
        memset(r.sha256, 0, sizeof r.sha256);
        memset(r.arch, 0, sizeof r.arch);
        int f = mysql_stmt_fetch(st);
        if (f == MYSQL_NO_DATA) break;
        if (f == 1) {
            snprintf(err, err_size, "plug-ins: %s", mysql_stmt_error(st));
            rc = HG_EDB;
            break;
        }
        if (out->n == out->cap) {
            size_t cap = out->cap ? out->cap * 2 : 8;
            hg_plugin_meta_t *items = realloc(out->items, cap * sizeof *items);
            uint64_t *ids = items ? realloc(out->ids, cap * sizeof *ids) : NULL;
            if (items) out->items = items;
            if (ids) out->ids = ids;
            if (!items || !ids) {
                rc = HG_ENOMEM;
                snprintf(err, err_size, "%s", hg_strerror(rc));
                break;
            }
            out->cap = cap;
        }
        hg_plugin_meta_t *m = &out->items[out->n];
        memset(m, 0, sizeof *m);
        out->ids[out->n++] = r.id;
        s_copy(m->name, sizeof m->name, r.name);
        s_copy(m->version, sizeof m->version, r.version);
        s_copy(m->sha256, sizeof m->sha256, r.sha256);
        s_copy(m->arch, sizeof m->arch, r.arch);
        m->size = r.size;
        m->uploaded_ms = r.is_null[6] ? 0 : hg_db_time_to_ms(&r.uploaded);
    }
    mysql_stmt_free_result(st);
    mysql_stmt_close(st);
    return rc;
}

/* Run one statement with params; *affected (may be NULL) gets the row
 * count, *insert_id (may be NULL) the new id. Duplicate keys give
 * HG_EEXIST. */
static int s_exec(MYSQL *db, const char *sql, MYSQL_BIND *params, uint64_t *affected,
                  uint64_t *insert_id, char *err, size_t err_size)
{
    MYSQL_STMT *st = hg_db_prepare(db, sql, err, err_size);
    if (!st) return HG_EDB;
    int rc = 0;
    if ((params && mysql_stmt_bind_param(st, params)) || mysql_stmt_execute(st)) {
        rc = mysql_stmt_errno(st) == ER_DUP_ENTRY ? HG_EEXIST : HG_EDB;
        snprintf(err, err_size, "plug-ins: %s", mysql_stmt_error(st));
    } else {
        if (affected) *affected = (uint64_t) mysql_stmt_affected_rows(st);
        if (insert_id) *insert_id = (uint64_t) mysql_stmt_insert_id(st);
    }
    mysql_stmt_close(st);
    return rc;
}

/* The transaction body of hg_plugin_db_put. */
static int s_put(MYSQL *db, const char *name, const char *version, const uint8_t *data, size_t len,
                 const char *sha256, const char *arch, bool replace, hg_plugin_meta_t *meta,
                 hg_plugin_put_t *result, char *replaced_sha, char *err, size_t err_size)
{
    unsigned long l[8];
    MYSQL_BIND p[8];
    memset(p, 0, sizeof p);
    hg_db_bind_str(&p[0], name, &l[0]);
    hg_db_bind_str(&p[1], version, &l[1]);
    s_metas_t found = {0};
    int rc = s_select(db, "WHERE name = ? AND version = ? FOR UPDATE", p, &found, err, err_size);
    if (rc == 0 && found.n > 0) {
        hg_plugin_meta_t *old = &found.items[0];
        if (strcmp(old->sha256, sha256) == 0) {
            *meta = *old;
            *result = HG_PLUGIN_PUT_SAME;
        } else if (!replace) {
            snprintf(err, err_size,
                     "plug-in %s %s is already stored with other bytes (sha256 %s); push with "
                     "--force (replace=true) to replace it, or give it a new version",
                     name, version, old->sha256);
            rc = HG_EEXIST;
        } else {
            if (replaced_sha) snprintf(replaced_sha, 65, "%s", old->sha256);
            memset(p, 0, sizeof p);
            hg_db_bind_u64(&p[0], &found.ids[0]);
            rc = s_exec(db, "DELETE FROM plugins WHERE id = ?", p, NULL, NULL, err, err_size);
            *result = HG_PLUGIN_PUT_REPLACED;
        }
    }
    s_metas_free(&found);
    if (rc != 0 || *result == HG_PLUGIN_PUT_SAME) return rc;

    memset(p, 0, sizeof p);
    hg_db_bind_str(&p[0], sha256, &l[0]);
    rc = s_select(db, "WHERE sha256 = ?", p, &found, err, err_size);
    if (rc == 0 && found.n > 0) {
        snprintf(err, err_size,
                 "these bytes are already stored as plug-in %s %s (sha256 %s); a job can name "
                 "that one",
                 found.items[0].name, found.items[0].version, sha256);
        rc = HG_EEXIST;
    }
    s_metas_free(&found);
    if (rc != 0) return rc;

    int64_t now_ms = hg_now_ms();
    MYSQL_TIME at;
    hg_db_time_from_ms(now_ms, &at);
    uint64_t size = len, chunks = (len + HG_PLUGIN_DB_CHUNK - 1) / HG_PLUGIN_DB_CHUNK, id = 0;
    memset(p, 0, sizeof p);
    hg_db_bind_str(&p[0], name, &l[0]);
    hg_db_bind_str(&p[1], version, &l[1]);
    hg_db_bind_str(&p[2], sha256, &l[2]);
    hg_db_bind_u64(&p[3], &size);
    hg_db_bind_str(&p[4], arch, &l[4]);
    hg_db_bind_u64(&p[5], &chunks);
    p[6].buffer_type = MYSQL_TYPE_DATETIME;
    p[6].buffer = &at;
    rc = s_exec(db,
                "INSERT INTO plugins (name, version, sha256, size, arch, chunks, uploaded_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                p, NULL, &id, err, err_size);
    if (rc == HG_EEXIST)
        snprintf(err, err_size,
                 "plug-in %s %s (or these bytes) was pushed by someone else at the same time; "
                 "push again to see which",
                 name, version);
    if (rc != 0) return rc;

    /* One row per chunk, on one prepared statement. */
    MYSQL_STMT *st = hg_db_prepare(
        db, "INSERT INTO plugin_chunks (plugin_id, seq, data) VALUES (?, ?, ?)", err, err_size);
    if (!st) return HG_EDB;
    uint64_t seq = 0;
    unsigned long chunk_len = 0;
    memset(p, 0, sizeof p);
    hg_db_bind_u64(&p[0], &id);
    hg_db_bind_u64(&p[1], &seq);
    p[2].buffer_type = MYSQL_TYPE_BLOB;
    p[2].length = &chunk_len;
    for (size_t off = 0; rc == 0 && off < len; off += HG_PLUGIN_DB_CHUNK, seq++) {
        chunk_len =
            (unsigned long) (len - off < HG_PLUGIN_DB_CHUNK ? len - off : HG_PLUGIN_DB_CHUNK);
        p[2].buffer = (void *) (data + off);
        p[2].buffer_length = chunk_len;
        if (mysql_stmt_bind_param(st, p) || mysql_stmt_execute(st)) {
            snprintf(err, err_size, "plug-in bytes: %s", mysql_stmt_error(st));
            rc = HG_EDB;
        }
    }
    mysql_stmt_close(st);
    if (rc != 0) return rc;

    memset(meta, 0, sizeof *meta);
    snprintf(meta->name, sizeof meta->name, "%s", name);
    snprintf(meta->version, sizeof meta->version, "%s", version);
    snprintf(meta->sha256, sizeof meta->sha256, "%s", sha256);
    snprintf(meta->arch, sizeof meta->arch, "%s", arch);
    meta->size = size;
    meta->uploaded_ms = now_ms;
    return 0;
}

int hg_plugin_db_put(MYSQL *db, const char *name, const char *version, const uint8_t *data,
                     size_t len, const char *sha256, const char *arch, bool replace,
                     hg_plugin_meta_t *meta, hg_plugin_put_t *result, char *replaced_sha, char *err,
                     size_t err_size)
{
    *result = HG_PLUGIN_PUT_CREATED;
    if (replaced_sha) replaced_sha[0] = '\0';
    if (mysql_autocommit(db, 0) != 0) {
        snprintf(err, err_size, "start transaction: %s", mysql_error(db));
        return HG_EDB;
    }
    int rc = s_put(db, name, version, data, len, sha256, arch, replace, meta, result, replaced_sha,
                   err, err_size);
    if (rc == 0 && *result != HG_PLUGIN_PUT_SAME && mysql_commit(db) != 0) {
        snprintf(err, err_size, "commit: %s", mysql_error(db));
        rc = HG_EDB;
    }
    if (rc != 0 || *result == HG_PLUGIN_PUT_SAME) mysql_rollback(db);
    mysql_autocommit(db, 1);
    return rc;
}

int hg_plugin_db_get(MYSQL *db, const char *sha256, hg_plugin_meta_t *meta, char *err,
                     size_t err_size)
{
    unsigned long l;
    MYSQL_BIND p[1];
    memset(p, 0, sizeof p);
    hg_db_bind_str(&p[0], sha256, &l);
    s_metas_t found = {0};
    int rc = s_select(db, "WHERE sha256 = ?", p, &found, err, err_size);
    if (rc == 0 && found.n == 0) {
        snprintf(err, err_size, "no plug-in with sha256 %s", sha256);
        rc = HG_ENOTFOUND;
    }
    if (rc == 0) *meta = found.items[0];
    s_metas_free(&found);
    return rc;
}

static int s_cmp_meta(const void *a, const void *b)
{
    const hg_plugin_meta_t *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strverscmp(x->version, y->version);
}

int hg_plugin_db_list(MYSQL *db, const char *name, json_t **plugins, char *err, size_t err_size)
{
    *plugins = NULL;
    unsigned long l;
    MYSQL_BIND p[1];
    memset(p, 0, sizeof p);
    if (name) hg_db_bind_str(&p[0], name, &l);
    s_metas_t found = {0};
    int rc = s_select(db, name ? "WHERE name = ?" : "", name ? p : NULL, &found, err, err_size);
    if (rc == 0) {
        if (found.n > 1) qsort(found.items, found.n, sizeof found.items[0], s_cmp_meta);
        *plugins = json_array();
        for (size_t i = 0; i < found.n; i++)
            json_array_append_new(*plugins, hg_plugin_meta_json(&found.items[i]));
    }
    s_metas_free(&found);
    return rc;
}

int hg_plugin_db_delete(MYSQL *db, const char *sha256, hg_plugin_meta_t *meta, char *err,
                        size_t err_size)
{
    int rc = hg_plugin_db_get(db, sha256, meta, err, err_size);
    if (rc != 0) return rc;
    unsigned long l;
    MYSQL_BIND p[1];
    memset(p, 0, sizeof p);
    hg_db_bind_str(&p[0], sha256, &l);
    uint64_t affected = 0;
    rc = s_exec(db, "DELETE FROM plugins WHERE sha256 = ?", p, &affected, NULL, err, err_size);
    if (rc == 0 && affected == 0) {
        snprintf(err, err_size, "no plug-in with sha256 %s", sha256);
        rc = HG_ENOTFOUND;
    }
    return rc;
}

/* Stream the chunks of plug-in id into fd, hashing them. */
static int s_export_chunks(MYSQL *db, uint64_t id, const char *sha256, uint64_t chunks, int fd,
                           crypto_hash_sha256_state *hash, uint64_t *total, char *err,
                           size_t err_size)
{
    MYSQL_STMT *st = hg_db_prepare(
        db, "SELECT seq, data FROM plugin_chunks WHERE plugin_id = ? ORDER BY seq", err, err_size);
    if (!st) return HG_EDB;
    uint8_t *buf = malloc(HG_PLUGIN_DB_CHUNK);
    if (!buf) {
        mysql_stmt_close(st);
        snprintf(err, err_size, "%s", hg_strerror(HG_ENOMEM));
        return HG_ENOMEM;
    }
    MYSQL_BIND p[1], b[2];
    memset(p, 0, sizeof p);
    memset(b, 0, sizeof b);
    hg_db_bind_u64(&p[0], &id);
    uint64_t seq = 0;
    unsigned long len[2] = {0, 0};
    my_bool is_null[2] = {0, 0};
    hg_db_bind_out(&b[0], MYSQL_TYPE_LONGLONG, &seq, 0, &len[0], &is_null[0]);
    b[0].is_unsigned = 1;
    hg_db_bind_out(&b[1], MYSQL_TYPE_BLOB, buf, HG_PLUGIN_DB_CHUNK, &len[1], &is_null[1]);
    int rc = 0;
    /* Unbuffered: one chunk in memory at a time. */
    if (mysql_stmt_bind_param(st, p) || mysql_stmt_execute(st) || mysql_stmt_bind_result(st, b)) {
        snprintf(err, err_size, "plug-in bytes: %s", mysql_stmt_error(st));
        rc = HG_EDB;
    }
    for (uint64_t want = 0; rc == 0; want++) {
        int f = mysql_stmt_fetch(st);
        if (f == MYSQL_NO_DATA) {
            if (want != chunks) {
                snprintf(err, err_size,
                         "the bytes stored in MySQL for plug-in sha256 %s are damaged: %" PRIu64
                         " of %" PRIu64 " chunks; push the plug-in again",
                         sha256, want, chunks);
                rc = HG_EIO;
            }
            break;
        }
        if (f == 1) {
            snprintf(err, err_size, "plug-in bytes: %s", mysql_stmt_error(st));
            rc = HG_EDB;
        } else if (f == MYSQL_DATA_TRUNCATED || seq != want || is_null[1]) {
            snprintf(err, err_size,
                     "the bytes stored in MySQL for plug-in sha256 %s are damaged: chunk %" PRIu64
                     " is out of place or larger than %u bytes; push the plug-in again",
                     sha256, seq, HG_PLUGIN_DB_CHUNK);
            rc = HG_EIO;
        } else {
            crypto_hash_sha256_update(hash, buf, len[1]);
            for (size_t off = 0; rc == 0 && off < len[1];) {
                ssize_t w = write(fd, buf + off, len[1] - off);
                if (w < 0 && errno == EINTR) continue;
                if (w <= 0) {
                    snprintf(err, err_size, "writing the plug-in copy: %s", strerror(errno));
                    rc = HG_EIO;
                } else {
                    off += (size_t) w;
                }
            }
            *total += len[1];
        }
    }
    mysql_stmt_free_result(st);
    mysql_stmt_close(st);
    free(buf);
    return rc;
}

/* <dir>/plugins, created with its parents. */
static int s_mkdirs(const char *path, char *err, size_t err_size)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int) sizeof buf) {
        snprintf(err, err_size, "path too long: %.200s", path);
        return HG_EIO;
    }
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char saved = *p;
            *p = '\0';
            if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
                snprintf(err, err_size, "cannot create directory %s: %s", buf, strerror(errno));
                return HG_EIO;
            }
            *p = saved;
            if (!saved) break;
        }
    }
    return 0;
}

/* A temporary file next to final, opened for writing. -1 on failure. */
static int s_open_temp(const char *final, char *tmp, size_t tmp_size, char *err, size_t err_size)
{
    static unsigned counter; /* per process; pid tells processes apart */
    const char *slash = strrchr(final, '/');
    int dir_len = slash ? (int) (slash - final) : 0;
    snprintf(tmp, tmp_size, "%.*s/.tmp-%ld-%u-%s", dir_len, final, (long) getpid(),
             __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED), slash ? slash + 1 : final);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) snprintf(err, err_size, "cannot create %s: %s", tmp, strerror(errno));
    return fd;
}

int hg_plugin_db_export(MYSQL *db, const char *sha256, const char *path, uint64_t *size, char *err,
                        size_t err_size)
{
    *size = 0;
    unsigned long l;
    MYSQL_BIND p[1];
    memset(p, 0, sizeof p);
    hg_db_bind_str(&p[0], sha256, &l);
    MYSQL_STMT *st =
        hg_db_prepare(db, "SELECT id, size, chunks FROM plugins WHERE sha256 = ?", err, err_size);
    if (!st) return HG_EDB;
    uint64_t id = 0, want_size = 0, chunks = 0;
    MYSQL_BIND b[3];
    memset(b, 0, sizeof b);
    hg_db_bind_u64(&b[0], &id);
    hg_db_bind_u64(&b[1], &want_size);
    hg_db_bind_u64(&b[2], &chunks);
    int rc = 0, f = 0;
    if (mysql_stmt_bind_param(st, p) || mysql_stmt_execute(st) || mysql_stmt_store_result(st) ||
        mysql_stmt_bind_result(st, b) || (f = mysql_stmt_fetch(st)) == 1) {
        snprintf(err, err_size, "plug-ins: %s", mysql_stmt_error(st));
        rc = HG_EDB;
    } else if (f == MYSQL_NO_DATA) {
        snprintf(err, err_size,
                 "nothing was pushed under that hash (hourglass plugin list shows what was)");
        rc = HG_ENOTFOUND;
    }
    mysql_stmt_free_result(st);
    mysql_stmt_close(st);
    if (rc != 0) return rc;

    char dir[4096], tmp[4200];
    const char *slash = strrchr(path, '/');
    snprintf(dir, sizeof dir, "%.*s", slash ? (int) (slash - path) : 1, slash ? path : ".");
    if ((rc = s_mkdirs(dir, err, err_size)) != 0) return rc;
    int fd = s_open_temp(path, tmp, sizeof tmp, err, err_size);
    if (fd < 0) return HG_EIO;
    crypto_hash_sha256_state hash;
    crypto_hash_sha256_init(&hash);
    uint64_t total = 0;
    rc = s_export_chunks(db, id, sha256, chunks, fd, &hash, &total, err, err_size);
    if (close(fd) != 0 && rc == 0) {
        snprintf(err, err_size, "writing %s: %s", tmp, strerror(errno));
        rc = HG_EIO;
    }
    if (rc == 0) {
        uint8_t digest[crypto_hash_sha256_BYTES];
        char got[65];
        crypto_hash_sha256_final(&hash, digest);
        s_hex(digest, got);
        if (total != want_size || strcmp(got, sha256) != 0) {
            snprintf(err, err_size,
                     "the bytes stored in MySQL for plug-in sha256 %s do not match that hash "
                     "(%" PRIu64 " bytes hashing to %s, %" PRIu64
                     " bytes expected); push the plug-in again",
                     sha256, total, got, want_size);
            rc = HG_EIO;
        }
    }
    if (rc == 0 && rename(tmp, path) != 0) {
        snprintf(err, err_size, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        rc = HG_EIO;
    }
    if (rc != 0) unlink(tmp);
    if (rc == 0) *size = total;
    return rc;
}

/* ---------------------------------------------------------- file copies */

int hg_plugin_file_path(const char *data_dir, const char *sha256, char *buf, size_t size)
{
    int n = snprintf(buf, size, "%s/plugins/%s.so", data_dir, sha256);
    return n < 0 || (size_t) n >= size ? HG_ETOOBIG : 0;
}

int hg_plugin_file_write(const char *data_dir, const char *sha256, const uint8_t *data, size_t len,
                         char *err, size_t err_size)
{
    char path[4096], dir[4096], tmp[4200];
    snprintf(dir, sizeof dir, "%s/plugins", data_dir);
    if (hg_plugin_file_path(data_dir, sha256, path, sizeof path) != 0) {
        snprintf(err, err_size, "data directory path too long");
        return HG_EIO;
    }
    int rc = s_mkdirs(dir, err, err_size);
    if (rc != 0) return rc;
    int fd = s_open_temp(path, tmp, sizeof tmp, err, err_size);
    if (fd < 0) return HG_EIO;
    for (size_t off = 0; rc == 0 && off < len;) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            snprintf(err, err_size, "writing %s: %s", tmp, strerror(errno));
            rc = HG_EIO;
        } else {
            off += (size_t) w;
        }
    }
    if (close(fd) != 0 && rc == 0) {
        snprintf(err, err_size, "writing %s: %s", tmp, strerror(errno));
        rc = HG_EIO;
    }
    if (rc == 0 && rename(tmp, path) != 0) {
        snprintf(err, err_size, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        rc = HG_EIO;
    }
    if (rc != 0) unlink(tmp);
    return rc;
}

void hg_plugin_file_remove(const char *data_dir, const char *sha256)
{
    char path[4096];
    if (hg_plugin_file_path(data_dir, sha256, path, sizeof path) == 0) unlink(path);
}

/* ---------------------------------------------------------------- index */

typedef struct {
    char name[HG_PLUGIN_NAME_MAX + 1];    /* plug-in name */
    char version[HG_PLUGIN_NAME_MAX + 1]; /* its version */
    char sha256[65];                      /* hash stored for them */
} s_entry_t;

struct hg_plugin_index {
    s_entry_t *items; /* entries, unordered */
    size_t n, cap;    /* count and capacity */
};

hg_plugin_index_t *hg_plugin_index_new(void)
{
    return calloc(1, sizeof(hg_plugin_index_t));
}

void hg_plugin_index_destroy(hg_plugin_index_t **index)
{
    if (index && *index) {
        free((*index)->items);
        free(*index);
        *index = NULL;
    }
}

void hg_plugin_index_remove(hg_plugin_index_t *index, const char *sha256)
{
    for (size_t i = 0; i < index->n;) {
        if (strcmp(index->items[i].sha256, sha256) == 0)
            index->items[i] = index->items[--index->n];
        else
            i++;
    }
}

int hg_plugin_index_put(hg_plugin_index_t *index, const char *name, const char *version,
                        const char *sha256)
{
    if (!name || !version || !sha256 || strlen(name) > HG_PLUGIN_NAME_MAX ||
        strlen(version) > HG_PLUGIN_NAME_MAX || strlen(sha256) != 64)
        return HG_EINVAL;
    hg_plugin_index_remove(index, sha256);
    for (size_t i = 0; i < index->n; i++) {
        s_entry_t *e = &index->items[i];
        if (strcmp(e->name, name) == 0 && strcmp(e->version, version) == 0) {
            snprintf(e->sha256, sizeof e->sha256, "%s", sha256);
            return 0;
        }
    }
    if (index->n == index->cap) {
        size_t cap = index->cap ? index->cap * 2 : 16;
        s_entry_t *items = realloc(index->items, cap * sizeof *items);
        if (!items) return HG_ENOMEM;
        index->items = items;
        index->cap = cap;
    }
    s_entry_t *e = &index->items[index->n++];
    snprintf(e->name, sizeof e->name, "%s", name);
    snprintf(e->version, sizeof e->version, "%s", version);
    snprintf(e->sha256, sizeof e->sha256, "%s", sha256);
    return 0;
}

const char *hg_plugin_index_resolve(const hg_plugin_index_t *index, const char *name,
                                    const char *version)
{
    if (!index || !name) return NULL;
    const s_entry_t *best = NULL;
    for (size_t i = 0; i < index->n; i++) {
        const s_entry_t *e = &index->items[i];
        if (strcmp(e->name, name) != 0) continue;
        if (version && *version) {
            if (strcmp(e->version, version) == 0) return e->sha256;
        } else if (!best || strverscmp(e->version, best->version) > 0) {
            best = e;
        }
    }
    return best ? best->sha256 : NULL;
}

size_t hg_plugin_index_size(const hg_plugin_index_t *index)
{
    return index ? index->n : 0;
}

/* --------------------------------------------------------------- loader */

typedef struct {
    const hg_db_params_t *db; /* connection settings (the owner's) */
    char *data_dir;           /* owned copy */
    MYSQL *conn;              /* lazily opened */
} s_loader_t;

/* Make sure the copy of sha256 is in place. */
static int s_load(s_loader_t *self, const char *sha256, uint64_t *size, char *err, size_t err_size)
{
    char path[4096];
    if (!hg_plugin_sha256_valid(sha256)) {
        snprintf(err, err_size, "\"%.80s\" is not a sha256 (64 lowercase hex digits)", sha256);
        return HG_EINVAL;
    }
    if (hg_plugin_file_path(self->data_dir, sha256, path, sizeof path) != 0) {
        snprintf(err, err_size, "data directory path too long");
        return HG_EIO;
    }
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode)) { /* someone made it meanwhile */
        *size = (uint64_t) sb.st_size;
        return 0;
    }
    int rc = HG_EUNAVAIL;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (!self->conn) {
            char why[512];
            self->conn = hg_db_connect(self->db, why, sizeof why);
            if (!self->conn) {
                snprintf(err, err_size, "database unavailable: %s", why);
                return HG_EUNAVAIL;
            }
        }
        rc = hg_plugin_db_export(self->conn, sha256, path, size, err, err_size);
        if (rc != HG_EDB ||
            !(hg_db_is_conn_error(mysql_errno(self->conn)) || hg_db_conn_lost(self->conn)))
            break;
        hg_db_close(&self->conn); /* lost: reconnect once */
        rc = HG_EUNAVAIL;
    }
    return rc;
}

static void s_loader_actor(zsock_t *pipe, void *arg)
{
    s_loader_t *self = arg;
    zsock_signal(pipe, 0);
    for (;;) {
        zmsg_t *msg = zmsg_recv(pipe);
        if (!msg && zmq_errno() == EINTR) continue; /* a signal, not $TERM: see actor_loop.h */
        if (!msg) break;
        char *cmd = zmsg_popstr(msg);
        bool stop = !cmd || strcmp(cmd, "$TERM") == 0;
        if (!stop && strcmp(cmd, "LOAD") == 0) {
            char *sha = zmsg_popstr(msg);
            char err[1024] = "", rc_text[16], size_text[24];
            uint64_t size = 0;
            int64_t t0 = hg_mono_ms();
            int rc = sha ? s_load(self, sha, &size, err, sizeof err) : HG_EINVAL;
            if (rc == 0)
                hg_info("plugins: copy of %s in place (%" PRIu64 " bytes, %lld ms)", sha, size,
                        (long long) (hg_mono_ms() - t0));
            else
                hg_warn("plugins: cannot provide %s: %s", sha ? sha : "?", err);
            snprintf(rc_text, sizeof rc_text, "%d", rc);
            snprintf(size_text, sizeof size_text, "%" PRIu64, size);
            zsock_send(pipe, "sssss", "LOADED", sha ? sha : "", rc_text, size_text, err);
            zstr_free(&sha);
        }
        zstr_free(&cmd);
        zmsg_destroy(&msg);
        if (stop) break;
    }
    hg_db_close(&self->conn);
    free(self->data_dir);
    free(self);
}

zactor_t *hg_plugin_loader_new(const hg_db_params_t *db, const char *data_dir)
{
    s_loader_t *self = calloc(1, sizeof *self);
    if (!self) return NULL;
    self->db = db;
    self->data_dir = strdup(data_dir ? data_dir : ".");
    if (!self->data_dir) {
        free(self);
        return NULL;
    }
    return zactor_new(s_loader_actor, self);
}
