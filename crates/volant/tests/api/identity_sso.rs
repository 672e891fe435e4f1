//! Single sign-on against a real OpenID provider started on loopback (the
//! certified `oidc-provider` package, `e2e/oidc/provider.mjs`): discovery, the
//! code flow with PKCE, accounts made or linked, roles from a claim, and the
//! refusals (a state not this browser's, a tampered or replayed ID token, an
//! unverified e-mail, an e-mail outside the domains, someone not invited, an
//! account of another organization). The test walks the browser's redirects itself.

use std::collections::BTreeMap;
use std::path::PathBuf;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use volant::identity::roles::Role;

use crate::helpers::{TEST_CSRF, TestApp, TestResponse, form_request};

/// Each test on SQLite and PostgreSQL, identity providers allowed on loopback.
macro_rules! sso_tests {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                fn loopback(config: &mut volant::platform::config::Config) {
                    config.sso_allow_private_hosts = true;
                    // Each sign-in's start counts as an attempt from the test's address.
                    config.login_attempts_per_minute = std::num::NonZeroU32::new(1000).expect("non-zero");
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name(crate::helpers::TestApp::sqlite_with(loopback).await).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(app) = crate::helpers::TestApp::postgres_with(loopback).await {
                        super::$name(app).await;
                    }
                }
            }
        )*
    };
}

crate::backend_tests!(starting_a_single_sign_on_counts_as_a_sign_in_attempt);

async fn starting_a_single_sign_on_counts_as_a_sign_in_attempt(app: TestApp) {
    let csrf = app.csrf_for("");
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let answer = app
            .anonymous()
            .send(form_request(
                "/login/sso",
                &format!("volant_csrf={TEST_CSRF}"),
                &[("email", "jean@garage-inconnu.fr"), ("_csrf", &csrf)],
            ))
            .await;
        statuses.push(answer.status);
    }
    assert_eq!(statuses[..5], [StatusCode::UNPROCESSABLE_ENTITY; 5], "no provider for this domain");
    assert_eq!(statuses[5], StatusCode::TOO_MANY_REQUESTS, "the sixth in a minute waits");
}

sso_tests!(
    claim_roles_make_accounts_and_keep_them_up_to_date,
    invited_only_lets_in_people_already_invited,
    tampered_and_replayed_id_tokens_are_refused,
    the_answer_must_come_back_to_the_browser_that_asked,
    settings_are_checked_and_kept_to_their_organization,
    the_pages_configure_and_offer_single_sign_on,
);

/// The organization's callback address, as the tests' application sees it
/// (`VOLANT_PUBLIC_URL` unset).
fn redirect_uri(app: &TestApp) -> String {
    let key = volant::identity::sso::callback_key(&app.signing_key, app.org).expect("key");
    format!("http://localhost/login/sso/callback/{key}")
}

/// The provider, running while this lives.
struct Provider {
    issuer: String,
    client_id: String,
    client_secret: String,
    http: reqwest::Client,
    _process: tokio::process::Child,
}

