//! Memoize keys (FC-2.1 to FC-2.5): namespaces, version-key names, argument normalisation
//! and the hashed key body.
//!
//! A memoize key is computed in two phases because the store sits between them:
//! 1. [`function_namespace`] names the version keys; the engine reads them (`get_many`),
//!    mints missing versions and writes them back (FC-2.5.3);
//! 2. [`normalize_args`] and [`write_key_body`] produce `B64_16(H(text))`, to which the
//!    version strings are appended.
//!
//! Errors surface in the same phase as in Python, so side effects before an error (version
//! writes inside a failing `delete_memoized`) are reproduced.

use std::borrow::Cow;

use super::hash::{DigestBytes, HashMethod};
use crate::error::{KeyError, PyError, PyExceptionType};
use crate::function::ParamKind;
use crate::function::{Callee, FunctionDescriptor, Param, Receiver};
use crate::profile::{CachingIdPolicy, Profile};
use crate::value::{repr_str_into, PyObject, PythonVersion, Value};

/// `function_namespace(f, args)`: the function's namespace and, for a method reached with
/// an instance, the per-instance namespace (FC-2.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Namespace {
    /// `module.qualname`, sanitised in 2.5 (FC-2.2.4, FC-2.2.5).
    pub fname: String,
    /// `module.qualname.<instance token>`, when there is an instance token.
    pub instance_fname: Option<String>,
}

/// The suffix of a version key.
pub const MEMVER: &str = "_memver";

/// The version keys a memoized call reads, in fetch order (FC-2.5.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionKeys {
    /// `<fname>_memver`.
    pub function: String,
    /// `<instance_fname>_memver`, unless there is no instance token or `self` is ignored.
    pub instance: Option<String>,
}

impl VersionKeys {
    /// The keys in the order Flask-Caching fetches them.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.function.as_str()).chain(self.instance.as_deref())
    }

    /// The last key: the one `delete_memoized(f)` resets and `delete_memoized_verhash(f)`
    /// deletes (FC-3.2.2, FC-3.4.1).
    pub fn last(&self) -> &str {
        self.instance.as_deref().unwrap_or(&self.function)
    }
}

impl Namespace {
    /// [`Namespace::version_keys`], reusing the namespace's own buffer for the function's
    /// version key (`fname` is its text without the `_memver` suffix).
    pub fn into_version_keys(self, args_to_ignore: &[String]) -> VersionKeys {
        let ignore_self = args_to_ignore.iter().any(|a| a == "self");
        let mut function = self.fname;
        function.push_str(MEMVER);
        VersionKeys {
            function,
            instance: self
                .instance_fname
                .filter(|_| !ignore_self)
                .map(|mut name| {
                    name.push_str(MEMVER);
                    name
                }),
        }
    }

    /// The version keys, honouring `args_to_ignore=["self"]` (FC-2.4.3).
    pub fn version_keys(&self, args_to_ignore: &[String]) -> VersionKeys {
        let ignore_self = args_to_ignore.iter().any(|a| a == "self");
        let memver = |name: &str| {
            let mut key = String::with_capacity(name.len() + "_memver".len());
            key.push_str(name);
            key.push_str("_memver");
            key
        };
        VersionKeys {
            function: memver(&self.fname),
            instance: self
                .instance_fname
                .as_deref()
                .filter(|_| !ignore_self)
                .map(memver),
        }
    }
}

/// `make_name`: maps the namespace to the name that is hashed (FC-2.1); it does not change
/// version-key names. Modelled as a template in which `{}` stands for the namespace, e.g.
/// `custom-{}` for `lambda n: "custom-" + n`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MakeName(pub String);

impl MakeName {
    /// Applies the template to `fname`.
    pub fn apply(&self, fname: &str) -> String {
        self.0.replace("{}", fname)
    }
}

/// `get_id(obj)` (FC-2.2.6): `__caching_id__()` when defined, else `repr(obj)`.
pub fn get_id<'a>(
    value: &'a Value,
    profile: Profile,
    py: PythonVersion,
) -> Result<Cow<'a, str>, PyError> {
    match value {
        Value::Object(obj) => object_id(obj, profile),
        other => Ok(Cow::Owned(other.try_repr(py)?)),
    }
}

