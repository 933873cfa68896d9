//! Key derivation, byte-exact with Flask-Caching: view keys (§1), memoize keys and version
//! keys (§2), version strings (FC-2.5.1).

mod hash;
mod memoize;
mod percent_format;
mod query;
mod version;
mod view;

pub use hash::{DigestBytes, HashMethod, Hasher};
pub use memoize::{
    call_args, call_args_cow, check_kwargs, ensure_self_arg, function_namespace, get_id,
    key_digest, normalize_args, plain_version_key, sanitize, write_key_body, write_key_text,
    KeyArg, KeyArgs, MakeName, Namespace, NormalizedArgs, VersionKeys, MEMVER,
};
pub use percent_format::{percent_format, percent_format_into};
pub use query::{parse_qsl, unquote_plus, QueryArgs};
pub use version::{Version, VersionGenerator};
pub use view::{
    view_key, view_key_into, CachedKeySpec, KeyPrefix, RequestInfo, ViewKeyError, ViewKeyInput,
    ViewKeyMode, OUTSIDE_REQUEST, OUTSIDE_REQUEST_FLASK_1,
};
