//! Sign-in for people: login, logout, setup, CSRF, and pages behind the role matrix.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use volant::identity::roles::Role;

use crate::backend_tests;
use crate::helpers::{TEST_CSRF, TEST_PASSWORD, TestApp, TestResponse, form_request};

const EMAIL: &str = "accueil@garage-centre.fr";

/// The form token a page shows to a browser holding these cookies.
fn token_for(app: &TestApp, cookies: &str) -> String {
    let session = cookies.split("; ").find_map(|c| c.strip_prefix("volant_session=")).unwrap_or("");
    app.csrf_for(session)
}

/// The one-time setup form, sent by a browser: a garage and its first administrator.
fn setup_request(app: &TestApp, admin_name: &str, admin_email: &str, password: &str) -> Request<Body> {
    let csrf = format!("volant_csrf={TEST_CSRF}");
    let fields = [
        ("name", "Garage du Centre"),
        ("kind", "garage"),
        ("address", "12 rue de la Paix\r\n69002 Lyon"),
        ("currency", "EUR"),
        ("time_zone", "Europe/Paris"),
        ("admin_name", admin_name),
        ("admin_email", admin_email),
        ("password", password),
        ("_csrf", &token_for(app, &csrf)),
    ];
    form_request("/setup", &csrf, &fields)
}

fn get(uri: &str, cookies: &str) -> Request<Body> {
    Request::get(uri).header(header::COOKIE, cookies).body(Body::empty()).expect("request")
}

/// The `name=value` of a `Set-Cookie` for `name`, and its attributes.
fn set_cookie<'a>(response: &'a TestResponse, name: &str) -> Option<&'a str> {
    response
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(&format!("{name}=")))
}

fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().expect("pair").to_owned()
}

async fn sign_in(app: &TestApp, email: &str) -> String {
    let csrf = format!("volant_csrf={TEST_CSRF}");
    let response = app
        .anonymous()
        .send(form_request(
            "/login",
            &csrf,
            &[("email", email), ("password", TEST_PASSWORD), ("next", "/vehicles"), ("_csrf", &app.csrf_for(""))],
        ))
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.text());
    assert_eq!(response.header("location"), Some("/vehicles"));
    let session = set_cookie(&response, "volant_session").expect("session cookie");
    assert!(session.contains("HttpOnly") && session.contains("SameSite=Lax"), "{session}");
    format!("{}; {csrf}", cookie_pair(session))
}

backend_tests!(
    pages_send_strangers_to_the_login_page_and_back,
    a_wrong_password_shows_the_form_again,
    forms_without_the_csrf_token_are_refused,
    logout_ends_the_session,
    pages_obey_the_role_matrix,
    the_setup_page_creates_the_first_admin_once,
    next_cannot_leave_the_site_and_forged_https_is_ignored,
    a_session_cookie_does_not_open_the_api_nor_a_token_the_pages
);

async fn pages_send_strangers_to_the_login_page_and_back(app: TestApp) {
    app.user(EMAIL, &[Role::Manager]).await;
    let response = app.anonymous().send(get("/garages?q=x", "")).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(response.header("location"), Some("/login?next=%2Fgarages%3Fq%3Dx"));
    let login = app.anonymous().send(get("/login?next=%2Fgarages", "")).await;
    assert_eq!(login.status, StatusCode::OK);
    assert!(login.text().contains("name=\"_csrf\""));
    assert!(set_cookie(&login, "volant_csrf").is_some(), "a CSRF cookie is handed out");

    let cookies = sign_in(&app, EMAIL).await;
    let page = app.anonymous().send(get("/vehicles", &cookies)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("Jeanne Martin") && page.text().contains("Se déconnecter"));
}

async fn a_wrong_password_shows_the_form_again(app: TestApp) {
    app.user(EMAIL, &[Role::Manager]).await;
    let csrf = format!("volant_csrf={TEST_CSRF}");
    let response = app
        .anonymous()
        .send(form_request(
            "/login",
            &csrf,
            &[("email", EMAIL), ("password", "pas le bon mot de passe"), ("_csrf", &token_for(&app, &csrf))],
        ))
        .await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    assert!(response.text().contains("Adresse e-mail ou mot de passe incorrect."));
    assert!(set_cookie(&response, "volant_session").is_none());
    assert!(response.text().contains(&format!("value=\"{EMAIL}\"")), "e-mail kept");
}