impl Provider {
    /// Starts the provider and registers Volant as a client of it (RFC 7591), with
    /// the app's organization's callback address; `None` where it is not installed
    /// (`npm ci` in `e2e/`), except in CI.
    async fn start(app: &TestApp) -> Option<Self> {
        let e2e = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../e2e");
        if !e2e.join("node_modules/oidc-provider").is_dir() {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must install the OpenID provider (npm ci in e2e/): single sign-on tests may not be skipped"
            );
            eprintln!("skipped: the OpenID provider is not installed (npm ci in e2e/)");
            return None;
        }
        let mut process = tokio::process::Command::new("node")
            .arg(e2e.join("oidc/provider.mjs"))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("node runs the provider");
        let stdout = process.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let issuer = tokio::time::timeout(std::time::Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await.expect("provider output") {
                if let Some(url) = line.strip_prefix("issuer ") {
                    return url.to_owned();
                }
            }
            panic!("the provider stopped before listening");
        })
        .await
        .expect("the provider listens within 30 s");
        // The provider writes on: its output is read to the end (a closed pipe would stop it).
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
        let registered: Value = http
            .post(format!("{issuer}/reg"))
            .json(&json!({ "redirect_uris": [redirect_uri(app)], "client_name": "Volant" }))
            .send()
            .await
            .expect("registration")
            .json()
            .await
            .expect("registration's answer");
        Some(Self {
            client_id: registered["client_id"].as_str().expect("client_id").to_owned(),
            client_secret: registered["client_secret"].as_str().expect("client_secret").to_owned(),
            issuer,
            http,
            _process: process,
        })
    }

    /// The settings of this provider, with roles from the `groups` claim.
    fn claim_settings(&self) -> Value {
        json!({
            "issuer": self.issuer,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "domains": ["Garage-SSO.fr"],
            "role_source": "claim",
            "role_claim": "groups",
            "role_map": [
                { "value": "chefs-atelier", "role": "manager" },
                { "value": "mecaniciens", "role": "staff" }
            ]
        })
    }

    /// The settings page's form filled for this provider, roles from `groups`:
    /// `domains` as typed, each mapping row's value and role (`""` for none).
    fn form<'a>(&'a self, domains: &'a str, mappings: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        let mut fields = vec![
            ("issuer", self.issuer.as_str()),
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.client_secret.as_str()),
            ("domains", domains),
            ("role_source", "claim"),
            ("role_claim", "groups"),
            ("enabled", "true"),
        ];
        for (value, role) in mappings {
            fields.extend([("map_value", *value), ("map_role", *role)]);
        }
        fields
    }

    fn claim_settings_without_secret(&self) -> Value {
        let mut settings = self.claim_settings();
        settings.as_object_mut().expect("object").remove("client_secret");
        settings
    }

    async fn test_switch(&self, path: &str, value: &str) {
        let answer =
            self.http.post(format!("{}{path}", self.issuer)).body(value.to_owned()).send().await.expect("switch");
        assert!(answer.status().is_success());
    }
}

