//! School pages without JavaScript: the planning board with its free slots,
//! booking through the form (refusals shown on the form), cancelling, the
//! candidate's portal, and where each role lands after signing in.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::json;
use volant::identity::roles::Role;

use crate::backend_tests;
use crate::fixtures::school::{at, booked_lesson, candidate, instructor, training_car};
use crate::fixtures::{follow, html};
use crate::helpers::{TEST_CSRF, TestApp, TestResponse};

async fn page_as(app: &TestApp, user: &volant::identity::users::service::AuthUser, uri: &str) -> TestResponse {
    let session = volant::identity::auth::issue(&app.db, &app.signing_key, user, "web").await.expect("session").token;
    let request = Request::get(uri)
        .header(header::COOKIE, format!("volant_session={session}; volant_csrf={TEST_CSRF}"))
        .body(Body::empty())
        .expect("request");
    app.anonymous().send(request).await
}

fn as_refs<'a>(fields: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    fields.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

backend_tests!(
    the_admin_books_from_a_free_slot_and_the_candidate_sees_it,
    each_role_lands_where_it_works,
    staff_keep_candidate_files_through_forms,
    instructors_report_lessons_with_the_grid_and_people_exchange_messages,
    staff_set_up_instructors_cars_rules_exams_and_reports_through_pages,
    instructors_enter_and_validate_results_from_their_page,
    the_board_offers_only_taught_hours_and_the_agenda_shows_a_day_as_an_instructor_lives_it
);

async fn the_admin_books_from_a_free_slot_and_the_candidate_sees_it(app: TestApp) {
    let admin = app.as_admin();
    let teacher = instructor(&app, &["B"]).await;
    let car = training_car(&app, "B").await;
    let lea_user = app.user("lea.web@example.fr", &[Role::Candidate]).await;
    let lea = candidate(
        &app,
        json!({
            "user_id": lea_user.id,
            "first_name": "Léa",
            "last_name": "Planchon",
            "bought_minutes": 1200
        }),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let day = crate::fixtures::school::school_day(2);

    let board = admin.get(&format!("/school/planning?week={day}&instructor_id={teacher}")).await;
    assert_eq!(board.status, StatusCode::OK, "{}", board.text());
    let board = html(&board);
    let slot = format!("/school/lessons/new?date={day}&start=10%3A00&instructor_id={teacher}");
    assert!(
        board.contains(&slot),
        "no free slot link for 10:00: {}",
        board.lines().filter(|l| l.contains("slot")).take(3).collect::<Vec<_>>().join("\n")
    );

    let form = admin.get(&slot).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.text());
    let form = html(&form);
    assert!(form.contains(&format!("value=\"{day}\"")) && form.contains("value=\"11:00\""), "prefilled form");
    assert!(form.contains(&format!("<option value=\"{car}\" selected>")), "the school's only car is chosen: {form}");

    let fields = |start: &str, end: &str| {
        vec![
            ("candidate_id", lea.to_string()),
            ("instructor_id", teacher.to_string()),
            ("vehicle_id", car.to_string()),
            ("kind", "driving".to_owned()),
            ("date", day.to_string()),
            ("start", start.to_owned()),
            ("end", end.to_owned()),
            ("meeting_point", "Gare Saint-Charles".to_owned()),
        ]
    };
    let booked = admin.post_form("/school/lessons", &as_refs(&fields("10:00", "11:00"))).await;
    let page = html(&follow(&app, &booked).await);
    assert!(page.contains("Leçon réservée pour Léa Planchon"), "flash");
    assert!(page.contains("10:00–11:00") && page.contains("Léa Planchon"), "the lesson is on the board");
    assert!(!page.contains(&slot), "the slot is no longer free");

    // The same slot again: refused on the form, with the lesson in the way.
    let refused = admin.post_form("/school/lessons", &as_refs(&fields("10:30", "11:30"))).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let refusal = html(&refused);
    assert!(refusal.contains("Le moniteur a déjà une leçon avec Léa Planchon"), "named, not numbered: {refusal}");
    assert!(refusal.contains("de 10:00 à 11:00") && !refusal.contains("leçon n°"), "{refusal}");
    assert!(refusal.contains("Prochains créneaux libres"), "free hours are proposed: {refusal}");
    let proposed = format!("candidate_id={lea}&instructor_id={teacher}&vehicle_id={car}");
    assert!(refusal.contains(&proposed), "each one opens the form filled in: {refusal}");
    let bad = admin.post_form("/school/lessons", &as_refs(&fields("25:00", ""))).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html(&bad).contains("Heure invalide"));

    // The candidate's portal shows it, with her hours.
    let portal = page_as(&app, &lea_user, "/portal").await;
    assert_eq!(portal.status, StatusCode::OK, "{}", portal.text());
    let portal = html(&portal);
    assert!(portal.contains(&format!("{} 10:00–11:00", day.format("%d/%m/%Y"))), "{portal}");
    assert!(portal.contains("Gare Saint-Charles") && portal.contains("20 h"), "{portal}");

    // Her notifications list the booking.
    let lesson =
        admin.get(&format!("/api/v1/school/lessons?candidate_id={lea}")).await.json()[0]["id"].as_i64().unwrap();
    assert!(portal.contains("Mes notifications"), "{portal}");
    // Moving from the lesson's page: onto a taken slot is refused with the reason, elsewhere it moves.
    let other = candidate(&app, json!({})).await["id"].as_i64().unwrap();
    let other_car = training_car(&app, "B").await;
    admin
        .post(
            "/api/v1/school/lessons",
            &json!({
                "candidate_id": other,
                "instructor_id": teacher,
                "vehicle_id": other_car,
                "starts_at": crate::fixtures::school::at(2, 14, 0),
                "ends_at": crate::fixtures::school::at(2, 15, 0)
            }),
        )
        .await
        .assert_success();
    let refused = admin
        .post_form(
            &format!("/school/lessons/{lesson}/move"),
            &[("date", &day.to_string()), ("start", "14:30"), ("end", "15:30")],
        )
        .await;
    assert!(html(&follow(&app, &refused).await).contains("Le moniteur a déjà une leçon avec"), "the reason is shown");
    let moved = admin
        .post_form(
            &format!("/school/lessons/{lesson}/move"),
            &[("date", &day.to_string()), ("start", "16:00"), ("end", "17:00")],
        )
        .await;
    assert!(html(&follow(&app, &moved).await).contains("Leçon déplacée"));
    let notices = html(&page_as(&app, &lea_user, "/portal").await);
    assert!(notices.contains("16:00–17:00"), "the portal follows the move");

    // Cancelling from the board (well ahead: not late) asks who and why first.
    let cancel = format!("/school/lessons/{lesson}/cancel");
    assert!(html(&admin.get(&format!("/school/planning?week={day}")).await).contains(&format!("href=\"{cancel}\"")));
    let confirm = html(&admin.get(&cancel).await);
    assert!(confirm.contains("name=\"cancelled_by\"") && confirm.contains("Météo"), "{confirm}");
    let unexplained = admin.post_form(&cancel, &[("cancelled_by", "school"), ("reason", " ")]).await;
    assert_eq!(unexplained.status, StatusCode::UNPROCESSABLE_ENTITY, "a reason is asked");
    let reason = "Voiture au garage\r\nfrein à main 🚗";
    let cancelled = admin.post_form(&cancel, &[("cancelled_by", "school"), ("reason", reason)]).await;
    let page = html(&follow(&app, &cancelled).await);
    assert!(page.contains("Leçon annulée"), "flash");
    let shown = html(&admin.get(&format!("/school/lessons/{lesson}")).await);
    assert!(shown.contains("Auto-école") && shown.contains("frein à main 🚗"), "who and why are kept: {shown}");
    assert!(html(&page_as(&app, &lea_user, "/portal").await).contains("Aucune leçon prévue"));

    // Late (tomorrow is always within the 48 hours' notice, and within the instructor's hours whatever
    // the time of the run): the school's own cancellation is not charged; the candidate's is, unless waived.
    let tomorrow = |hour: u32| crate::fixtures::school::at(1, hour, 0);
    for (hour, by, waive, charged) in
        [(10, "school", false, false), (12, "candidate", true, false), (14, "candidate", false, true)]
    {
        let late = booked_lesson(&app, lea, teacher, car, &tomorrow(hour), &tomorrow(hour + 1)).await;
        let body = json!({ "cancelled_by": by, "waive_fee": waive, "reason": "Imprévu" });
        let done = admin.post(&format!("/api/v1/school/lessons/{late}/cancel"), &body).await.json();
        assert_eq!(
            (done["late_cancellation"].as_bool(), done["fee_waived"].as_bool()),
            (Some(charged), Some(waive)),
            "{done}"
        );
    }
}

