//! The engine and the model side by side: one command goes to both, each with its own
//! oracle built from the same plan, and their outcomes and caches are compared.

use super::digest::{self, Digest};
use super::store::PairStore;
use crate::model::{Clock, Model, ModelConfig, ModelStore, OpKind, Oracle};
use crate::trace::TraceStep;
use crate::transcript::{hook_name, render_result, render_store_call};
use flaskcache_engine::engine::{
    CacheEvent, CachedId, CachedOptions, Command, Engine, EngineConfig, HookQuery, Input,
    MemoizeOptions, MemoizedId, Outcome, Step,
};
use flaskcache_engine::error::PyError;
use flaskcache_engine::function::FunctionDescriptor;
use flaskcache_engine::store::{MemoryStore, StoreConfig, StoreError, StoreFlavor, Timestamp};
use flaskcache_engine::{Profile, PythonVersion, Value};

/// Planned backend failures of one command: bit `FAULT_SLOTS * kind + k` fails the `k`-th
/// call of that kind. Counts what it injected.
#[derive(Clone, Debug, Default)]
pub struct FaultCursor {
    mask: u32,
    seen: [u8; 9],
    /// The kinds that were made to fail, in order.
    pub injected: Vec<OpKind>,
}

impl FaultCursor {
    /// A cursor over `mask`.
    pub fn new(mask: u32) -> Self {
        FaultCursor {
            mask,
            ..FaultCursor::default()
        }
    }

    /// Whether this call of `kind` fails.
    pub fn next(&mut self, kind: OpKind) -> Option<StoreError> {
        if self.mask == 0 {
            // Nothing planned (most commands): no call fails, whatever its number.
            return None;
        }
        let i = kind.index();
        let k = usize::from(self.seen.get(i).copied().unwrap_or(u8::MAX));
        if let Some(s) = self.seen.get_mut(i) {
            *s = s.saturating_add(1);
        }
        let slots = crate::workload::FAULT_SLOTS;
        let bit = i * slots + k;
        if k < slots && bit < 32 && self.mask & (1 << bit) != 0 {
            self.injected.push(kind);
            return Some(StoreError::Failed("backend down".into()));
        }
        None
    }
}

/// What one command did on the engine's side.
#[derive(Clone, Debug)]
pub struct Executed {
    /// The engine's outcome (equal to the model's).
    pub outcome: Outcome,
    /// Version strings the model drew.
    pub minted: usize,
    /// Backend calls made.
    pub store_ops: usize,
    /// The steps, when recording.
    pub steps: Vec<TraceStep>,
    /// The steps as transcript lines, when recording.
    pub lines: Vec<String>,
}

/// How the two sides disagreed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// A short kind: `outcome`, `store`, `store bound`, `engine error`, ...
    pub kind: &'static str,
    /// The details.
    pub detail: String,
}

fn mismatch(kind: &'static str, detail: String) -> Mismatch {
    Mismatch { kind, detail }
}

/// The engine over a store (a `MemoryStore` or a real Redis server), and the model,
/// configured alike.
pub struct Pair {
    /// The engine.
    pub engine: Engine,
    /// The engine's backend ([`Pair::store`]).
    store: Box<dyn PairStore>,
    /// The reference model ([`Pair::model`], [`Pair::model_mut`]).
    model: Model,
    py: PythonVersion,
    liveness: Liveness,
    /// What the last comparison of the stores established, while neither store has been
    /// touched since ([`Pair::compare_stores`]).
    compared: Compared,
}

/// What is known of the two stores since their last comparison.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Compared {
    /// Nothing: a store may have changed (or none was compared yet).
    Nothing,
    /// At this instant the stores in memory were equal, and neither has changed since.
    EqualAt(Timestamp),
}

/// `['a', 'b']`: keys as Python prints a list of them.
fn key_list<'a>(keys: impl Iterator<Item = &'a str>) -> String {
    let keys: Vec<String> = keys.map(crate::workload::py_str).collect();
    format!("[{}]", keys.join(", "))
}