/// A browser's sign-in through the provider: the sign-in page's button with
/// `email`, the provider's redirects (its cookies kept), then Volant's callback
/// with the state cookie `keep_state` says to send. Answers the callback's response
/// and the callback's path.
async fn sign_in(app: &TestApp, provider: &Provider, email: &str, keep_state: bool) -> (TestResponse, String) {
    let csrf = app.csrf_for("");
    let started = app
        .anonymous()
        .send(form_request(
            "/login/sso",
            &format!("volant_csrf={TEST_CSRF}"),
            &[("email", email), ("next", "/vehicles"), ("_csrf", &csrf)],
        ))
        .await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.text());
    let state = started
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("volant_sso="))
        .and_then(|c| c.split(';').next())
        .expect("the state's cookie")
        .to_owned();
    // A page that goes on to the provider (a form's redirect elsewhere would break
    // the page's `form-action 'self'`).
    let page = started.text();
    let href = page.split(r#"id="sso-continue" href=""#).nth(1).and_then(|r| r.split('"').next()).expect("link");
    let mut location = href.replace("&#38;", "&").replace("&amp;", "&");
    assert!(page.contains(&format!(r#"content="0; url={href}""#)), "the page goes on by itself");
    assert!(location.starts_with(&format!("{}/auth?", provider.issuer)), "{location}");
    for wanted in ["code_challenge_method=S256", "login_hint=", "scope=openid", "nonce=", "state="] {
        assert!(location.contains(wanted), "{wanted} in {location}");
    }
    let mut jar: BTreeMap<String, String> = BTreeMap::new();
    let callback = redirect_uri(app);
    for _ in 0..10 {
        if location.starts_with(&callback) {
            let path = location.trim_start_matches("http://localhost").to_owned();
            let mut cookies = format!("volant_csrf={TEST_CSRF}");
            if keep_state {
                cookies.push_str(&format!("; volant_sso={state}"));
            }
            let request =
                Request::get(&path).header(header::COOKIE, cookies).body(Body::empty()).expect("callback request");
            return (app.anonymous().send(request).await, path);
        }
        let cookie = jar.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
        let answer = provider.http.get(&location).header(header::COOKIE, cookie).send().await.expect("provider");
        for set in answer.headers().get_all(header::SET_COOKIE) {
            let pair = set.to_str().expect("cookie").split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                jar.insert(name.to_owned(), value.to_owned());
            }
        }
        let next = answer.headers().get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or_default();
        assert!(!next.is_empty(), "the provider stopped at {location}: {}", answer.status());
        location = url::Url::parse(&location).expect("url").join(next).expect("location").to_string();
    }
    panic!("more than ten redirects at the provider");
}

async fn user_roles(app: &TestApp, email: &str) -> Option<Vec<Role>> {
    let found = volant::identity::users::entity::Entity::find()
        .filter(volant::identity::users::entity::Column::EmailNormalized.eq(email))
        .one(&app.db)
        .await
        .expect("query")?;
    let user = volant::identity::users::service::find_active(&app.db, found.id).await.expect("query")?;
    Some(user.roles)
}

fn session_cookie(response: &TestResponse) -> Option<String> {
    response
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("volant_session="))
        .and_then(|c| c.split(';').next())
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
}

/// A refused sign-in as the browser sees it: back to the sign-in page, no
/// session, and the page saying why.
async fn assert_refused(app: &TestApp, response: &TestResponse, message: &str) {
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.text());
    assert_eq!(response.header("location"), Some("/login"));
    assert!(session_cookie(response).is_none(), "no session for a refused sign-in");
    let flash = response
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("volant_flash="))
        .and_then(|c| c.split(';').next())
        .expect("a message for the sign-in page")
        .to_owned();
    let page = app
        .anonymous()
        .send(Request::get("/login").header(header::COOKIE, flash).body(Body::empty()).expect("request"))
        .await;
    assert!(page.text().contains(message), "«{message}» in {}", page.text());
}

async fn refusals_recorded(app: &TestApp) -> Vec<String> {
    let rows = volant::identity::audit::entity::Entity::find()
        .filter(volant::identity::audit::entity::Column::Action.eq("login_failed"))
        .filter(volant::identity::audit::entity::Column::OrganizationId.eq(app.org.get()))
        .all(&app.db)
        .await
        .expect("audit");
    rows.into_iter().filter_map(|r| r.changes).collect()
}

