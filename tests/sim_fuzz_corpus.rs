//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/`) through the fuzz targets'
//! bodies (`flaskcache_sim::fuzzing`), so that CI exercises every target on stable Rust
//! without libFuzzer. Fuzzing itself: `docs/simulation.md`.

use std::path::PathBuf;

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} is empty", dir.display());
    files
        .into_iter()
        .map(|p| {
            let data = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p, data)
        })
        .collect()
}

fn replay(target: &str, body: fn(&[u8]) -> Result<(), String>) {
    for (path, data) in corpus(target) {
        if let Err(finding) = body(&data) {
            panic!("{target}: {}: {finding}", path.display());
        }
    }
}

#[test]
fn engine_vs_model_corpus() {
    replay("engine_vs_model", flaskcache_sim::fuzzing::engine_vs_model);
}

#[test]
fn trace_reader_corpus() {
    replay("trace_reader", flaskcache_sim::fuzzing::trace_reader);
}

#[test]
fn repr_corpus() {
    replay("repr", flaskcache_sim::fuzzing::repr);
}
