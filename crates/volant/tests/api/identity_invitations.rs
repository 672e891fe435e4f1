//! Invitations: a colleague invited by an administrator or a manager, an
//! instructor or a candidate invited from their file; each chooses a password
//! through the e-mailed link (or the link handed over while no SMTP server is
//! configured).

use axum::http::StatusCode;
use serde_json::json;
use volant::identity::roles::Role;

use crate::backend_tests;
use crate::fixtures::accounts::{api_login, deliver, link_in, post_anonymous};
use crate::fixtures::school::candidate;
use crate::helpers::TestApp;

const GUEST: &str = "paul.durand@garage-centre.fr";
const PASSWORD: &str = "tulipe marteau riviere nocturne";

backend_tests!(
    a_manager_invites_a_colleague_who_chooses_a_password,
    invitations_through_the_api_and_their_refusals,
    two_invitations_for_one_address_at_once_make_one_account,
    an_instructor_and_a_candidate_are_invited_from_their_files,
);

/// The handover page's link (no SMTP server in these tests), as a path.
fn handed_over(text: &str) -> String {
    let start = text.find("/password/reset/").unwrap_or_else(|| panic!("no link on the page: {text}"));
    text[start..].split('<').next().expect("link").to_owned()
}

async fn a_manager_invites_a_colleague_who_chooses_a_password(app: TestApp) {
    let manager = app.as_role(Role::Manager).await;
    let form = manager.get("/admin/invitations").await;
    form.assert_status(StatusCode::OK);
    let text = form.text();
    assert!(text.contains("value=\"staff\"") && !text.contains("value=\"admin\""), "a manager cannot grant admin");
    assert!(text.contains("id=\"not-delivered\""), "the form says the e-mail will not leave");
    assert!(text.contains("href=\"/admin/invitations\""), "in the manager's menu");

    let empty = manager.post_form("/admin/invitations", &[("email", ""), ("display_name", "")]).await;
    empty.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(empty.text().contains("id=\"email-error\"") && empty.text().contains("id=\"roles-error\""));

    let sent = manager
        .post_form("/admin/invitations", &[("email", GUEST), ("display_name", "Paul Durand"), ("roles", "staff")])
        .await;
    sent.assert_status(StatusCode::OK);
    assert_eq!(sent.header("cache-control"), Some("no-store"));
    let shown = handed_over(&sent.text());

    let mails = deliver(&app).await;
    assert_eq!(mails.len(), 1);
    let parsed = mails[0].parsed();
    assert!(parsed.subject().unwrap_or_default().contains("Invitation"), "{:?}", parsed.subject());
    let body = parsed.body_text(0).expect("text").into_owned();
    assert!(body.contains("Paul Durand") && body.contains("7 jours"), "{body}");
    assert_eq!(link_in(&body), shown, "the e-mail and the page give the same link");

    let welcome = app.anonymous().get(&shown).await;
    welcome.assert_status(StatusCode::OK);
    assert!(welcome.text().contains("Bienvenue"), "{}", welcome.text());
    assert_eq!(api_login(&app, GUEST, PASSWORD).await, StatusCode::UNAUTHORIZED, "no password before the link");
    let chosen = post_anonymous(&app, &shown, &[("new_password", PASSWORD), ("confirm_password", PASSWORD)]).await;
    chosen.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(api_login(&app, GUEST, PASSWORD).await, StatusCode::OK);
    let token = app.login(GUEST, PASSWORD).await;
    let me = app.with_token(&token).get("/api/v1/auth/me").await.json();
    assert_eq!(me["roles"], json!(["staff"]));
    assert_eq!(me["display_name"], "Paul Durand");
}

async fn invitations_through_the_api_and_their_refusals(app: TestApp) {
    let admin = app.as_admin();
    let body = json!({ "email": GUEST, "display_name": "Paul Durand", "roles": ["admin"] });
    let created = admin.post("/api/v1/users/invitations", &body).await;
    created.assert_status(StatusCode::CREATED);
    let invited = created.json();
    assert_eq!(invited["user"]["roles"], json!(["admin"]));
    assert_eq!(invited["emailed"], false);
    assert!(invited["url"].as_str().is_some_and(|u| u.contains("/password/reset/")), "{invited}");
    assert!(created.header("location").is_some_and(|l| l.starts_with("/api/v1/users/")));

    admin.post("/api/v1/users/invitations", &body).await.problem(StatusCode::CONFLICT, "duplicate_email");
    let manager = app.as_role(Role::Manager).await;
    let promoted = json!({ "email": "autre@garage-centre.fr", "display_name": "Autre", "roles": ["admin"] });
    manager.post("/api/v1/users/invitations", &promoted).await.problem(StatusCode::FORBIDDEN, "role_not_grantable");
    let staff = app.as_role(Role::Staff).await;
    let colleague = json!({ "email": "autre@garage-centre.fr", "display_name": "Autre", "roles": ["staff"] });
    staff.post("/api/v1/users/invitations", &colleague).await.assert_status(StatusCode::FORBIDDEN);
    manager.post("/api/v1/users/invitations", &colleague).await.assert_status(StatusCode::CREATED);
    let invalid = manager.post("/api/v1/users/invitations", &json!({ "email": "pas une adresse", "roles": [] })).await;
    invalid.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let mut fields = invalid.error_fields();
    fields.sort();
    assert_eq!(fields, ["display_name", "email", "roles"]);
}

