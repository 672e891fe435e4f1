//! Forgotten passwords: the link asked for on the sign-in page or through the API,
//! e-mailed, used once; the link an administrator sends; honesty when no mail
//! server is configured.

use axum::http::StatusCode;
use sea_orm::ConnectionTrait;
use serde_json::json;
use volant::identity::roles::Role;

use crate::backend_tests;
use crate::fixtures::accounts::{api_login, deliver, link_in, post_anonymous};
use crate::helpers::{TEST_PASSWORD, TestApp};
use crate::servers::SmtpServer;

const EMAIL: &str = "secretariat@garage-centre.fr";
const NEW_PASSWORD: &str = "tulipe marteau riviere nocturne";

async fn audit_actions(app: &TestApp) -> Vec<String> {
    let rows = app
        .db
        .query_all_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            "SELECT action FROM audit_log ORDER BY id",
        ))
        .await
        .expect("audit");
    rows.iter().map(|r| r.try_get::<String>("", "action").expect("action")).collect()
}

backend_tests!(
    a_forgotten_password_is_replaced_through_the_emailed_link,
    the_answer_does_not_tell_whether_an_account_exists,
    used_expired_and_replaced_links_do_not_open,
    asking_too_often_is_refused_with_retry_after,
    two_uses_of_one_link_at_once_set_one_password,
    an_administrator_hands_over_the_link_while_mail_is_not_configured,
    a_password_change_ends_the_links_still_unused,
    the_password_link_is_not_a_notification_choice,
    password_links_never_pass_through_an_organizations_own_server,
);

async fn a_forgotten_password_is_replaced_through_the_emailed_link(app: TestApp) {
    let user = app.user(EMAIL, &[Role::Staff]).await;
    let old_token = app.login(EMAIL, TEST_PASSWORD).await;

    let login = app.anonymous().get("/login").await;
    assert!(login.text().contains("href=\"/password/forgot\""), "the sign-in page offers the way back in");
    let form = app.anonymous().get("/password/forgot").await;
    form.assert_status(StatusCode::OK);
    assert!(form.text().contains("id=\"not-delivered\""), "without SMTP the page says e-mails do not leave");

    let asked = post_anonymous(&app, "/password/forgot", &[("email", "  Secretariat@Garage-Centre.fr ")]).await;
    asked.assert_status(StatusCode::OK);
    assert!(asked.text().contains("id=\"asked\""), "{}", asked.text());

    let mails = deliver(&app).await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, vec![EMAIL.to_owned()]);
    let parsed = mails[0].parsed();
    assert!(parsed.header("List-Unsubscribe").is_none(), "an account e-mail cannot be unsubscribed from");
    let text = parsed.body_text(0).expect("plain text").into_owned();
    assert!(text.contains("Jeanne Martin") && text.contains("1 h"), "{text}");
    assert!(!text.contains("profil"), "no word of a profile the reader may not know: {text}");
    let link = link_in(&text);
    let html = parsed.body_html(0).expect("html").into_owned();
    assert!(html.contains(&link), "the button leads to the same link");
    // Delivered: the database no longer holds the link.
    let stored = app
        .db
        .query_all_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            "SELECT link FROM notifications WHERE event = 'account_access'",
        ))
        .await
        .expect("notifications");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].try_get::<Option<String>>("", "link").expect("link"), None);

    let page = app.anonymous().get(&link).await;
    page.assert_status(StatusCode::OK);
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert!(page.text().contains(EMAIL), "the page names the account");

    let mismatch = post_anonymous(&app, &link, &[("new_password", NEW_PASSWORD), ("confirm_password", "autre")]).await;
    mismatch.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(mismatch.text().contains("id=\"confirm_password-error\""));
    let weak =
        post_anonymous(&app, &link, &[("new_password", "motdepasse12"), ("confirm_password", "motdepasse12")]).await;
    weak.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(weak.text().contains("id=\"new_password-error\""), "{}", weak.text());

    let done = post_anonymous(&app, &link, &[("new_password", NEW_PASSWORD), ("confirm_password", NEW_PASSWORD)]).await;
    done.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(done.header("location"), Some("/login"));

    assert_eq!(api_login(&app, EMAIL, TEST_PASSWORD).await, StatusCode::UNAUTHORIZED);
    assert_eq!(api_login(&app, EMAIL, NEW_PASSWORD).await, StatusCode::OK);
    let me = app.with_token(&old_token).get("/api/v1/auth/me").await;
    me.assert_status(StatusCode::UNAUTHORIZED);

    let again = app.anonymous().get(&link).await;
    again.assert_status(StatusCode::GONE);
    assert!(again.text().contains("id=\"link-gone\"") && again.text().contains("href=\"/password/forgot\""));

    let actions = audit_actions(&app).await;
    assert!(actions.contains(&"password_link_sent".to_owned()), "{actions:?}");
    assert!(actions.contains(&"password_reset".to_owned()), "{actions:?}");
    assert_eq!(user.email, EMAIL);
}

