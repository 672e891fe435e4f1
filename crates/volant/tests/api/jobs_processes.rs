//! Real `volant` processes sharing one database: a worker killed in the middle
//! of a batch (another finishes it, nothing lost), and two servers on one
//! PostgreSQL (each job done once, each schedule once per period).

use std::collections::HashMap;
use std::time::Duration;

use sea_orm::{ConnectionTrait, Statement, TransactionTrait};
use volant::notify::{self, Event, Notice};

use crate::backend_tests;
use crate::helpers::TestApp;
use crate::servers::{Process, SmtpServer};

fn volant(app: &TestApp, smtp: &SmtpServer, args: &[&str], dir: &std::path::Path) -> Process {
    let log = std::fs::File::create(dir.join(format!("volant-{}.log", fastrand::u32(..)))).expect("log file");
    let child = crate::servers::volant(&app.database_url(), dir, args)
        .env("SMTP_URL", smtp.url())
        .env("VOLANT_ADDR", "127.0.0.1:0")
        .env("VOLANT_WORKERS", "4")
        .env("VOLANT_JOB_LEASE_SECS", "3")
        .env("VOLANT_LOG_FORMAT", "json")
        .stderr(log)
        .spawn()
        .expect("start volant");
    Process(child)
}

/// Queues `total` e-mails, 50 per transaction.
async fn queue_emails(app: &TestApp, total: usize) {
    for chunk in 0..total.div_ceil(50) {
        let txn = app.db.begin().await.expect("begin");
        for n in chunk * 50..((chunk + 1) * 50).min(total) {
            let notice = Notice::new(Event::QuoteSent, format!("Message {n}"), "Bonjour,\n\nVotre devis est prêt.")
                .email(Some(format!("client{n}@exemple.fr")));
            notify::send(&txn, app.org, notice).await.expect("queue");
        }
        txn.commit().await.expect("commit");
    }
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    let row = app
        .db
        .query_one_raw(Statement::from_string(app.db.get_database_backend(), sql.to_owned()))
        .await
        .expect("query")
        .expect("a row");
    row.try_get_by_index::<i64>(0).expect("a count")
}

async fn wait_for(what: &str, limit: Duration, mut done: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + limit;
    while !done().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Each message once: (distinct Message-IDs, copies beyond the first).
fn tally(smtp: &SmtpServer) -> (usize, usize) {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for mail in smtp.received() {
        *seen.entry(mail.message_id()).or_default() += 1;
    }
    let extra = seen.values().map(|n| n - 1).sum();
    (seen.len(), extra)
}

backend_tests!(a_worker_killed_in_the_middle_of_a_batch_loses_no_job);

async fn a_worker_killed_in_the_middle_of_a_batch_loses_no_job(app: TestApp) {
    let dir = tempfile::tempdir().expect("dir");
    // A slow mail server: the batch takes seconds, so the kill lands inside it.
    let smtp = SmtpServer::start_with_delay(Duration::from_millis(20));
    let total = 200;
    queue_emails(&app, total).await;
    let mut first = volant(&app, &smtp, &["worker", "--concurrency", "4"], dir.path());
    wait_for("the first e-mails", Duration::from_secs(60), async || smtp.count() >= 20).await;
    first.0.kill().expect("kill -9 the worker");
    first.0.wait().expect("reaped");
    let at_kill = smtp.count();
    assert!(at_kill < total, "the worker died in the middle of its batch ({at_kill} sent)");

    let _second = volant(&app, &smtp, &["worker", "--concurrency", "4"], dir.path());
    wait_for("every e-mail sent", Duration::from_secs(90), async || {
        count(&app, "SELECT COUNT(*) FROM email_outbox WHERE status = 'sent'").await == total as i64
    })
    .await;
    wait_for("every job done", Duration::from_secs(30), async || {
        count(&app, "SELECT COUNT(*) FROM jobs WHERE kind = 'notify.email' AND status = 'done'").await == total as i64
    })
    .await;
    let (distinct, copies) = tally(&smtp);
    assert_eq!(distinct, total, "every notification reached the server");
    // At least once: only a message the dead worker was sending at the very
    // moment it died (at most its 4 in flight) can go again, under the same Message-ID.
    assert!(copies <= 4, "{copies} messages were sent twice");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM jobs WHERE status IN ('dead', 'running')").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_postgresql_do_each_job_once_and_each_schedule_once_per_period() {
    let Some(app) = TestApp::postgres().await else { return };
    let dir = tempfile::tempdir().expect("dir");
    let smtp = SmtpServer::start();
    let total = 1000;
    queue_emails(&app, total).await;
    let started = chrono::Utc::now();
    let _servers = [volant(&app, &smtp, &["serve"], dir.path()), volant(&app, &smtp, &["serve"], dir.path())];
    wait_for("1,000 e-mails sent", Duration::from_secs(120), async || {
        count(&app, "SELECT COUNT(*) FROM email_outbox WHERE status = 'sent'").await == total as i64
    })
    .await;
    // Both servers offer the schedules every 5 seconds: give them two rounds each.
    tokio::time::sleep(Duration::from_secs(11)).await;
    let ended = chrono::Utc::now();

    let (distinct, copies) = tally(&smtp);
    assert_eq!((distinct, copies), (total, 0), "each e-mail sent once");
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM jobs WHERE kind = 'notify.email' AND (status <> 'done' OR attempts <> 1)")
            .await,
        0,
        "each job claimed once"
    );
    for (kind, every) in [
        ("workshop.expire_quotes", 3600),
        ("workshop.refresh_alerts", 3600),
        ("school.lesson_reminders", 900),
        ("jobs.prune", 86400),
    ] {
        let periods = i64::from(ended.timestamp() / every != started.timestamp() / every) + 1;
        let queued = count(&app, &format!("SELECT COUNT(*) FROM jobs WHERE kind = '{kind}'")).await;
        assert!(queued >= 1 && queued <= periods, "{kind}: {queued} jobs for {periods} period(s)");
        let runs =
            count(&app, &format!("SELECT COALESCE(SUM(attempts), 0)::BIGINT FROM jobs WHERE kind = '{kind}'")).await;
        assert_eq!(runs, queued, "{kind} ran once per period");
    }
}
