//! The tagged JSON form of Python values and function descriptors, shared by the key
//! vectors and the trace format (see `docs/vectors.md`). Decoding never panics: every
//! malformed input is a [`DecodeError`] naming where it is.

use flaskcache_engine::error::{HttpException, PyError, PyExceptionType};
use flaskcache_engine::function::{Binding, FunctionDescriptor, Param, ParamKind, Receiver};
use flaskcache_engine::value::{ClassRef, PyInt, PyObject, Value};
use serde_json::{json, Map, Value as Json};
use std::fmt;

/// A JSON document that does not describe a value: what is wrong, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    /// A JSON-pointer-like location (`/args/2/v`).
    pub at: String,
    /// What is wrong there.
    pub reason: String,
}

impl DecodeError {
    /// An error at `at`.
    pub fn new(at: impl Into<String>, reason: impl Into<String>) -> Self {
        DecodeError {
            at: at.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at, self.reason)
    }
}

impl std::error::Error for DecodeError {}

/// Result of decoding.
pub type Decoded<T> = Result<T, DecodeError>;

/// `obj[key]` as a JSON object member.
pub fn field<'a>(obj: &'a Json, key: &str, at: &str) -> Decoded<&'a Json> {
    obj.as_object()
        .ok_or_else(|| DecodeError::new(at, "expected an object"))?
        .get(key)
        .ok_or_else(|| DecodeError::new(at, format!("missing field {key:?}")))
}

/// `obj[key]` as a string.
pub fn str_field<'a>(obj: &'a Json, key: &str, at: &str) -> Decoded<&'a str> {
    field(obj, key, at)?
        .as_str()
        .ok_or_else(|| DecodeError::new(format!("{at}/{key}"), "expected a string"))
}

/// `obj[key]` as an optional string (`null` or absent is `None`).
pub fn opt_str_field<'a>(obj: &'a Json, key: &str, at: &str) -> Decoded<Option<&'a str>> {
    match obj.get(key) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(s)) => Ok(Some(s)),
        Some(_) => Err(DecodeError::new(
            format!("{at}/{key}"),
            "expected a string or null",
        )),
    }
}

/// `obj[key]` as an array.
pub fn array_field<'a>(obj: &'a Json, key: &str, at: &str) -> Decoded<&'a [Json]> {
    field(obj, key, at)?
        .as_array()
        .map(Vec::as_slice)
        .ok_or_else(|| DecodeError::new(format!("{at}/{key}"), "expected an array"))
}

/// Decodes a tagged value (`{"t": "int", "v": "12"}`, ...).
pub fn decode_value(json: &Json, at: &str) -> Decoded<Value> {
    let tag = str_field(json, "t", at)?;
    let v = || field(json, "v", at);
    let items = |at: &str| -> Decoded<Vec<Value>> {
        array_field(json, "v", at)?
            .iter()
            .enumerate()
            .map(|(i, item)| decode_value(item, &format!("{at}/v/{i}")))
            .collect()
    };
    let pairs = |at: &str| -> Decoded<Vec<(Value, Value)>> {
        array_field(json, "v", at)?
            .iter()
            .enumerate()
            .map(|(i, pair)| {
                let here = format!("{at}/v/{i}");
                match pair.as_array().map(Vec::as_slice) {
                    Some([k, v]) => Ok((
                        decode_value(k, &format!("{here}/0"))?,
                        decode_value(v, &format!("{here}/1"))?,
                    )),
                    _ => Err(DecodeError::new(here, "expected a [key, value] pair")),
                }
            })
            .collect()
    };
    Ok(match tag {
        "none" => Value::None,
        "bool" => Value::Bool(
            v()?.as_bool()
                .ok_or_else(|| DecodeError::new(format!("{at}/v"), "expected true or false"))?,
        ),
        "int" => {
            let text = str_field(json, "v", at)?;
            Value::Int(
                PyInt::parse(text)
                    .map_err(|e| DecodeError::new(format!("{at}/v"), e.to_string()))?,
            )
        }
        "float" => {
            let text = str_field(json, "v", at)?;
            Value::Float(parse_py_float(text).ok_or_else(|| {
                DecodeError::new(format!("{at}/v"), format!("not a float repr: {text:?}"))
            })?)
        }
        "str" => Value::Str(str_field(json, "v", at)?.to_owned()),
        "bytes" => Value::Bytes(
            decode_hex(str_field(json, "v", at)?)
                .ok_or_else(|| DecodeError::new(format!("{at}/v"), "expected hex digits"))?,
        ),
        "tuple" => Value::Tuple(items(at)?),
        "list" => Value::List(items(at)?),
        "dict" => Value::Dict(pairs(at)?),
        "odict" => Value::OrderedDict(pairs(at)?),
        "class" => Value::Class(decode_class(json, at)?),
        "exception" => Value::Exception(Box::new(decode_exception(json, at)?)),
        "object" => Value::Object(Box::new(PyObject {
            class: decode_class(json, at)?,
            repr: str_field(json, "repr", at)?.to_owned(),
            caching_id: opt_str_field(json, "caching_id", at)?.map(str::to_owned),
        })),
        other => {
            return Err(DecodeError::new(
                format!("{at}/t"),
                format!("unknown value tag {other:?}"),
            ))
        }
    })
}

