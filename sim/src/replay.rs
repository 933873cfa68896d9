//! `flaskcache replay`: drive the engine with a recorded trace's commands over a model of
//! the recorded backend, and compare every step with what the real library did.
//!
//! For each event the engine gets the recorded command at the recorded time; its backend
//! operations run on a [`MemoryStore`] configured like the recorded backend (the profile's
//! flavour, default timeout, threshold); the function body's results, hook answers and any
//! exception a real backend raised are taken from the trace; minted versions are the
//! recorded ones. Every operation and its reply, every function run, hook, log line and the
//! final result must match.

use crate::trace::{
    parse_trace, Event, Record, Trace, TraceCommand, TraceConfig, TraceError, TraceStep,
};
use crate::transcript::{hook_name, render_op, render_reply, render_result, render_store_call};
use clap::Args;
use flaskcache_engine::engine::{
    CachedId, Command, Engine, EngineConfig, Input, MemoizedId, Outcome, Step, VersionSource,
};
use flaskcache_engine::error::PyError;
use flaskcache_engine::keys::VersionGenerator;
use flaskcache_engine::store::{
    MemoryStore, StoreConfig, StoreError, StoreFlavor, StoreOp, StoreReply,
};
use flaskcache_engine::{Profile, PythonVersion, Value};
use std::collections::HashMap;
use std::io::Write;
use std::process::ExitCode;

/// Arguments of `flaskcache replay`.
#[derive(Args, Debug)]
pub struct ReplayArgs {
    /// Trace files (JSON Lines, docs/trace-format.md).
    #[arg(required = true)]
    pub traces: Vec<String>,
    /// Run the store operations on a real Redis server (redis://HOST:PORT[/DB]) instead
    /// of the model; RedisCache traces only. The trace's key prefix is emptied first
    /// (every key of the database when the prefix is empty). Virtual clock advances are
    /// made to hold on the server (docs/redis.md says how exactly).
    #[arg(long, value_name = "URL")]
    pub backend: Option<String>,
    /// Allow --backend on a server that is not on this machine (it is flushed).
    #[arg(long, requires = "backend")]
    pub allow_remote: bool,
}

/// The first step where flaskcache and the recording differ.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// The event's number in the trace.
    pub event: u64,
    /// The step's index within the event (0-based).
    pub step: usize,
    /// What the real library did there.
    pub expected: String,
    /// What flaskcache did.
    pub ours: String,
}

/// What a replay found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplayReport {
    /// Events replayed (nested ones included).
    pub events: usize,
    /// Steps compared.
    pub steps: usize,
    /// The first mismatch, if any (the replay stops there).
    pub mismatch: Option<Mismatch>,
}

/// The store flavour that models the recorded library's SimpleCache.
pub fn flavor_for(profile: Profile) -> StoreFlavor {
    match profile {
        Profile::FlaskCaching25 => StoreFlavor::Cachelib,
        Profile::FlaskCaching24 => StoreFlavor::FlaskCaching24,
        Profile::FlaskCache013 => StoreFlavor::Werkzeug016,
    }
}

/// Watches a replay: told about every event and backend operation as the replay runs it,
/// with the modelled store as it is at that point (`flaskcache explain` builds its history
/// this way). Nested events are reported inside their parent's, in the order Python made
/// them. Every method does nothing by default.
pub trait ReplayObserver {
    /// `event` is about to run; `store` is the state before it.
    fn before_event(&mut self, _event: &Event, _store: &MemoryStore) {}
    /// `op` of `event` is about to run on `store`.
    fn before_op(&mut self, _event: &Event, _op: &StoreOp, _store: &MemoryStore) {}
    /// `op` of `event` ran and answered `reply` (as the recording says: the replay checked
    /// that the model answered the same); `store` is the state after it.
    fn after_op(
        &mut self,
        _event: &Event,
        _op: &StoreOp,
        _reply: &Result<StoreReply, PyError>,
        _store: &MemoryStore,
    ) {
    }
    /// `event` ended with `outcome`, the recorded result; `store` is the state after it.
    fn after_event(&mut self, _event: &Event, _outcome: &Outcome, _store: &MemoryStore) {}
}

/// The observer of a plain replay.
struct Unobserved;

impl ReplayObserver for Unobserved {}

