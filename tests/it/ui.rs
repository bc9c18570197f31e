//! `pulse ui`: the dashboard over a log with delivered, failed and running runs, driven in a
//! real headless Chromium (`support::browser`), and its access rules over plain HTTP.

use std::io::{BufRead, BufReader};
use std::process::Child;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::support::browser::Browser;
use crate::support::server::{Reply, TestServer};
use crate::support::{wait_for, Sandbox};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// Credentials planted in the log's runs, which no page may show.
const PLANTED_PASSWORD: &str = "planted-pass-456";
const PLANTED_BEARER: &str = "planted-bearer-789";

/// A running `pulse ui`, stopped on drop.
struct Dashboard {
    child: Child,
    base: String,
    token: String,
}

impl Dashboard {
    fn start(sandbox: &Sandbox, env: &[(&str, &str)], args: &[&str]) -> Dashboard {
        let mut all = vec!["ui", "--port", "0"];
        all.extend_from_slice(args);
        let mut child = sandbox.spawn_with(&all, env, std::process::Stdio::null());
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        stderr.read_line(&mut line).unwrap();
        // Keep reading stderr so the server never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
        let address = line
            .strip_prefix("pulse ui: open ")
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("pulse ui printed {line:?}"));
        let (base, token) = address.split_once("/?token=").unwrap();
        Dashboard {
            child,
            base: base.to_string(),
            token: token.to_string(),
        }
    }

    fn client(&self) -> reqwest::blocking::Client {
        reqwest::blocking::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .unwrap()
    }

    /// A page, with the cookie.
    fn page(&self, path: &str) -> String {
        let answer = self
            .client()
            .get(format!("{}{path}", self.base))
            .header("cookie", self.cookie())
            .send()
            .unwrap();
        assert_eq!(answer.status(), 200, "{path}");
        answer.text().unwrap()
    }

    /// The cookie the token is exchanged for, as a `Cookie` header's `name=value`.
    fn cookie(&self) -> String {
        let answer = self
            .client()
            .get(format!("{}/?token={}", self.base, self.token))
            .send()
            .unwrap();
        let set = answer.headers()["set-cookie"].to_str().unwrap();
        set.split(';').next().unwrap().to_string()
    }
}

impl Drop for Dashboard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Rows of the log's runs.
const PEOPLE: usize = 24;

/// A log with a delivered run (one invalid row), a failed run whose URL and header carry
/// planted credentials, and the receiver of the first.
fn log_with_runs(sandbox: &Sandbox) -> TestServer {
    // Answers that vary in time, and one 503 retried: a timeline worth a screenshot.
    let receiver = TestServer::start(|n, _| match n {
        6 => Reply::status(503),
        _ => Reply::status(200).delay(Duration::from_millis((n as u64 * 37) % 60)),
    });
    let mut people = String::from("id,email\n1,a@x.org\n2,not-an-email\n");
    for id in 3..=PEOPLE {
        people.push_str(&format!("{id},p{id}@x.org\n"));
    }
    sandbox.write("people.csv", people);
    sandbox.write(
        "schema.json",
        r#"{"fields":[{"name":"id","type":"integer"},{"name":"email","type":"string","format":"email"}]}"#,
    );
    let people = sandbox.path("people.csv");
    let schema = sandbox.path("schema.json");
    sandbox
        .pulse()
        .env("PULSE_SECRET", SECRET)
        .args(["push", people.to_str().unwrap(), "--url", &receiver.url()])
        .args([
            "--schema",
            schema.to_str().unwrap(),
            "--batch-size",
            "1",
            "-q",
            "--retry-schedule",
            "100ms",
        ])
        .assert()
        .success();
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    sandbox
        .pulse()
        .env("PULSE_SECRET", SECRET)
        .args(["push", people.to_str().unwrap(), "-q", "--retries", "1"])
        .args(["--retry-schedule", "10ms", "--batch-size", "2"])
        .arg("--url")
        .arg(format!(
            "http://user:{PLANTED_PASSWORD}@127.0.0.1:{closed}/hook"
        ))
        .arg("--header")
        .arg(format!("Authorization: Bearer {PLANTED_BEARER}"))
        .assert()
        .code(4);
    receiver
}

