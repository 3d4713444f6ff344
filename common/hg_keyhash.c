/* hg_keyhash: SipHash-2-4 under a per-process random key. */
#include "hg_keyhash.h"

#include <pthread.h>
#include <sodium.h>
#include <string.h>

static unsigned char s_key[crypto_shorthash_KEYBYTES];
static pthread_once_t s_key_once = PTHREAD_ONCE_INIT;

static void s_key_init(void)
{
    /* sodium_init may have run already (it is idempotent); without it
     * randombytes_buf still works, but call it so the choice of
     * implementation is made once, here. */
    if (sodium_init() < 0) {
        /* No usable libsodium: nothing in Hourglass works without it, and
         * a fixed key would only weaken the tables, not break them. */
        memset(s_key, 0x5a, sizeof s_key);
        return;
    }
    randombytes_buf(s_key, sizeof s_key);
}

uint64_t hg_keyhash_bytes(const void *data, size_t len)
{
    pthread_once(&s_key_once, s_key_init);
    unsigned char out[crypto_shorthash_BYTES];
    crypto_shorthash(out, data, len, s_key);
    uint64_t h;
    memcpy(&h, out, sizeof h);
    return h;
}

size_t hg_keyhash_str(const void *key)
{
    const char *s = key;
    return (size_t) hg_keyhash_bytes(s, strlen(s));
}
