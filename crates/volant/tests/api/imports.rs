//! Imports as a garage moving to Volant makes them: a French Excel CSV of
//! vehicles and their owners, and an XLSX of clients, each uploaded, its
//! columns guessed, checked without writing, imported in the background, and
//! undone; refusals named by line and column; one import at work per
//! organization; an undo refused once someone changed a record.

use axum::http::StatusCode;
use serde_json::{Value, json};
use volant::identity::roles::Role;

use crate::backend_tests;
use crate::documents::upload;
use crate::fixtures::workshop::client;
use crate::fixtures::{follow, html};
use crate::helpers::{TestApp, TestClient};

backend_tests!(
    a_vehicle_file_is_checked_imported_and_undone,
    a_client_spreadsheet_is_imported_and_an_undo_waits_for_unchanged_records,
    files_and_mappings_that_cannot_be_imported_are_refused_with_their_reason,
    one_import_works_at_a_time_in_an_organization,
    the_import_pages_walk_from_the_file_to_the_report,
    a_school_imports_its_instructors_then_its_candidates_and_undoes_both,
    a_lubelogger_history_and_its_odometer_come_with_their_vehicle,
    an_undo_never_erases_what_was_added_to_a_record_since,
    a_run_whose_job_is_over_is_ended_by_the_sweep,
);

/// The vehicles' file as Excel saves it on a French Windows: `;`, Windows-1252.
fn vehicles_csv() -> Vec<u8> {
    let text = "Immatriculation;Marque;Modèle;Année;Kilométrage;Carburant;Propriétaire;E-mail du propriétaire\r\n\
        AB-123-CD;Renault;Clio;2019;84 000;Gazole;Jeanne Martin;JEANNE@example.fr\r\n\
        EF-456-GH;Peugeot;208;2021;12000;Essence;Paul Durand;paul@example.fr\r\n\
        IJ-789-KL;Citroën;C3;deux mille;;;;\r\n\
        ef 456 gh;Peugeot;208;2021;12500;Essence;Paul Durand;paul@example.fr\r\n\
        MN-012-OP;Dacia;Sandero;2018;;Hydrogène liquide;;\r\n";
    encoding_rs::WINDOWS_1252.encode(text).0.into_owned()
}

async fn wait(app: &TestApp, admin: &TestClient<'_>, id: i64) -> Value {
    app.run_jobs().await;
    admin.get(&format!("/api/v1/imports/{id}")).await.assert_status(StatusCode::OK).json()
}

fn mapping(import: &Value) -> Vec<(String, Option<i64>)> {
    import["mapping"]
        .as_array()
        .map(|fields| {
            fields.iter().map(|f| (f["field"].as_str().unwrap_or_default().to_owned(), f["column"].as_i64())).collect()
        })
        .unwrap_or_default()
}

fn guessed_body(import: &Value) -> Value {
    let chosen: serde_json::Map<String, Value> =
        mapping(import).into_iter().filter_map(|(field, column)| Some((field, json!(column?)))).collect();
    json!({ "mapping": chosen })
}

async fn results(admin: &TestClient<'_>, id: i64, query: &str) -> Vec<Value> {
    let response = admin.get(&format!("/api/v1/imports/{id}/results?{query}")).await;
    response.assert_status(StatusCode::OK).json().as_array().cloned().unwrap_or_default()
}

async fn count(admin: &TestClient<'_>, path: &str) -> usize {
    admin.get(path).await.assert_status(StatusCode::OK).json().as_array().map_or(0, Vec::len)
}

