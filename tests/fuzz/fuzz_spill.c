/* fuzz_spill: spill-file replay, hg_spill_reader_open / hg_spill_next
 * (master/spill.c).
 *
 * Input: the bytes of a spill file. After a crash the master replays
 * whatever the disk holds, torn or corrupt, into MySQL, so the reader must
 * never crash and must always come to an end. Each input is replayed
 * twice: as it is, and with every frame's checksum made right, so that
 * the fuzzer's changes reach the payload decoder instead of stopping at
 * the checksum. */
#include "fuzz_common.h"
#include "hg_error.h"
#include "hg_proto.h"
#include "spill.h"

#include <sodium.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int s_fd = -1;
static char s_path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;
    /* The reader opens a path: an in-memory file keeps the disk out of it. */
    s_fd = memfd_create("hg-fuzz-spill", 0);
    FUZZ_CHECK(s_fd >= 0);
    snprintf(s_path, sizeof s_path, "/proc/self/fd/%d", s_fd);
    FUZZ_CHECK(sodium_init() >= 0);
    return 0;
}

static void s_write(const uint8_t *data, size_t size)
{
    FUZZ_CHECK(ftruncate(s_fd, 0) == 0);
    size_t done = 0;
    while (done < size) {
        ssize_t n = pwrite(s_fd, data + done, size - done, (off_t) done);
        FUZZ_CHECK(n > 0);
        done += (size_t) n;
    }
}

/* Recompute the checksum of every frame whose magic and length fit. */
static void s_fix_sums(uint8_t *p, size_t size)
{
    size_t off = HG_SPILL_HEADER_SIZE;
    while (off + HG_SPILL_FRAME_HEAD <= size) {
        if (memcmp(p + off, "HGSF", 4) != 0) {
            off++;
            continue;
        }
        uint32_t len = (uint32_t) p[off + 4] | (uint32_t) p[off + 5] << 8 |
                       (uint32_t) p[off + 6] << 16 | (uint32_t) p[off + 7] << 24;
        if (len == 0 || len > size - off - HG_SPILL_FRAME_HEAD) {
            off++;
            continue;
        }
        crypto_generichash_state st;
        crypto_generichash_init(&st, NULL, 0, 16);
        crypto_generichash_update(&st, p + off + 4, 4);
        crypto_generichash_update(&st, p + off + HG_SPILL_FRAME_HEAD, len);
        crypto_generichash_final(&st, p + off + 8, 16);
        off += HG_SPILL_FRAME_HEAD + len;
    }
}

static void s_replay(void)
{
    char err[512];
    hg_spill_reader_t *r = hg_spill_reader_open(s_path, 0, err, sizeof err);
    if (!r) return;
    char node[HG_SPILL_NODE_MAX + 1];
    hg_msg_t *msg = NULL;
    uint64_t last = hg_spill_reader_offset(r);
    int rc;
    size_t frames = 0;
    while ((rc = hg_spill_next(r, node, sizeof node, &msg, err, sizeof err)) == 1) {
        FUZZ_CHECK(msg != NULL);
        FUZZ_CHECK(msg->type == HG_MSG_RUN_STARTED || msg->type == HG_MSG_RUN_FINISHED);
        FUZZ_CHECK(memchr(node, '\0', sizeof node) != NULL);
        hg_msg_destroy(&msg);
        /* Every frame moves the reader on, so a replay always ends. */
        uint64_t off = hg_spill_reader_offset(r);
        FUZZ_CHECK(off > last);
        last = off;
        frames++;
    }
    FUZZ_CHECK(rc == 0 && msg == NULL);
    const hg_spill_stats_t *st = hg_spill_reader_stats(r);
    FUZZ_CHECK(st->frames == frames);
    if (st->torn_tail)
        FUZZ_CHECK(st->torn_offset + st->torn_bytes == (uint64_t) lseek(s_fd, 0, SEEK_END));
    /* A second reader resuming where this one stopped finds nothing new. */
    uint64_t at = hg_spill_reader_offset(r);
    hg_spill_reader_close(&r);
    FUZZ_CHECK(r == NULL);
    hg_spill_reader_t *again = hg_spill_reader_open(s_path, at, err, sizeof err);
    FUZZ_CHECK(again != NULL);
    FUZZ_CHECK(hg_spill_next(again, node, sizeof node, &msg, err, sizeof err) == 0);
    hg_spill_reader_close(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (s_fd < 0) LLVMFuzzerInitialize(NULL, NULL);
    s_write(data, size);
    s_replay();
    uint8_t *fixed = malloc(size ? size : 1);
    FUZZ_CHECK(fixed != NULL);
    memcpy(fixed, data, size);
    s_fix_sums(fixed, size);
    if (size != 0 && memcmp(fixed, data, size) != 0) {
        s_write(fixed, size);
        s_replay();
    }
    free(fixed);
    return 0;
}
