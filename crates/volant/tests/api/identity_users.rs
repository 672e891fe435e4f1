//! User administration through the API.

use axum::http::StatusCode;
use serde_json::json;
use volant::identity::roles::Role;

use crate::backend_tests;
use crate::helpers::{TEST_PASSWORD, TestApp};

backend_tests!(
    administrators_create_list_and_change_users,
    deactivation_ends_sessions_and_sign_in,
    administrators_cannot_lock_themselves_out,
    another_organizations_users_are_404
);

async fn administrators_create_list_and_change_users(app: TestApp) {
    let admin = app.as_admin();
    let response = admin
        .post(
            "/api/v1/users",
            &json!({
                "email": "Awa.Diop@Ecole.sn",
                "display_name": "Awa Diop",
                "password": TEST_PASSWORD,
                "roles": ["instructor", "instructor"]
            }),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    let user = response.json();
    let id = user["id"].as_i64().expect("id");
    assert_eq!(response.header("location"), Some(format!("/api/v1/users/{id}").as_str()));
    assert_eq!(user["roles"], json!(["instructor"]));
    assert_eq!(user["active"], true);
    assert!(user.get("password_hash").is_none() && user.get("password").is_none());

    let list = admin.get("/api/v1/users").await.json();
    let emails: Vec<&str> = list.as_array().expect("array").iter().filter_map(|u| u["email"].as_str()).collect();
    assert_eq!(emails, ["admin@volant.test", "Awa.Diop@Ecole.sn"]);

    let patched = admin
        .patch(
            &format!("/api/v1/users/{id}"),
            &json!({
                "roles": ["manager", "instructor"],
                "display_name": "Awa D."
            }),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text());
    assert_eq!(patched.json()["roles"], json!(["manager", "instructor"]));

    admin
        .post(
            "/api/v1/users",
            &json!({
                "email": "awa.diop@ecole.sn",
                "display_name": "X",
                "password": TEST_PASSWORD,
                "roles": ["staff"]
            }),
        )
        .await
        .problem(StatusCode::CONFLICT, "duplicate_email");
    let weak = admin
        .post(
            "/api/v1/users",
            &json!({
                "email": "b@ecole.sn",
                "display_name": "B",
                "password": "password1234",
                "roles": []
            }),
        )
        .await;
    weak.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let mut fields = weak.error_fields();
    fields.sort();
    assert_eq!(fields, ["password", "roles"]);
    let bad_role = admin
        .post(
            "/api/v1/users",
            &json!({
                "email": "c@ecole.sn",
                "display_name": "C",
                "password": TEST_PASSWORD,
                "roles": ["pilot"]
            }),
        )
        .await;
    bad_role.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");

    let audit = admin.get(&format!("/api/v1/audit?entity_type=user&entity_id={id}&action=update")).await.json();
    assert_eq!(audit[0]["changes"]["roles"], json!([["instructor"], ["manager", "instructor"]]));
    assert_eq!(audit[0]["changes"]["display_name"], json!(["Awa Diop", "Awa D."]));
}

async fn deactivation_ends_sessions_and_sign_in(app: TestApp) {
    let admin = app.as_admin();
    let user = app.user("partant@garage.fr", &[Role::Staff]).await;
    let token = app.login("partant@garage.fr", TEST_PASSWORD).await;
    let response = admin.patch(&format!("/api/v1/users/{}", user.id), &json!({ "active": false })).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(app.with_token(&token).get("/api/v1/auth/me").await.status, StatusCode::UNAUTHORIZED);
    let login = app
        .anonymous()
        .post(
            "/api/v1/auth/login",
            &json!({
                "email": "partant@garage.fr",
                "password": TEST_PASSWORD
            }),
        )
        .await;
    login.problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    let back = admin.patch(&format!("/api/v1/users/{}", user.id), &json!({ "active": true })).await;
    assert_eq!(back.json()["active"], true);
    app.login("partant@garage.fr", TEST_PASSWORD).await;
}

async fn administrators_cannot_lock_themselves_out(app: TestApp) {
    let admin = app.admin().await.id;
    let response = app.as_admin().patch(&format!("/api/v1/users/{admin}"), &json!({ "active": false })).await;
    response.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(response.error_fields(), ["active"]);
    let response = app.as_admin().patch(&format!("/api/v1/users/{admin}"), &json!({ "roles": ["manager"] })).await;
    assert_eq!(response.error_fields(), ["roles"]);
    assert_eq!(app.as_admin().get(&format!("/api/v1/users/{admin}")).await.json()["roles"], json!(["admin"]));
}

async fn another_organizations_users_are_404(app: TestApp) {
    let admin = app.as_admin();
    let them = app.other_org().await;
    let theirs = them.user().await;
    admin.get(&format!("/api/v1/users/{}", theirs.id)).await.problem(StatusCode::NOT_FOUND, "not_found");
    admin
        .patch(&format!("/api/v1/users/{}", theirs.id), &json!({ "active": false }))
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
    let list = admin.get("/api/v1/users").await.json();
    assert!(!list.to_string().contains(&theirs.email));
}

backend_tests!(administrators_manage_users_from_the_pages, only_administrators_reach_user_administration);

async fn administrators_manage_users_from_the_pages(app: TestApp) {
    let list = app.as_admin().get("/admin/users").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.text().contains("admin@volant.test"));
    let created = app
        .as_admin()
        .post_form(
            "/admin/users",
            &[
                ("display_name", "Moussa Ba"),
                ("email", "moussa@ecole.sn"),
                ("password", TEST_PASSWORD),
                ("roles", "instructor"),
                ("roles", "staff"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.text());
    let users = app.as_admin().get("/api/v1/users").await.json();
    let moussa =
        users.as_array().expect("array").iter().find(|u| u["email"] == "moussa@ecole.sn").expect("created").clone();
    assert_eq!(moussa["roles"], json!(["staff", "instructor"]));
    let id = moussa["id"].as_i64().expect("id");

    // Unchecking "active" (absent from the form) deactivates.
    let edited = app
        .as_admin()
        .post_form(&format!("/admin/users/{id}"), &[("display_name", "Moussa Ba"), ("roles", "instructor")])
        .await;
    assert_eq!(edited.status, StatusCode::SEE_OTHER, "{}", edited.text());
    let after = app.as_admin().get(&format!("/api/v1/users/{id}")).await.json();
    assert_eq!(after["active"], false);
    assert_eq!(after["roles"], json!(["instructor"]));

    let no_roles = app
        .as_admin()
        .post_form("/admin/users", &[("display_name", "X"), ("email", "x@ecole.sn"), ("password", TEST_PASSWORD)])
        .await;
    assert_eq!(no_roles.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(no_roles.text().contains("Attribuez au moins un rôle."));

    let admin = app.admin().await.id;
    let lockout = app
        .as_admin()
        .post_form(&format!("/admin/users/{admin}"), &[("display_name", "Admin"), ("roles", "admin")])
        .await;
    assert_eq!(lockout.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(lockout.text().contains("propre compte"), "{}", lockout.text());
}

async fn only_administrators_reach_user_administration(app: TestApp) {
    use axum::body::Body;
    use axum::http::Request;
    let manager = app.user("gerant@garage.fr", &[Role::Manager]).await;
    let session =
        volant::identity::auth::issue(&app.db, &app.signing_key, &manager, "web").await.expect("session").token;
    let request = Request::get("/admin/users")
        .header("cookie", format!("volant_session={session}"))
        .body(Body::empty())
        .expect("request");
    assert_eq!(app.anonymous().send(request).await.status, StatusCode::FORBIDDEN);
    let token = app.token_for("gerant2@garage.fr", &[Role::Manager]).await;
    app.with_token(&token).get("/api/v1/users").await.problem(StatusCode::FORBIDDEN, "forbidden");
}
