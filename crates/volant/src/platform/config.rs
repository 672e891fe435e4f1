//! Typed configuration: built-in defaults, then environment variables, then flags.
//! Validated once at start-up; secrets never reach `Debug` or the logs.

use std::fmt;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use axum::http::HeaderValue;

/// Every setting, as flags with their environment variables (`volant --help` lists them).
#[derive(Debug, Clone, clap::Args)]
pub struct ConfigArgs {
    /// Address the HTTP server listens on.
    #[arg(long, env = "VOLANT_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: String,

    /// Database: `sqlite://path?mode=rwc` (default, embedded) or `postgres://user:pass@host/db`.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, hide_env_values = true)]
    pub database_url: String,

    /// Optional read replica (PostgreSQL) for API lists, the dashboard, reports and exports.
    #[arg(long, env = "DATABASE_REPLICA_URL", hide_env_values = true)]
    pub database_replica_url: Option<String>,

    /// Proxies whose forwarding headers are believed (`Forwarded`, `X-Forwarded-For`,
    /// `-Proto`, `-Host`): CIDR blocks or addresses, comma-separated, e.g. `10.0.0.0/8,127.0.0.1`.
    /// Empty (the default): the socket peer is the client and those headers are ignored.
    #[arg(long, env = "VOLANT_TRUSTED_PROXIES", default_value = "", value_delimiter = ',')]
    pub trusted_proxies: Vec<String>,

    /// Origins allowed to call the API from a browser, comma-separated (e.g. `http://localhost:3000`).
    #[arg(long, env = "VOLANT_CORS_ORIGINS", default_value = "", value_delimiter = ',')]
    pub cors_origins: Vec<String>,

    /// Log format: `pretty` for people, `json` for log collectors.
    #[arg(long, env = "VOLANT_LOG_FORMAT", default_value = "pretty")]
    pub log_format: String,

    /// Seconds after which a request is abandoned with 408.
    #[arg(long, env = "VOLANT_REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    pub request_timeout_secs: u64,

    /// E-mail of the first administrator, created at start-up when no user exists.
    #[arg(long, env = "VOLANT_ADMIN_EMAIL")]
    pub admin_email: Option<String>,

    /// Password of that first administrator (never logged).
    #[arg(long, env = "VOLANT_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,

    /// Maximum database connections in the pool.
    #[arg(long, env = "VOLANT_DB_MAX_CONNECTIONS", default_value_t = 10)]
    pub db_max_connections: u32,

    /// SQLite: bytes of the database file read through memory mapping instead of
    /// `read` calls (`PRAGMA mmap_size`), in MiB; 0 turns it off.
    #[arg(long, env = "VOLANT_SQLITE_MMAP_MB", default_value_t = 0)]
    pub sqlite_mmap_mb: u64,

    /// Sign-in attempts allowed per minute per client address; failed ones also per account and
    /// address (this many per 15 minutes) and per account from all addresses (ten times as many).
    #[arg(long, env = "VOLANT_LOGIN_ATTEMPTS_PER_MINUTE", default_value_t = 5)]
    pub login_attempts_per_minute: u32,

    /// API requests allowed per minute and per signed-in user.
    #[arg(long, env = "VOLANT_API_REQUESTS_PER_MINUTE", default_value_t = 1200)]
    pub api_requests_per_minute: u32,

    /// Keys that encrypt sensitive fields at rest: `id:64 hex digits`, comma-separated,
    /// the current key first (older ones still decrypt). Never logged.
    #[arg(long, env = "VOLANT_ENCRYPTION_KEYS", hide_env_values = true)]
    pub encryption_keys: Option<String>,

    /// Where the encryption keys are kept when `VOLANT_ENCRYPTION_KEYS` is not set
    /// (created with a new key on first start, readable by its owner only).
    #[arg(long, env = "VOLANT_ENCRYPTION_KEY_FILE", default_value = "data/volant.keys")]
    pub encryption_key_file: std::path::PathBuf,

    /// Address people reach Volant at, for links in e-mails (e.g. `https://garage.example.com`);
    /// `http://` + the listening address when empty.
    #[arg(long, env = "VOLANT_PUBLIC_URL", default_value = "")]
    pub public_url: String,

    /// SMTP server for e-mail: `smtp://user:pass@host:587?tls=required` (STARTTLS), `smtps://user:pass@host:465`
    /// (TLS), `smtp://host:25` (no encryption: a trusted network only). Unset: e-mails become `.eml` files.
    #[arg(long, env = "SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// Sender of e-mails, e.g. `Garage Dupont <atelier@garage-dupont.fr>`.
    #[arg(long, env = "VOLANT_MAIL_FROM", default_value = "Volant <noreply@localhost>")]
    pub mail_from: String,

