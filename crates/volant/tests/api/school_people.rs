//! The school's files: candidates (sensitive fields encrypted at rest, search by
//! name, numbers unique), instructors and their availability, training vehicles,
//! settings.

use axum::http::{Method, StatusCode};
use sea_orm::EntityTrait;
use serde_json::json;
use volant::identity::roles::Role;

use crate::backend_tests;
use crate::fixtures::school::{candidate, instructor, training_car};
use crate::helpers::{TestApp, json_request, send};

backend_tests!(
    sensitive_fields_are_encrypted_at_rest_and_readable_through_the_api,
    rotating_the_key_re_encrypts_every_file_under_the_new_one,
    candidates_are_found_by_name_and_numbered_without_duplicates,
    instructors_accounts_availability_and_training_vehicles_are_checked
);

async fn sensitive_fields_are_encrypted_at_rest_and_readable_through_the_api(app: TestApp) {
    let admin = app.as_admin();
    let created = candidate(&app, json!({
            "first_name": "Émile", "last_name": "Durand", "email": "emile@example.fr",
            "id_document_number": "19AB12345", "birth_date": "2004-05-17", "address": "12 rue des Lilas, 13001 Marseille"
        })).await;
    let id = created["id"].as_i64().unwrap();
    assert_eq!(created["id_document_number"], "19AB12345");
    assert_eq!(created["birth_date"], "2004-05-17");

    // The stored row holds ciphertexts only.
    let row =
        volant::school::candidates::entity::candidate::Entity::find_by_id(id).one(&app.db).await.unwrap().unwrap();
    for (stored, plain) in
        [(&row.id_document_enc, "19AB12345"), (&row.birth_date_enc, "2004-05-17"), (&row.address_enc, "Lilas")]
    {
        let stored = stored.as_deref().expect("stored");
        assert!(stored.starts_with("v1:"), "{stored}");
        assert!(!stored.contains(plain), "{stored}");
    }
    // Nor the database file itself (SQLite: the file and its write-ahead log).
    if app.db.get_database_backend() == sea_orm::DatabaseBackend::Sqlite {
        use sea_orm::ConnectionTrait;
        let row = app
            .db
            .query_one_raw(sea_orm::Statement::from_string(sea_orm::DatabaseBackend::Sqlite, "PRAGMA database_list"))
            .await
            .unwrap()
            .unwrap();
        let path: String = row.try_get_by_index(2).unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend(std::fs::read(format!("{path}-wal")).unwrap_or_default());
        assert!(bytes.windows(9).any(|w| w == b"emile@exa"), "the file holds the clear fields (sanity check)");
        for secret in [&b"19AB12345"[..], b"rue des Lilas", b"2004-05-17"] {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret),
                "{} is readable in the file",
                String::from_utf8_lossy(secret)
            );
        }
    }
    // Nor does the audit trail keep them.
    let trail = admin.get("/api/v1/audit?entity_type=candidate").await.text();
    assert!(!trail.contains("19AB12345") && !trail.contains("Lilas") && !trail.contains("2004-05-17"), "{trail}");

    let read = admin.get(&format!("/api/v1/school/candidates/{id}")).await.json();
    assert_eq!(
        (read["id_document_number"].as_str(), read["address"].as_str()),
        (Some("19AB12345"), Some("12 rue des Lilas, 13001 Marseille"))
    );
    // Lists leave sensitive fields out.
    let list = admin.get("/api/v1/school/candidates?q=durand").await.json();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert!(list[0].get("id_document_number").is_none() && list[0].get("address").is_none(), "{list}");
}

