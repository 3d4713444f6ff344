/* db: MySQL connections and numbered schema migrations. */
#include "db.h"
#include "hg_config.h"
#include "hg_error.h"
#include "hg_tz.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <errmsg.h>
#include <mysqld_error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static bool s_set(const char *s)
{
    return s && *s;
}

int hg_db_set_options(MYSQL *conn, const hg_db_params_t *p, char *err, size_t err_size)
{
    unsigned int connect_timeout = 5, rw_timeout = 30;
    mysql_options(conn, MYSQL_OPT_CONNECT_TIMEOUT, &connect_timeout);
    mysql_options(conn, MYSQL_OPT_READ_TIMEOUT, &rw_timeout);
    mysql_options(conn, MYSQL_OPT_WRITE_TIMEOUT, &rw_timeout);
    mysql_options(conn, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    mysql_options(conn, MYSQL_INIT_COMMAND, "SET time_zone = '+00:00'");
    if (!s_set(p->ssl_ca) && !s_set(p->ssl_cert) && !s_set(p->ssl_key) && !p->ssl_verify) return 0;
    /* Asked for TLS: require it, so that a server (or a man in the middle)
     * that does not offer it cannot downgrade the link to clear text. */
    my_bool on = 1, verify = p->ssl_verify ? 1 : 0;
    struct {
        enum mysql_option opt;
        const void *arg;
        const char *name;
    } opts[] = {
        {MYSQL_OPT_SSL_ENFORCE, &on, "TLS"},
        {MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify, "mysql.ssl_verify"},
        {MYSQL_OPT_SSL_CA, s_set(p->ssl_ca) ? p->ssl_ca : NULL, "mysql.ssl_ca"},
        {MYSQL_OPT_SSL_CERT, s_set(p->ssl_cert) ? p->ssl_cert : NULL, "mysql.ssl_cert"},
        {MYSQL_OPT_SSL_KEY, s_set(p->ssl_key) ? p->ssl_key : NULL, "mysql.ssl_key"},
    };
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
        if (i >= 2 && !opts[i].arg) continue;
        if (mysql_options(conn, opts[i].opt, opts[i].arg) != 0) {
            snprintf(err, err_size, "the MySQL client library refused %s", opts[i].name);
            return HG_EINVAL;
        }
    }
    return 0;
}

MYSQL *hg_db_connect(const hg_db_params_t *p, char *err, size_t err_size)
{
    MYSQL *conn = mysql_init(NULL);
    if (!conn) {
        snprintf(err, err_size, "mysql_init: out of memory");
        return NULL;
    }
    if (hg_db_set_options(conn, p, err, err_size) != 0) {
        mysql_close(conn);
        return NULL;
    }
    const char *host = (p->host && *p->host) ? p->host : NULL;
    const char *sock = (p->socket && *p->socket) ? p->socket : NULL;
    if (!mysql_real_connect(conn, host, p->user, p->password, p->database, (unsigned int) p->port,
                            sock, CLIENT_MULTI_RESULTS)) {
        snprintf(err, err_size, "cannot connect to MySQL at %s:%d as %s (database %s): %s",
                 host ? host : (sock ? sock : "localhost"), p->port, p->user, p->database,
                 mysql_error(conn));
        mysql_close(conn);
        return NULL;
    }
    return conn;
}