async fn each_role_lands_where_it_works(app: TestApp) {
    let signed_out = app.anonymous().send(Request::get("/").body(Body::empty()).expect("request")).await;
    assert_eq!(signed_out.header("location"), Some("/login"));
    // A business past its first steps (see identity_welcome for the checklist).
    volant::identity::organizations::service::dismiss_welcome(&app.db, app.org, true).await.expect("dismissed");
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

async fn staff_keep_candidate_files_through_forms(app: TestApp) {
    let admin = app.as_admin();
    let teacher = instructor(&app, &["B"]).await;
    app.user("portail.form@example.fr", &[Role::Candidate]).await;
    let created = admin
        .post_form(
            "/school/candidates",
            &[
                ("last_name", "Formulaire"),
                ("first_name", "Inès"),
                ("category", "B"),
                ("theory_status", "in_progress"),
                ("instructor_id", &teacher.to_string()),
                ("forecast_hours", "27,5"),
                ("bought_hours", "20"),
                ("id_document_number", "FR-998877"),
                ("birth_date", "2005-02-03"),
                ("address", "3 rue Haute"),
                ("account_email", "portail.form@example.fr"),
                ("registered_on", ""),
                ("number", ""),
            ],
        )
        .await;
    let page = html(&follow(&app, &created).await);
    assert!(page.contains("Dossier de Inès Formulaire créé."), "flash");
    assert!(
        page.contains("FR-998877") && page.contains("03/02/2005") && page.contains("portail.form@example.fr"),
        "the file shows the protected data"
    );
    assert!(page.contains("27 h 30") && page.contains("20 h"), "hours forecast and bought");
    // Each competency's progress as a bar any screen reads (a meter, not a drawing).
    assert!(
        page.contains("Livret d'apprentissage")
            && page.contains("<meter min=\"0\" max=\"100\" value=\"0\" aria-labelledby=\"progress-C1\">"),
        "the grid and its bars: {page}"
    );
    let list = html(&admin.get("/school/candidates?q=formul").await);
    assert!(list.contains("Formulaire Inès"), "search");
    let id: i64 = created.header("location").unwrap().trim_start_matches("/school/candidates/").parse().unwrap();
    let edit = html(&admin.get(&format!("/school/candidates/{id}/edit")).await);
    assert!(edit.contains("value=\"27,5\"") && edit.contains("value=\"FR-998877\""), "the form is prefilled");
    let bad = admin
        .post_form(
            &format!("/school/candidates/{id}/edit"),
            &[
                ("last_name", ""),
                ("first_name", "Inès"),
                ("category", "B"),
                ("forecast_hours", "dix"),
                ("account_email", "inconnu@example.fr"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let bad = html(&bad);
    assert!(bad.contains("Saisissez un nombre entier") || bad.contains("nombre"), "hours");
    assert!(bad.contains("Aucun compte de votre organisation"), "account");
    // Dates are written in the reader's language.
    admin.patch("/api/v1/organization", &json!({ "locale": "en" })).await.assert_success();
    let english = html(&admin.get(&format!("/school/candidates/{id}")).await);
    assert!(english.contains("3 Feb 2005") && !english.contains("03/02/2005"), "{english}");
}

async fn instructors_report_lessons_with_the_grid_and_people_exchange_messages(app: TestApp) {
    let admin = app.as_admin();
    let (teacher, teacher_user) = {
        let id = instructor(&app, &["B"]).await;
        let user = app.user("compte.rendu@example.fr", &[Role::Instructor]).await;
        let mut body = admin.get(&format!("/api/v1/school/instructors/{id}")).await.json();
        body["user_id"] = json!(user.id);
        admin.put(&format!("/api/v1/school/instructors/{id}"), &body).await.assert_success();
        (id, user)
    };
    let weekly: Vec<serde_json::Value> = (1..=7)
        .map(|d| {
            json!({
                "weekday": d,
                "start": "00:00",
                "end": "24:00"
            })
        })
        .collect();
    admin
        .put(&format!("/api/v1/school/instructors/{teacher}/availability"), &json!({ "weekly": weekly }))
        .await
        .assert_success();
    let car = training_car(&app, "B").await;
    let lea_user = app.user("lea.compte@example.fr", &[Role::Candidate]).await;
    let lea = candidate(
        &app,
        json!({
            "user_id": lea_user.id,
            "instructor_id": teacher,
            "first_name": "Léa",
            "last_name": "Compte"
        }),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let lesson = booked_lesson(
        &app,
        lea,
        teacher,
        car,
        &crate::fixtures::school::at(-1, 10, 0),
        &crate::fixtures::school::at(-1, 11, 0),
    )
    .await;

    // In the car: the grid is rows of tap-able levels, not 31 drop-downs.
    let report = html(&page_as(&app, &teacher_user, &format!("/school/lessons/{lesson}")).await);
    assert!(
        report.contains("type=\"radio\" name=\"level_C1d\" value=\"3\"") && !report.contains("<select id=\"level_")
    );
    let session = volant::identity::auth::issue(&app.db, &app.signing_key, &teacher_user, "web").await.unwrap().token;
    let cookies = format!("volant_session={session}; volant_csrf={TEST_CSRF}");
    let token = app.csrf_for(&session);
    let form = |uri: &str, fields: &[(&str, &str)]| {
        let mut fields = fields.to_vec();
        fields.push(("_csrf", &token));
        Request::post(uri)
            .header(header::COOKIE, cookies.clone())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(serde_urlencoded::to_string(&fields).unwrap()))
            .unwrap()
    };
    let page = html(&page_as(&app, &teacher_user, &format!("/school/lessons/{lesson}")).await);
    assert!(page.contains("Compte rendu de la leçon") && page.contains("level_C1a"), "the outcome form with the grid");
    let saved = app
        .anonymous()
        .send(form(
            &format!("/school/lessons/{lesson}/outcome"),
            &[
                ("status", "done"),
                ("notes", "Démarrage en côte"),
                ("level_C1d", "3"),
                ("level_C1e", ""),
                ("level_C2a", "1"),
            ],
        ))
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
    let grid = admin.get(&format!("/api/v1/school/progress?candidate_id={lea}")).await.json();
    let level = |c: usize, item: &str| {
        grid[c]["items"].as_array().unwrap().iter().find(|i| i["item"] == item).unwrap()["level"].as_i64()
    };
    assert_eq!((level(0, "C1d"), level(0, "C1e"), level(1, "C2a")), (Some(3), Some(0), Some(1)));
    let portal = html(&page_as(&app, &lea_user, "/portal").await);
    assert!(
        portal.contains("Démarrage en côte") && portal.contains("Assimilé"),
        "the candidate sees the report and the grid"
    );

    // Léa asks for a free slot; her instructor reads the request and answers.
    assert!(portal.contains("/portal/request"), "free slots offered as requests");
    let slot = crate::fixtures::school::at(2, 10, 0);
    let lea_session = volant::identity::auth::issue(&app.db, &app.signing_key, &lea_user, "web").await.unwrap().token;
    let lea_cookies = format!("volant_session={lea_session}; volant_csrf={TEST_CSRF}");
    let lea_token = app.csrf_for(&lea_session);
    let request = Request::post("/portal/request")
        .header(header::COOKIE, lea_cookies.clone())
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(
            serde_urlencoded::to_string([("starts_at", slot.as_str()), ("_csrf", lea_token.as_str())]).unwrap(),
        ))
        .unwrap();
    let asked = app.anonymous().send(request).await;
    assert_eq!(asked.status, StatusCode::SEE_OTHER, "{}", asked.text());
    let thread = asked.header("location").unwrap().to_owned();
    let inbox = html(&page_as(&app, &teacher_user, "/messages").await);
    assert!(inbox.contains("Demande de leçon le") && inbox.contains("1 non lu"), "{inbox}");
    let answered = app.anonymous().send(form(&thread, &[("body", "C'est d'accord, je vous inscris.")])).await;
    assert_eq!(answered.status, StatusCode::SEE_OTHER);
    let conversation = html(&page_as(&app, &lea_user, &thread).await);
    assert!(
        conversation.contains("C'est d'accord, je vous inscris.") && conversation.contains("je souhaiterais une leçon")
    );

    // When the school allows it, the same slot is booked at once.
    let mut settings = admin.get("/api/v1/school/settings").await.json();
    settings["candidates_may_book"] = json!(true);
    admin.put("/api/v1/school/settings", &settings).await.assert_success();
    let request = Request::post("/portal/book")
        .header(header::COOKIE, lea_cookies.clone())
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(
            serde_urlencoded::to_string([("starts_at", slot.as_str()), ("_csrf", lea_token.as_str())]).unwrap(),
        ))
        .unwrap();
    let booked = app.anonymous().send(request).await;
    assert_eq!(booked.header("location"), Some("/portal"));
    assert!(booked.header("set-cookie").unwrap().contains("success"), "{:?}", booked.header("set-cookie"));
    assert_eq!(
        admin.get(&format!("/api/v1/school/lessons?candidate_id={lea}")).await.json().as_array().unwrap().len(),
        2
    );

    // Her calendar address is shown once, on its own page.
    let request = Request::post("/calendar-feed")
        .header(header::COOKIE, lea_cookies)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("_csrf={lea_token}")))
        .unwrap();
    let feed = app.anonymous().send(request).await;
    assert_eq!(feed.status, StatusCode::OK);
    assert!(html(&feed).contains("/calendar/"), "shown once, on its own page");
}

