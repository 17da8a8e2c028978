//! `flowmcp check`: good workflows pass; every kind of load error is reported with path:line.

mod common;

use std::path::Path;
use std::process::Command;

fn check(dir: &Path) -> (bool, String, String) {
    let out = Command::new(common::bin())
        .arg("check")
        .arg(dir)
        .output()
        .expect("run check");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn shipped_workflows_pass() {
    let root = common::repo_root();
    for dir in [
        root.clone(),
        root.join("examples/hello"),
        root.join("tests/fixtures/exec"),
    ] {
        let (ok, stdout, stderr) = check(&dir);
        assert!(ok, "{}: {stderr}", dir.display());
        assert!(stdout.starts_with("ok: workflow"), "{stdout}");
    }
    // No argument: the embedded demo.
    let out = Command::new(common::bin())
        .arg("check")
        .output()
        .expect("run check");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"retail\""));
}

fn write(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

#[test]
fn every_error_names_file_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    write(
        d,
        "workflow.toml",
        "name = \"broken\"\n[contexts]\nOrder = \"*\"\n",
    );
    write(
        d,
        "tools/bad_type.toml",
        "description = \"x\"\n\n[parameters.a]\ntype = \"strin\"\n\n\
         [run]\nkind = \"template\"\nresponse = \"ok\"\n",
    );
    write(
        d,
        "tools/bad_regex.toml",
        "description = \"x\"\n[parameters.a]\ntype = \"string\"\npattern = '^(unclosed'\n\
         [run]\nkind = \"template\"\nresponse = \"ok\"\n",
    );
    write(
        d,
        "tools/bad_kind.toml",
        "description = \"x\"\n[run]\nkind = \"teleport\"\n",
    );
    write(
        d,
        "tools/no_handler.toml",
        "description = \"x\"\n[run]\nkind = \"builtin\"\nhandler = \"nope.nothing\"\n",
    );
    write(
        d,
        "tools/bad_context.toml",
        "description = \"x\"\ncontext = \"Basket\"\n\
         [run]\nkind = \"template\"\nresponse = \"ok\"\n",
    );
    write(
        d,
        "tools/dup_a.toml",
        "name = \"dup\"\ndescription = \"x\"\n[run]\nkind = \"template\"\nresponse = \"ok\"\n",
    );
    write(
        d,
        "tools/dup_b.toml",
        "name = \"dup\"\ndescription = \"x\"\n[run]\nkind = \"template\"\nresponse = \"ok\"\n",
    );
    write(
        d,
        "tools/perform_action.toml",
        "description = \"x\"\n[run]\nkind = \"template\"\nresponse = \"ok\"\n",
    );
    write(
        d,
        "tools/bad_http.toml",
        "description = \"x\"\n[run]\nkind = \"http\"\nurl = \"ftp://h/{who}\"\n\
         forward_bearer = true\nheaders = { Authorization = \"Basic abc\" }\n",
    );
    write(d, "tools/syntax.toml", "description = \"x\"\n[run\n");
    write(
        d,
        "tools/unknown_key.toml",
        "description = \"x\"\ncolour = \"red\"\n[run]\nkind = \"template\"\nresponse = \"ok\"\n",
    );

    let (ok, _, stderr) = check(d);
    assert!(!ok, "check must fail");
    let tools = d.join("tools");
    let expect = |file: &str, line: Option<usize>, needle: &str| {
        let path = tools.join(file);
        let prefix = match line {
            Some(line) => format!("{}:{line}: ", path.display()),
            None => format!("{}: ", path.display()),
        };
        assert!(
            stderr
                .lines()
                .any(|l| l.starts_with(&prefix) && l.contains(needle)),
            "expected `{prefix}…{needle}…` in:\n{stderr}"
        );
    };
    expect("bad_type.toml", Some(4), "unknown type \"strin\"");
    expect("bad_regex.toml", Some(4), "bad regex pattern");
    expect("bad_kind.toml", Some(3), "unknown executor \"teleport\"");
    expect("no_handler.toml", Some(4), "missing handler");
    expect(
        "bad_context.toml",
        Some(2),
        "context \"Basket\" does not exist",
    );
    expect("dup_b.toml", None, "duplicate command \"dup\"");
    expect(
        "perform_action.toml",
        None,
        "collides with flowmcp's built-in tool",
    );
    expect(
        "bad_http.toml",
        Some(3),
        "must start with http:// or https://",
    );
    expect(
        "bad_http.toml",
        Some(3),
        "{who} is used but the command has no parameter \"who\"",
    );
    expect("bad_http.toml", Some(3), "would both set it");
    expect("syntax.toml", Some(2), "");
    expect("unknown_key.toml", Some(2), "colour");
    assert!(stderr.contains("12 error(s)"), "{stderr}");
}

