//! `TestApp`: the real router over a fresh database, SQLite always and
//! PostgreSQL when `TEST_DATABASE_URL` is set (each test in its own schema).

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::Value;
use tower::ServiceExt;
use volant::identity::roles::Role;
use volant::identity::users::service::AuthUser;
use volant::platform::AppState;
use volant::platform::config::Config;
use volant::platform::db::{self, DbSettings};
use volant::platform::tenant::OrgId;

pub struct TestApp {
    pub router: Router,
    /// The application's state (jobs are built from it).
    pub state: AppState,
    /// Where e-mails are written when no SMTP server is configured.
    pub outbox: tempfile::TempDir,
    /// The file store's folder.
    pub files: tempfile::TempDir,
    pub db: DatabaseConnection,
    /// The organization requests act for.
    pub org: OrgId,
    /// The key tokens are signed with.
    pub signing_key: std::sync::Arc<[u8]>,
    /// The administrator requests act as, created on first use.
    admin: tokio::sync::OnceCell<AuthUser>,
    /// The administrator's API token, sent with API requests.
    admin_token: tokio::sync::OnceCell<String>,
    /// The administrator's web session, sent with page requests.
    admin_session: tokio::sync::OnceCell<String>,
    _guard: Guard,
}

enum Guard {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { url: String, schema: String },
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Guard::Postgres { url, schema } = self {
            let (url, schema) = (url.clone(), schema.clone());
            // Drop runs outside any runtime guarantee: use a private one on a thread.
            let _ = std::thread::spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
                rt.block_on(async move {
                    if let Ok(conn) = db::connect(&DbSettings::new(url, 1)).await {
                        let _ = conn.execute_unprepared(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE")).await;
                        let _ = conn.close().await;
                    }
                });
            })
            .join();
        }
    }
}

pub fn init_logging() {
    if std::env::var_os("TEST_LOG").is_some() {
        let _ = tracing_subscriber::fmt().with_env_filter("debug,sqlx=warn").with_test_writer().try_init();
    }
}

impl TestApp {
    pub async fn sqlite() -> Self {
        Self::sqlite_with(|_| {}).await
    }

    pub async fn sqlite_with(configure: impl FnOnce(&mut Config)) -> Self {
        init_logging();
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
        let mut config = Config::for_database(url.clone());
        // The tests' SMTP servers listen on loopback ports (the default refuses them).
        config.notify.mail_allow_private_hosts = true;
        configure(&mut config);
        let db = db::connect(&DbSettings::new(url, 8)).await.expect("connect sqlite");
        Self::finish(db, config, Guard::Sqlite(dir)).await
    }

    /// `None` when `TEST_DATABASE_URL` is unset, except in CI where that is a failure.
    pub async fn postgres() -> Option<Self> {
        Self::postgres_with(|_| {}).await
    }

