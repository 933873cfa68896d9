//! The flaskcache side of `flaskcache bench TRACE`: the trace's commands replayed through
//! the engine over a [`MemoryStore`] configured as `flaskcache replay` configures it, each
//! top-level event timed on its own.
//!
//! Only the engine's work is inside the timer: `start`/`resume`, the store operations,
//! and the recorded function results and hook answers handed back. Converting the recorded
//! command, installing the event's recorded versions and checking the outcome against the
//! recording happen outside it. The trace is first replayed by `flaskcache replay`'s
//! checker, so a timed round runs exactly the recorded work.

use crate::replay::{engine_config, store_config, Declarations};
use crate::trace::{Event, Record, Trace, TraceCommand, TraceStep};
use flaskcache_engine::engine::{CacheEvent, Command, Engine, Input, Outcome, Step, VersionSource};
use flaskcache_engine::keys::VersionGenerator;
use flaskcache_engine::store::{MemoryStore, StoreOp};
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

/// One replay of the trace through a fresh engine and store.
struct Round {
    engine: Engine,
    store: MemoryStore,
    declarations: Declarations,
}

impl Round {
    fn new(trace: &Trace) -> Result<Self, String> {
        let c = &trace.config;
        Ok(Round {
            engine: Engine::new(engine_config(c)),
            store: MemoryStore::new(store_config(c)?),
            declarations: Declarations::default(),
        })
    }

    fn command(&self, event: &Event) -> Result<Option<Command>, String> {
        self.declarations.command(event)
    }

    /// Runs `event` (and the events its function body made) to its outcome. Everything in
    /// here is what the timer measures, apart from the commands of nested events, which are
    /// converted when their body runs.
    fn run(&mut self, event: &Event, command: Command) -> Result<Outcome, String> {
        let invalid =
            |e: flaskcache_engine::engine::EngineError| format!("event {}: {e}", event.number);
        let mut computes = event.steps.iter().filter_map(|s| match s {
            TraceStep::Compute { result, events } => Some((result, events)),
            _ => None,
        });
        let mut hooks = event.steps.iter().filter_map(|s| match s {
            TraceStep::Hook { answer, .. } => Some(answer),
            _ => None,
        });
        let mut step = self.engine.start(command).map_err(invalid)?;
        loop {
            let input = match step {
                Step::Store(op) => Input::Store(self.store.execute(&op, event.at)),
                Step::Compute => {
                    let Some((result, nested)) = computes.next() else {
                        return Err(format!(
                            "event {}: the function ran more often than recorded",
                            event.number
                        ));
                    };
                    for inner in nested {
                        self.nested(inner)?;
                    }
                    Input::Computed(result.clone())
                }
                Step::Hook(_) => match hooks.next() {
                    Some(answer) => Input::Hook(answer.clone()),
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

    /// An event made by a function body, with its own recorded versions.
    fn nested(&mut self, event: &Event) -> Result<(), String> {
        let Some(command) = self.command(event)? else {
            return Ok(());
        };
        let outer = self.engine.replace_version_source(versions(event));
        let outcome = self.run(event, command)?;
        self.engine.set_version_source(outer);
        check(event, &outcome)
    }
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

/// Replays `trace` once, timing each of [`timed_events`]; `Err` names the event whose
/// outcome differs from the recording (which `flaskcache replay` would report in detail).
pub fn round(trace: &Trace) -> Result<Vec<Timed>, String> {
    let mut r = Round::new(trace)?;
    let mut timed = Vec::new();
    for record in &trace.records {
        let Record::Event(event) = record else {
            r.declarations.declare(&mut r.engine, record)?;
            continue;
        };
        let Some(command) = r.command(event)? else {
            continue;
        };
        r.engine.set_version_source(versions(event));
        let start = Instant::now();
        let outcome = r.run(event, command);
        let ns = start.elapsed().as_nanos();
        let outcome = outcome?;
        check(event, &outcome)?;
        timed.push(Timed {
            event: event.number,
            kind: kind(&event.command, &outcome),
            ns: u64::try_from(ns).unwrap_or(u64::MAX),
        });
    }
    Ok(timed)
}
