//! The flaskcache side of `flaskcache bench TRACE`: the trace's commands replayed through
//! the engine over a [`MemoryStore`] configured as `flaskcache replay` configures it, each
//! top-level event timed on its own.
//!
//! Only the engine's work is inside the timer: `start`/`resume`, the store operations,
//! and the recorded function results and hook answers handed back (moved in, having been
//! cloned from the recording beforehand). Converting the recorded command and those of
//! the events its body made, building its recorded versions, installing them, and
//! checking every outcome against the recording happen outside it. What remains in the
//! timer that is not the engine's is the two clock readings (about 20 ns on this
//! machine kind, as `perf_counter_ns` costs the Python side about 60 ns), and, for each
//! cached call a function body made, the freeing of that call's answer lists and spent
//! version source (the harness has its own per-nested-call bookkeeping). The trace is
//! first replayed by `flaskcache replay`'s checker, so a timed replay runs exactly the
//! recorded work.

use crate::replay::{engine_config, store_config, Declarations};
use crate::trace::{Event, Record, Trace, TraceCommand, TraceStep};
use flaskcache_engine::engine::{CacheEvent, Command, Engine, Input, Outcome, Step, VersionSource};
use flaskcache_engine::keys::VersionGenerator;
use flaskcache_engine::store::{MemoryStore, StoreOp};
use flaskcache_engine::{PyError, Value};
use std::time::Instant;

/// One timed operation: a top-level event that is not a clock advance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timed {
    /// The event's number in the trace.
    pub event: u64,
    /// Which kind of operation it is (`memoize hit`, `view miss`, `delete`, ...).
    pub kind: &'static str,
    /// Nanoseconds it took.
    pub ns: u64,
}

/// The events a round times, in file order: every top-level event but clock advances.
pub fn timed_events(trace: &Trace) -> impl Iterator<Item = &Event> {
    trace.records.iter().filter_map(|r| match r {
        Record::Event(e) if !matches!(e.command, TraceCommand::Tick(_)) => Some(e),
        _ => None,
    })
}

/// The kind of a replayed event, from its command and what the cache did.
fn kind(command: &TraceCommand, outcome: &Outcome) -> &'static str {
    let hit = matches!(outcome.event, CacheEvent::Hit { .. });
    let miss = matches!(outcome.event, CacheEvent::Miss { .. });
    match command {
        TraceCommand::Call { .. } if hit => "memoize hit",
        TraceCommand::Call { .. } if miss => "memoize miss",
        TraceCommand::Call { .. } => "memoize uncached",
        TraceCommand::Request { .. } if hit => "view hit",
        TraceCommand::Request { .. } if miss => "view miss",
        TraceCommand::Request { .. } => "view uncached",
        TraceCommand::DeleteMemoized { .. } => match outcome.event {
            _ if outcome.result.is_err() => "delete_memoized (raises)",
            CacheEvent::VersionReset { .. } => "delete_memoized (version reset)",
            _ => "delete_memoized",
        },
        TraceCommand::DeleteMemoizedVerhash { .. } => "delete_memoized_verhash",
        TraceCommand::DeleteCached { .. } => "delete_cached",
        TraceCommand::Backend(StoreOp::Delete { .. }) => "delete",
        TraceCommand::Backend(op) => match op {
            StoreOp::Get { .. } => "backend get",
            StoreOp::GetMany { .. } => "backend get_many",
            StoreOp::Has { .. } => "backend has",
            StoreOp::Set { .. } => "backend set",
            StoreOp::Add { .. } => "backend add",
            StoreOp::SetMany { .. } => "backend set_many",
            StoreOp::DeleteMany { .. } => "backend delete_many",
            _ => "backend clear",
        },
        TraceCommand::Tick(_) => "tick",
    }
}

/// An event made ready before the timer starts: its engine command, its recorded versions,
/// and the recorded answers (function results, hook answers) as owned values, so that
/// handing one back inside the timer is a move, as a Python body returns a value it
/// already holds.
struct Prepared<'t> {
    event: &'t Event,
    command: Command,
    versions: VersionSource,
    body: Answers<'t>,
}

/// The recorded answers of one event, in the order the engine asks for them.
struct Answers<'t> {
    /// Per function run: what it returned or raised, and the cached calls it made.
    computes: std::vec::IntoIter<(Result<Value, PyError>, Vec<Prepared<'t>>)>,
    hooks: std::vec::IntoIter<Result<bool, PyError>>,
}

/// One replay of the trace through a fresh engine and store.
struct Replay {
    engine: Engine,
    store: MemoryStore,
    declarations: Declarations,
}

impl Replay {
    fn new(trace: &Trace) -> Result<Self, String> {
        let c = &trace.config;
        Ok(Replay {
            engine: Engine::new(engine_config(c)),
            store: MemoryStore::new(store_config(c)?),
            declarations: Declarations::default(),
        })
    }

