//! What a key under the prefix is: a view key, a memoize version key, a memoized entry, or
//! something else.

use super::app::App;
use flaskcache_engine::keys::{HashMethod, KeyPrefix};
use flaskcache_engine::Value;

/// What a key is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `<fname>_memver`: the version of a memoized function.
    Version {
        /// The namespace (`module.qualname`, sanitised).
        fname: String,
        /// The instance token, for a per-instance version key.
        instance: Option<String>,
        /// Whether the declarations name the function.
        declared: bool,
    },
    /// A memoized result: 16 characters of hash, then the current version(s) of a function.
    Memoized {
        /// The function's namespace.
        fname: String,
        /// The instance token, when the key carries an instance version too.
        instance: Option<String>,
    },
    /// A `@cached` view's key.
    View {
        /// The view's name, when declared.
        name: Option<String>,
        /// The request path, when the key shows it.
        path: Option<String>,
        /// The query-string digest, for a `query_string=True` view.
        query_hash: Option<String>,
    },
    /// None of the above.
    Other,
}

impl Kind {
    /// A one-line description.
    pub fn describe(&self) -> String {
        match self {
            Kind::Version {
                fname,
                instance: None,
                declared,
            } => format!(
                "version key of {fname}{}",
                if *declared {
                    ""
                } else {
                    " (not in the declarations)"
                }
            ),
            Kind::Version {
                fname,
                instance: Some(token),
                declared,
            } => format!(
                "version key of {fname} for instance {token}{}",
                if *declared {
                    ""
                } else {
                    " (not in the declarations)"
                }
            ),
            Kind::Memoized {
                fname,
                instance: None,
            } => format!("memoized entry of {fname}"),
            Kind::Memoized {
                fname,
                instance: Some(token),
            } => format!("memoized entry of {fname} for instance {token}"),
            Kind::View {
                name,
                path,
                query_hash,
            } => {
                let mut s = match path {
                    Some(p) => format!("view key of path {p}"),
                    None => "view key".to_owned(),
                };
                if let Some(h) = query_hash {
                    s.push_str(&format!(" with query-string digest {h}"));
                }
                if let Some(n) = name {
                    s.push_str(&format!(" (view {n})"));
                }
                s
            }
            Kind::Other => "other".into(),
        }
    }
}

/// A version key found on the server, with its value.
#[derive(Clone, Debug)]
pub struct VersionEntry {
    /// The namespace.
    pub fname: String,
    /// The instance token.
    pub instance: Option<String>,
    /// The stored version (when it is a `str`).
    pub version: Option<String>,
}

/// Classifies every key.
pub struct Classifier<'a> {
    app: &'a App,
    versions: Vec<VersionEntry>,
}

impl<'a> Classifier<'a> {
    /// A classifier for `keys` with `values` (the decoded value of each key, same order;
    /// `None` when it could not be read).
    pub fn new(app: &'a App, keys: &[String], values: &[Option<Value>]) -> Self {
        let mut versions = Vec::new();
        for (key, value) in keys.iter().zip(values) {
            if let Some((fname, instance)) = version_parts(app, key) {
                versions.push(VersionEntry {
                    fname,
                    instance,
                    version: match value {
                        Some(Value::Str(s)) => Some(s.clone()),
                        _ => None,
                    },
                });
            }
        }
        Classifier { app, versions }
    }

    /// What `key` is.
    pub fn classify(&self, key: &str) -> Kind {
        if let Some((fname, instance)) = version_parts(self.app, key) {
            let declared = self.app.functions.iter().any(|f| f.fname == fname);
            return Kind::Version {
                fname,
                instance,
                declared,
            };
        }
        if let Some(kind) = self.memoized(key) {
            return kind;
        }
        if let Some(kind) = view(self.app, key) {
            return kind;
        }
        Kind::Other
    }

