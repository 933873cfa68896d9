//! `flaskcache explain`: why a delete missed, at the app's own line, with the call that
//! would have worked.
//!
//! A recorded trace is replayed (it must replay with 0 mismatches: the explanation is only
//! as good as the reproduction); a [`history::History`] watches the replay and keeps, for
//! every live key, the call that stored its value. After every delete-like call that
//! missed (a key it named held nothing live), the entries it most likely meant are the
//! live ones related to it in form only ([`relate`]: the same path written another way,
//! the same argument in another type, the receiver left out); for each, corrected calls
//! are tried on a copy of the cache at that moment ([`probe`]) and a candidate is kept only
//! when one of them removes it. Hits served a value a faulty delete left in place are
//! stale reads of that finding. Besides deletes: whole-function invalidations judged by
//! what followed, memoize keys holding a memory address (one entry per object), version
//! keys evicted while their entries lived, two calls sharing one key, and keys that differ
//! across Pythons on a shared backend. The rules are in [`rule`], documented one section
//! each in `docs/pitfalls.md`.

pub mod finding;
pub mod history;
pub mod probe;
pub mod python;
pub mod relate;
pub mod render;
pub mod rule;
pub mod source;

use crate::replay::{replay_observed, trace_error};
use crate::trace::{parse_trace_with_sites, Trace, TraceConfig};
use clap::{Args, ValueEnum};
use finding::Finding;
use flaskcache_engine::PythonVersion;
use history::{History, Row};
use std::io::{IsTerminal, Write};
use std::process::ExitCode;

/// Arguments of `flaskcache explain`.
#[derive(Args, Debug)]
pub struct ExplainArgs {
    /// Trace files recorded by the recorder (docs/recorder.md), e.g. OUT.jsonl or a test
    /// suite's OUT.001.jsonl OUT.002.jsonl ...
    #[arg(required = true)]
    pub traces: Vec<String>,
    /// `text`: the timeline with each finding under its event; `json`: the findings as
    /// JSON (schema in docs/pitfalls.md).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Only each rule found, once, with its count and first site (lint a test suite).
    #[arg(long)]
    pub summary: bool,
    /// Colour the text output: `auto` when standard output is a terminal.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
}

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// The readable timeline.
    Text,
    /// JSON.
    Json,
}

/// When to colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Color {
    /// On a terminal.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// What `explain` made of one trace.
#[derive(Debug)]
pub struct Explanation {
    /// The trace's file.
    pub path: String,
    /// Its configuration.
    pub config: TraceConfig,
    /// The timeline.
    pub rows: Vec<Row>,
    /// The findings, in event order.
    pub findings: Vec<Finding>,
}

/// Explains a parsed trace with its call sites. `Err` when it cannot be replayed, or does
/// not replay with 0 mismatches.
pub fn explain(
    path: &str,
    trace: &Trace,
    sites: &crate::trace::EventSites,
) -> Result<Explanation, String> {
    let names = python::Names::of(trace);
    let probe = probe::Probe::new(trace)?;
    // Other processes share a Redis backend, possibly on another Python.
    let other_python = match (trace.config.backend.as_str(), trace.config.python) {
        ("RedisCache", PythonVersion::Py37 | PythonVersion::Py311) => Some(PythonVersion::Py312),
        ("RedisCache", PythonVersion::Py312 | PythonVersion::Py313) => Some(PythonVersion::Py311),
        _ => None,
    };
    let other_python = match other_python {
        Some(py) => Some((py, probe::Probe::on_python(trace, py)?)),
        None => None,
    };
    let mut history = History::new(&names, sites, &trace.config, probe, other_python);
    history.sources = source::Sources::for_trace(path);
    let report = replay_observed(trace, None, &mut history)?;
    if let Some(m) = report.mismatch {
        return Err(format!(
            "{path}: event {}, step {}: the trace does not replay (recorded: {}; flaskcache: {}), so it cannot be explained; `flaskcache replay {path}` shows the difference",
            m.event,
            m.step + 1,
            m.expected,
            m.ours
        ));
    }
    history.finish();
    // Findings in event order; rows refer to them by index, so renumber those.
    let mut order: Vec<usize> = (0..history.findings.len()).collect();
    order.sort_by_key(|&i| (history.findings[i].event, i));
    let mut new_index = vec![0; order.len()];
    for (new, &old) in order.iter().enumerate() {
        new_index[old] = new;
    }
    let findings = order.iter().map(|&i| history.findings[i].clone()).collect();
    let mut rows = std::mem::take(&mut history.rows);
    for row in &mut rows {
        for f in &mut row.findings {
            *f = new_index[*f];
        }
        row.findings.sort_unstable();
        if let Some(f) = &mut row.stale_of {
            *f = new_index[*f];
        }
    }
    Ok(Explanation {
        path: path.to_owned(),
        config: trace.config.clone(),
        rows,
        findings,
    })
}

/// Runs `flaskcache explain`: exit 0 with no finding, 1 with findings, 2 on bad input.
pub fn run(args: &ExplainArgs, out: &mut dyn Write) -> std::io::Result<ExitCode> {
    let mut explained = Vec::new();
    for path in &args.traces {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("flaskcache explain: {path}: {e}");
                return Ok(ExitCode::from(2));
            }
        };
        let (trace, sites) = match parse_trace_with_sites(&text) {
            Ok(parsed) => parsed,
            Err(e) => {
                eprintln!("flaskcache explain: {}", trace_error(path, &e));
                return Ok(ExitCode::from(2));
            }
        };
        match explain(path, &trace, &sites) {
            Ok(e) => explained.push(e),
            Err(message) => {
                eprintln!("flaskcache explain: {message}");
                return Ok(ExitCode::from(2));
            }
        }
    }
    let color = match args.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stdout().is_terminal(),
    };
    let style = render::Style { color };
    match (args.format, args.summary) {
        (Format::Json, summary) => {
            let json = render::json(&explained, summary);
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&json).unwrap_or_default()
            )?;
        }
        (Format::Text, true) => render::summary(&explained, &style, out)?,
        (Format::Text, false) => {
            for e in &explained {
                render::timeline(e, &style, out)?;
            }
            if explained.len() > 1 {
                render::summary(&explained, &style, out)?;
            }
        }
    }
    let findings: usize = explained.iter().map(|e| e.findings.len()).sum();
    Ok(ExitCode::from(u8::from(findings > 0)))
}
