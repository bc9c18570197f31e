//! Tidy: the rules ARCHITECTURE.md states about the code, checked on its text (in the spirit of
//! rust-analyzer's `xtask/src/tidy.rs`). `cargo test --lib tidy` fails, naming file and line,
//! when an import points up the layer list, when two files import each other, when a file is
//! over `MAX_FILE_LINES` or a function over `MAX_FN_LINES`.
//!
//! It reads the source as text: comments and string and char literals are blanked out first, so
//! only code is scanned. What counts as one file importing another:
//!
//! - a `use` item whose path names a module of the crate (`crate::`, `super::`, `self::`, or a
//!   child module of the file's), each path of a `use crate::{a, b::c}` group apart;
//! - a path written in code outside `use` items that starts the same way (in `main.rs`, whose
//!   crate is the binary, `pulse::` paths into the library instead).
//!
//! A path's file is that of the longest module it names: `crate::store::Store` is
//! `store/mod.rs`, `crate::store::outbox::OutboxWriter` is `store/outbox.rs`.
//!
//! Not imports: `mod x;` (declaring a child is not depending on it), a path back into the same
//! file (`use super::*` in a test module), and a `pub use` re-export of the file's own child
//! modules (`pub use outbox::OutboxWriter` in `store/mod.rs`): a `mod.rs` publishing its
//! children is their face, not a user of them, so a child's `use super::Store` is no circle.
//! A `mod.rs` that uses a child's item privately while the child uses the `mod.rs` is one.
//! Test code counts like any other: a test module's imports are its file's. Circles are looked
//! for between two files, not around three or more.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use scan::{
    expand_use, function_lengths, inline_modules, inline_paths, line_at, strip, test_module_lines,
    use_items,
};

mod scan;
#[cfg(test)]
mod tests;

/// The layers, top to bottom. A file may import files of its own layer entry and of layers
/// below it, never above; across entries of one layer only as `WITHIN_LAYER` allows. An entry
/// is a file, or a module's folder (`tidy/` is `tidy.rs` and the files under `tidy/`). A file
/// of `src/` named by no entry is a failure too.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "entry",
        &[
            "main.rs",
            "lib.rs",
            "cmd/",
            "cli/",
            "ui/",
            "fuzzing.rs",
            "tidy/",
        ],
    ),
    ("run", &["run/"]),
    ("plan", &["plan/"]),
    ("stage", &["stage/"]),
    ("deliver", &["deliver/"]),
    ("store", &["store/"]),
    ("payload", &["payload/"]),
    ("read+schema", &["read/", "schema/"]),
    (
        "leaves",
        &[
            "sign/",
            "json_out.rs",
            "exit.rs",
            "signals.rs",
            "progress.rs",
            "memory.rs",
            "metrics.rs",
            "redact.rs",
            "time_text.rs",
            "plural.rs",
            "output.rs",
            "telemetry/",
        ],
    ),
];

/// Imports allowed between two entries of one layer, as (from, to). `read/` and `schema/`
/// import neither way: a schema checks cells, whoever read them.
const WITHIN_LAYER: &[(&str, &str)] = &[
    ("main.rs", "cli/"),
    ("main.rs", "cmd/"),
    ("cmd/", "cli/"),
    ("cmd/", "ui/"),
    ("exit.rs", "signals.rs"),
    ("signals.rs", "output.rs"),
    ("progress.rs", "output.rs"),
    ("metrics.rs", "output.rs"),
    ("metrics.rs", "redact.rs"),
    ("metrics.rs", "exit.rs"),
    ("telemetry/", "redact.rs"),
    ("telemetry/", "output.rs"),
];

/// Most lines of a file, not counting its inline `#[cfg(test)] mod tests { ... }`; files
/// named `tests.rs` or `tests_*.rs` are not counted at all.
const MAX_FILE_LINES: usize = 600;
/// Most lines of a function, from its `fn` line to its closing brace.
const MAX_FN_LINES: usize = 100;

