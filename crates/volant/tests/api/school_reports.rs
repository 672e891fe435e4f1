//! Reports: instructor and vehicle utilisation, revenue of lessons done and due,
//! hours per candidate, pass rates — as tables, and as files produced in the
//! background (CSV, XLSX, PDF read back).

use axum::http::StatusCode;
use chrono::{DateTime, Duration, TimeZone, Timelike, Utc};
use chrono_tz::Europe::Paris;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::fixtures::school::{candidate, instructor, training_car};
use crate::helpers::TestApp;

/// A school with a week of activity: one lesson done, one missed, one cancelled late.
async fn activity(app: &TestApp) -> (i64, i64, i64) {
    let admin = app.as_admin();
    let teacher = instructor(app, &["B"]).await;
    let weekly: Vec<Value> = (1..=7).map(|d| json!({ "weekday": d, "start": "00:00", "end": "24:00" })).collect();
    admin
        .put(&format!("/api/v1/school/instructors/{teacher}/availability"), &json!({ "weekly": weekly }))
        .await
        .assert_success();
    let car = training_car(app, "B").await;
    let lea = candidate(app, json!({ "bought_minutes": 600, "first_name": "Léa", "last_name": "Rapport" })).await["id"]
        .as_i64()
        .unwrap();
    let mut settings = admin.get("/api/v1/school/settings").await.json();
    settings["hour_price"] = json!("50");
    settings["daily_limit_minutes"] = json!(600);
    admin.put("/api/v1/school/settings", &settings).await.assert_success();
    let now = Utc::now();
    // Lessons may not cross the school's midnight (Europe/Paris): the past ones are
    // yesterday in the daytime, the late one the next daytime hour a few hours ahead.
    let yesterday = (now.with_timezone(&Paris) - Duration::days(1)).date_naive();
    let at = |hour: u32| -> DateTime<Utc> {
        Paris.from_local_datetime(&yesterday.and_hms_opt(hour, 0, 0).unwrap()).single().unwrap().with_timezone(&Utc)
    };
    let mut soon = now + Duration::hours(3);
    while !(6..22).contains(&soon.with_timezone(&Paris).hour()) {
        soon += Duration::hours(1);
    }
    let book = |start: chrono::DateTime<Utc>, end: chrono::DateTime<Utc>| {
        json!({
            "candidate_id": lea,
            "instructor_id": teacher,
            "vehicle_id": car,
            "starts_at": start.to_rfc3339(),
            "ends_at": end.to_rfc3339()
        })
    };
    let done = admin.post("/api/v1/school/lessons", &book(at(10), at(11))).await.json()["id"].as_i64().unwrap();
    let missed = admin.post("/api/v1/school/lessons", &book(at(14), at(15))).await.json()["id"].as_i64().unwrap();
    let late = admin.post("/api/v1/school/lessons", &book(soon, soon + Duration::hours(1))).await.json()["id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        admin.post(&format!("/api/v1/school/lessons/{done}/outcome"), &json!({ "status": "done" })).await.status,
        StatusCode::OK
    );
    assert_eq!(
        admin.post(&format!("/api/v1/school/lessons/{missed}/outcome"), &json!({ "status": "no_show" })).await.status,
        StatusCode::OK
    );
    assert_eq!(
        admin.post(&format!("/api/v1/school/lessons/{late}/cancel"), &json!({})).await.json()["late_cancellation"],
        true
    );
    (teacher, car, lea)
}

fn period() -> String {
    let today = crate::fixtures::school::school_day(0);
    format!("from={}&to={}", today - Duration::days(6), today + Duration::days(3))
}

