//! Call flows and the blog-post pitfalls, step by step, against the real library.
//!
//! `tests/flows/record.py` ran each scenario in the real Flask-Caching (2.5.1, 2.4.1) and
//! Flask-Cache 0.13.1 over SimpleCache and wrote every backend call, hook call, function
//! run and result to `tests/flows/recorded/<scenario>.<profile>.txt`. Here the same
//! scenarios run through the engine's stepper and a `MemoryStore`, rendered in the same
//! form; the two must be identical, and an insta snapshot shows the engine's transcript
//! beside the recording, one line each. Clauses: FC-1.1 (`cached_trace`), FC-2.5.4
//! (`memoize_trace`), FC-2.6.4 (`forced_update`), FC-4.5.4 (`decorators_simple`, through
//! SimpleCache instead of Redis), FC-3.5 and FC-3.3.3 (`blog_*`), FC-3.1.1 and FC-4.3
//! (`backend_proxies`), FC-0.6 (`memoize_expiry`), FC-0.8, FC-1.1.7, FC-1.1.8 and FC-2.6.2
//! (`cached_http_errors`: views and a memoized function that `abort()`).
//!
//! Every scenario must have a recording for every profile, except the pairs listed in
//! `NOT_RECORDED` with the reason the release cannot run them; a file in the directory
//! that no scenario checks fails `every_recording_is_checked`.

use flaskcache::engine::engine::{
    CachedId, CachedOptions, Command, Engine, EngineConfig, HookQuery, Hooks, MemoizeOptions,
    MemoizedId, Request, VersionSource,
};
use flaskcache::engine::keys::{CachedKeySpec, KeyPrefix, Version, VersionGenerator};
use flaskcache::engine::store::{
    MemoryStore, StoreConfig, StoreError, StoreFlavor, StoreOp, Timestamp,
};
use flaskcache::engine::{
    Binding, ClassRef, FunctionDescriptor, Param, Profile, PyError, PyObject, PythonVersion,
    Receiver, Value,
};
use flaskcache_sim::transcript::{run_call, Answers};
use std::path::PathBuf;

/// One scenario being run: the engine, the store, the clock and the transcript.
struct Sim {
    profile: Profile,
    engine: Engine,
    store: MemoryStore,
    now: Timestamp,
    lines: Vec<String>,
    /// The counter behind `gen%d`-style bodies (one per scenario, as in the recorder).
    counter: i64,
    /// The backend method whose next call raises (`ConnectionError: backend down`).
    fail_next: Option<&'static str>,
}

impl Sim {
    fn new(profile: Profile) -> Self {
        let python = match profile {
            Profile::FlaskCache013 => PythonVersion::Py37,
            _ => PythonVersion::Py311,
        };
        let mut engine = Engine::new(EngineConfig {
            profile,
            python,
            ..Default::default()
        });
        engine.set_version_source(injected_versions());
        let flavor = match profile {
            Profile::FlaskCaching25 => StoreFlavor::Cachelib,
            Profile::FlaskCaching24 => StoreFlavor::FlaskCaching24,
            Profile::FlaskCache013 => StoreFlavor::Werkzeug016,
        };
        Sim {
            profile,
            engine,
            store: MemoryStore::new(StoreConfig {
                flavor,
                ..Default::default()
            }),
            now: Timestamp::from_secs(1000),
            lines: Vec::new(),
            counter: 0,
            fail_next: None,
        }
    }

    fn memoize(
        &mut self,
        qualname: &str,
        params: &[&str],
        binding: Binding,
        timeout: Option<i64>,
        hooks: Hooks,
    ) -> MemoizedId {
        let params = params.iter().map(|p| Param::required(*p)).collect();
        let f = FunctionDescriptor::new("app", qualname, params, binding).expect("valid signature");
        let options = MemoizeOptions {
            timeout,
            hooks,
            ..Default::default()
        };
        self.engine.memoize(f, options).expect("supported options")
    }

    fn view(&mut self, options: CachedOptions) -> CachedId {
        self.engine.cached(options).expect("supported options")
    }