    fn memoized(&self, key: &str) -> Option<Kind> {
        let body = key.get(..16)?;
        if !body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
        {
            return None;
        }
        let suffix = &key[16..];
        // Function version + instance version first (the longer match).
        for inst in self.versions.iter().filter(|v| v.instance.is_some()) {
            let Some(vi) = &inst.version else { continue };
            let function = self
                .versions
                .iter()
                .find(|v| v.instance.is_none() && v.fname == inst.fname);
            if let Some(VersionEntry {
                version: Some(vf), ..
            }) = function
            {
                if suffix.len() == vf.len() + vi.len()
                    && suffix.starts_with(vf.as_str())
                    && suffix.ends_with(vi.as_str())
                {
                    return Some(Kind::Memoized {
                        fname: inst.fname.clone(),
                        instance: inst.instance.clone(),
                    });
                }
            }
        }
        let matching: Vec<&VersionEntry> = self
            .versions
            .iter()
            .filter(|v| v.instance.is_none() && v.version.as_deref() == Some(suffix))
            .collect();
        match matching.as_slice() {
            [one] => Some(Kind::Memoized {
                fname: one.fname.clone(),
                instance: None,
            }),
            _ => None,
        }
    }
}

/// `(fname, instance token)` of a version key.
fn version_parts(app: &App, key: &str) -> Option<(String, Option<String>)> {
    let stem = key.strip_suffix("_memver")?;
    // The longest declared namespace that is the stem or its prefix before a dot.
    let mut best: Option<&str> = None;
    for f in &app.functions {
        let ns = f.fname.as_str();
        let fits = stem == ns
            || (stem.len() > ns.len() && stem.starts_with(ns) && stem.as_bytes()[ns.len()] == b'.');
        if fits && best.is_none_or(|b| b.len() < ns.len()) {
            best = Some(ns);
        }
    }
    Some(match best {
        Some(ns) if stem == ns => (ns.to_owned(), None),
        Some(ns) => (ns.to_owned(), Some(stem[ns.len() + 1..].to_owned())),
        None => (stem.to_owned(), None),
    })
}

/// The view whose key template produces `key`.
fn view(app: &App, key: &str) -> Option<Kind> {
    let default = [(None, "view/%s".to_owned(), false, None)];
    let declared: Vec<(Option<String>, String, bool, Option<HashMethod>)> = app
        .views
        .iter()
        .filter_map(|v| match &v.options.key.key_prefix {
            KeyPrefix::Template(t) => Some((
                Some(v.name.clone()),
                t.clone(),
                v.options.key.query_string,
                v.options.key.hash_method,
            )),
            KeyPrefix::Callable => None,
        })
        .collect();
    let candidates: &[(Option<String>, String, bool, Option<HashMethod>)] = if app.views.is_empty()
    {
        &default
    } else {
        &declared
    };
    // Constant keys (a key_prefix without %s) first: they are exact.
    for (name, template, _, _) in candidates {
        if !template.contains("%s") && unescape_percent(template) == key {
            return Some(Kind::View {
                name: name.clone(),
                path: None,
                query_hash: None,
            });
        }
    }
    for (name, template, query_string, hash) in candidates {
        let Some((pre, post)) = template.split_once("%s") else {
            continue;
        };
        let (pre, post) = (unescape_percent(pre), unescape_percent(post));
        let Some(middle) = key
            .strip_prefix(pre.as_str())
            .and_then(|rest| rest.strip_suffix(post.as_str()))
        else {
            continue;
        };
        if !middle.starts_with('/') {
            continue;
        }
        if *query_string {
            let method = hash.unwrap_or(app.profile.default_hash());
            let len = method.hasher().finish().as_bytes().len() * 2;
            if middle.len() > len && middle.is_char_boundary(middle.len() - len) {
                let (path, digest) = middle.split_at(middle.len() - len);
                if digest.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Some(Kind::View {
                        name: name.clone(),
                        path: Some(path.to_owned()),
                        query_hash: Some(digest.to_owned()),
                    });
                }
            }
            continue;
        }
        return Some(Kind::View {
            name: name.clone(),
            path: Some(middle.to_owned()),
            query_hash: None,
        });
    }
    None
}

/// `template % ()` for the literal parts: `%%` is `%`.
fn unescape_percent(text: &str) -> String {
    text.replace("%%", "%")
}