async fn the_answer_does_not_tell_whether_an_account_exists(app: TestApp) {
    app.user(EMAIL, &[Role::Staff]).await;
    let gone = app.user("ancien@garage-centre.fr", &[Role::Staff]).await;
    app.as_admin().patch(&format!("/api/v1/users/{}", gone.id), &json!({ "active": false })).await.assert_success();

    let page = |email: &'static str| {
        let app = &app;
        async move {
            let response = post_anonymous(app, "/password/forgot", &[("email", email)]).await;
            (response.status, response.text().replace(email, "ADDRESS"))
        }
    };
    let known = page(EMAIL).await;
    assert_eq!(known.0, StatusCode::OK);
    assert_eq!(page("personne@garage-centre.fr").await, known);
    assert_eq!(page("ancien@garage-centre.fr").await, known);

    for email in [EMAIL, "personne@ailleurs.fr"] {
        let api = app.anonymous().post("/api/v1/auth/password/forgot", &json!({ "email": email })).await;
        api.assert_status(StatusCode::ACCEPTED);
        assert!(api.body.is_empty());
    }
    let empty = app.anonymous().post("/api/v1/auth/password/forgot", &json!({})).await;
    empty.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");

    let mails = deliver(&app).await;
    assert_eq!(mails.len(), 2, "only the active account got e-mails");
    assert!(mails.iter().all(|m| m.to == vec![EMAIL.to_owned()]));
}

/// Makes a link for `EMAIL` through the API and returns its secret.
async fn asked_link(app: &TestApp) -> String {
    app.anonymous().post("/api/v1/auth/password/forgot", &json!({ "email": EMAIL })).await.assert_success();
    let mails = deliver(app).await;
    let text = mails.last().expect("an e-mail").parsed().body_text(0).expect("text").into_owned();
    link_in(&text).trim_start_matches("/password/reset/").to_owned()
}

async fn used_expired_and_replaced_links_do_not_open(app: TestApp) {
    app.user(EMAIL, &[Role::Staff]).await;
    let first = asked_link(&app).await;
    let second = asked_link(&app).await;
    let reset = |token: String, password: &'static str| {
        let app = &app;
        async move {
            app.anonymous()
                .post("/api/v1/auth/password/reset", &json!({ "token": token, "new_password": password }))
                .await
        }
    };
    reset(first.clone(), NEW_PASSWORD).await.problem(StatusCode::GONE, "link_expired");
    assert_eq!(app.anonymous().get(&format!("/password/reset/{first}")).await.status, StatusCode::GONE);
    reset("n'importe quoi".to_owned(), NEW_PASSWORD).await.problem(StatusCode::GONE, "link_expired");

    let weak = reset(second.clone(), "motdepasse").await;
    weak.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(weak.error_fields(), vec!["new_password"]);

    app.db
        .execute_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            "UPDATE password_links SET expires_at = created_at WHERE used_at IS NULL",
        ))
        .await
        .expect("expire");
    reset(second, NEW_PASSWORD).await.problem(StatusCode::GONE, "link_expired");
    assert_eq!(api_login(&app, EMAIL, TEST_PASSWORD).await, StatusCode::OK, "the password did not change");

    let third = asked_link(&app).await;
    reset(third.clone(), NEW_PASSWORD).await.assert_status(StatusCode::NO_CONTENT);
    reset(third, "une autre phrase bien longue").await.problem(StatusCode::GONE, "link_expired");
    assert_eq!(api_login(&app, EMAIL, NEW_PASSWORD).await, StatusCode::OK);
}

