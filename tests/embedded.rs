//! The thread-safe embedding cache (`flaskcache::Cache`): versions across instances,
//! typed calls and results, deletes, clock, diagnostics, nesting and concurrency.

use flaskcache::engine::engine::MemoizeOptions as EngineMemoizeOptions;
use flaskcache::engine::{StoreError, StoreOp, StoreReply};
use flaskcache::{
    Binding, Cache, CacheEvent, CachedOptions, CallError, ClassRef, Deleted, DiagnosticsMode,
    Error, FunctionDescriptor, MemoizeOptions, Memoized, Param, PyRepr, PythonVersion,
    SharedMemoryStore, Store, Timestamp, Value, VirtualClock,
};
use proptest::prelude::*;
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

fn opts(timeout: i64) -> MemoizeOptions {
    MemoizeOptions {
        timeout: Some(timeout),
        ..Default::default()
    }
}

fn on(store: &Arc<SharedMemoryStore>, clock: &VirtualClock) -> flaskcache::CacheBuilder {
    Cache::builder().store(store.clone()).clock(clock.clone())
}

fn ok<T>(v: T) -> impl FnOnce() -> Result<T, Infallible> {
    move || Ok(v)
}

/// A calls `get`, A `delete_memoized(get)`, B calls, B `delete_memoized(get)`, B calls.
/// Returns what B's last call served and whether it was a hit.
fn two_instances(a: &Cache, b: &Cache) -> (String, bool) {
    let no_params: [&str; 0] = [];
    let get_a: Memoized<String> = a.memoize("app.get", no_params, opts(600)).unwrap();
    let get_b: Memoized<String> = b.memoize("app.get", no_params, opts(600)).unwrap();
    assert_eq!(
        get_a
            .call(a, (), ok("before A's delete".to_owned()))
            .unwrap(),
        "before A's delete"
    );
    assert!(matches!(
        a.delete_memoized_all(&get_a).unwrap(),
        Deleted::AllResults { .. }
    ));
    assert_eq!(
        get_b
            .call(b, (), ok("after A's delete".to_owned()))
            .unwrap(),
        "after A's delete"
    );
    b.delete_memoized_all(&get_b).unwrap();
    let last = get_b
        .call_traced(b, (), ok("after B's delete".to_owned()))
        .unwrap();
    let hit = last.is_hit();
    (last.value, hit)
}

#[test]
fn two_instances_on_one_store_serve_no_stale_value() {
    let store = Arc::new(SharedMemoryStore::default());
    let clock = VirtualClock::at_secs(1_000);
    let a = on(&store, &clock).build().unwrap();
    let b = on(&store, &clock).build().unwrap();
    assert_ne!(a.config().version_seed, b.config().version_seed);
    assert_eq!(
        two_instances(&a, &b),
        ("after B's delete".to_owned(), false)
    );
}

/// Why an explicit seed is a testing tool only: two instances with the same seed mint the
/// same versions, and B's reset re-mints the version A's first result was stored under.
#[test]
fn one_seed_for_two_instances_resurrects_the_orphaned_entry() {
    let store = Arc::new(SharedMemoryStore::default());
    let clock = VirtualClock::at_secs(1_000);
    let a = on(&store, &clock).version_seed(0).build().unwrap();
    let b = on(&store, &clock).version_seed(0).build().unwrap();
    assert_eq!(
        two_instances(&a, &b),
        ("before A's delete".to_owned(), true)
    );
}

#[test]
fn versions_differ_across_instances_by_default() {
    let version_of = |cache: &Cache, store: &SharedMemoryStore| {
        let f: Memoized<i64> = cache.memoize("app.f", ["x"], opts(60)).unwrap();
        f.call(cache, (1,), ok(1)).unwrap();
        store.with(|s| {
            s.iter()
                .find(|(k, _)| k.ends_with("_memver"))
                .map(|(_, v)| v.clone())
        })
    };
    let mut seen = Vec::new();
    for _ in 0..4 {
        let store = Arc::new(SharedMemoryStore::default());
        let cache = Cache::builder().store(store.clone()).build().unwrap();
        let version = version_of(&cache, &store).expect("a version key");
        assert!(!seen.contains(&version), "{version:?} minted twice");
        seen.push(version);
    }
}

