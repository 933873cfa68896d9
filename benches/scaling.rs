//! How the cost of a memoize hit (through `flaskcache::Cache`) and of a `MemoryStore` get
//! grows with (a) the number of live entries, (b) the size of the argument, and (c) the
//! number of instances whose method is memoized (each has its own version key).
//!
//! `cargo bench --bench scaling` prints a Markdown table, rewrites the generated part of the
//! "Scaling" section of `docs/performance.md` and draws `docs/performance-scaling.svg`.
//! `FLASKCACHE_BENCH_QUICK=1` runs smaller sizes and fewer operations, prints the table and
//! draws the plot under the system's temporary directory, leaving `docs/` alone.

use std::convert::Infallible;
use std::fmt::Write as _;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use flaskcache::engine::store::MemoryStore;
use flaskcache::{
    Binding, Cache, ClassRef, Dict, FunctionDescriptor, MemoizeOptions, Memoized, Param, PyRepr,
    PythonVersion, SharedMemoryStore, StoreConfig, Timestamp, ToPy,
};
use plotters::prelude::*;

#[path = "support/timing.rs"]
mod timing;
use timing::{shuffled, time_ns};

const BEGIN: &str = "<!-- scaling table: begin -->";
const END: &str = "<!-- scaling table: end -->";

/// Sizes and operation counts for one run.
struct Plan {
    entries: &'static [usize],
    instances: &'static [usize],
    /// Timed operations per measurement.
    ops: usize,
    quick: bool,
}

const FULL: Plan = Plan {
    entries: &[1_000, 10_000, 100_000, 1_000_000],
    instances: &[1, 10, 100, 1_000, 10_000],
    ops: 200_000,
    quick: false,
};

const QUICK: Plan = Plan {
    entries: &[1_000, 10_000, 100_000],
    instances: &[1, 10, 100, 1_000],
    ops: 20_000,
    quick: true,
};

/// One measured configuration.
struct Row {
    axis: Axis,
    label: String,
    /// The x value for the plot (entries or instances; the argument's index for `Arg`).
    x: f64,
    live: usize,
    hit_ns: f64,
    get_ns: f64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Axis {
    Entries,
    Arg,
    Instances,
}

impl Axis {
    fn title(self) -> &'static str {
        match self {
            Axis::Entries => "(a) live entries",
            Axis::Arg => "(b) argument",
            Axis::Instances => "(c) instances (instance method)",
        }
    }
}

/// A cache whose store never prunes (threshold above any size measured here), so that the
/// live entries are exactly the ones the run created.
fn cache() -> (Cache, Arc<SharedMemoryStore>) {
    let store = Arc::new(SharedMemoryStore::new(StoreConfig {
        threshold: usize::MAX,
        ..StoreConfig::default()
    }));
    let cache = Cache::builder()
        .store(store.clone())
        .build()
        .unwrap_or_else(|e| panic!("cache: {e}"));
    (cache, store)
}

fn options() -> MemoizeOptions {
    MemoizeOptions {
        // A day: nothing expires during the run.
        timeout: Some(86_400),
        ..Default::default()
    }
}

/// `MemoryStore::get` of every stored key, in shuffled order, on the cache's own store.
fn store_get_ns(store: &SharedMemoryStore, ops: usize) -> f64 {
    store.with(|s: &MemoryStore| {
        let keys: Vec<String> = s.keys().map(str::to_owned).collect();
        let order = shuffled(keys.len());
        let now = Timestamp::from_secs(1_700_000_000);
        time_ns(ops, &order, |i| {
            black_box(s.get(black_box(&keys[i]), now));
        })
    })
}

