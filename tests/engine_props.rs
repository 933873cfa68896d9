//! Property test of the engine over a `MemoryStore` (10,000 random command sequences):
//! no panic, the same commands give the same steps, the store never holds more than
//! `threshold + 1` entries, every hit returns the value last written under its key, not
//! yet expired, and the flows' two compilations agree: the same commands run through
//! `run_embedded` (the immediate one) make the same backend calls, hook questions, runs
//! and logs in the same order, with the same outcomes, as through the stepper.

use flaskcache::engine::engine::{
    run_embedded, CacheEvent, CachedOptions, Command, Diagnostic, EmbeddedEffects, Engine,
    EngineConfig, HookQuery, Hooks, Input, MemoizeOptions, Memoized, MemoizedId, Request, Step,
};
use flaskcache::engine::keys::{CachedKeySpec, KeyPrefix};
use flaskcache::engine::keys::{Version, VersionGenerator};
use flaskcache::engine::store::{
    MemoryStore, StoreConfig, StoreError, StoreOp, StoreReply, Timestamp,
};
use flaskcache::engine::{
    Binding, ClassRef, FunctionDescriptor, Param, Profile, PyError, PyObject, Receiver, Value,
};
use flaskcache_sim::transcript::render_store_call;
use proptest::prelude::*;
use std::collections::HashMap;

const THRESHOLD: usize = 6;

/// One generated action.
#[derive(Clone, Debug)]
enum Action {
    CallPlain(i64, bool),
    CallMethod(u8, i64),
    CallClassMethod(i64),
    View(u8, u8),
    DeleteMemoized(u8, Vec<i64>),
    Reset(u8),
    Verhash(u8),
    DeletePlainKey(u8),
    Clear,
    Tick(i64),
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        4 => (0..4i64, any::<bool>()).prop_map(|(a, kw)| Action::CallPlain(a, kw)),
        3 => (0..3u8, 0..3i64).prop_map(|(i, a)| Action::CallMethod(i, a)),
        2 => (0..3i64).prop_map(Action::CallClassMethod),
        3 => (0..3u8, 0..3u8).prop_map(|(v, q)| Action::View(v, q)),
        2 => (0..4u8, prop::collection::vec(0..3i64, 0..3)).prop_map(|(f, a)| Action::DeleteMemoized(f, a)),
        1 => (0..4u8).prop_map(Action::Reset),
        1 => (0..4u8).prop_map(Action::Verhash),
        1 => (0..3u8).prop_map(Action::DeletePlainKey),
        1 => Just(Action::Clear),
        3 => (0..700i64).prop_map(Action::Tick),
    ]
}

struct App {
    engine: Engine,
    functions: Vec<MemoizedId>,
    views: Vec<flaskcache::engine::engine::CachedId>,
}

fn calc() -> ClassRef {
    ClassRef::new("app", "Calc")
}

fn instance(i: u8) -> Receiver {
    Receiver::Instance(Box::new(PyObject {
        class: calc(),
        repr: format!("Calc({})", i % 2),
        caching_id: None,
    }))
}

fn app(profile: Profile, seed: u64, hooks: bool) -> App {
    let mut engine = Engine::new(EngineConfig {
        profile,
        version_seed: seed,
        ..Default::default()
    });
    let hooks = Hooks {
        forced_update: hooks,
        response_filter: hooks,
        is_stale: hooks && profile == Profile::FlaskCaching25,
        unless: false,
    };
    let f = |q: &str, params: Vec<Param>, b| {
        FunctionDescriptor::new("app", q, params, b).expect("valid")
    };
    let defs = [
        (
            f(
                "plain",
                vec![
                    Param::required("a"),
                    Param::with_default("b", Value::int(0)),
                ],
                Binding::Function,
            ),
            Some(30),
        ),
        (
            f(
                "Calc.inst",
                vec![Param::required("self"), Param::required("a")],
                Binding::InstanceMethod,
            ),
            Some(0),
        ),
        (
            f(
                "Calc.cm",
                vec![Param::required("cls"), Param::required("a")],
                Binding::ClassMethod,
            ),
            None,
        ),
        (
            f(
                "Calc.stat",
                vec![Param::required("a")],
                Binding::StaticMethod,
            ),
            Some(-1),
        ),
    ];
    let functions = defs
        .into_iter()
        .map(|(d, timeout)| {
            let options = MemoizeOptions {
                timeout,
                hooks,
                cache_none: timeout == Some(0),
                ..Default::default()
            };
            engine.memoize(d, options).expect("register")
        })
        .collect();
    let views = [
        CachedOptions {
            timeout: Some(50),
            ..Default::default()
        },
        CachedOptions {
            key: CachedKeySpec {
                key_prefix: KeyPrefix::Template("res_all".into()),
                ..Default::default()
            },
            ..Default::default()
        },
        CachedOptions {
            key: CachedKeySpec {
                query_string: true,
                ..Default::default()
            },
            timeout: Some(5),
            hooks,
            ..Default::default()
        },
    ]
    .into_iter()
    .map(|o| engine.cached(o).expect("register"))
    .collect();
    App {
        engine,
        functions,
        views,
    }
}

