//! Results: the tables (text and Markdown), the targets' verdicts, the JSON and
//! the SVG charts written into `docs/benchmarks/`.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::run::{Kind, PgbenchResult, WrkErrors};
use crate::seed::{Scale, SeedReport};

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct RunResult {
    pub mode: String,
    pub scale: Scale,
    pub connections: u32,
    pub duration_secs: u64,
    pub warmup_secs: u64,
    pub machine: String,
    pub started_at: String,
    pub backends: Vec<BackendResult>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct BackendResult {
    pub backend: String,
    pub seed: Option<SeedReport>,
    pub measures: Vec<Measure>,
    pub pgbench: Option<PgbenchResult>,
    pub soak: Option<Soak>,
    pub cold_start_ms: Option<f64>,
    /// The import scenario (older runs have none).
    #[serde(default)]
    pub import: Option<ImportRun>,
    /// The export scenario (older runs have none).
    #[serde(default)]
    pub export: Option<ExportRun>,
    /// The hourly alert refresh (older runs have none).
    #[serde(default)]
    pub alerts_refresh: Option<AlertsRefreshRun>,
}

/// The hourly maintenance-alert refresh, timed: a walk of the whole fleet (the
/// first run of a day), then an hour's run after some vehicles were edited.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct AlertsRefreshRun {
    pub full_vehicles: u64,
    pub full_seconds: f64,
    pub hour_vehicles: u64,
    pub hour_seconds: f64,
}

impl AlertsRefreshRun {
    pub fn summary(&self) -> String {
        format!(
            "hourly alert refresh: the whole fleet ({} vehicles) in {:.1} s, an hour's run ({} vehicles changed) in {:.2} s",
            self.full_vehicles, self.full_seconds, self.hour_vehicles, self.hour_seconds
        )
    }
}

/// The clients exported as CSV through the API, read to the end.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct ExportRun {
    /// Data rows received (the header line not counted).
    pub rows: u64,
    pub bytes: u64,
    pub seconds: f64,
    /// Milliseconds to the first byte of the body.
    pub first_byte_ms: f64,
    pub rss_before_mib: f64,
    pub rss_max_mib: f64,
}

impl ExportRun {
    pub fn summary(&self) -> String {
        format!(
            "export of {} clients as CSV ({:.1} MiB): first byte after {:.0} ms, all in {:.1} s ({:.0} rows/s); server RSS {:.1} → max {:.1} MiB",
            self.rows,
            self.bytes as f64 / 1_048_576.0,
            self.first_byte_ms,
            self.seconds,
            self.rows as f64 / self.seconds.max(1e-9),
            self.rss_before_mib,
            self.rss_max_mib
        )
    }
}

/// A file of vehicles imported through the API: upload, check, import, undo.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct ImportRun {
    pub rows: u64,
    pub upload_seconds: f64,
    pub check_seconds: f64,
    pub import_seconds: f64,
    pub undo_seconds: f64,
    /// Rows the check or the import refused (any is an error: the file is valid).
    pub refused: i64,
    pub rss_before_mib: f64,
    pub rss_max_mib: f64,
}

impl ImportRun {
    pub fn rows_per_second(&self) -> f64 {
        if self.import_seconds > 0.0 { self.rows as f64 / self.import_seconds } else { 0.0 }
    }

