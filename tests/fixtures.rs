//! The GUP rule pack on hand-written fixtures, one folder per pattern
//! (`tests/fixtures/gup/<pattern>/<case>.c`); the snapshot of each holds the
//! diff and the report for both targets.

use crate::support::check_fixture;

#[test]
fn gup_fixtures() {
    insta::with_settings!({snapshot_path => "../snapshots/fixtures", prepend_module_to_snapshot => false}, {
        insta::glob!("fixtures/gup/*/*.c", |path| {
            insta::assert_snapshot!(check_fixture(path));
        });
    });
}

/// Flows across functions, struct fields and files: each fixture is a small
/// tree (`tests/fixtures/flows/<case>/`, marked by a `CASE` file).
#[test]
fn flow_fixtures() {
    insta::with_settings!({snapshot_path => "../snapshots/flows", prepend_module_to_snapshot => false}, {
        insta::glob!("fixtures/flows/*/CASE", |path| {
            insta::assert_snapshot!(check_fixture(path.parent().unwrap()));
        });
    });
}