    /// Let organizations set their own SMTP server on a loopback or private address,
    /// or on a port other than 25, 465, 587 and 2525 (a relay on the operator's own
    /// network). Off by default: an organization's administrator must not reach the
    /// instance's internal network through the mail settings.
    #[arg(long, env = "VOLANT_MAIL_ALLOW_PRIVATE_HOSTS", default_value_t = false)]
    pub mail_allow_private_hosts: bool,
    /// Webhooks may be sent to private addresses (loopback, LAN): off by default,
    /// an SSRF guard; for tests and receivers on the instance's own network.
    #[arg(long, env = "VOLANT_WEBHOOK_ALLOW_PRIVATE_HOSTS", default_value_t = false)]
    pub webhook_allow_private_hosts: bool,
    /// Push notifications may be sent to push services on private addresses (a
    /// push service on the instance's own network, tests): off by default, an SSRF
    /// guard, since browsers name the address.
    #[arg(long, env = "VOLANT_PUSH_ALLOW_PRIVATE_HOSTS", default_value_t = false)]
    pub push_allow_private_hosts: bool,
    /// Single sign-on providers may be on private addresses (an identity provider on
    /// the instance's own network, tests): off by default, an SSRF guard, since an
    /// organization's administrator chooses the provider's address.
    #[arg(long, env = "VOLANT_SSO_ALLOW_PRIVATE_HOSTS", default_value_t = false)]
    pub sso_allow_private_hosts: bool,
    /// Keep the sessions and tokens this instance has checked in memory, dropped
    /// as soon as the database announces a change (see docs/architecture.md).
    #[arg(long, env = "VOLANT_CREDENTIAL_CACHE", default_value_t = true, action = clap::ArgAction::Set)]
    pub credential_cache: bool,

    /// Folder of the `.eml` files written when no SMTP server is configured.
    #[arg(long, env = "VOLANT_MAIL_OUTBOX_DIR", default_value = "data/outbox")]
    pub mail_outbox_dir: std::path::PathBuf,

    /// SMS provider's HTTP endpoint (POST); unset: SMS are written to the log.
    #[arg(long, env = "VOLANT_SMS_URL")]
    pub sms_url: Option<String>,

    /// Bearer token sent to the SMS provider (never logged).
    #[arg(long, env = "VOLANT_SMS_TOKEN", hide_env_values = true)]
    pub sms_token: Option<String>,

    /// JSON body posted to the SMS provider; `{to}`, `{text}` and `{id}` are replaced.
    #[arg(long, env = "VOLANT_SMS_TEMPLATE", default_value = DEFAULT_SMS_TEMPLATE)]
    pub sms_template: String,

    /// Online payment provider's endpoint (POST) that makes payment pages; unset:
    /// no payment links (the invoice page says so).
    #[arg(long, env = "VOLANT_PAYMENT_URL")]
    pub payment_url: Option<String>,

    /// Secret shared with the payment provider: it signs the provider's callbacks
    /// and Volant's requests (HMAC-SHA256; never logged). Required with VOLANT_PAYMENT_URL.
    #[arg(long, env = "VOLANT_PAYMENT_SECRET", hide_env_values = true)]
    pub payment_secret: Option<String>,

    /// Send jobs through RabbitMQ (`amqp://user:pass@host:5672/%2f`) instead of polling the database.
    #[arg(long, env = "VOLANT_QUEUE_URL", hide_env_values = true)]
    pub queue_url: Option<String>,

    /// RabbitMQ queue the jobs go through (durable; created when missing).
    #[arg(long, env = "VOLANT_QUEUE_NAME", default_value = "volant.jobs")]
    pub queue_name: String,

    /// Bearer token for `GET /metrics` (never logged); without it, only loopback clients get it.
    #[arg(long, env = "VOLANT_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,

    /// Serve `/metrics` (without a token) on this internal address too, e.g. `10.0.0.5:9100`.
    #[arg(long, env = "VOLANT_METRICS_ADDR")]
    pub metrics_addr: Option<String>,

    /// OpenTelemetry collector for traces (OTLP over HTTP), e.g. `http://otel-collector:4318`.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,

    /// S3-compatible storage for files (`s3://bucket/prefix`; credentials from `AWS_*`); unset: `VOLANT_FILES_DIR`.
    #[arg(long, env = "VOLANT_OBJECT_STORE_URL")]
    pub object_store_url: Option<String>,

    /// Folder of the files when no object store is configured.
    #[arg(long, env = "VOLANT_FILES_DIR", default_value = "data/files")]
    pub files_dir: std::path::PathBuf,

    /// Largest file taken by an upload, in megabytes (at most 50).
    #[arg(long, env = "VOLANT_UPLOAD_MAX_MB", default_value_t = 20)]
    pub upload_max_mb: u32,

    /// Bytes of documents and photos each organization may store, in megabytes.
    #[arg(long, env = "VOLANT_STORAGE_QUOTA_MB", default_value_t = 5120)]
    pub storage_quota_mb: u64,

    /// Redis for rate limits shared by every instance (`redis://host:6379`); unset: each instance counts alone.
    #[arg(long, env = "REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,

    /// Prefix of Volant's keys in Redis.
    #[arg(long, env = "VOLANT_REDIS_PREFIX", default_value = "volant")]
    pub redis_prefix: String,

    /// Folder of the daily backups made by the workers (unset: no scheduled backup; `volant backup` still works).
    #[arg(long, env = "VOLANT_BACKUP_DIR")]
    pub backup_dir: Option<std::path::PathBuf>,

    /// Days backups are kept.
    #[arg(long, env = "VOLANT_BACKUP_KEEP_DAYS", default_value_t = 30)]
    pub backup_keep_days: u32,

    /// Public keys (age X25519 recipients, `age1…`, comma-separated) every backup is
    /// encrypted to; unset: backups are written in clear.
    #[arg(long, env = "VOLANT_BACKUP_RECIPIENTS")]
    pub backup_recipients: Option<String>,