    pub fn summary(&self) -> String {
        format!(
            "import of {} vehicles: upload {:.1} s, check {:.1} s, import {:.1} s ({:.0} rows/s), undo {:.1} s; server RSS {:.1} → max {:.1} MiB",
            self.rows,
            self.upload_seconds,
            self.check_seconds,
            self.import_seconds,
            self.rows_per_second(),
            self.undo_seconds,
            self.rss_before_mib,
            self.rss_max_mib
        )
    }
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Measure {
    pub scenario: String,
    pub kind: Kind,
    pub requests: u64,
    pub requests_per_second: f64,
    pub p50_ms: f64,
    pub p75_ms: f64,
    pub p90_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
    pub errors: u64,
    pub error_detail: WrkErrors,
    pub rss_max_mib: f64,
    pub cpu_us_per_request: f64,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Soak {
    pub seconds: u64,
    pub requests: u64,
    pub errors: u64,
    pub p99_ms: f64,
    pub rss_first_tenth_mib: f64,
    pub rss_last_tenth_mib: f64,
    pub rss_series_mib: Vec<(f64, f64)>,
}

impl BackendResult {
    fn measure(&self, scenario: &str) -> Option<&Measure> {
        self.measures.iter().find(|m| m.scenario == scenario)
    }

    fn db_ceiling(&self) -> Option<f64> {
        self.measure("ceiling_db").map(|m| m.requests_per_second)
    }
}

/// Scenarios that failed the smoke check: any error, or no request at all.
pub fn errors(result: &RunResult) -> Vec<String> {
    let mut failed = Vec::new();
    for backend in &result.backends {
        for m in &backend.measures {
            if m.errors > 0 || m.requests == 0 {
                failed.push(format!("{}/{} ({} errors of {})", backend.backend, m.scenario, m.errors, m.requests));
            }
        }
        if let Some(soak) = backend.soak.as_ref().filter(|s| s.errors > 0) {
            failed.push(format!("{}/soak ({} errors)", backend.backend, soak.errors));
        }
        if let Some(import) = backend.import.as_ref().filter(|i| i.refused > 0) {
            failed.push(format!("{}/import ({} rows refused)", backend.backend, import.refused));
        }
    }
    failed
}

/// One target of the issue, measured.
pub struct Verdict {
    pub target: String,
    pub measured: String,
    pub met: bool,
}

pub fn verdicts(backend: &BackendResult) -> Vec<Verdict> {
    let mut out = Vec::new();
    let ceiling = backend.db_ceiling();
    for m in &backend.measures {
        let limit = match m.kind {
            Kind::Read => Some(10.0),
            Kind::Search => Some(20.0),
            Kind::Write | Kind::Mixed => Some(15.0),
            Kind::Page => Some(20.0),
            Kind::Login | Kind::Ceiling => None,
        };
        if let Some(limit) = limit {
            out.push(Verdict {
                target: format!("{}: p99 ≤ {limit} ms", m.scenario),
                measured: format!("{:.2} ms", m.p99_ms),
                met: m.p99_ms <= limit,
            });
        }
        if let (Kind::Read | Kind::Search, Some(ceiling)) = (m.kind, ceiling) {
            let ratio = m.requests_per_second / ceiling;
            out.push(Verdict {
                target: format!("{}: ≥ 50 % of the DB-round-trip ceiling", m.scenario),
                measured: format!("{:.0} %", ratio * 100.0),
                met: ratio >= 0.5,
            });
        }
        if m.kind != Kind::Ceiling {
            out.push(Verdict {
                target: format!("{}: zero errors", m.scenario),
                measured: m.errors.to_string(),
                met: m.errors == 0,
            });
        }
    }
    if let (Some(first), Some(deep)) =
        (backend.measure("garage_vehicles_first"), backend.measure("garage_vehicles_deep"))
    {
        let ratio = deep.requests_per_second / first.requests_per_second.max(1e-9);
        out.push(Verdict {
            target: "deep keyset page costs the first page's (throughput within 10 %)".to_owned(),
            measured: format!("{:.0} % of the first page's throughput", ratio * 100.0),
            met: ratio >= 0.9,
        });
    }
    let rss = backend.measures.iter().map(|m| m.rss_max_mib).fold(0.0_f64, f64::max);
    if rss > 0.0 {
        out.push(Verdict {
            target: "server RSS ≤ 100 MB under load".to_owned(),
            measured: format!("{rss:.1} MiB"),
            met: rss <= 100.0,
        });
    }
    if let Some(soak) = &backend.soak {
        let growth = soak.rss_last_tenth_mib - soak.rss_first_tenth_mib;
        out.push(Verdict {
            target: format!("RSS flat over a {}-minute soak (last tenth within 10 % of the first)", soak.seconds / 60),
            measured: format!("{:.1} → {:.1} MiB", soak.rss_first_tenth_mib, soak.rss_last_tenth_mib),
            met: growth <= soak.rss_first_tenth_mib * 0.1 && soak.rss_last_tenth_mib <= 100.0,
        });
        out.push(Verdict {
            target: "soak: zero errors".to_owned(),
            measured: soak.errors.to_string(),
            met: soak.errors == 0,
        });
    }
    if let Some(import) = &backend.import {
        let minutes = (import.check_seconds + import.import_seconds) / 60.0;
        out.push(Verdict {
            target: format!("{} rows checked and imported within 10 minutes", import.rows),
            measured: format!("{minutes:.1} min"),
            met: minutes <= 10.0,
        });
        out.push(Verdict {
            target: "import in constant memory (server RSS grows ≤ 50 MiB)".to_owned(),
            measured: format!("{:.1} → {:.1} MiB", import.rss_before_mib, import.rss_max_mib),
            met: import.rss_max_mib - import.rss_before_mib <= 50.0,
        });
    }
    if let Some(export) = &backend.export {
        out.push(Verdict {
            target: format!("export of {} rows in constant memory (server RSS grows ≤ 50 MiB)", export.rows),
            measured: format!("{:.1} → {:.1} MiB", export.rss_before_mib, export.rss_max_mib),
            met: export.rss_max_mib - export.rss_before_mib <= 50.0,
        });
    }
    if let Some(ms) = backend.cold_start_ms {
        out.push(Verdict {
            target: "cold start to ready ≤ 300 ms".to_owned(),
            measured: format!("{ms:.0} ms"),
            met: ms <= 300.0,
        });
    }
    out
}

fn scenario_rows(backend: &BackendResult) -> Vec<[String; 8]> {
    let ceiling = backend.db_ceiling();
    let mut rows: Vec<[String; 8]> = backend
        .measures
        .iter()
        .map(|m| {
            let of_ceiling = match (m.kind, ceiling) {
                (Kind::Ceiling, _) | (_, None) => String::new(),
                (_, Some(c)) => format!("{:.0} %", m.requests_per_second / c * 100.0),
            };
            [
                m.scenario.clone(),
                format!("{:.0}", m.requests_per_second),
                format!("{:.2}", m.p50_ms),
                format!("{:.2}", m.p99_ms),
                m.errors.to_string(),
                format!("{:.1}", m.rss_max_mib),
                format!("{:.0}", m.cpu_us_per_request),
                of_ceiling,
            ]
        })
        .collect();
    if let Some(pg) = &backend.pgbench {
        rows.push([
            "pgbench -S (database ceiling)".to_owned(),
            format!("{:.0}", pg.transactions_per_second),
            format!("{:.2}", pg.p50_ms),
            format!("{:.2}", pg.p99_ms),
            pg.failed.to_string(),
            String::new(),
            String::new(),
            String::new(),
        ]);
    }
    rows
}

const HEADERS: [&str; 8] =
    ["scenario", "req/s", "p50 ms", "p99 ms", "errors", "RSS MiB", "CPU µs/req", "of DB ceiling"];

/// The plain-text report printed at the end of a run.
pub fn text(result: &RunResult) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Volant benchmark ({} mode): {} organizations, {} garages, {} vehicles; {} connections, {} s per scenario after {} s warm-up; {}",
        result.mode,
        result.scale.organizations,
        result.scale.organizations * result.scale.garages_per_organization,
        result.scale.vehicles,
        result.connections,
        result.duration_secs,
        result.warmup_secs,
        result.machine
    );
    for backend in &result.backends {
        let _ = writeln!(out, "\n[{}]", backend.backend);
        let rows = scenario_rows(backend);
        let mut widths = HEADERS.map(str::len);
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |cells: Vec<&str>| {
            cells
                .iter()
                .zip(widths)
                .enumerate()
                .map(|(i, (c, w))| if i == 0 { format!("{c:<w$}") } else { format!("{c:>w$}") })
                .collect::<Vec<_>>()
                .join("  ")
        };
        let _ = writeln!(out, "{}", line(HEADERS.to_vec()));
        for row in &rows {
            let _ = writeln!(out, "{}", line(row.iter().map(String::as_str).collect()));
        }
        if let Some(ms) = backend.cold_start_ms {
            let _ = writeln!(out, "cold start to ready: {ms:.0} ms");
        }
        if let Some(import) = &backend.import {
            let _ = writeln!(out, "{}", import.summary());
        }
        if let Some(export) = &backend.export {
            let _ = writeln!(out, "{}", export.summary());
        }
        if let Some(refresh) = &backend.alerts_refresh {
            let _ = writeln!(out, "{}", refresh.summary());
        }
        if let Some(seed) = &backend.seed {
            let _ = writeln!(out, "seeded in {:.1} s ({:.0} vehicles/s)", seed.seconds, seed.vehicles_per_second);
        }
        if result.mode == "full" {
            for v in verdicts(backend) {
                let _ = writeln!(out, "  [{}] {} — {}", if v.met { "met " } else { "MISS" }, v.target, v.measured);
            }
        }
    }
    out
}

