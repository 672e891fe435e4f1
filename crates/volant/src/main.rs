//! The `volant` command line: serve (default), worker, migrate, seed-demo, ….

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;
use volant::App;
use volant::platform::config::{Config, ConfigArgs};
use volant::platform::db::{self, DbSettings};
use volant::platform::i18n::Locale;
use volant::platform::telemetry;

#[derive(Parser)]
#[command(name = "volant", version, about = "Operations software for garage networks and driving schools")]
struct Cli {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web server (the default), with its in-process workers (VOLANT_WORKERS).
    Serve,
    /// Run background jobs only (several may share one PostgreSQL with the servers).
    Worker {
        /// Jobs run at once.
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
    },
    /// Bring the database schema up to date, then exit.
    Migrate,
    /// Fill an empty database with demo garages, vehicles, clients, quotes, service history and a driving school.
    SeedDemo,
    /// Create an administrator of the default organization. The instance's first one
    /// is also its platform operator (status page, platform-wide jobs).
    CreateAdmin {
        #[arg(long)]
        email: String,
        /// Make this administrator a platform operator too (the first one always is).
        #[arg(long)]
        operator: bool,
        /// Display name (defaults to the part of the e-mail before @).
        #[arg(long)]
        name: Option<String>,
        /// Password; read from VOLANT_NEW_ADMIN_PASSWORD when not given.
        #[arg(long, env = "VOLANT_NEW_ADMIN_PASSWORD", hide_env_values = true)]
        password: String,
    },
    /// Create an organization (a garage network or a driving school); prints its id.
    CreateOrganization {
        #[arg(long)]
        name: String,
        /// garage, school or both: the modules its people see.
        #[arg(long, default_value = "both")]
        kind: String,
        /// Postal address (use \n for a new line).
        #[arg(long)]
        address: Option<String>,
        #[arg(long)]
        phone: Option<String>,
        /// Contact e-mail shown on quotes and e-mails.
        #[arg(long)]
        email: Option<String>,
        /// SIRET or other company registration number.
        #[arg(long)]
        registration_number: Option<String>,
        /// Intra-community VAT number.
        #[arg(long)]
        vat_number: Option<String>,
        /// fr or en.
        #[arg(long, default_value = "fr")]
        locale: String,
        /// ISO 4217 code: EUR, XOF, XAF, …
        #[arg(long, default_value = "EUR")]
        currency: String,
        /// A PNG or JPEG file (512 KiB at most) printed on quotes and e-mails.
        #[arg(long)]
        logo: Option<std::path::PathBuf>,
        /// IANA time zone, e.g. Africa/Dakar.
        #[arg(long, default_value = "Europe/Paris")]
        time_zone: String,
    },
    /// Make a consistent backup (SQLite: VACUUM INTO; PostgreSQL: pg_dump) with its manifest, then apply the retention.
    Backup {
        /// Folder of the backups (VOLANT_BACKUP_DIR, or ./backups).
        #[arg(long)]
        dir: Option<std::path::PathBuf>,
    },
    /// Restore a backup into an empty database (DATABASE_URL unless --into), then check every table.
    Restore {
        #[arg(long)]
        file: std::path::PathBuf,
        /// The empty database to restore into.
        #[arg(long)]
        into: Option<String>,
        /// The age identity file that opens an encrypted backup (VOLANT_BACKUP_IDENTITY_FILE otherwise).
        #[arg(long)]
        identity: Option<std::path::PathBuf>,
    },
    /// Restore the newest backup of VOLANT_BACKUP_DIR into a scratch database, check it and drop it; record the outcome.
    RestoreDrill,
    /// Print a new age identity for encrypted backups, its public key in a comment
    /// (keep the output as the identity file; give the public key to VOLANT_BACKUP_RECIPIENTS).
    GenerateBackupKey,
    /// Print a new encryption key line for VOLANT_ENCRYPTION_KEYS (see docs/operations.md: key rotation).
    GenerateEncryptionKey,
    /// Re-encrypt every sensitive field and stored file still under an older key with the current (first) one.
    ReencryptFields,
    /// Print a link (valid 24 hours, usable once) for a user to choose a new password;
    /// nothing is e-mailed. Their sessions and API tokens end when they use it.
    ResetPassword {
        /// The account's e-mail address.
        #[arg(long)]
        email: String,
    },
    /// Remove a user's second factor (a lost phone and lost recovery codes, when no
    /// administrator of their organization can do it): they sign in with their
    /// password alone; their sessions end.
    ResetTwoFactor {
        /// The account's e-mail address.
        #[arg(long)]
        email: String,
    },
    /// Create a user with one or more roles (in the default organization unless told).
    CreateUser {
        /// The organization's id (see create-organization); the default one otherwise.
        #[arg(long)]
        organization: Option<i64>,
        #[arg(long)]
        email: String,
        /// Display name (defaults to the part of the e-mail before @).
        #[arg(long)]
        name: Option<String>,
        /// admin, manager, staff, instructor or candidate; repeat for several.
        #[arg(long = "role", required = true, value_parser = parse_role)]
        roles: Vec<volant::identity::roles::Role>,
        /// Password; read from VOLANT_NEW_USER_PASSWORD when not given.
        #[arg(long, env = "VOLANT_NEW_USER_PASSWORD", hide_env_values = true)]
        password: String,
        /// Link the account to this instructor's file (role instructor).
        #[arg(long, conflicts_with = "candidate_file")]
        instructor_file: Option<i64>,
        /// Link the account to this candidate's file (role candidate).
        #[arg(long)]
        candidate_file: Option<i64>,
    },
}

