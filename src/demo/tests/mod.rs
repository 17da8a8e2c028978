//! Tests of the demo store: the generator, every handler (success and each rule it enforces),
//! persistence across reopening RocksDB, and the consistency of `tools/*.toml` with the data;
//! [`routing`] and [`extraction`]: the assistant on the demo's words.

mod extraction;
mod routing;

/// The demo's catalog, loaded with its plug-in as the binary loads it.
fn demo_catalog() -> crate::workflow::Catalog {
    crate::app::check(
        &crate::workflow::WorkflowSource::embedded(),
        &[Arc::new(super::RetailDemo)],
    )
    .expect("the demo workflow loads")
}

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use regex::Regex;
use serde_json::{Map, Value, json};
use tempfile::TempDir;

use super::generate::{self, Dataset, SEED, planted::*};
use super::model::{Money, OrderStatus, PaymentMethod};
use super::{CF_DEMO_RETAIL, HANDLER_PREFIX, Retail, handlers, register};
use crate::domain::CommandResponse;
use crate::exec::builtin::{BuiltinRegistry, BuiltinRequest};
use crate::store::Db;

struct Fixture {
    dir: TempDir,
    retail: Arc<Retail>,
    registry: BuiltinRegistry,
}

fn open(path: &Path) -> (Arc<Retail>, BuiltinRegistry) {
    let db = Db::open(path, &[CF_DEMO_RETAIL]).expect("open RocksDB");
    let retail = Retail::new(db);
    retail.ensure_seeded().expect("seed the demo data");
    let mut registry = BuiltinRegistry::default();
    register(&mut registry, Arc::clone(&retail));
    (retail, registry)
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let (retail, registry) = open(dir.path());
    Fixture {
        dir,
        retail,
        registry,
    }
}

fn call_with(registry: &BuiltinRegistry, command: &str, params: Value) -> CommandResponse {
    let handler = registry
        .get(&format!("{HANDLER_PREFIX}{command}"))
        .unwrap_or_else(|| panic!("no handler for {command}"));
    let Value::Object(params) = params else {
        panic!("params must be an object");
    };
    handler(&BuiltinRequest {
        command_name: command,
        params: &params,
        channel_id: "test-channel",
        user_id: None,
    })
}

impl Fixture {
    fn call(&self, command: &str, params: Value) -> CommandResponse {
        call_with(&self.registry, command, params)
    }

    /// Run a command that must succeed; its text.
    fn ok(&self, command: &str, params: Value) -> String {
        let r = self.call(command, params);
        assert!(r.success, "{command} failed: {}", r.response);
        r.response
    }

    /// Run a command that must fail; its text.
    fn fail(&self, command: &str, params: Value) -> String {
        let r = self.call(command, params);
        assert!(
            !r.success,
            "{command} unexpectedly succeeded: {}",
            r.response
        );
        r.response
    }

    fn order(&self, order_id: &str) -> super::model::Order {
        self.retail
            .order(order_id)
            .expect("read")
            .expect("order exists")
    }

