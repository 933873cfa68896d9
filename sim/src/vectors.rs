//! Golden key vectors: cases recorded from the real Flask-Caching by
//! `tests/vectors/generate.py` (format in `docs/vectors.md`), and the check that flaskcache
//! derives the same keys, version keys and errors.

use crate::pyjson::{
    array_field, decode_function, decode_kwargs, decode_receiver, decode_values, field,
    opt_str_field, str_field, DecodeError,
};
use flaskcache_engine::error::PyError;
use flaskcache_engine::function::Callee;
use flaskcache_engine::keys::{
    self, call_args, ensure_self_arg, function_namespace, normalize_args, view_key, CachedKeySpec,
    HashMethod, KeyPrefix, MakeName, QueryArgs, RequestInfo, Version, ViewKeyError, ViewKeyInput,
    ViewKeyMode,
};
use flaskcache_engine::{Profile, PythonVersion};
use serde_json::Value as Json;
use std::fmt;

/// A vector file: its configuration and its cases.
pub struct VectorFile {
    /// The Flask-Caching profile the cases were recorded with.
    pub profile: Profile,
    /// The Python version they were recorded with.
    pub python: PythonVersion,
    /// The seed that generated them.
    pub seed: u64,
    /// Memoize cases.
    pub memoize: Vec<Json>,
    /// View cases.
    pub view: Vec<Json>,
}

impl VectorFile {
    /// Parses a vector file's text.
    ///
    /// An error's location is a 1-based line (`3`) when the text is not JSON, else a JSON
    /// pointer (`/memoize/4/expect`). A trace file (`docs/trace-format.md`) is recognised
    /// and rejected as such.
    pub fn parse(text: &str) -> Result<Self, DecodeError> {
        if is_trace(text) {
            return Err(DecodeError::new(
                "",
                "this is a trace (docs/trace-format.md), not a key vectors file (docs/vectors.md); use flaskcache replay",
            ));
        }
        let json: Json = serde_json::from_str(text)
            .map_err(|e| DecodeError::new(e.line().max(1).to_string(), json_error_reason(&e)))?;
        let format = str_field(&json, "format", "")?;
        if format != "flaskcache-key-vectors/1" {
            return Err(DecodeError::new(
                "/format",
                format!("unsupported format {format:?}"),
            ));
        }
        let profile_text = str_field(&json, "profile", "")?;
        let profile = Profile::parse(profile_text).ok_or_else(|| {
            DecodeError::new("/profile", format!("unknown profile {profile_text:?}"))
        })?;
        let python_text = str_field(&json, "python", "")?;
        let python = PythonVersion::parse(python_text).ok_or_else(|| {
            DecodeError::new("/python", format!("unsupported Python {python_text:?}"))
        })?;
        let seed = field(&json, "seed", "")?
            .as_u64()
            .ok_or_else(|| DecodeError::new("/seed", "expected an unsigned integer"))?;
        Ok(VectorFile {
            profile,
            python,
            seed,
            memoize: array_field(&json, "memoize", "")?.to_vec(),
            view: array_field(&json, "view", "")?.to_vec(),
        })
    }

    /// Checks every case; returns the number checked and the mismatches.
    pub fn check(&self) -> (usize, Vec<Mismatch>) {
        let mut mismatches = Vec::new();
        let cases = self
            .memoize
            .iter()
            .map(|c| (c, Kind::Memoize))
            .chain(self.view.iter().map(|c| (c, Kind::View)));
        let mut checked = 0;
        for (case, kind) in cases {
            checked += 1;
            let result = match kind {
                Kind::Memoize => check_memoize(case, self.profile, self.python),
                Kind::View => check_view(case, self.profile, self.python),
            };
            if let Err(m) = result {
                mismatches.push(m.with_case(case, kind));
            }
        }
        (checked, mismatches)
    }
}

/// A [`VectorFile::parse`] error of the file `path`, located the way every error of the
/// `flaskcache` command is: `FILE:LINE: reason`, or `FILE: /json/pointer: reason` inside
/// the JSON document.
pub fn located(path: &str, e: &DecodeError) -> String {
    if e.at.is_empty() {
        format!("{path}: {}", e.reason)
    } else if e.at.bytes().all(|b| b.is_ascii_digit()) {
        format!("{path}:{}: {}", e.at, e.reason)
    } else {
        format!("{path}: {}: {}", e.at, e.reason)
    }
}

/// serde_json's message without its trailing `at line L column C` (the line is reported
/// as the location), with the column kept.
pub fn json_error_reason(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    match text.strip_suffix(&suffix) {
        Some(reason) => format!("invalid JSON: {reason} (column {})", e.column()),
        None => format!("invalid JSON: {text}"),
    }
}

