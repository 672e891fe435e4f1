//! Service history and maintenance: readings (never backwards unless a correction),
//! interventions (from scratch or from an accepted quote, once), alerts computed
//! date-first and mileage-first, never duplicated, resolved by the work, and
//! the alert workflow.

use axum::http::{Method, StatusCode};
use chrono::{Days, Utc};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::fixtures::workshop::client;
use crate::helpers::{TestApp, json_request, send};

fn today() -> chrono::NaiveDate {
    Utc::now().with_timezone(&chrono_tz::Europe::Paris).date_naive()
}

fn days_ago(n: u64) -> String {
    today().checked_sub_days(Days::new(n)).expect("date").to_string()
}

async fn vehicle(app: &TestApp, plate: &str) -> i64 {
    let garage = app.garage(&format!("Garage {plate}")).await;
    app.vehicle(garage, plate).await
}

async fn alerts(app: &TestApp, query: &str) -> Vec<Value> {
    let response = app.as_admin().get(&format!("/api/v1/alerts{query}")).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    response.json().as_array().expect("array").clone()
}

fn kinds(alerts: &[Value]) -> Vec<String> {
    let mut kinds: Vec<String> = alerts.iter().map(|a| a["kind"].as_str().expect("kind").to_owned()).collect();
    kinds.sort();
    kinds
}

backend_tests!(
    readings_never_go_backwards_unless_corrected,
    oil_service_alert_comes_first_by_mileage_then_resolves_with_the_service,
    inspection_and_insurance_alerts_come_by_date,
    rules_have_organization_defaults_and_vehicle_overrides,
    the_alert_workflow_and_its_illegal_moves,
    an_accepted_quote_becomes_the_intervention_once,
    concurrent_readings_keep_the_odometer_monotonic
);

async fn readings_never_go_backwards_unless_corrected(app: TestApp) {
    let admin = app.as_admin();
    let id = vehicle(&app, "RD-100-AA").await;
    let path = format!("/api/v1/vehicles/{id}/mileage");
    assert_eq!(
        admin
            .post(
                &path,
                &json!({
                    "mileage_km": 50_000,
                    "read_on": days_ago(30)
                })
            )
            .await
            .status,
        StatusCode::CREATED
    );
    assert_eq!(admin.post(&path, &json!({ "mileage_km": 51_000 })).await.status, StatusCode::CREATED);
    let lower = admin.post(&path, &json!({ "mileage_km": 40_000 })).await;
    let problem = lower.problem(StatusCode::CONFLICT, "mileage_lower_than_last");
    assert!(problem["detail"].as_str().is_some_and(|d| d.contains("51000")), "{problem}");
    let earlier = admin.post(&path, &json!({ "mileage_km": 52_000, "read_on": days_ago(60) })).await;
    assert_eq!(earlier.error_fields(), ["mileage_km"]);
    let future = admin
        .post(
            &path,
            &json!({
                "mileage_km": 52_000,
                "read_on": today().checked_add_days(Days::new(3)).expect("date").to_string()
            }),
        )
        .await;
    assert_eq!(future.error_fields(), ["read_on"]);
    // The odometer was replaced.
    let corrected = admin.post(&path, &json!({ "mileage_km": 10, "is_correction": true })).await;
    assert_eq!(corrected.status, StatusCode::CREATED, "{}", corrected.text());
    let readings = admin.get(&path).await.json();
    assert_eq!(readings.as_array().map(Vec::len), Some(3));
    // The fleet's figure follows the latest reading.
    assert_eq!(admin.get(&format!("/api/v1/vehicles/{id}")).await.json()["mileage_km"], 10);
}

