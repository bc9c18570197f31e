//! A headless Chromium for the tests of `pulse ui`, driven over WebDriver through ChromeDriver.
//!
//! Hand-written rather than fantoccini: WebDriver is about ten REST endpoints, and fantoccini is
//! async and would bring a second HTTP stack and the `webdriver` crate for the tests alone.
//! `bash tests/browser/install.sh` installs Chromium and ChromeDriver from Debian's packages.
//! Chromium reaches 127.0.0.1 and localhost only: its resolver rules fail every other host name
//! and address (IP literals too) before any connection, so it never leaves the machine.
//! Call it from a plain `#[test]` thread: reqwest's blocking client panics inside a tokio runtime.

#![allow(dead_code)] // A toolkit: each test uses some of it.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::prelude::{Engine, BASE64_STANDARD};
use reqwest::blocking::Client;
use serde_json::{json, Value};

/// The key of an element reference in W3C WebDriver.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Chromium's arguments, besides its profile dir.
const ARGS: &str = "--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage
    --window-size=1280,900 --no-first-run --no-default-browser-check
    --disable-background-networking --disable-component-update --disable-sync";
/// Every host name and address fails to resolve but these two (loopback only).
const RULES: &str = "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost";

/// A WebDriver answer's `value`, or its error.
type Answer<T = Value> = Result<T, String>;

/// A headless Chromium driven through ChromeDriver on a loopback port; both killed on drop.
pub struct Browser {
    http: Client,
    /// `http://127.0.0.1:PORT/session/ID`; empty until the session exists.
    session: String,
    /// ChromeDriver, leader of its own process group (Chromium's too).
    driver: Child,
    /// Chromium's profile and ChromeDriver's log.
    dir: PathBuf,
}

