//! The reference model: what Flask-Caching promises, written as plainly as possible so that
//! it can be trusted to judge the engine.
//!
//! The cache is a [`ModelStore`]: a dict of `(key, expires, value)` in insertion order. A
//! memoized call's key is its hashed call text plus the version strings stored under the
//! function's (and the instance's) `_memver` keys; a missing version is replaced by a fresh
//! one, which orphans every entry made under the old one. Each delete means what the clause
//! says: `delete_memoized(f, *args)` removes one exact key, `delete_memoized(f)` gives the
//! last version key a fresh version, `delete_memoized_verhash(f)` removes that version key,
//! `delete_cached` removes the view's default key, `cache.delete` removes the key it is
//! given.
//!
//! The model shares nothing with the engine's state machine: only key derivation
//! ([`flaskcache_engine::keys`]) and the vocabulary types (commands, outcomes, store
//! operations). It does not replay steps; it answers "what does this call return, and what
//! does the cache hold afterwards", consulting the backend where Flask-Caching does (so
//! that an injected backend failure lands where it would) and falling back the way
//! `docs/semantics.md` ("Backend failures") describes.

mod dict;
mod redis;
mod store;

pub use dict::FxHasher;
pub use store::{Clock, Entry, Expiry, ModelStore};

/// Builds [`FxHasher`]s: for sets and maps that are only probed, never iterated.
pub type FxBuildHasher = std::hash::BuildHasherDefault<FxHasher>;

use flaskcache_engine::engine::{
    CacheEvent, CachedId, CachedOptions, Command, HookQuery, MemoizeOptions, Memoized, MemoizedId,
    Outcome, Request,
};
use flaskcache_engine::error::{PyError, PyExceptionType};
use flaskcache_engine::function::{Callee, FunctionDescriptor, Receiver};
use flaskcache_engine::keys::{
    call_args_cow, ensure_self_arg, function_namespace, normalize_args, view_key, write_key_body,
    write_key_text, RequestInfo, Version, VersionGenerator, ViewKeyError, ViewKeyInput,
    ViewKeyMode,
};
use flaskcache_engine::store::{StoreConfig, StoreError, StoreOp, StoreReply, Timestamp};
use flaskcache_engine::{Profile, PythonVersion, Value};
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

/// A backend method, as faults are planned and counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OpKind {
    /// `get`.
    Get,
    /// `get_many`.
    GetMany,
    /// `has`.
    Has,
    /// `set`.
    Set,
    /// `set_many`.
    SetMany,
    /// `add`.
    Add,
    /// `delete`.
    Delete,
    /// `delete_many`.
    DeleteMany,
    /// `clear`.
    Clear,
}

impl OpKind {
    /// Every kind, in a fixed order (the order of fault-plan bits).
    pub const ALL: [OpKind; 9] = [
        OpKind::Get,
        OpKind::GetMany,
        OpKind::Has,
        OpKind::Set,
        OpKind::SetMany,
        OpKind::Add,
        OpKind::Delete,
        OpKind::DeleteMany,
        OpKind::Clear,
    ];

    /// The kind of a backend operation.
    pub fn of(op: &StoreOp) -> OpKind {
        match op {
            StoreOp::Get { .. } => OpKind::Get,
            StoreOp::GetMany { .. } => OpKind::GetMany,
            StoreOp::Has { .. } => OpKind::Has,
            StoreOp::Set { .. } => OpKind::Set,
            StoreOp::SetMany { .. } => OpKind::SetMany,
            StoreOp::Add { .. } => OpKind::Add,
            StoreOp::Delete { .. } => OpKind::Delete,
            StoreOp::DeleteMany { .. } => OpKind::DeleteMany,
            StoreOp::Clear => OpKind::Clear,
        }
    }

    /// The method's name.
    pub fn name(self) -> &'static str {
        match self {
            OpKind::Get => "get",
            OpKind::GetMany => "get_many",
            OpKind::Has => "has",
            OpKind::Set => "set",
            OpKind::SetMany => "set_many",
            OpKind::Add => "add",
            OpKind::Delete => "delete",
            OpKind::DeleteMany => "delete_many",
            OpKind::Clear => "clear",
        }
    }

    /// The kind's position in [`OpKind::ALL`].
    pub fn index(self) -> usize {
        OpKind::ALL.iter().position(|k| *k == self).unwrap_or(0)
    }
}

/// Everything about a call that is not the cache's business: what the function returns,
/// what the hooks answer, and which backend calls fail. The model and the engine's driver
/// each get their own oracle built from the same plan, so both see the same world.
pub trait Oracle {
    /// Runs the decorated function.
    fn compute(&mut self) -> Result<Value, PyError>;
    /// Answers a hook.
    fn hook(&mut self, query: &HookQuery) -> Result<bool, PyError>;
    /// Called before every backend call of `kind`: the failure to inject, if any.
    fn fault(&mut self, kind: OpKind) -> Option<StoreError>;
}

