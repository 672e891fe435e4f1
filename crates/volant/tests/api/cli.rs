//! The operator commands, run as the real binary.

use std::process::Command;

fn volant(database_url: &str, args: &[&str], password: Option<&str>) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_volant"));
    // The key file beside the test's database, not in the source tree.
    let key_file =
        database_url.trim_start_matches("sqlite://").split('?').next().unwrap_or("cli.db").to_owned() + ".keys";
    command
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "warn")
        .env("VOLANT_ENCRYPTION_KEY_FILE", key_file);
    if let Some(password) = password {
        command.env("VOLANT_NEW_USER_PASSWORD", password).env("VOLANT_NEW_ADMIN_PASSWORD", password);
    }
    command.output().expect("run volant")
}

#[test]
fn a_new_encryption_key_line_is_printed_for_rotation() {
    let dir = tempfile::tempdir().expect("dir");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("keys.db").display());
    let output = volant(&url, &["generate-encryption-key"], None);
    assert!(output.status.success());
    let line = String::from_utf8(output.stdout).expect("utf-8");
    assert!(volant::platform::crypto::FieldCipher::from_spec(line.trim()).is_ok(), "{line}");
    let reencrypted = volant(&url, &["reencrypt-fields"], None);
    assert!(reencrypted.status.success(), "{}", String::from_utf8_lossy(&reencrypted.stderr));
    let bad = Command::new(env!("CARGO_BIN_EXE_volant"))
        .args(["migrate"])
        .env("DATABASE_URL", &url)
        .env("VOLANT_ENCRYPTION_KEYS", "k1:tooshort")
        .output()
        .expect("run volant");
    assert_eq!(bad.status.code(), Some(2));
    let message = String::from_utf8_lossy(&bad.stderr);
    assert!(message.contains("VOLANT_ENCRYPTION_KEYS") && !message.contains("tooshort"), "{message}");
}

#[test]
fn operators_create_organizations_and_users() {
    let dir = tempfile::tempdir().expect("dir");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("cli.db").display());
    let created = volant(
        &url,
        &["create-organization", "--name", "Dakar Auto", "--currency", "xof", "--time-zone", "Africa/Dakar"],
        None,
    );
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let org: i64 = String::from_utf8_lossy(&created.stdout).trim().parse().expect("stdout is the id alone");
    assert!(org >= 2, "the default organization exists too");

    let ok = volant(
        &url,
        &[
            "create-user",
            "--organization",
            &org.to_string(),
            "--email",
            "chef@dakar-auto.sn",
            "--role",
            "admin",
            "--role",
            "manager",
        ],
        Some(crate::helpers::TEST_PASSWORD),
    );
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let again = volant(
        &url,
        &["create-user", "--organization", &org.to_string(), "--email", "CHEF@dakar-auto.sn", "--role", "staff"],
        Some(crate::helpers::TEST_PASSWORD),
    );
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("déjà utilisée"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let weak = volant(&url, &["create-admin", "--email", "x@y.sn"], Some("court"));
    assert!(!weak.status.success());
    assert!(
        String::from_utf8_lossy(&weak.stderr).contains("12 caractères"),
        "{}",
        String::from_utf8_lossy(&weak.stderr)
    );
    let nowhere = volant(
        &url,
        &["create-user", "--organization", "999", "--email", "z@y.sn", "--role", "staff"],
        Some(crate::helpers::TEST_PASSWORD),
    );
    assert!(String::from_utf8_lossy(&nowhere.stderr).contains("l’organisation 999 n’existe pas"));
    let bad_role =
        volant(&url, &["create-user", "--email", "z@y.sn", "--role", "pilot"], Some(crate::helpers::TEST_PASSWORD));
    assert!(!bad_role.status.success());
    let bad_currency = volant(&url, &["create-organization", "--name", "X", "--currency", "ZZZ"], None);
    assert!(!bad_currency.status.success());
    // Said once, to the person who typed the command (not also as a log line).
    let said = String::from_utf8_lossy(&bad_currency.stderr);
    assert_eq!(said.lines().filter(|l| l.contains("currency")).count(), 1, "{said}");
    assert!(said.starts_with("volant: "), "{said}");
    // A logo given with the organization prints on its documents; a file that is
    // not one creates nothing.
    let logo = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/api/files/logo.png");
    let with_logo = volant(&url, &["create-organization", "--name", "Thiès Auto", "--logo", logo], None);
    assert!(with_logo.status.success(), "{}", String::from_utf8_lossy(&with_logo.stderr));
    let thies: i64 = String::from_utf8_lossy(&with_logo.stdout).trim().parse().expect("id");
    let kept = tokio::runtime::Runtime::new().expect("runtime").block_on(async {
        let settings = volant::platform::db::DbSettings::new(url.clone(), 1);
        let db = volant::platform::db::connect(&settings).await.expect("db");
        volant::identity::organizations::logo::get(&db, volant::platform::tenant::OrgId::new(thies)).await
    });
    let kept = kept.expect("read").expect("the logo is kept");
    assert_eq!(kept.content_type, "image/png");
    let not_a_logo = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/api/cli.rs");
    let refused = volant(&url, &["create-organization", "--name", "Rufisque Auto", "--logo", not_a_logo], None);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("logo"), "{}", String::from_utf8_lossy(&refused.stderr));
}