    /// File of the age identities (`AGE-SECRET-KEY-1…`, one per line) that open
    /// encrypted backups: for restores and restore drills.
    #[arg(long, env = "VOLANT_BACKUP_IDENTITY_FILE")]
    pub backup_identity_file: Option<std::path::PathBuf>,

    /// Days between automatic restore drills of the latest backup (0: none).
    #[arg(long, env = "VOLANT_RESTORE_DRILL_DAYS", default_value_t = 30)]
    pub restore_drill_days: u32,

    /// PostgreSQL server (any database on it, a user allowed to create databases)
    /// where restore drills create and drop their scratch database; default: DATABASE_URL's server.
    #[arg(long, env = "VOLANT_RESTORE_DRILL_DATABASE_URL", hide_env_values = true)]
    pub restore_drill_database_url: Option<String>,

    /// Jobs run at once by this server (0: leave them to `volant worker` processes).
    #[arg(long, env = "VOLANT_WORKERS", default_value_t = 4)]
    pub workers: usize,

    /// Seconds a worker holds a job before another may take it over (renewed while it runs).
    #[arg(long, env = "VOLANT_JOB_LEASE_SECS", default_value_t = 60)]
    pub job_lease_secs: u64,

    /// Nominatim-compatible geocoder that finds addresses on the map (`off`: none;
    /// places are then pinned by hand). The public service asks for at most one
    /// request a second and a User-Agent naming the application: both are kept.
    #[arg(long, env = "VOLANT_GEOCODER_URL", default_value = DEFAULT_GEOCODER_URL)]
    pub geocoder_url: String,

    /// Who the geocoder's answers come from (plain text), shown beside the places it found.
    #[arg(long, env = "VOLANT_GEOCODER_ATTRIBUTION", default_value = DEFAULT_GEOCODER_ATTRIBUTION)]
    pub geocoder_attribution: String,

    /// Milliseconds between two requests to the geocoder (in each process).
    #[arg(long, env = "VOLANT_GEOCODER_INTERVAL_MS", default_value_t = 1000)]
    pub geocoder_interval_ms: u64,

    /// Map tiles: a URL template with `{z}`, `{x}`, `{y}` (and optionally `{s}`).
    #[arg(long, env = "VOLANT_MAP_TILE_URL", default_value = DEFAULT_TILE_URL)]
    pub map_tile_url: String,

    /// The tiles' attribution, shown on every map (plain text).
    #[arg(long, env = "VOLANT_MAP_ATTRIBUTION", default_value = DEFAULT_MAP_ATTRIBUTION)]
    pub map_attribution: String,

    /// Open-Meteo-compatible forecast service for lesson weather (`off`: none).
    #[arg(long, env = "VOLANT_WEATHER_URL", default_value = DEFAULT_WEATHER_URL)]
    pub weather_url: String,
}

pub const DEFAULT_GEOCODER_URL: &str = "https://nominatim.openstreetmap.org";
pub const DEFAULT_TILE_URL: &str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png";
pub const DEFAULT_MAP_ATTRIBUTION: &str = "© OpenStreetMap contributors";
pub const DEFAULT_GEOCODER_ATTRIBUTION: &str = "Nominatim, © OpenStreetMap contributors";
pub const DEFAULT_WEATHER_URL: &str = "https://api.open-meteo.com";

/// The external services of maps and weather (docs/integrations.md).
#[derive(Clone)]
pub struct GeoConfig {
    /// `None`: no geocoding (pins only).
    pub geocoder_url: Option<String>,
    pub geocoder_interval: Duration,
    pub tile_url: String,
    pub attribution: String,
    /// `None`: no forecasts.
    pub weather_url: Option<String>,
    /// Who the geocoder's answers come from, shown beside the places it found.
    pub geocoder_attribution: String,
}

impl fmt::Debug for GeoConfig {
    /// The services' addresses may hold a key or a password: redacted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hide = |url: &str| {
            let url = redact_url(url);
            match url.split_once('?') {
                Some((base, _)) => format!("{base}?***"),
                None => url,
            }
        };
        let redacted = |url: &Option<String>| url.as_deref().map(hide);
        f.debug_struct("GeoConfig")
            .field("geocoder_url", &redacted(&self.geocoder_url))
            .field("geocoder_interval", &self.geocoder_interval)
            .field("tile_url", &hide(&self.tile_url))
            .field("attribution", &self.attribution)
            .field("weather_url", &redacted(&self.weather_url))
            .finish()
    }
}

impl Default for GeoConfig {
    /// Tests and tools reach no service unless they set one.
    fn default() -> Self {
        Self {
            geocoder_url: None,
            geocoder_interval: Duration::ZERO,
            tile_url: DEFAULT_TILE_URL.to_owned(),
            attribution: DEFAULT_MAP_ATTRIBUTION.to_owned(),
            weather_url: None,
            geocoder_attribution: DEFAULT_GEOCODER_ATTRIBUTION.to_owned(),
        }
    }
}

impl GeoConfig {
    /// The tiles' origin (`https://tile.openstreetmap.org`, `https://*.tile.example.org`
    /// for a `{s}` template), which the pages' content policy lets images come from.
    pub fn tile_origin(&self) -> Option<String> {
        let (scheme, rest) = self.tile_url.split_once("://")?;
        let host = rest.split('/').next()?.replace("{s}", "*");
        let valid = host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '*' | '[' | ']'));
        (matches!(scheme, "http" | "https") && !host.is_empty() && valid).then(|| format!("{scheme}://{host}"))
    }
}