async fn oil_service_alert_comes_first_by_mileage_then_resolves_with_the_service(app: TestApp) {
    let admin = app.as_admin();
    let id = vehicle(&app, "OIL-200-AA").await;
    // Last oil service 100 days ago at 40,000 km; driven 150 km a day since.
    let done = admin
        .post(
            "/api/v1/interventions",
            &json!({
                "vehicle_id": id, "performed_on": days_ago(100), "mileage_km": 40_000,
                "description": "Vidange", "services": ["oil_service", "tyres", "brakes"]
            }),
        )
        .await;
    assert_eq!(done.status, StatusCode::CREATED, "{}", done.text());
    assert!(alerts(&app, &format!("?vehicle_id={id}")).await.iter().all(|a| a["kind"] != "oil_service"));
    let reading = admin.post(&format!("/api/v1/vehicles/{id}/mileage"), &json!({ "mileage_km": 54_500 })).await;
    assert_eq!(reading.status, StatusCode::CREATED, "{}", reading.text());
    // 500 km left at 145 km a day: due by mileage in 4 days, long before the 12 months.
    let raised = alerts(&app, &format!("?vehicle_id={id}&kind=oil_service")).await;
    assert_eq!(raised.len(), 1, "{raised:?}");
    assert_eq!(raised[0]["due_km"], 55_000);
    assert_eq!(raised[0]["due_on"], today().checked_add_days(Days::new(4)).expect("date").to_string());
    assert_eq!(raised[0]["status"], "open");
    let status = admin.get(&format!("/api/v1/vehicles/{id}/maintenance")).await.json();
    let oil =
        status["rules"].as_array().expect("rules").iter().find(|r| r["kind"] == "oil_service").expect("oil").clone();
    assert_eq!(oil["urgency"], "upcoming");
    assert_eq!(oil["last_done_km"], 40_000);
    // Recomputing changes nothing: one alert per occurrence.
    for _ in 0..3 {
        volant::workshop::maintenance::service::refresh_all(&app.db, Utc::now()).await.expect("refresh");
    }
    assert_eq!(alerts(&app, &format!("?vehicle_id={id}&kind=oil_service")).await.len(), 1);
    // The oil service is under way (the car stays in the workshop): the alert waits for it.
    let service = admin.post("/api/v1/interventions", &json!({
            "vehicle_id": id, "mileage_km": 54_900, "description": "Vidange 5W30", "services": ["oil_service"], "in_progress": true,
            "lines": [{ "kind": "part", "description": "Huile 5W30", "quantity": "4.5", "unit": "l", "unit_price": "12.90" }]
        })).await;
    assert_eq!(service.status, StatusCode::CREATED, "{}", service.text());
    assert_eq!(service.json()["total_excl_tax"], "58.05");
    assert_eq!(alerts(&app, &format!("?vehicle_id={id}&kind=oil_service")).await.len(), 1, "not done yet");
    // Done: the alert resolves, the next cycle starts.
    let done = admin.post(&format!("/api/v1/interventions/{}/complete", service.json()["id"]), &json!({})).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text());
    assert!(alerts(&app, &format!("?vehicle_id={id}&kind=oil_service")).await.is_empty());
    let resolved = alerts(&app, &format!("?vehicle_id={id}&kind=oil_service&status=resolved")).await;
    assert_eq!(resolved.len(), 1);
    let next = admin.get(&format!("/api/v1/vehicles/{id}/maintenance")).await.json();
    let oil =
        next["rules"].as_array().expect("rules").iter().find(|r| r["kind"] == "oil_service").expect("oil").clone();
    assert_eq!(oil["next"]["due_km"], 69_900);
    assert_eq!(oil["urgency"], "later");
}

