//! Routing against the data: the words pick commands, `[applies_when]` sets aside those the
//! data rules out.
//!
//! "I'd like a different size of the shirt from that order" reads as a change of a pending
//! order as much as an exchange of a delivered one; only the order's status tells. A command
//! that declares `applies_when` names a read-only command that reads that state (a
//! `get_order_details`), a JSON pointer into its artifacts and the values it applies to. The
//! router runs the reader for the commands the words leave in contention, with the
//! values the text (or the context) gives, once per distinct call, and decides again without
//! the commands ruled out, provided the first choice stays the words' or becomes one the data
//! confirms. Otherwise (no order id in the text or the context, an unknown order, a failing
//! reader, nothing confirmed) the words alone decide, and running the command
//! explains what is wrong.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::time::Instant;

use super::App;
use crate::assistant::{IntentDecision, Understanding};
use crate::domain::Caller;
use crate::workflow::{Command, validate};

/// How long the state readers of one turn may take together; a reader still running then
/// counts as "cannot say". (An `exec` reader is killed; a builtin runs inline and is quick by
/// contract, so it is not interrupted.)
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// Commands the words rank at least this share of the best are in contention (the same share
/// as `EVIDENCE_WITHIN` in `crate::assistant`, where parameter values count as evidence). The
/// data settles a choice between readings the words leave open; a reading they prefer more
/// than two to one stands: "return item … from <a pending order>" stays a return, whose run
/// says why it cannot be done, and does not become whatever else mentions items.
const IN_CONTENTION: f32 = 0.5;

/// Most commands whose conditions are read in one turn.
const MAX_CONTENDERS: usize = 5;

/// The command a decision would run or offer first.
fn first_choice(intent: &IntentDecision) -> Option<&str> {
    match intent {
        IntentDecision::Confident(name) => Some(name),
        IntentDecision::Ambiguous(names) => names.first().map(String::as_str),
        IntentDecision::NoMatch => None,
    }
}

/// What state readers answered in this turn: `reader {params}` → the value found, if any.
type Readings = HashMap<String, Option<Value>>;

impl App {
    /// Route `text` among the commands for which `available(name)` holds, reading the data
    /// where commands in contention declare `applies_when`. `known` holds the context's
    /// values (an order being looked at), used when the text does not give a reader its
    /// parameters. Runs nothing but read-only readers.
    pub async fn route(
        &self,
        caller: &Caller,
        text: &str,
        available: &(dyn Fn(&str) -> bool + Sync),
        known: &Map<String, Value>,
    ) -> Understanding {
        let catalog = self.catalog();
        let assistant = self.assistant();
        let understanding = assistant.understand(catalog, text, available);
        // Explicit calls and built-ins come with no ranking: done as said, nothing to read.
        let Some(best) = understanding.ranked.first().map(|r| r.score) else {
            return understanding;
        };
        if understanding.explicit || understanding.intent == IntentDecision::NoMatch {
            return understanding;
        }
        let contenders: Vec<&str> = understanding
            .ranked
            .iter()
            .take(MAX_CONTENDERS)
            .take_while(|r| r.score >= best * IN_CONTENTION)
            .map(|r| r.command.as_str())
            .collect();
        let mut readings = Readings::new();
        let deadline = Instant::now() + READ_TIMEOUT;
        let mut ruled_out: Vec<String> = Vec::new();
        let mut confirmed: Vec<&str> = Vec::new();
        for &name in &contenders {
            let Some(command) = catalog.command(name) else {
                continue;
            };
            match self
                .applies(caller, command, text, known, &mut readings, deadline)
                .await
            {
                Some(false) => ruled_out.push(name.to_string()),
                Some(true) => confirmed.push(name),
                None => {}
            }
        }
        if ruled_out.is_empty() || confirmed.is_empty() {
            return understanding;
        }
        // The data may drop alternatives, but replace the words' first choice only with a
        // command it vouches for. When the new first choice is one it does not speak to (the
        // profile's address change, once a delivered order's address change is ruled out),
        // or the data says no to everything it speaks to (a cancelled order), the words
        // decide, and the command they chose says why not in its question or run.
        let next = assistant.decide_without(catalog, text, &understanding, &ruled_out);
        let was_first = first_choice(&understanding.intent);
        let acceptable = first_choice(&next.intent)
            .is_some_and(|name| confirmed.contains(&name) || Some(name) == was_first);
        if !acceptable {
            return understanding;
        }
        tracing::debug!(?ruled_out, decision = ?next.intent, "the data ruled commands out");
        next
    }

    /// Whether `command` applies to the data the text points at: `None` when it declares no
    /// condition or its reader cannot say.
    async fn applies(
        &self,
        caller: &Caller,
        command: &Command,
        text: &str,
        known: &Map<String, Value>,
        readings: &mut Readings,
        deadline: Instant,
    ) -> Option<bool> {
        let when = command.applies_when.as_ref()?;
        let reader = self.catalog().command(&when.command)?;
        // The loader refuses any other reader; a catalog built some other way must not get
        // past this either.
        if reader.annotations.read_only != Some(true) {
            return None;
        }
        let found = self.assistant().extract(command, text);
        let mut params = Map::new();
        for param in &reader.params {
            // A value the text gives but gets wrong ("#W26113") is not replaced by the
            // context's: that would read another order than the one the user named.
            let misspelt = found.invalid.iter().any(|e| e.field == param.name);
            let value = found.values.get(&param.name).or_else(|| {
                if misspelt {
                    None
                } else {
                    known.get(&param.name)
                }
            });
            if let Some(value) = value {
                params.insert(param.name.clone(), value.clone());
            }
        }
        let params = validate::validate_params(reader, Some(&Value::Object(params))).ok()?;
        let key = format!("{} {}", reader.name, Value::Object(params.clone()));
        if !readings.contains_key(&key) {
            let run = self.executors().run(reader, &params, caller);
            let value = match tokio::time::timeout_at(deadline, run).await {
                Ok(execution) if execution.response.success => {
                    let artifacts = Value::Object(execution.response.artifacts);
                    artifacts.pointer(&when.artifact).cloned()
                }
                _ => None,
            };
            readings.insert(key.clone(), value);
        }
        let value = readings.get(&key)?.as_ref()?;
        Some(when.one_of.contains(value))
    }
}
