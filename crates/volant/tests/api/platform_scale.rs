//! Scale-out on this machine: two `volant serve` and a `volant worker` on one
//! PostgreSQL, behind nginx on loopback, limits shared through Redis. A mixed
//! load runs through the proxy while one instance is stopped with SIGTERM: no
//! accepted request fails, no write is lost or doubled, no job runs twice, and
//! the sign-in limit holds across the instances.

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::helpers::{TEST_PASSWORD, TestApp};
use crate::servers::{Process, SmtpServer, free_port, reachable};

fn nginx() -> Option<&'static str> {
    for path in ["/usr/sbin/nginx", "/usr/bin/nginx"] {
        if std::path::Path::new(path).exists() {
            return Some(path);
        }
    }
    assert!(std::env::var_os("CI").is_none(), "CI must have nginx (.ci/run installs it)");
    None
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    let row = app
        .db
        .query_one_raw(Statement::from_string(app.db.get_database_backend(), sql.to_owned()))
        .await
        .expect("query")
        .expect("row");
    row.try_get_by_index::<i64>(0).expect("count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_behind_nginx_lose_nothing_when_one_stops() {
    let Some(app) = TestApp::postgres().await else { return };
    let Some(nginx) = nginx() else { return };
    if !reachable(6379) {
        assert!(std::env::var_os("CI").is_none(), "CI must have Redis");
        return;
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let admin = app.admin().await.clone();
    let dir = tempfile::tempdir().expect("dir");
    let smtp = SmtpServer::start();
    let prefix = format!("volant-scale-{}", fastrand::u64(..));
    let start = |args: &[&str], port: u16| {
        let log = std::fs::File::create(dir.path().join(format!("volant-{port}.log"))).expect("log");
        Process(
            crate::servers::volant(&app.database_url(), dir.path(), args)
                .env("VOLANT_ADDR", format!("127.0.0.1:{port}"))
                .env("VOLANT_WORKERS", "0")
                .env("REDIS_URL", "redis://127.0.0.1:6379")
                .env("VOLANT_REDIS_PREFIX", &prefix)
                .env("SMTP_URL", smtp.url())
                .env("VOLANT_LOG_FORMAT", "json")
                .stderr(log)
                .spawn()
                .expect("start volant"),
        )
    };
    let (p1, p2, proxy) = (free_port(), free_port(), free_port());
    let mut first = start(&["serve"], p1);
    let _second = start(&["serve"], p2);
    let _worker = start(&["worker", "--concurrency", "4"], free_port());
    for port in [p1, p2] {
        let mut up = false;
        for _ in 0..100 {
            if reachable(port) {
                up = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(up, "instance on {port} started");
    }
    let temp = dir.path().display();
    let conf = format!(
        "daemon off;\nworker_processes 1;\npid {temp}/nginx.pid;\nerror_log {temp}/nginx-error.log;\nevents {{}}\nhttp {{\n  access_log off;\n  client_body_temp_path {temp}/client;\n  proxy_temp_path {temp}/proxy;\n  fastcgi_temp_path {temp}/fastcgi;\n  uwsgi_temp_path {temp}/uwsgi;\n  scgi_temp_path {temp}/scgi;\n  upstream volant {{\n    server 127.0.0.1:{p1} max_fails=0;\n    server 127.0.0.1:{p2} max_fails=0;\n  }}\n  server {{\n    listen 127.0.0.1:{proxy};\n    location / {{\n      proxy_pass http://volant;\n      proxy_set_header Host $http_host;\n      proxy_next_upstream error non_idempotent;\n    }}\n  }}\n}}\n"
    );
    std::fs::write(dir.path().join("nginx.conf"), conf).expect("conf");
    let _nginx = Process(
        Command::new(nginx)
            .args(["-c", &format!("{temp}/nginx.conf"), "-p", &temp.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nginx"),
    );
    let base = format!("http://127.0.0.1:{proxy}");
    let http = reqwest::Client::new();
    let ready = crate::servers::wait_ready(&http, &format!("{base}/health/ready")).await;
    assert!(ready, "nginx passes requests");

    // A token (one sign-in), then the limit: 5 attempts a minute per address
    // and account, counted together by the two instances through Redis.
    let login = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({ "email": admin.email, "password": TEST_PASSWORD }))
        .send()
        .await
        .expect("login");
    assert_eq!(login.status(), 200);
    let token = login.json::<Value>().await.expect("json")["access_token"].as_str().expect("token").to_owned();
    let wrong = json!({ "email": admin.email, "password": "certainly not the password" });
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(
            http.post(format!("{base}/api/v1/auth/login")).json(&wrong).send().await.expect("login").status().as_u16(),
        );
    }
    assert_eq!(statuses, vec![401, 401, 401, 401, 429], "the two instances counted together");

    let client = http
        .post(format!("{base}/api/v1/clients"))
        .bearer_auth(&token)
        .json(&json!({ "name": "Client Charge", "email": "charge@exemple.fr" }))
        .send()
        .await
        .expect("client");
    assert_eq!(client.status(), 201);
    let client = client.json::<Value>().await.expect("json")["id"].as_i64().expect("id");

    // The load: six clients writing and reading through nginx for 4 seconds.
    let outcomes: Arc<Mutex<Vec<(String, u16)>>> = Arc::default();
    let created: Arc<Mutex<Vec<String>>> = Arc::default();
    let stop = tokio_util::sync::CancellationToken::new();
    let mut tasks = Vec::new();
    for task in 0..6 {
        let (http, base, token, outcomes, created, stop) =
            (http.clone(), base.clone(), token.clone(), outcomes.clone(), created.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = 0;
            while !stop.is_cancelled() {
                i += 1;
                let name = format!("Charge {task}-{i}");
                let response = http.post(format!("{base}/api/v1/garages")).bearer_auth(&token).json(&json!({
                    "name": name,
                    "address": "1 rue de la Charge"
                })).send().await;
                let status = response.map_or(0, |r| r.status().as_u16());
                if status == 201 {
                    created.lock().unwrap().push(name);
                }
                outcomes.lock().unwrap().push(("POST /garages".to_owned(), status));
                let status = http.get(format!("{base}/api/v1/garages?limit=5")).bearer_auth(&token).send().await.map_or(0, |r| r.status().as_u16());
                outcomes.lock().unwrap().push(("GET /garages".to_owned(), status));
                if i % 4 == 0 {
                    let quote = http.post(format!("{base}/api/v1/quotes")).bearer_auth(&token).json(&json!({
                        "client_id": client,
                        "lines": [{ "kind": "labour", "description": "Contrôle", "quantity": 1, "unit_price": 40, "vat_rate": 20 }]
                    })).send().await;
                    let (status, id) = match quote {
                        Ok(r) => (r.status().as_u16(), r.json::<Value>().await.ok().and_then(|v| v["id"].as_i64())),
                        Err(_) => (0, None),
                    };
                    outcomes.lock().unwrap().push(("POST /quotes".to_owned(), status));
                    if let Some(id) = id {
                        let status = http.post(format!("{base}/api/v1/quotes/{id}/email")).bearer_auth(&token).json(&json!({})).send().await.map_or(0, |r| r.status().as_u16());
                        outcomes.lock().unwrap().push(("POST /quotes/{id}/email".to_owned(), status));
                    }
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let killed = Command::new("kill").args(["-TERM", &first.0.id().to_string()]).status().expect("kill");
    assert!(killed.success());
    let mut stopped = None;
    for _ in 0..100 {
        if let Some(status) = first.0.try_wait().expect("wait") {
            stopped = Some(status);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(stopped.is_some_and(|s| s.success()), "the stopped instance exited 0: {stopped:?}");
    tokio::time::sleep(Duration::from_millis(2000)).await;
    stop.cancel();
    for task in tasks {
        task.await.expect("task");
    }

    let outcomes = outcomes.lock().unwrap().clone();
    let failed: Vec<&(String, u16)> = outcomes.iter().filter(|(_, s)| !(200..=202).contains(s)).collect();
    assert!(failed.is_empty(), "{} of {} requests failed: {failed:?}", failed.len(), outcomes.len());
    assert!(outcomes.len() > 100, "a real load: {}", outcomes.len());
    // No write lost, none doubled.
    let names = created.lock().unwrap().clone();
    assert_eq!(count(&app, "SELECT COUNT(*) FROM garages WHERE name LIKE 'Charge %'").await, names.len() as i64);
    assert_eq!(
        count(&app, "SELECT COUNT(DISTINCT name) FROM garages WHERE name LIKE 'Charge %'").await,
        names.len() as i64
    );
    // Every e-mail sent once by the worker.
    let emails = outcomes.iter().filter(|(what, _)| what == "POST /quotes/{id}/email").count() as i64;
    assert!(emails > 0);
    let mut sent = 0;
    for _ in 0..300 {
        sent = count(&app, "SELECT COUNT(*) FROM email_outbox WHERE status = 'sent'").await;
        if sent == emails {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(sent, emails);
    let ids: std::collections::HashSet<String> =
        smtp.received().iter().map(crate::servers::Received::message_id).collect();
    assert_eq!((ids.len(), smtp.count()), (emails as usize, emails as usize), "each e-mail once");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM jobs WHERE kind = 'notify.email' AND attempts <> 1").await, 0);

    // The second instance knows the token by now; signing out elsewhere (this
    // test's own application, another process) reaches it through the database.
    let me = format!("http://127.0.0.1:{p2}/api/v1/auth/me");
    let status = http.get(&me).bearer_auth(&token).send().await.expect("me").status();
    assert_eq!(status, 200);
    // (The recorder is installed at start-up: counted from the first request on.)
    let mut hits = None;
    for _ in 0..20 {
        let status = http.get(&me).bearer_auth(&token).send().await.expect("me").status();
        assert_eq!(status, 200);
        let metrics = http.get(format!("http://127.0.0.1:{p2}/metrics")).send().await.expect("metrics");
        let metrics = metrics.text().await.expect("metrics text");
        hits = metrics
            .lines()
            .find(|line| line.starts_with("volant_credential_cache_lookups_total{outcome=\"hit\"}"))
            .and_then(|line| line.rsplit(' ').next())
            .and_then(|count| count.parse::<f64>().ok());
        if hits.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(hits.is_some_and(|hits| hits > 0.0), "the second instance answered from memory: {hits:?}");
    let logout = axum::http::Request::post("/api/v1/auth/logout")
        .header(axum::http::header::AUTHORIZATION, format!("Bearer {token}"))
        .body(axum::body::Body::empty())
        .expect("request");
    assert_eq!(app.anonymous().send(logout).await.status, 204);
    let mut refused = false;
    for _ in 0..100 {
        if http.get(&me).bearer_auth(&token).send().await.expect("me").status() == 401 {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(refused, "the other instance refuses the token signed out elsewhere");
}
