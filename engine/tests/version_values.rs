//! Version keys holding something other than a version string (a user wrote to the key):
//! Flask-Caching 2.5.1 mints missing versions, writes everything back and only then fails
//! on `"".join(...)`. Measured with the real library (`app.debug` off): after
//! `cache.set("__main__.f_memver", 5)`, `delete_memoized(f)` succeeds and writes a fresh
//! version; after `cache.set("__main__.C.m_memver", 7)`, `C().m(1)` writes the instance's
//! version key `__main__.C.m.C_memver`, keeps `7`, logs the `TypeError` and runs uncached.

use flaskcache_engine::engine::{CacheEvent, MemoizeOptions};
use flaskcache_engine::{
    Binding, Cache, ClassRef, FunctionDescriptor, Param, PyExceptionType, PyObject, Receiver,
    StoreOp, Timestamp, Value,
};

#[test]
fn non_string_versions_are_written_back_before_the_join_fails() {
    let now = Timestamp::from_secs(1000);
    let mut cache = Cache::seeded(0);
    let f = FunctionDescriptor::new(
        "__main__",
        "f",
        vec![Param::required("a")],
        Binding::Function,
    )
    .expect("signature");
    let f = cache
        .memoize(
            f,
            MemoizeOptions {
                timeout: Some(60),
                ..Default::default()
            },
        )
        .expect("memoize");
    let m = FunctionDescriptor::new(
        "__main__",
        "C.m",
        vec![Param::required("self"), Param::required("a")],
        Binding::InstanceMethod,
    )
    .expect("signature");
    let m = cache
        .memoize(
            m,
            MemoizeOptions {
                timeout: Some(60),
                ..Default::default()
            },
        )
        .expect("memoize");

    let set = |key: &str, v: i64| StoreOp::Set {
        key: key.into(),
        value: Value::int(v),
        timeout: None,
    };
    cache
        .backend(now, set("__main__.f_memver", 5))
        .expect("set");
    let reset = cache.delete_memoized(now, f, &[]).expect("reset");
    assert_eq!(reset.result, Ok(Value::None));
    assert!(matches!(cache.store().get("__main__.f_memver", now), Value::Str(s) if s.len() == 6));

    cache
        .backend(now, set("__main__.C.m_memver", 7))
        .expect("set");
    let c = Receiver::Instance(Box::new(PyObject {
        class: ClassRef::new("__main__", "C"),
        repr: "C".into(),
        caching_id: None,
    }));
    let call = cache
        .call_bound(now, m, Some(c), &[Value::int(1)], &[], || Ok(Value::int(1)))
        .expect("call");
    assert_eq!(call.result, Ok(Value::int(1)));
    match &call.event {
        CacheEvent::Uncached { error } => {
            assert_eq!(error.kind, PyExceptionType::TypeError);
            assert_eq!(
                error.message,
                "sequence item 0: expected str instance, int found"
            );
        }
        other => panic!("expected an uncached call, got {other:?}"),
    }
    assert_eq!(cache.store().get("__main__.C.m_memver", now), Value::int(7));
    assert!(
        matches!(cache.store().get("__main__.C.m.C_memver", now), Value::Str(s) if s.len() == 6)
    );
    assert_eq!(cache.diagnostics().len(), 1);
}
