//! Briefing-pack benchmarks (a bench binary; run: `cargo bench -p desk-brief --bench brief`).
//!
//! 1. The ~100-page pack of the large demo replica's Master Plan review meeting (20 agenda items
//!    with briefs, 300 delegates, 40 project pages, 200 open action items; all six scripts) and
//!    the 10-page pack of the small demo's SOM: compose, layout and PDF writing timed apart,
//!    median of 5 runs, plus the process's peak memory.
//! 2. The same composed pack typeset by Typst (the tool a user would otherwise reach for),
//!    through its Python package in a private venv (`pip install typst`), median of 5 runs.
//!    Skipped with a note when Python or the network is not there.
//!
//! `BENCH_QUICK=1` uses the small demo only (a smoke run for CI).

use desk_brief::{compose, layout, pdf, Block, Options, Pack};
use desk_core::demo::Size;
use desk_core::{Entity, Key, Replica};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

struct Timing {
    /// The first run in this process (fonts parsed, caches cold).
    first: Duration,
    pages: usize,
    bytes: usize,
    compose: Duration,
    layout: Duration,
    write: Duration,
}

fn run(r: &Replica, meeting: &str) -> Timing {
    let opts = Options::default();
    let mut c = Vec::new();
    let mut l = Vec::new();
    let mut w = Vec::new();
    let mut pages = 0;
    let mut bytes = 0;
    let mut first = Duration::ZERO;
    for run in 0..5 {
        let t0 = Instant::now();
        let t = Instant::now();
        let pack = compose(r, meeting, &opts).expect("compose");
        c.push(t.elapsed());
        let t = Instant::now();
        let lay = layout(&pack, opts.paper);
        l.push(t.elapsed());
        let t = Instant::now();
        let out = pdf::write(&pack, &lay).expect("pdf");
        w.push(t.elapsed());
        pages = lay.pages.len();
        bytes = out.len();
        if run == 0 {
            first = t0.elapsed();
        }
    }
    Timing {
        first,
        pages,
        bytes,
        compose: median(c),
        layout: median(l),
        write: median(w),
    }
}

fn report(name: &str, t: &Timing) -> Duration {
    let total = t.compose + t.layout + t.write;
    println!(
        "{name}: {} pages, {} KB: total {:.0} ms (compose {:.0}, layout {:.0}, PDF {:.0}; median of 5); {:.1} ms/page; first run in the process {:.0} ms",
        t.pages,
        t.bytes / 1024,
        ms(total),
        ms(t.compose),
        ms(t.layout),
        ms(t.write),
        ms(total) / t.pages.max(1) as f64,
        ms(t.first)
    );
    total
}

fn find(r: &Replica, short: &str) -> String {
    r.resolve(Entity::Meeting, short).expect("demo meeting")
}