    /// A PostgreSQL database URL and a fresh schema, for a test's own processes.
    pub async fn postgres_with(configure: impl FnOnce(&mut Config)) -> Option<Self> {
        let Some(url) = std::env::var("TEST_DATABASE_URL").ok().filter(|u| !u.is_empty()) else {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must set TEST_DATABASE_URL: PostgreSQL tests may not be skipped"
            );
            return None;
        };
        Some(Self::postgres_on(url, configure).await)
    }

    /// The application over a fresh schema of the PostgreSQL server at `url` (a test's own cluster).
    pub async fn postgres_on(url: String, configure: impl FnOnce(&mut Config)) -> Self {
        init_logging();
        let schema = format!("vt_{}_{}", std::process::id(), fastrand::u64(..));
        let admin = db::connect(&DbSettings::new(url.clone(), 1)).await.expect("connect to TEST_DATABASE_URL");
        admin.execute_unprepared(&format!("CREATE SCHEMA \"{schema}\"")).await.expect("create schema");
        let _ = admin.close().await;
        let settings =
            DbSettings { url: url.clone(), max_connections: 8, schema: Some(schema.clone()), sqlite_mmap_bytes: 0 };
        let db = db::connect(&settings).await.expect("connect postgres schema");
        let mut config = Config::for_database(url.clone());
        // The tests' SMTP servers listen on loopback ports (the default refuses them).
        config.notify.mail_allow_private_hosts = true;
        configure(&mut config);
        Self::finish(db, config, Guard::Postgres { url, schema }).await
    }

    /// This test's PostgreSQL schema (none on SQLite).
    pub fn schema(&self) -> Option<&str> {
        match &self._guard {
            Guard::Postgres { schema, .. } => Some(schema),
            Guard::Sqlite(_) => None,
        }
    }

    /// The application as `main` builds it ([`volant::App::build_on`]) over this
    /// test's database, with its e-mails and files in temporary folders.
    async fn finish(db: DatabaseConnection, mut config: Config, guard: Guard) -> Self {
        let outbox = tempfile::tempdir().expect("outbox dir");
        config.notify.mail_outbox_dir = outbox.path().to_path_buf();
        let files = tempfile::tempdir().expect("files dir");
        config.files_dir = files.path().to_path_buf();
        config.object_store_url = None;
        let volant::App { state, router } =
            volant::App::build_on(db.clone(), config).await.expect("the application starts");
        let (org, signing_key) = (state.default_org, state.signing_key.clone());
        Self {
            router,
            state,
            outbox,
            files,
            db,
            org,
            signing_key,
            admin: tokio::sync::OnceCell::new(),
            admin_token: tokio::sync::OnceCell::new(),
            admin_session: tokio::sync::OnceCell::new(),
            _guard: guard,
        }
    }

    /// The database URL another process (a `volant worker`) uses to share this test's database.
    pub fn database_url(&self) -> String {
        match &self._guard {
            Guard::Sqlite(dir) => format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display()),
            Guard::Postgres { url, schema } => {
                let separator = if url.contains('?') { '&' } else { '?' };
                format!("{url}{separator}options=-c%20search_path%3D{schema}")
            }
        }
    }

    /// Runs every due job with other delivery settings (a test SMTP server, an SMS provider).
    pub async fn run_jobs_with(&self, configure: impl FnOnce(&mut volant::platform::config::NotifyConfig)) -> usize {
        let mut state = self.state.clone();
        let mut config = (*state.config).clone();
        configure(&mut config.notify);
        state.config = std::sync::Arc::new(config);
        let registry = volant::app::jobs_for(&state).expect("job registry");
        volant::platform::jobs::run_until_idle(&self.db, &registry).await.expect("run jobs")
    }

    /// Runs every due job (deliveries, reports…) now; returns how many ran.
    pub async fn run_jobs(&self) -> usize {
        let registry = volant::app::jobs_for(&self.state).expect("job registry");
        volant::platform::jobs::run_until_idle(&self.db, &registry).await.expect("run jobs")
    }

    /// A client signed in as the instance's first administrator (an API token for
    /// `/api/v1`, a web session for pages), created on first use.
    pub fn as_admin(&self) -> TestClient<'_> {
        TestClient { app: self, caller: Caller::Admin }
    }

    /// A client signed in as a new user of the default organization with this role.
    pub async fn as_role(&self, role: Role) -> TestClient<'_> {
        let n = CLIENTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let user = self.user(&format!("{}-{n}@volant.test", role.as_str()), &[role]).await;
        self.as_user(&user).await
    }

    /// A client signed in as this user (an API token and a web session of its own).
    pub async fn as_user(&self, user: &AuthUser) -> TestClient<'_> {
        let issue = |kind| volant::identity::auth::issue(&self.db, &self.signing_key, user, kind);
        let token = issue("api").await.expect("issue a token").token;
        let session = issue("web").await.expect("issue a session").token;
        TestClient { app: self, caller: Caller::User { user: Box::new(user.clone()), token, session } }
    }

    /// A client signed in as the administrator of a new, second organization.
    pub async fn other_org(&self) -> TestClient<'_> {
        use volant::identity::organizations::service::{self as organizations, NewOrganization};
        let n = CLIENTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let org = organizations::create(&self.db, NewOrganization::default()).await.expect("a second organization");
        let new = volant::identity::users::service::NewUser {
            email: format!("direction-{n}@autre-organisation.test"),
            display_name: "Direction".to_owned(),
            password: TEST_PASSWORD.to_owned(),
            roles: vec![Role::Admin],
        };
        let admin = volant::identity::users::service::create(&self.db, org, new).await.expect("its administrator");
        self.as_user(&admin).await
    }

    /// A client that sends requests exactly as given: no credentials added.
    pub fn anonymous(&self) -> TestClient<'_> {
        TestClient { app: self, caller: Caller::Anonymous }
    }

    /// A client sending this bearer token to the API (pages get no credentials).
    pub fn with_token(&self, token: &str) -> TestClient<'_> {
        TestClient { app: self, caller: Caller::Token(token.to_owned()) }
    }

    /// The instance's first administrator, hence also its platform operator.
    pub async fn admin(&self) -> &AuthUser {
        self.admin
            .get_or_init(|| async {
                let mut admin = self.user("admin@volant.test", &[Role::Admin]).await;
                volant::identity::users::service::set_operator(&self.db, admin.id, true).await.expect("operator");
                admin.is_operator = true;
                admin
            })
            .await
    }

    pub async fn admin_token(&self) -> &str {
        self.admin_token
            .get_or_init(|| async {
                let admin = self.admin().await;
                volant::identity::auth::issue(&self.db, &self.signing_key, admin, "api").await.expect("issue").token
            })
            .await
    }

    pub async fn admin_session(&self) -> &str {
        self.admin_session
            .get_or_init(|| async {
                let admin = self.admin().await;
                volant::identity::auth::issue(&self.db, &self.signing_key, admin, "web").await.expect("issue").token
            })
            .await
    }

    /// A bearer token for a new user with these roles (no password check: faster).
    pub async fn token_for(&self, email: &str, roles: &[Role]) -> String {
        let user = self.user(email, roles).await;
        volant::identity::auth::issue(&self.db, &self.signing_key, &user, "api").await.expect("issue").token
    }

    /// The form token a page shows to a browser holding the `TEST_CSRF` cookie and
    /// this session cookie (`""`: signed out).
    pub fn csrf_for(&self, session: &str) -> String {
        volant::platform::web::csrf_token(&self.signing_key, TEST_CSRF, session).expect("CSRF token")
    }

    /// Creates a user of the default organization with the given roles.
    pub async fn user(&self, email: &str, roles: &[Role]) -> AuthUser {
        let new = volant::identity::users::service::NewUser {
            email: email.to_owned(),
            display_name: "Jeanne Martin".to_owned(),
            password: TEST_PASSWORD.to_owned(),
            roles: roles.to_vec(),
        };
        volant::identity::users::service::create(&self.db, self.org, new).await.expect("create user")
    }

    /// Signs in through the API and returns the bearer token.
    pub async fn login(&self, email: &str, password: &str) -> String {
        let response = self
            .anonymous()
            .post("/api/v1/auth/login", &serde_json::json!({ "email": email, "password": password }))
            .await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.text());
        response.json()["access_token"].as_str().expect("token").to_owned()
    }
}