#[derive(Clone, Debug)]
enum Op {
    Call { instance: usize, arg: i64 },
    DeleteAll { instance: usize },
    DeleteOne { instance: usize, arg: i64 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..4usize, 0..3i64).prop_map(|(instance, arg)| Op::Call { instance, arg }),
        1 => (0..4usize).prop_map(|instance| Op::DeleteAll { instance }),
        1 => (0..4usize, 0..3i64).prop_map(|(instance, arg)| Op::DeleteOne { instance, arg }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Several instances on one store behave as one Flask-Caching deployment: a call serves
    /// the value computed since the last delete that covered it, never an older one.
    #[test]
    fn instances_sharing_a_store_never_serve_stale_values(
        instances in 2..5usize,
        ops in proptest::collection::vec(op(), 1..40),
    ) {
        let store = Arc::new(SharedMemoryStore::default());
        let clock = VirtualClock::at_secs(1_000);
        let caches: Vec<Cache> = (0..instances).map(|_| on(&store, &clock).build().unwrap()).collect();
        let handles: Vec<Memoized<i64>> = caches
            .iter()
            .map(|c| c.memoize("app.models.score", ["sid"], opts(3600)).unwrap())
            .collect();
        let mut live: HashMap<i64, i64> = HashMap::new();
        let mut next = 0;
        for op in ops {
            match op {
                Op::Call { instance, arg } => {
                    let i = instance % instances;
                    next += 1;
                    let got = handles[i].call_traced(&caches[i], (arg,), ok(next)).unwrap();
                    match live.get(&arg) {
                        Some(&v) => {
                            prop_assert!(got.is_hit());
                            prop_assert_eq!(got.value, v);
                        }
                        None => {
                            prop_assert!(!got.is_hit(), "stale hit {:?}", got);
                            prop_assert_eq!(got.value, next);
                            live.insert(arg, next);
                        }
                    }
                }
                Op::DeleteAll { instance } => {
                    let i = instance % instances;
                    caches[i].delete_memoized_all(&handles[i]).unwrap();
                    live.clear();
                }
                Op::DeleteOne { instance, arg } => {
                    let i = instance % instances;
                    let removed = caches[i].delete_memoized(&handles[i], (arg,)).unwrap();
                    let existed = live.remove(&arg).is_some();
                    let reported = matches!(removed, Deleted::Entry { existed: Some(e), .. } if e == existed);
                    prop_assert!(reported, "{:?}", removed);
                }
            }
        }
    }
}

#[test]
fn typed_keys_equal_the_engine_keys_for_the_same_python_values() {
    let now = Timestamp::from_secs(1_000);
    let mut low = flaskcache::engine::Cache::seeded(9);
    let f = FunctionDescriptor::new(
        "app.models",
        "lookup",
        vec![
            Param::required("a"),
            Param::required("b"),
            Param::required("c"),
            Param::required("d"),
        ],
        Binding::Function,
    )
    .unwrap();
    let id = low
        .memoize(f.clone(), EngineMemoizeOptions::default())
        .unwrap();
    let args = [
        Value::int(7),
        Value::str("Ann"),
        Value::Tuple(vec![Value::Float(1.5), Value::None]),
        Value::Bytes(b"x\x00".to_vec()),
    ];
    let low_key = match low
        .call(now, id, &args, || Ok(Value::int(1)))
        .unwrap()
        .event
    {
        CacheEvent::Miss { key, .. } => key,
        other => panic!("{other:?}"),
    };

    let cache = Cache::builder()
        .clock(VirtualClock::new(now))
        .version_seed(9)
        .build()
        .unwrap();
    let lookup: Memoized<i64> = cache.memoize_fn(f, MemoizeOptions::default()).unwrap();
    let called = lookup
        .call_traced(&cache, (7, "Ann", (1.5, None::<i64>), b"x\x00"), ok(1))
        .unwrap();
    assert_eq!(
        called.event,
        CacheEvent::Miss {
            key: low_key,
            stored: true
        }
    );
}

#[derive(Debug, PartialEq)]
struct NotFound(i64);
impl std::fmt::Display for NotFound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "no student {}", self.0)
    }
}
impl std::error::Error for NotFound {}

#[test]
fn body_errors_come_back_typed_and_are_not_cached() {
    let cache = Cache::new().unwrap();
    let get: Memoized<String> = cache.memoize("app.get", ["sid"], opts(60)).unwrap();
    let err = get.call(&cache, (3,), || Err(NotFound(3))).unwrap_err();
    assert_eq!(err, CallError::Body(NotFound(3)));
    let after = get
        .call_traced(&cache, (3,), || Ok::<_, NotFound>("Cy".into()))
        .unwrap();
    assert!(!after.is_hit());
}