/// Warms `f` with every argument, checks that a second call hits, then times hits over the
/// arguments in shuffled order.
fn memoize_hit_ns<A: ToPy>(cache: &Cache, f: &Memoized<i64>, args: &[A], ops: usize) -> f64 {
    for (i, arg) in args.iter().enumerate() {
        f.call(cache, (arg,), || Ok::<_, Infallible>(i as i64))
            .unwrap_or_else(|e| panic!("warm: {e}"));
    }
    if let Some(first) = args.first() {
        let called = f
            .call_traced(cache, (first,), || Ok::<_, Infallible>(-1))
            .unwrap_or_else(|e| panic!("check: {e}"));
        assert!(called.is_hit(), "the warmed call must hit");
    }
    let order = shuffled(args.len());
    time_ns(ops, &order, |i| {
        let v = f
            .call(cache, (&args[i],), || Ok::<_, Infallible>(-1))
            .unwrap_or_else(|e| panic!("hit: {e}"));
        black_box(v);
    })
}

/// (a): `get_student(sid)` with `n - 1` distinct ids cached (plus its version key).
fn by_entries(plan: &Plan, rows: &mut Vec<Row>) {
    for &n in plan.entries {
        let (cache, store) = cache();
        let f: Memoized<i64> = cache
            .memoize("app.models.get_student", ["sid"], options())
            .unwrap_or_else(|e| panic!("memoize: {e}"));
        let sids: Vec<i64> = (0..n as i64 - 1).collect();
        let hit_ns = memoize_hit_ns(&cache, &f, &sids, plan.ops);
        let get_ns = store_get_ns(&store, plan.ops);
        rows.push(Row {
            axis: Axis::Entries,
            label: n.to_string(),
            x: n as f64,
            live: store.len(),
            hit_ns,
            get_ns,
        });
        eprintln!("entries {n}: done");
    }
}

/// (b): `lookup(arg)` with 1,000 distinct arguments of each shape cached.
fn by_argument(plan: &Plan, rows: &mut Vec<Row>) {
    const N: usize = 1_000;
    let ints: Vec<i64> = (0..N as i64).collect();
    let strings: Vec<String> = (0..N).map(|i| format!("{i:0>100}")).collect();
    let lists: Vec<Vec<i64>> = (0..N as i64)
        .map(|i| (0..100).map(|j| i * 100 + j).collect())
        .collect();
    let dicts: Vec<Dict<String, Dict<String, i64>>> = (0..N as i64)
        .map(|i| {
            let inner = |k: i64| Dict((0..4).map(|j| (format!("f{j}"), i + k + j)).collect());
            Dict((0..4).map(|k| (format!("group{k}"), inner(k))).collect())
        })
        .collect();
    let mut run = |label: &str, x: f64, measure: &dyn Fn(&Cache, &Memoized<i64>) -> f64| {
        let (cache, store) = cache();
        let f: Memoized<i64> = cache
            .memoize("app.models.lookup", ["arg"], options())
            .unwrap_or_else(|e| panic!("memoize: {e}"));
        let hit_ns = measure(&cache, &f);
        let get_ns = store_get_ns(&store, plan.ops);
        rows.push(Row {
            axis: Axis::Arg,
            label: label.to_owned(),
            x,
            live: store.len(),
            hit_ns,
            get_ns,
        });
        eprintln!("argument {label}: done");
    };
    run("int", 0.0, &|c, f| memoize_hit_ns(c, f, &ints, plan.ops));
    run("str, 100 chars", 1.0, &|c, f| {
        memoize_hit_ns(c, f, &strings, plan.ops)
    });
    run("list, 100 ints", 2.0, &|c, f| {
        memoize_hit_ns(c, f, &lists, plan.ops)
    });
    run("dict, 4 x 4 ints", 3.0, &|c, f| {
        memoize_hit_ns(c, f, &dicts, plan.ops)
    });
}

/// A model instance known by its repr, `Student(id)`.
struct Student {
    id: usize,
}

impl PyRepr for Student {
    fn py_class(&self) -> ClassRef {
        ClassRef::new("app.models", "Student")
    }

    fn py_repr(&self, _: PythonVersion) -> String {
        format!("Student({})", self.id)
    }
}