fn geo_config(args: &ConfigArgs) -> Result<GeoConfig, ConfigError> {
    let service = |value: &str, refused: fn(String) -> ConfigError| match value.trim() {
        "" | "off" => Ok(None),
        url => url_setting(Some(url), HTTP_SCHEMES, refused),
    };
    let tile_url = args.map_tile_url.trim().to_owned();
    let geo = GeoConfig {
        geocoder_url: service(&args.geocoder_url, ConfigError::GeocoderUrl)?,
        geocoder_interval: Duration::from_millis(args.geocoder_interval_ms),
        weather_url: service(&args.weather_url, ConfigError::WeatherUrl)?,
        attribution: args.map_attribution.trim().to_owned(),
        geocoder_attribution: args.geocoder_attribution.trim().to_owned(),
        tile_url: tile_url.clone(),
    };
    let placeholders = ["{z}", "{x}", "{y}"].iter().all(|p| tile_url.contains(p));
    if !placeholders || geo.tile_origin().is_none() {
        return Err(ConfigError::TileUrl(tile_url));
    }
    Ok(geo)
}

pub const DEFAULT_SMS_TEMPLATE: &str = r#"{"to":"{to}","text":"{text}","reference":"{id}"}"#;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/volant.db?mode=rwc";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Clone)]
pub struct Config {
    pub addr: SocketAddr,
    pub database_url: String,
    pub database_replica_url: Option<String>,
    pub cors_origins: Vec<HeaderValue>,
    pub log_format: LogFormat,
    pub request_timeout: Duration,
    pub db_max_connections: u32,
    /// SQLite: memory-mapped I/O, in MiB (0: off).
    pub sqlite_mmap_mb: u64,
    /// E-mail and password of the first administrator.
    pub first_admin: Option<(String, String)>,
    pub login_attempts_per_minute: NonZeroU32,
    pub api_requests_per_minute: NonZeroU32,
    /// Scheme and host of links sent by e-mail, without a trailing slash.
    pub public_url: String,
    /// Whether `VOLANT_PUBLIC_URL` was set: otherwise links made while answering a
    /// request use the host and scheme the client asked for.
    pub public_url_configured: bool,
    /// `VOLANT_TRUSTED_PROXIES`.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// `VOLANT_ENCRYPTION_KEYS`, already checked; `None` to use the key file.
    pub encryption_keys: Option<String>,
    pub encryption_key_file: std::path::PathBuf,
    pub notify: NotifyConfig,
    pub payments: PaymentsConfig,
    /// Maps and weather.
    pub geo: GeoConfig,
    pub queue_url: Option<String>,
    pub queue_name: String,
    pub metrics_token: Option<String>,
    pub metrics_addr: Option<SocketAddr>,
    pub backup_dir: Option<std::path::PathBuf>,
    pub backup_keep: Duration,
    /// Keys backups are encrypted to (none: in clear).
    pub backup_recipients: Vec<age::x25519::Recipient>,
    pub backup_identity_file: Option<std::path::PathBuf>,
    /// Days between restore drills (0: none).
    pub restore_drill_days: u32,
    pub restore_drill_database_url: Option<String>,
    pub redis_url: Option<String>,
    pub redis_prefix: String,
    pub object_store_url: Option<String>,
    pub files_dir: std::path::PathBuf,
    /// Largest file an upload may hold.
    pub upload_max_bytes: u64,
    /// Bytes of documents each organization may store.
    pub storage_quota_bytes: u64,
    pub otlp_endpoint: Option<String>,
    pub workers: usize,
    pub job_lease: Duration,
    /// Identity providers may be on private addresses.
    pub sso_allow_private_hosts: bool,
    /// Checked credentials are remembered (off: every request reads its credential).
    pub credential_cache: bool,
}

/// The online payment provider, if any.
#[derive(Clone, Default)]
pub struct PaymentsConfig {
    pub url: Option<String>,
    pub secret: Option<String>,
}

impl PaymentsConfig {
    /// Whether invoices can be paid online (the invoice page offers a payment link).
    pub fn configured(&self) -> bool {
        self.url.is_some() && self.secret.is_some()
    }
}

impl fmt::Debug for PaymentsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PaymentsConfig")
            .field("url", &self.url)
            .field("secret", &self.secret.as_ref().map(|_| "***"))
            .finish()
    }
}

/// How notifications leave Volant.
#[derive(Clone)]
pub struct NotifyConfig {
    pub smtp_url: Option<String>,
    pub mail_from: String,
    pub mail_outbox_dir: std::path::PathBuf,
    pub sms_url: Option<String>,
    pub sms_token: Option<String>,
    pub sms_template: String,
    /// Organizations' own SMTP servers may be private addresses or other ports.
    pub mail_allow_private_hosts: bool,
    /// Webhooks may be sent to private addresses.
    pub webhook_allow_private_hosts: bool,
    /// Push services may be on private addresses.
    pub push_allow_private_hosts: bool,
}

impl NotifyConfig {
    /// Whether e-mails leave this instance; without an SMTP server they are only
    /// written to the outbox folder, and every screen that sends one says so.
    pub fn delivers_email(&self) -> bool {
        self.smtp_url.is_some()
    }