async fn claim_roles_make_accounts_and_keep_them_up_to_date(app: TestApp) {
    let Some(provider) = Provider::start(&app).await else { return };
    let admin = app.as_admin();
    let saved = admin.put("/api/v1/sso", &provider.claim_settings()).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.text());
    let body = saved.json();
    assert_eq!(body["domains"], json!(["garage-sso.fr"]));
    assert_eq!(body["has_client_secret"], json!(true));
    assert_eq!(body["redirect_uri"], json!(redirect_uri(&app)));
    assert!(!saved.text().contains(&provider.client_secret), "the secret is never shown");

    // Ana's groups make her a manager, at her first sign-in.
    let (answer, _) = sign_in(&app, &provider, "ana@garage-sso.fr", true).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.text());
    assert_eq!(answer.header("location"), Some("/vehicles"));
    let session = session_cookie(&answer).expect("a session");
    assert_eq!(user_roles(&app, "ana@garage-sso.fr").await, Some(vec![Role::Manager]));
    let page = app
        .anonymous()
        .send(
            Request::get("/vehicles")
                .header(header::COOKIE, format!("volant_session={session}"))
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "the session opens the pages");
    assert!(page.text().contains("Ana Martin"), "her name from the provider");

    // The mapping changes: her next sign-in brings her roles up to date.
    let mut settings = provider.claim_settings();
    settings["role_map"] = json!([{ "value": "chefs-atelier", "role": "staff" }]);
    settings.as_object_mut().expect("object").remove("client_secret");
    admin.put("/api/v1/sso", &settings).await.assert_success();
    let (again, _) = sign_in(&app, &provider, "ana@garage-sso.fr", true).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.text());
    assert_eq!(user_roles(&app, "ana@garage-sso.fr").await, Some(vec![Role::Staff]));

    // Her group no longer gives a role: refused, and her account closed (sessions end).
    settings["role_map"] = json!([{ "value": "mecaniciens", "role": "staff" }]);
    admin.put("/api/v1/sso", &settings).await.assert_success();
    let (dropped, _) = sign_in(&app, &provider, "ana@garage-sso.fr", true).await;
    assert_refused(&app, &dropped, "ne donne aucun rôle dans Volant").await;
    assert_eq!(user_roles(&app, "ana@garage-sso.fr").await, None, "deactivated");
    let after = app
        .anonymous()
        .send(
            Request::get("/vehicles")
                .header(header::COOKIE, format!("volant_session={session}"))
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(after.status, StatusCode::SEE_OTHER, "her session ended");
    admin.put("/api/v1/sso", &provider.claim_settings_without_secret()).await.assert_success();

    // Zoé is in no mapped group: no account, no session.
    let (zoe, _) = sign_in(&app, &provider, "zoe@garage-sso.fr", true).await;
    assert_refused(&app, &zoe, "ne donne aucun rôle dans Volant").await;
    assert_eq!(user_roles(&app, "zoe@garage-sso.fr").await, None);
    // Léa's provider does not vouch for her address.
    let (lea, _) = sign_in(&app, &provider, "lea@garage-sso.fr", true).await;
    assert_refused(&app, &lea, "ne confirme pas votre adresse e-mail").await;
    assert_eq!(user_roles(&app, "lea@garage-sso.fr").await, None);
    // Someone signed in at the provider as Eve, outside the organization's domains.
    provider.test_switch("/test/as", "eve").await;
    let (eve, _) = sign_in(&app, &provider, "bruno@garage-sso.fr", true).await;
    assert_refused(&app, &eve, "pas aux domaines de cette organisation").await;
    assert_eq!(user_roles(&app, "eve@ailleurs.example").await, None);

    // A claim that does not arrive (misspelt here) refuses without closing anything.
    let (bruno, _) = sign_in(&app, &provider, "bruno@garage-sso.fr", true).await;
    assert_eq!(bruno.status, StatusCode::SEE_OTHER, "{}", bruno.text());
    let mut misspelt = provider.claim_settings_without_secret();
    misspelt["role_claim"] = json!("groupes");
    admin.put("/api/v1/sso", &misspelt).await.assert_success();
    let (missing, _) = sign_in(&app, &provider, "bruno@garage-sso.fr", true).await;
    assert_refused(&app, &missing, "ne donne aucun rôle dans Volant").await;
    assert_eq!(user_roles(&app, "bruno@garage-sso.fr").await, Some(vec![Role::Staff]), "still active, still staff");

    let recorded = refusals_recorded(&app).await;
    for reason in ["no_role", "email_unverified", "domain_refused"] {
        assert!(recorded.iter().any(|r| r.contains(reason)), "{reason} in the audit trail: {recorded:?}");
    }
}