/// glibc malloc raises its mmap threshold after the first large free, then keeps
/// every freed Argon2 block (19 MiB) in its arenas: 350+ MB after a burst of
/// sign-ins. mimalloc returns such memory to the system.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::from_args(&cli.config) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("volant: configuration error: {err}");
            return ExitCode::from(2);
        }
    };
    let telemetry = telemetry::init(config.log_format, config.otlp_endpoint.as_deref());
    let command = cli.command.unwrap_or(Command::Serve);
    // A service's failure goes to its logs; a command's is told once, to whoever typed it.
    let is_service = matches!(command, Command::Serve | Command::Worker { .. });
    // A command speaks the instance's language (a key needs no database).
    let locale = match command {
        Command::Serve | Command::Worker { .. } | Command::GenerateEncryptionKey | Command::GenerateBackupKey => {
            Locale::default()
        }
        _ => operator_locale(&config).await,
    };
    let result = volant::platform::i18n::scope(locale, run(command, config)).await;
    telemetry.shutdown();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if is_service => {
            tracing::error!("{err}");
            ExitCode::FAILURE
        }
        Err(err) => {
            eprintln!("volant: {err}");
            ExitCode::FAILURE
        }
    }
}

/// The instance's first organization's language; French before there is one,
/// or when the database cannot be read (the command will say why).
async fn operator_locale(config: &Config) -> Locale {
    let settings = DbSettings::new(config.database_url.clone(), 1);
    let Ok(conn) = db::connect(&settings).await else { return Locale::default() };
    volant::identity::organizations::service::first_locale(&conn).await.ok().flatten().unwrap_or_default()
}

