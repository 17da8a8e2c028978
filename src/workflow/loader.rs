//! Turns a [`WorkflowSource`] into a validated [`Catalog`], collecting every error with its
//! file and line. `flowmcp check` and server start-up run exactly this code.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use indexmap::IndexMap;
use regex::Regex;
use serde::Deserialize;
use serde_json::Value;
use toml::Spanned;

use super::catalog::{
    Annotations, AppliesWhen, Catalog, Command, ContentSpec, EnumLabels, GLOBAL_CONTEXT,
    ObjectShape, Param, ParamType, Prompt, PromptArgument, RunSpec, ValueSpec, Vocabulary,
};
use super::error::{LoadError, LoadErrors};
use super::schema;
use super::source::{SourceFile, WorkflowSource};
use super::validate;
use crate::domain::Timeout;

/// What an `exec` command may run for when its file names no `run.timeout_seconds`.
const DEFAULT_EXEC_TIMEOUT: u64 = 30;
const DEFAULT_EXEC_OUTPUT_CAP: usize = 1 << 20;

/// What the loader checks names against; the engine that serves the workflow provides it.
#[derive(Clone, Copy)]
pub struct LoadRules<'a> {
    /// Which names `[run] kind = "builtin"` may use.
    pub is_handler: &'a dyn Fn(&str) -> bool,
    /// Tools the server offers itself (`perform_action`, …): no command may take these names.
    pub reserved_tools: &'a [&'a str],
    /// Built-in commands of every workflow (`go_up`, …): neither commands nor contexts may be
    /// called so.
    pub builtin_commands: &'a [&'a str],
}

impl std::fmt::Debug for LoadRules<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadRules")
            .field("reserved_tools", &self.reserved_tools)
            .field("builtin_commands", &self.builtin_commands)
            .finish_non_exhaustive()
    }
}

/// Load and validate a workflow against `rules`.
pub fn load(source: &WorkflowSource, rules: &LoadRules<'_>) -> Result<Catalog, LoadErrors> {
    let mut errors = Vec::new();
    let manifest = parse_manifest(source, rules, &mut errors);

    let mut commands: IndexMap<String, Arc<Command>> = IndexMap::new();
    let mut cross_checks: Vec<(Arc<Command>, SourceFile)> = Vec::new();
    for file in &source.tools {
        let Some(command) = parse_command(file, &manifest, source, rules, &mut errors) else {
            continue;
        };
        if let Some(previous) = commands.get(&command.name) {
            errors.push(LoadError::new(
                &file.path,
                None,
                format!(
                    "duplicate command \"{}\" (also defined in {})",
                    command.name,
                    previous.source.display()
                ),
            ));
            continue;
        }
        let command = Arc::new(command);
        cross_checks.push((command.clone(), file.clone()));
        commands.insert(command.name.clone(), command);
    }
    // `available_from` and `applies_when` may name commands defined in later files, so check
    // after all are read.
    for (command, file) in &cross_checks {
        for param in &command.params {
            for source_name in &param.available_from {
                if !commands.contains_key(source_name) {
                    errors.push(LoadError::at(
                        &file.path,
                        &file.text,
                        find_offset(&file.text, source_name),
                        format!(
                            "parameter \"{}\": available_from names unknown command \
                             \"{source_name}\"",
                            param.name
                        ),
                    ));
                }
            }
        }
        if let Some(when) = &command.applies_when {
            let at = applies_when_reader_at(&file.text);
            let mut problem = |message: String| {
                errors.push(LoadError::at(&file.path, &file.text, at, message));
            };
            match commands.get(&when.command) {
                None => problem(format!(
                    "applies_when names unknown command \"{}\"",
                    when.command
                )),
                // The router runs it on its own, before the user has chosen anything.
                Some(reader) if reader.annotations.read_only != Some(true) => problem(format!(
                    "applies_when command \"{}\" must be annotated read_only = true: the router \
                     runs it to decide, so it must change nothing",
                    when.command
                )),
                Some(reader) => {
                    for param in reader.params.iter().filter(|p| p.required) {
                        if command.param(&param.name).is_none() {
                            problem(format!(
                                "applies_when command \"{}\" needs parameter \"{}\", which {} \
                                 does not take",
                                when.command, param.name, command.name
                            ));
                        }
                    }
                }
            }
        }
    }

    let mut prompts = IndexMap::new();
    for file in &source.prompts {
        if let Some(prompt) = parse_prompt(file, &mut errors) {
            prompts.insert(prompt.name.clone(), prompt);
        }
    }

    let resources = super::resources::parse(source, &commands, &mut errors);

    if !errors.is_empty() {
        return Err(LoadErrors(errors));
    }
    Ok(Catalog {
        name: manifest.name,
        description: manifest.description,
        root: source.root.clone(),
        contexts: manifest.contexts,
        commands,
        prompts,
        default_timeout: manifest.default_timeout,
        vocabulary: manifest.vocabulary,
        resources,
    })
}

// ---------------------------------------------------------------- workflow.toml

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    name: Option<String>,
    description: Option<String>,
    #[serde(default)]
    contexts: IndexMap<String, Spanned<String>>,
    #[serde(default)]
    defaults: RawDefaults,
    #[serde(default)]
    assistant: RawVocabulary,
    /// Named object types (`[types.address]`), used as `type = "address"`.
    #[serde(default)]
    types: IndexMap<String, Spanned<RawType>>,
}

/// `[types.<name>]`: an object shape, its `properties` written like a command's parameters.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawType {
    #[serde(default)]
    description: String,
    #[serde(default)]
    properties: IndexMap<String, Spanned<RawParam>>,
}

/// The named types of a workflow, resolved.
#[derive(Default)]
struct TypeTable {
    resolved: IndexMap<String, Arc<ObjectShape>>,
    /// Every name under `[types]`, resolved or not (a broken one is reported once, not again
    /// at each use).
    declared: HashSet<String>,
}

/// `[assistant]`: the workflow's own words for the router.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawVocabulary {
    #[serde(default)]
    synonyms: IndexMap<String, Spanned<String>>,
    #[serde(default)]
    equivalents: Vec<Spanned<Vec<String>>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDefaults {
    timeout_seconds: Option<Spanned<u64>>,
}

struct Manifest {
    name: String,
    description: String,
    contexts: IndexMap<String, String>,
    default_timeout: Timeout,
    vocabulary: Vocabulary,
    types: TypeTable,
}