/// ` key 'k'` for a hit or a miss (the key the call read), else nothing.
fn event_key(event: &CacheEvent) -> String {
    match event {
        CacheEvent::Hit { key } | CacheEvent::Miss { key, .. } => {
            format!(" key {}", crate::workload::py_str(key))
        }
        _ => String::new(),
    }
}

fn liveness(alive: bool) -> &'static str {
    if alive {
        "alive"
    } else {
        "dead"
    }
}

/// An outcome, one line: `= 'x' (miss, stored)`.
pub fn render_outcome(outcome: &Outcome, py: PythonVersion) -> String {
    let event = match &outcome.event {
        CacheEvent::Hit { .. } => "hit".to_owned(),
        CacheEvent::Miss { stored: true, .. } => "miss, stored".into(),
        CacheEvent::Miss { stored: false, .. } => "miss, not stored".into(),
        CacheEvent::Bypassed => "bypassed".into(),
        CacheEvent::Uncached { error } => format!("uncached after {error}"),
        CacheEvent::Deleted { key } => format!("deleted {}", crate::workload::py_str(key)),
        CacheEvent::VersionReset { key } => {
            format!("version reset {}", crate::workload::py_str(key))
        }
        CacheEvent::VersionDeleted { key } => {
            format!("version deleted {}", crate::workload::py_str(key))
        }
        CacheEvent::Direct => String::new(),
    };
    let result = render_result(&outcome.result, py);
    if event.is_empty() {
        result
    } else {
        format!("{result}  ({event})")
    }
}

impl Pair {
    /// Both sides, empty, the engine over a `MemoryStore` configured by `store`.
    pub fn new(
        profile: Profile,
        python: PythonVersion,
        debug: bool,
        store: StoreConfig,
        version_seed: u64,
    ) -> Pair {
        let memory = Box::new(MemoryStore::new(store.clone()));
        Pair::with_store(profile, python, debug, store, memory, version_seed)
    }

    /// Both sides, empty: the model configured by `config`, the engine over `store`
    /// (which must be configured alike, and empty).
    pub fn with_store(
        profile: Profile,
        python: PythonVersion,
        debug: bool,
        config: StoreConfig,
        store: Box<dyn PairStore>,
        version_seed: u64,
    ) -> Pair {
        let engine = Engine::new(EngineConfig {
            profile,
            python,
            debug,
            version_seed,
        });
        let model = Model::new(ModelConfig {
            profile,
            python,
            debug,
            store: config,
            version_seed,
        });
        Pair {
            engine,
            store,
            model,
            py: python,
            liveness: Liveness::default(),
            compared: Compared::Nothing,
        }
    }

    /// The engine's backend.
    pub fn store(&self) -> &dyn PairStore {
        &*self.store
    }

    /// The reference model.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The reference model, to change (its store may change: the next comparison of the
    /// stores is made in full).
    pub fn model_mut(&mut self) -> &mut Model {
        self.compared = Compared::Nothing;
        &mut self.model
    }

    /// Deletes `key` from the engine's backend behind the cache's back
    /// ([`PairStore::lose`]).
    pub fn lose(&mut self, key: &str) -> Result<(), Mismatch> {
        self.compared = Compared::Nothing;
        self.store.lose(key)
    }

    /// Registers a memoized function on both sides (`None` if the engine refuses it).
    pub fn memoize(
        &mut self,
        function: FunctionDescriptor,
        options: MemoizeOptions,
    ) -> Option<MemoizedId> {
        let id = self
            .engine
            .memoize(function.clone(), options.clone())
            .ok()?;
        let model_id = self.model.memoize(function, options);
        (id == model_id).then_some(id)
    }

    /// Registers a `@cached` view on both sides (`None` if the engine refuses it).
    pub fn cached(&mut self, options: CachedOptions) -> Option<CachedId> {
        let id = self.engine.cached(options.clone()).ok()?;
        let model_id = self.model.cached(options);
        (id == model_id).then_some(id)
    }

