//! The HTTP example (`examples/http_server.rs`) over real HTTP on a loopback port: hits,
//! misses and invalidation of the cached view and the memoized lookup, then a bounded
//! concurrent load with no errors and no stale reads after any write.

#[allow(dead_code)]
#[path = "../examples/http_server.rs"]
mod server;

use serde_json::Value as Json;
use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A server on 127.0.0.1 (port 0: a free one), stopped when dropped.
struct Server {
    runtime: Option<tokio::runtime::Runtime>,
    addr: SocketAddr,
    cache: flaskcache::Cache,
}

impl Server {
    fn start() -> Server {
        let cache = flaskcache::Cache::new().expect("a cache");
        let app = server::App::new(cache.clone(), &["Ann", "Ben", "Cleo"]).expect("the app");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("a loopback port");
        let addr = listener.local_addr().expect("the bound address");
        runtime.spawn(server::serve(listener, app));
        Server {
            runtime: Some(runtime),
            addr,
            cache,
        }
    }

    fn client(&self) -> Client {
        Client::connect(self.addr).expect("a connection")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(Duration::from_secs(2));
        }
    }
}

#[derive(Debug)]
struct Response {
    status: u16,
    headers: HashMap<String, String>,
    body: String,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    fn x_cache(&self) -> &str {
        self.header("x-cache").unwrap_or("(none)")
    }

    fn json(&self) -> Json {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }
}

fn invalid(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.into())
}

/// A minimal HTTP/1.1 client on one keep-alive connection.
struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Client {
    fn connect(addr: SocketAddr) -> io::Result<Client> {
        let stream = TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(Duration::from_secs(20)))?;
        stream.set_nodelay(true)?;
        Ok(Client {
            reader: BufReader::new(stream.try_clone()?),
            writer: stream,
        })
    }

    fn get(&mut self, path: &str) -> io::Result<Response> {
        self.send("GET", path, None, "")
    }

    fn post_json(&mut self, path: &str, body: &Json) -> io::Result<Response> {
        self.send("POST", path, Some("application/json"), &body.to_string())
    }

    fn post_form(&mut self, path: &str, body: &str) -> io::Result<Response> {
        self.send(
            "POST",
            path,
            Some("application/x-www-form-urlencoded"),
            body,
        )
    }

    fn send(
        &mut self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: &str,
    ) -> io::Result<Response> {
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n",
            body.len()
        );
        if let Some(ct) = content_type {
            head.push_str(&format!("Content-Type: {ct}\r\n"));
        }
        head.push_str("\r\n");
        head.push_str(body);
        self.writer.write_all(head.as_bytes())?;
        self.read_response()
    }

    fn line(&mut self) -> io::Result<String> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err(invalid("connection closed"));
        }
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    }

    fn read_response(&mut self) -> io::Result<Response> {
        let status_line = self.line()?;
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| invalid(format!("bad status line {status_line:?}")))?;
        let mut headers = HashMap::new();
        loop {
            let line = self.line()?;
            if line.is_empty() {
                break;
            }
            let (name, value) = line
                .split_once(':')
                .ok_or_else(|| invalid(format!("bad header {line:?}")))?;
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
        let mut body = Vec::new();
        if headers
            .get("transfer-encoding")
            .is_some_and(|te| te.eq_ignore_ascii_case("chunked"))
        {
            loop {
                let size_line = self.line()?;
                let size = usize::from_str_radix(size_line.split(';').next().unwrap_or(""), 16)
                    .map_err(|_| invalid(format!("bad chunk size {size_line:?}")))?;
                if size == 0 {
                    while !self.line()?.is_empty() {}
                    break;
                }
                let start = body.len();
                body.resize(start + size, 0);
                self.reader.read_exact(&mut body[start..])?;
                self.line()?;
            }
        } else {
            let length = match headers.get("content-length") {
                Some(n) => n
                    .parse()
                    .map_err(|_| invalid(format!("bad content-length {n:?}")))?,
                None => 0,
            };
            body.resize(length, 0);
            self.reader.read_exact(&mut body)?;
        }
        let body = String::from_utf8(body).map_err(|_| invalid("body is not UTF-8"))?;
        Ok(Response {
            status,
            headers,
            body,
        })
    }
}