fn parse_manifest(
    source: &WorkflowSource,
    rules: &LoadRules<'_>,
    errors: &mut Vec<LoadError>,
) -> Manifest {
    let fallback_name = source
        .root
        .as_deref()
        .and_then(Path::file_name)
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "workflow".to_string());
    let mut manifest = Manifest {
        name: fallback_name,
        description: String::new(),
        contexts: IndexMap::new(),
        default_timeout: Timeout::DEFAULT,
        vocabulary: Vocabulary::default(),
        types: TypeTable::default(),
    };
    let Some(file) = &source.manifest else {
        return manifest;
    };
    let raw: RawManifest = match toml::from_str(&file.text) {
        Ok(raw) => raw,
        Err(e) => {
            errors.push(toml_error(file, &e));
            return manifest;
        }
    };
    if let Some(name) = raw.name {
        manifest.name = name;
    }
    manifest.description = raw.description.unwrap_or_default();
    if let Some(timeout) = raw.defaults.timeout_seconds {
        match Timeout::from_secs(*timeout.get_ref()) {
            Ok(value) => manifest.default_timeout = value,
            Err(e) => errors.push(LoadError::at(
                &file.path,
                &file.text,
                Some(timeout.span().start),
                format!("defaults.timeout_seconds {e}"),
            )),
        }
    }
    manifest.vocabulary = parse_vocabulary(raw.assistant, file, errors);
    manifest.types = parse_types(raw.types, file, errors);
    for (name, parent) in &raw.contexts {
        let at = Some(parent.span().start);
        if name == GLOBAL_CONTEXT || !is_identifier(name) {
            errors.push(LoadError::at(
                &file.path,
                &file.text,
                at,
                format!("invalid context name \"{name}\": use letters, digits and _"),
            ));
        } else if rules.builtin_commands.contains(&name.as_str()) {
            errors.push(LoadError::at(
                &file.path,
                &file.text,
                at,
                format!("context name \"{name}\" is a built-in command"),
            ));
        }
        let parent_name = parent.get_ref();
        if parent_name != GLOBAL_CONTEXT && !raw.contexts.contains_key(parent_name) {
            errors.push(LoadError::at(
                &file.path,
                &file.text,
                at,
                format!(
                    "context \"{name}\" has unknown parent \"{parent_name}\" (use \"*\" for the \
                     root)"
                ),
            ));
        }
    }
    // A parent chain must end at the root; more steps than contexts means a cycle.
    for (name, parent) in &raw.contexts {
        let mut current = parent.get_ref().as_str();
        let mut steps = 0;
        while current != GLOBAL_CONTEXT && steps <= raw.contexts.len() {
            match raw.contexts.get(current) {
                Some(next) => current = next.get_ref(),
                None => break,
            }
            steps += 1;
        }
        if steps > raw.contexts.len() {
            errors.push(LoadError::at(
                &file.path,
                &file.text,
                Some(parent.span().start),
                format!("context \"{name}\" is part of a parent cycle"),
            ));
        }
    }
    manifest.contexts = raw
        .contexts
        .into_iter()
        .map(|(name, parent)| (name, parent.into_inner()))
        .collect();
    manifest
}

/// `[assistant]`: `synonyms` (a word → the word the commands use, for routing) and
/// `equivalents` (groups of words that mean the same in enum values, first = canonical). Words
/// are lowercased; each must be one word, and a synonym must not map a word to itself.
fn parse_vocabulary(
    raw: RawVocabulary,
    file: &SourceFile,
    errors: &mut Vec<LoadError>,
) -> Vocabulary {
    let one_word = |w: &str| !w.is_empty() && w.split_whitespace().count() == 1;
    let mut vocabulary = Vocabulary::default();
    for (word, canonical) in raw.synonyms {
        let (from, to) = (word.to_lowercase(), canonical.get_ref().to_lowercase());
        if !one_word(&from) || !one_word(&to) || from == to {
            errors.push(LoadError::at(
                &file.path,
                &file.text,
                Some(canonical.span().start),
                format!(
                    "assistant.synonyms: \"{word}\" = \"{}\" must map one word to another word",
                    canonical.get_ref()
                ),
            ));
            continue;
        }
        vocabulary.synonyms.push((from, to));
    }
    for group in raw.equivalents {
        let words: Vec<String> = group.get_ref().iter().map(|w| w.to_lowercase()).collect();
        if words.len() < 2 || !words.iter().all(|w| one_word(w)) {
            errors.push(LoadError::at(
                &file.path,
                &file.text,
                Some(group.span().start),
                "assistant.equivalents: each group lists two or more single words, the canonical \
                 one first",
            ));
            continue;
        }
        vocabulary.equivalents.push(words);
    }
    vocabulary
}

/// `[types]`: resolved in dependency order (a type used by another comes first), so each is
/// parsed once against the ones it uses; unknown names and cycles are errors.
fn parse_types(
    raw: IndexMap<String, Spanned<RawType>>,
    file: &SourceFile,
    errors: &mut Vec<LoadError>,
) -> TypeTable {
    let mut errs = FileErrors {
        file,
        errors,
        count: 0,
    };
    let mut table = TypeTable {
        resolved: IndexMap::new(),
        declared: raw.keys().cloned().collect(),
    };
    for (name, raw_type) in &raw {
        let at = Some(raw_type.span().start);
        if !is_identifier(name) || ParamType::parse(name).is_some() {
            errs.push(
                at,
                format!(
                    "invalid type name \"{name}\": use letters, digits and _, and not a JSON type \
                     name"
                ),
            );
        }
    }
    let order = type_order(&raw);
    for cycle in &order.cycles {
        let at = raw.get(&cycle[0]).map(|t| t.span().start);
        errs.push(
            at,
            format!(
                "type \"{}\" contains itself ({}): a type cannot be part of its own properties",
                cycle[0],
                cycle.join(" → ")
            ),
        );
    }
    let mut raw = raw;
    for name in order.order {
        let Some(raw_type) = raw.shift_remove(&name) else {
            continue;
        };
        let at = Some(raw_type.span().start);
        let raw_type = raw_type.into_inner();
        let place = Place {
            type_name: Some(&name),
            path: "",
        };
        if let Some(properties) =
            parse_properties(place, raw_type.properties, &table, &mut errs, at)
        {
            let shape = ObjectShape {
                name: Some(name.clone()),
                description: raw_type.description,
                properties,
            };
            table.resolved.insert(name, Arc::new(shape));
        }
    }
    table
}