async fn invited_only_lets_in_people_already_invited(app: TestApp) {
    let Some(provider) = Provider::start(&app).await else { return };
    let mut settings = provider.claim_settings();
    settings["role_source"] = json!("invited");
    app.as_admin().put("/api/v1/sso", &settings).await.assert_success();

    let (bruno, _) = sign_in(&app, &provider, "bruno@garage-sso.fr", true).await;
    assert_refused(&app, &bruno, "demandez une invitation").await;
    assert_eq!(user_roles(&app, "bruno@garage-sso.fr").await, None);

    // Invited as an instructor: the provider's groups change nothing.
    app.user("Bruno@Garage-SSO.fr", &[Role::Instructor]).await;
    let (first, _) = sign_in(&app, &provider, "bruno@garage-sso.fr", true).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.text());
    assert!(session_cookie(&first).is_some());
    assert_eq!(user_roles(&app, "bruno@garage-sso.fr").await, Some(vec![Role::Instructor]));
    let links = volant::identity::sso::identity::Entity::find().all(&app.db).await.expect("links");
    assert_eq!(links.len(), 1, "the provider's account is linked to the user");
    assert_eq!(links[0].subject, "bruno");
    // Two first sign-ins of a colleague at once (two browsers): both open, one link.
    app.user("zoe@garage-sso.fr", &[Role::Staff]).await;
    let (_, one) = sign_in(&app, &provider, "zoe@garage-sso.fr", false).await;
    let (_, two) = sign_in(&app, &provider, "zoe@garage-sso.fr", false).await;
    let state_of =
        |path: &str| path.split("state=").nth(1).and_then(|s| s.split('&').next()).expect("state").to_owned();
    let (browser, twin) = (app.anonymous(), app.anonymous());
    let (a, b) = tokio::join!(browser.send(back_to(&one, &state_of(&one))), twin.send(back_to(&two, &state_of(&two))));
    for answer in [&a, &b] {
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.text());
        assert!(session_cookie(answer).is_some(), "both open");
    }
    let zoe_links = volant::identity::sso::identity::Entity::find()
        .filter(volant::identity::sso::identity::Column::Subject.eq("zoe"))
        .all(&app.db)
        .await
        .expect("links");
    assert_eq!(zoe_links.len(), 1);

    // Linked: the second sign-in finds him by the provider's subject.
    let (second, _) = sign_in(&app, &provider, "bruno@garage-sso.fr", true).await;
    assert_eq!(second.status, StatusCode::SEE_OTHER);

    // Ana's address belongs to another organization's user: never through this provider.
    let theirs = app.other_org().await.org().await;
    let new = volant::identity::users::service::NewUser {
        email: "ana@garage-sso.fr".into(),
        display_name: "Ana d'ailleurs".into(),
        password: crate::helpers::TEST_PASSWORD.into(),
        roles: vec![Role::Admin],
    };
    volant::identity::users::service::create(&app.db, theirs, new).await.expect("their user");
    let (ana, _) = sign_in(&app, &provider, "ana@garage-sso.fr", true).await;
    assert_refused(&app, &ana, "ne peut pas se connecter par ce fournisseur").await;

    // The instance's operator neither, whatever their address (an organization's
    // administrator cannot hand that account to a provider they chose).
    volant::identity::users::service::set_operator(&app.db, bruno_of(&app).await, true).await.expect("operator");
    let (operator_refused, _) = sign_in(&app, &provider, "bruno@garage-sso.fr", true).await;
    assert_refused(&app, &operator_refused, "ne peut pas se connecter par ce fournisseur").await;
    volant::identity::users::service::set_operator(&app.db, bruno_of(&app).await, false).await.expect("operator");

    // Someone with a second factor gives it after the provider, as after a password.
    let bruno = volant::identity::users::service::find_active(&app.db, bruno_of(&app).await)
        .await
        .expect("query")
        .expect("bruno");
    let enrollment = volant::identity::two_factor::enrollment(&app.db, &app.state.cipher, &bruno, "Garage")
        .await
        .expect("enrollment");
    let code = crate::identity_two_factor::code(&enrollment.secret, 0);
    let actor = volant::identity::audit::Actor::system(app.org);
    volant::identity::two_factor::confirm(&app.db, &app.state.cipher, &actor, &bruno, &code).await.expect("confirmed");
    let (asked, _) = sign_in(&app, &provider, "bruno@garage-sso.fr", true).await;
    assert_eq!(asked.status, StatusCode::SEE_OTHER, "{}", asked.text());
    assert!(asked.header("location").is_some_and(|l| l.starts_with("/login/two-factor")), "{:?}", asked.headers);
    assert!(session_cookie(&asked).is_none(), "no session before the code");

    // A deactivated colleague neither.
    let bruno_id = bruno_of(&app).await;
    app.as_admin().patch(&format!("/api/v1/users/{bruno_id}"), &json!({ "active": false })).await.assert_success();
    let (gone, _) = sign_in(&app, &provider, "bruno@garage-sso.fr", true).await;
    assert_refused(&app, &gone, "ne peut pas se connecter par ce fournisseur").await;
}

