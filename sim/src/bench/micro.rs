//! The micro-benchmark catalogue: one operation per case, built only through public APIs,
//! shared by `flaskcache bench --micro` and the criterion benchmarks in
//! `sim/benches/hit_path.rs`.
//!
//! Every case is a name and a setup; the setup builds its cache, store or inputs, checks
//! once that the operation does what the case says (a hit is a hit, a set prunes) and
//! returns a closure that performs the operation once. The [`FLOOR`] case is what a memoize
//! hit cannot avoid: one sha256 of the key text, its base64 head, the version appended, and
//! the two index lookups a hit makes.

use flaskcache::{
    request_path, Cache, CachedOptions, Deleted, MemoizeOptions, Memoized, Request, VirtualClock,
};
use flaskcache_engine::engine::{
    Command, Engine, EngineConfig, EngineError, Input, MemoizeOptions as EngineMemoizeOptions,
    MemoizedId, Outcome, Step,
};
use flaskcache_engine::function::{Binding, Callee, FunctionDescriptor, Param, Receiver};
use flaskcache_engine::keys::{
    call_args, function_namespace, normalize_args, view_key, write_key_body, write_key_text,
    CachedKeySpec, HashMethod, RequestInfo, Version, VersionGenerator, ViewKeyInput, ViewKeyMode,
};
use flaskcache_engine::store::{FixedFoldState, MemoryStore, StoreConfig, StoreOp, StoreReply};
use flaskcache_engine::{ClassRef, Profile, PyObject, PythonVersion, Timestamp, Value};
use std::collections::HashMap;
use std::convert::Infallible;
use std::hint::black_box;

/// One operation of a case, run repeatedly by a timing loop.
pub type Op = Box<dyn FnMut()>;

/// A micro-benchmark case.
#[derive(Clone, Copy)]
pub struct Case {
    /// Its name, as tables and criterion print it.
    pub name: &'static str,
    /// What one operation is.
    pub what: &'static str,
    /// Builds the case's state and returns the operation; `Err` when the state does not
    /// behave as the case needs (which would measure something else).
    pub setup: fn() -> Result<Op, String>,
}

/// The name of the floor case, which every ratio is taken against.
pub const FLOOR: &str = "floor";

/// The memoized function of the hit-path cases: `app.models.get_student(sid)`.
const NAME: &str = "app.models.get_student";
/// How many distinct arguments the hit cases cycle through.
const KEYS: i64 = 64;
/// Far in the virtual future of the stepper's clock: entries stored at [`NOW`] live on.
const LONG: i64 = 3600;
const NOW: Timestamp = Timestamp::from_secs(1_000);

/// Every case, the floor first.
pub fn catalogue() -> Vec<Case> {
    vec![
        Case {
            name: FLOOR,
            what: "sha256 of a hit's key text, base64 head, version, two index lookups",
            setup: floor,
        },
        Case {
            name: "key/view",
            what: "view_key of view/%s for a request path",
            setup: key_view,
        },
        Case {
            name: "key/view-query-string",
            what: "view_key with query_string=True (sorted args, hashed)",
            setup: key_view_query,
        },
        Case {
            name: "key/memoize-function",
            what: "memoize key of f(7): namespace, normalise, text, sha256, version",
            setup: key_function,
        },
        Case {
            name: "key/memoize-method",
            what: "memoize key of obj.profile(7) on an instance method",
            setup: key_method,
        },
        Case {
            name: "key/memoize-classmethod",
            what: "memoize key of Calc.get_number(5) on a classmethod",
            setup: key_classmethod,
        },
        Case {
            name: "key/memoize-nested-args",
            what: "memoize key of f(list, dict, tuple) with nested containers and a kwarg",
            setup: key_nested,
        },
        Case {
            name: "embedded/memoize-hit",
            what: "flaskcache::Cache: get_student(sid) served from the cache",
            setup: embedded_memoize_hit,
        },
        Case {
            name: "embedded/memoize-miss",
            what: "flaskcache::Cache: get_student(sid) expired, recomputed and stored",
            setup: embedded_memoize_miss,
        },
        Case {
            name: "embedded/view-hit",
            what: "flaskcache::Cache: a cached view served from the cache",
            setup: embedded_view_hit,
        },
        Case {
            name: "stepper/memoize-hit",
            what: "Engine::start/resume over a MemoryStore: memoize hit",
            setup: stepper_memoize_hit,
        },
        Case {
            name: "stepper/memoize-miss",
            what: "Engine::start/resume over a MemoryStore: memoize miss (expired), stored",
            setup: stepper_memoize_miss,
        },
        Case {
            name: "stepper/view-hit",
            what: "Engine::start/resume over a MemoryStore: cached view hit",
            setup: stepper_view_hit,
        },
        Case {
            name: "embedded/delete-memoized+recompute",
            what: "delete_memoized(get_student, sid), then the call recomputes it",
            setup: delete_one,
        },
        Case {
            name: "embedded/delete-memoized-all",
            what: "delete_memoized(get_student): a fresh version (version reset)",
            setup: delete_all,
        },
        Case {
            name: "store/get-at-threshold",
            what: "MemoryStore get of a live key in a store over its threshold",
            setup: store_get,
        },
        Case {
            name: "store/set-pruning",
            what: "MemoryStore set of a new key in a store over its threshold (prunes)",
            setup: store_set_pruning,
        },
    ]
}