/// Named types in an order where each comes after those it uses; types on a cycle are left
/// out and each cycle is returned (`a → b → a`).
struct TypeOrder {
    order: Vec<String>,
    cycles: Vec<Vec<String>>,
}

fn type_order(raw: &IndexMap<String, Spanned<RawType>>) -> TypeOrder {
    /// Depth-first: 1 = on the current path, 2 = done.
    fn visit(
        name: &str,
        raw: &IndexMap<String, Spanned<RawType>>,
        state: &mut HashMap<String, u8>,
        path: &mut Vec<String>,
        out: &mut TypeOrder,
    ) {
        match state.get(name) {
            Some(2) => return,
            Some(_) => {
                let start = path.iter().position(|n| n == name).unwrap_or(0);
                let mut cycle = path[start..].to_vec();
                cycle.push(name.to_string());
                out.cycles.push(cycle);
                return;
            }
            None => {}
        }
        let Some(raw_type) = raw.get(name) else {
            return;
        };
        state.insert(name.to_string(), 1);
        path.push(name.to_string());
        let mut used = Vec::new();
        for property in raw_type.get_ref().properties.values() {
            types_used(property.get_ref(), &mut used);
        }
        for dependency in used {
            visit(&dependency, raw, state, path, out);
        }
        path.pop();
        state.insert(name.to_string(), 2);
        out.order.push(name.to_string());
    }
    let mut out = TypeOrder {
        order: Vec::new(),
        cycles: Vec::new(),
    };
    let mut state = HashMap::new();
    for name in raw.keys() {
        visit(name, raw, &mut state, &mut Vec::new(), &mut out);
    }
    // A type on a cycle is not parsed (its properties would never resolve).
    let on_cycle: HashSet<&String> = out.cycles.iter().flatten().collect();
    let order = out
        .order
        .iter()
        .filter(|n| !on_cycle.contains(n))
        .cloned()
        .collect();
    TypeOrder {
        order,
        cycles: out.cycles,
    }
}

/// The non-JSON type names a parameter uses, at any depth.
fn types_used(raw: &RawParam, out: &mut Vec<String>) {
    let mut named = |ty: &Spanned<String>| {
        if ParamType::parse(ty.get_ref()).is_none() {
            out.push(ty.get_ref().clone());
        }
    };
    if let Some(ty) = &raw.ty {
        named(ty);
    }
    if let Some(items) = &raw.items {
        named(&items.get_ref().ty);
    }
    for property in raw.properties.iter().flat_map(IndexMap::values) {
        types_used(property.get_ref(), out);
    }
}

