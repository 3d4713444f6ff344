// hg-test-sources: master/plugins.c master/elf.c master/db.c tests/unit/db_fixture.c
/* test_plugin_store: the master's plug-in store. Pure parts (ELF
 * inspection of good, truncated and mutated files; name, version and hash
 * rules; the name -> hash index with "latest version"; file copies) and the
 * SQL against the private MariaDB (chunked bytes, idempotent and
 * conflicting puts, replace, export with damage detection). Database
 * settings come from HOURGLASS_MYSQL_* like test_api; the test works in
 * hourglass_test_plugins, recreated on every run. */
#include "db_fixture.h"
#include "elf.h"
#include "hg_error.h"
#include "hg_log.h"
#include "plugins.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_TEST_DB "hourglass_test_plugins"

/* The shipped noop plug-in, read once. */
static uint8_t *s_noop;
static size_t s_noop_len;

static uint8_t *s_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t) n);
    if (buf && fread(buf, 1, (size_t) n, f) != (size_t) n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = (size_t) n;
    return buf;
}

/* ------------------------------------------------------------------ ELF */

static void test_elf_plugin(void **state)
{
    hg_elf_info_t info;
    char err[512] = "";
    assert_int_equal(hg_elf_inspect(s_noop, s_noop_len, "hourglass_plugin", &info, err, sizeof err),
                     0);
    assert_int_equal(info.exports_entry, 1);
    assert_int_equal(info.elf_class, (int) (sizeof(void *) * 8));
    assert_true(info.arch[0] != '\0');
    assert_int_equal(hg_elf_inspect(s_noop, s_noop_len, "no_such_symbol", &info, err, sizeof err),
                     0);
    assert_int_equal(info.exports_entry, 0);
    char arch[33];
    assert_int_equal(hg_plugin_check_bytes(s_noop, s_noop_len, arch, sizeof arch, err, sizeof err),
                     0);
}

static void s_expect_refused(const uint8_t *data, size_t len, const char *part)
{
    hg_elf_info_t info;
    char err[512] = "";
    assert_int_equal(hg_elf_inspect(data, len, "hourglass_plugin", &info, err, sizeof err),
                     HG_EINVAL);
    if (!strstr(err, part)) fail_msg("expected \"%s\" in \"%s\"", part, err);
}

static void test_elf_refused(void **state)
{
    s_expect_refused((const uint8_t *) "hello", 5, "not an ELF file");
    s_expect_refused((const uint8_t *) "\x7f"
                                       "EL",
                     3, "not an ELF file");
    s_expect_refused(s_noop, 10, "unknown class or byte order");
    s_expect_refused(s_noop, 40, "shorter than its 64-byte header");
    uint8_t *copy = malloc(s_noop_len);
    memcpy(copy, s_noop, s_noop_len);
    copy[16] = 2; /* ET_EXEC (little-endian e_type) */
    s_expect_refused(copy, s_noop_len, "is an executable, not a shared object");
    copy[16] = 1;
    s_expect_refused(copy, s_noop_len, "relocatable object");
    copy[16] = 3;
    /* Cut before the section table (at the end of the file). */
    s_expect_refused(copy, s_noop_len - 16, "section table lies past the end");
    free(copy);
    char err[512], arch[33];
    assert_int_equal(hg_plugin_check_bytes(NULL, 0, arch, sizeof arch, err, sizeof err), HG_EINVAL);
    assert_non_null(strstr(err, "empty upload"));
}

/* Random damage never reads outside the buffer (ASan checks) nor crashes. */
static void test_elf_mutations(void **state)
{
    uint8_t *copy = malloc(s_noop_len);
    srand(42);
    int accepted = 0;
    for (int round = 0; round < 3000; round++) {
        memcpy(copy, s_noop, s_noop_len);
        int flips = 1 + rand() % 8;
        for (int i = 0; i < flips; i++) {
            /* Mostly the headers and tables, where offsets live. */
            size_t at = rand() % 2 ? (size_t) rand() % 64 : (size_t) rand() % s_noop_len;
            copy[at] = (uint8_t) rand();
        }
        size_t len = rand() % 4 ? s_noop_len : (size_t) rand() % s_noop_len;
        hg_elf_info_t info;
        char err[512];
        accepted += hg_elf_inspect(copy, len, "hourglass_plugin", &info, err, sizeof err) == 0;
    }
    assert_true(accepted > 0);
    free(copy);
}

