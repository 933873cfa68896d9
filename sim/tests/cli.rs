//! The `flaskcache` command line: exit statuses and one-line errors.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

mod support;
use support::flaskcache;

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

/// Runs the binary with its stdout a pipe whose reader is gone (dropped at once, before
/// the binary has started writing); returns its exit status and standard error.
fn flaskcache_into_closed_pipe(args: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_flaskcache"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    drop(child.stdout.take());
    let output = child.wait_with_output().expect("the binary exits");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn flaskcache_with_env(args: &[&str], key: &str, value: &Path) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_flaskcache"))
        .args(args)
        .env(key, value)
        .output()
        .expect("the binary runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("flaskcache-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn vectors_file(name: &str) -> String {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    root.join("tests/vectors")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

#[test]
fn explore_verbose_prints_each_run_through_a_pipe_in_python_terms() {
    // Run 0 of seed 1 draws get_student's timeout -1 (shown by Rust as `Some(-1)`).
    let (code, stdout, stderr) = flaskcache(&[
        "explore",
        "--seed",
        "1",
        "--runs",
        "5",
        "--ops",
        "50",
        "--verbose",
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let runs: Vec<&str> = stderr.lines().filter(|l| l.starts_with("run ")).collect();
    assert_eq!(runs.len(), 5, "{stderr}");
    assert!(
        runs.iter().any(|l| l.contains("get_student timeout = -1,")),
        "{stderr}"
    );
    for text in [&stdout, &stderr] {
        assert!(!text.contains("Some("), "{text}");
        assert!(
            !text.contains("debug true") && !text.contains("debug false"),
            "{text}"
        );
    }
    let (_, _, quiet) = flaskcache(&["explore", "--runs", "2", "--ops", "20"]);
    assert!(!quiet.lines().any(|l| l.starts_with("run ")), "{quiet}");
}

#[test]
fn explore_findings_name_their_run_and_a_command_that_reproduces_them() {
    let (code, stdout, _) = flaskcache(&["explore", "--seed", "1", "--runs", "3", "--ops", "200"]);
    assert_eq!(code, 0, "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.trim_start().starts_with("e.g. in run "))
        .unwrap_or_else(|| panic!("no finding: {stdout}"));
    let example = lines[at].trim();
    let command = lines
        .get(at + 1)
        .and_then(|l| l.trim().strip_prefix("reproduce: flaskcache "))
        .unwrap_or_else(|| panic!("no reproducing command after {example}: {stdout}"));
    let args: Vec<&str> = command.split_whitespace().collect();
    assert!(command.contains(" --runs 1 "), "{command}");
    let (code, again, _) = flaskcache(&args);
    assert_eq!(code, 0, "{again}");
    assert!(
        again.lines().any(|l| l.trim() == example),
        "{command} does not find {example:?}:\n{again}"
    );
}

#[test]
fn view_key_rejects_unsupported_profiles_and_a_query_without_query_string() {
    let (code, stdout, stderr) = flaskcache(&["view-key", "/x", "--profile", "0.13"]);
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(stderr.contains("supports profiles 2.5 and 2.4"), "{stderr}");
    let (code, stdout, _) = flaskcache(&["view-key", "/x", "--profile", "2.4"]);
    assert_eq!((code, stdout.trim()), (0, "view//x"));
    let (code, stdout, stderr) = flaskcache(&["view-key", "/x", "--query", "a=1"]);
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(stderr.contains("--query-string"), "{stderr}");
    let (code, with_query, _) = flaskcache(&["view-key", "/x", "--query-string", "--query", "a=1"]);
    let (_, without, _) = flaskcache(&["view-key", "/x", "--query-string"]);
    assert_eq!(code, 0, "{with_query}");
    assert_ne!(with_query, without);
}

#[test]
fn view_key_help_keeps_its_examples_one_per_line() {
    let (code, help, _) = flaskcache(&["view-key", "--help"]);
    assert_eq!(code, 0, "{help}");
    assert!(
        help.contains(
            "Examples:\n  flaskcache view-key /demo/student/all                 -> view//demo/student/all\n"
        ),
        "{help}"
    );
    // Each example's documented key is what the command prints.
    let (_, key, _) = flaskcache(&[
        "view-key",
        "/works",
        "--query-string",
        "--query",
        "limit=15&mock=true",
    ]);
    assert!(
        help.contains(&format!("-> {}\n", key.trim())),
        "{key}\n{help}"
    );
}

#[test]
fn output_directories_are_under_cargo_target_dir() {
    let target = temp_dir("target");
    let (code, help, _) = flaskcache_with_env(&["explore", "--help"], "CARGO_TARGET_DIR", &target);
    assert_eq!(code, 0);
    let expected = format!("[default: {}]", target.join("explore").display());
    assert!(help.contains(&expected), "{expected}\n{help}");
    // The oracle writes its workload before it runs Python, which here does not exist.
    let (code, _, stderr) = flaskcache_with_env(
        &["oracle", "--ops", "5", "--python", "/nonexistent/python3"],
        "CARGO_TARGET_DIR",
        &target,
    );
    assert_eq!(code, 2, "{stderr}");
    let script = target.join("oracle/2.5-seed-1/workload.py");
    assert!(script.is_file(), "{} missing; {stderr}", script.display());
    let _ = std::fs::remove_dir_all(target);
}

#[test]
fn traces_and_vector_files_given_to_the_wrong_command_are_named_as_such() {
    let trace = example("student.2.5.trace.jsonl");
    let (code, _, stderr) = flaskcache(&["vectors", &trace]);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(&format!("{trace}: this is a trace"))
            && stderr.contains("flaskcache replay"),
        "{stderr}"
    );
    let vectors = vectors_file("fc25-py311.json");
    for command in [vec!["replay"], vec!["explore", "--check-trace"]] {
        let mut args = command.clone();
        args.push(&vectors);
        let (code, _, stderr) = flaskcache(&args);
        assert_eq!(code, 2, "{command:?}: {stderr}");
        assert!(
            stderr.contains(&format!("{vectors}: this is a key vectors file"))
                && stderr.contains("flaskcache vectors"),
            "{command:?}: {stderr}"
        );
    }
}

#[test]
fn error_locations_are_file_colon_line() {
    let bad_json = temp_file(
        "trailing.json",
        "{\"format\": \"flaskcache-key-vectors/1\"}\n{}\n",
    );
    let (code, _, stderr) = flaskcache(&["vectors", &bad_json.to_string_lossy()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(&format!("{}:2: invalid JSON", bad_json.display())),
        "{stderr}"
    );
    assert!(!stderr.contains(" line "), "{stderr}");
    let _ = std::fs::remove_file(bad_json);

    let good = std::fs::read_to_string(example("student.2.5.trace.jsonl")).expect("example trace");
    let broken: String = good
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 2 {
                "{oops\n".to_owned()
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    let path = temp_file("line3.trace.jsonl", &broken);
    for command in [vec!["replay"], vec!["explore", "--check-trace"]] {
        let shown = path.to_string_lossy();
        let mut args = command.clone();
        args.push(&shown);
        let (code, _, stderr) = flaskcache(&args);
        assert_eq!(code, 2, "{command:?}: {stderr}");
        assert!(
            stderr.contains(&format!("{}:3: ", path.display())) && !stderr.contains(" line "),
            "{command:?}: {stderr}"
        );
    }
    let _ = std::fs::remove_file(path);
}

#[test]
fn a_closed_stdout_ends_every_command_quietly() {
    let trace = example("student.2.5.trace.jsonl");
    let many: Vec<&str> = std::iter::once("replay")
        .chain(std::iter::repeat_n(trace.as_str(), 200))
        .collect();
    let vectors = vectors_file("fc25-py311.json");
    let cases: Vec<(Vec<&str>, i32)> = vec![
        (many, 0),
        (vec!["explore", "--runs", "3", "--ops", "50"], 0),
        (vec!["vectors", &vectors, &vectors], 0),
        (vec!["view-key", "/demo/student/all"], 0),
        (
            vec![
                "oracle",
                "--ops",
                "5",
                "--python",
                "/nonexistent/python3",
                "--out-dir",
            ],
            2,
        ),
    ];
    let out_dir = temp_dir("oracle-pipe");
    let out_dir = out_dir.to_string_lossy();
    for (mut args, expected) in cases {
        if args.last() == Some(&"--out-dir") {
            args.push(&out_dir);
        }
        let (code, stderr) = flaskcache_into_closed_pipe(&args);
        assert!(!stderr.contains("panicked"), "{}: {stderr}", args[0]);
        assert_eq!(code, Some(expected), "{}: {stderr}", args[0]);
    }
    let _ = std::fs::remove_dir_all(&*out_dir);
}

#[test]
fn vector_mismatches_show_values_as_python_does() {
    let good = std::fs::read_to_string(vectors_file("fc25-py311.json")).expect("vectors");
    let tampered = good.replacen("\"key\": \"psViH9vsvksPhznO+WS5ov\"", "\"key\": null", 1);
    assert_ne!(tampered, good, "the vectors have the case to tamper with");
    let path = temp_file("tampered.json", &tampered);
    let (code, stdout, _) = flaskcache(&["vectors", &path.to_string_lossy()]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("  real library: None\n")
            && stdout.contains("  flaskcache:   'psViH9vsvksPhznO+WS5ov'\n"),
        "{stdout}"
    );
    assert!(!stdout.contains("Some("), "{stdout}");
    let _ = std::fs::remove_file(path);
}
