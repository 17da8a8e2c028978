//! The topic and summary of a conversation, written by the model when one is configured
//! (`new_conversation` derives them otherwise, or when this fails).

use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use crate::agent::plan;
use crate::agent::{ChatRequest, LlmClient, Message};
use crate::app::App;
use crate::domain::Turn;

/// Longest wait for the model to name a conversation.
const TOPIC_WITHIN: Duration = Duration::from_secs(30);

impl App {
    /// A topic and summary of `turns` written by the model; `None` when it fails or answers
    /// something unreadable (the caller derives them instead).
    pub(crate) async fn topic_from_llm(
        &self,
        llm: &dyn LlmClient,
        turns: &[Turn],
    ) -> Option<(String, String)> {
        let mut transcript = String::new();
        for turn in turns.iter().rev().take(20).rev() {
            transcript.push_str(&format!(
                "User: {}\nAnswer: {}\n",
                turn.user_query,
                plan::clip(&turn.command_output.text())
            ));
        }
        let request = ChatRequest {
            messages: vec![
                Message::system(
                    "Name this conversation. Reply with JSON only: {\"topic\": \"3 to 6 words\", \
                     \"summary\": \"one or two sentences\"}.",
                ),
                Message::user(plan::clip(&transcript)),
            ],
            tools: Vec::new(),
        };
        let deadline = Instant::now() + TOPIC_WITHIN;
        let completion = match llm.chat(&request, deadline).await {
            Ok(completion) => completion,
            Err(e) => {
                tracing::debug!("the model wrote no topic ({e}): derived instead");
                return None;
            }
        };
        let text = completion.content;
        let start = text.find('{')?;
        let end = text.rfind('}')?;
        let value: Value = serde_json::from_str(text.get(start..=end)?).ok()?;
        let field = |name: &str, max: usize| {
            value
                .get(name)
                .and_then(Value::as_str)
                .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
                .filter(|s| !s.is_empty())
                .map(|s| s.chars().take(max).collect::<String>())
        };
        Some((field("topic", 80)?, field("summary", 1000)?))
    }
}