fn assert_no_credential(page: &str, what: &str) {
    for planted in [PLANTED_PASSWORD, PLANTED_BEARER, SECRET] {
        assert!(!page.contains(planted), "{what} shows {planted}");
    }
}

#[test]
fn the_dashboard_in_a_browser_lists_runs_shows_attempts_and_resends() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let sandbox = Sandbox::new();
    let receiver = log_with_runs(&sandbox);
    let ui = Dashboard::start(&sandbox, &[("PULSE_SECRET", SECRET)], &[]);
    let shots = std::env::var_os("PULSE_UI_SCREENSHOTS").map(std::path::PathBuf::from);
    // `PULSE_UI_SCREENSHOTS=DIR`: the README's screenshots, of the page's first `height` pixels.
    let shot = |name: &str, height: u32| {
        if let Some(dir) = &shots {
            browser.resize(1280, height);
            browser.screenshot(&dir.join(name));
            browser.resize(1280, 900);
        }
    };

    // The address with the token: the cookie is set and the token leaves the address bar.
    browser.goto(&format!("{}/?token={}", ui.base, ui.token));
    assert_eq!(browser.url(), format!("{}/", ui.base));
    assert_eq!(browser.count("tr.run"), 2);
    let statuses = browser.texts("tr.run .status");
    assert_eq!(statuses, ["failed", "delivered"]);
    assert_no_credential(&browser.source(), "the runs page");
    assert!(browser.source().contains("user:***@127.0.0.1"));

    // A run being delivered appears, and its page follows it without a reload.
    // 20 batches of 300 ms: time to open its page before it ends (sped up once seen moving).
    let (slow, slowing) = TestServer::slow(Duration::from_millis(300));
    sandbox.write("more.csv", crate::support::numbered_csv(20));
    let more = sandbox.path("more.csv");
    let mut running = sandbox.spawn_with(
        &[
            "push",
            more.to_str().unwrap(),
            "--url",
            &slow.url(),
            "--batch-size",
            "1",
        ],
        &[("PULSE_SECRET", SECRET)],
        std::process::Stdio::null(),
    );
    browser.wait_until(20, "the running run listed", |b| b.count("tr.run") == 3);
    shot("runs.png", 420);
    browser.click("tr.run a");
    browser.wait_until(10, "the running run's page", |b| b.count("dl.summary") == 1);
    browser.execute("window.notReloaded = true; return null;");
    let delivered_now = || browser.text("#batches-delivered");
    let first = delivered_now();
    browser.wait_until(20, "the batch count moving", |_| delivered_now() != first);
    slowing.store(false, Ordering::SeqCst);
    browser.wait_until(30, "the run delivered", |b| {
        b.text("dl.summary .status") == "delivered"
    });
    assert_eq!(browser.execute("return window.notReloaded === true;"), true);
    assert!(running.wait().unwrap().success());

    // The delivered run with an invalid row: its attempts, the chart, the invalid row.
    browser.goto(&format!("{}/", ui.base));
    let runs = browser.texts("tr.run td:first-child");
    let delivered = runs.last().unwrap().clone();
    browser.goto(&format!("{}/runs/{delivered}", ui.base));
    assert!(browser.count("li.attempt") >= 3, "{}", browser.source());
    assert!(browser.count("figure.timeline svg circle") >= 3);
    assert_eq!(browser.count("table.invalid tr td.error"), 1);
    assert!(browser.text("table.invalid").contains("not-an-email"));
    shot("run.png", 1500);

    // Resend its first batch: the receiver gets it again under the same webhook-id.
    let before = receiver.requests();
    browser.click("tr.batch button.resend-batch");
    // (The page reloads itself while the action runs: read it whole, never half-loaded.)
    browser.wait_until(30, "the resend done", |b| b.source().contains(">done<"));
    assert!(
        browser.text("pre.output").contains("pulse: resent"),
        "{}",
        browser.text("pre.output")
    );
    let after = receiver.requests();
    assert_eq!(after.len(), before.len() + 1);
    let again = after.last().unwrap().header("webhook-id").unwrap();
    assert_eq!(again, before[0].header("webhook-id").unwrap());

    // A page of another origin posting to the dashboard is refused; nothing is sent.
    let attacker = TestServer::start({
        let target = format!("{}/resend/{delivered}", ui.base);
        move |_, _| {
            let mut reply = Reply::status(200).body(&format!(
                "<html><body><form method=post action=\"{target}\"><input name=failed \
                 value=1></form><script>document.forms[0].submit()</script></body></html>"
            ));
            reply
                .headers
                .push(("content-type".into(), "text/html".into()));
            reply
        }
    });
    browser.goto(&attacker.url());
    browser.wait_until(10, "the cross-site post answered", |b| {
        b.source().contains("403: refused")
    });
    assert!(
        browser.source().contains("cross-site"),
        "{}",
        browser.source()
    );
    assert_eq!(receiver.requests().len(), after.len());

    // The destinations: the failed one down, its password masked.
    browser.goto(&format!("{}/outages", ui.base));
    assert_eq!(browser.count("tr.destination"), 3);
    assert_eq!(browser.count("tr.destination.down"), 1);
    assert_no_credential(&browser.source(), "the destinations page");
    shot("outages.png", 420);

    // The failed run's page: no planted credential anywhere, its header named, not shown.
    browser.goto(&format!("{}/", ui.base));
    let failed = browser.texts("tr.run td:first-child")[1].clone();
    browser.goto(&format!("{}/runs/{failed}", ui.base));
    assert!(browser.text("dl.summary").contains("failed"));
    assert_no_credential(&browser.source(), "the failed run's page");

    // Credentials planted in the log itself, as an older or damaged log might hold them: the
    // pages mask them too.
    sandbox.execute(&format!(
        "UPDATE runs SET url = 'http://u:{PLANTED_PASSWORD}@127.0.0.1:9/x',
             source = 'https://files.example/a.csv?token={PLANTED_BEARER}',
             options = '{{\"remote\":\"https://u:{PLANTED_PASSWORD}@files.example/\"}}'
         WHERE id = '{failed}'"
    ));
    for page in ["/", &format!("/runs/{failed}"), "/outages"] {
        browser.goto(&format!("{}{page}", ui.base));
        assert_no_credential(&browser.source(), page);
    }
    assert!(browser.source().contains("u:***@127.0.0.1:9/x"));
}