// ---------------------------------------------------------------- tools/<name>.toml

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCommand {
    name: Option<Spanned<String>>,
    description: Option<String>,
    context: Option<Spanned<String>>,
    enters_context: Option<Spanned<String>>,
    #[serde(default)]
    utterances: Vec<String>,
    #[serde(default)]
    annotations: RawAnnotations,
    #[serde(default)]
    parameters: IndexMap<String, Spanned<RawParam>>,
    applies_when: Option<Spanned<RawAppliesWhen>>,
    run: Option<Spanned<RawRun>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAppliesWhen {
    command: Spanned<String>,
    artifact: Spanned<String>,
    one_of: Spanned<Vec<Value>>,
}

/// Where a command file names its `applies_when` reader (the parsed span, so an utterance or
/// a comment with the same word is never taken for it, whichever TOML form the table has).
fn applies_when_reader_at(text: &str) -> Option<usize> {
    #[derive(Deserialize)]
    struct Only {
        applies_when: Option<Reader>,
    }
    #[derive(Deserialize)]
    struct Reader {
        command: Spanned<String>,
    }
    let only: Only = toml::from_str(text).ok()?;
    Some(only.applies_when?.command.span().start)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawAnnotations {
    title: Option<String>,
    read_only: Option<bool>,
    destructive: Option<bool>,
    idempotent: Option<bool>,
    open_world: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawParam {
    #[serde(rename = "type")]
    ty: Option<Spanned<String>>,
    #[serde(default)]
    description: String,
    required: Option<bool>,
    default: Option<toml::Value>,
    pattern: Option<Spanned<String>>,
    #[serde(rename = "enum")]
    enum_values: Option<Vec<toml::Value>>,
    #[serde(default)]
    examples: Vec<toml::Value>,
    #[serde(default)]
    available_from: Vec<String>,
    items: Option<Spanned<RawItems>>,
    /// Always ask the client for it when a call leaves it out (elicitation).
    ask: Option<bool>,
    /// Legacy labels of a plain string enum (`enumNames`).
    enum_names: Option<Vec<String>>,
    /// The members of an object parameter, each with this same syntax.
    properties: Option<IndexMap<String, Spanned<RawParam>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawItems {
    #[serde(rename = "type")]
    ty: Spanned<String>,
    pattern: Option<Spanned<String>>,
    #[serde(rename = "enum")]
    enum_values: Option<Vec<toml::Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRun {
    kind: Spanned<String>,
    handler: Option<Spanned<String>>,
    command: Option<Vec<String>>,
    timeout_seconds: Option<u64>,
    max_output_bytes: Option<usize>,
    response: Option<String>,
    success: Option<bool>,
    #[serde(default)]
    content: Vec<RawContent>,
    // kind = "http"
    method: Option<String>,
    url: Option<String>,
    #[serde(default)]
    headers: IndexMap<String, String>,
    body: Option<toml::Value>,
    #[serde(default)]
    forward_bearer: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, tag = "type", rename_all = "lowercase")]
enum RawContent {
    Image {
        mime_type: String,
        data: String,
    },
    Audio {
        mime_type: String,
        data: String,
    },
    Resource {
        uri: String,
        mime_type: String,
        text: String,
    },
}

impl RawContent {
    fn into_spec(self) -> ContentSpec {
        match self {
            Self::Image { mime_type, data } => ContentSpec::Image { mime_type, data },
            Self::Audio { mime_type, data } => ContentSpec::Audio { mime_type, data },
            Self::Resource {
                uri,
                mime_type,
                text,
            } => ContentSpec::Resource {
                uri,
                mime_type,
                text,
            },
        }
    }
}

/// Errors of one file, all pointing into it.
struct FileErrors<'a> {
    file: &'a SourceFile,
    errors: &'a mut Vec<LoadError>,
    count: usize,
}

impl FileErrors<'_> {
    fn push(&mut self, offset: Option<usize>, message: impl Into<String>) {
        self.count += 1;
        self.errors.push(LoadError::at(
            &self.file.path,
            &self.file.text,
            offset,
            message,
        ));
    }
}

fn parse_command(
    file: &SourceFile,
    manifest: &Manifest,
    source: &WorkflowSource,
    rules: &LoadRules<'_>,
    errors: &mut Vec<LoadError>,
) -> Option<Command> {
    let raw: RawCommand = match toml::from_str(&file.text) {
        Ok(raw) => raw,
        Err(e) => {
            errors.push(toml_error(file, &e));
            return None;
        }
    };
    let mut errs = FileErrors {
        file,
        errors,
        count: 0,
    };

    let stem = file
        .path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (name, name_at) = match &raw.name {
        Some(name) => (name.get_ref().clone(), Some(name.span().start)),
        None => (stem, None),
    };
    if !is_tool_name(&name) {
        errs.push(
            name_at,
            format!(
                "invalid command name \"{name}\": start with a letter, then letters, digits, _ or \
                 - (at most 64)"
            ),
        );
    } else if rules.reserved_tools.contains(&name.as_str()) {
        errs.push(
            name_at,
            format!("command name \"{name}\" collides with flowmcp's built-in tool"),
        );
    } else if rules.builtin_commands.contains(&name.as_str()) {
        errs.push(
            name_at,
            format!("command name \"{name}\" collides with a built-in command"),
        );
    }

    let description = raw.description.unwrap_or_default();
    if description.trim().is_empty() {
        errs.push(None, "missing description: say what the command does");
    }

    let context = match raw.context {
        Some(context) => {
            let value = context.get_ref();
            if value != GLOBAL_CONTEXT && !manifest.contexts.contains_key(value) {
                errs.push(
                    Some(context.span().start),
                    format!(
                        "context \"{value}\" does not exist (declare it under [contexts] in \
                         workflow.toml, or use \"*\")"
                    ),
                );
            }
            context.into_inner()
        }
        None => GLOBAL_CONTEXT.to_string(),
    };
    let enters_context = raw.enters_context.and_then(|target| {
        let value = target.get_ref();
        if !manifest.contexts.contains_key(value) {
            errs.push(
                Some(target.span().start),
                format!(
                    "enters_context \"{value}\" is not a context declared under [contexts] in \
                     workflow.toml"
                ),
            );
            return None;
        }
        Some(target.into_inner())
    });

    let mut params = Vec::new();
    for (param_name, raw_param) in raw.parameters {
        let place = Place {
            type_name: None,
            path: &param_name,
        };
        if let Some(param) = parse_param(place, &param_name, raw_param, &manifest.types, &mut errs)
        {
            params.push(param);
        }
    }

    let applies_when = raw.applies_when.and_then(|raw| {
        let raw = raw.into_inner();
        let mut ok = true;
        if !raw.artifact.get_ref().starts_with('/') {
            errs.push(
                Some(raw.artifact.span().start),
                format!(
                    "applies_when.artifact \"{}\" must be a JSON pointer into the command's \
                     artifacts, starting with / (e.g. \"/order/status\")",
                    raw.artifact.get_ref()
                ),
            );
            ok = false;
        }
        if raw.one_of.get_ref().is_empty() {
            errs.push(
                Some(raw.one_of.span().start),
                "applies_when.one_of is empty: list the values for which the command applies",
            );
            ok = false;
        }
        ok.then(|| AppliesWhen {
            command: raw.command.into_inner(),
            artifact: raw.artifact.into_inner(),
            one_of: raw.one_of.into_inner(),
        })
    });

    let run = match raw.run {
        Some(run) => parse_run(run, source, rules.is_handler, &params, &mut errs),
        None => {
            errs.push(
                None,
                "missing [run] table: say how the command runs (kind = \"builtin\", \"exec\" or \
                 \"template\")",
            );
            None
        }
    };

    if errs.count > 0 {
        return None;
    }
    let run = run?;
    let input_schema = Arc::new(schema::input_schema(&params));
    Some(Command {
        name,
        description,
        context,
        enters_context,
        utterances: raw.utterances,
        params,
        annotations: Annotations {
            title: raw.annotations.title,
            read_only: raw.annotations.read_only,
            destructive: raw.annotations.destructive,
            idempotent: raw.annotations.idempotent,
            open_world: raw.annotations.open_world,
        },
        applies_when,
        run,
        input_schema,
        source: file.path.clone(),
    })
}

/// Where a parameter is declared, for messages: a command's parameter (`parameter
/// "address.city"`) or a property of a named type (`type "address", property "city"`).
#[derive(Clone, Copy)]
struct Place<'a> {
    /// The `[types]` entry it belongs to, if any.
    type_name: Option<&'a str>,
    /// Dotted from the outermost parameter or property down to this one.
    path: &'a str,
}

impl Place<'_> {
    fn label(&self) -> String {
        match self.type_name {
            None => format!("parameter \"{}\"", self.path),
            Some(name) if self.path.is_empty() => format!("type \"{name}\""),
            Some(name) => format!("type \"{name}\", property \"{}\"", self.path),
        }
    }
}

/// A parameter's `type`: one of JSON's, or a named object type of `[types]`.
enum TypeRef {
    Builtin(ParamType),
    Named(Arc<ObjectShape>),
}