/// Numbers the users and organizations clients are made for.
static CLIENTS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// Who a [`TestClient`] sends requests as.
#[derive(Clone)]
enum Caller {
    Anonymous,
    /// The instance's first administrator ([`TestApp::admin`]).
    Admin,
    /// A bare bearer token.
    Token(String),
    User {
        user: Box<AuthUser>,
        token: String,
        session: String,
    },
}

/// Sends requests to the application as one caller: made by [`TestApp::as_admin`],
/// [`TestApp::as_role`], [`TestApp::as_user`], [`TestApp::other_org`],
/// [`TestApp::anonymous`] or [`TestApp::with_token`]. API requests carry the
/// caller's bearer token, page requests its session and CSRF cookies; a request
/// that already carries credentials is sent as it is.
#[derive(Clone)]
pub struct TestClient<'a> {
    app: &'a TestApp,
    caller: Caller,
}

impl TestClient<'_> {
    /// The user this client acts as (the administrator for [`TestApp::as_admin`]).
    pub async fn user(&self) -> &AuthUser {
        match &self.caller {
            Caller::Admin => self.app.admin().await,
            Caller::User { user, .. } => user,
            Caller::Anonymous | Caller::Token(_) => panic!("this client is nobody in particular"),
        }
    }

    /// The organization this client acts for.
    pub async fn org(&self) -> OrgId {
        self.user().await.org
    }

    /// The client's API token.
    pub async fn token(&self) -> &str {
        match &self.caller {
            Caller::Admin => self.app.admin_token().await,
            Caller::Token(token) | Caller::User { token, .. } => token,
            Caller::Anonymous => panic!("an anonymous client has no token"),
        }
    }

    /// The client's web session (`""` when it has none).
    pub async fn session(&self) -> &str {
        match &self.caller {
            Caller::Admin => self.app.admin_session().await,
            Caller::User { session, .. } => session,
            Caller::Anonymous | Caller::Token(_) => "",
        }
    }

    /// Adds the client's credentials to a request: its bearer token for `/api/v1`,
    /// its session and CSRF cookies for pages (the sign-in pages excepted). A request
    /// that already carries credentials is left as it is.
    pub async fn authorize(&self, mut request: Request<Body>) -> Request<Body> {
        if matches!(self.caller, Caller::Anonymous) {
            return request;
        }
        let path = request.uri().path().to_owned();
        let is_page = !["/api/", "/health/", "/assets/"].iter().any(|p| path.starts_with(p))
            && !["/login", "/logout", "/setup"].contains(&path.as_str());
        if path.starts_with("/api/v1/") && !request.headers().contains_key(header::AUTHORIZATION) {
            let token = self.token().await;
            request.headers_mut().insert(header::AUTHORIZATION, format!("Bearer {token}").parse().expect("header"));
        } else if is_page {
            let session = self.session().await;
            let existing = request.headers().get(header::COOKIE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
            if !session.is_empty() && !existing.contains("volant_session=") {
                let mut cookies = format!("volant_session={session}; volant_csrf={TEST_CSRF}");
                if !existing.is_empty() {
                    cookies = format!("{existing}; {cookies}");
                }
                request.headers_mut().insert(header::COOKIE, cookies.parse().expect("cookie"));
            }
        }
        request
    }

    /// Sends a request with the client's credentials ([`Self::authorize`]).
    pub async fn send(&self, request: Request<Body>) -> TestResponse {
        let request = self.authorize(request).await;
        send(self.app.router.clone(), request).await
    }

    pub async fn get(&self, uri: &str) -> TestResponse {
        self.send(Request::get(uri).body(Body::empty()).expect("request")).await
    }

    pub async fn delete(&self, uri: &str) -> TestResponse {
        self.send(Request::delete(uri).body(Body::empty()).expect("request")).await
    }

    /// Posts a JSON body.
    pub async fn post(&self, uri: &str, body: &Value) -> TestResponse {
        self.send(json_request(Method::POST, uri, body)).await
    }

    /// Puts a JSON body.
    pub async fn put(&self, uri: &str, body: &Value) -> TestResponse {
        self.send(json_request(Method::PUT, uri, body)).await
    }

    /// Patches with a JSON body.
    pub async fn patch(&self, uri: &str, body: &Value) -> TestResponse {
        self.send(json_request(Method::PATCH, uri, body)).await
    }

    /// Posts an HTML form with the CSRF token a page would have put in it for
    /// this client's session.
    pub async fn post_form(&self, uri: &str, fields: &[(&str, &str)]) -> TestResponse {
        let token = self.app.csrf_for(self.session().await);
        let mut fields = fields.to_vec();
        fields.push(("_csrf", &token));
        let body = serde_urlencoded::to_string(&fields).expect("form");
        let request = Request::post(uri)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .expect("request");
        self.send(request).await
    }
}