    /// `event` and the events its function body made, ready to run; `None` for an event
    /// with no engine command.
    fn prepare<'t>(&self, event: &'t Event) -> Result<Option<Prepared<'t>>, String> {
        let Some(command) = self.declarations.command(event)? else {
            return Ok(None);
        };
        let mut computes = Vec::new();
        let mut hooks = Vec::new();
        for step in &event.steps {
            match step {
                TraceStep::Compute { result, events } => {
                    let mut nested = Vec::with_capacity(events.len());
                    for inner in events {
                        nested.extend(self.prepare(inner)?);
                    }
                    computes.push((result.clone(), nested));
                }
                TraceStep::Hook { answer, .. } => hooks.push(answer.clone()),
                TraceStep::Store { .. } | TraceStep::Log(_) => {}
            }
        }
        Ok(Some(Prepared {
            event,
            command,
            versions: versions(event),
            body: Answers {
                computes: computes.into_iter(),
                hooks: hooks.into_iter(),
            },
        }))
    }

    /// Runs `event` (and the events its function body made) to its outcome, taking the
    /// recorded answers from `body`. Everything in here is what the timer measures; the
    /// outcomes of nested events go to `nested`, to
    /// be checked once the timer has stopped.
    fn run<'t>(
        &mut self,
        event: &'t Event,
        command: Command,
        body: &mut Answers<'t>,
        nested: &mut Vec<(&'t Event, Outcome)>,
    ) -> Result<Outcome, String> {
        let invalid =
            |e: flaskcache_engine::engine::EngineError| format!("event {}: {e}", event.number);
        let mut step = self.engine.start(command).map_err(invalid)?;
        loop {
            let input = match step {
                Step::Store(op) => Input::Store(self.store.execute(&op, event.at)),
                Step::Compute => {
                    let Some((result, inner)) = body.computes.next() else {
                        return Err(format!(
                            "event {}: the function ran more often than recorded",
                            event.number
                        ));
                    };
                    for mut p in inner {
                        let outer = self.engine.replace_version_source(p.versions);
                        let outcome = self.run(p.event, p.command, &mut p.body, nested)?;
                        self.engine.set_version_source(outer);
                        nested.push((p.event, outcome));
                    }
                    Input::Computed(result)
                }
                Step::Hook(_) => match body.hooks.next() {
                    Some(answer) => Input::Hook(answer),
                    None => {
                        return Err(format!(
                            "event {}: a hook was asked more often than recorded",
                            event.number
                        ))
                    }
                },
                Step::Log(_) => Input::Logged,
                Step::Done(outcome) => return Ok(outcome),
            };
            step = self.engine.resume(input).map_err(invalid)?;
        }
    }
}

/// How many events `event`'s function bodies made, at every depth.
fn nested_events(event: &Event) -> usize {
    event
        .steps
        .iter()
        .map(|s| match s {
            TraceStep::Compute { events, .. } => {
                events.len() + events.iter().map(nested_events).sum::<usize>()
            }
            _ => 0,
        })
        .sum()
}

fn versions(event: &Event) -> VersionSource {
    VersionSource::Injected(
        event.versions.iter().copied().collect(),
        VersionGenerator::new(0),
    )
}

fn check(event: &Event, outcome: &Outcome) -> Result<(), String> {
    if outcome.result == event.result {
        Ok(())
    } else {
        Err(format!(
            "event {}: flaskcache returned {:?}, the trace recorded {:?}",
            event.number, outcome.result, event.result
        ))
    }
}

/// Replays `trace` once on a fresh engine and store, timing each of [`timed_events`];
/// `Err` names the event whose outcome differs from the recording (which
/// `flaskcache replay` would report in detail).
pub fn replay(trace: &Trace) -> Result<Vec<Timed>, String> {
    let mut r = Replay::new(trace)?;
    let mut timed = Vec::new();
    // Room for every nested outcome of any event, so that no push inside a timer allocates.
    let mut nested = Vec::with_capacity(
        trace
            .records
            .iter()
            .map(|r| match r {
                Record::Event(e) => nested_events(e),
                _ => 0,
            })
            .max()
            .unwrap_or(0),
    );
    for record in &trace.records {
        let Record::Event(event) = record else {
            r.declarations.declare(&mut r.engine, record)?;
            continue;
        };
        let Some(p) = r.prepare(event)? else {
            continue;
        };
        r.engine.set_version_source(p.versions);
        nested.clear();
        // The answers are borrowed, so that freeing their lists falls after the timer.
        let mut body = p.body;
        let start = Instant::now();
        let outcome = r.run(event, p.command, &mut body, &mut nested);
        let ns = start.elapsed().as_nanos();
        let outcome = outcome?;
        for (inner, o) in &nested {
            check(inner, o)?;
        }
        check(event, &outcome)?;
        timed.push(Timed {
            event: event.number,
            kind: kind(&event.command, &outcome),
            ns: u64::try_from(ns).unwrap_or(u64::MAX),
        });
    }
    Ok(timed)
}
