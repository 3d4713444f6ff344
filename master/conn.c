/* conn: node connections of the workers' ROUTER; see conn.h. */
#include "conn.h"

#include <string.h>

void hg_conn_set(hg_conn_t *c, zframe_t *routing_id, const char *key)
{
    size_t n = routing_id ? zframe_size(routing_id) : 0;
    if (n > sizeof c->id) n = sizeof c->id; /* ZeroMQ routing ids are at most 255 bytes */
    if (n) memcpy(c->id, zframe_data(routing_id), n);
    c->id_n = (uint8_t) n;
    snprintf(c->key, sizeof c->key, "%s", key ? key : "");
}

bool hg_conn_same(const hg_conn_t *a, const hg_conn_t *b)
{
    return a->id_n && a->id_n == b->id_n && memcmp(a->id, b->id, a->id_n) == 0;
}

zframe_t *hg_conn_frame(const hg_conn_t *c)
{
    return c->id_n ? zframe_new(c->id, c->id_n) : NULL;
}

bool hg_conn_may_take(const hg_conn_t *cur, bool live, const hg_conn_t *conn)
{
    if (!cur->id_n || !live || hg_conn_same(cur, conn)) return true;
    return streq(cur->key, conn->key);
}

struct hg_conn_names {
    zhashx_t *map;  /* hex routing id -> node name */
    zlistx_t *fifo; /* hex routing ids, oldest first */
    size_t cap;
};

static void s_free(void **item)
{
    free(*item);
    *item = NULL;
}

static void s_hex(const hg_conn_t *c, char out[2 * 255 + 1])
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < c->id_n; i++) {
        out[2 * i] = digits[c->id[i] >> 4];
        out[2 * i + 1] = digits[c->id[i] & 15];
    }
    out[2 * c->id_n] = '\0';
}

hg_conn_names_t *hg_conn_names_new(size_t cap)
{
    hg_conn_names_t *n = calloc(1, sizeof *n);
    if (!n) return NULL;
    n->map = zhashx_new();
    n->fifo = zlistx_new();
    if (!n->map || !n->fifo) {
        hg_conn_names_destroy(&n);
        return NULL;
    }
    zhashx_set_destructor(n->map, s_free);
    zlistx_set_destructor(n->fifo, s_free);
    zlistx_set_duplicator(n->fifo, (zlistx_duplicator_fn *) strdup);
    zlistx_set_comparator(n->fifo, (zlistx_comparator_fn *) strcmp);
    n->cap = cap ? cap : 1;
    return n;
}

void hg_conn_names_destroy(hg_conn_names_t **p)
{
    if (!p || !*p) return;
    zhashx_destroy(&(*p)->map);
    zlistx_destroy(&(*p)->fifo);
    free(*p);
    *p = NULL;
}

void hg_conn_names_forget(hg_conn_names_t *names, const hg_conn_t *c)
{
    char hex[2 * 255 + 1];
    s_hex(c, hex);
    if (!zhashx_lookup(names->map, hex)) return;
    zhashx_delete(names->map, hex);
    void *handle = zlistx_find(names->fifo, hex);
    if (handle) zlistx_delete(names->fifo, handle);
}

void hg_conn_names_put(hg_conn_names_t *names, const hg_conn_t *c, const char *node)
{
    if (!c->id_n) return;
    hg_conn_names_forget(names, c);
    while (zhashx_size(names->map) >= names->cap) {
        char *oldest = zlistx_first(names->fifo);
        if (!oldest) break;
        zhashx_delete(names->map, oldest);
        zlistx_delete(names->fifo, zlistx_cursor(names->fifo));
    }
    char hex[2 * 255 + 1];
    s_hex(c, hex);
    char *copy = strdup(node);
    if (!copy) return;
    zhashx_insert(names->map, hex, copy);
    zlistx_add_end(names->fifo, hex);
}

const char *hg_conn_names_get(hg_conn_names_t *names, const hg_conn_t *c)
{
    char hex[2 * 255 + 1];
    s_hex(c, hex);
    return zhashx_lookup(names->map, hex);
}
