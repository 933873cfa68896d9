//! `flaskcache explain`'s fixes, applied: for every committed pitfall trace
//! (`docs/examples/pitfalls/<rule>.<profile>.trace.jsonl`) whose finding carries a verified
//! fix (a Python call: a corrected delete, or the colliding call spelled out), the test
//!
//! 1. explains the committed trace: the finding's rule must be the one the script's faulty
//!    line names (`# explain: <rule-id>`), at that line of that script;
//! 2. writes a copy of the script with that line replaced by the fix (same indentation),
//!    records it under the same library and backend as CI records the examples
//!    (`PYTHONPATH=sim/recorder PY -m flaskcache_recorder -o OUT SCRIPT`, from the repo
//!    root), and explains the fresh trace. It must have no stale read and no finding, except
//!    one the committed trace has too, at another line, whose fix is advice a call cannot
//!    carry out (default-repr-key: deleting the stale entry leaves the memory address in
//!    the key). And the later calls must do what the fix is for, site by site against the
//!    committed trace (explain is silent about a delete of an unrelated key, so "no
//!    finding" alone would pass a fix that does nothing): each stale read and the next call
//!    of each entry the faulty call meant are misses (computed afresh), the next call of
//!    each entry it invalidated needlessly is a hit;
//! 3. prints `fixed <trace>: <fix> (then line N a miss, ...)` for each, and
//!    `not applicable <trace>: <reason>` for a trace whose findings have no such fix
//!    (advice text, or not verified) or that has none.
//!
//! The patched copies and their traces go to `$CARGO_TARGET_TMPDIR/explain-fixes/` (under
//! `target/` by default; kept when the test fails), named `<rule>.py` in a directory per
//! trace, so the call sites keep the script's name and lines.
//!
//! The interpreters come from `FLASKCACHE_PY_FC25` / `_FC24` / `_FC013` and, for RedisCache
//! scripts, `FLASKCACHE_PY_FC25_REDIS` / `_FC24_REDIS` / `_FC013_REDIS` (or the `.venv-*`
//! directories `.ci/run` creates). When one is missing its traces are only explained (step 1) and a
//! `SKIPPED` line says so, unless `FLASKCACHE_REQUIRE_PYTHON=1` (set by CI) makes that a
//! failure; as in the other live tests, Flask-Cache 0.13 (Python 3.7) is required only with
//! `FLASKCACHE_REQUIRE_PY37=1`, the Redis venvs also with `FLASKCACHE_REQUIRE_REDIS=1`.

use flaskcache_engine::engine::{CacheEvent, Outcome};
use flaskcache_engine::MemoryStore;
use flaskcache_sim::explain::rule::Rule;
use flaskcache_sim::explain::{explain, finding::Finding, Explanation};
use flaskcache_sim::replay::{replay_observed, trace_error, ReplayObserver};
use flaskcache_sim::trace::{parse_trace_with_sites, Event, TraceCommand, TraceConfig};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

const PITFALLS: &str = "docs/examples/pitfalls";
const MARKER: &str = "# explain: ";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn env_is_1(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| v == "1")
}

/// Where a trace's library and backend run: the interpreter's variable, its venv, and the
/// variables that make a missing one a failure.
fn interpreter_for(
    config: &TraceConfig,
) -> Result<(&'static str, &'static str, Vec<&'static str>), String> {
    let version = config.library_version.as_str();
    let redis = config.backend == "RedisCache";
    let series = |p: &str| version == p || version.starts_with(&format!("{p}."));
    let python = ["FLASKCACHE_REQUIRE_PYTHON"];
    Ok(if series("2.5") && redis {
        (
            "FLASKCACHE_PY_FC25_REDIS",
            ".venv-fc25-redis",
            vec![python[0], "FLASKCACHE_REQUIRE_REDIS"],
        )
    } else if series("2.4") && redis {
        (
            "FLASKCACHE_PY_FC24_REDIS",
            ".venv-fc24-redis",
            vec![python[0], "FLASKCACHE_REQUIRE_REDIS"],
        )
    } else if series("0.13") && redis {
        (
            "FLASKCACHE_PY_FC013_REDIS",
            ".venv-fc013-redis",
            vec!["FLASKCACHE_REQUIRE_PY37"],
        )
    } else if redis {
        return Err(format!(
            "no interpreter has {} {version} with RedisCache",
            config.library
        ));
    } else if series("2.5") {
        ("FLASKCACHE_PY_FC25", ".venv-fc25", python.to_vec())
    } else if series("2.4") {
        ("FLASKCACHE_PY_FC24", ".venv-fc24", python.to_vec())
    } else if series("0.13") {
        (
            "FLASKCACHE_PY_FC013",
            ".venv-fc013",
            vec!["FLASKCACHE_REQUIRE_PY37"],
        )
    } else {
        return Err(format!("no interpreter has {} {version}", config.library));
    })
}

