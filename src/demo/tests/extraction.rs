//! Extractor and explicit-syntax behaviour on the demo catalog, with its vocabulary.

use std::sync::LazyLock;

use serde_json::{Value, json};

use crate::assistant::syntax::parse_explicit;
use crate::assistant::{Assistant, Extraction};
use crate::workflow::{Catalog, Command};

static CATALOG: LazyLock<Catalog> = LazyLock::new(super::demo_catalog);

static ASSISTANT: LazyLock<Assistant> = LazyLock::new(|| Assistant::new(&CATALOG));

fn extract(command: &Command, text: &str) -> Extraction {
    ASSISTANT.extract(command, text)
}

fn extract_answer(command: &Command, asking: &[&str], text: &str) -> Extraction {
    ASSISTANT.extract_answer(command, asking, text)
}

fn cmd(name: &str) -> &'static Command {
    CATALOG.command(name).expect("demo command")
}

fn values(name: &str, text: &str) -> Value {
    Value::Object(extract(cmd(name), text).values)
}

// ---- explicit syntax -------------------------------------------------------------------

#[test]
fn explicit_key_values_quoted_and_arrays() {
    let call = parse_explicit(
        &CATALOG,
        concat!(
            r#"modify_pending_order_items order_id=#W2611340 "#,
            r#"item_ids=["3920175488","1178420563"] new_item_ids='["8127364092", "4409236815"]' "#,
            r#"payment_method_id="credit_card_4421983""#,
        ),
    );
    // The single-quoted array is a string holding a JSON-like list: still an array.
    let call = call.expect("explicit");
    assert_eq!(call.command.name, "modify_pending_order_items");
    assert_eq!(
        Value::Object(call.extraction.values),
        json!({"order_id": "#W2611340", "item_ids": ["3920175488", "1178420563"],
               "new_item_ids": ["8127364092", "4409236815"],
               "payment_method_id": "credit_card_4421983"})
    );
    assert!(call.extraction.invalid.is_empty());
}

#[test]
fn explicit_single_value_array_and_normalised_id() {
    let call = parse_explicit(
        &CATALOG,
        "return_delivered_order_items order_id=W4817420 item_ids=2290451863",
    )
    .expect("explicit");
    assert_eq!(
        Value::Object(call.extraction.values),
        json!({"order_id": "#W4817420", "item_ids": ["2290451863"]})
    );
}

#[test]
fn explicit_positional_in_declaration_order_with_empty_slot() {
    let call = parse_explicit(
        &CATALOG,
        "/modify_user_address noah_brown_6181, 12 Oak Street, , Boulder, CO, USA, 80302",
    )
    .expect("explicit");
    assert_eq!(
        Value::Object(call.extraction.values),
        json!({"user_id": "noah_brown_6181", "address1": "12 Oak Street", "address2": "",
               "city": "Boulder", "state": "CO", "country": "USA", "zip": "80302"})
    );
    let call = parse_explicit(&CATALOG, "/find_user_id_by_name_zip Sofia, Garcia, 97205")
        .expect("explicit");
    assert_eq!(
        Value::Object(call.extraction.values),
        json!({"first_name": "Sofia", "last_name": "Garcia", "zip": "97205"})
    );
}

#[test]
fn explicit_surplus_goes_into_a_free_last_parameter() {
    let call = parse_explicit(
        &CATALOG,
        "/transfer_to_human_agents Noah, wants a refund, now",
    )
    .expect("explicit");
    assert_eq!(
        call.extraction.values.get("summary"),
        Some(&json!("Noah, wants a refund, now"))
    );
    // A patterned last parameter does not swallow the surplus: it is reported.
    let call = parse_explicit(&CATALOG, "/get_order_details #W2611340, #W4817420").expect("call");
    assert_eq!(
        call.extraction.values.get("order_id"),
        Some(&json!("#W2611340"))
    );
    assert_eq!(call.extraction.invalid.len(), 1);
}