async fn asking_too_often_is_refused_with_retry_after(app: TestApp) {
    app.user(EMAIL, &[Role::Staff]).await;
    for _ in 0..3 {
        post_anonymous(&app, "/password/forgot", &[("email", EMAIL)]).await.assert_status(StatusCode::OK);
    }
    let refused = post_anonymous(&app, "/password/forgot", &[("email", EMAIL)]).await;
    refused.assert_status(StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.header("retry-after").and_then(|s| s.parse::<u64>().ok()).is_some_and(|s| s > 0));
    assert!(refused.text().contains("flash-error"), "the page says why");
    // The same for an address with no account: the limit does not tell either.
    for _ in 0..3 {
        let api = app.anonymous().post("/api/v1/auth/password/forgot", &json!({ "email": "x@y.fr" })).await;
        assert!(api.status == StatusCode::ACCEPTED || api.status == StatusCode::TOO_MANY_REQUESTS);
    }
    let api = app.anonymous().post("/api/v1/auth/password/forgot", &json!({ "email": "x@y.fr" })).await;
    api.problem(StatusCode::TOO_MANY_REQUESTS, "too_many_requests");
    assert_eq!(deliver(&app).await.len(), 3, "three e-mails, not more");
}

async fn two_uses_of_one_link_at_once_set_one_password(app: TestApp) {
    app.user(EMAIL, &[Role::Staff]).await;
    let token = asked_link(&app).await;
    let passwords = ["tulipe marteau riviere nocturne", "girafe lanterne clavier orage"];
    let attempts = passwords.map(|password| {
        let client = app.anonymous();
        let body = json!({ "token": token, "new_password": password });
        async move { client.post("/api/v1/auth/password/reset", &body).await.status }
    });
    let [a, b] = attempts;
    let (a, b) = tokio::join!(a, b);
    let mut statuses = [a, b];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::NO_CONTENT, StatusCode::GONE]);
    let winner = if a == StatusCode::NO_CONTENT { passwords[0] } else { passwords[1] };
    let loser = if winner == passwords[0] { passwords[1] } else { passwords[0] };
    assert_eq!(api_login(&app, EMAIL, winner).await, StatusCode::OK);
    assert_eq!(api_login(&app, EMAIL, loser).await, StatusCode::UNAUTHORIZED);
}

async fn an_administrator_hands_over_the_link_while_mail_is_not_configured(app: TestApp) {
    let user = app.user(EMAIL, &[Role::Staff]).await;
    let edit = app.as_admin().get(&format!("/admin/users/{}", user.id)).await;
    assert!(edit.text().contains("id=\"send-reset-link\""), "the user's page offers the link");

    let page = app.as_admin().post_form(&format!("/admin/users/{}/password-link", user.id), &[]).await;
    page.assert_status(StatusCode::OK);
    assert_eq!(page.header("cache-control"), Some("no-store"));
    let text = page.text();
    assert!(text.contains("id=\"not-delivered\""), "the page says the e-mail will not leave");
    let start = text.find("http://localhost/password/reset/").expect("the link to hand over");
    let link = text[start..].split('<').next().expect("link").trim_start_matches("http://localhost").to_owned();
    app.anonymous().get(&link).await.assert_status(StatusCode::OK);

    let api = app.as_admin().post(&format!("/api/v1/users/{}/password-link", user.id), &json!({})).await;
    api.assert_status(StatusCode::OK);
    let body = api.json();
    assert_eq!(body["emailed"], false);
    let url = body["url"].as_str().expect("url while e-mails do not leave");
    assert_eq!(app.anonymous().get(&link).await.status, StatusCode::GONE, "the newer link replaced it");
    let token = url.rsplit('/').next().expect("token");
    let reset = json!({ "token": token, "new_password": NEW_PASSWORD });
    app.anonymous().post("/api/v1/auth/password/reset", &reset).await.assert_status(StatusCode::NO_CONTENT);
    assert_eq!(api_login(&app, EMAIL, NEW_PASSWORD).await, StatusCode::OK);

    let staff = app.as_role(Role::Staff).await;
    staff
        .post(&format!("/api/v1/users/{}/password-link", user.id), &json!({}))
        .await
        .assert_status(StatusCode::FORBIDDEN);
    let stranger = app.other_org().await;
    stranger
        .post(&format!("/api/v1/users/{}/password-link", user.id), &json!({}))
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");

    app.as_admin().patch(&format!("/api/v1/users/{}", user.id), &json!({ "active": false })).await.assert_success();
    let inactive = app.as_admin().post(&format!("/api/v1/users/{}/password-link", user.id), &json!({})).await;
    inactive.problem(StatusCode::CONFLICT, "user_inactive");
    let flashed = app.as_admin().post_form(&format!("/admin/users/{}/password-link", user.id), &[]).await;
    flashed.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(flashed.header("location"), Some(format!("/admin/users/{}", user.id).as_str()));
}

