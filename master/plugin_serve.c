/* plugin_serve: the master's side of PLUGIN_GET / PLUGIN_CHUNK. */
#include "plugin_serve.h"
#include "hg_error.h"
#include "hg_keyhash.h"
#include "hg_log.h"
#include "plugins.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <unistd.h>

/* PLUGIN_GETs that may wait for one plug-in copy to be loaded from MySQL;
 * beyond this the master answers "busy" and the worker asks again. */
#define S_MAX_FETCH_WAITERS 4096

/* A PLUGIN_GET waiting for the loader. */
typedef struct {
    char node[192];  /* worker that asked */
    uint64_t offset; /* first byte wanted */
    uint32_t max;    /* bytes wanted, 0 = HG_PROTO_CHUNK */
} s_fetch_t;

/* The master's copy of one plug-in, as the cluster loop serves it. */
typedef struct {
    int fd;           /* open copy, -1 while the loader makes it */
    uint64_t size;    /* bytes */
    zlist_t *waiters; /* s_fetch_t * asked while loading (owned) */
} s_pfile_t;

struct hg_plugin_serve {
    const char *data_dir;          /* master data directory (borrowed) */
    zhashx_t *pfiles;              /* sha256 -> s_pfile_t: copies open or being loaded */
    zactor_t *loader;              /* re-creates missing copies from MySQL */
    hg_plugin_serve_send_fn *send; /* the cluster's send */
    void *send_arg;                /* its argument */
};

static void s_pfile_free(void **item)
{
    s_pfile_t *pf = *item;
    if (pf) {
        if (pf->fd >= 0) close(pf->fd);
        s_fetch_t *w;
        while ((w = zlist_pop(pf->waiters)))
            free(w);
        zlist_destroy(&pf->waiters);
        free(pf);
        *item = NULL;
    }
}

hg_plugin_serve_t *hg_plugin_serve_new(const hg_db_params_t *db, const char *data_dir,
                                       hg_plugin_serve_send_fn *send, void *send_arg)
{
    hg_plugin_serve_t *self = calloc(1, sizeof *self);
    if (!self) return NULL;
    self->data_dir = data_dir;
    self->send = send;
    self->send_arg = send_arg;
    self->pfiles = zhashx_new();
    if (self->pfiles) {
        zhashx_set_destructor(self->pfiles, s_pfile_free);
        zhashx_set_key_hasher(self->pfiles, hg_keyhash_str); /* keys come from workers */
    }
    self->loader = hg_plugin_loader_new(db, data_dir);
    if (!self->pfiles || !self->loader) hg_plugin_serve_destroy(&self);
    return self;
}

void hg_plugin_serve_destroy(hg_plugin_serve_t **p)
{
    if (!p || !*p) return;
    hg_plugin_serve_t *self = *p;
    zactor_destroy(&self->loader);
    zhashx_destroy(&self->pfiles);
    free(self);
    *p = NULL;
}

zsock_t *hg_plugin_serve_loader_sock(hg_plugin_serve_t *self)
{
    return zactor_sock(self->loader);
}

void hg_plugin_serve_forget(hg_plugin_serve_t *self, const char *sha256)
{
    zhashx_delete(self->pfiles, sha256);
}

static void s_send_chunk_error(hg_plugin_serve_t *self, const char *node, const char *sha, int code,
                               const char *text)
{
    hg_msg_t msg = {.type = HG_MSG_PLUGIN_CHUNK};
    msg.u.plugin_chunk.sha256 = (char *) sha;
    msg.u.plugin_chunk.code = code;
    msg.u.plugin_chunk.error = (char *) text;
    self->send(self->send_arg, node, &msg);
}

/* Answer one PLUGIN_GET from an open copy. */
static void s_send_chunk(hg_plugin_serve_t *self, const char *node, const char *sha, s_pfile_t *pf,
                         uint64_t offset, uint32_t max)
{
    char text[256];
    if (offset > pf->size) {
        snprintf(text, sizeof text,
                 "offset %" PRIu64 " is past the end of plug-in sha256 %s (%" PRIu64 " bytes)",
                 offset, sha, pf->size);
        s_send_chunk_error(self, node, sha, HG_ERANGE, text);
        return;
    }
    size_t want = max == 0 || max > HG_PROTO_CHUNK ? HG_PROTO_CHUNK : max;
    size_t n = pf->size - offset < want ? (size_t) (pf->size - offset) : want;
    uint8_t *buf = n ? malloc(n) : NULL;
    if (n && !buf) {
        s_send_chunk_error(self, node, sha, HG_ENOMEM, "master out of memory; ask again");
        return;
    }
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(pf->fd, buf + got, n - got, (off_t) (offset + got));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t) r;
    }
    if (got < n) {
        /* The copy shrank or went bad under us: drop it, the next request
         * loads it again from MySQL. */
        snprintf(text, sizeof text,
                 "cannot read the master's copy of plug-in sha256 %s: %s; ask again", sha,
                 got == 0 && errno ? strerror(errno) : "it is shorter than it was");
        hg_warn("cluster: %s", text);
        free(buf);
        s_send_chunk_error(self, node, sha, HG_EIO, text);
        zhashx_delete(self->pfiles, sha);
        return;
    }
    hg_msg_t msg = {.type = HG_MSG_PLUGIN_CHUNK};
    msg.u.plugin_chunk.sha256 = (char *) sha;
    msg.u.plugin_chunk.offset = offset;
    msg.u.plugin_chunk.total = pf->size;
    msg.u.plugin_chunk.data.data = buf;
    msg.u.plugin_chunk.data.len = n;
    self->send(self->send_arg, node, &msg);
    free(buf);
}

