// Synthetic traces for measuring how trace reading scales: the `trace_parse` benchmark,
// the `gen_trace` example and the large-trace test in `src/trace.rs` all use this file.
//
// The lines follow the shapes the recorder writes (docs/trace-format.md): declarations
// spread through the file, each declared just before its first use, and events that call
// the latest declaration (the one a linear search of the declared ids finds last), with a
// nested call every eighth request, a backend call every sixteenth event and a clock tick
// every fiftieth.

/// The text of a synthetic trace with `declarations` declarations and `events` events
/// (nested ones included).
pub fn synthetic_trace(declarations: usize, events: usize) -> String {
    let mut text = String::new();
    synthetic_lines(declarations, events, |line| {
        text.push_str(line);
        text.push('\n');
    });
    text
}

/// Calls `emit` with each line (without its `\n`) of the trace `synthetic_trace` returns.
pub fn synthetic_lines(declarations: usize, events: usize, mut emit: impl FnMut(&str)) {
    use std::fmt::Write as _;
    let mut line = String::new();
    // `write!` into a `String` cannot fail.
    let mut out = |line: &mut String, f: &dyn Fn(&mut String) -> std::fmt::Result| {
        line.clear();
        let _ = f(line);
        emit(line);
    };
    out(&mut line, &|l| write!(l, "{{\"flaskcache_trace\": 1}}"));
    out(&mut line, &|l| {
        write!(
            l,
            "{{\"config\": {{\"library\": \"flask-caching\", \"library_version\": \"2.5.1\", \
             \"profile\": \"2.5\", \"python\": \"3.11\", \"backend\": \"SimpleCache\", \
             \"key_prefix\": null, \"default_timeout\": 300, \"threshold\": 500, \
             \"ignore_errors\": false, \"debug\": false, \"start_time\": \"1000.000000\"}}}}"
        )
    });

    let mut declared = 0usize; // declarations written so far
    let mut latest_memoize: Option<usize> = None;
    let mut number = 0usize; // events written so far, nested included
    let mut micros: u64 = 1_000_000_000; // the virtual clock
    let at = |micros: u64| format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000);
    while number < events || declared < declarations {
        // Declarations spread evenly through the events, each before its first use.
        let due = if events == 0 {
            declarations
        } else {
            ((number + 1) * declarations)
                .div_ceil(events)
                .min(declarations)
        };
        while declared < due {
            let d = declared;
            declared += 1;
            if d.is_multiple_of(2) {
                latest_memoize = Some(d);
                out(&mut line, &|l| {
                    write!(
                        l,
                        "{{\"memoize\": {{\"id\": \"m{d}\", \"function\": {{\"module\": \"app\", \
                         \"qualname\": \"product_{d}\", \"binding\": \"function\", \"params\": \
                         [{{\"name\": \"pid\", \"kind\": \"positional_or_keyword\", \"default\": \
                         null}}]}}, \"options\": {{\"timeout\": 60, \"make_name\": null, \
                         \"hash_method\": null, \"args_to_ignore\": [], \"source\": null, \
                         \"cache_none\": false, \"hooks\": []}}}}}}"
                    )
                });
            } else {
                out(&mut line, &|l| {
                    write!(
                        l,
                        "{{\"cached\": {{\"id\": \"c{d}\", \"name\": \"view_{d}\", \"options\": \
                         {{\"key_prefix\": {{\"template\": \"view/%s\"}}, \"query_string\": false, \
                         \"hash_method\": null, \"source\": null, \"timeout\": 50, \
                         \"cache_none\": false, \"make_cache_key\": false, \"hooks\": []}}}}}}"
                    )
                });
            }
        }
        if number >= events {
            break;
        }
        number += 1;
        let n = number;
        let now = at(micros);
        let latest = declared.checked_sub(1);
        let nested = latest_memoize.filter(|_| n.is_multiple_of(8) && n < events);
        match latest {
            _ if n.is_multiple_of(50) => {
                micros += 1_000_000;
                out(&mut line, &|l| {
                    write!(
                        l,
                        "{{\"event\": {n}, \"at\": \"{now}\", \"command\": {{\"tick\": 1.0}}, \
                         \"versions\": [], \"steps\": [], \"result\": {{\"value\": {{\"t\": \"none\"}}}}}}"
                    )
                });
            }
            None => backend_event(&mut line, &mut out, n, &now),
            Some(_) if n.is_multiple_of(16) => backend_event(&mut line, &mut out, n, &now),
            Some(d) if d.is_multiple_of(2) => out(&mut line, &|l| memoize_call(l, n, &now, d)),
            Some(d) => {
                // A request; every eighth one computes through a memoized call of its own.
                if nested.is_some() {
                    number += 1;
                }
                out(&mut line, &|l| {
                    write!(
                        l,
                        "{{\"event\": {n}, \"at\": \"{now}\", \"command\": {{\"request\": \"c{d}\", \
                         \"path\": \"/items/{n}\", \"args\": [[\"page\", \"{n}\"]], \
                         \"prefix_result\": null, \"custom_key\": null}}, \"versions\": [], \
                         \"steps\": [{{\"store\": {{\"op\": \"get\", \"key\": \"view//items/{n}\"}}, \
                         \"reply\": {{\"value\": {{\"t\": \"none\"}}}}}}, {{\"compute\": {{\"value\": \
                         {{\"t\": \"str\", \"v\": \"item {n}\"}}}}"
                    )?;
                    if let Some(m) = nested {
                        write!(l, ", \"events\": [")?;
                        memoize_call(l, n + 1, &now, m)?;
                        write!(l, "]")?;
                    }
                    write!(
                        l,
                        "}}, {{\"store\": {{\"op\": \"set\", \"key\": \"view//items/{n}\", \"value\": \
                         {{\"t\": \"str\", \"v\": \"item {n}\"}}, \"timeout\": 50}}, \"reply\": \
                         {{\"bool\": true}}}}], \"result\": {{\"value\": {{\"t\": \"str\", \"v\": \
                         \"item {n}\"}}}}}}"
                    )
                });
            }
        }
    }
}

