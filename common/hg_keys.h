/* hg_keys: the CURVE key pairs of masters and workers, in czmq's
 * certificate format (zcert): a public file PATH and a secret file
 * PATH_secret (mode 0600) holding both keys. Settings name the secret
 * file; a path without the "_secret" suffix is accepted too and means the
 * pair PATH / PATH_secret.
 *
 * Shared by both daemons: loading and creating key pairs, reading the
 * pinned keys of a worker, the `keygen` subcommand, and the loopback rule
 * of `insecure.plaintext`. Nothing here logs a secret key. */
#ifndef HG_KEYS_H
#define HG_KEYS_H

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>

/* Z85 text of a 32-byte key: 40 characters. */
#define HG_KEY_Z85_LEN 40

/* Split a certificate path into its public and secret file names. 0, or
 * HG_EINVAL when a name does not fit. */
int hg_keys_paths(const char *path, char *pub, size_t pub_size, char *sec, size_t sec_size);

/* Load a key pair from its secret file (see the header comment). NULL with
 * the reason in err when the file is missing, unreadable, not a
 * certificate, has no secret key, or is readable by others than its
 * owner (a secret key others can read is not secret). */
zcert_t *hg_keys_load_pair(const char *path, char *err, size_t err_size);

/* Create a new key pair and save it: the secret file with mode 0600, the
 * public one 0644, directories created as needed. node, when not NULL,
 * becomes the certificate's "node" metadata (worker keys). Refuses to
 * overwrite an existing file. 0 or HG_E* with the reason in err. */
int hg_keys_create(const char *path, const char *node, char *err, size_t err_size);

/* The friendly default of the daemons: load the pair at path, or create it
 * when neither file exists (*created tells). NULL with err on failure. */
zcert_t *hg_keys_load_or_create(const char *path, const char *node, bool *created, char *err,
                                size_t err_size);

/* One pinned public key: either 40 characters of Z85, or the path of a
 * public certificate file. Writes the Z85 key (NUL-terminated) to out.
 * 0 or HG_E* with err. */
int hg_keys_parse_public(const char *spec, char out[HG_KEY_Z85_LEN + 1], char *err,
                         size_t err_size);

/* True when spec is 40 characters of valid Z85 that decode to a key. */
bool hg_keys_is_z85(const char *spec);

/* True when a ZeroMQ endpoint can only be reached from this machine:
 * ipc://, inproc://, tcp://127.x.y.z, tcp://[::1], tcp://localhost. */
bool hg_endpoint_is_loopback(const char *endpoint);

/* The `keygen` subcommand of a daemon: argv[0] is "keygen"; options
 * --out PATH and, when need_node, --name NODE (required). Prints the
 * files written and the public key. Returns the process exit code. */
int hg_keys_keygen_main(const char *prog, int argc, char **argv, bool need_node,
                        const char *default_out);

#endif