struct Replayer<'o> {
    observer: &'o mut dyn ReplayObserver,
    engine: Engine,
    /// The model of the recorded backend; with a real server, it only tracks deadlines.
    store: MemoryStore,
    /// The real server the operations run on, when replaying with `--backend`.
    real: Option<crate::redis_tool::replay_backend::RealSide>,
    py: PythonVersion,
    declarations: Declarations,
    report: ReplayReport,
}

/// Why replaying an event stopped early.
enum Stop {
    Mismatch(Mismatch),
    /// The trace names something the engine cannot run (e.g. an unsupported option).
    Invalid(String),
}

impl Replayer<'_> {
    fn mismatch(&self, event: &Event, step: usize, expected: String, ours: String) -> Stop {
        Stop::Mismatch(Mismatch {
            event: event.number,
            step,
            expected,
            ours,
        })
    }

    fn command(&self, event: &Event) -> Result<Option<Command>, Stop> {
        self.declarations.command(event).map_err(Stop::Invalid)
    }

    /// A backend call the real library saw raise `recorded`. The call still runs on the
    /// replay's store, because a call can fail after part of it took effect (RedisCache's
    /// `add` is `SETNX` then `EXPIRE`: a refused `EXPIRE` raises with the key created).
    /// When the store raises too, it must raise the same and keeps what it did; when it
    /// succeeds, the failure came from outside the modelled backend (a lost connection, an
    /// injected fault) before the call reached it, so the store is put back as it was.
    fn failed_call(
        &mut self,
        event: &Event,
        index: usize,
        op: &StoreOp,
        recorded: &PyError,
    ) -> Result<StoreError, Stop> {
        if let Some(real) = self.real.as_mut() {
            let ours = real.execute(op, event.at, &mut self.store);
            return match ours {
                Err(ours) if &ours.to_py_error(self.py) == recorded => Ok(ours),
                ours => Err(self.mismatch(
                    event,
                    index,
                    render_store_call(op, &Err(StoreError::Raised(recorded.clone())), self.py),
                    render_store_call(op, &ours, self.py),
                )),
            };
        }
        let before = self.store.clone();
        match self.store.execute(op, event.at) {
            Ok(_) => {
                self.store = before;
                Ok(StoreError::Raised(recorded.clone()))
            }
            Err(ours) if &ours.to_py_error(self.py) == recorded => Ok(ours),
            Err(ours) => Err(self.mismatch(
                event,
                index,
                render_store_call(op, &Err(StoreError::Raised(recorded.clone())), self.py),
                render_store_call(op, &Err(ours), self.py),
            )),
        }
    }

    /// Replays one event (and the events nested in its function body).
    fn event(&mut self, event: &Event) -> Result<(), Stop> {
        self.report.events += 1;
        if let Some(real) = self.real.as_mut() {
            if let Err((expected, ours)) = real.advance(event.at, &self.store) {
                return Err(self.mismatch(event, 0, expected, ours));
            }
        }
        let Some(command) = self.command(event)? else {
            return Ok(());
        };
        let py = self.py;
        let own_versions = VersionSource::Injected(
            event.versions.iter().copied().collect(),
            VersionGenerator::new(0),
        );
        let outer_versions = self.engine.replace_version_source(own_versions);
        self.observer.before_event(event, &self.store);
        let mut step = self
            .engine
            .start(command)
            .map_err(|e| Stop::Invalid(e.to_string()))?;
        let mut recorded = event.steps.iter().enumerate();
        let outcome = loop {
            if let Step::Done(outcome) = step {
                break outcome;
            }
            let Some((index, expected)) = recorded.next() else {
                let ours = describe_step(&step, py);
                return Err(self.mismatch(
                    event,
                    event.steps.len(),
                    "(no more steps: the call returned)".into(),
                    ours,
                ));
            };
            self.report.steps += 1;
            let input = match (&step, expected) {
                (Step::Store(op), TraceStep::Store { op: rop, reply }) if op == rop => {
                    self.observer.before_op(event, op, &self.store);
                    let input = match reply {
                        Ok(rreply) => {
                            let ours = match self.real.as_mut() {
                                Some(real) => real.execute(op, event.at, &mut self.store),
                                None => self.store.execute(op, event.at),
                            };
                            let same = match &ours {
                                Ok(reply) => same_after_pickle(reply, rreply),
                                Err(_) => false,
                            };
                            if !same {
                                return Err(self.mismatch(
                                    event,
                                    index,
                                    render_store_call(op, &Ok(rreply.clone()), py),
                                    render_store_call(op, &ours, py),
                                ));
                            }
                            // What the library got back (an object read back is a new
                            // object, with its own address in a default repr).
                            Input::Store(Ok(rreply.clone()))
                        }
                        Err(e) => Input::Store(Err(self.failed_call(event, index, op, e)?)),
                    };
                    self.observer.after_op(event, op, reply, &self.store);
                    input
                }
                (Step::Compute, TraceStep::Compute { result, events }) => {
                    let result = result.clone();
                    // Nested events run with their own versions; restore ours afterwards.
                    let mine = self.engine.replace_version_source(VersionSource::Injected(
                        Default::default(),
                        VersionGenerator::new(0),
                    ));
                    for nested in events {
                        self.event(nested)?;
                    }
                    self.engine.set_version_source(mine);
                    Input::Computed(result)
                }
                (Step::Hook(query), TraceStep::Hook { name, answer })
                    if hook_name(query) == name =>
                {
                    Input::Hook(answer.clone())
                }
                (Step::Log(d), TraceStep::Log(e)) if &d.error == e => Input::Logged,
                _ => {
                    return Err(self.mismatch(
                        event,
                        index,
                        describe_trace_step(expected, py),
                        describe_step(&step, py),
                    ))
                }
            };
            step = self
                .engine
                .resume(input)
                .map_err(|e| Stop::Invalid(e.to_string()))?;
        };
        if let Some((index, expected)) = recorded.next() {
            return Err(self.mismatch(
                event,
                index,
                describe_trace_step(expected, py),
                format!("(no more steps: {})", render_result(&outcome.result, py)),
            ));
        }
        self.report.steps += 1;
        if outcome.result != event.result {
            return Err(self.mismatch(
                event,
                event.steps.len(),
                render_result(&event.result, py),
                render_result(&outcome.result, py),
            ));
        }
        self.engine.set_version_source(outer_versions);
        self.observer.after_event(event, &outcome, &self.store);
        Ok(())
    }
}