/// The interpreter, or `Err(why)` when it is missing and nothing requires it (a missing
/// required one panics).
fn interpreter(config: &TraceConfig) -> Result<PathBuf, String> {
    let (env, venv, required_by) = interpreter_for(config).unwrap_or_else(|e| panic!("{e}"));
    let (python, named) = match std::env::var(env) {
        Ok(p) => (PathBuf::from(&p), format!("{env}={p} does not exist")),
        Err(_) => (
            root().join(venv).join("bin/python"),
            format!("{env} is not set and {venv} does not exist (run .ci/run to create it)"),
        ),
    };
    if python.exists() {
        return Ok(python);
    }
    let why = format!(
        "no interpreter for {} {} ({}): {named}",
        config.library, config.library_version, config.backend
    );
    if let Some(var) = required_by.iter().find(|v| env_is_1(v)) {
        panic!("{var}=1 but {why}");
    }
    Err(why)
}

/// The faulty line of a script: its 1-based number and the rule its marker names.
fn marker(script: &Path) -> (u64, String) {
    let text =
        std::fs::read_to_string(script).unwrap_or_else(|e| panic!("{}: {e}", script.display()));
    let marked: Vec<(u64, String)> = text
        .lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let (_, rule) = line.rsplit_once(MARKER)?;
            Some((i as u64 + 1, rule.trim().to_owned()))
        })
        .collect();
    match marked.as_slice() {
        [one] => one.clone(),
        _ => panic!(
            "{}: expected exactly one line ending with `{MARKER}<rule-id>`, found {}",
            script.display(),
            marked.len()
        ),
    }
}

/// One call of the app, where it was made, and what the cache did for it.
#[derive(Clone, Debug)]
struct Call {
    event: u64,
    line: u64,
    function: String,
    /// How many earlier calls were made at the same line of the same function.
    occurrence: usize,
    command: TraceCommand,
    outcome: CacheEvent,
}

/// A trace explained, with its calls in event order.
struct Explained {
    explanation: Explanation,
    calls: Vec<Call>,
}

/// Keeps what the cache did for every event of a replay.
#[derive(Default)]
struct Outcomes(BTreeMap<u64, (TraceCommand, CacheEvent)>);

impl ReplayObserver for Outcomes {
    fn after_event(&mut self, event: &Event, outcome: &Outcome, _store: &MemoryStore) {
        self.0
            .insert(event.number, (event.command.clone(), outcome.event.clone()));
    }
}

fn explain_file(path: &Path) -> Result<Explained, String> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| format!("{shown}: {e}"))?;
    let (trace, sites) = parse_trace_with_sites(&text).map_err(|e| trace_error(&shown, &e))?;
    let explanation = explain(&shown, &trace, &sites)?;
    let mut outcomes = Outcomes::default();
    replay_observed(&trace, None, &mut outcomes)?;
    let mut seen: HashMap<(u64, String), usize> = HashMap::new();
    let calls = outcomes
        .0
        .into_iter()
        .filter_map(|(event, (command, outcome))| {
            let site = sites.get(&event)?;
            let n = seen.entry((site.line, site.function.clone())).or_default();
            *n += 1;
            Some(Call {
                event,
                line: site.line,
                function: site.function.clone(),
                occurrence: *n - 1,
                command,
                outcome,
            })
        })
        .collect();
    Ok(Explained { explanation, calls })
}

/// What a later call must do once the fix is applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// Computed afresh: the fix removed the entry it would have been served.
    Miss,
    /// Served from the cache: the fix no longer invalidates an entry that did not change.
    Hit,
}

/// A call site occurrence (line, function, occurrence) and what the cache must do there,
/// with why.
type Expectations = BTreeMap<(u64, String, usize), (Expect, String)>;

fn kind(outcome: &CacheEvent) -> &'static str {
    match outcome {
        CacheEvent::Hit { .. } => "a hit",
        CacheEvent::Miss { .. } => "a miss",
        CacheEvent::Bypassed => "bypassed",
        CacheEvent::Uncached { .. } => "uncached",
        CacheEvent::Deleted { .. } => "a delete",
        CacheEvent::VersionReset { .. } => "a version reset",
        CacheEvent::VersionDeleted { .. } => "a version delete",
        CacheEvent::Direct => "a direct call",
    }
}