    /// Runs `command`; `body` is the decorated function, `hook` answers every hook.
    fn run(
        &mut self,
        comment: &str,
        command: Command,
        mut body: impl FnMut(&mut i64) -> Value,
        hook: bool,
    ) {
        self.run_raising(comment, command, move |n| Ok(body(n)), hook);
    }

    /// [`Sim::run`] with a body that may raise.
    fn run_raising(
        &mut self,
        comment: &str,
        command: Command,
        mut body: impl FnMut(&mut i64) -> Result<Value, PyError>,
        hook: bool,
    ) {
        let (store, now, fail_next) = (&mut self.store, self.now, &mut self.fail_next);
        let counter = &mut self.counter;
        let answers = Answers {
            store: |op: &StoreOp| match fail_next.take_if(|name| *name == op.name()) {
                Some(_) => Err(StoreError::Failed("backend down".into())),
                None => store.execute(op, now),
            },
            compute: || body(counter),
            hook: |_: &HookQuery| Ok(hook),
        };
        run_call(&mut self.engine, comment, command, answers, &mut self.lines)
            .expect("the engine accepts the command");
    }

    /// Makes the next call of backend method `name` fail with `ConnectionError`.
    fn fail(&mut self, name: &'static str) {
        self.fail_next = Some(name);
    }

    fn get(&mut self, view: CachedId, path: &str, body: impl FnMut(&mut i64) -> Value) {
        let command = Command::CallCached {
            view,
            request: Some(Request {
                path: path.into(),
                args: vec![],
            }),
            prefix_result: None,
            custom_key: None,
        };
        self.run(&format!("GET {path}"), command, body, false);
    }

    fn call(
        &mut self,
        comment: &str,
        function: MemoizedId,
        bound_to: Option<Receiver>,
        args: &[i64],
        body: impl FnMut(&mut i64) -> Value,
    ) {
        let command = Command::CallMemoized {
            function,
            bound_to,
            args: ints(args),
            kwargs: vec![],
        };
        self.run(comment, command, body, true);
    }

    fn delete_memoized(
        &mut self,
        comment: &str,
        function: MemoizedId,
        bound_to: Option<Receiver>,
        args: Vec<Value>,
    ) {
        let command = Command::DeleteMemoized {
            function,
            bound_to,
            args,
            kwargs: vec![],
        };
        self.run(comment, command, |_| Value::None, false);
    }

    fn backend(&mut self, comment: &str, op: StoreOp) {
        self.run(comment, Command::Backend(op), |_| Value::None, false);
    }

    fn tick(&mut self, secs: i64) {
        self.now = self.now.saturating_add_secs(secs);
        self.lines.push(format!("tick {secs}"));
    }
}

/// The recorder pins the k-th uuid4 of a scenario to 16 bytes of value k.
fn injected_versions() -> VersionSource {
    let versions = (1..=64u8)
        .map(|k| Version::from_uuid_bytes(&[k; 16]))
        .collect();
    VersionSource::Injected(versions, VersionGenerator::new(0))
}

fn ints(args: &[i64]) -> Vec<Value> {
    args.iter().map(|a| Value::int(*a)).collect()
}

fn calc() -> ClassRef {
    ClassRef::new("app", "Calc")
}

fn calc_instance() -> Receiver {
    Receiver::Instance(Box::new(PyObject {
        class: calc(),
        repr: "Calc()".into(),
        caching_id: None,
    }))
}

fn constant(text: &'static str) -> impl FnMut(&mut i64) -> Value {
    move |_| Value::str(text)
}

/// `"gen%d" % n` with `n` counting computations.
fn counted(prefix: &'static str) -> impl FnMut(&mut i64) -> Value {
    move |n| {
        *n += 1;
        Value::str(format!("{prefix}{n}"))
    }
}

/// `x + n` with `n` counting computations.
fn plus_counter(x: i64) -> impl FnMut(&mut i64) -> Value {
    move |n| {
        *n += 1;
        Value::int(x + *n)
    }
}

fn literal(prefix: &str) -> CachedKeySpec {
    CachedKeySpec {
        key_prefix: KeyPrefix::Template(prefix.into()),
        ..Default::default()
    }
}

