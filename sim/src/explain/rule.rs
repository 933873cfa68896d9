//! The rule catalogue: every pitfall `flaskcache explain` can report, with its id (as in
//! `docs/pitfalls.md`, one section per rule) and a one-line title.

/// A pitfall `flaskcache explain` reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    /// `cache.delete("/path")` for a view stored under `view//path`.
    ViewBarePath,
    /// `cache.delete("view/path")`: one slash where the key has two.
    ViewSingleSlash,
    /// The path deleted lacks the blueprint's `url_prefix`, or has the `APPLICATION_ROOT`
    /// that `request.path`, and so the key, lacks.
    ViewPathWithoutPrefix,
    /// A literal `key_prefix` (the whole key) deleted by the view's path.
    LiteralPrefixDeletedByPath,
    /// A literal `key_prefix` joined with the path, as if it were prepended to it.
    PrefixJoinedWithPath,
    /// `CACHE_KEY_PREFIX` written into the key by hand: the backend adds it again.
    BackendPrefixByHand,
    /// A non-str object (a view function) passed to `cache.delete`.
    NonStrKey,
    /// A `query_string=True` view deleted without (or with other) query arguments.
    QueryStringArgsMissing,
    /// `delete_cached` given a path that is not the one the request's key was built from.
    DeleteCachedPathMismatch,
    /// A memoize argument that differs from the live call's only in type (`'7'` vs `7`).
    MemoizeArgType,
    /// A memoize delete that leaves out (or adds) arguments the live call passed, so the
    /// defaults fill in differently.
    MemoizeDefaultArgs,
    /// A memoized classmethod deleted without the class as first argument.
    ClassmethodWithoutClass,
    /// A memoized instance method deleted without the instance.
    InstanceMethodWithoutInstance,
    /// A memoized call whose key holds a default repr (a memory address): one entry per
    /// object, never hit by another object, out of reach of any delete.
    DefaultReprKey,
    /// A function's version key vanished (evicted, or deleted by
    /// `delete_memoized_verhash`) while its entries were cached: all of them became
    /// unreachable, the unchanged ones too.
    VersionKeyLost,
    /// `delete_memoized(f)` (a new version) where one call was meant: the unchanged
    /// entries are computed again, the old ones orphaned until their timeout.
    VersionResetOrphans,
    /// `obj.method.delete_memoized()` where one instance was meant: it resets the version
    /// of every instance.
    MethodDeleteResetsAllInstances,
    /// A memoize key that holds `repr(OrderedDict(...))`, which Python 3.12 changed: a
    /// process on another Python sharing the backend computes another key for the call.
    OrderedDictReprAcrossPythons,
    /// Two different calls of a function with positional-only parameters got one key.
    PositionalOnlyCollision,
    /// Two different calls got one key because a falsy argument was dropped (2.4).
    FalsyDefaultCollision,
}

impl Rule {
    /// Every rule, in catalogue order.
    pub const ALL: [Rule; 20] = [
        Rule::ViewBarePath,
        Rule::ViewSingleSlash,
        Rule::ViewPathWithoutPrefix,
        Rule::LiteralPrefixDeletedByPath,
        Rule::PrefixJoinedWithPath,
        Rule::BackendPrefixByHand,
        Rule::NonStrKey,
        Rule::QueryStringArgsMissing,
        Rule::DeleteCachedPathMismatch,
        Rule::MemoizeArgType,
        Rule::MemoizeDefaultArgs,
        Rule::ClassmethodWithoutClass,
        Rule::InstanceMethodWithoutInstance,
        Rule::DefaultReprKey,
        Rule::VersionKeyLost,
        Rule::VersionResetOrphans,
        Rule::MethodDeleteResetsAllInstances,
        Rule::OrderedDictReprAcrossPythons,
        Rule::PositionalOnlyCollision,
        Rule::FalsyDefaultCollision,
    ];

