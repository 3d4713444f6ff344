/* db_fixture: see db_fixture.h. */
#include "db_fixture.h"

#include <stdio.h>
#include <stdlib.h>

static const char *s_env(const char *name, const char *def)
{
    const char *v = getenv(name);
    return v && *v ? v : def;
}

MYSQL *hg_test_db_open(const char *prog, const char *name, hg_db_params_t *params)
{
    params->host = s_env("HOURGLASS_MYSQL_HOST", "127.0.0.1");
    params->port = atoi(s_env("HOURGLASS_MYSQL_PORT", "3317"));
    params->socket = s_env("HOURGLASS_MYSQL_SOCKET", "");
    params->user = s_env("HOURGLASS_MYSQL_USER", "hourglass");
    params->password = s_env("HOURGLASS_MYSQL_PASSWORD", "hourglass");
    params->database = "";
    char err[1024], sql[256];
    MYSQL *boot = hg_db_connect(params, err, sizeof err);
    if (!boot) {
        fprintf(stderr,
                "%s: the database is unreachable (%s).\n"
                "Start the private MariaDB with `scripts/db start`, or point "
                "HOURGLASS_MYSQL_HOST/PORT/USER/PASSWORD at one.\n",
                prog, err);
        return NULL;
    }
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS `%s`", name);
    int failed = mysql_query(boot, sql);
    snprintf(sql, sizeof sql, "CREATE DATABASE `%s` CHARACTER SET utf8mb4", name);
    if (failed || mysql_query(boot, sql)) {
        fprintf(stderr, "%s: cannot create database %s: %s\n", prog, name, mysql_error(boot));
        hg_db_close(&boot);
        return NULL;
    }
    hg_db_close(&boot);
    params->database = name;
    MYSQL *conn = hg_db_connect(params, err, sizeof err);
    if (!conn || hg_db_migrate(conn, HG_SCHEMA_DIR, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", prog, err);
        hg_db_close(&conn);
        return NULL;
    }
    return conn;
}
