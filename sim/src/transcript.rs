//! Transcripts: a call's steps as readable lines in the form
//! `tests/flows/record.py` writes for the real Flask-Caching, so that the two can be
//! compared byte for byte:
//!
//! ```text
//! # f(1)
//! get_many('app.f_memver') -> [None]
//! set_many({'app.f_memver': 'AQEBAQ'}, timeout=0) -> ['app.f_memver']
//! get('y4jv1y4Ocn0Pa/9zAQEBAQ') -> None
//! compute
//! set('y4jv1y4Ocn0Pa/9zAQEBAQ', 1, timeout=60) -> True
//! ...
//! = 1
//! ```

use flaskcache_engine::engine::{Command, Engine, EngineError, HookQuery, Input, Outcome, Step};
use flaskcache_engine::error::PyError;
use flaskcache_engine::store::{nonstr, StoreError, StoreOp, StoreReply};
use flaskcache_engine::value::{PythonVersion, Value};

/// Appends `repr(key)`: a `str` key quoted, any other as the Python value it is (`42`,
/// `<function f at 0x…>`), never its reserved key text.
fn key(out: &mut String, k: &str, py: PythonVersion) {
    nonstr::repr_into(k, out, py);
}

fn timeout(out: &mut String, t: Option<i64>) {
    match t {
        Some(t) => out.push_str(&format!("timeout={t}")),
        None => out.push_str("timeout=None"),
    }
}

fn key_list(out: &mut String, keys: &[String], py: PythonVersion) {
    for (i, k) in keys.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        key(out, k, py);
    }
}

/// A backend operation as the Python call Flask-Caching makes: `set('k', 1, timeout=60)`.
pub fn render_op(op: &StoreOp, py: PythonVersion) -> String {
    let mut out = String::from(op.name());
    out.push('(');
    match op {
        StoreOp::Get { key: k } | StoreOp::Has { key: k } | StoreOp::Delete { key: k } => {
            key(&mut out, k, py)
        }
        StoreOp::GetMany { keys } | StoreOp::DeleteMany { keys } => key_list(&mut out, keys, py),
        StoreOp::Set {
            key: k,
            value,
            timeout: t,
        }
        | StoreOp::Add {
            key: k,
            value,
            timeout: t,
        } => {
            key(&mut out, k, py);
            out.push_str(", ");
            value.repr_into(&mut out, py);
            out.push_str(", ");
            timeout(&mut out, *t);
        }
        StoreOp::SetMany { items, timeout: t } => {
            out.push('{');
            for (i, (k, v)) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                key(&mut out, k, py);
                out.push_str(": ");
                v.repr_into(&mut out, py);
            }
            out.push_str("}, ");
            timeout(&mut out, *t);
        }
        StoreOp::Clear => {}
    }
    out.push(')');
    out
}

/// A backend call and its outcome: `get('k') -> 1`, or
/// `get('k') raises ConnectionError: backend down`.
pub fn render_store_call(
    op: &StoreOp,
    reply: &Result<StoreReply, StoreError>,
    py: PythonVersion,
) -> String {
    let call = render_op(op, py);
    match reply {
        Ok(reply) => format!("{call} -> {}", render_reply(reply, py)),
        Err(e) => {
            let err = e.to_py_error(py);
            format!("{call} raises {}: {}", err.kind.as_str(), err.message)
        }
    }
}

/// A backend reply as Python prints the returned value.
pub fn render_reply(reply: &StoreReply, py: PythonVersion) -> String {
    match reply {
        StoreReply::Value(v) => v.repr(py),
        StoreReply::Values(vs) => Value::List(vs.clone()).repr(py),
        StoreReply::Bool(b) => Value::Bool(*b).repr(py),
        StoreReply::Keys(ks) => {
            Value::List(ks.iter().map(|k| nonstr::key_value(k)).collect()).repr(py)
        }
    }
}

