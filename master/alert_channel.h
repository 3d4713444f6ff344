/* alert_channel: delivery of one alert over a rule's channel, with libcurl:
 *
 *   webhook  a JSON POST of the event document (alert_engine.h), whose
 *            "text" member is what Slack's incoming webhooks show; signed
 *            with HMAC-SHA256 over the exact body with the channel's secret,
 *            in the header "Hourglass-Signature: sha256=<hex>".
 *   email    SMTP (STARTTLS as configured, optional login), one message
 *            with a plain-text and an HTML alternative listing the run, its
 *            error and a link to the dashboard.
 *
 * Blocking: called only on the alert sender's own thread, or the API
 * thread of "alert test", each bounded by timeout_ms. Never logs, and never
 * puts a secret into an error message. */
#ifndef HG_MASTER_ALERT_CHANNEL_H
#define HG_MASTER_ALERT_CHANNEL_H

#include "alerts.h"

#include <jansson.h>
#include <stddef.h>

/* Header carrying the webhook body's signature. */
#define HG_ALERT_SIGNATURE_HEADER "Hourglass-Signature"

/* Send doc (an event document) over rule's channel; link is the dashboard
 * address of the run or job ("" for none). 0, or HG_EIO / HG_ETIMEOUT /
 * HG_EINVAL with the reason in err. */
int hg_alert_channel_send(const hg_alert_rule_t *rule, json_t *doc, const char *link,
                          long timeout_ms, char *err, size_t err_size);

/* "sha256=" and the lowercase hex HMAC-SHA256 of body under secret, into
 * out (at least 72 bytes). */
void hg_alert_sign(const char *secret, const char *body, size_t len, char *out, size_t out_size);

/* The plain-text and HTML bodies of the e-mail for doc (callers free). */
char *hg_alert_email_text(json_t *doc, const char *link);
char *hg_alert_email_html(json_t *doc, const char *link);

#endif
