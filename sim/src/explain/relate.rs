//! How a delete that removed nothing relates to a live entry: which pitfall turns the
//! call the user wrote into one that misses that entry. Each test compares the two in form
//! only (the same path written another way, the same argument in another type, the receiver
//! left out); a delete for other *values* (another path, another argument) is unrelated, and
//! is never a finding (a precautionary delete of something not cached).

use super::rule::Rule;
use crate::trace::RequestData;
use flaskcache_engine::engine::CachedOptions;
use flaskcache_engine::function::{Binding, FunctionDescriptor, ParamKind, Receiver};
use flaskcache_engine::keys::{KeyPrefix, QueryArgs};
use flaskcache_engine::Profile;
use flaskcache_engine::{PythonVersion, Value};

/// A path without the slashes around it, the comparable core of a path or key.
fn core(s: &str) -> &str {
    s.trim_matches('/')
}

/// `%xx` escapes decoded (a lenient `urllib.parse.unquote` for comparing paths).
fn percent_decoded(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// How the text `target` passed to `cache.delete` relates to the live entry `key` of a view
/// with `options`, stored by a request for `request`. `backend_prefix` is `CACHE_KEY_PREFIX`
/// as the backend applies it.
pub fn backend_delete(
    target: &str,
    key: &str,
    view: (&str, &CachedOptions),
    request: Option<&RequestData>,
    backend_prefix: Option<&str>,
) -> Option<Rule> {
    let (view_name, options) = view;
    if flaskcache_engine::store::nonstr::is_nonstr(target) {
        // The view function itself (`<function student_all at 0x...>`), or another object
        // named after it, passed where its key belongs.
        let named = match flaskcache_engine::store::nonstr::key_value(target) {
            Value::Object(object) => {
                object.repr.starts_with(&format!("<function {view_name} "))
                    || object.repr.contains(&format!(".{view_name} "))
                    || object.repr.contains(&format!(" {view_name}>"))
            }
            _ => false,
        };
        return named.then_some(Rule::NonStrKey);
    }
    if let Some(prefix) = backend_prefix.filter(|p| !p.is_empty()) {
        if target.strip_prefix(prefix) == Some(key) {
            return Some(Rule::BackendPrefixByHand);
        }
    }
    let (path, _) = request?;
    let KeyPrefix::Template(template) = &options.key.key_prefix else {
        return None;
    };
    let Some((head, tail)) = template.split_once("%s") else {
        // A literal key_prefix is the whole key.
        if let Some(rest) = target.strip_prefix(key) {
            if !rest.is_empty() && core(rest) == core(path) {
                return Some(Rule::PrefixJoinedWithPath);
            }
        }
        let unheaded = target.strip_prefix("view/").unwrap_or(target);
        return (core(unheaded) == core(path)).then_some(Rule::LiteralPrefixDeletedByPath);
    };
    let inner = target
        .strip_prefix(head)
        .and_then(|t| t.strip_suffix(tail))
        .filter(|_| !head.is_empty() || !tail.is_empty());
    if options.key.query_string {
        let named = core(inner.unwrap_or(target)) == core(path) || core(target) == core(path);
        return named.then_some(Rule::QueryStringArgsMissing);
    }
    if core(target) == core(path) && inner.is_none() {
        return Some(Rule::ViewBarePath);
    }
    if let Some(inner) = inner {
        if core(inner) == core(path) {
            return Some(Rule::ViewSingleSlash);
        }
    }
    let written = core(inner.unwrap_or(target));
    let full = core(path);
    // One path is the other with a leading part more: a blueprint's url_prefix left out,
    // or an APPLICATION_ROOT put in (request.path never has it).
    let ends_with_segments = |long: &str, short: &str| {
        !short.is_empty()
            && long.len() > short.len()
            && long.ends_with(short)
            && long.as_bytes()[long.len() - short.len() - 1] == b'/'
    };
    (ends_with_segments(full, written) || ends_with_segments(written, full))
        .then_some(Rule::ViewPathWithoutPrefix)
}

/// How `delete_cached(view, path, query_args=...)` relates to a live entry of the same view
/// stored by a request for `request`.
pub fn delete_cached(
    path: Option<&str>,
    query_args: Option<&QueryArgs>,
    request: Option<&RequestData>,
    options: &CachedOptions,
    py: PythonVersion,
) -> Option<Rule> {
    let (live_path, live_args) = request?;
    let path = path?;
    let same_path = path == live_path;
    if options.key.query_string && percent_decoded(path) == *live_path {
        // Left out, or the same arguments in another order: the same request meant.
        // Other values are another request (a precautionary delete).
        let given = query_args.map(|q| q.to_pairs(py)).unwrap_or_default();
        let mut sorted_given = given.clone();
        sorted_given.sort();
        let mut sorted_live = live_args.clone();
        sorted_live.sort();
        let same_request = given.is_empty() || sorted_given == sorted_live;
        return (given != *live_args && same_request).then_some(Rule::QueryStringArgsMissing);
    }
    // The same path written another way (percent-encoded, slashes); a path that is only a
    // part of another is another route.
    let related = !same_path
        && (core(&percent_decoded(path)) == core(live_path)
            || percent_decoded(path) == percent_decoded(live_path));
    related.then_some(Rule::DeleteCachedPathMismatch)
}

/// `a` and `b` are different values that Python apps easily take for one another: `'7'`
/// and `7`, `1` and `1.0`, `True` and `1`.
pub fn same_in_another_form(a: &Value, b: &Value, py: PythonVersion) -> bool {
    if a == b {
        return false;
    }
    // An integral number's digits (`True` is 1, `2.0` is 2); `None` otherwise.
    let digits = |v: &Value| -> Option<String> {
        match v {
            Value::Bool(b) => Some(u8::from(*b).to_string()),
            Value::Int(_) => Some(v.repr(py)),
            Value::Float(f) if f.is_finite() && f.fract() == 0.0 => Some(format!("{f:.0}")),
            _ => None,
        }
    };
    match (a, b) {
        (Value::Str(_), Value::Str(_)) => false,
        (Value::Str(s), other) | (other, Value::Str(s)) => *s == other.to_py_str(py),
        (Value::Float(x), Value::Float(y)) => x == y,
        _ => matches!((digits(a), digits(b)), (Some(x), Some(y)) if x == y),
    }
}

/// One parameter's argument in a call.
#[derive(Clone, Debug, PartialEq)]
enum Slot<'a> {
    /// Passed, positionally or by keyword.
    Given { value: &'a Value, keyword: bool },
    /// Left to its default (the parameter's default value, if it has one).
    Default(Option<&'a Value>),
}

/// The call's arguments bound to `params` the way Python binds them (extra positional
/// arguments to `*args`, unknown keywords to `**kwargs`, as one slot each). `None` when
/// Python would raise `TypeError`.
fn bind<'a>(
    params: &'a [flaskcache_engine::function::Param],
    args: &'a [Value],
    kwargs: &'a [(String, Value)],
) -> Option<Vec<(&'a str, Slot<'a>)>> {
    let mut slots: Vec<(&str, Slot)> = Vec::new();
    let mut positional = args.iter();
    for p in params {
        match p.kind {
            ParamKind::PositionalOnly | ParamKind::PositionalOrKeyword => {
                let slot = match positional.next() {
                    Some(value) => Slot::Given {
                        value,
                        keyword: false,
                    },
                    None => match kwargs.iter().find(|(k, _)| *k == p.name) {
                        Some((_, value)) if p.kind == ParamKind::PositionalOrKeyword => {
                            Slot::Given {
                                value,
                                keyword: true,
                            }
                        }
                        _ => Slot::Default(p.default.as_ref()),
                    },
                };
                slots.push((&p.name, slot));
            }
            ParamKind::VarPositional => {
                for value in positional.by_ref() {
                    slots.push((
                        &p.name,
                        Slot::Given {
                            value,
                            keyword: false,
                        },
                    ));
                }
            }
            ParamKind::KeywordOnly => {
                let slot = match kwargs.iter().find(|(k, _)| *k == p.name) {
                    Some((_, value)) => Slot::Given {
                        value,
                        keyword: true,
                    },
                    None => Slot::Default(p.default.as_ref()),
                };
                slots.push((&p.name, slot));
            }
            ParamKind::VarKeyword => {
                // `**kwargs` is a dict: the order the keywords were written in does not
                // make another call.
                let mut extra: Vec<&(String, Value)> = kwargs
                    .iter()
                    .filter(|(k, _)| !params.iter().any(|q| q.name == *k))
                    .collect();
                extra.sort_by(|a, b| a.0.cmp(&b.0));
                for (k, value) in extra {
                    slots.push((
                        k,
                        Slot::Given {
                            value,
                            keyword: true,
                        },
                    ));
                }
            }
        }
    }
    if positional.next().is_some() {
        return None;
    }
    Some(slots)
}

/// How two argument lists of one function compare, parameter by parameter.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ArgDifference {
    /// Some argument differs in value (not just form): a different call.
    pub value: bool,
    /// Some argument is the same value in another type.
    pub form: bool,
    /// Some argument is given on one side and left to its default on the other, or passed
    /// by keyword on one side and positionally on the other.
    pub defaults: bool,
}

