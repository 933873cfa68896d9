//! The Flask-Caching side of `flaskcache bench TRACE`: `harness.py` run in a Python with
//! the real library, kept alive across rounds so that rounds of the two sides alternate.
//!
//! The harness is passed with `python -c` (nothing is written to disk). It answers
//! `ready N` once it has read the trace, then to `round K` K lines `ok NS NS ...`, one per
//! replay of the trace, each on a fresh app and cache;
//! on a failure it exits, 1 when Flask-Caching did not do what the trace recorded, 2 when
//! it cannot replay the trace, with the message on standard error.

use flaskcache_engine::Profile;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::thread::JoinHandle;

/// The harness script.
pub const HARNESS: &str = include_str!("harness.py");

/// Why the Python side stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Flask-Caching did not do what the trace recorded (the message names the event).
    Mismatch(String),
    /// The trace cannot be replayed there, or the Python cannot run the harness.
    Unusable(String),
}

/// The Python to use for a trace of `profile` when `--python` is not given:
/// `$FLASKCACHE_PY_FC25` / `$FLASKCACHE_PY_FC24`, else the workspace's `.venv-fc25` /
/// `.venv-fc24` (created by `scripts/python-env.sh`), as `flaskcache oracle` picks it.
pub fn default_python(profile: Profile) -> Option<PathBuf> {
    let (env, venv) = match profile {
        Profile::FlaskCaching25 => ("FLASKCACHE_PY_FC25", ".venv-fc25"),
        Profile::FlaskCaching24 => ("FLASKCACHE_PY_FC24", ".venv-fc24"),
        Profile::FlaskCache013 => return None,
    };
    if let Ok(p) = std::env::var(env) {
        return Some(PathBuf::from(p));
    }
    let sim = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let workspace = sim.parent().unwrap_or(sim);
    let p = workspace.join(venv).join("bin/python");
    p.exists().then_some(p)
}

/// A running harness.
pub struct PythonSide {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    stderr: Option<JoinHandle<String>>,
    /// Timed events per replay, as the harness counted them.
    pub timed: usize,
}

impl PythonSide {
    /// Starts the harness on the trace file `trace` with the interpreter `python`.
    pub fn start(python: &std::path::Path, trace: &str) -> Result<Self, Failure> {
        let mut child = Command::new(python)
            .arg("-c")
            .arg(HARNESS)
            .arg(trace)
            // Set reprs depend on the hash seed; the recorder runs with 0 too.
            .env("PYTHONHASHSEED", "0")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Failure::Unusable(format!("cannot run {}: {e}", python.display())))?;
        let missing = || Failure::Unusable("the harness's pipes are missing".into());
        let stdin = child.stdin.take().ok_or_else(missing)?;
        let stdout = BufReader::new(child.stdout.take().ok_or_else(missing)?);
        let mut err = child.stderr.take().ok_or_else(missing)?;
        // Drained on its own thread, so a chatty interpreter cannot block the protocol.
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = err.read_to_string(&mut text);
            text
        });
        let mut side = PythonSide {
            child,
            stdin: Some(stdin),
            stdout,
            stderr: Some(stderr),
            timed: 0,
        };
        let line = side.line()?;
        match line.strip_prefix("ready ").map(str::parse::<usize>) {
            Some(Ok(n)) => side.timed = n,
            _ => return Err(side.failed(format!("unexpected first line {line:?}"))),
        }
        Ok(side)
    }

    /// One line of the harness's output, or the failure that ended it.
    fn line(&mut self) -> Result<String, Failure> {
        let mut line = String::new();
        match self.stdout.read_line(&mut line) {
            Ok(n) if n > 0 => Ok(line.trim_end().to_owned()),
            Ok(_) => Err(self.failed("the harness stopped".into())),
            Err(e) => Err(self.failed(format!("reading the harness: {e}"))),
        }
    }

    /// The failure of a harness that stopped or misbehaved, from its exit status and
    /// standard error.
    fn failed(&mut self, what: String) -> Failure {
        self.stdin = None;
        let status = self.child.wait().ok().and_then(|s| s.code());
        let stderr = self
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        let message = match stderr.trim() {
            "" => what,
            text => text.to_owned(),
        };
        match status {
            Some(1) => Failure::Mismatch(message),
            _ => Failure::Unusable(message),
        }
    }

    /// Runs one round of `replays` replays back to back, each on a fresh app and cache:
    /// per replay, the nanoseconds of each timed event, in file order.
    pub fn round(&mut self, replays: usize) -> Result<Vec<Vec<u64>>, Failure> {
        let sent = match self.stdin.as_mut() {
            Some(stdin) => writeln!(stdin, "round {replays}").and_then(|()| stdin.flush()),
            None => Ok(()),
        };
        if let Err(e) = sent {
            return Err(self.failed(format!("writing to the harness: {e}")));
        }
        (0..replays).map(|_| self.replay_line()).collect()
    }

    /// One replay's `ok NS NS ...` line.
    fn replay_line(&mut self) -> Result<Vec<u64>, Failure> {
        let line = self.line()?;
        let Some(numbers) = line.strip_prefix("ok") else {
            return Err(self.failed(format!("unexpected line {line:?}")));
        };
        let times: Result<Vec<u64>, _> = numbers.split_whitespace().map(str::parse).collect();
        match times {
            Ok(t) if t.len() == self.timed => Ok(t),
            _ => Err(self.failed(format!("unexpected line {line:?}"))),
        }
    }

    /// Ends the harness.
    pub fn finish(mut self) {
        if let Some(mut stdin) = self.stdin.take() {
            let _ = writeln!(stdin, "quit");
        }
        let _ = self.child.wait();
        if let Some(h) = self.stderr.take() {
            let _ = h.join();
        }
    }
}

impl Drop for PythonSide {
    fn drop(&mut self) {
        // A side abandoned mid-run (an error on the other side) must not outlive us.
        if self.stdin.take().is_some() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
