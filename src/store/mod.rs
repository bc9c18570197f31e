//! The delivery log: opening it safely (a SQLite file, or a shared PostgreSQL database), and
//! the queries grouped by what they own, written once for both through `db`.

mod attempts;
mod batches;
mod dashboard;
mod db;
mod file;
mod gauges;
mod history;
mod location;
mod migrations;
mod outages;
mod outbox;
mod runs;
mod secrets;
mod sync;
mod upkeep;
mod wal;

#[cfg(test)]
mod test_support;

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use rusqlite::Connection;

use db::Db;
pub use file::lock_dir;
pub use gauges::{DestinationGauges, LogGauges};
pub use location::Location;

pub use attempts::{AttemptRecord, RESPONSE_SNIPPET_BYTES};
pub use batches::BatchRef;
pub use dashboard::{Delivery, RunAttempt, RunFilter};
pub use db::{pg_message, postgres_client, PgConn};
pub use history::{AttemptRow, BatchRow, IdRef, RunRow, UndeliveredBatch};
pub use outages::Outage;
pub use outbox::OutboxWriter;
pub use runs::{EventRecord, NewRun, RowCounts, RunStatus};
pub use sync::{PendingKey, SyncStateCopy};
pub use wal::checkpoint::{Checkpointer, WalRestart};

/// How long a writer waits for another pulse process holding the database lock, unless
/// `PULSE_BUSY_TIMEOUT` says otherwise.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

fn busy_timeout() -> Result<Duration> {
    duration_from_env("PULSE_BUSY_TIMEOUT", BUSY_TIMEOUT)
}

/// The duration the environment variable `name` gives (`30s`, `500ms`, `2m`), else `default`;
/// a value that is not a duration is a usage error naming the variable.
fn duration_from_env(name: &str, default: Duration) -> Result<Duration> {
    match std::env::var(name) {
        Ok(text) => humantime::parse_duration(text.trim()).map_err(|err| {
            crate::exit::usage(format!(
                "{name}: {text:?} is not a duration like 30s or 500ms ({err})"
            ))
        }),
        Err(_) => Ok(default),
    }
}

/// Says what happened when `err` is SQLite's "database is locked": which operation, on which
/// file, and how long this process really waited for the lock (or that it did not wait).
pub fn explain_busy(err: anyhow::Error, db: &Location) -> anyhow::Error {
    match db {
        Location::File(path) => busy_message(err, path, wal::lock_wait::longest_wait_given_up()),
        Location::Postgres(_) => err,
    }
}

/// `explain_busy`, given how long the process waited before it gave up (none: it did not).
fn busy_message(err: anyhow::Error, db: &Path, waited: Option<Duration>) -> anyhow::Error {
    let causes: Vec<&(dyn std::error::Error + 'static)> = err.chain().collect();
    let Some(at) = causes.iter().position(|cause| is_sqlite_busy(*cause)) else {
        return err;
    };
    // The context right around SQLite's error names the operation.
    let operation = match at.checked_sub(1).map(|i| causes[i].to_string()) {
        Some(what) => format!("{what}: "),
        None => String::new(),
    };
    let file = db.display();
    match waited {
        Some(waited) => anyhow::anyhow!(
            "{operation}the log database {file} stayed locked by another process for {} \
             (PULSE_BUSY_TIMEOUT waits longer)",
            humantime::format_duration(Duration::from_millis(waited.as_millis() as u64))
        ),
        None => anyhow::anyhow!(
            "{operation}the log database {file} was busy: another process changed it at the \
             same moment and SQLite answered without waiting; run the command again"
        ),
    }
}

/// Whether an error came from the log rather than the input: the database's, or a full disk.
pub fn is_log_error(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause.is::<rusqlite::Error>()
            || cause.is::<postgres::Error>()
            || cause
                .downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::StorageFull)
    })
}

/// Says what to do when `err` is a full disk (SQLite's "database or disk is full", or the
/// system's "no space left"): which operation, which file, and how to get going again.
pub fn explain_full(err: anyhow::Error, db: &Location) -> anyhow::Error {
    let is_full = |cause: &(dyn std::error::Error + 'static)| {
        let sqlite = cause
            .downcast_ref::<rusqlite::Error>()
            .and_then(rusqlite::Error::sqlite_error_code)
            .is_some_and(|code| code == rusqlite::ErrorCode::DiskFull);
        let io = cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::StorageFull);
        sqlite || io
    };
    let causes: Vec<&(dyn std::error::Error + 'static)> = err.chain().collect();
    let Some(at) = causes.iter().position(|cause| is_full(*cause)) else {
        return err;
    };
    // The outermost context says what could not be done (a delivered batch not recorded, say).
    let operation = match at {
        0 => String::new(),
        _ => format!("{}: ", causes[0]),
    };
    anyhow::anyhow!(
        "{operation}the disk holding the log database {} is full: free space on it, then run \
         the command again (`pulse resume` continues a run; `pulse prune --older-than 30d \
         --vacuum` removes old runs once a few MB are free)",
        db
    )
}

