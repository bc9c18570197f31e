//! README.md cannot drift from the binary: its `console` blocks run, in order, in one sandbox,
//! and their output must match; every `pulse ...` line in its other code blocks must parse; and
//! the set-up script it starts with must work.
//!
//! Conventions (also described at the end of README.md):
//! - A ```` ```console ```` block is a terminal session: `$ cmd` lines run with bash in a temp
//!   HOME holding a copy of `fixtures/`, with the built `pulse` first on PATH; the lines after a
//!   command are its expected stdout and stderr. `$ export NAME=VALUE` sets a variable for the
//!   commands after it, `$ cmd &` starts a background process (stopped at the end), and `$?`
//!   is the previous command's exit code. `<!-- readme-test: skip -->` before a block skips it.
//! - Expected output matches loosely: whitespace may differ (JSON may be shown indented), and
//!   ids, times, durations, sizes and `whsec_`, `whsk_` and `whpk_` keys stand for any such value. A run, event or
//!   batch id seen in an output stands for the real id in later commands and outputs. `…`
//!   stands for any text within a line, a line `...` for any number of lines.
//! - Ports of `127.0.0.1:PORT` and `--port PORT` become free ports; the temp HOME prints as
//!   `/home/me`.
//!
//! `README_UPDATE=1 cargo test readme` rewrites the output of every block that does not match
//! (or shows none) with what the binary printed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;
use regex::Regex;

const README: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
const SHOWN_HOME: &str = "/home/me";

#[test]
fn console_blocks_print_what_the_readme_shows() {
    let text = std::fs::read_to_string(README).unwrap();
    let mut session = Session::new(&text);
    let mut updated = String::new();
    let mut failures = Vec::new();
    for piece in split_blocks(&text) {
        match piece {
            Piece::Console { text, skip: false } => {
                updated.push_str(&session.run_block(&text, &mut failures));
            }
            Piece::Console { text, .. } | Piece::Other(text) => updated.push_str(&text),
            Piece::Code { text, .. } => updated.push_str(&text),
        }
    }
    if std::env::var_os("README_UPDATE").is_some() {
        std::fs::write(README, updated).unwrap();
        return;
    }
    assert!(
        failures.is_empty(),
        "README.md console blocks differ from the binary (README_UPDATE=1 rewrites them):\n\n{}",
        failures.join("\n\n")
    );
}

#[test]
fn pulse_lines_in_other_blocks_parse() {
    let text = std::fs::read_to_string(README).unwrap();
    let mut checked = 0;
    for piece in split_blocks(&text) {
        let Piece::Code { text, .. } = piece else {
            continue;
        };
        for command in pulse_commands(&text) {
            let mut words = shell_words(&command);
            // `--to NAME` takes the URL from a config file, which this check has none of.
            if words.iter().any(|word| word == "--to") && words.get(1).is_some_and(|w| w == "push")
            {
                words.extend(["--url".to_string(), "https://example.com/".to_string()]);
            }
            if let Err(err) = pulse::cli::Cli::try_parse_from(&words) {
                panic!("README.md: `{command}` does not parse:\n{err}");
            }
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} pulse commands found");
}

#[test]
fn demo_script_delivers_the_fixture() {
    let out = Command::new("bash")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/demo.sh"))
        .env("PULSE", assert_cmd::cargo::cargo_bin("pulse"))
        .env_remove("PULSE_SECRET")
        .env_remove("PULSE_PUBLIC_KEY")
        .env_remove("PULSE_DB")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("delivered 120 rows in 3/3 batches"),
        "{stderr}"
    );
    assert_eq!(stdout.matches(" verified msg_").count(), 3, "{stdout}");
    // The demo shows the recommended way: no warning about a secret on the command line.
    assert!(!stderr.contains("warning"), "{stderr}");
    assert!(
        stdout.contains("rows written by the receiver: 120"),
        "{stdout}"
    );
}

enum Piece {
    Console { text: String, skip: bool },
    Code { text: String },
    Other(String),
}

/// Cuts the README into fenced code blocks (with their fences) and the text between them.
fn split_blocks(text: &str) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut other = String::new();
    let mut lines = text.split_inclusive('\n');
    let mut skip_next = false;
    while let Some(line) = lines.next() {
        let Some(lang) = line.strip_prefix("```") else {
            if !line.trim().is_empty() {
                skip_next = line.trim() == "<!-- readme-test: skip -->";
            }
            other.push_str(line);
            continue;
        };
        pieces.push(Piece::Other(std::mem::take(&mut other)));
        let lang = lang.trim().to_string();
        let mut block = line.to_string();
        for inner in lines.by_ref() {
            block.push_str(inner);
            if inner.trim_end() == "```" {
                break;
            }
        }
        pieces.push(if lang == "console" {
            Piece::Console {
                text: block,
                skip: skip_next,
            }
        } else {
            Piece::Code { text: block }
        });
        skip_next = false;
    }
    pieces.push(Piece::Other(other));
    pieces
}

