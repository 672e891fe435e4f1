//! Lesson weather (issue 23) against a stub Open-Meteo-compatible service on
//! loopback: the risk of each coming lesson at its meeting point, shown on the
//! planning, the lesson and the API, told once to its instructor and the
//! managers when it turns high; a service down or answering nonsense never
//! fails a page; thresholds are the school's.

use axum::http::StatusCode;
use serde_json::json;

use crate::backend_tests;
use crate::fixtures::school::{at, booked_lesson, candidate, instructor, training_car};
use crate::helpers::TestApp;
use crate::servers::{GeoStub, StubMode};
use volant::identity::roles::Role;
use volant::school::weather::service as weather;

backend_tests!(
    a_lesson_turning_high_risk_is_shown_and_told_once_then_cancelled_for_weather_without_charge,
    a_weather_service_down_or_answering_nonsense_never_fails_a_page,
    thresholds_are_the_school_s_with_the_seed_s_defaults,
    lessons_of_one_area_share_one_forecast
);

/// A school with a pinned meeting point, an instructor with an account, a car,
/// a candidate, and a driving lesson tomorrow at 10:00 (Paris) there.
async fn school(app: &TestApp) -> (i64, volant::identity::users::service::AuthUser) {
    let (lesson, user, _) = school_with_ids(app).await;
    (lesson, user)
}

/// [`school`], with the instructor, car and candidate ids.
async fn school_with_ids(app: &TestApp) -> (i64, volant::identity::users::service::AuthUser, (i64, i64, i64)) {
    let admin = app.as_admin();
    let point = json!({ "name": "Devant l'auto-école", "address": "12 rue de la République, Lyon", "latitude": 45.763, "longitude": 4.8357 });
    assert_eq!(admin.post("/api/v1/school/meeting-points", &point).await.status, StatusCode::CREATED);
    let teacher = instructor(app, &["B"]).await;
    let user = app.user("karim.meteo@example.fr", &[Role::Instructor]).await;
    let mut body = admin.get(&format!("/api/v1/school/instructors/{teacher}")).await.json();
    body["user_id"] = json!(user.id);
    body["email"] = json!("karim.meteo@example.fr");
    assert_eq!(admin.put(&format!("/api/v1/school/instructors/{teacher}"), &body).await.status, StatusCode::OK);
    let car = training_car(app, "B").await;
    let lea = candidate(app, json!({ "first_name": "Léa" })).await["id"].as_i64().expect("id");
    let lesson = booked_lesson(app, lea, teacher, car, &at(1, 10, 0), &at(1, 11, 0)).await;
    (lesson, user, (teacher, car, lea))
}

fn weather_notices(inbox: &serde_json::Value) -> usize {
    inbox.as_array().expect("list").iter().filter(|n| n["event"] == "lesson_weather").count()
}

