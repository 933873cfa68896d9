//! Typed handles of decorated functions: [`Memoized`] (`@cache.memoize`) and [`CachedView`]
//! (`@cache.cached`).

use crate::cache::{deleted, no_compute, no_hook, Cache, Deleted};
use crate::convert::{FromPy, IntoArgs, PyRepr, ToPy};
use crate::error::{CallError, Error, BODY_EXCEPTION};
use flaskcache_engine::engine::{
    CacheEvent, CachedId, CachedOptions, CommandRef, EngineConfig, HookQuery,
    Memoized as Registered, MemoizedId, Outcome, Request,
};
use flaskcache_engine::keys::QueryArgs;
use flaskcache_engine::{
    ClassRef, FunctionDescriptor, Profile, PyError, PyExceptionType, PythonVersion, Receiver, Value,
};
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

/// Answers the hooks a decorator was given (`unless`, `forced_update`, `is_stale`,
/// `response_filter`): `Ok(true)` is Python's `True` (or a truthy value).
pub type HookFn = Arc<dyn Fn(&HookQuery) -> Result<bool, PyError> + Send + Sync>;

/// A call's result and what the cache did.
#[derive(Clone, Debug, PartialEq)]
pub struct Called<T> {
    /// What the call returned.
    pub value: T,
    /// Hit, miss (stored or not), bypassed, or uncached after a logged error.
    pub event: CacheEvent,
}

impl<T> Called<T> {
    /// Whether the value came from the cache.
    pub fn is_hit(&self) -> bool {
        matches!(self.event, CacheEvent::Hit { .. })
    }

    /// The value; the event's key goes back to this thread's spare buffer for the next
    /// call to build its key in.
    #[inline(always)]
    fn into_value(self) -> T {
        crate::spare_key::give_back(self.event);
        self.value
    }
}

/// What the body did during one call.
struct BodyState<T, E> {
    produced: Option<T>,
    failed: Option<E>,
}

impl<T: ToPy, E: std::error::Error> BodyState<T, E> {
    fn new() -> Self {
        BodyState {
            produced: None,
            failed: None,
        }
    }

    /// Runs the body, keeps its own result, and tells the engine what Python would see.
    fn run(&mut self, py: PythonVersion, result: Result<T, E>) -> Result<Value, PyError> {
        match result {
            Ok(v) => {
                let value = v.to_py(py);
                self.produced = Some(v);
                Ok(value)
            }
            Err(e) => {
                let error = PyError::new(BODY_EXCEPTION, e.to_string());
                self.failed = Some(e);
                Err(error)
            }
        }
    }
}

impl<T: FromPy, E> BodyState<T, E> {
    /// The call's result: the body's own value on a miss, the cached value converted on a
    /// hit, the body's error, or the exception the flow raised.
    #[inline(always)]
    fn finish(self, outcome: Outcome) -> Result<Called<T>, CallError<E>> {
        match outcome.result {
            Ok(value) => {
                let value = match self.produced {
                    Some(v) => v,
                    None => T::from_py(value).map_err(Error::from)?,
                };
                Ok(Called {
                    value,
                    event: outcome.event,
                })
            }
            Err(raised) => match self.failed {
                Some(e) => Err(CallError::Body(e)),
                None => Err(CallError::Cache(Error::Raised(raised))),
            },
        }
    }
}

fn hook_answer(hook: &Option<HookFn>, query: &HookQuery) -> Result<bool, PyError> {
    match hook {
        Some(h) => h(query),
        None => Ok(false),
    }
}

