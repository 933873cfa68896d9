//! Differential test: `MemoryStore`'s Redis flavours against Flask-Caching's real
//! `RedisCache` on fakeredis (FC-4.5).
//!
//! | flavour | implementation | interpreter |
//! |---|---|---|
//! | `Redis` | Flask-Caching 2.5.1 `RedisCache` (cachelib 0.17.0) | `FLASKCACHE_PY_FC25_REDIS`, else `<workspace>/.venv-fc25-redis/bin/python` |
//! | `Redis24` | Flask-Caching 2.4.1 `RedisCache` (cachelib 0.17.0) | `FLASKCACHE_PY_FC24_REDIS`, else `<workspace>/.venv-fc24-redis/bin/python` |
//! | `Werkzeug016Redis` | Flask-Cache 0.13.1 `CACHE_TYPE="redis"` (Werkzeug 0.16.1 `RedisCache`, Python 3.7) | `FLASKCACHE_PY_FC013_REDIS`, else `<workspace>/.venv-fc013-redis/bin/python` |
//!
//! Every interpreter needs `redis` and `fakeredis` besides the library. Seeded random op
//! sequences (eight short keys and one long hyphenated one, so keys collide and redis-py's
//! shortened error texts get cut; values of every kind the serializer treats differently;
//! timeouts in {None, 0, -1, -2, -5, 1..20} and, rarely, 2^40, 2^62, -2^62 and `i64::MAX`
//! (refused by the server, or far out); default timeouts 300, 7, 0, -1 and -2; key
//! prefixes `flask_cache_` (the default), `""` and the glob-like `fc[x]?_`; a clock that
//! only moves forward, by fractions or whole seconds, and lands exactly on, a microsecond
//! before or a microsecond after a key's expiry) run through the store and, via
//! `store_redis_driver.py`, through the real `RedisCache` on fakeredis with its clock
//! patched to the same virtual time. Every reply (errors with their full message) and the
//! whole keyspace afterwards (keys with prefixes, expiry, value, and the value's stored
//! bytes: the serializer's output byte for byte, classes and nested classes included) must
//! match.
//!
//! When an interpreter is missing the test prints a loud notice and passes;
//! `FLASKCACHE_REQUIRE_REDIS=1` (`FLASKCACHE_REQUIRE_PY37=1` for the Python 3.7 one) makes
//! it fail instead.

mod common;
use common::{op_line, reply_text, Message, Rng};

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use flaskcache_engine::store::{
    redis, MemoryStore, StoreConfig, StoreError, StoreFlavor, StoreOp, StoreReply, Timestamp,
};
use flaskcache_engine::value::{ClassRef, PyInt, PythonVersion, Value};

const KEYS: u64 = 8;
const LONG_KEY: &str =
    "view//reports/quarterly-summary-for-the-northern-region/details-and-appendix/page-two";

struct Scenario {
    seed: u64,
    default_timeout: i64,
    ignore_errors: bool,
    /// `None`: CACHE_KEY_PREFIX not set (Flask-Caching's `flask_cache_`).
    prefix: Option<&'static str>,
    ops: usize,
}

const fn scenario(
    seed: u64,
    default_timeout: i64,
    ignore_errors: bool,
    prefix: Option<&'static str>,
    ops: usize,
) -> Scenario {
    Scenario {
        seed,
        default_timeout,
        ignore_errors,
        prefix,
        ops,
    }
}

const SCENARIOS: &[Scenario] = &[
    scenario(1, 300, false, None, 3000),
    scenario(2, 7, false, Some(""), 3000),
    scenario(3, 0, true, Some("flask_cache_"), 2000),
    scenario(4, -1, false, None, 2000),
    scenario(5, 5, false, Some("fc[x]?_"), 2000),
    scenario(6, -2, true, Some(""), 1500),
    scenario(7, 3, true, None, 2500),
];

const START_SECS: i64 = 1_700_000_000;

fn key(rng: &mut Rng) -> String {
    if rng.below(25) == 0 {
        LONG_KEY.to_owned()
    } else {
        format!("k{}", rng.below(KEYS))
    }
}

fn keys(rng: &mut Rng) -> Vec<String> {
    (0..rng.below(4)).map(|_| key(rng)).collect()
}