#[test]
fn explicit_whole_text_for_a_single_parameter() {
    let call = parse_explicit(&CATALOG, "/calculate 120 / 3").expect("explicit");
    assert_eq!(
        call.extraction.values.get("expression"),
        Some(&json!("120 / 3"))
    );
}

#[test]
fn explicit_name_alone_and_not_a_sentence() {
    let call = parse_explicit(&CATALOG, "  list_all_product_types ").expect("explicit");
    assert!(call.extraction.values.is_empty());
    assert!(parse_explicit(&CATALOG, "/get_user_details").is_some());
    // A sentence starting with a command name is free text, not syntax.
    assert!(parse_explicit(&CATALOG, "calculate 3 times 4 please").is_none());
    assert!(parse_explicit(&CATALOG, "no_such_command a=1").is_none());
    assert!(parse_explicit(&CATALOG, "").is_none());
    assert!(parse_explicit(&CATALOG, "/").is_none());
}

#[test]
fn explicit_bad_values_and_unknown_keys_are_invalid() {
    let call = parse_explicit(
        &CATALOG,
        "cancel_pending_order order_id=12 reason=whatever colour=red",
    )
    .expect("explicit");
    assert!(call.extraction.values.is_empty());
    let fields: Vec<&str> = call
        .extraction
        .invalid
        .iter()
        .map(|e| e.field.as_str())
        .collect();
    assert_eq!(fields, ["order_id", "reason", "colour"]);
    assert!(call.extraction.invalid[0].message.contains("#W2611340"));
    assert!(
        call.extraction.invalid[2]
            .message
            .contains("unknown parameter")
    );
}

// ---- patterns and normalisation ---------------------------------------------------------

#[test]
fn order_ids_are_normalised_from_the_pattern_prefix() {
    for text in [
        "cancel #W2611340",
        "cancel W2611340",
        "cancel w2611340",
        "cancel order 2611340",
        "cancel \"#W2611340\" now",
    ] {
        assert_eq!(
            values("cancel_pending_order", text),
            json!({"order_id": "#W2611340"}),
            "{text}"
        );
    }
    // Not an order id: wrong length.
    assert_eq!(values("get_order_details", "order 26113"), json!({}));
}

#[test]
fn payment_ids_from_words_before_the_digits() {
    assert_eq!(
        values(
            "modify_pending_order_payment",
            "pay #W2611340 with gift card 0123456"
        ),
        json!({"order_id": "#W2611340", "payment_method_id": "gift_card_0123456"})
    );
    assert_eq!(
        values("modify_pending_order_payment", "use paypal 5650034"),
        json!({"payment_method_id": "paypal_5650034"})
    );
}

#[test]
fn emails_user_ids_product_ids() {
    assert_eq!(
        values(
            "find_user_id_by_email",
            "my email is Noah.Brown4093@example.com."
        ),
        json!({"email": "Noah.Brown4093@example.com"})
    );
    assert_eq!(
        values("get_user_details", "open noah_brown_6181's profile"),
        json!({"user_id": "noah_brown_6181"})
    );
    assert_eq!(
        values("get_product_details", "is (4710385226) in stock?"),
        json!({"product_id": "4710385226"})
    );
}

#[test]
fn arrays_and_pairs() {
    let cmd_name = "exchange_delivered_order_items";
    assert_eq!(
        values(
            cmd_name,
            "exchange 2290451863 and 8127364092 of W4817420 for 5018374629 and 5590312847"
        ),
        json!({"order_id": "#W4817420", "item_ids": ["2290451863", "8127364092"],
               "new_item_ids": ["5018374629", "5590312847"]})
    );
    assert_eq!(
        values(cmd_name, "item 8127364092 -> 5590312847"),
        json!({"item_ids": ["8127364092"], "new_item_ids": ["5590312847"]})
    );
    assert_eq!(
        values(
            "modify_pending_order_items",
            "replace item 1178420563 with item 9381740256"
        ),
        json!({"item_ids": ["1178420563"], "new_item_ids": ["9381740256"]})
    );
    // "to" as an infinitive far from the id does not make it new.
    assert_eq!(
        values(cmd_name, "I'd like to exchange item 2290451863"),
        json!({"item_ids": ["2290451863"]})
    );
    assert_eq!(
        values(
            "return_delivered_order_items",
            "return 2290451863 8127364092 for a refund"
        ),
        json!({"item_ids": ["2290451863", "8127364092"]})
    );
}