/// A hook question's name, as the recorder prints it.
pub fn hook_name(query: &HookQuery) -> &'static str {
    match query {
        HookQuery::Unless => "unless",
        HookQuery::ForcedUpdate => "forced_update",
        HookQuery::IsStale(_) => "is_stale",
        HookQuery::ResponseFilter(_) => "response_filter",
    }
}

/// The final line of a call: `= <repr>` or `! <Type>: <message>`.
pub fn render_result(result: &Result<Value, PyError>, py: PythonVersion) -> String {
    match result {
        Ok(v) => format!("= {}", v.repr(py)),
        Err(e) => format!("! {}: {}", e.kind.as_str(), e.message),
    }
}

/// Who answers a call's steps.
pub struct Answers<S, C, H> {
    /// Executes a backend operation (a `MemoryStore`, possibly with faults injected).
    pub store: S,
    /// Runs the decorated function.
    pub compute: C,
    /// Answers a hook.
    pub hook: H,
}

/// Drives one command through the engine's stepper, appending the transcript lines to
/// `lines`. The `store` answer executes each operation at the time of the caller's choosing.
pub fn run_call<S, C, H>(
    engine: &mut Engine,
    comment: &str,
    command: Command,
    answers: Answers<S, C, H>,
    lines: &mut Vec<String>,
) -> Result<Outcome, EngineError>
where
    S: FnMut(&StoreOp) -> Result<StoreReply, StoreError>,
    C: FnMut() -> Result<Value, PyError>,
    H: FnMut(&HookQuery) -> Result<bool, PyError>,
{
    let Answers {
        mut store,
        mut compute,
        mut hook,
    } = answers;
    let py = engine.config().python;
    lines.push(format!("# {comment}"));
    let mut step = engine.start(command)?;
    loop {
        step = match step {
            Step::Store(op) => {
                let reply = store(&op);
                lines.push(render_store_call(&op, &reply, py));
                engine.resume(Input::Store(reply))?
            }
            Step::Compute => {
                lines.push("compute".to_owned());
                engine.resume(Input::Computed(compute()))?
            }
            Step::Hook(query) => {
                let answer = hook(&query);
                let shown = match &answer {
                    Ok(b) => Value::Bool(*b).repr(py),
                    Err(e) => format!("raise {}: {}", e.kind.as_str(), e.message),
                };
                lines.push(format!("hook {} -> {shown}", hook_name(&query)));
                engine.resume(Input::Hook(answer))?
            }
            Step::Log(d) => {
                lines.push(format!(
                    "log {}: {}: {}",
                    d.message,
                    d.error.kind.as_str(),
                    d.error.message
                ));
                engine.resume(Input::Logged)?
            }
            Step::Done(outcome) => {
                lines.push(render_result(&outcome.result, py));
                return Ok(outcome);
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flaskcache_engine::value::{ClassRef, PyObject};

    /// Keys render as the Python values the app passed, never as their key texts.
    #[test]
    fn nonstr_keys_render_as_python_values() {
        let py = PythonVersion::Py311;
        let function = nonstr::key_text(&Value::Object(Box::new(PyObject {
            class: ClassRef::new("builtins", "function"),
            repr: "<function student_all at 0x7f00>".into(),
            caching_id: None,
        })));
        let op = StoreOp::Delete {
            key: function.clone(),
        };
        assert_eq!(
            render_store_call(&op, &Ok(StoreReply::Bool(false)), py),
            "delete(<function student_all at 0x7f00>) -> False"
        );
        let keys = vec![nonstr::key_text(&Value::Float(1.0)), "k".to_owned()];
        let op = StoreOp::DeleteMany { keys: keys.clone() };
        assert_eq!(
            render_store_call(&op, &Ok(StoreReply::Keys(keys)), py),
            "delete_many(1.0, 'k') -> [1.0, 'k']"
        );
        let op = StoreOp::SetMany {
            items: vec![(nonstr::key_text(&Value::Bool(true)), Value::int(1))],
            timeout: None,
        };
        assert_eq!(render_op(&op, py), "set_many({True: 1}, timeout=None)");
    }
}
