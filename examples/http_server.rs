//! A small HTTP service on axum whose responses are cached with Flask-Caching's semantics.
//!
//! The Python it mirrors:
//!
//! ```python
//! @app.route("/students")
//! @cache.cached(timeout=60)            # stored under "view//students"
//! def students(): return json.dumps(all_students())
//!
//! @cache.memoize(timeout=300)          # app.models.get_student
//! def get_student(sid): return Student.query.get(sid)   # None for an unknown id
//!
//! @app.route("/students", methods=["POST"])
//! def add_student():
//!     s = create_student(request.form["name"])           # or the JSON field "name"
//!     cache.delete_cached(students, path="/students")   # the listing changed
//!     cache.delete_memoized(get_student, s.id)          # and so did get_student(s.id)
//! ```
//!
//! * `GET /students`: the listing as JSON, a cached view (key `view//students`).
//! * `GET /students/{id}`: one student through the memoized `app.models.get_student(sid)`;
//!   404 for an unknown id. Unknown ids are not cached: `get_student` returns `None` and,
//!   as in Flask-Caching without `cache_none=True`, a `None` result is never served from
//!   the cache, so a lookup of an unknown id always runs the lookup (and answers MISS).
//! * `POST /students` with a form (`name=...`) or JSON (`{"name": "..."}`): adds a student
//!   and deletes exactly what changed: the listing's entry and `get_student(new_id)` (the
//!   `None` a lookup may have stored for that id before it existed). No other student's
//!   memoized entry is touched. The answer lists each key deleted and whether it existed.
//! * Every response carries `X-Cache: HIT` or `X-Cache: MISS` (MISS for anything not served
//!   from the cache: writes, errors, unknown routes), and `X-Cache-Key` where a key was used.
//!
//! Run it and try it:
//!
//! ```text
//! cargo run --release --example http_server -- --port 8080    # --host defaults to 127.0.0.1
//! curl -i http://127.0.0.1:8080/students                       # X-Cache: MISS
//! curl -i http://127.0.0.1:8080/students                       # X-Cache: HIT
//! curl -i http://127.0.0.1:8080/students/1                     # MISS, then HIT
//! curl -i -d name=Dora http://127.0.0.1:8080/students          # 201, invalidates
//! curl -i -H 'Content-Type: application/json' -d '{"name":"Eve"}' http://127.0.0.1:8080/students
//! curl -i http://127.0.0.1:8080/students                       # MISS, lists Dora and Eve
//! ```
//!
//! `--port 0` picks a free port; the line `listening on http://HOST:PORT` (the real port)
//! is printed once the socket is bound.

use axum::extract::{FromRequest, Path, Request, State};
use axum::http::header::{CONTENT_TYPE, LOCATION};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Json, Router};
use flaskcache::{
    request_path, Cache, CacheEvent, CachedOptions, CachedView, CallError, Called, Deleted, FromPy,
    MemoizeOptions, Memoized, PythonVersion, ToPy, TypeMismatch, Value,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// The cached view's timeout (`@cache.cached(timeout=60)`), in seconds.
pub const LISTING_TIMEOUT: i64 = 60;
/// The memoized lookup's timeout (`@cache.memoize(timeout=300)`), in seconds.
pub const LOOKUP_TIMEOUT: i64 = 300;
/// The longest name accepted, in characters.
pub const MAX_NAME_CHARS: usize = 200;

static X_CACHE: HeaderName = HeaderName::from_static("x-cache");
static X_CACHE_KEY: HeaderName = HeaderName::from_static("x-cache-key");

/// A row of the in-memory database.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Student {
    /// The primary key, from 1.
    pub id: i64,
    /// The name given when the student was added.
    pub name: String,
}

/// What `get_student` returns to Python, and so what the cache stores: the dict
/// `{'id': 7, 'name': 'Ann'}`.
impl ToPy for Student {
    fn to_py(&self, py: PythonVersion) -> Value {
        Value::Dict(vec![
            (Value::str("id"), self.id.to_py(py)),
            (Value::str("name"), self.name.to_py(py)),
        ])
    }
}

impl FromPy for Student {
    fn from_py(value: Value) -> Result<Self, TypeMismatch> {
        let missing = || TypeMismatch::new("a dict with 'id' and 'name'", &Value::Dict(vec![]));
        let mut fields = BTreeMap::<String, Value>::from_py(value)?;
        let id = fields.remove("id").ok_or_else(missing)?;
        let name = fields.remove("name").ok_or_else(missing)?;
        Ok(Student {
            id: i64::from_py(id).map_err(|e| e.at("['id']"))?,
            name: String::from_py(name).map_err(|e| e.at("['name']"))?,
        })
    }
}

