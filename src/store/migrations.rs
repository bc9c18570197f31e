//! Versioned schema migrations: SQLite's tracked in `PRAGMA user_version`, PostgreSQL's in the
//! table `pulse_schema`.

use anyhow::{bail, Result};
use rusqlite::Connection;

use super::db::Db;

/// Each entry moves the schema from version `i` to `i + 1`. Append only; never edit a shipped one.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE runs (
    id            TEXT PRIMARY KEY,
    started_at    INTEGER NOT NULL,
    finished_at   INTEGER,
    source        TEXT NOT NULL,
    source_size   INTEGER,
    source_hash   TEXT,
    url           TEXT NOT NULL,
    options       TEXT NOT NULL,
    status        TEXT NOT NULL,
    rows_total    INTEGER NOT NULL DEFAULT 0,
    rows_valid    INTEGER NOT NULL DEFAULT 0,
    rows_invalid  INTEGER NOT NULL DEFAULT 0,
    blank_rows    INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE events (
    id           TEXT PRIMARY KEY,
    run_id       TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    seq          INTEGER NOT NULL,
    name         TEXT NOT NULL,
    total_rows   INTEGER NOT NULL DEFAULT 0,
    batch_count  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX events_run ON events(run_id, seq);
-- Batches hold delivery state only; their payloads live in `payloads`, written once, so that
-- status updates never rewrite a large blob.
CREATE TABLE batches (
    id            TEXT PRIMARY KEY,
    event_id      TEXT NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    idx           INTEGER NOT NULL,
    rows          INTEGER NOT NULL,
    first_row     INTEGER NOT NULL,
    status        TEXT NOT NULL,
    delivered_at  INTEGER
);
CREATE INDEX batches_event ON batches(event_id, idx);
CREATE TABLE payloads (
    batch_id  TEXT PRIMARY KEY REFERENCES batches(id) ON DELETE CASCADE,
    raw_len   INTEGER NOT NULL,
    data      BLOB NOT NULL
);
CREATE TABLE attempts (
    id               INTEGER PRIMARY KEY,
    batch_id         TEXT NOT NULL REFERENCES batches(id) ON DELETE CASCADE,
    started_at       INTEGER NOT NULL,
    duration_ms      INTEGER NOT NULL,
    url              TEXT NOT NULL,
    http_status      INTEGER NOT NULL,
    error            TEXT,
    response         TEXT,
    request_headers  TEXT NOT NULL
);
CREATE INDEX attempts_batch ON attempts(batch_id, id);
CREATE TABLE secrets (
    url         TEXT PRIMARY KEY,
    secret      TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
"#,
    r#"
-- Mirror mode: the last delivered state of each sync (key -> row hash), and the state a run will
-- make current once it is fully delivered.
CREATE TABLE sync_state (
    sync      TEXT NOT NULL,
    key_hash  BLOB NOT NULL,
    row_hash  BLOB NOT NULL,
    key_json  TEXT NOT NULL,
    PRIMARY KEY (sync, key_hash)
) WITHOUT ROWID;
CREATE TABLE sync_pending (
    run_id    TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    sync      TEXT NOT NULL,
    key_hash  BLOB NOT NULL,
    row_hash  BLOB NOT NULL,
    key_json  TEXT NOT NULL,
    PRIMARY KEY (run_id, key_hash)
) WITHOUT ROWID;
"#,
    // 3: a checkpoint of the input read so far while staging (bytes and their hash), so a run
    // killed while staging is restaged only from an unchanged file; an index for `log --since`
    // and `prune`.
    r#"
ALTER TABLE runs ADD COLUMN staged_bytes INTEGER;
ALTER TABLE runs ADD COLUMN staged_hash TEXT;
CREATE INDEX runs_started ON runs(started_at);
"#,
    // 4: a run's future mirror state is appended in file order, without a key index: inserting
    // random key hashes into a B-tree of 64 KiB pages rewrote a page per key. It is sorted once,
    // when the run is delivered and it becomes the sync's state.
    r#"
CREATE TABLE sync_pending_v4 (
    run_id    TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    sync      TEXT NOT NULL,
    key_hash  BLOB NOT NULL,
    row_hash  BLOB NOT NULL,
    key_json  TEXT NOT NULL
);
INSERT INTO sync_pending_v4 (run_id, sync, key_hash, row_hash, key_json)
    SELECT run_id, sync, key_hash, row_hash, key_json FROM sync_pending;
DROP TABLE sync_pending;
ALTER TABLE sync_pending_v4 RENAME TO sync_pending;
CREATE INDEX sync_pending_run ON sync_pending(run_id);
"#,
    // 5: why a run ended as it did (an abandoned run's reason).
    r#"
ALTER TABLE runs ADD COLUMN note TEXT;
"#,
    // 6: destinations found down, until they answer (`run::outage`).
    r#"
CREATE TABLE outages (
    url          TEXT PRIMARY KEY,
    down_since   INTEGER NOT NULL,
    checked_at   INTEGER NOT NULL,
    last_tried   INTEGER NOT NULL,
    last_error   TEXT NOT NULL
);
"#,
    // 7: the rows a receiver refused in a 2xx answer (`--rejected-rows`): with the attempt
    // (JSON), and their count with the batch its answer delivered.
    r#"
ALTER TABLE attempts ADD COLUMN rejected TEXT;
ALTER TABLE batches ADD COLUMN rejected INTEGER NOT NULL DEFAULT 0;
"#,
    // 8: requests on the wire as each attempt went out, and the concurrency limit then
    // (`--concurrency auto`): a run's mean and peak in flight, and how its limit moved.
    r#"
ALTER TABLE attempts ADD COLUMN in_flight INTEGER;
ALTER TABLE attempts ADD COLUMN in_flight_limit INTEGER;
"#,
];

/// PostgreSQL's schema: its version 1 is SQLite's version 4 (later ones say which of SQLite's
/// they follow), the same tables: integers are BIGINT,
/// blobs BYTEA, ids sorted bytewise (`COLLATE "C"`, as SQLite sorts them). Append only.
const POSTGRES_MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE runs (
    id            TEXT COLLATE "C" PRIMARY KEY,
    started_at    BIGINT NOT NULL,
    finished_at   BIGINT,
    source        TEXT NOT NULL,
    source_size   BIGINT,
    source_hash   TEXT,
    url           TEXT NOT NULL,
    options       TEXT NOT NULL,
    status        TEXT NOT NULL,
    rows_total    BIGINT NOT NULL DEFAULT 0,
    rows_valid    BIGINT NOT NULL DEFAULT 0,
    rows_invalid  BIGINT NOT NULL DEFAULT 0,
    blank_rows    BIGINT NOT NULL DEFAULT 0,
    staged_bytes  BIGINT,
    staged_hash   TEXT
);
CREATE INDEX runs_started ON runs(started_at);
CREATE INDEX runs_unfinished ON runs(started_at)
    WHERE status NOT IN ('delivered', 'invalid', 'cancelled', 'input-error');
CREATE TABLE events (
    id           TEXT COLLATE "C" PRIMARY KEY,
    run_id       TEXT COLLATE "C" NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    seq          BIGINT NOT NULL,
    name         TEXT NOT NULL,
    total_rows   BIGINT NOT NULL DEFAULT 0,
    batch_count  BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX events_run ON events(run_id, seq);
CREATE TABLE batches (
    id            TEXT COLLATE "C" PRIMARY KEY,
    event_id      TEXT COLLATE "C" NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    idx           BIGINT NOT NULL,
    rows          BIGINT NOT NULL,
    first_row     BIGINT NOT NULL,
    status        TEXT NOT NULL,
    delivered_at  BIGINT
);
CREATE INDEX batches_event ON batches(event_id, idx);
CREATE TABLE payloads (
    batch_id  TEXT COLLATE "C" PRIMARY KEY REFERENCES batches(id) ON DELETE CASCADE,
    raw_len   BIGINT NOT NULL,
    data      BYTEA NOT NULL
);
-- Payloads are compressed already: stored out of line as they are, not compressed again.
ALTER TABLE payloads ALTER COLUMN data SET STORAGE EXTERNAL;
CREATE TABLE attempts (
    id               BIGSERIAL PRIMARY KEY,
    batch_id         TEXT COLLATE "C" NOT NULL REFERENCES batches(id) ON DELETE CASCADE,
    started_at       BIGINT NOT NULL,
    duration_ms      BIGINT NOT NULL,
    url              TEXT NOT NULL,
    http_status      BIGINT NOT NULL,
    error            TEXT,
    response         TEXT,
    request_headers  TEXT NOT NULL
);
CREATE INDEX attempts_batch ON attempts(batch_id, id);
CREATE TABLE secrets (
    url         TEXT PRIMARY KEY,
    secret      TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE TABLE sync_state (
    sync      TEXT NOT NULL,
    key_hash  BYTEA NOT NULL,
    row_hash  BYTEA NOT NULL,
    key_json  TEXT NOT NULL,
    PRIMARY KEY (sync, key_hash)
);
CREATE TABLE sync_pending (
    run_id    TEXT COLLATE "C" NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    sync      TEXT NOT NULL,
    key_hash  BYTEA NOT NULL,
    row_hash  BYTEA NOT NULL,
    key_json  TEXT NOT NULL
);
CREATE INDEX sync_pending_run ON sync_pending(run_id);
"#,
    // 2: SQLite's 5.
    r#"
ALTER TABLE runs ADD COLUMN note TEXT;
"#,
    // 3: SQLite's 6.
    r#"
CREATE TABLE outages (
    url          TEXT PRIMARY KEY,
    down_since   BIGINT NOT NULL,
    checked_at   BIGINT NOT NULL,
    last_tried   BIGINT NOT NULL,
    last_error   TEXT NOT NULL
);
"#,
    // 4: SQLite's 7.
    r#"
ALTER TABLE attempts ADD COLUMN rejected TEXT;
ALTER TABLE batches ADD COLUMN rejected BIGINT NOT NULL DEFAULT 0;
"#,
    // 5: SQLite's 8.
    r#"
ALTER TABLE attempts ADD COLUMN in_flight BIGINT;
ALTER TABLE attempts ADD COLUMN in_flight_limit BIGINT;
"#,
];

/// Advisory lock key held while PostgreSQL's schema is migrated ("pulse-mi").
const MIGRATION_LOCK: i64 = 0x7075_6c73_652d_6d69;

/// Brings a PostgreSQL log's schema up to date, one transaction per step, under an advisory
/// lock so that runners starting together migrate it once.
pub fn migrate_postgres(db: &Db) -> Result<()> {
    let known = POSTGRES_MIGRATIONS.len() as i64;
    let current = |db: &Db| -> Result<i64> {
        db.execute(
            "CREATE TABLE IF NOT EXISTS pulse_schema (version BIGINT NOT NULL)",
            &[],
        )?;
        Ok(db
            .query_opt("SELECT max(version) FROM pulse_schema", &[], |r| {
                r.get::<Option<i64>>(0)
            })?
            .flatten()
            .unwrap_or(0))
    };
    // Most opens find the schema current: one query, no lock.
    let exists: bool = db.query_value("SELECT to_regclass('pulse_schema') IS NOT NULL", &[])?;
    if exists {
        let version: i64 =
            db.query_value("SELECT coalesce(max(version), 0) FROM pulse_schema", &[])?;
        if version == known {
            return Ok(());
        }
    }
    for version in 0..known {
        db.transaction("migrating the log", |db| {
            db.query_value::<String>("SELECT pg_advisory_xact_lock(?1)::text", &[&MIGRATION_LOCK])?;
            let now = current(db)?;
            if now > known {
                bail!(
                    "the log was written by a newer pulse (schema version {now}, this one \
                     knows {known})"
                );
            }
            if now > version {
                return Ok(());
            }
            if let Db::Postgres(conn) = db {
                conn.batch(POSTGRES_MIGRATIONS[version as usize])?;
            }
            db.execute("DELETE FROM pulse_schema", &[])?;
            db.execute(
                "INSERT INTO pulse_schema (version) VALUES (?1)",
                &[&(version + 1)],
            )?;
            Ok(())
        })?;
    }
    Ok(())
}

/// Checks, without changing anything, that a SQLite log's schema is the one this pulse writes.
pub fn check_current(conn: &Connection) -> Result<()> {
    let current: usize = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if current != MIGRATIONS.len() {
        bail!(
            "its schema is version {current}, this pulse's is {}",
            MIGRATIONS.len()
        );
    }
    Ok(())
}

/// Brings the schema up to date inside one transaction per step.
pub fn migrate(conn: &mut Connection) -> Result<()> {
    let current: usize = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if current > MIGRATIONS.len() {
        bail!(
            "the log was written by a newer pulse (schema version {current}, this one knows {})",
            MIGRATIONS.len()
        );
    }
    for (version, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        // Re-check under the write lock: another process may have migrated meanwhile.
        let now: usize = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if now > version {
            continue;
        }
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", version + 1)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrating_twice_is_a_no_op() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        migrate(&mut conn).unwrap();
        let v: usize = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(v, MIGRATIONS.len());
    }

    #[test]
    fn newer_schema_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        assert!(migrate(&mut conn).is_err());
    }
}