    /// E-mails to `.eml` files in `outbox`, SMS to the log.
    pub fn local(outbox: std::path::PathBuf) -> Self {
        Self {
            smtp_url: None,
            mail_from: "Volant <noreply@localhost>".to_owned(),
            mail_outbox_dir: outbox,
            sms_url: None,
            sms_token: None,
            sms_template: DEFAULT_SMS_TEMPLATE.to_owned(),
            mail_allow_private_hosts: false,
            webhook_allow_private_hosts: false,
            push_allow_private_hosts: false,
        }
    }
}

impl fmt::Debug for NotifyConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NotifyConfig")
            .field("smtp_url", &self.smtp_url.as_deref().map(redact_url))
            .field("mail_from", &self.mail_from)
            .field("mail_outbox_dir", &self.mail_outbox_dir)
            .field("sms_url", &self.sms_url)
            .field("sms_token", &self.sms_token.as_ref().map(|_| "***"))
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("VOLANT_ADDR: `{0}` is not a socket address such as 127.0.0.1:8080")]
    Addr(String),
    #[error(
        "VOLANT_BACKUP_RECIPIENTS: `{0}` is not an age public key such as age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"
    )]
    BackupRecipient(String),
    #[error("VOLANT_RESTORE_DRILL_DATABASE_URL: expected a postgres:// URL, got `{0}`")]
    RestoreDrillUrl(String),
    #[error("DATABASE_URL: only `sqlite:` and `postgres:` URLs are supported, got `{0}`")]
    DatabaseScheme(String),
    #[error("VOLANT_TRUSTED_PROXIES: `{0}` is not an address or CIDR block such as 10.0.0.0/8 or 127.0.0.1")]
    TrustedProxy(String),
    #[error("VOLANT_CORS_ORIGINS: `{0}` is not an origin such as https://app.example.com")]
    CorsOrigin(String),
    #[error("VOLANT_LOG_FORMAT: expected `pretty` or `json`, got `{0}`")]
    LogFormat(String),
    #[error(
        "VOLANT_REQUEST_TIMEOUT_SECS, VOLANT_DB_MAX_CONNECTIONS, VOLANT_LOGIN_ATTEMPTS_PER_MINUTE and VOLANT_API_REQUESTS_PER_MINUTE must be at least 1"
    )]
    Zero,
    #[error("VOLANT_ADMIN_EMAIL and VOLANT_ADMIN_PASSWORD go together: set both or neither")]
    AdminPair,
    #[error("VOLANT_PUBLIC_URL: `{0}` is not an address such as https://garage.example.com")]
    PublicUrl(String),
    #[error("SMTP_URL: expected smtp://host:port or smtps://host:port, got `{0}`")]
    SmtpUrl(String),
    #[error("VOLANT_MAIL_FROM: `{0}` is not a sender such as `Garage Dupont <atelier@garage-dupont.fr>`")]
    MailFrom(String),
    #[error("VOLANT_SMS_URL: expected an http:// or https:// address, got `{0}`")]
    SmsUrl(String),
    #[error("VOLANT_PAYMENT_URL: expected an http:// or https:// address, got `{0}`")]
    PaymentUrl(String),
    #[error("VOLANT_PAYMENT_URL and VOLANT_PAYMENT_SECRET go together: set both or neither")]
    PaymentPair,
    #[error("VOLANT_SMS_TEMPLATE: once `{{to}}` and `{{text}}` are filled in, it must be a JSON document")]
    SmsTemplate,
    #[error("VOLANT_QUEUE_URL: expected amqp:// or amqps://, got `{0}`")]
    QueueUrl(String),
    #[error("VOLANT_METRICS_ADDR: `{0}` is not a socket address such as 10.0.0.5:9100")]
    MetricsAddr(String),
    #[error("OTEL_EXPORTER_OTLP_ENDPOINT: expected http:// or https://, got `{0}`")]
    OtlpEndpoint(String),
    #[error("VOLANT_OBJECT_STORE_URL: expected s3://bucket/prefix, got `{0}`")]
    ObjectStoreUrl(String),
    #[error("REDIS_URL: expected redis:// or rediss://, got `{0}`")]
    RedisUrl(String),
    #[error("VOLANT_GEOCODER_URL: expected an http:// or https:// address or `off`, got `{0}`")]
    GeocoderUrl(String),
    #[error("VOLANT_WEATHER_URL: expected an http:// or https:// address or `off`, got `{0}`")]
    WeatherUrl(String),
    #[error("VOLANT_MAP_TILE_URL: expected an http(s) address with {{z}}, {{x}} and {{y}}, got `{0}`")]
    TileUrl(String),
    #[error("VOLANT_JOB_LEASE_SECS must be at least 3")]
    JobLease,
    #[error("VOLANT_ENCRYPTION_KEYS: {0}")]
    EncryptionKeys(#[from] crate::platform::crypto::KeySpecError),
}