/// [`get_id`] of an object: its `__caching_id__()` or its repr.
fn object_id(obj: &PyObject, profile: Profile) -> Result<Cow<'_, str>, PyError> {
    match (&obj.caching_id, profile.caching_id()) {
        (Some(id), CachingIdPolicy::Honoured) => Ok(Cow::Borrowed(id)),
        // ≤2.4.1 calls `obj.__caching_id__(obj)`: one argument too many (FC-0.7).
        (Some(_), CachingIdPolicy::Broken) => Err(PyError::type_error(format!(
            "{}.__caching_id__() takes 1 positional argument but 2 were given",
            obj.class.qualname
        ))),
        (_, _) => Ok(Cow::Borrowed(&obj.repr)),
    }
}

/// Removes every character of U+0000 to U+00FF that is not `[A-Za-z0-9_.]` (FC-2.2.5).
pub fn sanitize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut kept = 0;
    // Kept runs are copied whole: an instance namespace (a repr) loses a few characters in
    // a long text, and pushing it char by char cost more than the hash of the key.
    for (at, len) in removed_by_sanitize(text) {
        out.push_str(&text[kept..at]);
        kept = at + len;
    }
    out.push_str(&text[kept..]);
    out
}

/// The ASCII bytes [`sanitize`] keeps, as a table: most namespaces are plain ASCII.
const ASCII_KEPT: [bool; 128] = {
    let mut table = [false; 128];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || c == b'_' || c == b'.';
        b += 1;
    }
    table
};

/// Where [`sanitize`] removes a character: (byte offset, UTF-8 length), in order. Every
/// character of U+0000 to U+00FF is kept only if `[A-Za-z0-9_.]`; every other is kept.
fn removed_by_sanitize(text: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    let bytes = text.as_bytes();
    let mut at = 0;
    std::iter::from_fn(move || {
        while at < bytes.len() {
            let b = bytes[at];
            let (len, kept) = match ASCII_KEPT.get(usize::from(b)) {
                Some(&kept) => (1, kept),
                // A multi-byte character: U+0080 to U+00FF are the ones led by 0xC2/0xC3.
                None => {
                    let len = text[at..].chars().next().map_or(1, char::len_utf8);
                    (len, !matches!(b, 0xC2 | 0xC3))
                }
            };
            let here = at;
            at += len;
            if !kept {
                return Some((here, len));
            }
        }
        None
    })
}

/// [`sanitize`] of an owned string, which is returned as it is when nothing is removed.
fn sanitize_owned(text: String) -> String {
    if removed_by_sanitize(&text).next().is_none() {
        text
    } else {
        sanitize(&text)
    }
}

/// `function_namespace(f, args)` for the callable `callee` (FC-2.2).
///
/// `args` is `None` when Flask-Caching passes none (`delete_memoized(f)` without
/// arguments), which matters only for the ≤2.4.1 error of FC-2.2.3.
pub fn function_namespace(
    callee: Callee<'_>,
    args: Option<&[Value]>,
    profile: Profile,
    py: PythonVersion,
) -> Result<Namespace, PyError> {
    if profile.argspec_keys() {
        return argspec_namespace(callee, args, py);
    }
    let first_name = callee.arg_names().next();
    let first_arg = args.and_then(|a| a.first());

    // FC-2.2.2: the bound instance wins; else an unbound method's first argument.
    let token = match (callee.bound_to, first_name, first_arg) {
        (Some(Receiver::Instance(obj)), _, _) => Some(object_id(obj, profile)?),
        (_, Some("self"), Some(arg)) => Some(get_id(arg, profile, py)?),
        _ => None,
    };

    // FC-2.2.3: a `cls` parameter needs a class as first argument.
    if first_name == Some("cls") && !matches!(first_arg, Some(Value::Class(_))) {
        return Err(match (profile.explains_missing_receiver(), args) {
            (false, None) => PyError::type_error("'NoneType' object is not subscriptable"),
            (false, Some([])) => {
                PyError::new(PyExceptionType::IndexError, "tuple index out of range")
            }
            _ => PyError::value_error(
                "When using `delete_memoized` on a `@classmethod` you must provide the \
                 class as the first argument",
            ),
        });
    }

    let function = callee.function;
    // Room for the `_memver` suffix: the function's version key reuses this buffer.
    let mut fname =
        String::with_capacity(function.module.len() + function.qualname.len() + 1 + MEMVER.len());
    fname.push_str(&function.module);
    fname.push('.');
    fname.push_str(&function.qualname);
    // `if instance_token`: an empty token (an object whose repr is '') means no instance
    // namespace.
    let instance_fname = token.filter(|t| !t.is_empty()).map(|t| {
        let mut name = String::with_capacity(fname.len() + 1 + t.len() + MEMVER.len());
        name.push_str(&fname);
        name.push('.');
        name.push_str(&t);
        name
    });
    if profile.sanitizes_namespace() {
        Ok(Namespace {
            fname: sanitize_owned(fname),
            instance_fname: instance_fname.map(sanitize_owned),
        })
    } else {
        Ok(Namespace {
            fname,
            instance_fname,
        })
    }
}

