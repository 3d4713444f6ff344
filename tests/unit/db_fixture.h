/* db_fixture: a fresh database of the private MariaDB for a unit test.
 * Settings come from HOURGLASS_MYSQL_* (scripts/test exports them; the
 * defaults are its test instance's). An unreachable database fails the
 * test, it does not skip. */
#ifndef HG_TEST_DB_FIXTURE_H
#define HG_TEST_DB_FIXTURE_H

#include "db.h"

/* Fill params, drop and create database `name`, apply the migrations of
 * schema/, and return a connection to it; params->database is then name.
 * NULL after printing why, prefixed with prog. */
MYSQL *hg_test_db_open(const char *prog, const char *name, hg_db_params_t *params);

#endif