#[tokio::test]
async fn the_first_administrator_and_those_named_so_operate_the_instance() {
    use sea_orm::{EntityTrait, QueryOrder};
    use volant::identity::users::entity::{Column, Entity as Users};
    let dir = tempfile::tempdir().expect("dir");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("operators.db").display());
    for args in [
        vec!["create-admin", "--email", "premier@volant.test"],
        vec!["create-admin", "--email", "second@volant.test"],
        vec!["create-admin", "--email", "exploitation@volant.test", "--operator"],
    ] {
        let output = volant(&url, &args, Some(crate::helpers::TEST_PASSWORD));
        assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
    }
    let db = volant::platform::db::connect(&volant::platform::db::DbSettings::new(url, 1)).await.expect("connect");
    let users = Users::find().order_by_asc(Column::Id).all(&db).await.expect("users");
    let flags: Vec<(&str, bool)> = users.iter().map(|u| (u.email.as_str(), u.is_operator)).collect();
    assert_eq!(
        flags,
        [("premier@volant.test", true), ("second@volant.test", false), ("exploitation@volant.test", true)]
    );
}

#[tokio::test]
async fn reset_password_prints_a_link_that_opens_the_account() {
    let dir = tempfile::tempdir().expect("dir");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("reset.db").display());
    let created = volant(&url, &["create-admin", "--email", "chef@garage.test"], Some(crate::helpers::TEST_PASSWORD));
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));

    let printed = volant(&url, &["reset-password", "--email", "Chef@Garage.test"], None);
    assert!(printed.status.success(), "{}", String::from_utf8_lossy(&printed.stderr));
    let stdout = String::from_utf8(printed.stdout).expect("utf-8");
    let link = stdout.lines().next().expect("the link");
    assert!(link.starts_with("http://") && link.contains("/password/reset/"), "{stdout}");
    assert!(stdout.contains("valable une seule fois, jusqu’au"), "{stdout}");
    let secret = link.rsplit('/').next().expect("secret");
    let db = sea_orm::Database::connect(&url).await.expect("database");
    let opened = volant::identity::passwords::service::open(&db, secret).await.expect("the link opens");
    assert_eq!(opened.account.email, "chef@garage.test");

    let nobody = volant(&url, &["reset-password", "--email", "personne@garage.test"], None);
    assert!(!nobody.status.success());
    assert!(String::from_utf8_lossy(&nobody.stderr).contains("Aucun compte n'a cette adresse e-mail."));
}