fn parse_param(
    place: Place<'_>,
    name: &str,
    raw: Spanned<RawParam>,
    types: &TypeTable,
    errs: &mut FileErrors<'_>,
) -> Option<Param> {
    let at = Some(raw.span().start);
    let raw = raw.into_inner();
    let before = errs.count;
    let label = place.label();
    let nested = place.path.contains('.') || place.type_name.is_some();
    if !is_identifier(name) {
        errs.push(
            at,
            format!("invalid parameter name \"{name}\": use letters, digits and _"),
        );
    }
    if nested && (raw.ask.is_some() || !raw.available_from.is_empty()) {
        errs.push(
            at,
            format!(
                "{label}: ask and available_from apply to a command's own parameters, not to \
                 the properties of an object"
            ),
        );
    }
    let ty = match &raw.ty {
        Some(ty) => parse_type(&label, ty, types, errs),
        None => {
            errs.push(
                at,
                format!(
                    "{label}: missing type (string, integer, number, boolean, array or object)"
                ),
            );
            None
        }
    };
    let mut spec = match ty? {
        TypeRef::Builtin(ty) => ValueSpec::of(ty),
        TypeRef::Named(shape) => {
            let mut spec = ValueSpec::of(ParamType::Object);
            spec.shape = Some(shape);
            spec
        }
    };
    let ty = spec.ty;
    spec.pattern = raw
        .pattern
        .as_ref()
        .and_then(|p| compile_pattern(&label, ty, p, errs));
    if let Some(members) = raw.enum_values {
        let (values, titles) = parse_enum(&label, ty, members, at, errs);
        spec.enum_values = Some(values);
        spec.enum_labels = titles.map(EnumLabels::Titles);
    }
    if let Some(names) = raw.enum_names {
        match (&spec.enum_values, &spec.enum_labels) {
            (Some(values), None) if values.len() == names.len() && ty == ParamType::String => {
                spec.enum_labels = Some(EnumLabels::LegacyNames(names));
            }
            (Some(values), None) if ty == ParamType::String => errs.push(
                at,
                format!(
                    "{label}: enum_names has {} names for {} enum members: give one name per \
                     member, in the same order",
                    names.len(),
                    values.len()
                ),
            ),
            _ => errs.push(
                at,
                format!(
                    "{label}: enum_names goes with a plain enum of strings (titled members \
                     carry their own titles)"
                ),
            ),
        }
    }
    spec.items = match (ty, raw.items) {
        (ParamType::Array, Some(items)) => parse_items(&label, items, types, errs),
        (_, Some(items)) => {
            errs.push(
                Some(items.span().start),
                format!("{label}: items is only for arrays"),
            );
            None
        }
        (_, None) => None,
    };
    if let Some(properties) = raw.properties {
        if ty != ParamType::Object {
            errs.push(at, format!("{label}: properties is only for objects"));
        } else if spec.shape.is_some() {
            errs.push(
                at,
                format!("{label}: a named type declares its own properties under [types]"),
            );
        } else {
            let shape = parse_properties(place, properties, types, errs, at);
            spec.shape = shape.map(|properties| {
                Arc::new(ObjectShape {
                    name: None,
                    description: raw.description.clone(),
                    properties,
                })
            });
        }
    }
    let ask = raw.ask.unwrap_or(false);
    if ask && !fits_a_form(&spec) {
        errs.push(
            at,
            format!(
                "{label}: ask = true needs a value a form can hold (a string, number, integer, \
                 boolean, or an array of enum strings), not {}",
                describe_spec(&spec)
            ),
        );
    }
    // Enum members, the default and the examples must themselves be valid values: a wrong
    // example teaches an LLM to send a wrong value.
    if let Some(values) = &spec.enum_values {
        for value in values {
            if let Err(problem) = validate::check_type_only(&spec, value) {
                errs.push(at, format!("{label}: enum member {value} {problem}"));
            }
        }
    }
    let default = raw.default.map(to_json);
    if let Some(value) = &default
        && let Err(problem) = validate::check_value(&spec, value)
    {
        errs.push(at, format!("{label}: default {value} {problem}"));
    }
    let examples: Vec<Value> = raw.examples.into_iter().map(to_json).collect();
    for value in &examples {
        if let Err(problem) = validate::check_value(&spec, value) {
            errs.push(at, format!("{label}: example {value} {problem}"));
        }
    }
    if errs.count > before {
        return None;
    }
    Some(Param {
        name: name.to_string(),
        description: raw.description,
        required: raw.required.unwrap_or(true) && default.is_none(),
        spec,
        default,
        examples,
        available_from: raw.available_from,
        ask,
    })
}

/// The members of an object (inline `properties`, or a named type's), each with the
/// parameter syntax; `None` when one is wrong (already reported) or there are none.
fn parse_properties(
    place: Place<'_>,
    raw: IndexMap<String, Spanned<RawParam>>,
    types: &TypeTable,
    errs: &mut FileErrors<'_>,
    at: Option<usize>,
) -> Option<Vec<Param>> {
    if raw.is_empty() {
        errs.push(
            at,
            format!(
                "{}: properties is empty: declare at least one, or leave it out for a free-form \
                 object",
                place.label()
            ),
        );
        return None;
    }
    let before = errs.count;
    let mut properties = Vec::new();
    for (name, raw) in raw {
        let path = if place.path.is_empty() {
            name.clone()
        } else {
            format!("{}.{name}", place.path)
        };
        let child = Place {
            type_name: place.type_name,
            path: &path,
        };
        if let Some(param) = parse_param(child, &name, raw, types, errs) {
            properties.push(param);
        }
    }
    (errs.count == before).then_some(properties)
}

/// `items = { type = …, pattern = …, enum = […] }`: a scalar, or a named object type.
fn parse_items(
    label: &str,
    items: Spanned<RawItems>,
    types: &TypeTable,
    errs: &mut FileErrors<'_>,
) -> Option<Box<ValueSpec>> {
    let items_at = Some(items.span().start);
    let items = items.into_inner();
    let mut spec = match parse_type(label, &items.ty, types, errs)? {
        TypeRef::Builtin(ParamType::Array | ParamType::Object) => {
            errs.push(
                items_at,
                format!(
                    "{label}: items must be a scalar type or a named type of [types] in \
                     workflow.toml"
                ),
            );
            return None;
        }
        TypeRef::Builtin(ty) => ValueSpec::of(ty),
        TypeRef::Named(shape) => {
            let mut spec = ValueSpec::of(ParamType::Object);
            spec.shape = Some(shape);
            spec
        }
    };
    let ty = spec.ty;
    spec.pattern = items
        .pattern
        .as_ref()
        .and_then(|p| compile_pattern(label, ty, p, errs));
    if let Some(members) = items.enum_values {
        let (values, titles) = parse_enum(label, ty, members, items_at, errs);
        spec.enum_values = Some(values);
        spec.enum_labels = titles.map(EnumLabels::Titles);
    }
    Some(Box::new(spec))
}

