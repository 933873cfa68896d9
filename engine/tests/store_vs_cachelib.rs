//! Differential test: `MemoryStore` against cachelib 0.17.0's real `SimpleCache` (FC-4.3).
//!
//! Seeded random op sequences (a small key space so keys collide, small thresholds so
//! pruning runs constantly, timeouts in {None, 0, negative, 1..20}, a clock that advances
//! by fractional amounts and lands exactly on expiry boundaries) are run through the store
//! and, via `store_driver.py`, through `cachelib.SimpleCache` with `cachelib.simple.time`
//! patched to the same virtual clock. Every reply and the backend's full dict (keys in
//! order, with their `expires`) after every op must match.
//!
//! The interpreter is `FLASKCACHE_PY_FC25`, else `<workspace>/.venv-fc25/bin/python`; when
//! neither exists the test prints a loud notice and passes, unless
//! `FLASKCACHE_REQUIRE_PYTHON=1`, in which case it fails.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use flaskcache_engine::store::{
    MemoryStore, StoreConfig, StoreError, StoreOp, StoreReply, Timestamp,
};
use flaskcache_engine::value::{PythonVersion, Value};

const CACHELIB_VERSION: &str = "0.17.0";
const KEYS: usize = 8;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn range(&mut self, lo: i64, hi_inclusive: i64) -> i64 {
        let span = (hi_inclusive - lo + 1) as u64;
        lo + self.below(span) as i64
    }
}