/// A call of `view` in a request for `path` (no query string).
fn view_request(view: CachedId, path: &str) -> Command {
    Command::CallCached {
        view,
        request: Some(Request {
            path: path.into(),
            args: vec![],
        }),
        prefix_result: None,
        custom_key: None,
    }
}

fn cached_trace(s: &mut Sim) {
    let full = s.profile != Profile::FlaskCache013; // 0.13 has no cache_none and no hooks but unless
    let v = s.view(CachedOptions {
        timeout: Some(10),
        ..Default::default()
    });
    s.get(v, "/v", constant("v1"));
    s.get(v, "/v", constant("v1"));
    if full {
        let cn = s.view(CachedOptions {
            key: literal("noneval"),
            cache_none: true,
            ..Default::default()
        });
        s.run("cn()", view_request(cn, "/x"), |_| Value::None, false);
        s.run("cn()", view_request(cn, "/x"), |_| Value::None, false);
    }
    let cn2 = s.view(CachedOptions {
        key: literal("noneval2"),
        ..Default::default()
    });
    s.run("cn2()", view_request(cn2, "/x"), |_| Value::None, false);
    s.run("cn2()", view_request(cn2, "/x"), |_| Value::None, false);
    let hooks = |h: Hooks| CachedOptions {
        hooks: h,
        ..Default::default()
    };
    if full {
        let f = s.view(hooks(Hooks {
            response_filter: true,
            ..Default::default()
        }));
        s.run("GET /f", view_request(f, "/f"), constant("nope"), false);
        let forced = s.view(hooks(Hooks {
            forced_update: true,
            ..Default::default()
        }));
        s.run(
            "GET /forced",
            view_request(forced, "/forced"),
            constant("forced"),
            true,
        );
        s.run(
            "GET /forced",
            view_request(forced, "/forced"),
            constant("forced"),
            true,
        );
    }
    let u = s.view(hooks(Hooks {
        unless: true,
        ..Default::default()
    }));
    s.run("GET /u", view_request(u, "/u"), constant("u"), true);
}

/// What Flask's `abort(code, description)` raises: werkzeug's class for the code.
fn abort(code: u16, description: &str) -> PyError {
    let (class, name) = match code {
        403 => ("Forbidden", "Forbidden"),
        _ => ("NotFound", "Not Found"),
    };
    let class = ClassRef::new("werkzeug.exceptions", class);
    PyError::http_exception(class, code, name, description)
}

fn cached_http_errors(s: &mut Sim) {
    let item = s.view(CachedOptions {
        timeout: Some(60),
        ..Default::default()
    });
    let item_body = |i: i64| {
        move |_: &mut i64| match i {
            3 => Err(abort(403, &format!("item {i} is hidden"))),
            7 => Err(abort(404, &format!("no item {i}"))),
            _ => Ok(Value::str(format!("item {i}"))),
        }
    };
    for i in [7, 7, 3, 3, 1] {
        let path = format!("/items/{i}");
        s.run_raising(
            &format!("item({i})"),
            view_request(item, &path),
            item_body(i),
            false,
        );
    }
    let key = || "view//items/7".to_owned();
    s.backend("cache.get('view//items/7')", StoreOp::Get { key: key() });
    s.backend(
        "cache.delete('view//items/7')",
        StoreOp::Delete { key: key() },
    );
    s.run_raising(
        "item(7)",
        view_request(item, "/items/7"),
        item_body(7),
        false,
    );
    if s.profile != Profile::FlaskCache013 {
        let filtered = s.view(CachedOptions {
            hooks: Hooks {
                response_filter: true,
                ..Default::default()
            },
            ..Default::default()
        });
        for _ in 0..2 {
            let body = |_: &mut i64| Err(abort(404, "filtered out"));
            s.run_raising(
                "filtered()",
                view_request(filtered, "/filtered"),
                body,
                false,
            );
        }
    }
    let lookup = s.memoize(
        "lookup",
        &["i"],
        Binding::Function,
        Some(60),
        Hooks::default(),
    );
    for _ in 0..2 {
        let command = Command::CallMemoized {
            function: lookup,
            bound_to: None,
            args: ints(&[9]),
            kwargs: vec![],
        };
        s.run_raising(
            "lookup(9)",
            command,
            |_| Err(abort(404, "no item 9")),
            false,
        );
    }
}