async fn tampered_and_replayed_id_tokens_are_refused(app: TestApp) {
    let Some(provider) = Provider::start(&app).await else { return };
    app.as_admin().put("/api/v1/sso", &provider.claim_settings()).await.assert_success();
    let (first, _) = sign_in(&app, &provider, "bruno@garage-sso.fr", true).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.text());

    // The payload altered after signing (another e-mail): the signature no longer holds.
    provider.test_switch("/test/tamper", "signature").await;
    let (tampered, _) = sign_in(&app, &provider, "bruno@garage-sso.fr", true).await;
    assert_refused(&app, &tampered, "pas pu être vérifiée").await;
    assert_eq!(user_roles(&app, "admin@garage-sso.fr").await, None);

    // A genuine ID token of an earlier sign-in: its nonce is not this one's.
    provider.test_switch("/test/tamper", "replay").await;
    let (replayed, _) = sign_in(&app, &provider, "bruno@garage-sso.fr", true).await;
    assert_refused(&app, &replayed, "pas pu être vérifiée").await;
    let recorded = refusals_recorded(&app).await;
    assert_eq!(recorded.iter().filter(|r| r.contains("token_invalid")).count(), 2, "{recorded:?}");
}

async fn the_answer_must_come_back_to_the_browser_that_asked(app: TestApp) {
    let Some(provider) = Provider::start(&app).await else { return };
    app.as_admin().put("/api/v1/sso", &provider.claim_settings()).await.assert_success();
    // The provider's answer opened in another browser (no state cookie): refused,
    // and the pending sign-in is not spent by it.
    let (elsewhere, path) = sign_in(&app, &provider, "ana@garage-sso.fr", false).await;
    assert_refused(&app, &elsewhere, "pas été commencée dans ce navigateur").await;
    let state = path.split("state=").nth(1).and_then(|s| s.split('&').next()).expect("state").to_owned();
    // Used once: the same answer twice at once opens one session.
    let (browser, twin) = (app.anonymous(), app.anonymous());
    let (one, two) = tokio::join!(browser.send(back_to(&path, &state)), twin.send(back_to(&path, &state)));
    let places = [one.header("location"), two.header("location")];
    assert!(places.contains(&Some("/vehicles")) && places.contains(&Some("/login")), "{places:?}");
    assert_eq!(usize::from(session_cookie(&one).is_some()) + usize::from(session_cookie(&two).is_some()), 1);
    let again = app.anonymous().send(back_to(&path, &state)).await;
    assert_refused(&app, &again, "a expiré").await;
    // An answer brought to another provider's address (a provider mixing up its
    // clients' answers) is refused.
    let (_, path) = sign_in(&app, &provider, "ana@garage-sso.fr", false).await;
    let state = path.split("state=").nth(1).and_then(|s| s.split('&').next()).expect("state").to_owned();
    let elsewhere = path
        .replace(&redirect_uri(&app).replace("http://localhost", ""), "/login/sso/callback/0123456789abcdef01234567");
    let mixed = app.anonymous().send(back_to(&elsewhere, &state)).await;
    assert_refused(&app, &mixed, "a expiré").await;
    // A provider's error (the person cancelled) is said as such.
    let (_, path) = sign_in(&app, &provider, "nobody@garage-sso.fr", false).await;
    assert!(path.contains("error=access_denied"), "{path}");
    let state = path.split("state=").nth(1).and_then(|s| s.split('&').next()).expect("state").to_owned();
    let cancelled = app.anonymous().send(back_to(&path, &state)).await;
    assert_refused(&app, &cancelled, "pas accordé la connexion").await;
}