struct Scenario {
    seed: u64,
    threshold: usize,
    default_timeout: i64,
    ignore_errors: bool,
    ops: usize,
}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        seed: 1,
        threshold: 5,
        default_timeout: 300,
        ignore_errors: false,
        ops: 3000,
    },
    Scenario {
        seed: 2,
        threshold: 5,
        default_timeout: 7,
        ignore_errors: false,
        ops: 3000,
    },
    Scenario {
        seed: 3,
        threshold: 5,
        default_timeout: 0,
        ignore_errors: true,
        ops: 3000,
    },
    Scenario {
        seed: 4,
        threshold: 5,
        default_timeout: -1,
        ignore_errors: false,
        ops: 2000,
    },
    Scenario {
        seed: 5,
        threshold: 1,
        default_timeout: 300,
        ignore_errors: false,
        ops: 2000,
    },
    Scenario {
        seed: 6,
        threshold: 2,
        default_timeout: 3,
        ignore_errors: true,
        ops: 2000,
    },
    Scenario {
        seed: 7,
        threshold: 3,
        default_timeout: 300,
        ignore_errors: false,
        ops: 3000,
    },
    Scenario {
        seed: 8,
        threshold: 0,
        default_timeout: 10,
        ignore_errors: false,
        ops: 1000,
    },
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
    let future: Vec<i128> = store
        .entries()
        .map(|(_, e, _)| e)
        .filter(|&e| e > 0 && e * 1_000_000 > i128::from(now))
        .collect();
    match rng.below(20) {
        0..=5 => now,
        6..=10 => now + rng.range(1, 999_999),
        11 | 12 => now + rng.range(1, 5) * 1_000_000,
        13 | 14 => (now / 1_000_000 + 1) * 1_000_000,
        15..=18 if !future.is_empty() => {
            let e = future[rng.below(future.len() as u64) as usize];
            let at = i64::try_from(e * 1_000_000).expect("expiry in range");
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

fn timeout_token(t: Option<i64>) -> String {
    t.map_or_else(|| "N".to_owned(), |t| t.to_string())
}

fn value_token(v: &Value) -> String {
    match v {
        Value::None => "n".to_owned(),
        Value::Int(i) => format!("i:{i}"),
        Value::Str(s) => format!("s:{s}"),
        other => panic!("the driver encodes no {}", other.type_name()),
    }
}

fn op_line(now: i64, op: &StoreOp) -> String {
    let mut f = vec![now.to_string(), op.name().to_owned()];
    match op {
        StoreOp::Get { key } | StoreOp::Has { key } | StoreOp::Delete { key } => {
            f.push(key.clone())
        }
        StoreOp::GetMany { keys } | StoreOp::DeleteMany { keys } => f.extend(keys.iter().cloned()),
        StoreOp::Set {
            key,
            value,
            timeout,
        }
        | StoreOp::Add {
            key,
            value,
            timeout,
        } => {
            f.push(key.clone());
            f.push(value_token(value));
            f.push(timeout_token(*timeout));
        }
        StoreOp::SetMany { items, timeout } => {
            f.push(timeout_token(*timeout));
            for (k, v) in items {
                f.push(k.clone());
                f.push(value_token(v));
            }
        }
        StoreOp::Clear => {}
    }
    f.join(" ")
}

fn reply_text(reply: &Result<StoreReply, StoreError>) -> String {
    let py = PythonVersion::Py311;
    match reply {
        Ok(StoreReply::Value(v)) => format!("v {}", v.repr(py)),
        Ok(StoreReply::Values(vs)) => std::iter::once("vs".to_owned())
            .chain(vs.iter().map(|v| v.repr(py)))
            .collect::<Vec<_>>()
            .join(" "),
        Ok(StoreReply::Bool(b)) => format!("b {}", if *b { "True" } else { "False" }),
        Ok(StoreReply::Keys(ks)) => std::iter::once("k".to_owned())
            .chain(ks.iter().cloned())
            .collect::<Vec<_>>()
            .join(" "),
        Err(e) => match e.py_error(py) {
            Some(err) => format!("e {} {}", err.kind.as_str(), err.message),
            None => format!("e ? {e}"),
        },
    }
}

fn state_text(store: &MemoryStore) -> String {
    store
        .entries()
        .map(|(k, e, _)| format!("{k}={e}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn find_python() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("FLASKCACHE_PY_FC25").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv-fc25/bin/python");
    venv.exists().then_some(venv)
}

#[derive(Default)]
struct Stats {
    ops: BTreeMap<&'static str, usize>,
    pruning: usize,
    boundary: usize,
    dead_present: usize,
}

#[test]
fn memory_store_matches_cachelib_simplecache() {
    let Some(python) = find_python() else {
        if std::env::var("FLASKCACHE_REQUIRE_PYTHON").as_deref() == Ok("1") {
            panic!(
                "store_vs_cachelib: FLASKCACHE_REQUIRE_PYTHON=1 but no interpreter \
                 (set FLASKCACHE_PY_FC25 or create <workspace>/.venv-fc25)"
            );
        }
        eprintln!();
        eprintln!("************************************************************************");
        eprintln!("* store_vs_cachelib: NO Python with cachelib FOUND (FLASKCACHE_PY_FC25");
        eprintln!("* unset and no <workspace>/.venv-fc25); the differential test against");
        eprintln!("* the real SimpleCache DID NOT RUN.");
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
        });
        input.push_str(&format!(
            "config {} {} {}\n",
            sc.threshold,
            sc.default_timeout,
            u8::from(sc.ignore_errors)
        ));
        let mut now: i64 = 1_700_000_000_000_000 + rng.range(0, 999_999);
        for _ in 0..sc.ops {
            now = advance(&mut rng, now, &store);
            let op = random_op(&mut rng);
            let ts = Timestamp::from_micros(now);
            *stats.ops.entry(op.name()).or_default() += 1;
            if matches!(
                op,
                StoreOp::Set { .. } | StoreOp::Add { .. } | StoreOp::SetMany { .. }
            ) && store.len() > store.threshold()
            {
                stats.pruning += 1;
            }
            if store
                .entries()
                .any(|(_, e, _)| e * 1_000_000 == i128::from(now))
            {
                stats.boundary += 1;
            }
            if store
                .entries()
                .any(|(_, e, _)| !MemoryStore::is_alive(e, ts))
            {
                stats.dead_present += 1;
            }
            let reply = store.execute(&op, ts);
            let line = op_line(now, &op);
            input.push_str(&line);
            input.push('\n');
            expected.push((line, reply_text(&reply), state_text(&store)));
        }
    }

    let driver = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/store_driver.py");
    let mut child = Command::new(&python)
        .arg(&driver)
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
        format!("cachelib {CACHELIB_VERSION}"),
        "{} must have cachelib {CACHELIB_VERSION}",
        python.display()
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
                eprintln!("MISMATCH at op {i}: {line}\n  ours:     {ours}\n  cachelib: {theirs}");
            }
        }
    }
    eprintln!(
        "store_vs_cachelib: {} ops in {} scenarios compared with cachelib {CACHELIB_VERSION} \
         ({}): {:?}; {} set/add/set_many calls over threshold (pruning), {} at an exact \
         expiry boundary, {} with dead entries present; {mismatches} mismatches",
        expected.len(),
        SCENARIOS.len(),
        python.display(),
        stats.ops,
        stats.pruning,
        stats.boundary,
        stats.dead_present,
    );
    assert_eq!(
        mismatches, 0,
        "MemoryStore disagrees with cachelib SimpleCache"
    );
}