async fn two_invitations_for_one_address_at_once_make_one_account(app: TestApp) {
    let admin = app.as_admin();
    let body = json!({ "email": GUEST, "display_name": "Paul Durand", "roles": ["staff"] });
    let (a, b) =
        tokio::join!(admin.post("/api/v1/users/invitations", &body), admin.post("/api/v1/users/invitations", &body));
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::CREATED, StatusCode::CONFLICT]);
    assert_eq!(deliver(&app).await.len(), 1, "one invitation e-mail");
}

async fn an_instructor_and_a_candidate_are_invited_from_their_files(app: TestApp) {
    let admin = app.as_admin();
    let teacher = admin
        .post(
            "/api/v1/school/instructors",
            &json!({ "first_name": "Karim", "last_name": "Benali", "email": "karim@ecole.fr",
                     "licence_number": "AE-77001", "categories": ["B"] }),
        )
        .await;
    teacher.assert_status(StatusCode::CREATED);
    let teacher = teacher.json()["id"].as_i64().expect("id");
    let manager = app.as_role(Role::Manager).await;
    let file = manager.get(&format!("/school/instructors/{teacher}")).await;
    assert!(file.text().contains(&format!("action=\"/school/instructors/{teacher}/invite\"")), "the file offers it");

    let page = manager.post_form(&format!("/school/instructors/{teacher}/invite"), &[]).await;
    page.assert_status(StatusCode::OK);
    let link = handed_over(&page.text());
    let linked = admin.get(&format!("/api/v1/school/instructors/{teacher}")).await.json();
    let account = linked["user_id"].as_i64().expect("the file is linked to the new account");
    let again = manager.post_form(&format!("/school/instructors/{teacher}/invite"), &[]).await;
    again.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(again.header("location"), Some(format!("/school/instructors/{teacher}").as_str()));
    let refused = admin.post(&format!("/api/v1/school/instructors/{teacher}/invitation"), &json!({})).await;
    refused.problem(StatusCode::CONFLICT, "already_has_account");
    let chosen = post_anonymous(&app, &link, &[("new_password", PASSWORD), ("confirm_password", PASSWORD)]).await;
    chosen.assert_status(StatusCode::SEE_OTHER);
    let token = app.login("karim@ecole.fr", PASSWORD).await;
    let me = app.with_token(&token).get("/api/v1/auth/me").await.json();
    assert_eq!((me["id"].as_i64(), &me["roles"]), (Some(account), &json!(["instructor"])));

    let lea = candidate(&app, json!({ "email": "lea@exemple.fr" })).await["id"].as_i64().expect("id");
    let nameless = candidate(&app, json!({})).await["id"].as_i64().expect("id");
    let show = manager.get(&format!("/school/candidates/{lea}")).await;
    assert!(show.text().contains(&format!("action=\"/school/candidates/{lea}/invite\"")));
    let no_email = admin.post(&format!("/api/v1/school/candidates/{nameless}/invitation"), &json!({})).await;
    no_email.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let uri = format!("/api/v1/school/candidates/{lea}/invitation");
    let nothing = json!({});
    let (a, b) = tokio::join!(admin.post(&uri, &nothing), manager.post(&uri, &nothing));
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::CREATED, StatusCode::CONFLICT], "one account for one file");
    let invited = if a.status == StatusCode::CREATED { a.json() } else { b.json() };
    assert_eq!(invited["user"]["roles"], json!(["candidate"]));
    let file = admin.get(&format!("/api/v1/school/candidates/{lea}")).await.json();
    assert_eq!(file["user_id"], invited["user"]["id"]);
    let stranger = app.other_org().await;
    stranger.post(&uri, &json!({})).await.problem(StatusCode::NOT_FOUND, "not_found");
}