/// How the model is set up: the same knobs as the engine and its store.
#[derive(Clone, Debug, Default)]
pub struct ModelConfig {
    /// The Flask-Caching release.
    pub profile: Profile,
    /// The Python whose reprs are hashed.
    pub python: PythonVersion,
    /// `app.debug`.
    pub debug: bool,
    /// The backend's configuration (its flavour decides the `SimpleCache`).
    pub store: StoreConfig,
    /// Seed of the version strings (the engine's `version_seed`).
    pub version_seed: u64,
}

/// The model refuses a command that cannot describe a Python call (the engine answers
/// such commands with an `EngineError`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejected(pub String);

/// What the model knows after a command, besides its outcome.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Effects {
    /// Exceptions logged and swallowed during the command.
    pub logged: usize,
    /// Version strings drawn during the command.
    pub minted: usize,
}

/// The reference model.
pub struct Model {
    profile: Profile,
    py: PythonVersion,
    debug: bool,
    store: ModelStore,
    /// Shared, so that a call holds its registration while the model changes.
    memoized: Vec<Arc<Memoized>>,
    cached: Vec<Arc<CachedOptions>>,
    injected: VecDeque<Version>,
    generator: VersionGenerator,
    /// Key material derived per function and arguments ([`KeyMemo`]).
    keys: RefCell<KeyMemo>,
    /// View keys derived per view and request ([`ViewKeyMemo`]).
    view_keys: RefCell<ViewKeyMemo>,
}

/// What a memoized call's key is made of apart from the stored versions: a pure function
/// of the function, its arguments, the profile and the Python, so it is derived once per
/// function and arguments and looked up after that.
#[derive(Debug)]
struct Derived {
    /// The namespace's version keys (`args_to_ignore` applied), in fetch order, or the
    /// error deriving the namespace raised.
    version_keys: Result<Vec<String>, PyError>,
    /// The hashed call text (the key before its versions), or the error normalizing the
    /// arguments raised.
    body: Result<String, PyError>,
}

/// [`Derived`] by `(function, receiver, args, kwargs)`, the call as it was made (the
/// receiver is prepended to the arguments only when the call is first derived): a map from
/// a structural hash of the call to the calls with that hash, compared in full (a
/// collision costs a comparison, never a wrong key). Never iterated, so its order cannot
/// leak into anything.
#[derive(Debug, Default)]
struct KeyMemo {
    calls: HashMap<u64, Vec<MemoEntry>, FxBuildHasher>,
    len: usize,
}

type MemoEntry = (
    usize,
    Option<Receiver>,
    Vec<Value>,
    Vec<(String, Value)>,
    Arc<Derived>,
);

/// Distinct calls remembered at most; beyond it the memo starts again (arbitrary
/// histories, as the fuzzer makes, are not bounded like the workload's calls).
const KEY_MEMO_CAP: usize = 1 << 14;

impl KeyMemo {
    fn hash(
        function: usize,
        receiver: Option<&Receiver>,
        args: &[Value],
        kwargs: &[(String, Value)],
    ) -> u64 {
        use crate::explore::digest;
        let mut h = digest::Digest::default();
        h.word(function as u64);
        match receiver {
            None => h.tag(0),
            Some(Receiver::Instance(object)) => {
                h.tag(1);
                digest::object(&mut h, object);
            }
            Some(Receiver::Class(class)) => {
                h.tag(2);
                digest::class(&mut h, class);
            }
        }
        h.word(args.len() as u64);
        for a in args {
            digest::value(&mut h, a);
        }
        h.word(kwargs.len() as u64);
        for (k, v) in kwargs {
            h.str(k);
            digest::value(&mut h, v);
        }
        h.value()
    }

    fn get(
        &self,
        hash: u64,
        function: usize,
        receiver: Option<&Receiver>,
        args: &[Value],
        kwargs: &[(String, Value)],
    ) -> Option<Arc<Derived>> {
        self.calls.get(&hash)?.iter().find_map(|(f, r, a, k, d)| {
            (*f == function
                && r.as_ref() == receiver
                && a.as_slice() == args
                && k.as_slice() == kwargs)
                .then(|| Arc::clone(d))
        })
    }

    fn insert(&mut self, hash: u64, entry: MemoEntry) {
        if self.len >= KEY_MEMO_CAP {
            self.calls.clear();
            self.len = 0;
        }
        self.len += 1;
        self.calls.entry(hash).or_default().push(entry);
    }
}

/// View keys of `@cached` calls (`view_key` in request mode, a pure function of the view's
/// options, the request and the prefix callable's result), by a structural hash of the
/// call, compared in full like [`KeyMemo`]'s.
#[derive(Debug, Default)]
struct ViewKeyMemo {
    calls: HashMap<u64, Vec<ViewMemoEntry>, FxBuildHasher>,
    len: usize,
}

type ViewMemoEntry = (
    usize,
    Option<Request>,
    Option<String>,
    Result<String, ViewKeyError>,
);