async fn a_lesson_turning_high_risk_is_shown_and_told_once_then_cancelled_for_weather_without_charge(app: TestApp) {
    let stub = GeoStub::start().await;
    let service = stub.weather();
    let (lesson, instructor_user, (teacher, car, lea)) = school_with_ids(&app).await;
    let afternoon = booked_lesson(&app, lea, teacher, car, &at(2, 14, 0), &at(2, 15, 0)).await;
    let admin = app.as_admin();
    let now = chrono::Utc::now();

    let calm = weather::refresh(&app.db, Some(&service), None, now).await.expect("refresh");
    assert_eq!((calm.assessed, calm.notified, calm.failed_areas), (2, 0, 0));
    let first = admin.get(&format!("/api/v1/school/lessons/{lesson}/weather")).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text());
    assert_eq!(first.json()["risk"], "low");
    assert_eq!(first.json()["wind_gusts_kmh"], 20.0);
    assert_eq!(admin.get(&format!("/api/v1/school/lessons/{lesson}")).await.json()["weather_risk"], "low");

    // A storm in the next forecast (the stored one is kept 30 minutes).
    stub.set(StubMode::Storm);
    let later = now + chrono::Duration::minutes(31);
    let storm = weather::refresh(&app.db, Some(&service), None, later).await.expect("refresh");
    assert_eq!((storm.assessed, storm.notified), (2, 2));
    let high = admin.get(&format!("/api/v1/school/lessons/{lesson}/weather")).await.json();
    assert_eq!(high["risk"], "high");
    assert_eq!(high["precipitation_mm"], 48.0, "the day's rain");
    assert_eq!(high["hazards"], json!([{ "hazard": "rain", "risk": "high" }, { "hazard": "wind", "risk": "high" }]));

    // Told to the instructor and the administrator, once: one notice for both lessons.
    let again =
        weather::refresh(&app.db, Some(&service), None, later + chrono::Duration::minutes(31)).await.expect("refresh");
    assert_eq!(again.notified, 0, "a lesson already flagged is not told twice");
    let admin_inbox = admin.get("/api/v1/notifications").await.json();
    assert_eq!(weather_notices(&admin_inbox), 1, "{admin_inbox}");
    let teacher = app.as_user(&instructor_user).await;
    let teacher_inbox = teacher.get("/api/v1/notifications").await.json();
    assert_eq!(weather_notices(&teacher_inbox), 1, "{teacher_inbox}");
    let notice =
        teacher_inbox.as_array().expect("list").iter().find(|n| n["event"] == "lesson_weather").expect("notice");
    assert_eq!(notice["title"], "Météo à risque élevé pour 2 leçons", "{notice}");
    let day = crate::fixtures::school::school_day(1);
    assert_eq!(notice["link"], format!("/school/planning?view=3days&week={day}"));
    let body = notice["body"].as_str().expect("body");
    assert!(body.contains("à 10:00 : Léa"), "{body}");
    assert!(body.contains("à 14:00 : Léa"), "{body}");
    assert!(body.contains("rendez-vous — — pluie 48 mm, rafales 95 km/h"), "{body}");

    // Once moved, a lesson is assessed again and, still high-risk, told about again.
    let moved = admin
        .put(
            &format!("/api/v1/school/lessons/{afternoon}"),
            &json!({ "starts_at": at(2, 16, 0), "ends_at": at(2, 17, 0) }),
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.text());
    assert_eq!(moved.json()["weather_risk"], serde_json::Value::Null, "no stale risk");
    let after_move = weather::refresh(&app.db, Some(&service), None, later).await.expect("refresh");
    assert_eq!(after_move.notified, 1);
    let single = teacher.get("/api/v1/notifications").await.json();
    let newest = single.as_array().expect("list").iter().find(|n| n["event"] == "lesson_weather").expect("notice");
    assert_eq!(newest["link"], format!("/school/lessons/{afternoon}"));
    assert!(
        newest["title"].as_str().is_some_and(|t| t.starts_with("Météo à risque élevé pour la leçon du")),
        "{newest}"
    );

    // Calm again, then stormy again: told again.
    stub.set(StubMode::Normal);
    let calm_again = weather::refresh(&app.db, Some(&service), None, later + chrono::Duration::minutes(62));
    assert_eq!(calm_again.await.expect("refresh").notified, 0);
    stub.set(StubMode::Storm);
    let storm_again = weather::refresh(&app.db, Some(&service), None, later + chrono::Duration::minutes(93));
    assert_eq!(storm_again.await.expect("refresh").notified, 2);

    // Shown on the planning (the instructor's agenda too) and on the lesson.
    let board = admin.get(&format!("/school/planning?week={day}")).await.text();
    assert!(board.contains("data-weather=\"high\""), "{board}");
    let agenda = teacher.get(&format!("/school/planning?view=day&week={day}")).await.text();
    assert!(agenda.contains("Météo : risque élevé"), "{agenda}");
    let page = admin.get(&format!("/school/lessons/{lesson}")).await.text();
    assert!(page.contains("pluie 48 mm, rafales 95 km/h"), "{page}");
    assert!(page.contains("Annuler pour météo"));

    // One click: cancelled for weather, inside the notice yet not charged.
    let reason = "Météo : pluie 48 mm, rafales 95 km/h";
    let cancelled = admin
        .post_form(&format!("/school/lessons/{lesson}/cancel"), &[("cancelled_by", "weather"), ("reason", reason)])
        .await;
    assert_eq!(cancelled.status, StatusCode::SEE_OTHER, "{}", cancelled.text());
    let after = admin.get(&format!("/api/v1/school/lessons/{lesson}")).await.json();
    assert_eq!(after["status"], "cancelled");
    assert_eq!(after["cancelled_by"], "weather");
    assert_eq!(after["late_cancellation"], false, "weather is never the candidate's charge");
}

