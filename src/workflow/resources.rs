//! MCP resources a workflow declares in `resources/<name>.toml`: fixed ones (a file beside the
//! declaration, or inline text) and templates whose contents a read-only command produces
//! (`retail://orders/{order_id}` read by `get_order_details`). A template also names the
//! commands that change what it shows, so a turn running one of them tells subscribers.

use std::path::Path;
use std::sync::Arc;

use indexmap::IndexMap;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use serde::Deserialize;
use serde_json::{Map, Value};
use toml::Spanned;

use super::catalog::{Command, ParamType};
use super::error::LoadError;
use super::source::{DataFile, MAX_RESOURCE_BYTES, SourceFile, WorkflowSource};

/// The scheme of the conversation resources every channel has: no workflow may use it.
pub const RESERVED_SCHEME: &str = "conversation";

/// Every resource a workflow declares.
#[derive(Debug, Default)]
pub struct Resources {
    /// By URI, in declaration (file name) order.
    pub fixed: IndexMap<String, FixedResource>,
    pub templates: Vec<ResourceTemplate>,
}

impl Resources {
    /// The template `uri` is an instance of, with its variables' values.
    pub fn template_for(&self, uri: &str) -> Option<(&ResourceTemplate, Map<String, Value>)> {
        self.templates
            .iter()
            .find_map(|t| t.uri.matches(uri).map(|values| (t, values)))
    }

    /// The template resources a run of `command` with `params` changes.
    pub fn changed_by(&self, command: &str, params: &Map<String, Value>) -> Vec<String> {
        self.templates
            .iter()
            .filter(|t| t.read.changed_by.iter().any(|c| c == command))
            .filter_map(|t| t.uri.expand(params))
            .collect()
    }
}

/// Metadata every resource has.
#[derive(Debug, Clone)]
pub struct ResourceInfo {
    pub name: String,
    pub title: Option<String>,
    pub description: String,
    pub mime_type: String,
}

/// A resource whose contents are fixed at load.
#[derive(Debug, Clone)]
pub struct FixedResource {
    pub uri: String,
    pub info: ResourceInfo,
    pub body: ResourceBody,
}

/// What reading a resource gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceBody {
    Text(Arc<str>),
    Binary(Arc<[u8]>),
}

/// A family of resources read through a command.
#[derive(Debug, Clone)]
pub struct ResourceTemplate {
    pub uri: UriTemplate,
    pub info: ResourceInfo,
    pub read: TemplateRead,
}

/// How a template's resource is read, and what changes it.
#[derive(Debug, Clone)]
pub struct TemplateRead {
    /// A read-only command, run with the URI's variables as its parameters.
    pub command: String,
    /// A JSON pointer into the command's artifacts (`""`: all of them); `None` reads the
    /// response text.
    pub artifact: Option<String>,
    /// Commands whose turns change this resource; the URI is formed from their parameters.
    pub changed_by: Vec<String>,
}

/// An RFC 6570 level-1 template: literal text and `{name}` variables, each standing for one
/// non-empty path segment (no `/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UriTemplate {
    raw: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Variable(String),
}

/// What a variable's value is encoded with: everything but RFC 3986's unreserved characters.
const VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

impl UriTemplate {
    /// Parse `raw`; the error says what is wrong.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut rest = raw;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                parts.push(Part::Literal(rest[..open].to_string()));
            }
            let after = &rest[open + 1..];
            let close = after
                .find('}')
                .ok_or_else(|| format!("unclosed \"{{\" in \"{raw}\""))?;
            let name = &after[..close];
            let valid =
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                return Err(format!(
                    "\"{{{name}}}\" in \"{raw}\": a variable is a parameter name (letters, \
                     digits, _)"
                ));
            }
            if matches!(parts.last(), Some(Part::Variable(_))) {
                return Err(format!(
                    "\"{raw}\": two variables need literal text between them"
                ));
            }
            parts.push(Part::Variable(name.to_string()));
            rest = &after[close + 1..];
        }
        if rest.contains('}') {
            return Err(format!("unmatched \"}}\" in \"{raw}\""));
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_string()));
        }
        Ok(Self {
            raw: raw.to_string(),
            parts,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.raw
    }

    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Variable(name) => Some(name.as_str()),
            Part::Literal(_) => None,
        })
    }

    /// The variables' values when `uri` is an instance of this template (percent-decoded).
    pub fn matches(&self, uri: &str) -> Option<Map<String, Value>> {
        let mut values = Map::new();
        let mut rest = uri;
        for (i, part) in self.parts.iter().enumerate() {
            match part {
                Part::Literal(text) => rest = rest.strip_prefix(text.as_str())?,
                Part::Variable(name) => {
                    // Up to the next literal (the parser keeps variables apart), or the end.
                    let end = match self.parts.get(i + 1) {
                        Some(Part::Literal(next)) => rest.find(next.as_str())?,
                        _ => rest.len(),
                    };
                    let raw = &rest[..end];
                    if raw.is_empty() || raw.contains('/') {
                        return None;
                    }
                    let value = percent_decode_str(raw).decode_utf8().ok()?;
                    values.insert(name.clone(), Value::String(value.into_owned()));
                    rest = &rest[end..];
                }
            }
        }
        rest.is_empty().then_some(values)
    }

    /// The URI for these values (each percent-encoded), or `None` when one is missing.
    pub fn expand(&self, values: &Map<String, Value>) -> Option<String> {
        let mut uri = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(text) => uri.push_str(text),
                Part::Variable(name) => {
                    let text = match values.get(name)? {
                        Value::String(s) => s.clone(),
                        Value::Number(n) => n.to_string(),
                        Value::Bool(b) => b.to_string(),
                        _ => return None,
                    };
                    uri.extend(utf8_percent_encode(&text, VALUE));
                }
            }
        }
        Some(uri)
    }
}

