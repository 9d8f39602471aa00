//! Seed-corpus replay: every file under `fuzz/seeds/<target>/` runs through
//! the same harness logic as the libFuzzer targets (`fuzz/harness/`), as a
//! plain, deterministic test. The seeds are a minimized corpus from the
//! fuzzing campaigns plus every input that once found a bug, so a
//! regression shows up in `cargo test` without a fuzzer.
//!
//! The harnesses check `dlv_live_storage_count()`, which is process-wide, so
//! the targets run one at a time.

#[path = "../fuzz/harness/mod.rs"]
#[allow(dead_code)]
mod harness;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

static SERIAL: Mutex<()> = Mutex::new(());

fn seeds(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/seeds")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

fn replay(target: &str, run: fn(&[u8])) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let files = seeds(target);
    assert!(
        files.len() >= 10,
        "fuzz/seeds/{target}/ holds only {} seeds",
        files.len()
    );
    for file in files {
        let data = std::fs::read(&file).unwrap();
        let outcome = std::panic::catch_unwind(|| run(&data));
        if let Err(e) = outcome {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()));
            panic!("seed {} fails: {}", file.display(), msg.unwrap_or_default());
        }
    }
}

#[test]
fn dlpack_import_seeds() {
    replay("dlpack_import", harness_for("dlpack_import"));
}

#[test]
fn index_keys_seeds() {
    replay("index_keys", harness_for("index_keys"));
}

#[test]
fn npy_header_seeds() {
    replay("npy_header", harness_for("npy_header"));
}

#[test]
fn npy_roundtrip_seeds() {
    replay("npy_roundtrip", harness_for("npy_roundtrip"));
}

#[test]
fn view_ops_seeds() {
    replay("view_ops", harness_for("view_ops"));
}

/// Inputs of every length up to a few bytes, and the empty input, are
/// valid cases too (an exhausted input reads as zeros).
#[test]
fn short_inputs() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    for len in 0..4 {
        for fill in [0u8, 1, 0x7f, 0xff] {
            let data = vec![fill; len];
            harness::dlpack_import::run(&data);
            harness::view_ops::run(&data);
            harness::npy_header::run(&data);
            harness::npy_roundtrip::run(&data);
            harness::index_keys::run(&data);
        }
    }
}

/// The harness of a fuzz target, by the target's name.
fn harness_for(target: &str) -> fn(&[u8]) {
    match target {
        "dlpack_import" => harness::dlpack_import::run,
        "view_ops" => harness::view_ops::run,
        "index_keys" => harness::index_keys::run,
        "npy_header" => harness::npy_header::run,
        "npy_roundtrip" => harness::npy_roundtrip::run,
        other => panic!("unknown fuzz target {other}"),
    }
}

/// Reproduces one input outside the fuzzer (with overflow checks in a
/// debug build): `DLVIEW_FUZZ_REPLAY=view_ops:path/to/crash cargo test
/// --test fuzz_corpus replay_one -- --ignored --nocapture`. Ignored in normal
/// runs (the seeds above replay everything kept); run without the variable
/// it fails and says how to use it.
#[test]
#[ignore = "replays the input named by DLVIEW_FUZZ_REPLAY=target:path"]
fn replay_one() {
    let spec = std::env::var("DLVIEW_FUZZ_REPLAY")
        .expect("set DLVIEW_FUZZ_REPLAY=target:path to the input to replay");
    let (target, path) = spec
        .split_once(':')
        .expect("DLVIEW_FUZZ_REPLAY=target:path");
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    harness_for(target)(&data);
}
