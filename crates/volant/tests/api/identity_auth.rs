//! Sign-in and bearer tokens: every way a token can be wrong is a 401.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::json;
use volant::identity::auth::Claims;
use volant::identity::roles::Role;
use volant::identity::users::service::{self as users, NewUser};
use volant::platform::error::AppError;

use crate::backend_tests;
use crate::helpers::{TEST_PASSWORD, TestApp, TestResponse};

const EMAIL: &str = "jeanne.martin@garage-centre.fr";

fn assert_unauthorized(response: &TestResponse) {
    response.problem(StatusCode::UNAUTHORIZED, "unauthorized");
    assert_eq!(response.header("www-authenticate"), Some("Bearer"));
}

fn b64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0_u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

fn sign(app: &TestApp, claims: &Claims) -> String {
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &EncodingKey::from_secret(&app.signing_key))
        .expect("sign")
}

backend_tests!(
    login_returns_a_bearer_token_that_identifies_the_user,
    unknown_email_and_wrong_password_get_the_same_401,
    every_kind_of_bad_token_is_401,
    logout_revokes_the_token,
    a_deactivated_user_can_neither_sign_in_nor_use_a_token,
    users_follow_the_password_policy_and_unique_emails,
    the_first_admin_is_created_only_on_an_empty_instance
);

async fn login_returns_a_bearer_token_that_identifies_the_user(app: TestApp) {
    let user = app.user(EMAIL, &[Role::Manager, Role::Staff]).await;
    let response = app
        .anonymous()
        .post(
            "/api/v1/auth/login",
            &json!({
                "email": "  Jeanne.Martin@Garage-Centre.FR ",
                "password": TEST_PASSWORD
            }),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let body = response.json();
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 3600);
    let token = body["access_token"].as_str().expect("token");
    let me = app.with_token(token).get("/api/v1/auth/me").await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text());
    let me = me.json();
    assert_eq!(me["id"], user.id);
    assert_eq!(me["email"], EMAIL);
    assert_eq!(me["roles"], json!(["manager", "staff"]));
    assert!(me.get("password_hash").is_none());
}

async fn unknown_email_and_wrong_password_get_the_same_401(app: TestApp) {
    app.user(EMAIL, &[Role::Admin]).await;
    let wrong = app
        .anonymous()
        .post(
            "/api/v1/auth/login",
            &json!({
                "email": EMAIL,
                "password": "not the right one at all"
            }),
        )
        .await;
    let unknown = app
        .anonymous()
        .post(
            "/api/v1/auth/login",
            &json!({
                "email": "nobody@garage.fr",
                "password": TEST_PASSWORD
            }),
        )
        .await;
    wrong.problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    unknown.problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    assert_eq!(wrong.json(), unknown.json());
    let missing = app.anonymous().post("/api/v1/auth/login", &json!({ "email": EMAIL })).await;
    missing.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(missing.error_fields(), ["password"]);
}

async fn every_kind_of_bad_token_is_401(app: TestApp) {
    let user = app.user(EMAIL, &[Role::Admin]).await;
    let token = app.login(EMAIL, TEST_PASSWORD).await;
    assert_unauthorized(&app.anonymous().get("/api/v1/auth/me").await);
    for header in
        ["Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer not.a.jwt", "Bearer a.b", &format!("Token {token}")]
    {
        let request =
            Request::get("/api/v1/auth/me").header(header::AUTHORIZATION, header).body(Body::empty()).expect("request");
        assert_unauthorized(&app.as_admin().send(request).await);
    }
    // Tampered: one character of the signature changed.
    let mut tampered = token.clone();
    let last = tampered.pop().expect("char");
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    assert_unauthorized(&app.with_token(&tampered).get("/api/v1/auth/me").await);
    // Tampered claims with the original signature.
    let parts: Vec<&str> = token.split('.').collect();
    let forged_claims =
        b64(format!("{{\"sub\":\"{}\",\"org\":1,\"jti\":\"x\",\"iat\":0,\"exp\":9999999999}}", user.id + 1).as_bytes());
    assert_unauthorized(
        &app.with_token(&format!("{}.{}.{}", parts[0], forged_claims, parts[2])).get("/api/v1/auth/me").await,
    );
    // alg: none.
    let none_header = b64(br#"{"alg":"none","typ":"JWT"}"#);
    assert_unauthorized(&app.with_token(&format!("{none_header}.{}.", parts[1])).get("/api/v1/auth/me").await);
    // Signed with another key.
    let claims: Claims = jsonwebtoken::dangerous::insecure_decode::<Claims>(&token).expect("decode").claims;
    let foreign = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(b"another instance's key"),
    )
    .expect("sign");
    assert_unauthorized(&app.with_token(&foreign).get("/api/v1/auth/me").await);
    // HS512 with the right key is still refused: only HS256 is accepted.
    let hs512 =
        jsonwebtoken::encode(&Header::new(Algorithm::HS512), &claims, &EncodingKey::from_secret(&app.signing_key))
            .expect("sign");
    assert_unauthorized(&app.with_token(&hs512).get("/api/v1/auth/me").await);
    // Expired, though correctly signed for a live session.
    let expired = Claims { exp: chrono::Utc::now().timestamp() - 3600, iat: 0, ..claims };
    assert_unauthorized(&app.with_token(&sign(&app, &expired)).get("/api/v1/auth/me").await);
    // The original still works.
    assert_eq!(app.with_token(&token).get("/api/v1/auth/me").await.status, StatusCode::OK);
}

