//! Alerts a garage acts on: most urgent first (page after page), past-due work told
//! apart from vehicles never serviced here, owners with their phone, bulk actions
//! and reminders e-mailed to the owners who accept them.

use axum::http::StatusCode;
use chrono::{Days, Months, Utc};
use serde_json::{Value, json};

use crate::backend_tests;
use crate::fixtures::workshop::client;
use crate::fixtures::{follow, html};
use crate::helpers::{TestApp, queued_emails};

backend_tests!(
    alerts_come_most_urgent_first_page_after_page,
    owners_are_reminded_when_they_can_be_and_told_why_not,
    the_alerts_page_shows_owners_and_acts_on_the_ticked_rows
);

fn today() -> chrono::NaiveDate {
    Utc::now().with_timezone(&chrono_tz::Europe::Paris).date_naive()
}

/// A vehicle with an oil service (and tyres, brakes) done `months` ago at 40,000 km:
/// its oil alert is due by date, counted from work on record.
async fn serviced(app: &TestApp, plate: &str, months: u32) -> i64 {
    let garage = app.garage(&format!("Garage {plate}")).await;
    let id = app.vehicle(garage, plate).await;
    let performed = today().checked_sub_months(Months::new(months)).expect("date");
    let done = app
        .as_admin()
        .post(
            "/api/v1/interventions",
            &json!({
                "vehicle_id": id, "performed_on": performed, "mileage_km": 40_000,
                "description": "Révision", "services": ["oil_service", "tyres", "brakes"]
            }),
        )
        .await;
    assert_eq!(done.status, StatusCode::CREATED, "{}", done.text());
    id
}

/// A vehicle entered at 90,000 km with nothing on record: oil, tyres and brakes to check.
async fn never_serviced(app: &TestApp, plate: &str) -> i64 {
    let garage = app.garage(&format!("Garage {plate}")).await;
    let id = app.vehicle(garage, plate).await;
    let reading =
        app.as_admin().post(&format!("/api/v1/vehicles/{id}/mileage"), &json!({ "mileage_km": 90_000 })).await;
    assert_eq!(reading.status, StatusCode::CREATED, "{}", reading.text());
    id
}

async fn every_page(app: &TestApp, first: &str) -> Vec<Value> {
    let mut rows = Vec::new();
    let mut next = Some(first.to_owned());
    while let Some(uri) = next {
        let response = app.as_admin().get(&uri).await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.text());
        rows.extend(response.json().as_array().expect("array").iter().cloned());
        next = response.next_link();
    }
    rows
}

