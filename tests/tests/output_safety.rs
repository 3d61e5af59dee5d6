//! Codegen's promises about the files it writes: only changed files are rewritten, only
//! generated files are ever touched, stale and orphaned files are reported, and a run
//! that cannot finish writes nothing.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use feishu_codegen::emit::HEADER;
use feishu_codegen::output::{self, Change, OutputError};
use feishu_tests::spec_dir;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A small spec/: its top-level files and three services, so each regeneration is quick.
fn copy_small_spec(to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(spec_dir()).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
    for service in ["application", "helpdesk", "im"] {
        copy_dir(&spec_dir().join(service), &to.join(service));
    }
}

fn mtimes(dir: &Path) -> Vec<(PathBuf, SystemTime)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(d).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                stack.push(entry.path());
            } else {
                out.push((entry.path(), entry.metadata().unwrap().modified().unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// Generates spec/ into a fresh `out`.
fn generate_into(out: &Path) -> feishu_codegen::emit::GeneratedFiles {
    let generated = feishu_codegen::generate(&spec_dir()).unwrap_or_else(|d| panic!("{d}"));
    output::plan(out, &generated).unwrap().apply().unwrap();
    generated
}

fn regenerate(spec: &Path, out: &Path) -> Vec<Change> {
    let generated = feishu_codegen::generate(spec).unwrap_or_else(|d| panic!("{d}"));
    let plan = output::plan(out, &generated).unwrap_or_else(|err| panic!("{err}"));
    plan.apply().unwrap();
    plan.changes
}

#[test]
fn only_files_whose_content_changed_are_rewritten() {
    let work = tempfile::tempdir().unwrap();
    let (spec, out) = (work.path().join("spec"), work.path().join("out"));
    copy_small_spec(&spec);
    let manifest = out.join("Cargo.toml");
    let first = regenerate(&spec, &out);
    // Everything is created, the `feishu` crate's manifest and lib.rs included.
    let created = |c: &Change| matches!(c, Change::Create(_));
    assert!(first.iter().all(created) && !first.is_empty(), "{first:?}");
    let before = mtimes(&out);
    std::thread::sleep(std::time::Duration::from_millis(20));
    assert!(
        regenerate(&spec, &out).is_empty(),
        "an unchanged spec changes nothing"
    );
    assert_eq!(mtimes(&out), before);

    // Change one endpoint's title: only its resource's file changes.
    let endpoint = spec.join("im/v2/chat_button/update.yaml");
    let text = std::fs::read_to_string(&endpoint).unwrap().replace(
        "title: 更新消息流卡片按钮",
        "title: 更新消息流卡片按钮（新）",
    );
    std::fs::write(&endpoint, text).unwrap();
    let changes = regenerate(&spec, &out);
    assert_eq!(
        changes,
        vec![Change::Update(
            out.join("services/im/src/v2/chat_button.rs")
        )]
    );
    let after = mtimes(&out);
    let moved: Vec<_> = before
        .iter()
        .zip(&after)
        .filter(|(b, a)| b != a)
        .map(|(b, _)| b.0.clone())
        .collect();
    assert_eq!(moved, vec![out.join("services/im/src/v2/chat_button.rs")]);

    // A new service: its crate is created, and the manifest gets its feature and its
    // crate and nothing else; the other files keep their mtimes.
    let before = mtimes(&out);
    let old_manifest = std::fs::read_to_string(&manifest).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let copied = spec.join("zz_chat/v2/chat_button/update.yaml");
    std::fs::create_dir_all(copied.parent().unwrap()).unwrap();
    let text = std::fs::read_to_string(spec.join("im/v2/chat_button/update.yaml"))
        .unwrap()
        .replace(
            "path: /open-apis/im/v2/chat_button",
            "path: /open-apis/zz_chat/v2/chat_button",
        );
    std::fs::write(&copied, text).unwrap();
    let changes = regenerate(&spec, &out);
    assert!(
        changes.contains(&Change::Update(manifest.clone())),
        "{changes:?}"
    );
    let text = std::fs::read_to_string(&manifest).unwrap();
    assert!(text.contains("full = [\"application\", \"helpdesk\", \"im\", \"zz_chat\"]\n"));
    assert!(text.contains("\nzz_chat = [\"dep:feishu-zz-chat\"]\n"));
    assert!(text.contains("\nfeishu-zz-chat = { path = \"services/zz_chat\", optional = true }\n"));
    // The lines that change: the lists of every service, and the new service's own.
    let old_lines: Vec<&str> = old_manifest.lines().collect();
    let new_lines: Vec<&str> = text.lines().collect();
    let gone: Vec<&str> = old_lines
        .iter()
        .filter(|l| !new_lines.contains(l))
        .map(|l| l.split(" = ").next().unwrap())
        .collect();
    assert_eq!(gone, ["full", "roundtrip", "schemars"]);
    let added: Vec<&&str> = new_lines
        .iter()
        .filter(|l| !old_lines.contains(l))
        .collect();
    assert!(
        added
            .iter()
            .all(|l| l.contains("zz_chat") || l.contains("zz-chat")),
        "{added:?}"
    );
    let after = mtimes(&out);
    let touched: Vec<_> = before
        .iter()
        .filter(|b| !after.contains(b))
        .map(|b| b.0.clone())
        .collect();
    assert_eq!(
        touched,
        vec![manifest, out.join("src/services.rs")],
        "besides the new service's crate, only the manifest and the root module change"
    );
}

#[test]
fn a_hand_written_manifest_at_the_facades_place_is_refused_and_nothing_is_written() {
    let out = tempfile::tempdir().unwrap();
    let manifest = out.path().join("Cargo.toml");
    std::fs::write(&manifest, "[package]\nname = \"mine\"\n").unwrap();
    let generated = feishu_codegen::generate(&spec_dir()).unwrap();
    match output::plan(out.path(), &generated) {
        Err(err @ OutputError::HandWritten(..)) => {
            assert!(err.to_string().contains("Cargo.toml"), "{err}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    let files: Vec<PathBuf> = mtimes(out.path()).into_iter().map(|(p, _)| p).collect();
    assert_eq!(files, vec![manifest]);
}

#[test]
fn check_reports_stale_missing_and_orphaned_files() {
    let out = tempfile::tempdir().unwrap();
    let generated = generate_into(out.path());

    let ticket = out.path().join("services/helpdesk/src/v1/ticket.rs");
    let edited = std::fs::read_to_string(&ticket)
        .unwrap()
        .replace("pub fn update", "pub fn update_renamed");
    std::fs::write(&ticket, edited).unwrap();
    let missing = out.path().join("services/im/src/lib.rs");
    std::fs::remove_file(&missing).unwrap();
    let orphan = out.path().join("services/helpdesk/src/v1/old_resource.rs");
    std::fs::write(&orphan, format!("{HEADER}\n\npub struct Old;\n")).unwrap();
    let own_file = out.path().join("services/helpdesk/src/notes.rs");
    std::fs::write(&own_file, "// my own notes\n").unwrap();

    let plan = output::plan(out.path(), &generated).unwrap();
    let mut changes = plan.changes.clone();
    changes.sort_by_key(|c| c.to_string());
    assert_eq!(
        changes,
        vec![
            Change::Create(missing.clone()),
            Change::Remove(orphan.clone()),
            Change::Update(ticket.clone())
        ]
    );

    plan.apply().unwrap();
    assert!(!orphan.exists(), "a generated orphan is removed");
    assert!(
        own_file.exists(),
        "a file without the header is never removed"
    );
    assert!(
        output::plan(out.path(), &generated)
            .unwrap()
            .is_up_to_date()
    );
}

#[test]
fn a_hand_written_file_is_never_overwritten_and_nothing_is_written() {
    let out = tempfile::tempdir().unwrap();
    let generated = generate_into(out.path());

    // A file at a generated path, without the header: someone's own work.
    let ticket = out.path().join("services/helpdesk/src/v1/ticket.rs");
    std::fs::write(&ticket, "// hand-written\npub struct Mine;\n").unwrap();
    // And a generated file that is stale, which a successful run would rewrite.
    let stale = out.path().join("services/im/src/v2/chat_button.rs");
    std::fs::write(&stale, format!("{HEADER}\n// stale\n")).unwrap();
    let before = mtimes(out.path());

    match output::plan(out.path(), &generated) {
        Err(OutputError::HandWritten(path)) => assert_eq!(path, ticket),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(mtimes(out.path()), before, "a refused run writes nothing");
    assert_eq!(
        std::fs::read_to_string(&ticket).unwrap(),
        "// hand-written\npub struct Mine;\n"
    );
}

#[test]
fn a_failure_while_replacing_files_puts_the_old_output_back() {
    let out = tempfile::tempdir().unwrap();
    let generated = feishu_codegen::generate(&spec_dir()).unwrap();
    let stale = out.path().join("services/application/src/lib.rs");
    std::fs::create_dir_all(stale.parent().unwrap()).unwrap();
    std::fs::write(&stale, format!("{HEADER}\n// the old output\n")).unwrap();
    let plan = output::plan(out.path(), &generated).unwrap();
    assert!(plan.changes.contains(&Change::Update(stale.clone())));

    // The root module is the last file replaced; a directory in its way makes that rename fail.
    let root_module = out.path().join("src/services.rs");
    std::fs::create_dir_all(root_module.join("in-the-way")).unwrap();
    let err = plan.apply().expect_err("the rename onto a directory fails");
    assert!(
        matches!(&err, OutputError::Io(path, _) if *path == root_module),
        "{err}"
    );

    assert_eq!(
        std::fs::read_to_string(&stale).unwrap(),
        format!("{HEADER}\n// the old output\n"),
        "the updated file is restored"
    );
    let left: Vec<PathBuf> = mtimes(out.path()).into_iter().map(|(p, _)| p).collect();
    assert_eq!(
        left,
        vec![stale],
        "created files and staged copies are gone"
    );
}

#[test]
fn a_removed_service_loses_its_whole_crate() {
    let work = tempfile::tempdir().unwrap();
    let (spec, out) = (work.path().join("spec"), work.path().join("out"));
    copy_small_spec(&spec);
    let manifest = out.join("Cargo.toml");
    regenerate(&spec, &out);
    let crate_dir = out.join("services/im");
    assert!(crate_dir.join("Cargo.toml").exists());
    let mut crate_files: Vec<Change> = mtimes(&crate_dir)
        .into_iter()
        .map(|(path, _)| Change::Remove(path))
        .collect();
    crate_files.sort_by_key(|c| c.to_string());

    std::fs::remove_dir_all(spec.join("im")).unwrap();
    let mut changes = regenerate(&spec, &out);
    changes.sort_by_key(|c| c.to_string());
    let removed: Vec<&Change> = changes
        .iter()
        .filter(|c| matches!(c, Change::Remove(_)))
        .collect();
    assert!(crate_files.len() > 3, "{crate_files:?}");
    assert_eq!(removed, crate_files.iter().collect::<Vec<_>>());
    assert!(
        !crate_dir.exists(),
        "the emptied crate directory is removed"
    );
    assert!(out.join("services").exists());
    let text = std::fs::read_to_string(&manifest).unwrap();
    assert!(!text.contains("feishu-im"), "{text}");
}

#[test]
fn a_hand_written_manifest_at_a_service_crates_place_is_refused() {
    let out = tempfile::tempdir().unwrap();
    let generated = generate_into(out.path());
    let manifest = out.path().join("services/im/Cargo.toml");
    std::fs::write(&manifest, "[package]\nname = \"mine\"\n").unwrap();
    match output::plan(out.path(), &generated) {
        Err(OutputError::HandWritten(path)) => assert_eq!(path, manifest),
        other => panic!("expected a refusal, got {other:?}"),
    }
}