async fn a_vehicle_file_is_checked_imported_and_undone(app: TestApp) {
    let admin = app.as_admin();
    let garage = app.garage("Garage du Centre").await;
    let body = json!({ "garage_id": garage, "brand": "Renault", "model": "Clio", "year": 2019,
        "license_plate": "AB-123-CD", "mileage_km": 50000 });
    let existing = admin.post("/api/v1/vehicles", &body).await.assert_status(StatusCode::CREATED).json();
    let jeanne = client(&app, json!({ "name": "Jeanne Martin", "email": "jeanne@example.fr" })).await;

    // Uploaded: the columns are guessed from their French headers.
    let uploaded = upload(&admin, "/api/v1/imports", &[("kind", "vehicles")], &[("parc.csv", &vehicles_csv())]).await;
    let import = uploaded.assert_status(StatusCode::CREATED).json();
    let id = import["id"].as_i64().expect("id");
    assert_eq!(import["status"], "uploaded");
    assert_eq!(import["total_rows"], 5);
    assert_eq!(import["file_name"], "parc.csv");
    assert_eq!(import["headers"][2], "Modèle", "Windows-1252 read: {import}");
    let guessed = mapping(&import);
    for (field, column) in [
        ("license_plate", 0),
        ("brand", 1),
        ("model", 2),
        ("year", 3),
        ("mileage_km", 4),
        ("fuel_type", 5),
        ("owner_name", 6),
        ("owner_email", 7),
    ] {
        assert!(guessed.contains(&(field.to_owned(), Some(column))), "{field} in column {column}: {guessed:?}");
    }

    // The check says what the import would do, row by row, and writes nothing.
    let checking = admin.post(&format!("/api/v1/imports/{id}/check"), &guessed_body(&import)).await;
    assert_eq!(checking.assert_status(StatusCode::ACCEPTED).json()["status"], "checking");
    let checked = wait(&app, &admin, id).await;
    assert_eq!(checked["status"], "checked", "{checked}");
    assert_eq!((checked["created_rows"].as_i64(), checked["updated_rows"].as_i64()), (Some(1), Some(2)), "{checked}");
    assert_eq!(checked["refused_rows"], 2, "{checked}");
    let rows = results(&admin, id, "phase=check").await;
    let outcomes: Vec<(i64, &str)> =
        rows.iter().map(|r| (r["line"].as_i64().unwrap_or(0), r["outcome"].as_str().unwrap_or(""))).collect();
    assert_eq!(outcomes, vec![(2, "updated"), (3, "created"), (4, "refused"), (5, "updated"), (6, "refused")]);
    let refused = results(&admin, id, "phase=check&outcome=refused").await;
    assert_eq!(refused[0]["label"], "IJ-789-KL");
    assert!(refused[0]["reason"].as_str().unwrap_or("").contains("Année"), "{refused:?}");
    assert!(refused[1]["reason"].as_str().unwrap_or("").contains("carburant inconnu"), "{refused:?}");
    assert_eq!(count(&admin, "/api/v1/vehicles").await, 1, "nothing written by the check");
    assert_eq!(count(&admin, "/api/v1/clients").await, 1);

    // The import: a vehicle created with its new owner, the existing one updated and given its owner.
    admin.post(&format!("/api/v1/imports/{id}/start"), &json!({})).await.assert_status(StatusCode::ACCEPTED);
    let imported = wait(&app, &admin, id).await;
    assert_eq!(imported["status"], "imported", "{imported}");
    assert_eq!((imported["created_rows"].as_i64(), imported["refused_rows"].as_i64()), (Some(1), Some(2)));
    let vehicle = admin.get(&format!("/api/v1/vehicles/{}", existing["id"])).await.json();
    assert_eq!((vehicle["mileage_km"].as_i64(), vehicle["fuel_type"].as_str()), (Some(84_000), Some("diesel")));
    let owned = admin.get(&format!("/api/v1/clients/{jeanne}/vehicles")).await.json();
    assert_eq!(owned[0]["license_plate"], "AB-123-CD", "{owned}");
    let vehicles = admin.get("/api/v1/vehicles?q=EF").await.json();
    assert_eq!(vehicles[0]["mileage_km"], 12_500, "the second row of the plate came after the first: {vehicles}");
    let paul = admin.get("/api/v1/clients?q=paul").await.json();
    assert_eq!(paul[0]["email"], "paul@example.fr");
    assert_eq!(results(&admin, id, "phase=import&outcome=created").await.len(), 1);
    let trail = admin.get("/api/v1/audit?entity_type=import").await.json();
    assert!(trail.to_string().contains("parc.csv"), "the import is in the audit trail: {trail}");

    // Undone: the new vehicle and client gone, the existing vehicle as it was, without an owner.
    let undoing = admin.post(&format!("/api/v1/imports/{id}/undo"), &json!({})).await;
    assert_eq!(undoing.assert_status(StatusCode::ACCEPTED).json()["status"], "undoing");
    let undone = wait(&app, &admin, id).await;
    assert_eq!(undone["status"], "undone", "{undone}");
    assert_eq!(count(&admin, "/api/v1/vehicles").await, 1);
    assert_eq!(count(&admin, "/api/v1/clients").await, 1);
    let vehicle = admin.get(&format!("/api/v1/vehicles/{}", existing["id"])).await.json();
    assert_eq!((vehicle["mileage_km"].as_i64(), vehicle["fuel_type"].as_str()), (Some(50_000), None));
    assert_eq!(count(&admin, &format!("/api/v1/clients/{jeanne}/vehicles")).await, 0);
    assert_eq!(count(&admin, &format!("/api/v1/vehicles/{}/owners", existing["id"])).await, 0, "no trace of an owner");
}

