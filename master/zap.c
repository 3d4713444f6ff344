/* zap: the master's ZAP handler; see zap.h. */
#include "zap.h"

#include "hg_error.h"
#include "hg_log.h"
#include "hg_time.h"
#include "hg_zsock.h"

#include <dirent.h>
#include <inttypes.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>

#define S_ZAP_ENDPOINT "inproc://zeromq.zap.01"

/* After a failed read of worker_keys, wait this long before the next try:
 * while MySQL is down a connect attempt blocks every handshake behind it,
 * and the keys read last time stay valid meanwhile. */
#define S_DB_BACKOFF_MS 30000
/* A key not found triggers a read of worker_keys at most this often. */
#define S_DB_MISS_MIN_MS 1000

struct hg_keyring {
    zhashx_t *nodes; /* Z85 key -> node name (owned strings) */
};

static void s_str_free(void **item)
{
    free(*item);
    *item = NULL;
}

hg_keyring_t *hg_keyring_new(void)
{
    hg_keyring_t *ring = calloc(1, sizeof *ring);
    if (!ring) return NULL;
    ring->nodes = zhashx_new();
    if (!ring->nodes) {
        free(ring);
        return NULL;
    }
    zhashx_set_destructor(ring->nodes, s_str_free);
    return ring;
}

void hg_keyring_destroy(hg_keyring_t **p)
{
    if (!p || !*p) return;
    zhashx_destroy(&(*p)->nodes);
    free(*p);
    *p = NULL;
}

/* A node name a worker can HELLO with: printable, no spaces. */
static bool s_node_valid(const char *node)
{
    size_t n = node ? strlen(node) : 0;
    if (n == 0 || n > HG_ZAP_NODE_MAX) return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char) node[i] <= ' ' || node[i] == 0x7f) return false;
    return true;
}

int hg_keyring_add(hg_keyring_t *ring, const char *key, const char *node)
{
    if (!hg_keys_is_z85(key) || !s_node_valid(node)) return HG_EINVAL;
    const char *had = zhashx_lookup(ring->nodes, key);
    if (had) return streq(had, node) ? 0 : HG_EEXIST;
    char *copy = strdup(node);
    if (!copy) return HG_ENOMEM;
    zhashx_insert(ring->nodes, key, copy);
    return 0;
}

const char *hg_keyring_lookup(hg_keyring_t *ring, const char *key)
{
    return ring && key ? zhashx_lookup(ring->nodes, key) : NULL;
}

size_t hg_keyring_size(hg_keyring_t *ring)
{
    return ring ? zhashx_size(ring->nodes) : 0;
}

/* A small file mentioning a public key. czmq's loader leaks a little on
 * every file it cannot parse, and a directory re-read on each change
 * must not grow the master because of a stray README. */
static bool s_looks_like_cert(const char *path, const struct stat *st)
{
    if (st->st_size <= 0 || st->st_size > 65536) return false;
    FILE *f = fopen(path, "r");
    if (!f) return false;
    char buf[65537];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strstr(buf, "curve") && strstr(buf, "public-key");
}

size_t hg_keyring_load_dir(hg_keyring_t *ring, const char *dir)
{
    DIR *d = dir && *dir ? opendir(dir) : NULL;
    if (!d) return 0;
    size_t added = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (e->d_name[0] == '.' || (len > 7 && streq(e->d_name + len - 7, "_secret"))) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) continue;
        zcert_t *cert = s_looks_like_cert(path, &st) ? zcert_load(path) : NULL;
        const char *node = cert ? zcert_meta(cert, "node") : NULL;
        if (!cert || !hg_keys_is_z85(zcert_public_txt(cert))) {
            hg_warn("zap: %s is not a public certificate; skipped", path);
        } else if (!node) {
            hg_warn("zap: %s names no node (metadata \"node\"); skipped", path);
        } else {
            int rc = hg_keyring_add(ring, zcert_public_txt(cert), node);
            if (rc == HG_EEXIST)
                hg_warn("zap: %s binds a key already bound to node %s; skipped", path,
                        hg_keyring_lookup(ring, zcert_public_txt(cert)));
            else if (rc != 0)
                hg_warn("zap: %s: invalid node name; skipped", path);
            else
                added++;
        }
        zcert_destroy(&cert);
    }
    closedir(d);
    return added;
}