fn markdown(result: &RunResult) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Run of {} ({} mode) on {}: {} organizations, {} garages, {} vehicles; wrk with {} connections (2 threads), {} s per scenario after {} s of warm-up. Reproduce with `bench/run`.\n",
        result.started_at.get(..10).unwrap_or_default(),
        result.mode,
        result.machine,
        result.scale.organizations,
        result.scale.organizations * result.scale.garages_per_organization,
        result.scale.vehicles,
        result.connections,
        result.duration_secs,
        result.warmup_secs
    );
    for backend in &result.backends {
        let name = &backend.backend;
        let _ = writeln!(out, "### {}\n", if name == "postgres" { "PostgreSQL" } else { "SQLite (WAL)" });
        let _ = writeln!(out, "| {} |", HEADERS.join(" | "));
        let _ = writeln!(out, "|{}", ":--|".to_owned() + &"--:|".repeat(HEADERS.len() - 1));
        for row in scenario_rows(backend) {
            let _ = writeln!(out, "| {} |", row.join(" | "));
        }
        if let Some(ms) = backend.cold_start_ms {
            let _ = writeln!(
                out,
                "\nCold start of `volant serve` to ready on this database: **{ms:.0} ms** (median of 7)."
            );
        }
        if let Some(seed) = &backend.seed {
            let _ = writeln!(out, "\nSeeded in {:.0} s ({:.0} vehicles/s).", seed.seconds, seed.vehicles_per_second);
        }
        if let Some(export) = &backend.export {
            let _ = writeln!(out, "\nExport scenario: {}.", export.summary());
        }
        if let Some(refresh) = &backend.alerts_refresh {
            let _ = writeln!(out, "\nAlerts scenario: {}.", refresh.summary());
        }
        if let Some(import) = &backend.import {
            let _ = writeln!(out, "\nImport scenario ([docs/imports.md](imports.md)): {}.", import.summary());
        }
        let _ = writeln!(
            out,
            "\n![Throughput against the ceilings]({})\n",
            format_args!("benchmarks/{name}-throughput.svg")
        );
        let _ = writeln!(out, "![Latency percentiles]({})\n", format_args!("benchmarks/{name}-latency.svg"));
        if backend.soak.is_some() {
            let _ = writeln!(out, "![Server memory during the soak]({})\n", format_args!("benchmarks/{name}-soak.svg"));
        }
        let _ = writeln!(out, "| target | measured | |\n|:--|--:|:-:|");
        for v in verdicts(backend) {
            let _ = writeln!(out, "| {} | {} | {} |", v.target, v.measured, if v.met { "✅" } else { "❌" });
        }
        out.push('\n');
    }
    out
}