/// The key text a hit on `get_student(sid)` hashes.
fn key_text(sid: i64) -> String {
    format!("{NAME}({sid},)OrderedDict()")
}

fn floor() -> Result<Op, String> {
    let version_key = format!("{NAME}_memver");
    let version = VersionGenerator::new(1).next_version();
    let texts: Vec<String> = (0..KEYS).map(key_text).collect();
    let mut index: HashMap<String, usize, FixedFoldState> = HashMap::with_hasher(FixedFoldState);
    index.insert(version_key.clone(), 0);
    for (i, text) in texts.iter().enumerate() {
        let mut key = String::new();
        let mut h = HashMethod::Sha256.hasher();
        h.update(text.as_bytes());
        h.finish().write_b64_16(&mut key);
        key.push_str(version.as_str());
        index.insert(key, i + 1);
    }
    let mut key = String::with_capacity(32);
    let mut sid = 0usize;
    Ok(Box::new(move || {
        sid = (sid + 1) % texts.len();
        let found = black_box(index.get(black_box(version_key.as_str())).copied());
        key.clear();
        let mut h = HashMethod::Sha256.hasher();
        h.update(black_box(texts[sid].as_bytes()));
        h.finish().write_b64_16(&mut key);
        key.push_str(version.as_str());
        black_box((found, index.get(key.as_str()).copied()));
    }))
}

fn key_view() -> Result<Op, String> {
    let spec = CachedKeySpec::default();
    let args: Vec<(String, String)> = Vec::new();
    let path = "/demo/student/all".to_owned();
    let input = ViewKeyInput {
        request: Some(RequestInfo {
            path: &path,
            args: &args,
        }),
        mode: ViewKeyMode::Request,
        prefix_result: None,
    };
    let py = PythonVersion::default();
    let key = view_key(&spec, &input, Profile::default(), py).map_err(|e| format!("{e:?}"))?;
    if key != "view//demo/student/all" {
        return Err(format!("view key {key:?}"));
    }
    Ok(Box::new(move || {
        let input = ViewKeyInput {
            request: Some(RequestInfo {
                path: black_box(&path),
                args: &args,
            }),
            mode: ViewKeyMode::Request,
            prefix_result: None,
        };
        let _ = black_box(view_key(&spec, &input, Profile::default(), py));
    }))
}

fn key_view_query() -> Result<Op, String> {
    let spec = CachedKeySpec {
        query_string: true,
        ..Default::default()
    };
    let args: Vec<(String, String)> = vec![
        ("mock".into(), "true".into()),
        ("limit".into(), "15".into()),
        ("page".into(), "2".into()),
    ];
    let path = "/works".to_owned();
    let py = PythonVersion::default();
    Ok(Box::new(move || {
        let input = ViewKeyInput {
            request: Some(RequestInfo {
                path: black_box(&path),
                args: black_box(&args),
            }),
            mode: ViewKeyMode::Request,
            prefix_result: None,
        };
        let _ = black_box(view_key(&spec, &input, Profile::default(), py));
    }))
}

