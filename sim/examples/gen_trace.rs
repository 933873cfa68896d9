//! Writes a synthetic trace (the one the `trace_parse` benchmark reads) to a file:
//!
//! ```text
//! cargo run --release -p flaskcache-sim --example gen_trace -- OUT.jsonl DECLARATIONS EVENTS
//! ```
//!
//! `EVENTS` counts nested events too. Read it back with the `parse_trace` example.

use std::io::Write;
use std::process::ExitCode;

#[allow(dead_code)]
#[path = "../benches/support/synthetic.rs"]
mod synthetic;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [out, declarations, events] = args.as_slice() else {
        eprintln!("usage: gen_trace OUT.jsonl DECLARATIONS EVENTS");
        return ExitCode::from(2);
    };
    let (Ok(declarations), Ok(events)) = (declarations.parse::<usize>(), events.parse::<usize>())
    else {
        eprintln!("gen_trace: DECLARATIONS and EVENTS must be non-negative integers");
        return ExitCode::from(2);
    };
    let file = match std::fs::File::create(out) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("gen_trace: {out}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut writer = std::io::BufWriter::new(file);
    let mut result = Ok(());
    synthetic::synthetic_lines(declarations, events, |line| {
        if result.is_ok() {
            result = writer
                .write_all(line.as_bytes())
                .and_then(|()| writer.write_all(b"\n"));
        }
    });
    match result.and_then(|()| writer.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gen_trace: {out}: {e}");
            ExitCode::FAILURE
        }
    }
}