/// Whether the real backend's `recorded` reply is the model's `ours` as the backend's
/// serializer gives it back: equal, except that an object whose repr shows a memory address
/// (CPython's default `<app.Session object at 0x7f…>`, or any repr with `at 0x…` in it) may
/// show another address there, because unpickling makes a new object. Everything else
/// (class, `__caching_id__`, the rest of the repr, every other value) must be equal.
pub fn same_after_pickle(ours: &StoreReply, recorded: &StoreReply) -> bool {
    match (ours, recorded) {
        (StoreReply::Value(a), StoreReply::Value(b)) => same_value(a, b),
        (StoreReply::Values(a), StoreReply::Values(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(a, b)| same_value(a, b))
        }
        (a, b) => a == b,
    }
}

fn same_value(a: &Value, b: &Value) -> bool {
    let all = |a: &[Value], b: &[Value]| {
        a.len() == b.len() && a.iter().zip(b).all(|(a, b)| same_value(a, b))
    };
    let pairs = |a: &[(Value, Value)], b: &[(Value, Value)]| {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|((ka, va), (kb, vb))| same_value(ka, kb) && same_value(va, vb))
    };
    match (a, b) {
        (Value::Tuple(a), Value::Tuple(b)) | (Value::List(a), Value::List(b)) => all(a, b),
        (Value::Dict(a), Value::Dict(b)) | (Value::OrderedDict(a), Value::OrderedDict(b)) => {
            pairs(a, b)
        }
        (Value::Object(a), Value::Object(b)) if a != b => {
            a.class == b.class
                && a.caching_id == b.caching_id
                && has_address(&a.repr)
                && without_addresses(&a.repr) == without_addresses(&b.repr)
        }
        (a, b) => a == b,
    }
}

/// The marker of an address in a repr: `at 0x` followed by hex digits.
const ADDRESS_MARK: &str = "at 0x";

pub(crate) fn has_address(repr: &str) -> bool {
    repr.match_indices(ADDRESS_MARK).any(|(i, m)| {
        repr[i + m.len()..]
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_hexdigit())
    })
}