async fn inspection_and_insurance_alerts_come_by_date(app: TestApp) {
    let admin = app.as_admin();
    let id = vehicle(&app, "CT-300-AA").await;
    // First registered four years ago less 10 days: the first inspection is due in 10 days.
    let registered = today()
        .checked_sub_months(chrono::Months::new(48))
        .expect("date")
        .checked_add_days(Days::new(10))
        .expect("date");
    let insurance = today().checked_add_days(Days::new(90)).expect("date");
    let info = admin
        .put(
            &format!("/api/v1/vehicles/{id}/service-info"),
            &json!({
                "first_registration": registered,
                "insurance_expiry": insurance
            }),
        )
        .await;
    assert_eq!(info.status, StatusCode::OK, "{}", info.text());
    let raised = alerts(&app, &format!("?vehicle_id={id}")).await;
    // Four years without a recorded oil, tyre or brake service: those are overdue by
    // date; the inspection is due in 10 days; the insurance is 90 days away.
    assert_eq!(kinds(&raised), ["brakes", "inspection", "oil_service", "tyres"]);
    let inspection = raised.iter().find(|a| a["kind"] == "inspection").expect("inspection");
    assert_eq!(inspection["due_on"], today().checked_add_days(Days::new(10)).expect("date").to_string());
    assert_eq!(kinds(&alerts(&app, "?window=upcoming").await), ["inspection"]);
    // Never done here: to check with the owner, not "overdue since four years".
    assert_eq!(kinds(&alerts(&app, "?window=to_check").await), ["brakes", "oil_service", "tyres"]);
    assert!(alerts(&app, "?window=overdue").await.is_empty());
    // The insurance comes closer, then expires.
    let soon = today().checked_add_days(Days::new(20)).expect("date");
    admin
        .put(
            &format!("/api/v1/vehicles/{id}/service-info"),
            &json!({
                "first_registration": registered,
                "insurance_expiry": soon
            }),
        )
        .await
        .assert_success();
    assert_eq!(kinds(&alerts(&app, "?window=upcoming").await), ["inspection", "insurance"]);
    let past = today().checked_sub_days(Days::new(1)).expect("date");
    admin
        .put(
            &format!("/api/v1/vehicles/{id}/service-info"),
            &json!({
                "first_registration": registered,
                "insurance_expiry": past
            }),
        )
        .await
        .assert_success();
    assert_eq!(kinds(&alerts(&app, "?window=overdue&kind=insurance").await), ["insurance"]);
    // The renewed date was a new occurrence: the earlier one resolved itself.
    assert_eq!(alerts(&app, "?kind=insurance&status=resolved").await.len(), 1);
    assert_eq!(alerts(&app, "?kind=insurance").await.len(), 1);
}

async fn rules_have_organization_defaults_and_vehicle_overrides(app: TestApp) {
    let admin = app.as_admin();
    let id = vehicle(&app, "RL-400-AA").await;
    let rules = admin.get("/api/v1/maintenance/rules").await.json();
    assert_eq!(rules.as_array().map(Vec::len), Some(5));
    let changed = admin
        .put(
            "/api/v1/maintenance/rules/oil_service",
            &json!({
                "kind": "x",
                "name": "Vidange",
                "interval_km": 10_000,
                "interval_months": 12,
                "active": true
            }),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text());
    assert_eq!(changed.json()["kind"], "oil_service");
    let custom = admin
        .put(
            "/api/v1/maintenance/rules/custom_clim",
            &json!({
                "kind": "",
                "name": "Recharge climatisation",
                "interval_months": 24,
                "active": true
            }),
        )
        .await;
    assert_eq!(custom.status, StatusCode::OK, "{}", custom.text());
    assert_eq!(admin.get("/api/v1/maintenance/rules").await.json().as_array().map(Vec::len), Some(6));
    let bad = admin
        .put(
            "/api/v1/maintenance/rules/vidange",
            &json!({
                "kind": "",
                "name": "",
                "interval_km": -1,
                "active": true
            }),
        )
        .await;
    let mut fields = bad.error_fields();
    fields.sort();
    assert_eq!(fields, ["interval_km", "kind", "name"]);
    let override_rule = admin
        .put(
            &format!("/api/v1/vehicles/{id}/maintenance/rules/oil_service"),
            &json!({
                "kind": "",
                "name": "Vidange (usage intensif)",
                "interval_km": 5_000,
                "active": true
            }),
        )
        .await;
    assert_eq!(override_rule.status, StatusCode::OK, "{}", override_rule.text());
    let applied = admin.get(&format!("/api/v1/vehicles/{id}/maintenance/rules")).await.json();
    let oil = applied.as_array().expect("rules").iter().find(|r| r["kind"] == "oil_service").expect("oil").clone();
    assert_eq!((oil["interval_km"].clone(), oil["overridden"].clone()), (json!(5_000), json!(true)));
    assert_eq!(
        admin.delete(&format!("/api/v1/vehicles/{id}/maintenance/rules/oil_service")).await.status,
        StatusCode::NO_CONTENT
    );
    let applied = admin.get(&format!("/api/v1/vehicles/{id}/maintenance/rules")).await.json();
    let oil = applied.as_array().expect("rules").iter().find(|r| r["kind"] == "oil_service").expect("oil").clone();
    assert_eq!((oil["interval_km"].clone(), oil["overridden"].clone()), (json!(10_000), json!(false)));
}