/// A memoized function (`@cache.memoize(...)`) returning `T`: cheap to clone, `Send` and
/// `Sync`; it holds its registration, so calls take no registry lock.
///
/// ```
/// use flaskcache::{Cache, MemoizeOptions};
/// use std::convert::Infallible;
///
/// let cache = Cache::new().unwrap();
/// let area = cache.memoize::<f64>("geometry.area", ["w", "h"], MemoizeOptions::default()).unwrap();
/// let first = area.call_traced(&cache, (2.0, 3.5), || Ok::<_, Infallible>(7.0)).unwrap();
/// assert!(!first.is_hit());
/// let second = area.call_traced(&cache, (2.0, 3.5), || Ok::<_, Infallible>(0.0)).unwrap();
/// assert!(second.is_hit());
/// assert_eq!(second.value, 7.0);
/// ```
pub struct Memoized<T> {
    def: Arc<Registered>,
    hook: Option<HookFn>,
    profile: Profile,
    python: PythonVersion,
    _result: PhantomData<fn() -> T>,
}

impl<T> Clone for Memoized<T> {
    fn clone(&self) -> Self {
        Memoized {
            def: Arc::clone(&self.def),
            hook: self.hook.clone(),
            profile: self.profile,
            python: self.python,
            _result: PhantomData,
        }
    }
}

impl<T> fmt::Debug for Memoized<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Memoized")
            .field("function", self.def.function())
            .field("options", self.def.options())
            .finish_non_exhaustive()
    }
}

impl<T> Memoized<T> {
    pub(crate) fn new(def: Arc<Registered>, config: &EngineConfig) -> Self {
        Memoized {
            def,
            hook: None,
            profile: config.profile,
            python: config.python,
            _result: PhantomData,
        }
    }

    /// The function as registered.
    pub fn function(&self) -> &FunctionDescriptor {
        self.def.function()
    }

    /// The decorator's arguments.
    pub fn options(&self) -> &flaskcache_engine::engine::MemoizeOptions {
        self.def.options()
    }

    /// The same function with `hook` answering the hooks its options declare (without
    /// one, every hook answers `False`).
    pub fn with_hooks(
        mut self,
        hook: impl Fn(&HookQuery) -> Result<bool, PyError> + Send + Sync + 'static,
    ) -> Self {
        self.hook = Some(Arc::new(hook));
        self
    }

    pub(crate) fn with_args(&self) -> MemoCall<'_, T> {
        MemoCall {
            handle: self,
            bound_to: None,
            kwargs: Vec::new(),
        }
    }

    /// A call with a keyword argument (`f(7, verbose=True)`); chain more with
    /// [`MemoCall::kwarg`].
    pub fn kwarg(&self, name: &str, value: &impl ToPy) -> MemoCall<'_, T> {
        self.with_args().kwarg(name, value)
    }

    /// A call of an instance method through `receiver` (`obj.method(...)`).
    pub fn on_instance(&self, receiver: &impl PyRepr) -> MemoCall<'_, T> {
        self.with_args().on_instance(receiver)
    }

    /// A call of a classmethod through its class (`Cls.method(...)`).
    pub fn on_class(&self, class: ClassRef) -> MemoCall<'_, T> {
        self.with_args().on_class(class)
    }
}

impl<T: ToPy + FromPy> Memoized<T> {
    /// Calls the function with positional `args`: the cached result, or `body`'s (which is
    /// then cached). `body` runs with no lock held and may call other cached functions.
    pub fn call<E: std::error::Error>(
        &self,
        cache: &Cache,
        args: impl IntoArgs,
        body: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, CallError<E>> {
        self.with_args().call(cache, args, body)
    }

    /// [`Memoized::call`], also saying what the cache did.
    pub fn call_traced<E: std::error::Error>(
        &self,
        cache: &Cache,
        args: impl IntoArgs,
        body: impl FnOnce() -> Result<T, E>,
    ) -> Result<Called<T>, CallError<E>> {
        self.with_args().call_traced(cache, args, body)
    }
}

/// A call being put together: keyword arguments and the receiver of a bound method.
///
/// ```
/// use flaskcache::{Binding, Cache, ClassRef, FunctionDescriptor, MemoizeOptions, Param, PyRepr, PythonVersion};
/// use std::convert::Infallible;
///
/// struct Calc(i64);
/// impl PyRepr for Calc {
///     fn py_class(&self) -> ClassRef { ClassRef::new("app", "Calc") }
///     fn py_repr(&self, _: PythonVersion) -> String { format!("Calc({})", self.0) }
/// }
///
/// let cache = Cache::new().unwrap();
/// let f = FunctionDescriptor::new("app", "Calc.scaled",
///     vec![Param::required("self"), Param::required("x"), Param::with_default("k", flaskcache::Value::int(1))],
///     Binding::InstanceMethod).unwrap();
/// let scaled = cache.memoize_fn::<i64>(f, MemoizeOptions::default()).unwrap();
/// let calc = Calc(3);
/// let v = scaled.on_instance(&calc).kwarg("k", &10).call(&cache, (2,), || Ok::<_, Infallible>(60)).unwrap();
/// assert_eq!(v, 60);
/// let hit = scaled.on_instance(&calc).kwarg("k", &10).call_traced(&cache, (2,), || Ok::<_, Infallible>(0)).unwrap();
/// assert!(hit.is_hit());
/// ```
pub struct MemoCall<'h, T> {
    handle: &'h Memoized<T>,
    bound_to: Option<Receiver>,
    kwargs: Vec<(String, Value)>,
}