async fn ready_file(app: &TestApp, kind: &str, format: &str) -> crate::helpers::TestResponse {
    let admin = app.as_admin();
    let today = crate::fixtures::school::school_day(0);
    let requested = admin
        .post(
            "/api/v1/school/reports",
            &json!({
                "kind": kind,
                "format": format,
                "from": today - Duration::days(6),
                "to": today + Duration::days(3)
            }),
        )
        .await;
    assert_eq!(requested.status, StatusCode::ACCEPTED, "{}", requested.text());
    let id = requested.json()["id"].as_i64().unwrap();
    for _ in 0..100 {
        // The report is produced by a job, queued with the request.
        app.run_jobs().await;
        let status =
            admin.get(&format!("/api/v1/school/reports/{id}")).await.json()["status"].as_str().unwrap().to_owned();
        if status == "ready" {
            let file = admin.get(&format!("/api/v1/school/reports/{id}/file")).await;
            assert_eq!(file.status, StatusCode::OK);
            return file;
        }
        assert_eq!(status, "pending");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("report {id} never became ready");
}

backend_tests!(
    utilisation_and_revenue_count_what_was_booked_done_and_due,
    report_files_are_produced_in_the_background,
    pass_rates_headings_say_failed_in_every_format_and_periods_name_their_limit
);

async fn utilisation_and_revenue_count_what_was_booked_done_and_due(app: TestApp) {
    let admin = app.as_admin();
    let (_, _, lea) = activity(&app).await;
    let instructors = admin.get(&format!("/api/v1/school/report-data/instructor_utilisation?{}", period())).await;
    assert_eq!(instructors.status, StatusCode::OK, "{}", instructors.text());
    let row = instructors.json()["rows"][0].clone();
    // Ten days of 24 h; 2 h booked (the late cancellation frees the slot); 1 h done.
    // 2 h of 240 h is 0.8 %, shown with one decimal (a whole percent said "0").
    assert_eq!(row, json!([row[0].clone(), "240.00", "2.00", "1.00", "0.8"]));
    let cars = admin.get(&format!("/api/v1/school/report-data/vehicle_utilisation?{}", period())).await.json();
    assert_eq!((cars["rows"][0][3].as_str(), cars["rows"][0][4].as_str()), (Some("2.00"), Some("1.00")));

    let revenue = admin.get(&format!("/api/v1/school/report-data/revenue?{}", period())).await.json();
    let rows = revenue["rows"].as_array().unwrap();
    let months: Vec<&Value> = rows.iter().filter(|r| r[0].as_str().is_some_and(|m| m.starts_with("20"))).collect();
    let done: f64 = months.iter().map(|r| r[2].as_str().unwrap().parse::<f64>().unwrap()).sum();
    let due: f64 = months.iter().map(|r| r[4].as_str().unwrap().parse::<f64>().unwrap()).sum();
    assert_eq!((done, due), (50.0, 100.0), "{revenue}");
    // Sold to date: 10 h at 50 = 500; prepaid balance: 10 h − 1 done − 2 due = 7 h = 350.
    let sold = rows.iter().find(|r| r[0].as_str().is_some_and(|t| t.starts_with("Heures vendues"))).unwrap();
    assert_eq!((sold[1].as_str(), sold[2].as_str()), (Some("10.00"), Some("500.00")));
    let balance = rows.iter().find(|r| r[0].as_str().is_some_and(|t| t.starts_with("Solde"))).unwrap();
    assert_eq!((balance[1].as_str(), balance[2].as_str()), (Some("7.00"), Some("350.00")));

    let hours = admin.get("/api/v1/school/report-data/candidate_hours").await.json();
    let mine = hours["rows"].as_array().unwrap().iter().find(|r| r[1] == "Rapport Léa").unwrap().clone();
    assert_eq!(
        mine.as_array().unwrap()[4..].to_vec(),
        vec![json!("10.00"), json!("1.00"), json!("0.00"), json!("2.00"), json!("7.00")]
    );
    assert!(lea > 0);

    admin.get("/api/v1/school/report-data/nothing").await.problem(StatusCode::NOT_FOUND, "not_found");
    admin
        .get("/api/v1/school/report-data/revenue?from=2026-05-01&to=2026-01-01")
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    admin
        .get("/api/v1/school/report-data/revenue?from=2020-01-01&to=2026-01-01")
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
}

async fn report_files_are_produced_in_the_background(app: TestApp) {
    let admin = app.as_admin();
    activity(&app).await;
    let pdf = ready_file(&app, "revenue", "pdf").await;
    assert_eq!(pdf.header("content-type"), Some("application/pdf"));
    assert!(pdf.header("content-disposition").unwrap().contains("revenue-"));
    if let Some(text) = crate::fixtures::pdf_text(&pdf.body) {
        assert!(
            text.contains("Chiffre d'affaires des leçons") && text.contains("50,00") && text.contains("Page 1 / 1"),
            "{text}"
        );
    }
    let csv = ready_file(&app, "candidate_hours", "csv").await;
    let text = String::from_utf8(csv.body.clone()).unwrap();
    assert!(
        text.starts_with('\u{feff}') && text.contains("Heures restantes") && text.contains("Rapport Léa;B;;10,00"),
        "{text}"
    );
    let xlsx = ready_file(&app, "instructor_utilisation", "xlsx").await;
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(xlsx.body.clone())).expect("an XLSX is a zip");
    let mut shared = String::new();
    std::io::Read::read_to_string(&mut archive.by_name("xl/sharedStrings.xml").expect("strings"), &mut shared).unwrap();
    assert!(shared.contains("Heures disponibles"), "{shared}");

    // A request nobody produced yet (the process stopped): 409 until the periodic task makes it.
    let actor = volant::identity::audit::Actor::system(app.org);
    let request = volant::school::reports::service::ReportRequest {
        kind: Some(volant::school::reports::service::ReportKind::PassRates),
        format: Some(volant::school::reports::service::FileFormat::Csv),
        from: None,
        to: None,
    };
    let pending = volant::school::reports::service::request(&app.db, &actor, &request).await.unwrap();
    admin
        .get(&format!("/api/v1/school/reports/{}/file", pending.id))
        .await
        .problem(StatusCode::CONFLICT, "report_not_ready");
    assert!(volant::school::reports::service::produce_pending(&app.db, &app.state.files).await.unwrap() >= 1);
    // The files are in the file store, not in the database rows.
    let stored = std::fs::read_dir(app.files.path().join("reports").join(app.org.get().to_string()))
        .expect("reports folder")
        .count();
    assert!(stored >= 4, "{stored}");
    assert_eq!(admin.get(&format!("/api/v1/school/reports/{}/file", pending.id)).await.status, StatusCode::OK);
    let list = admin.get("/api/v1/school/reports").await.json();
    assert!(list.as_array().unwrap().len() >= 4 && list[0].get("content").is_none(), "{list}");
}