/// Whether `text` is a trace: its first non-blank line is the `{"flaskcache_trace": N}`
/// header of `docs/trace-format.md`.
pub fn is_trace(text: &str) -> bool {
    text.lines()
        .find(|l| !l.trim().is_empty())
        .and_then(|l| serde_json::from_str::<Json>(l).ok())
        .is_some_and(|j| j.get("flaskcache_trace").is_some())
}

/// Whether `text` is a key vectors file (`docs/vectors.md`): a JSON object whose `format`
/// is `flaskcache-key-vectors/N`.
pub fn is_vector_file(text: &str) -> bool {
    serde_json::from_str::<Json>(text).is_ok_and(|j| {
        j.get("format")
            .and_then(Json::as_str)
            .is_some_and(|f| f.starts_with("flaskcache-key-vectors/"))
    })
}

/// A compared output written as Python shows it (`None`, `'view//x'`, `['a', 'b']`,
/// `KeyError: 'x'`), for mismatch reports.
trait PyText {
    fn py_text(&self) -> String;
}

impl PyText for str {
    fn py_text(&self) -> String {
        crate::workload::py_str(self)
    }
}

impl PyText for String {
    fn py_text(&self) -> String {
        self.as_str().py_text()
    }
}

impl PyText for PyError {
    fn py_text(&self) -> String {
        format!("raises {self}")
    }
}

impl<T: PyText> PyText for Vec<T> {
    fn py_text(&self) -> String {
        let items: Vec<String> = self.iter().map(PyText::py_text).collect();
        format!("[{}]", items.join(", "))
    }
}

impl<T: PyText + ?Sized> PyText for &T {
    fn py_text(&self) -> String {
        (**self).py_text()
    }
}

impl<T: PyText> PyText for Option<T> {
    fn py_text(&self) -> String {
        match self {
            Some(v) => v.py_text(),
            None => "None".into(),
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Memoize,
    View,
}

/// A case on which flaskcache and the real library disagree (or that could not be read).
#[derive(Debug)]
pub struct Mismatch {
    /// `memoize` or `view`.
    pub kind: &'static str,
    /// The case's id.
    pub id: i64,
    /// Which output differs.
    pub field: String,
    /// The real library's output.
    pub expected: String,
    /// flaskcache's output.
    pub ours: String,
    /// The whole case, to reproduce it.
    pub case: String,
}

impl Mismatch {
    fn new(field: &str, expected: impl Into<String>, ours: impl Into<String>) -> Self {
        Mismatch {
            kind: "",
            id: -1,
            field: field.to_owned(),
            expected: expected.into(),
            ours: ours.into(),
            case: String::new(),
        }
    }

    fn with_case(mut self, case: &Json, kind: Kind) -> Self {
        self.kind = match kind {
            Kind::Memoize => "memoize",
            Kind::View => "view",
        };
        self.id = case.get("id").and_then(Json::as_i64).unwrap_or(-1);
        self.case = case.to_string();
        self
    }
}

impl From<DecodeError> for Mismatch {
    fn from(e: DecodeError) -> Self {
        Mismatch::new("decode", "a readable case", e.to_string())
    }
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} case {}: {} differs", self.kind, self.id, self.field)?;
        writeln!(f, "  real library: {}", self.expected)?;
        writeln!(f, "  flaskcache:   {}", self.ours)?;
        write!(f, "  case: {}", self.case)
    }
}

fn expected_error(expect: &Json) -> Result<Option<PyError>, DecodeError> {
    match expect.get("error") {
        None | Some(Json::Null) => Ok(None),
        Some(e) => {
            let kind_text = str_field(e, "type", "/expect/error")?;
            let kind = flaskcache_engine::PyExceptionType::parse(kind_text).ok_or_else(|| {
                DecodeError::new(
                    "/expect/error/type",
                    format!("unmodelled exception {kind_text}"),
                )
            })?;
            Ok(Some(PyError::new(
                kind,
                str_field(e, "message", "/expect/error")?,
            )))
        }
    }
}

fn compare<T: PartialEq + PyText>(field: &str, expected: T, ours: T) -> Result<(), Mismatch> {
    if expected == ours {
        Ok(())
    } else {
        Err(Mismatch::new(field, expected.py_text(), ours.py_text()))
    }
}

/// What flaskcache derives for a memoize case.
#[derive(Debug, Default, PartialEq, Eq)]
struct MemoizeOutcome {
    version_keys: Option<Vec<String>>,
    text: Option<String>,
    key: Option<String>,
    error: Option<PyError>,
}

