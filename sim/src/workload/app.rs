//! The simulated Flask app: its declarations (`@cache.memoize`, `@cache.cached`) and
//! the engine commands its calls, invalidations and backend proxy calls become.

use super::action::{backend_key, backend_timeout, BackendCall, Form};
use super::describe::describe_command;
use super::target::{request_of, search_limit, search_q, term, Func, Target, View, FUNCS, VIEWS};
use flaskcache_engine::engine::{
    CachedId, CachedOptions, Command, Hooks, MemoizeOptions, MemoizedId, Request,
};
use flaskcache_engine::function::{Binding, FunctionDescriptor, Param, ParamKind, Receiver};
use flaskcache_engine::keys::{
    view_key, CachedKeySpec, KeyPrefix, QueryArgs, RequestInfo, ViewKeyInput, ViewKeyMode,
};
use flaskcache_engine::profile::Feature;
use flaskcache_engine::store::StoreOp;
use flaskcache_engine::{ClassRef, Profile, PyObject, PythonVersion, Value};

/// The app as registered: ids of its functions and views, and how to spell calls.
#[derive(Clone, Debug)]
pub struct App {
    profile: Profile,
    python: PythonVersion,
    funcs: Vec<MemoizedId>,
    views: Vec<CachedId>,
    /// The key specs of the views as declared with the default knobs, in [`VIEWS`] order
    /// (what [`App::view_key`] derives keys from), built once.
    view_specs: Vec<CachedKeySpec>,
}

/// A declaration the app makes at import time.
#[derive(Clone, Debug)]
pub enum Declaration {
    /// `@cache.memoize(...)`.
    Memoize(FunctionDescriptor, MemoizeOptions),
    /// `@cache.cached(...)` on the named view function.
    Cached(&'static str, CachedOptions),
}

fn student_class() -> ClassRef {
    ClassRef::new("demo.models", "Student")
}

fn calc_class() -> ClassRef {
    ClassRef::new("demo.models", "Calc")
}

/// `Student(i)`: instance 2 defines `__caching_id__` (honoured in 2.5, a `TypeError` in
/// 2.4, ignored in 0.13).
pub fn student(i: u8) -> PyObject {
    PyObject {
        class: student_class(),
        repr: format!("Student({i})"),
        caching_id: (i == 2).then(|| format!("student-{i}")),
    }
}

fn calc_instance() -> PyObject {
    PyObject {
        class: calc_class(),
        repr: "Calc()".into(),
        caching_id: None,
    }
}

fn int(i: u8) -> Value {
    Value::int(i64::from(i))
}

impl App {
    /// The declarations of the app under `profile`: options a release does not accept
    /// are left out (no hooks and no `cache_none` in 0.13; `query_string` from 2.4 on).
    pub fn declarations(profile: Profile, setup: &AppKnobs) -> Vec<Declaration> {
        let has = |f: Feature| profile.supports(f);
        let hooks = |unless, forced, stale, filter| Hooks {
            unless: unless && setup.hooks,
            forced_update: forced && setup.hooks && has(Feature::ForcedUpdate),
            is_stale: stale && setup.hooks && has(Feature::IsStale),
            response_filter: filter && setup.hooks && has(Feature::ResponseFilter),
        };
        let f = |module: &str, qualname: &str, params: Vec<Param>, binding| {
            FunctionDescriptor::new(module, qualname, params, binding)
        };
        let memo = |timeout, cache_none, hooks| MemoizeOptions {
            timeout,
            cache_none: cache_none && has(Feature::CacheNone),
            hooks,
            ..Default::default()
        };
        let none = Hooks::default();
        let mut out = Vec::new();
        let functions = [
            (
                f(
                    "demo.students",
                    "get_student",
                    vec![
                        Param::required("sid"),
                        Param::with_default("with_courses", Value::Bool(false)),
                    ],
                    Binding::Function,
                ),
                memo(setup.get_student_timeout, true, none),
            ),
            (
                f(
                    "demo.models",
                    "Student.grades",
                    vec![Param::required("self"), Param::required("term")],
                    Binding::InstanceMethod,
                ),
                memo(Some(100), false, none),
            ),
            (
                f(
                    "demo.models",
                    "Calc.get_number",
                    vec![Param::required("cls"), Param::required("n")],
                    Binding::ClassMethod,
                ),
                memo(Some(100), false, none),
            ),
            (
                f(
                    "demo.models",
                    "Calc.stat",
                    vec![Param::required("n")],
                    Binding::StaticMethod,
                ),
                memo(None, false, none),
            ),
            (
                f(
                    "demo.students",
                    "search",
                    vec![
                        Param::required("q"),
                        Param::new("limit", ParamKind::KeywordOnly, Some(Value::int(10))),
                    ],
                    Binding::Function,
                ),
                memo(Some(30), false, hooks(false, true, false, false)),
            ),
            (
                f("demo.students", "count", vec![], Binding::Function),
                memo(Some(20), false, hooks(true, false, true, true)),
            ),
        ];
        for (descriptor, options) in functions {
            if let Ok(d) = descriptor {
                out.push(Declaration::Memoize(d, options));
            }
        }
        let view = |prefix: KeyPrefix, query_string: bool, timeout, hooks| CachedOptions {
            key: CachedKeySpec {
                key_prefix: prefix,
                query_string: query_string && has(Feature::QueryString),
                ..Default::default()
            },
            timeout,
            hooks,
            ..Default::default()
        };
        let default_prefix = KeyPrefix::Template("view/%s".into());
        out.push(Declaration::Cached(
            "student_all",
            view(default_prefix.clone(), false, Some(50), none),
        ));
        out.push(Declaration::Cached(
            "student_lit",
            view(
                KeyPrefix::Template("res_student_all".into()),
                false,
                Some(50),
                none,
            ),
        ));
        out.push(Declaration::Cached(
            "student_page",
            view(
                default_prefix.clone(),
                false,
                Some(30),
                hooks(false, false, false, true),
            ),
        ));
        out.push(Declaration::Cached(
            "works",
            view(default_prefix, true, Some(20), none),
        ));
        out.push(Declaration::Cached(
            "call",
            view(
                KeyPrefix::Callable,
                false,
                None,
                hooks(true, true, false, false),
            ),
        ));
        out
    }

