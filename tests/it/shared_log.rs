//! One log for many runners: machines (separate HOMEs) sharing a log, and what only a
//! PostgreSQL log meets: credentials from the environment or `~/.pgpass`, a password that is
//! never shown, a connection lost mid-run, and a run locked across machines.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::server::TestServer;
use crate::support::{numbered_csv, on_postgres, stderr_of, wait_for, Sandbox};

const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

/// `pulse resume` with the run's signing secret, which must succeed.
fn resume_signed(sandbox: &Sandbox) {
    sandbox
        .pulse()
        .env("PULSE_SECRET", SECRET)
        .arg("resume")
        .assert()
        .success();
}

/// `pulse push FILE --url URL --batch-size 1` and `more` (signing, `--db`) as a plain process.
fn spawn_push(
    sandbox: &Sandbox,
    file: &std::path::Path,
    url: &str,
    more: &[&str],
    env: &[(&str, &str)],
) -> std::process::Child {
    let mut args = vec![
        "push",
        file.to_str().unwrap(),
        "--url",
        url,
        "--batch-size",
        "1",
    ];
    args.extend_from_slice(more);
    sandbox.spawn_with(&args, env, std::process::Stdio::null())
}

/// Each batch index arrived under one webhook-id only, and every index arrived.
fn assert_each_batch_under_one_id(server: &TestServer, batches: u64) {
    let mut ids: std::collections::HashMap<u64, String> = Default::default();
    for request in server.requests() {
        let index = request.json()["index"].as_u64().unwrap();
        let id = request.header("webhook-id").unwrap().to_string();
        let first = ids.entry(index).or_insert_with(|| id.clone());
        assert_eq!(*first, id, "batch {index} went under two webhook-ids");
    }
    assert_eq!(ids.len() as u64, batches, "every batch arrived");
}

#[test]
fn a_push_killed_on_one_machine_is_resumed_on_another_under_its_first_ids() {
    let first = Sandbox::new();
    let second = first.beside();
    let (server, slow) = TestServer::slow(Duration::from_millis(200));
    let input = first.write("d.csv", numbered_csv(10));
    let mut child = spawn_push(&first, &input, &server.url(), &["--secret", SECRET], &[]);
    wait_for("three requests", || server.requests().len() >= 3);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(first.delivered_count() < 10);

    // The other machine sees the run, stopped, and finishes it.
    let listed = second.stdout_of(&["log"]);
    assert!(listed.contains("delivering (stopped)"), "{listed}");
    slow.store(false, Ordering::SeqCst);
    resume_signed(&second);
    assert_eq!(first.delivered_count(), 10);
    assert_each_batch_under_one_id(&server, 10);
    first.assert_every_delivered_batch_has_its_2xx();
    let status: String = first.query("SELECT status FROM runs").unwrap();
    assert_eq!(status, "delivered");
}

#[test]
fn a_run_being_sent_on_one_machine_is_not_sent_by_another() {
    let first = Sandbox::new();
    let second = first.beside();
    let (server, slow) = TestServer::slow(Duration::from_millis(150));
    let input = first.write("d.csv", numbered_csv(6));
    let child = spawn_push(&first, &input, &server.url(), &["--no-sign"], &[]);
    wait_for("a request", || !server.requests().is_empty());
    let run = first.last_run();
    let out = second.pulse().args(["resend", &run]).assert().failure();
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("is being sent by another pulse process"),
        "{stderr}"
    );
    // `resume` passes it over rather than sending it twice.
    let out = second.pulse().arg("resume").assert().success();
    let stderr = stderr_of(&out);
    assert!(stderr.contains(&run), "{stderr}");
    let listed = second.stdout_of(&["log"]);
    assert!(!listed.contains("(stopped)"), "{listed}");
    slow.store(false, Ordering::SeqCst);
    let (code, _, stderr) = crate::support::finish(child);
    assert_eq!(code, Some(0), "{stderr}");
    assert_each_batch_under_one_id(&server, 6);
    assert_eq!(server.requests().len(), 6, "each batch sent once");
}

/// The test database's URL without its password, and the password.
fn without_password(url: &str) -> (String, String) {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (userinfo, host) = rest.split_once('@').unwrap();
    let (user, password) = userinfo.split_once(':').unwrap();
    (format!("{scheme}://{user}@{host}"), password.to_string())
}

