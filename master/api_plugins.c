/* api_plugins: the plug-in routes of the REST API (docs/api.md): push (the
 * shared object is the request body, up to plugin.max_size), list, get and
 * delete by sha256. MySQL holds the plug-ins; this master also keeps a copy
 * under its data directory to serve workers from, and tells the cluster
 * actor, which tells the workers. */
#include "api_internal.h"
#include "cluster.h"
#include "plugins.h"
#include "hg_error.h"
#include "hg_log.h"

#include <jansson.h>
#include <microhttpd.h>
#include <mysql.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* Arguments and results of the plug-in database steps. */
typedef struct {
    const char *name, *version; /* upload: names; list: name filter (or NULL) */
    const char *sha256;         /* upload: hash of data; get/delete: the hash asked for */
    const char *arch;           /* upload: ELF machine */
    const uint8_t *data;        /* upload: the shared object */
    size_t len;                 /* its size */
    bool replace;               /* upload: replace other bytes under (name, version) */
    hg_plugin_meta_t meta;      /* out: the stored (or deleted) record */
    hg_plugin_put_t result;     /* out: upload outcome */
    char replaced[65];          /* out: hash that was replaced */
    json_t *list;               /* out: list */
} s_plugins_op_t;

static int s_op_plugin_put(MYSQL *db, void *arg, char *err, size_t err_size)
{
    s_plugins_op_t *a = arg;
    return hg_plugin_db_put(db, a->name, a->version, a->data, a->len, a->sha256, a->arch,
                            a->replace, &a->meta, &a->result, a->replaced, err, err_size);
}

static int s_op_plugin_list(MYSQL *db, void *arg, char *err, size_t err_size)
{
    s_plugins_op_t *a = arg;
    json_decref(a->list);
    a->list = NULL;
    return hg_plugin_db_list(db, a->name, &a->list, err, err_size);
}

static int s_op_plugin_get(MYSQL *db, void *arg, char *err, size_t err_size)
{
    s_plugins_op_t *a = arg;
    return hg_plugin_db_get(db, a->sha256, &a->meta, err, err_size);
}

static int s_op_plugin_delete(MYSQL *db, void *arg, char *err, size_t err_size)
{
    s_plugins_op_t *a = arg;
    return hg_plugin_db_delete(db, a->sha256, &a->meta, err, err_size);
}