int hg_db_read_password_file(const char *path, char **password, char *err, size_t err_size)
{
    *password = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        snprintf(err, err_size, "mysql.password_file %s: %s", path, strerror(errno));
        return HG_EIO;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, err_size, "mysql.password_file %s: not a regular file", path);
        close(fd);
        return HG_EINVAL;
    }
    if (st.st_mode & 077) {
        /* As ssh does with a private key: a secret others can read is no
         * longer one, and starting anyway would hide that. */
        snprintf(err, err_size,
                 "mysql.password_file %s: mode %03o lets group or others at it; refusing it "
                 "(chmod 600)",
                 path, (unsigned) (st.st_mode & 0777));
        close(fd);
        return HG_EINVAL;
    }
    char buf[4097];
    ssize_t n, len = 0;
    while (len < (ssize_t) sizeof buf - 1 &&
           (n = read(fd, buf + len, sizeof buf - 1 - (size_t) len)) != 0) {
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            snprintf(err, err_size, "mysql.password_file %s: %s", path, strerror(errno));
            close(fd);
            return HG_EIO;
        }
        len += n;
    }
    close(fd);
    if (len >= (ssize_t) sizeof buf - 1) {
        snprintf(err, err_size, "mysql.password_file %s: longer than 4 KiB", path);
        return HG_EINVAL;
    }
    if (len > 0 && buf[len - 1] == '\n') len--;
    if (len > 0 && buf[len - 1] == '\r') len--;
    buf[len] = '\0';
    if (memchr(buf, '\0', (size_t) len) || memchr(buf, '\n', (size_t) len)) {
        snprintf(err, err_size, "mysql.password_file %s: holds more than one line", path);
        explicit_bzero(buf, sizeof buf);
        return HG_EINVAL;
    }
    *password = strdup(buf);
    explicit_bzero(buf, sizeof buf);
    if (!*password) {
        snprintf(err, err_size, "out of memory");
        return HG_ENOMEM;
    }
    return 0;
}

void hg_db_close(MYSQL **conn)
{
    if (conn && *conn) {
        mysql_close(*conn);
        *conn = NULL;
    }
}

int hg_db_is_conn_error(unsigned int e)
{
    return e == CR_SERVER_GONE_ERROR || e == CR_SERVER_LOST || e == CR_CONNECTION_ERROR ||
           e == CR_CONN_HOST_ERROR || e == CR_SERVER_LOST_EXTENDED || e == ER_SERVER_SHUTDOWN ||
           e == ER_CONNECTION_KILLED || e == CR_COMMANDS_OUT_OF_SYNC || e == 4031 /* timeout */;
}

int hg_db_conn_lost(MYSQL *conn)
{
    return !conn || (int) mysql_get_socket(conn) < 0;
}

MYSQL_STMT *hg_db_prepare(MYSQL *conn, const char *sql, char *err, size_t err_size)
{
    MYSQL_STMT *st = mysql_stmt_init(conn);
    if (!st) {
        snprintf(err, err_size, "mysql_stmt_init: %s", mysql_error(conn));
        return NULL;
    }
    if (mysql_stmt_prepare(st, sql, strlen(sql)) != 0) {
        snprintf(err, err_size, "prepare failed: %s", mysql_stmt_error(st));
        mysql_stmt_close(st);
        return NULL;
    }
    return st;
}

void hg_db_time_from_ms(int64_t ms, MYSQL_TIME *t)
{
    memset(t, 0, sizeof *t);
    int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
    /* Calendar arithmetic, not gmtime_r: glibc's takes a global lock and
     * the store converts three times per run record. */
    int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
    int64_t rest = secs - days * 86400;
    int64_t y;
    int m, d;
    hg_civil_from_days(days, &y, &m, &d);
    t->year = (unsigned) y;
    t->month = (unsigned) m;
    t->day = (unsigned) d;
    t->hour = (unsigned) (rest / 3600);
    t->minute = (unsigned) (rest % 3600 / 60);
    t->second = (unsigned) (rest % 60);
    t->second_part = (unsigned long) ((ms - secs * 1000) * 1000);
    t->time_type = MYSQL_TIMESTAMP_DATETIME;
}

int64_t hg_db_time_to_ms(const MYSQL_TIME *t)
{
    struct tm tm = {0};
    tm.tm_year = (int) t->year - 1900;
    tm.tm_mon = (int) t->month - 1;
    tm.tm_mday = (int) t->day;
    tm.tm_hour = (int) t->hour;
    tm.tm_min = (int) t->minute;
    tm.tm_sec = (int) t->second;
    return (int64_t) timegm(&tm) * 1000 + (int64_t) (t->second_part / 1000);
}

/* One migration file: NNN_name.sql. */
typedef struct {
    int version;    /* NNN */
    char name[256]; /* file name */
} s_migration_t;

static int s_cmp_migration(const void *a, const void *b)
{
    return ((const s_migration_t *) a)->version - ((const s_migration_t *) b)->version;
}