/// An open log database.
pub struct Store {
    db: Db,
    /// Where it is; None for an in-memory log.
    location: Option<Location>,
}

impl Store {
    /// Opens (and migrates) the log at `location`, for a command that writes to it.
    pub fn open(location: &Location) -> Result<Store> {
        match location {
            Location::File(path) => Store::open_file(path),
            Location::Postgres(url) => Store::open_postgres(url),
        }
    }

    /// Like `open`, for a command that only reads the log (`pulse log`).
    pub fn open_to_read(location: &Location) -> Result<Store> {
        match location {
            Location::File(path) => Store::open_file_to_read(path),
            Location::Postgres(url) => Store::open_postgres(url),
        }
    }

    fn open_postgres(url: &str) -> Result<Store> {
        let conn = PgConn::connect(url)?;
        let db = Db::Postgres(conn);
        migrations::migrate_postgres(&db)
            .with_context(|| format!("the PostgreSQL log {}", location::mask_password(url)))?;
        Ok(Store {
            db,
            location: Some(Location::Postgres(url.to_string())),
        })
    }

    /// Opens (creating with mode 0600 and its parent directory if needed) and migrates a SQLite
    /// log, for a command that writes to it: a log this process may not write to is an error
    /// now, before any work, rather than at the first write.
    pub fn open_file(path: &Path) -> Result<Store> {
        let store = Store::open_file_to_read(path)?;
        let conn = store.db.sqlite().context("not a SQLite log")?;
        if conn.is_readonly(rusqlite::DatabaseName::Main)? {
            anyhow::bail!(
                "the log database {} is read-only: check its permissions, or choose another log with --db or PULSE_DB",
                path.display()
            );
        }
        Ok(store)
    }

    /// For a connection that reads each page once (a body loader streams payload blobs): a
    /// page cache of a few pages, instead of megabytes of pages it will not read again.
    pub fn stream_pages(&self) -> Result<()> {
        if let Some(conn) = self.db.sqlite() {
            conn.pragma_update(None, "cache_size", STREAMING_CACHE_KIB)?;
        }
        Ok(())
    }

    /// Where the log is, so that another thread can open its own connection to it; None for
    /// an in-memory log.
    pub fn location(&self) -> Option<&Location> {
        self.location.as_ref()
    }

    /// The database file of a SQLite log.
    pub fn path(&self) -> Option<&Path> {
        self.location.as_ref().and_then(Location::file)
    }

    /// The PostgreSQL connection of a PostgreSQL log (run locks are taken on it).
    pub fn postgres(&self) -> Option<&PgConn> {
        match &self.db {
            Db::Postgres(conn) => Some(conn),
            Db::Sqlite(_) => None,
        }
    }

    /// The SQLite connection, for the unit tests' own queries.
    #[cfg(test)]
    pub fn conn(&self) -> &Connection {
        self.db.sqlite().expect("a SQLite log")
    }

    /// A throwaway in-memory log, for unit tests.
    #[cfg(test)]
    pub fn open_in_memory() -> Result<Store> {
        Store::configure(Connection::open_in_memory()?)
    }

    fn configure(mut conn: Connection) -> Result<Store> {
        crate::memory::limit_sqlite_memory();
        // Every transaction takes the write lock when it begins. A deferred one that reads and
        // then writes fails with SQLITE_BUSY_SNAPSHOT, without waiting, when another process
        // committed in between; an immediate one waits for the lock like any writer.
        conn.set_transaction_behavior(rusqlite::TransactionBehavior::Immediate);
        wal::lock_wait::wait_for_locks(&conn, busy_timeout()?)?;
        // Large pages keep multi-megabyte payload blobs in few overflow pages; only effective on
        // a new file, before the first table exists.
        conn.pragma_update(None, "page_size", 65536)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // WAL + NORMAL is durable across process crashes (SIGKILL); only an OS crash may lose the
        // last commits, never corrupt the file.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // A WAL that grew past this is cut back to it when a checkpoint starts it over, so a
        // burst does not keep its disk space for the life of the log.
        conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)?;
        conn.pragma_update(None, "foreign_keys", true)?;
        migrations::migrate(&mut conn)?;
        Ok(Store {
            db: Db::Sqlite(conn),
            location: None,
        })
    }
}

/// Times a SQLite log's set-up is tried when SQLite answers busy without waiting.
const SETUP_TRIES: u32 = 50;