/* POST /api/v1/plugins?name=N&version=V[&replace=true], body: the .so. */
void hg_api__plugin_push(hg_api_ctx_t *c)
{
    s_plugins_op_t a = {.name = hg_api__arg(c, "name"), .version = hg_api__arg(c, "version")};
    const char *replace = hg_api__arg(c, "replace");
    char msg[1024];
    if (!a.name || !a.version) {
        const char *field = !a.name ? "name" : "version";
        snprintf(msg, sizeof msg,
                 "%s: required as a query argument (?name=N&version=V); the master does not load "
                 "plug-ins to read their descriptor (hourglass plugin push does that for you)",
                 field);
        hg_api__invalid(c, field, msg);
        return;
    }
    if (hg_plugin_check_name(a.name, msg, sizeof msg) != 0) {
        hg_api__invalid(c, "name", msg);
        return;
    }
    if (hg_plugin_check_version(a.version, msg, sizeof msg) != 0) {
        hg_api__invalid(c, "version", msg);
        return;
    }
    if (replace && strcmp(replace, "true") != 0 && strcmp(replace, "false") != 0) {
        hg_api__invalid(c, "replace", "replace: must be true or false");
        return;
    }
    a.replace = replace && strcmp(replace, "true") == 0;
    a.data = hg_api__body(c, &a.len);
    char arch[33], sha[65];
    if (hg_plugin_check_bytes(a.data, a.len, arch, sizeof arch, msg, sizeof msg) != 0) {
        hg_api__error(c, MHD_HTTP_BAD_REQUEST, "invalid_plugin", NULL, "%s", msg);
        return;
    }
    hg_plugin_sha256_hex(a.data, a.len, sha);
    a.sha256 = sha;
    a.arch = arch;
    char err[1024];
    hg_api__write_begin(c->api);
    int rc = hg_api__with_db(c->api, s_op_plugin_put, &a, err, sizeof err);
    if (rc == HG_EEXIST) {
        hg_api__write_end(c->api);
        hg_api__error(c, MHD_HTTP_CONFLICT, "already_exists", NULL, "%s", err);
        return;
    }
    if (rc != 0) {
        hg_api__write_end(c->api);
        hg_api__db_error(c, rc, err);
        return;
    }
    /* MySQL has it: now the copy this master serves workers from. A
     * failure here is not the client's: the loader re-creates a missing
     * copy from MySQL on the first fetch. */
    const char *data_dir = hg_api__data_dir(c->api);
    if (data_dir) {
        char path[4096];
        struct stat sb;
        bool have = a.result == HG_PLUGIN_PUT_SAME &&
                    hg_plugin_file_path(data_dir, sha, path, sizeof path) == 0 &&
                    stat(path, &sb) == 0;
        if (!have && hg_plugin_file_write(data_dir, sha, a.data, a.len, msg, sizeof msg) != 0)
            hg_warn("api: plug-in %s %s stored in MySQL, but no local copy: %s", a.name, a.version,
                    msg);
    }
    hg_cluster_client_t *cl = hg_api__cluster(c->api);
    int crc =
        cl ? hg_cluster_plugin_put(cl, a.meta.name, a.meta.version, a.meta.sha256) : HG_EUNAVAIL;
    hg_api__write_end(c->api);
    if (crc != 0)
        hg_warn("api: cluster did not take plug-in %s %s: %s", a.name, a.version, hg_strerror(crc));
    json_t *reply = hg_plugin_meta_json(&a.meta);
    if (a.result == HG_PLUGIN_PUT_REPLACED)
        json_object_set_new(reply, "replaced", json_string(a.replaced));
    if (a.result != HG_PLUGIN_PUT_SAME)
        hg_info("api: plug-in %s %s stored (sha256 %s, %zu bytes, %s)%s", a.name, a.version, sha,
                a.len, arch, a.result == HG_PLUGIN_PUT_REPLACED ? ", replacing another" : "");
    hg_api__reply(c, a.result == HG_PLUGIN_PUT_SAME ? MHD_HTTP_OK : MHD_HTTP_CREATED, reply);
}

void hg_api__plugins_list(hg_api_ctx_t *c)
{
    s_plugins_op_t a = {.name = hg_api__arg(c, "name")};
    char err[1024];
    if (a.name && hg_plugin_check_name(a.name, err, sizeof err) != 0) {
        hg_api__invalid(c, "name", err);
        return;
    }
    int rc = hg_api__with_db(c->api, s_op_plugin_list, &a, err, sizeof err);
    if (rc != 0)
        hg_api__db_error(c, rc, err);
    else
        hg_api__reply(c, MHD_HTTP_OK, json_pack("{s:O}", "plugins", a.list));
    json_decref(a.list);
}

void hg_api__plugin_one(hg_api_ctx_t *c, const char *sha)
{
    if (!hg_plugin_sha256_valid(sha)) {
        hg_api__invalid(c, "sha256", "sha256: must be 64 lowercase hex digits");
        return;
    }
    bool del = hg_api__method_is(c, "DELETE");
    s_plugins_op_t a = {.sha256 = sha};
    char err[1024];
    if (del) hg_api__write_begin(c->api);
    int rc =
        hg_api__with_db(c->api, del ? s_op_plugin_delete : s_op_plugin_get, &a, err, sizeof err);
    if (rc != 0) {
        if (del) hg_api__write_end(c->api);
        hg_api__db_error(c, rc, err);
        return;
    }
    if (!del) {
        hg_api__reply(c, MHD_HTTP_OK, hg_plugin_meta_json(&a.meta));
        return;
    }
    const char *data_dir = hg_api__data_dir(c->api);
    if (data_dir) hg_plugin_file_remove(data_dir, sha);
    hg_cluster_client_t *cl = hg_api__cluster(c->api);
    int crc = cl ? hg_cluster_plugin_remove(cl, sha) : HG_EUNAVAIL;
    hg_api__write_end(c->api);
    if (crc != 0) hg_warn("api: cluster did not drop plug-in %s: %s", sha, hg_strerror(crc));
    hg_info("api: plug-in %s %s deleted (sha256 %s)", a.meta.name, a.meta.version, sha);
    hg_api__reply(c, MHD_HTTP_OK, json_pack("{s:s}", "deleted", sha));
}
