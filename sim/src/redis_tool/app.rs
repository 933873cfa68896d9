//! The app a Redis cache belongs to: its Flask-Caching profile, key prefix, and the
//! memoized functions and cached views its recorded trace declares.

use super::pyexpr::{float_call, Call, Expr, ParseError};
use crate::trace::Record;
use flaskcache_engine::engine::{
    CachedId, CachedOptions, Engine, EngineConfig, MemoizeOptions, MemoizedId,
};
use flaskcache_engine::keys::function_namespace;
use flaskcache_engine::{
    Binding, Callee, ClassRef, FunctionDescriptor, Profile, PyObject, PythonVersion, Value,
};

/// A memoized function of the app.
#[derive(Clone, Debug)]
pub struct Function {
    /// The undecorated function.
    pub function: FunctionDescriptor,
    /// The decorator's arguments.
    pub options: MemoizeOptions,
    /// Its handle in [`App::engine`].
    pub handle: MemoizedId,
    /// Its namespace (`module.qualname`, sanitised as the profile does): the version key
    /// is `<fname>_memver`.
    pub fname: String,
}

impl Function {
    /// `module.qualname`.
    pub fn full_name(&self) -> String {
        format!("{}.{}", self.function.module, self.function.qualname)
    }

    /// The class a method belongs to (`Stock` for `Stock.level`).
    pub fn class(&self) -> Option<ClassRef> {
        let (class, _) = self.function.qualname.rsplit_once('.')?;
        Some(ClassRef::new(self.function.module.clone(), class))
    }

    /// `<fname>_memver`.
    pub fn version_key(&self) -> String {
        format!("{}_memver", self.fname)
    }
}

/// A `@cache.cached` view of the app.
#[derive(Clone, Debug)]
pub struct View {
    /// The decorated function's name.
    pub name: String,
    /// The decorator's arguments.
    pub options: CachedOptions,
    /// Its handle in [`App::engine`].
    pub handle: CachedId,
}

/// A call's positional and keyword arguments.
pub type Arguments = (Vec<Value>, Vec<(String, Value)>);

/// The app as the tools see it.
pub struct App {
    /// The Flask-Caching release.
    pub profile: Profile,
    /// The Python whose `repr` keys follow.
    pub py: PythonVersion,
    /// `CACHE_KEY_PREFIX` from the declarations' configuration (RedisCache traces only).
    pub trace_prefix: Option<String>,
    /// `CACHE_DEFAULT_TIMEOUT` from the declarations' configuration.
    pub default_timeout: Option<i64>,
    /// The engine, with every function and view registered.
    pub engine: Engine,
    /// Memoized functions, in declaration order.
    pub functions: Vec<Function>,
    /// Cached views, in declaration order.
    pub views: Vec<View>,
    /// Where the declarations came from (for messages), if anywhere.
    pub source: Option<String>,
}

/// A version seed from the OS (std's hash keys are drawn from it): each run mints versions
/// no other process mints, as Flask-Caching's `uuid4` does.
fn os_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(u64::from(std::process::id()));
    h.finish()
}

impl App {
    /// An app with no declarations.
    pub fn new(profile: Profile, py: PythonVersion) -> Self {
        App {
            profile,
            py,
            trace_prefix: None,
            default_timeout: None,
            engine: Engine::new(EngineConfig {
                profile,
                python: py,
                debug: false,
                version_seed: os_seed(),
            }),
            functions: Vec::new(),
            views: Vec::new(),
            source: None,
        }
    }

    /// The app a recorded trace declares (`profile` overrides the trace's).
    pub fn from_trace(path: &str, profile: Option<Profile>) -> Result<Self, String> {
        let trace = crate::replay::read_trace(path)?;
        let c = &trace.config;
        let mut app = App::new(profile.unwrap_or(c.profile), c.python);
        app.source = Some(path.to_owned());
        app.default_timeout = Some(c.default_timeout);
        if c.backend == "RedisCache" {
            app.trace_prefix = c.key_prefix.clone();
        }
        for record in &trace.records {
            match record {
                Record::Memoize {
                    id,
                    function,
                    options,
                } => {
                    app.add_function(function.clone(), options.clone())
                        .map_err(|e| format!("{path}: {id}: {e}"))?;
                }
                Record::Cached { id, name, options } => {
                    let handle = app
                        .engine
                        .cached(options.clone())
                        .map_err(|e| format!("{path}: {id}: {e}"))?;
                    app.views.push(View {
                        name: name.clone(),
                        options: options.clone(),
                        handle,
                    });
                }
                Record::Event(_) => {}
            }
        }
        Ok(app)
    }