impl ViewKeyMemo {
    fn hash(view: usize, request: Option<&Request>, prefix_result: Option<&str>) -> u64 {
        let mut h = crate::explore::digest::Digest::default();
        h.word(view as u64);
        match request {
            None => h.tag(0),
            Some(r) => {
                h.tag(1);
                h.str(&r.path);
                h.word(r.args.len() as u64);
                for (k, v) in &r.args {
                    h.str(k);
                    h.str(v);
                }
            }
        }
        match prefix_result {
            None => h.tag(0),
            Some(p) => {
                h.tag(1);
                h.str(p);
            }
        }
        h.value()
    }
}

/// Where a call's work happens: the store, the oracle and the clock, with counts of what
/// was logged and minted.
struct World<'a> {
    store: &'a mut ModelStore,
    oracle: &'a mut dyn Oracle,
    now: Timestamp,
    py: PythonVersion,
    effects: Effects,
}

impl World<'_> {
    /// The failure the oracle injects into this call of `kind`, as Python sees it.
    fn fault(&mut self, kind: OpKind) -> Result<(), PyError> {
        match self.oracle.fault(kind) {
            Some(e) => Err(e.to_py_error(self.py)),
            None => Ok(()),
        }
    }

    /// One backend call, unless the oracle makes it fail.
    fn call(&mut self, op: &StoreOp) -> Result<StoreReply, PyError> {
        self.fault(OpKind::of(op))?;
        self.store
            .execute(op, self.now)
            .map_err(|e| e.to_py_error(self.py))
    }

    // The calls the model makes most, without building a `StoreOp`: each asks the oracle
    // as `call` does, then answers as `ModelStore::execute` does.

    fn get(&mut self, key: &str) -> Result<Value, PyError> {
        self.fault(OpKind::Get)?;
        Ok(self.store.get(key, self.now))
    }

    fn has(&mut self, key: &str) -> Result<bool, PyError> {
        self.fault(OpKind::Has)?;
        Ok(self.store.has(key, self.now))
    }

    fn get_many(&mut self, keys: &[String]) -> Result<Vec<Value>, PyError> {
        self.fault(OpKind::GetMany)?;
        let now = self.now;
        Ok(keys.iter().map(|k| self.store.get(k, now)).collect())
    }

    fn set(&mut self, key: &str, value: Value, timeout: Option<i64>) -> Result<(), PyError> {
        self.fault(OpKind::Set)?;
        self.store
            .set_call(key, value, timeout, self.now)
            .map(drop)
            .map_err(|e| e.to_py_error(self.py))
    }

    fn set_many<K: AsRef<str>, V: std::borrow::Borrow<Value>>(
        &mut self,
        items: &[(K, V)],
        timeout: Option<i64>,
    ) -> Result<(), PyError> {
        self.fault(OpKind::SetMany)?;
        self.store
            .set_many_call(items, timeout, self.now)
            .map_err(|e| e.to_py_error(self.py))
    }

    fn delete(&mut self, key: &str) -> Result<Value, PyError> {
        self.fault(OpKind::Delete)?;
        Ok(Value::Bool(self.store.delete_call(key, self.now)))
    }

    fn compute(&mut self) -> Result<Value, PyError> {
        self.oracle.compute()
    }

    fn hook(&mut self, q: HookQuery) -> Result<bool, PyError> {
        self.oracle.hook(&q)
    }

    fn log(&mut self) {
        self.effects.logged += 1;
    }
}

/// Flask-Caching's "Exception possibly due to cache backend." handling of an error in the
/// key-and-read phase (FC-1.1.6, FC-2.6.2): re-raised in debug mode, else logged and the
/// function run uncached.
fn uncached(debug: bool, w: &mut World<'_>, error: PyError) -> Outcome {
    if debug {
        return Outcome {
            result: Err(error.clone()),
            event: CacheEvent::Uncached { error },
        };
    }
    w.log();
    Outcome {
        result: w.compute(),
        event: CacheEvent::Uncached { error },
    }
}

fn miss(result: Result<Value, PyError>, key: String, stored: bool) -> Outcome {
    Outcome {
        result,
        event: CacheEvent::Miss { key, stored },
    }
}

fn direct(result: Result<Value, PyError>) -> Outcome {
    Outcome {
        result,
        event: CacheEvent::Direct,
    }
}

/// What `cache.<op>()` returns for a backend reply.
fn returned(reply: StoreReply) -> Value {
    match reply {
        StoreReply::Value(v) => v,
        StoreReply::Values(vs) => Value::List(vs),
        StoreReply::Bool(b) => Value::Bool(b),
        StoreReply::Keys(ks) => Value::List(ks.into_iter().map(Value::Str).collect()),
    }
}

impl Model {
    /// An empty cache with nothing registered.
    pub fn new(config: ModelConfig) -> Self {
        Model {
            profile: config.profile,
            py: config.python,
            debug: config.debug,
            store: ModelStore::new(&config.store),
            memoized: Vec::new(),
            cached: Vec::new(),
            injected: VecDeque::new(),
            generator: VersionGenerator::new(config.version_seed),
            keys: RefCell::default(),
            view_keys: RefCell::default(),
        }
    }

