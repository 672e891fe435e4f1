//! Two-factor sign-in: set up from the profile, asked after the password on the
//! sign-in page and by the API, recovery codes, an organization's requirement and
//! an administrator's reset.

use axum::http::{StatusCode, header};
use serde_json::json;
use volant::identity::roles::Role;
use volant::identity::two_factor;

use crate::helpers::{TEST_CSRF, TEST_PASSWORD, TestApp, TestResponse, form_request};

/// The code an authenticator app shows for `secret` (base32, as the page shows it)
/// `offset` seconds from now.
pub(crate) fn code(secret: &str, offset: i64) -> String {
    let bytes = totp_rs::Secret::try_from_base32(secret.replace(' ', "")).expect("base32");
    let totp = totp_rs::Builder::new().with_secret(bytes.as_ref().to_vec()).build().expect("totp");
    let at = u64::try_from(chrono::Utc::now().timestamp() + offset).expect("time");
    totp.generate(at).to_string()
}

/// The text between `start` and the next `<` of a page.
fn between<'a>(html: &'a str, start: &str) -> &'a str {
    let from = html.find(start).unwrap_or_else(|| panic!("{start} in {html}")) + start.len();
    &html[from..from + html[from..].find('<').expect("end")]
}

/// The value a `Set-Cookie` of the response gives `name`.
fn cookie(response: &TestResponse, name: &str) -> Option<String> {
    response
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix(&format!("{name}=")).map(|rest| rest.split(';').next().unwrap_or("").to_owned()))
}

/// Sets up a second factor for `user` through the service, as the profile page
/// does; answers the secret and the recovery codes.
async fn enable(app: &TestApp, user: &volant::identity::users::service::AuthUser) -> (String, Vec<String>) {
    let enrollment =
        two_factor::enrollment(&app.db, &app.state.cipher, user, "Garage (Volant)").await.expect("enrollment");
    let actor =
        volant::identity::audit::Actor { user_id: Some(user.id), ..volant::identity::audit::Actor::system(user.org) };
    let codes = two_factor::confirm(&app.db, &app.state.cipher, &actor, user, &code(&enrollment.secret, 0))
        .await
        .expect("confirm");
    (enrollment.secret, codes)
}

/// The sign-in page's form, as a browser sends it.
async fn password_step(app: &TestApp, email: &str, password: &str) -> TestResponse {
    let csrf = app.csrf_for("");
    let fields = [("email", email), ("password", password), ("next", "/garages"), ("_csrf", csrf.as_str())];
    app.anonymous().send(form_request("/login", &format!("volant_csrf={TEST_CSRF}"), &fields)).await
}

async fn code_step(app: &TestApp, pending: &str, code: &str) -> TestResponse {
    let csrf = app.csrf_for("");
    let cookies = format!("volant_csrf={TEST_CSRF}; volant_2fa={pending}");
    let fields = [("code", code), ("next", "/garages"), ("_csrf", csrf.as_str())];
    app.anonymous().send(form_request("/login/two-factor", &cookies, &fields)).await
}

/// Each test on SQLite and PostgreSQL, with room for the many sign-ins one person
/// makes here from one address (the limits are `identity_limits`' subject).
macro_rules! two_factor_tests {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                fn roomy(config: &mut volant::platform::config::Config) {
                    config.login_attempts_per_minute = std::num::NonZeroU32::new(60).expect("60");
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name(crate::helpers::TestApp::sqlite_with(roomy).await).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(app) = crate::helpers::TestApp::postgres_with(roomy).await {
                        super::$name(app).await;
                    }
                }
            }
        )*
    };
}

two_factor_tests!(
    a_second_factor_is_set_up_on_the_profile_and_asked_after_the_password,
    the_api_asks_for_the_code_and_personal_tokens_are_not_affected,
    an_organization_can_require_it_of_administrators_and_managers,
    an_administrator_resets_a_lost_second_factor
);