#[test]
fn key_values_inside_text() {
    assert_eq!(
        values(
            "modify_pending_order_payment",
            "order=#W2611340 payment=paypal_5650034"
        ),
        json!({"order_id": "#W2611340", "payment_method_id": "paypal_5650034"})
    );
    assert_eq!(
        values(
            "exchange_delivered_order_items",
            "order: #W4817420, item: 2290451863, new item: 5018374629"
        ),
        json!({"order_id": "#W4817420", "item_ids": ["2290451863"], "new_item_ids": ["5018374629"]})
    );
    assert_eq!(
        values(
            "transfer_to_human_agents",
            "get me an agent, summary: wants to change the email"
        ),
        json!({"summary": "wants to change the email"})
    );
    // A bad value after `key=` is reported, not dropped silently.
    let found = extract(cmd("get_order_details"), "please order_id=12345");
    assert!(found.values.is_empty());
    assert_eq!(found.invalid.len(), 1);
}

// ---- enums ------------------------------------------------------------------------------

#[test]
fn enums_by_fuzzy_words() {
    let reason = |text: &str| values("cancel_pending_order", text).get("reason").cloned();
    assert_eq!(
        reason("I ordered it by mistake"),
        Some(json!("ordered by mistake"))
    );
    assert_eq!(
        reason("bought it by accident"),
        Some(json!("ordered by mistake"))
    );
    assert_eq!(
        reason("I don't need it anymore"),
        Some(json!("no longer needed"))
    );
    assert_eq!(reason("no lnger needed"), Some(json!("no longer needed")));
    assert_eq!(
        reason("reason = No Longer Needed"),
        Some(json!("no longer needed"))
    );
    assert_eq!(reason("cancel it, I changed my mind"), None);
    assert_eq!(reason("I need to cancel an order"), None);
}

// ---- names, addresses, expressions -------------------------------------------------------

#[test]
fn person_names_and_zip() {
    assert_eq!(
        values(
            "find_user_id_by_name_zip",
            "I'm Noah Brown and my zip code is 80219"
        ),
        json!({"first_name": "Noah", "last_name": "Brown", "zip": "80219"})
    );
    assert_eq!(
        values("find_user_id_by_name_zip", "i am noah brown, 02139"),
        json!({"first_name": "noah", "last_name": "brown", "zip": "02139"})
    );
    assert_eq!(
        values(
            "find_user_id_by_name_zip",
            "the customer with last name Garcia in 97205"
        ),
        json!({"last_name": "Garcia", "zip": "97205"})
    );
}

#[test]
fn addresses() {
    assert_eq!(
        values(
            "modify_user_address",
            "My new home address is 350 Fifth Avenue, Floor 21, New York, NY 10118, USA"
        ),
        json!({"address1": "350 Fifth Avenue", "address2": "Floor 21", "city": "New York",
               "state": "NY", "zip": "10118", "country": "USA"})
    );
    assert_eq!(
        values(
            "modify_pending_order_address",
            "redirect #W2611340 to 48 Cedar Lane Boulder Colorado 80304"
        ),
        json!({"order_id": "#W2611340", "address1": "48 Cedar Lane", "city": "Boulder",
               "state": "CO", "zip": "80304"})
    );
    assert_eq!(
        values(
            "modify_user_address",
            "change the city on my profile to Austin"
        ),
        json!({"city": "Austin"})
    );
    // Defaults are never filled in: address2 is absent when not written.
    assert!(
        values("modify_user_address", "12 Oak Street, Boulder, CO 80302")
            .get("address2")
            .is_none()
    );
}

