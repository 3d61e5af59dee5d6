//! Conformance with Feishu's own clients: the official Node SDK (`@larksuiteoapi/node-sdk`)
//! and Python SDK (`lark-oapi`), at the versions pinned in `tests/conformance/`, drive the
//! emulator (through its control API) and post deliveries to our `Dispatcher`. They talk to
//! the real Feishu every day, so where they and the emulator disagree, the emulator is wrong.
//!
//! The checks themselves are in `tests/conformance/{node/checks.js,python/checks.py}`: each
//! SDK's script lists its checks, and each runs in a process of its own against a fresh
//! emulator, so adding a check needs no Rust. The SDKs are installed from their registries
//! into the target directory on first use; where `node` or `python3` is missing, the checks
//! of that SDK are skipped with a printed notice. A failed install fails the test.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::routing::get;
use feishu::events::{BoxError, Card, CardAction, CardResponse, Dispatcher, EventContext};
use feishu_emulator::{DEFAULT_APP_ID, DEFAULT_APP_SECRET, Emulator, control};
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;

/// The marketplace app every check's emulator also knows.
const MARKETPLACE_APP_ID: &str = "cli_f1e2d3c4b5a60798";
const MARKETPLACE_APP_SECRET: &str = "marketplace-app-secret";
const VERIFICATION_TOKEN: &str = "vt-conformance";
const ENCRYPT_KEY: &str = "ek-conformance";
/// How long one check may take: the long connection's waits are a few seconds.
const CHECK_TIMEOUT: Duration = Duration::from_secs(90);
/// How many checks run at once.
const PARALLEL_CHECKS: usize = 4;

/// One of Feishu's SDKs, as the checks run it.
struct Sdk {
    name: &'static str,
    /// The interpreter, e.g. `node`.
    program: PathBuf,
    /// The checks script.
    script: PathBuf,
    /// Environment that makes the installed SDK importable.
    env: Vec<(String, String)>,
}

fn conformance_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance")
}

/// Where an install keyed by `key` lives.
fn install_dir(name: &str, key: &[u8]) -> PathBuf {
    let hash = feishu_emulator::form::fnv1a(feishu_emulator::form::FNV_START, key);
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("conformance")
        .join(format!("{name}-{hash:016x}"))
}

/// Runs `install` into a fresh directory and moves it to `dir`, so an interrupted install
/// never counts as done; a concurrent one that finished first wins.
fn install_once(dir: &Path, install: impl FnOnce(&Path)) {
    if dir.exists() {
        return;
    }
    let staging = dir.with_extension(format!("staging-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging).expect("create the install directory");
    install(&staging);
    if std::fs::rename(&staging, dir).is_err() {
        let _ = std::fs::remove_dir_all(&staging);
        assert!(
            dir.exists(),
            "could not move the install to {}",
            dir.display()
        );
    }
}

fn run(command: &mut std::process::Command, what: &str) {
    let output = command
        .output()
        .unwrap_or_else(|err| panic!("{what}: {err}"));
    assert!(
        output.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn found(program: &str) -> bool {
    std::process::Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success())
}

/// The Node SDK at its pinned version, installed with `npm ci` from the lock file.
fn node() -> Option<Sdk> {
    if !found("node") || !found("npm") {
        println!("NOTICE: node or npm is missing; the Node SDK's conformance checks are skipped");
        return None;
    }
    let source = conformance_dir().join("node");
    let lock = std::fs::read(source.join("package-lock.json")).expect("the lock file");
    let dir = install_dir("node", &lock);
    install_once(&dir, |staging| {
        for file in ["package.json", "package-lock.json"] {
            std::fs::copy(source.join(file), staging.join(file)).expect("copy the manifest");
        }
        run(
            std::process::Command::new("npm")
                .args([
                    "ci",
                    "--no-audit",
                    "--no-fund",
                    "--ignore-scripts",
                    "--loglevel=error",
                ])
                .current_dir(staging),
            "npm ci",
        );
    });
    Some(Sdk {
        name: "node",
        program: "node".into(),
        script: source.join("checks.js"),
        env: vec![(
            "NODE_PATH".into(),
            dir.join("node_modules").display().to_string(),
        )],
    })
}

/// The Python SDK at its pinned version, installed with pip into a virtual environment.
fn python() -> Option<Sdk> {
    if !found("python3") {
        println!("NOTICE: python3 is missing; the Python SDK's conformance checks are skipped");
        return None;
    }
    let source = conformance_dir().join("python");
    let requirements = source.join("requirements.txt");
    let pinned = std::fs::read(&requirements).expect("the requirements");
    let dir = install_dir("python", &pinned);
    install_once(&dir, |staging| {
        run(
            std::process::Command::new("python3")
                .args(["-m", "venv"])
                .arg(staging),
            "python3 -m venv",
        );
        run(
            std::process::Command::new(staging.join("bin/python"))
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "-r",
                ])
                .arg(&requirements),
            "pip install",
        );
    });
    // The virtual environment was made in the staging directory; its interpreter runs
    // from anywhere, and `sys.prefix` follows the `pyvenv.cfg` beside it.
    Some(Sdk {
        name: "python",
        program: dir.join("bin/python"),
        script: source.join("checks.py"),
        env: vec![("PYTHONDONTWRITEBYTECODE".into(), "1".into())],
    })
}

impl Sdk {
    fn command(&self) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(&self.program);
        command.arg(&self.script).envs(self.env.iter().cloned());
        command
    }

    async fn checks(&self) -> Vec<String> {
        let output = self
            .command()
            .arg("--list")
            .output()
            .await
            .expect("list the checks");
        assert!(
            output.status.success(),
            "{} --list: {}",
            self.name,
            String::from_utf8_lossy(&output.stderr)
        );
        let listed = String::from_utf8(output.stdout).expect("UTF-8 names");
        listed.lines().map(str::to_owned).collect()
    }

    /// Runs one check against a fresh emulator and dispatcher; why it failed, if it did.
    async fn run(&self, check: &str) -> Result<(), String> {
        let emulator = Emulator::builder()
            .marketplace_app(MARKETPLACE_APP_ID, MARKETPLACE_APP_SECRET)
            .start()
            .await;
        let emulator = Arc::new(emulator);
        let control = control::serve(emulator.clone(), "127.0.0.1:0".parse().unwrap())
            .await
            .expect("the control API");
        let dispatcher = serve_dispatcher().await;
        let mut child = self
            .command()
            .arg(check)
            .env("FEISHU_URL", emulator.url())
            .env("CONTROL_URL", control.url())
            .env("APP_ID", DEFAULT_APP_ID)
            .env("APP_SECRET", DEFAULT_APP_SECRET)
            .env("MARKETPLACE_APP_ID", MARKETPLACE_APP_ID)
            .env("MARKETPLACE_APP_SECRET", MARKETPLACE_APP_SECRET)
            .env("DISPATCHER_URL", &dispatcher)
            .env("VERIFICATION_TOKEN", VERIFICATION_TOKEN)
            .env("ENCRYPT_KEY", ENCRYPT_KEY)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start the check");
        let (mut stdout, mut stderr) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
        let read = async {
            let (mut out, mut err) = (String::new(), String::new());
            let _ = tokio::join!(
                stdout.read_to_string(&mut out),
                stderr.read_to_string(&mut err)
            );
            let status = child.wait().await;
            (out, err, status)
        };
        let Ok((out, err, status)) = tokio::time::timeout(CHECK_TIMEOUT, read).await else {
            return Err(format!("no result within {CHECK_TIMEOUT:?}"));
        };
        let result: Option<Value> = out
            .lines()
            .rev()
            .find_map(|line| serde_json::from_str(line).ok());
        match result {
            Some(result) if result["ok"] == json!(true) && status.is_ok_and(|s| s.success()) => {
                Ok(())
            }
            Some(result) => Err(result["error"].as_str().unwrap_or("failed").to_owned()),
            None => Err(format!("no result line; stderr:\n{err}")),
        }
    }
}

