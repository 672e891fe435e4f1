//! The benchmark run: for each backend, a seeded database, the server, every
//! scenario under wrk with the server's RSS and CPU sampled, the ceilings, the
//! cold start and (full runs) a soak.

use std::fmt::Write as _;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use serde::Serialize;
use volant::platform::config::Config;
use volant::platform::db::{self, DbSettings};

use crate::report::{self, AlertsRefreshRun, BackendResult, ExportRun, ImportRun, Measure, RunResult, Soak};
use crate::seed::{self, Scale};
use crate::{http, work_dir};

#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    /// Smoke mode: small data, a couple of seconds per scenario; fails on any error, asserts no timing.
    #[arg(long)]
    pub quick: bool,
    /// `sqlite`, `postgres` or `all`.
    #[arg(long, default_value = "all")]
    pub backend: String,
    /// Seconds each scenario is measured (default: 10, quick: 2).
    #[arg(long)]
    pub duration: Option<u64>,
    /// Seconds of warm-up before each measurement (default: 3, quick: 1).
    #[arg(long)]
    pub warmup: Option<u64>,
    /// Concurrent connections of the load generator.
    #[arg(long, default_value_t = 32)]
    pub connections: u32,
    /// Seconds of the mixed soak that checks memory stays flat (default: 600, quick: 0).
    #[arg(long)]
    pub soak: Option<u64>,
    /// Only these scenarios (comma-separated), for investigating one.
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Drop and re-create the benchmark databases.
    #[arg(long)]
    pub reseed: bool,
    /// Rows of the import scenario's file (default: 100,000; quick: 2,000).
    #[arg(long)]
    pub import_rows: Option<usize>,
    /// Rewrite the results section and charts of `docs/benchmarks.md`.
    #[arg(long)]
    pub write_docs: bool,
    /// A PostgreSQL URL the harness may create databases from.
    #[arg(long, env = "BENCH_POSTGRES_URL", default_value = "postgres://postgres@127.0.0.1:5432/test")]
    pub postgres_url: String,
}

/// A load scenario: what it measures and which target applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Read,
    Search,
    Write,
    Mixed,
    Login,
    Ceiling,
    /// A whole HTML page.
    Page,
}

pub const SCENARIOS: &[(&str, Kind)] = &[
    ("ceiling_http", Kind::Ceiling),
    ("ceiling_db", Kind::Ceiling),
    ("stack_http", Kind::Ceiling),
    ("auth_me", Kind::Ceiling),
    ("list_garages", Kind::Read),
    ("garage_vehicles_first", Kind::Read),
    ("garage_vehicles_deep", Kind::Read),
    ("vehicle_by_id", Kind::Read),
    ("search_plate", Kind::Search),
    ("search_brand", Kind::Search),
    ("search_clients", Kind::Search),
    ("create_vehicle", Kind::Write),
    ("create_quote", Kind::Write),
    ("issue_invoice", Kind::Write),
    ("record_payment", Kind::Write),
    ("school_week", Kind::Read),
    ("book_lesson", Kind::Write),
    ("candidate_portal", Kind::Page),
    ("inbox", Kind::Read),
    ("dashboard", Kind::Read),
    ("quote_pdf", Kind::Read),
    ("vehicle_history", Kind::Read),
    ("list_invoices", Kind::Read),
    ("update_vehicle", Kind::Write),
    ("mixed", Kind::Mixed),
    ("login", Kind::Login),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

struct Settings {
    quick: bool,
    scale: Scale,
    duration: u64,
    warmup: u64,
    connections: u32,
    soak: u64,
}

pub async fn run(options: Options) -> Result<(), String> {
    check_tools()?;
    let settings = Settings {
        quick: options.quick,
        scale: if options.quick { Scale::QUICK } else { Scale::FULL },
        duration: options.duration.unwrap_or(if options.quick { 2 } else { 10 }),
        warmup: options.warmup.unwrap_or(if options.quick { 1 } else { 3 }),
        connections: options.connections,
        soak: options.soak.unwrap_or(if options.quick { 0 } else { 600 }),
    };
    let backends = match options.backend.as_str() {
        "sqlite" => vec![Backend::Sqlite],
        "postgres" => vec![Backend::Postgres],
        "all" => vec![Backend::Sqlite, Backend::Postgres],
        other => return Err(format!("unknown backend {other}: sqlite, postgres or all")),
    };
    std::fs::create_dir_all(work_dir()).map_err(|e| e.to_string())?;
    let mut result = RunResult {
        mode: if settings.quick { "quick" } else { "full" }.to_owned(),
        scale: settings.scale,
        connections: settings.connections,
        duration_secs: settings.duration,
        warmup_secs: settings.warmup,
        machine: machine_description(),
        started_at: chrono::Utc::now().to_rfc3339(),
        backends: Vec::new(),
    };
    for backend in backends {
        let url = match backend {
            Backend::Sqlite => {
                let path = work_dir().join(format!("volant-{}.db", settings.scale.name()));
                format!("sqlite://{}?mode=rwc", path.display())
            }
            Backend::Postgres => {
                with_database(&options.postgres_url, &format!("volant_bench_{}", settings.scale.name()))?
            }
        };
        eprintln!("== {} ({})", backend.name(), settings.scale.name());
        if backend == Backend::Postgres {
            ensure_postgres_database(&options.postgres_url, &url, options.reseed).await?;
        } else if options.reseed {
            remove_sqlite(&url);
        }
        let seeded = prepare_database(&url, settings.scale, options.reseed).await?;
        let outcome = bench_backend(backend, &url, &settings, &options).await?;
        result.backends.push(BackendResult { seed: seeded, ..outcome });
    }
    let text = report::text(&result);
    println!("{text}");
    let stem = work_dir().join(format!("results-{}", result.mode));
    std::fs::write(stem.with_extension("txt"), &text).map_err(|e| e.to_string())?;
    let json = serde_json::to_string_pretty(&result).map_err(|e| e.to_string())?;
    std::fs::write(stem.with_extension("json"), json).map_err(|e| e.to_string())?;
    eprintln!("results: {}.{{txt,json}}", stem.display());
    // The docs show complete runs only: a run of some scenarios leaves them alone.
    if options.write_docs && options.only.is_empty() {
        report::write_docs(&result, Path::new("docs"))?;
        eprintln!("docs/benchmarks.md and docs/benchmarks/*.svg updated");
    } else if options.write_docs {
        eprintln!("some scenarios only (--only): docs/benchmarks.md left as it was");
    }
    let failures = report::errors(&result);
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!("scenarios with errors or no requests: {}", failures.join(", ")))
    }
}