    /// Versions to hand out before the seeded ones (a recorded trace's).
    pub fn inject_versions(&mut self, versions: impl IntoIterator<Item = Version>) {
        self.injected.extend(versions);
    }

    /// `@cache.memoize(options)` on `function`.
    pub fn memoize(&mut self, function: FunctionDescriptor, options: MemoizeOptions) -> MemoizedId {
        self.memoized
            .push(Arc::new(Memoized::new(function, options)));
        MemoizedId(self.memoized.len() - 1)
    }

    /// `@cache.cached(options)`.
    pub fn cached(&mut self, options: CachedOptions) -> CachedId {
        self.cached.push(Arc::new(options));
        CachedId(self.cached.len() - 1)
    }

    /// The cache's contents.
    pub fn store(&self) -> &ModelStore {
        &self.store
    }

    /// Removes `key` from the cache behind Flask-Caching's back (a lost version key).
    pub fn evict(&mut self, key: &str) -> bool {
        self.store.delete(key)
    }

    /// The profile.
    pub fn profile(&self) -> Profile {
        self.profile
    }

    fn mint(&mut self, effects: &mut Effects) -> String {
        effects.minted += 1;
        let v = match self.injected.pop_front() {
            Some(v) => v,
            None => self.generator.next_version(),
        };
        v.as_str().to_owned()
    }

    /// What `command` at `now` returns and does to the cache.
    pub fn apply(
        &mut self,
        command: &Command,
        now: Timestamp,
        oracle: &mut dyn Oracle,
    ) -> Result<(Outcome, Effects), Rejected> {
        let mut store =
            std::mem::replace(&mut self.store, ModelStore::new(&StoreConfig::default()));
        let mut w = World {
            store: &mut store,
            oracle,
            now,
            py: self.py,
            effects: Effects::default(),
        };
        let outcome = self.dispatch(command, &mut w);
        let effects = std::mem::take(&mut w.effects);
        self.store = store;
        outcome.map(|o| (o, effects))
    }

    fn dispatch(&mut self, command: &Command, w: &mut World<'_>) -> Result<Outcome, Rejected> {
        let unknown = || Rejected("unknown function or view".into());
        match command {
            Command::CallMemoized {
                function,
                bound_to,
                args,
                kwargs,
            } => {
                let m = self.memoized.get(function.0).cloned().ok_or_else(unknown)?;
                Ok(self.call_memoized(function.0, &m, bound_to.as_ref(), args, kwargs, w))
            }
            Command::CallCached {
                view,
                request,
                prefix_result,
                custom_key,
            } => {
                let v = self.cached.get(view.0).cloned().ok_or_else(unknown)?;
                self.call_cached(
                    view.0,
                    &v,
                    request.as_ref(),
                    prefix_result.as_deref(),
                    custom_key.as_deref(),
                    w,
                )
            }
            Command::DeleteMemoized {
                function,
                bound_to,
                args,
                kwargs,
            } => {
                let m = self.memoized.get(function.0).cloned().ok_or_else(unknown)?;
                Ok(self.delete_memoized(function.0, &m, bound_to.as_ref(), args, kwargs, w))
            }
            Command::DeleteMemoizedVerhash { function, bound_to } => {
                let m = self.memoized.get(function.0).cloned().ok_or_else(unknown)?;
                Ok(self.delete_verhash(&m, bound_to.as_ref(), w))
            }
            Command::DeleteCached {
                view,
                path,
                query_args,
                url_for,
                prefix_result,
                request,
            } => {
                let v = self.cached.get(view.0).cloned().ok_or_else(unknown)?;
                if !self.profile.has_explicit_path_api() {
                    return Ok(direct(Err(PyError::new(
                        PyExceptionType::AttributeError,
                        "'Cache' object has no attribute 'delete_cached'",
                    ))));
                }
                let input = ViewKeyInput {
                    request: request.as_ref().map(|r| RequestInfo {
                        path: &r.path,
                        args: &r.args,
                    }),
                    mode: ViewKeyMode::Explicit {
                        path: path.as_deref(),
                        query_args: query_args.as_ref(),
                        url_for: url_for.as_deref(),
                    },
                    prefix_result: prefix_result.as_deref(),
                };
                let key = match view_key(&v.key, &input, self.profile, self.py) {
                    Ok(k) => k,
                    Err(ViewKeyError::Python(e)) => return Ok(direct(Err(e))),
                    Err(ViewKeyError::Input(e)) => return Err(Rejected(e.to_string())),
                };
                // `cache.delete(f.make_cache_key(...))`, returning the backend's answer.
                Ok(match w.delete(&key) {
                    Ok(answer) => Outcome {
                        result: Ok(answer),
                        event: CacheEvent::Deleted { key },
                    },
                    Err(e) => direct(Err(e)),
                })
            }
            Command::Backend(op) => Ok(self.backend(op, w)),
            Command::Tick => Ok(direct(Ok(Value::None))),
        }
    }