/// SQLite's busy answer, given without waiting for the lock (no busy wait was given up on).
fn busy_without_waiting(err: &anyhow::Error) -> bool {
    err.chain().any(is_sqlite_busy) && wal::lock_wait::longest_wait_given_up().is_none()
}

/// SQLite's "database is locked".
fn is_sqlite_busy(cause: &(dyn std::error::Error + 'static)) -> bool {
    cause
        .downcast_ref::<rusqlite::Error>()
        .and_then(rusqlite::Error::sqlite_error_code)
        .is_some_and(|code| code == rusqlite::ErrorCode::DatabaseBusy)
}

/// Bytes a WAL file keeps after a checkpoint starts it over (`journal_size_limit`).
const WAL_SIZE_LIMIT: i64 = 64 << 20;

/// Page cache of a streaming connection, in KiB (negative `cache_size`): eight 64 KiB pages.
const STREAMING_CACHE_KIB: i64 = -512;

/// Creates `dir` and its missing parents for the owner only (0700), whatever the umask.
pub fn create_private_dir(dir: &Path) -> Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))
}

/// Creates the database file readable by its owner only, before SQLite opens it; an existing
/// one (and its WAL and shared-memory files) readable by others is made private: the log holds
/// generated signing secrets. SQLite gives the files it creates the database file's mode.
fn create_private(path: &Path) -> Result<()> {
    if path.exists() {
        for suffix in ["", "-wal", "-shm"] {
            let mut file = path.as_os_str().to_owned();
            file.push(suffix);
            make_private(Path::new(&file));
        }
        return Ok(());
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        // Another pulse process created it first: fine.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot create {}", path.display())),
    }
}

/// Takes group and other permissions off an existing file pulse owns; a file it cannot change
/// (another user's, read-only media) is left as it is.
fn make_private(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path) {
            let mode = meta.permissions().mode();
            if mode & 0o077 != 0 {
                let _ =
                    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o700));
            }
        }
    }
}

/// Milliseconds since the Unix epoch, the time unit of every column in the log.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_says_what_could_not_be_done_which_file_and_what_to_do() {
        let full = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
            None,
        );
        let err = anyhow::Error::new(full)
            .context("recording a delivery attempt")
            .context(
                "batch 3/9 of event all (msg_1) was delivered (HTTP 200) but could not be recorded",
            );
        let text = explain_full(err, &Location::File("/data/pulse.db".into())).to_string();
        assert!(
            text.starts_with("batch 3/9 of event all (msg_1) was delivered (HTTP 200)")
                && text.contains("/data/pulse.db is full")
                && text.contains("pulse resume"),
            "{text}"
        );
        let no_space = std::io::Error::from(std::io::ErrorKind::StorageFull);
        let d = Location::File("/d.db".into());
        let text = explain_full(no_space.into(), &d).to_string();
        assert!(text.starts_with("the disk holding the log database /d.db is full"));
        let other = explain_full(anyhow::anyhow!("other"), &d);
        assert_eq!(other.to_string(), "other");
    }

    #[test]
    fn a_busy_error_says_what_waited_how_long_or_that_nothing_did() {
        let busy = || {
            let sqlite = rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
                None,
            );
            anyhow::Error::new(sqlite).context("recording a delivery attempt")
        };
        let db = Path::new("/tmp/log.db");
        let waited = busy_message(busy(), db, Some(Duration::from_millis(1250))).to_string();
        assert_eq!(
            waited,
            "recording a delivery attempt: the log database /tmp/log.db stayed locked by \
             another process for 1s 250ms (PULSE_BUSY_TIMEOUT waits longer)"
        );
        let at_once = busy_message(busy(), db, None).to_string();
        assert!(
            at_once.starts_with("recording a delivery attempt: the log database /tmp/log.db")
                && at_once.contains("without waiting")
                && !at_once.contains("locked by another process for"),
            "{at_once}"
        );
        let other = busy_message(anyhow::anyhow!("disk full"), db, None).to_string();
        assert_eq!(other, "disk full", "other errors pass through");
    }

    #[cfg(unix)]
    #[test]
    fn a_loose_log_file_is_made_private_and_new_directories_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("loose.db");
        drop(Store::open_file(&path).unwrap());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        drop(Store::open_file_to_read(&path).unwrap());
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let nested = dir.path().join("a/b");
        create_private_dir(&nested).unwrap();
        for made in [dir.path().join("a"), nested] {
            let mode = std::fs::metadata(&made).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700, "{}", made.display());
        }
    }

    #[test]
    fn file_is_private_and_in_wal_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/dir/pulse.db");
        let store = Store::open_file(&path).unwrap();
        let mode: String = store
            .conn()
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let perms = std::fs::metadata(&path).unwrap().permissions();
            assert_eq!(perms.mode() & 0o777, 0o600);
        }
    }
}
