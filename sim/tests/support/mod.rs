//! What the command-line tests share.

use std::process::Command;

/// Runs the `flaskcache` binary with `args`: its exit code (-1 when killed by a signal),
/// standard output and standard error.
pub fn flaskcache(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_flaskcache"))
        .args(args)
        .output()
        .expect("the binary runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}
