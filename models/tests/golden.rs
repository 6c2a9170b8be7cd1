//! Golden parity: every case folder in `$MUQ_GOLDEN_DIR` (default `../shared/golden` from the
//! repository root) is classified by its config.json and every expected tensor is compared
//! with the port's output using the case's tolerances.
//!
//! Run: `MUQ_GOLDEN_DIR=DIR cargo test --release -p muq-models --test golden -- --nocapture`.

#[path = "golden/common.rs"]
mod common;
#[path = "golden/layout.rs"]
mod layout;
#[path = "golden/mulan.rs"]
mod mulan;
#[path = "golden/muq.rs"]
mod muq;

use common::{Case, Kind, golden_dir, list_cases};

#[test]
fn golden() {
    let dir = golden_dir();
    let cases = match list_cases(&dir) {
        Ok(c) => c,
        Err(e) => panic!("golden: cannot read {}: {e:#}", dir.display()),
    };
    assert!(
        !cases.is_empty(),
        "golden: no case folders (with a config.json) in {}",
        dir.display()
    );
    let mut failed = Vec::new();
    for case_dir in &cases {
        let label = case_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let result = Case::load(case_dir).and_then(|case| match case.kind {
            Kind::Muq => muq::check_muq_case(&case),
            Kind::Mulan => mulan::check_mulan_case(&case),
        });
        match result {
            Ok((tensor, ratio)) => {
                println!("golden {label}: ok (worst {tensor} err/tol={ratio:.3})")
            }
            Err(e) => {
                println!("golden {label}: FAILED\n    {e:#}");
                failed.push(label);
            }
        }
    }
    println!(
        "golden: {} passed, {} failed",
        cases.len() - failed.len(),
        failed.len()
    );
    assert!(failed.is_empty(), "golden cases failed: {failed:?}");
}

/// `muq fixture`'s layout, derived from each case's configs, equals the case's checkpoint.
#[test]
fn fixture_layout_matches_every_case() {
    let dir = golden_dir();
    let cases = list_cases(&dir).expect("golden cases");
    assert!(!cases.is_empty(), "no golden cases in {}", dir.display());
    let mut failed = Vec::new();
    for case_dir in &cases {
        match layout::check_layout(case_dir) {
            Ok(n) => println!("layout {}: {n} tensors match", case_dir.display()),
            Err(e) => failed.push(format!("{}: {e:#}", case_dir.display())),
        }
    }
    assert!(failed.is_empty(), "layout mismatches: {failed:#?}");
}