    /// The app once its declarations are registered, in order, as `funcs` and `views`.
    pub fn new(
        profile: Profile,
        python: PythonVersion,
        funcs: Vec<MemoizedId>,
        views: Vec<CachedId>,
    ) -> Self {
        let view_specs = App::declarations(profile, &AppKnobs::default())
            .into_iter()
            .filter_map(|d| match d {
                Declaration::Cached(_, o) => Some(o.key),
                Declaration::Memoize(..) => None,
            })
            .collect();
        App {
            profile,
            python,
            funcs,
            views,
            view_specs,
        }
    }

    fn func(&self, f: Func) -> MemoizedId {
        let i = FUNCS.iter().position(|x| *x == f).unwrap_or(0);
        self.funcs.get(i).copied().unwrap_or(MemoizedId(i))
    }

    fn view(&self, v: View) -> CachedId {
        let i = VIEWS.iter().position(|x| *x == v).unwrap_or(0);
        self.views.get(i).copied().unwrap_or(CachedId(i))
    }

    /// The command of a call of `target`.
    pub fn call(&self, target: Target, via: bool) -> Command {
        let t = target.normalized();
        match t {
            Target::Memo { func, inst, arg } => {
                let (bound_to, args, kwargs) = self.memo_call(func, inst, arg, via);
                Command::CallMemoized {
                    function: self.func(func),
                    bound_to,
                    args,
                    kwargs,
                }
            }
            Target::Page { view, .. } => {
                let (path, mut args) = request_of(t);
                if via && view == View::All {
                    args.push(("ignored".into(), "1".into()));
                }
                Command::CallCached {
                    view: self.view(view),
                    request: Some(Request { path, args }),
                    prefix_result: self.prefix_result(t),
                    custom_key: None,
                }
            }
        }
    }