/// (c): the instance method `Student.grade(self, course)` called on `n` instances, each with
/// one cached result and its own version key.
fn by_instances(plan: &Plan, rows: &mut Vec<Row>) {
    for &n in plan.instances {
        let (cache, store) = cache();
        let descriptor = FunctionDescriptor::new(
            "app.models",
            "Student.grade",
            vec![Param::required("self"), Param::required("course")],
            Binding::InstanceMethod,
        )
        .unwrap_or_else(|e| panic!("descriptor: {e}"));
        let f: Memoized<i64> = cache
            .memoize_fn(descriptor, options())
            .unwrap_or_else(|e| panic!("memoize: {e}"));
        let students: Vec<Student> = (0..n).map(|id| Student { id }).collect();
        for (i, s) in students.iter().enumerate() {
            f.on_instance(s)
                .call(&cache, ("math",), || Ok::<_, Infallible>(i as i64))
                .unwrap_or_else(|e| panic!("warm: {e}"));
        }
        let order = shuffled(n);
        let hit_ns = time_ns(plan.ops, &order, |i| {
            let v = f
                .on_instance(&students[i])
                .call(&cache, ("math",), || Ok::<_, Infallible>(-1))
                .unwrap_or_else(|e| panic!("hit: {e}"));
            black_box(v);
        });
        let get_ns = store_get_ns(&store, plan.ops);
        rows.push(Row {
            axis: Axis::Instances,
            label: n.to_string(),
            x: n as f64,
            live: store.len(),
            hit_ns,
            get_ns,
        });
        eprintln!("instances {n}: done");
    }
}

fn table(rows: &[Row]) -> String {
    let mut out = String::new();
    out.push_str("| axis | value | live entries | memoize hit (ns) | MemoryStore get (ns) |\n");
    out.push_str("|---|---|---:|---:|---:|\n");
    for r in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.0} | {:.0} |",
            r.axis.title(),
            r.label,
            r.live,
            r.hit_ns,
            r.get_ns
        );
    }
    out
}

type DrawResult = Result<(), Box<dyn std::error::Error>>;

const HIT: RGBColor = RGBColor(0x1f, 0x77, 0xb4);
const GET: RGBColor = RGBColor(0xff, 0x7f, 0x0e);