async fn forms_without_the_csrf_token_are_refused(app: TestApp) {
    let cookies = sign_in_admin(&app).await;
    for fields in [
        vec![("name", "Pirate"), ("address", "Ailleurs")],
        vec![("name", "Pirate"), ("address", "Ailleurs"), ("_csrf", "f00d")],
    ] {
        let response = app.anonymous().send(form_request("/garages", &cookies, &fields)).await;
        assert_eq!(response.status, StatusCode::FORBIDDEN, "{fields:?}");
        assert!(response.text().contains("Accès refusé"));
    }
    // Without the cookie, even a matching field is refused.
    let session_only = cookies.split("; ").next().expect("session").to_owned();
    let response = app
        .anonymous()
        .send(form_request(
            "/garages",
            &session_only,
            &[("name", "P"), ("address", "A"), ("_csrf", &token_for(&app, &session_only))],
        ))
        .await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.as_admin().get("/api/v1/garages").await.json().as_array().expect("array").len(),
        0,
        "nothing was created"
    );
    let with_token = app
        .anonymous()
        .send(form_request(
            "/garages",
            &cookies,
            &[("name", "Vrai"), ("address", "Ici"), ("_csrf", &token_for(&app, &cookies))],
        ))
        .await;
    assert_eq!(with_token.status, StatusCode::SEE_OTHER);
}

async fn logout_ends_the_session(app: TestApp) {
    let cookies = sign_in_admin(&app).await;
    let response =
        app.anonymous().send(form_request("/logout", &cookies, &[("_csrf", &token_for(&app, &cookies))])).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(response.header("location"), Some("/login"));
    assert!(set_cookie(&response, "volant_session").is_some_and(|c| c.contains("Max-Age=0")));
    let again = app.anonymous().send(get("/garages", &cookies)).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "the old cookie no longer works");
}

async fn pages_obey_the_role_matrix(app: TestApp) {
    app.user("candidat@ecole.sn", &[Role::Candidate]).await;
    app.user("atelier@garage.fr", &[Role::Staff]).await;
    let candidate = sign_in(&app, "candidat@ecole.sn").await;
    for page in ["/garages", "/vehicles", "/vehicles/new"] {
        let response = app.anonymous().send(get(page, &candidate)).await;
        assert_eq!(response.status, StatusCode::FORBIDDEN, "{page}");
        assert!(response.text().contains("Votre rôle ne permet pas cette action."));
    }
    let staff = sign_in(&app, "atelier@garage.fr").await;
    assert_eq!(app.anonymous().send(get("/garages", &staff)).await.status, StatusCode::OK, "staff reads the fleet");
    let write = app
        .anonymous()
        .send(form_request("/garages", &staff, &[("name", "X"), ("address", "Y"), ("_csrf", &token_for(&app, &staff))]))
        .await;
    assert_eq!(write.status, StatusCode::FORBIDDEN, "but does not change it");
}