#[test]
fn applies_when_must_name_a_read_only_reader_it_can_feed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    write(d, "workflow.toml", "name = \"states\"\n");
    let run = "[run]\nkind = \"template\"\nresponse = \"ok\"\n";
    let order_id = "[parameters.order_id]\ntype = \"string\"\n";
    write(
        d,
        "tools/reader.toml",
        &format!("description = \"x\"\nannotations = {{ read_only = true }}\n{order_id}{run}"),
    );
    write(
        d,
        "tools/writer.toml",
        &format!("description = \"x\"\n{order_id}{run}"),
    );
    let when = |command: &str, artifact: &str, one_of: &str| {
        format!(
            "[applies_when]\ncommand = \"{command}\"\nartifact = \"{artifact}\"\n\
             one_of = {one_of}\n"
        )
    };
    write(
        d,
        "tools/good.toml",
        &format!(
            "description = \"x\"\n{order_id}{}{run}",
            when("reader", "/order/status", "[\"pending\"]")
        ),
    );
    write(
        d,
        "tools/unknown.toml",
        &format!(
            "description = \"x\"\nutterances = [\"nobody\"]\n{order_id}{}{run}",
            when("nobody", "/s", "[1]")
        ),
    );
    write(
        d,
        "tools/not_read_only.toml",
        &format!(
            "description = \"x\"\n{order_id}{}{run}",
            when("writer", "/s", "[1]")
        ),
    );
    write(
        d,
        "tools/cannot_feed.toml",
        &format!("description = \"x\"\n{}{run}", when("reader", "/s", "[1]")),
    );
    write(
        d,
        "tools/bad_values.toml",
        &format!(
            "description = \"x\"\n{order_id}{}{run}",
            when("reader", "status", "[]")
        ),
    );

    let (ok, _, stderr) = check(d);
    assert!(!ok, "check must fail");
    let tools = d.join("tools");
    let expect = |file: &str, line: usize, needle: &str| {
        let prefix = format!("{}:{line}: ", tools.join(file).display());
        assert!(
            stderr
                .lines()
                .any(|l| l.starts_with(&prefix) && l.contains(needle)),
            "expected `{prefix}…{needle}…` in:\n{stderr}"
        );
    };
    // Line 6, where the table names it, not line 2, where an utterance has the same word.
    expect(
        "unknown.toml",
        6,
        "applies_when names unknown command \"nobody\"",
    );
    expect(
        "not_read_only.toml",
        5,
        "must be annotated read_only = true",
    );
    expect(
        "cannot_feed.toml",
        3,
        "needs parameter \"order_id\", which cannot_feed does not take",
    );
    expect("bad_values.toml", 6, "must be a JSON pointer");
    expect("bad_values.toml", 7, "applies_when.one_of is empty");
    assert!(!stderr.contains("good.toml"), "{stderr}");
    assert!(stderr.contains("5 error(s)"), "{stderr}");
}

