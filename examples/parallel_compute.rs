//! Four threads call a memoized function with four different arguments; each body takes
//! 100 ms. Prints the wall time: about 100 ms when bodies run in parallel (no lock is held
//! across compute), 400 ms if they were serialised.

use flaskcache::{Cache, MemoizeOptions, Memoized};
use std::convert::Infallible;
use std::time::{Duration, Instant};

fn main() -> Result<(), flaskcache::Error> {
    let cache = Cache::new()?;
    let slow: Memoized<i64> =
        cache.memoize("app.reports.build", ["n"], MemoizeOptions::default())?;
    let start = Instant::now();
    let threads: Vec<_> = (0..4i64)
        .map(|n| {
            let (cache, slow) = (cache.clone(), slow.clone());
            std::thread::spawn(move || {
                slow.call(&cache, (n,), || {
                    std::thread::sleep(Duration::from_millis(100));
                    Ok::<_, Infallible>(n * n)
                })
            })
        })
        .collect();
    for t in threads {
        match t.join() {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => eprintln!("call failed: {e}"),
            Err(_) => eprintln!("thread panicked"),
        }
    }
    let cold = start.elapsed();
    let start = Instant::now();
    for n in 0..4i64 {
        slow.call(&cache, (n,), || Ok::<_, Infallible>(0))?;
    }
    let warm = start.elapsed();
    println!("4 threads x 100 ms compute (4 different keys): {cold:?} wall");
    println!("the same 4 calls again (hits, one thread): {warm:?}");
    Ok(())
}
