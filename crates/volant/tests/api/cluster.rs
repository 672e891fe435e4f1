//! PostgreSQL clusters a test starts itself (its own data directory and port,
//! on loopback): for archiving, point-in-time recovery and a streaming standby,
//! which the shared server of the other tests cannot show.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use crate::servers::free_port;

/// A cluster under a temporary folder, stopped (immediately) when dropped.
pub struct Cluster {
    pub dir: PathBuf,
    pub data: PathBuf,
    pub port: u16,
    bin: PathBuf,
    _root: tempfile::TempDir,
}

/// The PostgreSQL server programs (the newest version installed), or `None`
/// outside CI when there are none.
fn server_bin() -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path().join("bin"))
        .filter(|bin| bin.join("initdb").is_file())
        .collect();
    found.sort_by_key(|p| p.parent().and_then(|v| v.file_name()?.to_str()?.parse::<u32>().ok()));
    let bin = found.pop();
    if bin.is_none() {
        assert!(std::env::var_os("CI").is_none(), "CI must have the PostgreSQL server programs");
        eprintln!("no PostgreSQL server programs: cluster test skipped");
    }
    bin
}

/// Whether the tests run as root (their clusters then run as `postgres`).
pub fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// `program` as the user who owns the clusters: PostgreSQL refuses to run as root.
pub fn as_owner(program: impl AsRef<Path>) -> Command {
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program.as_ref());
        command
    } else {
        Command::new(program.as_ref())
    }
}

/// Runs `command`, failing the test with its output when it fails.
pub fn run(command: &mut Command) -> Output {
    let output = command.output().unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?}: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

impl Cluster {
    /// A new cluster (`initdb`), its settings appended to postgresql.conf; not started.
    pub fn init(settings: &str) -> Option<Self> {
        let bin = server_bin()?;
        let root = tempfile::tempdir().expect("cluster folder");
        let dir = root.path().to_path_buf();
        if is_root() {
            run(Command::new("chown").args(["-R", "postgres:postgres"]).arg(&dir));
        }
        let data = dir.join("data");
        run(as_owner(bin.join("initdb"))
            .args(["--auth=trust", "--username=postgres", "--encoding=UTF8", "--locale=C", "--no-sync", "-D"])
            .arg(&data));
        let cluster = Self { dir, data, port: free_port(), bin, _root: root };
        cluster.configure(settings);
        Some(cluster)
    }

    /// Appends `settings` (and this cluster's port and socket folder) to postgresql.conf.
    fn configure(&self, settings: &str) {
        use std::io::Write;
        let mut conf =
            std::fs::OpenOptions::new().append(true).open(self.data.join("postgresql.conf")).expect("postgresql.conf");
        writeln!(
            conf,
            "\nport = {}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\nfsync = off\n{settings}",
            self.port,
            self.dir.display()
        )
        .expect("settings");
    }

    /// A hot standby of `primary`, streaming from it (`pg_basebackup -R`); not started.
    pub fn standby_of(primary: &Self) -> Self {
        let root = tempfile::tempdir().expect("standby folder");
        let dir = root.path().to_path_buf();
        if is_root() {
            run(Command::new("chown").args(["-R", "postgres:postgres"]).arg(&dir));
        }
        let data = dir.join("data");
        run(as_owner(primary.bin.join("pg_basebackup"))
            .args(["--host=127.0.0.1", "--username=postgres", "--wal-method=stream", "--write-recovery-conf"])
            .arg(format!("--port={}", primary.port))
            .arg("--pgdata")
            .arg(&data));
        let standby = Self { dir, data, port: free_port(), bin: primary.bin.clone(), _root: root };
        standby.configure("hot_standby = on");
        standby
    }

    pub fn start(&self) {
        run(as_owner(self.bin.join("pg_ctl"))
            .args(["-w", "-t", "120", "-D"])
            .arg(&self.data)
            .arg("-l")
            .arg(self.dir.join("server.log"))
            .arg("start"));
    }

    pub fn stop(&self) {
        run(as_owner(self.bin.join("pg_ctl")).args(["-w", "-m", "fast", "-D"]).arg(&self.data).arg("stop"));
    }

    /// The URL of `database` on this cluster.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// The server's log, for a failing assertion's message.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = as_owner(self.bin.join("pg_ctl")).args(["-m", "immediate", "-D"]).arg(&self.data).arg("stop").output();
    }
}

/// Waits (20 s at most) until `check` holds.
pub async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..200 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what}: still not so after 20 s");
}
