//! One run: a history executed on the engine and the model side by side, with the
//! invariants checked after every action.
//!
//! After each action:
//! 1. the engine's outcome equals the model's (result, hit or miss, key, what was deleted),
//!    and both logged the same number of swallowed exceptions;
//! 2. the engine's store equals the model's (keys in order, values, liveness, expiry), and
//!    a `SimpleCache` never holds more than `threshold + 1` entries; on a real Redis server
//!    ([`StoreSpec::Redis`] with a server), the live keys, their values and whether each has
//!    a deadline equal the model's, and at every advance of the virtual clock each deadline
//!    is where the model's is (`docs/redis.md`);
//! 3. a hit never returns a value computed before the last effective invalidation of its
//!    call (an invalidation that removed or orphaned the entry the call was served from);
//! 4. the action's digest equals the one recorded by an earlier run of the same seed, when
//!    one is given (`--check-determinism`).
//!
//! A hit that returns a value older than the database (a row changed since it was
//! computed) is not a bug: it is a *finding*, attributed to the last invalidation of that
//! call that removed nothing (`delete('/demo/student/all') removed nothing; the entry is
//! under 'view//demo/student/all'`), or to the absence of one.

use super::digest::Digest;
use super::pair::{render_outcome, Executed, Mismatch, Pair, PlanOracle};
use super::store::{PairStore, RealStore};
use crate::model::FxBuildHasher;
use crate::model::OpKind;
use crate::trace::{Event, TraceCommand, TraceStep};
use crate::workload::{
    describe_command, generation, py_str, Action, ActionKind, App, Db, Declaration, Dep, Form,
    RunSetup, Target, ACTION_KINDS,
};
use flaskcache_engine::engine::{CacheEvent, Command, Outcome};
use flaskcache_engine::error::{PyError, PyExceptionType};
use flaskcache_engine::keys::{Version, VersionGenerator};
use flaskcache_engine::store::{
    MemoryStore, StoreConfig, StoreFlavor, StoreOp, StoreReply, Timestamp,
};
use flaskcache_engine::{Profile, Value};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

/// Counters of a run (or of many, merged).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Runs counted.
    pub runs: u64,
    /// Runs per profile.
    pub runs_by_profile: BTreeMap<&'static str, u64>,
    /// `RedisCache` runs per key prefix (empty for `SimpleCache` runs).
    pub runs_by_prefix: BTreeMap<String, u64>,
    /// Actions executed, by kind ([`ACTION_KINDS`] order).
    pub ops: [u64; 9],
    /// Backend calls the engine made.
    pub store_ops: u64,
    /// Hits.
    pub hits: u64,
    /// Misses whose value was stored.
    pub misses_stored: u64,
    /// Misses whose value was not stored (filtered, raised, store failed).
    pub misses_unstored: u64,
    /// Calls served uncached after an error in the key or read phase.
    pub uncached: u64,
    /// Calls that bypassed the cache (`unless`).
    pub bypassed: u64,
    /// Invalidations attempted.
    pub invalidations: u64,
    /// Invalidations that removed (or orphaned) the entry their call was served from.
    pub effective: u64,
    /// Invalidations that left that entry in place.
    pub ineffective: u64,
    /// Invalidations of a call that had no entry.
    pub vacuous: u64,
    /// Stale reads found, by cause.
    pub stale: BTreeMap<String, Finding>,
    /// Faults injected, by backend method ([`OpKind::ALL`] order).
    pub faults: [u64; 9],
    /// Version keys lost.
    pub lost_version_keys: u64,
}

/// The stale reads of one cause, over the runs counted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// How many.
    pub count: u64,
    /// The first one, described.
    pub example: String,
    /// The run the example was found in.
    pub run: u64,
}

