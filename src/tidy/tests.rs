use super::scan::*;
use super::*;

fn owned(paths: &[&[&str]]) -> Vec<Vec<String>> {
    paths
        .iter()
        .map(|path| path.iter().map(|s| s.to_string()).collect())
        .collect()
}

#[test]
fn strip_blanks_comments_and_literals_and_keeps_lines() {
    let code = "let a = \"use crate::x;\"; // crate::y\n\
                /* a /* nested */ crate::z */ let c = 'x'; let q = '\\'';\n\
                let r = r#\"crate::\"w\"#; let b = b'{'; fn f<'a>(x: &'a str) {}\n";
    let stripped = strip(code);
    assert_eq!(stripped.len(), code.len());
    assert_eq!(stripped.lines().count(), code.lines().count());
    assert!(!stripped.contains("crate"), "{stripped}");
    assert!(stripped.contains("let c =    ;"), "{stripped}");
    assert!(stripped.contains("let b = b   ;"), "{stripped}");
    assert!(stripped.contains("fn f<'a>(x: &'a str) {}"), "{stripped}");
}

#[test]
fn a_use_tree_names_each_of_its_paths() {
    assert_eq!(
        expand_use(" crate::{a, b::{self, c as d}, e::*}"),
        owned(&[
            &["crate", "a"],
            &["crate", "b"],
            &["crate", "b", "c"],
            &["crate", "e"]
        ])
    );
    assert_eq!(expand_use(" super::x as y"), owned(&[&["super", "x"]]));
    assert_eq!(expand_use(" ::std::io"), owned(&[&["::", "std", "io"]]));
}

#[test]
fn use_items_are_found_and_re_exports_told_apart() {
    let code =
        "pub use a::B;\npub(crate) use c::D;\nuse e::F;\n#[cfg(test)]\nuse g::{\n    H,\n};\n\
                fn f() -> impl Sized + use<> {}\n";
    let (uses, rest) = use_items(code);
    let uses: Vec<(&str, bool)> = uses.iter().map(|(_, t, r)| (t.trim(), *r)).collect();
    assert_eq!(
        uses,
        [
            ("a::B", true),
            ("c::D", true),
            ("e::F", false),
            ("g::{\n    H,\n}", false)
        ]
    );
    assert!(!rest.contains("a::B") && rest.contains("use<>"));
}

#[test]
fn inline_paths_start_where_a_chain_starts() {
    let code = "let x = crate::a::b::C::new(); let y = Vec::<u8>::new(); s.super_x();";
    let paths: Vec<String> = inline_paths(code)
        .into_iter()
        .map(|(_, p)| p.join("::"))
        .collect();
    // `Vec::<u8>::new` is no chain of words: only `Vec`, which names no module.
    assert_eq!(paths, ["crate::a::b::C::new"]);
}

#[test]
fn functions_are_measured_from_fn_to_closing_brace() {
    let code = "fn short() {\n}\n\ntrait T {\n    fn declared(&self);\n    fn defaulted(&self) -> u8 {\n        \
                1\n    }\n}\nfn pointer(f: fn(u8) -> u8) -> u8 {\n    f(1)\n}\n";
    let found = function_lengths(code);
    let found: Vec<(usize, &str, usize)> = found
        .iter()
        .map(|(line, name, lines)| (*line, name.as_str(), *lines))
        .collect();
    assert_eq!(
        found,
        [(1, "short", 2), (6, "defaulted", 3), (10, "pointer", 3)]
    );
}

#[test]
fn only_an_inline_test_module_is_left_out_of_a_file() {
    let inline = "fn a() {}\n\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn t() {}\n}\n";
    assert_eq!(test_module_lines(inline), 5);
    assert_eq!(test_module_lines("#[cfg(test)]\nmod tests;\n"), 0);
    assert_eq!(test_module_lines("#[cfg(test)]\nmod tests_rows {\n}\n"), 0);
}

#[test]
fn files_hold_modules() {
    assert_eq!(module_of("read/source.rs"), ["read", "source"]);
    assert_eq!(module_of("store/db/mod.rs"), ["store", "db"]);
    assert_eq!(
        module_of("read/source/tests.rs"),
        ["read", "source", "tests"]
    );
    assert!(module_of("lib.rs").is_empty());
}

fn modules() -> BTreeMap<Vec<String>, String> {
    [
        "lib.rs",
        "exit.rs",
        "read/mod.rs",
        "read/source.rs",
        "store/mod.rs",
        "store/db/mod.rs",
        "store/outbox.rs",
    ]
    .into_iter()
    .map(|path| (module_of(path), path.to_string()))
    .collect()
}

fn imported(path: &str, code: &str) -> Vec<(String, usize)> {
    imports(path, &strip(code), &modules())
        .into_iter()
        .map(|import| (import.to, import.line))
        .collect()
}

#[test]
fn a_mod_rs_re_exporting_its_child_does_not_import_it() {
    let code = "mod db;\nmod outbox;\npub use outbox::OutboxWriter;\nuse db::Db;\n\
                fn f() { crate::exit::usage(\"\"); }\n";
    assert_eq!(
        imported("store/mod.rs", code),
        [("store/db/mod.rs".into(), 4), ("exit.rs".into(), 5)]
    );
}

#[test]
fn a_child_imports_through_super_crate_and_its_tests() {
    let code = "use super::Store;\nuse crate::read::source::{self, Input};\n#[cfg(test)]\n\
                mod tests {\n    use super::*;\n    use crate::store::db::Db;\n}\n";
    assert_eq!(
        imported("store/outbox.rs", code),
        [
            ("store/mod.rs".into(), 1),
            ("read/source.rs".into(), 2),
            ("read/source.rs".into(), 2),
            ("store/db/mod.rs".into(), 6)
        ]
    );
}

#[test]
fn layers_allow_imports_down_and_as_listed_within() {
    assert_eq!(layer_of("tidy.rs"), Some((0, "tidy/")));
    assert_eq!(
        layer_of("plan/typed.rs").map(|(rank, _)| LAYERS[rank].0),
        Some("plan")
    );
    assert_eq!(layer_of("nowhere.rs"), None);
    let import = |line| Import {
        to: String::new(),
        line,
        path: "p".into(),
    };
    let edges: BTreeMap<(String, String), Import> = [
        (("store/outbox.rs", "stage/pass.rs"), 1),
        (("read/source.rs", "schema/mod.rs"), 2),
        (("cmd/push.rs", "cli/mod.rs"), 3),
        (("main.rs", "store/mod.rs"), 4),
        (("stage/pass.rs", "store/outbox.rs"), 5),
    ]
    .into_iter()
    .map(|((from, to), line)| ((from.to_string(), to.to_string()), import(line)))
    .collect();
    let problems = layer_problems(&edges);
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].starts_with("src/read/source.rs:2: p read/ -> schema/ within"));
    assert!(problems[1].starts_with("src/store/outbox.rs:1: p points up"));
    let circles = circle_problems(&edges);
    assert_eq!(circles.len(), 1, "{circles:?}");
    assert!(circles[0].starts_with("src/stage/pass.rs:5 (p) and src/store/outbox.rs:1 (p)"));
}