/// The pack as Typst markup: the same text, the same tables (header rows repeat), Noto fonts.
fn typst_source(p: &Pack) -> String {
    fn esc(s: &str) -> String {
        let mut o = String::with_capacity(s.len());
        for c in s.chars() {
            if "\\#*_`$<>@[]=-+/~\"'".contains(c) {
                o.push('\\');
            }
            o.push(c);
        }
        o.replace('\n', " \\\n")
    }
    let mut t = String::from(
        "#set page(paper: \"a4\", margin: 2cm, header: [ACMECS #h(1fr) RESTRICTED], footer: context [#h(1fr) Page #counter(page).display() of #counter(page).final().first()])\n\
         #set text(font: (\"Noto Sans\", \"Noto Sans Thai\", \"Noto Sans Lao\", \"Noto Sans Khmer\", \"Noto Sans Myanmar\"), size: 10pt)\n",
    );
    t.push_str(&format!(
        "#align(center)[#text(22pt, weight: \"bold\")[{}] \\ {} \\ {}]\n#pagebreak()\n#outline()\n",
        esc(&p.title),
        esc(&p.dates),
        esc(&p.venue)
    ));
    for s in &p.sections {
        t.push_str(&format!("#pagebreak()\n= {}\n", esc(&s.title)));
        for b in &s.blocks {
            match b {
                Block::Heading { level, text } => t.push_str(&format!(
                    "{} {}\n",
                    "=".repeat(usize::from(*level) + 1),
                    esc(text)
                )),
                Block::Paragraph { text } => t.push_str(&format!("{}\n\n", esc(text))),
                Block::Fields { rows } => {
                    t.push_str("#table(columns: (30%, 70%), stroke: none,\n");
                    for (k, v) in rows {
                        t.push_str(&format!("[*{}*], [{}],\n", esc(k), esc(v)));
                    }
                    t.push_str(")\n");
                }
                Block::Table { columns, rows } => {
                    t.push_str(&format!(
                        "#table(columns: {}, table.header({}),\n",
                        columns.len(),
                        columns
                            .iter()
                            .map(|c| format!("[*{}*]", esc(c)))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                    for r in rows {
                        for c in r {
                            t.push_str(&format!("[{}], ", esc(&c.text)));
                        }
                        t.push('\n');
                    }
                    t.push_str(")\n");
                }
            }
        }
    }
    t
}

/// Typst through its Python package, in a venv under ~/.cache (installed once).
fn typst(pack: &Pack, dir: &Path) -> Option<(Duration, usize)> {
    let cache = std::env::var("HOME").ok()? + "/.cache/secretariat-desk/typst-venv";
    let py = format!("{cache}/bin/python");
    if !Path::new(&py).exists() {
        let ok = Command::new("python3")
            .args(["-m", "venv", &cache])
            .status()
            .ok()?
            .success()
            && Command::new(&py)
                .args(["-m", "pip", "install", "-q", "typst"])
                .status()
                .ok()?
                .success();
        if !ok {
            return None;
        }
    }
    let src = dir.join("pack.typ");
    std::fs::write(&src, typst_source(pack)).ok()?;
    let out = dir.join("pack-typst.pdf");
    // A fresh Python process per run, timing only the compile call: Typst memoises work
    // across compiles in one process, which a user printing a new pack does not get. Fonts:
    // the same ten Noto files we bundle (system fonts ignored), so neither side scans more.
    let fonts = Path::new(env!("CARGO_MANIFEST_DIR")).join("fonts");
    let script = format!(
        "import time, typst\nt = time.perf_counter()\ntypst.compile({src:?}, output={out:?}, font_paths=[{fonts:?}], ignore_system_fonts=True)\nprint(time.perf_counter() - t)\n",
        src = src.display().to_string(),
        out = out.display().to_string(),
        fonts = fonts.display().to_string()
    );
    let mut runs = Vec::new();
    for _ in 0..5 {
        let o = Command::new(&py).args(["-c", &script]).output().ok()?;
        if !o.status.success() {
            eprintln!("typst failed: {}", String::from_utf8_lossy(&o.stderr));
            return None;
        }
        let secs: f64 = String::from_utf8_lossy(&o.stdout).trim().parse().ok()?;
        runs.push(Duration::from_secs_f64(secs));
    }
    let secs = median(runs).as_secs_f64();
    let pages = Command::new("pdfinfo")
        .arg(&out)
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .find(|l| l.starts_with("Pages:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0);
    Some((Duration::from_secs_f64(secs), pages))
}

fn typst_version() -> String {
    let py = std::env::var("HOME").unwrap_or_default()
        + "/.cache/secretariat-desk/typst-venv/bin/python";
    Command::new(py)
        .args([
            "-c",
            "import importlib.metadata as m; print(m.version('typst'))",
        ])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

fn main() {
    let quick = std::env::var("BENCH_QUICK").is_ok();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut r = Replica::init(&dir.path().join("bench.db"), &Key::Raw([7u8; 32])).expect("replica");
    r.load_demo(Size::Small, &mut |_| {}).expect("demo");
    let small = run(&r, &find(&r, "ACMECS SOM 2026"));
    let small_total = report("10-page pack (small demo, ACMECS SOM 2026)", &small);
    if cfg!(debug_assertions) {
        println!("  (debug build: a smoke run; timings mean nothing)");
    } else {
        println!(
            "  target < 150 ms: {}",
            if small_total < Duration::from_millis(150) {
                "met"
            } else {
                "NOT met"
            }
        );
    }
    if quick {
        return;
    }
    let t = Instant::now();
    r.load_demo(Size::Large, &mut |_| {}).expect("large demo");
    println!("(large demo loaded in {:.1} s)", t.elapsed().as_secs_f64());
    let id = find(&r, "Special ACMECS SOM 2027");
    let big = run(&r, &id);
    let big_total = report("100-page pack (large demo, Special ACMECS SOM 2027)", &big);
    println!(
        "  target < 1 s: {}; peak memory of this process {:.0} MB (target < 200, includes the replica)",
        if big_total < Duration::from_secs(1) { "met" } else { "NOT met" },
        peak_rss_mb()
    );
    let pack = compose(&r, &id, &Options::default()).expect("compose");
    match typst(&pack, dir.path()) {
        Some((d, pages)) => println!(
            "Typst {} (same pack as Typst markup, same fonts; compile call in a fresh process, median of 5): {pages} pages in {:.0} ms: {:.2}x our time",
            typst_version(),
            ms(d),
            d.as_secs_f64() / big_total.as_secs_f64()
        ),
        None => println!("Typst comparison skipped (no python3-venv or no network for pip)"),
    }
}