fn check_tools() -> Result<(), String> {
    for tool in ["wrk", "pgbench"] {
        let found = Command::new(tool).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok();
        if !found {
            return Err(format!("{tool} is not installed (bench/run installs it from Debian's packages)"));
        }
    }
    Ok(())
}

/// Migrates and seeds the database unless it already holds the scale's data.
/// Returns the seed report when it seeded.
pub async fn prepare_database(url: &str, scale: Scale, reseed: bool) -> Result<Option<seed::SeedReport>, String> {
    if reseed && url.starts_with("sqlite:") {
        remove_sqlite(url);
    }
    let state = volant::app::state(Config::for_database(url)).await.map_err(|e| e.to_string())?;
    let present = seed::vehicle_count(&state.db).await.map_err(|e| e.to_string())?;
    if present >= scale.vehicles as u64 {
        eprintln!("  reusing {present} vehicles");
        // A database seeded before the school existed gets its school now.
        if seed::lesson_count(&state.db).await.map_err(|e| e.to_string())? == 0 {
            seed::seed_school(&state.db, state.default_org, scale).await?;
        }
        seed::seed_notifications(&state.db, state.default_org).await?;
        seed::seed_billing(&state.db, state.default_org).await?;
        if crate::seed_records::seed(&state.db, state.default_org, scale).await? {
            // Fresh statistics for what was added, as after a full seed.
            state.db.execute_unprepared("ANALYZE").await.map_err(|e| e.to_string())?;
        }
        return Ok(None);
    }
    if present > 0 {
        return Err(format!("{url} holds {present} vehicles, not a benchmark database: run with --reseed"));
    }
    eprintln!("  seeding {} vehicles…", scale.vehicles);
    let report = seed::seed(&state.db, state.default_org, scale).await?;
    eprintln!("  seeded in {:.1} s ({:.0} vehicles/s)", report.seconds, report.vehicles_per_second);
    Ok(Some(report))
}

fn remove_sqlite(url: &str) {
    let path = url.trim_start_matches("sqlite://").split('?').next().unwrap_or_default();
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{path}{suffix}"));
    }
}

fn with_database(url: &str, database: &str) -> Result<String, String> {
    let (base, _) = url.rsplit_once('/').ok_or_else(|| format!("not a database URL: {url}"))?;
    Ok(format!("{base}/{database}"))
}

async fn admin_connection(admin_url: &str) -> Result<DatabaseConnection, String> {
    db::connect(&DbSettings::new(admin_url, 1)).await.map_err(|e| format!("PostgreSQL at {admin_url}: {e}"))
}

