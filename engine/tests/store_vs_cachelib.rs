//! Differential test: `MemoryStore` against the real `SimpleCache` of each flavour (FC-4.3).
//!
//! | flavour | implementation | interpreter |
//! |---|---|---|
//! | `Cachelib` | cachelib 0.17.0 `cachelib.SimpleCache` | `FLASKCACHE_PY_FC25`, else `<workspace>/.venv-fc25/bin/python` |
//! | `FlaskCaching24` | Flask-Caching 2.4.1 `flask_caching.backends.simplecache.SimpleCache` | `FLASKCACHE_PY_FC24`, else `<workspace>/.venv-fc24/bin/python` |
//! | `Werkzeug016` | Werkzeug 0.16.1 `werkzeug.contrib.cache.SimpleCache` (Python 3.7) | `FLASKCACHE_PY_FC013`, else `<workspace>/.venv-fc013/bin/python` |
//!
//! Seeded random op sequences (a small key space so keys collide, small thresholds so
//! pruning runs constantly, timeouts in {None, 0, negative, 1..20}, a clock that advances
//! by fractional amounts and lands exactly on, or a microsecond before, expiry boundaries)
//! are run through the store and, via `store_driver.py`, through the real `SimpleCache`
//! with its module's `time` patched to the same virtual clock. Some scenarios start where
//! the float clock is coarse or where `time() + timeout` crosses a power of two (2^30 s,
//! 2^31 s, the epoch, 2^34 s, 9e12 s). Every reply and the backend's full dict (keys in
//! order, with their `expires`) after every op must match.
//!
//! When an interpreter is missing the test prints a loud notice and passes. With
//! `FLASKCACHE_REQUIRE_PYTHON=1` a missing cachelib or Flask-Caching 2.4 interpreter fails
//! the test; the Python 3.7 one for Werkzeug fails it only with `FLASKCACHE_REQUIRE_PY37=1`.

mod common;
use common::{op_line, reply_text, Message, Rng};

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use flaskcache_engine::store::{
    MemoryStore, StoreConfig, StoreFlavor, StoreOp, StoreReply, Timestamp,
};
use flaskcache_engine::value::Value;

const KEYS: usize = 8;

struct Scenario {
    seed: u64,
    threshold: usize,
    default_timeout: i64,
    ignore_errors: bool,
    ops: usize,
    /// Whole seconds the clock starts at (plus a random fraction).
    start_secs: i64,
}

const NOW_SECS: i64 = 1_700_000_000;

const fn scenario(
    seed: u64,
    threshold: usize,
    default_timeout: i64,
    ignore_errors: bool,
    ops: usize,
    start_secs: i64,
) -> Scenario {
    Scenario {
        seed,
        threshold,
        default_timeout,
        ignore_errors,
        ops,
        start_secs,
    }
}

const SCENARIOS: &[Scenario] = &[
    scenario(1, 5, 300, false, 3000, NOW_SECS),
    scenario(2, 5, 7, false, 3000, NOW_SECS),
    scenario(3, 5, 0, true, 3000, NOW_SECS),
    scenario(4, 5, -1, false, 2000, NOW_SECS),
    scenario(5, 1, 300, false, 2000, NOW_SECS),
    scenario(6, 2, 3, true, 2000, NOW_SECS),
    scenario(7, 3, 300, false, 3000, NOW_SECS),
    scenario(8, 0, 10, false, 1000, NOW_SECS),
    // `time() + timeout` crosses 2^30 s and 2^31 s.
    scenario(9, 4, 7, false, 1500, (1 << 30) - 40),
    scenario(10, 3, 5, true, 1500, (1 << 31) - 40),
    // Negative clock, the epoch and small powers of two.
    scenario(11, 4, 5, false, 1500, -25),
    // Past 2^34 s several microseconds share one float; at 9e12 s about 2,000 do.
    scenario(12, 3, 10, false, 1500, (1 << 34) - 20),
    scenario(13, 3, 3, true, 1500, 9_000_000_000_000),
];

fn key(rng: &mut Rng) -> String {
    format!("k{}", rng.below(KEYS as u64))
}

