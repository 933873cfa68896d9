//! `flaskcache replay`: drive the engine with a recorded trace's commands and compare every
//! step with what the real library did.

use clap::Args;
use std::process::ExitCode;

/// Arguments of `flaskcache replay`.
#[derive(Args, Debug)]
pub struct ReplayArgs {
    /// Trace files (JSON Lines, docs/trace-format.md).
    #[arg(required = true)]
    pub traces: Vec<String>,
}

/// Runs `flaskcache replay`.
pub fn run(args: &ReplayArgs) -> ExitCode {
    eprintln!("flaskcache replay: {} traces: replay is being built", args.traces.len());
    ExitCode::from(2)
}