/// A memoize key as the engine derives it for one call: namespace, version keys,
/// normalised arguments, key text, hashed body, then the versions appended.
struct KeyCase {
    function: FunctionDescriptor,
    receiver: Option<Receiver>,
    args: Vec<Value>,
    kwargs: Vec<(String, Value)>,
    version: Version,
    text: String,
    key: String,
}

impl KeyCase {
    fn derive(&mut self) -> Result<(), String> {
        let py = PythonVersion::default();
        let profile = Profile::default();
        let full = call_args(&self.function, self.receiver.as_ref(), &self.args);
        let callee = match &self.receiver {
            Some(r) => Callee::bound(&self.function, r),
            None => Callee::unbound(&self.function),
        };
        let namespace =
            function_namespace(callee, Some(&full), profile, py).map_err(|e| e.message.clone())?;
        let version_keys = namespace.version_keys(&[]);
        black_box(&version_keys);
        let normalized = normalize_args(&self.function, &full, &self.kwargs, &[], profile, py)
            .map_err(|e| e.message.clone())?;
        self.text.clear();
        let altfname = namespace
            .instance_fname
            .as_deref()
            .unwrap_or(&namespace.fname);
        write_key_text(&mut self.text, altfname, &normalized, py);
        self.key.clear();
        write_key_body(&mut self.key, &self.text, HashMethod::Sha256, None);
        self.key.push_str(self.version.as_str());
        if version_keys.instance.is_some() {
            self.key.push_str(self.version.as_str());
        }
        Ok(())
    }

    fn into_op(mut self, expected_text: &str) -> Result<Op, String> {
        self.derive()?;
        if self.text != expected_text {
            return Err(format!(
                "key text {:?}, expected {expected_text:?}",
                self.text
            ));
        }
        Ok(Box::new(move || {
            let _ = black_box(self.derive());
        }))
    }
}

fn descriptor(
    qualname: &str,
    params: Vec<Param>,
    binding: Binding,
) -> Result<FunctionDescriptor, String> {
    FunctionDescriptor::new("app.models", qualname, params, binding).map_err(|e| e.to_string())
}

fn key_case(
    function: FunctionDescriptor,
    receiver: Option<Receiver>,
    args: Vec<Value>,
    kwargs: Vec<(String, Value)>,
) -> KeyCase {
    KeyCase {
        function,
        receiver,
        args,
        kwargs,
        version: VersionGenerator::new(1).next_version(),
        text: String::new(),
        key: String::new(),
    }
}

fn key_function() -> Result<Op, String> {
    let f = descriptor(
        "get_student",
        vec![Param::required("sid")],
        Binding::Function,
    )?;
    key_case(f, None, vec![Value::int(7)], Vec::new()).into_op(&key_text(7))
}

fn key_method() -> Result<Op, String> {
    let f = descriptor(
        "AccountService.profile",
        vec![
            Param::required("self"),
            Param::required("user_id"),
            Param::with_default("with_orders", Value::Bool(false)),
        ],
        Binding::InstanceMethod,
    )?;
    let service = Receiver::Instance(Box::new(PyObject {
        class: ClassRef::new("app.models", "AccountService"),
        repr: "AccountService(region='eu')".into(),
        caching_id: None,
    }));
    key_case(f, Some(service), vec![Value::int(7)], Vec::new()).into_op(
        "app.models.AccountService.profile.AccountServiceregioneu(\"AccountService(region='eu')\", 7, False)OrderedDict()",
    )
}

fn key_classmethod() -> Result<Op, String> {
    let f = descriptor(
        "Calc.get_number",
        vec![Param::required("cls"), Param::required("x")],
        Binding::ClassMethod,
    )?;
    let calc = Receiver::Class(ClassRef::new("app.models", "Calc"));
    key_case(f, Some(calc), vec![Value::int(5)], Vec::new())
        .into_op("app.models.Calc.get_number(\"<class 'app.models.Calc'>\", 5)OrderedDict()")
}