async fn logout_revokes_the_token(app: TestApp) {
    app.user(EMAIL, &[Role::Staff]).await;
    let token = app.login(EMAIL, TEST_PASSWORD).await;
    let other = app.login(EMAIL, TEST_PASSWORD).await;
    let request = Request::post("/api/v1/auth/logout")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .expect("request");
    assert_eq!(app.as_admin().send(request).await.status, StatusCode::NO_CONTENT);
    assert_unauthorized(&app.with_token(&token).get("/api/v1/auth/me").await);
    assert_eq!(app.with_token(&other).get("/api/v1/auth/me").await.status, StatusCode::OK, "other sessions live on");
    assert_unauthorized(
        &app.anonymous().send(Request::post("/api/v1/auth/logout").body(Body::empty()).expect("request")).await,
    );
}

async fn a_deactivated_user_can_neither_sign_in_nor_use_a_token(app: TestApp) {
    let user = app.user(EMAIL, &[Role::Staff]).await;
    let token = app.login(EMAIL, TEST_PASSWORD).await;
    let model =
        volant::identity::users::entity::Entity::find_by_id(user.id).one(&app.db).await.expect("query").expect("user");
    let mut active: volant::identity::users::entity::ActiveModel = model.into();
    active.active = Set(false);
    active.update(&app.db).await.expect("deactivate");
    assert_unauthorized(&app.with_token(&token).get("/api/v1/auth/me").await);
    let login = app
        .anonymous()
        .post(
            "/api/v1/auth/login",
            &json!({
                "email": EMAIL,
                "password": TEST_PASSWORD
            }),
        )
        .await;
    login.problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
}

async fn users_follow_the_password_policy_and_unique_emails(app: TestApp) {
    let new = |email: &str, password: &str| NewUser {
        email: email.into(),
        display_name: "Awa Diop".into(),
        password: password.into(),
        roles: vec![Role::Instructor],
    };
    let short = users::create(&app.db, app.org, new("awa@ecole.sn", "court")).await;
    assert!(
        matches!(&short, Err(AppError::Validation(e)) if e[0].field == "password" && e[0].message.key == "user.password_too_short"),
        "{short:?}"
    );
    let guessable = users::create(&app.db, app.org, new("awa@ecole.sn", "password123456")).await;
    assert!(
        matches!(&guessable, Err(AppError::Validation(e)) if e[0].message.key == "user.password_guessable"),
        "{guessable:?}"
    );
    let bad_email = users::create(&app.db, app.org, new("awa-at-ecole", TEST_PASSWORD)).await;
    assert!(matches!(&bad_email, Err(AppError::Validation(e)) if e[0].field == "email"), "{bad_email:?}");
    users::create(&app.db, app.org, new("awa@ecole.sn", TEST_PASSWORD)).await.expect("created");
    let duplicate = users::create(&app.db, app.org, new("AWA@Ecole.SN", TEST_PASSWORD)).await;
    assert!(matches!(duplicate, Err(AppError::Conflict { code: "duplicate_email", .. })), "{duplicate:?}");
}

async fn the_first_admin_is_created_only_on_an_empty_instance(app: TestApp) {
    let admin = users::ensure_first_admin(&app.db, app.org, "chef@garage.fr", TEST_PASSWORD)
        .await
        .expect("ok")
        .expect("created");
    assert_eq!(admin.roles, vec![Role::Admin]);
    assert!(admin.is_operator, "the instance's first administrator operates it");
    let stored = users::find_active(&app.db, admin.id).await.expect("query").expect("user");
    assert!(stored.is_operator);
    let again = users::ensure_first_admin(&app.db, app.org, "autre@garage.fr", TEST_PASSWORD).await.expect("ok");
    assert!(again.is_none());
    app.login("chef@garage.fr", TEST_PASSWORD).await;
}

#[tokio::test]
async fn password_hashes_are_argon2id_and_never_the_password() {
    let app = TestApp::sqlite().await;
    let user = app.user(EMAIL, &[Role::Admin]).await;
    let stored =
        volant::identity::users::entity::Entity::find_by_id(user.id).one(&app.db).await.expect("query").expect("user");
    assert!(stored.password_hash.starts_with("$argon2id$"), "{}", stored.password_hash);
    assert!(!stored.password_hash.contains(TEST_PASSWORD));
}

backend_tests!(personal_tokens_work_until_revoked_and_are_stored_hashed, expired_personal_tokens_are_refused);

