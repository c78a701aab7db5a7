//! The guide stays a guide: README.md within its line budget, and every relative link of
//! README.md, CONTRIBUTING.md and docs/ pointing at a file that exists and, with an anchor,
//! at a heading that file has.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// README.md is a short guide; each topic has its file in docs/.
const README_LINES: usize = 250;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The Markdown files of the guide.
fn guide() -> Vec<PathBuf> {
    let mut files = vec![root().join("README.md"), root().join("CONTRIBUTING.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("a docs/ folder")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

/// The text outside fenced code blocks and inline code, line by line.
fn prose(text: &str) -> Vec<String> {
    let mut fenced = false;
    text.lines()
        .filter_map(|line| {
            if line.trim_start().starts_with("```") {
                fenced = !fenced;
                return None;
            }
            (!fenced).then(|| {
                line.split('`')
                    .enumerate()
                    .filter(|(i, _)| i % 2 == 0)
                    .map(|(_, part)| part)
                    .collect::<String>()
            })
        })
        .collect()
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

fn anchors(text: &str) -> BTreeSet<String> {
    let mut fenced = false;
    text.lines()
        .filter(|line| {
            if line.trim_start().starts_with("```") {
                fenced = !fenced;
            }
            !fenced && line.starts_with('#')
        })
        .map(|line| slug(line.trim_start_matches('#').replace('`', "").as_str()))
        .collect()
}

/// The targets of `[text](target)` links in `text`.
fn links(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in prose(text) {
        let mut rest = line.as_str();
        while let Some(at) = rest.find("](") {
            let tail = &rest[at + 2..];
            match tail.find(')') {
                Some(end) => {
                    found.push(tail[..end].to_string());
                    rest = &tail[end..];
                }
                None => break,
            }
        }
    }
    found
}

#[test]
fn readme_stays_within_its_line_budget() {
    let lines = std::fs::read_to_string(root().join("README.md"))
        .unwrap()
        .lines()
        .count();
    assert!(
        lines <= README_LINES,
        "README.md has {lines} lines (budget {README_LINES}): move detail into docs/"
    );
}

#[test]
fn every_relative_link_of_the_guide_resolves() {
    let mut broken = Vec::new();
    let mut checked = 0;
    for file in guide() {
        let text = std::fs::read_to_string(&file).unwrap();
        for target in links(&text) {
            if target.starts_with("http://")
                || target.starts_with("https://")
                || target.starts_with("mailto:")
            {
                continue;
            }
            checked += 1;
            let (path, anchor) = target.split_once('#').unwrap_or((&target, ""));
            let resolved = if path.is_empty() {
                file.clone()
            } else {
                file.parent().unwrap().join(path)
            };
            if !resolved.exists() {
                broken.push(format!("{}: {target} (no such file)", file.display()));
                continue;
            }
            if !anchor.is_empty() {
                let linked = std::fs::read_to_string(&resolved).unwrap_or_default();
                if !anchors(&linked).contains(anchor) {
                    broken.push(format!("{}: {target} (no such heading)", file.display()));
                }
            }
        }
    }
    assert!(
        checked > 20,
        "only {checked} links found: the scan is broken"
    );
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn the_link_scan_sees_links_and_headings_as_github_does() {
    assert_eq!(
        links("see [a](docs/a.md#x) and `[not](code.md)` or [b](b.md)"),
        ["docs/a.md#x", "b.md"]
    );
    assert!(links("```\n[in](a block)\n```").is_empty());
    assert_eq!(
        slug("Browsing and search: keys, indexes and what a page costs"),
        "browsing-and-search-keys-indexes-and-what-a-page-costs"
    );
    assert!(
        anchors("# Title\n## Running functions with `cargo lambda watch`\n")
            .contains("running-functions-with-cargo-lambda-watch")
    );
}
