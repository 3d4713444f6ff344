/* api_masters: GET /api/v1/masters, the leader and its standbys from
 * their heartbeat rows (masters.h), for the dashboard's Overview and
 * `hourglass masters`. A read for the viewer role, served by any master. */
#include "api_internal.h"
#include "masters.h"
#include "hg_error.h"

#include <jansson.h>
#include <microhttpd.h>

static int s_op_list(MYSQL *db, void *arg, char *err, size_t err_size)
{
    return hg_masters_list(db, (json_t **) arg, err, err_size);
}

void hg_api__masters_list(hg_api_ctx_t *c)
{
    json_t *list = NULL;
    char err[1024];
    int rc = hg_api__with_db(c->api, s_op_list, &list, err, sizeof err);
    if (rc != 0) {
        hg_api__db_error(c, rc, err);
        return;
    }
    hg_api__reply(
        c, MHD_HTTP_OK,
        json_pack("{s:o, s:i}", "masters", list, "stale_after_s", HG_MASTERS_STALE_MS / 1000));
}
