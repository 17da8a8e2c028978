//! Turns over REST: `/invoke_assistant`, `/invoke_agent`, `/perform_action` answer with the
//! CommandOutput and its `traces`; `/invoke_agent_stream` (and `/invoke_assistant` asked for
//! `text/event-stream`) stream the trace events as they happen, then the output.
//!
//! A stream runs its turn in a task of its own: a client that hangs up mid-stream stops
//! hearing about the turn, but the turn still finishes and is stored.
//!
//! The agent endpoints plan with the configured LLM; without one the assistant router answers
//! and the output says so (`artifacts.agent`).

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt as _;
use serde_json::{Value, json};
use tokio_stream::wrappers::UnboundedReceiverStream;

use super::RestState;
use super::api::{Detail, InvokeBody, PerformActionBody, StreamFormat};
use super::body::JsonBody;
use super::error::ApiError;
use crate::app::requests::{InvokeAgent, InvokeAssistant};
use crate::app::{ActionOutcome, AgentReply, AssistantReply, Borrowed, EngineError};
use crate::domain::{Caller, TraceEvent};

/// How often an idle SSE stream sends a keep-alive comment.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The output and its trace events, as fastworkflow answers a turn.
pub(super) fn with_traces(outcome: ActionOutcome) -> Value {
    let mut output = outcome.output_json;
    if let Value::Object(map) = &mut output {
        map.insert(
            "traces".into(),
            serde_json::to_value(&outcome.traces).unwrap_or_default(),
        );
    }
    output
}

async fn assistant_turn(
    state: &RestState,
    caller: &Caller,
    request: InvokeAssistant,
) -> Result<Value, ApiError> {
    match state
        .app
        .invoke_assistant(caller, request, None, None)
        .await?
    {
        AssistantReply::Answered(outcome) => Ok(with_traces(outcome)),
        // Only an MCP client in the stateless era defers questions; REST never asks to.
        AssistantReply::InputRequired => Err(ApiError::BadRequest(
            "the question could not be asked here".into(),
        )),
    }
}

/// True when the client asked for Server-Sent Events.
fn wants_sse(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/event-stream"))
}

fn wants_ndjson(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("application/x-ndjson"))
}

/// The user's words routed to a command, without an LLM. With `Accept: text/event-stream`,
/// the turn is streamed.
#[utoipa::path(
    post,
    path = "/invoke_assistant",
    responses(
        (
            status = 200,
            description = "The CommandOutput, with `traces`; or an SSE stream",
            body = Object,
        ),
        (status = 401, body = Detail),
        (
            status = 409,
            description = "a turn is already in progress on this channel",
            body = Detail,
        ),
        (status = 413, body = Detail),
        (status = 422, body = Detail),
        (status = 503, description = "the server is at its turn limit", body = Detail),
        (status = 504, body = Detail),
    ),
    security(("bearer" = []))
)]
pub(super) async fn invoke_assistant(
    State(state): State<RestState>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<InvokeBody>,
) -> Result<Response, ApiError> {
    let caller = state.caller(&headers)?;
    let request = body.into_request()?;
    if wants_sse(&headers) {
        request.check()?;
        return Ok(stream(
            state,
            caller,
            Words::Assistant(request),
            StreamFormat::Sse,
        ));
    }
    Ok(Json(assistant_turn(&state, &caller, request).await?).into_response())
}

/// Agent mode; with no LLM configured, the assistant router answers and says so.
#[utoipa::path(
    post,
    path = "/invoke_agent",
    responses(
        (status = 200, description = "The CommandOutput, with `traces`", body = Object),
        (status = 401, body = Detail),
        (status = 409, body = Detail),
        (status = 413, body = Detail),
        (status = 422, body = Detail),
        (status = 503, body = Detail),
        (status = 504, body = Detail),
    ),
    security(("bearer" = []))
)]
pub(super) async fn invoke_agent(
    State(state): State<RestState>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<InvokeBody>,
) -> Result<Json<Value>, ApiError> {
    let caller = state.caller(&headers)?;
    let request = body.into_agent_request()?;
    match state
        .app
        .invoke_agent(&caller, request, None, Borrowed::default())
        .await?
    {
        AgentReply::Answered(outcome) => Ok(Json(with_traces(outcome))),
        AgentReply::InputRequired
        | AgentReply::AwaitingModel { .. }
        | AgentReply::AwaitingUser { .. } => Err(ApiError::BadRequest(
            "the question could not be asked here".into(),
        )),
    }
}

