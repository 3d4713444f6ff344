/* master_link: the worker's socket to its master and the choice of master
 * (see master_link.h). */
#include "master_link.h"
#include "hg_error.h"
#include "hg_log.h"
#include "hg_time.h"
#include "hg_zsock.h"

#include <inttypes.h>

/* With several masters: one that has not accepted our connection this long
 * after we dialled it is taken as down, and the next one is tried. */
#define S_CONNECT_WAIT_MS 500

/* The pinned master key to try on endpoint: with one key per configured
 * endpoint, that endpoint's key first; with several keys, each redial of
 * the same endpoint tries the next (a master with another key answers
 * nothing, and silence makes us redial). */
static const char *s_master_key(hg_wlink_t *self, const char *endpoint)
{
    size_t n = self->cfg->master_keys_n, first = 0;
    if (n == 0) return NULL;
    if (streq(endpoint, self->endpoint))
        self->key_attempt++;
    else
        self->key_attempt = 0;
    if (n == self->endpoints_n)
        for (size_t i = 0; i < n; i++)
            if (streq(self->endpoints[i], endpoint)) first = i;
    return self->cfg->master_keys[(first + self->key_attempt) % n];
}

/* (Re)create the DEALER and dial endpoint. A new socket rather than a
 * disconnect and connect: nothing queued for the old master leaks to the
 * new one, and nothing the old one still sends reaches us. The session
 * starts over with HELLO. 0, or -1 when the endpoint is malformed. */
static int s_dial(hg_wlink_t *self, const char *endpoint)
{
    zsock_destroy(&self->dealer);
    self->dealer = zsock_new(ZMQ_DEALER);
    if (!self->dealer) return -1;
    /* No routing id of our own: the master knows us by our key, and gives
     * each connection a fresh id (a restart never collides with the
     * connection it replaces). */
    /* Checked setters (hg_zsock.h): a refused option fails this dial
     * (retried later), it does not abort the worker. */
    int rc = hg_zsock_set_i64(self->dealer, ZMQ_MAXMSGSIZE, (int64_t) HG_PROTO_MAX_MSG);
    if (self->cfg->cert) {
        zcert_apply(self->cfg->cert, zsock_resolve(self->dealer));
        rc |= hg_zsock_set_str(self->dealer, ZMQ_CURVE_SERVERKEY, s_master_key(self, endpoint));
    }
    rc |= hg_zsock_set_int(self->dealer, ZMQ_IMMEDIATE, 1);
    rc |= hg_zsock_set_int(self->dealer, ZMQ_RECONNECT_IVL, 100);
    rc |= hg_zsock_set_int(self->dealer, ZMQ_RECONNECT_IVL_MAX, 1000);
    rc |= hg_zsock_set_int(self->dealer, ZMQ_SNDHWM, 100000);
    rc |= hg_zsock_set_int(self->dealer, ZMQ_RCVHWM, 100000);
    rc |= hg_zsock_set_int(self->dealer, ZMQ_LINGER, 0);
    if (rc != 0) {
        hg_error("cannot set up the socket to master endpoint %s: %s", endpoint,
                 zmq_strerror(zmq_errno()));
        zsock_destroy(&self->dealer);
        return -1;
    }
    snprintf(self->endpoint, sizeof self->endpoint, "%s", endpoint);
    self->welcomed = false;
    self->next_hello = 0;
    self->dialled_at = hg_mono_ms();
    self->last_sent = 0;
    self->hb_unsent = 0;
    if (zsock_connect(self->dealer, "%s", endpoint) != 0) {
        hg_error("cannot connect to master endpoint %s", endpoint);
        return -1;
    }
    return 0;
}

int hg_wlink_open(hg_wlink_t *self, const hg_agent_config_t *cfg)
{
    self->cfg = cfg;
    self->heartbeat_ms = cfg->heartbeat_ms;
    self->lease_ms = cfg->lease_ms;
    self->endpoints = cfg->masters_n ? cfg->masters : &cfg->master;
    self->endpoints_n = cfg->masters_n ? cfg->masters_n : 1;
    for (size_t i = 0; i < self->endpoints_n; i++) {
        /* Refuse a malformed endpoint now rather than when it is needed. */
        if (s_dial(self, self->endpoints[i]) != 0) {
            zsock_destroy(&self->dealer);
            return -1;
        }
    }
    s_dial(self, self->endpoints[0]);
    return 0;
}