async fn the_alert_workflow_and_its_illegal_moves(app: TestApp) {
    let admin = app.as_admin();
    let id = vehicle(&app, "WF-500-AA").await;
    let reading = admin.post(&format!("/api/v1/vehicles/{id}/mileage"), &json!({ "mileage_km": 90_000 })).await;
    assert_eq!(reading.status, StatusCode::CREATED);
    // Nothing on record at 90,000 km: oil, tyres and brakes are overdue by mileage.
    let raised = alerts(&app, &format!("?vehicle_id={id}")).await;
    assert_eq!(kinds(&raised), ["brakes", "oil_service", "tyres"]);
    assert_eq!(alerts(&app, "?window=to_check").await.len(), 3);
    assert!(raised.iter().all(|a| a["to_check"] == true), "{raised:?}");
    let alert = raised.iter().find(|a| a["kind"] == "oil_service").expect("oil")["id"].as_i64().expect("id");
    let path = format!("/api/v1/alerts/{alert}");
    // An action takes its own fields only (a snooze's date is not an acknowledgement's).
    let odd = admin.post(&path, &json!({ "action": "acknowledge", "until": "2099-01-01" })).await;
    assert_eq!(odd.error_fields(), ["until"]);
    let stray = admin.post(&path, &json!({ "action": "acknowledge", "note": "x" })).await;
    assert_eq!(stray.error_fields(), ["note"]);
    assert_eq!(admin.post(&path, &json!({ "action": "acknowledge" })).await.json()["status"], "acknowledged");
    admin.post(&path, &json!({ "action": "acknowledge" })).await.problem(StatusCode::CONFLICT, "illegal_transition");
    let past = admin.post(&path, &json!({ "action": "snooze", "until": days_ago(1) })).await;
    assert_eq!(past.error_fields(), ["until"]);
    let until = today().checked_add_days(Days::new(7)).expect("date").to_string();
    let snoozed = admin.post(&path, &json!({ "action": "snooze", "until": until })).await.json();
    assert_eq!((snoozed["status"].clone(), snoozed["snoozed_until"].clone()), (json!("snoozed"), json!(until)));
    // A snoozed alert wakes up when its date has come.
    // Eight days later (the organization's day then, in its zone).
    let later = Utc::now() + chrono::Duration::days(8);
    volant::workshop::maintenance::service::refresh_all(&app.db, later).await.expect("refresh");
    assert_eq!(admin.get("/api/v1/alerts?status=open&kind=oil_service").await.json()[0]["id"], alert);
    assert_eq!(admin.post(&path, &json!({ "action": "resolve" })).await.json()["status"], "resolved");
    admin.post(&path, &json!({ "action": "resolve" })).await.problem(StatusCode::CONFLICT, "illegal_transition");
    assert_eq!(admin.post(&path, &json!({ "action": "reopen" })).await.json()["status"], "open");
    let unknown = admin.post(&path, &json!({ "action": "explode" })).await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    admin.get("/api/v1/alerts?window=soon").await.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
}

