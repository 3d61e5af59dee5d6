//! Memory of file transfers: a 1 GiB upload from a file on disk and a 1 GiB download saved
//! to a file, each through the generated client against the emulator on 127.0.0.1. Each
//! runs in a process of its own, which reports how far its resident memory rose above
//! what it held before the transfer (the emulator, which reads uploads and makes
//! downloads as they stream, runs in the same process and is counted too). The target is
//! a rise under 32 MiB for either.
//!
//! `cargo bench -p feishu-bench --bench transfer` (set `TRANSFER_MIB` for another size).

use std::process::Command;
use std::time::Instant;

use feishu::attendance::v1::file::{UploadFileBody, UploadFileRequest};
use feishu::drive::v1::file::DownloadFileRequest;
use feishu::{Client, UploadFile};
use feishu_emulator::{Emulator, ServedFile};

/// The most a transfer may add to the process's resident memory.
const TARGET_MIB: f64 = 32.0;

fn main() {
    let mib: u64 = std::env::var("TRANSFER_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    match std::env::args().nth(1).as_deref() {
        Some("--child-upload") => child(mib, Direction::Upload),
        Some("--child-download") => child(mib, Direction::Download),
        // `cargo bench` passes `--bench`: measure each direction in a fresh process.
        _ => {
            for direction in ["upload", "download"] {
                let exe = std::env::current_exe().expect("the bench binary");
                let status = Command::new(exe)
                    .arg(format!("--child-{direction}"))
                    .env("TRANSFER_MIB", mib.to_string())
                    .status()
                    .expect("the child runs");
                assert!(status.success(), "{direction}: {status}");
            }
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Direction {
    Upload,
    Download,
}

fn child(mib: u64, direction: Direction) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio");
    runtime.block_on(async {
        let emulator = Emulator::start().await;
        let client = emulator.client_builder().build().expect("client");
        let dir = std::env::temp_dir().join(format!("feishu-transfer-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let length = mib << 20;
        // Warm up: the token, the connection pool, the first allocations of each path.
        transfer(&client, &emulator, &dir, direction, 1 << 20).await;
        let before = rss_kib("VmRSS");
        let started = Instant::now();
        transfer(&client, &emulator, &dir, direction, length).await;
        let elapsed = started.elapsed();
        let peak = rss_kib("VmHWM");
        let _ = std::fs::remove_dir_all(&dir);
        let rise = (peak.saturating_sub(before)) as f64 / 1024.0;
        let verdict = if rise < TARGET_MIB { "met" } else { "NOT met" };
        println!(
            "{direction:?} of {mib} MiB: {:.1} s ({:.0} MiB/s); RSS {:.1} MiB before, peak {:.1} MiB, rise {rise:.1} MiB (target < {TARGET_MIB} MiB: {verdict})",
            elapsed.as_secs_f64(),
            mib as f64 / elapsed.as_secs_f64(),
            before as f64 / 1024.0,
            peak as f64 / 1024.0,
        );
    });
}

async fn transfer(
    client: &Client,
    emulator: &Emulator,
    dir: &std::path::Path,
    direction: Direction,
    length: u64,
) {
    match direction {
        Direction::Upload => {
            // A sparse file: reading it costs no disk, and the client cannot tell.
            let path = dir.join("upload.bin");
            std::fs::File::create(&path)
                .and_then(|file| file.set_len(length))
                .expect("the file to upload");
            // An upload whose page documents no size limit.
            let body = UploadFileBody::default().file(UploadFile::path(&path));
            client
                .attendance()
                .v1()
                .file()
                .upload(UploadFileRequest::new("upload.bin", body))
                .await
                .expect("the upload succeeds");
            let received = emulator.take_requests();
            let form = received
                .iter()
                .find_map(|r| r.form.clone())
                .expect("the upload arrived")
                .expect("as a well-formed form");
            assert_eq!(form.file("file").map(|f| f.length), Some(length));
        }
        Direction::Download => {
            emulator.serve_file("drive.v1.file.download", ServedFile::pattern(length));
            let path = dir.join("download.bin");
            let saved = client
                .drive()
                .v1()
                .file()
                .download(DownloadFileRequest::new("boxcn-bench"))
                .await
                .expect("the download starts")
                .save(&path)
                .await
                .expect("the download is saved");
            assert_eq!(saved, length);
            std::fs::remove_file(&path).expect("the saved file");
            emulator.take_requests();
        }
    }
}

/// A line of `/proc/self/status`, in KiB: `VmRSS` now, `VmHWM` the peak so far.
fn rss_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("the field is there")
}
