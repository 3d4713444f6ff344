/* cluster_placement: which worker takes a job, and handing jobs out.
 *
 * Every active job goes to the least-loaded active node its pins allow,
 * within a window of ASSIGNs per node and a bound on how far one node may
 * run ahead of the least-loaded one. After start-up (or a takeover) only
 * jobs created since may go until lease + margin has passed: by then the
 * workers of a previous master have said HELLO and kept what they hold,
 * so nothing is handed out twice.
 *
 * Part of the cluster actor (cluster_internal.h); runs on its thread. */
#include "cluster_internal.h"
#include "cluster_route.h"
#include "hg_log.h"
#include "hg_time.h"

#include <inttypes.h>
#include <malloc.h>

/* How many jobs more than the least-loaded eligible node a node may be
 * given (see hg_cluster__pick_node). */
#define S_BALANCE_SLACK 10000
/* How long one pass of placement may hold the cluster actor. Heartbeats
 * wait meanwhile, and workers count their lease from when theirs left: a
 * window's worth of ASSIGNs (up to HG_PACE_MAX a node) placed in
 * one pass took seconds and let their leases lapse. A pass cut short goes
 * on 1 ms later, after the messages that came meanwhile. */
#define S_PLACE_SLICE_MS 20
/* Nor walk more slots than this in one slice (about a millisecond of
 * walking placed jobs). */
#define S_PLACE_SLICE_SLOTS 65536

bool hg_cluster__node_allowed(hg_cluster_t *self, hg_jobrec_t *job, hg_cluster_node_t *node)
{
    json_t *pins = job->tpl->pins;
    /* Labels and broadcast slots (a job with neither costs one test). */
    if (job->tpl->route && !hg_cluster__route_allows(self, job, node)) return false;
    if (!pins || json_array_size(pins) == 0) return true;
    size_t i;
    json_t *v;
    json_array_foreach(pins, i, v)
    {
        if (json_is_string(v) && streq(json_string_value(v), node->name)) return true;
    }
    return false;
}

/* A node with room: active, talking to us, and fewer of its ASSIGNs on
 * their way than its pace allows (assign_pace.h). */
bool hg_cluster__node_has_room(hg_cluster_node_t *n)
{
    return n->state == HG_NODE_ACTIVE && !n->choked &&
           hg_assign_pace_room(&n->pace, hg_cluster__node_behind(n));
}

/* Least-loaded active node the job may run on, or NULL. */
hg_cluster_node_t *hg_cluster__pick_node(hg_cluster_t *self, hg_jobrec_t *job)
{
    /* round_robin, random and consistent_hash choose for themselves. */
    if (job->tpl->route && job->tpl->route->strategy != HG_ROUTE_LEAST_LOADED)
        return hg_cluster__route_pick(self, job);
    hg_cluster_node_t *best = NULL;
    uint32_t least = UINT32_MAX; /* jobs of the least-loaded eligible node, room or not */
    for (hg_cluster_node_t *n = zhashx_first(self->nodes); n; n = zhashx_next(self->nodes)) {
        if (n->state != HG_NODE_ACTIVE || n->choked || !hg_cluster__node_allowed(self, job, n))
            continue;
        if (n->jobs < least) least = n->jobs;
        if (!hg_cluster__node_has_room(n)) continue;
        if (!best || n->jobs < best->jobs) best = n;
    }
    /* A node that takes its ASSIGNs faster than another (workers report
     * progress as they go) gets at most S_BALANCE_SLACK more jobs than the
     * least-loaded one: the rest waits for that one rather than piling
     * onto the faster, so a large placement still ends up even. */
    if (best && (uint64_t) best->jobs >= (uint64_t) least + S_BALANCE_SLACK) return NULL;
    return best;
}

static void s_job_assign_to(hg_cluster_t *self, hg_jobrec_t *job, hg_cluster_node_t *node)
{
    /* What the new holder is told was fired last: a record of a fire
     * that was not sent judges by it whether this holder passed that
     * time (refire.h). */
    job->handed_from_epoch = job->epoch;
    job->handed_last_ms = job->last_fire_ms;
    job->epoch++;
    job->node = node->name;
    node->jobs++;
    hg_cluster__send_assign(self, job);
    hg_cluster__store_assign(self, job);
    hg_debug("cluster: job %s (id %" PRIu64 ") -> %s, epoch %" PRIu64, hg_jobrec_name(job), job->id,
             node->name, job->epoch);
    hg_cluster__send_recoveries(self, job);
    hg_cluster__retry_send(self, job); /* pending retries follow the job (cluster_retry.c) */
}

/* One-shot timer: a placement pass cut short goes on. */
static int s_on_more(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    hg_cluster_t *self = arg;
    self->place_armed = false;
    if (!self->leading) return 0;
    hg_cluster__place(self);
    hg_cluster__store_flush(self);
    return 0;
}

/* Give every unassigned job to a live worker. Held back for lease + margin
 * after start-up so that workers of a previous master can report (HELLO)
 * what they still hold before anything is handed out twice. */