fn command(app: &App, action: &Action) -> Option<Command> {
    let f = |i: usize| app.functions[i % app.functions.len()];
    Some(match action {
        Action::CallPlain(a, kw) => Command::CallMemoized {
            function: f(0),
            bound_to: None,
            args: if *kw { vec![] } else { vec![Value::int(*a)] },
            kwargs: if *kw {
                vec![("a".into(), Value::int(*a))]
            } else {
                vec![]
            },
        },
        Action::CallMethod(i, a) => Command::CallMemoized {
            function: f(1),
            bound_to: Some(instance(*i)),
            args: vec![Value::int(*a)],
            kwargs: vec![],
        },
        Action::CallClassMethod(a) => Command::CallMemoized {
            function: f(2),
            bound_to: Some(Receiver::Class(calc())),
            args: vec![Value::int(*a)],
            kwargs: vec![],
        },
        Action::View(v, q) => Command::CallCached {
            view: app.views[usize::from(*v) % app.views.len()],
            request: Some(Request {
                path: format!("/v/{v}"),
                args: vec![("q".into(), q.to_string())],
            }),
            prefix_result: None,
            custom_key: None,
        },
        Action::DeleteMemoized(i, args) => Command::DeleteMemoized {
            function: f(usize::from(*i)),
            bound_to: match i % 4 {
                1 => Some(instance(*i)),
                2 => Some(Receiver::Class(calc())),
                _ => None,
            },
            args: args.iter().map(|a| Value::int(*a)).collect(),
            kwargs: vec![],
        },
        Action::Reset(i) => Command::DeleteMemoized {
            function: f(usize::from(*i)),
            bound_to: None,
            args: vec![],
            kwargs: vec![],
        },
        Action::Verhash(i) => Command::DeleteMemoizedVerhash {
            function: f(usize::from(*i)),
            bound_to: None,
        },
        Action::DeletePlainKey(v) => Command::Backend(StoreOp::Delete {
            key: format!("view//v/{v}"),
        }),
        Action::Clear => Command::Backend(StoreOp::Clear),
        Action::Tick(_) => return None,
    })
}

/// The next answer to a hook question, drawn from `state` (both runs answer alike).
fn hook_answer(state: &mut u64, q: &HookQuery) -> bool {
    *state = state
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    match q {
        HookQuery::ResponseFilter(_) => *state >> 62 != 0,
        _ => *state >> 61 == 0,
    }
}

/// Runs the actions; returns the transcript. Checks the invariants as it goes.
fn run(
    profile: Profile,
    seed: u64,
    hooks: bool,
    actions: &[Action],
) -> Result<Vec<String>, TestCaseError> {
    let mut app = app(profile, seed, hooks);
    let mut store = MemoryStore::new(StoreConfig {
        threshold: THRESHOLD,
        ..Default::default()
    });
    let mut now = Timestamp::from_secs(1_000_000).saturating_add_micros(250_000);
    let mut computed = 0i64;
    let mut hook_answers = seed;
    // Shadow of the last write under each key: (value, expires in micros; None = never).
    let mut written: HashMap<String, (Value, Option<i64>)> = HashMap::new();
    let mut lines = Vec::new();
    for action in actions {
        if let Action::Tick(secs) = action {
            now = now.saturating_add_micros(secs * 100_000);
            lines.push(format!("tick {secs}"));
            continue;
        }
        let Some(command) = command(&app, action) else {
            continue;
        };
        let mut step = app
            .engine
            .start(command)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let outcome = loop {
            step = match step {
                Step::Store(op) => {
                    let reply = store.execute(&op, now);
                    lines.push(render_store_call(&op, &reply, Default::default()));
                    record_write(&mut written, &store, &op, &reply, now);
                    prop_assert!(
                        store.len() <= THRESHOLD + 1,
                        "store holds {} entries",
                        store.len()
                    );
                    app.engine.resume(Input::Store(reply))
                }
                Step::Compute => {
                    computed += 1;
                    lines.push("compute".into());
                    app.engine.resume(Input::Computed(Ok(Value::int(computed))))
                }
                Step::Hook(q) => {
                    let answer = hook_answer(&mut hook_answers, &q);
                    lines.push(format!("hook -> {answer}"));
                    app.engine.resume(Input::Hook(Ok::<bool, PyError>(answer)))
                }
                Step::Log(d) => {
                    lines.push(format!("log {}", d.error));
                    app.engine.resume(Input::Logged)
                }
                Step::Done(outcome) => break outcome,
            }
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        };
        if let CacheEvent::Hit { key } = &outcome.event {
            let (value, expires) = written
                .get(key)
                .cloned()
                .ok_or_else(|| TestCaseError::fail(format!("hit on {key}, never written")))?;
            prop_assert_eq!(
                outcome.result.as_ref().ok(),
                Some(&value),
                "hit on {} returned a value other than the last written",
                key
            );
            if let Some(exp) = expires {
                prop_assert!(exp > now.as_micros(), "hit on {} after its expiry", key);
            }
        }
        lines.push(format!("= {:?} {:?}", outcome.result, outcome.event));
    }
    Ok(lines)
}