    /// Registers a memoized function.
    pub fn add_function(
        &mut self,
        function: FunctionDescriptor,
        options: MemoizeOptions,
    ) -> Result<(), String> {
        let handle = self
            .engine
            .memoize(function.clone(), options.clone())
            .map_err(|e| e.to_string())?;
        // The namespace without an instance: a classmethod's check wants a class first.
        let probe = match function.arg_names().next() {
            Some("cls") => vec![Value::Class(ClassRef::new("builtins", "object"))],
            _ => Vec::new(),
        };
        let callee = Callee::unbound(&function);
        let fname = function_namespace(callee, Some(&probe), self.profile, self.py)
            .map(|ns| ns.fname)
            .unwrap_or_else(|_| format!("{}.{}", function.module, function.qualname));
        self.functions.push(Function {
            function,
            options,
            handle,
            fname,
        });
        Ok(())
    }

    /// The function `name` designates: its qualname or `module.qualname`.
    pub fn function(&self, name: &str, column: usize) -> Result<&Function, ParseError> {
        let err = |message: String| ParseError { column, message };
        if self.functions.is_empty() {
            return Err(err(match &self.source {
                Some(path) => format!("{path} declares no memoized function"),
                None => "no memoized functions are known: give --declarations FILE (a trace written by the recorder for this app)".into(),
            }));
        }
        let full: Vec<&Function> = self
            .functions
            .iter()
            .filter(|f| f.full_name() == name)
            .collect();
        if let [f] = full.as_slice() {
            return Ok(f);
        }
        let by_qualname: Vec<&Function> = self
            .functions
            .iter()
            .filter(|f| f.function.qualname == name)
            .collect();
        match by_qualname.as_slice() {
            [f] => Ok(f),
            [] => Err(err(format!(
                "no memoized function {name:?} in the declarations (known: {})",
                self.functions
                    .iter()
                    .map(Function::full_name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
            several => Err(err(format!(
                "{name:?} is ambiguous: {}; write the full name",
                several
                    .iter()
                    .map(|f| f.full_name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// The arguments of `call` as Python values, for the function `f`: a class name (the
    /// method's class, by qualname or `module.qualname`) is the class,
    /// `instance('repr', caching_id='id')` an instance of it, `float('inf')` a float.
    pub fn arguments(&self, f: &Function, call: &Call) -> Result<Arguments, ParseError> {
        let mut resolve = |e: &Expr| resolve_name(f, e);
        let mut args = Vec::with_capacity(call.args.len());
        for a in &call.args {
            args.push(a.to_value(&mut resolve)?);
        }
        let mut kwargs = Vec::with_capacity(call.kwargs.len());
        for (k, v) in &call.kwargs {
            kwargs.push((k.clone(), v.to_value(&mut resolve)?));
        }
        Ok((args, kwargs))
    }

    /// Resolves one value expression for `f` (used for `--bound`).
    pub fn value(&self, f: &Function, e: &Expr) -> Result<Value, ParseError> {
        e.to_value(&mut |e: &Expr| resolve_name(f, e))
    }
}

fn resolve_name(f: &Function, e: &Expr) -> Result<Value, ParseError> {
    let class = f.class();
    match e {
        Expr::Name(name, column) => match &class {
            Some(c)
                if *name == c.qualname || *name == format!("{}.{}", c.module, c.qualname) =>
            {
                Ok(Value::Class(c.clone()))
            }
            _ => Err(ParseError {
                column: *column,
                message: match &class {
                    Some(c) => format!(
                        "unknown name {name:?} (the only class known here is {:?}; an instance is written instance('its repr'))",
                        c.qualname
                    ),
                    None => format!("unknown name {name:?} (arguments are Python literals)"),
                },
            }),
        },
        Expr::Call(call) if call.name == "float" => float_call(call),
        Expr::Call(call) if call.name == "instance" => {
            let bad = || ParseError {
                column: call.column,
                message: "instance(...) takes the object's repr as a string, and optionally caching_id='...' (what its __caching_id__() returns)".into(),
            };
            let repr = match call.args.as_slice() {
                [Expr::Lit(Value::Str(s), _)] => s.clone(),
                _ => return Err(bad()),
            };
            let mut caching_id = None;
            for (k, v) in &call.kwargs {
                match (k.as_str(), v) {
                    ("caching_id", Expr::Lit(Value::Str(s), _)) => caching_id = Some(s.clone()),
                    _ => return Err(bad()),
                }
            }
            let class = class.unwrap_or_else(|| ClassRef::new("builtins", "object"));
            Ok(Value::Object(Box::new(PyObject {
                class,
                repr,
                caching_id,
            })))
        }
        Expr::Call(call) => Err(ParseError {
            column: call.column,
            message: format!(
                "{}(...) is not a value here (values are literals, the method's class, instance('repr') and float('inf'))",
                call.name
            ),
        }),
        other => Err(ParseError {
            column: other.column(),
            message: "not a value".into(),
        }),
    }
}

/// Whether `f` is a method whose first argument is the receiver.
pub fn takes_receiver(f: &FunctionDescriptor) -> bool {
    matches!(f.binding, Binding::InstanceMethod | Binding::ClassMethod)
}