const BEGIN: &str = "<!-- bench:results:begin -->";
const END: &str = "<!-- bench:results:end -->";

/// Rewrites the generated section of `docs/benchmarks.md`, the charts and the raw JSON.
pub fn write_docs(result: &RunResult, docs: &Path) -> Result<(), String> {
    let dir = docs.join("benchmarks");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    for backend in &result.backends {
        let name = &backend.backend;
        std::fs::write(dir.join(format!("{name}-throughput.svg")), throughput_chart(backend))
            .map_err(|e| e.to_string())?;
        std::fs::write(dir.join(format!("{name}-latency.svg")), latency_chart(backend)).map_err(|e| e.to_string())?;
        if let Some(soak) = &backend.soak {
            std::fs::write(dir.join(format!("{name}-soak.svg")), soak_chart(soak)).map_err(|e| e.to_string())?;
        }
    }
    let json = serde_json::to_string_pretty(result).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("results.json"), json).map_err(|e| e.to_string())?;
    let path = docs.join("benchmarks.md");
    let current = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let (before, rest) = current.split_once(BEGIN).ok_or("docs/benchmarks.md lacks the results markers")?;
    let (_, after) = rest.split_once(END).ok_or("docs/benchmarks.md lacks the results end marker")?;
    let updated = format!("{before}{BEGIN}\n{}{END}{after}", markdown(result));
    std::fs::write(&path, updated).map_err(|e| e.to_string())
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

