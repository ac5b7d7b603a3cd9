//! The docs stand on their own: a reader of the repository can follow
//! every link, and no page cites a file the repository does not hold.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// README.md and every page of docs/.
fn pages() -> Vec<PathBuf> {
    let mut out = vec![root().join("README.md")];
    for entry in std::fs::read_dir(root().join("docs")).expect("docs/") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "md") {
            out.push(path);
        }
    }
    out
}

/// The relative targets of `[text](target)` links, without their `#anchor`.
fn relative_links(text: &str) -> Vec<String> {
    text.split("](")
        .skip(1)
        .filter_map(|rest| rest.split(')').next())
        .map(|t| t.split('#').next().unwrap_or_default().to_string())
        .filter(|t| !t.is_empty() && !t.contains("://") && !t.starts_with("mailto:"))
        .collect()
}

#[test]
fn no_page_cites_the_api_documents_by_a_path_outside_the_repository() {
    for page in pages() {
        let text = std::fs::read_to_string(&page).expect("page");
        for (n, line) in text.lines().enumerate() {
            // GIVEN the internal names of the API documents
            let cites_seed_file = line.contains("shared/seeds")
                || line
                    .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                    .any(|w| w.len() == 20 && w.starts_with("00") && w.as_bytes()[3] == b'_');
            // THEN no page names them
            assert!(
                !cites_seed_file,
                "{}:{}: names a file outside the repository: {line}",
                page.display(),
                n + 1
            );
        }
    }
}

#[test]
fn every_relative_link_points_at_a_file_of_the_repository() {
    for page in pages() {
        let text = std::fs::read_to_string(&page).expect("page");
        let dir = page.parent().unwrap_or(Path::new("."));
        for link in relative_links(&text) {
            assert!(
                dir.join(&link).exists(),
                "{}: link to {link}, which does not exist",
                page.display()
            );
        }
    }
}

/// The environment table `docs/deploy.md` must hold, made from
/// `config::variables::VARIABLES`.
fn variables_table() -> String {
    use exports_shared::config::variables::VARIABLES;
    let mut out = String::from(
        "| variable | default | accepted | used by | meaning |\n|---|---|---|---|---|\n",
    );
    for v in VARIABLES {
        let used_by = if v.used_by.is_empty() {
            "local mode".to_string()
        } else {
            v.used_by.join(", ")
        };
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} |\n",
            v.name, v.default, v.range, used_by, v.meaning
        ));
    }
    out
}

#[test]
fn deploy_md_lists_every_environment_variable_as_the_code_reads_it() {
    // GIVEN the configuration's table of variables
    let expected = variables_table();
    // THEN docs/deploy.md shows exactly that table
    let page = std::fs::read_to_string(root().join("docs/deploy.md")).expect("deploy.md");
    assert!(
        page.contains(&expected),
        "docs/deploy.md's environment table is out of step with config::variables; \
         it should read:\n\n{expected}"
    );
}
