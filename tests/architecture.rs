//! The layering of `src/`, checked: every `crate::…` path a module uses (in `use` lines and
//! inline) must name a module its row of [`RULES`] allows, and the engine's parts must not
//! name the demo. A new dependency across layers fails the build here, not in review.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use regex::Regex;

/// Each top-level module of `src/` and the modules it may use. Everything else is refused.
/// Read from the top: the domain depends on nothing; the store only on the domain; the engine
/// (`app`) on its parts; transports (`mcp`, later `rest`) on the engine and the domain.
const RULES: &[(&str, &[&str])] = &[
    ("domain", &[]),
    ("cli", &[]),
    ("logging", &[]),
    ("config", &["cli", "domain", "agent"]),
    ("store", &["domain"]),
    ("auth", &["domain", "store"]),
    ("workflow", &["domain"]),
    ("exec", &["domain", "workflow"]),
    ("assistant", &["domain", "workflow"]),
    // Agent mode's model side: talks to an LLM, knows nothing of channels or stores.
    ("agent", &[]),
    ("session", &["domain", "assistant"]),
    (
        "app",
        &[
            "domain",
            "workflow",
            "exec",
            "assistant",
            "agent",
            "session",
            "store",
        ],
    ),
    (
        "mcp",
        &["domain", "app", "agent", "auth", "workflow", "config"],
    ),
    ("rest", &["domain", "app", "auth", "workflow", "config"]),
    // A plug-in: it implements the engine's `Plugin` and keeps its data in the store; its
    // tests route the demo's words through the assistant.
    (
        "demo",
        &["domain", "app", "exec", "store", "workflow", "assistant"],
    ),
];

/// Parts of the engine that must work for any workflow: they may not name the demo.
const DEMO_FREE: &[&str] = &[
    "app",
    "agent",
    "store",
    "assistant",
    "session",
    "domain",
    "exec",
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The top-level module a file under `src/` belongs to (`None` for `lib.rs`, `main.rs`).
fn module_of(path: &Path) -> Option<String> {
    let relative = path.strip_prefix(src()).ok()?;
    let first = relative.components().next()?.as_os_str().to_string_lossy();
    let name = first.trim_end_matches(".rs").to_string();
    (name != "lib" && name != "main").then_some(name)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src/") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without its comments (line and doc comments), lines kept in place so
/// offsets still give line numbers.
fn code_only(text: &str) -> String {
    text.lines()
        .map(|line| line.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every `crate::name` used by `text`, with the line it is on. A grouped import
/// (`use crate::{a, b::c}`, over several lines too) counts each of its first-level names.
fn crate_uses(text: &str) -> Vec<(usize, String)> {
    let code = code_only(text);
    let line_of = |offset: usize| code[..offset].matches('\n').count() + 1;
    let single = Regex::new(r"\bcrate::([a-z_][a-z0-9_]*)").expect("regex");
    let grouped = Regex::new(r"\bcrate::\{([^}]*)\}").expect("regex");
    let mut found = Vec::new();
    for m in single.captures_iter(&code) {
        if let Some(name) = m.get(1) {
            found.push((line_of(name.start()), name.as_str().to_string()));
        }
    }
    for m in grouped.captures_iter(&code) {
        let Some(group) = m.get(1) else { continue };
        for item in group.as_str().split(',') {
            let name = item.trim().split("::").next().unwrap_or("").trim();
            if !name.is_empty() {
                found.push((line_of(group.start()), name.to_string()));
            }
        }
    }
    found.sort();
    found
}

#[test]
fn every_module_uses_only_what_its_layer_allows() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    files.sort();
    let known: BTreeSet<&str> = RULES.iter().map(|(module, _)| *module).collect();
    let mut violations = Vec::new();
    for file in &files {
        let Some(module) = module_of(file) else {
            continue;
        };
        let Some((_, allowed)) = RULES.iter().find(|(m, _)| *m == module) else {
            violations.push(format!(
                "{}: module `{module}` has no row in RULES: say what it may use",
                file.display()
            ));
            continue;
        };
        let text = std::fs::read_to_string(file).expect("read source");
        for (line, used) in crate_uses(&text) {
            if used == module || allowed.contains(&used.as_str()) {
                continue;
            }
            let what = if known.contains(used.as_str()) {
                format!("`{module}` may not use `{used}`")
            } else {
                format!("`{module}` may not use `crate::{used}` (not a module it may use)")
            };
            violations.push(format!("{}:{line}: {what}", file.display()));
        }
    }
    assert!(violations.is_empty(), "\n{}", violations.join("\n"));
}

#[test]
fn the_engine_does_not_name_the_demo() {
    let word = Regex::new(r"(?i)\b(demo|retail)\b").expect("regex");
    let mut violations = Vec::new();
    for module in DEMO_FREE {
        let mut files = Vec::new();
        let dir = src().join(module);
        if dir.is_dir() {
            rust_files(&dir, &mut files);
        }
        let file = src().join(format!("{module}.rs"));
        if file.is_file() {
            files.push(file);
        }
        for file in files {
            let text = std::fs::read_to_string(&file).expect("read source");
            for (i, line) in text.lines().enumerate() {
                if word.is_match(line) {
                    violations.push(format!("{}:{}: {}", file.display(), i + 1, line.trim()));
                }
            }
        }
    }
    assert!(violations.is_empty(), "\n{}", violations.join("\n"));
}

#[test]
fn the_checker_sees_what_it_must() {
    let text = "use crate::store::Db;\n// use crate::mcp::x;\nfn f() { crate::app::check(); }\n\
                use crate::{domain::Turn,\n    exec};\n";
    let used: Vec<(usize, String)> = crate_uses(text);
    let names: Vec<&str> = used.iter().map(|(_, m)| m.as_str()).collect();
    assert_eq!(names, ["store", "app", "domain", "exec"]);
    assert_eq!(used[0].0, 1);
    assert_eq!(used[1].0, 3);
    assert_eq!(
        module_of(&src().join("app/assistant/dialog.rs")).as_deref(),
        Some("app")
    );
    assert_eq!(module_of(&src().join("lib.rs")), None);
}
