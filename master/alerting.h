/* alerting: the leader's alert machinery as main.c sees it: the settings
 * (alerts.* in the config table) and the engine and sender actors
 * (alert_engine.h, alert_sender.h), started when this master leads. */
#ifndef HG_MASTER_ALERTING_H
#define HG_MASTER_ALERTING_H

#include "alert_engine.h"
#include "hg_config.h"

/* The alerts.* rows of the master's config table (hg_cfg_def_t), which
 * main.c's table includes as "HG_ALERTING_CONFIG,". */
// clang-format off
#define HG_ALERTING_CONFIG                                                                         \
    {"alerts.dashboard_url", HG_CFG_STR, "", 0, 0,                                                 \
     "base of the dashboard links in alerts (default: <api.url>/dashboard)"},                      \
    {"alerts.queue_max", HG_CFG_INT, "10000", 1, 10000000,                                         \
     "alert deliveries waiting at most (a dead SMTP server or webhook); beyond, new alerts are "   \
     "dropped and logged"},                                                                        \
    {"alerts.retry_for", HG_CFG_DURATION, "24h", 1000, 604800000,                                  \
     "how long a failing alert delivery is retried before it is marked failed"},                   \
    {"alerts.retry_backoff_max", HG_CFG_DURATION, "5m", 1000, 3600000,                             \
     "longest wait between two attempts of a failing alert delivery (1 s, doubling)"},             \
    {"alerts.send_timeout", HG_CFG_DURATION, "10s", 100, 600000,                                   \
     "one alert delivery attempt at most"},                                                        \
    {"alerts.missed_interval", HG_CFG_DURATION, "5s", 100, 3600000,                                \
     "how often the leader checks for missed runs (the dead-man switch)"},                         \
    {"alerts.catchup", HG_CFG_DURATION, "10m", 0, 86400000,                                        \
     "a new leader evaluates again the runs started this long before the last one evaluated"}
// clang-format on

/* Settings from cfg; strings stay owned by cfg (dashboard_url: *link_buf,
 * of size link_size, when derived from api_url). */
void hg_alerting_opts(hg_config_t *cfg, const hg_db_params_t *db, const char *api_url,
                      hg_alert_opts_t *opts, char *link_buf, size_t link_size);

typedef struct hg_alerting hg_alerting_t;

/* Start the engine and the sender; NULL (logged) on failure. */
hg_alerting_t *hg_alerting_start(const hg_alert_opts_t *opts);

/* Stop both and NULL *self. */
void hg_alerting_stop(hg_alerting_t **self);

#endif