fn key_nested() -> Result<Op, String> {
    let f = descriptor(
        "search",
        vec![
            Param::required("terms"),
            Param::required("filters"),
            Param::with_default("page", Value::int(1)),
        ],
        Binding::Function,
    )?;
    let terms = Value::List(vec![
        Value::str("caching"),
        Value::Tuple(vec![Value::int(1), Value::Float(2.5), Value::None]),
        Value::Bytes(b"raw".to_vec()),
    ]);
    let filters = Value::Dict(vec![
        (
            Value::str("tags"),
            Value::List(vec![Value::str("a"), Value::str("b")]),
        ),
        (
            Value::str("range"),
            Value::Tuple(vec![Value::int(10), Value::int(20)]),
        ),
    ]);
    let kwargs = vec![("page".to_owned(), Value::int(3))];
    key_case(f, None, vec![terms, filters], kwargs).into_op(
        "app.models.search(['caching', (1, 2.5, None), b'raw'], {'tags': ['a', 'b'], 'range': (10, 20)}, 3)OrderedDict()",
    )
}

fn memo_options(timeout: i64) -> MemoizeOptions {
    MemoizeOptions {
        timeout: Some(timeout),
        ..Default::default()
    }
}

/// A cache on a virtual clock with `get_student` warmed for every argument.
fn warm_cache(timeout: i64) -> Result<(Cache, VirtualClock, Memoized<String>), String> {
    let clock = VirtualClock::at_secs(1_000);
    let cache = Cache::builder()
        .clock(clock.clone())
        .build()
        .map_err(|e| e.to_string())?;
    let get = cache
        .memoize(NAME, ["sid"], memo_options(timeout))
        .map_err(|e| e.to_string())?;
    for sid in 0..KEYS {
        get.call(&cache, (sid,), || {
            Ok::<_, Infallible>(format!("student {sid}"))
        })
        .map_err(|e| e.to_string())?;
    }
    Ok((cache, clock, get))
}

/// Whether `get_student(sid)` is a hit now (a setup check, not part of any operation).
fn is_hit(cache: &Cache, get: &Memoized<String>, sid: i64) -> Result<bool, String> {
    get.call_traced(cache, (sid,), || {
        Ok::<_, Infallible>(format!("student {sid}"))
    })
    .map(|c| c.is_hit())
    .map_err(|e| e.to_string())
}

fn embedded_memoize_hit() -> Result<Op, String> {
    let (cache, _clock, get) = warm_cache(LONG)?;
    if !is_hit(&cache, &get, 3)? {
        return Err("a warmed call is not a hit".into());
    }
    let mut sid = 0;
    Ok(Box::new(move || {
        sid = (sid + 1) % KEYS;
        let _ = black_box(get.call(&cache, (sid,), || Ok::<_, Infallible>(String::new())));
    }))
}

fn embedded_memoize_miss() -> Result<Op, String> {
    let (cache, clock, get) = warm_cache(1)?;
    // Every operation steps past the timeout: the entry has expired, the call recomputes.
    clock.advance_secs(2);
    if is_hit(&cache, &get, 3)? {
        return Err("an expired call is a hit".into());
    }
    let mut sid = 0;
    Ok(Box::new(move || {
        sid = (sid + 1) % KEYS;
        clock.advance_secs(2);
        let _ = black_box(get.call(&cache, (sid,), || {
            Ok::<_, Infallible>(String::from("student"))
        }));
    }))
}

fn embedded_view_hit() -> Result<Op, String> {
    let cache = Cache::new().map_err(|e| e.to_string())?;
    let view = cache
        .cached_view::<String>(CachedOptions {
            timeout: Some(LONG),
            ..Default::default()
        })
        .map_err(|e| e.to_string())?;
    let requests: Vec<Request> = (0..KEYS)
        .map(|i| request_path(&format!("/students/{i}")))
        .collect();
    for r in &requests {
        view.call(&cache, r, || {
            Ok::<_, Infallible>(format!("<p>{}</p>", r.path))
        })
        .map_err(|e| e.to_string())?;
    }
    let hit = view
        .call_traced(&cache, &requests[1], || Ok::<_, Infallible>(String::new()))
        .map_err(|e| e.to_string())?;
    if !hit.is_hit() {
        return Err("a warmed view is not a hit".into());
    }
    let mut i = 0;
    Ok(Box::new(move || {
        i = (i + 1) % requests.len();
        let _ = black_box(view.call(&cache, &requests[i], || Ok::<_, Infallible>(String::new())));
    }))
}