async fn an_accepted_quote_becomes_the_intervention_once(app: TestApp) {
    let admin = app.as_admin();
    let owner = client(
        &app,
        json!({
            "name": "Jeanne",
            "email": "jeanne@exemple.fr",
            "consent_notifications": true
        }),
    )
    .await;
    let id = vehicle(&app, "QT-600-AA").await;
    admin.post(&format!("/api/v1/clients/{owner}/vehicles"), &json!({ "vehicle_id": id })).await.assert_success();
    let quote = admin
        .post(
            "/api/v1/quotes",
            &json!({
                "client_id": owner, "vehicle_id": id, "line_decisions": true,
                "lines": [
                    { "kind": "part", "description": "Filtre à huile", "unit_price": "12.50" },
                    { "kind": "labour", "description": "Vidange", "quantity": "0.5", "unit": "h", "unit_price": "60" },
                    { "kind": "part", "description": "Essuie-glaces", "unit_price": "25" }
                ]
            }),
        )
        .await
        .json();
    let quote_id = quote["id"].as_i64().expect("id");
    let path = format!("/api/v1/quotes/{quote_id}/intervention");
    admin.post(&path, &json!({})).await.problem(StatusCode::CONFLICT, "quote_not_accepted");
    admin.post(&format!("/api/v1/quotes/{quote_id}/send"), &json!({})).await.assert_success();
    let lines: Vec<i64> =
        quote["lines"].as_array().expect("lines").iter().map(|l| l["id"].as_i64().expect("id")).collect();
    let decided = admin
        .post(
            &format!("/api/v1/quotes/{quote_id}/decision"),
            &json!({
                "decision": "accept",
                "accepted_line_ids": [lines[0], lines[1]]
            }),
        )
        .await;
    assert_eq!(decided.status, StatusCode::OK, "{}", decided.text());
    let done = admin
        .post(
            &path,
            // No services named: the accepted lines imply the oil service.
            &json!({
                "mileage_km": 61_000,
                "technician": "Karim"
            }),
        )
        .await;
    assert_eq!(done.status, StatusCode::CREATED, "{}", done.text());
    let done = done.json();
    assert_eq!(done["quote_id"], quote_id);
    assert_eq!(done["client_id"], owner);
    assert_eq!(done["lines"].as_array().map(Vec::len), Some(2), "only the accepted lines");
    assert_eq!(done["total_excl_tax"], "42.50");
    assert_eq!(done["services"], json!(["oil_service"]));
    admin.post(&path, &json!({})).await.problem(StatusCode::CONFLICT, "quote_already_carried_out");
    let history = admin.get(&format!("/api/v1/vehicles/{id}/interventions")).await.json();
    assert_eq!(history.as_array().map(Vec::len), Some(1));
    assert_eq!(admin.get(&format!("/api/v1/clients/{owner}/interventions")).await.json()[0]["id"], done["id"]);
    // The vehicle cannot disappear with its history.
    admin.delete(&format!("/api/v1/vehicles/{id}")).await.problem(StatusCode::CONFLICT, "vehicle_has_history");
    // Tyres and brakes never done at 61,000 km: the consenting owner gets one reminder.
    let mail = crate::helpers::queued_emails(&app, 10).await;
    let reminders: Vec<_> = mail.iter().filter(|m| m.subject.contains("QT-600-AA")).collect();
    assert_eq!(reminders.len(), 1, "{mail:?}");
    assert_eq!(reminders[0].to, "jeanne@exemple.fr");
}

async fn concurrent_readings_keep_the_odometer_monotonic(app: TestApp) {
    let admin = app.as_admin();
    let id = vehicle(&app, "CR-700-AA").await;
    let mut tasks = Vec::new();
    for km in [10_000, 12_000, 11_000, 15_000, 13_000, 14_000] {
        let request = admin
            .authorize(json_request(
                Method::POST,
                &format!("/api/v1/vehicles/{id}/mileage"),
                &json!({ "mileage_km": km }),
            ))
            .await;
        tasks.push(tokio::spawn(send(app.router.clone(), request)));
    }
    for task in tasks {
        let response = task.await.expect("task");
        assert!(
            matches!(response.status, StatusCode::CREATED | StatusCode::CONFLICT),
            "{} {}",
            response.status,
            response.text()
        );
    }
    let readings = admin.get(&format!("/api/v1/vehicles/{id}/mileage")).await.json();
    let km: Vec<i64> =
        readings.as_array().expect("array").iter().map(|r| r["mileage_km"].as_i64().expect("km")).collect();
    assert!(km.windows(2).all(|w| w[0] <= w[1]), "{km:?}");
    assert!(!km.is_empty());
}

backend_tests!(
    the_periodic_run_raises_alerts_as_time_passes_and_tells_the_managers,
    the_hourly_run_walks_the_fleet_once_a_day_then_only_what_changed
);

