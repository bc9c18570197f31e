//! pulse on a real terminal: a pseudo-terminal whose output goes through a terminal emulator
//! (vt100), so the tests see the screen a person would, and Ctrl-C typed as a person would.

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::server::{Reply, TestServer};
use crate::support::Sandbox;

const ROWS: u16 = 24;
const COLS: u16 = 100;

/// A pseudo-terminal: the controlling end (what a terminal emulator holds) and the end a
/// program runs on.
fn open_pty() -> (std::fs::File, OwnedFd) {
    let (mut controller, mut terminal) = (0, 0);
    let size = libc::winsize {
        ws_row: ROWS,
        ws_col: COLS,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty writes two fresh descriptors into the locals; the size outlives the call.
    let rc = unsafe {
        libc::openpty(
            &mut controller,
            &mut terminal,
            std::ptr::null_mut(),
            std::ptr::null(),
            &size,
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just opened and are owned by nothing else.
    unsafe {
        (
            std::fs::File::from_raw_fd(controller),
            OwnedFd::from_raw_fd(terminal),
        )
    }
}

/// `pulse ARGS` with its stdin and stderr on a new pseudo-terminal that is its controlling
/// terminal (so Ctrl-C typed there interrupts it), and the bytes it draws there.
struct OnTerminal {
    child: std::process::Child,
    controller: std::fs::File,
    screen: Arc<Mutex<Vec<u8>>>,
}

impl OnTerminal {
    fn start(sandbox: &Sandbox, args: &[&str]) -> OnTerminal {
        OnTerminal::start_program(sandbox, &assert_cmd::cargo::cargo_bin("pulse"), args)
    }

    fn start_program(sandbox: &Sandbox, program: &std::path::Path, args: &[&str]) -> OnTerminal {
        let (controller, terminal) = open_pty();
        let mut cmd = sandbox.command(program);
        // The bar is drawn only outside the test mode, on a terminal.
        cmd.env_remove("PULSE_TEST_MODE")
            .env("TERM", "xterm")
            .args(args)
            .stdin(Stdio::from(terminal.try_clone().unwrap()))
            .stdout(Stdio::null())
            .stderr(Stdio::from(terminal.try_clone().unwrap()));
        // SAFETY: only async-signal-safe calls between fork and exec: a new session, and the
        // terminal (its stdin) made its controlling terminal.
        unsafe {
            cmd.pre_exec(move || {
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().unwrap();
        drop(terminal);
        let screen = Arc::new(Mutex::new(Vec::new()));
        let mut reader = controller.try_clone().unwrap();
        let sink = screen.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            // Ends with an error (EIO) once the program closed the terminal.
            while let Ok(n @ 1..) = reader.read(&mut buf) {
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        OnTerminal {
            child,
            controller,
            screen,
        }
    }

    /// The raw bytes drawn so far.
    fn drawn(&self) -> String {
        String::from_utf8_lossy(&self.screen.lock().unwrap()).into_owned()
    }

    /// Waits until `seen` holds for what was drawn.
    fn wait_for(&self, what: &str, seen: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !seen(&self.drawn()) {
            assert!(
                Instant::now() < deadline,
                "no {what} drawn: {:?}",
                self.drawn()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether the terminal echoes control characters as `^C` (its ECHOCTL flag).
    fn echoes_control_characters(&self) -> bool {
        // SAFETY: tcgetattr into a termios owned here, on a descriptor this value owns.
        unsafe {
            let mut settings: libc::termios = std::mem::zeroed();
            assert_eq!(
                libc::tcgetattr(self.controller.as_raw_fd(), &mut settings),
                0
            );
            settings.c_lflag & libc::ECHOCTL != 0
        }
    }

    /// Types `bytes` as a person at the keyboard.
    fn type_keys(&mut self, bytes: &[u8]) {
        self.controller.write_all(bytes).unwrap();
    }

    /// Waits for the exit; returns its code and the screen's lines as a person sees them.
    fn finish(mut self) -> (Option<i32>, Vec<String>) {
        let status = self.child.wait().unwrap();
        // The reader drains what the program drew before it exited.
        std::thread::sleep(Duration::from_millis(300));
        let size = |n: u16| std::num::NonZeroU16::new(n).unwrap();
        let mut parser = vt100::Parser::new(size(ROWS), size(COLS), 0);
        parser.process(&self.screen.lock().unwrap());
        let lines = parser
            .screen()
            .contents()
            .lines()
            .map(|l| l.trim_end().to_string())
            .filter(|l| !l.is_empty())
            .collect();
        (status.code(), lines)
    }
}

/// A push of 40 batches to a receiver that takes 150 ms over each: long enough to watch.
fn slow_push(sandbox: &Sandbox, server: &TestServer) -> OnTerminal {
    let input = sandbox.write("d.csv", crate::support::numbered_csv(400));
    OnTerminal::start(
        sandbox,
        &[
            "push",
            input.to_str().unwrap(),
            "--url",
            &server.url(),
            "--no-sign",
            "--batch-size",
            "10",
        ],
    )
}

fn slow_server() -> TestServer {
    TestServer::start(|_, _| {
        let mut reply = Reply::status(200);
        reply.delay = Duration::from_millis(150);
        reply
    })
}

#[test]
fn the_sending_bar_shows_the_rate_and_the_time_left() {
    let sandbox = Sandbox::new();
    let server = slow_server();
    let mut push = slow_push(&sandbox, &server);
    push.wait_for("sending bar with a rate and an ETA", |drawn| {
        drawn.contains("sending") && drawn.contains("rows/s, ETA ")
    });
    push.type_keys(b"\x03");
    let (code, _) = push.finish();
    assert_eq!(code, Some(130));
}

#[test]
fn ctrl_c_leaves_no_bar_above_the_last_line() {
    let sandbox = Sandbox::new();
    let server = slow_server();
    let mut push = slow_push(&sandbox, &server);
    push.wait_for("sending bar", |drawn| drawn.contains("sending"));
    std::thread::sleep(Duration::from_millis(400));
    push.type_keys(b"\x03");
    let (code, lines) = push.finish();
    assert_eq!(code, Some(130), "{lines:#?}");
    assert!(
        lines
            .iter()
            .all(|l| !l.contains("sending") && !l.contains("staging")),
        "a bar is left on the screen: {lines:#?}"
    );
    let last = lines.last().expect("a last line");
    assert!(
        last.starts_with("error: interrupted") && last.contains("pulse resume"),
        "{lines:#?}"
    );
}

#[test]
fn a_push_in_the_background_of_a_terminal_leaves_the_terminal_alone() {
    let sandbox = Sandbox::new();
    let server = TestServer::ok();
    let input = sandbox.write("d.csv", crate::support::numbered_csv(400));
    let pulse = assert_cmd::cargo::cargo_bin("pulse");
    // A shell with job control runs the push as a background job of the terminal: it draws
    // its bar there, but must not change the terminal's settings (SIGTTOU would stop it).
    let script = format!(
        "set -m; \"$0\" push {} --url {} --no-sign --batch-size 10 & echo job=$!; wait $!",
        input.display(),
        server.url()
    );
    let shell = OnTerminal::start_program(
        &sandbox,
        std::path::Path::new("/bin/bash"),
        &["-c", &script, pulse.to_str().unwrap()],
    );
    assert!(shell.echoes_control_characters(), "a terminal's default");
    // The shell's exit is the push's: a push stopped by SIGTTOU would never get there.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut child = shell.child;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let drawn = String::from_utf8_lossy(&shell.screen.lock().unwrap()).into_owned();
            let job = drawn.split("job=").nth(1).and_then(|rest| {
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                digits.parse::<i32>().ok()
            });
            if let Some(pid) = job {
                // SAFETY: a signal to the push this test started.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
            let _ = child.kill();
            panic!("the background push did not end (stopped?): {drawn:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0));
    let controller = shell.controller;
    let after = OnTerminal {
        child,
        controller,
        screen: shell.screen,
    };
    assert!(after.echoes_control_characters(), "left as it was");
    assert_eq!(server.requests().len(), 40);
}