/// What the fix of `finding` must change in the calls after it, read off the committed
/// trace: each stale read must become a miss; the next call of each entry the faulty call
/// meant must be a miss (computed afresh, not served the old value); and the next call of
/// each entry it invalidated without meaning to must be a hit.
fn expectations(finding: &Finding, calls: &[Call]) -> Expectations {
    let at = |event: u64| calls.iter().find(|c| c.event == event);
    let next_same = |command: &TraceCommand| {
        calls
            .iter()
            .find(|c| c.event > finding.event && c.command == *command)
    };
    let place = |c: &Call| (c.line, c.function.clone(), c.occurrence);
    let mut out = Expectations::new();
    for read in &finding.stale_reads {
        if let Some(c) = at(read.event) {
            let why = format!(
                "line {} was served a stale value (event {}, {}) and must be computed afresh",
                c.line,
                c.event,
                kind(&c.outcome)
            );
            out.insert(place(c), (Expect::Miss, why));
        }
    }
    // A collision: the faulty call itself was served another call's value; spelled out,
    // it must get an entry of its own.
    if matches!(
        finding.rule,
        Rule::PositionalOnlyCollision | Rule::FalsyDefaultCollision
    ) {
        if let Some(c) = at(finding.event) {
            let why = format!(
                "line {} was served another call's value (event {}, {}) and must be computed for itself",
                c.line,
                c.event,
                kind(&c.outcome)
            );
            out.insert(place(c), (Expect::Miss, why));
        }
        return out;
    }
    let meant: Vec<&str> = finding.candidates.iter().map(|c| c.key.as_str()).collect();
    for candidate in &finding.candidates {
        if let Some(c) = at(candidate.event).and_then(|stored| next_same(&stored.command)) {
            let why = format!(
                "line {}, the next call of {} (whose entry the fix removes), must be computed afresh (committed: {})",
                c.line,
                candidate.call,
                kind(&c.outcome)
            );
            out.entry(place(c)).or_insert((Expect::Miss, why));
        }
    }
    for key in finding
        .targeted_keys
        .iter()
        .filter(|k| !meant.contains(&k.as_str()))
    {
        let stored = calls.iter().rev().find(|c| {
            c.event < finding.event
                && matches!(&c.outcome, CacheEvent::Miss { key: k, stored: true } if k == key)
        });
        if let Some(c) = stored.and_then(|stored| next_same(&stored.command)) {
            let why = format!(
                "line {}, the next call of an entry the faulty call invalidated although it had not changed, must be served from the cache (committed: {})",
                c.line,
                kind(&c.outcome)
            );
            out.entry(place(c)).or_insert((Expect::Hit, why));
        }
    }
    out
}

/// The expectations the fresh trace's calls do not meet.
fn unmet(expected: &Expectations, calls: &[Call]) -> Vec<String> {
    expected
        .iter()
        .filter_map(|((line, function, occurrence), (expect, why))| {
            let call = calls.iter().find(|c| {
                c.line == *line && c.function == *function && c.occurrence == *occurrence
            });
            let ok = matches!(
                (expect, call.map(|c| &c.outcome)),
                (Expect::Miss, Some(CacheEvent::Miss { .. }))
                    | (Expect::Hit, Some(CacheEvent::Hit { .. }))
            );
            (!ok).then(|| {
                let got = call.map_or_else(
                    || format!("no call {} at line {line} (in {function})", occurrence + 1),
                    |c| format!("event {} was {}", c.event, kind(&c.outcome)),
                );
                format!("{why}; after the fix {got}")
            })
        })
        .collect()
}

/// A finding in one line: rule, site, fix, whether verified, stale reads.
fn describe(f: &Finding) -> String {
    let site = f
        .site
        .as_ref()
        .map_or_else(|| "no site".to_owned(), ToString::to_string);
    let stale: Vec<String> = f
        .stale_reads
        .iter()
        .map(|s| {
            s.site.as_ref().map_or_else(
                || format!("event {}", s.event),
                |site| format!("event {} at {site}", s.event),
            )
        })
        .collect();
    format!(
        "{} at {site}: `{}`; fix {:?} (verified: {}); {} stale read(s) [{}]; {}",
        f.rule.id(),
        f.call,
        f.fix,
        f.verified,
        f.stale_reads.len(),
        stale.join(", "),
        f.detail
    )
}

