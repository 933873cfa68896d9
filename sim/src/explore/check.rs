//! Re-checking a trace file: its commands run on the engine and the model side by side,
//! with the function results, hook answers and backend failures the trace recorded.
//! This is how a shrunk failing history written by `flaskcache explore` is reproduced
//! (`flaskcache explore --check-trace FILE`), and it works on any trace in the format of
//! `docs/trace-format.md` except nested calls (refused): on a trace recorded from the real
//! library it checks the model against the recording too, since each event's result must
//! be the one recorded.

use super::digest::Digest;
use super::pair::Pair;
use crate::model::{OpKind, Oracle};
use crate::trace::{Event, Record, Trace, TraceStep};
use flaskcache_engine::engine::{CachedId, HookQuery, MemoizedId, VersionSource};
use flaskcache_engine::error::{PyError, PyExceptionType};
use flaskcache_engine::keys::VersionGenerator;
use flaskcache_engine::store::{StoreError, StoreFlavor};
use flaskcache_engine::Value;
use std::collections::{BTreeMap, VecDeque};

/// Answers from one recorded event.
struct Recorded {
    computes: VecDeque<Result<Value, PyError>>,
    hooks: VecDeque<Result<bool, PyError>>,
    /// `(kind, occurrence, message)` of every backend call that raised `ConnectionError`.
    faults: Vec<(OpKind, usize, String)>,
    seen: [usize; 9],
}

impl Recorded {
    fn new(event: &Event) -> Recorded {
        let mut r = Recorded {
            computes: VecDeque::new(),
            hooks: VecDeque::new(),
            faults: Vec::new(),
            seen: [0; 9],
        };
        let mut counts = [0usize; 9];
        for step in &event.steps {
            match step {
                TraceStep::Store { op, reply } => {
                    let kind = OpKind::of(op);
                    let i = kind.index();
                    let n = counts.get(i).copied().unwrap_or(0);
                    if let Some(c) = counts.get_mut(i) {
                        *c += 1;
                    }
                    if let Err(e) = reply {
                        if e.kind == PyExceptionType::ConnectionError {
                            r.faults.push((kind, n, e.message.clone()));
                        }
                    }
                }
                TraceStep::Compute { result, .. } => r.computes.push_back(result.clone()),
                TraceStep::Hook { answer, .. } => r.hooks.push_back(answer.clone()),
                TraceStep::Log(_) => {}
            }
        }
        r
    }
}

impl Oracle for Recorded {
    fn compute(&mut self) -> Result<Value, PyError> {
        self.computes.pop_front().unwrap_or(Ok(Value::None))
    }

    fn hook(&mut self, _query: &HookQuery) -> Result<bool, PyError> {
        self.hooks.pop_front().unwrap_or(Ok(false))
    }

    fn fault(&mut self, kind: OpKind) -> Option<StoreError> {
        let i = kind.index();
        let n = self.seen.get(i).copied().unwrap_or(0);
        if let Some(s) = self.seen.get_mut(i) {
            *s += 1;
        }
        self.faults
            .iter()
            .find(|(k, at, _)| *k == kind && *at == n)
            .map(|(_, _, m)| StoreError::Failed(m.clone()))
    }
}

/// What checking a trace found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// Events run.
    pub events: usize,
    /// The first disagreement: the event number and what differed.
    pub divergence: Option<(u64, String)>,
}

