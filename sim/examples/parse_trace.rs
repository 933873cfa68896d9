//! Reads a trace and prints what it holds and how long reading took, without replaying it:
//!
//! ```text
//! cargo run --release -p flaskcache-sim --example parse_trace -- TRACE.jsonl
//! ```
//!
//! Malformed input is reported as `FILE:LINE: reason` (exit status 2).

use flaskcache_sim::trace::{parse_trace, Event, Record, TraceStep};
use std::process::ExitCode;
use std::time::Instant;

/// `event` and the events nested in it.
fn count(event: &Event) -> usize {
    1 + event
        .steps
        .iter()
        .map(|step| match step {
            TraceStep::Compute { events, .. } => events.iter().map(count).sum(),
            _ => 0,
        })
        .sum::<usize>()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [path] = args.as_slice() else {
        eprintln!("usage: parse_trace TRACE.jsonl");
        return ExitCode::from(2);
    };
    let start = Instant::now();
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{path}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let read = start.elapsed();
    let trace = match parse_trace(&text) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{path}:{}: {}", e.line, e.reason);
            return ExitCode::from(2);
        }
    };
    let parsed = start.elapsed() - read;
    let (mut declarations, mut events) = (0usize, 0usize);
    for record in &trace.records {
        match record {
            Record::Memoize { .. } | Record::Cached { .. } => declarations += 1,
            Record::Event(e) => events += count(e),
        }
    }
    println!(
        "{path}: {} bytes, {declarations} declarations, {events} events ({} top-level records); \
         read {:.3} s, parsed {:.3} s",
        text.len(),
        trace.records.len(),
        read.as_secs_f64(),
        parsed.as_secs_f64()
    );
    ExitCode::SUCCESS
}