    /// Runs `command` at `now` on both sides and compares the outcomes.
    pub fn run(
        &mut self,
        command: &Command,
        now: Timestamp,
        engine_oracle: &mut dyn Oracle,
        model_oracle: &mut dyn Oracle,
        record: bool,
        hash: &mut Digest,
    ) -> Result<Executed, Mismatch> {
        // Both stores may change.
        self.compared = Compared::Nothing;
        let engine = self.drive(command, now, engine_oracle, record, hash);
        let model = self.model.apply(command, now, model_oracle);
        match (engine, model) {
            (Ok(e), Ok((outcome, effects))) => {
                if e.0.outcome != outcome {
                    return Err(mismatch(
                        "outcome",
                        format!(
                            "engine: {}{}\n  model:  {}{}",
                            render_outcome(&e.0.outcome, self.py),
                            event_key(&e.0.outcome.event),
                            render_outcome(&outcome, self.py),
                            event_key(&outcome.event),
                        ),
                    ));
                }
                if e.1 != effects.logged {
                    return Err(mismatch(
                        "logged errors",
                        format!("engine logged {} exceptions, model {}", e.1, effects.logged),
                    ));
                }
                let mut executed = e.0;
                executed.minted = effects.minted;
                Ok(executed)
            }
            // Both refuse the command: it describes no Python call.
            (Err(e), Err(_)) => Err(mismatch("refused", e)),
            (Err(e), Ok(_)) => Err(mismatch("engine error", e)),
            (Ok(_), Err(r)) => Err(mismatch(
                "model refused",
                format!("the engine ran a command the model refuses: {}", r.0),
            )),
        }
    }

    /// Drives the engine's stepper through one command.
    fn drive(
        &mut self,
        command: &Command,
        now: Timestamp,
        oracle: &mut dyn Oracle,
        record: bool,
        hash: &mut Digest,
    ) -> Result<(Executed, usize), String> {
        let mut steps = Vec::new();
        let mut lines = Vec::new();
        let mut logs = 0usize;
        let mut store_ops = 0usize;
        let py = self.py;
        let result = (|| -> Result<Outcome, String> {
            let mut step = self
                .engine
                .start(command.clone())
                .map_err(|e| e.to_string())?;
            loop {
                digest::step(hash, &step);
                let input = match step {
                    Step::Store(op) => {
                        store_ops += 1;
                        let reply = match oracle.fault(OpKind::of(&op)) {
                            Some(e) => Err(e),
                            None => self.store.execute(&op, now),
                        };
                        if let Some(broken) = self.store.over_threshold() {
                            return Err(broken);
                        }
                        digest::reply(hash, &reply);
                        if record {
                            lines.push(render_store_call(&op, &reply, py));
                            steps.push(TraceStep::Store {
                                op: op.clone(),
                                reply: reply.clone().map_err(|e| e.to_py_error(py)),
                            });
                        }
                        Input::Store(reply)
                    }
                    Step::Compute => {
                        let result = oracle.compute();
                        digest::result(hash, &result);
                        if record {
                            let shown = match &result {
                                Ok(v) => v.repr(py),
                                Err(e) => format!("raises {e}"),
                            };
                            lines.push(format!("compute -> {shown}"));
                            steps.push(TraceStep::Compute {
                                result: result.clone(),
                                events: Vec::new(),
                            });
                        }
                        Input::Computed(result)
                    }
                    Step::Hook(query) => {
                        let answer = oracle.hook(&query);
                        digest::answer(hash, &answer);
                        if record {
                            let shown = match &answer {
                                Ok(b) => Value::Bool(*b).repr(py),
                                Err(e) => format!("raise {e}"),
                            };
                            lines.push(format!("hook {} -> {shown}", hook_name(&query)));
                            steps.push(TraceStep::Hook {
                                name: hook_name(&query).to_owned(),
                                answer: answer.clone(),
                            });
                        }
                        Input::Hook(answer)
                    }
                    Step::Log(d) => {
                        logs += 1;
                        if record {
                            lines.push(format!("log {}: {}", d.message, d.error));
                            steps.push(TraceStep::Log(d.error.clone()));
                        }
                        Input::Logged
                    }
                    Step::Done(outcome) => return Ok(outcome),
                };
                step = self.engine.resume(input).map_err(|e| e.to_string())?;
            }
        })();
        let outcome = match result {
            Ok(o) => o,
            Err(e) => {
                while self.engine.depth() > 0 {
                    self.engine.abort();
                }
                return Err(e);
            }
        };
        Ok((
            Executed {
                outcome,
                minted: 0,
                store_ops,
                steps,
                lines,
            },
            logs,
        ))
    }