/* ------------------------------------------------------------ validation */

static void test_names_and_hashes(void **state)
{
    char err[256];
    assert_int_equal(hg_plugin_check_name("shell", err, sizeof err), 0);
    assert_int_equal(hg_plugin_check_name("my_plugin-2.x", err, sizeof err), 0);
    assert_int_equal(hg_plugin_check_name("", err, sizeof err), HG_EINVAL);
    assert_int_equal(hg_plugin_check_name("-x", err, sizeof err), HG_EINVAL);
    assert_int_equal(hg_plugin_check_name("a b", err, sizeof err), HG_EINVAL);
    assert_int_equal(hg_plugin_check_name("a/b", err, sizeof err), HG_EINVAL);
    assert_true(strncmp(err, "name: ", 6) == 0);
    char long_name[70];
    memset(long_name, 'a', 65);
    long_name[65] = '\0';
    assert_int_equal(hg_plugin_check_name(long_name, err, sizeof err), HG_EINVAL);
    long_name[64] = '\0';
    assert_int_equal(hg_plugin_check_name(long_name, err, sizeof err), 0);
    assert_int_equal(hg_plugin_check_version("1.2.0+build~1", err, sizeof err), 0);
    assert_int_equal(hg_plugin_check_version("1 2", err, sizeof err), HG_EINVAL);
    assert_true(strncmp(err, "version: ", 9) == 0);

    char hex[65];
    hg_plugin_sha256_hex((const uint8_t *) "abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_true(hg_plugin_sha256_valid(hex));
    hex[0] = 'B';
    assert_false(hg_plugin_sha256_valid(hex));
    assert_false(hg_plugin_sha256_valid("abc"));
    assert_false(hg_plugin_sha256_valid(NULL));
}

/* ---------------------------------------------------------------- index */

#define S_SHA(c) c c c c c c c c c c c c c c c c /* 64 hex digits from 4 */

static void test_index(void **state)
{
    hg_plugin_index_t *idx = hg_plugin_index_new();
    assert_null(hg_plugin_index_resolve(idx, "shell", NULL));
    assert_int_equal(hg_plugin_index_put(idx, "shell", "1.9", S_SHA("1111")), 0);
    assert_int_equal(hg_plugin_index_put(idx, "shell", "1.10", S_SHA("2222")), 0);
    assert_int_equal(hg_plugin_index_put(idx, "shell", "1.2", S_SHA("3333")), 0);
    assert_int_equal(hg_plugin_index_put(idx, "sql", "9", S_SHA("4444")), 0);
    /* Latest is the natural order's highest: 1.10 > 1.9. */
    assert_string_equal(hg_plugin_index_resolve(idx, "shell", NULL), S_SHA("2222"));
    assert_string_equal(hg_plugin_index_resolve(idx, "shell", ""), S_SHA("2222"));
    assert_string_equal(hg_plugin_index_resolve(idx, "shell", "1.9"), S_SHA("1111"));
    assert_null(hg_plugin_index_resolve(idx, "shell", "2.0"));
    assert_null(hg_plugin_index_resolve(idx, "nope", NULL));
    /* Replace the bytes of a version. */
    assert_int_equal(hg_plugin_index_put(idx, "shell", "1.9", S_SHA("5555")), 0);
    assert_string_equal(hg_plugin_index_resolve(idx, "shell", "1.9"), S_SHA("5555"));
    assert_int_equal(hg_plugin_index_size(idx), 4);
    hg_plugin_index_remove(idx, S_SHA("2222"));
    assert_string_equal(hg_plugin_index_resolve(idx, "shell", NULL), S_SHA("5555"));
    assert_int_equal(hg_plugin_index_put(idx, "x", "1", "short"), HG_EINVAL);
    hg_plugin_index_destroy(&idx);
    assert_null(idx);
    hg_plugin_index_destroy(&idx);
}

/* ---------------------------------------------------------- file copies */

static void test_file_copy(void **state)
{
    char dir[] = "/tmp/hg-test-plugins-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char sub[256], path[512], err[512];
    snprintf(sub, sizeof sub, "%s/a/b", dir); /* created on demand */
    char sha[65];
    hg_plugin_sha256_hex(s_noop, s_noop_len, sha);
    assert_int_equal(hg_plugin_file_write(sub, sha, s_noop, s_noop_len, err, sizeof err), 0);
    assert_int_equal(hg_plugin_file_path(sub, sha, path, sizeof path), 0);
    size_t len = 0;
    uint8_t *back = s_read(path, &len);
    assert_non_null(back);
    assert_int_equal(len, s_noop_len);
    assert_memory_equal(back, s_noop, len);
    free(back);
    hg_plugin_file_remove(sub, sha);
    assert_int_not_equal(access(path, F_OK), 0);
    char small[8];
    assert_int_equal(hg_plugin_file_path(sub, sha, small, sizeof small), HG_ETOOBIG);
    /* A file where the directory should be. */
    char blocked[300];
    snprintf(blocked, sizeof blocked, "%s/file", dir);
    fclose(fopen(blocked, "w"));
    assert_int_equal(hg_plugin_file_write(blocked, sha, s_noop, s_noop_len, err, sizeof err),
                     HG_EIO);
    assert_non_null(strstr(err, "cannot create directory"));
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* ------------------------------------------------------------------ SQL */

static struct {
    hg_db_params_t db; /* the test database */
    MYSQL *conn;       /* connection to it */
} s_fx;

static void test_db_put_get_list(void **state)
{
    MYSQL *db = s_fx.conn;
    /* Three chunks and a bit: 512 KiB rows. */
    size_t len = 3 * HG_PLUGIN_DB_CHUNK + 1234;
    uint8_t *data = malloc(len);
    for (size_t i = 0; i < len; i++)
        data[i] = (uint8_t) (i * 7 + i / 251);
    char sha[65], err[1024];
    hg_plugin_sha256_hex(data, len, sha);
    hg_plugin_meta_t meta;
    hg_plugin_put_t result;
    char replaced[65];
    assert_int_equal(hg_plugin_db_put(db, "big", "1.0", data, len, sha, "x86_64", false, &meta,
                                      &result, replaced, err, sizeof err),
                     0);
    assert_int_equal(result, HG_PLUGIN_PUT_CREATED);
    assert_int_equal(meta.size, len);
    assert_string_equal(meta.sha256, sha);
    /* Idempotent. */
    assert_int_equal(hg_plugin_db_put(db, "big", "1.0", data, len, sha, "x86_64", false, &meta,
                                      &result, replaced, err, sizeof err),
                     0);
    assert_int_equal(result, HG_PLUGIN_PUT_SAME);
    /* Same bytes, other name: refused. */
    assert_int_equal(hg_plugin_db_put(db, "big2", "1.0", data, len, sha, "x86_64", false, &meta,
                                      &result, replaced, err, sizeof err),
                     HG_EEXIST);
    assert_non_null(strstr(err, "already stored as plug-in big 1.0"));
    /* Other bytes, same name and version: refused, then replaced. */
    char sha2[65];
    hg_plugin_sha256_hex(s_noop, s_noop_len, sha2);
    assert_int_equal(hg_plugin_db_put(db, "big", "1.0", s_noop, s_noop_len, sha2, "x86_64", false,
                                      &meta, &result, replaced, err, sizeof err),
                     HG_EEXIST);
    assert_non_null(strstr(err, "already stored with other bytes"));
    assert_int_equal(hg_plugin_db_get(db, sha, &meta, err, sizeof err), 0);
    assert_string_equal(meta.name, "big");

    /* Export streams the chunks back and checks the hash. */
    char path[] = "/tmp/hg-test-export-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    uint64_t size = 0;
    assert_int_equal(hg_plugin_db_export(db, sha, path, &size, err, sizeof err), 0);
    assert_int_equal(size, len);
    size_t back_len = 0;
    uint8_t *back = s_read(path, &back_len);
    assert_int_equal(back_len, len);
    assert_memory_equal(back, data, len);
    free(back);

    /* Damage: one chunk changed, then one missing. */
    assert_int_equal(mysql_query(db, "UPDATE plugin_chunks SET data = REVERSE(data) WHERE seq = 1"),
                     0);
    assert_int_equal(hg_plugin_db_export(db, sha, path, &size, err, sizeof err), HG_EIO);
    assert_non_null(strstr(err, "do not match that hash"));
    assert_non_null(strstr(err, sha));
    assert_int_equal(mysql_query(db, "DELETE FROM plugin_chunks WHERE seq = 2"), 0);
    assert_int_equal(hg_plugin_db_export(db, sha, path, &size, err, sizeof err), HG_EIO);
    assert_non_null(strstr(err, "damaged"));
    assert_int_equal(hg_plugin_db_export(db, S_SHA("0000"), path, &size, err, sizeof err),
                     HG_ENOTFOUND);
    unlink(path);

    assert_int_equal(hg_plugin_db_put(db, "big", "1.0", s_noop, s_noop_len, sha2, "x86_64", true,
                                      &meta, &result, replaced, err, sizeof err),
                     0);
    assert_int_equal(result, HG_PLUGIN_PUT_REPLACED);
    assert_string_equal(replaced, sha);
    assert_int_equal(hg_plugin_db_get(db, sha, &meta, err, sizeof err), HG_ENOTFOUND);
    assert_int_equal(hg_plugin_db_put(db, "big", "1.10", data, len, sha, "x86_64", false, &meta,
                                      &result, replaced, err, sizeof err),
                     0);

    json_t *list = NULL;
    assert_int_equal(hg_plugin_db_list(db, "big", &list, err, sizeof err), 0);
    assert_int_equal(json_array_size(list), 2);
    /* Natural version order: 1.0 before 1.10. */
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "version")),
                        "1.0");
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 1), "sha256")), sha);
    json_decref(list);

    assert_int_equal(hg_plugin_db_delete(db, sha, &meta, err, sizeof err), 0);
    assert_string_equal(meta.version, "1.10");
    assert_int_equal(hg_plugin_db_delete(db, sha, &meta, err, sizeof err), HG_ENOTFOUND);
    /* Its chunks went with it. */
    assert_int_equal(mysql_query(db, "SELECT COUNT(*) FROM plugin_chunks"), 0);
    MYSQL_RES *res = mysql_store_result(db);
    MYSQL_ROW row = mysql_fetch_row(res);
    assert_string_equal(row[0], "1"); /* the replacement (noop) only */
    mysql_free_result(res);
    free(data);
}

static int s_setup(void **state)
{
    hg_log_init("test_plugin_store", HG_LOG_ERROR);
    if (sodium_init() < 0) return -1;
    s_noop = s_read(HG_TEST_NOOP_PATH, &s_noop_len);
    if (!s_noop) {
        fprintf(stderr, "test_plugin_store: cannot read %s\n", HG_TEST_NOOP_PATH);
        return -1;
    }
    s_fx.conn = hg_test_db_open("test_plugin_store", S_TEST_DB, &s_fx.db);
    return s_fx.conn ? 0 : -1;
}

static int s_teardown(void **state)
{
    hg_db_close(&s_fx.conn);
    free(s_noop);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_elf_plugin),      cmocka_unit_test(test_elf_refused),
        cmocka_unit_test(test_elf_mutations),   cmocka_unit_test(test_names_and_hashes),
        cmocka_unit_test(test_index),           cmocka_unit_test(test_file_copy),
        cmocka_unit_test(test_db_put_get_list),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
