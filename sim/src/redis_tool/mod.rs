//! `flaskcache redis`: an on-call tool for a Flask app's Redis cache, speaking in
//! Flask-Caching's terms (memoized calls, views, version keys) and computing every key with
//! the engine's own flows.

pub mod app;
pub mod backend;
pub mod classify;
pub mod commands;
pub mod drive;
pub mod pyexpr;
pub mod real;
pub mod replay_backend;

use app::App;
use clap::{Args, Subcommand};
use commands::{Failure, Target as What};
use flaskcache_engine::store::StoreFlavor;
use flaskcache_engine::{Profile, PythonVersion};
use real::{is_loopback, redact, Real, Target};
use std::io::Write;
use std::process::ExitCode;

/// Arguments of `flaskcache redis`.
#[derive(Args, Debug)]
pub struct RedisArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: RedisCommand,
}

/// Options every verb takes (after the verb).
#[derive(Args, Debug, Clone)]
pub struct Common {
    /// The server: `redis://[user:password@]host:port[/db]` (CACHE_REDIS_URL).
    #[arg(long, default_value = "redis://127.0.0.1:6379/0")]
    pub url: String,
    /// CACHE_KEY_PREFIX ('' for none). Default: the declarations' prefix when they come
    /// from a RedisCache app, else flask_cache_ (Flask-Caching's default).
    #[arg(long)]
    pub prefix: Option<String>,
    /// Flask-Caching release whose keys to compute: 2.5 or 2.4 (default: the
    /// declarations', else 2.5).
    #[arg(long, value_parser = redis_profile)]
    pub profile: Option<Profile>,
    /// A trace written by the recorder for this app: its declarations name the memoized
    /// functions and cached views.
    #[arg(long, value_name = "FILE")]
    pub declarations: Option<String>,
    /// CACHE_DEFAULT_TIMEOUT, for `set` without --timeout (default: the declarations', else
    /// 300).
    #[arg(long, value_name = "SECONDS")]
    pub default_timeout: Option<i64>,
    /// Allow `set` and `invalidate` on a server that is not on this machine.
    #[arg(long)]
    pub allow_remote: bool,
}

/// `--profile` of `flaskcache redis`.
fn redis_profile(text: &str) -> Result<Profile, String> {
    match Profile::parse(text) {
        Some(p @ (Profile::FlaskCaching25 | Profile::FlaskCaching24)) => Ok(p),
        _ => Err("RedisCache is supported for profiles 2.5 and 2.4".into()),
    }
}

/// The verbs.
#[derive(Subcommand, Debug)]
pub enum RedisCommand {
    /// List every key under the prefix: what it is, its TTL and its value.
    ///
    /// Each key (as Flask-Caching names it, without the prefix) is classified as a view key
    /// (by the declared views' key_prefix templates, default view/%s), a version key
    /// (`<module.qualname>_memver`, or `<...>.<instance>_memver`), a memoized entry (16
    /// characters of hash followed by the current version of a function), or other.
    ///
    /// Example:
    ///   flaskcache redis keys --url redis://127.0.0.1:6379/0 --declarations app.trace.jsonl
    #[command(verbatim_doc_comment)]
    Keys {
        /// Options.
        #[command(flatten)]
        common: Common,
    },
    /// Print a key's value as Python's repr() prints it (exit 1 when it is absent).
    ///
    /// Example:
    ///   flaskcache redis get view//products/1 --prefix shop:
    #[command(verbatim_doc_comment)]
    Get {
        /// The key, without the prefix.
        key: String,
        /// Options.
        #[command(flatten)]
        common: Common,
    },
    /// Store a Python literal under KEY as cache.set(KEY, VALUE, timeout) does.
    ///
    /// VALUE is a Python literal: str ('hello', "it's", '\u00e9'), bytes (b'\x00'), int
    /// (any size), float (1.5, -0.0, 1e10, float('inf')), True, False, None, tuples,
    /// lists and dicts, nested. Without --timeout the default timeout applies; 0 and -1
    /// store without expiry.
    ///
    /// Examples:
    ///   flaskcache redis set greeting "'hello'" --timeout 60
    ///   flaskcache redis set cfg "{'a': b'\x00', 'b': [1, 2.5, None, (True, 'x')]}"
    #[command(verbatim_doc_comment)]
    Set {
        /// The key, without the prefix.
        key: String,
        /// The value, a Python literal.
        value: String,
        /// Seconds (cache.set's timeout).
        #[arg(long, allow_hyphen_values = true)]
        timeout: Option<i64>,
        /// Options.
        #[command(flatten)]
        common: Common,
    },
    /// Show the key a memoized call reads and what is cached there (exit 1 on a miss).
    ///
    /// CALL is written in Python: the function by qualname or module.qualname, then its
    /// arguments as literals. A method takes its receiver first: the class by name for a
    /// classmethod (Stock.level(Stock, 'A1')), instance('repr') for an instance method
    /// (Cart.total(instance('<Cart 7>'), 2); caching_id='...' when the class defines
    /// __caching_id__). Version keys are read, never written: a function without a version
    /// key has nothing cached.
    ///
    /// Examples:
    ///   flaskcache redis lookup "price('cake')" --declarations shop.trace.jsonl
    ///   flaskcache redis lookup "price('tea', qty=2)" --declarations shop.trace.jsonl
    ///   flaskcache redis lookup "Stock.level(Stock, 'A1')" --declarations shop.trace.jsonl
    #[command(verbatim_doc_comment)]
    Lookup {
        /// The call, e.g. price('cake').
        call: String,
        /// Options.
        #[command(flatten)]
        common: Common,
    },
    /// Delete exactly as Flask-Caching would, and say what was removed.
    ///
    ///   invalidate CALL            cache.delete_memoized(f, *args, **kwargs): that entry
    ///   invalidate FUNCTION        cache.delete_memoized(f): a fresh version for f, so every
    ///                              result cached before is unreachable
    ///   invalidate FUNCTION --bound "instance('repr')"
    ///                              cache.delete_memoized(obj.method): that instance's results
    ///   invalidate --view PATH [--query 'a=1&b=2'] [--name VIEW]
    ///                              cache.delete_cached(view, path=PATH, query_args=...) on
    ///                              2.5 with a declared view, else cache.delete(view key)
    ///
    /// Exit status 0 when something was removed, 1 when nothing was (the reason is
    /// printed), 2 on bad input or when Flask-Caching raises.
    ///
    /// Examples:
    ///   flaskcache redis invalidate "price('cake')" --declarations shop.trace.jsonl
    ///   flaskcache redis invalidate price --declarations shop.trace.jsonl
    ///   flaskcache redis invalidate --view /products/1 --declarations shop.trace.jsonl
    #[command(verbatim_doc_comment)]
    Invalidate {
        /// CALL or FUNCTION (omit with --view).
        #[arg(required_unless_present = "view", conflicts_with = "view")]
        target: Option<String>,
        /// A view's request path.
        #[arg(long, value_name = "PATH")]
        view: Option<String>,
        /// The request's query string, for --view.
        #[arg(long, requires = "view", value_name = "ARGS")]
        query: Option<String>,
        /// Which declared view, when several have different keys.
        #[arg(long, requires = "view", value_name = "VIEW")]
        name: Option<String>,
        /// For FUNCTION: the object the method is bound to (instance('repr')).
        #[arg(long, value_name = "RECEIVER", conflicts_with = "view")]
        bound: Option<String>,
        /// Options.
        #[command(flatten)]
        common: Common,
    },
}

