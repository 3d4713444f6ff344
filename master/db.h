/* db: MySQL connections and schema migrations for the master. Every
 * connection runs in UTC (time_zone = '+00:00') and utf8mb4. Each thread or
 * actor owns its own connection; none is shared. */
#ifndef HG_MASTER_DB_H
#define HG_MASTER_DB_H

#include "hg_config.h"

#include <mysql.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct {
    const char *host;     /* host name, or NULL/"" with a socket */
    int port;             /* TCP port */
    const char *socket;   /* unix socket path, or NULL/"" */
    const char *user;     /* user name */
    const char *password; /* password, may be "" */
    const char *database; /* schema name */
    /* TLS to the server (Connector/C). Any of these set makes TLS required:
     * a server that does not offer it is refused, not used in clear. */
    const char *ssl_ca;   /* CA certificate file (PEM), or NULL/"" */
    const char *ssl_cert; /* client certificate (PEM), or NULL/"" */
    const char *ssl_key;  /* its private key (PEM), or NULL/"" */
    bool ssl_verify;      /* check the server's certificate and host name against ssl_ca */
} hg_db_params_t;

/* Set the connection options of params on conn (before connecting):
 * timeouts, charset, time zone, TLS. 0, or HG_EINVAL with why in err (a
 * TLS option the client library refuses). */
int hg_db_set_options(MYSQL *conn, const hg_db_params_t *params, char *err, size_t err_size);

/* Read a password from path, as mysql.password_file: the file must be a
 * regular file that neither group nor others may read or write (like ssh
 * with a private key), and is at most 4 KiB; one trailing newline is
 * dropped. The caller frees *password. 0, or HG_EINVAL / HG_EIO with why in
 * err (never the password). */
int hg_db_read_password_file(const char *path, char **password, char *err, size_t err_size);

/* The MySQL settings of a master's config (mysql.* and the secrets:
 * mysql.password_file, TLS) in *params; the strings stay owned by cfg,
 * but for a password read from its file, kept in a static buffer for the
 * life of the process (every actor reconnects with it). 0, or HG_EINVAL
 * with why in err. */
int hg_db_params_from_config(hg_config_t *cfg, hg_db_params_t *params, char *err, size_t err_size);

/* Open a connection (blocking, connect timeout 5 s, read/write timeout
 * 30 s). NULL on failure with the server's message in err. */
MYSQL *hg_db_connect(const hg_db_params_t *params, char *err, size_t err_size);

/* Close and NULL. */
void hg_db_close(MYSQL **conn);

/* Apply every schema/NNN_*.sql in schema_dir not yet recorded in
 * schema_version, in order, each in its own step. Returns 0, HG_ESCHEMA when
 * the database is newer than the highest migration this build knows (message
 * in err), or HG_EDB / HG_EIO. */
int hg_db_migrate(MYSQL *conn, const char *schema_dir, char *err, size_t err_size);

/* ms since epoch -> MYSQL_TIME in UTC, and back. */
void hg_db_time_from_ms(int64_t ms, MYSQL_TIME *t);
int64_t hg_db_time_to_ms(const MYSQL_TIME *t);

/* Prepare a statement; NULL with the message in err. */
MYSQL_STMT *hg_db_prepare(MYSQL *conn, const char *sql, char *err, size_t err_size);

/* True if the last error on conn means the server is gone (reconnect). */
/* Prepared-statement parameter helpers. hg_db_bind_str binds s (NULL binds
 * an empty string) and keeps its length in *len, which must outlive the
 * execution; hg_db_bind_u64 binds an unsigned 64-bit integer. */
void hg_db_bind_str(MYSQL_BIND *b, const char *s, unsigned long *len);
void hg_db_bind_u64(MYSQL_BIND *b, uint64_t *v);
/* Bind a result column of type into buf (size bytes), with its length and
 * NULL flag. */
void hg_db_bind_out(MYSQL_BIND *b, enum enum_field_types type, void *buf, unsigned long size,
                    unsigned long *len, my_bool *is_null);

int hg_db_is_conn_error(unsigned int mysql_errno);

/* True if conn has lost its server: its socket is closed. Use it besides
 * hg_db_is_conn_error, because closing a failed statement clears the
 * connection's error number. */
int hg_db_conn_lost(MYSQL *conn);

#endif