async fn run(command: Command, config: Config) -> Result<(), String> {
    match command {
        Command::Serve => serve(config).await,
        Command::Worker { concurrency } => worker(config, concurrency).await,
        Command::Migrate => migrate(&config).await,
        Command::SeedDemo => seed_demo(config).await,
        Command::CreateAdmin { email, operator, name, password } => {
            let admin = vec![volant::identity::roles::Role::Admin];
            create_user(config, (None, None), email, name, password, admin, operator).await
        }
        Command::CreateOrganization {
            name,
            kind,
            address,
            phone,
            email,
            registration_number,
            vat_number,
            locale,
            currency,
            time_zone,
            logo,
        } => {
            use volant::identity::organizations::service::{NewOrganization, OrganizationPatch};
            let some = |v: Option<String>| v.map(Some);
            let details = OrganizationPatch {
                address: some(address.map(|a| a.replace("\\n", "\n"))),
                phone: some(phone),
                email: some(email),
                registration_number: some(registration_number),
                vat_number: some(vat_number),
                ..OrganizationPatch::default()
            };
            let new = NewOrganization { name, kind, currency, locale, time_zone, details };
            create_organization(config, new, logo.as_deref()).await
        }
        Command::CreateUser { organization, email, name, roles, password, instructor_file, candidate_file } => {
            use volant::identity::roles::Role;
            let file =
                instructor_file.map(|id| (Role::Instructor, id)).or(candidate_file.map(|id| (Role::Candidate, id)));
            create_user(config, (organization, file), email, name, password, roles, false).await
        }
        Command::ResetPassword { email } => reset_password(config, &email).await,
        Command::ResetTwoFactor { email } => reset_two_factor(config, &email).await,
        Command::ReencryptFields => reencrypt_fields(config).await,
        Command::Backup { dir } => backup(config, dir).await,
        Command::Restore { file, into, identity } => restore(&config, &file, into, identity).await,
        Command::RestoreDrill => restore_drill(config).await,
        Command::GenerateBackupKey => {
            let (identity, recipient) = volant::platform::backup::generate_identity();
            #[allow(clippy::print_stdout)] // The command's output: the identity file's lines.
            {
                println!("# public key (VOLANT_BACKUP_RECIPIENTS): {recipient}");
                println!("{identity}");
            }
            Ok(())
        }
        Command::GenerateEncryptionKey => volant::platform::crypto::FieldCipher::generate_spec()
            .map(|spec| {
                #[allow(clippy::print_stdout)] // The command's output.
                {
                    println!("{spec}");
                }
            })
            .map_err(|e| e.to_string()),
    }
}

async fn serve(config: Config) -> Result<(), String> {
    let addr = config.addr;
    tracing::info!(?config, "starting");
    let app = App::build(config).await.map_err(|e| e.to_string())?;
    let shutdown = CancellationToken::new();
    let workers = match app.state.config.workers {
        0 => None,
        concurrency => Some(app.start_workers(concurrency, shutdown.clone()).map_err(|e| e.to_string())?),
    };
    spawn_internal_metrics(&app.state, &shutdown);
    let hub = app.state.live.clone();
    let app = app.router;
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    tracing::info!("Volant is running: open http://{local}");
    axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            tracing::info!("stopping: finishing the requests in flight");
            // Live streams would keep their connections open forever.
            hub.close();
        })
        .await
        .map_err(|e| e.to_string())?;
    shutdown.cancel();
    if let Some(workers) = workers {
        let _ = workers.await;
    }
    tracing::info!("stopped");
    Ok(())
}

/// `/metrics` on the internal address, when one is configured.
fn spawn_internal_metrics(state: &volant::platform::AppState, shutdown: &CancellationToken) {
    if let Some(addr) = state.config.metrics_addr {
        let (db, sources) = (state.db.clone(), volant::platform::metrics::Sources::of(&state.config));
        tokio::spawn(volant::platform::metrics::serve_internal(addr, db, sources, shutdown.clone()));
    }
}

/// Runs jobs until SIGTERM or Ctrl-C, then lets running jobs finish.
async fn worker(config: Config, concurrency: usize) -> Result<(), String> {
    tracing::info!(?config, "starting a worker");
    let app = App::build(config).await.map_err(|e| e.to_string())?;
    let shutdown = CancellationToken::new();
    let workers = app.start_workers(concurrency, shutdown.clone()).map_err(|e| e.to_string())?;
    spawn_internal_metrics(&app.state, &shutdown);
    shutdown_signal().await;
    shutdown.cancel();
    let _ = workers.await;
    tracing::info!("worker stopped");
    Ok(())
}

