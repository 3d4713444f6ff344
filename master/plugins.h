/* plugins: the master's plug-in store (issue 4, distribution side).
 *
 * A plug-in is a shared object uploaded with `hourglass plugin push`. It is
 * identified by the SHA-256 of its bytes and named by (name, version), both
 * unique. MySQL holds the metadata and the bytes (the source of truth, so
 * that any master can serve them); each master also keeps a copy per hash,
 * <data.dir>/plugins/<sha256>.so, from which its cluster loop answers
 * workers' PLUGIN_GET without touching the database. The copy is written
 * on upload and re-created from MySQL by the loader actor when missing.
 *
 * The master never loads a plug-in: uploads are checked as bytes (ELF
 * shared object exporting HG_PLUGIN_SYMBOL, see elf.h); workers verify the
 * hash of what they fetch before loading it.
 *
 * Ownership: functions returning json_t give a new reference; strings in
 * hg_plugin_meta_t are inline. */
#ifndef HG_MASTER_PLUGINS_H
#define HG_MASTER_PLUGINS_H

#include "db.h"

#include <czmq.h>
#include <jansson.h>
#include <mysql.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HG_PLUGIN_MAX_SIZE_DEFAULT (32u << 20)  /* plugin.max_size default, bytes */
#define HG_PLUGIN_DB_CHUNK         (512u << 10) /* bytes per plugin_chunks row */
#define HG_PLUGIN_NAME_MAX         64           /* name and version length */

/* Metadata of one stored plug-in. */
typedef struct {
    char name[HG_PLUGIN_NAME_MAX + 1];    /* e.g. "shell" */
    char version[HG_PLUGIN_NAME_MAX + 1]; /* e.g. "1.2.0" */
    char sha256[65];                      /* 64 lowercase hex digits */
    uint64_t size;                        /* bytes */
    char arch[33];                        /* ELF machine, e.g. "x86_64" */
    int64_t uploaded_ms;                  /* upload time, ms since the epoch */
} hg_plugin_meta_t;

/* ------------------------------------------------------------ validation */

/* name: 1-64 of [A-Za-z0-9._-] starting with a letter or digit. 0 or
 * HG_EINVAL with "name: ..." in err. */
int hg_plugin_check_name(const char *name, char *err, size_t err_size);

/* version: 1-64 of [A-Za-z0-9._+~-] starting with a letter or digit. 0 or
 * HG_EINVAL with "version: ..." in err. */
int hg_plugin_check_version(const char *version, char *err, size_t err_size);

/* True for 64 lowercase hex digits. */
bool hg_plugin_sha256_valid(const char *hex);

/* SHA-256 of data as 64 lowercase hex digits + NUL (libsodium). */
void hg_plugin_sha256_hex(const uint8_t *data, size_t len, char out[65]);

/* Check upload bytes: not empty, an ELF shared object that exports
 * HG_PLUGIN_SYMBOL. The size limit is the caller's (it is a 413, not a
 * 400). Writes the ELF machine into arch. 0 or HG_EINVAL with a message. */
int hg_plugin_check_bytes(const uint8_t *data, size_t len, char *arch, size_t arch_size, char *err,
                          size_t err_size);

/* {"name","version","sha256","size","arch","uploaded_at"}. */
json_t *hg_plugin_meta_json(const hg_plugin_meta_t *meta);

/* ------------------------------------------------------------------ SQL */

typedef enum {
    HG_PLUGIN_PUT_CREATED = 0,  /* new (name, version) */
    HG_PLUGIN_PUT_SAME = 1,     /* same name, version and bytes as stored: nothing changed */
    HG_PLUGIN_PUT_REPLACED = 2, /* (name, version) now holds other bytes (replace was asked) */
} hg_plugin_put_t;

/* Store a plug-in (metadata and bytes in one transaction). Pushing the
 * same bytes under the same name and version again is a no-op
 * (HG_PLUGIN_PUT_SAME, *meta the existing record). Other bytes under a
 * stored (name, version) are refused with HG_EEXIST unless replace; the
 * same bytes under another (name, version) are refused with HG_EEXIST.
 * sha256 and arch are the caller's (hg_plugin_sha256_hex,
 * hg_plugin_check_bytes). On replace, *replaced_sha gets the old hash.
 * 0 or HG_E* with a message in err. */