/// Whether the test applies a finding's fix: a verified call written in place of the faulty
/// one (a corrected delete, or the colliding call spelled out).
fn applicable(f: &Finding) -> bool {
    f.verified && f.fix_replaces_call && f.fix.is_some()
}

/// Why a trace's findings have no fix to apply.
fn not_applicable_reason(findings: &[Finding], marker_line: u64, marker_rule: &str) -> String {
    if findings.is_empty() {
        return format!(
            "explain reports no finding (the script marks line {marker_line} as {marker_rule})"
        );
    }
    findings
        .iter()
        .map(|f| {
            let why = match &f.fix {
                None => "no fix".to_owned(),
                Some(fix) if f.verified => {
                    format!("the fix is a change elsewhere, not a call at the line: {fix:?}")
                }
                Some(fix) => format!("the fix is advice, not a call: {fix:?}"),
            };
            format!("{} at line {}: {why}", f.rule.id(), line_of(f))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The line of a finding's site (0 without one).
fn line_of(f: &Finding) -> u64 {
    f.site.as_ref().map_or(0, |s| s.line)
}

/// Whether a finding of the fixed script's trace is one the fix cannot remove, by design:
/// not at the fixed line, and reported in the committed trace too (same rule, line,
/// function and fix) with a fix that is advice rather than a call, so this test could not
/// apply it. (default-repr-key: deleting the stale entry leaves the key's memory address.)
fn left_standing(f: &Finding, committed: &[Finding], fixed_line: u64) -> bool {
    let function = |f: &Finding| f.site.as_ref().map(|s| s.function.clone());
    line_of(f) != fixed_line
        && !applicable(f)
        && committed.iter().any(|c| {
            c.rule == f.rule
                && line_of(c) == line_of(f)
                && function(c) == function(f)
                && c.fix == f.fix
                && !applicable(c)
        })
}

/// The script with line `line` (1-based) replaced by `fix`, indented as it was.
fn patched(script: &str, line: u64, fix: &str) -> String {
    let mut out = String::with_capacity(script.len() + fix.len());
    for (i, text) in script.split_inclusive('\n').enumerate() {
        if i as u64 + 1 == line {
            let indent = &text[..text.len() - text.trim_start().len()];
            out.push_str(indent);
            out.push_str(fix);
            out.push('\n');
        } else {
            out.push_str(text);
        }
    }
    out
}

/// Records `script` with `python` into `out` as CI does; `Err` with its output on failure.
fn record(python: &Path, script: &Path, out: &Path) -> Result<(), String> {
    let output = Command::new(python)
        .args(["-m", "flaskcache_recorder", "-o"])
        .arg(out)
        .arg(script)
        .current_dir(root())
        .env("PYTHONPATH", root().join("sim/recorder"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "$ PYTHONPATH=sim/recorder {} -m flaskcache_recorder -o {} {} -> {}\n{}{}",
        python.display(),
        out.display(),
        script.display(),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    ))
}

/// The committed pitfall traces, sorted.
fn committed_traces() -> Vec<PathBuf> {
    let dir = root().join(PITFALLS);
    let mut traces: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|f| f.to_str())
                .is_some_and(|f| f.ends_with(".trace.jsonl") && !f.starts_with('.'))
        })
        .collect();
    traces.sort();
    traces
}

