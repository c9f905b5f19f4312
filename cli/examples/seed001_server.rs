//! A local stand-in for the seed-001 API, for trying the built-in
//! `assisted-public-launch` checklist by hand (the same server the CLI tests use):
//!
//! ```sh
//! cargo run -p gangway-cli --example seed001_server            # prints its URL, runs until Ctrl-C
//! export TF_KEY=ik_live_demo TF_REVOKED=ik_revoked_demo TF_INVALID=not-a-key
//! gangway checklist run RUN-000001 --base-url http://127.0.0.1:PORT \
//!   --secret-env INTEGRATION_KEY=TF_KEY --secret-env REVOKED_KEY=TF_REVOKED \
//!   --secret-env INVALID_KEY=TF_INVALID --db gangway.db
//! ```
//!
//! The valid and revoked keys are `ik_live_demo` and `ik_revoked_demo` unless
//! `SEED001_VALID_KEY` / `SEED001_REVOKED_KEY` say otherwise.

#![allow(clippy::print_stdout)]

#[path = "../tests/common/mod.rs"]
mod common;

fn main() {
    let valid = std::env::var("SEED001_VALID_KEY").unwrap_or_else(|_| "ik_live_demo".to_owned());
    let revoked = std::env::var("SEED001_REVOKED_KEY").unwrap_or_else(|_| "ik_revoked_demo".to_owned());
    let server = common::Server::start(&valid, &revoked, "tok_demo_bearer_7d41");
    println!("seed-001 API stand-in listening on {}", server.url());
    println!("valid key: {valid}; revoked key: {revoked}; Ctrl-C to stop");
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
}
