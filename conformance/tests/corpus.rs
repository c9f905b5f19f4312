//! Runs every case of the corpus as its own test and compares canonical JSON exactly.

use gangway_conformance::{cases_root, discover, run};
use libtest_mimic::{Arguments, Failed, Trial};

fn main() {
    let args = Arguments::from_args();
    let cases = match discover(&cases_root()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let trials = cases
        .into_iter()
        .map(|case| {
            Trial::test(case.name.clone(), move || {
                let actual = run(&case).map_err(Failed::from)?;
                let expected = std::fs::read_to_string(case.expected_path())
                    .map_err(|e| Failed::from(format!("{}: no expected.json ({e}); run `make regen`", case.name)))?;
                if actual == expected {
                    Ok(())
                } else {
                    Err(Failed::from(format!(
                        "output differs from expected.json; run `make regen` and review the diff\n--- expected\n{expected}\n+++ actual\n{actual}"
                    )))
                }
            })
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