int hg_zap_decide(hg_keyring_t *dir_keys, hg_keyring_t *db_keys, const char *mechanism,
                  const uint8_t *credential, size_t credential_size, const char **node,
                  char key_z85[HG_KEY_Z85_LEN + 1], const char **why)
{
    *node = NULL;
    key_z85[0] = '\0';
    if (!mechanism || !streq(mechanism, "CURVE")) {
        *why = "CURVE required";
        return 400;
    }
    if (!credential || credential_size != 32 || !zmq_z85_encode(key_z85, credential, 32)) {
        key_z85[0] = '\0';
        *why = "malformed CURVE credential";
        return 400;
    }
    const char *a = hg_keyring_lookup(dir_keys, key_z85);
    const char *b = hg_keyring_lookup(db_keys, key_z85);
    /* The two sources must agree: a key bound to two nodes is bound to
     * none rather than to whichever source we read first. */
    if (a && b && !streq(a, b)) {
        *why = "key bound to different nodes in keys.workers and worker_keys";
        return 400;
    }
    *node = a ? a : b;
    if (!*node) {
        *why = "unknown key";
        return 400;
    }
    *why = "OK";
    return 200;
}

/* ------------------------------------------------------------ the actor */

static volatile sig_atomic_t s_hup_count;

static void s_on_sighup(int sig)
{
    (void) sig;
    s_hup_count++;
}

void hg_zap_watch_sighup(void)
{
    struct sigaction sa = {0};
    sa.sa_handler = s_on_sighup;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGHUP, &sa, NULL);
}

typedef struct {
    hg_zap_args_t args;
    char keys_dir[4096];
    hg_keyring_t *dir_keys;    /* from keys.workers */
    hg_keyring_t *db_keys;     /* from worker_keys (the last read that worked) */
    MYSQL *conn;               /* our own; NULL until needed or after an error */
    int64_t db_read_at;        /* monotonic ms of the last attempt */
    bool db_failed;            /* the last attempt failed */
    struct timespec dir_mtime; /* of keys_dir when last read */
    int64_t refused_log_ms;    /* monotonic ms of the last "refused" line */
    uint64_t refused_quiet;    /* refusals since that line, not logged each */
    sig_atomic_t hup_seen;     /* s_hup_count when last read */
    zsock_t *removed;          /* PUSH to HG_ZAP_REMOVED_ENDPOINT (cluster actor) */
} s_zap_t;

/* Tell the cluster actor about every key of old that the current sources
 * no longer admit for the same node, so that a session opened with a key
 * an admin removed ends at once rather than when its connection drops. */
static void s_announce_removed(s_zap_t *self, hg_keyring_t *old)
{
    if (!old || !self->removed) return;
    for (const char *node = zhashx_first(old->nodes); node; node = zhashx_next(old->nodes)) {
        const char *key = zhashx_cursor(old->nodes);
        const char *a = hg_keyring_lookup(self->dir_keys, key);
        const char *b = hg_keyring_lookup(self->db_keys, key);
        const char *now = a && b && !streq(a, b) ? NULL : a ? a : b;
        if (now && streq(now, node)) continue;
        hg_info("zap: a key of node %s is admitted no more; sessions opened with it end", node);
        zstr_send(self->removed, key); /* never blocks: SNDTIMEO 0 */
    }
}

static void s_load_dir(s_zap_t *self, const char *why)
{
    hg_keyring_t *ring = hg_keyring_new();
    if (!ring) return;
    struct stat st;
    if (stat(self->keys_dir, &st) == 0) self->dir_mtime = st.st_mtim;
    size_t n = hg_keyring_load_dir(ring, self->keys_dir);
    hg_keyring_t *old = self->dir_keys;
    self->dir_keys = ring;
    s_announce_removed(self, old);
    hg_keyring_destroy(&old);
    hg_info("zap: %zu worker key%s admitted from %s (%s)", n, n == 1 ? "" : "s", self->keys_dir,
            why);
}