int hg_plugin_db_put(MYSQL *db, const char *name, const char *version, const uint8_t *data,
                     size_t len, const char *sha256, const char *arch, bool replace,
                     hg_plugin_meta_t *meta, hg_plugin_put_t *result, char *replaced_sha, char *err,
                     size_t err_size);

/* Metadata by hash. 0, HG_ENOTFOUND, HG_EDB. */
int hg_plugin_db_get(MYSQL *db, const char *sha256, hg_plugin_meta_t *meta, char *err,
                     size_t err_size);

/* Every plug-in (only those called name when not NULL) as a JSON array of
 * metadata objects, sorted by name, then version (natural order: 1.9 <
 * 1.10). 0 or HG_EDB. */
int hg_plugin_db_list(MYSQL *db, const char *name, json_t **plugins, char *err, size_t err_size);

/* Delete by hash (its bytes go with it). *meta gets what was deleted.
 * 0, HG_ENOTFOUND, HG_EDB. */
int hg_plugin_db_delete(MYSQL *db, const char *sha256, hg_plugin_meta_t *meta, char *err,
                        size_t err_size);

/* Write the stored bytes of sha256 to path, streaming, and check their
 * size and hash before returning 0. HG_ENOTFOUND when no such plug-in,
 * HG_EIO when the stored bytes are damaged (message names both hashes) or
 * path cannot be written, HG_EDB. path is removed on failure. */
int hg_plugin_db_export(MYSQL *db, const char *sha256, const char *path, uint64_t *size, char *err,
                        size_t err_size);

/* ---------------------------------------------------------- file copies */

/* <data_dir>/plugins/<sha256>.so into buf. 0 or HG_ETOOBIG. */
int hg_plugin_file_path(const char *data_dir, const char *sha256, char *buf, size_t size);

/* Write data as the copy of sha256 (temporary file, then rename, so a
 * reader never sees half a file), creating the directories. 0 or HG_EIO
 * with a message. */
int hg_plugin_file_write(const char *data_dir, const char *sha256, const uint8_t *data, size_t len,
                         char *err, size_t err_size);

/* Remove the copy of sha256 (missing is fine). */
void hg_plugin_file_remove(const char *data_dir, const char *sha256);

/* ---------------------------------------------------------------- index */

/* Which hash a job's plug-in (name, version) means: the cluster's
 * in-memory view of the store, so that building an ASSIGN never waits for
 * MySQL. */
typedef struct hg_plugin_index hg_plugin_index_t;

hg_plugin_index_t *hg_plugin_index_new(void);
void hg_plugin_index_destroy(hg_plugin_index_t **index);

/* Add or replace (name, version) -> sha256; a sha256 listed under another
 * (name, version) is moved. 0 or HG_ENOMEM / HG_EINVAL. */
int hg_plugin_index_put(hg_plugin_index_t *index, const char *name, const char *version,
                        const char *sha256);

/* Forget sha256. */
void hg_plugin_index_remove(hg_plugin_index_t *index, const char *sha256);

/* The hash stored for name at version, or, when version is NULL or "", for
 * its highest version (natural order: 1.10 > 1.9 > 1.9-rc1 is not
 * special-cased: plain strverscmp). NULL when none. Borrowed: valid until
 * the index changes. */
const char *hg_plugin_index_resolve(const hg_plugin_index_t *index, const char *name,
                                    const char *version);

/* Entries in the index. */
size_t hg_plugin_index_size(const hg_plugin_index_t *index);

/* --------------------------------------------------------------- loader */

/* The loader actor re-creates missing file copies from MySQL on its own
 * connection, so that the cluster loop never waits for the database.
 *
 *   owner -> loader  "LOAD" s          sha256
 *   loader -> owner  "LOADED" sssss    sha256, rc (HG_E* as text, "0" when
 *                                      the copy is in place), size (text),
 *                                      message ("" on success)
 *
 * Requests are served one at a time, in order. db must outlive the actor;
 * data_dir is copied. */
zactor_t *hg_plugin_loader_new(const hg_db_params_t *db, const char *data_dir);

#endif
