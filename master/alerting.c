/* alerting: settings and start of the leader's alert actors (alerting.h). */
#include "alerting.h"
#include "alert_sender.h"
#include "hg_log.h"

#include <stdio.h>
#include <stdlib.h>

struct hg_alerting {
    zactor_t *engine; /* evaluation of committed runs, missed check */
    zactor_t *sender; /* delivery */
};

void hg_alerting_opts(hg_config_t *cfg, const hg_db_params_t *db, const char *api_url,
                      hg_alert_opts_t *opts, char *link_buf, size_t link_size)
{
    const char *link = hg_config_str(cfg, "alerts.dashboard_url");
    if (!*link) {
        snprintf(link_buf, link_size, "%s/dashboard", api_url);
        link = link_buf;
    }
    *opts = (hg_alert_opts_t){
        .db = db,
        .missed_interval_ms = hg_config_int(cfg, "alerts.missed_interval"),
        .catchup_ms = hg_config_int(cfg, "alerts.catchup"),
        .queue_max = (uint64_t) hg_config_int(cfg, "alerts.queue_max"),
        .dashboard_url = link,
        .retry_for_ms = hg_config_int(cfg, "alerts.retry_for"),
        .backoff_max_ms = hg_config_int(cfg, "alerts.retry_backoff_max"),
        .send_timeout_ms = (long) hg_config_int(cfg, "alerts.send_timeout"),
    };
}

hg_alerting_t *hg_alerting_start(const hg_alert_opts_t *opts)
{
    hg_alerting_t *self = calloc(1, sizeof *self);
    if (!self) return NULL;
    self->engine = hg_alert_engine_new(opts);
    self->sender = hg_alert_sender_new(opts);
    if (!self->engine || !self->sender) {
        hg_error("alerts: cannot start the alert actors; no alerts are sent");
        hg_alerting_stop(&self);
    }
    return self;
}

void hg_alerting_stop(hg_alerting_t **self)
{
    if (!*self) return;
    zactor_destroy(&(*self)->engine);
    zactor_destroy(&(*self)->sender);
    free(*self);
    *self = NULL;
}