    fn prefix_result(&self, t: Target) -> Option<String> {
        match t.normalized() {
            Target::Page {
                view: View::Call,
                arg,
            } => Some(format!("callable_{arg}")),
            _ => None,
        }
    }

    /// Receiver, positional and keyword arguments of a memoized call.
    fn memo_call(
        &self,
        func: Func,
        inst: u8,
        arg: u8,
        via: bool,
    ) -> (Option<Receiver>, Vec<Value>, Vec<(String, Value)>) {
        match func {
            Func::GetStudent if via => (None, vec![], vec![("sid".into(), int(arg))]),
            Func::GetStudent | Func::Stat => (None, vec![int(arg)], vec![]),
            Func::Grades => (
                Some(Receiver::Instance(Box::new(student(inst)))),
                vec![Value::str(term(arg))],
                vec![],
            ),
            Func::GetNumber if via => (
                Some(Receiver::Instance(Box::new(calc_instance()))),
                vec![int(arg)],
                vec![],
            ),
            Func::GetNumber => (Some(Receiver::Class(calc_class())), vec![int(arg)], vec![]),
            Func::Search => (
                None,
                vec![Value::str(search_q(arg))],
                search_limit(arg)
                    .map(|l| ("limit".to_owned(), Value::int(l)))
                    .into_iter()
                    .collect(),
            ),
            Func::Count => (None, vec![], vec![]),
        }
    }

    /// The key a view call is stored under (what a developer who read the docs deletes).
    pub fn view_key(&self, target: Target) -> Option<String> {
        let t = target.normalized();
        let Target::Page { view, .. } = t else {
            return None;
        };
        let (path, args) = request_of(t);
        let prefix = self.prefix_result(t);
        let spec = self
            .view_specs
            .get(VIEWS.iter().position(|v| *v == view).unwrap_or(0))?;
        let input = ViewKeyInput {
            request: Some(RequestInfo {
                path: &path,
                args: &args,
            }),
            mode: ViewKeyMode::Request,
            prefix_result: prefix.as_deref(),
        };
        view_key(spec, &input, self.profile, self.python).ok()
    }

    /// The command of an invalidation of `target` written as `form`.
    pub fn invalidate(&self, target: Target, form: Form) -> Command {
        let t = target.normalized();
        let form = form.for_target(t);
        let delete = |key: String| Command::Backend(StoreOp::Delete { key });
        match (t, form) {
            (_, Form::Clear) => Command::Backend(StoreOp::Clear),
            (Target::Memo { func, inst, arg }, form) => {
                let function = self.func(func);
                let class_bound = || Some(Receiver::Class(calc_class()));
                let instance = || Some(Receiver::Instance(Box::new(student(inst))));
                // How `f` itself is spelled: classmethods are always reached bound.
                let reset_receiver = match func {
                    Func::GetNumber => class_bound(),
                    _ => None,
                };
                let dm = |bound_to, args, kwargs| Command::DeleteMemoized {
                    function,
                    bound_to,
                    args,
                    kwargs,
                };
                match form {
                    Form::Reset => dm(reset_receiver, vec![], vec![]),
                    Form::ResetInstance => dm(instance(), vec![], vec![]),
                    Form::Verhash => Command::DeleteMemoizedVerhash {
                        function,
                        bound_to: reset_receiver,
                    },
                    Form::Keyword => dm(None, vec![], vec![("sid".into(), int(arg))]),
                    Form::StrArg => dm(None, vec![Value::str(arg.to_string())], vec![]),
                    Form::FalsyDefault => dm(None, vec![int(arg), Value::Bool(false)], vec![]),
                    Form::Bound => dm(instance(), vec![Value::str(term(arg))], vec![]),
                    Form::BoundWithSelf => dm(
                        instance(),
                        vec![
                            Value::Object(Box::new(student(inst))),
                            Value::str(term(arg)),
                        ],
                        vec![],
                    ),
                    Form::SelfViaClass => dm(None, vec![Value::str(term(arg))], vec![]),
                    Form::ClassmethodNoCls => dm(class_bound(), vec![int(arg)], vec![]),
                    _ => match func {
                        Func::Grades => dm(
                            None,
                            vec![
                                Value::Object(Box::new(student(inst))),
                                Value::str(term(arg)),
                            ],
                            vec![],
                        ),
                        Func::GetNumber => dm(
                            class_bound(),
                            vec![Value::Class(calc_class()), int(arg)],
                            vec![],
                        ),
                        _ => {
                            let (_, args, kwargs) = self.memo_call(func, inst, arg, false);
                            dm(None, args, kwargs)
                        }
                    },
                }
            }
            (Target::Page { view, arg }, form) => {
                let (path, _) = request_of(t);
                match form {
                    Form::DeleteCached => {
                        let (path_arg, query_args) = match view {
                            View::Lit | View::Call => (None, None),
                            View::Works => {
                                let mut q = format!("limit={}", arg % 3 + 1);
                                if arg >= 3 {
                                    q.push_str("&mock=true");
                                }
                                (Some(path.clone()), Some(QueryArgs::String(q)))
                            }
                            View::All | View::Page => (Some(path.clone()), None),
                        };
                        Command::DeleteCached {
                            view: self.view(view),
                            path: path_arg,
                            query_args,
                            url_for: None,
                            prefix_result: self.prefix_result(t),
                            request: None,
                        }
                    }
                    Form::BarePath => delete(path),
                    Form::SingleSlash => delete(format!("view{path}")),
                    Form::PathKeyForLiteral | Form::PathKeyForQuery => {
                        delete(format!("view/{path}"))
                    }
                    _ => delete(self.view_key(t).unwrap_or(path)),
                }
            }
        }
    }

