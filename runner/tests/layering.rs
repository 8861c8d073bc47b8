//! The layering of `runner/src` (docs/architecture.md), checked on the source text so it
//! stays true: imports only point down
//!
//! ```text
//! cli → run → scenario → subject → {vm, cgroup, measure, probe, cleanup, output, workdir}
//!     → {subprocess, atomic_write, trust} → sys
//! ```
//!
//! with no cycle between top-level modules (services of one layer may use each other,
//! acyclically); inside `subject/` no subject imports another, only the shared leaves
//! (`child`, `limits`, `reserved_names`, `rootfs`) and the trait (`subject/mod.rs`); and
//! outside `cli/` the reports crate is used for its model and statistics only (its
//! comparison, history and rendering belong to the commands).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Layer of each top-level module: higher may import lower, never the reverse.
fn rank(module: &str) -> Option<u8> {
    Some(match module {
        "cli" => 6,
        "run" => 5,
        "scenario" => 4,
        "subject" => 3,
        "vm" | "cgroup" | "measure" | "probe" | "cleanup" | "output" | "workdir" => 2,
        "subprocess" | "atomic_write" | "trust" => 1,
        "sys" => 0,
        _ => return None,
    })
}

/// Files and folders of `subject/` that every subject may share.
const SUBJECT_LEAVES: &[&str] = &["child", "limits", "reserved_names", "rootfs"];

/// Parts of the reports crate other layers than `cli` may use.
const REPORTS_FOR_ALL: &[&str] = &["model", "stats", "Run", "Measurement", "Status"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read_dir") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The module path of a file relative to `src`: `subject/oci/mod.rs` → [subject, oci].
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|c| c.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().expect("file name");
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" && stem != "main" {
        parts.push(stem.to_string());
    }
    parts
}

/// The code of a file without comments (docs mention paths they do not import) and
/// without `#[cfg(test)]` modules at the end (unit tests may reach anywhere).
fn code(text: &str) -> String {
    let body = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    };
    body.lines()
        .map(|l| match l.find("//") {
            Some(i) if !l[..i].contains('"') => &l[..i],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every path the code names that starts with `crate::` or `super::`, resolved to an
/// absolute module path (as far as its leading segments go).
fn referenced_paths(code: &str, here: &[String]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let bytes: Vec<char> = code.chars().collect();
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut i = 0;
    while i < bytes.len() {
        let starts_word = i == 0 || !is_ident(bytes[i - 1]) && bytes[i - 1] != ':';
        if !starts_word || !(bytes[i] == 'c' || bytes[i] == 's') {
            i += 1;
            continue;
        }
        // Read a path a::b::c.
        let mut j = i;
        let mut segs: Vec<String> = Vec::new();
        loop {
            let s = j;
            while j < bytes.len() && is_ident(bytes[j]) {
                j += 1;
            }
            if s == j {
                break;
            }
            segs.push(bytes[s..j].iter().collect());
            if j + 1 < bytes.len() && bytes[j] == ':' && bytes[j + 1] == ':' {
                j += 2;
            } else {
                break;
            }
        }
        i = j.max(i + 1);
        let Some(first) = segs.first() else { continue };
        let mut abs: Vec<String> = match first.as_str() {
            "crate" => Vec::new(),
            "super" => here.to_vec(),
            _ => continue,
        };
        let mut rest = &segs[1..];
        if first == "super" {
            abs.pop();
            while rest.first().is_some_and(|s| s == "super") {
                abs.pop();
                rest = &rest[1..];
            }
        }
        abs.extend(rest.iter().cloned());
        if !abs.is_empty() {
            out.push(abs);
        }
    }
    out
}

struct Finding {
    file: String,
    what: String,
}

fn check(src: &Path) -> Vec<Finding> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let mut findings = Vec::new();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &files {
        let rel = f.strip_prefix(src).expect("under src");
        let here = module_path(rel);
        let Some(top) = here.first().cloned() else {
            continue; // lib.rs, main.rs
        };
        let text = std::fs::read_to_string(f).expect("read");
        let code = code(&text);
        let file = rel.display().to_string();
        for path in referenced_paths(&code, &here) {
            let target = &path[0];
            if *target != top {
                edges.entry(top.clone()).or_default().insert(target.clone());
                if let (Some(a), Some(b)) = (rank(&top), rank(target)) {
                    if b > a {
                        findings.push(Finding {
                            file: file.clone(),
                            what: format!("`{top}` imports `{}`, a higher layer", path.join("::")),
                        });
                    }
                }
            } else if top == "subject" && here.len() >= 2 && path.len() >= 2 {
                let (from, to) = (&here[1], &path[1]);
                let is_leaf = |m: &str| SUBJECT_LEAVES.contains(&m);
                let known = src.join("subject").join(format!("{to}.rs")).exists()
                    || src.join("subject").join(to).is_dir();
                if from != to && known && !is_leaf(to) {
                    findings.push(Finding {
                        file: file.clone(),
                        what: format!(
                            "subject `{from}` imports subject `{to}` ({}); share through a leaf ({})",
                            path.join("::"),
                            SUBJECT_LEAVES.join(", ")
                        ),
                    });
                }
            }
        }
        if top != "cli" {
            for (n, line) in code.lines().enumerate() {
                let mut rest = line;
                while let Some(i) = rest.find("isobench_reports::") {
                    let after = &rest[i + "isobench_reports::".len()..];
                    let item: String = after
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    if !item.is_empty() && !REPORTS_FOR_ALL.contains(&item.as_str()) {
                        findings.push(Finding {
                            file: format!("{file}:{}", n + 1),
                            what: format!(
                                "uses isobench_reports::{item}; outside cli/ only {} are for every layer",
                                REPORTS_FOR_ALL.join(", ")
                            ),
                        });
                    }
                    rest = after;
                }
            }
        }
    }
    // No cycle between top-level modules.
    fn visit(
        n: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
        cycles: &mut BTreeSet<String>,
    ) {
        if let Some(i) = stack.iter().position(|s| s == n) {
            let mut c = stack[i..].to_vec();
            c.push(n.to_string());
            cycles.insert(c.join(" → "));
            return;
        }
        if done.contains(n) {
            return;
        }
        stack.push(n.to_string());
        for m in edges.get(n).into_iter().flatten() {
            visit(m, edges, stack, done, cycles);
        }
        stack.pop();
        done.insert(n.to_string());
    }
    let mut cycles = BTreeSet::new();
    let mut done = BTreeSet::new();
    for n in edges.keys() {
        visit(n, &edges, &mut Vec::new(), &mut done, &mut cycles);
    }
    for c in cycles {
        findings.push(Finding {
            file: "runner/src".into(),
            what: format!("import cycle between top-level modules: {c}"),
        });
    }
    findings
}

#[test]
fn imports_only_point_down() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let findings = check(&src);
    let text: Vec<String> = findings
        .iter()
        .map(|f| format!("{}: {}", f.file, f.what))
        .collect();
    assert!(text.is_empty(), "layering broken:\n{}", text.join("\n"));
}

