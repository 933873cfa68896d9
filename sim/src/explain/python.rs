//! Recorded commands written back as the Python the app wrote: `get_student(7)`,
//! `cache.delete_memoized(Calc.inst, Calc(1), 5)`, `GET /items?page=2`.

use crate::trace::{Record, Trace, TraceCommand};
use flaskcache_engine::engine::{CachedOptions, MemoizeOptions};
use flaskcache_engine::function::{FunctionDescriptor, Receiver};
use flaskcache_engine::keys::QueryArgs;
use flaskcache_engine::store::StoreOp;
use flaskcache_engine::{PythonVersion, Value};
use std::collections::HashMap;

/// A trace's declarations by id, for naming functions and views.
#[derive(Debug, Default)]
pub struct Names {
    functions: HashMap<String, (FunctionDescriptor, MemoizeOptions)>,
    views: HashMap<String, (String, CachedOptions)>,
    /// The trace's Python (reprs differ between releases).
    pub py: PythonVersion,
}

impl Names {
    /// The declarations of `trace`.
    pub fn of(trace: &Trace) -> Names {
        let mut names = Names {
            py: trace.config.python,
            ..Names::default()
        };
        for record in &trace.records {
            match record {
                Record::Memoize {
                    id,
                    function,
                    options,
                } => {
                    names
                        .functions
                        .insert(id.clone(), (function.clone(), options.clone()));
                }
                Record::Cached { id, name, options } => {
                    names
                        .views
                        .insert(id.clone(), (name.clone(), options.clone()));
                }
                Record::Event(_) => {}
            }
        }
        names
    }

    /// The memoized function declared as `id`.
    pub fn function(&self, id: &str) -> Option<&(FunctionDescriptor, MemoizeOptions)> {
        self.functions.get(id)
    }

    /// The `@cached` view declared as `id`: its name and options.
    pub fn view(&self, id: &str) -> Option<&(String, CachedOptions)> {
        self.views.get(id)
    }

    fn function_name(&self, id: &str) -> String {
        self.functions
            .get(id)
            .map_or_else(|| id.to_owned(), |(f, _)| f.qualname.clone())
    }

    fn view_name(&self, id: &str) -> String {
        self.views
            .get(id)
            .map_or_else(|| id.to_owned(), |(name, _)| name.clone())
    }

    /// A key as Python prints it: `'view//a'`, or `42`, `<function f at 0x…>` for a key
    /// that is not a `str` (`store::nonstr`).
    pub fn key(&self, key: &str) -> String {
        flaskcache_engine::store::nonstr::repr(key, self.py)
    }

    /// An argument as the app would write it: a class by its name, anything else by its
    /// repr.
    pub fn arg(&self, value: &Value) -> String {
        match value {
            Value::Class(class) => class.qualname.clone(),
            other => other.repr(self.py),
        }
    }

    /// The callable as the app named it: `get_student`, `Calc.get_number`, or `c.inst`
    /// written with the instance's repr (`Calc(1).inst`).
    fn callee(&self, function: &str, bound_to: &Option<Receiver>) -> String {
        let qualname = self.function_name(function);
        match bound_to {
            None => qualname,
            Some(Receiver::Class(_)) => qualname,
            Some(Receiver::Instance(obj)) => {
                let name = qualname.rsplit('.').next().unwrap_or(&qualname);
                format!("{}.{name}", obj.repr)
            }
        }
    }

    fn arg_list(&self, args: &[Value], kwargs: &[(String, Value)]) -> String {
        let mut parts: Vec<String> = args.iter().map(|a| self.arg(a)).collect();
        parts.extend(kwargs.iter().map(|(k, v)| format!("{k}={}", self.arg(v))));
        parts.join(", ")
    }