impl<T> fmt::Debug for MemoCall<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoCall")
            .field("function", &self.handle.def.function().qualname)
            .field("bound_to", &self.bound_to)
            .field("kwargs", &self.kwargs)
            .finish()
    }
}

impl<T> MemoCall<'_, T> {
    /// Adds a keyword argument.
    pub fn kwarg(mut self, name: &str, value: &impl ToPy) -> Self {
        self.kwargs
            .push((name.to_owned(), value.to_py(self.handle.python)));
        self
    }

    /// Reaches the method through `receiver` (an instance).
    pub fn on_instance(mut self, receiver: &impl PyRepr) -> Self {
        let object = receiver.to_py_object(self.handle.python);
        self.bound_to = Some(Receiver::Instance(Box::new(object)));
        self
    }

    /// Reaches the classmethod through `class`.
    pub fn on_class(mut self, class: ClassRef) -> Self {
        self.bound_to = Some(Receiver::Class(class));
        self
    }

    /// `cache.delete_memoized(f, *args, **kwargs)` for this call's receiver and keyword
    /// arguments: with no arguments at all, every result (a fresh version).
    pub fn delete(self, cache: &Cache, args: impl IntoArgs) -> Result<Deleted, Error> {
        let h = self.handle;
        cache.check(h.profile, h.python)?;
        let (outcome, existed) = args.with_args(h.python, |args| {
            let command = CommandRef::DeleteMemoized {
                function: MemoizedId(0),
                bound_to: self.bound_to.as_ref(),
                args,
                kwargs: &self.kwargs,
            };
            cache.execute(
                std::slice::from_ref(&*h.def),
                &[],
                command,
                no_compute,
                no_hook,
            )
        })?;
        deleted(outcome, existed)
    }

    /// `cache.delete_memoized_verhash(f)` for this call's receiver.
    pub fn delete_verhash(self, cache: &Cache) -> Result<Deleted, Error> {
        let h = self.handle;
        cache.check(h.profile, h.python)?;
        let command = CommandRef::DeleteMemoizedVerhash {
            function: MemoizedId(0),
            bound_to: self.bound_to.as_ref(),
        };
        let (outcome, existed) = cache.execute(
            std::slice::from_ref(&*h.def),
            &[],
            command,
            no_compute,
            no_hook,
        )?;
        deleted(outcome, existed)
    }
}

