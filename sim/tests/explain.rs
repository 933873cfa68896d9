//! `flaskcache explain` on recorded apps: every pitfall example script is reported with its
//! own rule at its own marked line, with a verified fix (the timelines are insta snapshots);
//! the apps that invalidate correctly produce no finding; the CLI's outputs and exit codes.

mod support;

use flaskcache_sim::explain::render::{timeline, Style};
use flaskcache_sim::explain::{explain, Explanation};
use flaskcache_sim::trace::parse_trace_with_sites;
use std::path::{Path, PathBuf};
use support::flaskcache;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .to_path_buf()
}

fn explained(relative: &str) -> Explanation {
    let text = std::fs::read_to_string(root().join(relative)).expect("a committed trace");
    let (trace, sites) = parse_trace_with_sites(&text).expect("a well-formed trace");
    explain(relative, &trace, &sites).expect("the trace replays")
}

fn traces_in(dir: &str) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(root().join(dir))
        .expect("the directory")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".trace.jsonl"))
        .map(|n| format!("{dir}/{n}"))
        .collect();
    out.sort();
    out
}

/// The `# explain: <rule>` marker of a pitfall script: its 1-based line and rule id.
fn marker(script: &str) -> (u64, String) {
    let text = std::fs::read_to_string(root().join(script)).expect("the script");
    text.lines()
        .enumerate()
        .find_map(|(i, line)| {
            line.split_once("# explain: ")
                .map(|(_, rule)| (i as u64 + 1, rule.trim().to_owned()))
        })
        .unwrap_or_else(|| panic!("{script} has no `# explain: <rule>` marker"))
}

/// `docs/examples/pitfalls/x.2.5.trace.jsonl` -> `docs/examples/pitfalls/x.py`.
fn script_of(trace: &str) -> String {
    let stem = [".2.5.trace.jsonl", ".2.4.trace.jsonl", ".0.13.trace.jsonl"]
        .iter()
        .find_map(|suffix| trace.strip_suffix(suffix))
        .unwrap_or_else(|| panic!("{trace}: not named <script>.<profile>.trace.jsonl"));
    format!("{stem}.py")
}