/* Open the copy of sha in the data directory. 0, or -1 when missing. */
static int s_pfile_open(hg_plugin_serve_t *self, const char *sha, s_pfile_t *pf)
{
    char path[4096];
    if (hg_plugin_file_path(self->data_dir, sha, path, sizeof path) != 0) return -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0) return -1;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return -1;
    }
    pf->fd = fd;
    pf->size = (uint64_t) sb.st_size;
    return 0;
}

/* Serve from the copy in the data directory; when there is none, park the
 * request and let the loader fetch it from MySQL. */
void hg_plugin_serve_get(hg_plugin_serve_t *self, const char *node, const hg_plugin_get_t *get)
{
    const char *sha = get->sha256;
    if (!hg_plugin_sha256_valid(sha)) {
        s_send_chunk_error(self, node, sha, HG_EINVAL, "sha256: must be 64 lowercase hex digits");
        return;
    }
    s_pfile_t *pf = zhashx_lookup(self->pfiles, sha);
    if (!pf) {
        pf = calloc(1, sizeof *pf);
        if (!pf || !(pf->waiters = zlist_new())) {
            free(pf);
            s_send_chunk_error(self, node, sha, HG_ENOMEM, "master out of memory; ask again");
            return;
        }
        pf->fd = -1;
        zhashx_insert(self->pfiles, sha, pf);
        if (s_pfile_open(self, sha, pf) != 0) {
            hg_info("cluster: no local copy of plug-in %s; loading it from MySQL", sha);
            zsock_send(self->loader, "ss", "LOAD", sha);
        }
    }
    if (pf->fd >= 0) {
        s_send_chunk(self, node, sha, pf, get->offset, get->max);
        return;
    }
    s_fetch_t *w = zlist_size(pf->waiters) < S_MAX_FETCH_WAITERS ? calloc(1, sizeof *w) : NULL;
    if (!w) {
        s_send_chunk_error(self, node, sha, HG_EUNAVAIL,
                           "the master is still loading this plug-in; ask again");
        return;
    }
    snprintf(w->node, sizeof w->node, "%s", node);
    w->offset = get->offset;
    w->max = get->max;
    zlist_append(pf->waiters, w);
}

/* The loader is done with a copy: answer whoever waited for it. */
void hg_plugin_serve_on_loader(hg_plugin_serve_t *self)
{
    char *cmd = NULL, *sha = NULL, *rc_text = NULL, *size_text = NULL, *text = NULL;
    if (zsock_recv(self->loader, "sssss", &cmd, &sha, &rc_text, &size_text, &text) != 0) return;
    s_pfile_t *pf = sha ? zhashx_lookup(self->pfiles, sha) : NULL;
    if (cmd && streq(cmd, "LOADED") && pf && pf->fd < 0) {
        int rc = rc_text ? atoi(rc_text) : HG_EINVAL;
        char why[1024];
        snprintf(why, sizeof why, "%s", text && *text ? text : hg_strerror(rc));
        if (rc == 0 && s_pfile_open(self, sha, pf) != 0) {
            rc = HG_EIO;
            snprintf(why, sizeof why, "the master's copy of plug-in sha256 %s vanished; ask again",
                     sha);
        }
        s_fetch_t *w;
        while ((w = zlist_pop(pf->waiters))) {
            if (rc == 0)
                s_send_chunk(self, w->node, sha, pf, w->offset, w->max);
            else
                s_send_chunk_error(self, w->node, sha, rc, why);
            free(w);
            /* s_send_chunk may have dropped pf on a read error. */
            if (!(pf = zhashx_lookup(self->pfiles, sha))) break;
        }
        if (rc != 0 && pf) zhashx_delete(self->pfiles, sha); /* the next request tries again */
    }
    zstr_free(&cmd);
    zstr_free(&sha);
    zstr_free(&rc_text);
    zstr_free(&size_text);
    zstr_free(&text);
}
