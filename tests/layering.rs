//! The library's layers, checked from its source: every `crate::…` path a module of `src/`
//! names is an edge between two top-level modules, and an edge may only run down the table
//! in [`LAYERS`] (or stay within a layer without a circle). A new module has to be placed in
//! the table before the test passes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The top-level modules, lowest layer first; a module may use those of its own layer and
/// of the layers below it.
const LAYERS: &[&[&str]] = &[
    &["util", "error"],
    &["rating"],
    &["battle"],
    &["config", "trust"],
    &["provider", "store"],
    &["api_keys", "transfer"],
    &["engine"],
    &["classify"],
    &["server"],
    &["cli"],
];

/// Edges that run the wrong way today, each with what keeps it: the list may only shrink
/// (an edge that no longer exists must leave it).
const KNOWN: &[(&str, &str, &str)] = &[];

fn rank(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// Every `.rs` file under `dir` (also read by `shape`).
pub(crate) fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file of `src/` belongs to (`None` for the crate root files).
fn owner(src: &Path, file: &Path) -> Option<String> {
    let first = file.strip_prefix(src).ok()?.components().next()?;
    let name = first.as_os_str().to_str()?.trim_end_matches(".rs");
    (name != "lib" && name != "main").then(|| name.to_owned())
}

/// The top-level modules a line of code names through `crate::`.
fn named(line: &str) -> Vec<String> {
    let code = line.split("//").next().unwrap_or("");
    let mut out = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        let idents: Vec<&str> = if let Some(group) = rest.strip_prefix('{') {
            let group = group.split('}').next().unwrap_or("");
            group.split(',').map(str::trim).collect()
        } else {
            vec![rest]
        };
        for ident in idents {
            let name: String = ident
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() && name.chars().next().is_some_and(|c| c.is_ascii_lowercase()) {
                out.push(name);
            }
        }
    }
    out
}

/// Edge (from, to) → a file and line that makes it.
fn edges(src: &Path) -> BTreeMap<(String, String), String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let mut out = BTreeMap::new();
    for file in files {
        let Some(from) = owner(src, &file) else {
            continue;
        };
        let text = std::fs::read_to_string(&file).expect("a source file is readable");
        for (n, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("//") {
                continue;
            }
            for to in named(line) {
                if to != from {
                    out.entry((from.clone(), to))
                        .or_insert_with(|| format!("{}:{}", file.display(), n + 1));
                }
            }
        }
    }
    out
}

/// Every problem with `edges`: a module in no layer, a wrong-way edge, a circle, a stale
/// entry of [`KNOWN`].
fn problems(edges: &BTreeMap<(String, String), String>) -> Vec<String> {
    let known: BTreeSet<(&str, &str)> = KNOWN.iter().map(|(a, b, _)| (*a, *b)).collect();
    let mut out = Vec::new();
    let mut graph: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for ((from, to), at) in edges {
        let (Some(rf), Some(rt)) = (rank(from), rank(to)) else {
            out.push(format!(
                "{from} -> {to} ({at}): a module in no layer; place it in LAYERS"
            ));
            continue;
        };
        if known.contains(&(from.as_str(), to.as_str())) {
            continue;
        }
        if rt > rf {
            out.push(format!(
                "{from} -> {to} ({at}): a lower layer uses a higher one"
            ));
        }
        graph.entry(from).or_default().insert(to);
    }
    for (a, b, _) in KNOWN {
        if !edges.contains_key(&((*a).to_owned(), (*b).to_owned())) {
            out.push(format!("{a} -> {b} is gone: take it out of KNOWN"));
        }
    }
    // A circle within a layer (one across layers is a wrong-way edge already).
    for start in graph.keys() {
        let mut seen = BTreeSet::new();
        let mut todo: Vec<(&str, Vec<&str>)> = vec![(start, vec![start])];
        while let Some((at, path)) = todo.pop() {
            for next in graph.get(at).into_iter().flatten() {
                if next == start {
                    out.push(format!(
                        "an import circle: {} -> {start}",
                        path.join(" -> ")
                    ));
                } else if seen.insert(*next) {
                    let mut longer = path.clone();
                    longer.push(next);
                    todo.push((next, longer));
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn no_module_uses_a_higher_layer_and_none_import_in_a_circle() {
    let found = problems(&edges(&src()));
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn a_wrong_way_use_or_a_circle_is_caught() {
    let mut with = edges(&src());
    with.insert(("store".into(), "provider".into()), "added".into());
    with.insert(("util".into(), "engine".into()), "added".into());
    with.insert(("config".into(), "trust".into()), "added".into());
    with.insert(("trust".into(), "config".into()), "added".into());
    let found = problems(&with).join("\n");
    assert!(found.contains("util -> engine (added)"), "{found}");
    assert!(found.contains("an import circle"), "{found}");
    assert!(found.contains("config -> trust"), "{found}");
    // Within one layer, an edge one way is fine.
    let mut one_way = edges(&src());
    one_way.insert(("store".into(), "provider".into()), "added".into());
    assert!(problems(&one_way).is_empty());
}

#[test]
fn a_line_names_its_modules() {
    assert_eq!(named("use crate::store::Store;"), ["store"]);
    assert_eq!(named("use crate::{error::Error, util};"), ["error", "util"]);
    assert_eq!(named("let x = 1; // crate::engine"), Vec::<String>::new());
}