void hg_cluster__place(hg_cluster_t *self)
{
    if (!self->placement_due) return;
    /* Jobs created since we started were never held by anyone: they need
     * not wait for the workers' reports. */
    bool settled =
        hg_mono_ms() - self->started_mono_ms >= self->args->lease_ms + self->args->margin_ms;
    /* Until then only fresh jobs may go: skip the walk when there are none
     * (with a million jobs it costs a tick's worth of time). */
    if (!settled && !self->fresh_waiting) return;
    self->fresh_waiting = false;
    self->placement_due = false;
    size_t placed = 0, waiting = 0;
    int64_t began = hg_mono_ms();
    bool cut = false;
    /* One lap of the table, from where the last walk stopped when every
     * node was full: the placed jobs before that point are not walked
     * again on each of the dozens of rounds a million jobs take. */
    size_t slots = hg_jobtab_slots(self->jobs);
    size_t i = slots ? self->place_cursor % slots : 0;
    /* A pass cut short goes on with the rest of its lap, not a new one: a
     * lap of a million placed jobs outlasts a slice. */
    bool continued = self->lap_left != 0; /* an earlier slice of this pass was cut */
    size_t lap = continued && self->lap_left <= slots ? self->lap_left : slots;
    for (size_t walked = 0; walked < lap; walked++, i = i + 1 < slots ? i + 1 : 0) {
        if ((walked & 255) == 255 &&
            (walked + 1 >= S_PLACE_SLICE_SLOTS || hg_mono_ms() - began >= S_PLACE_SLICE_MS)) {
            self->place_cursor = i;
            self->lap_left = lap - walked;
            cut = true;
            break;
        }
        hg_jobrec_t *job = hg_jobtab_at(self->jobs, i);
        if (!job || job->node[0]) continue;
        if (!settled && !job->fresh) {
            waiting++;
            continue;
        }
        hg_cluster_node_t *node = hg_cluster__pick_node(self, job);
        if (!node) {
            waiting++;
            if (job->fresh) self->fresh_waiting = true;
            bool room = false;
            for (hg_cluster_node_t *n = zhashx_first(self->nodes); n && !room;
                 n = zhashx_next(self->nodes))
                room = hg_cluster__node_has_room(n);
            /* Every node is full, or (for a job any node may run) the one
             * with room is too far ahead: every such job waits alike; go
             * on when the nodes catch up. A pinned or routed job waits
             * for its own nodes only. */
            if (!room || (!job->tpl->pins && !job->tpl->route)) {
                self->place_cursor = i;
                break;
            }
            continue;
        }
        s_job_assign_to(self, job, node);
        placed++;
    }
    self->pass_placed += placed;
    self->pass_waiting += waiting;
    if (cut) {
        /* The next slice walks the rest of the lap from the cursor. */
        self->placement_due = true;
        if (!settled) self->fresh_waiting = true;
        /* Without the timer (out of memory) the next tick goes on. */
        if (!self->place_armed)
            self->place_armed = zloop_timer(self->loop, 1, 1, s_on_more, self) != -1;
        return;
    }
    self->lap_left = 0;
    placed = self->pass_placed;
    waiting = self->pass_waiting;
    self->pass_placed = self->pass_waiting = 0;
    /* Between the slices of a pass, jobs were created and the table may
     * have grown (slots move): a job may have landed where the pass had
     * already walked. One more lap after a pass that placed something
     * finds it; a lap that places nothing ends it. */
    if (continued && placed) self->placement_due = true;
    if (placed)
        hg_info("cluster: placed %zu jobs%s", placed, waiting ? "" : "; every job is assigned");
    /* A large placement has gone through a lot of short-lived buffers
     * (messages, store ops): return them once everything is placed. */
    self->placed_since_trim += placed;
    if (!waiting && self->placed_since_trim >= 10000) {
        self->placed_since_trim = 0;
        malloc_trim(0);
    }
    if (waiting) {
        hg_debug("cluster: %zu jobs wait for an eligible worker", waiting);
        self->placement_due = true;
    }
}

/* Give one unassigned job to a live worker, as the walk of hg_cluster__place does;
 * false when it has to wait. Used instead of the walk when the jobs just
 * added through the API are the only unassigned ones: a walk costs the
 * whole catalogue per request. */
bool hg_cluster__place_job(hg_cluster_t *self, hg_jobrec_t *job)
{
    if (job->node[0]) return true;
    bool settled =
        hg_mono_ms() - self->started_mono_ms >= self->args->lease_ms + self->args->margin_ms;
    if (!settled && !job->fresh) return false;
    hg_cluster_node_t *node = hg_cluster__pick_node(self, job);
    if (!node) return false;
    s_job_assign_to(self, job, node);
    self->placed_since_trim++;
    return true;
}

/* After hg_cluster__place_job for every job that was unassigned: nothing is due
 * any more when all of them went. */
void hg_cluster__placed_these(hg_cluster_t *self, size_t placed, bool all)
{
    if (all) {
        self->placement_due = false;
        self->fresh_waiting = false;
    }
    if (placed) hg_info("cluster: placed %zu jobs%s", placed, all ? "; every job is assigned" : "");
}
