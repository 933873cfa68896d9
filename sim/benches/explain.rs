//! How long `flaskcache explain` takes on a 100,000-event trace (the target: under 2 s).
//!
//! The trace is a shop app's history made by the engine itself (every step and reply as
//! the engine's own run gave them, so it replays with 0 mismatches): memoized calls of a
//! product lookup over 500 ids, requests to a cached view over 100 paths, and every 16th
//! event a delete, half of them correct and half in a wrong form (the bare path, the id
//! as a str), each followed by stale reads.
//!
//! ```text
//! cargo bench -p flaskcache-sim --bench explain
//! ```

use criterion::{criterion_group, criterion_main, Criterion};
use flaskcache_engine::engine::{
    CachedOptions, Command, Engine, EngineConfig, Input, MemoizeOptions, Request, Step,
};
use flaskcache_engine::keys::Version;
use flaskcache_engine::store::{MemoryStore, StoreConfig, StoreOp, StoreReply, Timestamp};
use flaskcache_engine::{Binding, FunctionDescriptor, Param, Profile, PythonVersion, Value};
use flaskcache_sim::explain::explain;
use flaskcache_sim::trace::{
    Event, EventSites, Record, Site, Trace, TraceCommand, TraceConfig, TraceStep,
};
use std::hint::black_box;
use std::time::Duration;

/// Runs `command` through `engine` on `store`, recording it as the recorder would.
fn record(
    engine: &mut Engine,
    store: &mut MemoryStore,
    number: u64,
    at: Timestamp,
    command: TraceCommand,
    engine_command: Command,
) -> Event {
    let mut steps = Vec::new();
    let mut versions = Vec::new();
    let mut read: Vec<Value> = Vec::new();
    let mut step = engine.start(engine_command).expect("a valid command");
    let result = loop {
        let input = match step {
            Step::Done(outcome) => break outcome.result,
            Step::Store(op) => {
                let reply = store.execute(&op, at);
                if let (StoreOp::SetMany { items, .. }, Ok(_)) = (&op, &reply) {
                    for (i, (_, v)) in items.iter().enumerate() {
                        if read.get(i) != Some(v) {
                            if let Value::Str(s) = v {
                                versions.push(Version::parse(s).expect("a minted version"));
                            }
                        }
                    }
                }
                if let Ok(StoreReply::Values(vs)) = &reply {
                    read = vs.clone();
                }
                let recorded = reply
                    .clone()
                    .map_err(|e| e.to_py_error(PythonVersion::Py311));
                steps.push(TraceStep::Store {
                    op,
                    reply: recorded,
                });
                Input::Store(reply)
            }
            Step::Compute => {
                let value = Value::int(number as i64);
                steps.push(TraceStep::Compute {
                    result: Ok(value.clone()),
                    events: Vec::new(),
                });
                Input::Computed(Ok(value))
            }
            Step::Hook(_) => Input::Hook(Ok(false)),
            Step::Log(_) => Input::Logged,
        };
        step = engine.resume(input).expect("a valid input");
    };
    Event {
        number,
        at,
        command,
        versions,
        steps,
        result,
    }
}

fn shop_trace(events: u64) -> (Trace, EventSites) {
    let config = TraceConfig {
        library: "flask-caching".into(),
        library_version: "2.5.1".into(),
        profile: Profile::FlaskCaching25,
        python: PythonVersion::Py311,
        backend: "SimpleCache".into(),
        key_prefix: None,
        default_timeout: 300,
        threshold: 100_000,
        ignore_errors: false,
        debug: false,
        start_time: Timestamp::from_micros(1_000_000_000),
    };
    let mut engine = Engine::new(EngineConfig {
        profile: config.profile,
        python: config.python,
        debug: false,
        version_seed: 7,
    });
    let mut store = MemoryStore::new(StoreConfig {
        threshold: config.threshold,
        ..StoreConfig::default()
    });
    let function = FunctionDescriptor::new(
        "app",
        "product",
        vec![Param::required("pid")],
        Binding::Function,
    )
    .expect("a valid signature");
    let options = MemoizeOptions {
        timeout: Some(3600),
        ..MemoizeOptions::default()
    };
    let view_options = CachedOptions {
        timeout: Some(3600),
        ..CachedOptions::default()
    };
    let m = engine
        .memoize(function.clone(), options.clone())
        .expect("registers");
    let c = engine.cached(view_options.clone()).expect("registers");
    let mut records = vec![
        Record::Memoize {
            id: "m1".into(),
            function,
            options,
        },
        Record::Cached {
            id: "c1".into(),
            name: "page".into(),
            options: view_options,
        },
    ];
    let mut sites = EventSites::new();
    for n in 1..=events {
        let at = Timestamp::from_micros(1_000_000_000 + n as i64 * 1_000);
        let pid = (n * 7919 % 500) as i64;
        let path = format!("/p/{}", n % 100);
        let (command, engine_command, line) = match n % 16 {
            0 => {
                let key = if n % 32 == 0 {
                    format!("view/{path}")
                } else {
                    path.clone()
                };
                let op = StoreOp::Delete { key };
                (TraceCommand::Backend(op.clone()), Command::Backend(op), 30)
            }
            8 => {
                let arg = if n % 32 == 8 {
                    Value::int(pid)
                } else {
                    Value::str(pid.to_string())
                };
                (
                    TraceCommand::DeleteMemoized {
                        function: "m1".into(),
                        bound_to: None,
                        args: vec![arg.clone()],
                        kwargs: Vec::new(),
                    },
                    Command::DeleteMemoized {
                        function: m,
                        bound_to: None,
                        args: vec![arg],
                        kwargs: Vec::new(),
                    },
                    31,
                )
            }
            k if k % 2 == 0 => (
                TraceCommand::Request {
                    view: "c1".into(),
                    request: Some((path.clone(), Vec::new())),
                    prefix_result: None,
                    custom_key: None,
                },
                Command::CallCached {
                    view: c,
                    request: Some(Request {
                        path: path.clone(),
                        args: Vec::new(),
                    }),
                    prefix_result: None,
                    custom_key: None,
                },
                20,
            ),
            _ => (
                TraceCommand::Call {
                    function: "m1".into(),
                    bound_to: None,
                    args: vec![Value::int(pid)],
                    kwargs: Vec::new(),
                },
                Command::CallMemoized {
                    function: m,
                    bound_to: None,
                    args: vec![Value::int(pid)],
                    kwargs: Vec::new(),
                },
                10,
            ),
        };
        let event = record(&mut engine, &mut store, n, at, command, engine_command);
        sites.insert(
            n,
            Site {
                file: "shop.py".into(),
                line,
                function: "<module>".into(),
            },
        );
        records.push(Record::Event(event));
    }
    (Trace { config, records }, sites)
}

fn explain_100k(c: &mut Criterion) {
    let (trace, sites) = shop_trace(100_000);
    let e = explain("shop", &trace, &sites).expect("the trace replays");
    let stale: usize = e.findings.iter().map(|f| f.stale_reads.len()).sum();
    eprintln!(
        "100,000 events: {} findings, {} stale reads",
        e.findings.len(),
        stale
    );
    let mut group = c.benchmark_group("explain");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function("100k events", |b| {
        b.iter(|| match explain("shop", black_box(&trace), &sites) {
            Ok(e) => e.findings.len(),
            Err(e) => panic!("{e}"),
        })
    });
    group.finish();
}

criterion_group!(benches, explain_100k);
criterion_main!(benches);
