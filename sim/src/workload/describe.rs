//! Commands of the app described as the Python calls they stand for
//! (`delete_memoized(Student(1).grades, '2024S')`).

use super::target::{Func, View, FUNCS, VIEWS};
use flaskcache_engine::engine::{CachedId, Command, MemoizedId};
use flaskcache_engine::function::Receiver;
use flaskcache_engine::keys::QueryArgs;
use flaskcache_engine::value::repr_str_into;
use flaskcache_engine::{PythonVersion, Value};

/// `repr(str)` under Python 3.11.
pub fn py_str(s: &str) -> String {
    let mut out = String::new();
    repr_str_into(s, &mut out, PythonVersion::Py311);
    out
}

/// The names the app's functions and views go by in descriptions.
fn function_name(id: MemoizedId) -> &'static str {
    match FUNCS.get(id.0) {
        Some(Func::GetStudent) => "get_student",
        Some(Func::Grades) => "Student.grades",
        Some(Func::GetNumber) => "Calc.get_number",
        Some(Func::Stat) => "Calc.stat",
        Some(Func::Search) => "search",
        Some(Func::Count) => "count",
        None => "f",
    }
}

fn view_name(id: CachedId) -> &'static str {
    match VIEWS.get(id.0) {
        Some(View::All) => "student_all",
        Some(View::Lit) => "student_lit",
        Some(View::Page) => "student_page",
        Some(View::Works) => "works",
        Some(View::Call) => "call",
        None => "view",
    }
}

fn receiver_prefix(name: &str, bound_to: Option<&Receiver>) -> String {
    match bound_to {
        Some(Receiver::Instance(obj)) => match name.rsplit_once('.') {
            Some((_, method)) => format!("{}.{method}", obj.repr),
            None => format!("{}.{name}", obj.repr),
        },
        _ => name.to_owned(),
    }
}

fn arg_list(args: &[Value], kwargs: &[(String, Value)], py: PythonVersion) -> String {
    let mut parts: Vec<String> = args
        .iter()
        .map(|a| match a {
            Value::Object(o) => o.repr.clone(),
            Value::Class(c) => c.qualname.clone(),
            other => other.repr(py),
        })
        .collect();
    parts.extend(kwargs.iter().map(|(k, v)| format!("{k}={}", v.repr(py))));
    parts.join(", ")
}

/// A command of the app, as the Python call it stands for.
pub fn describe_command(command: &Command, py: PythonVersion) -> String {
    match command {
        Command::CallMemoized {
            function,
            bound_to,
            args,
            kwargs,
        } => format!(
            "{}({})",
            receiver_prefix(function_name(*function), bound_to.as_ref()),
            arg_list(args, kwargs, py)
        ),
        Command::CallCached { request, .. } => match request {
            Some(r) => {
                let mut s = format!("GET {}", r.path);
                for (i, (k, v)) in r.args.iter().enumerate() {
                    s.push(if i == 0 { '?' } else { '&' });
                    s.push_str(&format!("{k}={v}"));
                }
                s
            }
            None => "call outside a request".into(),
        },
        Command::DeleteMemoized {
            function,
            bound_to,
            args,
            kwargs,
        } => {
            let f = receiver_prefix(function_name(*function), bound_to.as_ref());
            let rest = arg_list(args, kwargs, py);
            if rest.is_empty() {
                format!("delete_memoized({f})")
            } else {
                format!("delete_memoized({f}, {rest})")
            }
        }
        Command::DeleteMemoizedVerhash { function, bound_to } => format!(
            "delete_memoized_verhash({})",
            receiver_prefix(function_name(*function), bound_to.as_ref())
        ),
        Command::DeleteCached {
            view,
            path,
            query_args,
            ..
        } => {
            let mut s = format!("delete_cached({}", view_name(*view));
            if let Some(p) = path {
                s.push_str(&format!(", {}", py_str(p)));
            }
            if let Some(QueryArgs::String(q)) = query_args {
                s.push_str(&format!(", {}", py_str(q)));
            }
            s.push(')');
            s
        }
        Command::Backend(op) => crate::transcript::render_op(op, py),
        Command::Tick => "tick".into(),
    }
}