/// `repr` with the hex digits after every `at 0x` removed.
pub(crate) fn without_addresses(repr: &str) -> String {
    let mut out = String::with_capacity(repr.len());
    let mut rest = repr;
    while let Some(i) = rest.find(ADDRESS_MARK) {
        let end = i + ADDRESS_MARK.len();
        out.push_str(&rest[..end]);
        rest = rest[end..].trim_start_matches(|c: char| c.is_ascii_hexdigit());
    }
    out.push_str(rest);
    out
}

fn describe_step(step: &Step, py: PythonVersion) -> String {
    match step {
        Step::Store(op) => format!("{} -> ...", render_op(op, py)),
        Step::Compute => "compute".into(),
        Step::Hook(q) => format!("hook {}", hook_name(q)),
        Step::Log(d) => format!("log {}: {}", d.error.kind.as_str(), d.error.message),
        Step::Done(o) => render_result(&o.result, py),
    }
}

fn describe_trace_step(step: &TraceStep, py: PythonVersion) -> String {
    match step {
        TraceStep::Store { op, reply: Ok(r) } => {
            format!("{} -> {}", render_op(op, py), render_reply(r, py))
        }
        TraceStep::Store { op, reply: Err(e) } => format!(
            "{} raises {}: {}",
            render_op(op, py),
            e.kind.as_str(),
            e.message
        ),
        TraceStep::Compute { result, .. } => format!("compute {}", render_result(result, py)),
        TraceStep::Hook { name, .. } => format!("hook {name}"),
        TraceStep::Log(e) => format!("log {}: {}", e.kind.as_str(), e.message),
    }
}

/// The engine configuration a trace was recorded under (its versions come from the trace,
/// so the seed is never used).
pub fn engine_config(c: &TraceConfig) -> EngineConfig {
    EngineConfig {
        profile: c.profile,
        python: c.python,
        debug: c.debug,
        version_seed: 0,
    }
}

/// The configuration of the store that models the trace's backend.
pub fn store_config(c: &TraceConfig) -> Result<StoreConfig, String> {
    Ok(StoreConfig {
        default_timeout: c.default_timeout,
        threshold: c.threshold,
        key_prefix: c.key_prefix.clone(),
        ignore_delete_many_errors: c.ignore_errors,
        flavor: store_flavor(c)?,
    })
}

/// A trace's declarations registered on one engine: each recorded id with its handle.
#[derive(Debug, Default)]
pub struct Declarations {
    memoized: HashMap<String, MemoizedId>,
    cached: HashMap<String, CachedId>,
}

impl Declarations {
    /// Registers `record` on `engine` when it is a declaration (an event is left to the
    /// caller). `Err` names a declaration the engine refuses.
    pub fn declare(&mut self, engine: &mut Engine, record: &Record) -> Result<(), String> {
        match record {
            Record::Memoize {
                id,
                function,
                options,
            } => {
                let handle = engine
                    .memoize(function.clone(), options.clone())
                    .map_err(|e| format!("{id}: {e}"))?;
                self.memoized.insert(id.clone(), handle);
            }
            Record::Cached { id, options, .. } => {
                let handle = engine
                    .cached(options.clone())
                    .map_err(|e| format!("{id}: {e}"))?;
                self.cached.insert(id.clone(), handle);
            }
            Record::Event(_) => {}
        }
        Ok(())
    }

    /// The engine command of `event`, its function and view ids looked up among the
    /// declarations; an unknown id is an error naming the event (`Ok(None)`: the event
    /// has no engine command).
    pub fn command(&self, event: &Event) -> Result<Option<Command>, String> {
        self.engine_command(&event.command, event.number)
    }

    /// The engine command of `command` (of event `number`, for the error message).
    pub fn engine_command(
        &self,
        command: &TraceCommand,
        number: u64,
    ) -> Result<Option<Command>, String> {
        let unknown = |what: &str, id: &str| format!("event {number}: unknown {what} {id:?}");
        command.to_engine(
            |id| {
                self.memoized
                    .get(id)
                    .copied()
                    .ok_or_else(|| unknown("function", id))
            },
            |id| {
                self.cached
                    .get(id)
                    .copied()
                    .ok_or_else(|| unknown("view", id))
            },
        )
    }
}