const ALPHABET: &[char] = &[
    'a', 'b', 'z', 'Q', '0', '7', '-', '-', ' ', '\t', '\n', '\x1c', '_', '.', 'é', '€', '\u{a0}',
];

fn text(rng: &mut Rng) -> String {
    let len = match rng.below(6) {
        0 => 0,
        1 => rng.below(300) as usize,
        _ => rng.below(12) as usize,
    };
    (0..len)
        .map(|_| ALPHABET[rng.below(ALPHABET.len() as u64) as usize])
        .collect()
}

fn value(rng: &mut Rng) -> Value {
    match rng.below(14) {
        0 => Value::None,
        1 => Value::Bool(rng.below(2) == 0),
        2..=4 => Value::int(rng.range(-300, 70_000)),
        5 => Value::Int(
            PyInt::parse(&format!("-{}", 10u128.pow(rng.below(30) as u32) + 7))
                .unwrap_or_else(|_| PyInt::from(1)),
        ),
        6 => Value::Float(rng.range(-100_000, 100_000) as f64 / 64.0),
        7 | 8 => Value::str(text(rng)),
        9 => Value::Bytes((0..rng.below(6)).map(|_| rng.below(256) as u8).collect()),
        // Classes pickle as global references (a nested one through `getattr` in protocol
        // 3), and a repeated one through the memo.
        10 => class(rng),
        11 => Value::List((0..rng.below(4)).map(|_| class(rng)).collect()),
        _ => Value::List(
            (0..rng.below(5))
                .map(|_| Value::int(rng.range(-70_000, 70_000)))
                .collect(),
        ),
    }
}

/// A builtin class, or one the driver defines (`Widget`, and `Widget.Inner` nested in it).
fn class(rng: &mut Rng) -> Value {
    let (module, qualname) = [
        ("builtins", "int"),
        ("__main__", "Widget"),
        ("__main__", "Widget.Inner"),
    ][rng.below(3) as usize];
    Value::Class(ClassRef::new(module, qualname))
}

fn timeout(rng: &mut Rng) -> Option<i64> {
    match rng.below(60) {
        0..=9 => None,
        10..=14 => Some(0),
        15..=19 => Some(-1),
        20..=24 => Some(-2),
        25..=29 => Some(-5),
        // Beyond what the server accepts for `SET … EX` and `EXPIRE`, or far out.
        30 => Some([i64::MAX, 1 << 62, -(1 << 62), 1 << 40][rng.below(4) as usize]),
        _ => Some(rng.range(1, 20)),
    }
}

fn random_op(rng: &mut Rng) -> StoreOp {
    match rng.below(40) {
        0..=5 => StoreOp::Get { key: key(rng) },
        6 | 7 => StoreOp::GetMany { keys: keys(rng) },
        8..=10 => StoreOp::Has { key: key(rng) },
        11..=19 => StoreOp::Set {
            key: key(rng),
            value: value(rng),
            timeout: timeout(rng),
        },
        20..=23 => StoreOp::SetMany {
            items: (0..rng.below(4)).map(|_| (key(rng), value(rng))).collect(),
            timeout: timeout(rng),
        },
        24..=29 => StoreOp::Add {
            key: key(rng),
            value: value(rng),
            timeout: timeout(rng),
        },
        30..=33 => StoreOp::Delete { key: key(rng) },
        34..=37 => StoreOp::DeleteMany { keys: keys(rng) },
        38 if rng.below(3) == 0 => StoreOp::Clear,
        _ => StoreOp::Get { key: key(rng) },
    }
}