async fn bruno_of(app: &TestApp) -> i64 {
    volant::identity::users::entity::Entity::find()
        .filter(volant::identity::users::entity::Column::EmailNormalized.eq("bruno@garage-sso.fr"))
        .one(&app.db)
        .await
        .expect("query")
        .expect("bruno")
        .id
}

fn sorted(mut fields: Vec<String>) -> Vec<String> {
    fields.sort();
    fields
}

fn back_to(path: &str, state: &str) -> Request<Body> {
    Request::get(path).header(header::COOKIE, format!("volant_sso={state}")).body(Body::empty()).expect("request")
}

async fn settings_are_checked_and_kept_to_their_organization(app: TestApp) {
    let admin = app.as_admin();
    admin.get("/api/v1/sso").await.problem(StatusCode::NOT_FOUND, "not_found");
    let empty = admin.put("/api/v1/sso", &json!({})).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(sorted(empty.error_fields()), ["client_id", "client_secret", "domains", "issuer"]);
    let unreachable = admin
        .put(
            "/api/v1/sso",
            &json!({ "issuer": "http://127.0.0.1:9", "client_id": "v", "client_secret": "s", "domains": ["garage.fr"] }),
        )
        .await;
    assert_eq!(unreachable.error_fields(), ["issuer"], "{}", unreachable.text());
    assert!(unreachable.text().contains("Le fournisseur ne répond pas à cette adresse"), "{}", unreachable.text());
    let wrong = admin
        .put(
            "/api/v1/sso",
            &json!({ "issuer": "ftp://idp.example", "client_id": "v", "client_secret": "s",
                     "domains": ["pas un domaine"], "role_source": "claim", "role_claim": "groups",
                     "role_map": [{ "value": "profs", "role": "instructor" }] }),
        )
        .await;
    assert_eq!(sorted(wrong.error_fields()), ["domains", "issuer", "role_map"], "{}", wrong.text());
    assert!(wrong.text().contains("administrateur, gérant ou atelier"), "{}", wrong.text());
    let public = admin
        .put(
            "/api/v1/sso",
            &json!({ "issuer": "https://idp.example", "client_id": "v", "client_secret": "s", "domains": ["Gmail.com"] }),
        )
        .await;
    assert!(public.text().contains("messagerie publique"), "{}", public.text());

    let Some(provider) = Provider::start(&app).await else { return };
    admin.put("/api/v1/sso", &provider.claim_settings()).await.assert_success();
    // Another organization sees none of it, cannot take its domain, cannot remove it.
    let them = app.other_org().await;
    them.get("/api/v1/sso").await.problem(StatusCode::NOT_FOUND, "not_found");
    them.delete("/api/v1/sso").await.problem(StatusCode::NOT_FOUND, "not_found");
    let taken = them.put("/api/v1/sso", &provider.claim_settings()).await;
    let problem = taken.problem(StatusCode::CONFLICT, "sso_domain_taken");
    assert!(problem["detail"].as_str().is_some_and(|d| d.contains("garage-sso.fr")), "{problem}");
    assert_eq!(admin.get("/api/v1/sso").await.json()["domains"], json!(["garage-sso.fr"]));
    // The secret is stored encrypted.
    let row = volant::identity::sso::provider::Entity::find().one(&app.db).await.expect("query").expect("row");
    assert!(row.client_secret.starts_with("v1:") && !row.client_secret.contains(&provider.client_secret));
    // A key rotation re-encrypts it (`volant reencrypt-fields`).
    let old = "test:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    let spec = format!("{},{old}", volant::platform::crypto::FieldCipher::generate_spec().expect("key"));
    let rotated = volant::platform::crypto::FieldCipher::from_spec(&spec).expect("keys");
    assert_eq!(volant::identity::sso::reencrypt_all(&app.db, &rotated).await.expect("re-encrypted"), 1);
    assert_eq!(volant::identity::sso::reencrypt_all(&app.db, &rotated).await.expect("again"), 0);
    let row = volant::identity::sso::provider::Entity::find().one(&app.db).await.expect("query").expect("row");
    let read = rotated.decrypt("sso_providers/client_secret", &row.client_secret).expect("decrypts");
    assert_eq!(read, provider.client_secret);
    // Removed: the domain is free, people sign in with passwords again.
    assert_eq!(admin.delete("/api/v1/sso").await.status, StatusCode::NO_CONTENT);
    admin.get("/api/v1/sso").await.problem(StatusCode::NOT_FOUND, "not_found");
    let changes = volant::identity::audit::entity::Entity::find()
        .filter(volant::identity::audit::entity::Column::EntityType.eq("single_sign_on"))
        .all(&app.db)
        .await
        .expect("audit");
    let actions: Vec<&str> = changes.iter().map(|c| c.action.as_str()).collect();
    assert_eq!(actions, ["create", "delete"]);
}