/// The body of `POST /students`, as a form or as JSON.
#[derive(Debug, Deserialize)]
struct NewStudent {
    name: String,
}

/// The service: the database, the cache and the two decorated functions. Cheap to clone.
#[derive(Clone)]
pub struct App {
    /// The cache (shared with whoever built the app, e.g. a test reading its entries).
    pub cache: Cache,
    db: Arc<RwLock<Vec<Student>>>,
    listing: CachedView<String>,
    get_student: Memoized<Option<Student>>,
}

impl App {
    /// The service on `cache`, with `names` as the first students (ids 1, 2, ...).
    pub fn new(cache: Cache, names: &[&str]) -> Result<App, flaskcache::Error> {
        let listing = cache.cached_view(CachedOptions {
            timeout: Some(LISTING_TIMEOUT),
            ..Default::default()
        })?;
        let get_student = cache.memoize(
            "app.models.get_student",
            ["sid"],
            MemoizeOptions {
                timeout: Some(LOOKUP_TIMEOUT),
                ..Default::default()
            },
        )?;
        let rows = (1..)
            .zip(names)
            .map(|(id, name)| Student {
                id,
                name: (*name).to_owned(),
            })
            .collect();
        Ok(App {
            cache,
            db: Arc::new(RwLock::new(rows)),
            listing,
            get_student,
        })
    }

    fn read(&self) -> RwLockReadGuard<'_, Vec<Student>> {
        self.db.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Vec<Student>> {
        self.db.write().unwrap_or_else(PoisonError::into_inner)
    }

    // Consistency: a reader holds the database's read lock for its whole cache call (the
    // read, the body and the store of a miss), and a writer holds the write lock from its
    // insert to the end of its deletes. Without that, a reader could compute the listing
    // from the old rows, lose the race to the writer's delete, and store the stale listing
    // after it (Flask-Caching has the same window). The cache itself holds no lock while a
    // body runs; readers share the read lock, so they still run in parallel.
    //
    // The cache is called directly on the async worker, not through `spawn_blocking`: the
    // bodies are a few microseconds of in-memory work and the store is in memory, so a hop
    // to the blocking pool would cost more than the call. A body doing real I/O (a SQL
    // query, a Redis store) belongs in `tokio::task::spawn_blocking`. No lock is held
    // across an `.await`.

    /// `GET /students`: the cached view.
    fn listing(&self) -> Result<Called<String>, CallError<serde_json::Error>> {
        let db = self.read();
        self.listing
            .call_traced(&self.cache, &request_path("/students"), || {
                serde_json::to_string(&*db)
            })
    }

    /// `GET /students/{id}`: the memoized `get_student(sid)`.
    fn student(&self, sid: i64) -> Result<Called<Option<Student>>, CallError<Infallible>> {
        let db = self.read();
        self.get_student.call_traced(&self.cache, (sid,), || {
            Ok(db.iter().find(|s| s.id == sid).cloned())
        })
    }

    /// `POST /students`: inserts, then deletes the listing and `get_student(new_id)`.
    fn add(&self, name: String) -> Result<(Student, Vec<Deleted>), flaskcache::Error> {
        let mut db = self.write();
        let id = db.last().map_or(1, |s| s.id + 1);
        let student = Student { id, name };
        db.push(student.clone());
        let listing = self.cache.delete_cached(&self.listing, "/students", None)?;
        let lookup = self.cache.delete_memoized(&self.get_student, (id,))?;
        drop(db);
        Ok((student, vec![listing, lookup]))
    }
}

/// The routes, every response with an `X-Cache` header.
pub fn router(app: App) -> Router {
    Router::new()
        .route("/students", get(list_students).post(add_student))
        .route("/students/{id}", get(show_student))
        .with_state(app)
        .layer(axum::middleware::map_response(default_x_cache))
}

/// Serves `app` on `listener` until the task is dropped or the runtime shuts down.
pub async fn serve(listener: tokio::net::TcpListener, app: App) -> std::io::Result<()> {
    axum::serve(listener, router(app)).await
}

/// `X-Cache: MISS` on every response that did not say otherwise (writes, errors, 404s of
/// unknown routes, rejected bodies).
async fn default_x_cache(mut response: Response) -> Response {
    if !response.headers().contains_key(&X_CACHE) {
        response
            .headers_mut()
            .insert(X_CACHE.clone(), HeaderValue::from_static("MISS"));
    }
    response
}