/// The stepper driven to the end of one call, every effect answered at once: store
/// operations on `store` at `now`, the function's result `computed`, hooks `False`.
pub fn drive(
    engine: &mut Engine,
    store: &mut MemoryStore,
    command: Command,
    now: Timestamp,
    computed: &Value,
) -> Result<Outcome, EngineError> {
    let mut step = engine.start(command)?;
    loop {
        step = match step {
            Step::Store(op) => engine.resume(Input::Store(store.execute(&op, now)))?,
            Step::Compute => engine.resume(Input::Computed(Ok(computed.clone())))?,
            Step::Hook(_) => engine.resume(Input::Hook(Ok(false)))?,
            Step::Log(_) => engine.resume(Input::Logged)?,
            Step::Done(outcome) => return Ok(outcome),
        };
    }
}

fn call(function: MemoizedId, sid: i64) -> Command {
    Command::CallMemoized {
        function,
        bound_to: None,
        args: vec![Value::int(sid)],
        kwargs: Vec::new(),
    }
}

/// An engine with `get_student` registered and warmed over a fresh store at [`NOW`].
fn warm_stepper(timeout: i64) -> Result<(Engine, MemoryStore, MemoizedId), String> {
    let mut engine = Engine::new(EngineConfig::default());
    let mut store = MemoryStore::default();
    let f = descriptor(
        "get_student",
        vec![Param::required("sid")],
        Binding::Function,
    )?;
    let id = engine
        .memoize(
            f,
            EngineMemoizeOptions {
                timeout: Some(timeout),
                ..Default::default()
            },
        )
        .map_err(|e| e.to_string())?;
    for sid in 0..KEYS {
        let value = Value::str(format!("student {sid}"));
        drive(&mut engine, &mut store, call(id, sid), NOW, &value).map_err(|e| e.to_string())?;
    }
    Ok((engine, store, id))
}

fn is_hit_outcome(o: &Outcome) -> bool {
    matches!(o.event, flaskcache_engine::engine::CacheEvent::Hit { .. })
}

fn stepper_memoize_hit() -> Result<Op, String> {
    let (mut engine, mut store, id) = warm_stepper(LONG)?;
    let none = Value::None;
    let o = drive(&mut engine, &mut store, call(id, 3), NOW, &none).map_err(|e| e.to_string())?;
    if !is_hit_outcome(&o) {
        return Err("a warmed call is not a hit".into());
    }
    let mut sid = 0;
    Ok(Box::new(move || {
        sid = (sid + 1) % KEYS;
        let _ = black_box(drive(&mut engine, &mut store, call(id, sid), NOW, &none));
    }))
}

fn stepper_memoize_miss() -> Result<Op, String> {
    let (mut engine, mut store, id) = warm_stepper(1)?;
    let value = Value::str("student");
    let mut now = Timestamp::from_secs(1_002);
    let o = drive(&mut engine, &mut store, call(id, 3), now, &value).map_err(|e| e.to_string())?;
    if is_hit_outcome(&o) {
        return Err("an expired call is a hit".into());
    }
    let mut sid = 0;
    Ok(Box::new(move || {
        sid = (sid + 1) % KEYS;
        now = Timestamp::from_micros(now.as_micros() + 2_000_000);
        let _ = black_box(drive(&mut engine, &mut store, call(id, sid), now, &value));
    }))
}