impl Config {
    pub fn from_args(args: &ConfigArgs) -> Result<Self, ConfigError> {
        let addr = args.addr.parse().map_err(|_| ConfigError::Addr(args.addr.clone()))?;
        let database_url = url_setting(Some(&args.database_url), DATABASE_SCHEMES, ConfigError::DatabaseScheme)?
            .ok_or_else(|| ConfigError::DatabaseScheme(String::new()))?;
        let log_format = match args.log_format.as_str() {
            "pretty" | "" => LogFormat::Pretty,
            "json" => LogFormat::Json,
            other => return Err(ConfigError::LogFormat(other.to_owned())),
        };
        if args.request_timeout_secs == 0 || args.db_max_connections == 0 {
            return Err(ConfigError::Zero);
        }
        let encryption_keys = text_setting(args.encryption_keys.as_deref());
        if let Some(spec) = &encryption_keys {
            crate::platform::crypto::FieldCipher::from_spec(spec)?;
        }
        if args.job_lease_secs < 3 {
            return Err(ConfigError::JobLease);
        }
        Ok(Self {
            database_replica_url: url_setting(
                args.database_replica_url.as_deref(),
                DATABASE_SCHEMES,
                ConfigError::DatabaseScheme,
            )?,
            notify: notify_config(args)?,
            payments: payments_config(args)?,
            geo: geo_config(args)?,
            queue_url: url_setting(args.queue_url.as_deref(), &["amqp://", "amqps://"], ConfigError::QueueUrl)?,
            queue_name: args.queue_name.trim().to_owned(),
            metrics_token: text_setting(args.metrics_token.as_deref()),
            metrics_addr: match text_setting(args.metrics_addr.as_deref()) {
                Some(addr) => Some(addr.parse().map_err(|_| ConfigError::MetricsAddr(addr))?),
                None => None,
            },
            backup_dir: args.backup_dir.clone().filter(|d| !d.as_os_str().is_empty()),
            backup_recipients: crate::platform::backup::recipients(args.backup_recipients.as_deref().unwrap_or(""))
                .map_err(ConfigError::BackupRecipient)?,
            backup_identity_file: args.backup_identity_file.clone().filter(|d| !d.as_os_str().is_empty()),
            restore_drill_days: args.restore_drill_days,
            restore_drill_database_url: url_setting(
                args.restore_drill_database_url.as_deref(),
                &["postgres://", "postgresql://"],
                ConfigError::RestoreDrillUrl,
            )?,
            redis_url: url_setting(args.redis_url.as_deref(), &["redis://", "rediss://"], ConfigError::RedisUrl)?,
            redis_prefix: args.redis_prefix.trim().to_owned(),
            object_store_url: url_setting(args.object_store_url.as_deref(), &["s3://"], ConfigError::ObjectStoreUrl)?,
            files_dir: args.files_dir.clone(),
            upload_max_bytes: u64::from(args.upload_max_mb.clamp(1, 50)) * 1_000_000,
            storage_quota_bytes: args.storage_quota_mb.max(1).saturating_mul(1_000_000),
            otlp_endpoint: url_setting(args.otlp_endpoint.as_deref(), HTTP_SCHEMES, ConfigError::OtlpEndpoint)?,
            backup_keep: Duration::from_secs(u64::from(args.backup_keep_days.max(1)) * 86_400),
            workers: args.workers,
            job_lease: Duration::from_secs(args.job_lease_secs),
            sso_allow_private_hosts: args.sso_allow_private_hosts,
            credential_cache: args.credential_cache,
            encryption_keys,
            encryption_key_file: args.encryption_key_file.clone(),
            public_url_configured: !args.public_url.trim().is_empty(),
            public_url: public_url(&args.public_url, addr)?,
            trusted_proxies: crate::platform::proxy::parse_networks(&args.trusted_proxies)
                .map_err(ConfigError::TrustedProxy)?,
            login_attempts_per_minute: NonZeroU32::new(args.login_attempts_per_minute).ok_or(ConfigError::Zero)?,
            api_requests_per_minute: NonZeroU32::new(args.api_requests_per_minute).ok_or(ConfigError::Zero)?,
            first_admin: first_admin(args)?,
            addr,
            database_url,
            cors_origins: cors_origins(&args.cors_origins)?,
            log_format,
            request_timeout: Duration::from_secs(args.request_timeout_secs),
            db_max_connections: args.db_max_connections,
            sqlite_mmap_mb: args.sqlite_mmap_mb,
        })
    }

    /// A configuration for tests and tools: defaults with the given database.
    pub fn for_database(database_url: impl Into<String>) -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            database_url: database_url.into(),
            database_replica_url: None,
            cors_origins: Vec::new(),
            log_format: LogFormat::Pretty,
            request_timeout: Duration::from_secs(30),
            db_max_connections: 10,
            sqlite_mmap_mb: 0,
            first_admin: None,
            login_attempts_per_minute: NonZeroU32::new(5).unwrap_or(NonZeroU32::MIN),
            api_requests_per_minute: NonZeroU32::new(1200).unwrap_or(NonZeroU32::MIN),
            public_url: "http://localhost".to_owned(),
            public_url_configured: false,
            trusted_proxies: Vec::new(),
            // A fixed key for tests and tools: never for real data.
            encryption_keys: Some("test:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f".to_owned()),
            encryption_key_file: std::path::PathBuf::from("data/volant.keys"),
            notify: NotifyConfig::local(std::env::temp_dir().join("volant-outbox")),
            payments: PaymentsConfig::default(),
            geo: GeoConfig::default(),
            queue_url: None,
            queue_name: "volant.jobs".to_owned(),
            metrics_token: None,
            metrics_addr: None,
            backup_dir: None,
            backup_keep: Duration::from_secs(30 * 86_400),
            backup_recipients: Vec::new(),
            backup_identity_file: None,
            restore_drill_days: 30,
            restore_drill_database_url: None,
            redis_url: None,
            redis_prefix: "volant".to_owned(),
            object_store_url: None,
            files_dir: std::env::temp_dir().join("volant-files"),
            upload_max_bytes: 20_000_000,
            storage_quota_bytes: 5_120_000_000,
            otlp_endpoint: None,
            workers: 0,
            job_lease: Duration::from_secs(60),
            sso_allow_private_hosts: false,
            credential_cache: true,
        }
    }
}