/// Moves the clock forward: stays, steps by a fraction of a second or whole seconds, goes to
/// the next whole second, or lands exactly on (or a microsecond either side of) a key's
/// expiry.
fn advance(rng: &mut Rng, now: i64, store: &MemoryStore) -> i64 {
    let future: Vec<i64> = store
        .entries()
        .filter(|&(_, e, _)| e != StoreFlavor::NEVER)
        .filter_map(|(_, e, _)| i64::try_from(e).ok())
        .filter(|&at| at > now + 1)
        .collect();
    match rng.below(20) {
        0..=5 => now,
        6..=9 => now + rng.range(1, 999_999),
        10 | 11 => now + rng.range(1, 5) * 1_000_000,
        12 | 13 => now.div_euclid(1_000_000) * 1_000_000 + 1_000_000,
        _ if !future.is_empty() => {
            let at = future[rng.below(future.len() as u64) as usize];
            match rng.below(3) {
                0 => at - 1,
                1 => at,
                _ => at - 2,
            }
        }
        _ => now + rng.range(1, 999_999),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn value_token(v: &Value) -> String {
    match v {
        Value::None => "n".to_owned(),
        Value::Bool(true) => "t".to_owned(),
        Value::Bool(false) => "f".to_owned(),
        Value::Int(i) => format!("i:{i}"),
        Value::Float(_) => format!("d:{}", v.repr(PythonVersion::Py311)),
        Value::Str(s) => format!("s:{}", hex(s.as_bytes())),
        Value::Bytes(b) => format!("y:{}", hex(b)),
        Value::Class(c) => format!("c:{}:{}", c.module, c.qualname),
        Value::List(items) if items.iter().any(|i| matches!(i, Value::Class(_))) => format!(
            "k:{}",
            items
                .iter()
                .map(|i| match i {
                    Value::Class(c) => format!("{}:{}", c.module, c.qualname),
                    other => panic!("a class list holds a {}", other.type_name()),
                })
                .collect::<Vec<_>>()
                .join(";")
        ),
        Value::List(items) => format!(
            "l:{}",
            items
                .iter()
                .map(|i| i.repr(PythonVersion::Py311))
                .collect::<Vec<_>>()
                .join(",")
        ),
        other => panic!("the driver encodes no {}", other.type_name()),
    }
}

fn keyspace_text(store: &MemoryStore, now: Timestamp) -> String {
    let py = PythonVersion::Py311;
    let mut live: Vec<(&str, i128, &Value)> = store
        .entries()
        .filter(|&(_, e, _)| store.flavor().is_alive(e, now))
        .collect();
    live.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    live.iter()
        .map(|(k, e, v)| {
            let expiry = if *e == StoreFlavor::NEVER {
                "NEVER".to_owned()
            } else {
                e.to_string()
            };
            let bytes = match store.flavor() {
                StoreFlavor::Werkzeug016Redis => redis::serialize_werkzeug(v),
                _ => redis::serialize(v),
            };
            format!("{k}={expiry}={}={}", v.repr(py), hex(&bytes))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

struct Target {
    flavor: StoreFlavor,
    env_var: &'static str,
    venv: &'static str,
    /// The start of the header the driver must print.
    header: &'static str,
    /// Set to `1`, the interpreter must be found.
    require_var: &'static str,
}

const REDIS25: Target = Target {
    flavor: StoreFlavor::Redis,
    env_var: "FLASKCACHE_PY_FC25_REDIS",
    venv: ".venv-fc25-redis",
    header: "flask_caching 2.5.1 cachelib 0.17.0 ",
    require_var: "FLASKCACHE_REQUIRE_REDIS",
};

const REDIS24: Target = Target {
    flavor: StoreFlavor::Redis24,
    env_var: "FLASKCACHE_PY_FC24_REDIS",
    venv: ".venv-fc24-redis",
    header: "flask_caching 2.4.1 cachelib 0.17.0 ",
    require_var: "FLASKCACHE_REQUIRE_REDIS",
};

const WERKZEUG016: Target = Target {
    flavor: StoreFlavor::Werkzeug016Redis,
    env_var: "FLASKCACHE_PY_FC013_REDIS",
    venv: ".venv-fc013-redis",
    header: "flask_cache 0.13.1 werkzeug 0.16.1 ",
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
    raised: usize,
    pipeline_raised: usize,
    shortened: usize,
    boundary: usize,
    delete_many_short: usize,
    clear_false: usize,
}

fn run_target(target: &Target) {
    let name = format!("store_redis_vs_fakeredis[{:?}]", target.flavor);
    let Some(python) = find_python(target) else {
        if std::env::var(target.require_var).as_deref() == Ok("1") {
            panic!(
                "{name}: {}=1 but no interpreter (set {} or create <workspace>/{} with \
                 the library, redis and fakeredis)",
                target.require_var, target.env_var, target.venv
            );
        }
        eprintln!();
        eprintln!("************************************************************************");
        eprintln!("* {name}: NO Python with Flask-Caching + redis + fakeredis FOUND");
        eprintln!(
            "* ({} unset and no <workspace>/{}); the differential test against",
            target.env_var, target.venv
        );
        eprintln!("* the real RedisCache DID NOT RUN. Set FLASKCACHE_REQUIRE_REDIS=1 to fail.");
        eprintln!("************************************************************************");
        eprintln!();
        return;
    };

    let mut input = String::new();
    let mut expected: Vec<(String, String, String)> = Vec::new();
    let mut stats = Stats::default();
    for sc in SCENARIOS {
        let mut rng = Rng(sc.seed);
        let mut store = MemoryStore::new(StoreConfig {
            default_timeout: sc.default_timeout,
            key_prefix: Some(sc.prefix.unwrap_or("flask_cache_").to_owned()),
            ignore_delete_many_errors: sc.ignore_errors,
            ..StoreConfig::redis(target.flavor)
        });
        let prefix = sc
            .prefix
            .map_or_else(|| "-".to_owned(), |p| format!("p:{}", hex(p.as_bytes())));
        input.push_str(&format!(
            "config {} {} {prefix}\n",
            sc.default_timeout,
            u8::from(sc.ignore_errors)
        ));
        let mut now: i64 = START_SECS * 1_000_000 + rng.range(0, 999_999);
        for _ in 0..sc.ops {
            now = advance(&mut rng, now, &store);
            let op = random_op(&mut rng);
            let ts = Timestamp::from_micros(now);
            *stats.ops.entry(op.name()).or_default() += 1;
            if store
                .entries()
                .any(|(_, e, _)| e == i128::from(now) || e == i128::from(now) + 1)
            {
                stats.boundary += 1;
            }
            let reply = store.execute(&op, ts);
            match (&op, &reply) {
                (StoreOp::SetMany { .. }, Err(StoreError::Raised(e))) => {
                    stats.pipeline_raised += 1;
                    if e.message.contains("...)") {
                        stats.shortened += 1;
                    }
                }
                (_, Err(_)) => stats.raised += 1,
                (StoreOp::DeleteMany { keys }, Ok(StoreReply::Keys(ks)))
                    if ks.len() < keys.len() =>
                {
                    stats.delete_many_short += 1
                }
                (StoreOp::Clear, Ok(StoreReply::Bool(false))) => stats.clear_false += 1,
                _ => {}
            }
            let line = op_line(now, &op, value_token);
            input.push_str(&line);
            input.push('\n');
            expected.push((
                line,
                reply_text(&reply, Message::Repr),
                keyspace_text(&store, ts),
            ));
        }
    }

    let driver = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/store_redis_driver.py");
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
        .expect("driver output is UTF-8");
    writer
        .join()
        .expect("writer thread")
        .expect("write to driver");
    let status = child.wait().expect("driver exit");
    assert!(status.success(), "store_redis_driver.py failed: {status}");

    let mut lines = output.split('\n');
    let header = lines.next().unwrap_or_default();
    assert!(
        header.starts_with(target.header),
        "{} must have {} (it has {header})",
        python.display(),
        target.header
    );
    let got: Vec<&str> = lines.filter(|l| !l.is_empty()).collect();
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
                eprintln!("MISMATCH at op {i}: {line}\n  ours:   {ours:?}\n  python: {theirs:?}");
            }
        }
    }
    eprintln!(
        "{name}: {} ops in {} scenarios compared with {header} ({}): {:?}; {} raised \
         ResponseError, {} set_many pipelines raised ({} with a shortened command), {} at an \
         expiry boundary, {} delete_many stopping at a miss, {} clear() -> False; \
         {mismatches} mismatches",
        expected.len(),
        SCENARIOS.len(),
        python.display(),
        stats.ops,
        stats.raised,
        stats.pipeline_raised,
        stats.shortened,
        stats.boundary,
        stats.delete_many_short,
        stats.clear_false,
    );
    assert_eq!(
        mismatches, 0,
        "MemoryStore ({:?}) disagrees with the real RedisCache",
        target.flavor
    );
}

#[test]
fn redis_flavor_matches_flask_caching_25_rediscache() {
    run_target(&REDIS25);
}

#[test]
fn redis24_flavor_matches_flask_caching_24_rediscache() {
    run_target(&REDIS24);
}

#[test]
fn werkzeug016_redis_flavor_matches_flask_cache_013_rediscache() {
    run_target(&WERKZEUG016);
}