void hg_wlink_close(hg_wlink_t *self)
{
    zsock_destroy(&self->dealer);
}

int hg_wlink_send(hg_wlink_t *self, hg_msg_t *msg)
{
    msg->seq = ++self->seq;
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = hg_msg_encode(msg, &buf, &len);
    if (rc != 0) {
        hg_error("cannot encode %s: %s", hg_msg_type_name(msg->type), hg_strerror(rc));
        return rc;
    }
    zframe_t *f = zframe_new(buf, len);
    free(buf);
    if (zframe_send(&f, self->dealer, ZFRAME_DONTWAIT) != 0) {
        zframe_destroy(&f);
        return HG_EUNAVAIL; /* not connected; records stay unacked and are resent */
    }
    self->last_sent = hg_mono_ms();
    return 0;
}

/* ------------------------------------------------------ choosing a master */

/* Dial another master, saying why. */
static void s_switch(hg_wlink_t *self, const char *endpoint, const char *why)
{
    hg_info("master: switching from %s to %s (%s)", self->endpoint, endpoint, why);
    for (size_t i = 0; i < self->endpoints_n; i++)
        if (streq(self->endpoints[i], endpoint)) self->endpoint_index = i;
    if (s_dial(self, endpoint) != 0) {
        /* A malformed hint must not strand us: back to the list. */
        self->endpoint_index = (self->endpoint_index + 1) % self->endpoints_n;
        s_dial(self, self->endpoints[self->endpoint_index]);
    }
}

/* Move on to the next configured endpoint. With a single endpoint we stay
 * and say HELLO again (a restarted master). */
static void s_rotate(hg_wlink_t *self, const char *why)
{
    const char *next = self->endpoints[(self->endpoint_index + 1) % self->endpoints_n];
    bool on_list = streq(self->endpoint, self->endpoints[self->endpoint_index]);
    if (!on_list) next = self->endpoints[self->endpoint_index]; /* leave a hint for the list */
    if (streq(next, self->endpoint)) {
        self->welcomed = false;
        self->next_hello = hg_mono_ms() + 250; /* the usual HELLO pace, never a busy loop */
        return;
    }
    s_switch(self, next, why);
}

/* True when there is another endpoint to try than the one dialled. */
static bool s_can_move(hg_wlink_t *self)
{
    return self->endpoints_n > 1 || !streq(self->endpoint, self->endpoints[0]);
}

/* The master we dial went silent for a lease: try the next one, and
 * remember it so that a standby's stale hint does not send us straight
 * back. */
static void s_left_silent(hg_wlink_t *self, int64_t silent_ms)
{
    char why[96];
    snprintf(why, sizeof why, "no answer for %lld ms", (long long) silent_ms);
    snprintf(self->silent_endpoint, sizeof self->silent_endpoint, "%s", self->endpoint);
    self->silent_at = hg_mono_ms();
    if (s_can_move(self))
        hg_warn("master at %s silent for %lld ms", self->endpoint, (long long) silent_ms);
    s_rotate(self, why);
}

/* The only master we know has not answered HELLO for a lease: dial it
 * again on a fresh socket. A connection ZeroMQ gave up on (it never
 * retries one whose handshake failed) must not keep this worker away for
 * good; the records it holds are resent after the WELCOME. Logged on the
 * first try and then every tenth, so a long outage is a few lines. */
static void s_redial(hg_wlink_t *self, int64_t silent_ms)
{
    if (self->redials++ % 10 == 0)
        hg_warn("master at %s has not answered for %lld ms; dialling it again (try %u)%s",
                self->endpoint, (long long) silent_ms, self->redials,
                self->cfg->cert ? " (a master whose key is not in master.key, or one that does "
                                  "not admit our key, answers nothing)"
                                : "");
    char endpoint[sizeof self->endpoint];
    snprintf(endpoint, sizeof endpoint, "%s", self->endpoint);
    s_dial(self, endpoint);
}

