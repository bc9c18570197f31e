//! A PostgreSQL log connection: connecting as libpq would (password from the environment or
//! `~/.pgpass`, TLS by `sslmode` with the system's roots), statements prepared once, session
//! advisory locks, and a lost connection retried with backoff.
//!
//! The `postgres` client drives its own small runtime, which cannot start on a thread already
//! running one (delivery's sender records attempts from inside its runtime): there each call
//! runs on a short-lived scoped thread instead.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use postgres::config::Host;
use postgres::error::SqlState;
use postgres::{Client, Config, Statement};

use super::pgpass;
use super::values::Param;
use crate::store::location::mask_password;

/// A connection to a PostgreSQL log, shared by the store and the run locks taken on it.
#[derive(Clone)]
pub struct PgConn {
    session: Arc<Mutex<Session>>,
}

struct Session {
    /// None after a connection was lost and before it is made again.
    client: Option<Client>,
    config: Config,
    /// The connection string, password masked, for messages.
    shown: String,
    /// Statements prepared on this connection, by their SQL as the store writes it.
    statements: HashMap<String, Statement>,
    in_transaction: bool,
    /// Advisory locks held, taken again after a reconnection.
    locks: Vec<i64>,
    /// Set once reconnecting gave up: what is left to record (the run's status) fails at once
    /// instead of waiting as long again.
    gave_up: bool,
}

/// Connections to a PostgreSQL log that this process made again after a loss, all of them
/// (the store's, and the body loaders' of their own).
static MADE_AGAIN: AtomicU64 = AtomicU64::new(0);

/// How long a lost connection is retried, unless `PULSE_DB_RETRY_FOR` says otherwise.
const RETRY_FOR: Duration = Duration::from_secs(120);

/// Longest pause between two reconnection attempts.
const MOST_PAUSE: Duration = Duration::from_secs(5);

impl PgConn {
    /// Connects to the database `url` names (a `postgres://` URL or `key=value` pairs).
    pub fn connect(url: &str) -> Result<PgConn> {
        let shown = mask_password(url);
        let config = config_of(url).with_context(|| format!("the PostgreSQL log {shown}"))?;
        let client = open(&config)
            .with_context(|| format!("cannot connect to the PostgreSQL log {shown}"))?;
        Ok(PgConn {
            session: Arc::new(Mutex::new(Session {
                client: Some(client),
                config,
                shown,
                statements: HashMap::new(),
                in_transaction: false,
                locks: Vec::new(),
                gave_up: false,
            })),
        })
    }

    /// Times this process made a connection to a PostgreSQL log again after a loss, on this
    /// connection or another (a body loader's may notice first): whatever was read before one
    /// may have been changed by another process meanwhile.
    pub fn made_again(&self) -> u64 {
        MADE_AGAIN.load(Ordering::SeqCst)
    }