/// An XLSX file as a spreadsheet writes it: numbers as numbers, a date, line breaks and emoji in cells.
fn clients_xlsx(rows: &[[&str; 5]]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, header) in ["Prénom", "Nom", "E-mail", "Téléphone", "Adresse"].iter().enumerate() {
        sheet.write_string(0, c as u16, *header).expect("header");
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            if !cell.is_empty() {
                sheet.write_string(r as u32 + 1, c as u16, *cell).expect("cell");
            }
        }
    }
    book.save_to_buffer().expect("xlsx")
}

async fn a_client_spreadsheet_is_imported_and_an_undo_waits_for_unchanged_records(app: TestApp) {
    let admin = app.as_admin();
    let file = clients_xlsx(&[
        ["Léa", "Rousseau", "lea@example.fr", "06 11 22 33 44", "2 rue des Lilas\n69003 Lyon 🚗"],
        ["Marc", "Petit", "marc@example.fr", "", ""],
        ["", "", "sans-nom@example.fr", "", ""],
    ]);
    let import = upload(&admin, "/api/v1/imports", &[("kind", "clients")], &[("clients.xlsx", &file)]).await;
    let import = import.assert_status(StatusCode::CREATED).json();
    let id = import["id"].as_i64().expect("id");
    assert_eq!(import["sample"][0][4], "2 rue des Lilas\n69003 Lyon 🚗");
    admin
        .post(&format!("/api/v1/imports/{id}/check"), &guessed_body(&import))
        .await
        .assert_status(StatusCode::ACCEPTED);
    let checked = wait(&app, &admin, id).await;
    assert_eq!((checked["created_rows"].as_i64(), checked["refused_rows"].as_i64()), (Some(2), Some(1)), "{checked}");
    admin.post(&format!("/api/v1/imports/{id}/start"), &json!({})).await.assert_status(StatusCode::ACCEPTED);
    assert_eq!(wait(&app, &admin, id).await["status"], "imported");
    let lea = admin.get("/api/v1/clients?q=lea").await.json();
    assert_eq!(lea[0]["name"], "Léa Rousseau");
    assert_eq!(lea[0]["address"], "2 rue des Lilas\n69003 Lyon 🚗");

    // The same file again: nothing to do, every row already up to date.
    let again = upload(&admin, "/api/v1/imports", &[("kind", "clients")], &[("clients.xlsx", &file)]).await.json();
    let again_id = again["id"].as_i64().expect("id");
    admin
        .post(&format!("/api/v1/imports/{again_id}/check"), &guessed_body(&again))
        .await
        .assert_status(StatusCode::ACCEPTED);
    let rechecked = wait(&app, &admin, again_id).await;
    assert_eq!((rechecked["unchanged_rows"].as_i64(), rechecked["created_rows"].as_i64()), (Some(2), Some(0)));

    // Someone changes a client: the undo is refused, naming them, and nothing is undone.
    let lea_id = lea[0]["id"].as_i64().expect("id");
    let changed = json!({ "name": "Léa Rousseau", "email": "lea@example.fr", "phone": "07 00 00 00 00" });
    admin.put(&format!("/api/v1/clients/{lea_id}"), &changed).await.assert_status(StatusCode::OK);
    let refused = admin.post(&format!("/api/v1/imports/{id}/undo"), &json!({})).await;
    let problem = refused.problem(StatusCode::CONFLICT, "import_changed_since");
    assert!(problem["detail"].as_str().unwrap_or("").contains("Léa Rousseau"), "{problem}");
    assert_eq!(count(&admin, "/api/v1/clients").await, 2);

    // A later import makes this one no longer the last.
    let later = upload(
        &admin,
        "/api/v1/imports",
        &[("kind", "clients")],
        &[("more.xlsx", &clients_xlsx(&[["Zoé", "Blanc", "", "", ""]]))],
    )
    .await
    .json();
    let later_id = later["id"].as_i64().expect("id");
    admin
        .post(&format!("/api/v1/imports/{later_id}/check"), &guessed_body(&later))
        .await
        .assert_status(StatusCode::ACCEPTED);
    wait(&app, &admin, later_id).await;
    admin.post(&format!("/api/v1/imports/{later_id}/start"), &json!({})).await.assert_status(StatusCode::ACCEPTED);
    assert_eq!(wait(&app, &admin, later_id).await["status"], "imported");
    admin
        .post(&format!("/api/v1/imports/{id}/undo"), &json!({}))
        .await
        .problem(StatusCode::CONFLICT, "import_not_last");
    // The last one undoes.
    admin.post(&format!("/api/v1/imports/{later_id}/undo"), &json!({})).await.assert_status(StatusCode::ACCEPTED);
    assert_eq!(wait(&app, &admin, later_id).await["status"], "undone");
    assert_eq!(count(&admin, "/api/v1/clients").await, 2);
}

