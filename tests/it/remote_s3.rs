//! `pulse push s3://bucket/key` against moto's S3 server on loopback (PyPI `moto[server]`):
//! a push, a repeat (unchanged by its `ETag`), a run stopped while staging restaged or
//! abandoned. Skipped when `moto_server` is missing, unless `PULSE_REQUIRE_MOTO` is set (CI).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::server::TestServer;
use crate::support::{numbered_csv, rows_of, stderr_of, Sandbox};

const AUTH: &str = "Authorization: AWS4-HMAC-SHA256 \
    Credential=testing/20261205/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00\r\n";

/// moto's S3 server on a free loopback port, stopped when dropped.
struct Moto {
    child: Child,
    port: u16,
    /// Its request log (werkzeug's, on stderr): one line per request.
    log: tempfile::NamedTempFile,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Moto {
    fn start() -> Option<Moto> {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = tempfile::NamedTempFile::new().unwrap();
        let spawned = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(log.reopen().unwrap())
            .spawn();
        let child = match spawned {
            Ok(child) => child,
            Err(err) => {
                assert!(
                    std::env::var_os("PULSE_REQUIRE_MOTO").is_none(),
                    "PULSE_REQUIRE_MOTO is set but moto_server cannot start: {err}"
                );
                eprintln!("skipped: moto_server not found (pip install 'moto[server]')");
                return None;
            }
        };
        let moto = Moto { child, port, log };
        let since = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                since.elapsed() < Duration::from_secs(60),
                "moto_server did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(moto)
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A `PUT` with a made-up signature (moto checks none, but takes an unsigned request as
    /// anonymous, which may create and not overwrite): a bucket, or an object with `body`.
    fn put(&self, path: &str, body: &[u8]) {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        let head = format!(
            "PUT {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: {}\r\n{AUTH}Connection: close\r\n\r\n",
            self.port,
            body.len()
        );
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(body).unwrap();
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        assert!(
            answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.0 200"),
            "{answer}"
        );
    }

    /// The requests moto logged for `path` so far, as `METHOD path`.
    fn requests_for(&self, path: &str) -> Vec<String> {
        let log = std::fs::read_to_string(self.log.path()).unwrap_or_default();
        log.lines()
            .filter_map(|line| line.split('"').nth(1))
            .filter_map(|request| {
                let mut parts = request.split_whitespace();
                let (method, target) = (parts.next()?, parts.next()?);
                (target.split('?').next() == Some(path)).then(|| format!("{method} {path}"))
            })
            .collect()
    }

    /// The AWS environment pointing at moto.
    fn env(&self) -> [(&'static str, String); 4] {
        [
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", "us-east-1".into()),
        ]
    }

    /// `pulse ARGS` with the AWS environment pointing at moto.
    fn pulse(&self, sandbox: &Sandbox, args: &[&str]) -> assert_cmd::Command {
        let mut cmd = sandbox.pulse();
        cmd.envs(self.env()).args(args);
        cmd
    }
}

#[test]
fn an_s3_object_is_pushed_repeated_unchanged_and_restaged() {
    let Some(moto) = Moto::start() else { return };
    moto.put("/exports", b"");
    moto.put("/exports/day/orders.csv", numbered_csv(5).as_bytes());
    let sandbox = Sandbox::new();
    let receiver = TestServer::ok();
    let input = "s3://exports/day/orders.csv";
    let push = [
        "push",
        input,
        "--url",
        &receiver.url(),
        "--no-sign",
        "--batch-size",
        "2",
    ];
    moto.pulse(&sandbox, &push).assert().success();
    assert_eq!(rows_of(&receiver.requests()).len(), 5);
    let options: String = sandbox.query("SELECT options FROM runs").unwrap();
    assert!(options.contains("source_etag"), "{options}");

    let object = "/exports/day/orders.csv";
    // moto logs a request once answered: wait for the push's GET before counting.
    crate::support::wait_for("moto's log", || {
        moto.requests_for(object).contains(&format!("GET {object}"))
    });
    let before = moto.requests_for(object);
    let out = moto.pulse(&sandbox, &push).assert().success();
    assert!(
        stderr_of(&out).contains(&format!("{input} is unchanged")),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(receiver.requests().len(), 3);
    crate::support::wait_for("moto's log", || {
        moto.requests_for(object).len() > before.len()
    });
    std::thread::sleep(Duration::from_millis(200));
    let after = moto.requests_for(object);
    assert_eq!(
        after[before.len()..],
        [format!("HEAD {object}")],
        "asked, not downloaded"
    );

    // A run stopped while staging: restaged from the unchanged object.
    sandbox.execute("DELETE FROM attempts");
    sandbox.as_if_killed_while_staging();
    moto.pulse(&sandbox, &["resume"]).assert().success();
    assert_eq!(
        rows_of(&receiver.requests()).len(),
        10,
        "restaged whole and sent"
    );

    // Stopped again, and the object changed meanwhile: abandoned, nothing sent.
    sandbox.execute("DELETE FROM attempts");
    sandbox.as_if_killed_while_staging();
    moto.put(
        "/exports/day/orders.csv",
        numbered_csv(5).replace("name 1", "nome 1").as_bytes(),
    );
    let out = moto.pulse(&sandbox, &["resume"]).assert().success();
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("is abandoned") && stderr.contains("content differs"),
        "{stderr}"
    );
    assert_eq!(receiver.requests().len(), 6);

    let out = moto
        .pulse(&sandbox, &["validate", "s3://exports/missing.csv"])
        .assert()
        .code(1);
    assert!(
        stderr_of(&out).contains("s3://exports/missing.csv: no such object"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn an_s3_push_killed_while_staging_is_abandoned_once_the_object_changed() {
    let Some(moto) = Moto::start() else { return };
    moto.put("/big", b"");
    let csv = numbered_csv(200_000);
    moto.put("/big/rows.csv", csv.as_bytes());
    let sandbox = Sandbox::new();
    let receiver = TestServer::ok();
    let push = [
        "push",
        "s3://big/rows.csv",
        "--url",
        &receiver.url(),
        "--no-sign",
        "--batch-size",
        "10",
    ];
    let env = moto.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut child = sandbox.spawn_with(&push, &env, Stdio::null());
    crate::support::wait_for("batches staged", || {
        sandbox
            .query::<i64>("SELECT count(*) FROM batches")
            .unwrap_or(0)
            >= 3
    });
    child.kill().unwrap();
    child.wait().unwrap();
    let status: String = sandbox.query("SELECT status FROM runs").unwrap();
    assert_eq!(status, "staging", "killed while staging");
    assert_eq!(receiver.requests().len(), 0);

    moto.put("/big/rows.csv", csv.replace("name 9", "nome 9").as_bytes());
    let out = moto.pulse(&sandbox, &["resume"]).assert().success();
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("s3://big/rows.csv changed since it was pushed"),
        "{stderr}"
    );
    assert!(stderr.contains("is abandoned"), "{stderr}");
    assert_eq!(receiver.requests().len(), 0, "never sent half");
}
