//! The README's settings table is the user documentation of `settings::TABLE`: every
//! setting appears there with its default, and the table names no setting the filter lacks.

use cali_plugin::settings::TABLE;

fn readme() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md");
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn every_setting_is_in_the_readme_with_its_default() {
    let readme = readme();
    for spec in TABLE {
        let default = if spec.default.is_empty() {
            "(none)".to_string()
        } else {
            format!("`{}`", spec.default)
        };
        let row = format!("| `{}` | {} |", spec.key, default);
        assert!(
            readme.contains(&row),
            "README lacks the row starting {row:?}"
        );
    }
}

#[test]
fn the_readme_documents_no_unknown_setting() {
    let readme = readme();
    let start = readme
        .find("| key (in the tick record) |")
        .expect("settings table in README");
    for line in readme[start..]
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with('|'))
    {
        let key = line.split('`').nth(1).unwrap_or_default();
        assert!(
            TABLE.iter().any(|s| s.key == key),
            "README documents unknown setting {key:?}"
        );
    }
}
