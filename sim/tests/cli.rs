//! The `flaskcache` command line: exit statuses and one-line errors.

use std::path::PathBuf;
use std::process::Command;

fn flaskcache(args: &[&str]) -> (i32, String, String) {
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

fn temp_file(name: &str, text: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("flaskcache-cli-{}-{name}", std::process::id()));
    std::fs::write(&path, text).expect("temp file");
    path
}

fn example(name: &str) -> String {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    root.join("docs/examples")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

#[test]
fn replay_of_recorded_traces_exits_zero_with_a_summary() {
    let (code, stdout, _) = flaskcache(&[
        "replay",
        &example("student.2.5.trace.jsonl"),
        &example("student.2.4.trace.jsonl"),
    ]);
    assert_eq!(code, 0, "{stdout}");
    let last = stdout.lines().last().unwrap_or("");
    assert!(
        last.starts_with("replayed 2 traces, ") && last.ends_with(" 0 mismatches"),
        "{last}"
    );
}

#[test]
fn malformed_traces_give_one_line_naming_file_and_line_and_exit_2() {
    let good = std::fs::read_to_string(example("student.2.5.trace.jsonl")).expect("example trace");
    let truncated = &good[..good.len() / 3];
    let cases = [
        ("garbage", "this is not a trace\n".to_owned()),
        ("truncated", truncated.to_owned()),
    ];
    for (name, text) in cases {
        let path = temp_file(name, &text);
        let (code, _, stderr) = flaskcache(&["replay", &path.to_string_lossy()]);
        assert_eq!(code, 2, "{name}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{name}: {stderr}");
        assert!(
            stderr.contains(&format!("{}:", path.display())),
            "{name}: {stderr}"
        );
        let _ = std::fs::remove_file(path);
    }
    let (code, _, stderr) = flaskcache(&["replay", "/nonexistent/trace.jsonl"]);
    assert_eq!(code, 2, "{stderr}");
}

#[test]
fn a_divergent_trace_is_reported_side_by_side_and_exits_1() {
    // The first recorded reply of the first `get` made to say something else.
    let good = std::fs::read_to_string(example("student.2.5.trace.jsonl")).expect("example trace");
    let tampered = good.replacen(
        "\"reply\": {\"value\": {\"t\": \"none\"}}",
        "\"reply\": {\"value\": {\"t\": \"int\", \"v\": \"7\"}}",
        1,
    );
    assert_ne!(tampered, good, "the example has a miss to tamper with");
    let path = temp_file("tampered", &tampered);
    let (code, stdout, _) = flaskcache(&["replay", &path.to_string_lossy()]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("recorded:") && stdout.contains("flaskcache:"),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .last()
            .unwrap_or("")
            .ends_with("1 mismatches"),
        "{stdout}"
    );
    let _ = std::fs::remove_file(path);
}

#[test]
fn view_key_prints_the_stored_key() {
    let (code, stdout, _) = flaskcache(&["view-key", "/demo/student/all"]);
    assert_eq!((code, stdout.trim()), (0, "view//demo/student/all"));
    let (code, stdout, _) = flaskcache(&["view-key", "/x", "--prefix", "res_student_all"]);
    assert_eq!((code, stdout.trim()), (0, "res_student_all"));
    let (code, _, stderr) = flaskcache(&["view-key", "/x", "--hash", "crc32"]);
    assert_eq!(code, 2, "{stderr}");
}