fn memoize_trace(s: &mut Sim) {
    let f = s.memoize("f", &["a"], Binding::Function, Some(60), Hooks::default());
    s.call("f(1)", f, None, &[1], |_| Value::int(1));
    s.call("f(1)", f, None, &[1], |_| Value::int(1));
    let m = s.memoize(
        "C.m",
        &["self", "a"],
        Binding::InstanceMethod,
        Some(30),
        Hooks::default(),
    );
    let c = Receiver::Instance(Box::new(PyObject {
        class: ClassRef::new("app", "C"),
        repr: "C#1".into(),
        caching_id: None,
    }));
    s.call("C().m(1)", m, Some(c.clone()), &[1], |_| Value::int(1));
    s.call("C().m(1)", m, Some(c), &[1], |_| Value::int(1));
}

fn forced_update(s: &mut Sim) {
    let g = s.memoize(
        "g",
        &["a"],
        Binding::Function,
        Some(60),
        Hooks {
            forced_update: true,
            ..Default::default()
        },
    );
    s.call("g(2)", g, None, &[2], |_| Value::int(4));
    s.call("g(2)", g, None, &[2], |_| Value::int(4));
}

fn decorators_simple(s: &mut Sim) {
    let v = s.view(CachedOptions {
        timeout: Some(50),
        ..Default::default()
    });
    s.get(v, "/demo/student/all", constant("students"));
    let mf = s.memoize("mf", &["a"], Binding::Function, Some(20), Hooks::default());
    s.call("mf(1)", mf, None, &[1], |_| Value::int(1));
    s.delete_memoized("cache.delete_memoized(mf)", mf, None, vec![]);
    s.call("mf(1)", mf, None, &[1], |_| Value::int(1));
    let verhash = Command::DeleteMemoizedVerhash {
        function: mf,
        bound_to: None,
    };
    s.run(
        "cache.delete_memoized_verhash(mf)",
        verhash,
        |_| Value::None,
        false,
    );
    s.call("mf(1)", mf, None, &[1], |_| Value::int(1));
}

fn memoize_expiry(s: &mut Sim) {
    let h = s.memoize("h", &["a"], Binding::Function, Some(5), Hooks::default());
    s.call("h(1)", h, None, &[1], |_| Value::int(1));
    for secs in [3, 3, 10] {
        s.tick(secs);
        s.call("h(1)", h, None, &[1], |_| Value::int(1));
    }
}

fn blog_default_prefix(s: &mut Sim) {
    let v = s.view(CachedOptions {
        timeout: Some(50),
        ..Default::default()
    });
    s.get(v, "/demo/student/all", counted("gen"));
    for key in [
        "/demo/student/all",
        "view/demo/student/all",
        "view//demo/student/all",
    ] {
        s.backend(
            &format!("cache.delete('{key}')"),
            StoreOp::Delete { key: key.into() },
        );
        s.get(v, "/demo/student/all", counted("gen"));
    }
    if s.profile == Profile::FlaskCaching25 {
        let command = Command::DeleteCached {
            view: v,
            path: Some("/demo/student/all".into()),
            query_args: None,
            url_for: None,
            prefix_result: None,
            request: None,
        };
        s.run(
            "cache.delete_cached(student_all, '/demo/student/all')",
            command,
            |_| Value::None,
            false,
        );
        s.get(v, "/demo/student/all", counted("gen"));
    }
}

fn blog_literal_prefix(s: &mut Sim) {
    let v = s.view(CachedOptions {
        key: literal("res_student_all"),
        timeout: Some(50),
        ..Default::default()
    });
    s.get(v, "/demo/student/lit", counted("lit"));
    for key in [
        "/demo/student/lit",
        "view//demo/student/lit",
        "res_student_all",
    ] {
        s.backend(
            &format!("cache.delete('{key}')"),
            StoreOp::Delete { key: key.into() },
        );
        s.get(v, "/demo/student/lit", counted("lit"));
    }
}