const DATABASE_SCHEMES: &[&str] = &["sqlite:", "postgres:", "postgresql:"];
const HTTP_SCHEMES: &[&str] = &["http://", "https://"];

/// A text setting: blank means unset.
fn text_setting(value: Option<&str>) -> Option<String> {
    value.map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned)
}

/// A URL setting: blank means unset; otherwise it must begin with one of
/// `schemes`, or `refused` names the setting in an error that shows the URL
/// without its password.
fn url_setting(
    value: Option<&str>,
    schemes: &[&str],
    refused: fn(String) -> ConfigError,
) -> Result<Option<String>, ConfigError> {
    match text_setting(value) {
        Some(url) if !schemes.iter().any(|scheme| url.starts_with(scheme)) => Err(refused(redact_url(&url))),
        url => Ok(url),
    }
}

/// Where people reach this instance: the listening address when unset.
fn public_url(value: &str, addr: SocketAddr) -> Result<String, ConfigError> {
    match value.trim().trim_end_matches('/') {
        "" => Ok(format!("http://{addr}")),
        url if HTTP_SCHEMES.iter().any(|scheme| url.starts_with(scheme)) && !url.contains(char::is_whitespace) => {
            Ok(url.to_owned())
        }
        other => Err(ConfigError::PublicUrl(other.to_owned())),
    }
}

fn cors_origins(origins: &[String]) -> Result<Vec<HeaderValue>, ConfigError> {
    origins
        .iter()
        .map(|o| o.trim())
        .filter(|o| !o.is_empty())
        .map(|o| {
            let valid = HTTP_SCHEMES.iter().any(|scheme| o.starts_with(scheme)) && !o.ends_with('/');
            HeaderValue::from_str(o).ok().filter(|_| valid).ok_or_else(|| ConfigError::CorsOrigin(o.to_owned()))
        })
        .collect()
}

/// The administrator to create on first start: both variables or neither.
fn first_admin(args: &ConfigArgs) -> Result<Option<(String, String)>, ConfigError> {
    match (&args.admin_email, &args.admin_password) {
        (Some(email), Some(password)) if !email.trim().is_empty() && !password.is_empty() => {
            Ok(Some((email.trim().to_owned(), password.clone())))
        }
        (None, None) => Ok(None),
        (Some(e), None) if e.trim().is_empty() => Ok(None),
        _ => Err(ConfigError::AdminPair),
    }
}

fn notify_config(args: &ConfigArgs) -> Result<NotifyConfig, ConfigError> {
    let smtp_url = url_setting(args.smtp_url.as_deref(), &["smtp://", "smtps://"], ConfigError::SmtpUrl)?;
    let mail_from = args.mail_from.trim().to_owned();
    if mail_from.parse::<lettre::message::Mailbox>().is_err() {
        return Err(ConfigError::MailFrom(mail_from));
    }
    let sms_url = url_setting(args.sms_url.as_deref(), HTTP_SCHEMES, ConfigError::SmsUrl)?;
    let filled = fill_sms_template(&args.sms_template, "+33600000000", "Texte \"cité\"", "1");
    if serde_json::from_str::<serde_json::Value>(&filled).is_err() {
        return Err(ConfigError::SmsTemplate);
    }
    Ok(NotifyConfig {
        smtp_url,
        mail_from,
        mail_outbox_dir: args.mail_outbox_dir.clone(),
        sms_url,
        sms_token: text_setting(args.sms_token.as_deref()),
        sms_template: args.sms_template.clone(),
        mail_allow_private_hosts: args.mail_allow_private_hosts,
        webhook_allow_private_hosts: args.webhook_allow_private_hosts,
        push_allow_private_hosts: args.push_allow_private_hosts,
    })
}

fn payments_config(args: &ConfigArgs) -> Result<PaymentsConfig, ConfigError> {
    let url = url_setting(args.payment_url.as_deref(), HTTP_SCHEMES, ConfigError::PaymentUrl)?;
    let secret = text_setting(args.payment_secret.as_deref());
    if url.is_some() != secret.is_some() {
        return Err(ConfigError::PaymentPair);
    }
    Ok(PaymentsConfig { url, secret })
}