async fn the_setup_page_creates_the_first_admin_once(app: TestApp) {
    let login = app.anonymous().send(get("/login", "")).await;
    assert_eq!(login.header("location"), Some("/setup"), "an empty instance asks for its first admin");
    let form = app.anonymous().send(get("/setup", "")).await.text();
    for field in
        ["name=\"name\"", "name=\"kind\"", "name=\"registration_number\"", "list=\"time-zones\"", "Africa/Dakar"]
    {
        assert!(form.contains(field), "the setup page asks {field}");
    }
    let weak = app.anonymous().send(setup_request(&app, "Chef", "chef@garage.fr", "motdepasse")).await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(weak.text().contains("au moins 12 caractères"), "{}", weak.text());
    let created = app.anonymous().send(setup_request(&app, "Chef", "chef@garage.fr", TEST_PASSWORD)).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.text());
    let session = cookie_pair(set_cookie(&created, "volant_session").expect("signed in"));
    assert_eq!(app.anonymous().send(get("/garages", &session)).await.status, StatusCode::OK);
    assert_eq!(
        app.anonymous().send(get("/admin/status", &session)).await.status,
        StatusCode::OK,
        "the first admin operates the instance"
    );
    assert_eq!(app.anonymous().send(get("/setup", "")).await.status, StatusCode::NOT_FOUND, "gone once a user exists");
    let again = app.anonymous().send(setup_request(&app, "Pirate", "pirate@evil.fr", TEST_PASSWORD)).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    // The business is described as its customers will read it, and its first
    // page is its checklist.
    let org = volant::identity::organizations::service::get(&app.db, app.org).await.expect("organization");
    assert_eq!((org.name.as_str(), org.kind.as_str()), ("Garage du Centre", "garage"));
    assert_eq!(org.address.as_deref(), Some("12 rue de la Paix\n69002 Lyon"));
    assert_eq!(app.anonymous().send(get("/", &session)).await.header("location"), Some("/welcome"));
}

backend_tests!(a_setup_form_shows_every_mistake_of_the_business_and_the_account_at_once);

async fn a_setup_form_shows_every_mistake_of_the_business_and_the_account_at_once(app: TestApp) {
    let csrf = format!("volant_csrf={TEST_CSRF}");
    let fields = [
        ("name", ""),
        ("kind", "garage"),
        ("registration_number", "130 005 481 00011"),
        ("vat_number", "40303265045"),
        ("currency", "EUR"),
        ("time_zone", "Europe/Lutèce"),
        ("admin_name", "Chef"),
        ("admin_email", "pas-une-adresse"),
        ("password", TEST_PASSWORD),
        ("_csrf", &token_for(&app, &csrf)),
    ];
    let refused = app.anonymous().send(form_request("/setup", &csrf, &fields)).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let page = refused.text();
    for field in ["name", "registration_number", "vat_number", "time_zone", "admin_email"] {
        assert!(page.contains(&format!("id=\"{field}-error\"")), "{field} is marked: {page}");
    }
    assert!(page.contains("clé correcte") && page.contains("FR40303265045"), "{page}");
    assert!(page.contains("value=\"Chef\""), "what was typed stays");
    assert_eq!(volant::identity::users::service::count(&app.db).await.expect("count"), 0);
}

async fn next_cannot_leave_the_site_and_forged_https_is_ignored(app: TestApp) {
    app.user(EMAIL, &[Role::Manager]).await;
    let csrf = format!("volant_csrf={TEST_CSRF}");
    let mut request = form_request(
        "/login",
        &csrf,
        &[
            ("email", EMAIL),
            ("password", TEST_PASSWORD),
            ("next", "//evil.example/x"),
            ("_csrf", &token_for(&app, &csrf)),
        ],
    );
    // Not from a trusted proxy: not believed (see web_hardening.rs for one that is).
    request.headers_mut().insert("x-forwarded-proto", "https".parse().expect("header"));
    let response = app.anonymous().send(request).await;
    assert_eq!(response.header("location"), Some("/"));
    assert!(set_cookie(&response, "volant_session").is_some_and(|c| !c.contains("Secure")));
}