/// The version key of every call that reaches `function` unbound, when it depends on
/// nothing else: no `self`/`cls` parameter first (so no instance token and no receiver
/// check), and a name that sanitising leaves as it is (so it is the same whether the
/// profile sanitises or not). `function_namespace` gives this key for every such call in
/// every profile but Flask-Cache 0.13's; a caller may keep it for the calls that follow.
pub fn plain_version_key(function: &FunctionDescriptor) -> Option<String> {
    let mut key = String::with_capacity(function.module.len() + function.qualname.len() + 8);
    key.push_str(&function.module);
    key.push('.');
    key.push_str(&function.qualname);
    let clean = key
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.');
    key.push_str(MEMVER);
    let receiver = matches!(function.arg_names().next(), Some("self" | "cls"));
    (clean && !receiver).then_some(key)
}

/// `inspect.getargspec(f)` (Flask-Cache 0.13 on Python 3): every positional parameter, or
/// `ValueError` when the function has keyword-only parameters.
fn getargspec(function: &FunctionDescriptor) -> Result<Vec<&Param>, PyError> {
    if function
        .params
        .iter()
        .any(|p| p.kind == ParamKind::KeywordOnly)
    {
        return Err(PyError::value_error(
            "Function has keyword-only parameters or annotations, use getfullargspec() API \
             which can support them",
        ));
    }
    Ok(function
        .params
        .iter()
        .filter(|p| {
            matches!(
                p.kind,
                ParamKind::PositionalOnly | ParamKind::PositionalOrKeyword
            )
        })
        .collect())
}

/// Flask-Cache 0.13's `function_namespace` (FC-5.2): `repr` tokens, no `cls` check, no
/// sanitising. It runs `getargspec` on the callable it is given: the undecorated function
/// when building a key (`args` given), the decorated wrapper `(*args, **kwargs)` for
/// `delete_memoized(f)` / `delete_memoized_verhash(f)` (`args` is `None`), whose argument
/// list is empty, so only a bound instance yields a token there.
fn argspec_namespace(
    callee: Callee<'_>,
    args: Option<&[Value]>,
    py: PythonVersion,
) -> Result<Namespace, PyError> {
    let first_name = match args {
        Some(_) => getargspec(callee.function)?
            .first()
            .map(|p| p.name.as_str()),
        None => None,
    };
    let token = match (callee.bound_to, first_name, args.and_then(|a| a.first())) {
        (Some(Receiver::Instance(obj)), _, _) => Some(obj.repr.clone()),
        (_, Some("self"), Some(arg)) => Some(arg.try_repr(py)?),
        _ => None,
    };
    let fname = format!("{}.{}", callee.function.module, callee.function.qualname);
    let instance_fname = token
        .filter(|t| !t.is_empty())
        .map(|t| format!("{fname}.{t}"));
    Ok(Namespace {
        fname,
        instance_fname,
    })
}