async fn alerts_come_most_urgent_first_page_after_page(app: TestApp) {
    let admin = app.as_admin();
    let long_overdue = serviced(&app, "UR-100-AA", 15).await;
    let overdue = serviced(&app, "UR-200-AA", 13).await;
    let unknown = never_serviced(&app, "UR-300-AA").await;
    // A first inspection in ten days (registered four years ago, less ten days): upcoming, not to check.
    let young = app.vehicle(app.garage("Garage UR-400").await, "UR-400-AA").await;
    let registered = today().checked_sub_months(Months::new(48)).and_then(|d| d.checked_add_days(Days::new(10)));
    admin
        .put(&format!("/api/v1/vehicles/{young}/service-info"), &json!({ "first_registration": registered }))
        .await
        .assert_success();

    let all = every_page(&app, "/api/v1/alerts?limit=200").await;
    let paged = every_page(&app, "/api/v1/alerts?limit=2").await;
    let ids = |rows: &[Value]| rows.iter().map(|a| a["id"].as_i64().expect("id")).collect::<Vec<_>>();
    assert_eq!(ids(&paged), ids(&all), "pages of two hold the same alerts in the same order, none twice");
    // Earliest due first; alerts due by mileage only (no date) last.
    let dates: Vec<Option<&str>> = all.iter().map(|a| a["due_on"].as_str()).collect();
    let mut sorted = dates.clone();
    sorted.sort_by_key(|d| (d.is_none(), *d));
    assert_eq!(dates, sorted, "{all:?}");
    // Counted from work on record, the longest overdue comes first.
    let known: Vec<&Value> = all.iter().filter(|a| a["to_check"] == false).collect();
    assert_eq!(known[0]["vehicle_id"].as_i64(), Some(long_overdue), "{known:?}");
    let at = |vehicle: i64| all.iter().position(|a| a["vehicle_id"] == vehicle && a["kind"] == "oil_service");
    assert!(at(young) < at(long_overdue) && at(long_overdue) < at(overdue), "by due date: {all:?}");
    // Real overdue work, vehicles never serviced here, and what is coming are told apart.
    let window = |w: &str| {
        let w = w.to_owned();
        let app = &app;
        async move { every_page(app, &format!("/api/v1/alerts?window={w}")).await }
    };
    let vehicles = |rows: &[Value]| {
        let mut v: Vec<i64> = rows.iter().map(|a| a["vehicle_id"].as_i64().expect("vehicle")).collect();
        v.dedup();
        v
    };
    let past_due = window("overdue").await;
    assert!(past_due.iter().all(|a| a["to_check"] == false), "{past_due:?}");
    assert!(vehicles(&past_due).starts_with(&[long_overdue, overdue]), "{past_due:?}");
    // Never serviced here (the young car's oil change too, counted from its registration).
    let to_check = window("to_check").await;
    let mut checked = vehicles(&to_check);
    checked.sort_unstable();
    checked.dedup();
    assert_eq!(checked, [unknown, young], "{to_check:?}");
    assert!(to_check.iter().all(|a| a["to_check"] == true));
    let upcoming = window("upcoming").await;
    assert!(upcoming.iter().any(|a| a["vehicle_id"] == young && a["kind"] == "inspection"), "{upcoming:?}");

    // A cursor is only ever one the list gave.
    for bad in ["k1", "k1.x", "k1.99999999999"] {
        admin
            .get(&format!("/api/v1/alerts?cursor={bad}"))
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    }
    admin.get("/api/v1/alerts?cursor=i1").await.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");

    // The dashboard counts them apart too.
    let dashboard = admin.get("/api/v1/dashboard").await.json();
    let sum = |field: &str| -> i64 {
        dashboard["alerts"].as_array().expect("alerts").iter().map(|a| a[field].as_i64().expect("n")).sum()
    };
    assert_eq!(sum("to_check"), i64::try_from(to_check.len()).expect("count"), "{dashboard}");
    assert!(sum("overdue") >= 2, "{dashboard}");
    let page = html(&admin.get("/dashboard").await);
    let shown = format!("{} à vérifier (jamais fait ici)", to_check.len());
    assert!(page.contains(&shown) && page.contains("/alerts?window=to_check"), "{page}");
}

