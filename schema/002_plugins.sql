-- Hourglass schema, migration 002: plug-ins uploaded to the master
-- (`hourglass plugin push`). MySQL is the source of truth for their bytes,
-- so that every master can serve them; each master also keeps a copy per
-- hash in its data directory to serve workers without the database.
--
-- The bytes are kept in plugin_chunks, 512 KiB per row, rather than in one
-- LONGBLOB: a single value must fit in the server's max_allowed_packet
-- (16 MiB by default, 1-4 MiB on older servers), and plug-ins may be
-- larger (plugin.max_size, 32 MiB by default).

CREATE TABLE IF NOT EXISTS plugins (
    id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    name          VARCHAR(64)  NOT NULL,
    version       VARCHAR(64)  NOT NULL,
    sha256        CHAR(64)     NOT NULL,                  -- lowercase hex of the whole file
    size          BIGINT UNSIGNED NOT NULL,               -- bytes
    arch          VARCHAR(32)  NOT NULL,                  -- ELF machine, e.g. x86_64
    chunks        INT UNSIGNED NOT NULL,                  -- rows in plugin_chunks
    uploaded_at   DATETIME(3)  NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_plugins_sha256 (sha256),
    UNIQUE KEY uq_plugins_name_version (name, version)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
;
CREATE TABLE IF NOT EXISTS plugin_chunks (
    plugin_id     BIGINT UNSIGNED NOT NULL,
    seq           INT UNSIGNED NOT NULL,                  -- 0, 1, ... in file order
    data          MEDIUMBLOB   NOT NULL,                  -- at most 512 KiB
    PRIMARY KEY (plugin_id, seq),
    CONSTRAINT fk_plugin_chunks_plugin FOREIGN KEY (plugin_id) REFERENCES plugins (id)
        ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
;