async fn migrate(config: &Config) -> Result<(), String> {
    let settings = DbSettings::new(config.database_url.clone(), 1);
    let conn = db::connect(&settings).await.map_err(|e| format!("database: {e}"))?;
    db::migrate(&conn).await.map_err(|e| format!("migration failed: {e}"))?;
    tracing::info!("database schema is up to date");
    Ok(())
}

async fn seed_demo(config: Config) -> Result<(), String> {
    use volant::fleet::demo::Region;
    use volant::identity::roles::Role;
    use volant::identity::users::service::{self as users, NewUser};
    let state = volant::app::state(config).await.map_err(|e| e.to_string())?;
    let org = state.default_org;
    let locale =
        volant::identity::organizations::service::get(&state.db, org).await.map_err(|e| e.for_operator())?.locale;
    let garages = async |org, region| -> Result<(), String> {
        let report = volant::fleet::demo::seed(&state.db, org, region).await.map_err(|e| e.for_operator())?;
        tracing::info!(garages = report.garages, vehicles = report.vehicles, ?region, "demo fleet created");
        let workshop = volant::workshop::demo::seed(&state.db, org, region).await.map_err(|e| e.for_operator())?;
        tracing::info!(
            clients = workshop.clients,
            quotes = workshop.quotes,
            interventions = workshop.interventions,
            alerts = workshop.alerts,
            ?region,
            "demo workshop created"
        );
        let invoices = volant::billing::demo::seed(&state.db, org).await.map_err(|e| e.for_operator())?;
        tracing::info!(invoices, ?region, "demo invoices created");
        Ok(())
    };
    // A database never set up has a nameless organization: the demo gives it a
    // business's name and details, which its quotes and e-mails print.
    let current = volant::identity::organizations::service::get(&state.db, org).await.map_err(|e| e.for_operator())?;
    if current.name == volant::identity::organizations::service::NewOrganization::default().name {
        let actor = volant::identity::audit::Actor::system(org);
        volant::identity::organizations::service::update(&state.db, &actor, volant::fleet::demo::france_profile())
            .await
            .map_err(|e| e.for_operator())?;
    }
    garages(org, Region::France).await?;
    // The West African garages are a network of their own, invoicing in CFA francs.
    let west_africa = volant::identity::organizations::service::create(&state.db, volant::fleet::demo::west_africa())
        .await
        .map_err(|e| e.for_operator())?;
    garages(west_africa, Region::WestAfrica).await?;
    // One account per role to sign in as; the instructor and the candidate are
    // the first files of the school.
    let password = demo_password()?;
    let roles = [
        ("gerant@volant-demo.example", "demo.manager", Role::Manager),
        ("mecanicien@volant-demo.example", "demo.mechanic", Role::Staff),
        ("moniteur@volant-demo.example", "demo.instructor", Role::Instructor),
        ("candidat@volant-demo.example", "demo.candidate", Role::Candidate),
    ];
    let mut accounts = Vec::new();
    for (email, label, role) in roles {
        let new = NewUser {
            email: email.to_owned(),
            display_name: locale.text(label).to_owned(),
            password: password.clone(),
            roles: vec![role],
        };
        let user = users::create(&state.db, org, new).await.map_err(|e| e.for_operator())?;
        accounts.push((locale.text(label), email, user.id));
    }
    let manager = NewUser {
        email: "gerant.dakar@volant-demo.example".to_owned(),
        display_name: locale.text("demo.manager").to_owned(),
        password: password.clone(),
        roles: vec![Role::Manager],
    };
    let manager = users::create(&state.db, west_africa, manager).await.map_err(|e| e.for_operator())?;
    let dakar = locale.text("demo.manager_west_africa");
    let linked = volant::school::demo::DemoAccounts { instructor: Some(accounts[2].2), candidate: Some(accounts[3].2) };
    let school =
        volant::school::demo::seed(&state.db, &state.cipher, org, linked).await.map_err(|e| e.for_operator())?;
    tracing::info!(
        instructors = school.instructors,
        candidates = school.candidates,
        lessons = school.lessons,
        "demo driving school created"
    );
    // The demo's people are invented: what their creation would tell them is recorded, not sent.
    let mut withheld = 0;
    for org in [org, west_africa] {
        withheld += volant::notify::service::withhold_pending(&state.db, org, locale.text("demo.not_sent"))
            .await
            .map_err(|e| e.for_operator())?;
    }
    tracing::info!(withheld, "demo notifications recorded without being sent");
    #[allow(clippy::print_stdout)] // The accounts are the command's answer, for the person trying Volant.
    {
        println!("{}", locale.text("demo.accounts"));
        for (label, email, _) in &accounts {
            println!("  {label:<12} {email}");
        }
        println!("  {:<12} {}  ({dakar})", locale.text("demo.manager"), manager.email);
        println!("{}", locale.format("demo.password", &[("password", &password)]));
    }
    Ok(())
}