    /// The version strings behind a namespace (`_memoize_version`, FC-2.5.3): stored ones
    /// are used; a missing one is replaced by a fresh version; if anything was replaced (or
    /// `rewrite`), every version key is written back with `timeout`. Their join is
    /// appended to `joined`.
    fn versions(
        &mut self,
        keys: &[String],
        timeout: Option<i64>,
        rewrite: bool,
        ask_forced: bool,
        w: &mut World<'_>,
        joined: &mut String,
    ) -> Result<(), PyError> {
        let mut versions = w.get_many(keys)?;
        let mut dirty = rewrite;
        // ≤2.4.1 asks forced_update here too; `True` rewrites the versions (FC-0.9).
        if ask_forced && w.hook(HookQuery::ForcedUpdate)? {
            dirty = true;
        }
        // `if version_data_list[i] is None`: mint; anything else stored stays as it is.
        for value in &mut versions {
            if *value == Value::None {
                dirty = true;
                *value = Value::Str(self.mint(&mut w.effects));
            }
        }
        if dirty {
            let items: Vec<(&str, &Value)> =
                keys.iter().map(String::as_str).zip(&versions).collect();
            w.set_many(&items, timeout)?;
        }
        // `"".join(version_data_list)`, after the write-back.
        for (i, version) in versions.iter().enumerate() {
            match version {
                Value::Str(s) => joined.push_str(s),
                other => {
                    return Err(PyError::type_error(format!(
                        "sequence item {i}: expected str instance, {} found",
                        other.type_name()
                    )))
                }
            }
        }
        Ok(())
    }

    /// The key material of a call of `m` (registered as `function`) reached through
    /// `receiver` (prepended to `args` as the call does, [`call_args_cow`]; `None` when
    /// `args` are already the full arguments) with `kwargs`: derived on the first such
    /// call, looked up after that.
    fn derived(
        &self,
        function: usize,
        m: &Memoized,
        receiver: Option<&Receiver>,
        args: &[Value],
        kwargs: &[(String, Value)],
    ) -> Arc<Derived> {
        let hash = KeyMemo::hash(function, receiver, args, kwargs);
        if let Some(d) = self
            .keys
            .borrow()
            .get(hash, function, receiver, args, kwargs)
        {
            return d;
        }
        let full = call_args_cow(m.function(), receiver, args);
        let derived = Arc::new(self.derive(m, &full, kwargs));
        self.keys.borrow_mut().insert(
            hash,
            (
                function,
                receiver.cloned(),
                args.to_vec(),
                kwargs.to_vec(),
                Arc::clone(&derived),
            ),
        );
        derived
    }

    /// [`Derived`] computed: the namespace and its version keys, then the call text
    /// hashed (FC-2.1, FC-2.2).
    fn derive(&self, m: &Memoized, args: &[Value], kwargs: &[(String, Value)]) -> Derived {
        let o = m.options();
        let ns = match function_namespace(
            Callee::unbound(m.function()),
            Some(args),
            self.profile,
            self.py,
        ) {
            Ok(ns) => ns,
            Err(e) => {
                return Derived {
                    version_keys: Err(e.clone()),
                    body: Err(e),
                }
            }
        };
        let version_keys = ns
            .version_keys(&o.args_to_ignore)
            .iter()
            .map(str::to_owned)
            .collect();
        let body = normalize_args(
            m.function(),
            args,
            kwargs,
            &o.args_to_ignore,
            self.profile,
            self.py,
        )
        .map(|normalized| {
            let name = match &o.make_name {
                Some(mk) => mk.apply(&ns.fname),
                None => ns.fname.clone(),
            };
            let mut text = String::new();
            write_key_text(&mut text, &name, &normalized, self.py);
            let mut key = String::new();
            let hash = o.hash_method.unwrap_or(self.profile.default_hash());
            write_key_body(&mut key, &text, hash, o.source.as_deref());
            key
        });
        Derived {
            version_keys: Ok(version_keys),
            body,
        }
    }

    /// The key of a `@cached` view registered as `view` called within `request`
    /// (`view_key` in request mode), derived on the first such call and looked up after
    /// that.
    fn request_view_key(
        &self,
        view: usize,
        options: &CachedOptions,
        request: Option<&Request>,
        prefix_result: Option<&str>,
    ) -> Result<String, ViewKeyError> {
        let hash = ViewKeyMemo::hash(view, request, prefix_result);
        if let Some(calls) = self.view_keys.borrow().calls.get(&hash) {
            let known = calls.iter().find(|(v, r, p, _)| {
                *v == view && r.as_ref() == request && p.as_deref() == prefix_result
            });
            if let Some((_, _, _, key)) = known {
                return key.clone();
            }
        }
        let input = ViewKeyInput {
            request: request.map(|r| RequestInfo {
                path: &r.path,
                args: &r.args,
            }),
            mode: ViewKeyMode::Request,
            prefix_result,
        };
        let key = view_key(&options.key, &input, self.profile, self.py);
        let mut memo = self.view_keys.borrow_mut();
        if memo.len >= KEY_MEMO_CAP {
            memo.calls.clear();
            memo.len = 0;
        }
        memo.len += 1;
        memo.calls.entry(hash).or_default().push((
            view,
            request.cloned(),
            prefix_result.map(str::to_owned),
            key.clone(),
        ));
        key
    }