/// How [`compare_args`] treats an argument left to its default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Defaults {
    /// As written: given on one side and left out on the other is a difference of form
    /// (what a delete's arguments are compared by).
    AsWritten,
    /// As Python binds them: a left-out argument is its default value (what two calls are
    /// compared by: are they the same call?).
    Bound,
}

/// Compares the arguments `a` (a delete's, or a call's) with `b` (a live call's), both
/// without the receiver, under `params`, skipping the parameters in `ignored`.
pub fn compare_args(
    params: &[flaskcache_engine::function::Param],
    a: (&[Value], &[(String, Value)]),
    b: (&[Value], &[(String, Value)]),
    ignored: &[String],
    defaults: Defaults,
    py: PythonVersion,
) -> Option<ArgDifference> {
    let left = bind(params, a.0, a.1)?;
    let right = bind(params, b.0, b.1)?;
    let mut diff = ArgDifference::default();
    if left.len() != right.len() {
        diff.value = true;
        return Some(diff);
    }
    for ((ln, ls), (rn, rs)) in left.iter().zip(&right) {
        if ln != rn {
            diff.value = true;
            continue;
        }
        if ignored.iter().any(|i| i == ln) {
            continue;
        }
        match (ls, rs) {
            (
                Slot::Given {
                    value: x,
                    keyword: kx,
                },
                Slot::Given {
                    value: y,
                    keyword: ky,
                },
            ) => {
                if x == y {
                    diff.defaults |= kx != ky;
                } else if same_in_another_form(x, y, py) {
                    diff.form = true;
                } else {
                    diff.value = true;
                }
            }
            (Slot::Default(_), Slot::Default(_)) => {}
            (Slot::Given { value, .. }, Slot::Default(default))
            | (Slot::Default(default), Slot::Given { value, .. })
                if defaults == Defaults::Bound =>
            {
                if *default != Some(*value) {
                    diff.value = true;
                }
            }
            // `a` gives a value the other side left to a different default: `a` names
            // another call (a delete for arguments no one called).
            (Slot::Given { value, .. }, Slot::Default(default)) if *default != Some(*value) => {
                diff.value = true
            }
            // `a` leaves out what the other side gave, as if it matched any value: the
            // misconception the rule is about.
            _ => diff.defaults = true,
        }
    }
    Some(diff)
}