async fn staff_set_up_instructors_cars_rules_exams_and_reports_through_pages(app: TestApp) {
    let admin = app.as_admin();
    let saved = admin
        .post_form(
            "/school/instructors",
            &[
                ("last_name", "Page"),
                ("first_name", "Nadia"),
                ("licence_number", "AE-PAGE-1"),
                ("cat_B", "on"),
                ("cat_A", "on"),
                ("d1_s1", "08:00"),
                ("d1_e1", "12:00"),
                ("d1_s2", "14:00"),
                ("d1_e2", "18:00"),
                ("d3_s1", "09:00"),
                ("d3_e1", "17:00"),
                ("days_off", "2030-01-02 Congés"),
                ("active", "on"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
    let id: i64 = saved.header("location").unwrap().trim_start_matches("/school/instructors/").parse().unwrap();
    let week = admin.get(&format!("/api/v1/school/instructors/{id}/availability")).await.json();
    assert_eq!(week["weekly"].as_array().unwrap().len(), 3, "{week}");
    assert_eq!(week["days_off"][0], json!({ "day": "2030-01-02", "reason": "Congés" }));
    assert_eq!(admin.get(&format!("/api/v1/school/instructors/{id}")).await.json()["categories"], json!(["A", "B"]));
    let edit = html(&admin.get(&format!("/school/instructors/{id}")).await);
    assert!(edit.contains("value=\"14:00\"") && edit.contains("2030-01-02 Congés"), "prefilled");
    let bad = admin
        .post_form(
            &format!("/school/instructors/{id}"),
            &[
                ("last_name", "Page"),
                ("first_name", "Nadia"),
                ("licence_number", "AE-PAGE-1"),
                ("cat_B", "on"),
                ("d2_s1", "12:00"),
                ("d2_e1", "10:00"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html(&bad).contains("La fin doit suivre le début"));

    let garage = app.garage("Garage école").await;
    app.vehicle(garage, "EC-001-OL").await;
    let flagged = admin
        .post_form(
            "/school/vehicles",
            &[("plate", "ec 001 ol"), ("category", "B"), ("dual_controls", "on"), ("active", "on")],
        )
        .await;
    assert!(html(&follow(&app, &flagged).await).contains("est un véhicule école"));
    let unknown = admin.post_form("/school/vehicles", &[("plate", "ZZ-999-ZZ"), ("category", "B")]).await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);

    let rules = admin
        .post_form(
            "/school/settings",
            &[
                ("daily_limit_hours", "1,5"),
                ("cancellation_notice_hours", "24"),
                ("min_driving_hours_for_exam", "20"),
                ("hour_price", "48,50"),
                ("four_eyes", "on"),
            ],
        )
        .await;
    assert_eq!(rules.status, StatusCode::SEE_OTHER, "{}", rules.text());
    let settings = admin.get("/api/v1/school/settings").await.json();
    assert_eq!(
        (
            settings["daily_limit_minutes"].as_i64(),
            settings["hour_price"].as_str(),
            settings["candidates_may_book"].as_bool()
        ),
        (Some(90), Some("48.50"), Some(false))
    );
    let bad = admin
        .post_form(
            "/school/settings",
            &[
                ("daily_limit_hours", "0"),
                ("cancellation_notice_hours", "x"),
                ("min_driving_hours_for_exam", "20"),
                ("hour_price", "10"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Exams: a session, a registration, a result entered here and validated by another person.
    let day = crate::fixtures::school::school_day(15).to_string();
    let session = admin
        .post_form(
            "/school/exams/sessions",
            &[
                ("kind", "theory"),
                ("date", &day),
                ("time", "08:30"),
                ("centre", "Centre des Aygalades"),
                ("seats", "3"),
            ],
        )
        .await;
    assert_eq!(session.status, StatusCode::SEE_OTHER, "{}", session.text());
    let session_url = session.header("location").unwrap().to_owned();
    let lea = candidate(&app, json!({ "first_name": "Léa", "last_name": "Examen" })).await["id"].as_i64().unwrap();
    let registered =
        admin.post_form(&format!("{session_url}/registrations"), &[("candidate_id", &lea.to_string())]).await;
    assert!(html(&follow(&app, &registered).await).contains("Léa Examen est inscrit(e)"));
    let option = format!("<option value=\"{lea}\"");
    assert!(!html(&admin.get(&session_url).await).contains(&option), "a registered candidate is not offered again");
    let entered = admin
        .post_form(
            "/school/exams/results",
            &[("candidate_id", &lea.to_string()), ("exam_type", "theory"), ("outcome", "passed"), ("score", "38")],
        )
        .await;
    let page = html(&follow(&app, &entered).await);
    assert!(page.contains("Résultat saisi") && page.contains("à valider par une autre personne"), "four-eyes shown");
    let result =
        admin.get(&format!("/api/v1/school/exam-results?candidate_id={lea}")).await.json()[0]["id"].as_i64().unwrap();
    let manager = app.user("second.regard@example.fr", &[Role::Manager]).await;
    let session_cookie = volant::identity::auth::issue(&app.db, &app.signing_key, &manager, "web").await.unwrap().token;
    let request = Request::post(format!("/school/exams/results/{result}/validate"))
        .header(header::COOKIE, format!("volant_session={session_cookie}; volant_csrf={TEST_CSRF}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("_csrf={}", app.csrf_for(&session_cookie))))
        .unwrap();
    let validated = app.anonymous().send(request).await;
    assert!(validated.header("set-cookie").unwrap().contains("success"), "{:?}", validated.header("set-cookie"));
    assert_eq!(admin.get(&format!("/api/v1/school/exam-results/{result}")).await.json()["status"], "passed");
    let results = html(&admin.get("/school/exams").await);
    let by = format!("{}, le ", manager.display_name);
    assert!(results.contains("Validé par") && results.contains(&by), "who validated it is shown: {results}");
    assert!(results.contains(">Code<") && results.contains(">Reçu<"), "labels start with a capital");

    // Reports: the table on the page, then a file made in the background.
    let page = html(&admin.get("/school/reports?kind=candidate_hours").await);
    assert!(page.contains("Examen Léa") && page.contains("Heures restantes"), "the table");
    let asked = admin
        .post_form("/school/reports/files", &[("kind", "candidate_hours"), ("format", "csv"), ("from", ""), ("to", "")])
        .await;
    assert_eq!(asked.status, StatusCode::SEE_OTHER);
    let mut ready = None;
    for _ in 0..100 {
        app.run_jobs().await;
        let files = admin.get("/api/v1/school/reports").await.json();
        if files[0]["status"] == "ready" {
            ready = files[0]["id"].as_i64();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let file = admin.get(&format!("/school/reports/files/{}", ready.expect("the file became ready"))).await;
    assert_eq!(file.status, StatusCode::OK);
    assert!(String::from_utf8_lossy(&file.body).contains("Examen Léa"));
}

async fn instructors_enter_and_validate_results_from_their_page(app: TestApp) {
    let admin = app.as_admin();
    let mut accounts = Vec::new();
    for email in ["resultats.un@example.fr", "resultats.deux@example.fr"] {
        let id = instructor(&app, &["B"]).await;
        let user = app.user(email, &[Role::Instructor]).await;
        let mut body = admin.get(&format!("/api/v1/school/instructors/{id}")).await.json();
        body["user_id"] = json!(user.id);
        admin.put(&format!("/api/v1/school/instructors/{id}"), &body).await.assert_success();
        accounts.push((id, user));
    }
    let (first, first_user) = &accounts[0];
    let (_, second_user) = &accounts[1];
    let lea = candidate(
        &app,
        json!({
            "instructor_id": first,
            "first_name": "Léa",
            "last_name": "Résultat"
        }),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let post_as = |user: &volant::identity::users::service::AuthUser,
                   uri: String,
                   fields: Vec<(&'static str, String)>| {
        let (app, user) = (&app, user.clone());
        async move {
            let session = volant::identity::auth::issue(&app.db, &app.signing_key, &user, "web").await.unwrap().token;
            let mut fields = fields;
            fields.push(("_csrf", app.csrf_for(&session)));
            let request = Request::post(uri)
                .header(header::COOKIE, format!("volant_session={session}; volant_csrf={TEST_CSRF}"))
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(serde_urlencoded::to_string(&fields).unwrap()))
                .unwrap();
            app.anonymous().send(request).await
        }
    };
    let page = html(&page_as(&app, first_user, "/school/results").await);
    assert!(page.contains("Résultat Léa"), "their candidate is offered");
    // A score that is not a number is refused, not dropped.
    let typo = post_as(
        first_user,
        "/school/results".into(),
        vec![
            ("candidate_id", lea.to_string()),
            ("exam_type", "theory".into()),
            ("outcome", "passed".into()),
            ("score", "trente".into()),
        ],
    )
    .await;
    assert!(typo.header("set-cookie").is_some_and(|c| c.contains("error")), "{:?}", typo.header("set-cookie"));
    assert_eq!(admin.get(&format!("/api/v1/school/exam-results?candidate_id={lea}")).await.json(), json!([]));
    let entered = post_as(
        first_user,
        "/school/results".into(),
        vec![("candidate_id", lea.to_string()), ("exam_type", "theory".into()), ("outcome", "passed".into())],
    )
    .await;
    assert_eq!(entered.header("location"), Some("/school/results"));
    let mine = html(&page_as(&app, first_user, "/school/results").await);
    assert!(mine.contains("En attente de validation") && !mine.contains("/validate"), "its author cannot validate it");
    let result =
        admin.get(&format!("/api/v1/school/exam-results?candidate_id={lea}")).await.json()[0]["id"].as_i64().unwrap();
    // The other instructor does not see a candidate who is not theirs…
    assert!(!html(&page_as(&app, second_user, "/school/results").await).contains("Résultat Léa"));
    let refused = post_as(second_user, format!("/school/results/{result}/validate"), vec![]).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    // …until Léa is theirs too.
    let mut file = admin.get(&format!("/api/v1/school/candidates/{lea}")).await.json();
    file["instructor_id"] = json!(accounts[1].0);
    file["category"] = json!("B");
    // The hours taken and bought are counted by the school, not sent back.
    file.as_object_mut().expect("object").remove("hours");
    admin.put(&format!("/api/v1/school/candidates/{lea}"), &file).await.assert_success();
    let validated = post_as(second_user, format!("/school/results/{result}/validate"), vec![]).await;
    assert_eq!(validated.header("location"), Some("/school/results"));
    assert_eq!(admin.get(&format!("/api/v1/school/exam-results/{result}")).await.json()["status"], "passed");
}

backend_tests!(only_those_who_book_see_the_booking_form_and_its_lists);

async fn only_those_who_book_see_the_booking_form_and_its_lists(app: TestApp) {
    let admin = app.as_admin();
    let teacher_user = app.user("moniteur.liste@example.fr", &[Role::Instructor]).await;
    let response = admin
        .post(
            "/api/v1/school/instructors",
            &json!({
                "user_id": teacher_user.id,
                "first_name": "Karim",
                "last_name": "Listé",
                "licence_number": "AE-LIST-1",
                "categories": ["B"]
            }),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    let teacher = response.json()["id"].as_i64().expect("id");
    let other_teacher = instructor(&app, &["B"]).await;
    training_car(&app, "B").await;
    let lea_user = app.user("lea.liste@example.fr", &[Role::Candidate]).await;
    candidate(&app, json!({ "user_id": lea_user.id, "first_name": "Léa", "last_name": "Planchon" })).await;
    let stranger = candidate(&app, json!({ "first_name": "Tom", "last_name": "Inconnu" })).await;
    let number = stranger["number"].as_str().expect("number").to_owned();
    let ines = candidate(&app, json!({ "first_name": "Inès", "last_name": "Suivie", "instructor_id": teacher })).await;
    let paul =
        candidate(&app, json!({ "first_name": "Paul", "last_name": "Autrui", "instructor_id": other_teacher })).await;
    // An instructor opens their own candidates' files, not another's.
    let own = page_as(&app, &teacher_user, &format!("/school/candidates/{}", ines["id"])).await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.text());
    assert!(html(&own).contains("Inès Suivie") && !html(&own).contains("/edit\""), "read, not edited");
    let other = page_as(&app, &teacher_user, &format!("/school/candidates/{}", paul["id"])).await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    let no_file = app.user("moniteur.sans.dossier@example.fr", &[Role::Instructor]).await;

    for (who, user) in
        [("candidate", &lea_user), ("instructor", &teacher_user), ("instructor without a file", &no_file)]
    {
        let form = page_as(&app, user, "/school/lessons/new").await;
        assert_eq!(form.status, StatusCode::FORBIDDEN, "{who}");
        let text = form.text();
        assert!(!text.contains("Inconnu") && !text.contains(&number), "{who}: nothing of the school's lists");
    }
    // The staff still book from it.
    let form = admin.get("/school/lessons/new").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.text().contains("Inconnu") && form.text().contains(&number));

    // The results page offers an instructor their own candidates only, and an
    // instructor without a file none.
    let results = page_as(&app, &teacher_user, "/school/results").await;
    assert_eq!(results.status, StatusCode::OK, "{}", results.text());
    assert!(results.text().contains("Suivie"), "their own candidate");
    assert!(
        !results.text().contains("Inconnu") && !results.text().contains("Autrui"),
        "not another instructor's candidate"
    );
    let results = page_as(&app, &no_file, "/school/results").await;
    assert_eq!(results.status, StatusCode::OK, "{}", results.text());
    assert!(
        !results.text().contains("Inconnu") && !results.text().contains("Suivie"),
        "an instructor without a file sees no candidate"
    );
}

async fn the_board_offers_only_taught_hours_and_the_agenda_shows_a_day_as_an_instructor_lives_it(app: TestApp) {
    let admin = app.as_admin();
    let teacher = instructor(&app, &["B"]).await;
    let lea = candidate(&app, json!({ "first_name": "Léa", "last_name": "Agenda" })).await["id"].as_i64().unwrap();
    // Mornings only, and the day after tomorrow off.
    let off = crate::fixtures::school::school_day(2);
    let tomorrow = crate::fixtures::school::school_day(1);
    let weekly: Vec<_> = (1..=7).map(|d| json!({ "weekday": d, "start": "08:00", "end": "12:00" })).collect();
    let week = json!({ "weekly": weekly, "days_off": [{ "day": off.to_string() }] });
    admin.put(&format!("/api/v1/school/instructors/{teacher}/availability"), &week).await.assert_success();
    let board = html(&admin.get(&format!("/school/planning?week={tomorrow}&instructor_id={teacher}")).await);
    let slot = |day: chrono::NaiveDate, hour: &str| {
        format!("/school/lessons/new?date={day}&start={hour}%3A00&instructor_id={teacher}")
    };
    assert!(
        board.contains(&slot(tomorrow, "10")),
        "a taught hour is offered: {}",
        board.lines().filter(|l| l.contains("slot")).take(5).collect::<Vec<_>>().join("\n")
    );
    assert!(!board.contains(&slot(tomorrow, "15")), "an afternoon nobody teaches is not");
    assert!(!board.contains(&slot(off, "10")), "nor a day off");
    assert!(!board.contains("heures de disponibilité ne sont pas renseignées"), "{board}");
    // An instructor without weekly hours gets no "+", and the board says why, with a link.
    let idle = json!({ "first_name": "Inès", "last_name": "Sans-Horaires", "licence_number": "AE-77777", "categories": ["B"] });
    let idle = admin.post("/api/v1/school/instructors", &idle).await.json()["id"].as_i64().expect("instructor");
    let board = html(&admin.get(&format!("/school/planning?week={tomorrow}")).await);
    assert!(board.contains("heures de disponibilité ne sont pas renseignées"), "{board}");
    assert!(
        board.contains(&format!("href=\"/school/instructors/{idle}#availability\">Inès Sans-Horaires</a>")),
        "{board}"
    );
    assert!(!board.contains(&format!("/school/instructors/{teacher}#availability")), "not for one with hours");

    // The instructor's day on a phone: the lesson, where to meet, and its report once started.
    let car = training_car(&app, "B").await;
    let teacher_user = app.user("karim.agenda@example.fr", &[Role::Instructor]).await;
    let karim = json!({ "user_id": teacher_user.id, "first_name": "Karim", "last_name": "Agenda", "licence_number": "AE-99999", "categories": ["B"] });
    let karim = admin.post("/api/v1/school/instructors", &karim).await.json()["id"].as_i64().expect("instructor");
    let weekly: Vec<_> = (1..=7).map(|d| json!({ "weekday": d, "start": "06:00", "end": "22:00" })).collect();
    admin
        .put(&format!("/api/v1/school/instructors/{karim}/availability"), &json!({ "weekly": weekly }))
        .await
        .assert_success();
    let started = booked_lesson(&app, lea, karim, car, &at(-1, 10, 0), &at(-1, 11, 0)).await;
    let yesterday = crate::fixtures::school::school_day(-1);
    let day = page_as(&app, &teacher_user, &format!("/school/planning?view=day&week={yesterday}")).await;
    assert_eq!(day.status, StatusCode::OK, "{}", day.text());
    let day = html(&day);
    assert!(!day.contains("class=\"week\""), "no hour grid in the day view");
    assert!(day.contains("Léa Agenda") && day.contains("10:00–11:00"), "{day}");
    assert!(day.contains(&format!("href=\"/school/lessons/{started}#report\"")), "one tap to report: {day}");
    assert!(day.contains("aria-current=\"page\">Jour"), "{day}");
    for far in ["+262143-12-31", "-262143-01-01", "9999-12-31"] {
        let page = page_as(&app, &teacher_user, &format!("/school/planning?view=day&week={far}")).await;
        assert_eq!(page.status, StatusCode::OK, "{far}: a date out of range shows today");
    }
    let three = html(&page_as(&app, &teacher_user, "/school/planning?view=3days").await);
    assert_eq!(three.matches("class=\"agenda-day").count(), 3, "{three}");
    // The week on a phone reads as the same agenda; the grid stays for desktops.
    let week = html(&page_as(&app, &teacher_user, "/school/planning").await);
    assert!(week.contains("class=\"week\"") && week.contains("agenda phone-only"));
    assert_eq!(week.matches("class=\"agenda-day").count(), 7);
}

backend_tests!(the_portal_keeps_coming_lessons_apart_and_the_calendar_subscribes_in_one_tap);

async fn the_portal_keeps_coming_lessons_apart_and_the_calendar_subscribes_in_one_tap(app: TestApp) {
    let admin = app.as_admin();
    let teacher = instructor(&app, &["B"]).await;
    let car = training_car(&app, "B").await;
    let lea_user = app.user("lea.portail@example.fr", &[Role::Candidate]).await;
    let lea = candidate(&app, json!({ "user_id": lea_user.id, "first_name": "Léa", "last_name": "Portail" })).await;
    let lea = lea["id"].as_i64().unwrap();
    // Held yesterday, already recorded: it is the past, not a coming lesson.
    let (start, end) = (crate::fixtures::school::at(-1, 10, 0), crate::fixtures::school::at(-1, 11, 0));
    let held = booked_lesson(&app, lea, teacher, car, &start, &end).await;
    let recorded = admin
        .post(&format!("/api/v1/school/lessons/{held}/outcome"), &json!({ "status": "done", "notes": "Créneaux" }))
        .await;
    assert_eq!(recorded.status, StatusCode::OK, "{}", recorded.text());
    let portal = html(&page_as(&app, &lea_user, "/portal").await);
    let upcoming = portal.split("id=\"upcoming-title\"").nth(1).and_then(|s| s.split("</section>").next());
    assert!(
        upcoming.is_some_and(|u| u.contains("Aucune leçon prévue")),
        "a recorded lesson left the coming ones: {portal}"
    );
    assert!(portal.contains("Effectuée"), "it is in the past: {portal}");

    // The calendar: a webcal link to tap and the address to copy, never cached.
    let session = volant::identity::auth::issue(&app.db, &app.signing_key, &lea_user, "web").await.unwrap().token;
    let request = Request::post("/calendar-feed")
        .header(header::COOKIE, format!("volant_session={session}; volant_csrf={TEST_CSRF}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("_csrf={}", app.csrf_for(&session))))
        .unwrap();
    let feed = app.anonymous().send(request).await;
    assert_eq!(feed.status, StatusCode::OK, "{}", feed.text());
    assert_eq!(feed.header("cache-control"), Some("no-store"));
    let page = html(&feed);
    assert!(page.contains("href=\"webcal://") && page.contains("data-copy=\"feed-url\""), "{page}");
    let address =
        page.split("id=\"feed-url\"").nth(1).and_then(|s| s.split("value=\"").nth(1)).and_then(|s| s.split('"').next());
    let path =
        address.and_then(|a| a.split_once("/calendar/")).map(|(_, rest)| format!("/calendar/{rest}")).expect("address");
    let ics = app.anonymous().send(Request::get(&path).body(Body::empty()).unwrap()).await;
    assert!(ics.text().contains("BEGIN:VCALENDAR"), "the address shown is the feed");
}

backend_tests!(the_agenda_offers_to_book_only_the_days_an_instructor_teaches);

async fn the_agenda_offers_to_book_only_the_days_an_instructor_teaches(app: TestApp) {
    use chrono::Datelike;
    let admin = app.as_admin();
    let karim = crate::fixtures::school::instructor(&app, &["B"]).await;
    crate::fixtures::school::candidate(&app, serde_json::json!({})).await;
    // Mondays only.
    let weekly = serde_json::json!({ "weekly": [{ "weekday": 1, "start": "08:00", "end": "12:00" }] });
    admin.put(&format!("/api/v1/school/instructors/{karim}/availability"), &weekly).await.assert_success();
    let today = chrono::Utc::now().date_naive();
    let next_monday = today + chrono::Duration::days(7 - i64::from(today.weekday().num_days_from_monday()));
    let week = html(&admin.get(&format!("/school/planning?week={next_monday}&instructor_id={karim}")).await);
    assert_eq!(week.matches("+ Réserver une leçon ce jour").count(), 1, "Monday alone: {week}");
    assert!(week.contains(&format!("date={next_monday}&instructor_id={karim}")), "{week}");
    // On a day he does not teach, the day view offers nothing to book.
    let tuesday = next_monday + chrono::Duration::days(1);
    let day = html(&admin.get(&format!("/school/planning?view=day&week={tuesday}&instructor_id={karim}")).await);
    assert!(!day.contains("Réserver une leçon ce jour"), "{day}");
}
