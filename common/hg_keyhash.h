/* hg_keyhash: keyed hashes for tables whose keys come from peers (node
 * names, routing ids, run ids, plug-in hashes). A peer that knows the hash
 * function can pick keys that all land in one bucket and make every lookup
 * walk them all; with SipHash (libsodium's crypto_shorthash) under a key
 * drawn at random when the process starts, it cannot. */
#ifndef HG_KEYHASH_H
#define HG_KEYHASH_H

#include <stddef.h>
#include <stdint.h>

/* Keyed hash of len bytes. */
uint64_t hg_keyhash_bytes(const void *data, size_t len);

/* Keyed hash of a NUL-terminated string; its signature is czmq's
 * zhashx_hash_fn, for zhashx_set_key_hasher on tables keyed by text. */
size_t hg_keyhash_str(const void *key);

#endif