/// The parameters a caller passes after the receiver.
pub fn params_after_receiver(
    function: &FunctionDescriptor,
) -> &[flaskcache_engine::function::Param] {
    match function.binding {
        Binding::InstanceMethod | Binding::ClassMethod if !function.params.is_empty() => {
            &function.params[1..]
        }
        _ => &function.params,
    }
}

/// A memoized call as (receiver, arguments after it, keyword arguments): the receiver is
/// `bound_to`, or for a method reached through its class, the first argument.
pub fn split_receiver<'a>(
    function: &FunctionDescriptor,
    bound_to: &'a Option<Receiver>,
    args: &'a [Value],
) -> (Option<Value>, &'a [Value]) {
    match (function.binding, bound_to) {
        (Binding::InstanceMethod | Binding::ClassMethod, Some(receiver)) => {
            (Some(receiver.to_value()), args)
        }
        (Binding::InstanceMethod | Binding::ClassMethod, None) if !args.is_empty() => {
            (Some(args[0].clone()), &args[1..])
        }
        _ => (None, args),
    }
}

/// How `delete_memoized(function, *args, **kwargs)` reached through `bound_to` relates to
/// the live call `live` (`bound_to`, args, kwargs) of the same function, under `profile`.
pub fn delete_memoized(
    function: &FunctionDescriptor,
    delete: (&Option<Receiver>, &[Value], &[(String, Value)]),
    live: (&Option<Receiver>, &[Value], &[(String, Value)]),
    profile: Profile,
    py: PythonVersion,
) -> Option<Rule> {
    let params = params_after_receiver(function);
    let (live_receiver, live_args) = split_receiver(function, live.0, live.1);
    let compare = |args: &[Value]| {
        compare_args(
            params,
            (args, delete.2),
            (live_args, live.2),
            &[],
            Defaults::AsWritten,
            py,
        )
    };
    let Some(receiver) = live_receiver else {
        let diff = compare(delete.1)?;
        return rule_for(&diff);
    };
    // Did the delete name the receiver, as its first argument or (2.5) by a bound method?
    let named_first = delete.1.first().is_some_and(|a| *a == receiver);
    let missing = match function.binding {
        Binding::ClassMethod => Rule::ClassmethodWithoutClass,
        _ => Rule::InstanceMethodWithoutInstance,
    };
    if named_first {
        let diff = compare(&delete.1[1..])?;
        return rule_for(&diff);
    }
    // Another instance, bound or passed first: a delete for another object.
    let other_instance = |v: &Value| matches!((v, &receiver), (Value::Object(a), Value::Object(b)) if a.class == b.class && a != b);
    if let Some(Receiver::Instance(bound)) = delete.0 {
        if other_instance(&Value::Object(bound.clone())) && !crate::replay::has_address(&bound.repr)
        {
            return None;
        }
    }
    if let Some(first @ Value::Object(o)) = delete.1.first() {
        if other_instance(first) && !crate::replay::has_address(&o.repr) {
            return None;
        }
    }
    // Another object of the class, with a default repr: no delete naming another object
    // can reach the entry.
    if let (Some(Value::Object(given)), Value::Object(live)) = (delete.1.first(), &receiver) {
        if crate::replay::has_address(&live.repr)
            && crate::replay::without_addresses(&given.repr)
                == crate::replay::without_addresses(&live.repr)
        {
            let diff = compare(&delete.1[1..])?;
            return (!diff.value).then_some(Rule::DefaultReprKey);
        }
    }
    let bound_instance = matches!(delete.0, Some(Receiver::Instance(_)))
        && delete.0.as_ref().map(Receiver::to_value).as_ref() == Some(&receiver);
    if bound_instance && profile.inserts_bound_self() {
        // 2.5 inserts the bound instance itself: only the arguments can differ.
        let diff = compare(delete.1)?;
        return rule_for(&diff);
    }
    // The receiver was left out (or taken from a bound method that the profile ignores):
    // related when the rest is the live call's.
    let diff = compare(delete.1)?;
    (!diff.value).then_some(missing)
}