fn blog_classmethod(s: &mut Sim) {
    let cm = s.memoize(
        "Calc.get_number",
        &["cls", "x"],
        Binding::ClassMethod,
        Some(100),
        Hooks::default(),
    );
    let class = Receiver::Class(calc());
    let call = |s: &mut Sim| {
        s.call(
            "Calc.get_number(5)",
            cm,
            Some(class.clone()),
            &[5],
            plus_counter(5),
        )
    };
    call(s);
    s.delete_memoized(
        "cache.delete_memoized(Calc.get_number, 5)",
        cm,
        Some(class.clone()),
        ints(&[5]),
    );
    call(s);
    let with_class = vec![Value::Class(calc()), Value::int(5)];
    s.delete_memoized(
        "cache.delete_memoized(Calc.get_number, Calc, 5)",
        cm,
        Some(class.clone()),
        with_class,
    );
    call(s);
    s.delete_memoized(
        "cache.delete_memoized(Calc.get_number)",
        cm,
        Some(class.clone()),
        vec![],
    );
    call(s);
}

fn blog_classmethod_class_only(s: &mut Sim) {
    let cm = s.memoize(
        "Calc.get_number",
        &["cls", "x"],
        Binding::ClassMethod,
        Some(100),
        Hooks::default(),
    );
    let class = Receiver::Class(calc());
    s.call(
        "Calc.get_number(5)",
        cm,
        Some(class.clone()),
        &[5],
        plus_counter(5),
    );
    s.delete_memoized(
        "cache.delete_memoized(Calc.get_number, Calc)",
        cm,
        Some(class.clone()),
        vec![Value::Class(calc())],
    );
    s.call("Calc.get_number(5)", cm, Some(class), &[5], plus_counter(5));
}

fn blog_instance_method(s: &mut Sim) {
    let inst = s.memoize(
        "Calc.inst",
        &["self", "x"],
        Binding::InstanceMethod,
        Some(100),
        Hooks::default(),
    );
    let c = calc_instance();
    let c_value = c.to_value();
    let call = |s: &mut Sim| s.call("c.inst(5)", inst, Some(c.clone()), &[5], plus_counter(5));
    call(s);
    s.delete_memoized(
        "cache.delete_memoized(c.inst, 5)",
        inst,
        Some(c.clone()),
        ints(&[5]),
    );
    call(s);
    s.delete_memoized(
        "cache.delete_memoized(c.inst, c, 5)",
        inst,
        Some(c.clone()),
        vec![c_value.clone(), Value::int(5)],
    );
    call(s);
    s.delete_memoized(
        "cache.delete_memoized(Calc.inst, 5)",
        inst,
        None,
        ints(&[5]),
    );
    call(s);
    s.delete_memoized(
        "cache.delete_memoized(Calc.inst, c, 5)",
        inst,
        None,
        vec![c_value, Value::int(5)],
    );
    call(s);
    s.delete_memoized(
        "cache.delete_memoized(c.inst)",
        inst,
        Some(c.clone()),
        vec![],
    );
    call(s);
    s.delete_memoized("cache.delete_memoized(Calc.inst)", inst, None, vec![]);
    call(s);
}

fn blog_staticmethod(s: &mut Sim) {
    let stat = s.memoize(
        "Calc.stat",
        &["x"],
        Binding::StaticMethod,
        Some(100),
        Hooks::default(),
    );
    let call = |s: &mut Sim| s.call("Calc.stat(5)", stat, None, &[5], plus_counter(5));
    call(s);
    s.delete_memoized(
        "cache.delete_memoized(Calc.stat, 5)",
        stat,
        None,
        ints(&[5]),
    );
    call(s);
    s.delete_memoized("cache.delete_memoized(Calc.stat)", stat, None, vec![]);
    call(s);
}