/// The `(id, name)` pairs of a listing.
fn students(listing: &Response) -> Vec<(i64, String)> {
    let rows = listing.json();
    let rows = rows.as_array().expect("a JSON array");
    rows.iter()
        .map(|row| {
            let id = row["id"].as_i64().expect("an id");
            let name = row["name"].as_str().expect("a name").to_owned();
            (id, name)
        })
        .collect()
}

#[test]
fn hits_misses_and_invalidation_over_http() {
    let server = Server::start();
    let mut c = server.client();

    // The cached view: MISS, then HIT with the same body, stored under view//students.
    let first = c.get("/students").unwrap();
    assert_eq!((first.status, first.x_cache()), (200, "MISS"), "{first:?}");
    assert_eq!(first.header("x-cache-key"), Some("view//students"));
    assert_eq!(
        first.header("content-type"),
        Some("application/json"),
        "{first:?}"
    );
    let stored: Option<String> = server.cache.get("view//students").unwrap();
    assert_eq!(stored.as_deref(), Some(first.body.as_str()));
    let second = c.get("/students").unwrap();
    assert_eq!((second.status, second.x_cache()), (200, "HIT"));
    assert_eq!(second.body, first.body);
    assert_eq!(
        students(&second),
        [(1, "Ann".into()), (2, "Ben".into()), (3, "Cleo".into())]
    );

    // The memoized lookup: MISS, then HIT.
    let ann = c.get("/students/1").unwrap();
    assert_eq!((ann.status, ann.x_cache()), (200, "MISS"), "{ann:?}");
    let memo_key = ann.header("x-cache-key").expect("a memoize key").to_owned();
    assert_eq!(ann.json(), serde_json::json!({"id": 1, "name": "Ann"}));
    let again = c.get("/students/1").unwrap();
    assert_eq!((again.status, again.x_cache()), (200, "HIT"));
    assert_eq!(again.header("x-cache-key"), Some(memo_key.as_str()));
    assert_eq!(again.body, ann.body);

    // Unknown ids: 404, never served from the cache (None without cache_none).
    for _ in 0..2 {
        let missing = c.get("/students/4").unwrap();
        assert_eq!(
            (missing.status, missing.x_cache()),
            (404, "MISS"),
            "{missing:?}"
        );
    }
    let bad = c.get("/students/abc").unwrap();
    assert_eq!((bad.status, bad.x_cache()), (400, "MISS"));
    let nowhere = c.get("/teachers").unwrap();
    assert_eq!((nowhere.status, nowhere.x_cache()), (404, "MISS"));

    // A JSON POST adds student 4 and deletes the listing and get_student(4).
    let dora = c
        .post_json("/students", &serde_json::json!({"name": "Dora"}))
        .unwrap();
    assert_eq!((dora.status, dora.x_cache()), (201, "MISS"), "{dora:?}");
    assert_eq!(dora.header("location"), Some("/students/4"));
    let created = dora.json();
    assert_eq!(
        (created["id"].as_i64(), created["name"].as_str()),
        (Some(4), Some("Dora"))
    );
    let invalidated = created["invalidated"].as_array().expect("the deletes");
    assert_eq!(
        invalidated[0],
        serde_json::json!({"key": "view//students", "existed": true})
    );
    // The None the 404s above stored for get_student(4) was there to delete.
    assert_eq!(invalidated[1]["existed"], Json::Bool(true), "{created}");
    assert_eq!(invalidated.len(), 2);

    // No stale read: the listing is recomputed and lists Dora, then is cached again.
    let after = c.get("/students").unwrap();
    assert_eq!((after.status, after.x_cache()), (200, "MISS"));
    assert!(students(&after).contains(&(4, "Dora".into())), "{after:?}");
    let cached = c.get("/students").unwrap();
    assert_eq!(cached.x_cache(), "HIT");
    assert_eq!(cached.body, after.body);
    let four = c.get("/students/4").unwrap();
    assert_eq!((four.status, four.x_cache()), (200, "MISS"), "{four:?}");
    assert_eq!(four.json()["name"], "Dora");
    assert_eq!(c.get("/students/4").unwrap().x_cache(), "HIT");

    // A form POST works the same way.
    let eve = c.post_form("/students", "name=Eve+Smith%21").unwrap();
    assert_eq!(eve.status, 201, "{eve:?}");
    assert_eq!(eve.json()["id"], 5);
    let listing = c.get("/students").unwrap();
    assert_eq!(listing.x_cache(), "MISS");
    assert_eq!(students(&listing).last(), Some(&(5, "Eve Smith!".into())));

    // Other students' memoized entries were not touched by the writes.
    let ann = c.get("/students/1").unwrap();
    assert_eq!((ann.status, ann.x_cache()), (200, "HIT"));

    // Rejected writes change nothing and still carry X-Cache.
    let empty = c.post_form("/students", "name=+++").unwrap();
    assert_eq!((empty.status, empty.x_cache()), (422, "MISS"));
    let no_name = c
        .post_json("/students", &serde_json::json!({"nom": "Zoe"}))
        .unwrap();
    assert!(no_name.status >= 400 && no_name.status < 500, "{no_name:?}");
    assert_eq!(no_name.x_cache(), "MISS");
    let broken = c
        .send("POST", "/students", Some("application/json"), "{")
        .unwrap();
    assert!(broken.status >= 400 && broken.status < 500, "{broken:?}");
    let plain = c
        .send("POST", "/students", Some("text/plain"), "Zoe")
        .unwrap();
    assert_eq!((plain.status, plain.x_cache()), (415, "MISS"));
    let unchanged = c.get("/students").unwrap();
    assert_eq!(unchanged.x_cache(), "HIT");
    assert_eq!(students(&unchanged).len(), 5);
}