async fn a_password_change_ends_the_links_still_unused(app: TestApp) {
    let user = app.user(EMAIL, &[Role::Staff]).await;
    let token = asked_link(&app).await;
    let changed = app
        .as_user(&user)
        .await
        .post_form(
            "/profile",
            &[("current_password", TEST_PASSWORD), ("new_password", NEW_PASSWORD), ("confirm_password", NEW_PASSWORD)],
        )
        .await;
    changed.assert_status(StatusCode::SEE_OTHER);
    let reset = json!({ "token": token, "new_password": "girafe lanterne clavier orage" });
    app.anonymous().post("/api/v1/auth/password/reset", &reset).await.problem(StatusCode::GONE, "link_expired");
    assert_eq!(api_login(&app, EMAIL, NEW_PASSWORD).await, StatusCode::OK);
}

async fn the_password_link_is_not_a_notification_choice(app: TestApp) {
    let admin = app.as_admin();
    let grid = admin.get("/api/v1/notifications/preferences").await.json();
    assert!(grid.as_array().expect("grid").iter().all(|p| p["event"] != "account_access"));
    let refused = admin
        .put(
            "/api/v1/notifications/preferences",
            &json!([{ "event": "account_access", "channel": "email", "enabled": false }]),
        )
        .await;
    refused.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let page = admin.get("/notifications/preferences").await;
    assert!(!page.text().contains("account_access"));
}

/// With a mail server configured, the administrator is told the link was sent,
/// and never shown it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_mail_configured_the_administrator_is_told_the_link_left() {
    let smtp = SmtpServer::start();
    let url = smtp.url();
    let app = TestApp::sqlite_with(|config| config.notify.smtp_url = Some(url)).await;
    let user = app.user(EMAIL, &[Role::Staff]).await;
    let form = app.anonymous().get("/password/forgot").await;
    assert!(!form.text().contains("id=\"not-delivered\""));

    let sent = app.as_admin().post_form(&format!("/admin/users/{}/password-link", user.id), &[]).await;
    sent.assert_status(StatusCode::SEE_OTHER);
    assert!(!sent.text().contains("/password/reset/"));
    let api = app.as_admin().post(&format!("/api/v1/users/{}/password-link", user.id), &json!({})).await.json();
    assert_eq!(api["emailed"], true);
    assert!(api["url"].is_null(), "{api}");
    app.run_jobs().await;
    let received = smtp.received();
    assert_eq!(received.len(), 2);
    let text = received[1].parsed().body_text(0).expect("text").into_owned();
    assert!(text.contains("24 h"), "{text}");
    let link = link_in(&text);
    app.anonymous().get(&link).await.assert_status(StatusCode::OK);
}

/// An organization's administrator chooses its own mail server: a password link
/// through it could be read there, so links keep to the instance's server, and an
/// administrator cannot hand over the platform operator's account.
async fn password_links_never_pass_through_an_organizations_own_server(app: TestApp) {
    let theirs = SmtpServer::start();
    let instance = SmtpServer::start();
    let body = json!({ "smtp_url": theirs.url(), "mail_from": "Atelier <atelier@garage.fr>" });
    app.as_admin().put("/api/v1/organization/mail", &body).await.assert_status(StatusCode::OK);
    app.user(EMAIL, &[Role::Staff]).await;
    app.anonymous().post("/api/v1/auth/password/forgot", &json!({ "email": EMAIL })).await.assert_success();
    app.run_jobs_with(|n| n.smtp_url = Some(instance.url())).await;
    assert_eq!(theirs.count(), 0, "not through the organization's server");
    assert_eq!(instance.received().len(), 1);

    let operator = app.admin().await.clone();
    let other_admin = app.user("second-admin@garage.fr", &[Role::Admin]).await;
    let refused =
        app.as_user(&other_admin).await.post(&format!("/api/v1/users/{}/password-link", operator.id), &json!({})).await;
    refused.problem(StatusCode::FORBIDDEN, "operator_account");
}
