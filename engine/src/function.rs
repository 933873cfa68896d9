//! Function descriptors: what Flask-Caching learns about a decorated function through
//! `inspect` (module, qualname, signature) and how the callable passed to it was reached
//! (plain, bound to an instance, bound to a class). FC-2.2, FC-2.7.

use crate::error::DescriptorError;
use crate::value::{ClassRef, PyObject, Value};

/// The kind of a parameter, as `inspect.Parameter.kind` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ParamKind {
    /// Before a `/` marker.
    PositionalOnly,
    /// An ordinary parameter.
    PositionalOrKeyword,
    /// `*args`.
    VarPositional,
    /// After `*` or `*args`.
    KeywordOnly,
    /// `**kwargs`.
    VarKeyword,
}

impl ParamKind {
    /// The name used in traces and vectors (`positional_only`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ParamKind::PositionalOnly => "positional_only",
            ParamKind::PositionalOrKeyword => "positional_or_keyword",
            ParamKind::VarPositional => "var_positional",
            ParamKind::KeywordOnly => "keyword_only",
            ParamKind::VarKeyword => "var_keyword",
        }
    }

    /// Parses [`ParamKind::as_str`]'s names.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "positional_only" => ParamKind::PositionalOnly,
            "positional_or_keyword" => ParamKind::PositionalOrKeyword,
            "var_positional" => ParamKind::VarPositional,
            "keyword_only" => ParamKind::KeywordOnly,
            "var_keyword" => ParamKind::VarKeyword,
            _ => return None,
        })
    }
}

/// One parameter of a function signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Param {
    /// The parameter's name.
    pub name: String,
    /// Its kind.
    pub kind: ParamKind,
    /// Its default value, if it has one. (`None` here is "no default", which Flask-Caching
    /// cannot tell apart from a default of `None`, FC-2.4.3.)
    pub default: Option<Value>,
}

impl Param {
    /// A positional-or-keyword parameter without default.
    pub fn required(name: impl Into<String>) -> Self {
        Param {
            name: name.into(),
            kind: ParamKind::PositionalOrKeyword,
            default: None,
        }
    }

    /// A positional-or-keyword parameter with a default.
    pub fn with_default(name: impl Into<String>, default: Value) -> Self {
        Param {
            name: name.into(),
            kind: ParamKind::PositionalOrKeyword,
            default: Some(default),
        }
    }

    /// A parameter of any kind.
    pub fn new(name: impl Into<String>, kind: ParamKind, default: Option<Value>) -> Self {
        Param {
            name: name.into(),
            kind,
            default,
        }
    }
}

/// How a function is defined: at module level or as which kind of class member. For a
/// method the signature still lists `self`/`cls`: descriptors describe the *undecorated*
/// function, which is what memoize keys are built from (FC-2.7.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Binding {
    /// A plain function (module level or nested).
    #[default]
    Function,
    /// An instance method (`def m(self, ...)` in a class body).
    InstanceMethod,
    /// `@classmethod` above `@cache.memoize()`.
    ClassMethod,
    /// `@staticmethod` above `@cache.memoize()`.
    StaticMethod,
}

impl Binding {
    /// The name used in traces and vectors.
    pub fn as_str(self) -> &'static str {
        match self {
            Binding::Function => "function",
            Binding::InstanceMethod => "instance_method",
            Binding::ClassMethod => "classmethod",
            Binding::StaticMethod => "staticmethod",
        }
    }

    /// Parses [`Binding::as_str`]'s names.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "function" => Binding::Function,
            "instance_method" => Binding::InstanceMethod,
            "classmethod" => Binding::ClassMethod,
            "staticmethod" => Binding::StaticMethod,
            _ => return None,
        })
    }
}

/// A decorated function, as `inspect` sees the undecorated one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionDescriptor {
    /// `f.__module__`.
    pub module: String,
    /// `f.__qualname__` (e.g. `Calc.get_number`, `outer.<locals>.inner`).
    pub qualname: String,
    /// The full signature of the undecorated function, `self`/`cls` included.
    pub params: Vec<Param>,
    /// How the function is defined.
    pub binding: Binding,
}

impl FunctionDescriptor {
    /// Builds a descriptor, checking the signature the way Python's compiler does: unique
    /// names, parameter kinds in order, at most one `*args` and one `**kwargs`, no default
    /// on `*args`/`**kwargs`, and no required positional parameter after one with a default.
    pub fn new(
        module: impl Into<String>,
        qualname: impl Into<String>,
        params: Vec<Param>,
        binding: Binding,
    ) -> Result<Self, DescriptorError> {
        let descriptor = FunctionDescriptor {
            module: module.into(),
            qualname: qualname.into(),
            params,
            binding,
        };
        descriptor.validate()?;
        Ok(descriptor)
    }

