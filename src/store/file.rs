//! A SQLite log's file beside the database: the lock its set-up is made under, so that any
//! number of processes may create one log at once, and opening a log this process may only
//! read (a read-only file, directory or filesystem).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use rusqlite::{Connection, OpenFlags};

use super::Store;

/// `pulse.db` -> `pulse.db.locks/`: the directory of the log's locks (the run locks' files,
/// and the directory itself the set-up's lock).
pub fn lock_dir(db: &Path) -> PathBuf {
    let mut name = OsString::from(db.as_os_str());
    name.push(".locks");
    PathBuf::from(name)
}

/// The set-up lock of a SQLite log, held while it lives: an exclusive `flock` on its lock
/// directory. Creating a log, switching it to WAL and migrating it each take SQLite's locks,
/// but SQLite answers some collisions of two connections setting up one new file busy without
/// waiting (where a connection that holds a shared lock wants to write, waiting could
/// deadlock), and retrying after a pause did not always get through (issue 31: one push in
/// two or three failed on a new log). Under this lock one process sets a new log up while the
/// others wait, then find it set up.
pub struct SetUpLock {
    /// The lock lasts as long as the open directory.
    _held: Option<std::fs::File>,
}

impl SetUpLock {
    /// Waits for and takes the set-up lock of the log `db`, making its lock directory if need
    /// be. A flock, not SQLite's fcntl locks: closing it never drops those (POSIX drops every
    /// fcntl lock of a file that a process closes any descriptor of).
    pub fn take(db: &Path) -> Result<SetUpLock> {
        #[cfg(unix)]
        {
            let dir = lock_dir(db);
            super::create_private_dir(&dir)?;
            let held = std::fs::File::open(&dir)
                .and_then(|file| file.lock().map(|()| file))
                .with_context(|| format!("cannot lock {}", dir.display()))?;
            Ok(SetUpLock { _held: Some(held) })
        }
        #[cfg(not(unix))]
        {
            let _ = db;
            Ok(SetUpLock { _held: None })
        }
    }
}

/// Whether `err` says this process may not write where the log is (a read-only file,
/// directory or filesystem): SQLite's "unable to open database file" or "readonly", or the
/// system's "permission denied" or "read-only filesystem".
pub fn is_not_writable(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        let sqlite = cause
            .downcast_ref::<rusqlite::Error>()
            .and_then(rusqlite::Error::sqlite_error_code)
            .is_some_and(|code| {
                matches!(
                    code,
                    rusqlite::ErrorCode::CannotOpen
                        | rusqlite::ErrorCode::ReadOnly
                        | rusqlite::ErrorCode::PermissionDenied
                )
            });
        let io = cause.downcast_ref::<std::io::Error>().is_some_and(|io| {
            matches!(
                io.kind(),
                std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
            )
        });
        sqlite || io
    })
}

impl Store {
    /// Like `open_file`, for a command that only reads the log: a read-only file will do. A
    /// log where this process may not write (a read-only file, directory or filesystem) is
    /// opened read-only, as it is.
    pub fn open_file_to_read(path: &Path) -> Result<Store> {
        match Store::open_file_to_set_up(path, true) {
            Err(err) if path.is_file() && is_not_writable(&err) => Store::open_read_only(path)
                .map_err(|read_only| {
                    anyhow::anyhow!("{err:#}; read-only, it failed too: {read_only:#}")
                }),
            opened => opened,
        }
    }

    /// Opens a scratch log (a dry run's, a mirror's local copy): a new temporary file that no
    /// other process knows, so set up without the set-up lock and its directory, which nothing
    /// would remove.
    pub fn open_scratch(path: &Path) -> Result<Store> {
        Store::open_file_to_set_up(path, false)
    }