/// The SMS provider's request body: each placeholder becomes the value as JSON
/// string content (quotes and control characters escaped), so no text can break it.
pub fn fill_sms_template(template: &str, to: &str, text: &str, id: &str) -> String {
    let escape = |v: &str| {
        let quoted = serde_json::Value::String(v.to_owned()).to_string();
        quoted[1..quoted.len() - 1].to_owned()
    };
    template.replace("{to}", &escape(to)).replace("{text}", &escape(text)).replace("{id}", &escape(id))
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("addr", &self.addr)
            .field("database_url", &redact_url(&self.database_url))
            .field("database_replica_url", &self.database_replica_url.as_deref().map(redact_url))
            .field("cors_origins", &self.cors_origins)
            .field("log_format", &self.log_format)
            .field("request_timeout", &self.request_timeout)
            .field("db_max_connections", &self.db_max_connections)
            .field("sqlite_mmap_mb", &self.sqlite_mmap_mb)
            .field("public_url", &self.public_url)
            .field("public_url_configured", &self.public_url_configured)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("encryption_keys", &self.encryption_keys.as_ref().map(|_| "***"))
            .field("encryption_key_file", &self.encryption_key_file)
            .field("login_attempts_per_minute", &self.login_attempts_per_minute)
            .field("api_requests_per_minute", &self.api_requests_per_minute)
            .field("first_admin", &self.first_admin.as_ref().map(|(email, _)| (email, "***")))
            .field("notify", &self.notify)
            .field("payments", &self.payments)
            .field("geo", &self.geo)
            .field("queue_url", &self.queue_url.as_deref().map(redact_url))
            .field("metrics_token", &self.metrics_token.as_ref().map(|_| "***"))
            .field("metrics_addr", &self.metrics_addr)
            .field("redis_url", &self.redis_url.as_deref().map(redact_url))
            .field("object_store_url", &self.object_store_url)
            .field("otlp_endpoint", &self.otlp_endpoint)
            .field("files_dir", &self.files_dir)
            .field("upload_max_bytes", &self.upload_max_bytes)
            .field("storage_quota_bytes", &self.storage_quota_bytes)
            .field("backup_dir", &self.backup_dir)
            .field("backup_keep", &self.backup_keep)
            .field("backup_recipients", &self.backup_recipients.len())
            .field("backup_identity_file", &self.backup_identity_file)
            .field("restore_drill_days", &self.restore_drill_days)
            .field("restore_drill_database_url", &self.restore_drill_database_url.as_ref().map(|_| "…"))
            .field("workers", &self.workers)
            .field("job_lease", &self.job_lease)
            .field("credential_cache", &self.credential_cache)
            .finish()
    }
}

/// Hides the password of a URL such as `postgres://user:secret@host/db`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    // The last `@` ends the credentials: a user name may hold one unencoded.
    let Some((userinfo, host)) = rest.rsplit_once('@') else {
        return url.to_owned();
    };
    match userinfo.rsplit_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        config: ConfigArgs,
    }

    fn parse(args: &[&str]) -> Result<Config, ConfigError> {
        let mut argv = vec!["volant"];
        argv.extend_from_slice(args);
        Config::from_args(&Cli::parse_from(argv).config)
    }

    #[test]
    fn encryption_keys_are_checked_and_hidden() {
        let key = "k1:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
        let config = parse(&["--encryption-keys", key]).expect("valid");
        assert!(!format!("{config:?}").contains("0001020304"));
        assert!(matches!(parse(&["--encryption-keys", "k1:short"]), Err(ConfigError::EncryptionKeys(_))));
    }

    #[test]
    fn defaults_are_valid() {
        let config = parse(&[]).expect("defaults");
        assert_eq!(config.addr.to_string(), "127.0.0.1:8080");
        assert!(config.database_url.starts_with("sqlite:"));
    }

    #[test]
    fn debug_hides_database_password() {
        let config = parse(&["--database-url", "postgres://volant:s3cret@db/volant"]).expect("valid");
        let shown = format!("{config:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("volant:***@db/volant"), "{shown}");
        // An unencoded `@` in the user name does not uncover the password.
        assert_eq!(
            redact_url("smtps://atelier@garage.fr:s3cret@smtp.example.fr:465"),
            "smtps://atelier@garage.fr:***@smtp.example.fr:465"
        );
        assert_eq!(redact_url("smtp://relay.local:25"), "smtp://relay.local:25");
    }

    #[test]
    fn invalid_values_are_explained() {
        assert!(matches!(parse(&["--addr", "nowhere"]), Err(ConfigError::Addr(_))));
        assert!(matches!(parse(&["--database-url", "mysql://x"]), Err(ConfigError::DatabaseScheme(_))));
        assert!(matches!(parse(&["--cors-origins", "example.com"]), Err(ConfigError::CorsOrigin(_))));
        assert!(matches!(parse(&["--log-format", "xml"]), Err(ConfigError::LogFormat(_))));
        assert!(matches!(parse(&["--admin-email", "a@b.fr"]), Err(ConfigError::AdminPair)));
        let admin = parse(&["--admin-email", "a@b.fr", "--admin-password", "s3cret-phrase"]).expect("valid");
        assert!(!format!("{admin:?}").contains("s3cret-phrase"));
        assert!(
            matches!(parse(&["--trusted-proxies", "10.0.0.0/8,nginx"]), Err(ConfigError::TrustedProxy(p)) if p == "nginx")
        );
        let proxies = parse(&["--trusted-proxies", "10.0.0.0/8, 127.0.0.1,::1"]).expect("valid");
        assert_eq!(proxies.trusted_proxies.len(), 3);
        assert!(parse(&[]).expect("defaults").trusted_proxies.is_empty());
        let ok = parse(&["--cors-origins", "http://localhost:3000,https://app.example.com"]).expect("valid");
        assert_eq!(ok.cors_origins.len(), 2);
    }
}