/// Flask-Cache 0.13's `_memoize_kwargs_to_args` (FC-5.2): keyword arguments only fill
/// named parameters and never reach the key; defaults are matched from the end of the
/// positional parameters; extra positional arguments are dropped.
fn argspec_normalize<'a>(
    function: &'a FunctionDescriptor,
    args: &'a [Value],
    kwargs: &'a [(String, Value)],
    py: PythonVersion,
) -> Result<NormalizedArgs<'a>, PyError> {
    let names = getargspec(function)?;
    let defaults: Vec<&Value> = names.iter().filter_map(|p| p.default.as_ref()).collect();
    let len = names.len();
    let mut out = Vec::with_capacity(len);
    let mut n = 0usize;
    for (i, param) in names.iter().enumerate() {
        let name = param.name.as_str();
        let arg = if i == 0 && (name == "self" || name == "cls") {
            let first = args.first().ok_or_else(|| {
                PyError::new(PyExceptionType::IndexError, "tuple index out of range")
            })?;
            n += 1;
            KeyArg::Id(Cow::Owned(first.try_repr(py)?))
        } else if let Some((_, value)) = kwargs.iter().find(|(k, _)| k == name) {
            KeyArg::Value(value)
        } else if let Some(value) = args.get(n) {
            n += 1;
            KeyArg::Value(value)
        } else if defaults.is_empty() {
            // `len(argspec.defaults)` with `defaults = None`.
            return Err(PyError::type_error(
                "object of type 'NoneType' has no len()",
            ));
        } else if len - i <= defaults.len() {
            n += 1;
            KeyArg::Value(defaults[defaults.len() - (len - i)])
        } else {
            n += 1;
            KeyArg::None
        };
        out.push(arg);
    }
    NormalizedArgs {
        args: KeyArgs::Built(out),
        kwargs: Vec::new(),
        kwargs_plain_dict: true,
    }
    .checked(py)
}

/// One element of the normalised positional arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyArg<'a> {
    /// An argument or default value, as given.
    Value(&'a Value),
    /// `get_id(self)` / `get_id(cls)`: a `str` in the tuple (FC-2.4.1 step 2).
    Id(Cow<'a, str>),
    /// `None` (ignored, missing, or default `None`).
    None,
}

/// `keyargs`, the positional tuple that is hashed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyArgs<'a> {
    /// The call's own positional arguments, as they are (nothing filled in, dropped or
    /// replaced: the common call, which then needs no tuple of its own).
    Given(&'a [Value]),
    /// Built element by element.
    Built(Vec<KeyArg<'a>>),
}

impl KeyArgs<'_> {
    /// The tuple's length.
    pub fn len(&self) -> usize {
        match self {
            KeyArgs::Given(values) => values.len(),
            KeyArgs::Built(args) => args.len(),
        }
    }

    /// Whether the tuple is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// `_memoize_kwargs_to_args`: the positional tuple and the keyword mapping that are hashed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NormalizedArgs<'a> {
    /// `keyargs`.
    pub args: KeyArgs<'a>,
    /// `keykwargs`, sorted by name (FC-2.4.2).
    pub kwargs: Vec<(&'a str, &'a Value)>,
    /// `keykwargs` is a plain `dict` (0.13: always `{}`, FC-5.2) rather than an
    /// `OrderedDict`.
    pub kwargs_plain_dict: bool,
}

/// Checks that no keyword is given twice (a Python call cannot do that).
pub fn check_kwargs(kwargs: &[(String, Value)]) -> Result<(), KeyError> {
    for (i, (name, _)) in kwargs.iter().enumerate() {
        if kwargs[..i].iter().any(|(n, _)| n == name) {
            return Err(KeyError::DuplicateKeyword(name.clone()));
        }
    }
    Ok(())
}

/// `_memoize_kwargs_to_args(f, *args, **kwargs)` with every quirk of FC-2.4.3, where
/// `function` is the undecorated function and `args` include `self`/`cls`.
pub fn normalize_args<'a>(
    function: &'a FunctionDescriptor,
    args: &'a [Value],
    kwargs: &'a [(String, Value)],
    args_to_ignore: &[String],
    profile: Profile,
    py: PythonVersion,
) -> Result<NormalizedArgs<'a>, PyError> {
    if profile.argspec_keys() {
        return argspec_normalize(function, args, kwargs, py);
    }
    // Positional arguments only, none ignored, no `self`/`cls`, and one for every named
    // parameter: each name takes the next argument and the rest follow (as the loop below
    // would do), so the tuple is the arguments as given.
    let mut names = function.arg_names();
    let receiver = matches!(names.clone().next(), Some("self" | "cls"));
    if kwargs.is_empty()
        && args_to_ignore.is_empty()
        && !receiver
        && names.nth(args.len()).is_none()
    {
        return NormalizedArgs {
            args: KeyArgs::Given(args),
            kwargs: Vec::new(),
            kwargs_plain_dict: false,
        }
        .checked(py);
    }
    let ignored = |name: &str| args_to_ignore.iter().any(|a| a == name);
    let kwarg = |name: &str| kwargs.iter().find(|(k, _)| k == name).map(|(_, v)| v);
    let mut remaining: Vec<&str> = kwargs
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| !ignored(k))
        .collect();
    let mut out = Vec::with_capacity(function.params.len() + args.len());
    let mut n = 0usize;
    let mut names_len = 0usize;
    for (i, name) in function.arg_names().enumerate() {
        names_len += 1;
        // The default is read by index over *all* parameters (FC-2.4.3, positional-only
        // misalignment).
        let default = function
            .params
            .get(i)
            .and_then(|p| p.default.as_ref())
            .filter(|d| match profile.falsy_defaults_kept() {
                true => !matches!(d, Value::None),
                false => d.is_truthy(),
            });
        let arg = if ignored(name) {
            n += 1;
            KeyArg::None
        } else if i == 0 && (name == "self" || name == "cls") {
            let Some(first) = args.first() else {
                return Err(if profile.explains_missing_receiver() {
                    let kind = if name == "cls" {
                        "classmethod"
                    } else {
                        "method"
                    };
                    PyError::value_error(format!(
                        "When using `delete_memoized` on a `{kind}` you must provide the \
                         `{name}` argument as the first positional argument."
                    ))
                } else {
                    PyError::new(PyExceptionType::IndexError, "tuple index out of range")
                });
            };
            n += 1;
            KeyArg::Id(get_id(first, profile, py)?)
        } else if let Some(value) = kwarg(name) {
            remaining.retain(|k| *k != name);
            KeyArg::Value(value)
        } else if let Some(value) = args.get(n) {
            n += 1;
            KeyArg::Value(value)
        } else if let Some(value) = default {
            n += 1;
            KeyArg::Value(value)
        } else {
            n += 1;
            KeyArg::None
        };
        out.push(arg);
    }
    out.extend(args.iter().skip(names_len).map(KeyArg::Value));
    let mut kw: Vec<(&str, &Value)> = kwargs
        .iter()
        .filter(|(k, _)| remaining.contains(&k.as_str()))
        .map(|(k, v)| (k.as_str(), v))
        .collect();
    kw.sort_by(|a, b| a.0.cmp(b.0));
    NormalizedArgs {
        args: KeyArgs::Built(out),
        kwargs: kw,
        kwargs_plain_dict: false,
    }
    .checked(py)
}