/// Checks one memoize case.
pub fn check_memoize(case: &Json, profile: Profile, py: PythonVersion) -> Result<(), Mismatch> {
    let expect = field(case, "expect", "")?;
    let expected = MemoizeOutcome {
        version_keys: match expect.get("version_keys") {
            None | Some(Json::Null) => None,
            Some(v) => Some(
                v.as_array()
                    .ok_or_else(|| DecodeError::new("/expect/version_keys", "expected an array"))?
                    .iter()
                    .map(|k| k.as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| DecodeError::new("/expect/version_keys", "expected strings"))?,
            ),
        },
        text: opt_str_field(expect, "text", "/expect")?.map(str::to_owned),
        key: opt_str_field(expect, "key", "/expect")?.map(str::to_owned),
        error: expected_error(expect)?,
    };
    let ours = derive_memoize(case, profile, py)?;
    compare("error", &expected.error, &ours.error)?;
    compare("version_keys", &expected.version_keys, &ours.version_keys)?;
    compare("text", &expected.text, &ours.text)?;
    compare("key", &expected.key, &ours.key)
}

fn derive_memoize(
    case: &Json,
    profile: Profile,
    py: PythonVersion,
) -> Result<MemoizeOutcome, DecodeError> {
    let function = decode_function(field(case, "function", "")?, "/function")?;
    let receiver = decode_receiver(field(case, "bound_to", "")?, "/bound_to")?;
    let args = decode_values(field(case, "args", "")?, "/args")?;
    let kwargs = decode_kwargs(field(case, "kwargs", "")?, "/kwargs")?;
    let options = field(case, "options", "")?;
    let hash = match opt_str_field(options, "hash_method", "/options")? {
        Some(name) => HashMethod::parse(name)
            .map_err(|e| DecodeError::new("/options/hash_method", e.to_string()))?,
        None => profile.default_hash(),
    };
    let make_name =
        opt_str_field(options, "make_name", "/options")?.map(|t| MakeName(t.to_owned()));
    let source = opt_str_field(options, "source", "/options")?;
    let ignore: Vec<String> = array_field(options, "args_to_ignore", "/options")?
        .iter()
        .map(|a| a.as_str().map(str::to_owned))
        .collect::<Option<_>>()
        .ok_or_else(|| DecodeError::new("/options/args_to_ignore", "expected strings"))?;
    let mut uuids = array_field(case, "uuids", "")?
        .iter()
        .enumerate()
        .map(|(i, u)| {
            let at = format!("/uuids/{i}");
            let hex = u
                .as_str()
                .ok_or_else(|| DecodeError::new(&at, "expected a string"))?;
            let bytes: Option<Vec<u8>> = (0..16)
                .map(|j| {
                    hex.get(2 * j..2 * j + 2)
                        .and_then(|h| u8::from_str_radix(h, 16).ok())
                })
                .collect();
            let bytes: [u8; 16] = bytes
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| DecodeError::new(&at, "expected 32 hex digits"))?;
            Ok(Version::from_uuid_bytes(&bytes))
        });
    let mut next_version = move || -> Result<Version, DecodeError> {
        uuids.next().unwrap_or_else(|| {
            Err(DecodeError::new(
                "/uuids",
                "the library drew more versions than recorded",
            ))
        })
    };
    let callee = match &receiver {
        Some(r) => Callee::bound(&function, r),
        None => Callee::unbound(&function),
    };
    let op = str_field(case, "op", "")?;
    let mut out = MemoizeOutcome::default();

    let (callee_for_ns, ns_args) = match op {
        "call" => (
            Callee::unbound(&function),
            Some(call_args(&function, receiver.as_ref(), &args)),
        ),
        "delete" => (
            Callee::unbound(&function),
            Some(ensure_self_arg(callee, &args, profile)),
        ),
        "reset" | "verhash" => (callee, None),
        other => return Err(DecodeError::new("/op", format!("unknown op {other:?}"))),
    };
    let namespace = match function_namespace(callee_for_ns, ns_args.as_deref(), profile, py) {
        Ok(ns) => ns,
        Err(e) => {
            out.error = Some(e);
            return Ok(out);
        }
    };
    // `delete_memoized(f)` and `delete_memoized_verhash(f)` call `_memoize_version`
    // without `args_to_ignore` (FC-3.2.2, FC-3.4.1).
    let resets = op == "reset" || op == "verhash";
    let version_keys = namespace.version_keys(if resets { &[] } else { &ignore });
    if op == "verhash" {
        out.key = Some(version_keys.last().to_owned());
        return Ok(out);
    }
    out.version_keys = Some(version_keys.iter().map(str::to_owned).collect());
    // A fresh cache: every version key is missing and gets minted, in fetch order.
    let mut versions = Vec::new();
    for _ in version_keys.iter() {
        versions.push(next_version()?);
    }
    if op == "reset" {
        next_version()?;
        out.key = Some(version_keys.last().to_owned());
        return Ok(out);
    }
    let full_args = ns_args.unwrap_or_default();
    let normalized = match normalize_args(&function, &full_args, &kwargs, &ignore, profile, py) {
        Ok(n) => n,
        Err(e) => {
            out.error = Some(e);
            return Ok(out);
        }
    };
    let altfname = match &make_name {
        Some(m) => m.apply(&namespace.fname),
        None => namespace.fname.clone(),
    };
    let mut text = String::new();
    keys::write_key_text(&mut text, &altfname, &normalized, py);
    let mut key = String::new();
    keys::write_key_body(&mut key, &text, hash, source);
    for v in &versions {
        key.push_str(v.as_str());
    }
    out.text = Some(text);
    out.key = Some(key);
    Ok(out)
}