/// Our dispatcher as a request URL: `POST /webhook` takes deliveries; `GET /seen` lists the
/// message ids its event handler got. A 1.0 card callback is answered with the card
/// `{"elements": [<the action's decision>]}`.
async fn serve_dispatcher() -> String {
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let record = seen.clone();
    let dispatcher = Dispatcher::builder(VERIFICATION_TOKEN)
        .encrypt_key(ENCRYPT_KEY)
        .on_raw(
            "im.message.receive_v1",
            move |event: Value, _: EventContext| {
                let id = event["message"]["message_id"].as_str().unwrap_or_default();
                record.lock().unwrap().push(id.to_owned());
                async { Ok::<_, BoxError>(()) }
            },
        )
        .on_card_action(|action: CardAction, _: EventContext| async move {
            let card = Card::raw(json!({ "elements": [action.action.value["decision"]] }));
            Ok::<_, BoxError>(CardResponse::new().card(card))
        })
        .build();
    let app = axum::Router::new()
        .route_service("/webhook", dispatcher)
        .route(
            "/seen",
            get(move || {
                let seen = seen.lock().unwrap().clone();
                async move { Value::from(seen).to_string() }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}")
}

/// Runs every check of `sdk`, a few at a time, and fails naming each check that failed.
async fn conform(sdk: Option<Sdk>) {
    let Some(sdk) = sdk else { return };
    let sdk = Arc::new(sdk);
    let checks = sdk.checks().await;
    assert!(!checks.is_empty(), "{} lists no checks", sdk.name);
    let limit = Arc::new(tokio::sync::Semaphore::new(PARALLEL_CHECKS));
    let runs: Vec<_> = checks
        .iter()
        .map(|check| {
            let (sdk, limit, check) = (sdk.clone(), limit.clone(), check.clone());
            tokio::spawn(async move {
                let _permit = limit.acquire().await.unwrap();
                let result = sdk.run(&check).await;
                (check, result)
            })
        })
        .collect();
    let mut failures = Vec::new();
    for run in runs {
        let (check, result) = run.await.expect("the check's task");
        println!(
            "{} {check}: {}",
            sdk.name,
            if result.is_ok() { "ok" } else { "FAILED" }
        );
        if let Err(why) = result {
            failures.push(format!("{check}:\n{why}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} {} checks failed:\n\n{}",
        failures.len(),
        checks.len(),
        sdk.name,
        failures.join("\n\n")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn feishus_node_sdk_agrees_with_the_emulator_and_the_dispatcher() {
    conform(tokio::task::spawn_blocking(node).await.unwrap()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn feishus_python_sdk_agrees_with_the_emulator_and_the_dispatcher() {
    conform(tokio::task::spawn_blocking(python).await.unwrap()).await;
}