impl NormalizedArgs<'_> {
    /// The arguments, or the error their `repr` raises when the key text is formatted
    /// (an `int` over the digit limit), which Python raises at that point of the call.
    fn checked(self, py: PythonVersion) -> Result<Self, PyError> {
        match &self.args {
            KeyArgs::Given(values) => values.iter().try_for_each(|v| v.check_repr(py))?,
            KeyArgs::Built(args) => {
                for arg in args {
                    if let KeyArg::Value(v) = arg {
                        v.check_repr(py)?;
                    }
                }
            }
        }
        for (_, v) in &self.kwargs {
            v.check_repr(py)?;
        }
        Ok(self)
    }
}

/// Appends the hashed text `f"{altfname}{keyargs}{keykwargs}"` (FC-2.1).
pub fn write_key_text(
    out: &mut String,
    altfname: &str,
    args: &NormalizedArgs<'_>,
    py: PythonVersion,
) {
    out.push_str(altfname);
    out.push('(');
    match &args.args {
        KeyArgs::Given(values) => {
            for (i, v) in values.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                v.repr_into(out, py);
            }
        }
        KeyArgs::Built(built) => {
            for (i, arg) in built.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                match arg {
                    KeyArg::Value(v) => v.repr_into(out, py),
                    KeyArg::Id(text) => repr_str_into(text, out, py),
                    KeyArg::None => out.push_str("None"),
                }
            }
        }
    }
    if args.args.len() == 1 {
        out.push(',');
    }
    out.push(')');
    if args.kwargs_plain_dict {
        // Only 0.13 builds a plain dict, and it never holds anything.
        out.push_str("{}");
        return;
    }
    out.push_str("OrderedDict(");
    if !args.kwargs.is_empty() {
        let as_dict = py.ordered_dict_as_dict();
        let (open, close) = if as_dict { ("{", "}") } else { ("[", "]") };
        out.push_str(open);
        for (i, (name, value)) in args.kwargs.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            if as_dict {
                repr_str_into(name, out, py);
                out.push_str(": ");
                value.repr_into(out, py);
            } else {
                out.push('(');
                repr_str_into(name, out, py);
                out.push_str(", ");
                value.repr_into(out, py);
                out.push(')');
            }
        }
        out.push_str(close);
    }
    out.push(')');
}

