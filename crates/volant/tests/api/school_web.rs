//! School pages without JavaScript: the planning board with its free slots,
//! booking through the form (refusals shown on the form), cancelling, the
//! candidate's portal, and where each role lands after signing in.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::{Duration, Utc};
use serde_json::json;
use volant::identity::roles::Role;

use crate::backend_tests;
use crate::helpers::{TEST_CSRF, TestApp, TestResponse};
use crate::school_planning::{candidate, instructor, training_car};
use crate::web::{follow, html};

async fn page_as(app: &TestApp, user: &volant::identity::users::service::AuthUser, uri: &str) -> TestResponse {
    let session = volant::identity::auth::issue(&app.db, &app.signing_key, user, "web").await.expect("session").token;
    let request = Request::get(uri)
        .header(header::COOKIE, format!("volant_session={session}; volant_csrf={TEST_CSRF}"))
        .body(Body::empty())
        .expect("request");
    app.send_anonymous(request).await
}

fn as_refs<'a>(fields: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    fields.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

backend_tests! {
    async fn the_admin_books_from_a_free_slot_and_the_candidate_sees_it(app) {
        let teacher = instructor(&app, &["B"]).await;
        let car = training_car(&app, "B").await;
        let lea_user = app.user("lea.web@example.fr", &[Role::Candidate]).await;
        let lea = candidate(&app, json!({ "user_id": lea_user.id, "first_name": "Léa", "last_name": "Planchon", "bought_minutes": 1200 })).await["id"].as_i64().unwrap();
        let day = Utc::now().date_naive() + Duration::days(2);

        let board = app.get(&format!("/school/planning?week={day}&instructor_id={teacher}")).await;
        assert_eq!(board.status, StatusCode::OK, "{}", board.text());
        let board = html(&board);
        let slot = format!("/school/lessons/new?date={day}&start=10%3A00&instructor_id={teacher}");
        assert!(board.contains(&slot), "no free slot link for 10:00: {}", board.lines().filter(|l| l.contains("slot")).take(3).collect::<Vec<_>>().join("\n"));

        let form = app.get(&slot).await;
        assert_eq!(form.status, StatusCode::OK, "{}", form.text());
        let form = html(&form);
        assert!(form.contains(&format!("value=\"{day}\"")) && form.contains("value=\"11:00\""), "prefilled form");

        let fields = |start: &str, end: &str| {
            vec![
                ("candidate_id", lea.to_string()), ("instructor_id", teacher.to_string()), ("vehicle_id", car.to_string()),
                ("kind", "driving".to_owned()), ("date", day.to_string()), ("start", start.to_owned()), ("end", end.to_owned()),
                ("meeting_point", "Gare Saint-Charles".to_owned()),
            ]
        };
        let booked = app.post_form("/school/lessons", &as_refs(&fields("10:00", "11:00"))).await;
        let page = html(&follow(&app, &booked).await);
        assert!(page.contains("Leçon réservée pour Léa Planchon"), "flash");
        assert!(page.contains("10:00–11:00") && page.contains("Léa Planchon"), "the lesson is on the board");
        assert!(!page.contains(&slot), "the slot is no longer free");

        // The same slot again: refused on the form, with the lesson in the way.
        let refused = app.post_form("/school/lessons", &as_refs(&fields("10:30", "11:30"))).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html(&refused).contains("Le moniteur a déjà la leçon n°"), "{}", refused.text());
        let bad = app.post_form("/school/lessons", &as_refs(&fields("25:00", ""))).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html(&bad).contains("Heure invalide"));

        // The candidate's portal shows it, with her hours.
        let portal = page_as(&app, &lea_user, "/portal").await;
        assert_eq!(portal.status, StatusCode::OK, "{}", portal.text());
        let portal = html(&portal);
        assert!(portal.contains(&format!("{} 10:00–11:00", day.format("%d/%m/%Y"))), "{portal}");
        assert!(portal.contains("Gare Saint-Charles") && portal.contains("20 h"), "{portal}");

        // Cancelling from the board (well ahead: not late).
        let lesson = app.get(&format!("/api/v1/school/lessons?candidate_id={lea}")).await.json()[0]["id"].as_i64().unwrap();
        let cancelled = app.post_form(&format!("/school/lessons/{lesson}/cancel"), &[]).await;
        let page = html(&follow(&app, &cancelled).await);
        assert!(page.contains("Leçon annulée"), "flash");
        assert!(html(&page_as(&app, &lea_user, "/portal").await).contains("Aucune leçon prévue"));
    }

    async fn each_role_lands_where_it_works(app) {
        let signed_out = app.send_anonymous(Request::get("/").body(Body::empty()).expect("request")).await;
        assert_eq!(signed_out.header("location"), Some("/login"));
        let cases = [(Role::Candidate, "/portal"), (Role::Instructor, "/school/planning"), (Role::Manager, "/garages")];
        for (role, home) in cases {
            let user = app.user(&format!("home-{}@example.fr", role.as_str()), &[role]).await;
            let response = page_as(&app, &user, "/").await;
            assert_eq!(response.header("location"), Some(home), "{role:?}");
            let landing = page_as(&app, &user, home).await;
            assert_eq!(landing.status, StatusCode::OK, "{role:?} {}", landing.text());
            let page = html(&landing);
            assert_eq!(page.contains("href=\"/garages\""), role == Role::Manager, "{role:?} garages link");
            assert_eq!(page.contains("href=\"/portal\""), role == Role::Candidate, "{role:?} portal link");
        }
    }
}