async fn ensure_postgres_database(admin_url: &str, url: &str, reseed: bool) -> Result<(), String> {
    let name = url.rsplit('/').next().unwrap_or_default();
    let admin = admin_connection(admin_url).await?;
    if reseed {
        admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .await
            .map_err(|e| e.to_string())?;
    }
    let exists = admin
        .query_one_raw(Statement::from_sql_and_values(
            admin.get_database_backend(),
            "SELECT 1 AS one FROM pg_database WHERE datname = $1",
            [name.into()],
        ))
        .await
        .map_err(|e| e.to_string())?
        .is_some();
    if !exists {
        admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await.map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// The meeting point of the lessons the booking scenario books (bench/wrk/scenario.lua).
const BOOKED_HERE: &str = "Banc d'essai";

/// What the scenarios pick from: the benchmark user's organization's rows.
struct Fixtures {
    garages: Vec<i64>,
    vehicles: Vec<i64>,
    deep: Vec<(i64, i64)>,
    plates: Vec<String>,
    clients: Vec<i64>,
    /// Issued invoices that payments are recorded on.
    invoices: Vec<i64>,
    instructors: Vec<i64>,
    /// Training cars, one per instructor in the same order.
    cars: Vec<i64>,
    candidates: Vec<i64>,
    /// Days from today to the first day with no lesson booked: where the booking
    /// scenario starts.
    free_day: i64,
    quotes: Vec<i64>,
    /// The organization's clients: the rows the export must deliver.
    client_count: u64,
}

async fn fixtures(url: &str) -> Result<Fixtures, String> {
    let conn = db::connect(&DbSettings::new(url, 1)).await.map_err(|e| e.to_string())?;
    let backend = conn.get_database_backend();
    let ids = |sql: &str| Statement::from_string(backend, sql.to_owned());
    let column_i64 = |rows: Vec<sea_orm::QueryResult>| -> Vec<i64> {
        rows.into_iter().filter_map(|r| r.try_get::<i64>("", "id").ok()).collect()
    };
    let err = |e: sea_orm::DbErr| e.to_string();
    let org = conn
        .query_one_raw(ids("SELECT organization_id AS id FROM users WHERE email_normalized = 'bench@volant.test'"))
        .await
        .map_err(err)?
        .and_then(|r| r.try_get::<i64>("", "id").ok())
        .ok_or("the benchmark user is missing: run with --reseed")?;
    let garages = column_i64(
        conn.query_all_raw(ids(&format!("SELECT id FROM garages WHERE organization_id = {org} ORDER BY id")))
            .await
            .map_err(err)?,
    );
    let vehicles = column_i64(
        conn.query_all_raw(ids(&format!(
            "SELECT id FROM vehicles WHERE organization_id = {org} AND id % 53 = 0 AND plate_normalized NOT LIKE 'Z%' \
             AND id NOT IN (SELECT vehicle_id FROM school_vehicles) ORDER BY id"
        )))
        .await
        .map_err(err)?,
    );
    let mut deep = Vec::new();
    for garage in garages.iter().take(20) {
        let count = conn
            .query_one_raw(ids(&format!("SELECT COUNT(*) AS id FROM vehicles WHERE garage_id = {garage}")))
            .await
            .map_err(err)?
            .and_then(|r| r.try_get::<i64>("", "id").ok())
            .unwrap_or(0);
        let offset = count * 9 / 10;
        let cursor = conn
            .query_one_raw(ids(&format!(
                "SELECT id FROM vehicles WHERE organization_id = {org} AND garage_id = {garage} ORDER BY id LIMIT 1 OFFSET {offset}"
            )))
            .await
            .map_err(err)?
            .and_then(|r| r.try_get::<i64>("", "id").ok());
        if let Some(cursor) = cursor {
            deep.push((*garage, cursor));
        }
    }
    let plates = conn
        .query_all_raw(ids(&format!(
            "SELECT plate_normalized AS plate FROM vehicles WHERE organization_id = {org} AND id % 101 = 0 AND plate_normalized NOT LIKE 'Z%' LIMIT 500"
        )))
        .await
        .map_err(err)?
        .into_iter()
        .filter_map(|r| r.try_get::<String>("", "plate").ok())
        .map(|p| p.chars().take(4).collect())
        .collect();
    let clients = column_i64(
        conn.query_all_raw(ids(&format!(
            "SELECT id FROM clients WHERE organization_id = {org} AND id % 97 = 0 ORDER BY id LIMIT 500"
        )))
        .await
        .map_err(err)?,
    );
    let instructors = column_i64(
        conn.query_all_raw(ids(&format!(
            "SELECT id FROM school_instructors WHERE organization_id = {org} ORDER BY id"
        )))
        .await
        .map_err(err)?,
    );
    let invoices = column_i64(
        conn.query_all_raw(ids(&format!(
            "SELECT id FROM invoices WHERE organization_id = {org} AND status = 'issued' AND kind = 'invoice' ORDER BY id LIMIT 500"
        )))
        .await
        .map_err(err)?,
    );
    let cars = column_i64(
        conn.query_all_raw(ids(&format!(
            "SELECT vehicle_id AS id FROM school_vehicles WHERE organization_id = {org} ORDER BY vehicle_id"
        )))
        .await
        .map_err(err)?,
    );
    let candidates = column_i64(
        conn.query_all_raw(ids(&format!("SELECT id FROM school_candidates WHERE organization_id = {org} ORDER BY id")))
            .await
            .map_err(err)?,
    );
    let quotes = column_i64(
        conn.query_all_raw(ids(&format!(
            "SELECT id FROM quotes WHERE organization_id = {org} AND id % 97 = 0 ORDER BY id LIMIT 500"
        )))
        .await
        .map_err(err)?,
    );
    // Lessons an earlier run booked are cancelled out of the planning, so each
    // run books the same days.
    conn.execute_raw(ids(&format!(
        "DELETE FROM school_lessons WHERE organization_id = {org} AND meeting_point = '{}'",
        BOOKED_HERE.replace('\'', "''")
    )))
    .await
    .map_err(err)?;
    // The training cars stay roadworthy however long this database is kept: their
    // insurance and last service move with today (the updates scenario never
    // touches their mileage).
    let today_sql = chrono::Utc::now().date_naive();
    for sql in [
        format!(
            "UPDATE vehicle_service_info SET insurance_expiry = '{}' WHERE vehicle_id IN (SELECT vehicle_id FROM school_vehicles WHERE organization_id = {org})",
            today_sql + chrono::Duration::days(365)
        ),
        format!(
            "UPDATE interventions SET performed_on = '{}' WHERE vehicle_id IN (SELECT vehicle_id FROM school_vehicles WHERE organization_id = {org}) \
             AND id IN (SELECT intervention_id FROM intervention_services)",
            today_sql - chrono::Duration::days(1)
        ),
    ] {
        conn.execute_raw(ids(&sql)).await.map_err(err)?;
    }
    let last_lesson = {
        use sea_orm::{EntityTrait, QueryOrder};
        use volant::school::planning::entity::lesson;
        lesson::Entity::find().order_by_desc(lesson::Column::StartsAt).one(&conn).await.map_err(err)?
    };
    let today = chrono::Utc::now().date_naive();
    let free_day = last_lesson.map_or(1, |l| (l.starts_at.date_naive() - today).num_days().max(0) + 1);
    let client_count = conn
        .query_one_raw(ids(&format!("SELECT COUNT(*) AS id FROM clients WHERE organization_id = {org}")))
        .await
        .map_err(err)?
        .and_then(|r| r.try_get::<i64>("", "id").ok())
        .and_then(|n| u64::try_from(n).ok())
        .unwrap_or(0);
    Ok(Fixtures {
        garages,
        vehicles,
        deep,
        plates,
        clients,
        instructors,
        invoices,
        cars,
        candidates,
        free_day,
        quotes,
        client_count,
    })
}

fn lua_list<T: std::fmt::Display>(items: impl IntoIterator<Item = T>, quote: bool) -> String {
    let mut out = String::from("{");
    for item in items {
        if quote {
            let _ = write!(out, "\"{item}\",");
        } else {
            let _ = write!(out, "{item},");
        }
    }
    out.push('}');
    out
}

fn percent_encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() {
            out.push(byte as char);
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// Query strings for the planning of a week: the last 20 weeks and the next 4.
fn weeks() -> Vec<String> {
    let today = chrono::Utc::now().date_naive();
    (-20..4_i64)
        .map(|w| {
            let from = today + chrono::Duration::days(w * 7);
            let to = from + chrono::Duration::days(7);
            format!("from={from}T00%3A00%3A00Z&to={to}T00%3A00%3A00Z")
        })
        .collect()
}

fn write_lua_data(path: &Path, tokens: (&str, &str), fixtures: &Fixtures) -> Result<(), String> {
    let (token, candidate_token) = tokens;
    if fixtures.vehicles.is_empty()
        || fixtures.garages.is_empty()
        || fixtures.deep.is_empty()
        || fixtures.clients.is_empty()
        || fixtures.instructors.is_empty()
        || fixtures.cars.len() != fixtures.instructors.len()
        || fixtures.candidates.is_empty()
        || fixtures.quotes.is_empty()
    {
        return Err("the benchmark organization has no vehicles: run with --reseed".to_owned());
    }
    let deep = fixtures.deep.iter().map(|(g, c)| format!("{{{g},\"i{c}\"}}")).collect::<Vec<_>>().join(",");
    let lua = format!(
        "return {{\n  token = \"{token}\",\n  email = \"{}\",\n  password = \"{}\",\n  garages = {},\n  vehicles = {},\n  deep = {{{deep}}},\n  plates = {},\n  brands = {},\n  clients = {},\n  client_names = {},\n  instructors = {},\n  weeks = {},\n  invoices = {},\n  cars = {},\n  candidates = {},\n  free_day = {},\n  quotes = {},\n  candidate_token = \"{candidate_token}\",\n}}\n",
        seed::BENCH_EMAIL,
        seed::BENCH_PASSWORD,
        lua_list(&fixtures.garages, false),
        lua_list(&fixtures.vehicles, false),
        lua_list(&fixtures.plates, true),
        lua_list(seed::brands().iter().map(|b| percent_encode(b)), true),
        lua_list(&fixtures.clients, false),
        lua_list(seed::client_name_prefixes().iter().map(|n| percent_encode(n)), true),
        lua_list(&fixtures.instructors, false),
        lua_list(weeks(), true),
        lua_list(&fixtures.invoices, false),
        lua_list(&fixtures.cars, false),
        lua_list(&fixtures.candidates, false),
        fixtures.free_day,
        lua_list(&fixtures.quotes, false),
    );
    std::fs::write(path, lua).map_err(|e| e.to_string())
}

fn free_port() -> Result<SocketAddr, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    listener.local_addr().map_err(|e| e.to_string())
}

/// The server under test, killed when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(program: &Path, args: &[&str], url: &str, log: &Path) -> Result<(Server, Duration), String> {
    let addr = free_port()?;
    let log_file = std::fs::File::create(log).map_err(|e| e.to_string())?;
    let started = Instant::now();
    let child = Command::new(program)
        .args(args)
        .env("DATABASE_URL", url)
        .env("VOLANT_ADDR", addr.to_string())
        // The limits are per user; the load generator is one user making thousands of calls a second.
        .env("VOLANT_API_REQUESTS_PER_MINUTE", "1000000000")
        .env("VOLANT_LOGIN_ATTEMPTS_PER_MINUTE", "1000000000")
        .env_remove("VOLANT_ADMIN_EMAIL")
        .env_remove("VOLANT_ADMIN_PASSWORD")
        // Measured alone: no geocoder, no weather service beyond the machine.
        .env("VOLANT_GEOCODER_URL", "off")
        .env("VOLANT_WEATHER_URL", "off")
        .stdout(Stdio::null())
        .stderr(log_file)
        .spawn()
        .map_err(|e| format!("{}: {e}", program.display()))?;
    let mut server = Server { child, addr };
    loop {
        if http::ready(addr) {
            return Ok((server, started.elapsed()));
        }
        if let Ok(Some(status)) = server.child.try_wait() {
            return Err(format!("{} exited ({status}); see {}", program.display(), log.display()));
        }
        if started.elapsed() > Duration::from_secs(60) {
            return Err(format!("{} not ready after 60 s; see {}", program.display(), log.display()));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn login(addr: SocketAddr, email: &str) -> Result<String, String> {
    let body = serde_json::json!({ "email": email, "password": seed::BENCH_PASSWORD }).to_string();
    let response = http::request(addr, "POST", "/api/v1/auth/login", Some(&body)).map_err(|e| e.to_string())?;
    let value: serde_json::Value = serde_json::from_str(&response.body)
        .map_err(|_| format!("login answered {}: {}", response.status, response.body))?;
    value["access_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("login answered {}: {}", response.status, response.body))
}

/// Samples a process's resident memory and counts its CPU time.
struct Sampler {
    stop: Arc<AtomicBool>,
    handle: std::thread::JoinHandle<Vec<(f64, u64)>>,
    cpu_before: u64,
    pid: u32,
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// utime + stime, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return 0 };
    // Fields after the command name (which may hold spaces) start at ") ".
    let after = stat.rsplit_once(") ").map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let get = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    get(11) + get(12)
}

fn clock_ticks_per_second() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100)
}

impl Sampler {
    fn start(pid: u32, every: Duration) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let started = Instant::now();
        let handle = std::thread::spawn(move || {
            let mut samples = Vec::new();
            while !flag.load(Ordering::Relaxed) {
                if let Some(rss) = rss_kib(pid) {
                    samples.push((started.elapsed().as_secs_f64(), rss));
                }
                std::thread::sleep(every);
            }
            samples
        });
        Self { stop, handle, cpu_before: cpu_ticks(pid), pid }
    }

    fn finish(self) -> (Vec<(f64, u64)>, u64) {
        self.stop.store(true, Ordering::Relaxed);
        let cpu = cpu_ticks(self.pid).saturating_sub(self.cpu_before);
        (self.handle.join().unwrap_or_default(), cpu)
    }
}

#[derive(Debug, Clone, serde::Deserialize)]
pub struct WrkOutput {
    pub requests: u64,
    pub duration_us: u64,
    pub errors: WrkErrors,
    pub latency_us: WrkLatency,
}

#[derive(Debug, Clone, serde::Deserialize, Serialize)]
pub struct WrkErrors {
    pub connect: u64,
    pub read: u64,
    pub write: u64,
    pub status: u64,
    pub timeout: u64,
}

impl WrkErrors {
    /// Every failed request: connection errors, timeouts and non-2xx/3xx answers.
    pub fn total(&self) -> u64 {
        self.connect + self.read + self.write + self.status + self.timeout
    }
}

#[derive(Debug, Clone, serde::Deserialize)]
pub struct WrkLatency {
    pub mean: f64,
    pub max: u64,
    pub percentiles: std::collections::BTreeMap<String, u64>,
}

/// Booking runs started so far: each books lessons in its own days.
static BOOKING_RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn wrk(addr: SocketAddr, scenario: &str, data: &Path, connections: u32, seconds: u64) -> Result<WrkOutput, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("wrk/scenario.lua");
    let output = Command::new("wrk")
        .args(["-t", "2", "-c", &connections.to_string(), "-d", &format!("{seconds}s"), "--timeout", "10s", "-s"])
        .arg(&script)
        .arg(format!("http://{addr}"))
        .env("BENCH_SCENARIO", scenario)
        .env("BENCH_DATA", data)
        .env("BENCH_NONCE", nonce())
        .env(
            "BENCH_RUN",
            if scenario == "book_lesson" { BOOKING_RUNS.fetch_add(1, Ordering::Relaxed) } else { 0 }.to_string(),
        )
        .output()
        .map_err(|e| format!("wrk: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().find_map(|l| l.strip_prefix("BENCH_RESULT ")).ok_or_else(|| {
        format!("wrk gave no result for {scenario}: {stdout}{}", String::from_utf8_lossy(&output.stderr))
    })?;
    serde_json::from_str(line).map_err(|e| format!("wrk output for {scenario}: {e}: {line}"))
}

/// Four base-36 characters, new for every wrk process, so created plates never repeat.
fn nonce() -> String {
    const DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    (0..4).map(|_| DIGITS[fastrand::usize(..DIGITS.len())] as char).collect()
}

fn measure(
    server: &Server,
    scenario: &str,
    kind: Kind,
    data: &Path,
    settings: &Settings,
    ticks_per_second: u64,
) -> Result<Measure, String> {
    if settings.warmup > 0 {
        wrk(server.addr, scenario, data, settings.connections, settings.warmup)?;
    }
    let sampler = Sampler::start(server.child.id(), Duration::from_millis(100));
    let out = wrk(server.addr, scenario, data, settings.connections, settings.duration)?;
    let (samples, cpu) = sampler.finish();
    let seconds = out.duration_us as f64 / 1e6;
    let errors = out.errors.total();
    let cpu_us = cpu as f64 * 1e6 / ticks_per_second as f64;
    let percentile = |p: &str| out.latency_us.percentiles.get(p).copied().unwrap_or(0) as f64 / 1000.0;
    let m = Measure {
        scenario: scenario.to_owned(),
        kind,
        requests: out.requests,
        requests_per_second: out.requests as f64 / seconds.max(1e-9),
        p50_ms: percentile("50"),
        p75_ms: percentile("75"),
        p90_ms: percentile("90"),
        p95_ms: percentile("95"),
        p99_ms: percentile("99"),
        p999_ms: percentile("99.9"),
        max_ms: out.latency_us.max as f64 / 1000.0,
        mean_ms: out.latency_us.mean / 1000.0,
        errors,
        error_detail: out.errors,
        rss_max_mib: samples.iter().map(|(_, kib)| *kib).max().unwrap_or(0) as f64 / 1024.0,
        cpu_us_per_request: if out.requests > 0 { cpu_us / out.requests as f64 } else { 0.0 },
    };
    eprintln!(
        "  {:<22} {:>9.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms  errors {}",
        m.scenario, m.requests_per_second, m.p50_ms, m.p99_ms, m.errors
    );
    Ok(m)
}

async fn bench_backend(
    backend: Backend,
    url: &str,
    settings: &Settings,
    options: &Options,
) -> Result<BackendResult, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let log = work_dir().join(format!("server-{}.log", backend.name()));
    let fixtures = fixtures(url).await?;
    let (server, _) = start(&exe, &["serve"], url, &log)?;
    let token = login(server.addr, seed::BENCH_EMAIL)?;
    let candidate_token = login(server.addr, seed::BENCH_CANDIDATE_EMAIL)?;
    let data = work_dir().join(format!("data-{}.lua", backend.name()));
    write_lua_data(&data, (&token, &candidate_token), &fixtures)?;
    settle(url).await?;
    let ticks = clock_ticks_per_second();
    let mut measures = Vec::new();
    for (scenario, kind) in SCENARIOS {
        if !options.only.is_empty() && !options.only.iter().any(|o| o == scenario) {
            continue;
        }
        measures.push(measure(&server, scenario, *kind, &data, settings, ticks)?);
    }
    let pgbench =
        if backend == Backend::Postgres && (options.only.is_empty() || options.only.iter().any(|o| o == "pgbench")) {
            Some(pgbench(&options.postgres_url, settings).await?)
        } else {
            None
        };
    let soak = if settings.soak > 0 && options.only.is_empty() { Some(soak(&server, &data, settings)?) } else { None };
    let import = if options.only.is_empty() || options.only.iter().any(|o| o == "import") {
        let rows = options.import_rows.unwrap_or(if settings.quick { 2_000 } else { 100_000 });
        Some(import_scenario(&server, &token, rows)?)
    } else {
        None
    };
    let export = if options.only.is_empty() || options.only.iter().any(|o| o == "export") {
        Some(export_scenario(&server, &token, fixtures.client_count)?)
    } else {
        None
    };
    let alerts_refresh = if options.only.is_empty() || options.only.iter().any(|o| o == "alerts_refresh") {
        Some(alerts_refresh_scenario(url, if settings.quick { 100 } else { 1_000 }).await?)
    } else {
        None
    };
    drop(server);
    let cold_start_ms = cold_start(&exe, url, backend)?;
    Ok(BackendResult {
        backend: backend.name().to_owned(),
        seed: None,
        measures,
        pgbench,
        soak,
        cold_start_ms,
        import,
        export,
        alerts_refresh,
    })
}