async fn a_weather_service_down_or_answering_nonsense_never_fails_a_page(app: TestApp) {
    let stub = GeoStub::start().await;
    let service = stub.weather();
    let (lesson, _) = school(&app).await;
    let admin = app.as_admin();
    // Without any service configured, the page says so.
    let page = admin.get(&format!("/school/lessons/{lesson}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("Aucun service météo configuré"), "{}", page.text());
    let settings_page = admin.get("/school/weather").await.text();
    assert!(settings_page.contains("data-weather-off"));

    let mut now = chrono::Utc::now();
    for mode in [StubMode::Down, StubMode::Malformed, StubMode::Slow] {
        stub.set(mode);
        now += chrono::Duration::minutes(31);
        let run = weather::refresh(&app.db, Some(&service), None, now)
            .await
            .expect("a failing service is not the job's failure");
        assert_eq!((run.assessed, run.failed_areas), (0, 1), "{mode:?}");
        let page = admin.get(&format!("/school/lessons/{lesson}")).await;
        assert_eq!(page.status, StatusCode::OK, "{mode:?}");
        admin
            .get(&format!("/api/v1/school/lessons/{lesson}/weather"))
            .await
            .problem(StatusCode::NOT_FOUND, "not_found");
        assert_eq!(admin.get("/school/planning").await.status, StatusCode::OK);
    }
    // Once assessed, a service going down keeps the last assessment.
    stub.set(StubMode::Normal);
    now += chrono::Duration::minutes(31);
    weather::refresh(&app.db, Some(&service), None, now).await.expect("refresh");
    stub.set(StubMode::Down);
    now += chrono::Duration::minutes(31);
    weather::refresh(&app.db, Some(&service), None, now).await.expect("refresh");
    let kept = admin.get(&format!("/api/v1/school/lessons/{lesson}/weather")).await;
    assert_eq!(kept.status, StatusCode::OK);
    assert_eq!(kept.json()["risk"], "low");
}

async fn thresholds_are_the_school_s_with_the_seed_s_defaults(app: TestApp) {
    let admin = app.as_admin();
    let defaults = admin.get("/api/v1/school/weather/settings").await.json();
    assert_eq!(
        defaults,
        json!({ "enabled": true, "rain_medium_mm": 10.0, "rain_high_mm": 20.0, "heat_medium_c": 30.0, "heat_high_c": 35.0,
                "wind_medium_kmh": 60.0, "wind_high_kmh": 80.0, "snow_medium_cm": 0.0, "snow_high_cm": 1.0 })
    );
    let mut inverted = defaults.clone();
    inverted["rain_high_mm"] = json!(5.0);
    inverted["wind_medium_kmh"] = json!(-3.0);
    let refused = admin.put("/api/v1/school/weather/settings", &inverted).await;
    refused.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let mut fields = refused.error_fields();
    fields.sort();
    assert_eq!(fields, ["rain_high_mm", "wind_medium_kmh"]);

    // Stricter wind: the calm stub's 20 km/h gusts become a medium risk.
    let stub = GeoStub::start().await;
    let (lesson, _) = school(&app).await;
    let mut strict = defaults.clone();
    strict["wind_medium_kmh"] = json!(15.0);
    assert_eq!(admin.put("/api/v1/school/weather/settings", &strict).await.status, StatusCode::OK);
    weather::refresh(&app.db, Some(&stub.weather()), None, chrono::Utc::now()).await.expect("refresh");
    assert_eq!(admin.get(&format!("/api/v1/school/lessons/{lesson}/weather")).await.json()["risk"], "medium");

    // The form: French decimals, an unreadable figure kept as typed.
    let form = [
        ("enabled", "on"),
        ("rain_medium_mm", "12,5"),
        ("rain_high_mm", "25"),
        ("heat_medium_c", "30"),
        ("heat_high_c", "35"),
        ("wind_medium_kmh", "60"),
        ("wind_high_kmh", "80"),
        ("snow_medium_cm", "0"),
        ("snow_high_cm", "beaucoup"),
    ];
    let refused = admin.post_form("/school/weather", &form).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().contains("value=\"beaucoup\""));
    let mut form = form.to_vec();
    form[8] = ("snow_high_cm", "2");
    assert_eq!(admin.post_form("/school/weather", &form).await.status, StatusCode::SEE_OTHER);
    assert_eq!(admin.get("/api/v1/school/weather/settings").await.json()["rain_medium_mm"], 12.5);

    // Turned off: no assessment shown, nothing asked.
    let mut off = strict;
    off["enabled"] = json!(false);
    assert_eq!(admin.put("/api/v1/school/weather/settings", &off).await.status, StatusCode::OK);
    let before = stub.count("/v1/forecast");
    weather::refresh(&app.db, Some(&stub.weather()), None, chrono::Utc::now() + chrono::Duration::hours(1))
        .await
        .expect("refresh");
    assert_eq!(stub.count("/v1/forecast"), before);
    assert_eq!(
        admin.get(&format!("/api/v1/school/lessons/{lesson}")).await.json()["weather_risk"],
        serde_json::Value::Null
    );
}

async fn lessons_of_one_area_share_one_forecast(app: TestApp) {
    let stub = GeoStub::start().await;
    let (_, _) = school(&app).await;
    let admin = app.as_admin();
    // A second point a few hundred metres away, and a lesson there.
    let near = json!({ "name": "Bellecour", "address": "Place Bellecour", "latitude": 45.7578, "longitude": 4.832 });
    assert_eq!(admin.post("/api/v1/school/meeting-points", &near).await.status, StatusCode::CREATED);
    let teacher = instructor(&app, &["B"]).await;
    let car = training_car(&app, "B").await;
    let tom = candidate(&app, json!({ "first_name": "Tom" })).await["id"].as_i64().expect("id");
    let mut body = crate::fixtures::school::lesson(tom, teacher, car, &at(2, 14, 0), &at(2, 15, 0));
    body["meeting_point"] = json!("bellecour");
    assert_eq!(admin.post("/api/v1/school/lessons", &body).await.status, StatusCode::CREATED);
    let run = weather::refresh(&app.db, Some(&stub.weather()), None, chrono::Utc::now()).await.expect("refresh");
    assert_eq!(run.assessed, 2);
    assert_eq!(stub.count("/v1/forecast"), 1, "one area, one request");
    let again = weather::refresh(&app.db, Some(&stub.weather()), None, chrono::Utc::now()).await.expect("refresh");
    assert_eq!(again.assessed, 2);
    assert_eq!(stub.count("/v1/forecast"), 1, "the stored forecast serves for 30 minutes");
}