fn backend_event(
    line: &mut String,
    out: &mut impl FnMut(&mut String, &dyn Fn(&mut String) -> std::fmt::Result),
    n: usize,
    now: &str,
) {
    use std::fmt::Write as _;
    out(line, &|l| {
        write!(
            l,
            "{{\"event\": {n}, \"at\": \"{now}\", \"command\": {{\"backend\": {{\"op\": \"get\", \
             \"key\": \"counter\"}}}}, \"versions\": [], \"steps\": [{{\"store\": {{\"op\": \"get\", \
             \"key\": \"counter\"}}, \"reply\": {{\"value\": {{\"t\": \"int\", \"v\": \"{n}\"}}}}}}], \
             \"result\": {{\"value\": {{\"t\": \"int\", \"v\": \"{n}\"}}}}}}"
        )
    });
}

/// A memoized call of `m{d}` as event `n` (a miss: version lookup, get, compute, set).
fn memoize_call(l: &mut String, n: usize, now: &str, d: usize) -> std::fmt::Result {
    use std::fmt::Write as _;
    write!(
        l,
        "{{\"event\": {n}, \"at\": \"{now}\", \"command\": {{\"call\": \"m{d}\", \"bound_to\": null, \
         \"args\": [{{\"t\": \"int\", \"v\": \"{n}\"}}], \"kwargs\": []}}, \"versions\": [], \
         \"steps\": [{{\"store\": {{\"op\": \"get_many\", \"keys\": [\"app.product_{d}_memver\"]}}, \
         \"reply\": {{\"values\": [{{\"t\": \"str\", \"v\": \"Dw+jG2\"}}]}}}}, {{\"store\": {{\"op\": \
         \"get\", \"key\": \"lKWka0OAM2MVhzU8Dw+jG2\"}}, \"reply\": {{\"value\": {{\"t\": \"none\"}}}}}}, \
         {{\"compute\": {{\"value\": {{\"t\": \"int\", \"v\": \"{n}\"}}}}}}, {{\"store\": {{\"op\": \"set\", \
         \"key\": \"lKWka0OAM2MVhzU8Dw+jG2\", \"value\": {{\"t\": \"int\", \"v\": \"{n}\"}}, \"timeout\": \
         60}}, \"reply\": {{\"bool\": true}}}}], \"result\": {{\"value\": {{\"t\": \"int\", \"v\": \"{n}\"}}}}}}"
    )
}