/// The hourly alert refresh, timed in the harness's own process on the server's
/// database: a walk of the whole fleet (what the first run of an organization's
/// day does; forced by marking its rules changed), then an hour's run after
/// `changed` vehicles were edited. Alerts already raised stay as they are, so
/// a rerun measures the same work.
async fn alerts_refresh_scenario(url: &str, changed: u64) -> Result<AlertsRefreshRun, String> {
    use volant::workshop::maintenance::service::refresh_all;
    let conn = db::connect(&DbSettings::new(url, 2)).await.map_err(|e| e.to_string())?;
    let backend = conn.get_database_backend();
    let run = async |label: &str| {
        let started = Instant::now();
        let run = refresh_all(&conn, chrono::Utc::now()).await.map_err(|e| format!("{label}: {e}"))?;
        eprintln!(
            "  alerts_refresh {label}: {} vehicles in {:.2} s, {} raised",
            run.vehicles,
            started.elapsed().as_secs_f64(),
            run.raised
        );
        Ok::<_, String>((run.vehicles, started.elapsed().as_secs_f64()))
    };
    conn.execute_unprepared("UPDATE maintenance_refreshes SET rules_changed_at = checked_at")
        .await
        .map_err(|e| e.to_string())?;
    let (full_vehicles, full_seconds) = run("whole fleet").await?;
    let touch = db::statement(
        backend,
        &format!(
            "UPDATE vehicles SET updated_at = $1 WHERE id IN (SELECT id FROM vehicles ORDER BY id LIMIT {changed})"
        ),
        vec![chrono::Utc::now().into()],
    );
    conn.execute_raw(touch).await.map_err(|e| e.to_string())?;
    let (hour_vehicles, hour_seconds) = run("an hour's changes").await?;
    Ok(AlertsRefreshRun { full_vehicles, full_seconds, hour_vehicles, hour_seconds })
}