#[test]
fn a_missing_folder_is_a_clear_error() {
    let (ok, _, stderr) = check(Path::new("/definitely/not/here"));
    assert!(!ok);
    assert!(stderr.contains("/definitely/not/here"), "{stderr}");
    assert!(stderr.contains("no such directory"), "{stderr}");
}

#[test]
fn resource_declarations_are_checked_against_the_commands() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    write(d, "workflow.toml", "name = \"res\"\n");
    let run = "[run]\nkind = \"template\"\nresponse = \"ok\"\n";
    let id = "[parameters.id]\ntype = \"string\"\n";
    write(
        d,
        "tools/reader.toml",
        &format!("description = \"x\"\nannotations = {{ read_only = true }}\n{id}{run}"),
    );
    write(
        d,
        "tools/writer.toml",
        &format!("description = \"x\"\n{id}{run}"),
    );
    write(
        d,
        "tools/other.toml",
        &format!("description = \"x\"\n{run}"),
    );
    let res = |name: &str, text: &str| write(d, &format!("resources/{name}.toml"), text);
    res(
        "good",
        "uri_template = \"x://things/{id}\"\n[read]\ncommand = \"reader\"\n",
    );
    res("good_file", "uri = \"x://logo\"\nfile = \"logo.png\"\n");
    std::fs::write(d.join("resources/logo.png"), [0x89, b'P', b'N', b'G']).expect("write");
    res("no_scheme", "uri = \"just-a-name\"\ntext = \"t\"\n");
    res("reserved", "uri = \"conversation://9\"\ntext = \"t\"\n");
    res("both", "uri = \"x://a\"\nuri_template = \"x://b/{id}\"\n");
    res("missing_file", "uri = \"x://m\"\nfile = \"nowhere.txt\"\n");
    res("no_mime", "uri = \"x://n\"\nfile = \"data.bin\"\n");
    std::fs::write(d.join("resources/data.bin"), [0u8, 1, 2]).expect("write");
    res(
        "writer_reads",
        "uri_template = \"x://w/{id}\"\n[read]\ncommand = \"writer\"\n",
    );
    res(
        "bad_variable",
        "uri_template = \"x://v/{nope}\"\n[read]\ncommand = \"reader\"\n",
    );
    res(
        "bad_changer",
        "uri_template = \"x://c/{id}\"\n[read]\ncommand = \"reader\"\n\
         changed_by = [\"other\", \"ghost\"]\n",
    );
    res(
        "unclosed",
        "uri_template = \"x://u/{id\"\n[read]\ncommand = \"reader\"\n",
    );
    res(
        "z_dup",
        "name = \"good\"\nuri = \"x://dup\"\ntext = \"t\"\n",
    );

    let (ok, _, stderr) = check(d);
    assert!(!ok, "check must fail");
    let expect = |file: &str, needle: &str| {
        let path = d.join("resources").join(file);
        assert!(
            stderr
                .lines()
                .any(|l| l.starts_with(&path.display().to_string()) && l.contains(needle)),
            "expected `{}…{needle}` in:\n{stderr}",
            path.display()
        );
    };
    expect("no_scheme.toml", "needs a scheme");
    expect("reserved.toml", "flowmcp's own");
    expect("both.toml", "exactly one of uri");
    expect("missing_file.toml", "\"nowhere.txt\" not found");
    expect("no_mime.toml", "mime_type is needed");
    expect("writer_reads.toml", "must be annotated read_only = true");
    expect(
        "bad_variable.toml",
        "\"nope\" is not a parameter of \"reader\"",
    );
    expect("bad_variable.toml", "does not give");
    expect("bad_changer.toml", "\"other\" takes no \"id\"");
    expect("bad_changer.toml", "unknown command \"ghost\"");
    expect("unclosed.toml", "unclosed");
    expect("z_dup.toml", "duplicate resource name \"good\"");
    assert!(!stderr.contains("good.toml:"), "good ones pass: {stderr}");
    assert!(
        !stderr.contains("good_file.toml"),
        "good ones pass: {stderr}"
    );
}
