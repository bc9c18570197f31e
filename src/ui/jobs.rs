//! The actions the dashboard started: each runs the `pulse` binary itself with the command a
//! person would type (`pulse resume RUN`, `pulse resend ID`, ...), so it does exactly what the
//! CLI does, with the environment and config file `pulse ui` was started with: a credential
//! missing there is named by the command's own error. A child process rather than a call in
//! this process, because a command owns process-wide state (its signal handling, run lock,
//! metrics and traces) that a server answering other requests must not share.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};

use crate::store::{now_ms, Location};

/// The most output of one action kept to show.
const OUTPUT_KEPT: usize = 64 * 1024;
/// The most actions remembered: the oldest finished ones are forgotten (with their files)
/// beyond it, so a dashboard left open for months holds a bounded amount.
const JOBS_KEPT: usize = 100;

/// One action: the command it ran, and what came of it.
pub struct Job {
    pub id: u64,
    /// The command as a person would type it (`pulse resend evt_...`).
    pub command: String,
    pub run_id: String,
    pub started_at: i64,
    /// Its process, for a cancel to stop it first.
    pid: u32,
    /// The file it writes (`pulse export --output`), offered for download once it is done.
    pub file: Option<PathBuf>,
    state: Mutex<JobState>,
}

#[derive(Clone, Default)]
pub struct JobState {
    /// stdout and stderr as they came.
    pub output: String,
    /// The exit code once it ended (-1: killed by a signal).
    pub exit: Option<i32>,
    pub finished_at: Option<i64>,
}

impl Job {
    pub fn state(&self) -> JobState {
        self.state.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn update(&self, change: impl FnOnce(&mut JobState)) {
        if let Ok(mut state) = self.state.lock() {
            change(&mut state);
        }
    }
}

/// Every action started since `pulse ui` started.
pub struct Jobs {
    next: AtomicU64,
    list: Mutex<Vec<Arc<Job>>>,
    db: Location,
    config: Option<PathBuf>,
    exe: PathBuf,
    /// Where exports are written; removed when pulse ui stops.
    dir: tempfile::TempDir,
}

impl Jobs {
    pub fn new(db: Location, config: Option<PathBuf>) -> Result<Jobs> {
        Ok(Jobs {
            next: AtomicU64::new(1),
            list: Mutex::new(Vec::new()),
            db,
            config,
            exe: std::env::current_exe().context("finding the pulse binary for the actions")?,
            dir: tempfile::Builder::new()
                .prefix("pulse-ui-")
                .tempdir()
                .context("making a temp dir for exports")?,
        })
    }

    /// Starts `pulse ARGS [--output FILE] -- ID` for a run (after `--`, an id is never a
    /// flag); `file`: the extension of a file it writes.
    pub fn start(
        &self,
        run_id: &str,
        args: &[&str],
        target: &str,
        file: Option<&str>,
    ) -> Result<Arc<Job>> {
        let id = self.next.fetch_add(1, Ordering::SeqCst);
        let file = file.map(|extension| self.dir.path().join(format!("job-{id}.{extension}")));
        let mut command = Command::new(&self.exe);
        command.args(args);
        if let Some(path) = &file {
            command.arg("--output").arg(path);
        }
        command.args(["--", target]);
        // The log as `pulse ui` opened it, through the environment: a password in a
        // PostgreSQL URL stays out of the process list.
        match &self.db {
            Location::File(path) => command.env("PULSE_DB", path),
            Location::Postgres(url) => command.env("PULSE_DB", url),
        };
        if let Some(config) = &self.config {
            command.env("PULSE_CONFIG", config);
        }
        command
            .env("PULSE_LOG_FORMAT", "text")
            .env_remove("PULSE_UI_TOKEN")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .with_context(|| format!("starting {}", self.exe.display()))?;
        let job = Arc::new(Job {
            id,
            command: format!("pulse {} {target}", args.join(" ")),
            run_id: run_id.to_string(),
            started_at: now_ms(),
            pid: child.id(),
            file,
            state: Mutex::new(JobState::default()),
        });
        let readers: Vec<_> = [
            child
                .stdout
                .take()
                .map(|out| Box::new(out) as Box<dyn Read + Send>),
            child
                .stderr
                .take()
                .map(|err| Box::new(err) as Box<dyn Read + Send>),
        ]
        .into_iter()
        .flatten()
        .map(|stream| {
            let job = job.clone();
            std::thread::spawn(move || collect(&job, stream))
        })
        .collect();
        let waiting = job.clone();
        std::thread::spawn(move || {
            for reader in readers {
                let _ = reader.join();
            }
            let code = child.wait().map(|status| status.code().unwrap_or(-1));
            waiting.update(|state| {
                state.exit = Some(code.unwrap_or(-1));
                state.finished_at = Some(now_ms());
            });
        });
        if let Ok(mut list) = self.list.lock() {
            list.push(job.clone());
            while list.len() > JOBS_KEPT {
                let Some(oldest) = list.iter().position(|job| job.state().exit.is_some()) else {
                    break;
                };
                let forgotten = list.remove(oldest);
                if let Some(file) = &forgotten.file {
                    let _ = std::fs::remove_file(file);
                }
            }
        }
        Ok(job)
    }

    pub fn get(&self, id: u64) -> Option<Arc<Job>> {
        let list = self.list.lock().ok()?;
        list.iter().find(|job| job.id == id).cloned()
    }

    /// The actions started for a run, newest first.
    pub fn of_run(&self, run_id: &str) -> Vec<Arc<Job>> {
        let Ok(list) = self.list.lock() else {
            return Vec::new();
        };
        list.iter()
            .rev()
            .filter(|job| job.run_id == run_id)
            .cloned()
            .collect()
    }
}

impl Jobs {
    /// Stops the actions of this window still sending a run (SIGTERM: each stops as `pulse`
    /// does, between batches, resumable) and waits for them, at most `patience`: a cancel
    /// must not race the resume it follows, which holds the run's lock.
    pub fn stop_sending(&self, run_id: &str, patience: std::time::Duration) {
        let running: Vec<_> = self
            .of_run(run_id)
            .into_iter()
            .filter(|job| job.state().exit.is_none())
            .filter(|job| {
                ["pulse resume ", "pulse resend "]
                    .iter()
                    .any(|c| job.command.starts_with(c))
            })
            .collect();
        for job in &running {
            if let Ok(pid) = libc::pid_t::try_from(job.pid) {
                // SAFETY: kill(2) takes no pointers. The pid is a child of this process not
                // reaped when `exit` was read above: only its waiting thread reaps it, and sets
                // `exit` right after (a pid reused in that instant is kill(2)'s usual risk).
                unsafe { libc::kill(pid, libc::SIGTERM) };
            }
        }
        let deadline = std::time::Instant::now() + patience;
        while running.iter().any(|job| job.state().exit.is_none())
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}

/// Appends what a stream of the child writes to its job's output, up to `OUTPUT_KEPT`.
fn collect(job: &Job, mut stream: Box<dyn Read + Send>) {
    let mut buffer = [0u8; 8192];
    while let Ok(n) = stream.read(&mut buffer) {
        if n == 0 {
            break;
        }
        let text = String::from_utf8_lossy(&buffer[..n]);
        job.update(|state| {
            if state.output.len() < OUTPUT_KEPT {
                state.output.push_str(&text);
            }
        });
    }
}