impl<T: ToPy + FromPy> MemoCall<'_, T> {
    /// Calls with positional `args` (see [`Memoized::call`]).
    pub fn call<E: std::error::Error>(
        self,
        cache: &Cache,
        args: impl IntoArgs,
        body: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, CallError<E>> {
        self.call_traced(cache, args, body).map(Called::into_value)
    }

    /// Calls with positional `args`, also saying what the cache did.
    #[inline(always)]
    pub fn call_traced<E: std::error::Error>(
        self,
        cache: &Cache,
        args: impl IntoArgs,
        body: impl FnOnce() -> Result<T, E>,
    ) -> Result<Called<T>, CallError<E>> {
        let h = self.handle;
        cache.check(h.profile, h.python)?;
        let py = h.python;
        let mut state = BodyState::new();
        let mut body = Some(body);
        let compute = || match body.take() {
            Some(f) => state.run(py, f()),
            None => Err(PyError::new(
                PyExceptionType::RuntimeError,
                "the function body was asked to run twice in one call",
            )),
        };
        let (outcome, _) = args.with_args(py, |args| {
            let command = CommandRef::CallMemoized {
                function: MemoizedId(0),
                bound_to: self.bound_to.as_ref(),
                args,
                kwargs: &self.kwargs,
            };
            cache.execute(
                std::slice::from_ref(&*h.def),
                &[],
                command,
                compute,
                |q: &HookQuery| hook_answer(&h.hook, q),
            )
        })?;
        state.finish(outcome)
    }
}

/// `request(path, query)`: the request a view is called in, as Flask reports it
/// (`request.path`, percent-decoded, and `request.args.items(multi=True)` in order).
///
/// ```
/// let r = flaskcache::request("/students", [("page", "2"), ("sort", "name")]);
/// assert_eq!(r.path, "/students");
/// assert_eq!(r.args.len(), 2);
/// ```
pub fn request<K: Into<String>, V: Into<String>>(
    path: &str,
    query: impl IntoIterator<Item = (K, V)>,
) -> Request {
    Request {
        path: path.to_owned(),
        args: query
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect(),
    }
}

/// A request for `path` without query arguments.
pub fn request_path(path: &str) -> Request {
    request(path, std::iter::empty::<(String, String)>())
}

/// A view call that raised: the exception (the body's, or the `HTTPException` a hit raised
/// again) and what the cache did. See [`CachedView::call_raising`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ViewRaised {
    /// The exception the view call raised.
    pub error: PyError,
    /// Hit (a stored `HTTPException` raised again), or miss (stored or not).
    pub event: CacheEvent,
}

impl ViewRaised {
    /// Whether the exception came from the cache.
    pub fn is_hit(&self) -> bool {
        matches!(self.event, CacheEvent::Hit { .. })
    }
}

impl fmt::Display for ViewRaised {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the view raised {}", self.error)
    }
}

impl std::error::Error for ViewRaised {}

/// Computes a per-call string from the request in progress (a callable `key_prefix`, or
/// a custom `make_cache_key`).
pub type KeyFn = Arc<dyn Fn(Option<&Request>) -> String + Send + Sync>;

/// A `@cache.cached(...)` view returning `T`: cheap to clone, `Send` and `Sync`.
///
/// ```
/// use flaskcache::{request, request_path, Cache, CachedOptions, Deleted};
/// use std::convert::Infallible;
///
/// let cache = Cache::new().unwrap();
/// let index = cache.cached_view::<String>(CachedOptions::default()).unwrap();
/// let page = index.call(&cache, &request_path("/students"), || Ok::<_, Infallible>("<ul>..</ul>".to_owned())).unwrap();
/// let hit = index.call_traced(&cache, &request("/students", [("page", "2")]), || Ok::<_, Infallible>(String::new())).unwrap();
/// assert!(hit.is_hit()); // the default key ignores the query string
/// assert_eq!(hit.value, page);
/// let removed = cache.delete_cached(&index, "/students", None).unwrap();
/// assert_eq!(removed, Deleted::Entry { key: "view//students".into(), existed: Some(true) });
/// ```
pub struct CachedView<T> {
    options: Arc<CachedOptions>,
    hook: Option<HookFn>,
    key_prefix: Option<KeyFn>,
    make_cache_key: Option<KeyFn>,
    profile: Profile,
    python: PythonVersion,
    _result: PhantomData<fn() -> T>,
}

