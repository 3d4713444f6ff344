/* master_link: which master a worker talks to, and the socket it talks on.
 *
 * Master high availability (agent.h): the worker talks to one master at a
 * time, starting with the first configured endpoint. A standby answers
 * ERROR "not the leader" with the leader's endpoint, dialled next
 * (hg_wlink_on_not_leader). A master that stays silent for a whole lease
 * is left for the next endpoint, or dialled again on a fresh socket when
 * it is the only one (hg_wlink_check_unwelcomed, hg_wlink_check_welcomed).
 * A WELCOME from a master whose leadership epoch is lower than one already
 * seen is refused (a deposed leader, hg_wlink_on_welcome).
 *
 * Split out of the agent (issue 11): the agent runs the session (HELLO,
 * heartbeats, lease, jobs); this module owns the DEALER, the choice of
 * endpoint and the session's settings from WELCOME. The struct is open,
 * like hg_overload_t: the agent reads welcomed, lease_ms, heartbeat_ms
 * and the rest on every pass, and clears welcomed when the master says it
 * does not know us. Owned by the agent's thread; no locking. */
#ifndef HG_WORKER_MASTER_LINK_H
#define HG_WORKER_MASTER_LINK_H

#include "agent.h"
#include "hg_proto.h"

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct {
    const hg_agent_config_t *cfg; /* settings: endpoints, our key, pinned master keys */
    zsock_t *dealer;              /* to the master; new after every dial */
    uint64_t seq;                 /* our message sequence */
    bool welcomed;                /* WELCOME received on this session */
    int64_t heartbeat_ms;         /* interval in force */
    int64_t lease_ms;             /* lease in force */
    int64_t next_hello;           /* monotonic time of the next HELLO while not welcomed */
    int64_t last_rx;              /* monotonic time of the last message from the master */
    const char *const *endpoints; /* master endpoints from the configuration */
    size_t endpoints_n;           /* how many (at least 1) */
    size_t endpoint_index;        /* the configured endpoint we use or last used */
    size_t key_attempt;           /* dials of this endpoint in a row: picks the pinned key */
    char endpoint[512];           /* endpoint dialled now (may be a leader hint off the list) */
    int64_t dialled_at;           /* monotonic time we dialled it */
    int64_t last_sent;            /* monotonic time of the last message sent to it, 0 for none */
    uint32_t hb_unsent;           /* heartbeats in a row that found no connection to send on */
    uint64_t max_master_epoch;    /* highest leadership epoch seen in a WELCOME */
    char silent_endpoint[512];    /* endpoint we last left because it went silent */
    int64_t silent_at;            /* monotonic time we left it */
    uint32_t redials;             /* fresh dials of a lone silent master since the last WELCOME */
} hg_wlink_t;

/* Check every configured endpoint and dial the first. 0, or -1 when one
 * is malformed (logged; nothing is left open). */
int hg_wlink_open(hg_wlink_t *self, const hg_agent_config_t *cfg);
/* Close the socket. */
void hg_wlink_close(hg_wlink_t *self);

/* Number msg with our next sequence and send it without waiting. 0,
 * HG_EUNAVAIL when there is no connection (run records stay unacked and
 * are resent), or the encoder's error. */
int hg_wlink_send(hg_wlink_t *self, hg_msg_t *msg);

/* A WELCOME came: true when we take it (the session starts, with its
 * heartbeat and lease), false when its master was deposed (it is left, or
 * asked again shortly). */
bool hg_wlink_on_welcome(hg_wlink_t *self, const hg_welcome_t *w);
/* A standby refused us, naming the leader (or NULL). */
void hg_wlink_on_not_leader(hg_wlink_t *self, const char *leader);

/* Between sessions: true when the master we dialled proved down (silent
 * for a lease, or no connection at all) and another was dialled; the
 * caller starts its pass again. */
bool hg_wlink_check_unwelcomed(hg_wlink_t *self, int64_t now_mono);
/* In a session, after a regular heartbeat whose send returned hb_rc: true
 * when the master is taken as gone (no connection twice in a row, or
 * silent for a lease) and the caller must start its pass again. */
bool hg_wlink_check_welcomed(hg_wlink_t *self, int hb_rc, int64_t now_mono);

#endif