static int s_exec(MYSQL *conn, const char *sql, char *err, size_t err_size)
{
    if (mysql_real_query(conn, sql, strlen(sql)) != 0) {
        snprintf(err, err_size, "%s", mysql_error(conn));
        return HG_EDB;
    }
    /* Drain any result so the connection stays usable. */
    do {
        MYSQL_RES *res = mysql_store_result(conn);
        if (res) mysql_free_result(res);
    } while (mysql_next_result(conn) == 0);
    return 0;
}

static char *s_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = size >= 0 ? malloc((size_t) size + 1) : NULL;
    if (buf && fread(buf, 1, (size_t) size, f) != (size_t) size) {
        free(buf);
        buf = NULL;
    }
    if (buf) buf[size] = '\0';
    fclose(f);
    return buf;
}

/* Run the statements of one file; they are separated by lines holding
 * only ";" so that a statement may itself contain semicolons. */
static int s_apply_file(MYSQL *conn, const char *path, char *err, size_t err_size)
{
    char *text = s_read_file(path);
    if (!text) {
        snprintf(err, err_size, "cannot read migration %.400s", path);
        return HG_EIO;
    }
    int rc = 0;
    char *stmt = text;
    for (char *line = text; line && *line && rc == 0;) {
        char *next = strchr(line, '\n');
        size_t len = next ? (size_t) (next - line) : strlen(line);
        if (len >= 1 && line[0] == ';' && (len == 1 || (len == 2 && line[1] == '\r'))) {
            *line = '\0';
            if (strspn(stmt, " \t\r\n") != strlen(stmt)) rc = s_exec(conn, stmt, err, err_size);
            stmt = next ? next + 1 : line + len;
        }
        line = next ? next + 1 : NULL;
    }
    if (rc == 0 && strspn(stmt, " \t\r\n") != strlen(stmt)) {
        /* Trailing text after the last separator must be comments only. */
        char *p = stmt;
        int only_comments = 1;
        while (*p) {
            p += strspn(p, " \t\r\n");
            if (strncmp(p, "--", 2) == 0) {
                char *nl = strchr(p, '\n');
                p = nl ? nl + 1 : p + strlen(p);
            } else if (*p) {
                only_comments = 0;
                break;
            }
        }
        if (!only_comments) rc = s_exec(conn, stmt, err, err_size);
    }
    free(text);
    return rc;
}

int hg_db_migrate(MYSQL *conn, const char *schema_dir, char *err, size_t err_size)
{
    s_migration_t list[256];
    size_t n = 0;
    DIR *dir = opendir(schema_dir);
    if (!dir) {
        snprintf(err, err_size, "cannot open schema directory %s", schema_dir);
        return HG_EIO;
    }
    struct dirent *de;
    while ((de = readdir(dir)) && n < 256) {
        int v;
        char tail[8];
        size_t len = strlen(de->d_name);
        if (len > 4 && strcmp(de->d_name + len - 4, ".sql") == 0 &&
            sscanf(de->d_name, "%d_%1s", &v, tail) == 2 && v > 0) {
            list[n].version = v;
            snprintf(list[n].name, sizeof list[n].name, "%s", de->d_name);
            n++;
        }
    }
    closedir(dir);
    qsort(list, n, sizeof list[0], s_cmp_migration);
    int known = n ? list[n - 1].version : 0;

    /* Several masters may start together: one migrates at a time. */
    int rc = s_exec(conn, "DO GET_LOCK('hourglass.migrate', 60)", err, err_size);
    if (rc) return rc;
    rc = s_exec(conn,
                "CREATE TABLE IF NOT EXISTS schema_version (version INT NOT NULL PRIMARY KEY,"
                " name VARCHAR(255) NOT NULL, applied_at DATETIME(3) NOT NULL"
                " DEFAULT CURRENT_TIMESTAMP(3)) ENGINE=InnoDB",
                err, err_size);
    int current = 0;
    if (rc == 0) {
        if (mysql_query(conn, "SELECT COALESCE(MAX(version), 0) FROM schema_version") != 0) {
            snprintf(err, err_size, "%s", mysql_error(conn));
            rc = HG_EDB;
        } else {
            MYSQL_RES *res = mysql_store_result(conn);
            MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;
            current = row && row[0] ? atoi(row[0]) : 0;
            if (res) mysql_free_result(res);
        }
    }
    if (rc == 0 && current > known) {
        snprintf(err, err_size,
                 "database schema is at version %d but this hourglass-master knows migrations "
                 "up to %d only; upgrade hourglass-master (refusing to start)",
                 current, known);
        rc = HG_ESCHEMA;
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (list[i].version <= current) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", schema_dir, list[i].name);
        char msg[512] = "";
        rc = s_apply_file(conn, path, msg, sizeof msg);
        if (rc) {
            snprintf(err, err_size, "migration %s failed: %s", list[i].name, msg);
            break;
        }
        MYSQL_STMT *st = hg_db_prepare(
            conn, "INSERT INTO schema_version (version, name) VALUES (?, ?)", err, err_size);
        if (!st) {
            rc = HG_EDB;
            break;
        }
        MYSQL_BIND b[2];
        memset(b, 0, sizeof b);
        int version = list[i].version;
        unsigned long name_len = strlen(list[i].name);
        b[0].buffer_type = MYSQL_TYPE_LONG;
        b[0].buffer = &version;
        b[1].buffer_type = MYSQL_TYPE_STRING;
        b[1].buffer = list[i].name;
        b[1].buffer_length = name_len;
        b[1].length = &name_len;
        if (mysql_stmt_bind_param(st, b) != 0 || mysql_stmt_execute(st) != 0) {
            snprintf(err, err_size, "recording migration %s: %s", list[i].name,
                     mysql_stmt_error(st));
            rc = HG_EDB;
        }
        mysql_stmt_close(st);
    }
    char ignore[128];
    s_exec(conn, "DO RELEASE_LOCK('hourglass.migrate')", ignore, sizeof ignore);
    return rc;
}

