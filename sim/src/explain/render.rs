//! `flaskcache explain`'s three outputs: the timeline, the summary (lint mode) and JSON.

use super::finding::Finding;
use super::rule::Rule;
use super::Explanation;
use crate::trace::Site;
use serde_json::{json, Value as Json};
use std::collections::BTreeMap;
use std::io::Write;

/// How to write text.
#[derive(Clone, Copy, Debug)]
pub struct Style {
    /// ANSI colours.
    pub color: bool,
}

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
    fn red(&self, text: &str) -> String {
        self.paint("1;31", text)
    }
    fn yellow(&self, text: &str) -> String {
        self.paint("33", text)
    }
    fn green(&self, text: &str) -> String {
        self.paint("32", text)
    }
    fn dim(&self, text: &str) -> String {
        self.paint("2", text)
    }
}

fn site_text(site: &Option<Site>) -> String {
    match site {
        Some(s) => format!("{}:{} (in {})", s.file, s.line, s.function),
        None => "(no call site recorded)".to_owned(),
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn header(e: &Explanation) -> String {
    let c = &e.config;
    format!(
        "{} ({} {}, {}, Python {}, profile {})",
        e.path,
        c.library,
        c.library_version,
        c.backend,
        c.python.as_str(),
        c.profile.as_str()
    )
}

fn finding_lines(
    f: &Finding,
    py: flaskcache_engine::PythonVersion,
    style: &Style,
    indent: &str,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    writeln!(
        out,
        "{indent}{} {}: {}",
        style.red("finding"),
        style.red(f.rule.id()),
        f.rule.title()
    )?;
    writeln!(out, "{indent}  {}", f.detail)?;
    for c in &f.candidates {
        writeln!(
            out,
            "{indent}  meant: {}, stored by `{}` at event {} ({})",
            flaskcache_engine::Value::str(c.key.as_str()).repr(py),
            c.call,
            c.event,
            site_text(&c.site)
        )?;
    }
    if let Some(fix) = &f.fix {
        let how = if f.verified {
            f.verification.as_str()
        } else {
            "not a call: not tried"
        };
        writeln!(out, "{indent}  fix: {}  ({how})", style.green(fix))?;
    }
    if !f.stale_reads.is_empty() {
        let events: Vec<String> = f.stale_reads.iter().map(|s| s.event.to_string()).collect();
        writeln!(
            out,
            "{indent}  stale reads it caused: {} (events {})",
            f.stale_reads.len(),
            events.join(", ")
        )?;
    }
    Ok(())
}

/// The timeline of one trace, each finding under its event, and a closing count.
pub fn timeline(e: &Explanation, style: &Style, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "{}", header(e))?;
    for row in &e.rows {
        let pad = "  ".repeat(row.depth);
        writeln!(
            out,
            "{pad}#{:<4} t={}  {}",
            row.event,
            row.at,
            style.dim(&site_text(&row.site))
        )?;
        writeln!(out, "{pad}      {}", row.call)?;
        let mut effect = row.effect.clone();
        if let Some(f) = row.stale_of {
            let cause = &e.findings[f];
            effect = format!(
                "{}  {}",
                effect,
                style.yellow(&format!(
                    "STALE: the delete at event {} ({}) missed it",
                    cause.event,
                    site_text(&cause.site)
                ))
            );
        }
        writeln!(out, "{pad}      {effect}")?;
        for &f in &row.findings {
            finding_lines(
                &e.findings[f],
                e.config.python,
                style,
                &format!("{pad}      "),
                out,
            )?;
        }
    }
    let stale = stale_reads(e);
    writeln!(
        out,
        "{}: {}, {}, {}",
        e.path,
        plural(e.rows.len(), "event", "events"),
        plural(e.findings.len(), "finding", "findings"),
        plural(stale, "stale read", "stale reads")
    )?;
    Ok(())
}

/// Each rule found, once: its count and first site, over every trace.
pub fn summary(all: &[Explanation], style: &Style, out: &mut dyn Write) -> std::io::Result<()> {
    let mut rules: BTreeMap<Rule, (usize, String)> = BTreeMap::new();
    let mut stale = 0;
    for e in all {
        stale += stale_reads(e);
        for f in &e.findings {
            let first = format!("{} ({})", site_text(&f.site), e.path);
            rules.entry(f.rule).or_insert((0, first)).0 += 1;
        }
    }
    for (rule, (count, first)) in &rules {
        writeln!(
            out,
            "{:<34} {:>4}  first at {}",
            style.red(rule.id()),
            count,
            first
        )?;
        writeln!(out, "{:<34}       {}", "", rule.title())?;
    }
    let findings: usize = rules.values().map(|(n, _)| n).sum();
    writeln!(
        out,
        "{} in {}: {}, {}",
        plural(findings, "finding", "findings"),
        plural(all.len(), "trace", "traces"),
        plural(rules.len(), "rule", "rules"),
        plural(stale, "stale read", "stale reads")
    )?;
    Ok(())
}

fn site_json(site: &Option<Site>) -> Json {
    match site {
        Some(s) => json!({"file": s.file, "line": s.line, "function": s.function}),
        None => Json::Null,
    }
}

/// The findings as JSON (`docs/pitfalls.md` has the schema); with `summary_only`, the
/// `diagnostics` list is left empty.
pub fn json(all: &[Explanation], summary_only: bool) -> Json {
    let mut diagnostics = Vec::new();
    let mut rules: BTreeMap<&str, Json> = BTreeMap::new();
    let (mut findings, mut stale, mut events) = (0, 0, 0);
    for e in all {
        events += e.rows.len();
        stale += stale_reads(e);
        for f in &e.findings {
            findings += 1;
            let entry = rules.entry(f.rule.id()).or_insert_with(|| {
                json!({"count": 0, "title": f.rule.title(), "first": {"trace": e.path, "event": f.event, "site": site_json(&f.site)}})
            });
            entry["count"] = json!(entry["count"].as_u64().unwrap_or(0) + 1);
            if summary_only {
                continue;
            }
            diagnostics.push(json!({
                "trace": e.path,
                "rule": f.rule.id(),
                "title": f.rule.title(),
                "event": f.event,
                "site": site_json(&f.site),
                "call": f.call,
                "targeted_keys": f.targeted_keys,
                "candidates": f.candidates.iter().map(|c| json!({
                    "key": c.key, "call": c.call, "event": c.event,
                    "site": site_json(&c.site), "fix": c.fix,
                })).collect::<Vec<_>>(),
                "fix": f.fix,
                "verified": f.verified,
                "verification": f.verification,
                "fix_replaces_call": f.fix_replaces_call,
                "detail": f.detail,
                "stale_reads": f.stale_reads.iter().map(|s| json!({
                    "event": s.event, "site": site_json(&s.site),
                })).collect::<Vec<_>>(),
            }));
        }
    }
    json!({
        "diagnostics": diagnostics,
        "summary": {
            "traces": all.len(),
            "events": events,
            "findings": findings,
            "stale_reads": stale,
            "rules": rules,
        }
    })
}

/// The reads served stale in a trace: each once, though two faulty deletes of one entry
/// both list it.
fn stale_reads(e: &Explanation) -> usize {
    let mut events: Vec<u64> = e
        .findings
        .iter()
        .flat_map(|f| f.stale_reads.iter().map(|r| r.event))
        .collect();
    events.sort_unstable();
    events.dedup();
    events.len()
}