    /// The Python spelling of an invalidation: `cache.delete('/demo/student/all')`.
    pub fn describe_invalidation(&self, target: Target, form: Form) -> String {
        describe_command(&self.invalidate(target, form), self.python)
    }

    /// The command of a backend proxy call.
    pub fn backend(&self, call: BackendCall) -> Command {
        let two = |a: u8, b: u8| vec![backend_key(a), backend_key(b)];
        let value = |i: u8| Value::int(i64::from(i));
        Command::Backend(match call {
            BackendCall::Get(k) => StoreOp::Get {
                key: backend_key(k),
            },
            BackendCall::Has(k) => StoreOp::Has {
                key: backend_key(k),
            },
            BackendCall::Set(k, t) => StoreOp::Set {
                key: backend_key(k),
                value: value(t),
                timeout: backend_timeout(t),
            },
            BackendCall::Add(k, t) => StoreOp::Add {
                key: backend_key(k),
                value: value(t),
                timeout: backend_timeout(t),
            },
            BackendCall::GetMany(a, b) => StoreOp::GetMany { keys: two(a, b) },
            BackendCall::SetMany(a, b) => StoreOp::SetMany {
                items: vec![(backend_key(a), value(a)), (backend_key(b), value(b))],
                timeout: backend_timeout(b),
            },
            BackendCall::DeleteMany(a, b) => StoreOp::DeleteMany { keys: two(a, b) },
            BackendCall::Clear => StoreOp::Clear,
        })
    }
}

/// Per-run knobs of the app itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppKnobs {
    /// `get_student`'s memoize timeout.
    pub get_student_timeout: Option<i64>,
    /// Whether the hooks are declared.
    pub hooks: bool,
}

impl Default for AppKnobs {
    fn default() -> Self {
        AppKnobs {
            get_student_timeout: Some(600),
            hooks: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn view_keys() {
        let app = App::new(
            Profile::FlaskCaching25,
            PythonVersion::Py311,
            vec![],
            vec![],
        );
        let all = Target::Page {
            view: View::All,
            arg: 0,
        };
        assert_eq!(app.view_key(all).as_deref(), Some("view//demo/student/all"));
        assert_eq!(
            app.describe_invalidation(all, Form::BarePath),
            "delete('/demo/student/all')"
        );
    }
}