#[test]
fn expressions_from_symbols_and_words() {
    let expr = |text: &str| {
        values("calculate", text)
            .get("expression")
            .and_then(Value::as_str)
            .map(|s| crate::demo::evaluate_expression(s).expect("evaluates"))
    };
    assert_eq!(expr("what is 24.99 + 18.99"), Some(43.98));
    assert_eq!(expr("compute (89 + 24.99) * 1.08"), expr("(89+24.99)*1.08"));
    assert_eq!(expr("What is 3 times 4?"), Some(12.0));
    assert_eq!(expr("subtract 18 from 30"), Some(12.0));
    assert_eq!(expr("divide 100 by 4"), Some(25.0));
    assert_eq!(expr("add up 25, 18 and 2"), Some(45.0));
    assert_eq!(expr("difference of 109.00 and 89.00?"), Some(20.0));
    assert_eq!(expr("I need a calculator"), None);
}

// ---- answers ------------------------------------------------------------------------------

#[test]
fn answers_positional_keyed_natural_and_bare() {
    let c = cmd("find_user_id_by_name_zip");
    let a = extract_answer(c, &["first_name", "last_name"], "Sofia, Garcia");
    assert_eq!(
        Value::Object(a.values),
        json!({"first_name": "Sofia", "last_name": "Garcia"})
    );
    let a = extract_answer(c, &["zip"], "zip=97205");
    assert_eq!(Value::Object(a.values), json!({"zip": "97205"}));
    let a = extract_answer(c, &["zip"], "it's 97205 I think");
    assert_eq!(Value::Object(a.values), json!({"zip": "97205"}));
    // A bare reply for one question that does not fit: invalid, with an example.
    let a = extract_answer(c, &["zip"], "nine");
    assert!(a.values.is_empty());
    assert_eq!(a.invalid.len(), 1);
    assert_eq!(a.invalid[0].field, "zip");
    assert!(a.invalid[0].message.contains("80219"));
    let a = extract_answer(cmd("cancel_pending_order"), &["reason"], "by mistake");
    assert_eq!(
        Value::Object(a.values),
        json!({"reason": "ordered by mistake"})
    );
    // Only the parameters asked for.
    let a = extract_answer(c, &["zip"], "Noah Brown 80219");
    assert_eq!(Value::Object(a.values), json!({"zip": "80219"}));
}

// ---- bad input ------------------------------------------------------------------------------

#[test]
fn bad_input_does_not_panic() {
    let long = "order #W2611340 ".repeat(100 * 1024 / 16);
    let weird = "cancel\u{0}\u{7}#W2611340\u{1b}[31m\r\n";
    for c in CATALOG.commands.values() {
        for text in [
            "",
            "   ",
            long.as_str(),
            weird,
            "取消订单 #W2611340 ありがとう",
            "ОТМЕНА 🚀 Ünïcödé",
            "=",
            ":",
            "a=",
            "[\"",
            "'",
        ] {
            let _ = extract(c, text);
            let _ = extract_answer(c, &[], text);
            let names: Vec<&str> = c.params.iter().map(|p| p.name.as_str()).collect();
            let _ = extract_answer(c, &names, text);
            let _ = parse_explicit(&CATALOG, text);
            let _ = parse_explicit(&CATALOG, &format!("/{} {text}", c.name));
            let _ = parse_explicit(&CATALOG, &format!("{} a={text}", c.name));
        }
    }
    assert_eq!(values("get_order_details", ""), json!({}));
    assert_eq!(
        values("get_order_details", weird),
        json!({"order_id": "#W2611340"})
    );
    assert_eq!(
        values("get_order_details", "取消订单 #W2611340 ありがとう"),
        json!({"order_id": "#W2611340"})
    );
    assert_eq!(
        values("get_order_details", &long),
        json!({"order_id": "#W2611340"})
    );
}

/// The labelled evaluation set (`tests/assistant/README.md`).
const LABELLED: &str = include_str!("../../../tests/assistant/labelled.jsonl");

