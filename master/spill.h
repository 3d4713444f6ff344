/* spill: the master's on-disk overflow for run records while MySQL is down.
 *
 * When the store's in-memory buffer is full, batches of run records are
 * appended to a spill file and fsync'ed; only then are they acknowledged to
 * the workers, so the file is the one durable copy until MySQL is back and
 * the file has been replayed into it.
 *
 * File format (all integers little-endian):
 *   header  8 bytes  "HGSPILL1"
 *   frame   4 bytes  "HGSF"
 *           4 bytes  payload length L (1 .. HG_SPILL_MAX_PAYLOAD)
 *          16 bytes  BLAKE2b-128 (libsodium generichash) of the length
 *                    field followed by the payload
 *           L bytes  payload: 1 byte node-name length N, N bytes node name,
 *                    then a RUN_STARTED / RUN_FINISHED message exactly as
 *                    hg_msg_encode writes it (the wire encoding of runs)
 * A crash during an append leaves a torn last frame: the reader reports it
 * and stops there (those records were never acknowledged, so the workers
 * still hold them). A complete frame whose checksum does not match is
 * reported, skipped, and the reader resynchronises on the next valid frame.
 *
 * Ownership: hg_spill_next hands the caller a decoded message it frees with
 * hg_msg_destroy. The library never logs; callers report the stats. */
#ifndef HG_MASTER_SPILL_H
#define HG_MASTER_SPILL_H

#include "hg_proto.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HG_SPILL_HEADER      "HGSPILL1"
#define HG_SPILL_HEADER_SIZE 8
#define HG_SPILL_FRAME_HEAD  24 /* magic + length + checksum */
#define HG_SPILL_MAX_PAYLOAD (HG_PROTO_MAX_MSG + 256)
#define HG_SPILL_NODE_MAX    191 /* longest node name stored */

/* ---------------------------------------------------------------- writer */

typedef struct hg_spill hg_spill_t;

/* Open path for appending, creating it (and its header) if needed. A new
 * file is fsync'ed together with its directory entry. An existing file must
 * start with the spill header. NULL on failure with the cause in err. */
hg_spill_t *hg_spill_open(const char *path, char *err, size_t err_size);

/* Append one frame holding msg (RUN_STARTED or RUN_FINISHED) sent by node.
 * Not durable until hg_spill_sync. 0, or HG_EINVAL / HG_ETOOBIG / HG_EIO
 * (message in err). After an I/O error the file may end in a torn frame;
 * the reader handles that. */
int hg_spill_append(hg_spill_t *self, const char *node, const hg_msg_t *msg, char *err,
                    size_t err_size);

/* fsync the file. 0 or HG_EIO (message in err). */
int hg_spill_sync(hg_spill_t *self, char *err, size_t err_size);

/* Bytes in the file (header included). */
uint64_t hg_spill_size(const hg_spill_t *self);

/* Close (no sync) and NULL the pointer. Idempotent. */
void hg_spill_close(hg_spill_t **self);

/* ---------------------------------------------------------------- reader */

typedef struct hg_spill_reader hg_spill_reader_t;

typedef struct {
    uint64_t frames;        /* valid frames returned */
    uint64_t records;       /* run records in them */
    uint64_t bad_frames;    /* frames skipped: checksum mismatch or undecodable */
    uint64_t skipped_bytes; /* bytes passed over while resynchronising */
    bool torn_tail;         /* the file ends inside a frame */
    uint64_t torn_offset;   /* where that last, incomplete frame starts */
    uint64_t torn_bytes;    /* bytes from torn_offset to the end of the file */
} hg_spill_stats_t;

/* Open path for reading from byte offset (0 or HG_SPILL_HEADER_SIZE: from
 * the first frame; else an offset hg_spill_reader_offset returned). NULL
 * with the cause in err (also when the file is not a spill file). */
hg_spill_reader_t *hg_spill_reader_open(const char *path, uint64_t offset, char *err,
                                        size_t err_size);

/* Next valid frame: 1 with *msg (caller frees) and node filled, 0 at the
 * end of the file (clean or torn: see the stats), HG_EIO on a read error
 * (message in err). Bad frames are skipped and counted. */
int hg_spill_next(hg_spill_reader_t *self, char *node, size_t node_size, hg_msg_t **msg, char *err,
                  size_t err_size);

/* Offset just past the last frame returned (or skipped). */
uint64_t hg_spill_reader_offset(const hg_spill_reader_t *self);

const hg_spill_stats_t *hg_spill_reader_stats(const hg_spill_reader_t *self);

void hg_spill_reader_close(hg_spill_reader_t **self);

#endif