#[test]
fn the_dashboard_needs_its_token_and_refuses_cross_site_posts() {
    let sandbox = Sandbox::new();
    let _receiver = log_with_runs(&sandbox);
    let ui = Dashboard::start(&sandbox, &[], &[]);
    let http = ui.client();
    let run = sandbox.last_run();
    let get = |path: &str, cookie: Option<&str>| {
        let mut request = http.get(format!("{}{path}", ui.base));
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        request.send().unwrap()
    };
    assert_eq!(get("/", None).status(), 401);
    assert_eq!(get(&format!("/runs/{run}"), None).status(), 401);
    assert_eq!(get("/assets/style.css", None).status(), 401);
    assert_eq!(get("/?token=wrong", None).status(), 401);
    let first = get(&format!("/?token={}&status=failed", ui.token), None);
    assert_eq!(first.status(), 303);
    assert_eq!(first.headers()["location"], "/?status=failed");
    // No redirect to another site from the exchange (`//host` is protocol-relative).
    let twisted = get(&format!("//evil.example/?token={}", ui.token), None);
    assert_eq!(twisted.headers()["location"], "/evil.example/");
    let set = first.headers()["set-cookie"].to_str().unwrap();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax"),
        "{set}"
    );
    let cookie = ui.cookie();
    let page = get("/?status=failed", Some(&cookie));
    assert_eq!(page.status(), 200);
    let page = page.text().unwrap();
    assert_eq!(page.matches("<tr class=\"run\">").count(), 1);
    assert_no_credential(&page, "the runs page");
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .map(|rest| rest.split('"').next().unwrap().to_string());
    let run_page = get(&format!("/runs/{run}"), Some(&cookie)).text().unwrap();
    assert_no_credential(&run_page, "the run's page");
    let csrf = csrf.unwrap_or_else(|| {
        let rest = run_page.split("name=\"csrf\" value=\"").nth(1).unwrap();
        rest.split('"').next().unwrap().to_string()
    });

    // Actions: without the cookie 401, without the CSRF field or from another origin 403.
    let post = |path: &str, cookie: Option<&str>, origin: Option<&str>, csrf: Option<&str>| {
        let mut request = http.post(format!("{}{path}", ui.base));
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        let form: Vec<(&str, &str)> = csrf.into_iter().map(|c| ("csrf", c)).collect();
        request.form(&form).send().unwrap()
    };
    let cancel = format!("/runs/{run}/cancel");
    assert_eq!(post(&cancel, None, None, Some(&csrf)).status(), 401);
    let wrong = format!("{}=0123", cookie.split('=').next().unwrap());
    assert_eq!(post(&cancel, Some(&wrong), None, Some(&csrf)).status(), 401);
    assert_eq!(get("/", Some(&wrong)).status(), 401);
    assert_eq!(
        get("/", Some(&format!("pulse_ui={}", ui.token))).status(),
        401
    );
    for action in ["resume", "cancel", "export"].map(|a| format!("/runs/{run}/{a}")) {
        let answer = post(&action, Some(&cookie), None, None);
        assert_eq!(answer.status(), 403, "{action}");
        assert!(answer.text().unwrap().contains("CSRF"), "{action}");
    }
    assert_eq!(
        post(&format!("/resend/{run}"), Some(&cookie), None, None).status(),
        403
    );
    assert_eq!(post(&cancel, Some(&cookie), None, None).status(), 403);
    assert_eq!(post(&cancel, Some(&cookie), None, Some("0")).status(), 403);
    let evil = Some("http://127.0.0.1:1");
    let answer = post(&cancel, Some(&cookie), evil, Some(&csrf));
    assert_eq!(answer.status(), 403);
    assert!(answer.text().unwrap().contains("cross-site"));
    assert_eq!(
        sandbox
            .query::<String>(&format!("SELECT status FROM runs WHERE id = '{run}'"))
            .unwrap(),
        "failed"
    );

    // A resend without the URL password in pulse ui's environment: the page says which.
    let answer = post(
        &format!("/resend/{run}"),
        Some(&cookie),
        Some(&ui.base),
        Some(&csrf),
    );
    assert_eq!(answer.status(), 303);
    let job = answer.headers()["location"].to_str().unwrap().to_string();
    let page = wait_for_job(&get, &job, &cookie);
    assert!(page.contains("PULSE_URL_PASSWORD"), "{page}");
    assert!(page.contains("exit 2"), "{page}");

    // Export the undelivered rows: a CSV download, as `pulse export --failed` writes it.
    let form = [("csrf", csrf.as_str()), ("which", "failed")];
    let answer = http
        .post(format!("{}/runs/{run}/export", ui.base))
        .header("cookie", &cookie)
        .form(&form)
        .send()
        .unwrap();
    let job = answer.headers()["location"].to_str().unwrap().to_string();
    let page = wait_for_job(&get, &job, &cookie);
    assert!(page.contains("exit 0"), "{page}");
    let file = get(&format!("{job}/file"), Some(&cookie));
    assert!(file.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    let csv = file.text().unwrap();
    assert!(
        csv.starts_with("id,email") && csv.contains("2,not-an-email"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), PEOPLE + 1, "{csv}");

    // Cancel, from the page: the run is cancelled as `pulse cancel` does it.
    let answer = post(&cancel, Some(&cookie), Some(&ui.base), Some(&csrf));
    let page = wait_for_job(
        &get,
        answer.headers()["location"].to_str().unwrap(),
        &cookie,
    );
    assert!(page.contains("exit 0"), "{page}");
    assert_eq!(
        sandbox
            .query::<String>(&format!("SELECT status FROM runs WHERE id = '{run}'"))
            .unwrap(),
        "cancelled"
    );
}

