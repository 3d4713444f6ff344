/* make_seeds: writes the binary seeds of tests/fuzz/corpus that only the
 * encoders can produce: one frame per message type from hg_msg_encode
 * (corpus/proto) and spill files from the spill writer (corpus/spill).
 * The sample messages are tests/unit/proto_samples.c, as the codec's
 * unit test round-trips them.
 *
 *   make_seeds CORPUS_DIR      (build target fuzz_make_seeds)
 */
#include "hg_error.h"
#include "hg_proto.h"
#include "proto_samples.h"
#include "spill.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void s_write(const char *dir, const char *name, const uint8_t *buf, size_t len)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "make_seeds: cannot write %s\n", path);
        exit(1);
    }
}

static void s_proto(const char *dir)
{
    for (int type = HG_MSG_HELLO; type <= HG_MSG_JOB_RUNNING; type++) {
        for (int full = 0; full <= 1; full++) {
            hg_msg_t *m = hg_test_proto_sample(type, full);
            uint8_t *buf;
            size_t len;
            int rc = hg_msg_encode(m, &buf, &len);
            if (rc != 0) {
                fprintf(stderr, "make_seeds: encode %s: %s\n", hg_msg_type_name(type),
                        hg_strerror(rc));
                exit(1);
            }
            char name[64], lower[32];
            snprintf(lower, sizeof lower, "%s", hg_msg_type_name(type));
            for (char *p = lower; *p; p++)
                *p = (char) (*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
            snprintf(name, sizeof name, "%s-%s.msgpack", lower, full ? "full" : "min");
            s_write(dir, name, buf, len);
            free(buf);
            hg_msg_destroy(&m);
        }
    }
}

/* A spill file as the master writes it: frames appended by hg_spill_append
 * from several workers; torn=true cuts the last frame short, the way a
 * crash during an append leaves it. */
static void s_spill(const char *dir, const char *name, int frames, bool torn)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    unlink(path);
    char err[256];
    hg_spill_t *sp = hg_spill_open(path, err, sizeof err);
    if (!sp) {
        fprintf(stderr, "make_seeds: %s\n", err);
        exit(1);
    }
    for (int i = 0; i < frames; i++) {
        hg_msg_t *m = hg_test_proto_sample(i % 2 ? HG_MSG_RUN_FINISHED : HG_MSG_RUN_STARTED, i % 2);
        if (hg_spill_append(sp, i % 3 ? "worker-1" : "worker-2", m, err, sizeof err) != 0) {
            fprintf(stderr, "make_seeds: %s\n", err);
            exit(1);
        }
        hg_msg_destroy(&m);
    }
    uint64_t size = hg_spill_size(sp);
    hg_spill_close(&sp);
    if (torn && truncate(path, (off_t) size - 5) != 0) {
        perror("make_seeds: truncate");
        exit(1);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    char dir[2048];
    snprintf(dir, sizeof dir, "%s/proto", argv[1]);
    s_proto(dir);
    snprintf(dir, sizeof dir, "%s/spill", argv[1]);
    s_spill(dir, "empty.spill", 0, false);
    s_spill(dir, "one-frame.spill", 1, false);
    s_spill(dir, "four-frames.spill", 4, false);
    s_spill(dir, "torn-tail.spill", 3, true);
    return 0;
}