async fn the_pages_configure_and_offer_single_sign_on(app: TestApp) {
    let admin = app.as_admin();
    let login = app.anonymous().get("/login").await;
    assert!(!login.text().contains("sign-in-sso"), "no button while no organization has single sign-on");
    let page = admin.get("/admin/sso").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains(&redirect_uri(&app)), "the address to register is shown");
    let Some(provider) = Provider::start(&app).await else { return };
    // A value without its role is named, nothing saved.
    let refused =
        admin.post_form("/admin/sso", &provider.form("garage-sso.fr\natelier-sso.fr", &[("chefs-atelier", "")])).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().contains("Choisissez un rôle"), "{}", refused.text());
    assert!(refused.text().contains("Le formulaire contient des erreurs"), "a summary at the top");
    assert!(refused.text().contains("Saisissez de nouveau le secret client"), "the secret typed is asked again");
    assert!(!refused.text().contains(&provider.client_secret), "and never sent back");
    // Every mistake at once: the value without its role and a public domain.
    let both = admin.post_form("/admin/sso", &provider.form("gmail.com", &[("chefs-atelier", "")])).await;
    assert!(
        both.text().contains("Choisissez un rôle") && both.text().contains("messagerie publique"),
        "{}",
        both.text()
    );
    let saved = admin
        .post_form(
            "/admin/sso",
            &provider.form("garage-sso.fr\natelier-sso.fr", &[("chefs-atelier", "manager"), ("", "")]),
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
    let shown = admin.get("/admin/sso").await.text();
    assert!(shown.contains("atelier-sso.fr") && shown.contains("chefs-atelier"));
    assert!(!shown.contains(&provider.client_secret), "the secret is never shown again");
    assert!(shown.contains("Un secret est enregistré"));
    // The sign-in page offers it; an address no provider covers is told so.
    assert!(app.anonymous().get("/login").await.text().contains("sign-in-sso"));
    let csrf = app.csrf_for("");
    let elsewhere = app
        .anonymous()
        .send(form_request(
            "/login/sso",
            &format!("volant_csrf={TEST_CSRF}"),
            &[("email", "jean@ailleurs.example"), ("_csrf", &csrf)],
        ))
        .await;
    assert_eq!(elsewhere.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(elsewhere.text().contains("Aucune authentification unique ne couvre"));
    assert!(elsewhere.text().contains("jean@ailleurs.example"), "the address stays typed");
    let empty = app
        .anonymous()
        .send(form_request("/login/sso", &format!("volant_csrf={TEST_CSRF}"), &[("email", ""), ("_csrf", &csrf)]))
        .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(empty.text().contains("Saisissez votre adresse e-mail professionnelle"), "{}", empty.text());
}