    /// The rule's id: its section in `docs/pitfalls.md`.
    pub fn id(self) -> &'static str {
        match self {
            Rule::ViewBarePath => "view-bare-path",
            Rule::ViewSingleSlash => "view-single-slash",
            Rule::ViewPathWithoutPrefix => "view-path-without-prefix",
            Rule::LiteralPrefixDeletedByPath => "literal-prefix-deleted-by-path",
            Rule::PrefixJoinedWithPath => "prefix-joined-with-path",
            Rule::BackendPrefixByHand => "backend-prefix-by-hand",
            Rule::NonStrKey => "non-str-key",
            Rule::QueryStringArgsMissing => "query-string-args-missing",
            Rule::DeleteCachedPathMismatch => "delete-cached-path-mismatch",
            Rule::MemoizeArgType => "memoize-arg-type",
            Rule::MemoizeDefaultArgs => "memoize-default-args",
            Rule::ClassmethodWithoutClass => "classmethod-without-class",
            Rule::InstanceMethodWithoutInstance => "instance-method-without-instance",
            Rule::DefaultReprKey => "default-repr-key",
            Rule::VersionKeyLost => "version-key-lost",
            Rule::VersionResetOrphans => "version-reset-orphans",
            Rule::MethodDeleteResetsAllInstances => "method-delete-resets-all-instances",
            Rule::OrderedDictReprAcrossPythons => "ordereddict-repr-across-pythons",
            Rule::PositionalOnlyCollision => "positional-only-collision",
            Rule::FalsyDefaultCollision => "falsy-default-collision",
        }
    }

    /// What went wrong, in one line.
    pub fn title(self) -> &'static str {
        match self {
            Rule::ViewBarePath => "a cached view deleted by its bare path",
            Rule::ViewSingleSlash => "a cached view's key written with one slash after `view/`",
            Rule::ViewPathWithoutPrefix => {
                "the deleted path lacks the blueprint's url_prefix (or has an APPLICATION_ROOT the key lacks)"
            }
            Rule::LiteralPrefixDeletedByPath => {
                "a literal key_prefix is the whole key, but the delete names the path"
            }
            Rule::PrefixJoinedWithPath => {
                "a literal key_prefix is the whole key, not a prefix of the path"
            }
            Rule::BackendPrefixByHand => {
                "CACHE_KEY_PREFIX written by hand: the backend adds it once more"
            }
            Rule::NonStrKey => "an object passed to cache.delete instead of its key",
            Rule::QueryStringArgsMissing => {
                "a query_string view's key hashes the query arguments the delete left out"
            }
            Rule::DeleteCachedPathMismatch => {
                "delete_cached was given another path than the request's"
            }
            Rule::MemoizeArgType => {
                "the delete's argument differs from the cached call's only in type"
            }
            Rule::MemoizeDefaultArgs => {
                "the delete passes other arguments than the cached call (defaults fill in)"
            }
            Rule::ClassmethodWithoutClass => "a memoized classmethod deleted without the class",
            Rule::InstanceMethodWithoutInstance => {
                "a memoized instance method deleted without the instance"
            }
            Rule::DefaultReprKey => "a default repr (a memory address) in a memoize key",
            Rule::VersionKeyLost => "a function's version key vanished while its entries lived",
            Rule::VersionResetOrphans => {
                "every call of a function invalidated where one was meant: unchanged entries recomputed, old ones orphaned"
            }
            Rule::MethodDeleteResetsAllInstances => {
                "a memoized method's entries invalidated for every instance where one was meant"
            }
            Rule::OrderedDictReprAcrossPythons => {
                "a shared cache's memoize key depends on the Python version (the OrderedDict repr)"
            }
            Rule::PositionalOnlyCollision => {
                "different calls share one key (positional-only parameters)"
            }
            Rule::FalsyDefaultCollision => "different calls share one key (a falsy argument)",
        }
    }

    /// The rule with id `id`.
    pub fn from_id(id: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|r| r.id() == id)
    }
}
