/* jobload: stream the active jobs from MySQL into job records (see
 * jobload.c for how most rows skip the JSON work). */
#ifndef HG_MASTER_JOBLOAD_H
#define HG_MASTER_JOBLOAD_H

#include "jobtab.h"

#include <mysql.h>
#include <stdint.h>

/* Takes one record made by hg_jobload_read (it owns it from then on). */
typedef void(hg_jobload_put_fn)(void *arg, hg_jobrec_t *rec);

/* Read the active jobs with an id above *after, in id order, make a record
 * of each (templates in tab; last_fire_ms 0, nothing assigned) and hand
 * it to put. A row that is not a valid job is logged and skipped. *after
 * becomes the last id read, so a read that broke off can go on from
 * there. 0, or the MySQL error number (message in mysql_error(conn)). */
unsigned hg_jobload_read(MYSQL *conn, hg_jobtab_t *tab, uint64_t *after, hg_jobload_put_fn *put,
                         void *arg);

#endif