fn wait_for_job(
    get: &dyn Fn(&str, Option<&str>) -> reqwest::blocking::Response,
    job: &str,
    cookie: &str,
) -> String {
    let mut page = String::new();
    wait_for("the action to end", || {
        page = get(job, Some(cookie)).text().unwrap();
        !page.contains("Running since")
    });
    page
}

#[test]
fn beyond_loopback_the_dashboard_needs_a_token_of_ones_own() {
    let sandbox = Sandbox::new();
    let out = sandbox
        .pulse()
        .args(["ui", "--bind", "0.0.0.0", "--port", "0"])
        .assert()
        .code(2);
    let stderr = crate::support::stderr_of(&out);
    assert!(stderr.contains("--token or PULSE_UI_TOKEN"), "{stderr}");
    let out = sandbox
        .pulse()
        .args(["ui", "--token", "short"])
        .assert()
        .code(2);
    assert!(crate::support::stderr_of(&out).contains("at least 16"));
    // A token of one's own is never printed.
    let token = "a-token-of-my-own-1234";
    let ui = Dashboard::start(&sandbox, &[("PULSE_UI_TOKEN", token)], &[]);
    assert!(!ui.token.contains(token), "{}", ui.token);
    let page = ui
        .client()
        .get(format!("{}/?token={token}", ui.base))
        .send()
        .unwrap();
    assert_eq!(page.status(), 303);
}

