//! Periods the analytics views offer, where exported files go, and the background CSV export
//! jobs the Finance view polls (and follows through `finance-export-progress` events).
//!
//! Plain data in, plain data out: the only IO is creating directories and writing the export
//! file the user asked for.

use engine::views::{ChartPeriod, CommandError, ExportProgress};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use ts_rs::TS;

/// An analytics period ending now: `1h`, `24h`, `7d`, `30d` or `90d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub enum Period {
    /// Last hour.
    #[serde(rename = "1h")]
    Hour1,
    /// Last 24 hours.
    #[serde(rename = "24h")]
    Hours24,
    /// Last 7 days.
    #[serde(rename = "7d")]
    Days7,
    /// Last 30 days.
    #[serde(rename = "30d")]
    Days30,
    /// Last 90 days.
    #[serde(rename = "90d")]
    Days90,
}

const HOUR_MS: i64 = 3_600_000;

impl Period {
    /// Length in milliseconds.
    pub fn millis(self) -> i64 {
        match self {
            Period::Hour1 => HOUR_MS,
            Period::Hours24 => 24 * HOUR_MS,
            Period::Days7 => 7 * 24 * HOUR_MS,
            Period::Days30 => 30 * 24 * HOUR_MS,
            Period::Days90 => 90 * 24 * HOUR_MS,
        }
    }

    /// `[now - length, now)`, UTC ms.
    pub fn range(self, now_ms: i64) -> (i64, i64) {
        (now_ms - self.millis(), now_ms)
    }

    /// The chart period of the same length.
    pub fn chart(self) -> ChartPeriod {
        match self {
            Period::Hour1 => ChartPeriod::Hour1,
            Period::Hours24 => ChartPeriod::Hours24,
            Period::Days7 => ChartPeriod::Days7,
            Period::Days30 => ChartPeriod::Days30,
            Period::Days90 => ChartPeriod::Days90,
        }
    }

    /// Short label for file names (`24h`).
    pub fn label(self) -> &'static str {
        match self {
            Period::Hour1 => "1h",
            Period::Hours24 => "24h",
            Period::Days7 => "7d",
            Period::Days30 => "30d",
            Period::Days90 => "90d",
        }
    }
}

/// A CSV export the UI follows: progress, and where the file is once finished.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ExportJob {
    /// Job id (returned by `start_finance_export`, passed to `export_status`).
    pub job_id: String,
    /// Rows written so far / in total.
    pub progress: ExportProgress,
    /// `true` once the file is complete or the export failed.
    pub finished: bool,
    /// Absolute path of the file (set from the start; the file exists once finished without error).
    pub path: Option<String>,
    /// Why the export failed (no secrets; the partial file is removed by the engine).
    pub error: Option<String>,
}

/// Running and finished export jobs, by id.
#[derive(Default)]
pub struct ExportJobs {
    jobs: Mutex<HashMap<String, ExportJob>>,
}

impl ExportJobs {
    /// Stores (or replaces) a job's state.
    pub fn put(&self, job: ExportJob) {
        if let Ok(mut jobs) = self.jobs.lock() {
            jobs.insert(job.job_id.clone(), job);
        }
    }

    /// A job's last state. Errors: `export_not_found`.
    pub fn get(&self, id: &str) -> Result<ExportJob, CommandError> {
        self.jobs
            .lock()
            .ok()
            .and_then(|jobs| jobs.get(id).cloned())
            .ok_or_else(|| CommandError {
                code: "export_not_found".to_owned(),
                message: format!("no export job {id:?} in this console session"),
            })
    }

    /// Applies `f` to a stored job and returns the result.
    pub fn update(&self, id: &str, f: impl FnOnce(&mut ExportJob)) -> Option<ExportJob> {
        let mut jobs = self.jobs.lock().ok()?;
        let job = jobs.get_mut(id)?;
        f(job);
        Some(job.clone())
    }
}

/// Where to write an export: `chosen` as typed by the user (a directory: `default_name` inside
/// it; anything else: that file), or `default_name` in `downloads` when nothing was typed.
/// Relative paths are taken relative to `downloads`. Parent directories are created.
/// Errors: `export_path_invalid` when the directory cannot be created.
pub fn resolve_target(
    chosen: Option<&str>,
    downloads: &Path,
    default_name: &str,
) -> Result<PathBuf, CommandError> {
    let chosen = chosen.map(str::trim).filter(|s| !s.is_empty());
    let path = match chosen {
        None => downloads.join(default_name),
        Some(p) => {
            let p = PathBuf::from(p);
            let p = if p.is_absolute() {
                p
            } else {
                downloads.join(p)
            };
            if p.is_dir() || chosen.is_some_and(|c| c.ends_with('/')) {
                p.join(default_name)
            } else {
                p
            }
        }
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| CommandError {
            code: "export_path_invalid".to_owned(),
            message: format!("cannot create the directory {}: {e}", parent.display()),
        })?;
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn periods_serialise_as_the_ui_keys() {
        let keys: Vec<String> = [
            Period::Hour1,
            Period::Hours24,
            Period::Days7,
            Period::Days30,
            Period::Days90,
        ]
        .iter()
        .map(|p| serde_json::to_string(p).unwrap())
        .collect();
        assert_eq!(keys, ["\"1h\"", "\"24h\"", "\"7d\"", "\"30d\"", "\"90d\""]);
        assert_eq!(
            Period::Days7.range(1_000_000_000_000),
            (1_000_000_000_000 - 604_800_000, 1_000_000_000_000)
        );
        assert!(serde_json::from_str::<Period>("\"2h\"").is_err());
    }

    #[test]
    fn targets_resolve_to_downloads_a_directory_or_a_file() {
        let base = std::env::temp_dir().join(format!("sb-export-{}", std::process::id()));
        std::fs::create_dir_all(&base).unwrap();
        assert_eq!(
            resolve_target(None, &base, "a.csv").unwrap(),
            base.join("a.csv")
        );
        assert_eq!(
            resolve_target(Some("  "), &base, "a.csv").unwrap(),
            base.join("a.csv")
        );
        let dir = base.join("out");
        let as_dir = format!("{}/", dir.display());
        assert_eq!(
            resolve_target(Some(&as_dir), &base, "a.csv").unwrap(),
            dir.join("a.csv")
        );
        assert!(dir.is_dir());
        assert_eq!(
            resolve_target(Some("sub/b.csv"), &base, "a.csv").unwrap(),
            base.join("sub/b.csv")
        );
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn jobs_report_unknown_ids() {
        let jobs = ExportJobs::default();
        assert_eq!(jobs.get("nope").unwrap_err().code, "export_not_found");
        jobs.put(ExportJob {
            job_id: "j".into(),
            progress: ExportProgress {
                rows_done: 0,
                rows_total: 2,
            },
            finished: false,
            path: None,
            error: None,
        });
        let j = jobs.update("j", |j| j.progress.rows_done = 2).unwrap();
        assert_eq!(j.progress.rows_done, 2);
    }
}