async fn owners_are_reminded_when_they_can_be_and_told_why_not(app: TestApp) {
    let admin = app.as_admin();
    let reachable = never_serviced(&app, "RM-100-AA").await;
    let no_email = never_serviced(&app, "RM-200-AA").await;
    let no_owner = never_serviced(&app, "RM-300-AA").await;
    let jeanne = client(
        &app,
        json!({ "name": "Jeanne Écluse", "email": "jeanne.ecluse@exemple.fr", "consent_notifications": true }),
    )
    .await;
    let paul = client(&app, json!({ "name": "Paul Sans-Mail", "phone": "06 12 34 56 78" })).await;
    for (owner, vehicle) in [(jeanne, reachable), (paul, no_email)] {
        admin
            .post(&format!("/api/v1/clients/{owner}/vehicles"), &json!({ "vehicle_id": vehicle }))
            .await
            .assert_success();
    }
    let all = every_page(&app, "/api/v1/alerts?limit=200").await;
    let of = |vehicle: i64| -> Vec<i64> {
        all.iter().filter(|a| a["vehicle_id"] == vehicle).map(|a| a["id"].as_i64().expect("id")).collect()
    };
    let before = queued_emails(&app, 50).await.len();
    let mut asked = of(reachable);
    asked.extend(of(no_email));
    asked.push(of(no_owner)[0]);
    let answer = admin.post("/api/v1/alerts/reminders", &json!({ "alert_ids": asked })).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    let outcome = answer.json();
    let by_vehicle = |vehicle: i64| -> Vec<(bool, Value)> {
        outcome
            .as_array()
            .expect("array")
            .iter()
            .filter(|r| r["vehicle_id"] == vehicle)
            .map(|r| (r["emailed"].as_bool().expect("emailed"), r["skipped"].clone()))
            .collect()
    };
    assert!(by_vehicle(reachable).iter().all(|r| *r == (true, Value::Null)), "{outcome}");
    assert!(by_vehicle(no_email).iter().all(|r| *r == (false, json!("no_email"))), "{outcome}");
    assert_eq!(by_vehicle(no_owner), [(false, json!("no_owner"))], "{outcome}");
    // One e-mail for Jeanne's car, listing its three alerts.
    let emails = queued_emails(&app, 50).await;
    assert_eq!(emails.len() - before, 1, "{emails:?}");
    assert_eq!(emails[0].to, "jeanne.ecluse@exemple.fr");
    assert!(emails[0].subject.contains("RM-100-AA"), "{}", emails[0].subject);
    // Asked again the same day (a second click, a colleague): not sent twice, and said why.
    let again = admin.post("/api/v1/alerts/reminders", &json!({ "alert_ids": of(reachable) })).await.json();
    assert!(again.as_array().expect("array").iter().all(|r| r["skipped"] == "recently_reminded"), "{again}");
    // Two people at once for another of Jeanne's cars: one e-mail.
    let second = never_serviced(&app, "RM-400-AA").await;
    admin.post(&format!("/api/v1/clients/{jeanne}/vehicles"), &json!({ "vehicle_id": second })).await.assert_success();
    let alerts_of_second: Vec<i64> = every_page(&app, "/api/v1/alerts?limit=200")
        .await
        .iter()
        .filter(|a| a["vehicle_id"] == second)
        .map(|a| a["id"].as_i64().expect("id"))
        .collect();
    let manager = app.as_role(volant::identity::roles::Role::Manager).await;
    let body = json!({ "alert_ids": alerts_of_second });
    let (a, b) =
        tokio::join!(admin.post("/api/v1/alerts/reminders", &body), manager.post("/api/v1/alerts/reminders", &body));
    let emailed = [a.json(), b.json()].iter().filter(|o| o[0]["emailed"] == true).count();
    assert_eq!(emailed, 1, "one of the two sends");
    assert_eq!(queued_emails(&app, 50).await.len() - before, 2, "Jeanne's two cars, one e-mail each");

    admin
        .post("/api/v1/alerts/reminders", &json!({ "alert_ids": [] }))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    admin
        .post("/api/v1/alerts/reminders", &json!({ "alert_ids": [asked[0], 999_999] }))
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
    let instructor = app.user("moniteur.rappel@example.fr", &[volant::identity::roles::Role::Instructor]).await;
    let refused =
        app.as_user(&instructor).await.post("/api/v1/alerts/reminders", &json!({ "alert_ids": [asked[0]] })).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text());
}

