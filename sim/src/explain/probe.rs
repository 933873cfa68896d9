//! Trying calls out on a copy of the cache: "would this call still be served from the
//! cache?" and "does this corrected delete remove that entry?". The engine is the same one
//! the replay runs, with the trace's declarations; the store is a copy of the replay's at
//! the moment in question, so nothing a probe does reaches the history.

use crate::replay::{engine_config, Declarations};
use crate::trace::{Record, Trace, TraceCommand};
use flaskcache_engine::engine::{CacheEvent, Engine, HookQuery, Input, Outcome, Step};
use flaskcache_engine::store::MemoryStore;
use flaskcache_engine::store::Timestamp;
use flaskcache_engine::{PythonVersion, Value};

/// An engine with a trace's declarations, for trying calls out.
pub struct Probe {
    engine: Engine,
    declarations: Declarations,
}

impl Probe {
    /// A probe for `trace`'s functions and views.
    pub fn new(trace: &Trace) -> Result<Probe, String> {
        Probe::on_python(trace, trace.config.python)
    }

    /// A probe for `trace`'s functions and views as a process on Python `python` would
    /// run them (reprs, and so memoize keys, differ between Python releases).
    pub fn on_python(trace: &Trace, python: PythonVersion) -> Result<Probe, String> {
        let mut config = engine_config(&trace.config);
        config.python = python;
        let mut engine = Engine::new(config);
        let mut declarations = Declarations::default();
        for record in &trace.records {
            if !matches!(record, Record::Event(_)) {
                declarations.declare(&mut engine, record)?;
            }
        }
        Ok(Probe {
            engine,
            declarations,
        })
    }

    /// Declares one more memoized function on the probe (a variant of the app's, to try a
    /// change to its signature out).
    pub fn declare(&mut self, record: &Record) -> Result<(), String> {
        self.declarations.declare(&mut self.engine, record)
    }

    /// The key `call` reads at `at` on a copy of `store`, if it gets that far.
    pub fn key_of(
        &mut self,
        call: &TraceCommand,
        store: &MemoryStore,
        at: Timestamp,
    ) -> Option<String> {
        let mut copy = store.clone();
        match self.run(call, &mut copy, at)? {
            Outcome {
                event: CacheEvent::Hit { key } | CacheEvent::Miss { key, .. },
                ..
            } => Some(key),
            _ => None,
        }
    }

    /// Runs `command` at `at` on `store`: a function body returns `None` at once (a probe
    /// only asks what the cache does), `unless`, `forced_update` and `is_stale` answer no,
    /// `response_filter` yes. `None` when the command cannot run at all.
    pub fn run(
        &mut self,
        command: &TraceCommand,
        store: &mut MemoryStore,
        at: Timestamp,
    ) -> Option<Outcome> {
        let command = self.declarations.engine_command(command, 0).ok()??;
        let mut step = self.engine.start(command).ok()?;
        loop {
            let input = match step {
                Step::Done(outcome) => return Some(outcome),
                Step::Store(op) => Input::Store(store.execute(&op, at)),
                Step::Compute => Input::Computed(Ok(Value::None)),
                Step::Hook(HookQuery::ResponseFilter(_)) => Input::Hook(Ok(true)),
                Step::Hook(_) => Input::Hook(Ok(false)),
                Step::Log(_) => Input::Logged,
            };
            step = match self.engine.resume(input) {
                Ok(step) => step,
                Err(_) => {
                    self.engine.abort();
                    return None;
                }
            };
        }
    }

    /// Whether the decorated call `call` would be served from the cache in `store` at `at`
    /// (tried on a copy).
    pub fn hits(&mut self, call: &TraceCommand, store: &MemoryStore, at: Timestamp) -> bool {
        let mut copy = store.clone();
        matches!(
            self.run(call, &mut copy, at),
            Some(Outcome {
                event: CacheEvent::Hit { .. },
                ..
            })
        )
    }

    /// Whether `fix`, run instead of the faulty call on a copy of `store`, returns without
    /// raising and leaves none of `calls` served from the cache.
    pub fn fix_works(
        &mut self,
        fix: &TraceCommand,
        calls: &[&TraceCommand],
        store: &MemoryStore,
        at: Timestamp,
    ) -> bool {
        let mut copy = store.clone();
        match self.run(fix, &mut copy, at) {
            Some(Outcome { result: Ok(_), .. }) => {}
            _ => return false,
        }
        calls.iter().all(|call| !self.hits(call, &copy, at))
    }
}