/// The CSRF cookie test requests carry (any 64-character nonce); the form token
/// that goes with it depends on the session: [`TestApp::csrf_for`].
pub const TEST_CSRF: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

pub const TEST_PASSWORD: &str = "cheval agrafe batterie correcte";

/// A browser's form post with exactly these cookies (no credentials added).
pub fn form_request(uri: &str, cookies: &str, fields: &[(&str, &str)]) -> Request<Body> {
    Request::post(uri)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, cookies)
        .body(Body::from(serde_urlencoded::to_string(fields).expect("form")))
        .expect("request")
}

pub fn json_request(method: Method, uri: &str, body: &Value) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(serde_json::to_vec(body).expect("json")))
        .expect("request")
}

pub async fn send(router: Router, request: Request<Body>) -> TestResponse {
    let response = router.oneshot(request).await.expect("infallible router");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.expect("body").to_bytes().to_vec();
    TestResponse { status, headers, body }
}

#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl TestResponse {
    /// Asserts the status (showing the body when it differs); returns the response.
    #[track_caller]
    pub fn assert_status(&self, status: StatusCode) -> &Self {
        assert_eq!(self.status, status, "{}", self.text());
        self
    }

    /// Asserts a 2xx answer (a setup write that must not be refused); returns the response.
    #[track_caller]
    pub fn assert_success(&self) -> &Self {
        assert!(self.status.is_success(), "{}: {}", self.status, self.text());
        self
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a problem+json answer with this status and code; returns the document.
    pub fn problem(&self, status: StatusCode, code: &str) -> Value {
        assert_eq!(self.status, status, "{}", self.text());
        assert_eq!(self.header("content-type"), Some("application/problem+json"));
        let body = self.json();
        assert_eq!(body["status"], status.as_u16());
        assert_eq!(body["code"], code, "{body}");
        assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()), "{body}");
        body
    }

    /// The `rel="next"` target of the `Link` header, as a path and query.
    pub fn next_link(&self) -> Option<String> {
        let link = self.header("link")?;
        let start = link.find('<')? + 1;
        let end = link.find('>')?;
        let url = &link[start..end];
        assert!(link.contains("rel=\"next\""), "{link}");
        let path_start = url.find("://").map(|i| i + 3).and_then(|i| url[i..].find('/').map(|j| i + j))?;
        Some(url[path_start..].to_owned())
    }

    /// The fields named in a 422 problem's `errors`.
    pub fn error_fields(&self) -> Vec<String> {
        self.json()["errors"]
            .as_array()
            .map(|errors| errors.iter().filter_map(|e| e["field"].as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    }
}

/// Runs each listed test body (`async fn name(app: TestApp)`) on SQLite, and on
/// PostgreSQL when `TEST_DATABASE_URL` is set: the tests `name::sqlite` and
/// `name::postgres`.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::helpers::TestApp::sqlite().await).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(app) = $crate::helpers::TestApp::postgres().await {
                        super::$name(app).await;
                    }
                }
            }
        )*
    };
}

/// [`backend_tests!`] on an application whose configuration `configure` (a
/// function of the calling module, `fn(&mut Config)`) changed first.
#[macro_export]
macro_rules! configured_tests {
    ($configure:ident; $($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::helpers::TestApp::sqlite_with(super::$configure).await).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(app) = $crate::helpers::TestApp::postgres_with(super::$configure).await {
                        super::$name(app).await;
                    }
                }
            }
        )*
    };
}

/// An e-mail queued for delivery: to whom, about what.
#[derive(Debug, Clone)]
pub struct QueuedEmail {
    pub to: String,
    pub subject: String,
}

/// The organization's latest e-mails (newest first), as the delivery rows hold them.
pub async fn queued_emails(app: &TestApp, limit: u64) -> Vec<QueuedEmail> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
    use volant::notify::outbox::entity;
    entity::Entity::find()
        .filter(entity::Column::OrganizationId.eq(app.org.get()))
        .order_by_desc(entity::Column::Id)
        .limit(limit)
        .all(&app.db)
        .await
        .expect("outbox")
        .into_iter()
        .map(|e| QueuedEmail { to: e.to_address, subject: e.subject })
        .collect()
}