/// `enum = ["a", "b"]`, or titled: `enum = [{ value = "a", title = "Option A" }, …]` (strings
/// only, all members titled or none). Returns the values and, when titled, their titles.
fn parse_enum(
    label: &str,
    ty: ParamType,
    members: Vec<toml::Value>,
    at: Option<usize>,
    errs: &mut FileErrors<'_>,
) -> (Vec<Value>, Option<Vec<String>>) {
    let tables = members.iter().filter(|m| m.is_table()).count();
    if tables == 0 {
        return (members.into_iter().map(to_json).collect(), None);
    }
    let mut values = Vec::new();
    let mut titles = Vec::new();
    let mut ok = tables == members.len() && ty == ParamType::String;
    for member in members {
        let toml::Value::Table(mut table) = member else {
            continue;
        };
        match (table.remove("value"), table.remove("title")) {
            (Some(toml::Value::String(value)), Some(toml::Value::String(title)))
                if table.is_empty() =>
            {
                values.push(Value::String(value));
                titles.push(title);
            }
            _ => ok = false,
        }
    }
    if !ok {
        errs.push(
            at,
            format!(
                "{label}: a titled enum lists only {{ value = \"…\", title = \"…\" }} tables of \
                 strings (or only plain values)"
            ),
        );
    }
    (values, Some(titles))
}

/// Can an elicitation form ask for a value of `spec`? Flat values, and multi-selects of enum
/// strings (SEP-1330).
pub(crate) fn fits_a_form(spec: &ValueSpec) -> bool {
    match spec.ty {
        ParamType::String | ParamType::Integer | ParamType::Number | ParamType::Boolean => true,
        ParamType::Array => spec
            .items
            .as_ref()
            .is_some_and(|i| i.ty == ParamType::String && i.enum_values.is_some()),
        ParamType::Object => false,
    }
}

fn describe_spec(spec: &ValueSpec) -> String {
    match (&spec.shape, &spec.items) {
        (Some(shape), _) => match &shape.name {
            Some(name) => format!("an object of type {name}"),
            None => "an object".into(),
        },
        (None, Some(items)) if items.shape.is_some() => "an array of objects".into(),
        (None, Some(_)) => "an array without enum strings".into(),
        _ => format!("a value of type {}", spec.ty.as_str()),
    }
}

fn parse_type(
    label: &str,
    ty: &Spanned<String>,
    types: &TypeTable,
    errs: &mut FileErrors<'_>,
) -> Option<TypeRef> {
    let name = ty.get_ref();
    if let Some(builtin) = ParamType::parse(name) {
        return Some(TypeRef::Builtin(builtin));
    }
    if let Some(shape) = types.resolved.get(name) {
        return Some(TypeRef::Named(shape.clone()));
    }
    // Declared but not usable: its own error (a cycle, a bad property) is already reported.
    if !types.declared.contains(name) {
        errs.push(
            Some(ty.span().start),
            format!(
                "{label}: unknown type \"{name}\" (expected string, integer, number, boolean, \
                 array, object, or a type declared under [types] in workflow.toml)"
            ),
        );
    }
    None
}

fn compile_pattern(
    label: &str,
    ty: ParamType,
    pattern: &Spanned<String>,
    errs: &mut FileErrors<'_>,
) -> Option<Regex> {
    let at = Some(pattern.span().start);
    if ty != ParamType::String {
        errs.push(
            at,
            format!(
                "{label}: pattern applies only to strings, not {}",
                ty.as_str()
            ),
        );
        return None;
    }
    match Regex::new(pattern.get_ref()) {
        Ok(regex) => Some(regex),
        Err(e) => {
            // The regex error is multi-line; its last line says what is wrong.
            let reason = e.to_string();
            let reason = reason
                .lines()
                .last()
                .unwrap_or("invalid")
                .trim()
                .to_string();
            errs.push(at, format!("{label}: bad regex pattern: {reason}"));
            None
        }
    }
}

fn parse_run(
    run: Spanned<RawRun>,
    source: &WorkflowSource,
    is_handler: &dyn Fn(&str) -> bool,
    params: &[Param],
    errs: &mut FileErrors<'_>,
) -> Option<RunSpec> {
    let at = Some(run.span().start);
    let run = run.into_inner();
    let kind_at = Some(run.kind.span().start);
    let timeout = run.timeout_seconds.unwrap_or(DEFAULT_EXEC_TIMEOUT);
    if let Err(e) = Timeout::from_secs(timeout) {
        errs.push(at, format!("run.timeout_seconds {e}"));
    }
    match run.kind.get_ref().as_str() {
        "builtin" => match run.handler {
            Some(handler) if is_handler(handler.get_ref()) => Some(RunSpec::Builtin {
                handler: handler.into_inner(),
            }),
            Some(handler) => {
                errs.push(
                    Some(handler.span().start),
                    format!(
                        "missing handler: no builtin handler named \"{}\" is registered",
                        handler.get_ref()
                    ),
                );
                None
            }
            None => {
                errs.push(
                    kind_at,
                    "kind = \"builtin\" needs handler = \"<registered name>\"",
                );
                None
            }
        },
        "exec" => {
            let command = run.command.unwrap_or_default();
            if command
                .first()
                .is_none_or(|program| program.trim().is_empty())
            {
                errs.push(
                    kind_at,
                    "kind = \"exec\" needs command = [\"program\", \"arg\", …]",
                );
                return None;
            }
            if source.root.is_none() {
                errs.push(
                    kind_at,
                    "kind = \"exec\" needs a workflow folder on disk to run in",
                );
                return None;
            }
            Some(RunSpec::Exec {
                command,
                timeout_seconds: timeout,
                max_output_bytes: run.max_output_bytes.unwrap_or(DEFAULT_EXEC_OUTPUT_CAP),
            })
        }
        "template" => {
            let Some(response) = run.response else {
                errs.push(kind_at, "kind = \"template\" needs response = \"…\"");
                return None;
            };
            for placeholder in super::template::placeholders(&response) {
                if !params.iter().any(|p| p.name == placeholder) {
                    errs.push(
                        kind_at,
                        format!(
                            "response uses {{{placeholder}}} but the command has no parameter \
                             \"{placeholder}\""
                        ),
                    );
                }
            }
            let content = run.content.into_iter().map(RawContent::into_spec).collect();
            Some(RunSpec::Template {
                response,
                success: run.success.unwrap_or(true),
                content,
            })
        }
        "http" => parse_http(run, params, kind_at, errs),
        other => {
            errs.push(
                kind_at,
                format!("unknown executor \"{other}\" (expected builtin, exec, http or template)"),
            );
            None
        }
    }
}

/// What an `http` command may wait for its upstream when its file says nothing.
const DEFAULT_HTTP_TIMEOUT: u64 = 30;
/// How much of an upstream's answer is read when its file says nothing.
const DEFAULT_HTTP_RESPONSE_CAP: usize = 1 << 20;