async fn rotating_the_key_re_encrypts_every_file_under_the_new_one(app: TestApp) {
    use volant::platform::crypto::FieldCipher;
    let id = candidate(
        &app,
        json!({
            "id_document_number": "ROT-1",
            "address": "1 place du Marché"
        }),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    candidate(&app, json!({})).await;
    let old = "test:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    let rotated = FieldCipher::from_spec(&format!("{},{old}", FieldCipher::generate_spec().unwrap())).unwrap();
    let before =
        volant::school::candidates::entity::candidate::Entity::find_by_id(id).one(&app.db).await.unwrap().unwrap();
    assert!(rotated.is_stale(before.id_document_enc.as_deref().unwrap()));
    assert_eq!(volant::school::candidates::service::reencrypt_all(&app.db, &rotated).await.unwrap(), 1);
    let after =
        volant::school::candidates::entity::candidate::Entity::find_by_id(id).one(&app.db).await.unwrap().unwrap();
    assert!(!rotated.is_stale(after.id_document_enc.as_deref().unwrap()));
    assert_ne!(after.address_enc, before.address_enc);
    let read = volant::school::candidates::service::get(&app.db, &rotated, app.org, id).await.unwrap();
    assert_eq!(
        (read.id_document_number.as_deref(), read.address.as_deref()),
        (Some("ROT-1"), Some("1 place du Marché"))
    );
    // Done once: a second run has nothing left to do.
    assert_eq!(volant::school::candidates::service::reencrypt_all(&app.db, &rotated).await.unwrap(), 0);
}

async fn candidates_are_found_by_name_and_numbered_without_duplicates(app: TestApp) {
    let admin = app.as_admin();
    for (first, last) in [("Léa", "Martin"), ("Lucas", "Martinez"), ("Hugo", "Bernard"), ("Zoé", "D'Aubigné")] {
        candidate(&app, json!({ "first_name": first, "last_name": last })).await;
    }
    let names = |q: &str| {
        let app = &app;
        let admin = app.as_admin();
        let q = q.to_owned();
        async move {
            let uri = format!("/api/v1/school/candidates?q={}", crate::fixtures::urlencode(&q));
            let list = admin.get(&uri).await.json();
            let mut names: Vec<String> =
                list.as_array().unwrap().iter().map(|c| c["last_name"].as_str().unwrap().to_owned()).collect();
            names.sort();
            names
        }
    };
    assert_eq!(names("mart").await, vec!["Martin", "Martinez"]);
    assert_eq!(names("Martin Lé").await, vec!["Martin"]);
    assert_eq!(names("lucas mar").await, vec!["Martinez"]);
    assert_eq!(names("d'aub").await, vec!["D'Aubigné"]);
    assert_eq!(names("hugo").await, vec!["Bernard"], "a first name alone finds its candidate");
    assert_eq!(names("Zo").await, vec!["D'Aubigné"]);
    assert!(names("xyz").await.is_empty());

    // Concurrent registrations take distinct numbers; a given number is unique.
    let mut tasks = Vec::new();
    for i in 0..10 {
        let body = json!({ "first_name": "C", "last_name": format!("Concurrent{i}"), "category": "B" });
        let request = admin.authorize(json_request(Method::POST, "/api/v1/school/candidates", &body)).await;
        tasks.push(tokio::spawn(send(app.router.clone(), request)));
    }
    let mut numbers = Vec::new();
    for task in tasks {
        let response = task.await.expect("task");
        assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
        numbers.push(response.json()["number"].as_str().unwrap().to_owned());
    }
    numbers.sort();
    numbers.dedup();
    assert_eq!(numbers.len(), 10);
    let response = admin
        .post(
            "/api/v1/school/candidates",
            &json!({
                "first_name": "A",
                "last_name": "B",
                "category": "B",
                "number": numbers[0]
            }),
        )
        .await;
    response.problem(StatusCode::CONFLICT, "duplicate_candidate_number");
    let response = admin
        .post(
            "/api/v1/school/candidates",
            &json!({
                "first_name": " ",
                "category": "Z",
                "birth_date": "2999-01-01",
                "bought_minutes": -5
            }),
        )
        .await;
    let mut fields = response.error_fields();
    fields.sort();
    assert_eq!(fields, vec!["birth_date", "bought_minutes", "category", "first_name", "last_name"]);
}

async fn instructors_accounts_availability_and_training_vehicles_are_checked(app: TestApp) {
    let admin = app.as_admin();
    let teacher = instructor(&app, &["B", "A"]).await;
    let read = admin.get(&format!("/api/v1/school/instructors/{teacher}")).await.json();
    assert_eq!(read["categories"], json!(["B", "A"]));
    let same_licence = admin
        .post(
            "/api/v1/school/instructors",
            &json!({
                "first_name": "X",
                "last_name": "Y",
                "licence_number": read["licence_number"],
                "categories": ["B"]
            }),
        )
        .await;
    same_licence.problem(StatusCode::CONFLICT, "duplicate_licence_number");
    // The linked account must be an instructor's.
    let clerk = app.user("secretariat@example.fr", &[Role::Staff]).await;
    let mut body = read.clone();
    body["user_id"] = json!(clerk.id);
    assert_eq!(
        admin.put(&format!("/api/v1/school/instructors/{teacher}"), &body).await.error_fields(),
        vec!["user_id"]
    );

    let bad = admin
        .put(
            &format!("/api/v1/school/instructors/{teacher}/availability"),
            &json!({ "weekly": [
            { "weekday": 1, "start": "08:00", "end": "12:00" }, { "weekday": 1, "start": "11:00", "end": "13:00" }
        ] }),
        )
        .await;
    assert_eq!(bad.error_fields(), vec!["weekly"]);
    let week = admin
        .put(
            &format!("/api/v1/school/instructors/{teacher}/availability"),
            &json!({ "weekly": [
            { "weekday": 2, "start": "14:00", "end": "18:00" }, { "weekday": 2, "start": "08:00", "end": "12:00" }
        ] }),
        )
        .await
        .json();
    assert_eq!(week["weekly"][0]["start"], "08:00");
    assert_eq!(week["weekly"][1]["end"], "18:00");

    let car = training_car(&app, "B").await;
    let list = admin.get("/api/v1/school/vehicles").await.json();
    assert!(list.as_array().unwrap().iter().any(|v| v["vehicle_id"] == car && v["dual_controls"] == true), "{list}");
    let response = admin.put(&format!("/api/v1/school/vehicles/{car}"), &json!({ "category": "Q" })).await;
    assert_eq!(response.error_fields(), vec!["category"]);
    admin
        .put("/api/v1/school/vehicles/999999", &json!({ "category": "B" }))
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");

    let settings = admin.get("/api/v1/school/settings").await.json();
    assert_eq!(settings["daily_limit_minutes"], 120);
    assert_eq!(settings["cancellation_notice_hours"], 48);
    let response = admin
        .put(
            "/api/v1/school/settings",
            &json!({
                "daily_limit_minutes": 0,
                "cancellation_notice_hours": -1,
                "min_driving_minutes_for_exam": 0,
                "four_eyes": true,
                "candidates_may_book": false
            }),
        )
        .await;
    let mut fields = response.error_fields();
    fields.sort();
    assert_eq!(fields, vec!["cancellation_notice_hours", "daily_limit_minutes"]);
}