async fn personal_tokens_work_until_revoked_and_are_stored_hashed(app: TestApp) {
    let admin = app.as_admin();
    let user = app.user("integration@garage.fr", &[Role::Staff]).await;
    let session = app.login("integration@garage.fr", TEST_PASSWORD).await;
    let auth = |token: &str| format!("Bearer {token}");
    let create = Request::post("/api/v1/auth/tokens")
        .header(header::AUTHORIZATION, auth(&session))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(json!({ "name": "Export comptable", "expires_in_days": 30 }).to_string()))
        .expect("request");
    let created = admin.send(create).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let body = created.json();
    let token = body["token"].as_str().expect("token shown once").to_owned();
    assert!(token.starts_with("vlt_") && token.len() == 68, "{token}");
    let id = body["id"].as_i64().expect("id");

    assert_eq!(
        app.with_token(&token).get("/api/v1/garages").await.status,
        StatusCode::OK,
        "acts with the user's roles"
    );
    let me = app.with_token(&token).get("/api/v1/auth/me").await.json();
    assert_eq!(me["id"], user.id);
    let listed = app.with_token(&session).get("/api/v1/auth/tokens").await.json();
    assert_eq!(listed[0]["name"], "Export comptable");
    assert!(listed[0].get("token").is_none(), "never shown again");
    assert!(listed[0]["last_used_at"].is_string());

    let stored =
        volant::identity::auth::tokens::entity::Entity::find_by_id(id).one(&app.db).await.expect("query").expect("row");
    assert_ne!(stored.token_hash, token);
    assert!(!stored.token_hash.contains(&token[4..]));

    // Another user cannot revoke it; its owner can.
    let other = app.token_for("autre@garage.fr", &[Role::Admin]).await;
    let foreign = Request::delete(format!("/api/v1/auth/tokens/{id}"))
        .header(header::AUTHORIZATION, auth(&other))
        .body(Body::empty())
        .expect("request");
    admin.send(foreign).await.problem(StatusCode::NOT_FOUND, "not_found");
    let revoke = Request::delete(format!("/api/v1/auth/tokens/{id}"))
        .header(header::AUTHORIZATION, auth(&session))
        .body(Body::empty())
        .expect("request");
    assert_eq!(admin.send(revoke).await.status, StatusCode::NO_CONTENT);
    assert_unauthorized(&app.with_token(&token).get("/api/v1/garages").await);
    let audit = admin.get(&format!("/api/v1/audit?entity_type=api_token&entity_id={id}")).await.json();
    let actions: Vec<&str> = audit.as_array().expect("array").iter().filter_map(|r| r["action"].as_str()).collect();
    assert_eq!(actions, ["delete", "create"]);
    assert_eq!(audit[1]["actor_user_id"], user.id);
    assert!(!audit.to_string().contains(&token[4..]), "the token never reaches the audit trail");
    assert_unauthorized(
        &app.with_token("vlt_0000000000000000000000000000000000000000000000000000000000000000")
            .get("/api/v1/garages")
            .await,
    );

    let bad = Request::post("/api/v1/auth/tokens")
        .header(header::AUTHORIZATION, auth(&session))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(json!({ "name": "", "expires_in_days": 0 }).to_string()))
        .expect("request");
    let bad = admin.send(bad).await;
    bad.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let mut fields = bad.error_fields();
    fields.sort();
    assert_eq!(fields, ["expires_in_days", "name"]);
}

async fn expired_personal_tokens_are_refused(app: TestApp) {
    let user = app.user("expire@garage.fr", &[Role::Staff]).await;
    let created = volant::identity::auth::tokens::create(
        &app.db,
        &volant::identity::audit::Actor { user_id: Some(user.id), ..volant::identity::audit::Actor::system(app.org) },
        "test-session",
        &volant::identity::auth::tokens::NewToken {
            name: Some("court".into()),
            expires_in_days: Some(1),
            ..Default::default()
        },
    )
    .await
    .expect("token");
    let stored = volant::identity::auth::tokens::entity::Entity::find_by_id(created.info.id)
        .one(&app.db)
        .await
        .expect("query")
        .expect("row");
    let mut active: volant::identity::auth::tokens::entity::ActiveModel = stored.into();
    active.expires_at = Set(Some(chrono::Utc::now() - chrono::Duration::minutes(1)));
    active.update(&app.db).await.expect("expire");
    assert_unauthorized(&app.with_token(&created.token).get("/api/v1/garages").await);
}

#[tokio::test]
async fn the_profile_page_creates_shows_once_and_revokes_tokens() {
    let app = TestApp::sqlite().await;
    let admin = app.as_admin();
    let created = admin
        .post_form("/profile/tokens", &[("name", "Tableau de bord"), ("expires_in_days", ""), ("scope_fleet", "read")])
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text());
    let html = created.text();
    assert!(html.contains("<title>Mon profil · Volant</title>"), "the title is only the title");
    let marker = "id=\"new-token\" class=\"mono\">";
    let start = html.find(marker).expect("token shown") + marker.len();
    let token = &html[start..start + 68];
    assert!(token.starts_with("vlt_"), "{token}");
    assert_eq!(html.matches(token).count(), 1, "the token is shown exactly once");
    assert_eq!(app.with_token(token).get("/api/v1/garages").await.status, StatusCode::OK);
    let page = admin.get("/profile").await.text();
    assert!(page.contains("Tableau de bord") && !page.contains(token), "listed, never shown again");
    let id = volant::identity::auth::tokens::list(&app.db, app.admin().await.id).await.expect("list")[0].id;
    let revoked = admin.post_form(&format!("/profile/tokens/{id}/revoke"), &[]).await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER);
    assert_unauthorized(&app.with_token(token).get("/api/v1/garages").await);
}