impl<T> Clone for CachedView<T> {
    fn clone(&self) -> Self {
        CachedView {
            options: Arc::clone(&self.options),
            hook: self.hook.clone(),
            key_prefix: self.key_prefix.clone(),
            make_cache_key: self.make_cache_key.clone(),
            profile: self.profile,
            python: self.python,
            _result: PhantomData,
        }
    }
}

impl<T> fmt::Debug for CachedView<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedView")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl<T> CachedView<T> {
    pub(crate) fn new(options: Arc<CachedOptions>, config: &EngineConfig) -> Self {
        CachedView {
            options,
            hook: None,
            key_prefix: None,
            make_cache_key: None,
            profile: config.profile,
            python: config.python,
            _result: PhantomData,
        }
    }

    /// The decorator's arguments.
    pub fn options(&self) -> &CachedOptions {
        &self.options
    }

    /// The same view with `hook` answering the hooks its options declare.
    pub fn with_hooks(
        mut self,
        hook: impl Fn(&HookQuery) -> Result<bool, PyError> + Send + Sync + 'static,
    ) -> Self {
        self.hook = Some(Arc::new(hook));
        self
    }

    /// The callable `key_prefix` (for options with `KeyPrefix::Callable`).
    pub fn with_key_prefix(
        mut self,
        prefix: impl Fn(Option<&Request>) -> String + Send + Sync + 'static,
    ) -> Self {
        self.key_prefix = Some(Arc::new(prefix));
        self
    }

    /// The custom `make_cache_key` (for options with `custom_make_cache_key`).
    pub fn with_make_cache_key(
        mut self,
        make: impl Fn(Option<&Request>) -> String + Send + Sync + 'static,
    ) -> Self {
        self.make_cache_key = Some(Arc::new(make));
        self
    }

    /// `cache.delete_cached(view, path=path, query_args=query_args)`.
    pub fn delete(
        &self,
        cache: &Cache,
        path: &str,
        query_args: Option<QueryArgs>,
    ) -> Result<Deleted, Error> {
        cache.check(self.profile, self.python)?;
        let prefix_result = self.key_prefix.as_ref().map(|f| f(None));
        let command = CommandRef::DeleteCached {
            view: CachedId(0),
            path: Some(path),
            query_args: query_args.as_ref(),
            url_for: None,
            prefix_result: prefix_result.as_deref(),
            request: None,
        };
        let (outcome, existed) = cache.execute(
            &[],
            std::slice::from_ref(&*self.options),
            command,
            no_compute,
            no_hook,
        )?;
        deleted(outcome, existed)
    }
}

impl<T: ToPy + FromPy> CachedView<T> {
    /// Calls the view within `request`: the cached response, or `body`'s (then cached).
    /// Under 2.5 a hit on a stored `HTTPException` fails with [`Error::Raised`]; a body
    /// that aborts is written with [`CachedView::call_raising`].
    pub fn call<E: std::error::Error>(
        &self,
        cache: &Cache,
        request: &Request,
        body: impl FnMut() -> Result<T, E>,
    ) -> Result<T, CallError<E>> {
        self.call_traced(cache, request, body)
            .map(Called::into_value)
    }

    /// [`CachedView::call`], also saying what the cache did.
    pub fn call_traced<E: std::error::Error>(
        &self,
        cache: &Cache,
        request: &Request,
        body: impl FnMut() -> Result<T, E>,
    ) -> Result<Called<T>, CallError<E>> {
        self.run(cache, Some(request), body)
    }

    /// Calls the view outside any request (Flask raises "Working outside of request
    /// context" unless the key does not need the request).
    pub fn call_outside_request<E: std::error::Error>(
        &self,
        cache: &Cache,
        body: impl FnMut() -> Result<T, E>,
    ) -> Result<Called<T>, CallError<E>> {
        self.run(cache, None, body)
    }