void hg_db_bind_str(MYSQL_BIND *b, const char *s, unsigned long *len)
{
    *len = s ? (unsigned long) strlen(s) : 0;
    b->buffer_type = MYSQL_TYPE_STRING;
    b->buffer = (void *) s;
    b->buffer_length = *len;
    b->length = len;
}

void hg_db_bind_u64(MYSQL_BIND *b, uint64_t *v)
{
    b->buffer_type = MYSQL_TYPE_LONGLONG;
    b->buffer = v;
    b->is_unsigned = 1;
}

void hg_db_bind_out(MYSQL_BIND *b, enum enum_field_types type, void *buf, unsigned long size,
                    unsigned long *len, my_bool *is_null)
{
    b->buffer_type = type;
    b->buffer = buf;
    b->buffer_length = size;
    b->length = len;
    b->is_null = is_null;
}

/* The password read from mysql.password_file. */
static char s_password[4097];

int hg_db_params_from_config(hg_config_t *cfg, hg_db_params_t *p, char *err, size_t err_size)
{
    *p = (hg_db_params_t){
        .host = hg_config_str(cfg, "mysql.host"),
        .port = (int) hg_config_int(cfg, "mysql.port"),
        .socket = hg_config_str(cfg, "mysql.socket"),
        .user = hg_config_str(cfg, "mysql.user"),
        .password = hg_config_str(cfg, "mysql.password"),
        .database = hg_config_str(cfg, "mysql.database"),
        .ssl_ca = hg_config_str(cfg, "mysql.ssl_ca"),
        .ssl_cert = hg_config_str(cfg, "mysql.ssl_cert"),
        .ssl_key = hg_config_str(cfg, "mysql.ssl_key"),
        .ssl_verify = hg_config_bool(cfg, "mysql.ssl_verify"),
    };
    if (p->ssl_verify && !*p->ssl_ca) {
        snprintf(err, err_size,
                 "mysql.ssl_verify needs mysql.ssl_ca, the CA that signed MySQL's certificate");
        return HG_EINVAL;
    }
    const char *file = hg_config_str(cfg, "mysql.password_file");
    if (!*file) return 0;
    if (*p->password) {
        snprintf(err, err_size, "give mysql.password or mysql.password_file, not both");
        return HG_EINVAL;
    }
    char *password = NULL;
    int rc = hg_db_read_password_file(file, &password, err, err_size);
    if (rc != 0) return rc;
    snprintf(s_password, sizeof s_password, "%s", password);
    explicit_bzero(password, strlen(password));
    free(password);
    p->password = s_password;
    return 0;
}