async fn a_session_cookie_does_not_open_the_api_nor_a_token_the_pages(app: TestApp) {
    let cookies = sign_in_admin(&app).await;
    let api = app.anonymous().send(get("/api/v1/garages", &cookies)).await;
    assert_eq!(api.status, StatusCode::UNAUTHORIZED, "no cookie-authenticated API: no CSRF there");
    let token = app.admin_token().await.to_owned();
    let page = app
        .anonymous()
        .send(
            Request::get("/garages")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
}

async fn sign_in_admin(app: &TestApp) -> String {
    app.user(EMAIL, &[Role::Admin]).await;
    sign_in(app, EMAIL).await
}

backend_tests!(people_change_their_own_password);

async fn people_change_their_own_password(app: TestApp) {
    app.user("candidat@ecole.sn", &[Role::Candidate]).await;
    let other_session = app.login("candidat@ecole.sn", TEST_PASSWORD).await;
    let cookies = sign_in(&app, "candidat@ecole.sn").await;
    let profile = app.anonymous().send(get("/profile", &cookies)).await;
    assert_eq!(profile.status, StatusCode::OK, "every role has a profile");
    assert!(profile.text().contains("candidat@ecole.sn"));
    let new_password = "girafe clavier nuage tambour";
    let attempt = |current: &str, new: &str, confirm: &str| {
        form_request(
            "/profile",
            &cookies,
            &[
                ("current_password", current),
                ("new_password", new),
                ("confirm_password", confirm),
                ("_csrf", &token_for(&app, &cookies)),
            ],
        )
    };
    let wrong = app.anonymous().send(attempt("pas le bon", new_password, new_password)).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.text().contains("Mot de passe actuel incorrect."));
    let mismatch = app.anonymous().send(attempt(TEST_PASSWORD, new_password, "autre chose")).await;
    assert!(mismatch.text().contains("ne correspondent pas"));
    let weak = app.anonymous().send(attempt(TEST_PASSWORD, "password1234", "password1234")).await;
    assert!(weak.text().contains("trop facile"));
    let done = app.anonymous().send(attempt(TEST_PASSWORD, new_password, new_password)).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text());
    assert_eq!(app.anonymous().send(get("/profile", &cookies)).await.status, StatusCode::OK, "this session lives on");
    assert_eq!(
        app.with_token(&other_session).get("/api/v1/auth/me").await.status,
        StatusCode::UNAUTHORIZED,
        "other sessions end"
    );
    app.login("candidat@ecole.sn", new_password).await;
    let old = app
        .anonymous()
        .post(
            "/api/v1/auth/login",
            &serde_json::json!({
                "email": "candidat@ecole.sn",
                "password": TEST_PASSWORD
            }),
        )
        .await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
}

backend_tests!(the_setup_page_records_the_first_admin_in_the_audit_trail);

async fn the_setup_page_records_the_first_admin_in_the_audit_trail(app: TestApp) {
    let created = app.anonymous().send(setup_request(&app, "Chef", "chef@garage.fr", TEST_PASSWORD)).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER);
    let token = app.login("chef@garage.fr", TEST_PASSWORD).await;
    let audit = app.with_token(&token).get("/api/v1/audit?entity_type=user&action=create").await.json();
    assert_eq!(audit.as_array().expect("array").len(), 1);
    assert_eq!(audit[0]["actor_user_id"], serde_json::Value::Null, "created by the instance itself");
    assert_eq!(audit[0]["changes"]["email"][1], "chef@garage.fr");
}

backend_tests!(
    concurrent_setups_create_exactly_one_administrator,
    a_refused_setup_form_does_not_burn_the_one_time_page
);

async fn concurrent_setups_create_exactly_one_administrator(app: TestApp) {
    let tasks: Vec<_> = (0..5)
        .map(|i| {
            let email = format!("chef{i}@garage.fr");
            let request = setup_request(&app, "Chef", &email, TEST_PASSWORD);
            tokio::spawn(crate::helpers::send(app.router.clone(), request))
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.expect("task").status);
    }
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::SEE_OTHER).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == StatusCode::SEE_OTHER || *s == StatusCode::NOT_FOUND), "{statuses:?}");
    assert_eq!(volant::identity::users::service::count(&app.db).await.expect("count"), 1);
    // Start-up with VOLANT_ADMIN_* afterwards creates nobody.
    let late = volant::identity::users::service::ensure_first_admin(&app.db, app.org, "tard@garage.fr", TEST_PASSWORD)
        .await
        .expect("ok");
    assert!(late.is_none());
}

async fn a_refused_setup_form_does_not_burn_the_one_time_page(app: TestApp) {
    let weak = app.anonymous().send(setup_request(&app, "Chef", "chef@garage.fr", "court")).await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    let ok = app.anonymous().send(setup_request(&app, "Chef", "chef@garage.fr", TEST_PASSWORD)).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.text());
}