    /// Compares the engine's store with the model's ([`PairStore::compare`]): on a
    /// `MemoryStore` as [`compare_memory`] does; on a real server, the live keys, their
    /// values and whether each has a deadline.
    ///
    /// Two stores in memory change only through this pair (a command run, a key lost, the
    /// model handed out to change), and a comparison of them is a pure function of the
    /// two and the clock. So when neither has changed since they were last found equal,
    /// the comparison is known: the same when the clock has not moved either (a database
    /// write, say); else only the liveness of each entry can differ, and on a
    /// `SimpleCache` that is what is compared (`same_liveness`: the keys, values and
    /// expiries are the ones found equal). A real server is compared every time (its keys
    /// expire on their own).
    pub fn compare_stores(&mut self, now: Timestamp) -> Result<(), Mismatch> {
        let result = match (self.compared, self.store.memory()) {
            (Compared::EqualAt(at), Some(_)) if at == now => Ok(()),
            (Compared::EqualAt(_), Some(memory))
                if !memory.flavor().is_redis()
                    && same_liveness(memory, self.model.store(), now, &mut self.liveness) =>
            {
                Ok(())
            }
            _ => self
                .store
                .compare(self.model.store(), now, self.py, &mut self.liveness),
        };
        self.compared = match (&result, self.store.memory()) {
            (Ok(()), Some(_)) => Compared::EqualAt(now),
            _ => Compared::Nothing,
        };
        result
    }

    /// The virtual clock moved to `now` ([`PairStore::advance`]).
    pub fn advance(&mut self, now: Timestamp) -> Result<(), Mismatch> {
        self.store.advance(now)
    }

    /// The history ended ([`PairStore::finish`]).
    pub fn finish(&mut self) -> Result<(), Mismatch> {
        self.store.finish()
    }

    /// The Python version of both sides.
    pub fn python(&self) -> PythonVersion {
        self.py
    }
}

/// The engine's answers to "is an entry with this expiry alive now?", remembered while the
/// virtual clock stands still. The engine's predicate is a pure function of the expiry and
/// the instant; on the whole-second flavours it does float arithmetic (Python's `int <
/// float`), and most comparisons happen at the instant of the one before (only ticks and
/// clock jumps move it), over entries that were already there: remembering its answers
/// skips that arithmetic without skipping the check (a new expiry, or a new instant, is
/// asked again). The model's side is asked every time: it reads its clock once per
/// comparison ([`crate::model::Clock`]) and compares numbers.
#[derive(Clone, Debug)]
pub struct Liveness {
    /// Direct-mapped: `(instant, expires) -> alive`. A slot answered at another instant is
    /// stale (nothing is cleared when the clock moves).
    slots: Vec<Option<(Timestamp, i128, bool)>>,
}

const LIVENESS_SLOTS: usize = 256;

impl Default for Liveness {
    /// Nothing remembered.
    fn default() -> Self {
        Liveness {
            slots: vec![None; LIVENESS_SLOTS],
        }
    }
}