fn backend_proxies(s: &mut Sim) {
    let k = |k: &str| k.to_owned();
    s.backend(
        "cache.set('i', 42)",
        StoreOp::Set {
            key: k("i"),
            value: Value::int(42),
            timeout: None,
        },
    );
    s.backend("cache.get('i')", StoreOp::Get { key: k("i") });
    s.backend(
        "cache.add('i', 1)",
        StoreOp::Add {
            key: k("i"),
            value: Value::int(1),
            timeout: None,
        },
    );
    s.backend(
        "cache.add('n', 5, timeout=7)",
        StoreOp::Add {
            key: k("n"),
            value: Value::int(5),
            timeout: Some(7),
        },
    );
    s.backend("cache.has('n')", StoreOp::Has { key: k("n") });
    s.backend(
        "cache.get_many('i', 'n', 'q')",
        StoreOp::GetMany {
            keys: vec![k("i"), k("n"), k("q")],
        },
    );
    let items = vec![(k("x"), Value::int(1)), (k("y"), Value::str("z"))];
    s.backend(
        "cache.set_many({'x': 1, 'y': 'z'}, timeout=0)",
        StoreOp::SetMany {
            items,
            timeout: Some(0),
        },
    );
    s.backend("cache.delete('i')", StoreOp::Delete { key: k("i") });
    s.backend("cache.delete('i')", StoreOp::Delete { key: k("i") });
    s.backend(
        "cache.delete_many('x', 'missing')",
        StoreOp::DeleteMany {
            keys: vec![k("x"), k("missing")],
        },
    );
    s.tick(8);
    s.backend("cache.get('n')", StoreOp::Get { key: k("n") });
    s.backend("cache.clear()", StoreOp::Clear);
}

fn backend_failures(s: &mut Sim) {
    let v = s.view(CachedOptions {
        timeout: Some(10),
        ..Default::default()
    });
    let f = s.memoize("f", &["a"], Binding::Function, Some(60), Hooks::default());
    for fail in [Some("get_many"), Some("get"), Some("set"), None] {
        if let Some(name) = fail {
            s.fail(name);
        }
        s.call("f(1)", f, None, &[1], |_| Value::int(1));
    }
    for fail in [Some("get"), Some("set"), None] {
        if let Some(name) = fail {
            s.fail(name);
        }
        s.get(v, "/v", constant("v1"));
    }
    s.fail("get_many");
    s.delete_memoized("cache.delete_memoized(f, 1)", f, None, ints(&[1]));
    s.fail("set_many");
    s.delete_memoized("cache.delete_memoized(f)", f, None, vec![]);
    s.fail("delete_many");
    let verhash = Command::DeleteMemoizedVerhash {
        function: f,
        bound_to: None,
    };
    s.run(
        "cache.delete_memoized_verhash(f)",
        verhash,
        |_| Value::None,
        false,
    );
    s.fail("delete");
    s.backend(
        "cache.delete('view//v')",
        StoreOp::Delete {
            key: "view//v".into(),
        },
    );
    s.fail("get");
    s.backend(
        "cache.get('view//v')",
        StoreOp::Get {
            key: "view//v".into(),
        },
    );
}

fn backend_failures_debug(s: &mut Sim) {
    let config = EngineConfig {
        debug: true,
        ..s.engine.config().clone()
    };
    s.engine = Engine::new(config);
    s.engine.set_version_source(injected_versions());
    let f = s.memoize("f", &["a"], Binding::Function, Some(60), Hooks::default());
    for fail in [Some("get"), Some("set"), None] {
        if let Some(name) = fail {
            s.fail(name);
        }
        s.call("f(1)", f, None, &[1], |_| Value::int(1));
    }
    s.fail("get_many");
    s.delete_memoized("cache.delete_memoized(f, 1)", f, None, ints(&[1]));
}

/// Scenario and profile pairs that have no recording, each with the reason the release
/// cannot run the scenario. Every other pair must have a recording, and these must not.
const NOT_RECORDED: &[(&str, Profile, &str)] = &[(
    "forced_update",
    Profile::FlaskCache013,
    "Flask-Cache 0.13's memoize has no forced_update argument, and the scenario is nothing \
     but forced_update calls (tests/flows/record.py writes no file for it)",
)];