/// A password for the demo's accounts, new at each seeding and drawn from the
/// system's randomness: never a known one.
fn demo_password() -> Result<String, String> {
    const WORDS: &[&str] =
        &["garage", "bougie", "volant", "piston", "embrayage", "klaxon", "pneu", "moteur", "courroie", "essieu"];
    let random = volant::platform::secrets::random_token(8).map_err(|e| e.for_operator())?;
    let bytes = hex::decode(&random).map_err(|e| e.to_string())?;
    let words: Vec<&str> = bytes.iter().take(4).map(|b| WORDS[usize::from(*b) % WORDS.len()]).collect();
    Ok(format!("{}-{}", words.join("-"), &random[8..]))
}

async fn reencrypt_fields(config: Config) -> Result<(), String> {
    let state = volant::app::state(config).await.map_err(|e| e.to_string())?;
    let changed = volant::school::candidates::service::reencrypt_all(&state.db, &state.cipher)
        .await
        .map_err(|e| e.to_string())?;
    let servers =
        volant::notify::mail_settings::reencrypt_all(&state.db, &state.cipher).await.map_err(|e| e.to_string())?;
    let files = volant::documents::service::reencrypt_files(&state.db, &state.files, &state.cipher)
        .await
        .map_err(|e| e.to_string())?;
    let second_factors =
        volant::identity::two_factor::reencrypt_all(&state.db, &state.cipher).await.map_err(|e| e.to_string())?;
    let webhooks =
        volant::notify::webhooks::reencrypt_all(&state.db, &state.cipher).await.map_err(|e| e.to_string())?;
    let sso_secrets =
        volant::identity::sso::reencrypt_all(&state.db, &state.cipher).await.map_err(|e| e.to_string())?;
    let import_changes = volant::imports::service::reencrypt_all(&state.db, &state.files, &state.cipher)
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!(
        candidates = changed,
        import_changes,
        mail_servers = servers,
        files,
        second_factors,
        webhooks,
        sso_secrets,
        key = state.cipher.current_key_id(),
        "sensitive fields and files re-encrypted"
    );
    Ok(())
}