/// The `X-Cache` and `X-Cache-Key` headers for what the cache did.
fn cache_headers(event: &CacheEvent) -> Vec<(HeaderName, HeaderValue)> {
    let (status, key) = match event {
        CacheEvent::Hit { key } => ("HIT", Some(key)),
        CacheEvent::Miss { key, .. } => ("MISS", Some(key)),
        _ => ("MISS", None),
    };
    let mut headers = vec![(X_CACHE.clone(), HeaderValue::from_static(status))];
    if let Some(value) = key.and_then(|k| HeaderValue::from_str(k).ok()) {
        headers.push((X_CACHE_KEY.clone(), value));
    }
    headers
}

fn json_response(status: StatusCode, event: Option<&CacheEvent>, body: String) -> Response {
    let mut response = (
        status,
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        body,
    )
        .into_response();
    if let Some(event) = event {
        response.headers_mut().extend(cache_headers(event));
    }
    response
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    let body = serde_json::json!({ "error": message.into() }).to_string();
    json_response(status, None, body)
}

async fn list_students(State(app): State<App>) -> Response {
    match app.listing() {
        Ok(called) => json_response(StatusCode::OK, Some(&called.event), called.value),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn show_student(State(app): State<App>, Path(id): Path<String>) -> Response {
    let Ok(sid) = id.parse::<i64>() else {
        return error(StatusCode::BAD_REQUEST, "a student id is an integer");
    };
    match app.student(sid) {
        Ok(Called {
            value: Some(student),
            event,
        }) => {
            let body = serde_json::json!({ "id": student.id, "name": student.name });
            json_response(StatusCode::OK, Some(&event), body.to_string())
        }
        Ok(Called { value: None, event }) => {
            let body = serde_json::json!({ "error": format!("no student {sid}") });
            json_response(StatusCode::NOT_FOUND, Some(&event), body.to_string())
        }
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn add_student(State(app): State<App>, request: Request) -> Response {
    let content_type = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let new = if content_type.starts_with("application/json") {
        match Json::<NewStudent>::from_request(request, &()).await {
            Ok(Json(new)) => new,
            Err(rejection) => return rejection.into_response(),
        }
    } else if content_type.starts_with("application/x-www-form-urlencoded") {
        match Form::<NewStudent>::from_request(request, &()).await {
            Ok(Form(new)) => new,
            Err(rejection) => return rejection.into_response(),
        }
    } else {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send a form (name=...) or JSON ({\"name\": ...})",
        );
    };
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("a name has 1 to {MAX_NAME_CHARS} characters"),
        );
    }
    match app.add(name.to_owned()) {
        Ok((student, deleted)) => {
            let invalidated: Vec<_> = deleted.iter().map(describe).collect();
            let body = serde_json::json!({
                "id": student.id,
                "name": student.name,
                "invalidated": invalidated,
            });
            let mut response = json_response(StatusCode::CREATED, None, body.to_string());
            if let Ok(location) = HeaderValue::from_str(&format!("/students/{}", student.id)) {
                response.headers_mut().insert(LOCATION, location);
            }
            response
        }
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// A delete's outcome as JSON.
fn describe(deleted: &Deleted) -> serde_json::Value {
    match deleted {
        Deleted::Entry { key, existed } => serde_json::json!({ "key": key, "existed": existed }),
        Deleted::AllResults { version_key } => serde_json::json!({ "version_reset": version_key }),
        Deleted::VersionKey { key } => serde_json::json!({ "version_deleted": key }),
        Deleted::Nothing { error } => serde_json::json!({ "failed": error.to_string() }),
    }
}

/// `--host HOST` and `--port PORT` (also `--host=HOST`, `--port=PORT`).
fn parse_args(args: impl IntoIterator<Item = String>) -> Result<(String, u16), String> {
    let (mut host, mut port) = ("127.0.0.1".to_owned(), 8080u16);
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) => (f.to_owned(), Some(v.to_owned())),
            None => (arg, None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--host" => host = value()?,
            "--port" => {
                let text = value()?;
                port = text
                    .parse()
                    .map_err(|_| format!("--port {text}: not a port number"))?;
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok((host, port))
}

fn main() {
    let (host, port) = match parse_args(std::env::args().skip(1)) {
        Ok(parsed) => parsed,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("http_server: {message}");
            }
            eprintln!("usage: http_server [--host HOST] [--port PORT]   (defaults: 127.0.0.1, 8080; port 0 = any free port)");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(&host, port) {
        eprintln!("http_server: {e}");
        std::process::exit(1);
    }
}

fn run(host: &str, port: u16) -> Result<(), Box<dyn std::error::Error>> {
    let cache = Cache::new()?;
    let app = App::new(cache, &["Ann", "Ben", "Cleo"])?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind((host, port)).await?;
        let addr: SocketAddr = listener.local_addr()?;
        println!("listening on http://{addr}");
        serve(listener, app).await
    })?;
    Ok(())
}
