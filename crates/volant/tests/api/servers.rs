//! Real servers on loopback for the notification tests: an SMTP server that
//! keeps what it receives, and an HTTP server standing in for an SMS provider.

use std::net::{IpAddr, SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mailin_embedded::{Handler, Response, Server, response};

/// One e-mail as the SMTP server received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    pub raw: Vec<u8>,
}

impl Received {
    pub fn parsed(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default().parse(&self.raw).expect("a MIME message")
    }

    pub fn message_id(&self) -> String {
        self.parsed().message_id().unwrap_or_default().to_owned()
    }
}

#[derive(Clone)]
struct Recorder {
    inbox: Arc<Mutex<Vec<Received>>>,
    current: Option<Received>,
    /// Time taken to accept each message (a slow server keeps workers busy).
    delay: Duration,
}

impl Handler for Recorder {
    fn data_start(&mut self, _domain: &str, from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.current = Some(Received { from: from.to_owned(), to: to.to_vec(), raw: Vec::new() });
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        if let Some(current) = &mut self.current {
            current.raw.extend_from_slice(buf);
        }
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        std::thread::sleep(self.delay);
        if let Some(message) = self.current.take() {
            self.inbox.lock().expect("inbox").push(message);
        }
        response::OK
    }

    fn helo(&mut self, _ip: IpAddr, _domain: &str) -> Response {
        response::OK
    }
}

/// An SMTP server on 127.0.0.1 (a random port) for the rest of the test process.
pub struct SmtpServer {
    pub addr: SocketAddr,
    inbox: Arc<Mutex<Vec<Received>>>,
}

impl SmtpServer {
    pub fn start() -> Self {
        Self::start_with_delay(Duration::ZERO)
    }

    pub fn start_with_delay(delay: Duration) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind SMTP");
        let addr = listener.local_addr().expect("address");
        let inbox = Arc::new(Mutex::new(Vec::new()));
        let mut server = Server::new(Recorder { inbox: inbox.clone(), current: None, delay });
        server.with_name("smtp.test").with_num_threads(8).with_tcp_listener(listener);
        std::thread::spawn(move || {
            let _ = server.serve();
        });
        Self { addr, inbox }
    }

    /// `SMTP_URL` for this server (plain SMTP: it is on loopback).
    pub fn url(&self) -> String {
        format!("smtp://{}:{}", self.addr.ip(), self.addr.port())
    }

    pub fn received(&self) -> Vec<Received> {
        self.inbox.lock().expect("inbox").clone()
    }

    pub fn count(&self) -> usize {
        self.inbox.lock().expect("inbox").len()
    }
}

/// One request the fake SMS provider received.
#[derive(Debug, Clone)]
pub struct ProviderCall {
    pub headers: axum::http::HeaderMap,
    pub body: serde_json::Value,
}

/// An HTTP server on 127.0.0.1 that records POSTs and answers with `status`.
pub struct SmsProvider {
    pub url: String,
    calls: Arc<Mutex<Vec<ProviderCall>>>,
    status: Arc<Mutex<axum::http::StatusCode>>,
}