async fn a_second_factor_is_set_up_on_the_profile_and_asked_after_the_password(app: TestApp) {
    let user = app.user("compta@garage.fr", &[Role::Manager]).await;
    let client = app.as_user(&user).await;
    let page = client.get("/profile").await.text();
    assert!(page.contains("Non activée") && page.contains("/profile/two-factor"), "the profile says it is off");
    let setup = client.get("/profile/two-factor").await;
    setup.assert_status(StatusCode::OK);
    let html = setup.text();
    assert!(html.contains("<svg") && html.contains("FreeOTP"), "a QR code and how to use it");
    let secret = between(&html, r#"id="totp-secret">"#).to_owned();
    assert_eq!(secret.replace(' ', "").len(), 32, "160 bits in base32: {secret}");
    // Reloading shows the same secret (the app may already have scanned it).
    assert!(client.get("/profile/two-factor").await.text().contains(&secret));

    let wrong = client.post_form("/profile/two-factor", &[("code", "000000")]).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.text().contains("Ce code ne correspond pas"), "{}", wrong.text());
    assert!(!two_factor::is_enabled(&app.db, user.id).await.expect("status"));
    let first_code = code(&secret, 0);
    let done = client.post_form("/profile/two-factor", &[("code", &first_code)]).await;
    done.assert_status(StatusCode::OK);
    let html = done.text();
    let codes: Vec<String> = html
        .split(r#"<ol class="recovery-codes mono" id="recovery-codes">"#)
        .nth(1)
        .expect("recovery codes shown")
        .split("</ol>")
        .next()
        .expect("list")
        .split("<li>")
        .skip(1)
        .map(|item| item.split("</li>").next().expect("item").to_owned())
        .collect();
    assert_eq!(codes.len(), 10, "{codes:?}");
    assert!(two_factor::is_enabled(&app.db, user.id).await.expect("status"));
    let stored =
        app.as_admin().get(&format!("/api/v1/audit?entity_type=two_factor&entity_id={}", user.id)).await.json();
    assert_eq!(stored[0]["action"], "create", "{stored}");
    assert!(!stored.to_string().contains(&secret.replace(' ', "")), "the secret never reaches the audit trail");

    // Signing in: the password opens no session, it asks for the code.
    let first = password_step(&app, "compta@garage.fr", TEST_PASSWORD).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER);
    assert!(first.header("location").is_some_and(|l| l.starts_with("/login/two-factor")), "{:?}", first.headers);
    assert_eq!(cookie(&first, "volant_session"), None, "no session before the code");
    let pending = cookie(&first, "volant_2fa").expect("the pending sign-in's cookie");
    let form = app
        .anonymous()
        .send(
            axum::http::Request::get("/login/two-factor?next=%2Fgarages")
                .header(header::COOKIE, format!("volant_2fa={pending}"))
                .body(axum::body::Body::empty())
                .expect("request"),
        )
        .await;
    assert!(form.text().contains("one-time-code"), "{}", form.text());
    // The code used to confirm is refused (each time step once); a wrong one too.
    let replayed = code_step(&app, &pending, &first_code).await;
    assert_eq!(replayed.status, StatusCode::UNAUTHORIZED);
    assert!(replayed.text().contains("Code incorrect ou déjà utilisé"));
    assert_eq!(code_step(&app, &pending, "123456").await.status, StatusCode::UNAUTHORIZED);
    // The next step's code (the app one step ahead) signs in.
    let signed_in = code_step(&app, &pending, &code(&secret, 30)).await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER, "{}", signed_in.text());
    assert_eq!(signed_in.header("location"), Some("/garages"));
    let session = cookie(&signed_in, "volant_session").expect("a session");
    assert!(!session.is_empty());
    // The pending sign-in is used up.
    let again = code_step(&app, &pending, &code(&secret, 30)).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    assert_eq!(again.header("location"), Some("/login"));

    // Without the phone: a recovery code, once (typed in capitals, without its dash).
    let second = password_step(&app, "compta@garage.fr", TEST_PASSWORD).await;
    let pending = cookie(&second, "volant_2fa").expect("pending");
    let typed = codes[0].replace('-', "").to_uppercase();
    let recovered = code_step(&app, &pending, &typed).await;
    assert_eq!(recovered.status, StatusCode::SEE_OTHER, "{}", recovered.text());
    let third = password_step(&app, "compta@garage.fr", TEST_PASSWORD).await;
    let pending = cookie(&third, "volant_2fa").expect("pending");
    assert_eq!(code_step(&app, &pending, &codes[0]).await.status, StatusCode::UNAUTHORIZED, "used up");
    let status = two_factor::status(&app.db, user.id).await.expect("status");
    assert_eq!(status.recovery_codes_left, 9);
    let logins = app.as_admin().get(&format!("/api/v1/audit?actor={}&action=login", user.id)).await.json();
    let factors: Vec<&str> =
        logins.as_array().expect("array").iter().filter_map(|r| r["changes"]["second_factor"].as_str()).collect();
    assert_eq!(factors, ["recovery_code", "totp"]);
    let failures = app.as_admin().get("/api/v1/audit?action=login_failed").await.json();
    assert!(failures.to_string().contains("refused"), "{failures}");

    // A pending sign-in takes five codes at most, then the password is asked again.
    let fourth = password_step(&app, "compta@garage.fr", TEST_PASSWORD).await;
    let pending = cookie(&fourth, "volant_2fa").expect("pending");
    for _ in 0..5 {
        assert_eq!(code_step(&app, &pending, "000000").await.status, StatusCode::UNAUTHORIZED);
    }
    let ended = code_step(&app, &pending, &code(&secret, 30)).await;
    assert_eq!(ended.status, StatusCode::SEE_OTHER);
    assert_eq!(ended.header("location"), Some("/login"), "the sixth code is not even checked");
    assert_eq!(cookie(&ended, "volant_session"), None);

    // New codes replace the old ones, asking for the password; so does turning it off.
    let refused = client.post_form("/profile/two-factor/recovery-codes", &[("renew_password", "pas le bon")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let renewed = client.post_form("/profile/two-factor/recovery-codes", &[("renew_password", TEST_PASSWORD)]).await;
    renewed.assert_status(StatusCode::OK);
    assert!(!renewed.text().contains(&codes[1]), "the former codes are void");
    assert_eq!(two_factor::status(&app.db, user.id).await.expect("status").recovery_codes_left, 10);
    let refused = client.post_form("/profile/two-factor/disable", &[("password", "pas le bon")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(two_factor::is_enabled(&app.db, user.id).await.expect("status"));
    let off = client.post_form("/profile/two-factor/disable", &[("password", TEST_PASSWORD)]).await;
    assert_eq!(off.status, StatusCode::SEE_OTHER);
    assert!(!two_factor::is_enabled(&app.db, user.id).await.expect("status"));
    let plain = password_step(&app, "compta@garage.fr", TEST_PASSWORD).await;
    assert!(cookie(&plain, "volant_session").is_some(), "the password alone signs in again");
}

async fn the_api_asks_for_the_code_and_personal_tokens_are_not_affected(app: TestApp) {
    let user = app.user("api@garage.fr", &[Role::Staff]).await;
    let session = app.login("api@garage.fr", TEST_PASSWORD).await;
    let created = app
        .with_token(&session)
        .post("/api/v1/auth/tokens", &json!({ "name": "Intégration", "scopes": ["fleet:read"] }))
        .await
        .json();
    let personal = created["token"].as_str().expect("token").to_owned();
    let (secret, codes) = enable(&app, &user).await;

    let anonymous = app.anonymous();
    let login = |body: serde_json::Value| {
        let anonymous = &anonymous;
        async move { anonymous.post("/api/v1/auth/login", &body).await }
    };
    let missing = login(json!({ "email": "api@garage.fr", "password": TEST_PASSWORD })).await;
    let problem = missing.problem(StatusCode::UNAUTHORIZED, "two_factor_required");
    assert!(problem["detail"].as_str().is_some_and(|d| d.contains("totp_code")), "{problem}");
    login(json!({ "email": "api@garage.fr", "password": TEST_PASSWORD, "totp_code": "000000" }))
        .await
        .problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    // A wrong password with a right code is still a wrong password.
    login(json!({ "email": "api@garage.fr", "password": "mauvais mot de passe", "totp_code": code(&secret, 30) }))
        .await
        .problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    let ok =
        login(json!({ "email": "api@garage.fr", "password": TEST_PASSWORD, "totp_code": code(&secret, 30) })).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text());
    // A code of an earlier step than one already accepted is refused, never used or not.
    login(json!({ "email": "api@garage.fr", "password": TEST_PASSWORD, "totp_code": code(&secret, -30) }))
        .await
        .problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    let token = ok.json()["access_token"].as_str().expect("token").to_owned();
    app.with_token(&token).get("/api/v1/auth/me").await.assert_status(StatusCode::OK);
    let recovered = login(json!({ "email": "api@garage.fr", "password": TEST_PASSWORD, "totp_code": codes[3] })).await;
    assert_eq!(recovered.status, StatusCode::OK, "{}", recovered.text());
    // A personal token is a credential of its own: it keeps working.
    app.with_token(&personal).get("/api/v1/garages").await.assert_status(StatusCode::OK);
}

async fn an_organization_can_require_it_of_administrators_and_managers(app: TestApp) {
    let manager = app.user("chef@garage.fr", &[Role::Manager]).await;
    let staff = app.user("atelier@garage.fr", &[Role::Staff]).await;
    let saved = app.as_admin().patch("/api/v1/organization", &json!({ "require_two_factor": true })).await;
    assert_eq!(saved.json()["require_two_factor"], true);

    // The API refuses a manager without a second factor a token, saying where to set it up.
    let refused = app
        .anonymous()
        .post("/api/v1/auth/login", &json!({ "email": "chef@garage.fr", "password": TEST_PASSWORD }))
        .await;
    let problem = refused.problem(StatusCode::FORBIDDEN, "two_factor_setup_required");
    assert!(problem["detail"].as_str().is_some_and(|d| d.contains("Profil")), "{problem}");
    // Staff are not concerned.
    let fine = app
        .anonymous()
        .post("/api/v1/auth/login", &json!({ "email": "atelier@garage.fr", "password": TEST_PASSWORD }))
        .await;
    assert_eq!(fine.status, StatusCode::OK);
    assert_eq!(app.as_user(&staff).await.get("/garages").await.status, StatusCode::OK);

    // On the web, the manager signs in but every page leads to the set-up first.
    let chef = app.as_user(&manager).await;
    let sent = chef.get("/garages").await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER);
    assert_eq!(sent.header("location"), Some("/profile/two-factor"));
    // Its session's token is no way around the set-up through the API.
    let cookie_token = chef.session().await.to_owned();
    app.with_token(&cookie_token)
        .get("/api/v1/garages")
        .await
        .problem(StatusCode::FORBIDDEN, "two_factor_setup_required");
    let setup = chef.get("/profile/two-factor").await;
    setup.assert_status(StatusCode::OK);
    assert!(setup.text().contains("exige la double authentification"), "it says why");
    let secret = between(&setup.text(), r#"id="totp-secret">"#).to_owned();
    chef.post_form("/profile/two-factor", &[("code", &code(&secret, 0))]).await.assert_status(StatusCode::OK);
    assert_eq!(chef.get("/garages").await.status, StatusCode::OK, "set up: the pages open");
    app.with_token(&cookie_token).get("/api/v1/garages").await.assert_status(StatusCode::OK);
    // Required, it cannot be turned off by its user.
    let off = chef.post_form("/profile/two-factor/disable", &[("password", TEST_PASSWORD)]).await;
    assert_eq!(off.status, StatusCode::FORBIDDEN);
    assert!(two_factor::is_enabled(&app.db, manager.id).await.expect("status"));
}

async fn an_administrator_resets_a_lost_second_factor(app: TestApp) {
    let user = app.user("perdu@garage.fr", &[Role::Staff]).await;
    let old_session = app.login("perdu@garage.fr", TEST_PASSWORD).await;
    enable(&app, &user).await;
    let form = app.as_admin().get(&format!("/admin/users/{}", user.id)).await.text();
    assert!(form.contains("Réinitialiser la double authentification"), "{form}");
    // Another organization's administrator cannot.
    let other = app.other_org().await;
    let foreign = other.post_form(&format!("/admin/users/{}/two-factor/reset", user.id), &[]).await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    assert!(two_factor::is_enabled(&app.db, user.id).await.expect("status"));

    let reset = app.as_admin().post_form(&format!("/admin/users/{}/two-factor/reset", user.id), &[]).await;
    assert_eq!(reset.status, StatusCode::SEE_OTHER, "{}", reset.text());
    assert!(!two_factor::is_enabled(&app.db, user.id).await.expect("status"));
    assert_eq!(two_factor::status(&app.db, user.id).await.expect("status").recovery_codes_left, 0);
    app.with_token(&old_session).get("/api/v1/auth/me").await.assert_status(StatusCode::UNAUTHORIZED);
    let audit = app.as_admin().get(&format!("/api/v1/audit?entity_type=two_factor&entity_id={}", user.id)).await.json();
    assert_eq!(audit[0]["action"], "delete");
    assert!(audit[0].to_string().contains("reset by an administrator"), "{audit}");
    let plain = password_step(&app, "perdu@garage.fr", TEST_PASSWORD).await;
    assert!(cookie(&plain, "volant_session").is_some(), "back in with the password");
    // One's own goes through the profile (and the password), not this button.
    let admin = app.admin().await.id;
    enable(&app, app.admin().await).await;
    let own = app.as_admin().post_form(&format!("/admin/users/{admin}/two-factor/reset"), &[]).await;
    assert_eq!(own.status, StatusCode::SEE_OTHER);
    assert!(two_factor::is_enabled(&app.db, admin).await.expect("status"), "not reset");
}