impl Stats {
    /// Adds `other`'s counts; the first example of each cause is kept.
    pub fn merge(&mut self, other: &Stats) {
        self.runs += other.runs;
        for (k, v) in &other.runs_by_profile {
            *self.runs_by_profile.entry(k).or_default() += v;
        }
        for (k, v) in &other.runs_by_prefix {
            *self.runs_by_prefix.entry(k.clone()).or_default() += v;
        }
        for (a, b) in self.ops.iter_mut().zip(other.ops) {
            *a += b;
        }
        self.store_ops += other.store_ops;
        self.hits += other.hits;
        self.misses_stored += other.misses_stored;
        self.misses_unstored += other.misses_unstored;
        self.uncached += other.uncached;
        self.bypassed += other.bypassed;
        self.invalidations += other.invalidations;
        self.effective += other.effective;
        self.ineffective += other.ineffective;
        self.vacuous += other.vacuous;
        for (cause, found) in &other.stale {
            let e = self.stale.entry(cause.clone()).or_insert_with(|| Finding {
                count: 0,
                ..found.clone()
            });
            e.count += found.count;
        }
        for (a, b) in self.faults.iter_mut().zip(other.faults) {
            *a += b;
        }
        self.lost_version_keys += other.lost_version_keys;
    }

    /// Actions executed.
    pub fn total_ops(&self) -> u64 {
        self.ops.iter().sum()
    }
}

/// A broken invariant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Divergence {
    /// The 0-based index of the action in the history.
    pub step: usize,
    /// The invariant: `outcome`, `store`, `stale after invalidation`, `nondeterminism`, ...
    pub kind: String,
    /// What differed.
    pub detail: String,
}

impl std::fmt::Display for Divergence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at step {}: {}", self.kind, self.step, self.detail)
    }
}

/// How to execute a history.
#[derive(Clone, Debug, Default)]
pub struct ExecOptions {
    /// Record a readable timeline and trace events.
    pub record: bool,
    /// Digests of an earlier run of the same history: the run must reproduce them.
    pub expect_digests: Option<Vec<u64>>,
}

/// What a run produced.
#[derive(Clone, Debug, Default)]
pub struct RunReport {
    /// Its counters.
    pub stats: Stats,
    /// The first broken invariant, if any (the run stops there).
    pub divergence: Option<Divergence>,
    /// The digest of each action's steps and outcome.
    pub digests: Vec<u64>,
    /// When recording: the timeline, one line per step.
    pub timeline: Vec<String>,
    /// When recording: the events for a trace file.
    pub events: Vec<Event>,
}

/// A value the app computed: when, for which call, from which rows.
#[derive(Clone, Debug)]
struct Meta {
    step: usize,
    target: Target,
    deps: Vec<Dep>,
}

/// The fate of one invalidation of a call.
#[derive(Clone, Debug)]
enum Attempt {
    Effective,
    Vacuous,
    Ineffective { cause: String, message: String },
}

struct Sim<'a> {
    setup: &'a RunSetup,
    /// `CACHE_KEY_PREFIX` of a `RedisCache` run (`None` for `SimpleCache`).
    redis_prefix: Option<String>,
    app: App,
    pair: Pair,
    db: Db,
    now: Timestamp,
    gen_engine: u64,
    gen_model: u64,
    meta: Vec<Meta>,
    writes: Vec<(usize, u8)>,
    attempts: BTreeMap<Target, Vec<(usize, Attempt)>>,
    last_effective: BTreeMap<Target, usize>,
    last_clear: Option<usize>,
    stats: Stats,
    record: bool,
    timeline: Vec<String>,
    events: Vec<Event>,
    trace_versions: VersionGenerator,
    /// The commands of the app's calls by `(target, via)`, built once: [`App::call`] is a
    /// pure function of them.
    calls: HashMap<(Target, bool), Rc<Command>, FxBuildHasher>,
    /// During a command: the generations its body computed and the rows each read.
    computed: Vec<(u64, Vec<Dep>)>,
    /// During a command: the engine side's results by generation, for the model's side.
    results: RefCell<Vec<(u64, Option<Computed>)>>,
}

/// A function body's result, as the oracle hands it over.
type Computed = Result<Value, PyError>;

/// The store configuration of a run.
pub fn store_config(setup: &RunSetup) -> StoreConfig {
    StoreConfig {
        threshold: setup.threshold,
        flavor: crate::replay::flavor_for(setup.profile),
        ..StoreConfig::default()
    }
}