const FONT: &str = "font-family=\"system-ui, sans-serif\" font-size=\"12\"";

/// Horizontal bars of requests per second, with the HTTP and DB-round-trip
/// ceilings and the 50 % target drawn across.
fn throughput_chart(backend: &BackendResult) -> String {
    let rows: Vec<(&str, f64, Kind)> =
        backend.measures.iter().map(|m| (m.scenario.as_str(), m.requests_per_second, m.kind)).collect();
    let label_w = 170.0;
    let plot_w = 520.0;
    let row_h = 24.0;
    let top = 40.0;
    let height = top + row_h * rows.len() as f64 + 50.0;
    // The HTTP ceiling and the requests that read nothing (the middleware stack,
    // authentication) are far above the rest: the axis stops past the DB ceiling
    // and longer bars are cut, their value still written.
    let max = rows
        .iter()
        .filter(|r| !matches!(r.0, "ceiling_http" | "stack_http" | "auth_me"))
        .map(|r| r.1)
        .fold(1.0_f64, f64::max)
        * 1.15;
    let x = |v: f64| label_w + v.min(max) / max * plot_w;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{height}\" viewBox=\"0 0 {w} {height}\" {FONT}>\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"10\" y=\"20\" font-size=\"14\" font-weight=\"bold\">{}: requests per second (32 connections)</text>\n",
        escape(&backend.backend),
        w = label_w + plot_w + 160.0
    );
    for (i, (name, rps, kind)) in rows.iter().enumerate() {
        let y = top + row_h * i as f64;
        let color = match kind {
            Kind::Ceiling => "#9aa5b1",
            Kind::Write | Kind::Mixed => "#d97706",
            Kind::Login => "#7c3aed",
            Kind::Read | Kind::Search | Kind::Page => "#2563eb",
        };
        let _ = writeln!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text><rect x=\"{label_w}\" y=\"{}\" width=\"{:.1}\" height=\"{}\" fill=\"{color}\"/><text x=\"{:.1}\" y=\"{}\">{rps:.0}{}</text>",
            label_w - 8.0,
            y + 16.0,
            escape(name),
            y + 4.0,
            (x(*rps) - label_w).max(1.0),
            row_h - 8.0,
            x(*rps) + 4.0,
            y + 16.0,
            if *rps > max { " (axis cut)" } else { "" }
        );
    }
    if let Some(ceiling) = backend.db_ceiling() {
        for (value, label, dash, label_y) in [
            (ceiling, "DB round-trip ceiling", "6,3", height - 14.0),
            (ceiling * 0.5, "50 % target", "2,3", height - 28.0),
        ] {
            let _ = writeln!(
                svg,
                "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{1}\" y2=\"{2}\" stroke=\"#dc2626\" stroke-dasharray=\"{dash}\"/><text x=\"{0:.1}\" y=\"{3}\" text-anchor=\"middle\" fill=\"#dc2626\">{label}</text>",
                x(value),
                top - 4.0,
                height - 40.0,
                label_y
            );
        }
    }
    svg.push_str("</svg>\n");
    svg
}

