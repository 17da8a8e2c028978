//! Where a workflow's files come from: a folder on disk, or the demo embedded in the binary.

use std::path::{Path, PathBuf};

use include_dir::{Dir, include_dir};

use super::error::{LoadError, LoadErrors};

static DEMO_TOOLS: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/tools");
static DEMO_PROMPTS: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/prompts");
static DEMO_MANIFEST: &str = include_str!("../../workflow.toml");

/// The label embedded files are reported under.
const EMBEDDED: &str = "<embedded demo>";

/// One file's path (for messages) and text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
}

/// The raw files of a workflow, read once; the loader turns them into a `Catalog`.
#[derive(Debug, Clone)]
pub struct WorkflowSource {
    /// The folder on disk; `None` for the embedded demo.
    pub root: Option<PathBuf>,
    pub manifest: Option<SourceFile>,
    pub tools: Vec<SourceFile>,
    pub prompts: Vec<SourceFile>,
}

impl WorkflowSource {
    /// The demo workflow compiled into the binary.
    pub fn embedded() -> Self {
        let files = |dir: &Dir<'_>, sub: &str, ext: &str| -> Vec<SourceFile> {
            let mut files: Vec<SourceFile> = dir
                .files()
                .filter(|f| f.path().extension().is_some_and(|e| e == ext))
                .filter_map(|f| {
                    Some(SourceFile {
                        path: Path::new(EMBEDDED).join(sub).join(f.path()),
                        text: f.contents_utf8()?.to_string(),
                    })
                })
                .collect();
            files.sort_by(|a, b| a.path.cmp(&b.path));
            files
        };
        Self {
            root: None,
            manifest: Some(SourceFile {
                path: Path::new(EMBEDDED).join("workflow.toml"),
                text: DEMO_MANIFEST.to_string(),
            }),
            tools: files(&DEMO_TOOLS, "tools", "toml"),
            prompts: files(&DEMO_PROMPTS, "prompts", "md"),
        }
    }

    /// Read `dir/workflow.toml`, `dir/tools/*.toml` and `dir/prompts/*.md`.
    pub fn from_dir(dir: &Path) -> Result<Self, LoadErrors> {
        let fail = |path: &Path, e: std::io::Error| {
            LoadErrors(vec![LoadError::new(path, None, e.to_string())])
        };
        if !dir.is_dir() {
            return Err(LoadErrors(vec![LoadError::new(
                dir,
                None,
                "not a workflow folder (no such directory)",
            )]));
        }
        let manifest_path = dir.join("workflow.toml");
        let manifest = match std::fs::read_to_string(&manifest_path) {
            Ok(text) => Some(SourceFile {
                path: manifest_path,
                text,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(fail(&manifest_path, e)),
        };
        let tools = read_files(&dir.join("tools"), "toml")?;
        if tools.is_empty() {
            return Err(LoadErrors(vec![LoadError::new(
                &dir.join("tools"),
                None,
                "no commands: expected at least one tools/<name>.toml",
            )]));
        }
        let prompts = read_files(&dir.join("prompts"), "md")?;
        Ok(Self {
            root: Some(dir.to_path_buf()),
            manifest,
            tools,
            prompts,
        })
    }
}

/// Every `*.ext` file directly in `dir`, sorted by name; a missing dir is empty.
fn read_files(dir: &Path, ext: &str) -> Result<Vec<SourceFile>, LoadErrors> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(LoadErrors(vec![LoadError::new(dir, None, e.to_string())])),
    };
    let mut errors = Vec::new();
    let mut files = Vec::new();
    for entry in entries {
        let path = match entry {
            Ok(entry) => entry.path(),
            Err(e) => {
                errors.push(LoadError::new(dir, None, e.to_string()));
                continue;
            }
        };
        if path.extension().is_none_or(|e| e != ext) || !path.is_file() {
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(text) => files.push(SourceFile { path, text }),
            Err(e) => errors.push(LoadError::new(&path, None, format!("cannot read: {e}"))),
        }
    }
    if !errors.is_empty() {
        return Err(LoadErrors(errors));
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}