#[test]
fn every_labelled_utterance_yields_only_the_commands_own_parameters() {
    // Speed is measured by `benches/assistant_latency.rs`, not asserted here.
    let lines: Vec<Value> = LABELLED
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(
        lines.len() >= 400,
        "the labelled set has {} lines",
        lines.len()
    );
    for line in &lines {
        let Some(text) = line.get("utterance").and_then(Value::as_str) else {
            panic!("a labelled line without an utterance: {line}");
        };
        let _ = parse_explicit(&CATALOG, text);
        for c in CATALOG.commands.values() {
            for key in extract(c, text).values.keys() {
                assert!(
                    c.param(key).is_some(),
                    "{}: `{key}` extracted from {text:?}",
                    c.name
                );
            }
        }
    }
}

#[test]
fn the_labelled_set_shares_no_utterance_with_the_demo_metadata() {
    // The set measures generalisation: a line that is also an example utterance in
    // `tools/*.toml` would be measured on its own training text. Explicit calls are exempt.
    let norm = |s: &str| {
        s.to_lowercase()
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let examples: std::collections::HashSet<String> = CATALOG
        .commands
        .values()
        .flat_map(|c| c.utterances.iter().map(|u| norm(u)))
        .collect();
    for line in LABELLED.lines() {
        let line: Value = serde_json::from_str(line).expect("labelled.jsonl is JSON lines");
        if line["kind"] == "explicit" {
            continue; // names the command on purpose ("list_all_product_types")
        }
        let text = line["utterance"].as_str().unwrap_or_default();
        assert!(
            !examples.contains(&norm(text)),
            "{} is also an example utterance in tools/",
            line["id"]
        );
    }
}

/// A command outside the demo, to check typed scalars generically.
fn scalar_command() -> Command {
    use crate::workflow::catalog::{Annotations, Param, ParamType, RunSpec, ValueSpec};
    let param = |name: &str, ty: ParamType| Param {
        name: name.into(),
        description: String::new(),
        spec: ValueSpec::of(ty),
        required: false,
        default: None,
        examples: Vec::new(),
        available_from: Vec::new(),
        ask: false,
    };
    Command {
        name: "order_socks".into(),
        description: "Order socks".into(),
        context: "*".into(),
        enters_context: None,
        utterances: Vec::new(),
        params: vec![
            param("quantity", ParamType::Integer),
            param("gift_wrap", ParamType::Boolean),
            param("size", ParamType::String),
        ],
        annotations: Annotations::default(),
        applies_when: None,
        run: RunSpec::Builtin {
            handler: "none".into(),
        },
        input_schema: std::sync::Arc::new(serde_json::Map::new()),
        source: "order_socks.toml".into(),
    }
}

#[test]
fn integers_and_booleans() {
    let c = scalar_command();
    assert_eq!(
        Value::Object(extract(&c, "quantity is 3 and gift wrap: yes").values),
        json!({"quantity": 3, "gift_wrap": true})
    );
    // The only number in the text, for the only numeric parameter.
    assert_eq!(
        Value::Object(extract(&c, "I want 12 pairs").values),
        json!({"quantity": 12})
    );
    // Two numbers: no guess.
    assert_eq!(
        Value::Object(extract(&c, "12 or 13 pairs").values),
        json!({})
    );
    // Positional and keyed typing, with errors for bad values.
    let a = extract_answer(&c, &["quantity", "gift_wrap"], "4, no");
    assert_eq!(
        Value::Object(a.values),
        json!({"quantity": 4, "gift_wrap": false})
    );
    let a = extract_answer(&c, &["quantity"], "lots");
    assert_eq!(a.invalid.len(), 1);
    assert!(a.invalid[0].message.contains("integer"));
}

#[test]
fn names_are_not_common_words() {
    assert_eq!(
        values(
            "find_user_id_by_name_zip",
            "i'm not sure which email, zip 80219"
        ),
        json!({"zip": "80219"})
    );
    assert_eq!(
        values(
            "find_user_id_by_name_zip",
            "my first name is Noah and last name: Brown"
        ),
        json!({"first_name": "Noah", "last_name": "Brown"})
    );
    assert_eq!(
        values(
            "modify_user_address",
            "send it to 12 Oak Street please, thanks"
        ),
        json!({"address1": "12 Oak Street"})
    );
}