#[tokio::test]
async fn the_demo_prints_an_account_per_role_linked_to_its_school_files() {
    let dir = tempfile::tempdir().expect("dir");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("demo.db").display());
    let seeded = volant(&url, &["seed-demo"], None);
    assert!(seeded.status.success(), "{}", String::from_utf8_lossy(&seeded.stderr));
    let out = String::from_utf8(seeded.stdout).expect("utf-8");
    for line in [
        "Gérant",
        "Mécanicien",
        "moniteur@volant-demo.example",
        "candidat@volant-demo.example",
        "gerant.dakar@volant-demo.example  (Sahel Auto Services : garages de Dakar, Thiès, Abidjan et Cotonou, en FCFA)",
    ] {
        assert!(out.contains(line), "{out}");
    }
    let password = out.lines().find_map(|l| l.strip_prefix("Mot de passe de ces comptes : ")).expect("password");
    let db = sea_orm::Database::connect(&url).await.expect("db");
    use volant::identity::users::service as users;
    let instructor = users::authenticate(&db, "moniteur@volant-demo.example", password).await.expect("ok");
    let instructor = instructor.expect("the printed password signs the instructor in");
    let instructor_org = Some(instructor.org);
    let file = volant::school::instructors::service::of_user(&db, instructor.org, instructor.id).await.expect("ok");
    assert!(file.is_some(), "the instructor's account opens their file");
    let candidate = users::authenticate(&db, "candidat@volant-demo.example", password).await.expect("ok");
    assert!(candidate.is_some());
    let dakar = users::authenticate(&db, "gerant.dakar@volant-demo.example", password).await.expect("ok");
    let dakar = dakar.expect("the printed password signs the Dakar manager in");
    let org = volant::identity::organizations::service::get(&db, dakar.org).await.expect("org");
    assert_eq!(
        (org.name.as_str(), org.currency.code(), org.time_zone.as_str()),
        ("Sahel Auto Services", "XOF", "Africa/Dakar")
    );
    assert_ne!(Some(dakar.org), instructor_org, "the West African garages are an organization of their own");
    let centre = volant::identity::organizations::service::get(&db, instructor.org).await.expect("org");
    assert_eq!((centre.name.as_str(), centre.currency.code()), ("Garage & Auto-école du Centre", "EUR"));
    assert_eq!(centre.vat_number.as_deref(), Some("FR46842315678"));
    // Every model is of a year it was sold in.
    use sea_orm::ConnectionTrait;
    let statement = "SELECT MIN(year) AS first FROM vehicles WHERE model = 'Model 3'";
    let row = db.query_one_raw(sea_orm::Statement::from_string(db.get_database_backend(), statement)).await;
    let first: Option<i32> = row.expect("query").and_then(|r| r.try_get("", "first").ok());
    assert!(first.is_none_or(|year| year >= 2017), "{first:?}");
}

#[tokio::test]
async fn create_user_opens_an_instructors_file_once() {
    let dir = tempfile::tempdir().expect("dir");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("link.db").display());
    assert!(volant(&url, &["migrate"], None).status.success());
    let db = sea_orm::Database::connect(&url).await.expect("db");
    let org = volant::identity::organizations::service::ensure_default(&db).await.expect("organization");
    let input = volant::school::instructors::service::InstructorInput {
        first_name: Some("Karim".into()),
        last_name: Some("Benali".into()),
        licence_number: Some("AE-13-0042".into()),
        categories: vec!["B".into()],
        ..Default::default()
    };
    let actor = volant::identity::audit::Actor::system(org);
    let file = volant::school::instructors::service::create(&db, &actor, &input).await.expect("file").id;
    drop(db);
    let file_arg = file.to_string();
    const PASSWORD: &str = "cheval agrafe batterie correcte";
    let password = Some(PASSWORD);
    let wrong_role = volant(
        &url,
        &["create-user", "--email", "k@ecole.fr", "--role", "staff", "--instructor-file", &file_arg],
        password,
    );
    assert!(!wrong_role.status.success() && String::from_utf8_lossy(&wrong_role.stderr).contains("--role instructor"));
    let linked = volant(
        &url,
        &["create-user", "--email", "karim@ecole.fr", "--role", "instructor", "--instructor-file", &file_arg],
        password,
    );
    assert!(linked.status.success(), "{}", String::from_utf8_lossy(&linked.stderr));
    let again = volant(
        &url,
        &["create-user", "--email", "autre@ecole.fr", "--role", "instructor", "--instructor-file", &file_arg],
        password,
    );
    assert!(!again.status.success(), "a file opens one account");
    let db = sea_orm::Database::connect(&url).await.expect("db");
    let karim = volant::identity::users::service::authenticate(&db, "karim@ecole.fr", PASSWORD)
        .await
        .expect("ok")
        .expect("karim signs in");
    let opened = volant::school::instructors::service::of_user(&db, org, karim.id).await.expect("ok");
    assert_eq!(opened.map(|f| f.id), Some(file));
    assert!(
        volant::identity::users::service::authenticate(&db, "autre@ecole.fr", PASSWORD).await.expect("ok").is_none(),
        "the refused account was not created either"
    );
}