/// A log of 10,000 runs: the first page, a late page and a filtered page each answer at once
/// (their times are printed, not asserted: machines are shared; bench/README.md has figures).
#[test]
fn ten_thousand_runs_page_by_page() {
    let sandbox = Sandbox::new();
    let _receiver = log_with_runs(&sandbox);
    sandbox.execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000)
         INSERT INTO runs (id, started_at, finished_at, source, url, options, status,
             rows_total, rows_valid)
         SELECT 'run_' || (100000 + i), 1700000000000 + i * 1000, 1700000000500 + i * 1000,
             'file.csv', CASE WHEN i % 10 = 0 THEN 'http://b.example/' ELSE 'http://a.example/' END,
             '{}', CASE WHEN i % 100 = 0 THEN 'failed' ELSE 'delivered' END, 10, 10
         FROM n",
    );
    let ui = Dashboard::start(&sandbox, &[], &[]);
    let http = ui.client();
    let timed = |path: &str| {
        let started = Instant::now();
        let page = http
            .get(format!("{}{path}", ui.base))
            .header("cookie", ui.cookie())
            .send()
            .unwrap();
        let took = started.elapsed();
        assert_eq!(page.status(), 200, "{path}");
        eprintln!("GET {path}: {took:?}");
        page.text().unwrap()
    };
    let first = timed("/");
    assert!(first.contains("10,002 runs"), "{first}");
    assert!(first.contains("page 1 of 201"));
    assert_eq!(first.matches("<tr class=\"run\">").count(), 50);
    assert!(first.contains("run_110000"));
    let late = timed("/?page=201");
    assert!(late.contains("run_100001") && !late.contains("run_110000"));
    let filtered = timed("/?status=failed&destination=http%3A%2F%2Fb.example%2F");
    assert!(filtered.contains("100 runs"), "{filtered}");
}

#[test]
fn resume_and_cancel_from_the_dashboard_do_what_the_commands_do() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let sandbox = Sandbox::new();
    sandbox.write("rows.csv", crate::support::numbered_csv(12));
    let rows = sandbox.path("rows.csv");
    // A receiver down at the first request, up after; and one that is slow after it.
    let flaky = TestServer::start(|n, _| Reply::status(if n == 0 { 503 } else { 200 }));
    let slow = TestServer::start(|n, _| match n {
        0 => Reply::status(503),
        _ => Reply::status(200).delay(Duration::from_millis(400)),
    });
    for receiver in [&flaky, &slow] {
        sandbox
            .pulse()
            .args(["push", rows.to_str().unwrap(), "--url", &receiver.url()])
            .args(["--batch-size", "1", "--retries", "0", "-q"])
            .assert()
            .code(4);
    }
    let ui = Dashboard::start(&sandbox, &[], &[]);
    browser.goto(&format!("{}/?token={}", ui.base, ui.token));
    let runs = browser.texts("tr.run td:first-child");
    let (to_slow, to_flaky) = (runs[0].clone(), runs[1].clone());

    // Resume: the run is delivered, as `pulse resume RUN` delivers it.
    browser.goto(&format!("{}/runs/{to_flaky}", ui.base));
    browser.click("button.resume");
    browser.wait_until(30, "the resume done", |b| b.source().contains(">done<"));
    assert!(browser.text("pre.output").contains("delivered"));
    browser.click("p a[href^='/runs/']");
    browser.wait_until(10, "the run delivered", |b| {
        b.text("dl.summary .status") == "delivered"
    });
    assert_eq!(flaky.requests().len(), 13);

    // Cancel while this window resumes a run: the resume stops, then the run is cancelled.
    browser.goto(&format!("{}/runs/{to_slow}", ui.base));
    browser.click("button.resume");
    browser.wait_until(10, "the resume started", |_| slow.requests().len() >= 2);
    browser.goto(&format!("{}/runs/{to_slow}", ui.base));
    browser.click("button.cancel");
    browser.wait_until(30, "the cancel done", |b| b.source().contains(">done<"));
    let status =
        sandbox.query::<String>(&format!("SELECT status FROM runs WHERE id = '{to_slow}'"));
    assert_eq!(status.as_deref(), Some("cancelled"));
    assert!(slow.requests().len() < 13, "the resume was not stopped");
}

