//! `flaskcache oracle`: the live differential oracle. A seeded random workload is written
//! as an ordinary Flask-Caching script, run in the real library under the recorder
//! (`sim/recorder`), and the resulting trace is replayed through flaskcache step by step.
//! On a divergence the shortest failing prefix of the trace (everything up to the first
//! event that differs) is written as a trace file, with the command that reproduces it.

pub mod script;

use crate::explore::{shell_quote, target_subdir};
use crate::replay::{replay, trace_error};
use crate::trace::{parse_trace, Record, Trace};
use clap::Args;
use flaskcache_engine::Profile;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// Arguments of `flaskcache oracle`.
#[derive(Args, Debug)]
pub struct OracleArgs {
    /// Seed of the random workload.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Number of operations (calls, requests, deletes, proxies, clock advances).
    #[arg(long, default_value_t = 1000)]
    pub ops: usize,
    /// Profile: 2.5, 2.4 or 0.13 (the interpreter must have that library installed).
    #[arg(long, default_value = "2.5")]
    pub profile: String,
    /// Python interpreter with the library installed. Default: $FLASKCACHE_PY_FC25 /
    /// $FLASKCACHE_PY_FC24 / $FLASKCACHE_PY_FC013 for the profile, else the workspace's
    /// .venv-fc25 / .venv-fc24 / .venv-fc013 (created by .ci/run).
    #[arg(long)]
    pub python: Option<PathBuf>,
    /// Directory for the workload script, its trace and any failure trace: oracle/ under
    /// $CARGO_TARGET_DIR when that is set, else under target/.
    #[arg(long, value_name = "DIR", default_value_os_t = target_subdir("oracle"))]
    pub out_dir: PathBuf,
}

/// Where the recorder package lives (`sim/recorder`).
fn recorder_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("recorder")
}

fn default_python(profile: Profile) -> Option<PathBuf> {
    let (env, venv) = match profile {
        Profile::FlaskCaching25 => ("FLASKCACHE_PY_FC25", ".venv-fc25"),
        Profile::FlaskCaching24 => ("FLASKCACHE_PY_FC24", ".venv-fc24"),
        Profile::FlaskCache013 => ("FLASKCACHE_PY_FC013", ".venv-fc013"),
    };
    if let Ok(p) = std::env::var(env) {
        return Some(PathBuf::from(p));
    }
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let p = workspace.join(venv).join("bin/python");
    p.exists().then_some(p)
}

/// Runs the workload in the real library; returns the trace's text.
fn record(python: &Path, script: &Path, trace: &Path) -> Result<String, String> {
    let mut pythonpath = recorder_dir().into_os_string();
    if let Some(existing) = std::env::var_os("PYTHONPATH") {
        pythonpath.push(":");
        pythonpath.push(existing);
    }
    let output = Command::new(python)
        .args(["-m", "flaskcache_recorder", "-o"])
        .arg(trace)
        .arg(script)
        .env("PYTHONPATH", pythonpath)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
    if !output.status.success() {
        return Err(format!(
            "the recorder failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    std::fs::read_to_string(trace).map_err(|e| format!("{}: {e}", trace.display()))
}

/// The records of `trace` up to and including top-level event `number`.
fn prefix(trace: &Trace, number: u64) -> Trace {
    let mut records = Vec::new();
    for record in &trace.records {
        let last = matches!(record, Record::Event(e) if e.number >= number);
        records.push(record.clone());
        if last {
            break;
        }
    }
    Trace {
        config: trace.config.clone(),
        records,
    }
}

/// Runs `flaskcache oracle`, writing its report to `out` (errors go to standard error).
pub fn run(args: &OracleArgs, out: &mut dyn Write) -> std::io::Result<ExitCode> {
    let Some(profile) = Profile::parse(&args.profile) else {
        eprintln!(
            "flaskcache oracle: unknown profile {:?} (expected 2.5, 2.4 or 0.13)",
            args.profile
        );
        return Ok(ExitCode::from(2));
    };
    let Some(python) = args.python.clone().or_else(|| default_python(profile)) else {
        eprintln!(
            "flaskcache oracle: no Python with the profile {} library: pass --python, or run .ci/run to create the venvs",
            profile.as_str()
        );
        return Ok(ExitCode::from(2));
    };
    let dir = args
        .out_dir
        .join(format!("{}-seed-{}", profile.as_str(), args.seed));
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("flaskcache oracle: {}: {e}", dir.display());
        return Ok(ExitCode::from(2));
    }
    let script_path = dir.join("workload.py");
    let trace_path = dir.join("workload.trace.jsonl");
    let script = script::generate(args.seed, args.ops, profile);
    if let Err(e) = std::fs::write(&script_path, script) {
        eprintln!("flaskcache oracle: {}: {e}", script_path.display());
        return Ok(ExitCode::from(2));
    }
    let text = match record(&python, &script_path, &trace_path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("flaskcache oracle: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let trace = match parse_trace(&text) {
        Ok(t) => t,
        Err(e) => {
            eprintln!(
                "flaskcache oracle: {}",
                trace_error(&trace_path.to_string_lossy(), &e)
            );
            return Ok(ExitCode::from(2));
        }
    };
    if trace.config.profile != profile {
        eprintln!(
            "flaskcache oracle: {} runs profile {}, not {}",
            python.display(),
            trace.config.profile.as_str(),
            profile.as_str()
        );
        return Ok(ExitCode::from(2));
    }
    let report = match replay(&trace) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("flaskcache oracle: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let Some(m) = report.mismatch else {
        writeln!(
            out,
            "oracle: profile {} seed {}: {} operations, {} events, {} steps, 0 divergences",
            profile.as_str(),
            args.seed,
            args.ops,
            report.events,
            report.steps
        )?;
        return Ok(ExitCode::SUCCESS);
    };
    let failure = dir.join("failure.trace.jsonl");
    let shortest = prefix(&trace, m.event);
    let written = std::fs::write(&failure, shortest.to_jsonl());
    if let Err(e) = &written {
        eprintln!("flaskcache oracle: {}: {e}", failure.display());
    }
    writeln!(
        out,
        "oracle: profile {} seed {}: DIVERGENCE at event {}, step {}",
        profile.as_str(),
        args.seed,
        m.event,
        m.step + 1
    )?;
    writeln!(out, "  real library: {}", m.expected)?;
    writeln!(out, "  flaskcache:   {}", m.ours)?;
    if written.is_ok() {
        writeln!(
            out,
            "  shortest failing prefix ({} records): {}",
            shortest.records.len(),
            failure.display()
        )?;
        writeln!(
            out,
            "  reproduce: flaskcache replay {}",
            shell_quote(&failure.to_string_lossy())
        )?;
    }
    writeln!(
        out,
        "  or rerun: flaskcache oracle --seed {} --ops {} --profile {}{}",
        args.seed,
        args.ops,
        profile.as_str(),
        match &args.python {
            Some(p) => format!(" --python {}", shell_quote(&p.to_string_lossy())),
            None => String::new(),
        }
    )?;
    Ok(ExitCode::FAILURE)
}