#[test]
fn the_database_password_comes_from_pgpassword_or_pgpass_and_is_never_shown() {
    if !on_postgres() {
        return;
    }
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let full = sandbox.postgres_url().unwrap().to_string();
    let (bare, password) = without_password(&full);

    // The password in the URL: it shows nowhere, whatever the command prints.
    let input = sandbox.write("d.csv", numbered_csv(3));
    let out = sandbox
        .pulse()
        .args(["push", input.to_str().unwrap(), "--url", &server.url()])
        .assert()
        .success();
    let mut printed = stderr_of(&out);
    for args in [
        &["log"][..],
        &["log", "--json"],
        &["secret", "show", &server.url()],
    ] {
        let out = sandbox.pulse().args(args).assert().success();
        printed.push_str(&String::from_utf8_lossy(&out.get_output().stdout));
        printed.push_str(&stderr_of(&out));
    }
    assert!(!printed.contains(&password), "{printed}");
    assert!(!sandbox.postgres_text().contains(&password));

    // PGPASSWORD, when the URL has none.
    let listed = sandbox
        .pulse()
        .env("PULSE_DB", &bare)
        .env("PGPASSWORD", &password)
        .arg("log")
        .assert()
        .success();
    assert!(String::from_utf8_lossy(&listed.get_output().stdout).contains("delivered"));

    // ~/.pgpass, only when no one else can read it.
    let host_port = bare.split_once('@').unwrap().1.split_once('/').unwrap().0;
    let (host, port) = host_port.rsplit_once(':').unwrap();
    let database = bare.rsplit_once('/').unwrap().1;
    let pgpass = sandbox.write(
        ".pgpass",
        format!("# for the tests\n{host}:{port}:{database}:postgres:{password}\n"),
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();
    sandbox
        .pulse()
        .env("PULSE_DB", &bare)
        .arg("log")
        .assert()
        .success();
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o644)).unwrap();
    sandbox
        .pulse()
        .env("PULSE_DB", &bare)
        .arg("log")
        .assert()
        .failure();

    // A wrong password: a one-line error naming the log, its password masked.
    let wrong = full.replace(&password, "not-the-password-9f3");
    let out = sandbox
        .pulse()
        .env("PULSE_DB", &wrong)
        .arg("log")
        .assert()
        .code(1);
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("cannot connect to the PostgreSQL log postgres://postgres:***@"),
        "{stderr}"
    );
    assert!(!stderr.contains("not-the-password-9f3"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
}

/// A TCP proxy in front of the database that can cut every connection through it, as a
/// database restart or a network failure would.
struct Proxy {
    port: u16,
    open: Arc<Mutex<Vec<TcpStream>>>,
    target: Arc<Mutex<String>>,
    accepted: Arc<std::sync::atomic::AtomicUsize>,
}

impl Proxy {
    /// A proxy to the sandbox's database server.
    fn to(sandbox: &Sandbox) -> Proxy {
        Proxy::to_address(&Proxy::server_of(sandbox))
    }

    /// The sandbox's database server, as HOST:PORT.
    fn server_of(sandbox: &Sandbox) -> String {
        let url = sandbox.postgres_url().unwrap();
        let host_port = url.split_once('@').unwrap().1.split_once('/').unwrap().0;
        host_port.to_string()
    }

    fn to_address(target: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let open: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let tracked = open.clone();
        let target = Arc::new(Mutex::new(target.to_string()));
        let current = target.clone();
        let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = accepted.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                counted.fetch_add(1, Ordering::SeqCst);
                let to = current.lock().unwrap().clone();
                let Ok(server) = TcpStream::connect(&to) else {
                    continue; // dropping `client` refuses it
                };
                let mut streams = tracked.lock().unwrap();
                streams.push(client.try_clone().unwrap());
                streams.push(server.try_clone().unwrap());
                drop(streams);
                let (client_in, server_out) =
                    (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || pipe(client_in, server_out));
                std::thread::spawn(move || pipe(server, client));
            }
        });
        Proxy {
            port,
            open,
            target,
            accepted,
        }
    }

    /// Connections made through the proxy so far.
    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Sends new connections to `target` from now on.
    fn retarget(&self, target: &str) {
        *self.target.lock().unwrap() = target.to_string();
    }

    /// The sandbox's database URL, through this proxy.
    fn url(&self, sandbox: &Sandbox) -> String {
        let url = sandbox.postgres_url().unwrap();
        let (before_host, rest) = url.split_once('@').unwrap();
        let database = rest.split_once('/').unwrap().1;
        format!("{before_host}@127.0.0.1:{}/{database}", self.port)
    }

    /// Cuts every connection open now, and fails every later one (its target is a closed
    /// port) until retargeted.
    fn cut_off(&self) {
        let closed = TcpListener::bind("127.0.0.1:0").unwrap();
        let dead = closed.local_addr().unwrap().to_string();
        drop(closed);
        self.retarget(&dead);
        self.cut();
    }

    /// Cuts every connection open now; new ones go through.
    fn cut(&self) {
        for stream in self.open.lock().unwrap().drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

/// `pulse push` of `rows` rows in batches of one to `server`, with the log through `proxy`.
fn push_through(
    sandbox: &Sandbox,
    proxy: &Proxy,
    server: &TestServer,
    rows: usize,
    env: &[(&str, &str)],
) -> std::process::Child {
    let input = sandbox.write("d.csv", numbered_csv(rows));
    let db = proxy.url(sandbox);
    spawn_push(
        sandbox,
        &input,
        &server.url(),
        &["--secret", SECRET, "--db", &db],
        env,
    )
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    let mut buffer = [0u8; 16 * 1024];
    while let Ok(n) = from.read(&mut buffer) {
        if n == 0 || to.write_all(&buffer[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Both);
}

#[test]
fn a_database_connection_lost_mid_run_is_made_again_and_nothing_is_lost() {
    if !on_postgres() {
        return;
    }
    let sandbox = Sandbox::new();
    let proxy = Proxy::to(&sandbox);
    let (server, slow) = TestServer::slow(Duration::from_millis(100));
    let child = push_through(&sandbox, &proxy, &server, 12, &[]);
    wait_for("four delivered", || sandbox.delivered_count() >= 4);
    let connections = proxy.accepted();
    proxy.cut();
    wait_for("two more requests", || server.requests().len() >= 7);
    assert!(proxy.accepted() > connections, "pulse connected again");
    proxy.cut();
    slow.store(false, Ordering::SeqCst);
    let (code, _, stderr) = crate::support::finish(child);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(sandbox.delivered_count(), 12);
    assert_each_batch_under_one_id(&server, 12);
    assert_eq!(server.requests().len(), 12, "no batch sent twice: {stderr}");
    sandbox.assert_every_delivered_batch_has_its_2xx();
}

#[test]
fn a_database_gone_for_longer_than_the_retries_stops_the_run_for_a_resume() {
    if !on_postgres() {
        return;
    }
    let sandbox = Sandbox::new();
    // A proxy that stops forwarding: connections made after it is gone are refused.
    let proxy = Proxy::to(&sandbox);
    let (server, slow) = TestServer::slow(Duration::from_millis(100));
    let child = push_through(
        &sandbox,
        &proxy,
        &server,
        8,
        &[("PULSE_DB_RETRY_FOR", "1s")],
    );
    wait_for("two delivered", || sandbox.delivered_count() >= 2);
    // Every later connection fails: the proxy's target is a closed port.
    proxy.cut_off();
    let (code, _, stderr) = crate::support::finish(child);
    assert_ne!(code, Some(0), "{stderr}");
    assert!(stderr.contains("stayed unreachable"), "{stderr}");
    let (_, password) = without_password(sandbox.postgres_url().unwrap());
    assert!(!stderr.contains(&password), "{stderr}");
    sandbox.assert_every_delivered_batch_has_its_2xx();
    slow.store(false, Ordering::SeqCst);
    resume_signed(&sandbox);
    assert_eq!(sandbox.delivered_count(), 8);
    assert_each_batch_under_one_id(&server, 8);
}

#[test]
fn runs_to_one_destination_from_two_machines_arrive_in_the_order_they_were_pushed() {
    let first = Sandbox::new();
    let second = first.beside();
    // Slow enough that Tuesday's push starts long before Monday's run is through.
    let (server, _slow) = TestServer::slow(Duration::from_millis(500));
    let monday = first.write("monday.csv", "id,day\n1,mon\n2,mon\n3,mon\n");
    let tuesday = second.write("tuesday.csv", "id,day\n4,tue\n5,tue\n");
    let push = |sandbox: &Sandbox, file: &std::path::Path| {
        spawn_push(sandbox, file, &server.url(), &["--no-sign"], &[])
    };
    let early = push(&first, &monday);
    wait_for("monday's first request", || !server.requests().is_empty());
    // Tuesday's push, on the other machine, waits for Monday's run to be delivered.
    let late = push(&second, &tuesday);
    let (code, _, stderr) = crate::support::finish(late);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("which another process is sending"),
        "{stderr}"
    );
    let (code, _, stderr) = crate::support::finish(early);
    assert_eq!(code, Some(0), "{stderr}");
    let days: Vec<String> = crate::support::rows_of(&server.requests())
        .iter()
        .map(|row| row["day"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(days, ["mon", "mon", "mon", "tue", "tue"]);
}

#[test]
fn sslmode_in_the_url_is_honoured() {
    if !on_postgres() {
        return;
    }
    let sandbox = Sandbox::new();
    let url = sandbox.postgres_url().unwrap();
    // The test server has no TLS: `require` refuses to go on without it, `disable` never asks.
    let out = sandbox
        .pulse()
        .env("PULSE_DB", format!("{url}?sslmode=require"))
        .arg("log")
        .assert()
        .code(1);
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("cannot connect to the PostgreSQL log")
            && stderr.contains("sslmode=require"),
        "{stderr}"
    );
    sandbox
        .pulse()
        .env("PULSE_DB", format!("{url}?sslmode=disable"))
        .arg("log")
        .assert()
        .success();
}

#[test]
fn a_log_migrated_by_a_newer_pulse_is_refused_with_its_version() {
    if !on_postgres() {
        return;
    }
    let sandbox = Sandbox::new();
    sandbox.pulse().arg("log").assert().success(); // creates and migrates the schema
    sandbox.execute("UPDATE pulse_schema SET version = 99");
    let out = sandbox.pulse().arg("log").assert().code(1);
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("written by a newer pulse (schema version 99"),
        "{stderr}"
    );
}

#[test]
fn a_runner_cut_off_while_another_finishes_its_run_sends_nothing_again_when_back() {
    if !on_postgres() {
        return;
    }
    let sandbox = Sandbox::new();
    let proxy = Proxy::to(&sandbox);
    let (server, slow) = TestServer::slow(Duration::from_millis(200));
    // Runner A: patient enough to be back after runner B has finished.
    let child = push_through(
        &sandbox,
        &proxy,
        &server,
        12,
        &[("PULSE_DB_RETRY_FOR", "10m")],
    );
    wait_for("two delivered", || sandbox.delivered_count() >= 2);
    // A's connection is cut, and it cannot connect again for now.
    proxy.cut_off();
    slow.store(false, Ordering::SeqCst);

    // Runner B finishes the run, once the server has let go of A's run lock.
    wait_for("the run finished by runner B", || {
        resume_signed(&sandbox);
        sandbox.delivered_count() == 12
    });
    let status: String = sandbox.query("SELECT status FROM runs").unwrap();
    assert_eq!(status, "delivered");
    let sent = server.requests().len();

    // A is back: whatever it had in flight when cut off is recorded; nothing is sent again.
    proxy.retarget(&Proxy::server_of(&sandbox));
    let (code, _, stderr) = crate::support::finish(child);
    assert!(!stderr.contains("panicked"), "{stderr}");
    let again: Vec<String> = server.requests()[sent..]
        .iter()
        .map(|request| request.header("webhook-id").unwrap().to_string())
        .collect();
    assert!(
        again.is_empty(),
        "runner A sent delivered batches again: {again:?} (exit {code:?}: {stderr})"
    );
    assert_eq!(sandbox.delivered_count(), 12);
    sandbox.assert_every_delivered_batch_has_its_2xx();
}