/// Checks one view case.
pub fn check_view(case: &Json, profile: Profile, py: PythonVersion) -> Result<(), Mismatch> {
    let expect = field(case, "expect", "")?;
    let expected_key = opt_str_field(expect, "key", "/expect")?;
    let expected_error = expected_error(expect)?;
    let spec_json = field(case, "spec", "")?;
    let prefix_json = field(spec_json, "key_prefix", "/spec")?;
    let key_prefix = match opt_str_field(prefix_json, "template", "/spec/key_prefix")? {
        Some(t) => KeyPrefix::Template(t.to_owned()),
        None => KeyPrefix::Callable,
    };
    let source_check = field(spec_json, "source_check", "/spec")?
        .as_bool()
        .unwrap_or(false);
    let spec = CachedKeySpec {
        key_prefix,
        query_string: field(spec_json, "query_string", "/spec")?
            .as_bool()
            .unwrap_or(false),
        hash_method: match opt_str_field(spec_json, "hash_method", "/spec")? {
            Some(n) => Some(
                HashMethod::parse(n)
                    .map_err(|e| DecodeError::new("/spec/hash_method", e.to_string()))?,
            ),
            None => None,
        },
        source: if source_check {
            opt_str_field(case, "source", "")?.map(str::to_owned)
        } else {
            None
        },
    };
    let request_args;
    let request = match case.get("request") {
        None | Some(Json::Null) => None,
        Some(r) => {
            request_args = array_field(r, "args", "/request")?
                .iter()
                .map(|p| match p.as_array().map(Vec::as_slice) {
                    Some([Json::String(k), Json::String(v)]) => Some((k.clone(), v.clone())),
                    _ => None,
                })
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| {
                    DecodeError::new("/request/args", "expected [name, value] strings")
                })?;
            Some(RequestInfo {
                path: str_field(r, "path", "/request")?,
                args: &request_args,
            })
        }
    };
    let query_args = match case.get("query_args") {
        None | Some(Json::Null) => None,
        Some(q) => Some(
            if let Some(s) = opt_str_field(q, "string", "/query_args")? {
                QueryArgs::String(s.to_owned())
            } else if let Some(p) = q.get("pairs").or_else(|| q.get("mapping")) {
                QueryArgs::Pairs(decode_kwargs(p, "/query_args")?)
            } else {
                return Err(
                    DecodeError::new("/query_args", "expected string, pairs or mapping").into(),
                );
            },
        ),
    };
    let mode = match str_field(case, "op", "")? {
        "request" => ViewKeyMode::Request,
        "make_cache_key" => ViewKeyMode::Explicit {
            path: opt_str_field(case, "path", "")?,
            query_args: query_args.as_ref(),
            url_for: None,
        },
        other => return Err(DecodeError::new("/op", format!("unknown op {other:?}")).into()),
    };
    let input = ViewKeyInput {
        request,
        mode,
        prefix_result: opt_str_field(case, "prefix_result", "")?,
    };
    match view_key(&spec, &input, profile, py) {
        Ok(key) => {
            compare("error", expected_error, None)?;
            compare("key", expected_key, Some(key.as_str()))
        }
        Err(ViewKeyError::Python(e)) => {
            compare("error", expected_error, Some(e))?;
            compare("key", expected_key, None)
        }
        Err(ViewKeyError::Input(e)) => {
            Err(Mismatch::new("input", "a complete case", e.to_string()))
        }
    }
}