    /// `make_cache_key`: the hashed call text plus the current versions (FC-2.1). The
    /// versions are read (and minted) before the arguments are normalized, as
    /// Flask-Caching does, so an argument error comes after the version round trip.
    fn memoize_key(
        &mut self,
        function: usize,
        m: &Memoized,
        (receiver, args): (Option<&Receiver>, &[Value]),
        kwargs: &[(String, Value)],
        w: &mut World<'_>,
    ) -> Result<String, PyError> {
        let o = m.options();
        let derived = self.derived(function, m, receiver, args, kwargs);
        let vkeys = derived.version_keys.as_ref().map_err(Clone::clone)?;
        let ask_forced = self.profile.forced_update_in_version() && o.hooks.forced_update;
        // The key is the hashed call text, then the versions joined: written in that order
        // into one string, though the versions are read first (an error normalizing the
        // arguments comes after the version round trip).
        let body = derived.body.as_ref();
        let mut key = String::with_capacity(body.map_or(0, String::len) + 32);
        if let Ok(body) = body {
            key.push_str(body);
        }
        self.versions(
            vkeys,
            self.profile.version_creation_timeout(o.timeout),
            false,
            ask_forced,
            w,
            &mut key,
        )?;
        body.map_err(Clone::clone)?;
        Ok(key)
    }

    /// The read: a hit is a stored value that is not `None` (or a stored `None` with
    /// `cache_none`), not declared stale.
    fn read(
        &self,
        key: &str,
        cache_none: bool,
        is_stale: bool,
        w: &mut World<'_>,
    ) -> Result<Option<Value>, PyError> {
        let value = w.get(key)?;
        let mut found = match value {
            Value::None => cache_none && w.has(key)?,
            _ => true,
        };
        if found
            && is_stale
            && self.profile.has_is_stale()
            && w.hook(HookQuery::IsStale(value.clone()))?
        {
            found = false;
        }
        Ok(found.then_some(value))
    }

    /// `unless`: `Some` when the call bypasses the cache (or `unless` raised).
    fn bypass(unless: bool, w: &mut World<'_>) -> Option<Outcome> {
        if !unless {
            return None;
        }
        match w.hook(HookQuery::Unless) {
            Ok(true) => Some(Outcome {
                result: w.compute(),
                event: CacheEvent::Bypassed,
            }),
            Ok(false) => None,
            Err(e) => Some(Outcome {
                result: Err(e),
                event: CacheEvent::Bypassed,
            }),
        }
    }

    /// A miss: run the function, filter, store. `Err` ends the call; `Ok` means stored.
    /// With `capture_http` (2.5's `@cached`, FC-1.1.8) an `HTTPException` the function
    /// raises is the value to filter and store.
    fn compute_and_store(
        &self,
        key: &str,
        response_filter: bool,
        timeout: Option<i64>,
        recompute_on_failed_set: bool,
        capture_http: bool,
        w: &mut World<'_>,
    ) -> Result<Value, Outcome> {
        let value = match w.compute() {
            Ok(v) => v,
            Err(e) if capture_http && e.http().is_some() => Value::Exception(Box::new(e)),
            Err(e) => return Err(miss(Err(e), key.to_owned(), false)),
        };
        if response_filter {
            match w.hook(HookQuery::ResponseFilter(value.clone())) {
                Ok(true) => {}
                Ok(false) => return Err(miss(Ok(value), key.to_owned(), false)),
                Err(e) => return Err(miss(Err(e), key.to_owned(), false)),
            }
        }
        match w.set(key, value.clone(), timeout) {
            Ok(_) => Ok(value),
            Err(_) if recompute_on_failed_set && !self.debug => {
                // Flask-Cache 0.13's `@cached`: logs, then calls the view again.
                w.log();
                Err(miss(w.compute(), key.to_owned(), false))
            }
            Err(e) => Err(self.store_failed(key, value, e, w)),
        }
    }

    /// A failed write after the value was computed: logged (raised in debug mode); the
    /// value is returned unstored (FC-1.1.8).
    fn store_failed(&self, key: &str, value: Value, error: PyError, w: &mut World<'_>) -> Outcome {
        if self.debug {
            return miss(Err(error), key.to_owned(), false);
        }
        w.log();
        miss(Ok(value), key.to_owned(), false)
    }

