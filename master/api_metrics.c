/* api_metrics: GET /metrics, the Prometheus exposition of metrics.h.
 *
 * Served by every master: the leader's figures are the cluster's; a
 * standby's say hourglass_leader 0 and give its process figures. It needs
 * a viewer token (how Prometheus scrapers are usually set up, with
 * bearer_token_file) unless metrics.public is on; a token scoped to one
 * namespace is refused, since the figures span every namespace. */
#include "api_internal.h"
#include "metrics.h"

#include <microhttpd.h>
#include <stdlib.h>

#define S_EXPOSITION_TYPE "text/plain; version=0.0.4; charset=utf-8"

void hg_api__metrics(hg_api_ctx_t *c)
{
    hg_metrics_t *m = hg_api__metrics_of(c->api);
    if (!m) {
        hg_api__error(c, MHD_HTTP_NOT_FOUND, "not_found", NULL, "this master exports no metrics");
        return;
    }
    if (c->who.role != HG_ROLE_NONE && c->who.ns[0]) {
        hg_api__error(c, MHD_HTTP_FORBIDDEN, "forbidden", NULL,
                      "/metrics spans every namespace; token \"%s\" is scoped to namespace \"%s\"",
                      c->who.name, c->who.ns);
        return;
    }
    size_t len = 0;
    char *text = hg_metrics_render(m, &len);
    if (!text) {
        hg_api__error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", NULL,
                      "out of memory rendering the metrics");
        return;
    }
    c->status = MHD_HTTP_OK;
    c->text = text;
    c->text_len = len;
    c->text_type = S_EXPOSITION_TYPE;
}