fn rule_for(diff: &ArgDifference) -> Option<Rule> {
    if diff.value {
        None
    } else if diff.form {
        Some(Rule::MemoizeArgType)
    } else if diff.defaults {
        Some(Rule::MemoizeDefaultArgs)
    } else {
        None
    }
}

/// A call's positional and keyword arguments.
pub type CallArgs = (Vec<Value>, Vec<(String, Value)>);

/// The same call with its arguments spelled out positionally, the way Flask-Caching keys
/// them without surprises: each argument of a positional parameter passed by position (a
/// keyword one moved into place), the defaults in between written out, and with
/// `all_defaults` every default of a positional parameter written out. Keyword-only
/// arguments and `**kwargs` stay keywords. `None` when the call cannot be spelled out so
/// (extra positional arguments for `*args`, a missing required argument).
pub fn spelled_out(
    params: &[flaskcache_engine::function::Param],
    args: &[Value],
    kwargs: &[(String, Value)],
    all_defaults: bool,
) -> Option<CallArgs> {
    let mut positional = args.iter();
    let mut rest: Vec<(String, Value)> = kwargs.to_vec();
    let mut out = Vec::new();
    let mut pending: Vec<Value> = Vec::new();
    for p in params {
        if !matches!(
            p.kind,
            ParamKind::PositionalOnly | ParamKind::PositionalOrKeyword
        ) {
            continue;
        }
        let given = match positional.next() {
            Some(v) => Some(v.clone()),
            None if p.kind == ParamKind::PositionalOrKeyword => rest
                .iter()
                .position(|(k, _)| *k == p.name)
                .map(|i| rest.remove(i).1),
            None => None,
        };
        match (given, &p.default) {
            (Some(v), _) => {
                out.append(&mut pending);
                out.push(v);
            }
            (None, Some(default)) => pending.push(default.clone()),
            (None, None) => return None,
        }
    }
    if positional.next().is_some() {
        return None;
    }
    if all_defaults {
        out.append(&mut pending);
    }
    Some((out, rest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use flaskcache_engine::function::Param;

    #[test]
    fn another_form_is_the_same_value_written_otherwise() {
        let py = PythonVersion::Py311;
        assert!(same_in_another_form(&Value::str("7"), &Value::int(7), py));
        assert!(same_in_another_form(&Value::int(1), &Value::Float(1.0), py));
        assert!(same_in_another_form(&Value::Bool(true), &Value::int(1), py));
        assert!(!same_in_another_form(&Value::int(7), &Value::int(8), py));
        assert!(!same_in_another_form(
            &Value::str("a"),
            &Value::str("b"),
            py
        ));
        assert!(!same_in_another_form(&Value::int(7), &Value::int(7), py));
    }

    #[test]
    fn a_delete_leaving_out_an_argument_relates_one_naming_another_value_does_not() {
        let py = PythonVersion::Py311;
        let params = [
            Param::required("year"),
            Param::with_default("fmt", Value::str("html")),
        ];
        let live = (&[Value::int(2024), Value::str("pdf")][..], &[][..]);
        let omitted = compare_args(
            &params,
            (&[Value::int(2024)], &[]),
            live,
            &[],
            Defaults::AsWritten,
            py,
        );
        assert_eq!(rule_for(&omitted.unwrap()), Some(Rule::MemoizeDefaultArgs));
        let other = compare_args(
            &params,
            (&[Value::int(2024)], &[("fmt".into(), Value::str("pdf"))]),
            (&[Value::int(2024)], &[]),
            &[],
            Defaults::AsWritten,
            py,
        );
        assert_eq!(
            rule_for(&other.unwrap()),
            None,
            "fmt='pdf' is another call than the default"
        );
    }

    #[test]
    fn keyword_order_is_not_another_call() {
        let py = PythonVersion::Py311;
        let params = [
            Param::required("term"),
            Param::new("filters", ParamKind::VarKeyword, None),
        ];
        let a = [
            ("size".to_owned(), Value::str("L")),
            ("color".to_owned(), Value::str("red")),
        ];
        let b = [
            ("color".to_owned(), Value::str("red")),
            ("size".to_owned(), Value::str("L")),
        ];
        let diff = compare_args(
            &params,
            (&[Value::str("lamp")], &a),
            (&[Value::str("lamp")], &b),
            &[],
            Defaults::Bound,
            py,
        )
        .unwrap();
        assert_eq!(diff, ArgDifference::default());
    }

    #[test]
    fn a_call_spelled_out_positionally() {
        let params = [
            Param::new("country", ParamKind::PositionalOnly, None),
            Param::with_default("express", Value::Bool(false)),
        ];
        let kwargs = [("express".to_owned(), Value::Bool(true))];
        let (args, rest) = spelled_out(&params, &[Value::str("DE")], &kwargs, false).unwrap();
        assert_eq!(args, [Value::str("DE"), Value::Bool(true)]);
        assert!(rest.is_empty());
        let (args, _) = spelled_out(&params, &[Value::str("DE")], &[], true).unwrap();
        assert_eq!(args, [Value::str("DE"), Value::Bool(false)]);
        assert!(
            spelled_out(&params, &[], &[], true).is_none(),
            "country is required"
        );
    }

    #[test]
    fn view_key_relations() {
        let options = CachedOptions::default();
        let request = ("/demo/student/all".to_owned(), Vec::new());
        let view = ("student_all", &options);
        let rel = |t: &str| backend_delete(t, "view//demo/student/all", view, Some(&request), None);
        assert_eq!(rel("/demo/student/all"), Some(Rule::ViewBarePath));
        assert_eq!(rel("view/demo/student/all"), Some(Rule::ViewSingleSlash));
        assert_eq!(rel("view//student/all"), Some(Rule::ViewPathWithoutPrefix));
        assert_eq!(
            rel("view//demo/teacher/all"),
            None,
            "another path is another view"
        );
    }
}