    fn gift_balance(&self) -> Money {
        let user = self.retail.user(USER).expect("read").expect("user exists");
        match user.payment_method(GIFT_CARD) {
            Some(PaymentMethod::GiftCard { balance, .. }) => *balance,
            other => panic!("gift card missing: {other:?}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Generator

/// FNV-1a over the dataset's JSON: a change here means every new install gets other data.
fn fingerprint(data: &Dataset) -> u64 {
    let json = serde_json::to_vec(&(&data.users, &data.orders, &data.products)).expect("encode");
    json.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[test]
fn generator_is_deterministic_and_big_enough() {
    let a = generate::dataset(SEED);
    let b = generate::dataset(SEED);
    assert_eq!(a, b);
    assert_eq!(fingerprint(&a), fingerprint(&b));
    assert_ne!(fingerprint(&a), fingerprint(&generate::dataset(SEED + 1)));
    assert!(a.users.len() >= 200, "{} users", a.users.len());
    assert!(a.orders.len() >= 500, "{} orders", a.orders.len());
    assert!(a.products.len() >= 40, "{} products", a.products.len());

    let statuses: BTreeSet<&str> = a.orders.values().map(|o| o.status.as_str()).collect();
    for status in ["pending", "processed", "delivered", "cancelled"] {
        assert!(statuses.contains(status), "no {status} order");
    }
}

#[test]
fn planted_records_exist_as_documented() {
    let data = generate::dataset(SEED);
    let noah = &data.users[USER];
    assert_eq!(noah.email, USER_EMAIL);
    assert_eq!(
        (noah.name.first_name.as_str(), noah.name.last_name.as_str()),
        (USER_FIRST, USER_LAST)
    );
    assert_eq!(noah.address.zip, USER_ZIP);
    for method in [CREDIT_CARD, GIFT_CARD, PAYPAL] {
        assert!(noah.payment_method(method).is_some(), "{method}");
    }
    for (order_id, status) in [
        (ORDER_PENDING, OrderStatus::Pending),
        (ORDER_ITEM_MODIFIED, OrderStatus::PendingItemModified),
        (ORDER_DELIVERED, OrderStatus::Delivered),
        (ORDER_PROCESSED, OrderStatus::Processed),
        (ORDER_CANCELLED, OrderStatus::Cancelled),
    ] {
        assert_eq!(data.orders[order_id].status, status, "{order_id}");
        assert_eq!(data.orders[order_id].user_id, USER);
        assert!(noah.orders.iter().any(|o| o == order_id));
    }
    assert_eq!(data.orders[OTHER_ORDER_DELIVERED].user_id, OTHER_USER);
    assert_eq!(data.users[OTHER_USER].email, OTHER_USER_EMAIL);
    assert!(
        data.products[PRODUCT_TSHIRT]
            .variants
            .contains_key(TSHIRT_BLUE_L)
    );
    assert!(!data.products[PRODUCT_TSHIRT].variants[TSHIRT_RED_S].available);
    assert!(!data.products[PRODUCT_BOTTLE].variants[BOTTLE_1000_BLACK].available);
    assert!(!data.products[PRODUCT_EARBUDS].variants[EARBUDS_BLUE].available);
    assert_eq!(data.orders[ORDER_PENDING].total(), Money(4398));
}

#[test]
fn generated_records_are_consistent() {
    let data = generate::dataset(SEED);
    let user_re = Regex::new(r"^[a-z]+_[a-z]+_\d{4}$").expect("regex");
    let order_re = Regex::new(r"^#W\d{7}$").expect("regex");
    let ten = Regex::new(r"^\d{10}$").expect("regex");
    let method_re = Regex::new(r"^(credit_card|gift_card|paypal)_\d{7}$").expect("regex");
    let zip_re = Regex::new(r"^\d{5}$").expect("regex");
    let mut emails = HashSet::new();
    let mut name_zips = HashSet::new();
    for (id, user) in &data.users {
        assert_eq!(id, &user.user_id);
        assert!(user_re.is_match(id), "{id}");
        assert!(zip_re.is_match(&user.address.zip), "{}", user.address.zip);
        assert!(
            emails.insert(user.email.to_lowercase()),
            "duplicate email {}",
            user.email
        );
        assert!(
            name_zips.insert(super::model::keys::name_zip(
                &user.name.first_name,
                &user.name.last_name,
                &user.address.zip
            )),
            "duplicate name+zip for {id}"
        );
        assert!(!user.payment_methods.is_empty());
        for m in &user.payment_methods {
            assert!(method_re.is_match(m.id()), "{}", m.id());
        }
        for order_id in &user.orders {
            assert_eq!(data.orders[order_id].user_id, *id);
        }
    }
    for (id, order) in &data.orders {
        assert!(order_re.is_match(id), "{id}");
        let user = &data.users[&order.user_id];
        assert!(user.orders.contains(id));
        assert!(!order.items.is_empty());
        for item in &order.items {
            let variant = &data.products[&item.product_id].variants[&item.item_id];
            assert_eq!(
                (variant.price, &variant.options),
                (item.price, &item.options)
            );
        }
        for t in &order.payment_history {
            assert!(
                user.payment_method(&t.payment_method_id).is_some(),
                "{id}: {}",
                t.payment_method_id
            );
        }
        let has_tracking = !order.fulfilments.is_empty();
        let shipped = matches!(
            order.status,
            OrderStatus::Delivered | OrderStatus::Processed
        );
        assert_eq!(has_tracking, shipped, "{id}");
    }
    for (id, product) in &data.products {
        assert!(ten.is_match(id), "{id}");
        assert!(
            product.variants.values().filter(|v| v.available).count() >= 2,
            "{id}"
        );
        for (item_id, v) in &product.variants {
            assert!(ten.is_match(item_id));
            assert!(v.price.cents() > 0);
        }
    }
    let names: HashSet<&str> = data.products.values().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names.len(),
        data.products.len(),
        "product type names are unique"
    );
}

// ---------------------------------------------------------------------------------------------
// Seeding and persistence

#[test]
fn seeding_is_idempotent_and_never_overwrites_changes() {
    let f = fixture();
    f.retail.ensure_seeded().expect("seed");
    f.retail.ensure_seeded().expect("seed again");
    f.ok(
        "cancel_pending_order",
        json!({"order_id": ORDER_PENDING, "reason": "no longer needed"}),
    );
    // A second handle on the same data (as after a restart) sees the marker and keeps the change.
    let second = Retail::new(f.retail.db.clone());
    second.ensure_seeded().expect("seed on a seeded store");
    let order = second.order(ORDER_PENDING).expect("read").expect("exists");
    assert_eq!(order.status, OrderStatus::Cancelled);
}

#[test]
fn changes_survive_reopening_the_database() {
    let f = fixture();
    f.ok(
        "cancel_pending_order",
        json!({"order_id": ORDER_PENDING, "reason": "ordered by mistake"}),
    );
    f.ok(
        "modify_user_address",
        json!({
            "user_id": USER, "address1": "12 Oak Street", "address2": "", "city": "Boulder",
            "state": "CO", "country": "USA", "zip": "80302"
        }),
    );
    let Fixture {
        dir,
        retail,
        registry,
    } = f;
    drop(registry);
    drop(retail); // the last handle: RocksDB closes and releases its lock
    let (_retail, registry) = open(dir.path());
    let r = call_with(
        &registry,
        "get_order_details",
        json!({"order_id": ORDER_PENDING}),
    );
    assert!(r.success);
    assert!(r.response.contains("is cancelled"), "{}", r.response);
    assert!(r.response.contains("ordered by mistake"), "{}", r.response);
    let r = call_with(
        &registry,
        "find_user_id_by_name_zip",
        json!({"first_name": "noah", "last_name": "BROWN", "zip": "80302"}),
    );
    assert!(r.success, "{}", r.response);
}

// ---------------------------------------------------------------------------------------------
// Lookups

#[test]
fn lookups_answer_with_the_key_facts() {
    let f = fixture();
    let r = f.call(
        "find_user_id_by_email",
        json!({"email": "Noah.Brown4093@example.com"}),
    );
    assert!(r.success);
    assert!(r.response.contains(USER), "{}", r.response);
    assert_eq!(r.artifacts["user_id"], json!(USER));
    assert_eq!(r.next_actions[0].command_name, "get_user_details");

    let text = f.ok(
        "find_user_id_by_name_zip",
        json!({"first_name": "Noah", "last_name": "Brown", "zip": USER_ZIP}),
    );
    assert!(text.contains(USER), "{text}");

    let r = f.call("get_user_details", json!({"user_id": USER}));
    assert!(r.success);
    for needle in [
        "Noah Brown",
        USER_EMAIL,
        "Denver",
        CREDIT_CARD,
        "ending in 7310",
        "$30.00",
        PAYPAL,
        "#W2611340 (pending)",
        "#W4817420 (delivered)",
        "#W3961067 (cancelled)",
    ] {
        assert!(
            r.response.contains(needle),
            "missing {needle}: {}",
            r.response
        );
    }
    assert_eq!(r.artifacts["user"]["user_id"], json!(USER));
    assert_eq!(r.artifacts["orders"].as_array().map(Vec::len), Some(5));

    let r = f.call("get_order_details", json!({"order_id": ORDER_PENDING}));
    assert!(r.success);
    for needle in [
        "is pending",
        TSHIRT_BLUE_M,
        PRODUCT_TSHIRT,
        "Water Bottle",
        "Total: $43.98",
        "can be cancelled",
    ] {
        assert!(
            r.response.contains(needle),
            "missing {needle}: {}",
            r.response
        );
    }
    assert_eq!(r.artifacts["order"]["items"][0]["price"], json!(24.99));
    // Lenient about the '#'.
    let text = f.ok("get_order_details", json!({"order_id": "W4817420"}));
    assert!(
        text.contains("is delivered") && text.contains("381924076512"),
        "{text}"
    );
    let text = f.ok("get_order_details", json!({"order_id": ORDER_CANCELLED}));
    assert!(
        text.contains("is cancelled") && text.contains("ordered by mistake"),
        "{text}"
    );

    let r = f.call("get_product_details", json!({"product_id": PRODUCT_TSHIRT}));
    assert!(r.success);
    assert!(
        r.response
            .contains("T-Shirt (product 4710385226) has 5 variant(s), 4 available"),
        "{}",
        r.response
    );
    assert!(
        r.response.contains(&format!(
            "item {TSHIRT_RED_S} (color: red, material: cotton, size: S) $23.99, not available"
        )),
        "{}",
        r.response
    );
    assert_eq!(
        r.artifacts["product"]["variants"][TSHIRT_BLUE_L]["available"],
        json!(true)
    );

    let r = f.call("list_all_product_types", json!({}));
    assert!(r.success);
    assert!(
        r.response.contains("T-Shirt (4710385226)"),
        "{}",
        r.response
    );
    assert!(
        r.response.contains("Water Bottle (8036915247)"),
        "{}",
        r.response
    );
    let types = r.artifacts["product_types"]
        .as_object()
        .map(Map::len)
        .unwrap_or(0);
    assert!(types >= 40, "{types} product types");

    let r = f.call(
        "calculate",
        json!({"expression": "(24.99 + 22.49) * 2 / 3"}),
    );
    assert!(r.success);
    assert_eq!(r.response, "(24.99 + 22.49) * 2 / 3 = 31.65");
    assert_eq!(r.artifacts["result"], json!(31.65));

    let r = f.call(
        "transfer_to_human_agents",
        json!({"summary": "Customer wants a refund outside the policy."}),
    );
    assert!(r.success);
    assert!(
        r.response.contains("human agent") && r.response.contains("refund outside the policy"),
        "{}",
        r.response
    );
}

#[test]
fn unknown_ids_name_the_id_and_how_to_find_a_valid_one() {
    let f = fixture();
    let text = f.fail(
        "find_user_id_by_email",
        json!({"email": "nobody@example.com"}),
    );
    assert!(
        text.contains("nobody@example.com") && text.contains("find_user_id_by_name_zip"),
        "{text}"
    );
    let text = f.fail(
        "find_user_id_by_name_zip",
        json!({"first_name": "Noah", "last_name": "Brown", "zip": "00000"}),
    );
    assert!(
        text.contains("00000") && text.contains("find_user_id_by_email"),
        "{text}"
    );
    let text = f.fail("get_user_details", json!({"user_id": "noah_brown_0000"}));
    assert!(
        text.contains("No user noah_brown_0000") && text.contains("find_user_id_by_email"),
        "{text}"
    );
    let text = f.fail("get_order_details", json!({"order_id": "#W0000000"}));
    assert_eq!(
        text,
        "No order #W0000000. Use get_user_details to list a user's orders (order ids look like \
         #W2611340)."
    );
    let text = f.fail("get_product_details", json!({"product_id": TSHIRT_BLUE_M}));
    assert!(
        text.contains(TSHIRT_BLUE_M) && text.contains("list_all_product_types"),
        "{text}"
    );
    let text = f.fail(
        "cancel_pending_order",
        json!({"order_id": "#W0000001", "reason": "no longer needed"}),
    );
    assert!(text.contains("#W0000001"), "{text}");
    let text = f.fail(
        "modify_user_address",
        json!({
            "user_id": "nobody_here_1234", "address1": "1 A St", "city": "X", "state": "CO",
            "country": "USA", "zip": "80302"
        }),
    );
    assert!(text.contains("nobody_here_1234"), "{text}");
    let text = f.fail("get_order_details", json!({}));
    assert!(text.contains("order_id is missing"), "{text}");
}

#[test]
fn calculate_refuses_bad_expressions_clearly() {
    let f = fixture();
    assert!(
        f.fail("calculate", json!({"expression": "10 / (5 - 5)"}))
            .contains("division by zero")
    );
    assert!(
        f.fail("calculate", json!({"expression": "2 +"}))
            .contains("ends too early")
    );
    assert!(
        f.fail("calculate", json!({"expression": "rm -rf /"}))
            .contains("unexpected 'r'")
    );
    assert!(
        f.fail("calculate", json!({"expression": "(1"}))
            .contains("never closed")
    );
    assert!(
        f.fail("calculate", json!({"expression": "  "}))
            .contains("missing or empty")
    );
}

// ---------------------------------------------------------------------------------------------
// Changes: success paths

#[test]
fn cancel_refunds_and_blocks_further_changes() {
    let f = fixture();
    let r = f.call(
        "cancel_pending_order",
        json!({"order_id": ORDER_PENDING, "reason": "no longer needed"}),
    );
    assert!(r.success);
    assert_eq!(
        r.response,
        "Order #W2611340 is now cancelled (reason: no longer needed). Refund: $43.98 to \
         credit_card_4421983 (within 5 to 7 business days)."
    );
    assert_eq!(r.artifacts["order"]["status"], json!("cancelled"));
    let order = f.order(ORDER_PENDING);
    assert_eq!(order.status, OrderStatus::Cancelled);
    assert_eq!(order.cancel_reason.as_deref(), Some("no longer needed"));
    assert_eq!(
        order.net_paid_by_method(),
        vec![(CREDIT_CARD.to_string(), Money(0))]
    );
    let text = f.fail(
        "cancel_pending_order",
        json!({"order_id": ORDER_PENDING, "reason": "no longer needed"}),
    );
    assert!(
        text.contains("is cancelled; only a pending order can be cancelled"),
        "{text}"
    );
    let text = f.fail(
        "modify_pending_order_address",
        json!({
            "order_id": ORDER_PENDING, "address1": "1 A St", "city": "X", "state": "CO",
            "country": "USA", "zip": "80302"
        }),
    );
    assert!(text.contains("only a pending order"), "{text}");
}

#[test]
fn modify_items_charges_the_difference_once_and_cancel_refunds_every_method() {
    let f = fixture();
    assert_eq!(f.gift_balance(), Money(3000));
    let r = f.call("modify_pending_order_items", json!({
        "order_id": ORDER_PENDING, "item_ids": [TSHIRT_BLUE_M], "new_item_ids": [TSHIRT_WHITE_XL],
        "payment_method_id": GIFT_CARD
    }));
    assert!(r.success, "{}", r.response);
    assert!(
        r.response
            .contains("The price difference of $1.51 was charged to gift_card_0123456"),
        "{}",
        r.response
    );
    assert!(r.response.contains("New total: $45.49"), "{}", r.response);
    assert_eq!(f.gift_balance(), Money(2849));
    let order = f.order(ORDER_PENDING);
    assert_eq!(order.status, OrderStatus::PendingItemModified);
    assert_eq!(order.items[0].item_id, TSHIRT_WHITE_XL);
    assert_eq!(order.items[0].options["size"], "XL");
    assert_eq!(order.items[0].price, Money(2650));

    // Only once.
    let text = f.fail(
        "modify_pending_order_items",
        json!({
            "order_id": ORDER_PENDING, "item_ids": [BOTTLE_500_GREEN],
            "new_item_ids": [BOTTLE_750_GREEN], "payment_method_id": CREDIT_CARD
        }),
    );
    assert!(text.contains("already modified once"), "{text}");

    // Still pending: it can be cancelled, and both methods get their money back.
    let text = f.ok(
        "cancel_pending_order",
        json!({"order_id": ORDER_PENDING, "reason": "ordered by mistake"}),
    );
    assert!(text.contains("$43.98 to credit_card_4421983"), "{text}");
    assert!(
        text.contains("$1.51 to gift_card_0123456 (added to the gift card balance now)"),
        "{text}"
    );
    assert_eq!(f.gift_balance(), Money(3000));
}

#[test]
fn modify_items_refunds_a_cheaper_variant() {
    let f = fixture();
    let text = f.ok(
        "modify_pending_order_items",
        json!({
            "order_id": ORDER_PENDING, "item_ids": [TSHIRT_BLUE_M, BOTTLE_500_GREEN],
            "new_item_ids": [TSHIRT_BLACK_M, BOTTLE_750_GREEN], "payment_method_id": PAYPAL
        }),
    );
    // -2.50 + 2.50: the same total.
    assert!(text.contains("nothing was charged or refunded"), "{text}");
    let text = {
        let f = fixture();
        f.ok(
            "modify_pending_order_items",
            json!({
                "order_id": ORDER_PENDING, "item_ids": [TSHIRT_BLUE_M],
                "new_item_ids": [TSHIRT_BLACK_M], "payment_method_id": GIFT_CARD
            }),
        )
    };
    assert!(
        text.contains(
            "$2.50 is refunded to gift_card_0123456 (added to the gift card balance now)"
        ),
        "{text}"
    );
}

#[test]
fn modify_address_and_payment_of_a_pending_order() {
    let f = fixture();
    let r = f.call(
        "modify_pending_order_address",
        json!({
            "order_id": ORDER_PENDING, "address1": "12 Oak Street", "address2": "Apt 3",
            "city": "Boulder", "state": "CO", "country": "USA", "zip": "80302"
        }),
    );
    assert!(r.success);
    assert_eq!(
        r.response,
        "Order #W2611340 will now ship to 12 Oak Street, Apt 3, Boulder, CO 80302, USA \
         (it was 418 Willow Lane, Apt 12, Denver, CO 80219, USA)."
    );
    assert_eq!(f.order(ORDER_PENDING).address.city, "Boulder");
    // The profile keeps its address.
    let user = f.retail.user(USER).expect("read").expect("exists");
    assert_eq!(user.address.city, "Denver");

    let text = f.ok(
        "modify_pending_order_payment",
        json!({"order_id": ORDER_PENDING, "payment_method_id": PAYPAL}),
    );
    assert_eq!(
        text,
        "Order #W2611340 is now paid with PayPal (paypal_5650034): $43.98 charged. \
         Refunded: $43.98 to credit_card_4421983 (within 5 to 7 business days)."
    );
    let order = f.order(ORDER_PENDING);
    assert_eq!(
        order.net_paid_by_method(),
        vec![
            (CREDIT_CARD.to_string(), Money(0)),
            (PAYPAL.to_string(), Money(4398))
        ]
    );
}

#[test]
fn modify_user_address_moves_the_name_zip_index() {
    let f = fixture();
    let text = f.ok(
        "modify_user_address",
        json!({
            "user_id": USER, "address1": "5 Pine Road", "city": "Austin", "state": "TX",
            "country": "USA", "zip": "73301"
        }),
    );
    assert!(
        text.contains("is now 5 Pine Road, Austin, TX 73301, USA"),
        "{text}"
    );
    f.ok(
        "find_user_id_by_name_zip",
        json!({"first_name": "Noah", "last_name": "Brown", "zip": "73301"}),
    );
    f.fail(
        "find_user_id_by_name_zip",
        json!({"first_name": "Noah", "last_name": "Brown", "zip": USER_ZIP}),
    );
    // Orders keep their shipping address.
    assert_eq!(f.order(ORDER_PENDING).address.city, "Denver");
}

#[test]
fn return_and_exchange_a_delivered_order() {
    let f = fixture();
    let r = f.call(
        "return_delivered_order_items",
        json!({
            "order_id": ORDER_DELIVERED, "item_ids": [TSHIRT_BLACK_M], "payment_method_id": PAYPAL
        }),
    );
    assert!(r.success, "{}", r.response);
    assert!(
        r.response
            .contains("$22.49 will be refunded to paypal_5650034"),
        "{}",
        r.response
    );
    assert_eq!(r.artifacts["order"]["status"], json!("return requested"));
    let order = f.order(ORDER_DELIVERED);
    assert_eq!(order.status, OrderStatus::ReturnRequested);
    assert_eq!(
        order.return_request.as_ref().map(|r| r.item_ids.clone()),
        Some(vec![TSHIRT_BLACK_M.to_string()])
    );
    // Once per order.
    let text = f.fail("exchange_delivered_order_items", json!({
        "order_id": ORDER_DELIVERED, "item_ids": [EARBUDS_BLACK], "new_item_ids": [EARBUDS_WHITE],
        "payment_method_id": GIFT_CARD
    }));
    assert!(
        text.contains("is return requested") && text.contains("only one is allowed"),
        "{text}"
    );

    let f = fixture();
    let r = f.call("exchange_delivered_order_items", json!({
        "order_id": ORDER_DELIVERED, "item_ids": [EARBUDS_BLACK], "new_item_ids": [EARBUDS_WHITE],
        "payment_method_id": GIFT_CARD
    }));
    assert!(r.success, "{}", r.response);
    assert!(
        r.response
            .contains("The price difference of $20.00 will be charged to gift_card_0123456"),
        "{}",
        r.response
    );
    let order = f.order(ORDER_DELIVERED);
    assert_eq!(order.status, OrderStatus::ExchangeRequested);
    let request = order.exchange_request.expect("exchange request");
    assert_eq!(request.new_item_ids, vec![EARBUDS_WHITE.to_string()]);
    assert_eq!(request.amount, Money(2000));
    // The order's items stay as delivered until the exchange is processed.
    assert_eq!(order.items[0].item_id, EARBUDS_BLACK);
    let text = f.fail(
        "return_delivered_order_items",
        json!({
            "order_id": ORDER_DELIVERED, "item_ids": [TSHIRT_BLACK_M], "payment_method_id": PAYPAL
        }),
    );
    assert!(text.contains("is exchange requested"), "{text}");
}

// ---------------------------------------------------------------------------------------------
// Changes: every rule's refusal

#[test]
fn only_pending_orders_can_be_cancelled_or_modified() {
    let f = fixture();
    let text = f.fail(
        "cancel_pending_order",
        json!({"order_id": ORDER_DELIVERED, "reason": "no longer needed"}),
    );
    assert!(
        text.contains("is delivered; only a pending order can be cancelled")
            && text.contains("returned or exchanged"),
        "{text}"
    );
    let text = f.fail(
        "cancel_pending_order",
        json!({"order_id": ORDER_PROCESSED, "reason": "no longer needed"}),
    );
    assert!(text.contains("already shipped"), "{text}");
    let text = f.fail(
        "cancel_pending_order",
        json!({"order_id": ORDER_PENDING, "reason": "too expensive"}),
    );
    assert!(
        text.contains("\"no longer needed\" or \"ordered by mistake\""),
        "{text}"
    );
    let text = f.fail(
        "modify_pending_order_address",
        json!({
            "order_id": ORDER_PROCESSED, "address1": "1 A St", "city": "X", "state": "CO",
            "country": "USA", "zip": "80302"
        }),
    );
    assert!(text.contains("is processed"), "{text}");
    let text = f.fail(
        "modify_pending_order_payment",
        json!({"order_id": ORDER_DELIVERED, "payment_method_id": CREDIT_CARD}),
    );
    assert!(text.contains("only a pending order"), "{text}");
    let text = f.fail("modify_pending_order_items", json!({
        "order_id": ORDER_DELIVERED, "item_ids": [TSHIRT_BLACK_M], "new_item_ids": [TSHIRT_BLUE_L],
        "payment_method_id": PAYPAL
    }));
    assert!(
        text.contains("only a pending order can be modified"),
        "{text}"
    );
    let text = f.fail(
        "modify_pending_order_items",
        json!({
            "order_id": ORDER_ITEM_MODIFIED, "item_ids": [TSHIRT_BLUE_L],
            "new_item_ids": [TSHIRT_BLUE_M], "payment_method_id": CREDIT_CARD
        }),
    );
    assert!(text.contains("already modified once"), "{text}");
    // An item-modified order is still pending for everything else.
    f.ok(
        "modify_pending_order_payment",
        json!({"order_id": ORDER_ITEM_MODIFIED, "payment_method_id": PAYPAL}),
    );
    f.ok(
        "cancel_pending_order",
        json!({"order_id": ORDER_ITEM_MODIFIED, "reason": "ordered by mistake"}),
    );
}

#[test]
fn only_delivered_orders_can_be_returned_or_exchanged() {
    let f = fixture();
    let text = f.fail(
        "return_delivered_order_items",
        json!({
            "order_id": ORDER_PENDING, "item_ids": [TSHIRT_BLUE_M], "payment_method_id": CREDIT_CARD
        }),
    );
    assert!(
        text.contains("is pending; only a delivered order can be returned")
            && text.contains("cancelled or modified"),
        "{text}"
    );
    let text = f.fail("exchange_delivered_order_items", json!({
        "order_id": ORDER_PROCESSED, "item_ids": [TSHIRT_WHITE_XL], "new_item_ids": [TSHIRT_BLUE_L],
        "payment_method_id": GIFT_CARD
    }));
    assert!(
        text.contains("only a delivered order can be exchanged"),
        "{text}"
    );
    let text = f.fail(
        "return_delivered_order_items",
        json!({
            "order_id": ORDER_CANCELLED, "item_ids": [BOTTLE_750_STEEL],
            "payment_method_id": CREDIT_CARD
        }),
    );
    assert!(text.contains("is cancelled"), "{text}");
}

#[test]
fn items_must_belong_to_the_order_and_new_items_must_fit() {
    let f = fixture();
    let modify = |item_ids: Value, new_item_ids: Value| {
        f.fail(
            "modify_pending_order_items",
            json!({
                "order_id": ORDER_PENDING, "item_ids": item_ids, "new_item_ids": new_item_ids,
                "payment_method_id": CREDIT_CARD
            }),
        )
    };
    let text = modify(json!([EARBUDS_BLACK]), json!([EARBUDS_WHITE]));
    assert!(
        text.contains(
            "Item 2290451863 is not part of order #W2611340; its items are: 3920175488, 1178420563"
        ),
        "{text}"
    );
    let text = modify(
        json!([TSHIRT_BLUE_M, TSHIRT_BLUE_M]),
        json!([TSHIRT_BLUE_L, TSHIRT_BLACK_M]),
    );
    assert!(
        text.contains("listed more times than order #W2611340 holds it"),
        "{text}"
    );
    let text = modify(json!([TSHIRT_BLUE_M]), json!([BOTTLE_750_GREEN]));
    assert!(
        text.contains("is not a variant of T-Shirt (product 4710385226)"),
        "{text}"
    );
    let text = modify(json!([TSHIRT_BLUE_M]), json!([TSHIRT_RED_S]));
    assert!(
        text.contains(
            "Item 2845019736 of T-Shirt (color: red, material: cotton, size: S) is not available"
        ),
        "{text}"
    );
    let text = modify(json!([TSHIRT_BLUE_M]), json!([TSHIRT_BLUE_M]));
    assert!(text.contains("replaced by itself"), "{text}");
    let text = modify(
        json!([TSHIRT_BLUE_M, BOTTLE_500_GREEN]),
        json!([TSHIRT_BLUE_L]),
    );
    assert!(
        text.contains("item_ids has 2 item(s) but new_item_ids has 1"),
        "{text}"
    );
    let text = modify(json!([]), json!([TSHIRT_BLUE_L]));
    assert!(
        text.contains("item_ids needs at least one item id"),
        "{text}"
    );

    let text = f.fail("exchange_delivered_order_items", json!({
        "order_id": ORDER_DELIVERED, "item_ids": [EARBUDS_BLACK], "new_item_ids": [EARBUDS_BLUE],
        "payment_method_id": PAYPAL
    }));
    assert!(text.contains("is not available"), "{text}");
    let text = f.fail(
        "return_delivered_order_items",
        json!({
            "order_id": ORDER_DELIVERED, "item_ids": [TSHIRT_BLUE_M], "payment_method_id": PAYPAL
        }),
    );
    assert!(text.contains("is not part of order #W4817420"), "{text}");
    // Nothing changed.
    assert_eq!(f.order(ORDER_PENDING).status, OrderStatus::Pending);
    assert_eq!(f.order(ORDER_DELIVERED).status, OrderStatus::Delivered);
}

#[test]
fn payment_methods_must_be_the_users_and_gift_cards_must_cover_the_amount() {
    let f = fixture();
    let text = f.fail(
        "modify_pending_order_payment",
        json!({"order_id": ORDER_PENDING, "payment_method_id": OTHER_CREDIT_CARD}),
    );
    assert!(
        text.contains(
            "credit_card_9072415 does not belong to noah_brown_6181; their payment methods are: \
             credit_card_4421983, gift_card_0123456, paypal_5650034"
        ),
        "{text}"
    );
    let text = f.fail(
        "modify_pending_order_payment",
        json!({"order_id": ORDER_PENDING, "payment_method_id": CREDIT_CARD}),
    );
    assert!(
        text.contains("already paid with credit_card_4421983"),
        "{text}"
    );
    let text = f.fail(
        "modify_pending_order_payment",
        json!({"order_id": ORDER_PENDING, "payment_method_id": GIFT_CARD}),
    );
    assert!(
        text.contains(
            "Gift card gift_card_0123456 has a balance of $30.00, less than the $43.98 order total"
        ),
        "{text}"
    );
    let text = f.fail(
        "modify_pending_order_items",
        json!({
            "order_id": ORDER_PENDING, "item_ids": [TSHIRT_BLUE_M], "new_item_ids": [TSHIRT_BLUE_L],
            "payment_method_id": OTHER_CREDIT_CARD
        }),
    );
    assert!(
        text.contains("does not belong to noah_brown_6181"),
        "{text}"
    );
    let text = f.fail(
        "exchange_delivered_order_items",
        json!({
            "order_id": OTHER_ORDER_DELIVERED, "item_ids": [BOTTLE_750_GREEN],
            "new_item_ids": [BOTTLE_750_STEEL], "payment_method_id": PAYPAL
        }),
    );
    assert!(
        text.contains("paypal_5650034 does not belong to sofia_garcia_3307"),
        "{text}"
    );
    // Refunds go to the original method or a gift card only.
    let text = f.fail("return_delivered_order_items", json!({
        "order_id": ORDER_DELIVERED, "item_ids": [EARBUDS_BLACK], "payment_method_id": CREDIT_CARD
    }));
    assert!(
        text.contains(
            "only to the payment method the order was paid with (paypal_5650034) or to one of the \
             user's gift cards"
        ),
        "{text}"
    );
    f.ok(
        "return_delivered_order_items",
        json!({
            "order_id": ORDER_DELIVERED, "item_ids": [EARBUDS_BLACK, TSHIRT_BLACK_M],
            "payment_method_id": GIFT_CARD
        }),
    );
    // A gift card too small for an exchange's difference: spend most of it first.
    let f = fixture();
    f.ok("modify_pending_order_items", json!({
        "order_id": ORDER_PENDING, "item_ids": [TSHIRT_BLUE_M], "new_item_ids": [TSHIRT_WHITE_XL],
        "payment_method_id": GIFT_CARD
    }));
    f.ok(
        "modify_pending_order_payment",
        json!({"order_id": ORDER_ITEM_MODIFIED, "payment_method_id": GIFT_CARD}),
    );
    assert_eq!(f.gift_balance(), Money(2849 - 2499));
    let text = f.fail("exchange_delivered_order_items", json!({
        "order_id": ORDER_DELIVERED, "item_ids": [EARBUDS_BLACK], "new_item_ids": [EARBUDS_WHITE],
        "payment_method_id": GIFT_CARD
    }));
    assert!(
        text.contains("balance of $3.50, less than the $20.00 price difference"),
        "{text}"
    );
}

#[test]
fn concurrent_item_modifications_apply_once() {
    let f = fixture();
    f.retail.ensure_seeded().expect("seed");
    let successes: usize = std::thread::scope(|scope| {
        let handles: Vec<_> = [
            TSHIRT_BLUE_L,
            TSHIRT_BLACK_M,
            TSHIRT_WHITE_XL,
            TSHIRT_BLUE_L,
        ]
        .into_iter()
        .map(|new_item| {
            let f = &f;
            scope.spawn(move || {
                f.call(
                    "modify_pending_order_items",
                    json!({
                        "order_id": ORDER_PENDING, "item_ids": [TSHIRT_BLUE_M],
                        "new_item_ids": [new_item], "payment_method_id": CREDIT_CARD
                    }),
                )
                .success
            })
        })
        .collect();
        handles
            .into_iter()
            .map(|h| usize::from(h.join().expect("thread")))
            .sum()
    });
    assert_eq!(successes, 1);
}

// ---------------------------------------------------------------------------------------------
// The metadata in tools/*.toml

fn tool_files() -> Vec<(PathBuf, toml::Table)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tools");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tools/ exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("readable");
            let table: toml::Table =
                toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (path, table)
        })
        .collect()
}

fn toml_to_json(value: &toml::Value) -> Value {
    serde_json::to_value(value).expect("toml values are JSON values")
}

#[test]
fn every_tool_file_has_a_handler_and_every_handler_a_tool_file() {
    let files = tool_files();
    let mut from_files = BTreeSet::new();
    for (path, table) in &files {
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("utf-8 name");
        let handler = table["run"]["handler"].as_str().expect("handler");
        assert_eq!(table["run"]["kind"].as_str(), Some("builtin"), "{stem}");
        assert_eq!(handler, format!("{HANDLER_PREFIX}{stem}"));
        from_files.insert(stem.to_string());
        let description = table["description"].as_str().expect("description");
        assert!(description.len() > 30, "{stem}: description too short");
        assert_eq!(table["context"].as_str(), Some("*"), "{stem}");
        let utterances = table["utterances"].as_array().expect("utterances");
        assert!(
            utterances.len() >= 6,
            "{stem}: {} utterances",
            utterances.len()
        );
        let annotations = table["annotations"].as_table().expect("annotations");
        let read_only = annotations.get("read_only").and_then(toml::Value::as_bool) == Some(true);
        let destructive = annotations
            .get("destructive")
            .and_then(toml::Value::as_bool)
            == Some(true);
        let is_change = stem.starts_with("cancel_")
            || stem.starts_with("modify_")
            || stem.contains("_delivered_");
        assert_eq!(destructive, is_change, "{stem}: destructive");
        assert!(!(read_only && destructive), "{stem}");
    }
    let from_code: BTreeSet<String> = handlers::HANDLERS
        .iter()
        .map(|(n, _)| n.to_string())
        .collect();
    assert_eq!(from_files, from_code);
    assert_eq!(from_code.len(), 15);
}

/// The examples of every parameter match its pattern/enum, and running every command with its
/// first examples on a fresh store succeeds: an LLM trying an example gets a real answer.
#[test]
fn tool_examples_are_valid_and_work_on_the_generated_data() {
    for (path, table) in tool_files() {
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("utf-8 name")
            .to_string();
        let mut params = Map::new();
        if let Some(parameters) = table.get("parameters").and_then(toml::Value::as_table) {
            for (name, spec) in parameters {
                let spec = spec.as_table().expect("parameter table");
                assert!(
                    spec.get("description")
                        .and_then(toml::Value::as_str)
                        .is_some(),
                    "{stem}.{name}"
                );
                let ty = spec["type"].as_str().expect("type");
                let examples = spec
                    .get("examples")
                    .and_then(toml::Value::as_array)
                    .expect("examples");
                assert!(!examples.is_empty(), "{stem}.{name}");
                for example in examples {
                    let (values, pattern) = match ty {
                        "array" => {
                            let items = spec["items"].as_table().expect("items");
                            let values: Vec<&str> = example
                                .as_array()
                                .expect("array example")
                                .iter()
                                .map(|v| v.as_str().expect("string item"))
                                .collect();
                            (values, items.get("pattern").and_then(toml::Value::as_str))
                        }
                        "string" => (
                            vec![example.as_str().expect("string example")],
                            spec.get("pattern").and_then(toml::Value::as_str),
                        ),
                        other => panic!("{stem}.{name}: unexpected type {other}"),
                    };
                    if let Some(pattern) = pattern {
                        let re = Regex::new(pattern).expect("pattern compiles");
                        for v in &values {
                            assert!(
                                re.is_match(v),
                                "{stem}.{name}: {v} does not match {pattern}"
                            );
                        }
                    }
                    if let Some(allowed) = spec.get("enum").and_then(toml::Value::as_array) {
                        assert!(
                            allowed.contains(example),
                            "{stem}.{name}: {example} not in enum"
                        );
                    }
                }
                params.insert(name.clone(), toml_to_json(&examples[0]));
            }
        }
        let f = fixture();
        let r = f.call(&stem, Value::Object(params));
        assert!(r.success, "{stem} with its examples failed: {}", r.response);
    }
}

/// Handlers read through the decoded-record cache: a record read before a change must not be
/// served after it, whichever command made the change.
#[test]
fn cached_records_follow_every_write() {
    let f = fixture();
    // Fill the cache with the order and its user.
    assert!(
        f.ok("get_order_details", json!({"order_id": ORDER_PENDING}))
            .contains("Denver")
    );
    assert!(
        f.ok("get_user_details", json!({"user_id": USER}))
            .contains("Denver")
    );
    assert_eq!(f.order(ORDER_PENDING).status, OrderStatus::Pending);

    f.ok(
        "modify_pending_order_address",
        json!({
            "order_id": ORDER_PENDING, "address1": "12 Oak Street", "city": "Boulder",
            "state": "CO", "country": "USA", "zip": "80302"
        }),
    );
    let details = f.ok("get_order_details", json!({"order_id": ORDER_PENDING}));
    assert!(
        details.contains("Boulder") && !details.contains("Denver"),
        "{details}"
    );

    f.ok(
        "modify_user_address",
        json!({
            "user_id": USER, "address1": "5 Pine Road", "city": "Austin", "state": "TX",
            "country": "USA", "zip": "73301"
        }),
    );
    let user = f.ok("get_user_details", json!({"user_id": USER}));
    assert!(
        user.contains("Austin") && !user.contains("Denver"),
        "{user}"
    );

    f.ok(
        "cancel_pending_order",
        json!({"order_id": ORDER_PENDING, "reason": "no longer needed"}),
    );
    assert_eq!(f.order(ORDER_PENDING).status, OrderStatus::Cancelled);
    assert!(
        f.ok("get_order_details", json!({"order_id": ORDER_PENDING}))
            .contains("cancelled")
    );

    // A fresh store over the same data reads the same, so nothing lived only in the cache.
    let Fixture {
        dir,
        retail,
        registry,
    } = f;
    drop((retail, registry));
    let (retail, _registry) = open(dir.path());
    let order = retail.order(ORDER_PENDING).expect("read").expect("exists");
    assert_eq!(
        (order.status, order.address.city.as_str()),
        (OrderStatus::Cancelled, "Boulder")
    );
}

/// The generated store is pinned: the planted records, the metadata's examples and the
/// phrasings were written against this data, so a change to `data/store.toml` or to the
/// generator that alters it must be deliberate (update the value, and check what it moved).
#[test]
fn the_generated_store_is_the_one_everything_was_written_against() {
    assert_eq!(
        format!("{:016x}", fingerprint(&generate::dataset(SEED))),
        "52f8c355afec136b"
    );
}
