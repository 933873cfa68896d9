//! Query-string inputs of `@cached(query_string=True)` keys (FC-1.2.3, FC-1.3.2):
//! `query_args` in its three accepted shapes, and `urllib.parse.parse_qsl`.

use crate::value::{PythonVersion, Value};

/// The `query_args=` argument of `make_cache_key` / `delete_cached`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QueryArgs {
    /// A query string (`"limit=15&mock=true"`; a leading `?` is stripped).
    String(String),
    /// A mapping or an iterable of pairs; values go through `str()`.
    Pairs(Vec<(String, Value)>),
}

impl QueryArgs {
    /// `query_args_as_pairs(query_args)`.
    pub fn to_pairs(&self, py: PythonVersion) -> Vec<(String, String)> {
        match self {
            QueryArgs::String(s) => parse_qsl(s.trim_start_matches('?')),
            QueryArgs::Pairs(pairs) => pairs
                .iter()
                .map(|(k, v)| (k.clone(), v.to_py_str(py)))
                .collect(),
        }
    }
}

/// `urllib.parse.parse_qsl(qs, keep_blank_values=True)`.
pub fn parse_qsl(qs: &str) -> Vec<(String, String)> {
    qs.split('&')
        .filter(|field| !field.is_empty())
        .map(|field| {
            let (name, value) = field.split_once('=').unwrap_or((field, ""));
            (unquote_plus(name), unquote_plus(value))
        })
        .collect()
}

/// `unquote(s.replace('+', ' '))` with `errors='replace'`: percent escapes are decoded one
/// ASCII run at a time, invalid UTF-8 becomes U+FFFD, malformed escapes stay as they are.
pub fn unquote_plus(s: &str) -> String {
    let s = s.replace('+', " ");
    if !s.contains('%') {
        return s;
    }
    let mut out = String::with_capacity(s.len());
    let mut run: Vec<u8> = Vec::new();
    let mut rest = s.as_str();
    while !rest.is_empty() {
        let ascii_len = rest.bytes().take_while(|b| b.is_ascii()).count();
        if ascii_len > 0 {
            run.clear();
            percent_decode_into(&rest.as_bytes()[..ascii_len], &mut run);
            out.push_str(&String::from_utf8_lossy(&run));
            rest = &rest[ascii_len..];
        } else {
            let mut chars = rest.chars();
            if let Some(c) = chars.next() {
                out.push(c);
            }
            rest = chars.as_str();
        }
    }
    out
}

fn percent_decode_into(bytes: &[u8], out: &mut Vec<u8>) {
    let hex = |b: u8| (b as char).to_digit(16);
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            if let (Some(&h), Some(&l)) = (bytes.get(i + 1), bytes.get(i + 2)) {
                if let (Some(h), Some(l)) = (hex(h), hex(l)) {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_qsl_keeps_blanks_and_decodes() {
        assert_eq!(
            parse_qsl("a=1&&b&c=x+y%20z&d=%zz"),
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "".into()),
                ("c".into(), "x y z".into()),
                ("d".into(), "%zz".into()),
            ]
        );
    }
}