#[derive(Default)]
struct LoadStats {
    requests: u64,
    hits: u64,
    misses: u64,
    errors: Vec<String>,
    stale: Vec<String>,
}

/// One client's share of the load. `committed` holds every student whose POST has been
/// answered: a listing requested after that must contain it.
fn load_client(
    addr: SocketAddr,
    client: usize,
    requests: usize,
    committed: &Mutex<Vec<(i64, String)>>,
) -> LoadStats {
    let mut stats = LoadStats::default();
    let mut c = match Client::connect(addr) {
        Ok(c) => c,
        Err(e) => {
            stats.errors.push(format!("client {client}: connect: {e}"));
            return stats;
        }
    };
    let mut mine: Vec<(i64, String)> = Vec::new();
    let check_listing = |c: &mut Client, stats: &mut LoadStats, must: &[(i64, String)]| {
        match c.get("/students") {
            Ok(r) if r.status == 200 && matches!(r.x_cache(), "HIT" | "MISS") => {
                if r.x_cache() == "HIT" {
                    stats.hits += 1;
                } else {
                    stats.misses += 1;
                }
                let listed = students(&r);
                for s in must {
                    if !listed.contains(s) {
                        stats.stale.push(format!(
                            "client {client}: {s:?} missing from a {} listing",
                            r.x_cache()
                        ));
                    }
                }
            }
            Ok(r) => stats
                .errors
                .push(format!("client {client}: GET /students: {r:?}")),
            Err(e) => stats
                .errors
                .push(format!("client {client}: GET /students: {e}")),
        }
        stats.requests += 1;
    };
    let mut i = 0;
    while i < requests {
        if i % 50 == 25 && i + 1 < requests {
            // A write, then the writer's own read: it must list the new student.
            let name = format!("load {client}-{i}");
            let posted = if i % 100 == 25 {
                c.post_json("/students", &serde_json::json!({ "name": name }))
            } else {
                c.post_form("/students", &format!("name=load+{client}-{i}"))
            };
            stats.requests += 1;
            match posted {
                Ok(r) if r.status == 201 && r.x_cache() == "MISS" => {
                    let id = r.json()["id"].as_i64().unwrap_or(-1);
                    mine.push((id, name.clone()));
                    committed
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push((id, name));
                }
                Ok(r) => stats.errors.push(format!("client {client}: POST: {r:?}")),
                Err(e) => stats.errors.push(format!("client {client}: POST: {e}")),
            }
            let last = mine.last().cloned().into_iter().collect::<Vec<_>>();
            check_listing(&mut c, &mut stats, &last);
            i += 2;
            continue;
        }
        if i % 2 == 0 {
            // Every student committed before this request was sent must be listed.
            let must = committed.lock().unwrap_or_else(|e| e.into_inner()).clone();
            check_listing(&mut c, &mut stats, &must);
        } else {
            // A lookup: a seeded student, one of this client's own, or an unknown id.
            let (sid, expected) = match (i / 2) % 4 {
                0 | 1 => {
                    let k = (i / 2) % 3;
                    (k as i64 + 1, Some(["Ann", "Ben", "Cleo"][k].to_owned()))
                }
                2 if !mine.is_empty() => {
                    let (id, name) = &mine[(i / 8) % mine.len()];
                    (*id, Some(name.clone()))
                }
                _ => (1_000_000 + client as i64, None),
            };
            match c.get(&format!("/students/{sid}")) {
                Ok(r) => {
                    let ok = match &expected {
                        Some(name) => r.status == 200 && r.json()["name"] == name.as_str(),
                        None => r.status == 404 && r.x_cache() == "MISS",
                    };
                    if !ok || !matches!(r.x_cache(), "HIT" | "MISS") {
                        stats
                            .errors
                            .push(format!("client {client}: GET /students/{sid}: {r:?}"));
                    } else if r.x_cache() == "HIT" {
                        stats.hits += 1;
                    } else {
                        stats.misses += 1;
                    }
                }
                Err(e) => stats
                    .errors
                    .push(format!("client {client}: GET /students/{sid}: {e}")),
            }
            stats.requests += 1;
        }
        i += 1;
    }
    stats
}

