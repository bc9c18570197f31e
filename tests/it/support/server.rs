//! A real HTTP server on 127.0.0.1 (ephemeral port) that records every request and answers as
//! a closure says: the receiving side of the tests, sharing no code with pulse.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
    /// When its body had arrived.
    pub arrived: Instant,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("body is JSON")
    }
}

/// How to answer one request.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub delay: Duration,
    /// Answer only once this many requests have arrived in all (or after 20 s): holds
    /// requests in flight until the client has sent that many at once.
    pub hold_until: Option<usize>,
}

impl Reply {
    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: String::new(),
            delay: Duration::ZERO,
            hold_until: None,
        }
    }

    pub fn hold_until(mut self, requests: usize) -> Reply {
        self.hold_until = Some(requests);
        self
    }

    pub fn delay(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }

    pub fn body(mut self, body: &str) -> Reply {
        self.body = body.to_string();
        self
    }
}

/// `(n, in_flight, request)`: the n-th request (0-based), with this many unanswered, itself
/// included.
type Handler = dyn Fn(usize, usize, &Recorded) -> Reply + Send + Sync;

pub struct TestServer {
    pub port: u16,
    requests: Arc<Mutex<Vec<Recorded>>>,
    /// Requests received and not yet answered: now, and the most at any time.
    in_flight: Arc<(AtomicUsize, AtomicUsize)>,
}

impl TestServer {
    /// Answers 200 to everything.
    pub fn ok() -> TestServer {
        TestServer::start(|_, _| Reply::status(200))
    }

    /// Answers 200 after `delay` while the returned flag is set, at once after it is cleared:
    /// a test can stop pulse mid-delivery, then let it finish.
    pub fn slow(delay: Duration) -> (TestServer, Arc<std::sync::atomic::AtomicBool>) {
        let slow = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let flag = slow.clone();
        let server = TestServer::start(move |_, _| {
            let reply = Reply::status(200);
            if flag.load(Ordering::SeqCst) {
                reply.delay(delay)
            } else {
                reply
            }
        });
        (server, slow)
    }

    /// Answers 200 to everything and keeps no bodies (their headers only): for pushes too
    /// big to hold in the test's memory.
    pub fn sink() -> TestServer {
        TestServer::launch(Arc::new(|_, _, _| Reply::status(200)), false)
    }

    /// As `sink`, with `handler` deciding the replies.
    pub fn sink_with(
        handler: impl Fn(usize, &Recorded) -> Reply + Send + Sync + 'static,
    ) -> TestServer {
        TestServer::launch(Arc::new(move |n, _, r: &Recorded| handler(n, r)), false)
    }

    /// `handler(n, request)` decides the reply to the n-th request (0-based).
    pub fn start(
        handler: impl Fn(usize, &Recorded) -> Reply + Send + Sync + 'static,
    ) -> TestServer {
        TestServer::launch(Arc::new(move |n, _, r: &Recorded| handler(n, r)), true)
    }

    /// As `start`, the handler also told how many requests are unanswered (this one included):
    /// a receiver with a capacity.
    pub fn counting(
        handler: impl Fn(usize, usize, &Recorded) -> Reply + Send + Sync + 'static,
    ) -> TestServer {
        TestServer::launch(Arc::new(handler), true)
    }

    fn launch(handler: Arc<Handler>, keep_bodies: bool) -> TestServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let recorded = requests.clone();
        let in_flight = Arc::new((AtomicUsize::new(0), AtomicUsize::new(0)));
        let counting = in_flight.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        return;
                    };
                    let handler = handler.clone();
                    let recorded = recorded.clone();
                    let counting = counting.clone();
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(
                            move |req: hyper::Request<hyper::body::Incoming>| {
                                let handler = handler.clone();
                                let recorded = recorded.clone();
                                let counting = counting.clone();
                                async move {
                                    let now = counting.0.fetch_add(1, Ordering::SeqCst) + 1;
                                    counting.1.fetch_max(now, Ordering::SeqCst);
                                    let method = req.method().to_string();
                                    let path = req.uri().to_string();
                                    let headers = req
                                        .headers()
                                        .iter()
                                        .map(|(k, v)| {
                                            (
                                                k.as_str().to_string(),
                                                v.to_str().unwrap_or("").to_string(),
                                            )
                                        })
                                        .collect();
                                    let body = req.into_body().collect().await?.to_bytes().to_vec();
                                    let request = Recorded {
                                        method,
                                        path,
                                        headers,
                                        body,
                                        arrived: Instant::now(),
                                    };
                                    let n = {
                                        let mut all = recorded.lock().unwrap();
                                        all.push(if keep_bodies {
                                            request.clone()
                                        } else {
                                            Recorded {
                                                body: Vec::new(),
                                                ..request.clone()
                                            }
                                        });
                                        all.len() - 1
                                    };
                                    let reply = handler(n, now, &request);
                                    if !reply.delay.is_zero() {
                                        tokio::time::sleep(reply.delay).await;
                                    }
                                    if let Some(count) = reply.hold_until {
                                        let give_up = Instant::now() + Duration::from_secs(20);
                                        while recorded.lock().unwrap().len() < count
                                            && Instant::now() < give_up
                                        {
                                            tokio::time::sleep(Duration::from_millis(5)).await;
                                        }
                                    }
                                    counting.0.fetch_sub(1, Ordering::SeqCst);
                                    let mut response =
                                        hyper::Response::builder().status(reply.status);
                                    for (name, value) in &reply.headers {
                                        response = response.header(name, value);
                                    }
                                    Ok::<_, hyper::Error>(
                                        response.body(Full::new(Bytes::from(reply.body))).unwrap(),
                                    )
                                }
                            },
                        );
                        let io = hyper_util::rt::TokioIo::new(stream);
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(io, service)
                            .await;
                    });
                }
            });
        });
        TestServer {
            port,
            requests,
            in_flight,
        }
    }

    /// The most requests this server held unanswered at once.
    pub fn most_in_flight(&self) -> usize {
        self.in_flight.1.load(Ordering::SeqCst)
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }
}