// ---------------------------------------------------------------- resources/<name>.toml

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawResource {
    uri: Option<Spanned<String>>,
    uri_template: Option<Spanned<String>>,
    name: Option<String>,
    title: Option<String>,
    #[serde(default)]
    description: String,
    mime_type: Option<Spanned<String>>,
    file: Option<Spanned<String>>,
    text: Option<String>,
    read: Option<Spanned<RawRead>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRead {
    command: Spanned<String>,
    artifact: Option<Spanned<String>>,
    #[serde(default)]
    changed_by: Vec<Spanned<String>>,
}

/// Parse every `resources/*.toml` of `source` against the loaded `commands`.
pub(crate) fn parse(
    source: &WorkflowSource,
    commands: &IndexMap<String, Arc<Command>>,
    errors: &mut Vec<LoadError>,
) -> Resources {
    let mut resources = Resources::default();
    let mut names: IndexMap<String, std::path::PathBuf> = IndexMap::new();
    for file in &source.resources {
        let mut problems = Vec::new();
        let parsed = parse_one(file, &source.resource_data, commands, &mut problems);
        errors.extend(
            problems
                .into_iter()
                .map(|(at, message)| LoadError::at(&file.path, &file.text, at, message)),
        );
        let Some(parsed) = parsed else { continue };
        let (name, uri) = match &parsed {
            Parsed::Fixed(r) => (r.info.name.clone(), r.uri.clone()),
            Parsed::Template(t) => (t.info.name.clone(), t.uri.as_str().to_string()),
        };
        if let Some(previous) = names.insert(name.clone(), file.path.clone()) {
            errors.push(LoadError::new(
                &file.path,
                None,
                format!(
                    "duplicate resource name \"{name}\" (also in {})",
                    previous.display()
                ),
            ));
            continue;
        }
        let taken = resources.fixed.contains_key(&uri)
            || resources.templates.iter().any(|t| t.uri.as_str() == uri);
        if taken {
            errors.push(LoadError::new(
                &file.path,
                None,
                format!("duplicate resource uri \"{uri}\""),
            ));
            continue;
        }
        match parsed {
            Parsed::Fixed(r) => {
                resources.fixed.insert(uri, r);
            }
            Parsed::Template(t) => resources.templates.push(t),
        }
    }
    resources
}

enum Parsed {
    Fixed(FixedResource),
    Template(ResourceTemplate),
}

type Problems = Vec<(Option<usize>, String)>;

fn parse_one(
    file: &SourceFile,
    data: &[DataFile],
    commands: &IndexMap<String, Arc<Command>>,
    problems: &mut Problems,
) -> Option<Parsed> {
    let raw: RawResource = match toml::from_str(&file.text) {
        Ok(raw) => raw,
        Err(e) => {
            problems.push((e.span().map(|s| s.start), e.message().trim().to_string()));
            return None;
        }
    };
    let stem = file
        .path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = raw.name.clone().unwrap_or(stem);
    let info = |mime_type: String| ResourceInfo {
        name: name.clone(),
        title: raw.title.clone(),
        description: raw.description.clone(),
        mime_type,
    };
    match (&raw.uri, &raw.uri_template) {
        (Some(uri), None) => {
            check_uri(uri, problems);
            if raw.read.is_some() {
                problems.push((None, "[read] belongs to a uri_template, not a uri".into()));
            }
            let (body, guessed) = match (&raw.file, &raw.text) {
                (Some(path), None) => {
                    let found = data.iter().find(|d| d.name == *path.get_ref());
                    let Some(found) = found else {
                        problems.push((
                            Some(path.span().start),
                            format!(
                                "file \"{}\" not found beside this file in resources/",
                                path.get_ref()
                            ),
                        ));
                        return None;
                    };
                    if found.size > MAX_RESOURCE_BYTES {
                        problems.push((
                            Some(path.span().start),
                            format!(
                                "file \"{}\" is {} bytes; a resource may be at most \
                                 {MAX_RESOURCE_BYTES}",
                                path.get_ref(),
                                found.size
                            ),
                        ));
                        return None;
                    }
                    (
                        Some(found.bytes.clone()),
                        mime_from_extension(Path::new(path.get_ref())),
                    )
                }
                (None, Some(_)) => (None, Some("text/plain")),
                _ => {
                    problems.push((
                        Some(uri.span().start),
                        "a resource gives exactly one of file or text".into(),
                    ));
                    return None;
                }
            };
            let mime_type = match (&raw.mime_type, guessed) {
                (Some(m), _) => m.get_ref().clone(),
                (None, Some(g)) => g.to_string(),
                (None, None) => {
                    problems.push((
                        raw.file.as_ref().map(|f| f.span().start),
                        "mime_type is needed: the file's extension does not tell it".into(),
                    ));
                    return None;
                }
            };
            let body = match (body, &raw.text) {
                (_, Some(text)) => ResourceBody::Text(Arc::from(text.as_str())),
                (Some(bytes), None) if is_text_mime(&mime_type) => match String::from_utf8(bytes) {
                    Ok(text) => ResourceBody::Text(Arc::from(text)),
                    Err(_) => {
                        problems.push((
                            raw.file.as_ref().map(|f| f.span().start),
                            format!("mime_type {mime_type} is text, but the file is not UTF-8"),
                        ));
                        return None;
                    }
                },
                (Some(bytes), None) => ResourceBody::Binary(Arc::from(bytes)),
                (None, None) => return None,
            };
            Some(Parsed::Fixed(FixedResource {
                uri: uri.get_ref().clone(),
                info: info(mime_type),
                body,
            }))
        }
        (None, Some(template)) => {
            if raw.file.is_some() || raw.text.is_some() {
                problems.push((
                    Some(template.span().start),
                    "a uri_template is read through [read], not from file or text".into(),
                ));
            }
            let uri = match UriTemplate::parse(template.get_ref()) {
                Ok(uri) => uri,
                Err(e) => {
                    problems.push((Some(template.span().start), e));
                    return None;
                }
            };
            check_uri(template, problems);
            let Some(read) = &raw.read else {
                problems.push((
                    Some(template.span().start),
                    "a uri_template needs [read] with the command that reads it".into(),
                ));
                return None;
            };
            let read = check_read(read.get_ref(), &uri, commands, problems)?;
            let default_mime = if read.artifact.is_some() {
                "application/json"
            } else {
                "text/plain"
            };
            let mime_type = raw
                .mime_type
                .as_ref()
                .map_or(default_mime.to_string(), |m| m.get_ref().clone());
            Some(Parsed::Template(ResourceTemplate {
                uri,
                info: info(mime_type),
                read,
            }))
        }
        _ => {
            problems.push((
                None,
                "a resource declares exactly one of uri (a fixed resource) or uri_template".into(),
            ));
            None
        }
    }
}

/// A scheme, then something; never the reserved conversation scheme.
fn check_uri(uri: &Spanned<String>, problems: &mut Problems) {
    let text = uri.get_ref();
    let scheme = text.split_once(':').map(|(s, _)| s);
    let valid = scheme.is_some_and(|s| {
        s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    });
    if !valid {
        problems.push((
            Some(uri.span().start),
            format!("\"{text}\" is not a URI: it needs a scheme, as in retail://orders"),
        ));
    } else if scheme == Some(RESERVED_SCHEME) {
        problems.push((
            Some(uri.span().start),
            format!(
                "the {RESERVED_SCHEME}: scheme is flowmcp's own (each channel's conversations)"
            ),
        ));
    }
}

fn check_read(
    raw: &RawRead,
    uri: &UriTemplate,
    commands: &IndexMap<String, Arc<Command>>,
    problems: &mut Problems,
) -> Option<TemplateRead> {
    let at = Some(raw.command.span().start);
    let name = raw.command.get_ref();
    let Some(command) = commands.get(name) else {
        problems.push((at, format!("read.command names unknown command \"{name}\"")));
        return None;
    };
    if command.annotations.read_only != Some(true) {
        problems.push((
            at,
            format!(
                "read.command \"{name}\" must be annotated read_only = true: reading a resource \
                 must change nothing"
            ),
        ));
    }
    for variable in uri.variables() {
        match command.param(variable) {
            None => problems.push((
                at,
                format!("uri_template variable \"{variable}\" is not a parameter of \"{name}\""),
            )),
            Some(p) if matches!(p.spec.ty, ParamType::Array | ParamType::Object) => {
                problems.push((
                    at,
                    format!("uri_template variable \"{variable}\" must be a single value"),
                ));
            }
            Some(_) => {}
        }
    }
    for param in command.params.iter().filter(|p| p.required) {
        if !uri.variables().any(|v| v == param.name) {
            problems.push((
                at,
                format!(
                    "\"{name}\" needs parameter \"{}\", which the uri_template does not give",
                    param.name
                ),
            ));
        }
    }
    if let Some(pointer) = &raw.artifact
        && !(pointer.get_ref().is_empty() || pointer.get_ref().starts_with('/'))
    {
        problems.push((
            Some(pointer.span().start),
            "read.artifact is a JSON pointer: empty (all artifacts) or starting with /".into(),
        ));
    }
    for changer in &raw.changed_by {
        let changer_name = changer.get_ref();
        let Some(command) = commands.get(changer_name) else {
            problems.push((
                Some(changer.span().start),
                format!("read.changed_by names unknown command \"{changer_name}\""),
            ));
            continue;
        };
        if let Some(missing) = uri.variables().find(|v| command.param(v).is_none()) {
            problems.push((
                Some(changer.span().start),
                format!(
                    "read.changed_by: \"{changer_name}\" takes no \"{missing}\", so its turns \
                     cannot name the resource they change"
                ),
            ));
        }
    }
    Some(TemplateRead {
        command: name.clone(),
        artifact: raw.artifact.as_ref().map(|a| a.get_ref().clone()),
        changed_by: raw.changed_by.iter().map(|c| c.get_ref().clone()).collect(),
    })
}

/// The MIME types of common file extensions; anything else must be declared.
fn mime_from_extension(path: &Path) -> Option<&'static str> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    Some(match ext.as_str() {
        "txt" => "text/plain",
        "md" => "text/markdown",
        "csv" => "text/csv",
        "html" | "htm" => "text/html",
        "json" => "application/json",
        "xml" => "application/xml",
        "yaml" | "yml" => "application/yaml",
        "toml" => "application/toml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        "pdf" => "application/pdf",
        "wav" => "audio/wav",
        "mp3" => "audio/mpeg",
        _ => return None,
    })
}