    fn query_args(&self, q: &QueryArgs) -> String {
        match q {
            QueryArgs::String(s) => Value::str(s.as_str()).repr(self.py),
            QueryArgs::Pairs(pairs) => {
                let items: Vec<String> = pairs
                    .iter()
                    .map(|(k, v)| {
                        format!("{}: {}", Value::str(k.as_str()).repr(self.py), self.arg(v))
                    })
                    .collect();
                format!("{{{}}}", items.join(", "))
            }
        }
    }

    /// `command` as the Python the app wrote.
    pub fn call(&self, command: &TraceCommand) -> String {
        let s = |text: &str| Value::str(text).repr(self.py);
        match command {
            TraceCommand::Call {
                function,
                bound_to,
                args,
                kwargs,
            } => format!(
                "{}({})",
                self.callee(function, bound_to),
                self.arg_list(args, kwargs)
            ),
            TraceCommand::Request { view, request, .. } => match request {
                Some((path, args)) if args.is_empty() => {
                    format!("GET {path} -> {}()", self.view_name(view))
                }
                Some((path, args)) => {
                    let query: Vec<String> = args.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    format!(
                        "GET {path}?{} -> {}()",
                        query.join("&"),
                        self.view_name(view)
                    )
                }
                None => format!("{}() outside a request", self.view_name(view)),
            },
            TraceCommand::DeleteMemoized {
                function,
                bound_to,
                args,
                kwargs,
            } => {
                let callee = self.callee(function, bound_to);
                let rest = self.arg_list(args, kwargs);
                if rest.is_empty() {
                    format!("cache.delete_memoized({callee})")
                } else {
                    format!("cache.delete_memoized({callee}, {rest})")
                }
            }
            TraceCommand::DeleteMemoizedVerhash { function, bound_to } => format!(
                "cache.delete_memoized_verhash({})",
                self.callee(function, bound_to)
            ),
            TraceCommand::DeleteCached {
                view,
                path,
                query_args,
                ..
            } => {
                let mut parts = vec![self.view_name(view)];
                if let Some(path) = path {
                    parts.push(s(path));
                }
                if let Some(q) = query_args {
                    parts.push(format!("query_args={}", self.query_args(q)));
                }
                format!("cache.delete_cached({})", parts.join(", "))
            }
            TraceCommand::Backend(op) => format!("cache.{}", self.op(op)),
            TraceCommand::Tick(micros) => {
                format!("time.sleep({})", *micros as f64 / 1e6)
            }
        }
    }

    /// A backend call as the app writes it (without `timeout=` when it is the default).
    fn op(&self, op: &StoreOp) -> String {
        let key = |k: &str| self.key(k);
        let keys = |ks: &[String]| ks.iter().map(|k| key(k)).collect::<Vec<_>>().join(", ");
        let timeout = |t: &Option<i64>| match t {
            Some(t) => format!(", timeout={t}"),
            None => String::new(),
        };
        match op {
            StoreOp::Get { key: k } => format!("get({})", key(k)),
            StoreOp::Has { key: k } => format!("has({})", key(k)),
            StoreOp::Delete { key: k } => format!("delete({})", key(k)),
            StoreOp::GetMany { keys: ks } => format!("get_many({})", keys(ks)),
            StoreOp::DeleteMany { keys: ks } => format!("delete_many({})", keys(ks)),
            StoreOp::Set {
                key: k,
                value,
                timeout: t,
            } => format!("set({}, {}{})", key(k), value.repr(self.py), timeout(t)),
            StoreOp::Add {
                key: k,
                value,
                timeout: t,
            } => format!("add({}, {}{})", key(k), value.repr(self.py), timeout(t)),
            StoreOp::SetMany { items, timeout: t } => {
                let items: Vec<String> = items
                    .iter()
                    .map(|(k, v)| format!("{}: {}", key(k), v.repr(self.py)))
                    .collect();
                format!("set_many({{{}}}{})", items.join(", "), timeout(t))
            }
            StoreOp::Clear => "clear()".to_owned(),
        }
    }
}