/// Why `name` has no recording for `profile`, when it is listed in `NOT_RECORDED`.
fn not_recorded(name: &str, profile: Profile) -> Option<&'static str> {
    NOT_RECORDED
        .iter()
        .find(|(n, p, _)| *n == name && *p == profile)
        .map(|(_, _, reason)| *reason)
}

/// `tests/flows/recorded/`.
fn recorded_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/flows/recorded")
}

/// Runs `scenario` for `profile` and compares with the recording, which must exist unless
/// the pair is listed in `NOT_RECORDED`.
fn check(name: &str, profile: Profile, scenario: fn(&mut Sim)) {
    let path = recorded_dir().join(format!("{name}.{}.txt", profile.as_str()));
    if let Some(reason) = not_recorded(name, profile) {
        assert!(
            !path.exists(),
            "{} exists, but NOT_RECORDED says there is none ({reason}): remove the entry",
            path.display()
        );
        return;
    }
    let recorded = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "no recording {} ({e}): re-record with tests/flows/record.py for profile {}, or \
             list ({name:?}, {:?}) in NOT_RECORDED with the reason the release cannot run it",
            path.display(),
            profile.as_str(),
            profile
        )
    });
    let mut sim = Sim::new(profile);
    scenario(&mut sim);
    let ours = sim.lines.join("\n") + "\n";
    let mut side_by_side = String::new();
    let theirs: Vec<&str> = recorded.lines().collect();
    for i in 0..theirs.len().max(sim.lines.len()) {
        let a = sim.lines.get(i).map(String::as_str).unwrap_or("<missing>");
        let b = theirs.get(i).copied().unwrap_or("<missing>");
        let mark = if a == b { "  " } else { "!!" };
        side_by_side.push_str(&format!("{mark} flaskcache: {a}\n   real:       {b}\n"));
    }
    insta::assert_snapshot!(format!("{name}.{}", profile.as_str()), side_by_side);
    assert_eq!(
        ours,
        recorded,
        "{name} ({}) differs from the real library",
        profile.as_str()
    );
}

macro_rules! scenarios {
    ($($name:ident),* $(,)?) => {
        /// Every scenario, by name.
        pub const SCENARIOS: &[&str] = &[$(stringify!($name)),*];
        $(
            #[test]
            fn $name() {
                for profile in super::Profile::ALL {
                    super::check(stringify!($name), profile, super::$name);
                }
            }
        )*
    };
}

mod recorded {
    scenarios!(
        cached_trace,
        cached_http_errors,
        memoize_trace,
        forced_update,
        decorators_simple,
        memoize_expiry,
        blog_default_prefix,
        blog_literal_prefix,
        blog_classmethod,
        blog_classmethod_class_only,
        blog_instance_method,
        blog_staticmethod,
        backend_proxies,
        backend_failures,
        backend_failures_debug,
    );
}

/// The other direction: every file in `tests/flows/recorded/` is the recording of a
/// scenario checked here, for a known profile, and not of a pair listed as unrecordable.
#[test]
fn every_recording_is_checked() {
    let mut unchecked = Vec::new();
    let mut count = 0;
    for entry in std::fs::read_dir(recorded_dir()).expect("tests/flows/recorded is readable") {
        let file = entry.expect("a directory entry").file_name();
        let file = file.to_string_lossy();
        count += 1;
        let known = Profile::ALL.into_iter().any(|profile| {
            file.strip_suffix(&format!(".{}.txt", profile.as_str()))
                .is_some_and(|name| {
                    recorded::SCENARIOS.contains(&name) && not_recorded(name, profile).is_none()
                })
        });
        if !known {
            unchecked.push(file.into_owned());
        }
    }
    assert!(
        unchecked.is_empty(),
        "tests/flows/recorded/ holds recordings no scenario here checks: {unchecked:?}"
    );
    assert_eq!(
        count,
        recorded::SCENARIOS.len() * Profile::ALL.len() - NOT_RECORDED.len(),
        "one recording per scenario and profile, less the NOT_RECORDED pairs"
    );
}