/// True when a resource of this type is served as `text`, not as a base64 `blob`.
fn is_text_mime(mime: &str) -> bool {
    let essence = mime.split(';').next().unwrap_or("").trim();
    essence.starts_with("text/")
        || essence.ends_with("+json")
        || essence.ends_with("+xml")
        || matches!(
            essence,
            "application/json"
                | "application/xml"
                | "application/yaml"
                | "application/toml"
                | "application/javascript"
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_template_matches_its_instances_and_expands_back() {
        let t = UriTemplate::parse("retail://orders/{order_id}/items/{item}").expect("parses");
        assert_eq!(t.variables().collect::<Vec<_>>(), ["order_id", "item"]);
        let values = t
            .matches("retail://orders/%23W1/items/42")
            .expect("matches");
        assert_eq!(
            Value::Object(values.clone()),
            json!({"order_id": "#W1", "item": "42"})
        );
        assert_eq!(
            t.expand(&values).as_deref(),
            Some("retail://orders/%23W1/items/42")
        );
        assert!(t.matches("retail://orders/W1").is_none());
        assert!(
            t.matches("retail://orders//items/1").is_none(),
            "empty value"
        );
        assert!(
            t.matches("retail://orders/a/b/items/1").is_none(),
            "one segment"
        );
        assert!(t.matches("retail://orders/W1/items/1/more").is_none());
        assert!(t.expand(&Map::new()).is_none());
    }

    #[test]
    fn bad_templates_say_what_is_wrong() {
        for (raw, says) in [
            ("x://{a", "unclosed"),
            ("x://{a}{b}", "literal text between"),
            ("x://{a b}", "parameter name"),
            ("x://a}", "unmatched"),
        ] {
            let e = UriTemplate::parse(raw).expect_err(raw);
            assert!(e.contains(says), "{raw}: {e}");
        }
    }

    #[test]
    fn text_and_binary_types() {
        assert!(is_text_mime("text/plain; charset=utf-8"));
        assert!(is_text_mime("application/ld+json"));
        assert!(!is_text_mime("image/png"));
        assert_eq!(mime_from_extension(Path::new("a.PNG")), Some("image/png"));
        assert_eq!(mime_from_extension(Path::new("a.bin")), None);
    }
}