/// Which backend a run's engine uses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum StoreSpec {
    /// The profile's `SimpleCache`, in memory.
    #[default]
    Simple,
    /// `CACHE_TYPE = "RedisCache"` (profiles 2.5 and 2.4) with this `CACHE_KEY_PREFIX` and
    /// Flask-Caching's default timeout: in memory when `server` is `None`, else on the real
    /// server at that URL (its prefix is emptied first).
    Redis {
        /// `CACHE_KEY_PREFIX` (`""`: none).
        prefix: String,
        /// `redis://host:port[/db]` of a real server.
        server: Option<String>,
    },
}

/// The Redis flavour of a profile's `RedisCache`: 2.4.1's, or cachelib 0.17's for 2.5.
pub fn redis_flavor(profile: Profile) -> StoreFlavor {
    match profile {
        Profile::FlaskCaching24 => StoreFlavor::Redis24,
        _ => StoreFlavor::Redis,
    }
}

/// The store configuration of a run on `store`.
pub fn store_config_on(setup: &RunSetup, store: &StoreSpec) -> StoreConfig {
    match store {
        StoreSpec::Simple => store_config(setup),
        StoreSpec::Redis { prefix, .. } => StoreConfig {
            key_prefix: Some(prefix.clone()),
            threshold: setup.threshold,
            ..StoreConfig::redis(redis_flavor(setup.profile))
        },
    }
}

/// The engine and model of a run, with the app registered on both.
pub fn build(setup: &RunSetup) -> (Pair, App) {
    let pair = Pair::new(
        setup.profile,
        setup.python,
        setup.debug,
        store_config(setup),
        setup.version_seed,
    );
    register(setup, pair)
}

/// [`build`] with the engine over `store`; `Err` when the server cannot be reached.
pub fn build_on(setup: &RunSetup, store: &StoreSpec) -> Result<(Pair, App), String> {
    let config = store_config_on(setup, store);
    let backend: Box<dyn PairStore> = match store {
        StoreSpec::Redis {
            server: Some(url), ..
        } => Box::new(RealStore::connect(url, &config)?),
        _ => Box::new(MemoryStore::new(config.clone())),
    };
    let pair = Pair::with_store(
        setup.profile,
        setup.python,
        setup.debug,
        config,
        backend,
        setup.version_seed,
    );
    Ok(register(setup, pair))
}

/// Registers the app's declarations on both sides.
fn register(setup: &RunSetup, mut pair: Pair) -> (Pair, App) {
    let mut funcs = Vec::new();
    let mut views = Vec::new();
    for d in App::declarations(setup.profile, &setup.knobs) {
        match d {
            Declaration::Memoize(f, o) => funcs.extend(pair.memoize(f, o)),
            Declaration::Cached(_, o) => views.extend(pair.cached(o)),
        }
    }
    let app = App::new(setup.profile, setup.python, funcs, views);
    (pair, app)
}

fn trace_command(command: &Command) -> TraceCommand {
    match command {
        Command::CallMemoized {
            function,
            bound_to,
            args,
            kwargs,
        } => TraceCommand::Call {
            function: format!("m{}", function.0),
            bound_to: bound_to.clone(),
            args: args.clone(),
            kwargs: kwargs.clone(),
        },
        Command::CallCached {
            view,
            request,
            prefix_result,
            custom_key,
        } => TraceCommand::Request {
            view: format!("c{}", view.0),
            request: request.as_ref().map(|r| (r.path.clone(), r.args.clone())),
            prefix_result: prefix_result.clone(),
            custom_key: custom_key.clone(),
        },
        Command::DeleteMemoized {
            function,
            bound_to,
            args,
            kwargs,
        } => TraceCommand::DeleteMemoized {
            function: format!("m{}", function.0),
            bound_to: bound_to.clone(),
            args: args.clone(),
            kwargs: kwargs.clone(),
        },
        Command::DeleteMemoizedVerhash { function, bound_to } => {
            TraceCommand::DeleteMemoizedVerhash {
                function: format!("m{}", function.0),
                bound_to: bound_to.clone(),
            }
        }
        Command::DeleteCached {
            view,
            path,
            query_args,
            url_for,
            prefix_result,
            request,
        } => TraceCommand::DeleteCached {
            view: format!("c{}", view.0),
            path: path.clone(),
            query_args: query_args.clone(),
            url_for: url_for.clone(),
            prefix_result: prefix_result.clone(),
            current_request: request.as_ref().map(|r| (r.path.clone(), r.args.clone())),
        },
        Command::Backend(op) => TraceCommand::Backend(op.clone()),
        Command::Tick => TraceCommand::Tick(0),
    }
}