static void s_load_db(s_zap_t *self)
{
    if (!self->args.db) return;
    self->db_read_at = hg_mono_ms();
    char err[512] = "";
    if (!self->conn) self->conn = hg_db_connect(self->args.db, err, sizeof err);
    hg_keyring_t *ring = self->conn ? hg_keyring_new() : NULL;
    if (ring && mysql_query(self->conn, "SELECT public_key, node FROM worker_keys") == 0) {
        MYSQL_RES *res = mysql_store_result(self->conn);
        MYSQL_ROW row;
        while (res && (row = mysql_fetch_row(res)))
            if (row[0] && row[1] && hg_keyring_add(ring, row[0], row[1]) != 0)
                hg_warn("zap: a worker_keys row for node %s has an invalid or duplicate key",
                        row[1]);
        if (res) {
            mysql_free_result(res);
            if (self->db_failed || hg_keyring_size(ring) != hg_keyring_size(self->db_keys))
                hg_info("zap: %zu worker key%s in worker_keys", hg_keyring_size(ring),
                        hg_keyring_size(ring) == 1 ? "" : "s");
            hg_keyring_t *old = self->db_keys;
            self->db_keys = ring;
            self->db_failed = false;
            s_announce_removed(self, old);
            hg_keyring_destroy(&old);
            return;
        }
    }
    hg_keyring_destroy(&ring);
    if (!self->db_failed)
        hg_warn("zap: cannot read worker_keys (%s); keeping the %zu keys read before",
                self->conn ? mysql_error(self->conn) : err, hg_keyring_size(self->db_keys));
    hg_db_close(&self->conn);
    self->db_failed = true;
}

static bool s_db_due(s_zap_t *self, int64_t min_ms)
{
    if (!self->args.db) return false;
    int64_t age = hg_mono_ms() - self->db_read_at;
    return age >= (self->db_failed ? S_DB_BACKOFF_MS : min_ms);
}

/* ZMTP metadata: name length (1 byte), name, value length (4 bytes, big
 * endian), value. */
static zframe_t *s_metadata(const char *name, const char *value)
{
    size_t nl = strlen(name), vl = strlen(value);
    zframe_t *f = zframe_new(NULL, 1 + nl + 4 + vl);
    uint8_t *p = zframe_data(f);
    *p++ = (uint8_t) nl;
    memcpy(p, name, nl);
    p += nl;
    *p++ = (uint8_t) (vl >> 24);
    *p++ = (uint8_t) (vl >> 16);
    *p++ = (uint8_t) (vl >> 8);
    *p++ = (uint8_t) vl;
    memcpy(p, value, vl);
    return f;
}

static bool s_dir_changed(s_zap_t *self);

/* A refused connection is logged once per 10 s at most, with how many
 * went unlogged since: a peer redialling with a bad key every 100 ms must
 * not flood the log. */
static void s_log_refused(s_zap_t *self, const char *address, const char *why)
{
    int64_t now = hg_mono_ms();
    if (self->refused_log_ms && now - self->refused_log_ms < 10000) {
        self->refused_quiet++;
        return;
    }
    if (self->refused_quiet)
        hg_warn("zap: connection from %s refused: %s (and %" PRIu64 " more refused since the "
                "last such line)",
                address, why, self->refused_quiet);
    else
        hg_warn("zap: connection from %s refused: %s", address, why);
    self->refused_log_ms = now;
    self->refused_quiet = 0;
}

/* One request: version, request id, domain, address, routing id,
 * mechanism, credentials. */
static void s_on_request(s_zap_t *self, zsock_t *handler)
{
    zmsg_t *req = zmsg_recv(handler);
    if (!req) return;
    char *version = zmsg_popstr(req), *request_id = zmsg_popstr(req);
    char *domain = zmsg_popstr(req), *address = zmsg_popstr(req);
    zframe_t *routing_id = zmsg_pop(req);
    char *mechanism = zmsg_popstr(req);
    zframe_t *cred = zmsg_pop(req);
    const char *node = NULL, *why = "";
    char key[HG_KEY_Z85_LEN + 1];
    const uint8_t *cd = cred ? zframe_data(cred) : NULL;
    size_t cn = cred ? zframe_size(cred) : 0;
    int status = hg_zap_decide(self->dir_keys, self->db_keys, mechanism, cd, cn, &node, key, &why);
    if (status != 200 && key[0] && s_dir_changed(self)) {
        s_load_dir(self, "directory changed"); /* a certificate copied in a moment ago */
        status = hg_zap_decide(self->dir_keys, self->db_keys, mechanism, cd, cn, &node, key, &why);
    }
    if (status != 200 && key[0] && s_db_due(self, S_DB_MISS_MIN_MS)) {
        s_load_db(self); /* a key added a moment ago through the API */
        status = hg_zap_decide(self->dir_keys, self->db_keys, mechanism, cd, cn, &node, key, &why);
    }
    if (status != 200)
        s_log_refused(self, address ? address : "?", why);
    else
        hg_debug("zap: connection from %s admitted as node %s", address ? address : "?", node);
    zmsg_t *rep = zmsg_new();
    zmsg_addstr(rep, "1.0");
    zmsg_addstr(rep, request_id ? request_id : "");
    zmsg_addstrf(rep, "%d", status);
    zmsg_addstr(rep, status == 200 ? "OK" : why);
    zmsg_addstr(rep, status == 200 ? node : "");
    if (status == 200)
        zmsg_append(rep, &(zframe_t *){s_metadata(HG_ZAP_KEY_PROPERTY, key)});
    else
        zmsg_addmem(rep, NULL, 0);
    zmsg_send(&rep, handler);
    zstr_free(&version);
    zstr_free(&request_id);
    zstr_free(&domain);
    zstr_free(&address);
    zstr_free(&mechanism);
    zframe_destroy(&routing_id);
    zframe_destroy(&cred);
    zmsg_destroy(&req);
}

