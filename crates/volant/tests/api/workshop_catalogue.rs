//! The workshop's catalogue: items written through the API and the pages, found
//! by any word, unique per organization under concurrency, and suggested to the
//! line editor as a description is typed.

use axum::http::StatusCode;
use serde_json::json;

use crate::backend_tests;
use crate::fixtures::{follow, html};
use crate::helpers::TestApp;

backend_tests!(
    items_are_written_found_by_any_word_and_removed,
    one_description_makes_one_item_even_when_added_twice_at_once,
    the_editor_is_offered_items_as_a_description_is_typed,
    the_catalogue_page_adds_changes_and_removes_items
);

async fn items_are_written_found_by_any_word_and_removed(app: TestApp) {
    let admin = app.as_admin();
    let created = admin
        .post(
            "/api/v1/catalogue",
            &json!({ "kind": "part", "description": "Plaquettes de frein avant", "unit": "jeu", "unit_price": "48,90" }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let item = created.json();
    let id = item["id"].as_i64().expect("id");
    assert_eq!(created.header("location"), Some(format!("/api/v1/catalogue/{id}").as_str()));
    assert_eq!((item["unit_price"].as_str(), item["vat_rate"].as_str()), (Some("48.9"), Some("20")));
    admin
        .post("/api/v1/catalogue", &json!({ "kind": "labour", "description": "Main-d'œuvre mécanique", "unit": "h", "unit_price": 64, "vat_rate": "20" }))
        .await;
    // Any word's start, in any order, whatever the case and accents typed.
    let found = admin.get("/api/v1/catalogue?q=FREIN%20plaq").await.json();
    assert_eq!(found.as_array().map(Vec::len), Some(1), "{found}");
    assert_eq!(found[0]["description"], "Plaquettes de frein avant");
    assert_eq!(admin.get("/api/v1/catalogue?q=%C5%93uvre").await.json()[0]["kind"], "labour");
    assert_eq!(admin.get("/api/v1/catalogue?q=rein").await.json(), json!([]), "a word's start, not its middle");

    // Bad input: a clear refusal naming each field.
    let refused =
        admin.post("/api/v1/catalogue", &json!({ "description": " ", "unit_price": "-1", "vat_rate": "120" })).await;
    refused.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let mut fields = refused.error_fields();
    fields.sort();
    assert_eq!(fields, ["description", "unit_price", "vat_rate"]);
    let only_dashes = admin.post("/api/v1/catalogue", &json!({ "description": "--", "unit_price": "1" })).await;
    only_dashes.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");

    let changed = admin
        .put(
            &format!("/api/v1/catalogue/{id}"),
            &json!({ "kind": "part", "description": "Plaquettes de frein avant", "unit": "jeu", "unit_price": "52.5" }),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text());
    assert_eq!(admin.get(&format!("/api/v1/catalogue/{id}")).await.json()["unit_price"], "52.5");
    // Another organization sees none of it.
    let other = app.other_org().await;
    assert_eq!(other.get(&format!("/api/v1/catalogue/{id}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(other.get("/api/v1/catalogue").await.json(), json!([]));
    // A mechanic reads the catalogue, and only reads it.
    let staff = app.as_role(volant::identity::roles::Role::Staff).await;
    assert_eq!(staff.get("/api/v1/catalogue").await.json().as_array().map(Vec::len), Some(2));
    assert_eq!(staff.delete(&format!("/api/v1/catalogue/{id}")).await.status, StatusCode::FORBIDDEN);

    assert_eq!(admin.delete(&format!("/api/v1/catalogue/{id}")).await.status, StatusCode::NO_CONTENT);
    assert_eq!(admin.get(&format!("/api/v1/catalogue/{id}")).await.status, StatusCode::NOT_FOUND);
    let trail = admin.get("/api/v1/audit?entity_type=catalogue_item").await.json();
    let actions: Vec<&str> = trail.as_array().into_iter().flatten().filter_map(|e| e["action"].as_str()).collect();
    assert!(actions.contains(&"create") && actions.contains(&"update") && actions.contains(&"delete"), "{trail}");
}

async fn one_description_makes_one_item_even_when_added_twice_at_once(app: TestApp) {
    let admin = app.as_admin();
    let manager = app.as_role(volant::identity::roles::Role::Manager).await;
    let first = json!({ "description": "Vidange huile 5W30", "unit_price": "39" });
    let second = json!({ "description": "vidange  HUILE 5w30", "unit_price": "41" });
    let (a, b) = tokio::join!(admin.post("/api/v1/catalogue", &first), manager.post("/api/v1/catalogue", &second));
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::CREATED, StatusCode::CONFLICT]);
    let refused = if a.status == StatusCode::CONFLICT { a } else { b };
    refused.problem(StatusCode::CONFLICT, "duplicate_catalogue_item");
    assert_eq!(admin.get("/api/v1/catalogue").await.json().as_array().map(Vec::len), Some(1));
    // Renaming another item onto it is refused the same way.
    let other =
        admin.post("/api/v1/catalogue", &json!({ "description": "Filtre à huile", "unit_price": "12" })).await.json();
    let renamed = admin.put(&format!("/api/v1/catalogue/{}", other["id"]), &second).await;
    renamed.problem(StatusCode::CONFLICT, "duplicate_catalogue_item");
}

async fn the_editor_is_offered_items_as_a_description_is_typed(app: TestApp) {
    let admin = app.as_admin();
    for (description, price) in
        [("Plaquettes de frein avant", "48.90"), ("Disques de frein avant", "89"), ("Balais d'essuie-glace", "20")]
    {
        admin
            .post("/api/v1/catalogue", &json!({ "description": description, "unit_price": price, "unit": "jeu" }))
            .await;
    }
    // A mechanic filling in an intervention gets them too.
    let staff = app.as_role(volant::identity::roles::Role::Staff).await;
    let offered = html(&staff.get("/workshop/catalogue/suggest?description=frein%20av").await);
    assert!(offered.starts_with("<datalist id=\"catalogue-options\">"), "{offered}");
    // Alphabetical; each carries what fills the row, in the editor's own notation.
    let disques = offered.find("Disques de frein avant").expect("disques");
    let plaquettes = offered.find("Plaquettes de frein avant").expect("plaquettes");
    assert!(disques < plaquettes, "{offered}");
    assert!(
        offered.contains("data-price=\"48,90\"")
            && offered.contains("data-unit=\"jeu\"")
            && offered.contains("data-kind=\"part\""),
        "{offered}"
    );
    assert!(offered.contains("Pièce · 48,90\u{a0}€"), "{offered}");
    assert!(!offered.contains("essuie"));
    let nothing = html(&staff.get("/workshop/catalogue/suggest?description=%20%20").await);
    assert_eq!(nothing, "<datalist id=\"catalogue-options\"></datalist>");
    // The editor asks for them and says where the catalogue is.
    let client = crate::fixtures::workshop::client(&app, json!({ "name": "Jeanne Martin" })).await;
    let editor = html(&admin.get(&format!("/quotes/new?client_id={client}")).await);
    assert!(
        editor.contains("list=\"catalogue-options\"") && editor.contains("href=\"/workshop/catalogue\""),
        "{editor}"
    );
}

async fn the_catalogue_page_adds_changes_and_removes_items(app: TestApp) {
    let admin = app.as_admin();
    let empty = html(&admin.get("/workshop/catalogue").await);
    assert!(empty.contains("Le catalogue est vide"), "{empty}");
    let refused = admin
        .post_form(
            "/workshop/catalogue",
            &[
                ("description", "Pneu 205/55 R16"),
                ("kind", "part"),
                ("unit", ""),
                ("unit_price", "quatre-vingts"),
                ("vat_rate", "20"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html(&refused).contains("value=\"Pneu 205/55 R16\""), "input kept");
    let added = admin
        .post_form(
            "/workshop/catalogue",
            &[
                ("description", "Pneu 205/55 R16"),
                ("kind", "part"),
                ("unit", "pièce"),
                ("unit_price", "82,50"),
                ("vat_rate", "20"),
            ],
        )
        .await;
    let list = html(&follow(&app, &added).await);
    assert!(list.contains("« Pneu 205/55 R16 » ajouté au catalogue.") && list.contains("82,50\u{a0}€"), "{list}");
    let twice = admin
        .post_form(
            "/workshop/catalogue",
            &[
                ("description", "pneu 205 55 r16"),
                ("kind", "part"),
                ("unit", ""),
                ("unit_price", "80"),
                ("vat_rate", "20"),
            ],
        )
        .await;
    assert_eq!(twice.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html(&twice).contains("Cette désignation est déjà au catalogue."));
    let id = admin.get("/api/v1/catalogue").await.json()[0]["id"].as_i64().expect("id");
    let searched = html(&admin.get("/workshop/catalogue?q=r16").await);
    assert!(searched.contains("1 correspondant(s)") && searched.contains("Pneu 205/55 R16"), "{searched}");
    assert!(html(&admin.get("/workshop/catalogue?q=vidange").await).contains("0 correspondant(s)"));
    let form = html(&admin.get(&format!("/workshop/catalogue/{id}/edit")).await);
    assert!(form.contains("value=\"82,50\""), "{form}");
    let saved = admin
        .post_form(
            &format!("/workshop/catalogue/{id}/edit"),
            &[
                ("description", "Pneu 205/55 R16"),
                ("kind", "part"),
                ("unit", "pièce"),
                ("unit_price", "79,90"),
                ("vat_rate", "5,5"),
            ],
        )
        .await;
    assert!(html(&follow(&app, &saved).await).contains("79,90\u{a0}€"));
    assert_eq!(admin.get(&format!("/api/v1/catalogue/{id}")).await.json()["vat_rate"], "5.5");
    // A mechanic reads the list, without the forms.
    let staff = app.as_role(volant::identity::roles::Role::Staff).await;
    let read_only = html(&staff.get("/workshop/catalogue").await);
    assert!(read_only.contains("Pneu 205/55 R16") && !read_only.contains("Ajouter au catalogue"), "{read_only}");
    assert_eq!(staff.get(&format!("/workshop/catalogue/{id}/edit")).await.status, StatusCode::FORBIDDEN);
    let removed = admin.post_form(&format!("/workshop/catalogue/{id}/delete"), &[]).await;
    assert!(html(&follow(&app, &removed).await).contains("« Pneu 205/55 R16 » retiré du catalogue."));
    let audit = html(&admin.get("/admin/audit").await);
    assert!(audit.contains("Article du catalogue"), "{audit}");
}