async fn pass_rates_headings_say_failed_in_every_format_and_periods_name_their_limit(app: TestApp) {
    let admin = app.as_admin();
    let data = admin.get("/api/v1/school/report-data/pass_rates").await;
    assert_eq!(data.status, StatusCode::OK, "{}", data.text());
    let data = data.json();
    let headings: Vec<&str> = data["headings"].as_array().expect("headings").iter().filter_map(Value::as_str).collect();
    assert_eq!(headings.get(3), Some(&"Échecs"), "{data}");
    let page = admin.get("/school/reports?kind=pass_rates").await.text();
    assert!(!page.contains("a échoué"), "{page}");
    let csv = String::from_utf8(ready_file(&app, "pass_rates", "csv").await.body).unwrap();
    assert!(csv.lines().next().unwrap().contains("Reçus;Échecs;Taux (%)"), "{csv}");
    let pdf = ready_file(&app, "pass_rates", "pdf").await;
    if let Some(text) = crate::fixtures::pdf_text(&pdf.body) {
        assert!(text.contains("Échecs") && !text.contains("a échoué"), "{text}");
    }
    // A school that works in English gets its files in English, made in the background.
    admin.patch("/api/v1/organization", &json!({ "locale": "en" })).await.assert_success();
    let csv = String::from_utf8(ready_file(&app, "pass_rates", "csv").await.body).unwrap();
    assert!(csv.lines().next().unwrap().contains("Passed,Failed,Rate (%)"), "{csv}");
    admin.patch("/api/v1/organization", &json!({ "locale": "fr" })).await.assert_success();
    // A period the wrong way round, or too long, says how long it may be.
    for query in ["from=2026-11-15&to=0117-04-30", "from=1900-01-01&to=2026-01-01"] {
        let refused = admin.get(&format!("/api/v1/school/exam-stats?{query}")).await;
        let problem = refused.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        let message = problem["errors"][0]["message"].as_str().unwrap_or_default().to_owned();
        assert!(message.contains("3653") && !message.contains('—'), "{problem}");
    }
    assert_eq!(admin.get("/api/v1/school/exam-stats?from=2026-01-01&to=2026-12-31").await.status, StatusCode::OK);
}