    /// Opens (creating it and its directory if need be), sets up and migrates a SQLite log,
    /// under its set-up lock (`SetUpLock`) when `shared`.
    fn open_file_to_set_up(path: &Path, shared: bool) -> Result<Store> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            super::create_private_dir(parent)?;
        }
        super::create_private(path)?;
        if let Some(store) = Store::open_if_set_up(path)? {
            return Ok(store);
        }
        let set_up = shared.then(|| SetUpLock::take(path)).transpose()?;
        let mut tries = 0;
        let mut store = loop {
            let conn = Connection::open(path)
                .with_context(|| format!("cannot open the log database {}", path.display()))?;
            match Store::configure(conn) {
                // Under the set-up lock no other pulse sets the log up at the same moment; a
                // process that does not take it (an older pulse) may, and SQLite may then
                // answer busy without waiting. A moment later the log is set up.
                Err(err) if tries < super::SETUP_TRIES && super::busy_without_waiting(&err) => {
                    tries += 1;
                    std::thread::sleep(Duration::from_millis(20));
                }
                other => {
                    break other.with_context(|| format!("log database {}", path.display()))?
                }
            }
        };
        drop(set_up);
        store.location = Some(super::Location::File(path.to_path_buf()));
        Ok(store)
    }

    /// The log at `path` if it is set up already (in WAL mode, with this pulse's schema), as
    /// `configure` makes it; None when it is not, or not surely (SQLite answered busy without
    /// waiting): it is then set up under the set-up lock. Most opens find their log set up, and
    /// take no lock for it.
    fn open_if_set_up(path: &Path) -> Result<Option<Store>> {
        let conn = Connection::open(path)
            .with_context(|| format!("cannot open the log database {}", path.display()))?;
        super::wal::lock_wait::wait_for_locks(&conn, super::busy_timeout()?)?;
        let in_wal = conn
            .pragma_query_value(None, "journal_mode", |r| r.get::<_, String>(0))
            .is_ok_and(|mode| mode.eq_ignore_ascii_case("wal"));
        if !in_wal || super::migrations::check_current(&conn).is_err() {
            return Ok(None);
        }
        match Store::configure(conn) {
            Err(err) if super::busy_without_waiting(&err) => Ok(None),
            Err(err) => Err(err.context(format!("log database {}", path.display()))),
            Ok(mut store) => {
                store.location = Some(super::Location::File(path.to_path_buf()));
                Ok(Some(store))
            }
        }
    }

    /// Opens a log this process can read but not write to, read-only, without setting anything
    /// up: with its WAL (`mode=ro`, SQLite reads it through the existing shared-memory file)
    /// when it has one, else as an `immutable` file, for which SQLite makes no file beside it.
    /// A log whose schema is older than this pulse's cannot be migrated, and is refused.
    pub fn open_read_only(path: &Path) -> Result<Store> {
        let mut wal = path.as_os_str().to_owned();
        wal.push("-wal");
        let has_wal = std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0);
        let uri = format!(
            "file:{}?{}",
            uri_path(path),
            if has_wal { "mode=ro" } else { "immutable=1" }
        );
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&uri, flags)
            .with_context(|| format!("cannot open the log database {} to read", path.display()))?;
        crate::memory::limit_sqlite_memory();
        super::wal::lock_wait::wait_for_locks(&conn, super::busy_timeout()?)?;
        super::migrations::check_current(&conn).with_context(|| {
            format!(
                "the log database {} is read-only, so this pulse cannot bring its schema up to date",
                path.display()
            )
        })?;
        Ok(Store {
            db: super::db::Db::Sqlite(conn),
            location: Some(super::Location::File(path.to_path_buf())),
        })
    }
}

/// `path` as the path of a SQLite URI: every byte but unreserved ones and `/` percent-encoded.
fn uri_path(path: &Path) -> String {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    #[cfg(unix)]
    let bytes = {
        use std::os::unix::ffi::OsStrExt;
        absolute.as_os_str().as_bytes().to_vec()
    };
    #[cfg(not(unix))]
    let bytes = absolute.to_string_lossy().replace('\\', "/").into_bytes();
    let mut text = String::with_capacity(bytes.len());
    for byte in bytes {
        if byte.is_ascii_alphanumeric() || b"/-_.~".contains(&byte) {
            text.push(byte as char);
        } else {
            text.push_str(&format!("%{byte:02X}"));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_is_percent_encoded_for_a_uri() {
        assert_eq!(
            uri_path(Path::new("/a b/c?d#e%.db")),
            "/a%20b/c%3Fd%23e%25.db"
        );
    }

    #[test]
    fn a_set_up_log_opens_read_only_with_or_without_its_wal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pulse.db");
        drop(Store::open_file(&path).unwrap());
        let store = Store::open_read_only(&path).unwrap();
        let conn = store.db.sqlite().unwrap();
        assert!(conn.is_readonly(rusqlite::DatabaseName::Main).unwrap());
        assert!(!Path::new(&format!("{}-wal", path.display())).exists());
        drop(store);
        // An old schema cannot be brought up to date read-only.
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        drop(conn);
        let err = Store::open_read_only(&path).err().unwrap();
        assert!(format!("{err:#}").contains("read-only"), "{err:#}");
    }
}
