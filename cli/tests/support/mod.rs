//! What the CLI tests share: the built binary, paths into the repository's examples,
//! a temporary folder to run `gangway` in with a clean environment, and the (exit
//! code, output, standard error) triples the tests assert on.
//!
//! `common/` is something else: the seed-001 HTTP server, which
//! `examples/seed001_server.rs` uses as well.

#![allow(dead_code)] // each test file uses part of this module
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

/// The `gangway` binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_gangway");

/// The repository's root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `examples/{dir}/{file}`, as an argument.
pub fn example(dir: &str, file: &str) -> String {
    workspace().join("examples").join(dir).join(file).display().to_string()
}

/// A file of the complete Token Factory example, as an argument.
pub fn complete(file: &str) -> String {
    example("token-factory-complete", file)
}

/// Exit code, standard output and standard error of a finished command.
pub fn text_of(out: Output) -> (i32, String, String) {
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// Exit code, standard output parsed as JSON (`Null` when it is not JSON), standard
/// error.
pub fn json_of(out: Output) -> (i32, Value, String) {
    let (code, out, err) = text_of(out);
    (code, serde_json::from_str(&out).unwrap_or(Value::Null), err)
}

/// The string `name` of every element of the JSON array `values`, in order.
pub fn field<'a>(values: &'a Value, name: &str) -> Vec<&'a str> {
    values
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v[name].as_str().unwrap())
        .collect()
}

/// A fresh folder under the system's temporary directory, removed when dropped, with
/// the store `gangway.db` in it. Commands run in the folder; [`Dir::text`] and
/// [`Dir::json`] point them at the store with `--db`, or, after
/// [`Dir::store_in_env`], every command finds it through `GANGWAY_DB`.
pub struct Dir {
    root: PathBuf,
    store_in_env: bool,
}

impl Dir {
    /// A fresh, empty folder (named for the test file and `name`).
    pub fn new(name: &str) -> Dir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let root = std::env::temp_dir().join(format!(
            "gangway-{}-{}-{name}-{}",
            env!("CARGO_CRATE_NAME"),
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        Dir {
            root,
            store_in_env: false,
        }
    }

    /// A fresh folder whose store holds the complete example's registry and packet.
    pub fn seeded(name: &str) -> Dir {
        Dir::seeded_with(name, &[], &[])
    }

    /// The same, with `import` and `put` added to the commands that import the
    /// registry and put the packet (an `--actor`, say).
    pub fn seeded_with(name: &str, import: &[&str], put: &[&str]) -> Dir {
        let d = Dir::new(name);
        assert_eq!(d.json(&["registry", "init"]).0, 0);
        let registry = complete("registry.yaml");
        assert_eq!(d.json(&[&["registry", "import", &registry], import].concat()).0, 0);
        let packet = complete("packet.yaml");
        assert_eq!(d.json(&[&["packet", "put", &packet], put].concat()).0, 0);
        d
    }

    /// From now on every command gets the store through `GANGWAY_DB`, and [`Dir::text`]
    /// and [`Dir::json`] add no `--db`.
    pub fn store_in_env(mut self) -> Dir {
        self.store_in_env = true;
        self
    }

    /// The folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `name` inside the folder.
    pub fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// Writes `body` to `name` inside the folder; its path, as an argument.
    pub fn write(&self, name: &str, body: &str) -> String {
        let path = self.path(name);
        std::fs::write(&path, body).unwrap();
        path.display().to_string()
    }

    /// The store's path, as an argument.
    pub fn db(&self) -> String {
        self.path("gangway.db").display().to_string()
    }

    /// `gangway ARGS` in this folder, with nothing taken from the caller's
    /// `GANGWAY_DB`, `GANGWAY_ACTOR` or `GANGWAY_GATE_STANDARD`, `USER=tester` and
    /// `NO_COLOR=1`.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.args(args)
            .current_dir(&self.root)
            .env_remove("GANGWAY_DB")
            .env_remove("GANGWAY_ACTOR")
            .env_remove("GANGWAY_GATE_STANDARD")
            .env("USER", "tester")
            .env("NO_COLOR", "1");
        if self.store_in_env {
            c.env("GANGWAY_DB", self.db());
        }
        c
    }

    /// Runs `gangway ARGS` (see [`Dir::command`]).
    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// Runs against this folder's store in text mode: exit code, standard output,
    /// standard error.
    pub fn text(&self, args: &[&str]) -> (i32, String, String) {
        text_of(self.against_store(args, &[]))
    }

    /// Runs against this folder's store with `--format json`: exit code, parsed
    /// standard output, standard error.
    pub fn json(&self, args: &[&str]) -> (i32, Value, String) {
        json_of(self.against_store(args, &["--format", "json"]))
    }

    /// Runs `gangway ARGS [--db STORE] MORE`.
    fn against_store(&self, args: &[&str], more: &[&str]) -> Output {
        let db = self.db();
        let mut all = args.to_vec();
        if !self.store_in_env {
            all.extend(["--db", &db]);
        }
        all.extend(more);
        self.run(&all)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// The arguments of `gangway billing invoice generate` for `tenant-acme`'s usage from
/// `from` until `until`, under idempotency key `key`.
pub fn generate<'a>(from: &'a str, until: &'a str, key: &'a str) -> [&'a str; 11] {
    [
        "billing",
        "invoice",
        "generate",
        "--tenant",
        "tenant-acme",
        "--from",
        from,
        "--until",
        until,
        "--key",
        key,
    ]
}

/// The arguments of `gangway billing invoice pay` for `invoice`, with its payment
/// `reference`, under idempotency key `key`.
pub fn pay<'a>(invoice: &'a str, reference: &'a str, key: &'a str) -> [&'a str; 8] {
    [
        "billing",
        "invoice",
        "pay",
        invoice,
        "--reference",
        reference,
        "--key",
        key,
    ]
}

/// The arguments of `gangway registry dry-run set-state` moving the example's scope
/// `token_factory:model:invoke` to `to`, judged as of 2026-11-22.
pub fn dry_run_invoke(to: &str) -> [&str; 8] {
    [
        "registry",
        "dry-run",
        "set-state",
        "scope",
        "token_factory:model:invoke",
        to,
        "--as-of",
        "2026-11-22",
    ]
}