/* Once a second: SIGHUP or a changed directory re-reads keys.workers; the
 * refresh interval re-reads worker_keys. */
static bool s_dir_changed(s_zap_t *self)
{
    struct stat st;
    return stat(self->keys_dir, &st) == 0 && (st.st_mtim.tv_sec != self->dir_mtime.tv_sec ||
                                              st.st_mtim.tv_nsec != self->dir_mtime.tv_nsec);
}

static void s_tick(s_zap_t *self)
{
    bool changed = s_dir_changed(self);
    if (self->hup_seen != s_hup_count) {
        self->hup_seen = s_hup_count;
        s_load_dir(self, "SIGHUP");
    } else if (changed) {
        s_load_dir(self, "directory changed");
    }
    if (s_db_due(self, self->args.refresh_ms)) s_load_db(self);
}

static void s_actor(zsock_t *pipe, void *arg)
{
    s_zap_t self = {.args = *(hg_zap_args_t *) arg};
    snprintf(self.keys_dir, sizeof self.keys_dir, "%s",
             self.args.keys_dir ? self.args.keys_dir : "");
    self.args.keys_dir = self.keys_dir;
    self.hup_seen = s_hup_count;
    zsock_t *handler = zsock_new(ZMQ_REP);
    if (!handler || zsock_bind(handler, S_ZAP_ENDPOINT) != 0) {
        hg_error("zap: cannot bind %s", S_ZAP_ENDPOINT);
        zsock_destroy(&handler);
        ((hg_zap_args_t *) arg)->failed = true;
        zsock_signal(pipe, 1);
        return;
    }
    self.removed = zsock_new(ZMQ_PUSH);
    if (self.removed && (hg_zsock_set_int(self.removed, ZMQ_SNDTIMEO, 0) != 0 ||
                         hg_zsock_set_int(self.removed, ZMQ_LINGER, 0) != 0))
        zsock_destroy(&self.removed); /* a removed key's sessions then end when they drop */
    if (self.removed) zsock_connect(self.removed, HG_ZAP_REMOVED_ENDPOINT);
    s_load_dir(&self, "start-up");
    s_load_db(&self);
    zsock_signal(pipe, 0);
    zpoller_t *poller = zpoller_new(pipe, handler, NULL);
    int64_t next_tick = hg_mono_ms() + 1000;
    while (!zsys_interrupted) {
        int64_t wait = next_tick - hg_mono_ms();
        void *which = zpoller_wait(poller, (int) (wait > 0 ? wait : 0));
        if (which == pipe) {
            zmsg_t *m = zmsg_recv(pipe);
            char *cmd = m ? zmsg_popstr(m) : NULL;
            bool term = !cmd || streq(cmd, "$TERM");
            zstr_free(&cmd);
            zmsg_destroy(&m);
            if (term) break;
        } else if (which == handler) {
            s_on_request(&self, handler);
        } else if (zpoller_terminated(poller)) {
            break;
        }
        if (hg_mono_ms() >= next_tick) {
            s_tick(&self);
            next_tick = hg_mono_ms() + 1000;
        }
    }
    zpoller_destroy(&poller);
    zsock_destroy(&handler);
    zsock_destroy(&self.removed);
    hg_db_close(&self.conn);
    hg_keyring_destroy(&self.dir_keys);
    hg_keyring_destroy(&self.db_keys);
}

zactor_t *hg_zap_new(hg_zap_args_t *args)
{
    args->failed = false;
    zactor_t *actor = zactor_new(s_actor, args); /* returns once the actor signalled */
    if (actor && args->failed) zactor_destroy(&actor);
    return actor;
}