fn stepper_view_hit() -> Result<Op, String> {
    let mut engine = Engine::new(EngineConfig::default());
    let mut store = MemoryStore::default();
    let view = engine
        .cached(flaskcache_engine::engine::CachedOptions {
            timeout: Some(LONG),
            ..Default::default()
        })
        .map_err(|e| e.to_string())?;
    let paths: Vec<String> = (0..KEYS).map(|i| format!("/students/{i}")).collect();
    let command = move |path: &str| Command::CallCached {
        view,
        request: Some(flaskcache_engine::engine::Request {
            path: path.to_owned(),
            args: Vec::new(),
        }),
        prefix_result: None,
        custom_key: None,
    };
    for p in &paths {
        let body = Value::str(format!("<p>{p}</p>"));
        drive(&mut engine, &mut store, command(p), NOW, &body).map_err(|e| e.to_string())?;
    }
    let none = Value::None;
    let o = drive(&mut engine, &mut store, command(&paths[1]), NOW, &none)
        .map_err(|e| e.to_string())?;
    if !is_hit_outcome(&o) {
        return Err("a warmed view is not a hit".into());
    }
    let mut i = 0;
    Ok(Box::new(move || {
        i = (i + 1) % paths.len();
        let _ = black_box(drive(
            &mut engine,
            &mut store,
            command(&paths[i]),
            NOW,
            &none,
        ));
    }))
}

fn delete_one() -> Result<Op, String> {
    let (cache, _clock, get) = warm_cache(LONG)?;
    match cache
        .delete_memoized(&get, (3,))
        .map_err(|e| e.to_string())?
    {
        Deleted::Entry {
            existed: Some(true),
            ..
        } => {}
        other => return Err(format!("delete_memoized deleted {other:?}")),
    }
    let mut sid = 0;
    Ok(Box::new(move || {
        sid = (sid + 1) % KEYS;
        let _ = black_box(cache.delete_memoized(&get, (sid,)));
        let _ = black_box(get.call(&cache, (sid,), || {
            Ok::<_, Infallible>(String::from("student"))
        }));
    }))
}

fn delete_all() -> Result<Op, String> {
    let (cache, _clock, get) = warm_cache(LONG)?;
    match cache.delete_memoized_all(&get).map_err(|e| e.to_string())? {
        Deleted::AllResults { .. } => {}
        other => return Err(format!("delete_memoized(f) did {other:?}")),
    }
    Ok(Box::new(move || {
        let _ = black_box(cache.delete_memoized_all(&get));
    }))
}

/// A cachelib store with threshold 500 holding 501 live entries: over its threshold, so
/// every `set` prunes one entry before storing.
fn full_store() -> (MemoryStore, usize) {
    let config = StoreConfig::default();
    let threshold = config.threshold;
    let mut store = MemoryStore::new(config);
    for i in 0..=threshold {
        store.set(&format!("k{i}"), Value::int(i as i64), Some(LONG), NOW);
    }
    (store, threshold)
}

fn store_get() -> Result<Op, String> {
    let (mut store, threshold) = full_store();
    let keys: Vec<StoreOp> = (0..=threshold)
        .map(|i| StoreOp::Get {
            key: format!("k{i}"),
        })
        .collect();
    match store.execute(&keys[7], NOW) {
        Ok(StoreReply::Value(Value::Int(_))) => {}
        other => return Err(format!("get of a stored key gave {other:?}")),
    }
    let mut i = 0;
    Ok(Box::new(move || {
        i = (i + 1) % keys.len();
        let _ = black_box(store.execute(&keys[i], NOW));
    }))
}

fn store_set_pruning() -> Result<Op, String> {
    let (mut store, threshold) = full_store();
    let before = store.len();
    store.set("new0", Value::int(0), Some(LONG), NOW);
    if store.len() != before || before != threshold + 1 {
        return Err(format!(
            "a set on a store of {before} entries left {}: it did not prune",
            store.len()
        ));
    }
    let mut n: u64 = 0;
    let mut key = String::new();
    Ok(Box::new(move || {
        n += 1;
        key.clear();
        key.push_str("new");
        key.push_str(&n.to_string());
        let op = StoreOp::Set {
            key: std::mem::take(&mut key),
            value: Value::int(1),
            timeout: Some(LONG),
        };
        let _ = black_box(store.execute(&op, NOW));
        if let StoreOp::Set { key: k, .. } = op {
            key = k;
        }
    }))
}