/// The store flavour that models the trace's backend: the profile's `SimpleCache`, or
/// `RedisCache` as Flask-Caching 2.5 / 2.4 or Flask-Cache 0.13 (Werkzeug's) drive it.
pub fn store_flavor(c: &TraceConfig) -> Result<StoreFlavor, String> {
    Ok(match (c.backend.as_str(), c.profile) {
        ("SimpleCache", profile) => flavor_for(profile),
        ("RedisCache", Profile::FlaskCaching25) => StoreFlavor::Redis,
        ("RedisCache", Profile::FlaskCaching24) => StoreFlavor::Redis24,
        ("RedisCache", Profile::FlaskCache013) => StoreFlavor::Werkzeug016Redis,
        (other, _) => {
            return Err(format!(
                "backend {other:?} cannot be replayed (only SimpleCache and RedisCache)"
            ))
        }
    })
}

/// Replays a parsed trace. `Err` when the trace asks for something the engine cannot run.
pub fn replay(trace: &Trace) -> Result<ReplayReport, String> {
    replay_on(trace, None)
}

/// Replays a parsed trace with its store operations on the real Redis server at `backend`
/// (`None`: on the model). `Err` when the trace cannot be replayed there.
pub fn replay_on(trace: &Trace, backend: Option<&str>) -> Result<ReplayReport, String> {
    replay_observed(trace, backend, &mut Unobserved)
}

/// Replays a parsed trace as [`replay_on`] does, telling `observer` about every event and
/// backend operation as it runs.
pub fn replay_observed(
    trace: &Trace,
    backend: Option<&str>,
    observer: &mut dyn ReplayObserver,
) -> Result<ReplayReport, String> {
    let c = &trace.config;
    let store = store_config(c)?;
    if backend.is_some() {
        if let Some(event) = crate::explore::check::first_nonstr_key(trace) {
            return Err(format!(
                "event {event} uses a backend key that is not a str; --backend replays str keys only (replay it on the model, without --backend)"
            ));
        }
    }
    let real = match backend {
        None => None,
        Some(url) => Some(crate::redis_tool::replay_backend::RealSide::open(
            url,
            c,
            store.flavor,
        )?),
    };
    let mut r = Replayer {
        observer,
        engine: Engine::new(engine_config(c)),
        store: MemoryStore::new(store),
        real,
        py: c.python,
        declarations: Declarations::default(),
        report: ReplayReport::default(),
    };
    for record in &trace.records {
        let Record::Event(event) = record else {
            r.declarations.declare(&mut r.engine, record)?;
            continue;
        };
        match r.event(event) {
            Ok(()) => {}
            Err(Stop::Mismatch(m)) => {
                r.report.mismatch = Some(m);
                return Ok(r.report);
            }
            Err(Stop::Invalid(why)) => return Err(why),
        }
    }
    if let Some(real) = r.real.as_mut() {
        if let Err((expected, ours)) = real.finish(&r.store) {
            let last = trace.records.iter().rev().find_map(|rec| match rec {
                Record::Event(e) => Some(e.number),
                _ => None,
            });
            r.report.mismatch = Some(Mismatch {
                event: last.unwrap_or(0),
                step: 0,
                expected: format!("at the end: {expected}"),
                ours,
            });
        }
    }
    Ok(r.report)
}

/// Where an error is, as every `flaskcache` error names it: `FILE:LINE` (1-based), or just
/// `FILE` when the error is about the file as a whole (line 0).
pub fn location(path: &str, line: usize) -> String {
    if line == 0 {
        path.to_owned()
    } else {
        format!("{path}:{line}")
    }
}

/// Reads and parses the trace file `path`; `Err` is the one-line message for standard error
/// (`FILE:LINE: reason`), naming a key vectors file given in place of a trace as such.
pub fn read_trace(path: &str) -> Result<Trace, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    parse_trace(&text).map_err(|e| {
        if crate::vectors::is_vector_file(&text) {
            format!(
                "{path}: this is a key vectors file (docs/vectors.md), not a trace (docs/trace-format.md); use flaskcache vectors"
            )
        } else {
            trace_error(path, &e)
        }
    })
}