    fn session(&self) -> MutexGuard<'_, Session> {
        self.session
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs a statement with `?N` placeholders; the rows it changed.
    pub fn execute(&self, sql: &str, params: &[&PgParam<'_>]) -> Result<usize> {
        self.retrying(|session| {
            let statement = session.prepared(sql)?;
            let client = session.client()?;
            Ok(off_runtime(|| client.execute(&statement, params))? as usize)
        })
    }

    pub fn query(&self, sql: &str, params: &[&PgParam<'_>]) -> Result<Vec<postgres::Row>> {
        self.retrying(|session| {
            let statement = session.prepared(sql)?;
            let client = session.client()?;
            Ok(off_runtime(|| client.query(&statement, params))?)
        })
    }

    /// Runs one statement; outside a transaction, a lost connection is made again and the
    /// statement retried (the store's single statements are safe to repeat).
    fn retrying<T>(&self, mut call: impl FnMut(&mut Session) -> Result<T>) -> Result<T> {
        let mut session = self.session();
        if session.in_transaction {
            return call(&mut session);
        }
        let started = Instant::now();
        loop {
            match call(&mut session) {
                Err(err) if is_connection_lost(&err) => session.reconnect(started, err)?,
                done => return done,
            }
        }
    }

    /// `body` inside BEGIN and COMMIT; all of it again on a new connection when the connection
    /// is lost before the commit is answered.
    pub fn transaction<T>(&self, mut body: impl FnMut() -> Result<T>) -> Result<T> {
        let started = Instant::now();
        loop {
            self.session().begin()?;
            let done = body();
            let mut session = self.session();
            session.in_transaction = false;
            let result = match done {
                Ok(value) => session.batch("COMMIT").map(|()| value),
                Err(err) => {
                    if !is_connection_lost(&err) {
                        let _ = session.batch("ROLLBACK");
                    }
                    Err(err)
                }
            };
            match result {
                Err(err) if is_connection_lost(&err) => session.reconnect(started, err)?,
                done => return done,
            }
        }
    }

    /// Runs statements that return nothing (a migration), in the transaction under way.
    pub fn batch(&self, sql: &str) -> Result<()> {
        self.session().batch(sql)
    }

    /// Takes the session advisory lock `key` unless another session holds it.
    pub fn try_lock(&self, key: i64) -> Result<bool> {
        let taken = self.query("SELECT pg_try_advisory_lock(?1)", &[&key])?;
        let taken: bool = taken.first().context("no answer")?.try_get(0)?;
        if taken {
            self.session().locks.push(key);
        }
        Ok(taken)
    }

    pub fn unlock(&self, key: i64) {
        let mut session = self.session();
        if let Some(at) = session.locks.iter().position(|held| *held == key) {
            session.locks.swap_remove(at);
        }
        drop(session);
        let _ = self.query("SELECT pg_advisory_unlock(?1)", &[&key]);
    }

    /// Whether another session holds the advisory lock `key`.
    pub fn is_locked_elsewhere(&self, key: i64) -> Result<bool> {
        let free = self.query(
            "SELECT pg_try_advisory_lock_shared(?1) AND pg_advisory_unlock_shared(?1)",
            &[&key],
        )?;
        let free: bool = free.first().context("no answer")?.try_get(0)?;
        Ok(!free)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.close();
    }
}

impl Session {
    /// Closes the connection; the client says goodbye to the server through its runtime.
    fn close(&mut self) {
        if let Some(client) = self.client.take() {
            off_runtime(move || drop(client));
        }
    }

    fn client(&mut self) -> Result<&mut Client> {
        match &mut self.client {
            Some(client) => Ok(client),
            // Only after a reconnection that gave up.
            None => Err(Disconnected.into()),
        }
    }

    fn prepared(&mut self, sql: &str) -> Result<Statement> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let text = placeholders(sql);
        let client = self.client()?;
        let statement = off_runtime(|| client.prepare(&text))?;
        self.statements.insert(sql.to_string(), statement.clone());
        Ok(statement)
    }

    fn batch(&mut self, sql: &str) -> Result<()> {
        let client = self.client()?;
        Ok(off_runtime(|| client.batch_execute(sql))?)
    }

    fn begin(&mut self) -> Result<()> {
        let started = Instant::now();
        loop {
            match self.batch("BEGIN") {
                Err(err) if is_connection_lost(&err) => self.reconnect(started, err)?,
                done => {
                    self.in_transaction = done.is_ok();
                    return done;
                }
            }
        }
    }

    /// Connects again, with growing pauses, until `RETRY_FOR` after `started`; then takes back
    /// the advisory locks this session held. `lost` is the error that lost the connection.
    fn reconnect(&mut self, started: Instant, lost: anyhow::Error) -> Result<()> {
        self.close();
        self.statements.clear();
        self.in_transaction = false;
        if self.gave_up {
            return Err(lost);
        }
        let patience = crate::store::duration_from_env("PULSE_DB_RETRY_FOR", RETRY_FOR)?;
        let mut pause = Duration::from_millis(100);
        let client = loop {
            if started.elapsed() >= patience {
                self.gave_up = true;
                return Err(lost.context(format!(
                    "the PostgreSQL log {} stayed unreachable for {} (PULSE_DB_RETRY_FOR \
                     waits longer; `pulse resume` continues from any machine)",
                    self.shown,
                    humantime::format_duration(Duration::from_secs(patience.as_secs()))
                )));
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(MOST_PAUSE);
            if let Ok(client) = off_runtime(|| open(&self.config)) {
                break client;
            }
        };
        self.client = Some(client);
        MADE_AGAIN.fetch_add(1, Ordering::SeqCst);
        for key in self.locks.clone() {
            let statement = "SELECT pg_try_advisory_lock($1)";
            let client = self.client()?;
            let taken = off_runtime(|| client.query_one(statement, &[&key]))?;
            if !taken.try_get::<_, bool>(0)? {
                self.locks.retain(|held| *held != key);
                bail!(
                    "the connection to the PostgreSQL log {} was lost, and another pulse process \
                     took a run this one was sending meanwhile",
                    self.shown
                );
            }
        }
        Ok(())
    }
}

/// The connection settings of `url`, completed as libpq completes them from the environment.
fn config_of(url: &str) -> Result<Config> {
    let mut config: Config = url
        .parse()
        .map_err(|err: postgres::Error| anyhow!("cannot read the connection string: {err}"))?;
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    if config.get_hosts().is_empty() {
        match env("PGHOST") {
            Some(host) => {
                config.host(&host);
            }
            None => {
                let socket = ["/var/run/postgresql", "/tmp"]
                    .into_iter()
                    .find(|dir| std::path::Path::new(dir).join(".s.PGSQL.5432").exists());
                match socket {
                    Some(dir) => config.host_path(dir),
                    None => config.host("localhost"),
                };
            }
        }
    }
    if config.get_ports().is_empty()
        && let Some(port) = env("PGPORT").and_then(|p| p.parse().ok())
    {
        config.port(port);
    }
    if config.get_user().is_none()
        && let Some(user) = env("PGUSER").or_else(|| env("USER"))
    {
        config.user(&user);
    }
    if config.get_dbname().is_none()
        && let Some(dbname) = env("PGDATABASE")
    {
        config.dbname(&dbname);
    }
    if config.get_password().is_none() {
        let host = match config.get_hosts().first() {
            Some(Host::Tcp(name)) => name.clone(),
            _ => "localhost".to_string(),
        };
        let user = config.get_user().unwrap_or_default().to_string();
        let wanted = pgpass::Wanted {
            host: &host,
            port: config.get_ports().first().copied().unwrap_or(5432),
            database: config.get_dbname().unwrap_or(&user),
            user: &user,
        };
        if let Some(password) = pgpass::password(&wanted) {
            config.password(password);
        }
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(10));
    }
    config.application_name("pulse");
    Ok(config)
}

/// A new connection: TLS as `sslmode` asks (prefer, by default), checked against the system's
/// roots as deliveries are.
/// A plain client to any PostgreSQL database `url` names (a query input's), connected as a log
/// is: libpq's environment and `~/.pgpass` for what the URL leaves out, TLS as `sslmode` says.
pub fn client_for(url: &str) -> Result<Client> {
    let shown = mask_password(url);
    let config = config_of(url).with_context(|| shown.clone())?;
    open(&config).map_err(|err| anyhow!("cannot connect to {shown}: {}", pg_message(&err)))
}

/// A driver error in one line: the server's own message when it sent one.
pub fn pg_message(err: &postgres::Error) -> String {
    match err.as_db_error() {
        Some(db) => format!("{}: {}", db.severity(), db.message()),
        None => match std::error::Error::source(err) {
            Some(source) => format!("{err}: {source}"),
            None => err.to_string(),
        },
    }
}

fn open(config: &Config) -> std::result::Result<Client, postgres::Error> {
    if config.get_ssl_mode() == postgres::config::SslMode::Disable {
        return config.connect(postgres::NoTls);
    }
    config.connect(tls())
}

fn tls() -> tokio_postgres_rustls::MakeRustlsConnect {
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    tokio_postgres_rustls::MakeRustlsConnect::new(config)
}

/// `?N` placeholders (the store's SQL, SQLite's) as PostgreSQL's `$N`.
fn placeholders(sql: &str) -> String {
    sql.replace('?', "$")
}

/// A parameter as the driver takes it.
pub type PgParam<'a> = dyn postgres::types::ToSql + Sync + 'a;

pub fn pg_params<'a>(params: &'a [&'a dyn Param]) -> Vec<&'a PgParam<'a>> {
    params.iter().map(|p| *p as &PgParam<'a>).collect()
}

/// Runs `call` where the client may block: here, or on a scoped thread when this thread runs
/// a tokio runtime.
fn off_runtime<T: Send>(call: impl FnOnce() -> T + Send) -> T {
    if tokio::runtime::Handle::try_current().is_err() {
        return call();
    }
    std::thread::scope(|scope| {
        scope
            .spawn(call)
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// The connection was lost and not made again.
#[derive(Debug, thiserror::Error)]
#[error("the connection to the PostgreSQL log is closed")]
struct Disconnected;

/// Whether `err` means the connection is gone (and a new one may succeed), rather than a
/// problem with the statement.
pub fn is_connection_lost(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        if cause.is::<Disconnected>() || cause.is::<std::io::Error>() {
            // The socket failed (an io error is the source of the driver's error).
            return true;
        }
        let Some(pg) = cause.downcast_ref::<postgres::Error>() else {
            return false;
        };
        pg.is_closed()
            || pg.code().is_some_and(|code| {
                code.code().starts_with("08")
                    || [
                        SqlState::ADMIN_SHUTDOWN,
                        SqlState::CRASH_SHUTDOWN,
                        SqlState::CANNOT_CONNECT_NOW,
                    ]
                    .contains(code)
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_as_postgres_numbers_them() {
        assert_eq!(
            placeholders("UPDATE runs SET status = ?2 WHERE id = ?1"),
            "UPDATE runs SET status = $2 WHERE id = $1"
        );
    }
}
