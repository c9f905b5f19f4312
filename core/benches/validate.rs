//! Benchmarks: parsing the examples, validating them against a 10,000-entry
//! registry, computing progress, and the CLI as a whole process.
//!
//! Run with `cargo bench -p gangway --bench validate` (add `-- --quick` for a short
//! run). The `cli/validate` benchmark needs `target/release/gangway` (or
//! `target/debug/gangway`): build it first with `cargo build --release -p gangway-cli`;
//! without it the benchmark is skipped with a note.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
mod common;

use common::big_registry;
use gangway::{Date, Packet, Registry, Stage};

const SEED_PACKET: &str = include_str!("../../examples/token-factory/packet.yaml");
const SEED_REGISTRY: &str = include_str!("../../examples/token-factory/registry.yaml");
const COMPLETE_PACKET: &str = include_str!("../../examples/token-factory-complete/packet.yaml");
const COMPLETE_REGISTRY: &str = include_str!("../../examples/token-factory-complete/registry.yaml");

fn as_of() -> Date {
    Date::constant(2026, 11, 22)
}

fn parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse");
    group.bench_function("seed", |b| b.iter(|| Packet::from_yaml(black_box(SEED_PACKET)).is_ok()));
    group.bench_function("complete", |b| {
        b.iter(|| Packet::from_yaml(black_box(COMPLETE_PACKET)).is_ok())
    });
    group.finish();
}

fn validate(c: &mut Criterion) {
    let (Ok(seed), Ok(complete)) = (Packet::from_yaml(SEED_PACKET), Packet::from_yaml(COMPLETE_PACKET)) else {
        eprintln!("note: an example packet does not parse; skipping validate/*");
        return;
    };
    let (Some(seed_registry), Some(complete_registry)) = (big_registry(SEED_REGISTRY), big_registry(COMPLETE_REGISTRY))
    else {
        eprintln!("note: a registry could not be built; skipping validate/*");
        return;
    };
    let mut group = c.benchmark_group("validate");
    group.bench_function("seed@registry", |b| {
        b.iter(|| {
            gangway::validate(
                black_box(&seed),
                Some(black_box(&seed_registry)),
                Some(Stage::Registry),
                as_of(),
            )
        })
    });
    group.bench_function("complete@extraction", |b| {
        b.iter(|| {
            gangway::validate(
                black_box(&complete),
                Some(black_box(&complete_registry)),
                Some(Stage::Extraction),
                as_of(),
            )
        })
    });
    group.finish();
}

fn progress(c: &mut Criterion) {
    let (Ok(complete), Ok(registry)) = (
        Packet::from_yaml(COMPLETE_PACKET),
        Registry::from_yaml(COMPLETE_REGISTRY),
    ) else {
        eprintln!("note: the complete example does not load; skipping progress/*");
        return;
    };
    let mut group = c.benchmark_group("progress");
    group.bench_function("complete", |b| {
        b.iter(|| gangway::progress(black_box(&complete), Some(black_box(&registry)), as_of()))
    });
    group.finish();
}

/// The workspace root (the parent of this crate).
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `gangway` in the target directory, release build first.
fn cli_binary() -> Option<PathBuf> {
    let root = workspace_root();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|t| if t.is_absolute() { t } else { root.join(t) })
        .unwrap_or_else(|| root.join("target"));
    let exe = format!("gangway{}", std::env::consts::EXE_SUFFIX);
    ["release", "debug"]
        .into_iter()
        .map(|profile| target.join(profile).join(&exe))
        .find(|p| p.is_file())
}

fn cli_command(bin: &Path) -> Command {
    let mut cmd = Command::new(bin);
    cmd.current_dir(workspace_root())
        .args([
            "validate",
            "examples/token-factory-complete/packet.yaml",
            "--registry",
            "examples/token-factory-complete/registry.yaml",
            "--as-of",
            "2026-11-22",
            "--format",
            "json",
        ])
        .stdin(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

fn cli(c: &mut Criterion) {
    let Some(bin) = cli_binary() else {
        eprintln!(
            "note: no target/release/gangway or target/debug/gangway; skipping cli/validate \
             (build it with `cargo build --release -p gangway-cli`)"
        );
        return;
    };
    // One trial run: only a CLI that answers with a report is worth timing.
    match cli_command(&bin).output() {
        Ok(out) if matches!(out.status.code(), Some(0 | 1)) && !out.stdout.is_empty() => {}
        Ok(out) => {
            eprintln!(
                "note: {} exited with {} and {} bytes of output; skipping cli/validate",
                bin.display(),
                out.status,
                out.stdout.len()
            );
            return;
        }
        Err(e) => {
            eprintln!("note: cannot run {}: {e}; skipping cli/validate", bin.display());
            return;
        }
    }
    eprintln!("note: cli/validate runs {}", bin.display());
    let mut group = c.benchmark_group("cli");
    // A process costs milliseconds: take fewer, equal-sized samples.
    group.sampling_mode(SamplingMode::Flat).sample_size(20);
    group.bench_function("validate", |b| b.iter(|| cli_command(black_box(&bin)).output().ok()));
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = parse, validate, progress, cli
}
criterion_main!(benches);