impl Liveness {
    /// The engine's `is_alive(expires, now)`.
    #[inline]
    fn engine(&mut self, flavor: StoreFlavor, expires: i128, now: Timestamp) -> bool {
        if flavor.expires_in_micros() {
            // An integer comparison: nothing to remember.
            return flavor.is_alive(expires, now);
        }
        let mix = (expires as u64 ^ (expires >> 64) as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let slot = (mix >> 56) as usize % LIVENESS_SLOTS;
        if let Some(Some((at, e, alive))) = self.slots.get(slot) {
            if *at == now && *e == expires {
                return *alive;
            }
        }
        let alive = flavor.is_alive(expires, now);
        if let Some(s) = self.slots.get_mut(slot) {
            *s = Some((now, expires, alive));
        }
        alive
    }
}

/// Compares a `MemoryStore` with the model's: the same keys in the same order, the same
/// values, the same liveness now, and (cachelib flavours) the same expiry. On a Redis
/// flavour only live keys are compared, as a set: an expired key is absent for every
/// command, the engine's store drops them from memory only now and then, and a keyspace
/// has no order.
///
/// This runs after every action, so the common case (equal) is checked in one pass without
/// allocating, with liveness answers remembered in `memo` ([`Liveness`]); any difference
/// is then described by `describe_difference`, which checks the same thing the slow way.
pub fn compare_memory(
    store: &MemoryStore,
    model: &crate::model::ModelStore,
    now: Timestamp,
    py: PythonVersion,
    memo: &mut Liveness,
) -> Result<(), Mismatch> {
    let equal = if store.flavor().is_redis() {
        same_live_keys(store, model, now, memo)
    } else {
        same_entries(store, model, now, memo)
    };
    if equal {
        return Ok(());
    }
    describe_difference(store, model, now, py)
}

/// `a == b` for values, with the case the stores hold most (two `str`s) compared inline.
#[inline]
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Str(x), Value::Str(y)) => x == y,
        _ => a == b,
    }
}

/// Whether an engine entry and a model entry agree: key, value, liveness now, and expiry
/// where the flavour stores whole seconds (`clock`: the model's reading of `now`).
#[inline]
fn same_entry(
    flavor: StoreFlavor,
    (key, expires, value): (&str, i128, &Value),
    m: &crate::model::Entry,
    (now, clock): (Timestamp, Clock),
    memo: &mut Liveness,
) -> bool {
    let same_expiry = match (flavor, m.expires) {
        // Microsecond expiries are compared through liveness below.
        (f, _) if f.expires_in_micros() => true,
        (_, crate::model::Expiry::Int(e)) => e == expires,
        (_, crate::model::Expiry::Float(_) | crate::model::Expiry::Redis(_)) => false,
    };
    if !(same_expiry && key == m.key && same_value(value, &m.value)) {
        return false;
    }
    memo.engine(flavor, expires, now) == ModelStore::alive_at(m.expires, clock)
}

/// A `SimpleCache`: both sequences of entries, dead ones included, agree one by one
/// ([`same_entry`] of each pair, in one loop: this runs after every command, over every
/// entry) and end together.
fn same_entries(
    store: &MemoryStore,
    model: &ModelStore,
    now: Timestamp,
    memo: &mut Liveness,
) -> bool {
    let flavor = store.flavor();
    let at = (now, Clock::at(now));
    let mut model = model.entries();
    for entry in store.entries() {
        match model.next() {
            Some(m) if same_entry(flavor, entry, m, at, memo) => {}
            _ => return false,
        }
    }
    model.next().is_none()
}

/// Two `SimpleCache`s known to hold equal entries (keys, values and whole-second expiries,
/// in order) at another instant: whether each pair of entries agrees on its liveness now.
/// `false` hands the question to the full comparison, which describes any difference.
fn same_liveness(
    store: &MemoryStore,
    model: &ModelStore,
    now: Timestamp,
    memo: &mut Liveness,
) -> bool {
    let flavor = store.flavor();
    let clock = Clock::at(now);
    let mut engine = store.entries();
    let mut model = model.entries();
    loop {
        match (engine.next(), model.next()) {
            (None, None) => return true,
            (Some((_, expires, _)), Some(m))
                if memo.engine(flavor, expires, now) == ModelStore::alive_at(m.expires, clock) => {}
            _ => return false,
        }
    }
}

