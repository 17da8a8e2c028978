//! Where a workflow's files come from: a folder on disk, or the demo embedded in the binary.

use std::path::{Path, PathBuf};

use include_dir::{Dir, include_dir};

use super::error::{LoadError, LoadErrors};

static DEMO_TOOLS: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/tools");
static DEMO_PROMPTS: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/prompts");
static DEMO_RESOURCES: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/resources");
static DEMO_MANIFEST: &str = include_str!("../../workflow.toml");

/// The label embedded files are reported under.
const EMBEDDED: &str = "<embedded demo>";

/// One file's path (for messages) and text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
}

/// A file a resource declaration points at (`file = "logo.png"`), read as bytes.
#[derive(Debug, Clone)]
pub struct DataFile {
    /// Its name within `resources/`.
    pub name: String,
    /// Empty when the file is larger than [`MAX_RESOURCE_BYTES`] (it is not read).
    pub bytes: Vec<u8>,
    pub size: u64,
}

/// Largest file a resource may be: resources are held in memory.
pub const MAX_RESOURCE_BYTES: u64 = 8 << 20;

/// The raw files of a workflow, read once; the loader turns them into a `Catalog`.
#[derive(Debug, Clone)]
pub struct WorkflowSource {
    /// The folder on disk; `None` for the embedded demo.
    pub root: Option<PathBuf>,
    pub manifest: Option<SourceFile>,
    pub tools: Vec<SourceFile>,
    pub prompts: Vec<SourceFile>,
    /// `resources/*.toml`: the resource declarations.
    pub resources: Vec<SourceFile>,
    /// Every other file in `resources/`.
    pub resource_data: Vec<DataFile>,
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
            resources: files(&DEMO_RESOURCES, "resources", "toml"),
            resource_data: DEMO_RESOURCES
                .files()
                .filter(|f| f.path().extension().is_none_or(|e| e != "toml"))
                .map(|f| DataFile {
                    name: f.path().to_string_lossy().into_owned(),
                    bytes: f.contents().to_vec(),
                    size: f.contents().len() as u64,
                })
                .collect(),
        }
    }

    /// Read `dir/workflow.toml`, `dir/tools/*.toml`, `dir/prompts/*.md` and `dir/resources/`.
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
        let resources = read_files(&dir.join("resources"), "toml")?;
        let resource_data = read_data_files(&dir.join("resources"), "toml")?;
        Ok(Self {
            root: Some(dir.to_path_buf()),
            manifest,
            tools,
            prompts,
            resources,
            resource_data,
        })
    }
}

/// The files directly in `dir` that `keep` accepts, with the errors met listing them; a
/// missing dir has none.
fn files_in(
    dir: &Path,
    keep: impl Fn(&Path) -> bool,
) -> Result<(Vec<PathBuf>, Vec<LoadError>), LoadErrors> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Default::default()),
        Err(e) => return Err(LoadErrors(vec![LoadError::new(dir, None, e.to_string())])),
    };
    let mut errors = Vec::new();
    let mut paths = Vec::new();
    for entry in entries {
        match entry {
            Ok(entry) => {
                let path = entry.path();
                if keep(&path) && path.is_file() {
                    paths.push(path);
                }
            }
            Err(e) => errors.push(LoadError::new(dir, None, e.to_string())),
        }
    }
    Ok((paths, errors))
}

/// Every `*.ext` file directly in `dir`, sorted by name; a missing dir is empty.
fn read_files(dir: &Path, ext: &str) -> Result<Vec<SourceFile>, LoadErrors> {
    let (paths, mut errors) = files_in(dir, |p| p.extension().is_some_and(|e| e == ext))?;
    let mut files = Vec::new();
    for path in paths {
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

/// Every file directly in `dir` but the `*.skip` ones, as bytes; a missing dir is empty.
fn read_data_files(dir: &Path, skip: &str) -> Result<Vec<DataFile>, LoadErrors> {
    let (paths, mut errors) = files_in(dir, |p| p.extension().is_none_or(|e| e != skip))?;
    let mut files = Vec::new();
    for path in paths {
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            errors.push(LoadError::new(&path, None, "the file name is not UTF-8"));
            continue;
        };
        let read = std::fs::metadata(&path).and_then(|m| {
            let size = m.len();
            // Too large to serve: the declaration that names it says so; nothing is read.
            let bytes = if size > MAX_RESOURCE_BYTES {
                Vec::new()
            } else {
                std::fs::read(&path)?
            };
            Ok((bytes, size))
        });
        match read {
            Ok((bytes, size)) => files.push(DataFile {
                name: name.to_string(),
                bytes,
                size,
            }),
            Err(e) => errors.push(LoadError::new(&path, None, format!("cannot read: {e}"))),
        }
    }
    if !errors.is_empty() {
        return Err(LoadErrors(errors));
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(files)
}