#[test]
fn concurrent_load_has_no_errors_and_no_stale_reads() {
    const CLIENTS: usize = 8;
    const REQUESTS: usize = 500;
    let server = Server::start();
    let committed = Arc::new(Mutex::new(Vec::new()));
    let start = Instant::now();
    let threads: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let committed = Arc::clone(&committed);
            let addr = server.addr;
            std::thread::spawn(move || load_client(addr, client, REQUESTS, &committed))
        })
        .collect();
    let mut total = LoadStats::default();
    for t in threads {
        let s = t.join().expect("a load client panicked");
        total.requests += s.requests;
        total.hits += s.hits;
        total.misses += s.misses;
        total.errors.extend(s.errors);
        total.stale.extend(s.stale);
    }
    let elapsed = start.elapsed();
    let rps = total.requests as f64 / elapsed.as_secs_f64();
    println!(
        "http_server load: {CLIENTS} clients x {REQUESTS} requests = {} requests in {elapsed:.2?}: \
         {rps:.0} requests/s ({} HIT, {} MISS, {} writes, {} errors, {} stale reads)",
        total.requests,
        total.hits,
        total.misses,
        committed.lock().map_or(0, |c| c.len()),
        total.errors.len(),
        total.stale.len(),
    );
    assert_eq!(total.requests, (CLIENTS * REQUESTS) as u64);
    assert!(
        total.errors.is_empty(),
        "errors: {:#?}",
        &total.errors[..total.errors.len().min(10)]
    );
    assert!(
        total.stale.is_empty(),
        "stale reads: {:#?}",
        &total.stale[..total.stale.len().min(10)]
    );

    // Every write landed, with distinct ids, and the final listing has them all.
    let written = committed.lock().unwrap().clone();
    assert_eq!(written.len(), CLIENTS * (REQUESTS / 50));
    let listing = students(&server.client().get("/students").unwrap());
    assert_eq!(listing.len(), 3 + written.len());
    for s in &written {
        assert!(listing.contains(s), "{s:?} missing from the final listing");
    }
}