impl RedisCommand {
    fn common(&self) -> &Common {
        match self {
            RedisCommand::Keys { common }
            | RedisCommand::Get { common, .. }
            | RedisCommand::Set { common, .. }
            | RedisCommand::Lookup { common, .. }
            | RedisCommand::Invalidate { common, .. } => common,
        }
    }

    fn writes(&self) -> bool {
        matches!(
            self,
            RedisCommand::Set { .. } | RedisCommand::Invalidate { .. }
        )
    }
}

/// Runs `flaskcache redis`.
pub fn run(args: &RedisArgs, out: &mut dyn Write) -> std::io::Result<ExitCode> {
    match run_inner(args, out) {
        Ok(status) => Ok(ExitCode::from(status)),
        Err(Failure(message)) => {
            eprintln!("flaskcache redis: {message}");
            Ok(ExitCode::from(2))
        }
    }
}

fn run_inner(args: &RedisArgs, out: &mut dyn Write) -> Result<u8, Failure> {
    let common = args.command.common();
    let mut app = match &common.declarations {
        Some(path) => App::from_trace(path, common.profile).map_err(Failure)?,
        None => App::new(
            common.profile.unwrap_or(Profile::FlaskCaching25),
            PythonVersion::default(),
        ),
    };
    let prefix = common
        .prefix
        .clone()
        .or_else(|| app.trace_prefix.clone())
        .unwrap_or_else(|| "flask_cache_".to_owned());
    if args.command.writes() && !is_loopback(&common.url) && !common.allow_remote {
        return Err(Failure(format!(
            "{} is not on this machine: `set` and `invalidate` change it; add --allow-remote if that is really the app's server",
            redact(&common.url)
        )));
    }
    let default_timeout = common
        .default_timeout
        .or(app.default_timeout)
        .unwrap_or(300);
    let target = Target {
        url: common.url.clone(),
        prefix: Some(prefix.clone()),
        flavor: match app.profile {
            Profile::FlaskCaching24 => StoreFlavor::Redis24,
            _ => StoreFlavor::Redis,
        },
        default_timeout,
        ignore_delete_many_errors: false,
    };
    eprintln!(
        "flaskcache redis: server {}, prefix {:?}, Flask-Caching {}",
        redact(&common.url),
        prefix,
        app.profile.as_str()
    );
    let mut real =
        Real::open(&target).map_err(|e| Failure(format!("cannot reach the server: {e}")))?;
    let backend: &mut dyn backend::RedisBackend = &mut real;
    match &args.command {
        RedisCommand::Keys { .. } => commands::keys(&app, backend, &prefix, out),
        RedisCommand::Get { key, .. } => commands::get(&app, backend, &prefix, key, out),
        RedisCommand::Set {
            key,
            value,
            timeout,
            ..
        } => commands::set(&app, backend, key, value, *timeout, out),
        RedisCommand::Lookup { call, .. } => commands::lookup(&mut app, backend, call, out),
        RedisCommand::Invalidate {
            target,
            view,
            query,
            name,
            bound,
            ..
        } => {
            let what = match (target, view) {
                (_, Some(path)) => What::View {
                    path,
                    query: query.as_deref(),
                    name: name.as_deref(),
                },
                (Some(text), None) => What::Memoized {
                    text,
                    bound: bound.as_deref(),
                },
                (None, None) => return Err(Failure("give CALL, FUNCTION or --view PATH".into())),
            };
            commands::invalidate(&mut app, backend, what, out)
        }
    }
}