/// A run's page lists its invalid rows and the rows its receiver refused, with their errors,
/// and exports the refused ones as `pulse export --rejected --with-errors` writes them.
#[test]
fn a_runs_page_shows_its_invalid_and_refused_rows() {
    let sandbox = Sandbox::new();
    let receiver = TestServer::start(|_, _| {
        Reply::status(200).body(r#"{"failed":[{"position":2,"error":"email-taken-here"}]}"#)
    });
    sandbox.write(
        "people.csv",
        "id,email\n1,a@x.org\n2,b@x.org\nthree,c@x.org\n",
    );
    sandbox.write(
        "schema.json",
        r#"{"fields":[{"name":"id","type":"integer"},{"name":"email"}]}"#,
    );
    let (people, schema) = (sandbox.path("people.csv"), sandbox.path("schema.json"));
    sandbox
        .push_unsigned(&people, &receiver.url())
        .args([
            "--schema",
            schema.to_str().unwrap(),
            "--rejected-rows",
            ".failed[]",
            "-q",
        ])
        .assert()
        .success();
    let run = sandbox.last_run();
    let ui = Dashboard::start(&sandbox, &[], &[]);
    let http = ui.client();
    let page = ui.page(&format!("/runs/{run}"));
    let table = |class: &str| {
        let start = page
            .find(&format!("<table class=\"rows {class}\">"))
            .expect(class);
        page[start..].split("</table>").next().unwrap().to_string()
    };
    let invalid = table("invalid");
    assert!(
        invalid.contains("line 4") && invalid.contains("three"),
        "{invalid}"
    );
    assert!(invalid.contains("integer"), "{invalid}");
    let refused = table("rejected");
    assert!(
        refused.contains("email-taken-here") && refused.contains("b@x.org"),
        "{refused}"
    );
    let csrf = page.split("name=\"csrf\" value=\"").nth(1).unwrap();
    let csrf = csrf.split('"').next().unwrap();
    let answer = http
        .post(format!("{}/runs/{run}/export", ui.base))
        .header("cookie", ui.cookie())
        .form(&[("csrf", csrf), ("which", "rejected")])
        .send()
        .unwrap();
    assert_eq!(answer.status(), 303);
    let job = answer.headers()["location"].to_str().unwrap().to_string();
    let get = |path: &str, cookie: Option<&str>| {
        let mut request = http.get(format!("{}{path}", ui.base));
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        request.send().unwrap()
    };
    let done = wait_for_job(&get, &job, &ui.cookie());
    assert!(done.contains("exit 0"), "{done}");
    let csv = get(&format!("{job}/file"), Some(&ui.cookie()))
        .text()
        .unwrap();
    assert!(
        csv.contains("__receiver_error") && csv.contains("email-taken-here"),
        "{csv}"
    );
}

/// A run of more batches than a page lists: the first 300, and how many more there are.
#[test]
fn a_long_runs_page_lists_its_first_batches_and_counts_the_rest() {
    let sandbox = Sandbox::new();
    let receiver = TestServer::ok();
    let input = sandbox.write("rows.csv", crate::support::numbered_csv(305));
    sandbox
        .push_unsigned(&input, &receiver.url())
        .args(["--batch-size", "1", "-q"])
        .assert()
        .success();
    let run = sandbox.last_run();
    let ui = Dashboard::start(&sandbox, &[], &[]);
    let page = ui.page(&format!("/runs/{run}"));
    assert_eq!(page.matches("<tr class=\"batch b-delivered\"").count(), 300);
    assert!(page.contains("5 more batches"), "{page}");
    assert!(page.contains("305/305 delivered"));
}