/// Decodes an exception: `{"type": "NotFound", "message": "...", "http": H}` (the body of
/// a `raises` record, or of an `exception` value), where the optional `H` is
/// `{"module": ..., "qualname": ..., "code": 404, "repr": "..."}` for a werkzeug
/// `HTTPException`.
pub fn decode_exception(json: &Json, at: &str) -> Decoded<PyError> {
    let type_name = str_field(json, "type", at)?;
    let message = str_field(json, "message", at)?.to_owned();
    let kind = match json.get("http") {
        None | Some(Json::Null) => PyExceptionType::parse(type_name).ok_or_else(|| {
            DecodeError::new(
                format!("{at}/type"),
                format!("exception type {type_name:?} is not modelled"),
            )
        })?,
        Some(http) => {
            let here = format!("{at}/http");
            let code = field(http, "code", &here)?
                .as_u64()
                .and_then(|c| u16::try_from(c).ok())
                .ok_or_else(|| {
                    DecodeError::new(format!("{here}/code"), "expected a status code")
                })?;
            let http = HttpException {
                class: decode_class(http, &here)?,
                code,
                repr: str_field(http, "repr", &here)?.to_owned(),
            };
            let kind = PyExceptionType::Http(Box::new(http));
            if kind.as_str() != type_name {
                return Err(DecodeError::new(
                    format!("{at}/type"),
                    format!("{type_name:?} is not the name of the class in http"),
                ));
            }
            kind
        }
    };
    Ok(PyError::new(kind, message))
}

/// Encodes an exception as [`decode_exception`] reads it.
pub fn encode_exception(e: &PyError) -> Json {
    match e.http() {
        None => json!({"type": e.kind.as_str(), "message": e.message}),
        Some(h) => json!({"type": e.kind.as_str(), "message": e.message, "http": {
            "module": h.class.module, "qualname": h.class.qualname, "code": h.code,
            "repr": h.repr,
        }}),
    }
}

fn decode_class(json: &Json, at: &str) -> Decoded<ClassRef> {
    Ok(ClassRef::new(
        str_field(json, "module", at)?,
        str_field(json, "qualname", at)?,
    ))
}