fn keys(rng: &mut Rng) -> Vec<String> {
    (0..rng.below(4)).map(|_| key(rng)).collect()
}

fn value(rng: &mut Rng) -> Value {
    match rng.below(5) {
        0 => Value::None,
        1 | 2 => Value::int(rng.range(-5, 1000)),
        _ => {
            let len = rng.below(4) as usize;
            Value::str(
                (0..len)
                    .map(|_| (b'a' + rng.below(26) as u8) as char)
                    .collect::<String>(),
            )
        }
    }
}

fn timeout(rng: &mut Rng) -> Option<i64> {
    match rng.below(10) {
        0 | 1 => None,
        2 => Some(0),
        3 => Some(-1),
        4 => Some(-5),
        _ => Some(rng.range(1, 20)),
    }
}

fn random_op(rng: &mut Rng) -> StoreOp {
    match rng.below(20) {
        0..=2 => StoreOp::Get { key: key(rng) },
        3 => StoreOp::GetMany { keys: keys(rng) },
        4 | 5 => StoreOp::Has { key: key(rng) },
        6..=10 => StoreOp::Set {
            key: key(rng),
            value: value(rng),
            timeout: timeout(rng),
        },
        11 | 12 => StoreOp::SetMany {
            items: (0..rng.below(4)).map(|_| (key(rng), value(rng))).collect(),
            timeout: timeout(rng),
        },
        13..=15 => StoreOp::Add {
            key: key(rng),
            value: value(rng),
            timeout: timeout(rng),
        },
        16 | 17 => StoreOp::Delete { key: key(rng) },
        18 => StoreOp::DeleteMany { keys: keys(rng) },
        _ => {
            if rng.below(4) == 0 {
                StoreOp::Clear
            } else {
                StoreOp::Get { key: key(rng) }
            }
        }
    }
}

/// Moves the clock: stays, steps by a fraction of a second or whole seconds, goes to the
/// next whole second, or lands exactly on (or a microsecond before) a stored entry's
/// expiry; occasionally steps back.
fn advance(rng: &mut Rng, now: i64, store: &MemoryStore) -> i64 {
    let scale = if store.flavor().expires_in_micros() {
        1
    } else {
        1_000_000
    };
    let future: Vec<i64> = store
        .entries()
        .filter(|&(_, e, _)| e != 0 && e != StoreFlavor::NEVER)
        .filter_map(|(_, e, _)| i64::try_from(e * scale).ok())
        .filter(|&at| at > now)
        .collect();
    match rng.below(20) {
        0..=5 => now,
        6..=10 => now + rng.range(1, 999_999),
        11 | 12 => now + rng.range(1, 5) * 1_000_000,
        13 | 14 => now.div_euclid(1_000_000) * 1_000_000 + 1_000_000,
        15..=18 if !future.is_empty() => {
            let at = future[rng.below(future.len() as u64) as usize];
            if rng.below(3) == 0 {
                at - 1
            } else {
                at
            }
        }
        19 => now - rng.range(1, 1_500_000),
        _ => now + rng.range(1, 999_999),
    }
}

fn value_token(v: &Value) -> String {
    match v {
        Value::None => "n".to_owned(),
        Value::Int(i) => format!("i:{i}"),
        Value::Str(s) => format!("s:{s}"),
        other => panic!("the driver encodes no {}", other.type_name()),
    }
}