async fn the_periodic_run_raises_alerts_as_time_passes_and_tells_the_managers(app: TestApp) {
    let admin = app.as_admin();
    let id = vehicle(&app, "PR-800-AA").await;
    let manager = app.user("gerant@garage.fr", &[volant::identity::roles::Role::Manager]).await;
    app.user("atelier@garage.fr", &[volant::identity::roles::Role::Staff]).await;
    // The first inspection falls due in 40 days: nothing yet.
    let registered = today()
        .checked_sub_months(chrono::Months::new(48))
        .expect("date")
        .checked_add_days(Days::new(40))
        .expect("date");
    // Only the inspection here (an organization's rule changes apply at the next periodic run).
    for kind in ["oil_service", "tyres", "brakes"] {
        admin
            .put(
                &format!("/api/v1/maintenance/rules/{kind}"),
                &json!({
                    "kind": "",
                    "name": kind,
                    "active": false
                }),
            )
            .await
            .assert_success();
    }
    admin
        .put(&format!("/api/v1/vehicles/{id}/service-info"), &json!({ "first_registration": registered }))
        .await
        .assert_success();
    assert!(alerts(&app, "").await.is_empty());
    let service = volant::workshop::maintenance::service::refresh_all;
    assert_eq!(service(&app.db, Utc::now()).await.expect("run").raised, 0);
    // Two weeks later the inspection is within 30 days.
    let later = Utc::now() + chrono::Duration::days(14);
    assert_eq!(service(&app.db, later).await.expect("run").raised, 1);
    assert_eq!(service(&app.db, later).await.expect("run").raised, 0, "re-runs raise nothing");
    let mail = crate::helpers::queued_emails(&app, 20).await;
    let digests: Vec<&str> = mail.iter().filter(|m| m.subject.contains("alerte")).map(|m| m.to.as_str()).collect();
    assert!(digests.contains(&manager.email.as_str()), "{mail:?}");
    assert!(!digests.contains(&"atelier@garage.fr"), "staff are not managers");
}

async fn the_hourly_run_walks_the_fleet_once_a_day_then_only_what_changed(app: TestApp) {
    let admin = app.as_admin();
    let garage = app.garage("Garage horaire").await;
    let mut ids = Vec::new();
    for plate in ["HR-100-AA", "HR-200-AA", "HR-300-AA"] {
        ids.push(app.vehicle(garage, plate).await);
    }
    let run = |at| volant::workshop::maintenance::service::refresh_all(&app.db, at);
    let now = Utc::now();
    // The day's first run walks the whole fleet.
    assert_eq!(run(now).await.expect("run").vehicles, 3);
    // The vehicles were last changed yesterday: the next hour's run has nothing to walk.
    app.db
        .execute_unprepared(&format!(
            "UPDATE vehicles SET updated_at = '{}'",
            (now - chrono::Duration::days(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
        ))
        .await
        .expect("backdated");
    assert_eq!(run(now).await.expect("run").vehicles, 0);
    // A vehicle's odometer is set through the fleet's own form (no reading recorded
    // by the workshop): the next run walks that vehicle only, and finds its services
    // to check at 90,000 km.
    admin.patch(&format!("/api/v1/vehicles/{}", ids[1]), &json!({ "mileage_km": 90_000 })).await.assert_success();
    assert!(alerts(&app, &format!("?vehicle_id={}", ids[1])).await.is_empty());
    let changed = run(now).await.expect("run");
    assert_eq!((changed.vehicles, changed.raised), (1, 3));
    assert_eq!(kinds(&alerts(&app, &format!("?vehicle_id={}", ids[1])).await), ["brakes", "oil_service", "tyres"]);
    // An organization's rule changes: the next run walks the whole fleet again.
    admin
        .put(
            "/api/v1/maintenance/rules/oil_service",
            &json!({ "kind": "", "name": "Vidange", "interval_km": 10_000, "interval_months": 12, "active": true }),
        )
        .await
        .assert_success();
    assert_eq!(run(now).await.expect("run").vehicles, 3);
    // Within five minutes of the change, a run walks the whole fleet again (the
    // change may have committed after the previous run read the rules)…
    assert_eq!(run(now).await.expect("run").vehicles, 3);
    // …an hour later, only the vehicle changed within the margin.
    app.db
        .execute_unprepared(&format!(
            "UPDATE maintenance_refreshes SET rules_changed_at = '{}'",
            (now - chrono::Duration::hours(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
        ))
        .await
        .expect("an hour ago");
    assert_eq!(run(now).await.expect("run").vehicles, 1, "only the vehicle changed within the margin");
    // The organization's next day: the whole fleet again.
    assert_eq!(run(now + chrono::Duration::days(1)).await.expect("run").vehicles, 3);
}