/// Appends `B64_16(H(text [+ source]))`, the 16-character key body (FC-2.1).
pub fn write_key_body(out: &mut String, text: &str, hash: HashMethod, source: Option<&str>) {
    key_digest(text, hash, source).write_b64_16(out);
}

/// `H(text [+ source])`, whose base64 head is the key body (FC-2.1).
pub fn key_digest(text: &str, hash: HashMethod, source: Option<&str>) -> DigestBytes {
    let mut hasher = hash.hasher();
    hasher.update(text.as_bytes());
    if let Some(source) = source {
        hasher.update(source.as_bytes());
    }
    hasher.finish()
}

/// The arguments Python's `decorated_function` receives for a call of `function` reached
/// through `receiver` (FC-2.7.2): the receiver is prepended for instance methods and
/// classmethods; staticmethods and plain functions get the call's arguments as they are.
pub fn call_args(
    function: &FunctionDescriptor,
    receiver: Option<&Receiver>,
    args: &[Value],
) -> Vec<Value> {
    call_args_cow(function, receiver, args).into_owned()
}

/// [`call_args`], borrowing `args` when nothing is prepended.
pub fn call_args_cow<'a>(
    function: &FunctionDescriptor,
    receiver: Option<&Receiver>,
    args: &'a [Value],
) -> Cow<'a, [Value]> {
    use crate::function::Binding;
    let prepend = match (function.binding, receiver) {
        (Binding::InstanceMethod, Some(r @ Receiver::Instance(_))) => Some(r.to_value()),
        (Binding::ClassMethod, Some(Receiver::Instance(obj))) => {
            Some(Value::Class(obj.class.clone()))
        }
        (Binding::ClassMethod, Some(r @ Receiver::Class(_))) => Some(r.to_value()),
        _ => None,
    };
    match prepend {
        Some(first) => {
            let mut full = Vec::with_capacity(args.len() + 1);
            full.push(first);
            full.extend_from_slice(args);
            Cow::Owned(full)
        }
        None => Cow::Borrowed(args),
    }
}

/// `Cache._ensure_self_arg` (FC-3.3.1, 2.5 only): `delete_memoized(obj.method, args...)`
/// prepends the bound instance unless it is already the first argument.
pub fn ensure_self_arg(callee: Callee<'_>, args: &[Value], profile: Profile) -> Vec<Value> {
    if let (true, Some(Receiver::Instance(obj))) = (profile.inserts_bound_self(), callee.bound_to) {
        let first_is_self = callee.function.arg_names().next() == Some("self");
        let already = matches!(args.first(), Some(Value::Object(o)) if o == obj);
        if first_is_self && !already {
            let mut full = Vec::with_capacity(args.len() + 1);
            full.push(Value::Object(obj.clone()));
            full.extend_from_slice(args);
            return full;
        }
    }
    args.to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// FC-2.2.5 spelled out char by char, as Flask-Caching's `str.translate` applies it.
    fn sanitize_by_chars(text: &str) -> String {
        text.chars()
            .filter(|&c| c as u32 > 0xff || c.is_ascii_alphanumeric() || c == '_' || c == '.')
            .collect()
    }

    #[test]
    fn sanitize_is_the_char_by_char_filter() {
        // Characters from each range that matters: kept ASCII, removed ASCII, Latin-1
        // (removed), and beyond U+00FF (kept), in random mixes.
        let pool = [
            'a', 'Z', '0', '_', '.', ' ', '(', '\'', '=', '\u{0}', '\u{7f}', '\u{80}', 'é', 'ÿ',
            'Ā', '€', '😀',
        ];
        let mut x: u64 = 0x853C_49E6_748F_EA9B;
        for _ in 0..5_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 24) as usize;
            let text: String = (0..len)
                .map(|i| pool[((x >> (i % 8 * 8)) as usize + i) % pool.len()])
                .collect();
            assert_eq!(sanitize(&text), sanitize_by_chars(&text), "{text:?}");
            assert_eq!(sanitize_owned(text.clone()), sanitize_by_chars(&text));
        }
    }
}
