//! Resources over MCP: the workflow's own and the channel's conversations, listed and read
//! (binary contents as base64 blobs); the templates; and updates of the subscribed ones,
//! through `resources/subscribe` (up to 2025-11-25, see [`super::session`]) or
//! `subscriptions/listen` (2026-07-28).

use base64::Engine as _;
use rmcp::model::{
    ErrorData as McpError, ListResourceTemplatesResult, ListResourcesResult, ReadResourceResult,
    Resource, ResourceContents, ResourceTemplate,
};
use rmcp::service::SubscriptionContext;

use crate::app::changes::Seen;
use crate::app::requests::{GetAllConversations, Limit};
use crate::app::resources::{CONVERSATION_TEMPLATE, conversation_uri};
use crate::app::{App, EngineError};
use crate::domain::Caller;
use crate::workflow::resources::{ResourceBody, ResourceInfo};

/// The workflow's fixed resources, then the channel's conversations.
pub(crate) async fn list(app: &App, caller: &Caller) -> Result<ListResourcesResult, McpError> {
    let mut resources: Vec<Resource> = app
        .catalog()
        .resources
        .fixed
        .values()
        .map(|r| {
            let size = match &r.body {
                ResourceBody::Text(text) => text.len(),
                ResourceBody::Binary(bytes) => bytes.len(),
            };
            with_info(Resource::new(r.uri.clone(), r.info.name.clone()), &r.info)
                .with_size(size as u64)
        })
        .collect();
    let every = GetAllConversations {
        limit: Limit::new(Limit::MAX).unwrap_or_default(),
    };
    let conversations = app
        .list_conversations(caller, every)
        .await
        .map_err(to_mcp)?;
    resources.extend(conversations.into_iter().map(|c| {
        let name = if c.topic.is_empty() {
            format!("conversation {}", c.conversation_id)
        } else {
            c.topic.clone()
        };
        Resource::new(conversation_uri(c.conversation_id), name)
            .with_description(c.summary)
            .with_mime_type("application/json")
    }));
    Ok(ListResourcesResult::with_all_items(resources))
}

/// The workflow's templates, then the conversation template.
pub(crate) fn templates(app: &App) -> ListResourceTemplatesResult {
    let mut templates: Vec<ResourceTemplate> = app
        .catalog()
        .resources
        .templates
        .iter()
        .map(|t| {
            let template = ResourceTemplate::new(t.uri.as_str(), t.info.name.clone())
                .with_mime_type(t.info.mime_type.clone());
            let template = match &t.info.title {
                Some(title) => template.with_title(title.clone()),
                None => template,
            };
            if t.info.description.is_empty() {
                template
            } else {
                template.with_description(t.info.description.clone())
            }
        })
        .collect();
    templates.push(
        ResourceTemplate::new(CONVERSATION_TEMPLATE, "conversation")
            .with_description(
                "One conversation of this channel: its summary and every turn with its traces and \
             feedback",
            )
            .with_mime_type("application/json"),
    );
    ListResourceTemplatesResult::with_all_items(templates)
}

/// Read one resource.
pub(crate) async fn read(
    app: &App,
    caller: &Caller,
    uri: &str,
) -> Result<ReadResourceResult, McpError> {
    let read = app
        .read_resource(caller, uri)
        .await
        .map_err(|e| naming(to_mcp(e), uri))?;
    let contents = match read.body {
        ResourceBody::Text(text) => ResourceContents::text(text.as_ref(), read.uri),
        ResourceBody::Binary(bytes) => ResourceContents::blob(
            base64::engine::general_purpose::STANDARD.encode(bytes.as_ref()),
            read.uri,
        ),
    }
    .with_mime_type(read.mime_type);
    Ok(ReadResourceResult::new(vec![contents]))
}

/// Refuse a subscription to a resource that does not exist.
pub(crate) fn check_known(app: &App, uri: &str) -> Result<(), McpError> {
    if app.knows_resource(uri) {
        Ok(())
    } else {
        let unknown = EngineError::UnknownResource(uri.chars().take(200).collect());
        Err(naming(to_mcp(unknown), uri))
    }
}

/// Serve one `subscriptions/listen` stream: an update for each accepted resource a stored
/// change touches, until the client cancels it.
pub(crate) async fn listen(app: &App, caller: &Caller, context: &SubscriptionContext) {
    let subscribed: Vec<String> = context
        .accepted()
        .resource_subscriptions
        .clone()
        .unwrap_or_default();
    if subscribed.is_empty() {
        context.cancelled().await;
        return;
    }
    let mut watch = app.watch_changes();
    loop {
        let seen = tokio::select! {
            () = context.cancelled() => return,
            seen = watch.next() => seen,
        };
        let uris: Vec<String> = match seen {
            None => return,
            Some(Seen::Change(change)) => app
                .changed_uris(caller, &change)
                .into_iter()
                .filter(|uri| subscribed.contains(uri))
                .collect(),
            Some(Seen::Missed) => subscribed.clone(),
        };
        for uri in uris {
            if let Err(e) = context.sink().notify_resource_updated(uri).await {
                tracing::debug!("subscription stream gone: {e}");
                return;
            }
        }
    }
}

fn with_info(resource: Resource, info: &ResourceInfo) -> Resource {
    let resource = resource.with_mime_type(info.mime_type.clone());
    let resource = match &info.title {
        Some(title) => resource.with_title(title.clone()),
        None => resource,
    };
    if info.description.is_empty() {
        resource
    } else {
        resource.with_description(info.description.clone())
    }
}

/// A resource-not-found error carries the URI in its data (SEP-2164; rmcp turns the code into
/// -32602 for the 2026-07-28 era, as that SEP says).
fn naming(mut error: McpError, uri: &str) -> McpError {
    if error.code == rmcp::model::ErrorCode::RESOURCE_NOT_FOUND {
        error.data = Some(serde_json::json!({ "uri": uri }));
    }
    error
}

/// An engine refusal as MCP says it: a missing or unreadable resource is -32002.
pub(crate) fn to_mcp(e: EngineError) -> McpError {
    match e {
        EngineError::UnknownResource(_)
        | EngineError::UnreadableResource { .. }
        | EngineError::UnknownConversation(_) => McpError::resource_not_found(e.to_string(), None),
        e if e.is_client_error() => McpError::invalid_params(e.to_string(), None),
        e => McpError::internal_error(e.to_string(), None),
    }
}