    /// A memoized function called (FC-2.6).
    fn call_memoized(
        &mut self,
        function: usize,
        m: &Memoized,
        bound_to: Option<&Receiver>,
        args: &[Value],
        kwargs: &[(String, Value)],
        w: &mut World<'_>,
    ) -> Outcome {
        let o = m.options();
        if let Some(outcome) = Model::bypass(o.hooks.unless, w) {
            return outcome;
        }
        let legacy_forced = self.profile.forced_update_in_version();
        let mut lookup = || -> Result<(String, Option<Value>), PyError> {
            let mut forced = false;
            if !legacy_forced && o.hooks.forced_update {
                forced = w.hook(HookQuery::ForcedUpdate)?;
            }
            let key = self.memoize_key(function, m, (bound_to, args), kwargs, w)?;
            if legacy_forced && o.hooks.forced_update {
                forced = w.hook(HookQuery::ForcedUpdate)?;
            }
            if forced {
                return Ok((key, None));
            }
            let hit = self.read(&key, o.cache_none, o.hooks.is_stale, w)?;
            Ok((key, hit))
        };
        let key = match lookup() {
            Err(e) => return uncached(self.debug, w, e),
            Ok((key, Some(value))) => {
                return Outcome {
                    result: Ok(value),
                    event: CacheEvent::Hit { key },
                }
            }
            Ok((key, None)) => key,
        };
        let compute_and_store =
            self.compute_and_store(&key, o.hooks.response_filter, o.timeout, false, false, w);
        let value = match compute_and_store {
            Ok(v) => v,
            Err(outcome) => return outcome,
        };
        if self.profile.refreshes_version_keys() {
            // FC-2.5.4: the version keys take the entry's timeout.
            let derived = self.derived(function, m, bound_to, args, kwargs);
            let refreshed = match &derived.version_keys {
                Ok(vkeys) => self.versions(vkeys, o.timeout, true, false, w, &mut String::new()),
                Err(e) => Err(e.clone()),
            };
            if let Err(e) = refreshed {
                return self.store_failed(&key, value, e, w);
            }
        }
        miss(Ok(value), key, true)
    }

    /// A `@cached` view called within a request (FC-1.1).
    fn call_cached(
        &mut self,
        id: usize,
        view: &CachedOptions,
        request: Option<&Request>,
        prefix_result: Option<&str>,
        custom_key: Option<&str>,
        w: &mut World<'_>,
    ) -> Result<Outcome, Rejected> {
        if let Some(outcome) = Model::bypass(view.hooks.unless, w) {
            return Ok(outcome);
        }
        let key = if view.custom_make_cache_key {
            match custom_key {
                Some(k) => Ok(k.to_owned()),
                None => {
                    return Err(Rejected(
                        "make_cache_key is custom but no key was supplied".into(),
                    ))
                }
            }
        } else {
            match self.request_view_key(id, view, request, prefix_result) {
                Ok(k) => Ok(k),
                Err(ViewKeyError::Python(e)) => Err(e),
                Err(ViewKeyError::Input(e)) => return Err(Rejected(e.to_string())),
            }
        };
        let lookup = || -> Result<(String, Option<Value>), PyError> {
            let key = key?;
            if view.hooks.forced_update && w.hook(HookQuery::ForcedUpdate)? {
                return Ok((key, None));
            }
            let hit = self.read(&key, view.cache_none, view.hooks.is_stale, w)?;
            Ok((key, hit))
        };
        // 2.5 raises an HTTPException it hits or computes, stored or not (FC-1.1.7,
        // FC-1.1.8); the uncached fallback returns what the function returned.
        let http = self.profile.cached_captures_http_exceptions();
        let raise_http = |outcome: Outcome| match outcome.result {
            Ok(Value::Exception(e)) if http && e.http().is_some() => Outcome {
                result: Err(*e),
                event: outcome.event,
            },
            _ => outcome,
        };
        let key = match lookup() {
            Err(e) => return Ok(uncached(self.debug, w, e)),
            Ok((key, Some(value))) => {
                return Ok(raise_http(Outcome {
                    result: Ok(value),
                    event: CacheEvent::Hit { key },
                }))
            }
            Ok((key, None)) => key,
        };
        let recompute = self.profile.cached_recomputes_after_failed_set();
        Ok(raise_http(
            match self.compute_and_store(
                &key,
                view.hooks.response_filter,
                view.timeout,
                recompute,
                http,
                w,
            ) {
                Ok(value) => miss(Ok(value), key, true),
                Err(outcome) => outcome,
            },
        ))
    }

    /// An error inside `delete_memoized`: propagated, except in 0.13 (logged, swallowed,
    /// unless debug) (FC-3.3.2, FC-5.3).
    fn delete_failed(&self, error: PyError, w: &mut World<'_>) -> Outcome {
        if !self.profile.swallows_delete_errors() || self.debug {
            return direct(Err(error));
        }
        w.log();
        Outcome {
            result: Ok(Value::None),
            event: CacheEvent::Uncached { error },
        }
    }