/// A panel with a logarithmic x axis: both costs against entries or instances.
fn log_panel(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    rows: &[&Row],
    x_desc: &str,
    y: (f64, f64),
) -> DrawResult {
    let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
        return Ok(());
    };
    let axis = first.axis;
    let (lo, hi) = (first.x.max(1.0) / 2.0, last.x * 2.0);
    let mut chart = ChartBuilder::on(area)
        .caption(axis.title(), ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(75)
        .build_cartesian_2d((lo..hi).log_scale(), (y.0..y.1).log_scale())?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc("ns per operation (log)")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .draw()?;
    for (name, color, pick) in [
        ("memoize hit", HIT, (|r: &Row| r.hit_ns) as fn(&Row) -> f64),
        ("MemoryStore get", GET, |r: &Row| r.get_ns),
    ] {
        let points: Vec<(f64, f64)> = rows.iter().map(|r| (r.x, pick(r))).collect();
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?
            .label(name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
        chart.draw_series(
            points
                .into_iter()
                .map(|p| Circle::new(p, 4, color.filled())),
        )?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

/// The argument panel: one wide bar for the hit, a narrow one inside it for the get.
fn arg_panel(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    rows: &[&Row],
    y: (f64, f64),
) -> DrawResult {
    let n = rows.len() as i32;
    let labels: Vec<String> = rows.iter().map(|r| r.label.clone()).collect();
    let mut chart = ChartBuilder::on(area)
        .caption(Axis::Arg.title(), ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(75)
        // `into_segmented` of `0..k` has a segment for each of `0..=k`.
        .build_cartesian_2d((0..n - 1).into_segmented(), (y.0..y.1).log_scale())?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .y_desc("ns per operation (log)")
        .y_label_formatter(&|y| format!("{y:.0}"))
        .x_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => labels
                .get(usize::try_from(*i).unwrap_or(usize::MAX))
                .cloned()
                .unwrap_or_default(),
            _ => String::new(),
        })
        .draw()?;
    for (i, r) in rows.iter().enumerate() {
        let i = i as i32;
        let mut hit = Rectangle::new(
            [
                (SegmentValue::Exact(i), y.0),
                (SegmentValue::Exact(i + 1), r.hit_ns),
            ],
            HIT.filled(),
        );
        hit.set_margin(0, 0, 6, 6);
        let mut get = Rectangle::new(
            [
                (SegmentValue::Exact(i), y.0),
                (SegmentValue::Exact(i + 1), r.get_ns),
            ],
            GET.filled(),
        );
        get.set_margin(0, 0, 26, 26);
        chart.draw_series([hit, get])?;
    }
    for (name, color) in [("memoize hit", HIT), ("MemoryStore get", GET)] {
        chart
            .draw_series(std::iter::empty::<Rectangle<(SegmentValue<i32>, f64)>>())?
            .label(name)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], color.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

fn plot(rows: &[Row], path: &Path) -> DrawResult {
    let root = SVGBackend::new(path, (1500, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let panels = root.split_evenly((1, 3));
    // One logarithmic y range for all three panels, so that they compare at a glance.
    let y_max = rows.iter().map(|r| r.hit_ns).fold(1.0, f64::max);
    let y_min = rows.iter().map(|r| r.get_ns).fold(f64::INFINITY, f64::min);
    let y = ((y_min / 2.0).clamp(1.0, 10.0), y_max * 3.0);
    let pick = |axis| rows.iter().filter(|r| r.axis == axis).collect::<Vec<_>>();
    if let [a, b, c] = panels.as_slice() {
        log_panel(a, &pick(Axis::Entries), "live entries", y)?;
        arg_panel(b, &pick(Axis::Arg), y)?;
        log_panel(c, &pick(Axis::Instances), "instances", y)?;
    }
    root.present()?;
    Ok(())
}

/// Replaces the text between the markers in `docs/performance.md`; leaves the file alone
/// (and says so) when the markers are missing.
fn update_doc(path: &Path, generated: &str) -> std::io::Result<bool> {
    let text = std::fs::read_to_string(path)?;
    let (Some(begin), Some(end)) = (text.find(BEGIN), text.find(END)) else {
        return Ok(false);
    };
    if end < begin {
        return Ok(false);
    }
    let mut out = String::with_capacity(text.len() + generated.len());
    out.push_str(&text[..begin + BEGIN.len()]);
    out.push('\n');
    out.push_str(generated);
    out.push_str(&text[end..]);
    std::fs::write(path, out)?;
    Ok(true)
}

fn main() {
    let quick = std::env::var_os("FLASKCACHE_BENCH_QUICK").is_some_and(|v| v != "0");
    let plan = if quick { &QUICK } else { &FULL };
    let started = Instant::now();
    let mut rows = Vec::new();
    by_entries(plan, &mut rows);
    by_argument(plan, &mut rows);
    by_instances(plan, &mut rows);
    let table = table(&rows);
    println!("{table}");
    println!("({:.0} s)", started.elapsed().as_secs_f64());

    let docs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs");
    let svg = if plan.quick {
        std::env::temp_dir().join("performance-scaling.svg")
    } else {
        docs.join("performance-scaling.svg")
    };
    match plot(&rows, &svg) {
        Ok(()) => println!("plot: {}", svg.display()),
        Err(e) => eprintln!("plot {}: {e}", svg.display()),
    }
    if plan.quick {
        println!("quick mode: docs/performance.md left unchanged");
        return;
    }
    let doc = docs.join("performance.md");
    match update_doc(&doc, &table) {
        Ok(true) => println!("table: {}", doc.display()),
        Ok(false) => eprintln!("{}: no scaling table markers; not updated", doc.display()),
        Err(e) => eprintln!("{}: {e}", doc.display()),
    }
}