/// Latency percentiles per scenario on a logarithmic axis, with the targets marked.
fn latency_chart(backend: &BackendResult) -> String {
    let label_w = 170.0;
    let plot_w = 520.0;
    let row_h = 22.0;
    let top = 50.0;
    let height = top + row_h * backend.measures.len() as f64 + 40.0;
    let max = backend.measures.iter().map(|m| m.p999_ms).fold(100.0_f64, f64::max);
    let (lo, hi) = (0.1_f64.log10(), max.log10().ceil());
    let x = |ms: f64| label_w + (ms.max(0.1).log10() - lo) / (hi - lo) * plot_w;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{height}\" viewBox=\"0 0 {w} {height}\" {FONT}>\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"10\" y=\"20\" font-size=\"14\" font-weight=\"bold\">{}: latency, ms (bar p50 → p99, tick p99.9; log scale)</text>\n",
        escape(&backend.backend),
        w = label_w + plot_w + 30.0
    );
    let mut tick = 0.1_f64;
    while tick <= 10f64.powf(hi) * 1.001 {
        let _ = writeln!(
            svg,
            "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{1}\" y2=\"{2}\" stroke=\"#e5e7eb\"/><text x=\"{0:.1}\" y=\"{3}\" text-anchor=\"middle\" fill=\"#6b7280\">{4}</text>",
            x(tick),
            top - 6.0,
            height - 30.0,
            top - 12.0,
            if tick < 1.0 { format!("{tick:.1}") } else { format!("{tick:.0}") }
        );
        tick *= 10.0;
    }
    for limit in [10.0, 15.0, 20.0] {
        let _ = writeln!(
            svg,
            "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{1}\" y2=\"{2}\" stroke=\"#dc2626\" stroke-dasharray=\"3,3\"/><text x=\"{0:.1}\" y=\"{3}\" text-anchor=\"middle\" fill=\"#dc2626\" font-size=\"10\">{limit}</text>",
            x(limit),
            top - 4.0,
            height - 30.0,
            height - 16.0
        );
    }
    for (i, m) in backend.measures.iter().enumerate() {
        let y = top + row_h * i as f64;
        let _ = writeln!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text><rect x=\"{:.1}\" y=\"{}\" width=\"{:.1}\" height=\"{}\" fill=\"#60a5fa\"/><circle cx=\"{:.1}\" cy=\"{}\" r=\"3\" fill=\"#1d4ed8\"/><line x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{}\" y2=\"{}\" stroke=\"#111827\" stroke-width=\"2\"/>",
            label_w - 8.0,
            y + 15.0,
            escape(&m.scenario),
            x(m.p50_ms),
            y + 5.0,
            (x(m.p99_ms) - x(m.p50_ms)).max(1.0),
            row_h - 10.0,
            x(m.p50_ms),
            y + 11.0,
            x(m.p999_ms),
            x(m.p999_ms),
            y + 4.0,
            y + 18.0
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// The server's resident memory over the soak, against the 100 MB target.
fn soak_chart(soak: &Soak) -> String {
    let (left, top, plot_w, plot_h) = (60.0, 40.0, 620.0, 200.0);
    let max_t = soak.rss_series_mib.last().map_or(1.0, |(t, _)| t.max(1.0));
    let max_m = soak.rss_series_mib.iter().map(|(_, m)| *m).fold(110.0_f64, f64::max);
    let x = |t: f64| left + t / max_t * plot_w;
    let y = |m: f64| top + plot_h - m / max_m * plot_h;
    let points =
        soak.rss_series_mib.iter().map(|(t, m)| format!("{:.1},{:.1}", x(*t), y(*m))).collect::<Vec<_>>().join(" ");
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"720\" height=\"290\" viewBox=\"0 0 720 290\" {FONT}>\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"10\" y=\"20\" font-size=\"14\" font-weight=\"bold\">Server RSS (MiB) during a {} s mixed soak: {} requests, {} errors</text>\n",
        soak.seconds, soak.requests, soak.errors
    );
    for m in [0.0, 25.0, 50.0, 75.0, 100.0] {
        let _ = writeln!(
            svg,
            "<line x1=\"{left}\" x2=\"{}\" y1=\"{1:.1}\" y2=\"{1:.1}\" stroke=\"{2}\"/><text x=\"{3}\" y=\"{4:.1}\" text-anchor=\"end\" fill=\"#6b7280\">{m:.0}</text>",
            left + plot_w,
            y(m),
            if (m - 100.0).abs() < f64::EPSILON { "#dc2626" } else { "#e5e7eb" },
            left - 6.0,
            y(m) + 4.0
        );
    }
    let _ = writeln!(
        svg,
        "<polyline fill=\"none\" stroke=\"#2563eb\" stroke-width=\"2\" points=\"{points}\"/>\n<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#6b7280\">seconds (0 – {max_t:.0})</text>\n</svg>",
        left + plot_w / 2.0,
        top + plot_h + 30.0
    );
    svg
}