async fn the_alerts_page_shows_owners_and_acts_on_the_ticked_rows(app: TestApp) {
    let admin = app.as_admin();
    let car = never_serviced(&app, "BK-100-AA").await;
    let other = never_serviced(&app, "BK-200-AA").await;
    let paul = client(&app, json!({ "name": "Paul Rappel", "phone": "06 98 76 54 32" })).await;
    admin.post(&format!("/api/v1/clients/{paul}/vehicles"), &json!({ "vehicle_id": car })).await.assert_success();

    let page = html(&admin.get("/alerts").await);
    assert!(page.contains(&format!("href=\"/clients/{paul}\">Paul Rappel</a>")), "owner linked: {page}");
    assert!(page.contains("href=\"tel:06 98 76 54 32\""), "phone to call: {page}");
    assert!(page.contains("Aucun propriétaire"), "{page}");
    assert!(page.contains("data-select-all=\"bulk-alerts\"") && page.contains("form=\"bulk-alerts\""), "{page}");
    assert!(page.contains("À vérifier"), "{page}");

    let all = every_page(&app, "/api/v1/alerts?limit=200").await;
    let ids: Vec<String> =
        all.iter().filter(|a| a["vehicle_id"] == car).map(|a| a["id"].as_i64().expect("id").to_string()).collect();
    assert_eq!(ids.len(), 3);
    let mut fields: Vec<(&str, &str)> = ids.iter().map(|id| ("ids", id.as_str())).collect();
    fields.extend([("action", "acknowledge"), ("back", "/alerts")]);
    let done = admin.post_form("/alerts/bulk", &fields).await;
    assert!(html(&follow(&app, &done).await).contains("3 alerte(s) mise(s) à jour."));
    let statuses: Vec<Value> = every_page(&app, &format!("/api/v1/alerts?vehicle_id={car}")).await;
    assert!(statuses.iter().all(|a| a["status"] == "acknowledged"), "{statuses:?}");
    // Again: already acknowledged, said so rather than failing.
    let again = admin.post_form("/alerts/bulk", &fields).await;
    assert!(html(&follow(&app, &again).await).contains("3 alerte(s) déjà dans cet état"));

    // Snoozed together until a date.
    let until = today().checked_add_days(Days::new(30)).expect("date").to_string();
    let mut snooze: Vec<(&str, &str)> = ids.iter().map(|id| ("ids", id.as_str())).collect();
    snooze.extend([("action", "snooze"), ("until", until.as_str()), ("back", "/alerts")]);
    admin.post_form("/alerts/bulk", &snooze).await;
    let snoozed = every_page(&app, &format!("/api/v1/alerts?vehicle_id={car}")).await;
    assert!(snoozed.iter().all(|a| a["status"] == "snoozed" && a["snoozed_until"] == until.as_str()), "{snoozed:?}");

    // Reminders: Paul has no e-mail address, the other car no owner — said, in words.
    let other_id =
        all.iter().find(|a| a["vehicle_id"] == other).expect("other")["id"].as_i64().expect("id").to_string();
    let remind = [("ids", ids[0].as_str()), ("ids", other_id.as_str()), ("action", "remind"), ("back", "/alerts")];
    let reminded = html(&follow(&app, &admin.post_form("/alerts/bulk", &remind).await).await);
    assert!(reminded.contains("Rappel envoyé à 0 propriétaire(s)."), "{reminded}");
    assert!(
        reminded.contains("Propriétaire sans e-mail : 1 véhicule(s) (à appeler).")
            && reminded.contains("Sans propriétaire enregistré : 1 véhicule(s)."),
        "{reminded}"
    );

    // An id that is not one of ours refuses the whole action, before any change.
    let stranger = [("ids", ids[0].as_str()), ("ids", "999999"), ("action", "resolve"), ("back", "/alerts")];
    assert_eq!(admin.post_form("/alerts/bulk", &stranger).await.status, StatusCode::NOT_FOUND);
    let still = every_page(&app, &format!("/api/v1/alerts?vehicle_id={car}")).await;
    assert!(still.iter().all(|a| a["status"] == "snoozed"), "nothing resolved: {still:?}");
    let nothing = admin.post_form("/alerts/bulk", &[("action", "acknowledge"), ("back", "/alerts")]).await;
    assert!(html(&follow(&app, &nothing).await).contains("Cochez au moins une alerte."));
}