/// A Redis flavour: the live entries are the same set. Each live engine entry must be a
/// distinct live model entry with its value, and both sides must hold as many live
/// entries: then the two sets are equal (model keys are unique).
fn same_live_keys(
    store: &MemoryStore,
    model: &crate::model::ModelStore,
    now: Timestamp,
    memo: &mut Liveness,
) -> bool {
    let flavor = store.flavor();
    let at = (now, Clock::at(now));
    // A fixed, cheap hasher: the set is only probed, never iterated.
    let mut seen: std::collections::HashSet<&str, crate::model::FxBuildHasher> =
        std::collections::HashSet::with_capacity_and_hasher(store.len(), Default::default());
    let mut live = 0usize;
    for e in store.entries() {
        if !flavor.is_alive(e.1, now) {
            continue;
        }
        live += 1;
        let matched = model
            .entry(e.0)
            .is_some_and(|m| same_entry(flavor, e, m, at, memo));
        if !matched || !seen.insert(e.0) {
            return false;
        }
    }
    let model_live = model
        .entries()
        .filter(|m| ModelStore::alive_at(m.expires, at.1))
        .count();
    live == model_live
}

/// The first difference between a `MemoryStore` and the model's, described (`Ok` when
/// there is none): both sides listed (live keys in byte order on a Redis flavour) and
/// compared entry by entry.
fn describe_difference(
    store: &MemoryStore,
    model: &crate::model::ModelStore,
    now: Timestamp,
    py: PythonVersion,
) -> Result<(), Mismatch> {
    let flavor = store.flavor();
    let redis = flavor.is_redis();
    let mut model: Vec<&crate::model::Entry> = model
        .entries()
        .filter(|m| !redis || crate::model::ModelStore::alive(m.expires, now))
        .collect();
    let mut engine: Vec<(&str, i128, &Value)> = store
        .entries()
        .filter(|(_, expires, _)| !redis || flavor.is_alive(*expires, now))
        .collect();
    if redis {
        // A keyspace has no order.
        model.sort_by(|a, b| a.key.cmp(&b.key));
        engine.sort_by(|a, b| a.0.cmp(b.0));
    }
    if engine.len() != model.len() {
        return Err(mismatch(
            "store",
            format!(
                "the engine's store holds {} entries, the model's {}\n  engine: {}\n  model:  {}",
                engine.len(),
                model.len(),
                key_list(engine.iter().map(|(k, _, _)| *k)),
                key_list(model.iter().map(|e| e.key.as_str()))
            ),
        ));
    }
    for ((key, expires, value), m) in engine.into_iter().zip(model) {
        let alive = flavor.is_alive(expires, now);
        let model_alive = crate::model::ModelStore::alive(m.expires, now);
        if !same_entry(
            flavor,
            (key, expires, value),
            m,
            (now, Clock::at(now)),
            &mut Liveness::default(),
        ) {
            return Err(mismatch(
                    "store",
                    format!(
                        "engine entry {} = {} (expires {expires}, {})\n  model entry  {} = {} (expires {}, {})",
                        crate::workload::py_str(key),
                        value.repr(py),
                        liveness(alive),
                        crate::workload::py_str(&m.key),
                        m.value.repr(py),
                        m.expires,
                        liveness(model_alive),
                    ),
                ));
        }
    }
    Ok(())
}

/// An oracle answering from a plan: hook bits, fault mask, and a function body.
pub struct PlanOracle<F> {
    hooks: u8,
    /// The fault plan and what it injected.
    pub faults: FaultCursor,
    body: F,
}

impl<F: FnMut() -> Result<Value, PyError>> PlanOracle<F> {
    /// An oracle for one command.
    pub fn new(hooks: u8, faults: u32, body: F) -> Self {
        PlanOracle {
            hooks,
            faults: FaultCursor::new(faults),
            body,
        }
    }
}

impl<F: FnMut() -> Result<Value, PyError>> Oracle for PlanOracle<F> {
    fn compute(&mut self) -> Result<Value, PyError> {
        (self.body)()
    }

    fn hook(&mut self, query: &HookQuery) -> Result<bool, PyError> {
        let bit = |b: u8| self.hooks & (1 << b) != 0;
        Ok(match query {
            HookQuery::Unless => bit(0),
            HookQuery::ForcedUpdate => bit(1),
            HookQuery::IsStale(_) => bit(2),
            HookQuery::ResponseFilter(_) => !bit(3),
        })
    }

    fn fault(&mut self, kind: OpKind) -> Option<StoreError> {
        self.faults.next(kind)
    }
}