/// One README session: the sandbox, the variables exported so far, background processes, the
/// README ports mapped to free ones, and README ids bound to real ones.
struct Session {
    _dir: tempfile::TempDir,
    home: PathBuf,
    env: Vec<(String, String)>,
    background: Vec<Child>,
    ports: Vec<(String, String)>,
    ids: HashMap<String, String>,
    last_status: i32,
}

impl Drop for Session {
    fn drop(&mut self) {
        for child in &mut self.background {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Session {
    fn new(readme: &str) -> Session {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        std::fs::create_dir_all(home.join("fixtures")).unwrap();
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        for entry in std::fs::read_dir(fixtures).unwrap() {
            let entry = entry.unwrap();
            if entry.path().is_dir() {
                // fixtures/input/ and the like: the README's commands use none of them.
                continue;
            }
            std::fs::copy(entry.path(), home.join("fixtures").join(entry.file_name())).unwrap();
        }
        let bin_dir = assert_cmd::cargo::cargo_bin("pulse")
            .parent()
            .unwrap()
            .to_path_buf();
        let path = format!(
            "{}:{}",
            bin_dir.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let port_re = Regex::new(r"(?:127\.0\.0\.1:|--port )(\d{2,5})").unwrap();
        let mut ports: Vec<(String, String)> = Vec::new();
        for caps in port_re.captures_iter(readme) {
            let port = caps[1].to_string();
            if port != "0" && !ports.iter().any(|(p, _)| *p == port) {
                ports.push((port, free_port().to_string()));
            }
        }
        Session {
            env: vec![
                ("HOME".into(), home.display().to_string()),
                ("PATH".into(), path),
                ("LANG".into(), "C.UTF-8".into()),
            ],
            home,
            _dir: dir,
            background: Vec::new(),
            ports,
            ids: HashMap::new(),
            last_status: 0,
        }
    }

    /// Runs every command of a block; returns the block, with outputs rewritten where they did
    /// not match (used by README_UPDATE), and records mismatches in `failures`.
    fn run_block(&mut self, block: &str, failures: &mut Vec<String>) -> String {
        let lines: Vec<&str> = block.lines().collect();
        let mut out = format!("{}\n", lines[0]);
        let mut i = 1;
        while i < lines.len() - 1 {
            let Some(first) = lines[i].strip_prefix("$ ") else {
                panic!(
                    "README.md console block: expected `$ command`, got {:?}",
                    lines[i]
                );
            };
            let mut command = first.to_string();
            out.push_str(lines[i]);
            out.push('\n');
            i += 1;
            while command.ends_with('\\') {
                command.push('\n');
                command.push_str(lines[i]);
                out.push_str(lines[i]);
                out.push('\n');
                i += 1;
            }
            let start = i;
            while i < lines.len() - 1 && !lines[i].starts_with("$ ") {
                i += 1;
            }
            let expected = lines[start..i].join("\n");
            let actual = self.run(&command);
            if self.matches(&expected, &actual) {
                for line in &lines[start..i] {
                    out.push_str(line);
                    out.push('\n');
                }
            } else {
                {
                    failures.push(format!(
                        "$ {command}\n--- README shows:\n{expected}\n--- pulse printed:\n{actual}"
                    ));
                    self.bind_in_order(&expected, &actual);
                    for line in self.ids_as_shown(&actual).lines() {
                        out.push_str(line);
                        out.push('\n');
                    }
                }
            }
        }
        out.push_str(lines[lines.len() - 1]);
        out.push('\n');
        out
    }

    /// Runs one command line and returns what it printed, as the README shows it.
    fn run(&mut self, command: &str) -> String {
        let command = self.to_real(command);
        if let Some(assignment) = command.strip_prefix("export ") {
            let (name, value) = assignment.split_once('=').expect("export NAME=VALUE");
            let value = self.shell(&format!("printf %s {value}"), Duration::from_secs(30));
            self.env.push((name.to_string(), value.0));
            self.last_status = 0;
            return String::new();
        }
        if let Some(background) = command.strip_suffix('&') {
            self.start_background(background.trim());
            return String::new();
        }
        let (output, status) = self.shell(
            &format!("exec 2>&1; (exit {}); {command}", self.last_status),
            Duration::from_secs(120),
        );
        self.last_status = status;
        self.to_shown(&output)
    }

    fn shell(&self, script: &str, limit: Duration) -> (String, i32) {
        let out_path = self.home.join(".readme-output");
        let mut child = Command::new("bash")
            .args(["-c", script])
            .current_dir(&self.home)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out_path).unwrap())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("README command timed out: {script}");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let output = std::fs::read_to_string(&out_path).unwrap();
        (output, status.code().unwrap_or(-1))
    }

    /// Starts `command` in the background; when it listens on a port, waits until it accepts.
    fn start_background(&mut self, command: &str) {
        let child = Command::new("bash")
            .args(["-c", &format!("exec {command}")])
            .current_dir(&self.home)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        self.background.push(child);
        let port = Regex::new(r"--port (\d+)")
            .unwrap()
            .captures(command)
            .map(|c| c[1].to_string());
        let deadline = Instant::now() + Duration::from_secs(30);
        match port {
            Some(port) => {
                while std::net::TcpStream::connect(format!("127.0.0.1:{port}")).is_err() {
                    assert!(Instant::now() < deadline, "`{command}` never listened");
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
            None => std::thread::sleep(Duration::from_millis(300)),
        }
        self.last_status = 0;
    }

    /// README text → what runs here: free ports and the real ids.
    fn to_real(&self, text: &str) -> String {
        let mut text = text.to_string();
        for (shown, real) in &self.ports {
            text = text
                .replace(&format!("127.0.0.1:{shown}"), &format!("127.0.0.1:{real}"))
                .replace(&format!("--port {shown}"), &format!("--port {real}"));
        }
        for (shown, real) in &self.ids {
            text = text.replace(shown, real);
        }
        text
    }

    /// Real output → as the README shows it: README ports and the shown HOME.
    fn to_shown(&self, text: &str) -> String {
        let mut text = text.replace(&self.home.display().to_string(), SHOWN_HOME);
        for (shown, real) in &self.ports {
            text = text.replace(&format!("127.0.0.1:{real}"), &format!("127.0.0.1:{shown}"));
        }
        text
    }

    /// Whether `actual` is what `expected` shows; binds the ids it shows on success.
    fn matches(&mut self, expected: &str, actual: &str) -> bool {
        let (pattern, slots) = self.pattern(expected);
        let re = Regex::new(&pattern).unwrap();
        let Some(caps) = re.captures(actual) else {
            return false;
        };
        let mut found: HashMap<String, String> = HashMap::new();
        for (n, shown) in slots.iter().enumerate() {
            let real = caps[n + 1].to_string();
            if found
                .insert(shown.clone(), real.clone())
                .is_some_and(|r| r != real)
            {
                return false;
            }
        }
        self.ids.extend(found);
        true
    }

    /// After a mismatch, pairs the ids shown with the ids printed, in order, so that the
    /// commands after it still refer to real runs (best effort, for README_UPDATE).
    fn bind_in_order(&mut self, expected: &str, actual: &str) {
        let id = Regex::new(ID).unwrap();
        for (shown, real) in id.find_iter(expected).zip(id.find_iter(actual)) {
            self.ids
                .entry(shown.as_str().to_string())
                .or_insert_with(|| real.as_str().to_string());
        }
        // Ids printed for the first time stand for themselves in the rewritten README.
        for real in id.find_iter(actual) {
            self.ids
                .entry(real.as_str().to_string())
                .or_insert_with(|| real.as_str().to_string());
        }
    }

    /// Real ids → the README ids they are bound to, so that a rewritten block keeps the ids
    /// the README showed before it.
    fn ids_as_shown(&self, text: &str) -> String {
        Regex::new(ID)
            .unwrap()
            .replace_all(text, |caps: &regex::Captures| {
                let real = &caps[0];
                self.ids
                    .iter()
                    .find(|(shown, bound)| *bound == real && *shown != real)
                    .map_or_else(|| real.to_string(), |(shown, _)| shown.clone())
            })
            .into_owned()
    }

    /// The expected text as an anchored regex, and the README id of each capture group.
    fn pattern(&self, expected: &str) -> (String, Vec<String>) {
        let token = Regex::new(&format!(
            r"(?m)(?P<id>{ID})|(?P<loose>{TIME}|{DURATION}|{SIZE}|{SECRET})|(?P<inline>…)|(?P<lines>^\.\.\.$)"
        ))
        .unwrap();
        let mut pattern = String::from(r"(?s)\A\s*");
        let mut slots = Vec::new();
        let mut last = 0;
        for caps in token.captures_iter(expected) {
            let whole = caps.get(0).unwrap();
            pattern.push_str(&literal(&expected[last..whole.start()]));
            last = whole.end();
            if let Some(id) = caps.name("id") {
                match self.ids.get(id.as_str()) {
                    Some(real) => pattern.push_str(&regex::escape(real)),
                    None => {
                        pattern.push_str(&format!("({ID})"));
                        slots.push(id.as_str().to_string());
                    }
                }
            } else if caps.name("loose").is_some() {
                pattern.push_str(&format!("(?:{TIME}|{DURATION}|{SIZE}|{SECRET})"));
            } else if caps.name("inline").is_some() {
                pattern.push_str(r"[^\n]*?");
            } else {
                pattern.push_str(r".*?");
            }
        }
        pattern.push_str(&literal(&expected[last..]));
        pattern.push_str(r"\s*\z");
        (pattern, slots)
    }
}

const ID: &str = r"\b(?:run|evt|msg)_[0-9A-HJKMNP-TV-Z]{26}\b";
const TIME: &str = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z";
const DURATION: &str = r"\b\d+(?:\.\d+)?m?s\b";
const SIZE: &str = r"\b\d+(?:\.\d+)? (?:B|KiB|MiB|GiB)\b";
const SECRET: &str = r"wh(?:sec|sk|pk)_[A-Za-z0-9+/=]{20,}";

/// Literal text where any run of whitespace matches any (or no) whitespace.
fn literal(text: &str) -> String {
    let mut out = String::new();
    let mut in_space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            if !in_space {
                out.push_str(r"\s*");
            }
            in_space = true;
        } else {
            in_space = false;
            out.push_str(&regex::escape(&c.to_string()));
        }
    }
    out
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The `pulse ...` command lines of a code block: continuation lines joined, comments, pipes,
/// redirections and what follows `&&` or `;` dropped.
fn pulse_commands(block: &str) -> Vec<String> {
    let joined = block.replace("\\\n", " ");
    let start = Regex::new(r"(?:^|[\s(:=])(pulse\s.*)$").unwrap();
    let mut commands = Vec::new();
    for line in joined.lines().skip(1) {
        let line = line.split(" #").next().unwrap();
        let Some(caps) = start.captures(line) else {
            continue;
        };
        let command = caps[1]
            .split(['|', ';', ')'])
            .next()
            .unwrap()
            .split("&&")
            .next()
            .unwrap()
            .trim()
            .to_string();
        commands.push(command);
    }
    commands
}

/// Splits a command into words as a shell would (quotes, no expansion), dropping redirections.
fn shell_words(command: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote = None;
    let mut started = false;
    for c in command.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                started = true;
            }
            (None, c) if c.is_whitespace() => {
                if started || !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                started = false;
            }
            (None, c) => word.push(c),
        }
    }
    if started || !word.is_empty() {
        words.push(word);
    }
    let mut kept = Vec::new();
    let mut skip = false;
    for word in words {
        if skip {
            skip = false;
        } else if matches!(word.as_str(), ">" | ">>" | "<" | "2>" | "2>&1") {
            skip = word != "2>&1";
        } else if word.starts_with('>') || word.starts_with('<') || word.starts_with("2>") {
        } else {
            kept.push(word);
        }
    }
    kept
}

#[test]
fn shell_words_split_like_a_shell() {
    assert_eq!(
        shell_words(r#"pulse push - --header 'X-A: b c' --metadata "{}" < in.csv > out.json"#),
        [
            "pulse",
            "push",
            "-",
            "--header",
            "X-A: b c",
            "--metadata",
            "{}"
        ]
    );
}

#[test]
fn loose_patterns_accept_other_ids_and_times() {
    let mut session = Session::new("");
    let shown = "run_01M8439XPKKT0TC1R73AXQ37F4  2026-11-23T11:40:18Z  in 0.02s\n{\n  \"a\": 1\n}";
    let real = "run_01M843Z99JZX8MQYXSR2872MY3  2027-01-02T03:04:05Z  in 1.5s\n{\"a\":1}";
    assert!(session.matches(shown, real));
    assert_eq!(
        session.to_real("pulse log run_01M8439XPKKT0TC1R73AXQ37F4"),
        "pulse log run_01M843Z99JZX8MQYXSR2872MY3"
    );
    assert!(!session.matches(
        "run_01M8439XPKKT0TC1R73AXQ37F4 failed",
        &real.replace("in", "x")
    ));
}