async fn backup(config: Config, dir: Option<std::path::PathBuf>) -> Result<(), String> {
    use volant::platform::backup;
    let dir = dir.or_else(|| config.backup_dir.clone()).unwrap_or_else(|| "backups".into());
    let keep = config.backup_keep;
    let settings = DbSettings::new(config.database_url.clone(), 2);
    let conn = db::connect(&settings).await.map_err(|e| format!("database: {e}"))?;
    let files = volant::platform::files::FileStore::open(config.object_store_url.as_deref(), &config.files_dir)?;
    let blobs = backup::Blobs { store: &files, named_in: &[volant::documents::service::BLOBS] };
    let options = backup::Options { blobs: Some(blobs), recipients: &config.backup_recipients };
    let manifest = backup::backup(&conn, &config.database_url, &dir, options).await?;
    if config.object_store_url.is_some() {
        backup::copy_offsite(&files, &dir, &manifest).await?;
    }
    let removed = backup::prune(&dir, keep)?;
    #[allow(clippy::print_stdout)] // The file made is the command's answer, for scripts.
    {
        println!("{}", dir.join(&manifest.file).display());
    }
    tracing::info!(tables = manifest.tables.len(), removed = removed.len(), "backup done");
    Ok(())
}

async fn restore(
    config: &Config,
    file: &std::path::Path,
    into: Option<String>,
    identity: Option<std::path::PathBuf>,
) -> Result<(), String> {
    let into = into.unwrap_or_else(|| config.database_url.clone());
    // The files go back into the configured store (the local folder or S3).
    let files = volant::platform::files::FileStore::open(config.object_store_url.as_deref(), &config.files_dir)?;
    let identities = match identity.or_else(|| config.backup_identity_file.clone()) {
        Some(path) => volant::platform::backup::read_identities(&path)?,
        None => Vec::new(),
    };
    let restored = volant::platform::backup::restore(file, &into, Some(&files), &identities).await?;
    tracing::info!(tables = restored.tables, rows = restored.rows, files = restored.files, "restored and checked");
    Ok(())
}

async fn restore_drill(config: Config) -> Result<(), String> {
    // A command typed on the wrong host says so, without recording a failure nor alerting anyone.
    if let Some(reason) = volant::operations::drills::unconfigured(&config) {
        return Err(reason);
    }
    let conn =
        db::connect(&DbSettings::new(config.database_url.clone(), 2)).await.map_err(|e| format!("database: {e}"))?;
    let run = volant::operations::drills::run(&conn, &config).await.map_err(|e| e.to_string())?;
    #[allow(clippy::print_stdout)] // The drill's verdict, for scripts and people.
    {
        println!("{}: {}", run.backup_file.as_deref().unwrap_or("-"), run.detail);
    }
    if run.succeeded { Ok(()) } else { Err(format!("restore drill failed: {}", run.detail)) }
}

fn parse_role(value: &str) -> Result<volant::identity::roles::Role, String> {
    volant::identity::roles::Role::parse(value)
        .ok_or_else(|| "expected admin, manager, staff, instructor or candidate".to_owned())
}

/// `logo`: a file to print on the organization's documents, checked before
/// anything is created (a refused logo creates no organization).
async fn create_organization(
    config: Config,
    new: volant::identity::organizations::service::NewOrganization,
    logo: Option<&std::path::Path>,
) -> Result<(), String> {
    use volant::identity::organizations::service as organizations;
    let logo = match logo {
        None => None,
        Some(path) => Some(tokio::fs::read(path).await.map_err(|e| format!("{}: {e}", path.display()))?),
    };
    let state = volant::app::state(config).await.map_err(|e| e.to_string())?;
    let org = volant::platform::db::write(&state.db, async |txn| {
        let org = organizations::create(txn, new).await?;
        if let Some(bytes) = logo {
            volant::identity::organizations::logo::set(txn, &volant::identity::audit::Actor::system(org), bytes)
                .await?;
        }
        Ok::<_, volant::platform::error::AppError>(org)
    })
    .await
    .map_err(|e| e.for_operator())?;
    #[allow(clippy::print_stdout)] // The id is the command's answer, for scripts.
    {
        println!("{org}");
    }
    Ok(())
}