/// The turn's trace events as they happen, then its output (or an error line): NDJSON by
/// default, SSE when the channel chose it at `/initialize` or `Accept` asks for it.
#[utoipa::path(
    post,
    path = "/invoke_agent_stream",
    responses(
        (
            status = 200,
            description = "application/x-ndjson lines {type: trace|output|error, data}, \
                           or text/event-stream",
            content_type = "application/x-ndjson",
            body = String,
        ),
        (status = 401, body = Detail),
        (status = 413, body = Detail),
        (status = 422, body = Detail),
    ),
    security(("bearer" = []))
)]
pub(super) async fn invoke_agent_stream(
    State(state): State<RestState>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<InvokeBody>,
) -> Result<Response, ApiError> {
    let caller = state.caller(&headers)?;
    let request = body.into_agent_request()?;
    // Refused before the stream starts: once it has, the status is 200.
    request.check()?;
    let format = if wants_sse(&headers) {
        StreamFormat::Sse
    } else if wants_ndjson(&headers) {
        StreamFormat::Ndjson
    } else {
        state
            .app
            .stream_format(&caller.channel_id)
            .await?
            .as_deref()
            .and_then(StreamFormat::parse)
            .unwrap_or(StreamFormat::Ndjson)
    };
    Ok(stream(state, caller, Words::Agent(request), format))
}

/// What a streamed turn answers.
enum Words {
    Assistant(InvokeAssistant),
    Agent(InvokeAgent),
}

/// One item of a stream.
enum Item {
    Trace(TraceEvent),
    Output(Value),
    Error(String),
}

/// Run the turn in a task of its own and stream what it does.
fn stream(state: RestState, caller: Caller, words: Words, format: StreamFormat) -> Response {
    let (trace_tx, trace_rx) = tokio::sync::mpsc::unbounded_channel();
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let app = &state.app;
        let result = match words {
            Words::Assistant(request) => app
                .invoke_assistant(&caller, request, Some(trace_tx), None)
                .await
                .map(|reply| match reply {
                    AssistantReply::Answered(outcome) => Some(outcome),
                    AssistantReply::InputRequired => None,
                }),
            Words::Agent(request) => app
                .invoke_agent(&caller, request, Some(trace_tx), Borrowed::default())
                .await
                .map(|reply| match reply {
                    AgentReply::Answered(outcome) => Some(outcome),
                    AgentReply::InputRequired
                    | AgentReply::AwaitingModel { .. }
                    | AgentReply::AwaitingUser { .. } => None,
                }),
        };
        let last = match result {
            Ok(Some(outcome)) => Item::Output(with_traces(outcome)),
            Ok(None) => Item::Error("the question could not be asked here".into()),
            Err(e) => Item::Error(error_detail(&e)),
        };
        // Nobody listening any more is fine: the turn is stored either way.
        let _ = done_tx.send(last);
    });
    let items = UnboundedReceiverStream::new(trace_rx)
        .map(Item::Trace)
        .chain(futures_util::stream::once(async move {
            done_rx
                .await
                .unwrap_or_else(|_| Item::Error("the turn ended without an answer".into()))
        }));
    match format {
        StreamFormat::Ndjson => {
            let lines = items.map(|item| Ok::<_, Infallible>(Bytes::from(ndjson_line(&item))));
            (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/x-ndjson"),
                )],
                Body::from_stream(lines),
            )
                .into_response()
        }
        StreamFormat::Sse => {
            let mut next_id = 0u64;
            let events = items.map(move |item| {
                next_id = match &item {
                    Item::Trace(event) => event.seq,
                    _ => next_id + 1,
                };
                Ok::<_, Infallible>(sse_event(&item, next_id))
            });
            Sse::new(events)
                .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
                .into_response()
        }
    }
}

fn error_detail(error: &EngineError) -> String {
    error.to_string()
}

fn item_json(item: &Item) -> (&'static str, Value) {
    match item {
        Item::Trace(event) => ("trace", serde_json::to_value(event).unwrap_or_default()),
        Item::Output(output) => ("output", output.clone()),
        Item::Error(detail) => ("error", json!({ "detail": detail })),
    }
}

fn ndjson_line(item: &Item) -> String {
    let (kind, data) = item_json(item);
    let mut line = json!({"type": kind, "data": data}).to_string();
    line.push('\n');
    line
}

fn sse_event(item: &Item, id: u64) -> Event {
    let (kind, data) = item_json(item);
    Event::default()
        .event(kind)
        .id(id.to_string())
        .data(data.to_string())
}

/// Run a command by name with its parameters (validated first).
#[utoipa::path(
    post,
    path = "/perform_action",
    responses(
        (status = 200, description = "The CommandOutput, with `traces`", body = Object),
        (status = 401, body = Detail),
        (status = 404, description = "no such command", body = Detail),
        (status = 413, body = Detail),
        (status = 422, description = "a parameter is invalid (named)", body = Detail),
        (status = 503, body = Detail),
        (status = 504, body = Detail),
    ),
    security(("bearer" = []))
)]
pub(super) async fn perform_action(
    State(state): State<RestState>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<PerformActionBody>,
) -> Result<Json<Value>, ApiError> {
    let caller = state.caller(&headers)?;
    let outcome = state
        .app
        .perform_action(&caller, body.into_request(), None)
        .await?;
    Ok(Json(with_traces(outcome)))
}
