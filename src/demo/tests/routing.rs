//! Routing on the demo's words: its phrasings, vocabulary (`[assistant]` in workflow.toml)
//! and values, through the assistant's public interface.

use serde_json::json;

use crate::assistant::{Assistant, IntentDecision, IntentIndex};
use crate::workflow::Catalog;

fn catalog() -> Catalog {
    super::demo_catalog()
}

fn demo() -> IntentIndex {
    IntentIndex::build(&catalog())
}

fn decide(index: &IntentIndex, text: &str) -> IntentDecision {
    index.decide(&index.rank(text, &|_| true))
}

fn top(index: &IntentIndex, text: &str) -> Option<String> {
    index
        .rank(text, &|_| true)
        .first()
        .map(|r| r.command.clone())
}

#[test]
fn clear_requests_are_confident() {
    let index = demo();
    assert_eq!(
        decide(&index, "please cancel my order #W1234567"),
        IntentDecision::Confident("cancel_pending_order".into())
    );
    assert_eq!(
        decide(&index, "I want to speak to a human"),
        IntentDecision::Confident("transfer_to_human_agents".into())
    );
}

#[test]
fn typos_still_route() {
    let index = demo();
    assert_eq!(top(&index, "calcualte 3 + 4").as_deref(), Some("calculate"));
    assert_eq!(
        top(&index, "cancle my pending order").as_deref(),
        Some("cancel_pending_order")
    );
    let adress = top(&index, "update the delivery adress of order #W1234567");
    assert_eq!(adress.as_deref(), Some("modify_pending_order_address"));
}

#[test]
fn nonsense_is_no_match() {
    let index = demo();
    for text in ["purple monkey dishwasher", "zzzz qqqq", "", "   "] {
        assert_eq!(decide(&index, text), IntentDecision::NoMatch, "{text:?}");
    }
}

#[test]
fn unavailable_commands_are_never_ranked() {
    let index = demo();
    let text = "cancel my pending order";
    let ranked = index.rank(text, &|name| name != "cancel_pending_order");
    assert!(ranked.iter().all(|r| r.command != "cancel_pending_order"));
    let only = index.rank(text, &|name| name == "get_order_details");
    assert!(only.iter().all(|r| r.command == "get_order_details"));
}

#[test]
fn a_named_command_wins() {
    let index = demo();
    assert_eq!(
        top(&index, "modify_user_address city=Boulder zip=80302").as_deref(),
        Some("modify_user_address")
    );
}

#[test]
fn a_bare_value_points_at_the_commands_that_take_it() {
    let index = demo();
    let ranked = index.rank("#W7654321", &|_| true);
    let catalog = catalog();
    let takes_order_id = |name: &str| {
        catalog
            .command(name)
            .is_some_and(|c| c.param("order_id").is_some())
    };
    assert!(ranked.iter().take(3).all(|r| takes_order_id(&r.command)));
    assert_eq!(
        top(&index, "jane.doe@example.com").as_deref(),
        Some("find_user_id_by_email")
    );
}

#[test]
fn builtins_are_routed() {
    let index = demo();
    assert_eq!(
        decide(&index, "what can I do?"),
        IntentDecision::Confident("what_can_i_do".into())
    );
    assert_eq!(
        decide(&index, "where am I"),
        IntentDecision::Confident("what_is_current_context".into())
    );
}

#[test]
fn ranking_is_sorted_and_deterministic() {
    let index = demo();
    let a = index.rank("return an item from my order", &|_| true);
    let b = index.rank("return an item from my order", &|_| true);
    assert_eq!(a, b);
    assert!(a.windows(2).all(|w| w[0].score >= w[1].score));
}

#[test]
fn any_text_is_safe() {
    let index = demo();
    let long = "cancel my order ".repeat(7_000);
    let texts = [
        String::new(),
        long,
        "\u{0}\u{7}\t\r\n\u{1b}[31m".to_string(),
        "キャンセルしてください 注文".to_string(),
        "отменить заказ".to_string(),
        "🙂🙂🙂 ̶c̶a̶n̶c̶e̶l̶".to_string(),
        "=====".to_string(),
        "a=b=c= =\"\"".to_string(),
        "é".repeat(3_000),
    ];
    for text in &texts {
        let ranked = index.rank(text, &|_| true);
        assert!(ranked.iter().all(|r| r.score.is_finite()));
        let _ = index.decide(&ranked);
    }
}

#[test]
fn a_labelled_free_text_value_does_not_vote() {
    let catalog = catalog();
    let assistant = Assistant::new(&catalog);
    let text = "get me a person, Summary: customer wants the address on the profile and \
                the card on order #W2611340 updated";
    let understood = assistant.understand(&catalog, text, &|_| true);
    assert_eq!(
        understood.intent,
        IntentDecision::Confident("transfer_to_human_agents".into())
    );
    let summary = understood.extraction.values.get("summary");
    assert!(
        summary.is_some_and(|s| s.as_str().is_some_and(|s| s.contains("#W2611340"))),
        "the value is still extracted whole: {summary:?}"
    );
}

#[test]
fn the_demo_vocabulary_comes_from_its_workflow_file() {
    let catalog = catalog();
    assert!(
        catalog
            .vocabulary
            .synonyms
            .contains(&("paypal".to_string(), "pay".to_string()))
    );
    let assistant = Assistant::new(&catalog);
    let command = catalog.command("cancel_pending_order").expect("command");
    let found = assistant.extract(command, "cancel #W2611340, I bought it by accident");
    assert_eq!(
        found.values.get("reason"),
        Some(&json!("ordered by mistake"))
    );
}