/// `kind = "http"`: a method, a URL template, header templates and a JSON body template,
/// every `{placeholder}` a parameter of the command.
fn parse_http(
    run: RawRun,
    params: &[Param],
    at: Option<usize>,
    errs: &mut FileErrors<'_>,
) -> Option<RunSpec> {
    let mut ok = true;
    let mut problem = |message: String| {
        errs.push(at, message);
        ok = false;
    };
    let method = run.method.as_deref().unwrap_or("POST").to_ascii_uppercase();
    if !matches!(method.as_str(), "GET" | "POST" | "PUT" | "PATCH" | "DELETE") {
        problem(format!(
            "method \"{method}\" is not one of GET, POST, PUT, PATCH, DELETE"
        ));
    }
    let Some(url) = run.url else {
        errs.push(at, "kind = \"http\" needs url = \"https://…\"");
        return None;
    };
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        problem(format!("url \"{url}\" must start with http:// or https://"));
    }
    let mut templates: Vec<&str> = vec![url.as_str()];
    for (name, value) in &run.headers {
        if name.eq_ignore_ascii_case("authorization") && run.forward_bearer {
            problem("headers.Authorization and forward_bearer = true would both set it".into());
        }
        if name.contains(['\r', '\n', ':']) || value.contains(['\r', '\n']) {
            problem(format!(
                "header \"{name}\" has a line break or a colon in its name"
            ));
        }
        templates.push(value);
    }
    let body = run.body.map(to_json);
    let mut body_strings = Vec::new();
    if let Some(body) = &body {
        collect_strings(body, &mut body_strings);
    }
    templates.extend(body_strings.iter().map(String::as_str));
    for template in templates {
        for placeholder in super::template::placeholders(template) {
            if !params.iter().any(|p| p.name == placeholder) {
                problem(format!(
                    "{{{placeholder}}} is used but the command has no parameter \"{placeholder}\""
                ));
            }
        }
    }
    let timeout = run.timeout_seconds.unwrap_or(DEFAULT_HTTP_TIMEOUT);
    if let Err(e) = Timeout::from_secs(timeout) {
        problem(format!("run.timeout_seconds {e}"));
    }
    let max_response_bytes = run.max_output_bytes.unwrap_or(DEFAULT_HTTP_RESPONSE_CAP);
    if max_response_bytes == 0 {
        problem("run.max_output_bytes must be at least 1".into());
    }
    ok.then(|| RunSpec::Http {
        method,
        url,
        headers: run.headers.into_iter().collect(),
        body,
        forward_bearer: run.forward_bearer,
        timeout_seconds: timeout,
        max_response_bytes,
    })
}

/// Every string inside a JSON value (the templates of a body).
fn collect_strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| collect_strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| collect_strings(v, out)),
        _ => {}
    }
}

// ---------------------------------------------------------------- prompts/<name>.md

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPromptFront {
    #[serde(default)]
    description: String,
    #[serde(default)]
    arguments: IndexMap<String, RawPromptArgument>,
    /// Extra messages after the text: images, audio, embedded resources.
    #[serde(default)]
    content: Vec<RawContent>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPromptArgument {
    #[serde(default)]
    description: String,
    required: Option<bool>,
    /// Values a client may offer when completing the argument.
    #[serde(default, rename = "enum")]
    enum_values: Vec<String>,
    #[serde(default)]
    examples: Vec<String>,
}

fn parse_prompt(file: &SourceFile, errors: &mut Vec<LoadError>) -> Option<Prompt> {
    let name = file
        .path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut errs = FileErrors {
        file,
        errors,
        count: 0,
    };
    if !is_tool_name(&name) {
        errs.push(
            None,
            format!("invalid prompt name \"{name}\" (from the file name)"),
        );
        return None;
    }
    let text = file.text.strip_prefix('\u{feff}').unwrap_or(&file.text);
    let (front, template, template_offset) = match split_front_matter(text) {
        Some(parts) => parts,
        None => (String::new(), text.to_string(), 0),
    };
    let front: RawPromptFront = match toml::from_str(&front) {
        Ok(front) => front,
        Err(e) => {
            // Front matter starts on line 2 (after the opening +++).
            let line = e.span().map(|s| super::error::line_of(&front, s.start) + 1);
            errs.count += 1;
            errs.errors.push(LoadError::new(
                &file.path,
                line,
                format!("front matter: {}", e.message()),
            ));
            return None;
        }
    };
    let arguments: Vec<PromptArgument> = front
        .arguments
        .into_iter()
        .map(|(name, arg)| PromptArgument {
            name,
            description: arg.description,
            required: arg.required.unwrap_or(true),
            enum_values: arg.enum_values,
            examples: arg.examples,
        })
        .collect();
    for placeholder in super::template::prompt_placeholders(&template) {
        if !arguments.iter().any(|a| a.name == placeholder.name) {
            errs.push(
                Some(template_offset + placeholder.offset),
                format!(
                    "template uses {{{{{}}}}} but no such argument is declared",
                    placeholder.name
                ),
            );
        }
    }
    if errs.count > 0 {
        return None;
    }
    Some(Prompt {
        name,
        description: front.description,
        arguments,
        template,
        content: front
            .content
            .into_iter()
            .map(RawContent::into_spec)
            .collect(),
    })
}

/// Split `+++\n<toml>\n+++\n<body>`; returns the TOML, the body and the body's byte offset.
fn split_front_matter(text: &str) -> Option<(String, String, usize)> {
    let rest = text
        .strip_prefix("+++\n")
        .or_else(|| text.strip_prefix("+++\r\n"))?;
    let header_len = text.len() - rest.len();
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        if line.trim_end() == "+++" {
            let front = rest[..offset].to_string();
            let body_start = header_len + offset + line.len();
            return Some((front, text[body_start..].to_string(), body_start));
        }
        offset += line.len();
    }
    None
}

// ---------------------------------------------------------------- helpers

fn toml_error(file: &SourceFile, e: &toml::de::Error) -> LoadError {
    LoadError::at(
        &file.path,
        &file.text,
        e.span().map(|s| s.start),
        e.message().trim().to_string(),
    )
}

fn to_json(value: toml::Value) -> Value {
    match value {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::from(i),
        toml::Value::Float(f) => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(items) => Value::Array(items.into_iter().map(to_json).collect()),
        toml::Value::Table(table) => {
            Value::Object(table.into_iter().map(|(k, v)| (k, to_json(v))).collect())
        }
    }
}

