/* leader: leader election among the masters that share one MySQL database
 * (DESIGN.md section 4), as a zactor that owns one dedicated MySQL
 * connection.
 *
 * A master leads while that connection holds the advisory lock
 * GET_LOCK('hourglass.leader.<database>', 0). The lock is scoped by
 * database so that several Hourglass clusters may share one MySQL server.
 * The winner raises the fencing epoch in the leadership row (id 1) and
 * writes its name, its ZeroMQ endpoint as workers should dial it and its
 * API URL there. The epoch is GREATEST(previous + 1, wall-clock ms), so it
 * only ever grows, even if the row is lost, and stays comparable with the
 * start-time epochs a single master used before.
 *
 * A standby tries the lock every interval_ms and reports the leadership row
 * whenever it changes. The leader checks every interval_ms that its
 * connection still holds the lock. When the connection breaks it reconnects
 * and takes the lock again at once: if it gets the lock and the row still
 * carries its epoch, nobody led in between and it leads on; if another
 * master holds the lock or the epoch moved on, it has lost the leadership.
 * While MySQL cannot be reached at all it leads on: no other master can
 * take the lock either, and workers must keep their leases through a
 * database outage.
 *
 * Pipe protocol, actor -> owner (read with zsock_recv on the zactor):
 *   "LEADER" s           we now lead; epoch as decimal text
 *   "STANDBY" ssss       the leader per the row: name, endpoint, api_url,
 *                        epoch (sent when it changes; "" when none yet)
 *   "LOST" s             we led and no longer do; the reason. The owner
 *                        must stop acting as leader at once.
 * The actor stops on $TERM; closing its connection releases the lock. */
#ifndef HG_MASTER_LEADER_H
#define HG_MASTER_LEADER_H

#include "db.h"

#include <czmq.h>
#include <stdint.h>

typedef struct {
    const hg_db_params_t *db; /* MySQL settings (must outlive the actor) */
    const char *master_name;  /* this master's name, written in the row */
    const char *endpoint;     /* ZeroMQ endpoint workers should dial, written in the row */
    const char *api_url;      /* REST API URL clients should use, written in the row */
    int64_t interval_ms;      /* standby: lock retry interval; leader: lock check interval */
} hg_leader_args_t;

/* Start the election actor. args and the strings it points to must
 * outlive it. NULL on failure. */
zactor_t *hg_leader_new(const hg_leader_args_t *args);

/* Name of the advisory lock for a database: "hourglass.leader.<db>", or,
 * when that would pass MySQL's 64-character limit on lock names, the first
 * 30 characters of the database name and a 64-bit FNV-1a digest of the
 * whole name in hex. Written into buf (at least 65 bytes). */
void hg_leader_lock_name(const char *database, char *buf, size_t size);

#endif
