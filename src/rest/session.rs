//! `/initialize` (a channel's first tokens, and an optional startup turn) and
//! `/refresh_token` (a new pair for a refresh token, once).

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;

use super::RestState;
use super::api::{Detail, InitializeBody, TokenResponse, channel_and_user};
use super::body::JsonBody;
use super::error::ApiError;
use crate::app::requests::{InvokeAssistant, PerformAction};
use crate::app::{AssistantReply, EngineError};
use crate::auth::tokens::{ACCESS_SECONDS, TokenPair};
use crate::auth::{AuthError, Gate};
use crate::domain::{Caller, TokenType};

fn tokens_off() -> ApiError {
    ApiError::NotFound("token authentication is off (--auth none): no tokens to hand out".into())
}

fn pair_response(pair: TokenPair, startup_output: Option<serde_json::Value>) -> TokenResponse {
    TokenResponse {
        access_token: pair.access.token,
        refresh_token: pair.refresh.token,
        token_type: "bearer",
        expires_in: ACCESS_SECONDS,
        startup_output,
        jti: None,
    }
}

/// Begin (or, with a token of the channel, resume) a channel: tokens, and the output of an
/// optional startup command or action.
#[utoipa::path(
    post,
    path = "/initialize",
    responses(
        (status = 200, body = TokenResponse),
        (
            status = 400,
            description = "startup without user_id, or both startup fields",
            body = Detail,
        ),
        (
            status = 403,
            description = "the channel exists and the request holds no token of it",
            body = Detail,
        ),
        (
            status = 404,
            description = "tokens are off (--auth none), or startup_action names no command",
            body = Detail,
        ),
        (
            status = 409,
            description = "a turn is already in progress on this channel",
            body = Detail,
        ),
        (status = 413, body = Detail),
        (status = 422, description = "a field is invalid (named)", body = Detail),
        (status = 503, description = "the server is at its turn limit", body = Detail),
        (status = 504, description = "the startup produced no output in time", body = Detail),
    )
)]
pub(super) async fn initialize(
    State(state): State<RestState>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<InitializeBody>,
) -> Result<Json<TokenResponse>, ApiError> {
    let Gate::Tokens(tokens) = &state.gate else {
        return Err(tokens_off());
    };
    let (channel, user) = channel_and_user(&body.channel_id, body.user_id.as_deref())?;
    if let Some(command) = &body.startup_command
        && command.trim().is_empty()
    {
        return Err(EngineError::invalid("startup_command", "is empty").into());
    }
    if body.startup_command.is_some() && body.startup_action.is_some() {
        return Err(EngineError::BadRequest(
            "give startup_command or startup_action, not both".into(),
        )
        .into());
    }
    if (body.startup_command.is_some() || body.startup_action.is_some()) && user.is_none() {
        return Err(
            EngineError::BadRequest("a startup command or action needs user_id".into()).into(),
        );
    }
    // A startup action that cannot run is refused before the channel, its stream format or
    // its tokens exist: otherwise the channel would be "in use" by tokens nobody received.
    let startup_action = body.startup_action.map(|action| action.into_request(None));
    if let Some(action) = &startup_action {
        state.app.check_action(action)?;
    }
    // A channel in use is re-initialized only by whoever already holds it (or an admin).
    if state.app.channel_exists(&channel).await? {
        let holder = match Gate::bearer(&headers) {
            Ok(Some(token)) => tokens.verify(token).ok(),
            _ => None,
        };
        let allowed = holder.is_some_and(|p| {
            p.kind == TokenType::Admin
                || (p.kind == TokenType::Access && p.channel.as_ref() == Some(&channel))
        });
        if !allowed {
            return Err(state.refuse(AuthError::Forbidden(format!(
                "channel {channel} is in use: re-initialize it with one of its own tokens"
            ))));
        }
    }
    if let Some(format) = body.stream_format {
        state
            .app
            .set_stream_format(&channel, Some(format.as_str()))
            .await?;
    }
    let pair = tokens
        .pair(&channel, user.as_deref())
        .map_err(|e| state.refuse(e))?;
    let caller = Caller::new(channel, user);
    let startup_output = startup(&state, &caller, body.startup_command, startup_action).await?;
    Ok(Json(pair_response(pair, startup_output)))
}

/// Run the startup command (as an explicit assistant call) or action, if any.
async fn startup(
    state: &RestState,
    caller: &Caller,
    command: Option<String>,
    action: Option<PerformAction>,
) -> Result<Option<serde_json::Value>, ApiError> {
    let outcome = if let Some(command) = command {
        let words = if command.starts_with('/') {
            command
        } else {
            format!("/{command}")
        };
        let request = InvokeAssistant {
            command: words,
            timeout_seconds: None,
        };
        match state
            .app
            .invoke_assistant(caller, request, None, None)
            .await?
        {
            AssistantReply::Answered(outcome) => outcome,
            AssistantReply::InputRequired => return Ok(None),
        }
    } else if let Some(action) = action {
        state.app.perform_action(caller, action, None).await?
    } else {
        return Ok(None);
    };
    Ok(Some(super::turns::with_traces(outcome)))
}

/// A new access/refresh pair for a refresh token (sent as the bearer), which is spent: used
/// again, it is refused and its whole family revoked.
#[utoipa::path(
    post,
    path = "/refresh_token",
    responses(
        (status = 200, body = TokenResponse),
        (
            status = 401,
            description = "missing, invalid, expired, revoked or already used",
            body = Detail,
        ),
        (status = 404, description = "tokens are off (--auth none)", body = Detail),
    ),
    security(("bearer" = []))
)]
pub(super) async fn refresh_token(
    State(state): State<RestState>,
    headers: HeaderMap,
) -> Result<Json<TokenResponse>, ApiError> {
    let Gate::Tokens(tokens) = &state.gate else {
        return Err(tokens_off());
    };
    let token = Gate::bearer(&headers)
        .map_err(|e| state.refuse(e))?
        .ok_or_else(|| state.refuse(AuthError::Missing))?
        .to_string();
    let tokens = tokens.clone();
    let refreshed = tokio::task::spawn_blocking(move || tokens.refresh(&token))
        .await
        .map_err(|e| state.refuse(AuthError::Unavailable(e.to_string())))?;
    let pair = refreshed.map_err(|e| state.refuse(e))?;
    Ok(Json(pair_response(pair, None)))
}