#[test]
fn tidy() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    collect(&src, &src, &mut files);
    let modules: BTreeMap<Vec<String>, String> = files
        .iter()
        .filter(|(path, _)| path != "main.rs")
        .map(|(path, _)| (module_of(path), path.clone()))
        .collect();
    let mut problems = Vec::new();
    let mut edges: BTreeMap<(String, String), Import> = BTreeMap::new();
    for (path, text) in &files {
        if layer_of(path).is_none() {
            problems.push(format!("src/{path}:1: in no layer of tidy.rs's LAYERS"));
        }
        let code = strip(text);
        problems.extend(size_problems(path, &code));
        for import in imports(path, &code, &modules) {
            edges
                .entry((path.clone(), import.to.clone()))
                .or_insert(import);
        }
    }
    problems.extend(layer_problems(&edges));
    problems.extend(circle_problems(&edges));
    assert!(
        problems.is_empty(),
        "tidy: {} problem(s):\n{}\n",
        problems.len(),
        problems.join("\n")
    );
}

/// Every `.rs` file under `dir`, as its path from `src/` and its text.
fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, String)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("src/ is readable")
        .map(|entry| entry.expect("src/ is readable").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect(root, &path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path.strip_prefix(root).expect("under src/");
            let rel = rel.to_string_lossy().replace('\\', "/");
            let text = std::fs::read_to_string(&path).expect("source is UTF-8");
            files.push((rel, text));
        }
    }
}

/// The module a file holds: `read/source.rs` and `read/source/mod.rs` are `[read, source]`,
/// `lib.rs` (and `main.rs`, the binary's root) the crate's root `[]`.
fn module_of(path: &str) -> Vec<String> {
    let path = path.strip_suffix(".rs").unwrap_or(path);
    let mut segments: Vec<String> = path.split('/').map(str::to_string).collect();
    if matches!(path, "lib" | "main") || segments.last().is_some_and(|s| s == "mod") {
        segments.pop();
    }
    segments
}

/// Functions over `MAX_FN_LINES`, and the file over `MAX_FILE_LINES`.
fn size_problems(path: &str, code: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for (line, name, lines) in function_lengths(code) {
        if lines > MAX_FN_LINES {
            problems.push(format!(
                "src/{path}:{line}: fn {name} has {lines} lines (at most {MAX_FN_LINES})"
            ));
        }
    }
    let name = path.rsplit('/').next().unwrap_or(path);
    if !(name == "tests.rs" || name.starts_with("tests_")) {
        let lines = code.lines().count() - test_module_lines(code);
        if lines > MAX_FILE_LINES {
            problems.push(format!(
                "src/{path}:1: {lines} lines besides its tests (at most {MAX_FILE_LINES})"
            ));
        }
    }
    problems
}

/// One file importing another: the file imported, where it first is, and how it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Import {
    to: String,
    line: usize,
    path: String,
}

/// The files of the crate `path`'s code imports (see the module's comment for what counts).
fn imports(path: &str, code: &str, modules: &BTreeMap<Vec<String>, String>) -> Vec<Import> {
    let file_module = module_of(path);
    let in_main = path == "main.rs";
    let inline_mods = inline_modules(code);
    let here = |offset: usize| {
        let mut module = file_module.clone();
        for (from, to, name) in &inline_mods {
            if (*from..*to).contains(&offset) {
                module.push(name.clone());
            }
        }
        module
    };
    let mut found = Vec::new();
    let mut note = |offset: usize, segments: Vec<String>, reexport: bool| {
        let module = here(offset);
        let Some(target) = resolve(&module, &segments, modules, in_main) else {
            return;
        };
        let own_child = target.len() > file_module.len() && target.starts_with(&file_module);
        if target == file_module || (reexport && own_child) {
            return;
        }
        found.push(Import {
            to: modules[&target].clone(),
            line: line_at(code, offset),
            path: segments.join("::"),
        });
    };
    let (uses, rest) = use_items(code);
    for (offset, tree, reexport) in uses {
        for segments in expand_use(&tree) {
            note(offset, segments, reexport);
        }
    }
    for (offset, segments) in inline_paths(&rest) {
        note(offset, segments, false);
    }
    found
}