    fn validate(&self) -> Result<(), DescriptorError> {
        let mut last_rank = 0;
        let mut seen_default = false;
        for (i, p) in self.params.iter().enumerate() {
            if p.name.is_empty() {
                return Err(DescriptorError::EmptyName { index: i });
            }
            if self.params[..i].iter().any(|q| q.name == p.name) {
                return Err(DescriptorError::DuplicateParameter(p.name.clone()));
            }
            let rank = match p.kind {
                ParamKind::PositionalOnly => 0,
                ParamKind::PositionalOrKeyword => 1,
                ParamKind::VarPositional => 2,
                ParamKind::KeywordOnly => 3,
                ParamKind::VarKeyword => 4,
            };
            let repeated_star = rank == last_rank && (rank == 2 || rank == 4);
            if rank < last_rank || repeated_star {
                return Err(DescriptorError::KindOutOfOrder(p.name.clone()));
            }
            last_rank = rank;
            match p.kind {
                ParamKind::PositionalOnly | ParamKind::PositionalOrKeyword => {
                    if p.default.is_some() {
                        seen_default = true;
                    } else if seen_default {
                        return Err(DescriptorError::NonDefaultAfterDefault(p.name.clone()));
                    }
                }
                ParamKind::VarPositional | ParamKind::VarKeyword => {
                    if p.default.is_some() {
                        return Err(DescriptorError::DefaultOnStar(p.name.clone()));
                    }
                }
                ParamKind::KeywordOnly => {}
            }
        }
        if matches!(self.binding, Binding::InstanceMethod | Binding::ClassMethod)
            && !self.params.first().is_some_and(|p| {
                matches!(
                    p.kind,
                    ParamKind::PositionalOnly
                        | ParamKind::PositionalOrKeyword
                        | ParamKind::VarPositional
                )
            })
        {
            return Err(DescriptorError::MethodWithoutReceiver(
                self.qualname.clone(),
            ));
        }
        Ok(())
    }

    /// The names of the POSITIONAL_OR_KEYWORD parameters of the undecorated function
    /// (`get_arg_names(f)`, FC-2.2.1).
    pub fn arg_names(&self) -> impl Iterator<Item = &str> + Clone {
        self.params
            .iter()
            .filter(|p| p.kind == ParamKind::PositionalOrKeyword)
            .map(|p| p.name.as_str())
    }

    /// The signature as seen through a bound method: `inspect.signature` drops the first
    /// parameter when it can take a positional argument.
    fn bound_params(&self) -> &[Param] {
        match self.params.first() {
            Some(p)
                if matches!(
                    p.kind,
                    ParamKind::PositionalOnly | ParamKind::PositionalOrKeyword
                ) =>
            {
                &self.params[1..]
            }
            _ => &self.params,
        }
    }

    /// The class part of the qualname (`Calc` for `Calc.get_number`), if any.
    pub fn owner_qualname(&self) -> Option<&str> {
        self.qualname.rsplit_once('.').map(|(owner, _)| owner)
    }
}

/// What a bound callable is bound to (`f.__self__`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Receiver {
    /// An instance (instance method reached through an object).
    Instance(Box<PyObject>),
    /// A class (classmethod reached through its class or an instance).
    Class(ClassRef),
}

impl Receiver {
    /// The receiver as an argument value (what Python prepends to the call's arguments).
    pub fn to_value(&self) -> Value {
        match self {
            Receiver::Instance(obj) => Value::Object(obj.clone()),
            Receiver::Class(class) => Value::Class(class.clone()),
        }
    }
}

/// The callable a user hands to Flask-Caching: the decorated function itself, or the
/// decorated function reached through an instance or class (a bound method).
///
/// | Python expression | `Callee` |
/// |---|---|
/// | `f`, `Calc.stat`, `c.stat`, `Calc.inst` | `bound_to: None` |
/// | `c.inst` | `bound_to: Some(Instance(c))` |
/// | `Calc.get_number`, `c.get_number` (classmethod) | `bound_to: Some(Class(Calc))` |
#[derive(Clone, Copy, Debug)]
pub struct Callee<'a> {
    /// The decorated function.
    pub function: &'a FunctionDescriptor,
    /// `__self__` of the bound method, if it is one.
    pub bound_to: Option<&'a Receiver>,
}

impl<'a> Callee<'a> {
    /// The function itself, unbound.
    pub fn unbound(function: &'a FunctionDescriptor) -> Self {
        Callee {
            function,
            bound_to: None,
        }
    }

    /// The function bound to `receiver`.
    pub fn bound(function: &'a FunctionDescriptor, receiver: &'a Receiver) -> Self {
        Callee {
            function,
            bound_to: Some(receiver),
        }
    }

    /// The parameters `inspect.signature` reports for this callable.
    pub fn visible_params(&self) -> &'a [Param] {
        match self.bound_to {
            Some(_) => self.function.bound_params(),
            None => &self.function.params,
        }
    }

    /// `get_arg_names(callable)`: the POSITIONAL_OR_KEYWORD names of the visible signature.
    pub fn arg_names(&self) -> impl Iterator<Item = &'a str> + Clone {
        self.visible_params()
            .iter()
            .filter(|p| p.kind == ParamKind::PositionalOrKeyword)
            .map(|p| p.name.as_str())
    }
}