/// A [`parse_trace`] error of the file `path`: `FILE:LINE: reason`.
pub fn trace_error(path: &str, e: &TraceError) -> String {
    format!("{}: {}", location(path, e.line), column_only(&e.reason))
}

/// `reason` with serde_json's `at line 1 column C` suffix (the line within the one JSON
/// line parsed, not the file's) turned into `(column C)`.
fn column_only(reason: &str) -> String {
    let Some((head, at)) = reason.rsplit_once(" at line ") else {
        return reason.to_owned();
    };
    match at.split_once(" column ") {
        Some((line, column))
            if !line.is_empty()
                && !column.is_empty()
                && line
                    .bytes()
                    .chain(column.bytes())
                    .all(|b| b.is_ascii_digit()) =>
        {
            format!("{head} (column {column})")
        }
        _ => reason.to_owned(),
    }
}

/// Runs `flaskcache replay`, writing its report to `out` (errors go to standard error).
pub fn run(args: &ReplayArgs, out: &mut dyn Write) -> std::io::Result<ExitCode> {
    let (mut steps, mut mismatches) = (0usize, 0usize);
    if let Some(url) = &args.backend {
        if !crate::redis_tool::real::is_loopback(url) && !args.allow_remote {
            eprintln!(
                "flaskcache replay: --backend {} is not on this machine, and replay empties the trace's key prefix there; add --allow-remote if that is really meant",
                crate::redis_tool::real::redact(url)
            );
            return Ok(ExitCode::from(2));
        }
    }
    for path in &args.traces {
        let trace = match read_trace(path) {
            Ok(t) => t,
            Err(message) => {
                eprintln!("flaskcache replay: {message}");
                return Ok(ExitCode::from(2));
            }
        };
        match replay_on(&trace, args.backend.as_deref()) {
            Ok(report) => {
                steps += report.steps;
                if let Some(m) = &report.mismatch {
                    mismatches += 1;
                    writeln!(
                        out,
                        "{path}: event {}, step {}: flaskcache differs from the recording",
                        m.event,
                        m.step + 1
                    )?;
                    writeln!(out, "  recorded:   {}", m.expected)?;
                    writeln!(out, "  flaskcache: {}", m.ours)?;
                } else {
                    writeln!(
                        out,
                        "{path}: {} events, {} steps, 0 mismatches",
                        report.events, report.steps
                    )?;
                }
            }
            Err(why) => {
                eprintln!("flaskcache replay: {path}: {why}");
                return Ok(ExitCode::from(2));
            }
        }
    }
    writeln!(
        out,
        "replayed {} traces, {steps} steps, {mismatches} mismatches",
        args.traces.len()
    )?;
    Ok(if mismatches == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use flaskcache_engine::value::{ClassRef, PyObject};

    fn object(repr: &str) -> Value {
        Value::Object(Box::new(PyObject {
            class: ClassRef::new("app", "Session"),
            repr: repr.into(),
            caching_id: None,
        }))
    }

    #[test]
    fn a_default_repr_read_back_may_show_another_address() {
        let stored = object("<app.Session object at 0x7f00aa>");
        let back = object("<app.Session object at 0x7f00bb>");
        let reply = |v: Value| StoreReply::Value(Value::List(vec![Value::int(1), v]));
        assert!(same_after_pickle(
            &reply(stored.clone()),
            &reply(back.clone())
        ));
        assert!(same_after_pickle(
            &StoreReply::Values(vec![stored.clone()]),
            &StoreReply::Values(vec![back])
        ));
        // Anything but the address must be the same.
        assert!(!same_after_pickle(
            &reply(stored.clone()),
            &reply(object("<app.Other object at 0x7f00bb>"))
        ));
        assert!(!same_after_pickle(
            &StoreReply::Value(object("Session(1)")),
            &StoreReply::Value(object("Session(2)"))
        ));
        assert!(!same_after_pickle(
            &StoreReply::Value(stored.clone()),
            &StoreReply::Value(Value::str("<app.Session object at 0x7f00aa>"))
        ));
        assert!(!same_after_pickle(
            &StoreReply::Value(Value::str("at 0x1")),
            &StoreReply::Value(Value::str("at 0x2"))
        ));
        assert_eq!(
            without_addresses("<a at 0x1f at 0x at 0xg>"),
            "<a at 0x at 0x at 0xg>"
        );
    }
}