impl Browser {
    /// None when chromedriver/chromium are not installed, unless PULSE_REQUIRE_BROWSER is set
    /// (non-empty), in which case it panics. `PULSE_CHROMEDRIVER` and `PULSE_CHROMIUM` name the
    /// binaries; otherwise /usr/bin, then PATH.
    pub fn start() -> Option<Browser> {
        let (Some(driver), Some(chromium)) = (program("chromedriver"), program("chromium")) else {
            let hint = "no chromedriver or chromium: `bash tests/browser/install.sh` installs them";
            if std::env::var_os("PULSE_REQUIRE_BROWSER").is_some_and(|v| !v.is_empty()) {
                panic!("PULSE_REQUIRE_BROWSER is set but there is {hint}");
            }
            eprintln!("skipping the browser test: {hint}");
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port on 127.0.0.1")
            .port();
        let dir = std::env::temp_dir().join(format!("pulse-browser-{}-{port}", std::process::id()));
        std::fs::create_dir_all(dir.join("profile")).expect("make the browser's temp dir");
        let log = std::fs::File::create(dir.join("chromedriver.log")).expect("chromedriver log");
        let child = Command::new(&driver)
            .args([&format!("--port={port}"), "--allowed-ips=127.0.0.1"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("chromedriver log"))
            .stderr(log)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", driver.display()));
        let http = Client::builder().timeout(Duration::from_secs(30));
        let http = http.no_proxy().build().expect("HTTP client");
        let session = String::new();
        // Cleans up on drop from here on, a panic in `start` included.
        let mut browser = Browser {
            http,
            session,
            driver: child,
            dir,
        };
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(10);
        while request(&browser.http, &format!("{base}/status"), &Value::Null)
            .map_or(true, |status| status["ready"] != true)
        {
            let exit = browser.driver.try_wait().ok().flatten();
            if exit.is_some() || Instant::now() > deadline {
                panic!("chromedriver not ready ({exit:?})\n{}", browser.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let profile = format!("--user-data-dir={}", browser.dir.join("profile").display());
        let args: Vec<&str> = ARGS.split_whitespace().chain([&*profile, RULES]).collect();
        let options = json!({"binary": chromium, "args": args});
        let capabilities = json!({"browserName": "chrome", "goog:chromeOptions": options});
        let new = json!({"capabilities": {"alwaysMatch": capabilities}});
        let session = request(&browser.http, &format!("{base}/session"), &new)
            .unwrap_or_else(|e| panic!("new WebDriver session: {e}\n{}", browser.log()));
        let id = session["sessionId"].as_str().expect("a sessionId");
        browser.session = format!("{base}/session/{id}");
        browser.post("/timeouts", json!({"pageLoad": 20_000, "script": 10_000}));
        Some(browser)
    }

    /// Loads `url` and waits for its load event; panics if it fails (as any host but 127.0.0.1
    /// and localhost does). `try_goto` answers the error instead.
    pub fn goto(&self, url: &str) {
        self.post("/url", json!({ "url": url }));
    }

    pub fn try_goto(&self, url: &str) -> Answer<()> {
        self.call("/url", json!({ "url": url })).map(drop)
    }

    pub fn url(&self) -> String {
        self.string("/url")
    }

    pub fn title(&self) -> String {
        self.string("/title")
    }

    /// The page's HTML as the browser has it now (scripts' changes included).
    pub fn source(&self) -> String {
        self.string("/source")
    }

    /// The visible text of the first element matching `css`; panics if none does.
    pub fn text(&self, css: &str) -> String {
        self.on_first(css, "text of", |id| self.element_text(id))
    }

    /// The visible text of every element matching `css`, in document order.
    pub fn texts(&self, css: &str) -> Vec<String> {
        let texts = |ids: &[String]| ids.iter().map(|id| self.element_text(id)).collect();
        self.on_elements(css, "texts of", texts)
    }

    /// How many elements match `css` (0 is fine).
    pub fn count(&self, css: &str) -> usize {
        self.elements(css).len()
    }

    pub fn click(&self, css: &str) {
        self.on_first(css, "click", |id| self.element(id, "click", json!({})));
    }

    /// Clears the input matching `css`, then types `value` into it.
    pub fn set_value(&self, css: &str, value: &str) {
        self.on_first(css, "set the value of", |id| {
            self.element(id, "clear", json!({}))?;
            self.element(id, "value", json!({ "text": value }))
        });
    }

    /// Runs `script` as a function body (so `return x;` gives the value) and answers its value.
    pub fn execute(&self, script: &str) -> Value {
        self.post("/execute/sync", json!({ "script": script, "args": [] }))
    }

    /// Writes a PNG of the viewport to `path`.
    /// The window's size in CSS pixels (a taller one for a screenshot of a whole page).
    pub fn resize(&self, width: u32, height: u32) {
        self.post("/window/rect", json!({"width": width, "height": height}));
    }

    pub fn screenshot(&self, path: &Path) {
        let png = self.string("/screenshot");
        let png = BASE64_STANDARD.decode(png).expect("a base64 PNG");
        std::fs::write(path, png).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }

    /// Polls (every 100 ms, up to `secs`) until `check(self)` is true; panics with `what` on
    /// timeout. A check that may run before its element exists should use `count` first.
    pub fn wait_until(&self, secs: u64, what: &str, check: impl Fn(&Browser) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while !check(self) {
            if Instant::now() > deadline {
                panic!("waited {secs} s for {what} on {}", self.url());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The HTTP status of the current document's response (Navigation Timing), None when the
    /// browser does not know it (an error page, a `file:` URL).
    pub fn status_of_last_navigation(&self) -> Option<u16> {
        let script = "return performance.getEntriesByType('navigation')[0]?.responseStatus;";
        let status = self.execute(script).as_u64().filter(|&s| s != 0)?;
        u16::try_from(status).ok()
    }

    fn elements(&self, css: &str) -> Vec<String> {
        let query = json!({ "using": "css selector", "value": css });
        let found = self.post("/elements", query);
        let found = found.as_array().expect("elements answer an array");
        let id = |e: &Value| e[ELEMENT].as_str().expect("an element").to_owned();
        found.iter().map(id).collect()
    }

    fn element_text(&self, id: &str) -> Answer<String> {
        let text = self.element(id, "text", Value::Null)?;
        Ok(text.as_str().unwrap_or_default().to_owned())
    }

    fn element(&self, id: &str, command: &str, body: Value) -> Answer {
        self.call(&format!("/element/{id}/{command}"), body)
    }

    fn on_first<T>(&self, css: &str, what: &str, act: impl Fn(&str) -> Answer<T>) -> T {
        self.on_elements(css, what, |ids| act(ids.first().ok_or("none matches")?))
    }

    /// Looks `css` up and runs `act` on the matches, again (for up to 5 s) when the page replaced
    /// them in between; panics naming `what` and the selector on any other error.
    fn on_elements<T>(&self, css: &str, what: &str, act: impl Fn(&[String]) -> Answer<T>) -> T {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match act(&self.elements(css)) {
                Ok(done) => return done,
                Err(e) if e.starts_with("stale element") && Instant::now() < deadline => {}
                Err(e) => panic!("{what} {css:?} on {}: {e}", self.url()),
            }
        }
    }

    fn string(&self, path: &str) -> String {
        let value = self.call(path, Value::Null);
        let value = value.unwrap_or_else(|e| panic!("WebDriver GET {path}: {e}"));
        value.as_str().expect("a string").to_owned()
    }

    fn post(&self, path: &str, body: Value) -> Value {
        let answer = self.call(path, body.clone());
        answer.unwrap_or_else(|e| panic!("WebDriver POST {path} {body}: {e}"))
    }

    /// GET `path` of the session when `body` is null, else POST `body` to it.
    fn call(&self, path: &str, body: Value) -> Answer {
        request(&self.http, &format!("{}{path}", self.session), &body)
    }

    fn log(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("chromedriver.log")).unwrap_or_default();
        format!("chromedriver's log:\n{log}")
    }
}

impl Drop for Browser {
    /// Ends the session, then ChromeDriver's process group (Chromium too), then the temp dir.
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self.http.delete(&self.session).send();
        }
        let group = format!("-{}", self.driver.id());
        let kill = |signal: &str| Command::new("kill").args([signal, "--", &group]).output();
        let _ = kill("-TERM");
        let _ = self.driver.wait();
        // Chromium has quit with the session: this ends only what a failed quit left.
        let _ = kill("-KILL");
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `$PULSE_<NAME>` when set, else `/usr/bin/<name>`, else `<name>` on PATH.
fn program(name: &str) -> Option<PathBuf> {
    let env = format!("PULSE_{}", name.to_uppercase());
    if let Some(path) = std::env::var_os(env).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path)).filter(|p| p.is_file());
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::iter::once(PathBuf::from("/usr/bin"))
        .chain(std::env::split_paths(&path))
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// GET `url` (`body` null) or POST `body` to it: the answer's `value`, or `error: message`.
fn request(http: &Client, url: &str, body: &Value) -> Answer {
    let request = match body {
        Value::Null => http.get(url),
        body => http.post(url).body(serde_json::to_vec(body).expect("JSON")),
    };
    let response = request.send().map_err(|e| e.to_string())?;
    let status = response.status();
    let bytes = response.bytes().map_err(|e| e.to_string())?;
    let text = || String::from_utf8_lossy(&bytes).into_owned();
    let answer: Value =
        serde_json::from_slice(&bytes).map_err(|e| format!("{status}: {e}: {}", text()))?;
    let value = answer.get("value").cloned().unwrap_or(Value::Null);
    if status.is_success() {
        return Ok(value);
    }
    let message = value["message"].as_str().unwrap_or_default();
    let message = message.lines().next().unwrap_or_default();
    match value["error"].as_str() {
        Some(error) if message.starts_with(error) => Err(message.to_owned()),
        Some(error) => Err(format!("{error}: {message}")),
        None => Err(format!("{status}: {}", text())),
    }
}
