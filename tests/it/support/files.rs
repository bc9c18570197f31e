//! A file server on 127.0.0.1 for remote inputs (`pulse push http://...`): one CSV at
//! `/export.csv` with an `ETag`, HEAD answered, `/moved*` redirecting, anything else 404; every
//! request recorded (method, path, headers). Written on plain `std::net` so that a body can stall
//! half-sent (a push killed while it stages a download).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One request as the file server saw it.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub method: String,
    pub path: String,
    /// Header names lowercased.
    pub headers: HashMap<String, String>,
}

struct State {
    body: Vec<u8>,
    etag: Option<String>,
    /// Where `/moved` redirects to.
    redirect: String,
    /// Bytes sent before the body stalls, while `stalled` is set.
    stall_after: Option<usize>,
    /// HEAD answered with this status instead (a server that allows GET only).
    refuse_head: Option<u16>,
    requests: Vec<Fetched>,
}

pub struct FileServer {
    pub port: u16,
    state: Arc<Mutex<State>>,
    stalled: Arc<AtomicBool>,
}

impl FileServer {
    pub fn start(body: impl Into<Vec<u8>>, etag: Option<&str>) -> FileServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State {
            body: body.into(),
            etag: etag.map(str::to_string),
            redirect: format!("http://127.0.0.1:{port}/export.csv"),
            stall_after: None,
            refuse_head: None,
            requests: Vec::new(),
        }));
        let stalled = Arc::new(AtomicBool::new(false));
        let (shared, stall) = (state.clone(), stalled.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (state, stalled) = (shared.clone(), stall.clone());
                std::thread::spawn(move || serve(stream, &state, &stalled));
            }
        });
        FileServer {
            port,
            state,
            stalled,
        }
    }

    /// The URL of `path` (e.g. `/export.csv`).
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Replaces the file (and its `ETag`).
    pub fn replace(&self, body: impl Into<Vec<u8>>, etag: Option<&str>) {
        let mut state = self.state.lock().unwrap();
        state.body = body.into();
        state.etag = etag.map(str::to_string);
    }

    /// Where `/moved` redirects to.
    pub fn redirect_to(&self, location: &str) {
        self.state.lock().unwrap().redirect = location.to_string();
    }

    /// Sends `bytes` of a body, then holds the rest until `release`.
    pub fn stall_after(&self, bytes: usize) {
        self.state.lock().unwrap().stall_after = Some(bytes);
        self.stalled.store(true, Ordering::SeqCst);
    }

    /// Answers HEAD with `status` from now on.
    pub fn refuse_head(&self, status: u16) {
        self.state.lock().unwrap().refuse_head = Some(status);
    }

    pub fn release(&self) {
        self.stalled.store(false, Ordering::SeqCst);
    }

    pub fn requests(&self) -> Vec<Fetched> {
        self.state.lock().unwrap().requests.clone()
    }

    /// The methods of the requests so far, in order.
    pub fn methods(&self) -> Vec<String> {
        self.requests().into_iter().map(|r| r.method).collect()
    }
}

fn serve(stream: TcpStream, state: &Mutex<State>, stalled: &AtomicBool) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut stream = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (method, path) = (
            parts.next().unwrap_or_default().to_string(),
            parts.next().unwrap_or_default().to_string(),
        );
        let mut headers = HashMap::new();
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
            }
        }
        let (body, etag, redirect, stall_after, refuse_head) = {
            let mut state = state.lock().unwrap();
            state.requests.push(Fetched {
                method: method.clone(),
                path: path.clone(),
                headers,
            });
            let s = &*state;
            (
                s.body.clone(),
                s.etag.clone(),
                s.redirect.clone(),
                s.stall_after,
                s.refuse_head.filter(|_| method == "HEAD"),
            )
        };
        let head = match path.as_str() {
            _ if refuse_head.is_some() => format!(
                "HTTP/1.1 {} Refused\r\nContent-Length: 0\r\n\r\n",
                refuse_head.unwrap_or_default()
            ),
            "/export.csv" => {
                let etag = etag.map(|e| format!("ETag: {e}\r\n")).unwrap_or_default();
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n{etag}Last-Modified: Tue, 01 Dec 2026 10:00:00 GMT\r\n\r\n",
                    body.len()
                )
            }
            moved if moved.starts_with("/moved") => {
                format!("HTTP/1.1 302 Found\r\nLocation: {redirect}\r\nContent-Length: 0\r\n\r\n")
            }
            _ => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_string(),
        };
        if stream.write_all(head.as_bytes()).is_err() {
            return;
        }
        if method == "HEAD" || !head.starts_with("HTTP/1.1 200") {
            continue;
        }
        let split = stall_after.unwrap_or(body.len()).min(body.len());
        if stream.write_all(&body[..split]).is_err() {
            return;
        }
        let since = Instant::now();
        while stalled.load(Ordering::SeqCst)
            && split < body.len()
            && since.elapsed() < Duration::from_secs(60)
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        if stream.write_all(&body[split..]).is_err() {
            return;
        }
    }
}
