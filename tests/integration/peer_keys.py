"""peer_keys: CURVE keys for a raw test peer, when the cluster has them.

Today the master's worker port is plain text; once the cluster links use
CURVE, the harness hands out keys (cluster.master_public_key and
cluster.worker_key(name) -> (public_z85, secret_z85)). A hostile-peer test
builds its RawPeer with curve_for(cluster, name): None while there are no
keys, the triple RawPeer wants once there are. A peer with a key of its
own is the strongest attacker (a stolen worker key), so tests use one.
"""


def curve_for(cluster, name):
    """(server_public, client_public, client_secret) for a peer that
    presents worker `name`'s key, or None when the cluster has no keys."""
    server = getattr(cluster, "master_public_key", None)
    worker_key = getattr(cluster, "worker_key", None)
    if not server or worker_key is None:
        return None
    pub, sec = worker_key(name)
    return (server, pub, sec)