#[test]
fn every_top_level_module_has_a_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for e in std::fs::read_dir(&src).expect("src") {
        let p = e.expect("entry").path();
        let name = p.file_stem().expect("name").to_string_lossy().into_owned();
        if name == "lib" || name == "main" {
            continue;
        }
        assert!(
            rank(&name).is_some(),
            "runner/src/{name} has no layer in tests/layering.rs (and docs/architecture.md)"
        );
    }
}

/// The checker finds what it is meant to find (so a broken checker cannot pass).
#[test]
fn the_checker_sees_upward_imports_cycles_and_subjects_importing_subjects() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let src = tmp.path();
    let write = |rel: &str, text: &str| {
        let p = src.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    };
    write("lib.rs", "pub mod vm;\npub mod cgroup;\npub mod subject;\n");
    write("vm/mod.rs", "use crate::subject::Subject; // upward\n");
    write("cgroup/mod.rs", "use crate::cleanup::Guard;\n");
    write("cleanup/mod.rs", "fn f() { crate::cgroup::detect(); }\n");
    write("subject/mod.rs", "pub mod runc;\npub mod docker;\n");
    write(
        "subject/docker.rs",
        "use super::runc::Quirks;\nuse super::child::READY_FD;\n",
    );
    write("subject/runc.rs", "use isobench_reports::compare::Group;\n");
    write("subject/child.rs", "");
    let f: Vec<String> = check(src).into_iter().map(|f| f.what).collect();
    let has = |s: &str| f.iter().any(|w| w.contains(s));
    assert!(
        has("`vm` imports `subject::Subject`, a higher layer"),
        "{f:?}"
    );
    assert!(
        has("import cycle between top-level modules: cgroup → cleanup → cgroup"),
        "{f:?}"
    );
    assert!(has("subject `docker` imports subject `runc`"), "{f:?}");
    assert!(!has("imports subject `child`"), "{f:?}");
    assert!(has("uses isobench_reports::compare"), "{f:?}");
    assert!(!f.iter().any(|w| w.contains("comment")), "{f:?}");
}