/// Runs `trace`'s events (at most `limit`) on the engine and the model, over the trace's
/// backend (the profile's SimpleCache, or RedisCache with its key prefix). `Err` when the
/// trace describes something the simulator cannot run (an unsupported option or backend).
pub fn check_trace(trace: &Trace, limit: usize) -> Result<CheckReport, String> {
    if let Some(event) = first_nonstr_key(trace) {
        return Err(format!(
            "event {event} uses a backend key that is not a str; the reference model keys by str only, so such traces are checked by `flaskcache replay`"
        ));
    }
    let c = &trace.config;
    let store = crate::replay::store_config(c)?;
    if store.flavor == StoreFlavor::Werkzeug016Redis {
        return Err("the trace's backend is Flask-Cache 0.13's RedisCache (Werkzeug's), which the reference model does not model; such traces are checked by `flaskcache replay`".into());
    }
    let mut pair = Pair::new(c.profile, c.python, c.debug, store, 0);
    let versions: VecDeque<_> = trace
        .records
        .iter()
        .filter_map(|r| match r {
            Record::Event(e) => Some(e.versions.iter().copied()),
            _ => None,
        })
        .flatten()
        .collect();
    pair.model_mut().inject_versions(versions.iter().copied());
    pair.engine
        .set_version_source(VersionSource::Injected(versions, VersionGenerator::new(0)));
    let mut memoized: BTreeMap<String, MemoizedId> = BTreeMap::new();
    let mut cached: BTreeMap<String, CachedId> = BTreeMap::new();
    let mut report = CheckReport::default();
    for record in &trace.records {
        match record {
            Record::Memoize {
                id,
                function,
                options,
            } => {
                let m = pair
                    .memoize(function.clone(), options.clone())
                    .ok_or_else(|| format!("memoize {id:?}: not supported by this profile"))?;
                memoized.insert(id.clone(), m);
            }
            Record::Cached { id, options, .. } => {
                let v = pair
                    .cached(options.clone())
                    .ok_or_else(|| format!("cached {id:?}: not supported by this profile"))?;
                cached.insert(id.clone(), v);
            }
            Record::Event(event) => {
                if report.events >= limit {
                    break;
                }
                report.events += 1;
                let nested = event
                    .steps
                    .iter()
                    .any(|s| matches!(s, TraceStep::Compute { events, .. } if !events.is_empty()));
                if nested {
                    return Err(format!(
                        "event {}: nested cached calls are not re-run here (flaskcache replay runs them)",
                        event.number
                    ));
                }
                let unknown =
                    |what: &str, id: &str| format!("event {}: unknown {what} {id:?}", event.number);
                let resolved = event.command.to_engine(
                    |id| {
                        memoized
                            .get(id)
                            .copied()
                            .ok_or_else(|| unknown("function", id))
                    },
                    |id| cached.get(id).copied().ok_or_else(|| unknown("view", id)),
                )?;
                let Some(command) = resolved else { continue };
                let mut engine_oracle = Recorded::new(event);
                let mut model_oracle = Recorded::new(event);
                let mut hash = Digest::default();
                let ran = pair
                    .run(
                        &command,
                        event.at,
                        &mut engine_oracle,
                        &mut model_oracle,
                        false,
                        &mut hash,
                    )
                    .and_then(|executed| {
                        // Engine and model agree; both must also return what the trace
                        // recorded.
                        if executed.outcome.result != event.result {
                            return Err(super::pair::Mismatch {
                                kind: "recorded result",
                                detail: format!(
                                    "engine and model return {}, the trace recorded {}",
                                    crate::transcript::render_result(
                                        &executed.outcome.result,
                                        pair.python()
                                    ),
                                    crate::transcript::render_result(&event.result, pair.python())
                                ),
                            });
                        }
                        pair.compare_stores(event.at)
                    });
                match ran {
                    Ok(()) => {}
                    // A command neither side can run is the trace's problem, not a
                    // divergence.
                    Err(m) if m.kind == "refused" => {
                        return Err(format!("event {}: {}", event.number, m.detail))
                    }
                    Err(m) => {
                        report.divergence =
                            Some((event.number, format!("{}: {}", m.kind, m.detail)));
                        break;
                    }
                }
            }
        }
    }
    Ok(report)
}

/// The first event (nested ones included) whose backend call names a key that is not a
/// `str` (`store::nonstr`).
pub fn first_nonstr_key(trace: &Trace) -> Option<u64> {
    use flaskcache_engine::store::nonstr::is_nonstr;
    fn event_has(e: &crate::trace::Event) -> Option<u64> {
        if let crate::trace::TraceCommand::Backend(op) = &e.command {
            if op.any_key(is_nonstr) {
                return Some(e.number);
            }
        }
        e.steps.iter().find_map(|s| match s {
            crate::trace::TraceStep::Compute { events, .. } => events.iter().find_map(event_has),
            _ => None,
        })
    }
    trace.records.iter().find_map(|r| match r {
        Record::Event(e) => event_has(e),
        _ => None,
    })
}