#[test]
fn explain_fixes_remove_their_findings() {
    let traces = committed_traces();
    assert!(!traces.is_empty(), "no traces in {PITFALLS}");
    let work = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("explain-fixes");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap_or_else(|e| panic!("{}: {e}", work.display()));

    let (mut fixed, mut not_applicable, mut skipped) = (0, 0, 0);
    let mut failures = String::new();
    for trace_path in &traces {
        let name = trace_path
            .file_name()
            .and_then(|f| f.to_str())
            .unwrap_or_default();
        let shown = format!("{PITFALLS}/{name}");
        let (rule, _) = name.split_once('.').unwrap_or((name, ""));
        let script_rel = format!("{PITFALLS}/{rule}.py");
        let script = root().join(&script_rel);
        assert!(script.exists(), "{shown}: no script {script_rel}");
        let (marker_line, marker_rule) = marker(&script);

        let Explained {
            explanation: committed,
            calls: committed_calls,
        } = explain_file(trace_path).unwrap_or_else(|e| panic!("{e}"));
        let findings: Vec<&Finding> = committed
            .findings
            .iter()
            .filter(|f| applicable(f))
            .collect();
        let finding = match findings.as_slice() {
            [] => {
                let why = not_applicable_reason(&committed.findings, marker_line, &marker_rule);
                println!("not applicable {shown}: {why}");
                not_applicable += 1;
                continue;
            }
            [one] => *one,
            many => panic!(
                "{shown}: {} findings with a verified call as fix; a pitfall script has one faulty line:\n  {}",
                many.len(),
                many.iter().map(|f| describe(f)).collect::<Vec<_>>().join("\n  ")
            ),
        };
        // 1. The committed trace: the marker's rule, at the marker's line.
        let site = finding.site.as_ref();
        assert_eq!(
            (
                finding.rule.id(),
                site.map(|s| s.file.as_str()),
                site.map(|s| s.line)
            ),
            (
                marker_rule.as_str(),
                Some(script_rel.as_str()),
                Some(marker_line)
            ),
            "{shown}: the finding is not the script's marked line\n  {}",
            describe(finding)
        );
        let fix = finding.fix.clone().unwrap_or_default();
        // What the fix must change in the later calls (so that a fix that merely silences
        // explain, e.g. a delete of an unrelated key, does not pass).
        let expected = expectations(finding, &committed_calls);
        assert!(
            !expected.is_empty(),
            "{shown}: no later call shows what the fix `{fix}` changes (no stale read, no later call of an entry it deletes or keeps)\n  {}",
            describe(finding)
        );

        // 2. The script with the fix, recorded afresh and explained.
        let python = match interpreter(&committed.config) {
            Ok(p) => p,
            Err(why) => {
                println!("SKIPPED {shown} (fix {fix}): {why}");
                skipped += 1;
                continue;
            }
        };
        let stem = name.trim_end_matches(".trace.jsonl");
        let dir = work.join(stem);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let source =
            std::fs::read_to_string(&script).unwrap_or_else(|e| panic!("{script_rel}: {e}"));
        let fixed_script = dir.join(format!("{rule}.py"));
        std::fs::write(&fixed_script, patched(&source, marker_line, &fix))
            .unwrap_or_else(|e| panic!("{}: {e}", fixed_script.display()));
        let fresh = dir.join(name);
        if let Err(e) = record(&python, &fixed_script, &fresh) {
            let _ = writeln!(failures, "{shown}: recording the fixed script failed\n{e}");
            continue;
        }
        let Explained {
            explanation: after,
            calls: fresh_calls,
        } = match explain_file(&fresh) {
            Ok(e) => e,
            Err(e) => {
                let _ = writeln!(
                    failures,
                    "{shown}: the fixed script's trace cannot be explained: {e}"
                );
                continue;
            }
        };
        let (before, now) = (&committed.config, &after.config);
        assert_eq!(
            (&now.library_version, &now.backend),
            (&before.library_version, &before.backend),
            "{shown}: {} recorded another library or backend",
            python.display()
        );
        // No stale read at all, nothing at the fixed line, nothing else but the committed
        // trace's own findings whose fix is advice (a call cannot remove them), and the
        // later calls miss or hit as the fix says they should.
        let stale: usize = after.findings.iter().map(|f| f.stale_reads.len()).sum();
        let (kept, wrong): (Vec<&Finding>, Vec<&Finding>) = after.findings.iter().partition(|f| {
            f.stale_reads.is_empty() && left_standing(f, &committed.findings, marker_line)
        });
        let unmet = unmet(&expected, &fresh_calls);
        if stale == 0 && wrong.is_empty() && unmet.is_empty() {
            let note = if kept.is_empty() {
                String::new()
            } else {
                format!(
                    " (still reported, as in the committed trace, with advice for a fix: {})",
                    kept.iter()
                        .map(|f| format!("{} at line {}", f.rule.id(), line_of(f)))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            let then: Vec<String> = expected
                .iter()
                .map(|((line, _, occurrence), (expect, _))| {
                    let nth = if *occurrence > 0 {
                        format!(" (call {})", occurrence + 1)
                    } else {
                        String::new()
                    };
                    let does = match expect {
                        Expect::Miss => "a miss",
                        Expect::Hit => "a hit",
                    };
                    format!("line {line}{nth} {does}")
                })
                .collect();
            println!("fixed {shown}: {fix} (then {}){note}", then.join(", "));
            fixed += 1;
            continue;
        }
        let same_rule = after.findings.iter().any(|f| f.rule == finding.rule);
        let _ = writeln!(
            failures,
            "{shown}: line {marker_line} replaced by `{fix}` ({}); the fresh trace {} has {} finding(s){}{}{}:",
            fixed_script.display(),
            fresh.display(),
            after.findings.len(),
            if same_rule { format!(", of rule {marker_rule}") } else { String::new() },
            if stale > 0 { format!(", {stale} stale read(s)") } else { String::new() },
            if unmet.is_empty() { String::new() } else { format!(", {} call(s) not as the fix says", unmet.len()) },
        );
        for line in after.findings.iter().map(describe).chain(unmet) {
            let _ = writeln!(failures, "  {line}");
        }
    }
    println!(
        "explain fixes: {} traces, {fixed} fixed, {not_applicable} not applicable, {skipped} skipped (no interpreter)",
        traces.len()
    );
    assert!(
        failures.is_empty(),
        "fixes that did not do what explain said:\n{failures}"
    );
    let _ = std::fs::remove_dir_all(&work);
}

/// The script with the `def` line of the function the signature `name(...)` names
/// replaced by `def <signature>:`, indented as it was; `None` when there is no such line.
fn with_signature(script: &str, signature: &str) -> Option<String> {
    let name = signature.split('(').next()?;
    let mut found = false;
    let mut out = String::with_capacity(script.len() + signature.len());
    for text in script.split_inclusive('\n') {
        let trimmed = text.trim_start();
        if !found && trimmed.starts_with(&format!("def {name}(")) {
            found = true;
            out.push_str(&text[..text.len() - trimmed.len()]);
            out.push_str(&format!("def {signature}:\n"));
        } else {
            out.push_str(text);
        }
    }
    found.then_some(out)
}

/// A fix that changes a function's signature (`` `def report(year, fmt=None, **opts)` ``,
/// `ordereddict-repr-across-pythons`), applied: the script's `def` line is rewritten, the
/// script re-recorded with the real library, and explain must no longer report the rule.
#[test]
fn signature_fixes_remove_their_findings() {
    let work = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("explain-signature-fixes");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap_or_else(|e| panic!("{}: {e}", work.display()));
    let mut applied = 0;
    for trace_path in committed_traces() {
        let name = trace_path
            .file_name()
            .and_then(|f| f.to_str())
            .unwrap_or_default()
            .to_owned();
        let shown = format!("{PITFALLS}/{name}");
        let Explained {
            explanation: committed,
            ..
        } = explain_file(&trace_path).unwrap_or_else(|e| panic!("{e}"));
        for finding in committed
            .findings
            .iter()
            .filter(|f| f.verified && !f.fix_replaces_call)
        {
            let fix = finding.fix.as_deref().unwrap_or_default();
            let Some(signature) = fix
                .split_once("`def ")
                .and_then(|(_, rest)| rest.split_once('`'))
                .map(|(sig, _)| sig)
            else {
                continue;
            };
            let Some(site) = &finding.site else { continue };
            let script = root().join(&site.file);
            let source =
                std::fs::read_to_string(&script).unwrap_or_else(|e| panic!("{}: {e}", site.file));
            let patched = with_signature(&source, signature).unwrap_or_else(|| {
                panic!("{shown}: no `def` line for {signature} in {}", site.file)
            });
            let python = match interpreter(&committed.config) {
                Ok(p) => p,
                Err(why) => {
                    println!("SKIPPED {shown} (fix {signature}): {why}");
                    continue;
                }
            };
            let dir = work.join(name.trim_end_matches(".trace.jsonl"));
            std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
            let fixed_script = dir.join(
                Path::new(&site.file)
                    .file_name()
                    .unwrap_or_else(|| panic!("{}: no file name", site.file)),
            );
            std::fs::write(&fixed_script, patched)
                .unwrap_or_else(|e| panic!("{}: {e}", fixed_script.display()));
            let fresh = dir.join(&name);
            record(&python, &fixed_script, &fresh).unwrap_or_else(|e| panic!("{shown}: {e}"));
            let after = explain_file(&fresh).unwrap_or_else(|e| panic!("{e}"));
            let left: Vec<&Finding> = after
                .explanation
                .findings
                .iter()
                .filter(|f| f.rule == finding.rule)
                .collect();
            assert!(
                left.is_empty(),
                "{shown}: with `def {signature}`, explain still reports {}:\n  {}",
                finding.rule.id(),
                left.iter()
                    .map(|f| describe(f))
                    .collect::<Vec<_>>()
                    .join("\n  ")
            );
            println!("fixed {shown}: def {signature}");
            applied += 1;
        }
    }
    assert!(
        applied > 0,
        "no committed pitfall trace has a signature fix to apply"
    );
}