#[test]
fn a_result_of_another_type_is_a_type_mismatch() {
    let cache = Cache::new().unwrap();
    let as_str: Memoized<String> = cache.memoize("app.get", ["sid"], opts(60)).unwrap();
    let as_int: Memoized<i64> = cache.memoize("app.get", ["sid"], opts(60)).unwrap();
    as_str.call(&cache, (1,), ok("one".to_owned())).unwrap();
    match as_int.call(&cache, (1,), ok(1)) {
        Err(CallError::Cache(Error::TypeMismatch(e))) => {
            assert_eq!(e.to_string(), "expected int, found str")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn deletes_say_what_they_removed() {
    let cache = Cache::new().unwrap();
    assert!(cache.set("k", &1, None).unwrap());
    assert_eq!(
        cache.delete("k").unwrap(),
        Deleted::Entry {
            key: "k".into(),
            existed: Some(true)
        }
    );
    assert_eq!(
        cache.delete("k").unwrap(),
        Deleted::Entry {
            key: "k".into(),
            existed: Some(false)
        }
    );
    let f: Memoized<i64> = cache.memoize("app.f", ["x"], opts(60)).unwrap();
    f.call(&cache, (1,), ok(10)).unwrap();
    assert!(matches!(
        cache.delete_memoized(&f, (1,)).unwrap(),
        Deleted::Entry {
            existed: Some(true),
            ..
        }
    ));
    assert!(matches!(
        cache.delete_memoized(&f, (1,)).unwrap(),
        Deleted::Entry {
            existed: Some(false),
            ..
        }
    ));
    match cache.delete_memoized_all(&f).unwrap() {
        Deleted::AllResults { version_key } => assert_eq!(version_key, "app.f_memver"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        cache.delete_memoized_verhash(&f).unwrap(),
        Deleted::VersionKey { .. }
    ));
}

#[test]
fn the_virtual_clock_expires_entries() {
    let clock = VirtualClock::at_secs(1_000);
    let cache = Cache::builder().clock(clock.clone()).build().unwrap();
    let f: Memoized<i64> = cache.memoize("app.f", ["x"], opts(10)).unwrap();
    f.call(&cache, (1,), ok(1)).unwrap();
    clock.ticks(9);
    assert!(f.call_traced(&cache, (1,), ok(2)).unwrap().is_hit());
    clock.advance(Duration::from_secs(2));
    let late = f.call_traced(&cache, (1,), ok(3)).unwrap();
    assert_eq!((late.value, late.is_hit()), (3, false));
}

struct Down;
impl Store for Down {
    fn execute(&self, _: &StoreOp, _: Timestamp) -> Result<StoreReply, StoreError> {
        Err(StoreError::Failed("connection refused".into()))
    }
}

#[test]
fn a_failing_store_is_a_diagnostic_and_the_call_runs_uncached() {
    let cache = Cache::builder()
        .store(Arc::new(Down))
        .diagnostics(DiagnosticsMode::Buffer)
        .diagnostics_capacity(2)
        .build()
        .unwrap();
    let f: Memoized<i64> = cache.memoize("app.f", ["x"], opts(10)).unwrap();
    for _ in 0..2 {
        let called = f.call_traced(&cache, (1,), ok(5)).unwrap();
        assert_eq!(called.value, 5);
        assert!(matches!(called.event, CacheEvent::Uncached { .. }));
    }
    let drained = cache.drain_diagnostics();
    assert_eq!(drained.len(), 2);
    assert_eq!(
        drained[0].message,
        "Exception possibly due to cache backend."
    );
    assert!(cache.drain_diagnostics().is_empty());
    assert_eq!(cache.dropped_diagnostics(), 0);
    f.call(&cache, (1,), ok(5)).unwrap();
    f.call(&cache, (1,), ok(5)).unwrap();
    f.call(&cache, (1,), ok(5)).unwrap();
    assert_eq!(cache.drain_diagnostics().len(), 2);
    assert_eq!(cache.dropped_diagnostics(), 1);
}

struct Student {
    id: i64,
}
impl PyRepr for Student {
    fn py_class(&self) -> ClassRef {
        ClassRef::new("app.models", "Student")
    }
    fn py_repr(&self, _: PythonVersion) -> String {
        format!("Student({})", self.id)
    }
    fn caching_id(&self) -> Option<String> {
        Some(self.id.to_string())
    }
}

#[test]
fn instance_methods_are_cached_per_receiver() {
    let cache = Cache::new().unwrap();
    let f = FunctionDescriptor::new(
        "app.models",
        "Student.grade",
        vec![Param::required("self"), Param::required("course")],
        Binding::InstanceMethod,
    )
    .unwrap();
    let grade: Memoized<String> = cache.memoize_fn(f, opts(60)).unwrap();
    let (ann, bob) = (Student { id: 1 }, Student { id: 2 });
    grade
        .on_instance(&ann)
        .call(&cache, ("math",), ok("A".to_owned()))
        .unwrap();
    grade
        .on_instance(&bob)
        .call(&cache, ("math",), ok("B".to_owned()))
        .unwrap();
    let again = grade
        .on_instance(&ann)
        .call_traced(&cache, ("math",), ok(String::new()))
        .unwrap();
    assert_eq!((again.value.as_str(), again.is_hit()), ("A", true));
    // Resetting Ann's version leaves Bob's results alone.
    grade.on_instance(&ann).delete(&cache, ()).unwrap();
    assert!(!grade
        .on_instance(&ann)
        .call_traced(&cache, ("math",), ok("A+".to_owned()))
        .unwrap()
        .is_hit());
    assert!(grade
        .on_instance(&bob)
        .call_traced(&cache, ("math",), ok(String::new()))
        .unwrap()
        .is_hit());
}

#[test]
fn views_are_cached_per_path() {
    let cache = Cache::new().unwrap();
    let view = cache
        .cached_view::<String>(CachedOptions::default())
        .unwrap();
    let r = flaskcache::request_path("/a");
    view.call(&cache, &r, || Ok::<_, Infallible>("a".to_owned()))
        .unwrap();
    let other = view
        .call_traced(&cache, &flaskcache::request_path("/b"), || {
            Ok::<_, Infallible>("b".to_owned())
        })
        .unwrap();
    assert!(!other.is_hit());
    assert_eq!(
        cache.delete_cached(&view, "/a", None).unwrap(),
        Deleted::Entry {
            key: "view//a".into(),
            existed: Some(true)
        }
    );
}

#[test]
fn a_body_can_call_other_memoized_functions() {
    let cache = Cache::new().unwrap();
    let name: Memoized<String> = cache.memoize("app.name", ["sid"], opts(60)).unwrap();
    let card: Memoized<String> = cache.memoize("app.card", ["sid"], opts(60)).unwrap();
    let runs = AtomicI64::new(0);
    let make_card = |sid: i64| {
        card.call(&cache, (sid,), || {
            runs.fetch_add(1, Ordering::SeqCst);
            let n = name.call(&cache, (sid,), || {
                Ok::<_, Infallible>(format!("student {sid}"))
            })?;
            Ok::<_, CallError<Infallible>>(format!("[{n}]"))
        })
    };
    assert_eq!(make_card(4).unwrap(), "[student 4]");
    assert_eq!(make_card(4).unwrap(), "[student 4]");
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    // The inner result is cached on its own.
    assert!(name
        .call_traced(&cache, (4,), ok(String::new()))
        .unwrap()
        .is_hit());
}

#[test]
fn handles_and_the_cache_are_clone_send_sync() {
    fn assert_all<T: Clone + Send + Sync + 'static>() {}
    assert_all::<Cache>();
    assert_all::<Memoized<String>>();
    assert_all::<flaskcache::CachedView<Vec<i64>>>();
}

/// Four threads computing four different keys are all inside their function bodies at
/// once: no lock is held across compute. (With a lock, the first body would wait for the
/// others forever; the timeout turns that into a failure.)
#[test]
fn function_bodies_run_concurrently() {
    const N: usize = 4;
    let cache = Cache::new().unwrap();
    let slow: Memoized<i64> = cache.memoize("app.slow", ["x"], opts(60)).unwrap();
    let inside = Arc::new((Mutex::new(0usize), Condvar::new()));
    let threads: Vec<_> = (0..N as i64)
        .map(|x| {
            let (cache, slow, inside) = (cache.clone(), slow.clone(), inside.clone());
            std::thread::spawn(move || {
                slow.call(&cache, (x,), || {
                    let (count, all_in) = &*inside;
                    let mut count = count.lock().unwrap();
                    *count += 1;
                    all_in.notify_all();
                    let (count, timeout) = all_in
                        .wait_timeout_while(count, Duration::from_secs(30), |c| *c < N)
                        .unwrap();
                    if timeout.timed_out() {
                        return Err(std::fmt::Error);
                    }
                    Ok(x * *count as i64)
                })
            })
        })
        .collect();
    for (x, t) in threads.into_iter().enumerate() {
        let result = t.join().expect("thread");
        assert_eq!(result, Ok(x as i64 * N as i64), "bodies were serialised");
    }
}

/// `CachedView::call_raising` with views that `abort()`, against the real library: the
/// calls of `tests/flows/record.py`'s `cached_http_errors` scenario (recorded with
/// Flask-Caching 2.5.1, 2.4.1 and Flask-Cache 0.13) made through the embedded API, each
/// profile's transcript (whether the body ran, what the call returned or raised) equal to
/// the recording's. 2.5 stores the `HTTPException` and raises it on hits (FC-1.1.7,
/// FC-1.1.8); the others run the view every time.
#[test]
fn views_that_abort_raise_what_the_real_library_raises() {
    use flaskcache::{request_path, Profile, PyError};
    let abort = |code: u16, description: &str| {
        let (class, name) = match code {
            403 => ("Forbidden", "Forbidden"),
            _ => ("NotFound", "Not Found"),
        };
        let class = ClassRef::new("werkzeug.exceptions", class);
        PyError::http_exception(class, code, name, description)
    };
    for profile in Profile::ALL {
        let python = match profile {
            Profile::FlaskCache013 => PythonVersion::Py37,
            _ => PythonVersion::Py311,
        };
        let path = format!(
            "{}/tests/flows/recorded/cached_http_errors.{}.txt",
            env!("CARGO_MANIFEST_DIR"),
            profile.as_str()
        );
        let recorded = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        // The recording's calls of the view and of the cache, reduced to what the
        // embedded API shows: the call, whether the body ran, the result.
        let mut expected = Vec::new();
        let mut keep = false;
        for line in recorded.lines() {
            if let Some(call) = line.strip_prefix("# ") {
                keep = call.starts_with("item(") || call.starts_with("cache.");
            }
            let shown = ["# ", "= ", "! "].iter().any(|p| line.starts_with(p)) || line == "compute";
            if keep && shown {
                expected.push(line.to_owned());
            }
        }
        let cache = Cache::builder()
            .profile(profile)
            .python(python)
            .build()
            .unwrap();
        let item = cache
            .cached_view::<String>(CachedOptions {
                timeout: Some(60),
                ..Default::default()
            })
            .unwrap();
        let mut ours = Vec::new();
        let call_item = |ours: &mut Vec<String>, i: i64| {
            ours.push(format!("# item({i})"));
            let mut ran = false;
            let called = item.call_raising(&cache, &request_path(&format!("/items/{i}")), || {
                ran = true;
                match i {
                    3 => Err(abort(403, &format!("item {i} is hidden"))),
                    7 => Err(abort(404, &format!("no item {i}"))),
                    _ => Ok(format!("item {i}")),
                }
            });
            if ran {
                ours.push("compute".to_owned());
            }
            ours.push(match called {
                Ok(c) => format!("= {}", Value::str(c.value).repr(python)),
                Err(CallError::Body(raised)) => {
                    // A raise without running the body is a hit on the stored exception.
                    assert_eq!(raised.is_hit(), !ran, "{profile:?} item({i})");
                    format!("! {}: {}", raised.error.kind.as_str(), raised.error.message)
                }
                Err(other) => panic!("{profile:?} item({i}): {other:?}"),
            });
        };
        for i in [7, 7, 3, 3, 1] {
            call_item(&mut ours, i);
        }
        let key = "view//items/7".to_owned();
        for (text, op) in [
            (
                "cache.get('view//items/7')",
                StoreOp::Get { key: key.clone() },
            ),
            ("cache.delete('view//items/7')", StoreOp::Delete { key }),
        ] {
            ours.push(format!("# {text}"));
            ours.push(format!("= {}", cache.backend(op).unwrap().repr(python)));
        }
        call_item(&mut ours, 7);
        assert_eq!(ours, expected, "profile {}", profile.as_str());
    }
}