#[test]
fn every_pitfall_script_is_reported_at_its_line_with_a_verified_fix() {
    let traces = traces_in("docs/examples/pitfalls");
    assert!(traces.len() >= 40, "only {} pitfall traces", traces.len());
    let mut failures = Vec::new();
    for trace in &traces {
        let (line, rule) = marker(&script_of(trace));
        let e = explained(trace);
        let at_marker = e
            .findings
            .iter()
            .find(|f| f.rule.id() == rule && f.site.as_ref().is_some_and(|s| s.line == line));
        let found = at_marker;
        match found {
            None => failures.push(format!(
                "{trace}: no {rule} finding at line {line}; found {:?}",
                e.findings
                    .iter()
                    .map(|f| (f.rule.id(), f.site.as_ref().map(|s| s.line)))
                    .collect::<Vec<_>>()
            )),
            Some(f) => {
                if !(f.verified && f.fix.is_some()) {
                    failures.push(format!("{trace}: {rule} without a verified fix: {f:?}"));
                }
            }
        }
        let mut text = Vec::new();
        timeline(&e, &Style { color: false }, &mut text).expect("writing to memory");
        let name = trace
            .trim_start_matches("docs/examples/pitfalls/")
            .trim_end_matches(".trace.jsonl");
        insta::assert_snapshot!(format!("explain__{name}"), String::from_utf8_lossy(&text));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn apps_that_invalidate_correctly_have_no_finding() {
    let mut traces = traces_in("tests/explain");
    for name in [
        "combos",
        "threads",
        "version_values",
        "shop",
        "redis_partial",
        "redis_noprefix",
        "int_digits",
    ] {
        traces.extend(
            traces_in("tests/traces")
                .into_iter()
                .filter(|t| t.starts_with(&format!("tests/traces/{name}."))),
        );
    }
    traces.extend(
        traces_in("docs/examples")
            .into_iter()
            .filter(|t| t.contains("redis_shared")),
    );
    assert!(traces.len() >= 15, "only {} clean traces", traces.len());
    for trace in &traces {
        let e = explained(trace);
        assert!(
            e.findings.is_empty(),
            "{trace}: false alarm(s): {:#?}",
            e.findings
        );
    }
}

#[test]
fn the_blog_example_is_explained_at_each_faulty_line() {
    let e = explained("docs/examples/student.2.5.trace.jsonl");
    let found: Vec<(&str, u64, usize)> = e
        .findings
        .iter()
        .map(|f| {
            (
                f.rule.id(),
                f.site.as_ref().map_or(0, |s| s.line),
                f.stale_reads.len(),
            )
        })
        .collect();
    // student.py makes each wrong delete through its helper `delete` (line 79), and the
    // classmethod's at line 114; every one is followed by one stale read.
    assert_eq!(
        found,
        [
            ("view-bare-path", 79, 1),
            ("view-single-slash", 79, 1),
            ("literal-prefix-deleted-by-path", 79, 1),
            ("literal-prefix-deleted-by-path", 79, 1),
            ("classmethod-without-class", 114, 1),
        ]
    );
    let fixes: Vec<&str> = e.findings.iter().filter_map(|f| f.fix.as_deref()).collect();
    assert_eq!(
        fixes,
        [
            "cache.delete('view//demo/student/all')",
            "cache.delete('view//demo/student/all')",
            "cache.delete('res_student_all')",
            "cache.delete('res_student_all')",
            "cache.delete_memoized(Calc.get_number, Calc, 5)",
        ]
    );
}

#[test]
fn cli_exit_status_json_and_summary() {
    let root = root();
    let faulty = root.join("docs/examples/pitfalls/view-bare-path.2.5.trace.jsonl");
    let clean = root.join("tests/explain/clean_app.2.5.trace.jsonl");
    let (code, out, _) = flaskcache(&["explain", "--color", "never", clean.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("0 findings, 0 stale reads"), "{out}");

    let (code, out, _) = flaskcache(&["explain", "--format", "json", faulty.to_str().unwrap()]);
    assert_eq!(code, 1);
    let json: serde_json::Value = serde_json::from_str(&out).expect("JSON out");
    let d = &json["diagnostics"][0];
    assert_eq!(d["rule"], "view-bare-path");
    assert_eq!(
        d["site"]["file"],
        "docs/examples/pitfalls/view-bare-path.py"
    );
    assert_eq!(d["call"], "cache.delete('/demo/student/all')");
    assert_eq!(d["fix"], "cache.delete('view//demo/student/all')");
    assert_eq!(d["verified"], true);
    assert_eq!(d["targeted_keys"][0], "/demo/student/all");
    assert_eq!(d["candidates"][0]["key"], "view//demo/student/all");
    assert_eq!(d["stale_reads"].as_array().map(Vec::len), Some(1));
    assert_eq!(json["summary"]["findings"], 1);
    assert_eq!(json["summary"]["rules"]["view-bare-path"]["count"], 1);

    let (code, out, _) = flaskcache(&[
        "explain",
        "--summary",
        "--color",
        "never",
        faulty.to_str().unwrap(),
        clean.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(out.contains("view-bare-path"), "{out}");
    assert!(
        out.contains("1 finding in 2 traces: 1 rule, 1 stale read"),
        "{out}"
    );

    let (code, out, _) = flaskcache(&["explain", "--color", "always", faulty.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(out.contains("\x1b["), "--color always colours");

    let bad = std::env::temp_dir().join("flaskcache-explain-bad.jsonl");
    std::fs::write(&bad, "{\"flaskcache_trace\": 1}\nnot json\n").expect("temp file");
    let (code, _, err) = flaskcache(&["explain", bad.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains(":2:"), "the error names the line: {err}");
    let (code, _, err) = flaskcache(&["explain", "/nonexistent/trace.jsonl"]);
    assert_eq!(code, 2, "{err}");
}