/// The module file a path names from inside module `here`, if it names one of the crate's.
fn resolve(
    here: &[String],
    segments: &[String],
    modules: &BTreeMap<Vec<String>, String>,
    in_main: bool,
) -> Option<Vec<String>> {
    let (first, rest) = segments.split_first()?;
    let mut full: Vec<String> = match first.as_str() {
        "crate" if !in_main => Vec::new(),
        "pulse" if in_main => Vec::new(),
        "self" => here.to_vec(),
        "super" => {
            let supers = segments.iter().take_while(|s| *s == "super").count();
            let mut base = here.to_vec();
            base.truncate(here.len().checked_sub(supers)?);
            base.extend(segments[supers..].iter().cloned());
            return longest_module(base, modules);
        }
        child if !in_main && modules.contains_key(&child_of(here, child)) => child_of(here, child),
        _ => return None,
    };
    full.extend(rest.iter().cloned());
    longest_module(full, modules)
}

/// Module `child` of `here`.
fn child_of(here: &[String], child: &str) -> Vec<String> {
    let mut path = here.to_vec();
    path.push(child.to_string());
    path
}

/// The longest start of `path` that is a module with a file of its own.
fn longest_module(
    mut path: Vec<String>,
    modules: &BTreeMap<Vec<String>, String>,
) -> Option<Vec<String>> {
    loop {
        if modules.contains_key(&path) {
            return Some(path);
        }
        path.pop()?;
    }
}

/// Which layer (its index in `LAYERS`) and which entry of it a file belongs to.
fn layer_of(path: &str) -> Option<(usize, &'static str)> {
    LAYERS.iter().enumerate().find_map(|(rank, (_, entries))| {
        entries
            .iter()
            .find(|e| match e.strip_suffix('/') {
                Some(module) => path.starts_with(*e) || path == format!("{module}.rs"),
                None => path == **e,
            })
            .map(|e| (rank, *e))
    })
}

/// Imports up the layer list, and imports across a layer's entries that
/// `WITHIN_LAYER` does not allow.
fn layer_problems(edges: &BTreeMap<(String, String), Import>) -> Vec<String> {
    let mut problems = BTreeSet::new();
    for ((from, to), import) in edges {
        let (Some((from_rank, from_entry)), Some((to_rank, to_entry))) =
            (layer_of(from), layer_of(to))
        else {
            continue;
        };
        let (from_layer, to_layer) = (LAYERS[from_rank].0, LAYERS[to_rank].0);
        let why = if to_rank < from_rank {
            format!("points up: {from_entry} ({from_layer}) -> {to_entry} ({to_layer})")
        } else if to_rank == from_rank
            && from_entry != to_entry
            && !WITHIN_LAYER.contains(&(from_entry, to_entry))
        {
            format!("{from_entry} -> {to_entry} within {from_layer}, not in WITHIN_LAYER")
        } else {
            continue;
        };
        problems.insert(format!("src/{from}:{}: {} {why}", import.line, import.path));
    }
    problems.into_iter().collect()
}

/// Pairs of files that import each other.
fn circle_problems(edges: &BTreeMap<(String, String), Import>) -> Vec<String> {
    let mut problems = Vec::new();
    for ((from, to), import) in edges {
        if from < to
            && let Some(back) = edges.get(&(to.clone(), from.clone()))
        {
            problems.push(format!(
                "src/{from}:{} ({}) and src/{to}:{} ({}) import each other",
                import.line, import.path, back.line, back.path
            ));
        }
    }
    problems
}