/// Creates a personal token through the API with a sign-in session; returns the token and its id.
async fn personal_token(app: &TestApp, session: &str, name: &str) -> (String, i64) {
    let create = Request::post("/api/v1/auth/tokens")
        .header(header::AUTHORIZATION, format!("Bearer {session}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(json!({ "name": name }).to_string()))
        .expect("request");
    let created = app.as_admin().send(create).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let body = created.json();
    (body["token"].as_str().expect("token").to_owned(), body["id"].as_i64().expect("id"))
}

/// The reasons the audit trail gives for revoking a token.
async fn revocation_reasons(app: &TestApp, id: i64) -> Vec<String> {
    let audit = app.as_admin().get(&format!("/api/v1/audit?entity_type=api_token&entity_id={id}")).await.json();
    audit
        .as_array()
        .expect("array")
        .iter()
        .filter(|r| r["action"] == "delete")
        .filter_map(|r| r["changes"]["reason"].as_str().map(str::to_owned))
        .collect()
}

backend_tests!(
    a_personal_token_cannot_create_another,
    a_password_change_revokes_every_personal_token,
    a_deactivation_revokes_personal_tokens_for_good
);

async fn a_personal_token_cannot_create_another(app: TestApp) {
    app.user("chaine@garage.fr", &[Role::Staff]).await;
    let session = app.login("chaine@garage.fr", TEST_PASSWORD).await;
    let (token, _) = personal_token(&app, &session, "Intégration").await;
    let again = Request::post("/api/v1/auth/tokens")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(json!({ "name": "Seconde" }).to_string()))
        .expect("request");
    let refused = app.as_admin().send(again).await.problem(StatusCode::FORBIDDEN, "session_required");
    assert!(refused["detail"].as_str().is_some_and(|d| d.contains("jeton")), "{refused}");
    let listed = app.with_token(&session).get("/api/v1/auth/tokens").await.json();
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "no token was created: {listed}");
    assert_eq!(
        app.with_token(&token).get("/api/v1/auth/tokens").await.status,
        StatusCode::OK,
        "a token may still list them"
    );
}

async fn a_password_change_revokes_every_personal_token(app: TestApp) {
    use crate::helpers::TEST_CSRF;
    let user = app.user("motdepasse@garage.fr", &[Role::Staff]).await;
    let session = app.login("motdepasse@garage.fr", TEST_PASSWORD).await;
    let (first, first_id) = personal_token(&app, &session, "Comptabilité").await;
    let (second, _) = personal_token(&app, &session, "Tableau de bord").await;
    assert_eq!(app.with_token(&first).get("/api/v1/garages").await.status, StatusCode::OK);
    let web = volant::identity::auth::issue(&app.db, &app.signing_key, &user, "web").await.expect("session").token;
    let new_password = "girafe clavier nuage tambour";
    let token = app.csrf_for(&web);
    let fields = [
        ("current_password", TEST_PASSWORD),
        ("new_password", new_password),
        ("confirm_password", new_password),
        ("_csrf", token.as_str()),
    ];
    let change = Request::post("/profile")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, format!("volant_session={web}; volant_csrf={TEST_CSRF}"))
        .body(Body::from(serde_urlencoded::to_string(fields).expect("form")))
        .expect("request");
    let changed = app.anonymous().send(change).await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER, "{}", changed.text());
    assert_unauthorized(&app.with_token(&first).get("/api/v1/garages").await);
    assert_unauthorized(&app.with_token(&second).get("/api/v1/garages").await);
    assert_eq!(revocation_reasons(&app, first_id).await, ["password_changed"]);
    let stored = volant::identity::auth::tokens::entity::Entity::find_by_id(first_id)
        .one(&app.db)
        .await
        .expect("query")
        .expect("row");
    assert!(stored.revoked_at.is_some());
    let fresh = app.login("motdepasse@garage.fr", new_password).await;
    assert_eq!(app.with_token(&fresh).get("/api/v1/auth/tokens").await.json(), json!([]));
}

async fn a_deactivation_revokes_personal_tokens_for_good(app: TestApp) {
    let admin = app.as_admin();
    let user = app.user("depart@garage.fr", &[Role::Staff]).await;
    let session = app.login("depart@garage.fr", TEST_PASSWORD).await;
    let (token, id) = personal_token(&app, &session, "Export").await;
    let off = admin.patch(&format!("/api/v1/users/{}", user.id), &json!({ "active": false })).await;
    assert_eq!(off.status, StatusCode::OK, "{}", off.text());
    assert_unauthorized(&app.with_token(&token).get("/api/v1/garages").await);
    let on = admin.patch(&format!("/api/v1/users/{}", user.id), &json!({ "active": true })).await;
    assert_eq!(on.status, StatusCode::OK, "{}", on.text());
    assert_unauthorized(&app.with_token(&token).get("/api/v1/garages").await);
    assert_eq!(revocation_reasons(&app, id).await, ["account_deactivated"]);
    let again = app.login("depart@garage.fr", TEST_PASSWORD).await;
    assert_eq!(app.with_token(&again).get("/api/v1/auth/tokens").await.json(), json!([]), "nothing comes back");
}