/// Parses Python's float repr (`1.5`, `1e+16`, `inf`, `-inf`, `nan`).
pub fn parse_py_float(text: &str) -> Option<f64> {
    match text {
        "inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        "nan" => Some(f64::NAN),
        _ if text
            .bytes()
            .all(|b| b.is_ascii_digit() || b"+-.e".contains(&b)) =>
        {
            text.parse().ok()
        }
        _ => None,
    }
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Encodes a value in the tagged form [`decode_value`] reads.
pub fn encode_value(value: &Value) -> Json {
    match value {
        Value::None => json!({"t": "none"}),
        Value::Bool(b) => json!({"t": "bool", "v": b}),
        Value::Int(i) => json!({"t": "int", "v": i.to_string()}),
        Value::Float(f) => {
            let mut text = String::new();
            Value::Float(*f).repr_into(&mut text, Default::default());
            json!({"t": "float", "v": text})
        }
        Value::Str(s) => json!({"t": "str", "v": s}),
        Value::Bytes(b) => {
            let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
            json!({"t": "bytes", "v": hex})
        }
        Value::Tuple(v) => {
            json!({"t": "tuple", "v": v.iter().map(encode_value).collect::<Vec<_>>()})
        }
        Value::List(v) => json!({"t": "list", "v": v.iter().map(encode_value).collect::<Vec<_>>()}),
        Value::Dict(p) => json!({"t": "dict", "v": encode_pairs(p)}),
        Value::OrderedDict(p) => json!({"t": "odict", "v": encode_pairs(p)}),
        Value::Class(c) => json!({"t": "class", "module": c.module, "qualname": c.qualname}),
        Value::Object(o) => json!({
            "t": "object", "module": o.class.module, "qualname": o.class.qualname,
            "repr": o.repr, "caching_id": o.caching_id,
        }),
        Value::Exception(e) => {
            let mut json = encode_exception(e);
            json["t"] = json!("exception");
            json
        }
    }
}

fn encode_pairs(pairs: &[(Value, Value)]) -> Vec<Json> {
    pairs
        .iter()
        .map(|(k, v)| json!([encode_value(k), encode_value(v)]))
        .collect()
}

/// Decodes `[[name, value], ...]` keyword arguments.
pub fn decode_kwargs(json: &Json, at: &str) -> Decoded<Vec<(String, Value)>> {
    json.as_array()
        .ok_or_else(|| DecodeError::new(at, "expected an array of [name, value] pairs"))?
        .iter()
        .enumerate()
        .map(|(i, pair)| {
            let here = format!("{at}/{i}");
            match pair.as_array().map(Vec::as_slice) {
                Some([Json::String(name), value]) => {
                    Ok((name.clone(), decode_value(value, &format!("{here}/1"))?))
                }
                _ => Err(DecodeError::new(here, "expected a [name, value] pair")),
            }
        })
        .collect()
}

/// Decodes a list of tagged values.
pub fn decode_values(json: &Json, at: &str) -> Decoded<Vec<Value>> {
    json.as_array()
        .ok_or_else(|| DecodeError::new(at, "expected an array of values"))?
        .iter()
        .enumerate()
        .map(|(i, v)| decode_value(v, &format!("{at}/{i}")))
        .collect()
}

/// Decodes a function descriptor (`{"module", "qualname", "binding", "params"}`), checking
/// the signature as Python's compiler would.
pub fn decode_function(json: &Json, at: &str) -> Decoded<FunctionDescriptor> {
    let binding_text = str_field(json, "binding", at)?;
    let binding = Binding::parse(binding_text).ok_or_else(|| {
        DecodeError::new(
            format!("{at}/binding"),
            format!("unknown binding {binding_text:?}"),
        )
    })?;
    let params = array_field(json, "params", at)?
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let here = format!("{at}/params/{i}");
            let kind_text = str_field(p, "kind", &here)?;
            let kind = ParamKind::parse(kind_text).ok_or_else(|| {
                DecodeError::new(
                    format!("{here}/kind"),
                    format!("unknown kind {kind_text:?}"),
                )
            })?;
            let default = match p.get("default") {
                None | Some(Json::Null) => None,
                Some(d) => Some(decode_value(d, &format!("{here}/default"))?),
            };
            Ok(Param::new(str_field(p, "name", &here)?, kind, default))
        })
        .collect::<Decoded<Vec<_>>>()?;
    FunctionDescriptor::new(
        str_field(json, "module", at)?,
        str_field(json, "qualname", at)?,
        params,
        binding,
    )
    .map_err(|e| DecodeError::new(at, e.to_string()))
}

/// Encodes a function descriptor in the form [`decode_function`] reads.
pub fn encode_function(f: &FunctionDescriptor) -> Json {
    let params: Vec<Json> = f
        .params
        .iter()
        .map(|p| {
            json!({"name": p.name, "kind": p.kind.as_str(),
                   "default": p.default.as_ref().map(encode_value)})
        })
        .collect();
    json!({"module": f.module, "qualname": f.qualname, "binding": f.binding.as_str(), "params": params})
}

/// Decodes `{"instance": V}` / `{"class": V}` / `null`.
pub fn decode_receiver(json: &Json, at: &str) -> Decoded<Option<Receiver>> {
    let Some(obj) = json.as_object() else {
        return match json {
            Json::Null => Ok(None),
            _ => Err(DecodeError::new(at, "expected an object or null")),
        };
    };
    let single = |m: &Map<String, Json>| m.iter().next().map(|(k, v)| (k.clone(), v.clone()));
    match (obj.len(), single(obj)) {
        (1, Some((k, v))) if k == "instance" => {
            match decode_value(&v, &format!("{at}/instance"))? {
                Value::Object(o) => Ok(Some(Receiver::Instance(o))),
                _ => Err(DecodeError::new(
                    format!("{at}/instance"),
                    "expected an object value",
                )),
            }
        }
        (1, Some((k, v))) if k == "class" => match decode_value(&v, &format!("{at}/class"))? {
            Value::Class(c) => Ok(Some(Receiver::Class(c))),
            _ => Err(DecodeError::new(
                format!("{at}/class"),
                "expected a class value",
            )),
        },
        _ => Err(DecodeError::new(
            at,
            "expected {\"instance\": V} or {\"class\": V}",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip() {
        let v = Value::Tuple(vec![
            Value::int(1),
            Value::Float(-0.0),
            Value::str("hé"),
            Value::Bytes(vec![0, 255]),
            Value::OrderedDict(vec![(Value::str("x"), Value::None)]),
        ]);
        assert_eq!(decode_value(&encode_value(&v), "").ok(), Some(v));
    }

    #[test]
    fn malformed_values_name_their_location() {
        let bad = json!({"t": "tuple", "v": [{"t": "int", "v": "1x"}]});
        let err = decode_value(&bad, "/args/0").err().map(|e| e.at);
        assert_eq!(err.as_deref(), Some("/args/0/v/0/v"));
    }
}