impl Sim<'_> {
    /// A timeline line (callers build `text` only when recording: it is not free).
    fn step_line(&mut self, step: usize, text: String) {
        if self.record {
            self.timeline
                .push(format!("[{step}] t={}  {text}", self.now));
        }
    }

    fn note(&mut self, text: String) {
        if self.record {
            self.timeline.push(format!("      {text}"));
        }
    }

    /// Runs a command on both sides; `target` is the call whose body runs on a miss.
    fn command(
        &mut self,
        step: usize,
        command: &Command,
        target: Option<Target>,
        env: crate::workload::Env,
        hash: &mut Digest,
    ) -> Result<(Executed, Vec<OpKind>), Divergence> {
        let db = &self.db;
        let (gen_e, gen_m) = (&mut self.gen_engine, &mut self.gen_model);
        // Both lists are empty between commands; their buffers are kept.
        let computed = &mut self.computed;
        // What the engine's side computed, by generation: `db.compute(t, g)` depends only
        // on the database (unchanged during a command), the target and `g`, so the model's
        // side takes the result of a generation the engine's side already computed (a copy
        // made before the engine saw it) instead of formatting it again.
        let results = &self.results;
        let mut engine_oracle = PlanOracle::new(env.hooks, env.faults, || match target {
            Some(t) => {
                *gen_e += 1;
                let (r, deps) = db.compute(t, *gen_e);
                computed.push((*gen_e, deps));
                results.borrow_mut().push((*gen_e, Some(r.clone())));
                r
            }
            None => Ok(Value::None),
        });
        let mut model_oracle = PlanOracle::new(env.hooks, env.faults, || match target {
            Some(t) => {
                *gen_m += 1;
                let known = results
                    .borrow_mut()
                    .iter_mut()
                    .find(|(g, _)| *g == *gen_m)
                    .and_then(|(_, r)| r.take());
                known.unwrap_or_else(|| db.compute(t, *gen_m).0)
            }
            None => Ok(Value::None),
        });
        let result = self.pair.run(
            command,
            self.now,
            &mut engine_oracle,
            &mut model_oracle,
            self.record,
            hash,
        );
        let injected = std::mem::take(&mut engine_oracle.faults.injected);
        drop(engine_oracle);
        drop(model_oracle);
        self.results.borrow_mut().clear();
        if let Some(t) = target {
            for (g, deps) in self.computed.drain(..) {
                // Generations count from 1 and are pushed in order.
                if self.meta.len() as u64 + 1 == g {
                    self.meta.push(Meta {
                        step,
                        target: t.normalized(),
                        deps,
                    });
                }
            }
        }
        for kind in &injected {
            if let Some(n) = self.stats.faults.get_mut(kind.index()) {
                *n += 1;
            }
        }
        let executed = result.map_err(|m: Mismatch| Divergence {
            step,
            kind: m.kind.to_owned(),
            detail: format!(
                "{}\n  command: {}",
                m.detail,
                describe_command(command, self.setup.python)
            ),
        })?;
        self.stats.store_ops += executed.store_ops as u64;
        if self.record {
            let event_lines: Vec<String> = executed
                .lines
                .iter()
                .map(|l| format!("      {l}"))
                .collect();
            self.timeline.extend(event_lines);
            let outcome_line = render_outcome(&executed.outcome, self.setup.python);
            self.note(outcome_line);
            let versions: Vec<Version> = (0..executed.minted)
                .map(|_| self.trace_versions.next_version())
                .collect();
            self.events.push(Event {
                number: self.events.len() as u64 + 1,
                at: self.now,
                command: trace_command(command),
                versions,
                steps: executed.steps.clone(),
                result: executed.outcome.result.clone(),
            });
        }
        Ok((executed, injected))
    }

    fn count_event(&mut self, outcome: &Outcome) {
        match &outcome.event {
            CacheEvent::Hit { .. } => self.stats.hits += 1,
            CacheEvent::Miss { stored: true, .. } => self.stats.misses_stored += 1,
            CacheEvent::Miss { stored: false, .. } => self.stats.misses_unstored += 1,
            CacheEvent::Uncached { .. } => self.stats.uncached += 1,
            CacheEvent::Bypassed => self.stats.bypassed += 1,
            _ => {}
        }
    }

    /// Whether the model's cache holds nothing alive: a `clear()` that succeeded emptied
    /// it (always on `SimpleCache`; on `RedisCache` not when the prefix holds glob
    /// characters, which `KEYS prefix*` reads as a pattern).
    fn emptied(&self) -> bool {
        !self
            .pair
            .model()
            .store()
            .entries()
            .any(|e| crate::model::ModelStore::alive(e.expires, self.now))
    }

    /// The command of a call of `target` ([`App::call`], built once per target and `via`).
    fn call_command(&mut self, target: Target, via: bool) -> Rc<Command> {
        let app = &self.app;
        Rc::clone(
            self.calls
                .entry((target, via))
                .or_insert_with(|| Rc::new(app.call(target, via))),
        )
    }

    /// The entry `target` would be served from now, per the model.
    fn peek(&mut self, target: Target) -> Option<(String, Value)> {
        match &*self.call_command(target, false) {
            Command::CallMemoized {
                function,
                bound_to,
                args,
                kwargs,
            } => self.pair.model().peek_memoized(
                *function,
                bound_to.as_ref(),
                args,
                kwargs,
                self.now,
            ),
            Command::CallCached {
                view,
                request,
                prefix_result,
                ..
            } => self.pair.model().peek_cached(
                *view,
                request.as_ref(),
                prefix_result.as_deref(),
                self.now,
            ),
            _ => None,
        }
    }

    fn call(
        &mut self,
        step: usize,
        target: Target,
        via: bool,
        env: crate::workload::Env,
        hash: &mut Digest,
    ) -> Result<(), Divergence> {
        let command = self.call_command(target, via);
        if self.record {
            self.step_line(step, describe_command(&command, self.setup.python));
        }
        let (executed, _) = self.command(step, &command, Some(target), env, hash)?;
        self.count_event(&executed.outcome);
        if let (CacheEvent::Hit { key }, Ok(value)) =
            (&executed.outcome.event, &executed.outcome.result)
        {
            self.check_hit(step, target.normalized(), key, value)?;
        }
        Ok(())
    }

    /// Invariant 3 and the staleness finding for a hit of `target`.
    fn check_hit(
        &mut self,
        step: usize,
        target: Target,
        key: &str,
        value: &Value,
    ) -> Result<(), Divergence> {
        let Some(meta) = generation(value)
            .and_then(|g| usize::try_from(g).ok())
            .and_then(|g| g.checked_sub(1))
            .and_then(|i| self.meta.get(i))
            .filter(|m| m.target == target)
            .cloned()
        else {
            return Ok(());
        };
        let floor = self
            .last_effective
            .get(&target)
            .copied()
            .into_iter()
            .chain(self.last_clear)
            .max();
        if let Some(floor) = floor.filter(|f| meta.step < *f) {
            return Err(Divergence {
                step,
                kind: "stale after invalidation".into(),
                detail: format!(
                    "{} hit {} = {} computed at step {}, but its entry was invalidated at step {floor}",
                    target.describe(),
                    py_str(key),
                    value.repr(self.setup.python),
                    meta.step
                ),
            });
        }
        let stale = meta.deps.iter().any(|(row, rev)| self.db.rev(*row) != *rev);
        if !stale {
            return Ok(());
        }
        let rows: Vec<u8> = meta.deps.iter().map(|d| d.0).collect();
        let first_write = self
            .writes
            .iter()
            .find(|(s, row)| *s > meta.step && rows.contains(row))
            .map_or(meta.step, |w| w.0);
        let blamed = self.attempts.get(&target).and_then(|list| {
            list.iter().rev().find_map(|(s, a)| match a {
                Attempt::Ineffective { cause, message } if *s > first_write => {
                    Some((cause.clone(), message.clone()))
                }
                _ => None,
            })
        });
        let (cause, message) = blamed.unwrap_or_else(|| {
            (
                "not invalidated (served until timeout)".to_owned(),
                format!(
                    "{} was not invalidated after the database write at step {first_write}",
                    target.describe()
                ),
            )
        });
        self.note(format!("! stale read ({cause}): {message}"));
        let run = self.setup.run;
        let entry = self.stats.stale.entry(cause).or_insert_with(|| Finding {
            count: 0,
            example: message,
            run,
        });
        entry.count += 1;
        Ok(())
    }

    fn invalidate(
        &mut self,
        step: usize,
        target: Target,
        form: Form,
        env: crate::workload::Env,
        hash: &mut Digest,
    ) -> Result<(), Divergence> {
        let target = target.normalized();
        let form = form.for_target(target);
        let command = self.app.invalidate(target, form);
        if self.record {
            let call = describe_command(&command, self.setup.python);
            self.step_line(step, format!("{call}   [meant for {}]", target.describe()));
        }
        let before = self.peek(target);
        let (executed, injected) = self.command(step, &command, None, env, hash)?;
        self.stats.invalidations += 1;
        let cleared = form == Form::Clear && executed.outcome.result.is_ok() && self.emptied();
        if cleared {
            self.last_clear = Some(step);
        }
        let after = self.peek(target);
        let attempt = match before {
            None => {
                self.stats.vacuous += 1;
                Attempt::Vacuous
            }
            Some((key, value)) => {
                if after.as_ref() != Some(&(key.clone(), value)) {
                    self.stats.effective += 1;
                    self.last_effective.insert(target, step);
                    Attempt::Effective
                } else {
                    self.stats.ineffective += 1;
                    let entry = py_str(&key);
                    let call = describe_command(&command, self.setup.python);
                    let faulted = !injected.is_empty()
                        && match &executed.outcome {
                            Outcome { result: Err(e), .. }
                            | Outcome {
                                event: CacheEvent::Uncached { error: e },
                                ..
                            } => e.kind == PyExceptionType::ConnectionError,
                            _ => false,
                        };
                    let (cause, message) = if faulted {
                        (
                            "delete failed (injected fault)".to_owned(),
                            format!("{call} raised ConnectionError: backend down; the entry under {entry} survived"),
                        )
                    } else {
                        let what = match &executed.outcome {
                            Outcome { result: Err(e), .. } => {
                                format!("raised {e}; nothing was deleted")
                            }
                            Outcome {
                                event: CacheEvent::Uncached { error },
                                ..
                            } => format!("logged and swallowed {error}; nothing was deleted"),
                            _ => format!("removed nothing; the entry is under {entry}"),
                        };
                        (form.cause().to_owned(), format!("{call} {what}"))
                    };
                    self.note(format!("! ineffective: {message}"));
                    Attempt::Ineffective { cause, message }
                }
            }
        };
        self.attempts
            .entry(target)
            .or_default()
            .push((step, attempt));
        Ok(())
    }

    /// The version keys a lost key is picked from: on `SimpleCache`, each side's stored
    /// ones in dict order (dead ones included); on `RedisCache`, the model's live ones in
    /// byte order, without the prefix, for both sides (the stores hold the same live keys,
    /// and a server lists them in no particular order).
    fn version_keys(&self) -> (Vec<String>, Vec<String>) {
        if let Some(prefix) = &self.redis_prefix {
            let keys: std::collections::BTreeSet<String> = self
                .pair
                .model()
                .store()
                .entries()
                .filter(|e| crate::model::ModelStore::alive(e.expires, self.now))
                .map(|e| e.key.strip_prefix(prefix.as_str()).unwrap_or(&e.key))
                .filter(|k| k.ends_with("_memver"))
                .map(str::to_owned)
                .collect();
            let keys: Vec<String> = keys.into_iter().collect();
            return (keys.clone(), keys);
        }
        let engine_keys: Vec<String> = self
            .pair
            .store()
            .memory()
            .map(|m| {
                m.keys()
                    .filter(|k| k.ends_with("_memver"))
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let model_keys: Vec<String> = self
            .pair
            .model()
            .store()
            .entries()
            .filter(|e| e.key.ends_with("_memver"))
            .map(|e| e.key.clone())
            .collect();
        (engine_keys, model_keys)
    }

    fn lose_version_key(
        &mut self,
        step: usize,
        pick: u8,
        hash: &mut Digest,
    ) -> Result<(), Divergence> {
        let (engine_keys, model_keys) = self.version_keys();
        if let Some(k) = engine_keys.get(usize::from(pick) % engine_keys.len().max(1)) {
            self.pair.lose(k).map_err(|m| Divergence {
                step,
                kind: m.kind.to_owned(),
                detail: m.detail,
            })?;
            // A tag of its own per kind of step (see `digest`).
            hash.tag(20);
            hash.str(k);
            self.stats.lost_version_keys += 1;
            if self.record {
                self.step_line(step, format!("version key lost: {}", py_str(k)));
            }
            if self.record {
                let op = StoreOp::Delete { key: k.clone() };
                let result = match self.setup.profile {
                    Profile::FlaskCache013 => Value::None,
                    _ => Value::Bool(true),
                };
                self.events.push(Event {
                    number: self.events.len() as u64 + 1,
                    at: self.now,
                    command: TraceCommand::Backend(op.clone()),
                    versions: vec![],
                    steps: vec![TraceStep::Store {
                        op,
                        reply: Ok(StoreReply::Bool(true)),
                    }],
                    result: Ok(result),
                });
            }
        }
        if let Some(k) = model_keys.get(usize::from(pick) % model_keys.len().max(1)) {
            self.pair.model_mut().evict(k);
        }
        Ok(())
    }

    /// Moves the virtual clock by `micros` (on the engine's store too).
    fn advance(&mut self, step: usize, micros: i64) -> Result<(), Divergence> {
        self.now = self.now.saturating_add_micros(micros);
        let moved = self.pair.advance(self.now);
        if self.record {
            self.events.push(Event {
                number: self.events.len() as u64 + 1,
                at: self.now,
                command: TraceCommand::Tick(micros),
                versions: vec![],
                steps: vec![],
                result: Ok(Value::None),
            });
        }
        moved.map_err(|m| Divergence {
            step,
            kind: m.kind.to_owned(),
            detail: m.detail,
        })
    }

    fn action(
        &mut self,
        step: usize,
        action: &Action,
        hash: &mut Digest,
    ) -> Result<(), Divergence> {
        if let Some(n) = ACTION_KINDS
            .iter()
            .position(|k| *k == action.kind())
            .and_then(|i| self.stats.ops.get_mut(i))
        {
            *n += 1;
        }
        match action {
            Action::Call { target, via, env } => self.call(step, *target, *via, *env, hash)?,
            Action::Invalidate { target, form, env } => {
                self.invalidate(step, *target, *form, *env, hash)?
            }
            Action::Backend { call, env } => {
                let command = self.app.backend(*call);
                if self.record {
                    let call = describe_command(&command, self.setup.python);
                    self.step_line(step, format!("cache.{call}"));
                }
                let (executed, _) = self.command(step, &command, None, *env, hash)?;
                if action.kind() == ActionKind::Clear
                    && executed.outcome.result.is_ok()
                    && self.emptied()
                {
                    self.last_clear = Some(step);
                }
            }
            Action::WriteRow { row, change } => {
                let row = row % crate::workload::ROWS;
                let rev = self.db.write(row, *change);
                self.writes.push((step, row));
                hash.tag(21);
                hash.word(u64::from(row));
                hash.word(u64::from(rev));
                if self.record {
                    self.step_line(step, format!("db: student {row} {change:?} (rev {rev})"));
                }
            }
            Action::Tick { millis } => {
                let micros = i64::from(*millis) * 1000;
                if self.record {
                    self.step_line(step, format!("sleep {} s", *millis as f64 / 1000.0));
                }
                self.advance(step, micros)?;
            }
            Action::ClockJump { jump } => {
                if self.record {
                    self.step_line(step, format!("clock jumps ahead: {jump:?}"));
                }
                self.advance(step, jump.micros())?;
            }
            Action::LoseVersionKey { pick } => self.lose_version_key(step, *pick, hash)?,
        }
        self.pair.compare_stores(self.now).map_err(|m| Divergence {
            step,
            kind: m.kind.to_owned(),
            detail: m.detail,
        })?;
        hash.tag(22);
        hash.int(self.now.as_micros());
        Ok(())
    }
}

/// Executes `actions` under `setup`, checking the invariants after every action.
pub fn execute(setup: &RunSetup, actions: &[Action], options: &ExecOptions) -> RunReport {
    execute_on(setup, &StoreSpec::Simple, actions, options)
}

/// [`execute`] with the engine over `store`.
pub fn execute_on(
    setup: &RunSetup,
    store: &StoreSpec,
    actions: &[Action],
    options: &ExecOptions,
) -> RunReport {
    let built = match store {
        StoreSpec::Simple => Ok(build(setup)),
        _ => build_on(setup, store),
    };
    let (pair, app) = match built {
        Ok(built) => built,
        Err(e) => {
            return RunReport {
                divergence: Some(Divergence {
                    step: 0,
                    kind: "server".into(),
                    detail: e,
                }),
                ..RunReport::default()
            }
        }
    };
    let mut sim = Sim {
        setup,
        redis_prefix: match store {
            StoreSpec::Simple => None,
            StoreSpec::Redis { prefix, .. } => Some(prefix.clone()),
        },
        app,
        pair,
        db: Db::default(),
        now: setup.start,
        gen_engine: 0,
        gen_model: 0,
        meta: Vec::new(),
        writes: Vec::new(),
        attempts: BTreeMap::new(),
        last_effective: BTreeMap::new(),
        last_clear: None,
        stats: Stats {
            runs: 1,
            ..Stats::default()
        },
        record: options.record,
        timeline: Vec::new(),
        events: Vec::new(),
        trace_versions: VersionGenerator::new(setup.version_seed),
        calls: HashMap::default(),
        computed: Vec::new(),
        results: RefCell::default(),
    };
    *sim.stats
        .runs_by_profile
        .entry(setup.profile.as_str())
        .or_default() += 1;
    if let Some(prefix) = &sim.redis_prefix {
        *sim.stats.runs_by_prefix.entry(prefix.clone()).or_default() += 1;
    }
    let mut digests = Vec::with_capacity(actions.len());
    let mut divergence = None;
    for (step, action) in actions.iter().enumerate() {
        let mut hash = Digest::default();
        if let Err(d) = sim.action(step, action, &mut hash) {
            divergence = Some(d);
            break;
        }
        if let Some(expected) = options.expect_digests.as_ref().and_then(|d| d.get(step)) {
            if *expected != hash.value() {
                divergence = Some(Divergence {
                    step,
                    kind: "nondeterminism".into(),
                    detail: format!(
                        "the same history produced different steps (digest {:016x}, earlier {:016x})",
                        hash.value(),
                        expected
                    ),
                });
                break;
            }
        }
        digests.push(hash.value());
    }
    if divergence.is_none() {
        if let Err(m) = sim.pair.finish() {
            divergence = Some(Divergence {
                step: actions.len().saturating_sub(1),
                kind: m.kind.to_owned(),
                detail: m.detail,
            });
        }
    }
    if let Some(d) = &divergence {
        if sim.record {
            sim.timeline
                .push(format!("!! {}", d.to_string().replace('\n', "\n   ")));
        }
    }
    RunReport {
        stats: sim.stats,
        divergence,
        digests,
        timeline: sim.timeline,
        events: sim.events,
    }
}

/// Executes a history, turning a panic into a divergence (the invariant "no panic").
pub fn execute_guarded(setup: &RunSetup, actions: &[Action], options: &ExecOptions) -> RunReport {
    execute_guarded_on(setup, &StoreSpec::Simple, actions, options)
}

/// [`execute_guarded`] with the engine over `store`.
pub fn execute_guarded_on(
    setup: &RunSetup,
    store: &StoreSpec,
    actions: &[Action],
    options: &ExecOptions,
) -> RunReport {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        execute_on(setup, store, actions, options)
    })) {
        Ok(report) => report,
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".to_owned());
            RunReport {
                divergence: Some(Divergence {
                    step: actions.len(),
                    kind: "panic".into(),
                    detail: message,
                }),
                ..RunReport::default()
            }
        }
    }
}