impl SmsProvider {
    pub async fn start() -> Self {
        use axum::extract::State;
        type Shared = (Arc<Mutex<Vec<ProviderCall>>>, Arc<Mutex<axum::http::StatusCode>>);
        let calls = Arc::new(Mutex::new(Vec::new()));
        let status = Arc::new(Mutex::new(axum::http::StatusCode::ACCEPTED));
        async fn receive(
            State((calls, status)): State<Shared>,
            headers: axum::http::HeaderMap,
            body: axum::body::Bytes,
        ) -> axum::http::StatusCode {
            let body = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
            calls.lock().expect("calls").push(ProviderCall { headers, body });
            *status.lock().expect("status")
        }
        let app =
            axum::Router::new().route("/sms", axum::routing::post(receive)).with_state((calls.clone(), status.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind HTTP");
        let addr = listener.local_addr().expect("address");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url: format!("http://{addr}/sms"), calls, status }
    }

    pub fn calls(&self) -> Vec<ProviderCall> {
        self.calls.lock().expect("calls").clone()
    }

    pub fn answer(&self, status: axum::http::StatusCode) {
        *self.status.lock().expect("status") = status;
    }
}

/// A child process, killed when dropped (a failing test leaves none behind).
pub struct Process(pub std::process::Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A port free on loopback right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port()
}

/// Whether something listens on this loopback port.
pub fn reachable(port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok()
}

/// `volant <args>` on the test's database, in `dir`, with the test encryption key
/// and nothing else from the environment; add what the test needs.
pub fn volant(database_url: &str, dir: &std::path::Path, args: &[&str]) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_volant"));
    command
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("DATABASE_URL", database_url)
        .env("VOLANT_ENCRYPTION_KEYS", "test:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
        // Tests reach nothing beyond loopback.
        .env("VOLANT_GEOCODER_URL", "off")
        .env("VOLANT_WEATHER_URL", "off")
        .stdout(std::process::Stdio::null());
    command
}

/// Waits (10 s at most) until `url` answers 2xx.
pub async fn wait_ready(http: &reqwest::Client, url: &str) -> bool {
    for _ in 0..100 {
        if http.get(url).send().await.is_ok_and(|r| r.status().is_success()) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// How a stub geocoder or weather service answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StubMode {
    /// Known answers.
    Normal,
    /// Weather only: a stormy week (heavy rain, strong gusts).
    Storm,
    /// 503 to everything.
    Down,
    /// Answers after two seconds (longer than the clients' test timeout).
    Slow,
    /// 200 with something that is not the service's format.
    Malformed,
}

/// A Nominatim-compatible geocoder and an Open-Meteo-compatible forecast
/// service on loopback: what they were asked, and how they answer.
#[derive(Clone)]
pub struct GeoStub {
    pub url: String,
    mode: Arc<Mutex<StubMode>>,
    /// Each request: path and query, and the User-Agent.
    pub requests: Arc<Mutex<Vec<(String, String)>>>,
}

/// Addresses the stub geocoder knows (by a word they contain), with coordinates.
pub const KNOWN_PLACES: &[(&str, f64, f64)] =
    &[("république", 45.7630, 4.8357), ("saint-michel", 48.8531, 2.3440), ("part-dieu", 45.7606, 4.8593)];

impl GeoStub {
    pub async fn start() -> Self {
        use axum::extract::{Query, State};
        use axum::http::{HeaderMap, StatusCode, Uri};
        use axum::response::IntoResponse;
        type Shared = (Arc<Mutex<StubMode>>, Arc<Mutex<Vec<(String, String)>>>);

        async fn answer(
            State((mode, requests)): State<Shared>,
            uri: Uri,
            headers: HeaderMap,
            Query(query): Query<std::collections::HashMap<String, String>>,
        ) -> axum::response::Response {
            let agent = headers.get("user-agent").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
            requests.lock().expect("requests").push((uri.to_string(), agent));
            let mode = *mode.lock().expect("mode");
            match mode {
                StubMode::Down => return (StatusCode::SERVICE_UNAVAILABLE, "down").into_response(),
                StubMode::Slow => tokio::time::sleep(Duration::from_secs(2)).await,
                StubMode::Malformed => return "<html>maintenance</html>".into_response(),
                _ => {}
            }
            if uri.path() == "/search" {
                let q = query.get("q").cloned().unwrap_or_default().to_lowercase();
                let found: Vec<serde_json::Value> = KNOWN_PLACES
                    .iter()
                    .filter(|(word, _, _)| q.contains(word))
                    .map(|(word, lat, lon)| {
                        serde_json::json!({ "lat": lat.to_string(), "lon": lon.to_string(), "display_name": word })
                    })
                    .collect();
                return axum::Json(serde_json::Value::Array(found)).into_response();
            }
            // An Open-Meteo week from today's midnight (UTC), hour by hour.
            let storm = mode == StubMode::Storm;
            let start = chrono::Utc::now().date_naive().and_hms_opt(0, 0, 0).expect("midnight").and_utc().timestamp();
            let hours = 8 * 24;
            let time: Vec<i64> = (0..hours).map(|h| start + h * 3600).collect();
            let fill = |calm: f64, stormy: f64| vec![if storm { stormy } else { calm }; time.len()];
            axum::Json(serde_json::json!({
                "latitude": query.get("latitude"), "longitude": query.get("longitude"),
                "hourly": {
                    "time": time,
                    "precipitation": fill(0.1, 2.0),
                    "temperature_2m": fill(12.0, 11.0),
                    "wind_gusts_10m": fill(20.0, 95.0),
                    "snowfall": fill(0.0, 0.0),
                }
            }))
            .into_response()
        }

        let mode = Arc::new(Mutex::new(StubMode::Normal));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let router = axum::Router::new().fallback(answer).with_state((mode.clone(), requests.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self { url, mode, requests }
    }

    pub fn set(&self, mode: StubMode) {
        *self.mode.lock().expect("mode") = mode;
    }

    pub fn count(&self, path: &str) -> usize {
        self.requests.lock().expect("requests").iter().filter(|(uri, _)| uri.starts_with(path)).count()
    }

    pub fn geocoder(&self) -> volant::platform::geo::Geocoder {
        volant::platform::geo::Geocoder::new(
            &self.url,
            Duration::ZERO,
            "Volant/test (+http://localhost)",
            Duration::from_millis(800),
        )
        .expect("geocoder")
    }

    pub fn weather(&self) -> volant::platform::weather::WeatherService {
        volant::platform::weather::WeatherService::new(&self.url, "Volant/test", Duration::from_millis(800))
            .expect("weather")
    }
}