/// `file`: the school file (an instructor's or a candidate's, by the role it
/// needs) the account opens, linked in the same transaction.
async fn create_user(
    config: Config,
    (organization, file): (Option<i64>, Option<(volant::identity::roles::Role, i64)>),
    email: String,
    name: Option<String>,
    password: String,
    roles: Vec<volant::identity::roles::Role>,
    operator: bool,
) -> Result<(), String> {
    use volant::identity::users::service::{self as users, NewUser};
    let state = volant::app::state(config).await.map_err(|e| e.to_string())?;
    let display_name = name.unwrap_or_else(|| email.split('@').next().unwrap_or("Utilisateur").to_owned());
    let new = NewUser { email, display_name, password, roles };
    let org = match organization {
        Some(id) => {
            let org = volant::platform::tenant::OrgId::new(id);
            volant::identity::organizations::service::get(&state.db, org).await.map_err(|_| {
                volant::platform::i18n::current().format("cli.organization_unknown", &[("id", &id.to_string())])
            })?;
            org
        }
        None => state.default_org,
    };
    if let Some((role, id)) = file
        && !new.roles.contains(&role)
    {
        let role = role.to_string();
        return Err(volant::platform::i18n::current()
            .format("cli.file_needs_role", &[("id", &id.to_string()), ("role", &role)]));
    }
    let created = volant::platform::db::write(&state.db, async |txn| {
        let user = users::create(txn, org, new).await?;
        let actor = volant::identity::audit::Actor::system(org);
        match file {
            Some((volant::identity::roles::Role::Instructor, id)) => {
                volant::school::instructors::service::link_account(txn, &actor, id, user.id).await?;
            }
            Some((_, id)) => volant::school::candidates::service::link_account(txn, &actor, id, user.id).await?,
            None => {}
        }
        Ok::<_, volant::platform::error::AppError>(user)
    })
    .await;
    match created {
        Ok(user) => {
            tracing::info!(user_id = user.id, email = %user.email, roles = ?user.roles, "user created");
            // A platform operator when asked, or as the default organization's first
            // administrator while the instance has none.
            let first = org == state.default_org
                && user.has_role(volant::identity::roles::Role::Admin)
                && !users::has_operator(&state.db).await.map_err(|e| e.to_string())?;
            if operator || first {
                users::set_operator(&state.db, user.id, true).await.map_err(|e| e.to_string())?;
            }
            Ok(())
        }
        Err(err) => Err(err.for_operator()),
    }
}

async fn reset_password(config: Config, email: &str) -> Result<(), String> {
    use volant::identity::passwords::service as passwords;
    let public_url = config.public_url.clone();
    let state = volant::app::state(config).await.map_err(|e| e.to_string())?;
    let link = passwords::make_for_operator(&state.db, email).await.map_err(|e| e.for_operator())?;
    tracing::info!(user_id = link.user_id, "password link made for an operator");
    #[allow(clippy::print_stdout)] // The command's output.
    {
        println!("{public_url}{}", passwords::path(&link.secret));
        let until = link.expires_at.format("%Y-%m-%d %H:%M").to_string();
        println!("{}", volant::platform::i18n::current().format("cli.link_valid_until", &[("until", &until)]));
    }
    Ok(())
}

async fn reset_two_factor(config: Config, email: &str) -> Result<(), String> {
    let state = volant::app::state(config).await.map_err(|e| e.to_string())?;
    let (org, user_id) = volant::identity::users::service::account_of(&state.db, email)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no account with the e-mail {email}"))?;
    let actor = volant::identity::audit::Actor::system(org);
    let removed = volant::identity::two_factor::disable(&state.db, &actor, user_id, "reset by an operator")
        .await
        .map_err(|e| e.to_string())?;
    volant::identity::auth::revoke_all(&state.db, user_id).await.map_err(|e| e.to_string())?;
    tracing::info!(user_id, removed, "second factor reset by an operator");
    Ok(())
}

/// Ctrl-C or SIGTERM (what container runtimes send) stops accepting
/// connections and lets requests in flight finish.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
