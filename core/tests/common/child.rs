//! Child processes for the concurrency and crash tests. A child is the test executable
//! itself, re-run as one of its own `#[test]` functions (which does nothing in a
//! normal run); it talks to the parent line by line: `ready`, then `go` back on its
//! standard input where the parent starts several together, then what it did.

#![allow(dead_code)] // not every test file uses every helper
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// This test executable, set to run the `#[test]` function `test` alone, on one
/// thread, with its output not captured.
pub fn rerun(test: &str) -> Command {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args(["--exact", test, "--nocapture", "--test-threads=1"]);
    c
}

/// A running child: its standard output arrives line by line, its standard error is
/// collected for the failure messages.
pub struct Running {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    stdout: JoinHandle<()>,
    stderr: JoinHandle<String>,
}

/// How a child ended.
pub struct Ended {
    pub status: ExitStatus,
    /// The standard output lines not read before it ended.
    pub lines: Vec<String>,
    pub stderr: String,
}

impl Running {
    /// Spawns `command` with its standard output and error piped, and its standard
    /// input piped when `stdin` (else empty).
    pub fn spawn(command: &mut Command, stdin: bool) -> Running {
        let mut child = command
            .stdin(if stdin { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        let stdout = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stderr.read_to_string(&mut s);
            s
        });
        Running {
            stdin: child.stdin.take(),
            child,
            lines,
            stdout,
            stderr,
        }
    }

    /// Reads its lines until `ready`, handing each one (`ready` too) to `line`; false
    /// when `ready` did not come within `timeout`.
    pub fn ready(&mut self, timeout: Duration, mut line: impl FnMut(&str)) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            match self
                .lines
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(l) => {
                    line(&l);
                    if l.trim() == "ready" {
                        return true;
                    }
                }
                Err(_) => return false,
            }
        }
    }

    /// Sends `line` to its standard input.
    pub fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
    }

    /// Waits for it to end (closing its standard input first).
    pub fn wait(mut self) -> Ended {
        drop(self.stdin.take());
        let status = self.child.wait().unwrap();
        self.ended(status)
    }

    /// Waits for it to end, which it must do successfully; `name` names it in the
    /// failure.
    pub fn finish(self, name: &str) -> Ended {
        let ended = self.wait();
        assert!(
            ended.status.success(),
            "{name} failed ({}): {}",
            ended.status,
            ended.stderr
        );
        ended
    }

    /// Kills it (`Child::kill` sends SIGKILL on Unix) and waits for it.
    pub fn kill(mut self) -> Ended {
        let _ = self.child.kill();
        let status = self.child.wait().unwrap();
        self.ended(status)
    }

    fn ended(self, status: ExitStatus) -> Ended {
        self.stdout.join().unwrap();
        Ended {
            status,
            lines: self.lines.try_iter().collect(),
            stderr: self.stderr.join().unwrap(),
        }
    }
}

/// Waits for `ready` from every child, then sends `go` to all of them, so their work
/// overlaps. A child not ready within a minute fails the test, all of them killed.
pub fn start_together(children: &mut Vec<Running>) {
    for w in 0..children.len() {
        if !children[w].ready(Duration::from_secs(60), |_| {}) {
            let why: String = children.drain(..).map(|c| c.kill().stderr).collect();
            panic!("child {w} never got ready: {why}");
        }
    }
    for child in children.iter_mut() {
        child.send("go");
    }
}

/// Spawns `command` (a child that says `ready` and then works until it is killed),
/// waits for its `ready` when `from_ready`, lets it run for `run_for` and kills it
/// with SIGKILL, which must be what ended it. Every line it printed goes to `line`;
/// `who` names it in the failures.
pub fn kill_after(command: &mut Command, from_ready: bool, run_for: Duration, mut line: impl FnMut(&str), who: &str) {
    let mut child = Running::spawn(command, false);
    if from_ready && !child.ready(Duration::from_secs(30), &mut line) {
        panic!("{who} never got ready: {}", child.kill().stderr);
    }
    std::thread::sleep(run_for);
    let ended = child.kill();
    assert_eq!(
        ended.status.signal(),
        Some(9),
        "{who} ended on its own ({}), not by the kill: {}",
        ended.status,
        ended.stderr
    );
    for l in &ended.lines {
        line(l);
    }
}

/// The child's side: one line, flushed at once.
pub fn say(out: &mut impl Write, line: &str) {
    writeln!(out, "{line}").unwrap();
    out.flush().unwrap();
}

/// The child's side: says `ready` (on a line of its own: the harness has printed
/// `test NAME ... ` without a newline).
pub fn say_ready(out: &mut impl Write) {
    say(out, "\nready");
}

/// The child's side: says `ready` and waits for `go`.
pub fn ready_go(out: &mut impl Write) {
    say_ready(out);
    let mut go = String::new();
    std::io::stdin().read_line(&mut go).unwrap();
    assert_eq!(go.trim(), "go");
}

/// xorshift64: enough randomness for kill delays, the same on every run for a seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// A number below `n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}
