//! Architecture invariants of DESIGN.md §2: `routing` depends on no IO crate and reads no clock
//! or RNG.
//!
//! About `getrandom` / `rand` / `rand_core`: `cargo metadata` has ONE resolve for the whole
//! workspace, with features unified across members. Other crates enable `uuid/v4` and `uuid/v7`,
//! so the shared `uuid` node in that resolve depends on `getrandom` even though routing's own
//! `uuid` dependency enables only `serde`. The metadata walk therefore bans the RNG crates only on
//! paths that do not go through `uuid`, and separately checks that routing's declared `uuid`
//! features enable no RNG; a third test asks `cargo tree -p routing` (features resolved for
//! routing alone) and bans the RNG crates there outright. The IO crates are banned everywhere.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;
use std::process::Command;

const WORKSPACE_MANIFEST: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.toml");

/// Never allowed in routing's normal dependency graph.
const BANNED_IO: &[&str] = &["tokio", "reqwest", "sqlx", "tauri", "hyper", "mio"];
/// Not allowed either, except behind the workspace-unified `uuid` node (see the module docs).
const BANNED_RNG: &[&str] = &["rand", "rand_core", "getrandom"];
/// `uuid` features routing may enable: none of them pulls an RNG.
const UUID_FEATURES_ALLOWED: &[&str] = &["serde", "std"];

fn metadata() -> Value {
    let out = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--all-features",
            "--manifest-path",
            WORKSPACE_MANIFEST,
        ])
        .output()
        .expect("run cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("cargo metadata JSON")
}

/// Resolve graph: package id -> (name, normal dependency ids).
struct Graph {
    names: BTreeMap<String, String>,
    normal_deps: BTreeMap<String, Vec<String>>,
}

fn graph(meta: &Value) -> Graph {
    let mut names = BTreeMap::new();
    for p in meta["packages"].as_array().unwrap() {
        names.insert(
            p["id"].as_str().unwrap().to_owned(),
            p["name"].as_str().unwrap().to_owned(),
        );
    }
    let mut normal_deps = BTreeMap::new();
    for node in meta["resolve"]["nodes"].as_array().unwrap() {
        let deps = node["deps"]
            .as_array()
            .unwrap()
            .iter()
            // A dependency edge is "normal" when one of its dep_kinds has kind null.
            .filter(|d| {
                d["dep_kinds"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|k| k["kind"].is_null())
            })
            .map(|d| d["pkg"].as_str().unwrap().to_owned())
            .collect();
        normal_deps.insert(node["id"].as_str().unwrap().to_owned(), deps);
    }
    Graph { names, normal_deps }
}

impl Graph {
    fn id_of(&self, name: &str) -> String {
        let ids: Vec<&String> = self
            .names
            .iter()
            .filter(|(_, n)| *n == name)
            .map(|(id, _)| id)
            .collect();
        assert_eq!(ids.len(), 1, "expected one package named {name}");
        ids[0].clone()
    }

    /// Every package reachable from `root` through normal edges, without entering `stop` packages,
    /// with one path (names) to each.
    fn reachable(&self, root: &str, stop: &[&str]) -> BTreeMap<String, Vec<String>> {
        let mut paths: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut queue = VecDeque::from([root.to_owned()]);
        paths.insert(root.to_owned(), vec![self.names[root].clone()]);
        while let Some(id) = queue.pop_front() {
            if id != root && stop.contains(&self.names[&id].as_str()) {
                continue;
            }
            for dep in self.normal_deps.get(&id).into_iter().flatten() {
                if !paths.contains_key(dep) {
                    let mut p = paths[&id].clone();
                    p.push(self.names[dep].clone());
                    paths.insert(dep.clone(), p);
                    queue.push_back(dep.clone());
                }
            }
        }
        paths
    }
}

fn offenders(g: &Graph, reach: &BTreeMap<String, Vec<String>>, banned: &[&str]) -> Vec<String> {
    reach
        .iter()
        .filter(|(id, _)| banned.contains(&g.names[*id].as_str()))
        .map(|(_, path)| path.join(" -> "))
        .collect()
}

#[test]
fn routing_has_no_io_dependency() {
    let meta = metadata();
    let g = graph(&meta);
    let root = g.id_of("routing");
    let all = g.reachable(&root, &[]);
    assert!(
        all.len() > 3,
        "the walk found routing's dependencies: {all:?}"
    );
    let bad = offenders(&g, &all, BANNED_IO);
    assert!(
        bad.is_empty(),
        "routing must not depend on IO crates:\n{}",
        bad.join("\n")
    );

    // RNG crates: banned on every path that does not go through the shared uuid node.
    let without_uuid = g.reachable(&root, &["uuid"]);
    let bad = offenders(&g, &without_uuid, BANNED_RNG);
    assert!(
        bad.is_empty(),
        "routing must not depend on an RNG:\n{}",
        bad.join("\n")
    );
}

#[test]
fn routing_enables_no_rng_feature_of_uuid() {
    let meta = metadata();
    let routing = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "routing")
        .expect("routing package");
    for dep in routing["dependencies"].as_array().unwrap() {
        if dep["kind"].is_null() && dep["name"] == "uuid" {
            let features: BTreeSet<&str> = dep["features"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f.as_str().unwrap())
                .collect();
            let extra: Vec<&&str> = features
                .iter()
                .filter(|f| !UUID_FEATURES_ALLOWED.contains(f))
                .collect();
            // (uuid's default features are ["std"] only, so default-features need no check.)
            assert!(
                extra.is_empty(),
                "routing's uuid must not enable {extra:?} (v4/v7/rng pull getrandom)"
            );
        }
    }
}

#[test]
fn routing_alone_resolves_without_io_or_rng() {
    // `cargo tree -p routing` resolves features for routing alone (no workspace unification), on
    // every target platform.
    let out = Command::new(env!("CARGO"))
        .args([
            "tree",
            "--manifest-path",
            WORKSPACE_MANIFEST,
            "-p",
            "routing",
            "-e",
            "normal",
            "--all-features",
            "--target",
            "all",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ])
        .output()
        .expect("run cargo tree");
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let names: BTreeSet<&str> = text
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(
        names.contains("routing") && names.contains("uuid"),
        "unexpected cargo tree output:\n{text}"
    );
    let bad: Vec<&&str> = BANNED_IO
        .iter()
        .chain(BANNED_RNG)
        .filter(|b| names.contains(**b))
        .collect();
    assert!(bad.is_empty(), "routing alone depends on {bad:?}:\n{text}");
}

#[test]
fn routing_source_reads_no_clock_and_no_rng() {
    const FORBIDDEN: &[&str] = &[
        "std::time::SystemTime",
        "SystemTime::now",
        "Instant::now",
        "thread_rng",
        "rand::",
        "getrandom",
        "std::fs",
        "std::net",
        "std::env",
        "std::process",
    ];
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    let mut dirs = vec![src];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    assert!(files.len() >= 8, "found the sources: {files:?}");
    let mut hits = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        for (n, line) in text.lines().enumerate() {
            for pat in FORBIDDEN {
                if line.contains(pat) {
                    hits.push(format!("{}:{}: {pat}: {}", f.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        hits.is_empty(),
        "routing must not read a clock, an RNG or do IO:\n{}",
        hits.join("\n")
    );
}