/// Waits for the work a start queues (the hour's alert refresh over every
/// vehicle, the day's backup, quote expiry, the reminders and e-mails they
/// send) to finish, so that the scenarios measure requests, not start-up work:
/// until no scheduled job is pending and the jobs left (if any, later ones)
/// have stopped moving for five seconds.
async fn settle(url: &str) -> Result<(), String> {
    let conn = db::connect(&DbSettings::new(url, 1)).await.map_err(|e| e.to_string())?;
    let started = Instant::now();
    let count = |sql: &str| {
        let statement = Statement::from_string(conn.get_database_backend(), sql.to_owned());
        let conn = &conn;
        async move {
            conn.query_one_raw(statement)
                .await
                .map_err(|e| e.to_string())
                .map(|r| r.and_then(|r| r.try_get::<i64>("", "n").ok()).unwrap_or(0))
        }
    };
    let mut last = (i64::MAX, Instant::now());
    loop {
        let scheduled = count(
            "SELECT COUNT(*) AS n FROM jobs WHERE status IN ('queued', 'running') AND idempotency_key LIKE 'schedule:%'",
        )
        .await?;
        let pending = count("SELECT COUNT(*) AS n FROM jobs WHERE status IN ('queued', 'running')").await?;
        if pending != last.0 {
            last = (pending, Instant::now());
        }
        // The scheduler offers its jobs within its first seconds.
        let quiet = pending == 0 || last.1.elapsed() > Duration::from_secs(5);
        if scheduled == 0 && quiet && started.elapsed() > Duration::from_secs(3) {
            break;
        }
        if started.elapsed() > Duration::from_secs(30 * 60) {
            return Err(format!("{pending} jobs still pending after 30 minutes"));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    eprintln!("  start-up jobs done in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// Waits for an import's job to bring it out of `running`, polling; its last state.
fn wait_import(server: &Server, token: &str, id: i64, running: &str) -> Result<serde_json::Value, String> {
    let deadline = Instant::now() + Duration::from_secs(30 * 60);
    loop {
        let answer = http::send(server.addr, "GET", &format!("/api/v1/imports/{id}"), token, "application/json", b"")
            .map_err(|e| e.to_string())?;
        let import: serde_json::Value =
            serde_json::from_str(&answer.body).map_err(|e| format!("{e}: {}", answer.body))?;
        if import["status"] != running {
            return Ok(import);
        }
        if Instant::now() > deadline {
            return Err(format!("import {id} still {running} after 30 minutes"));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A file of `rows` new vehicles in one of the organization's garages, uploaded,
/// checked, imported and undone through the API, the server's memory sampled.
fn import_scenario(server: &Server, token: &str, rows: usize) -> Result<ImportRun, String> {
    eprintln!("  import: {rows} vehicles");
    let post = |path: &str, content_type: &str, body: &[u8], expected: u16| -> Result<serde_json::Value, String> {
        let answer = http::send(server.addr, "POST", path, token, content_type, body).map_err(|e| e.to_string())?;
        if answer.status != expected {
            return Err(format!("POST {path} answered {}: {}", answer.status, answer.body));
        }
        serde_json::from_str(&answer.body).map_err(|e| e.to_string())
    };
    let garages = http::send(server.addr, "GET", "/api/v1/garages?limit=1", token, "application/json", b"")
        .map_err(|e| e.to_string())?;
    let garages: serde_json::Value = serde_json::from_str(&garages.body).map_err(|e| e.to_string())?;
    let garage = garages[0]["name"].as_str().ok_or("no garage to import into")?.to_owned();
    let nonce = nonce();
    let mut csv = String::from("Immatriculation;Marque;Modèle;Année;Kilométrage;Carburant;Garage\n");
    for i in 0..rows {
        let _ = writeln!(csv, "ZI{nonce}{i:06};Renault;Clio;{};{};Diesel;{garage}", 2000 + i % 25, i * 7 % 300_000);
    }
    const BOUNDARY: &str = "volant-bench-import";
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\nvehicles\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"bench.csv\"\r\nContent-Type: text/csv\r\n\r\n"
    )
    .into_bytes();
    body.extend(csv.as_bytes());
    body.extend(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    let sampler = Sampler::start(server.child.id(), Duration::from_millis(200));
    let rss_before = rss_kib(server.child.id()).unwrap_or(0) as f64 / 1024.0;
    let started = Instant::now();
    let import = post("/api/v1/imports", &format!("multipart/form-data; boundary={BOUNDARY}"), &body, 201)?;
    let upload_seconds = started.elapsed().as_secs_f64();
    let id = import["id"].as_i64().ok_or("no import id")?;
    let mapping: serde_json::Map<String, serde_json::Value> = import["mapping"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["column"].is_number())
        .map(|f| (f["field"].as_str().unwrap_or_default().to_owned(), f["column"].clone()))
        .collect();
    let mapping = serde_json::json!({ "mapping": mapping }).to_string();
    let started = Instant::now();
    post(&format!("/api/v1/imports/{id}/check"), "application/json", mapping.as_bytes(), 202)?;
    let checked = wait_import(server, token, id, "checking")?;
    let check_seconds = started.elapsed().as_secs_f64();
    if checked["status"] != "checked" {
        return Err(format!("import check: {checked}"));
    }
    let started = Instant::now();
    post(&format!("/api/v1/imports/{id}/start"), "application/json", b"{}", 202)?;
    let imported = wait_import(server, token, id, "importing")?;
    let import_seconds = started.elapsed().as_secs_f64();
    if imported["status"] != "imported" {
        return Err(format!("import: {imported}"));
    }
    let started = Instant::now();
    post(&format!("/api/v1/imports/{id}/undo"), "application/json", b"{}", 202)?;
    let undone = wait_import(server, token, id, "undoing")?;
    let undo_seconds = started.elapsed().as_secs_f64();
    let (samples, _) = sampler.finish();
    if undone["status"] != "undone" {
        return Err(format!("import undo: {undone}"));
    }
    let run = ImportRun {
        rows: rows as u64,
        upload_seconds,
        check_seconds,
        import_seconds,
        undo_seconds,
        refused: checked["refused_rows"].as_i64().unwrap_or(0) + imported["refused_rows"].as_i64().unwrap_or(0),
        rss_before_mib: rss_before,
        rss_max_mib: samples.iter().map(|(_, kib)| *kib).max().unwrap_or(0) as f64 / 1024.0,
    };
    eprintln!("  {}", run.summary());
    Ok(run)
}

/// Every client of the organization exported as CSV through the API, the body
/// read as it streams (HTTP/1.0: no chunk framing in the count), the server's
/// memory sampled.
fn export_scenario(server: &Server, token: &str, expected_rows: u64) -> Result<ExportRun, String> {
    use std::io::{Read, Write};
    let rss_before = rss_kib(server.child.id()).unwrap_or(0) as f64 / 1024.0;
    let sampler = Sampler::start(server.child.id(), Duration::from_millis(100));
    let started = Instant::now();
    let mut stream = std::net::TcpStream::connect(server.addr).map_err(|e| e.to_string())?;
    stream.set_read_timeout(Some(Duration::from_secs(600))).map_err(|e| e.to_string())?;
    write!(
        stream,
        "GET /api/v1/exports/clients.csv HTTP/1.0\r\nHost: {}\r\nAuthorization: Bearer {token}\r\n\r\n",
        server.addr
    )
    .map_err(|e| e.to_string())?;
    let mut buffer = vec![0_u8; 64 * 1024];
    let mut head = Vec::new();
    let mut body_started = None;
    let (mut bytes, mut newlines) = (0_u64, 0_u64);
    loop {
        let n = stream.read(&mut buffer).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        let mut chunk = &buffer[..n];
        if body_started.is_none() {
            head.extend_from_slice(chunk);
            let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
            let status = String::from_utf8_lossy(&head[..end]).to_string();
            if !status.starts_with("HTTP/1.0 200") && !status.starts_with("HTTP/1.1 200") {
                return Err(format!("export answered {status}"));
            }
            body_started = Some(started.elapsed());
            let rest = head.split_off(end + 4);
            bytes += rest.len() as u64;
            newlines += rest.iter().filter(|b| **b == b'\n').count() as u64;
            chunk = &[];
        }
        bytes += chunk.len() as u64;
        newlines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
    }
    let seconds = started.elapsed().as_secs_f64();
    let (samples, _) = sampler.finish();
    let run = ExportRun {
        rows: newlines.saturating_sub(1),
        bytes,
        seconds,
        first_byte_ms: body_started.unwrap_or_default().as_secs_f64() * 1000.0,
        rss_before_mib: rss_before,
        rss_max_mib: samples.iter().map(|(_, kib)| *kib).max().unwrap_or(0) as f64 / 1024.0,
    };
    eprintln!("  {}", run.summary());
    // HTTP/1.0 ends the body by closing: a stream cut short looks the same.
    if run.rows != expected_rows {
        return Err(format!("the export delivered {} rows of {expected_rows}", run.rows));
    }
    Ok(run)
}

/// Ten minutes (by default) of the mixed scenario, the server's memory sampled every second.
fn soak(server: &Server, data: &Path, settings: &Settings) -> Result<Soak, String> {
    eprintln!("  soak: mixed scenario for {} s", settings.soak);
    let sampler = Sampler::start(server.child.id(), Duration::from_secs(1));
    let out = wrk(server.addr, "mixed", data, settings.connections, settings.soak)?;
    let (samples, _) = sampler.finish();
    let errors = out.errors.total();
    let series: Vec<(f64, f64)> = samples.iter().map(|(t, kib)| (*t, *kib as f64 / 1024.0)).collect();
    let tenth = (series.len() / 10).max(1);
    let max_of = |slice: &[(f64, f64)]| slice.iter().map(|(_, m)| *m).fold(0.0_f64, f64::max);
    let first = max_of(&series[..tenth.min(series.len())]);
    let last = max_of(&series[series.len().saturating_sub(tenth)..]);
    eprintln!(
        "  soak: {} requests, {errors} errors, RSS first 10 % {first:.1} MiB, last 10 % {last:.1} MiB",
        out.requests
    );
    Ok(Soak {
        seconds: settings.soak,
        requests: out.requests,
        errors,
        p99_ms: out.latency_us.percentiles.get("99").copied().unwrap_or(0) as f64 / 1000.0,
        rss_first_tenth_mib: first,
        rss_last_tenth_mib: last,
        rss_series_mib: series,
    })
}

/// Median time from spawning the real `volant` binary to `/health/ready` answering 200,
/// on the already-migrated database.
fn cold_start(bench_exe: &Path, url: &str, backend: Backend) -> Result<Option<f64>, String> {
    let volant = bench_exe.with_file_name("volant");
    if !volant.exists() {
        eprintln!("  cold start: {} not built, skipped", volant.display());
        return Ok(None);
    }
    let log = work_dir().join(format!("cold-start-{}.log", backend.name()));
    let mut times = Vec::new();
    for _ in 0..7 {
        let (server, elapsed) = start(&volant, &["serve"], url, &log)?;
        drop(server);
        times.push(elapsed.as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    eprintln!("  cold start to ready: median {median:.0} ms over {} starts", times.len());
    Ok(Some(median))
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct PgbenchResult {
    pub transactions_per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub mean_ms: f64,
    pub failed: u64,
}

/// `pgbench -S` (primary-key selects) at the same concurrency: the database's own ceiling.
async fn pgbench(admin_url: &str, settings: &Settings) -> Result<PgbenchResult, String> {
    let scale_factor = if settings.quick { 1 } else { 10 };
    let url = with_database(admin_url, &format!("volant_bench_pgbench_{scale_factor}"))?;
    ensure_postgres_database(admin_url, &url, false).await?;
    let conn = db::connect(&DbSettings::new(url.as_str(), 1)).await.map_err(|e| e.to_string())?;
    let initialized = conn.execute_unprepared("SELECT 1 FROM pgbench_accounts LIMIT 1").await.is_ok();
    drop(conn);
    if !initialized {
        let status = Command::new("pgbench")
            .args(["-i", "-q", "-s", &scale_factor.to_string(), &url])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map_err(|e| e.to_string())?;
        if !status.success() {
            return Err(format!("pgbench -i failed on {url}"));
        }
    }
    let logs = work_dir().join("pgbench-log");
    let _ = std::fs::remove_dir_all(&logs);
    std::fs::create_dir_all(&logs).map_err(|e| e.to_string())?;
    let prefix = logs.join("tx");
    let connections = settings.connections.to_string();
    let run = |seconds: u64, log: bool| {
        let mut command = Command::new("pgbench");
        command.args(["-S", "-n", "-M", "prepared", "-c", &connections, "-j", "2", "-T", &seconds.to_string()]);
        if log {
            command.arg("-l").arg(format!("--log-prefix={}", prefix.display()));
        }
        command.arg(&url).output().map_err(|e| e.to_string())
    };
    if settings.warmup > 0 {
        run(settings.warmup, false)?;
    }
    let output = run(settings.duration, true)?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let tps = stdout
        .lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| l.trim_start_matches("tps = ").split_whitespace().next()?.parse::<f64>().ok())
        .ok_or_else(|| format!("pgbench output: {stdout}{}", String::from_utf8_lossy(&output.stderr)))?;
    let failed = stdout
        .lines()
        .find(|l| l.starts_with("number of failed transactions"))
        .and_then(|l| l.split(':').nth(1)?.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    let mut latencies: Vec<u64> = Vec::new();
    for entry in std::fs::read_dir(&logs).map_err(|e| e.to_string())?.flatten() {
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        latencies.extend(text.lines().filter_map(|l| l.split_whitespace().nth(2)?.parse::<u64>().ok()));
    }
    latencies.sort_unstable();
    let at =
        |q: f64| latencies.get(((latencies.len() as f64 - 1.0) * q) as usize).copied().unwrap_or(0) as f64 / 1000.0;
    let mean = latencies.iter().sum::<u64>() as f64 / latencies.len().max(1) as f64 / 1000.0;
    let result =
        PgbenchResult { transactions_per_second: tps, p50_ms: at(0.5), p99_ms: at(0.99), mean_ms: mean, failed };
    eprintln!(
        "  {:<22} {:>9.0} tx/s   p50 {:>7.2} ms  p99 {:>7.2} ms",
        "pgbench -S", tps, result.p50_ms, result.p99_ms
    );
    Ok(result)
}

fn machine_description() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_owned())
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    format!("{cores} cores, {cpu}")
}