/* Follow the standby's hint unless it names the master we just left for
 * silence (the row still names a dead leader until the standby itself
 * takes over): then stay and keep saying HELLO here. With no hint, try the
 * next endpoint, at most once per heartbeat interval. */
void hg_wlink_on_not_leader(hg_wlink_t *self, const char *leader)
{
    int64_t now = hg_mono_ms();
    self->welcomed = false;
    if (leader && *leader && !streq(leader, self->endpoint)) {
        bool stale =
            streq(leader, self->silent_endpoint) && now - self->silent_at < 2 * self->lease_ms;
        if (!stale) {
            char why[600];
            snprintf(why, sizeof why, "%s is a standby; the leader is at %s", self->endpoint,
                     leader);
            s_switch(self, leader, why);
        }
        return;
    }
    if (now - self->dialled_at >= self->heartbeat_ms) s_rotate(self, "standby knows no leader yet");
}

bool hg_wlink_on_welcome(hg_wlink_t *self, const hg_welcome_t *w)
{
    if (w->master_epoch < self->max_master_epoch) {
        /* Fencing: a master that led before the one we already followed
         * has been deposed, whatever it believes. */
        hg_warn("master %s at %s offers leadership epoch %" PRIu64 ", older than %" PRIu64
                " already seen; refusing it",
                w->master ? w->master : "?", self->endpoint, w->master_epoch,
                self->max_master_epoch);
        self->welcomed = false;
        if (hg_mono_ms() - self->dialled_at >= self->heartbeat_ms)
            s_rotate(self, "deposed leader");
        else
            self->next_hello = hg_mono_ms() + 250;
        return false;
    }
    self->max_master_epoch = w->master_epoch;
    self->silent_endpoint[0] = '\0';
    self->redials = 0;
    self->welcomed = true;
    if (w->heartbeat_ms) self->heartbeat_ms = w->heartbeat_ms;
    if (w->lease_ms) self->lease_ms = w->lease_ms;
    hg_info("welcomed by master %s at %s (epoch %" PRIu64 ", heartbeat %lld ms, lease %lld ms)",
            w->master ? w->master : "?", self->endpoint, w->master_epoch,
            (long long) self->heartbeat_ms, (long long) self->lease_ms);
    return true;
}

bool hg_wlink_check_unwelcomed(hg_wlink_t *self, int64_t mono)
{
    /* Nothing at all from this master for a lease since we dialled it: it
     * is down; try the next one. */
    int64_t heard = self->last_rx > self->dialled_at ? self->last_rx : self->dialled_at;
    if (mono - heard > self->lease_ms) {
        if (s_can_move(self))
            s_left_silent(self, mono - heard);
        else
            s_redial(self, mono - heard);
        return true;
    }
    /* Not even a connection: that master is down (killed, not started);
     * with others to try, do not wait out a lease. */
    if (!self->last_sent && mono - self->dialled_at >= S_CONNECT_WAIT_MS && s_can_move(self)) {
        s_rotate(self, "cannot connect");
        return true;
    }
    return false;
}

bool hg_wlink_check_welcomed(hg_wlink_t *self, int hb_rc, int64_t mono)
{
    self->hb_unsent = hb_rc == 0 ? 0 : self->hb_unsent + 1;
    /* Two heartbeats in a row found the connection gone: the master died
     * (a kill closes its sockets). With other masters to try, look for the
     * new leader now: following it before our lease runs out means no
     * firing gap at all. A mere network blip costs a HELLO: the standby
     * points us straight back. */
    if (self->hb_unsent >= 2 && s_can_move(self)) {
        s_rotate(self, "connection to the master lost");
        return true;
    }
    /* Silent master: after a full lease without any message, start over
     * with HELLO (it may have restarted and lost our session), on the next
     * master when there are several. */
    if (mono - self->last_rx > self->lease_ms) {
        self->welcomed = false, self->next_hello = mono + self->heartbeat_ms;
        if (s_can_move(self)) s_left_silent(self, mono - self->last_rx);
    }
    return false;
}
