//! The committed TypeScript bindings (`ui/src/bindings/`) must be exactly what the Rust IPC
//! types generate. Regenerate with:
//! `UPDATE_BINDINGS=1 cargo test -p switchboard-console --test bindings_fresh`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const HOW_TO_FIX: &str =
    "run `UPDATE_BINDINGS=1 cargo test -p switchboard-console --test bindings_fresh`";

fn committed_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/bindings")
}

/// `.ts` files of a directory: name -> contents.
fn ts_files(dir: &Path) -> BTreeMap<String, String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return BTreeMap::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            name.ends_with(".ts").then(|| {
                (
                    name,
                    std::fs::read_to_string(e.path()).expect("readable binding"),
                )
            })
        })
        .collect()
}

struct TempDir(PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn committed_bindings_are_fresh() {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let tmp =
        TempDir(std::env::temp_dir().join(format!("sb-bindings-{}-{nanos}", std::process::id())));
    std::fs::create_dir_all(&tmp.0).expect("temp dir");
    let written = switchboard_console::bindings::export_bindings(&tmp.0).expect("export bindings");
    let fresh = ts_files(&tmp.0);
    assert_eq!(written, fresh.keys().cloned().collect::<Vec<_>>());
    for must in [
        "AppInfo.ts",
        "CommandError.ts",
        "ConnectorView.ts",
        "PaymentDetail.ts",
        "RouteTrace.ts",
        "Verdict.ts",
    ] {
        assert!(fresh.contains_key(must), "{must} not generated");
    }

    let dir = committed_dir();
    let committed = ts_files(&dir);
    let mut problems = Vec::new();
    for (name, text) in &fresh {
        match committed.get(name) {
            None => problems.push(format!("missing: {name}")),
            Some(old) if old != text => problems.push(format!("stale: {name}")),
            Some(_) => {}
        }
    }
    for name in committed.keys().filter(|n| !fresh.contains_key(*n)) {
        problems.push(format!("no longer generated: {name}"));
    }
    if problems.is_empty() {
        return;
    }

    if std::env::var("UPDATE_BINDINGS").is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(&dir).expect("bindings dir");
        for name in committed.keys().filter(|n| !fresh.contains_key(*n)) {
            std::fs::remove_file(dir.join(name)).expect("remove old binding");
        }
        for (name, text) in &fresh {
            std::fs::write(dir.join(name), text).expect("write binding");
        }
        eprintln!("updated {} in {}", problems.join(", "), dir.display());
        return;
    }
    panic!(
        "ui/src/bindings/ is out of date with the Rust IPC types ({}): {HOW_TO_FIX}",
        problems.join("; ")
    );
}