    /// `cache.delete_memoized(f, *args, **kwargs)` (FC-3.2, FC-3.3).
    fn delete_memoized(
        &mut self,
        function: usize,
        m: &Memoized,
        bound_to: Option<&Receiver>,
        args: &[Value],
        kwargs: &[(String, Value)],
        w: &mut World<'_>,
    ) -> Outcome {
        let callee = match bound_to {
            Some(r) => Callee::bound(m.function(), r),
            None => Callee::unbound(m.function()),
        };
        if args.is_empty() && kwargs.is_empty() {
            // A fresh version for the last version key: every entry under the old one is
            // orphaned (FC-3.2.2).
            let reset = function_namespace(callee, None, self.profile, self.py).and_then(|ns| {
                let vkeys: Vec<String> = ns.version_keys(&[]).iter().map(str::to_owned).collect();
                let last = ns.version_keys(&[]).last().to_owned();
                // A missing version is drawn before the reset replaces the whole list, so
                // whatever else is stored (even a non-str) is never joined.
                for value in w.get_many(&vkeys)? {
                    if value == Value::None {
                        self.mint(&mut w.effects);
                    }
                }
                let fresh = self.mint(&mut w.effects);
                w.set_many(
                    &[(last.as_str(), Value::Str(fresh))],
                    self.profile.version_reset_timeout(),
                )?;
                Ok(last)
            });
            return match reset {
                Ok(key) => Outcome {
                    result: Ok(Value::None),
                    event: CacheEvent::VersionReset { key },
                },
                Err(e) => self.delete_failed(e, w),
            };
        }
        let args = ensure_self_arg(callee, args, self.profile);
        // `args` are the full arguments here: nothing is prepended.
        let deleted = self
            .memoize_key(function, m, (None, &args), kwargs, w)
            .and_then(|key| {
                w.delete(&key)?;
                Ok(key)
            });
        match deleted {
            Ok(key) => Outcome {
                result: Ok(Value::None),
                event: CacheEvent::Deleted { key },
            },
            Err(e) => self.delete_failed(e, w),
        }
    }

    /// `cache.delete_memoized_verhash(f)`: the last version key is deleted (FC-3.4.1).
    fn delete_verhash(
        &mut self,
        m: &Memoized,
        bound_to: Option<&Receiver>,
        w: &mut World<'_>,
    ) -> Outcome {
        let callee = match bound_to {
            Some(r) => Callee::bound(m.function(), r),
            None => Callee::unbound(m.function()),
        };
        let deleted = function_namespace(callee, None, self.profile, self.py).and_then(|ns| {
            let key = ns.version_keys(&[]).last().to_owned();
            w.call(&StoreOp::DeleteMany {
                keys: vec![key.clone()],
            })?;
            Ok(key)
        });
        match deleted {
            Ok(key) => Outcome {
                result: Ok(Value::None),
                event: CacheEvent::VersionDeleted { key },
            },
            Err(e) => self.delete_failed(e, w),
        }
    }

    /// `cache.get/set/...`: passed to the backend; 0.13 returns only `get`'s and
    /// `get_many`'s results and has no `has` (FC-3.1.1, FC-5.1).
    fn backend(&mut self, op: &StoreOp, w: &mut World<'_>) -> Outcome {
        if matches!(op, StoreOp::Has { .. }) && !self.profile.has_has_proxy() {
            return direct(Err(PyError::new(
                PyExceptionType::AttributeError,
                "'Cache' object has no attribute 'has'",
            )));
        }
        let returns = self.profile.proxies_return_results()
            || matches!(op, StoreOp::Get { .. } | StoreOp::GetMany { .. });
        match w.call(op) {
            Ok(reply) if returns => direct(Ok(returned(reply))),
            Ok(_) => direct(Ok(Value::None)),
            Err(e) => direct(Err(e)),
        }
    }

    /// The entry a call of `m` would be served from right now, without touching anything:
    /// `None` when a version is missing (the call would mint one and miss) or no live
    /// entry is there. Hooks are not consulted.
    pub fn peek_memoized(
        &self,
        m: MemoizedId,
        bound_to: Option<&Receiver>,
        args: &[Value],
        kwargs: &[(String, Value)],
        now: Timestamp,
    ) -> Option<(String, Value)> {
        let function = m.0;
        let m = self.memoized.get(function)?;
        let o = m.options();
        let derived = self.derived(function, m, bound_to, args, kwargs);
        let vkeys = derived.version_keys.as_ref().ok()?;
        let body = derived.body.as_ref().ok()?;
        let mut key = body.clone();
        for vkey in vkeys {
            match self.store.get(vkey, now) {
                Value::Str(s) => key.push_str(&s),
                _ => return None,
            }
        }
        self.peek_key(&key, o.cache_none, now).map(|v| (key, v))
    }

    /// The entry a `@cached` view would be served from right now (see
    /// [`Model::peek_memoized`]).
    pub fn peek_cached(
        &self,
        view: CachedId,
        request: Option<&Request>,
        prefix_result: Option<&str>,
        now: Timestamp,
    ) -> Option<(String, Value)> {
        let v = self.cached.get(view.0)?;
        let key = self
            .request_view_key(view.0, v, request, prefix_result)
            .ok()?;
        self.peek_key(&key, v.cache_none, now).map(|v| (key, v))
    }

    fn peek_key(&self, key: &str, cache_none: bool, now: Timestamp) -> Option<Value> {
        let value = self.store.get(key, now);
        let found = match value {
            Value::None => cache_none && self.store.has(key, now),
            _ => true,
        };
        found.then_some(value)
    }
}