fn find_offset(text: &str, needle: &str) -> Option<usize> {
    text.find(&format!("\"{needle}\""))
        .or_else(|| text.find(needle))
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 64
}

/// MCP tool names: a letter first, then letters, digits, `_` or `-`, at most 64 characters.
fn is_tool_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && name.len() <= 64
}

/// Loads a workflow written out in a temporary folder: `manifest` as workflow.toml, each
/// `(name, text)` as tools/<name>.toml.
#[cfg(test)]
pub(crate) fn load_texts(manifest: &str, tools: &[(&str, &str)]) -> Result<Catalog, LoadErrors> {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("workflow.toml"), manifest).expect("write manifest");
    std::fs::create_dir(dir.path().join("tools")).expect("mkdir tools");
    for (name, text) in tools {
        std::fs::write(dir.path().join(format!("tools/{name}.toml")), text).expect("write tool");
    }
    let source = WorkflowSource::from_dir(dir.path())?;
    let rules = LoadRules {
        is_handler: &|_| false,
        reserved_tools: &[],
        builtin_commands: &[],
    };
    load(&source, &rules)
}

#[cfg(test)]
mod tests {
    use super::load_texts;

    const RUN: &str = "[run]\nkind = \"template\"\nresponse = \"ok\"\n";

    /// The load errors of one tool file (with `manifest` as workflow.toml), joined.
    fn errors_of(manifest: &str, params: &str) -> String {
        let tool = format!("description = \"x\"\n{params}\n{RUN}");
        match load_texts(manifest, &[("t", &tool)]) {
            Ok(_) => String::new(),
            Err(errors) => errors.to_string(),
        }
    }

    #[test]
    fn unknown_and_cyclic_types_are_refused_with_their_place() {
        let errors = errors_of("", "[parameters.a]\ntype = \"adress\"\n");
        assert!(
            errors.contains("t.toml:3: parameter \"a\": unknown type \"adress\""),
            "{errors}"
        );
        let cycle = "[types.a]\nproperties.b = { type = \"b\" }\n\
                     [types.b]\nproperties.a = { type = \"a\", required = false }\n";
        let errors = errors_of(cycle, "[parameters.x]\ntype = \"a\"\n");
        assert!(
            errors.contains("workflow.toml:1: type \"a\" contains itself (a → b → a)"),
            "{errors}"
        );
        // The type on the cycle is reported once, not again where it is used.
        assert_eq!(errors.lines().count(), 1, "{errors}");
        let errors = errors_of("[types.string]\nproperties.a = { type = \"string\" }\n", "");
        assert!(errors.contains("invalid type name \"string\""), "{errors}");
        let errors = errors_of(
            "[types.t]\nproperties.a = { type = \"strin\" }\n",
            "[parameters.x]\ntype = \"t\"\n",
        );
        assert!(
            errors.contains("workflow.toml:2: type \"t\", property \"a\": unknown type \"strin\""),
            "{errors}"
        );
    }

    #[test]
    fn ask_is_refused_where_a_form_cannot_hold_the_value() {
        let address = "[types.address]\nproperties.city = { type = \"string\" }\n";
        let errors = errors_of(
            address,
            "[parameters.home]\ntype = \"address\"\nask = true\n",
        );
        assert!(
            errors.contains("parameter \"home\": ask = true needs a value a form can hold"),
            "{errors}"
        );
        assert!(errors.contains("an object of type address"), "{errors}");
        let errors = errors_of(
            address,
            "[parameters.homes]\ntype = \"array\"\nitems = { type = \"address\" }\nask = true\n",
        );
        assert!(errors.contains("parameter \"homes\"") && errors.contains("an array of objects"));
        let errors = errors_of(
            "",
            "[parameters.o]\ntype = \"object\"\nproperties.a = { type = \"string\", ask = true }\n",
        );
        assert!(
            errors.contains("parameter \"o.a\": ask and available_from apply"),
            "{errors}"
        );
        assert_eq!(
            errors_of(
                "",
                "[parameters.n]\ntype = \"integer\"\ndefault = 3\nask = true\n"
            ),
            ""
        );
    }

    #[test]
    fn enum_labels_are_checked() {
        let errors = errors_of(
            "",
            "[parameters.s]\ntype = \"string\"\nenum = [\"a\", \"b\"]\nenum_names = [\"A\"]\n",
        );
        assert!(
            errors.contains("enum_names has 1 names for 2 enum members"),
            "{errors}"
        );
        let errors = errors_of(
            "",
            "[parameters.n]\ntype = \"integer\"\nenum = [{ value = \"1\", title = \"One\" }]\n",
        );
        assert!(
            errors.contains("parameter \"n\": a titled enum lists only"),
            "{errors}"
        );
        let errors = errors_of(
            "",
            "[parameters.s]\ntype = \"string\"\nenum = [\"a\", { value = \"b\", title = \"B\" }]\n",
        );
        assert!(errors.contains("a titled enum lists only"), "{errors}");
        let errors = errors_of(
            "",
            "[parameters.s]\ntype = \"string\"\nenum = [{ value = \"b\", title = \"B\" }]\n\
             enum_names = [\"B\"]\n",
        );
        assert!(
            errors.contains("enum_names goes with a plain enum"),
            "{errors}"
        );
        let errors = errors_of(
            "",
            "[parameters.s]\ntype = \"string\"\ndefault = \"z\"\n\
             enum = [{ value = \"b\", title = \"B\" }]\n",
        );
        assert!(
            errors.contains("default \"z\" must be one of \"b\""),
            "{errors}"
        );
    }

    #[test]
    fn properties_belong_to_plain_objects() {
        let errors = errors_of(
            "",
            "[parameters.s]\ntype = \"string\"\nproperties.a = { type = \"string\" }\n",
        );
        assert!(
            errors.contains("properties is only for objects"),
            "{errors}"
        );
        let errors = errors_of(
            "[types.t]\nproperties.a = { type = \"string\" }\n",
            "[parameters.x]\ntype = \"t\"\nproperties.b = { type = \"string\" }\n",
        );
        assert!(
            errors.contains("a named type declares its own properties"),
            "{errors}"
        );
        let errors = errors_of(
            "",
            "[parameters.x]\ntype = \"object\"\ndefault = { a = 1 }\n\
             properties.a = { type = \"string\" }\n",
        );
        assert!(
            errors.contains("default {\"a\":1} at a: must be a string, got number 1"),
            "{errors}"
        );
    }
}