/// Tracks what was last written under each key, with its expiry as the store computed it.
fn record_write(
    written: &mut HashMap<String, (Value, Option<i64>)>,
    store: &MemoryStore,
    op: &StoreOp,
    reply: &Result<StoreReply, flaskcache::engine::StoreError>,
    now: Timestamp,
) {
    let mut put = |key: &str, value: &Value, timeout: Option<i64>| {
        let expires = store.expires_for(timeout, now);
        let expires = (expires != 0).then(|| (expires * 1_000_000) as i64);
        written.insert(key.to_owned(), (value.clone(), expires));
    };
    match op {
        StoreOp::Set {
            key,
            value,
            timeout,
        } => put(key, value, *timeout),
        StoreOp::Add {
            key,
            value,
            timeout,
        } if reply == &Ok(StoreReply::Bool(true)) => put(key, value, *timeout),
        StoreOp::SetMany { items, timeout } => items.iter().for_each(|(k, v)| put(k, v, *timeout)),
        StoreOp::Delete { key } => {
            written.remove(key);
        }
        StoreOp::DeleteMany { keys } => keys.iter().for_each(|k| {
            written.remove(k);
        }),
        StoreOp::Clear => written.clear(),
        _ => {}
    }
}

/// What answers the effects of the immediate run, as `run` answers the stepper's steps.
struct Answers<'a> {
    store: &'a mut MemoryStore,
    now: Timestamp,
    computed: &'a mut i64,
    hook_answers: &'a mut u64,
    versions: &'a mut VersionGenerator,
    lines: &'a mut Vec<String>,
}

impl EmbeddedEffects for Answers<'_> {
    fn store(&mut self, op: &StoreOp) -> Result<StoreReply, StoreError> {
        let reply = self.store.execute(op, self.now);
        self.lines
            .push(render_store_call(op, &reply, Default::default()));
        reply
    }
    fn compute(&mut self) -> Result<Value, PyError> {
        *self.computed += 1;
        self.lines.push("compute".into());
        Ok(Value::int(*self.computed))
    }
    fn hook(&mut self, q: &HookQuery) -> Result<bool, PyError> {
        let answer = hook_answer(self.hook_answers, q);
        self.lines.push(format!("hook -> {answer}"));
        Ok(answer)
    }
    fn log(&mut self, d: Diagnostic) {
        self.lines.push(format!("log {}", d.error));
    }
    fn mint(&mut self) -> Version {
        self.versions.next_version()
    }
}

/// Runs the actions through `run_embedded`, over the registrations of the same app;
/// returns the transcript `run` writes.
fn run_immediate(
    profile: Profile,
    seed: u64,
    hooks: bool,
    actions: &[Action],
) -> Result<Vec<String>, TestCaseError> {
    let app = app(profile, seed, hooks);
    let memoized: Vec<Memoized> = app
        .functions
        .iter()
        .enumerate()
        .map(|(i, id)| {
            assert_eq!(id.0, i, "registrations are numbered in order");
            app.engine.memoized(*id).cloned().expect("registered")
        })
        .collect();
    let cached: Vec<CachedOptions> = app
        .views
        .iter()
        .enumerate()
        .map(|(i, id)| {
            assert_eq!(id.0, i, "registrations are numbered in order");
            app.engine.cached_view(*id).cloned().expect("registered")
        })
        .collect();
    let mut store = MemoryStore::new(StoreConfig {
        threshold: THRESHOLD,
        ..Default::default()
    });
    let mut now = Timestamp::from_secs(1_000_000).saturating_add_micros(250_000);
    let (mut computed, mut hook_answers) = (0i64, seed);
    let mut versions = VersionGenerator::new(seed);
    let mut lines = Vec::new();
    for action in actions {
        if let Action::Tick(secs) = action {
            now = now.saturating_add_micros(secs * 100_000);
            lines.push(format!("tick {secs}"));
            continue;
        }
        let Some(command) = command(&app, action) else {
            continue;
        };
        let mut answers = Answers {
            store: &mut store,
            now,
            computed: &mut computed,
            hook_answers: &mut hook_answers,
            versions: &mut versions,
            lines: &mut lines,
        };
        let config = app.engine.config();
        let outcome = run_embedded(config, &mut answers, &memoized, &cached, &command)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        lines.push(format!("= {:?} {:?}", outcome.result, outcome.event));
    }
    Ok(lines)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10_000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn engine_over_memory_store(
        profile in prop_oneof![Just(Profile::FlaskCaching25), Just(Profile::FlaskCaching24)],
        seed in any::<u64>(),
        hooks in any::<bool>(),
        actions in prop::collection::vec(action(), 1..40),
    ) {
        let first = run(profile, seed, hooks, &actions)?;
        let second = run(profile, seed, hooks, &actions)?;
        prop_assert_eq!(&first, &second, "same seed and commands gave different steps");
        let immediate = run_immediate(profile, seed, hooks, &actions)?;
        prop_assert_eq!(first, immediate, "the immediate compilation differs from the stepper");
    }
}