async fn files_and_mappings_that_cannot_be_imported_are_refused_with_their_reason(app: TestApp) {
    let admin = app.as_admin();
    let pdf =
        upload(&admin, "/api/v1/imports", &[("kind", "clients")], &[("devis.pdf", b"%PDF-1.7\n\x00\x01\x02")]).await;
    assert_eq!(pdf.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")["errors"][0]["field"], "file");
    let empty = upload(&admin, "/api/v1/imports", &[("kind", "clients")], &[("vide.csv", b"Nom;E-mail\r\n")]).await;
    let problem = empty.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert!(problem["errors"][0]["message"].as_str().unwrap_or("").contains("aucune ligne"), "{problem}");
    let no_kind = upload(&admin, "/api/v1/imports", &[("kind", "invoices")], &[("a.csv", b"a\n1\n")]).await;
    assert_eq!(no_kind.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")["errors"][0]["field"], "kind");

    // A mapping without the plate, or naming a column the file does not have.
    let import =
        upload(&admin, "/api/v1/imports", &[("kind", "vehicles")], &[("v.csv", b"Marque,Couleur\nRenault,Bleu\n")])
            .await;
    let id = import.assert_status(StatusCode::CREATED).json()["id"].as_i64().expect("id");
    let unmapped = admin.post(&format!("/api/v1/imports/{id}/check"), &json!({ "mapping": { "brand": 0 } })).await;
    let problem = unmapped.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert!(problem.to_string().contains("Immatriculation"), "{problem}");
    let outside =
        admin.post(&format!("/api/v1/imports/{id}/check"), &json!({ "mapping": { "license_plate": 7 } })).await;
    assert_eq!(
        outside.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")["errors"][0]["field"],
        "license_plate"
    );
    // Not yet checked: it cannot be imported.
    admin.post(&format!("/api/v1/imports/{id}/start"), &json!({})).await.problem(StatusCode::CONFLICT, "import_state");

    // Staff cannot import; a manager can; another organization sees nothing.
    let staff = app.as_role(Role::Staff).await;
    assert_eq!(staff.get("/api/v1/imports").await.status, StatusCode::FORBIDDEN);
    let manager = app.as_role(Role::Manager).await;
    assert_eq!(count(&manager, "/api/v1/imports").await, 1);
    let other = app.other_org().await;
    assert_eq!(other.get(&format!("/api/v1/imports/{id}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(count(&other, "/api/v1/imports").await, 0);
}

async fn one_import_works_at_a_time_in_an_organization(app: TestApp) {
    let admin = app.as_admin();
    let file: &[u8] = b"Nom;E-mail\nJeanne Martin;jeanne@example.fr\n";
    let mut ids = Vec::new();
    for _ in 0..2 {
        let import = upload(&admin, "/api/v1/imports", &[("kind", "clients")], &[("c.csv", file)]).await;
        ids.push(import.assert_status(StatusCode::CREATED).json()["id"].as_i64().expect("id"));
    }
    let body = json!({ "mapping": { "name": 0, "email": 1 } });
    let (one, two) = (format!("/api/v1/imports/{}/check", ids[0]), format!("/api/v1/imports/{}/check", ids[1]));
    let (first, second) = tokio::join!(admin.post(&one, &body), admin.post(&two, &body));
    let mut statuses = [first.status, second.status];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::ACCEPTED, StatusCode::CONFLICT], "{} / {}", first.text(), second.text());
    let busy = if first.status == StatusCode::CONFLICT { &first } else { &second };
    assert_eq!(busy.json()["code"], "import_busy");
    app.run_jobs().await;
    // Once the first is done, the other may run.
    let waiting = if first.status == StatusCode::CONFLICT { ids[0] } else { ids[1] };
    admin.post(&format!("/api/v1/imports/{waiting}/check"), &body).await.assert_status(StatusCode::ACCEPTED);
    assert_eq!(wait(&app, &admin, waiting).await["status"], "checked");
}

async fn the_import_pages_walk_from_the_file_to_the_report(app: TestApp) {
    let admin = app.as_admin();
    app.garage("Garage du Centre").await;
    let page = html(&admin.get("/imports").await);
    assert!(page.contains("Importer des données") && page.contains("name=\"file\""), "{page}");
    let import =
        upload(&admin, "/api/v1/imports", &[("kind", "vehicles")], &[("parc.csv", &vehicles_csv())]).await.json();
    let id = import["id"].as_i64().expect("id");
    let mapping_page = html(&admin.get(&format!("/imports/{id}")).await);
    assert!(mapping_page.contains("<option value=\"0\" selected>Immatriculation</option>"), "{mapping_page}");
    assert!(mapping_page.contains("Exemple : AB-123-CD"), "{mapping_page}");
    // The form sends the columns; a mapping without the plate is said beside it.
    let refused = admin.post_form(&format!("/imports/{id}/check"), &[("map_brand", "1")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html(&refused).contains("id=\"map_license_plate-error\""), "{}", refused.text());
    let fields: Vec<(String, String)> = mapping(&import)
        .into_iter()
        .filter_map(|(field, column)| Some((format!("map_{field}"), column?.to_string())))
        .collect();
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let checking = admin.post_form(&format!("/imports/{id}/check"), &fields).await;
    let progress = html(&follow(&app, &checking).await);
    assert!(
        progress.contains("hx-get=\"/imports/{id}/progress\"".replace("{id}", &id.to_string()).as_str()),
        "{progress}"
    );
    app.run_jobs().await;
    let fragment = admin.get(&format!("/imports/{id}/progress")).await;
    assert_eq!(fragment.header("hx-refresh"), Some("true"), "the page reloads once the check is done");
    let report = html(&admin.get(&format!("/imports/{id}?outcome=refused")).await);
    assert!(report.contains("IJ-789-KL") && report.contains("Refusée"), "{report}");
    assert!(report.contains("id=\"start-import\""), "{report}");
}

async fn import_file(app: &TestApp, admin: &TestClient<'_>, kind: &str, name: &str, file: &[u8]) -> Value {
    import_with(app, admin, &[("kind", kind)], (name, file), None).await
}

/// Uploads, checks with the guessed columns (and `date_order`), imports.
async fn import_with(
    app: &TestApp,
    admin: &TestClient<'_>,
    fields: &[(&str, &str)],
    (name, file): (&str, &[u8]),
    date_order: Option<&str>,
) -> Value {
    let import = upload(admin, "/api/v1/imports", fields, &[(name, file)]).await;
    let import = import.assert_status(StatusCode::CREATED).json();
    let id = import["id"].as_i64().expect("id");
    let mut body = guessed_body(&import);
    if let Some(order) = date_order {
        body["date_order"] = json!(order);
    }
    admin.post(&format!("/api/v1/imports/{id}/check"), &body).await.assert_status(StatusCode::ACCEPTED);
    let checked = wait(app, admin, id).await;
    assert_eq!(checked["status"], "checked", "{checked}");
    admin.post(&format!("/api/v1/imports/{id}/start"), &json!({})).await.assert_status(StatusCode::ACCEPTED);
    let imported = wait(app, admin, id).await;
    assert_eq!(imported["status"], "imported", "{imported}");
    imported
}

async fn a_school_imports_its_instructors_then_its_candidates_and_undoes_both(app: TestApp) {
    let admin = app.as_admin();
    let instructors = "Nom;Prénom;N° d'autorisation;E-mail;Catégories\n\
        Benali;Karim;A 13 075 0042 0;karim@ecole.fr;B, A\n\
        Durand;Sophie;A 13 075 0043 0;sophie@ecole.fr;B\n\
        Sans;Permis;A 13 075 0044 0;;Z\n";
    let teachers = import_file(&app, &admin, "instructors", "moniteurs.csv", instructors.as_bytes()).await;
    assert_eq!(
        (teachers["created_rows"].as_i64(), teachers["refused_rows"].as_i64()),
        (Some(2), Some(1)),
        "{teachers}"
    );
    let list = admin.get("/api/v1/school/instructors").await.json();
    let karim = list.as_array().into_iter().flatten().find(|i| i["last_name"] == "Benali").expect("Karim").clone();
    assert_eq!(karim["categories"], json!(["B", "A"]));

    let candidates = "N° de dossier;Nom;Prénom;E-mail;Date de naissance;Code;Heures prévues;Moniteur\n\
        2026-0100;Martin;Léa;lea@example.fr;14/03/2005;obtenu;25;Karim Benali\n\
        ;Petit;Tom;tom@example.fr;;en cours;20,5;\n\
        ;Faux;Jour;jour@example.fr;31/02/2005;;;\n\
        ;Inconnu;Moniteur;x@example.fr;;;;Jean Personne\n";
    let pupils = import_file(&app, &admin, "candidates", "eleves.csv", candidates.as_bytes()).await;
    assert_eq!((pupils["created_rows"].as_i64(), pupils["refused_rows"].as_i64()), (Some(2), Some(2)), "{pupils}");
    let id = pupils["id"].as_i64().expect("id");
    let refused = results(&admin, id, "phase=import&outcome=refused").await;
    assert!(refused[0]["reason"].as_str().unwrap_or("").contains("Date de naissance"), "{refused:?}");
    assert!(refused[1]["reason"].as_str().unwrap_or("").contains("Jean Personne"), "{refused:?}");
    let lea = admin.get("/api/v1/school/candidates?q=martin").await.json()[0].clone();
    let lea = admin.get(&format!("/api/v1/school/candidates/{}", lea["id"])).await.json();
    assert_eq!((lea["number"].as_str(), lea["theory_status"].as_str()), (Some("2026-0100"), Some("passed")), "{lea}");
    assert_eq!((lea["birth_date"].as_str(), lea["category"].as_str()), (Some("2005-03-14"), Some("B")), "{lea}");
    assert_eq!(
        (lea["instructor_id"].as_i64(), lea["hours"]["forecast_minutes"].as_i64()),
        (karim["id"].as_i64(), Some(1500))
    );

    // The instructors' import cannot be undone while a later import stands, nor while Karim follows Léa.
    let teachers_id = teachers["id"].as_i64().expect("id");
    admin
        .post(&format!("/api/v1/imports/{teachers_id}/undo"), &json!({}))
        .await
        .problem(StatusCode::CONFLICT, "import_not_last");
    admin.post(&format!("/api/v1/imports/{id}/undo"), &json!({})).await.assert_status(StatusCode::ACCEPTED);
    assert_eq!(wait(&app, &admin, id).await["status"], "undone");
    assert_eq!(count(&admin, "/api/v1/school/candidates").await, 0);
    admin.post(&format!("/api/v1/imports/{teachers_id}/undo"), &json!({})).await.assert_status(StatusCode::ACCEPTED);
    assert_eq!(wait(&app, &admin, teachers_id).await["status"], "undone");
    assert_eq!(count(&admin, "/api/v1/school/instructors").await, 0);
}

async fn a_lubelogger_history_and_its_odometer_come_with_their_vehicle(app: TestApp) {
    let admin = app.as_admin();
    let garage = app.garage("Garage du Centre").await;
    let vehicle = app.vehicle(garage, "AB-123-CD").await;
    // LubeLogger's service records export, in English: month first, dollars, one vehicle per file.
    let services = "Date,Odometer,Description,Notes,Cost,Tags\n\
        1/15/2024,45000,Oil change,Synthetic 5W30,$89.90,oil\n\
        3/2/2024,47000,Brake pads,,\"$1,234.56\",brakes\n\
        13/45/2024,0,Bad date,,,\n";
    let unknown = upload(
        &admin,
        "/api/v1/imports",
        &[("kind", "service_records"), ("vehicle", "ZZ-999-ZZ")],
        &[("s.csv", services.as_bytes())],
    )
    .await;
    assert_eq!(unknown.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")["errors"][0]["field"], "vehicle");
    let fields = [("kind", "service_records"), ("vehicle", "ab 123 cd")];
    let imported = import_with(&app, &admin, &fields, ("services.csv", services.as_bytes()), Some("month_first")).await;
    assert_eq!(
        (imported["created_rows"].as_i64(), imported["refused_rows"].as_i64()),
        (Some(2), Some(1)),
        "{imported}"
    );
    assert_eq!(imported["vehicle_plate"], "AB-123-CD");
    let history = admin.get(&format!("/api/v1/vehicles/{vehicle}/interventions")).await.json();
    let days: Vec<&str> = history.as_array().into_iter().flatten().filter_map(|i| i["performed_on"].as_str()).collect();
    assert!(days.contains(&"2024-01-15") && days.contains(&"2024-03-02"), "month first: {history}");
    let text = history.to_string();
    assert!(text.contains("Coût déclaré : $1,234.56") && text.contains("Synthetic 5W30"), "{text}");
    assert!(
        history.as_array().into_iter().flatten().all(|i| i["total_excl_tax"] == "0" || i["total_excl_tax"] == "0.00"),
        "another garage's price is not turnover: {history}"
    );

    // The odometer export: a reading; the same file again changes nothing.
    // A reading between two interventions' fits in the past; one that does not is refused.
    let odometer = "Date,InitialOdometer,Odometer,Notes,Tags\n\
        2/1/2024,45000,46000,,\n\
        4/20/2024,47000,48500,,\n\
        2/10/2024,0,99000,,\n";
    let fields = [("kind", "odometer_records"), ("vehicle", "AB-123-CD")];
    let readings = import_with(&app, &admin, &fields, ("odo.csv", odometer.as_bytes()), Some("month_first")).await;
    assert_eq!(
        (readings["created_rows"].as_i64(), readings["refused_rows"].as_i64()),
        (Some(2), Some(1)),
        "{readings}"
    );
    let again = import_with(&app, &admin, &fields, ("odo.csv", odometer.as_bytes()), Some("month_first")).await;
    assert_eq!((again["created_rows"].as_i64(), again["unchanged_rows"].as_i64()), (Some(0), Some(2)), "{again}");
    let mileage = admin.get(&format!("/api/v1/vehicles/{vehicle}/mileage")).await.json();
    assert!(mileage.to_string().contains("48500"), "{mileage}");

    // Undone, newest first: the readings, then the history.
    for import in [&again, &readings, &imported] {
        let id = import["id"].as_i64().expect("id");
        admin.post(&format!("/api/v1/imports/{id}/undo"), &json!({})).await.assert_status(StatusCode::ACCEPTED);
        assert_eq!(wait(&app, &admin, id).await["status"], "undone");
    }
    assert_eq!(count(&admin, &format!("/api/v1/vehicles/{vehicle}/interventions")).await, 0);
    assert!(!admin.get(&format!("/api/v1/vehicles/{vehicle}/mileage")).await.text().contains("48500"));
}

async fn an_undo_never_erases_what_was_added_to_a_record_since(app: TestApp) {
    let admin = app.as_admin();
    app.garage("Garage du Centre").await;
    let jeanne =
        client(&app, json!({ "name": "Jeanne Martin", "email": "jeanne@example.fr", "phone": "06 11 11 11 11" })).await;
    let file = "Immatriculation;Marque;Modèle;Année\nAB-123-CD;Renault;Clio;2019\nEF-456-GH;Peugeot;208;2021\n";
    let imported = import_file(&app, &admin, "vehicles", "parc.csv", file.as_bytes()).await;
    let id = imported["id"].as_i64().expect("id");
    // Someone files the registration certificate of one of the new vehicles.
    let vehicles = admin.get("/api/v1/vehicles?q=EF").await.json();
    let ef = vehicles[0]["id"].as_i64().expect("vehicle");
    let photo = include_bytes!("files/logo.png");
    let path = format!("/api/v1/vehicles/{ef}/documents");
    upload(&admin, &path, &[("kind", "photo")], &[("carte-grise.png", photo)]).await.assert_success();
    // The undo looks before it writes: nothing is undone, and it says which vehicle.
    admin.post(&format!("/api/v1/imports/{id}/undo"), &json!({})).await.assert_status(StatusCode::ACCEPTED);
    let refused = wait(&app, &admin, id).await;
    assert_eq!(refused["status"], "imported", "{refused}");
    assert!(refused["error"].as_str().unwrap_or("").contains("EF-456-GH"), "{refused}");
    assert_eq!(count(&admin, "/api/v1/vehicles").await, 2, "nothing undone");

    // An update's previous fields are kept encrypted (a candidate's file holds sensitive ones).
    let file = "Nom;E-mail;Téléphone\nJeanne Martin;jeanne@example.fr;07 22 22 22 22\n";
    let updated = import_file(&app, &admin, "clients", "clients.csv", file.as_bytes()).await;
    assert_eq!(updated["updated_rows"], 1, "{updated}");
    use sea_orm::{ConnectionTrait, Statement};
    let backend = app.db.get_database_backend();
    let rows = app
        .db
        .query_all_raw(Statement::from_string(backend, "SELECT previous FROM import_changes"))
        .await
        .expect("changes");
    let stored: Vec<String> =
        rows.iter().filter_map(|r| r.try_get::<Option<String>>("", "previous").ok().flatten()).collect();
    assert_eq!(stored.len(), 1);
    assert!(!stored[0].contains("06 11") && !stored[0].contains("Jeanne"), "{stored:?}");
    // So are the file's first rows.
    let rows =
        app.db.query_all_raw(Statement::from_string(backend, "SELECT sample FROM imports")).await.expect("imports");
    for row in rows {
        let sample: String = row.try_get("", "sample").expect("sample");
        assert!(!sample.contains("Jeanne") && !sample.contains("AB-123-CD"), "{sample}");
    }
    let id = updated["id"].as_i64().expect("id");
    admin.post(&format!("/api/v1/imports/{id}/undo"), &json!({})).await.assert_status(StatusCode::ACCEPTED);
    assert_eq!(wait(&app, &admin, id).await["status"], "undone");
    let back = admin.get(&format!("/api/v1/clients/{jeanne}")).await.json();
    assert_eq!(back["phone"], "06 11 11 11 11", "{back}");
}

async fn a_run_whose_job_is_over_is_ended_by_the_sweep(app: TestApp) {
    let admin = app.as_admin();
    let file: &[u8] = b"Nom;E-mail\nJeanne Martin;jeanne@example.fr\n";
    let import = upload(&admin, "/api/v1/imports", &[("kind", "clients")], &[("c.csv", file)]).await.json();
    let id = import["id"].as_i64().expect("id");
    admin
        .post(&format!("/api/v1/imports/{id}/check"), &guessed_body(&import))
        .await
        .assert_status(StatusCode::ACCEPTED);
    // Its job ends without ending the run (a runner that lost its lease, then died).
    use sea_orm::{ConnectionTrait, Statement};
    let backend = app.db.get_database_backend();
    app.db
        .execute_raw(Statement::from_string(backend, "UPDATE jobs SET status = 'done' WHERE kind = 'imports.run'"))
        .await
        .expect("job");
    let now = chrono::Utc::now();
    assert_eq!(volant::imports::service::sweep(&app.db, now).await.expect("sweep"), 0, "a quiet run is given time");
    let later = now + chrono::Duration::minutes(volant::imports::service::QUIET_MINUTES + 1);
    assert_eq!(volant::imports::service::sweep(&app.db, later).await.expect("sweep"), 1);
    let ended = admin.get(&format!("/api/v1/imports/{id}")).await.json();
    assert_eq!(ended["status"], "failed", "{ended}");
    assert!(ended["error"].as_str().is_some_and(|e| !e.is_empty()));
    // The organization can import again.
    admin
        .post(&format!("/api/v1/imports/{id}/check"), &guessed_body(&import))
        .await
        .assert_status(StatusCode::ACCEPTED);
    assert_eq!(wait(&app, &admin, id).await["status"], "checked");
}