    /// Calls the view within `request` with a body that may raise a Python exception,
    /// passed to the flows as it is: above all the `HTTPException` of Flask's `abort(404)`
    /// ([`PyError::http_exception`]). Under 2.5 an `HTTPException` is stored as the
    /// view's value and raised again, and a hit on it raises it (FC-1.1.7, FC-1.1.8);
    /// under 2.4 and 0.13 it propagates and nothing is stored. Any other exception
    /// propagates (nothing stored). Either way the call fails with
    /// [`CallError::Body`] holding the exception and what the cache did.
    ///
    /// ```
    /// use flaskcache::{request_path, Cache, CachedOptions, CallError, ClassRef, PyError};
    ///
    /// let cache = Cache::new().unwrap(); // the 2.5 profile
    /// let item = cache.cached_view::<String>(CachedOptions::default()).unwrap();
    /// let not_found = || {
    ///     let class = ClassRef::new("werkzeug.exceptions", "NotFound");
    ///     PyError::http_exception(class, 404, "Not Found", "no such item")
    /// };
    /// let miss = item.call_raising(&cache, &request_path("/items/7"), || Err(not_found()));
    /// let Err(CallError::Body(first)) = miss else { panic!("{miss:?}") };
    /// assert_eq!(first.error, not_found());
    /// // The exception was stored: the next request raises it without running the body.
    /// let hit = item.call_raising(&cache, &request_path("/items/7"), || Ok("found".into()));
    /// let Err(CallError::Body(again)) = hit else { panic!("{hit:?}") };
    /// assert!(again.is_hit());
    /// assert_eq!(again.error.http().map(|h| h.code), Some(404));
    /// ```
    pub fn call_raising(
        &self,
        cache: &Cache,
        request: &Request,
        mut body: impl FnMut() -> Result<T, PyError>,
    ) -> Result<Called<T>, CallError<ViewRaised>> {
        cache.check(self.profile, self.python)?;
        let py = self.python;
        let mut produced = None;
        let mut raised_by_body = None;
        let compute = || match body() {
            Ok(v) => {
                let value = v.to_py(py);
                produced = Some(v);
                Ok(value)
            }
            Err(e) => {
                raised_by_body = Some(e.clone());
                Err(e)
            }
        };
        let outcome = self.execute(cache, Some(request), compute)?;
        match outcome.result {
            Ok(value) => Ok(Called {
                value: match produced {
                    Some(v) => v,
                    None => T::from_py(value).map_err(Error::from)?,
                },
                event: outcome.event,
            }),
            // The body's exception, or a stored HTTPException a hit raised again; anything
            // else (a backend error re-raised in debug mode) is the cache's.
            Err(error)
                if raised_by_body.as_ref() == Some(&error)
                    || matches!(outcome.event, CacheEvent::Hit { .. }) =>
            {
                Err(CallError::Body(ViewRaised {
                    error,
                    event: outcome.event,
                }))
            }
            Err(error) => Err(CallError::Cache(Error::Raised(error))),
        }
    }

    fn run<E: std::error::Error>(
        &self,
        cache: &Cache,
        request: Option<&Request>,
        mut body: impl FnMut() -> Result<T, E>,
    ) -> Result<Called<T>, CallError<E>> {
        cache.check(self.profile, self.python)?;
        let py = self.python;
        let mut state = BodyState::new();
        let outcome = self.execute(cache, request, || state.run(py, body()))?;
        state.finish(outcome)
    }

    /// Runs the view's call within `request` (its callable key prefix and custom key
    /// computed from it), with `compute` as its body.
    fn execute(
        &self,
        cache: &Cache,
        request: Option<&Request>,
        compute: impl FnMut() -> Result<Value, PyError>,
    ) -> Result<Outcome, Error> {
        let prefix_result = self.key_prefix.as_ref().map(|f| f(request));
        let custom_key = self.make_cache_key.as_ref().map(|f| f(request));
        let command = CommandRef::CallCached {
            view: CachedId(0),
            request,
            prefix_result: prefix_result.as_deref(),
            custom_key: custom_key.as_deref(),
        };
        let (outcome, _) = cache.execute(
            &[],
            std::slice::from_ref(&*self.options),
            command,
            compute,
            |q: &HookQuery| hook_answer(&self.hook, q),
        )?;
        Ok(outcome)
    }
}