backend_tests!(
    a_token_acts_only_within_its_scopes,
    a_token_never_exceeds_its_owners_roles,
    a_token_with_address_ranges_works_only_from_them,
    token_scopes_and_ranges_are_validated
);

/// A personal token with these scopes (an API client's request, as an integrator sends it).
async fn scoped_token(app: &TestApp, session: &str, body: serde_json::Value) -> serde_json::Value {
    let create = Request::post("/api/v1/auth/tokens")
        .header(header::AUTHORIZATION, format!("Bearer {session}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .expect("request");
    let created = app.as_admin().send(create).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    created.json()
}

async fn a_token_acts_only_within_its_scopes(app: TestApp) {
    app.user("lecture@garage.fr", &[Role::Admin]).await;
    let session = app.login("lecture@garage.fr", TEST_PASSWORD).await;
    let created = scoped_token(&app, &session, json!({ "name": "Tableau de bord", "scopes": ["fleet:read"] })).await;
    assert_eq!(created["scopes"], json!(["fleet:read"]));
    assert_eq!(created["allowed_ips"], json!([]));
    let token = created["token"].as_str().expect("token");
    let client = app.with_token(token);

    client.get("/api/v1/garages").await.assert_status(StatusCode::OK);
    // Its area, but writing: the scope missing is named, in the problem and the challenge.
    let refused = client.post("/api/v1/garages", &json!({ "name": "Nord", "address": "1 rue" })).await;
    let problem = refused.problem(StatusCode::FORBIDDEN, "insufficient_scope");
    assert!(problem["detail"].as_str().is_some_and(|d| d.contains("fleet:write")), "{problem}");
    assert_eq!(refused.header("www-authenticate"), Some(r#"Bearer error="insufficient_scope", scope="fleet:write""#));
    // Another area, even reading.
    let other = client.get("/api/v1/clients").await;
    other.problem(StatusCode::FORBIDDEN, "insufficient_scope");
    assert_eq!(other.header("www-authenticate"), Some(r#"Bearer error="insufficient_scope", scope="workshop:read""#));
    client.get("/api/v1/users").await.problem(StatusCode::FORBIDDEN, "insufficient_scope");
    // Nothing was created; the refusals are in the audit trail.
    let garages = app.as_admin().get("/api/v1/garages").await.json();
    assert!(!garages.to_string().contains("Nord"), "{garages}");
    let denials = app.as_admin().get("/api/v1/audit?action=permission_denied").await.json();
    let paths: Vec<&str> =
        denials.as_array().expect("array").iter().filter_map(|r| r["changes"]["path"].as_str()).collect();
    assert!(paths.contains(&"/api/v1/garages") && paths.contains(&"/api/v1/clients"), "{denials}");
    // The owner sees what each token may do.
    let listed = app.with_token(&session).get("/api/v1/auth/tokens").await.json();
    assert_eq!(listed[0]["scopes"], json!(["fleet:read"]));
    // One's tokens are the `account` area's: this one may neither list nor revoke them…
    let id = created["id"].as_i64().expect("id");
    let list = client.get("/api/v1/auth/tokens").await;
    list.problem(StatusCode::FORBIDDEN, "insufficient_scope");
    assert_eq!(list.header("www-authenticate"), Some(r#"Bearer error="insufficient_scope", scope="account:read""#));
    client.delete(&format!("/api/v1/auth/tokens/{id}")).await.problem(StatusCode::FORBIDDEN, "insufficient_scope");
    client.get("/api/v1/garages").await.assert_status(StatusCode::OK);

    // `write` includes `read`; the higher of two levels for one area is kept.
    let writer = scoped_token(
        &app,
        &session,
        json!({ "name": "Parc", "scopes": ["fleet:read", "fleet:write", "account:read"] }),
    )
    .await;
    assert_eq!(writer["scopes"], json!(["account:read", "fleet:write"]));
    let writer = app.with_token(writer["token"].as_str().expect("token"));
    writer
        .post("/api/v1/garages", &json!({ "name": "Nord", "address": "1 rue" }))
        .await
        .assert_status(StatusCode::CREATED);
    writer.get("/api/v1/garages").await.assert_status(StatusCode::OK);
    writer.get("/api/v1/organization").await.assert_status(StatusCode::OK);
    // Without `scopes`, as before they existed: every area, written.
    let full = scoped_token(&app, &session, json!({ "name": "Tout" })).await;
    assert_eq!(full["scopes"].as_array().map(Vec::len), Some(7), "{full}");
    assert!(
        full["scopes"].as_array().expect("scopes").iter().all(|s| s.as_str().is_some_and(|s| s.ends_with(":write")))
    );
}

async fn a_token_never_exceeds_its_owners_roles(app: TestApp) {
    app.user("atelier@garage.fr", &[Role::Staff]).await;
    let session = app.login("atelier@garage.fr", TEST_PASSWORD).await;
    let created =
        scoped_token(&app, &session, json!({ "name": "Trop", "scopes": ["fleet:write", "administration:write"] }))
            .await;
    let client = app.with_token(created["token"].as_str().expect("token"));
    client.get("/api/v1/garages").await.assert_status(StatusCode::OK);
    // The roles refuse: a plain `forbidden`, whatever the scopes say.
    client
        .post("/api/v1/garages", &json!({ "name": "Sud", "address": "2 rue" }))
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden");
    client.get("/api/v1/users").await.problem(StatusCode::FORBIDDEN, "forbidden");
}

async fn a_token_with_address_ranges_works_only_from_them(app: TestApp) {
    use axum::extract::ConnectInfo;
    use std::net::SocketAddr;
    app.user("bureau@garage.fr", &[Role::Manager]).await;
    let session = app.login("bureau@garage.fr", TEST_PASSWORD).await;
    let created = scoped_token(
        &app,
        &session,
        json!({ "name": "Comptabilité", "scopes": ["fleet:read"], "allowed_ips": ["203.0.113.9/24", "2001:db8::1"] }),
    )
    .await;
    assert_eq!(created["allowed_ips"], json!(["203.0.113.0/24", "2001:db8::1/128"]), "normalized");
    let token = created["token"].as_str().expect("token").to_owned();
    let from = |ip: std::net::IpAddr| {
        let mut request = Request::get("/api/v1/garages")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .expect("request");
        request.extensions_mut().insert(ConnectInfo(SocketAddr::new(ip, 40000)));
        request
    };
    let ip = |text: &str| text.parse::<std::net::IpAddr>().expect("address");
    let inside = app.anonymous().send(from(ip("203.0.113.200"))).await;
    assert_eq!(inside.status, StatusCode::OK, "{}", inside.text());
    // The same client seen as IPv4 mapped in IPv6 (a dual-stack socket) is inside too.
    app.anonymous().send(from(ip("::ffff:203.0.113.7"))).await.assert_status(StatusCode::OK);
    app.anonymous().send(from(ip("2001:db8::1"))).await.assert_status(StatusCode::OK);
    app.anonymous().send(from(ip("2001:db8::2"))).await.problem(StatusCode::FORBIDDEN, "token_ip_not_allowed");
    let listed = app.with_token(&session).get("/api/v1/auth/tokens").await.json();
    assert!(listed[0]["last_used_at"].is_string(), "{listed}");
    let outside = app.anonymous().send(from(ip("198.51.100.7"))).await;
    let problem = outside.problem(StatusCode::FORBIDDEN, "token_ip_not_allowed");
    assert!(problem["detail"].as_str().is_some_and(|d| d.contains("adresse")), "{problem}");
    // No address known (a request made in-process) is outside too.
    app.with_token(&token).get("/api/v1/garages").await.problem(StatusCode::FORBIDDEN, "token_ip_not_allowed");
    // Each use from elsewhere is in the organization's audit trail (a leaked token?), with its address.
    let denials = volant::identity::audit::entity::Entity::find()
        .filter(volant::identity::audit::entity::Column::Action.eq("permission_denied"))
        .all(&app.db)
        .await
        .expect("audit");
    let outside: Vec<_> =
        denials.iter().filter(|d| d.changes.as_deref().is_some_and(|c| c.contains("token_ip_not_allowed"))).collect();
    assert_eq!(outside.len(), 3, "{denials:?}");
    assert!(outside.iter().any(|d| d.ip.as_deref() == Some("198.51.100.7")), "{outside:?}");
    assert!(outside.iter().all(|d| d.organization_id == Some(app.org.get())));
    // A sign-in session is not bound to the ranges.
    let session_request = {
        let mut request = Request::get("/api/v1/garages")
            .header(header::AUTHORIZATION, format!("Bearer {session}"))
            .body(Body::empty())
            .expect("request");
        request.extensions_mut().insert(ConnectInfo(SocketAddr::from(([198, 51, 100, 7], 40000))));
        request
    };
    app.anonymous().send(session_request).await.assert_status(StatusCode::OK);
    // A range written as IPv4 mapped in IPv6 is kept as IPv4, and a duplicate once.
    let mapped = scoped_token(
        &app,
        &session,
        json!({ "name": "Double pile", "scopes": ["fleet:read"], "allowed_ips": ["::ffff:198.51.100.0/120", "198.51.100.0/24"] }),
    )
    .await;
    assert_eq!(mapped["allowed_ips"], json!(["198.51.100.0/24"]));
}

async fn token_scopes_and_ranges_are_validated(app: TestApp) {
    let session = app.admin_session().await.to_owned();
    let attempt = |body: serde_json::Value| {
        Request::post("/api/v1/auth/tokens")
            .header(header::AUTHORIZATION, format!("Bearer {session}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .expect("request")
    };
    let empty = app.anonymous().send(attempt(json!({ "name": "Vide", "scopes": [] }))).await;
    empty.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(empty.error_fields(), ["scopes"]);
    let unknown = app.anonymous().send(attempt(json!({ "name": "Inconnu", "scopes": ["fleet:admin"] }))).await;
    let problem = unknown.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert!(problem.to_string().contains("fleet:admin"), "{problem}");
    let bad_range = app
        .anonymous()
        .send(attempt(json!({ "name": "Plage", "scopes": ["fleet:read"], "allowed_ips": ["10.0.0.0/33"] })))
        .await;
    let problem = bad_range.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(bad_range.error_fields(), ["allowed_ips"]);
    assert!(problem.to_string().contains("10.0.0.0/33"), "{problem}");
    let many: Vec<String> = (0..21).map(|i| format!("10.0.{i}.0/24")).collect();
    let too_many =
        app.anonymous().send(attempt(json!({ "name": "Plages", "scopes": ["fleet:read"], "allowed_ips": many }))).await;
    too_many.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(too_many.error_fields(), ["allowed_ips"]);
    let listed = app.with_token(&session).get("/api/v1/auth/tokens").await.json();
    assert_eq!(listed, json!([]), "nothing was created");
}

#[tokio::test]
async fn the_profile_page_creates_a_scoped_token_with_ranges() {
    let app = TestApp::sqlite().await;
    let admin = app.as_admin();
    let page = admin.get("/profile").await.text();
    // The areas the roles reach, each with no access chosen at first.
    for field in ["scope_fleet", "scope_workshop", "scope_school", "scope_billing", "scope_administration"] {
        assert!(page.contains(&format!(r#"name="{field}""#)), "{field}");
    }
    let refused = admin.post_form("/profile/tokens", &[("name", "Sans accès"), ("scope_fleet", "")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().contains("Choisissez au moins un domaine"), "{}", refused.text());
    assert!(refused.text().contains(r#"value="Sans accès""#), "the name typed is kept");
    let created = admin
        .post_form(
            "/profile/tokens",
            &[
                ("name", "Comptabilité"),
                ("scope_billing", "read"),
                ("scope_fleet", "write"),
                ("allowed_ips", "203.0.113.0/24, 198.51.100.4"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text());
    let html = created.text();
    assert!(html.contains("vlt_"), "shown once");
    assert!(html.contains("Parc (garages, véhicules) : Lecture et écriture"), "{html}");
    assert!(html.contains("Facturation (factures, avoirs, paiements) : Lecture"), "{html}");
    assert!(html.contains("198.51.100.4/32, 203.0.113.0/24"), "{html}");
    let stored = volant::identity::auth::tokens::list(&app.db, app.admin().await.id).await.expect("list");
    let scopes: Vec<String> = stored[0].scopes.iter().map(ToString::to_string).collect();
    assert_eq!(scopes, ["fleet:write", "billing:read"]);
}

backend_tests!(
    credentials_are_answered_from_memory_once_checked,
    a_revocation_written_elsewhere_reaches_remembered_credentials,
    roles_changed_elsewhere_reach_remembered_credentials
);

/// Whether `check` comes to hold within 5 seconds (the watcher's bound is 250 ms
/// on SQLite and a notification's delivery on PostgreSQL; the rest is a slow CI).
async fn eventually(mut check: impl AsyncFnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    false
}

/// A session token and a personal token of a new staff member, both remembered
/// by the application (each used once the cache is in use).
async fn remembered_credentials(app: &TestApp) -> (i64, String, String) {
    let user = app.user(EMAIL, &[Role::Staff]).await;
    let session = app.login(EMAIL, TEST_PASSWORD).await;
    let (token, _) = personal_token(app, &session, "Atelier").await;
    let cache = app.state.credentials.clone();
    let remembered = eventually(async || {
        for credential in [&session, &token] {
            assert_eq!(app.with_token(credential).get("/api/v1/auth/me").await.status, StatusCode::OK);
        }
        cache.is_trusted() && cache.len() >= 2
    })
    .await;
    assert!(remembered, "the cache comes into use and keeps both credentials");
    (user.id, session, token)
}

async fn credentials_are_answered_from_memory_once_checked(app: TestApp) {
    let (_, session, token) = remembered_credentials(&app).await;
    let answered = eventually(async || {
        let before = app.state.credentials.hits();
        for credential in [&session, &token] {
            assert_eq!(app.with_token(credential).get("/api/v1/auth/me").await.status, StatusCode::OK);
        }
        app.state.credentials.hits() == before + 2
    })
    .await;
    assert!(answered, "both requests were let in from memory");
    // Signing out here is refused at once, memory or not.
    let request = Request::post("/api/v1/auth/logout")
        .header(header::AUTHORIZATION, format!("Bearer {session}"))
        .body(Body::empty())
        .expect("request");
    assert_eq!(app.as_admin().send(request).await.status, StatusCode::NO_CONTENT);
    assert_unauthorized(&app.with_token(&session).get("/api/v1/auth/me").await);
    assert_eq!(app.with_token(&token).get("/api/v1/auth/me").await.status, StatusCode::OK, "the token lives on");
}

/// Another instance, a worker or an operator in `psql` writes to the database
/// directly: no code of this process runs, only the triggers.
async fn a_revocation_written_elsewhere_reaches_remembered_credentials(app: TestApp) {
    use volant::identity::auth::{session_entity, tokens};
    let (user_id, session, token) = remembered_credentials(&app).await;
    let cache = app.state.credentials.clone();
    let announced = cache.announced();
    session_entity::Entity::update_many()
        .col_expr(session_entity::Column::RevokedAt, sea_orm::sea_query::Expr::value(chrono::Utc::now()))
        .filter(session_entity::Column::UserId.eq(user_id))
        .exec(&app.db)
        .await
        .expect("revoke elsewhere");
    let refused = eventually(async || app.with_token(&session).get("/api/v1/auth/me").await.status == 401).await;
    assert!(refused, "the revoked session is refused");
    // This database's watcher heard of it (not another test's change to a user of the same id).
    let heard = eventually(async || cache.announced() > announced).await;
    assert!(heard, "the change was announced to this instance");
    let announced = cache.announced();
    assert_eq!(app.with_token(&token).get("/api/v1/auth/me").await.status, StatusCode::OK);
    tokens::entity::Entity::update_many()
        .col_expr(tokens::entity::Column::RevokedAt, sea_orm::sea_query::Expr::value(chrono::Utc::now()))
        .filter(tokens::entity::Column::UserId.eq(user_id))
        .exec(&app.db)
        .await
        .expect("revoke elsewhere");
    let refused = eventually(async || app.with_token(&token).get("/api/v1/auth/me").await.status == 401).await;
    assert!(refused, "the revoked token is refused");
    let heard = eventually(async || cache.announced() > announced).await;
    assert!(heard, "the change was announced to this instance");
}

async fn roles_changed_elsewhere_reach_remembered_credentials(app: TestApp) {
    use volant::identity::users::roles_entity;
    let (user_id, session, token) = remembered_credentials(&app).await;
    let announced = app.state.credentials.announced();
    roles_entity::Entity::update_many()
        .col_expr(roles_entity::Column::Role, sea_orm::sea_query::Expr::value("manager"))
        .filter(roles_entity::Column::UserId.eq(user_id))
        .exec(&app.db)
        .await
        .expect("change roles elsewhere");
    for credential in [&session, &token] {
        let changed = eventually(async || {
            app.with_token(credential).get("/api/v1/auth/me").await.json()["roles"] == json!(["manager"])
        })
        .await;
        assert!(changed, "the new role applies");
    }
    let heard = eventually(async || app.state.credentials.announced() > announced).await;
    assert!(heard, "the change was announced to this instance");
    let deactivated = volant::identity::users::entity::Entity::update_many()
        .col_expr(volant::identity::users::entity::Column::Active, sea_orm::sea_query::Expr::value(false))
        .filter(volant::identity::users::entity::Column::Id.eq(user_id))
        .exec(&app.db)
        .await
        .expect("deactivate elsewhere");
    assert_eq!(deactivated.rows_affected, 1);
    for credential in [&session, &token] {
        let refused = eventually(async || app.with_token(credential).get("/api/v1/auth/me").await.status == 401).await;
        assert!(refused, "a deactivated account is refused");
    }
}

/// PostgreSQL: while the listening connection is lost, notifications may be
/// missed, so nothing is answered from memory until it is back (then afresh).
#[tokio::test]
async fn a_lost_listener_suspends_remembered_credentials_until_it_is_back() {
    use sea_orm::ConnectionTrait;
    let Some(app) = TestApp::postgres().await else { return };
    let (_, session, _) = remembered_credentials(&app).await;
    // This instance's listener is cut (its name says which schema it listens for).
    let terminated = app
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DatabaseBackend::Postgres,
            format!(
                "SELECT COUNT(pg_terminate_backend(pid)) AS n FROM pg_stat_activity \
                 WHERE application_name = '{} ' || current_schema()",
                volant::platform::credentials::LISTENER_NAME
            ),
        ))
        .await
        .expect("terminate the listener")
        .expect("row")
        .try_get::<i64>("", "n")
        .expect("count");
    assert_eq!(terminated, 1, "one listener for this schema");
    let cache = app.state.credentials.clone();
    assert!(eventually(async || !cache.is_trusted()).await, "the cache is suspended");
    assert!(cache.is_empty(), "and forgets what it knew");
    assert_eq!(app.with_token(&session).get("/api/v1/auth/me").await.status, StatusCode::OK, "the database answers");
    assert!(eventually(async || cache.is_trusted()).await, "the listener comes back");
}

/// PostgreSQL: an operator in `psql` names the schema instead of setting the
/// search path; the announcement names the table's schema all the same.
#[tokio::test]
async fn a_revocation_under_another_search_path_is_heard() {
    use sea_orm::ConnectionTrait;
    let Some(app) = TestApp::postgres().await else { return };
    let (user_id, session, _) = remembered_credentials(&app).await;
    let schema: String = app
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DatabaseBackend::Postgres,
            "SELECT current_schema() AS schema",
        ))
        .await
        .expect("schema")
        .expect("row")
        .try_get("", "schema")
        .expect("name");
    let url = std::env::var("TEST_DATABASE_URL").expect("url");
    let operator =
        volant::platform::db::connect(&volant::platform::db::DbSettings::new(url, 1)).await.expect("connect");
    let announced = app.state.credentials.announced();
    operator
        .execute_unprepared(&format!(
            "UPDATE \"{schema}\".sessions SET revoked_at = now() WHERE user_id = {user_id} AND revoked_at IS NULL"
        ))
        .await
        .expect("revoke as an operator");
    let refused = eventually(async || app.with_token(&session).get("/api/v1/auth/me").await.status == 401).await;
    assert!(refused, "the revoked session is refused");
    let heard = eventually(async || app.state.credentials.announced() > announced).await;
    assert!(heard, "the change was announced to this instance");
}