fn state_text(store: &MemoryStore) -> String {
    store
        .entries()
        .map(|(k, e, _)| format!("{k}={e}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// One flavour and the real implementation it is compared with.
struct Target {
    flavor: StoreFlavor,
    /// The driver's name for the implementation.
    driver_arg: &'static str,
    env_var: &'static str,
    venv: &'static str,
    /// The header the driver must print: implementation and version.
    header: &'static str,
    /// Environment variable that turns a missing interpreter into a failure.
    require_var: &'static str,
}

const CACHELIB: Target = Target {
    flavor: StoreFlavor::Cachelib,
    driver_arg: "cachelib",
    env_var: "FLASKCACHE_PY_FC25",
    venv: ".venv-fc25",
    header: "cachelib 0.17.0",
    require_var: "FLASKCACHE_REQUIRE_PYTHON",
};

const FC24: Target = Target {
    flavor: StoreFlavor::FlaskCaching24,
    driver_arg: "fc24",
    env_var: "FLASKCACHE_PY_FC24",
    venv: ".venv-fc24",
    header: "flask_caching 2.4.1 cachelib 0.17.0",
    require_var: "FLASKCACHE_REQUIRE_PYTHON",
};

const WERKZEUG: Target = Target {
    flavor: StoreFlavor::Werkzeug016,
    driver_arg: "werkzeug",
    env_var: "FLASKCACHE_PY_FC013",
    venv: ".venv-fc013",
    header: "werkzeug 0.16.1",
    // CI may have no Python 3.7: FLASKCACHE_REQUIRE_PYTHON alone does not demand it.
    require_var: "FLASKCACHE_REQUIRE_PY37",
};

fn find_python(target: &Target) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(target.env_var).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(target.venv)
        .join("bin/python");
    venv.exists().then_some(venv)
}

#[derive(Default)]
struct Stats {
    ops: BTreeMap<&'static str, usize>,
    pruning: usize,
    boundary: usize,
    dead_present: usize,
    /// `delete_many` calls that stopped or skipped at a key that was not stored.
    delete_many_short: usize,
    /// Werkzeug `add` refused because a dead entry was still stored.
    add_refused_dead: usize,
    /// Werkzeug writes whose microsecond expiry is not `now + timeout` (float rounding).
    float_shifted: usize,
}

fn is_write_with_expiry(op: &StoreOp) -> Option<Option<i64>> {
    match op {
        StoreOp::Set { timeout, .. }
        | StoreOp::Add { timeout, .. }
        | StoreOp::SetMany { timeout, .. } => Some(*timeout),
        _ => None,
    }
}

fn run_target(target: &Target) {
    let name = format!("store_vs_cachelib[{:?}]", target.flavor);
    let Some(python) = find_python(target) else {
        if std::env::var(target.require_var).as_deref() == Ok("1") {
            panic!(
                "{name}: {}=1 but no interpreter for {} (set {} or create <workspace>/{})",
                target.require_var, target.header, target.env_var, target.venv
            );
        }
        eprintln!();
        eprintln!("************************************************************************");
        eprintln!("* {name}: NO Python with {} FOUND", target.header);
        eprintln!(
            "* ({} unset and no <workspace>/{}); the differential test against",
            target.env_var, target.venv
        );
        eprintln!("* the real SimpleCache DID NOT RUN.");
        if target.require_var != "FLASKCACHE_REQUIRE_PYTHON" {
            eprintln!(
                "* FLASKCACHE_REQUIRE_PYTHON does not apply here; set {}=1 to fail instead.",
                target.require_var
            );
        }
        eprintln!("************************************************************************");
        eprintln!();
        return;
    };

    // Generate every scenario, running our store alongside to aim the clock at expiries.
    let mut input = String::new();
    let mut expected: Vec<(String, String, String)> = Vec::new(); // (op line, reply, state)
    let mut stats = Stats::default();
    for sc in SCENARIOS {
        let mut rng = Rng(sc.seed);
        let mut store = MemoryStore::new(StoreConfig {
            default_timeout: sc.default_timeout,
            threshold: sc.threshold,
            key_prefix: None,
            ignore_delete_many_errors: sc.ignore_errors,
            flavor: target.flavor,
        });
        input.push_str(&format!(
            "config {} {} {}\n",
            sc.threshold,
            sc.default_timeout,
            u8::from(sc.ignore_errors)
        ));
        let mut now: i64 = sc.start_secs * 1_000_000 + rng.range(0, 999_999);
        for _ in 0..sc.ops {
            now = advance(&mut rng, now, &store);
            let op = random_op(&mut rng);
            let ts = Timestamp::from_micros(now);
            *stats.ops.entry(op.name()).or_default() += 1;
            if let Some(timeout) = is_write_with_expiry(&op) {
                if store.len() > store.threshold() {
                    stats.pruning += 1;
                }
                let t = timeout.unwrap_or(sc.default_timeout);
                if target.flavor == StoreFlavor::Werkzeug016
                    && t > 0
                    && store.expires_for(timeout, ts) != i128::from(now) + i128::from(t) * 1_000_000
                {
                    stats.float_shifted += 1;
                }
            }
            if store.entries().any(|(_, e, _)| {
                if store.flavor().expires_in_micros() {
                    e == i128::from(now)
                } else {
                    e * 1_000_000 == i128::from(now)
                }
            }) {
                stats.boundary += 1;
            }
            if store
                .entries()
                .any(|(_, e, _)| !store.flavor().is_alive(e, ts))
            {
                stats.dead_present += 1;
            }
            if let StoreOp::Add { key, .. } = &op {
                if target.flavor == StoreFlavor::Werkzeug016
                    && store
                        .peek(key)
                        .is_some_and(|(e, _)| !store.flavor().is_alive(e, ts))
                {
                    stats.add_refused_dead += 1;
                }
            }
            let reply = store.execute(&op, ts);
            if let StoreOp::DeleteMany { keys } = &op {
                match &reply {
                    Ok(StoreReply::Keys(ks))
                        if target.flavor != StoreFlavor::Cachelib && ks.len() < keys.len() =>
                    {
                        stats.delete_many_short += 1;
                    }
                    Ok(StoreReply::Bool(false)) => stats.delete_many_short += 1,
                    _ => {}
                }
            }
            let line = op_line(now, &op, value_token);
            input.push_str(&line);
            input.push('\n');
            expected.push((line, reply_text(&reply, Message::Plain), state_text(&store)));
        }
    }

    let driver = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/store_driver.py");
    let mut child = Command::new(&python)
        .arg(&driver)
        .arg(target.driver_arg)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    let mut stdin = child.stdin.take().expect("piped stdin");
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let mut output = String::new();
    child
        .stdout
        .take()
        .expect("piped stdout")
        .read_to_string(&mut output)
        .expect("driver output");
    writer
        .join()
        .expect("writer thread")
        .expect("write to driver");
    let status = child.wait().expect("driver exit");
    assert!(status.success(), "store_driver.py failed: {status}");

    let mut lines = output.lines();
    let header = lines.next().unwrap_or_default();
    assert_eq!(
        header,
        target.header,
        "{} must have {}",
        python.display(),
        target.header
    );
    let got: Vec<&str> = lines.collect();
    assert_eq!(
        got.len(),
        expected.len(),
        "driver replied to a different number of ops"
    );

    let mut mismatches = 0;
    for (i, ((line, reply, state), theirs)) in expected.iter().zip(&got).enumerate() {
        let ours = format!("{reply} | {state}");
        if ours != *theirs {
            mismatches += 1;
            if mismatches <= 10 {
                eprintln!("MISMATCH at op {i}: {line}\n  ours:   {ours}\n  python: {theirs}");
            }
        }
    }
    eprintln!(
        "{name}: {} ops in {} scenarios compared with {} ({}): {:?}; {} set/add/set_many \
         calls over threshold (pruning), {} at an exact expiry boundary, {} with dead entries \
         present, {} delete_many stopping or skipping at a miss, {} werkzeug adds refused by \
         a dead entry, {} werkzeug writes with float-rounded expiry; {mismatches} mismatches",
        expected.len(),
        SCENARIOS.len(),
        target.header,
        python.display(),
        stats.ops,
        stats.pruning,
        stats.boundary,
        stats.dead_present,
        stats.delete_many_short,
        stats.add_refused_dead,
        stats.float_shifted,
    );
    assert_eq!(
        mismatches, 0,
        "MemoryStore ({:?}) disagrees with {}",
        target.flavor, target.header
    );
}

#[test]
fn memory_store_matches_cachelib_simplecache() {
    run_target(&CACHELIB);
}

#[test]
fn flask_caching_24_flavor_matches_its_simplecache() {
    run_target(&FC24);
}

#[test]
fn werkzeug_016_flavor_matches_werkzeug_simplecache() {
    run_target(&WERKZEUG);
}
