//! `flaskcache explore --backend redis://...` against a real redis-server: the server set
//! by FLASKCACHE_REDIS_URL when there is one, else a private one started on a free
//! loopback port ([`flaskcache_redis::testing`]). Without either the server tests are skipped (loudly), unless
//! FLASKCACHE_REQUIRE_REDIS_SERVER=1, which makes them fail. Each test uses a database of
//! its own, so that tests running in parallel on one server do not meet.

use flaskcache_engine::engine::Command as EngineCommand;
use flaskcache_engine::store::{StoreConfig, StoreFlavor, StoreOp, Timestamp};
use flaskcache_engine::{Profile, PythonVersion, Value};
use flaskcache_redis::testing::{self, SharedOrOwn};
use flaskcache_redis::{RedisConfig, RedisStore};
use flaskcache_sim::explore::digest::Digest;
use flaskcache_sim::explore::pair::{Pair, PlanOracle};
use flaskcache_sim::explore::store::RealStore;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

/// The server of the tests of this file: the shared one, or a private one while a test
/// holds it.
fn server() -> Option<Arc<SharedOrOwn>> {
    SharedOrOwn::in_process_or_skip("explore_redis")
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn flaskcache(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_flaskcache"))
        .args(args)
        .current_dir(root())
        .env(
            "CARGO_TARGET_DIR",
            std::env::temp_dir().join(format!("flaskcache-explore-redis-{}", std::process::id())),
        )
        .output()
        .expect("run flaskcache");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn digest(summary: &str) -> &str {
    summary
        .lines()
        .find(|l| l.starts_with("history digest: "))
        .unwrap_or("(no digest)")
}

#[test]
fn explore_on_a_real_server_agrees_with_the_model_and_with_the_memory_store() {
    let Some(server) = server() else { return };
    let url = server.url_db(9);
    for seed in ["1", "2", "3"] {
        let common = [
            "explore", "--seed", seed, "--runs", "20", "--ops", "300", "--faults", "0.01",
        ];
        let mut real: Vec<&str> = common.to_vec();
        real.extend(["--backend", url.as_str()]);
        let (code, out, err) = flaskcache(&real);
        assert_eq!(code, 0, "seed {seed}:\n{out}{err}");
        assert!(out.contains("\ndivergences: 0\n"), "{out}");
        assert!(out.starts_with(&format!(
            "flaskcache explore: seed {seed}, runs 0..20, 300 ops per run, fault rate 0.01, profile all, store RedisCache\n"
        )), "{out}");
        assert!(out.contains("\nkey prefixes: "), "{out}");
        assert!(err.contains("timing: 6000 simulated operations"), "{err}");
        // The server replied exactly what the engine's MemoryStore replies: the same steps.
        let mut memory: Vec<&str> = common.to_vec();
        memory.extend(["--store", "redis"]);
        let (code, mem, err) = flaskcache(&memory);
        assert_eq!(code, 0, "{mem}{err}");
        assert_eq!(digest(&out), digest(&mem), "seed {seed}");
    }
}

#[test]
fn a_profile_whose_redis_cache_is_not_modelled_is_refused() {
    for store in [["--store", "redis"], ["--backend", "redis://127.0.0.1:1/0"]] {
        let mut args = vec!["explore", "--profile", "0.13", "--runs", "1"];
        args.extend(store);
        let (code, out, err) = flaskcache(&args);
        assert_eq!(code, 2, "{out}{err}");
        assert!(
            err.contains("does not model Flask-Cache 0.13's RedisCache"),
            "{err}"
        );
        assert!(out.is_empty(), "{out}");
    }
}

#[test]
fn a_remote_server_is_refused_without_allow_remote() {
    let (code, out, err) = flaskcache(&[
        "explore",
        "--runs",
        "1",
        "--backend",
        "redis://:secret@cache.example.com:6379/0",
    ]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("is not on this machine"), "{err}");
    assert!(err.contains("--allow-remote"), "{err}");
    assert!(!err.contains("secret"), "{err}");
    assert!(out.is_empty(), "{out}");
}

#[test]
fn an_unreachable_server_exits_2() {
    let port = testing::free_port().unwrap_or_else(|e| panic!("{e}"));
    let url = format!("redis://127.0.0.1:{port}/0");
    let (code, out, err) = flaskcache(&["explore", "--runs", "1", "--backend", &url]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("cannot reach the server"), "{err}");
}

/// A pair over the server's database `db` with prefix `t:`, and a raw client on it.
fn real_pair(server: &SharedOrOwn, db: u8) -> (Pair, RedisStore) {
    let url = server.url_db(db);
    let config = StoreConfig {
        key_prefix: Some("t:".into()),
        ..StoreConfig::redis(StoreFlavor::Redis)
    };
    let store = RealStore::connect(&url, &config).expect("connect");
    let pair = Pair::with_store(
        Profile::FlaskCaching25,
        PythonVersion::default(),
        false,
        config,
        Box::new(store),
        1,
    );
    let mut raw = RedisConfig::new(url);
    raw.key_prefix = Some("t:".into());
    (pair, RedisStore::new(raw).expect("raw client"))
}

fn set(pair: &mut Pair, key: &str, value: Value, timeout: Option<i64>, now: Timestamp) {
    let command = EngineCommand::Backend(StoreOp::Set {
        key: key.into(),
        value,
        timeout,
    });
    let mut engine = PlanOracle::new(0, 0, || Ok(Value::None));
    let mut model = PlanOracle::new(0, 0, || Ok(Value::None));
    let ran = pair.run(
        &command,
        now,
        &mut engine,
        &mut model,
        false,
        &mut Digest::default(),
    );
    assert!(ran.is_ok(), "{:?}", ran.err());
}

#[test]
fn planted_differences_between_the_server_and_the_model_are_detected() {
    let Some(server) = server() else { return };
    let now = Timestamp::from_secs(1_000_000);
    let (mut pair, raw) = real_pair(&server, 10);

    // Agreement first.
    set(&mut pair, "a", Value::Int(1i64.into()), Some(60), now);
    set(&mut pair, "b", Value::Str("x".into()), Some(0), now);
    assert_eq!(pair.compare_stores(now), Ok(()));

    // A key the model lost and the server still holds.
    assert!(pair.model_mut().evict("b"));
    let found = pair.compare_stores(now).expect_err("a missing model key");
    assert_eq!(found.kind, "store");
    assert!(found.detail.contains("'b'"), "{}", found.detail);

    // A value changed on the server behind the cache's back.
    let (mut pair, raw2) = real_pair(&server, 11);
    set(&mut pair, "a", Value::Int(1i64.into()), Some(60), now);
    raw2.raw_set(
        &raw2.stored_key("a"),
        &flaskcache_redis::codec::dumps(&Value::Int(2i64.into())),
        Some(60_000),
    )
    .expect("raw set");
    let found = pair.compare_stores(now).expect_err("a different value");
    assert_eq!(found.kind, "store");
    assert!(found.detail.contains("= 2"), "{}", found.detail);

    // A deadline dropped: the key still exists, without a TTL.
    let (mut pair, raw3) = real_pair(&server, 12);
    set(&mut pair, "a", Value::Int(1i64.into()), Some(60), now);
    raw3.raw_set(
        &raw3.stored_key("a"),
        &flaskcache_redis::codec::dumps(&Value::Int(1i64.into())),
        None,
    )
    .expect("raw set");
    let found = pair.compare_stores(now).expect_err("no TTL");
    assert!(found.detail.contains("without expiry"), "{}", found.detail);

    // A deadline that is not the virtual one: found when the virtual clock moves.
    let (mut pair, raw4) = real_pair(&server, 13);
    set(&mut pair, "a", Value::Int(1i64.into()), Some(60), now);
    assert_eq!(pair.compare_stores(now), Ok(()));
    raw4.raw_set(
        &raw4.stored_key("a"),
        &flaskcache_redis::codec::dumps(&Value::Int(1i64.into())),
        Some(5_000),
    )
    .expect("raw set");
    let found = pair
        .advance(now.saturating_add_secs(1))
        .expect_err("a shorter deadline");
    assert_eq!(found.kind, "store deadlines");

    // Virtual time holds on the server: after 59 virtual seconds the key is there, after
    // 60.001 it is gone, although no real time passed.
    let (mut pair, _raw5) = real_pair(&server, 14);
    set(&mut pair, "a", Value::Int(1i64.into()), Some(60), now);
    let later = now.saturating_add_secs(59);
    assert_eq!(pair.advance(later), Ok(()));
    assert_eq!(pair.compare_stores(later), Ok(()));
    let gone = now.saturating_add_micros(60_001_000);
    assert_eq!(pair.advance(gone), Ok(()));
    assert_eq!(pair.compare_stores(gone), Ok(()));
    assert_eq!(pair.finish(), Ok(()));
    drop(raw);
}
