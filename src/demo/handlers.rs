//! One handler per demo command. Each checks the store's rules and answers in sentences meant
//! for the customer or the LLM serving them, with the record as JSON in an artifact.
//!
//! A handler returns [`Outcome`]: `Err(Stop::Refuse)` is a business-rule failure whose text says
//! what is wrong and what to do instead; `Err(Stop::Internal)` is a storage problem. Commands
//! that change data hold [`Retail::lock`] from their first read to their single atomic write.

use serde_json::{Map, Value, json};

use crate::domain::CommandResponse;
use crate::exec::builtin::BuiltinRequest;

use super::model::{
    Address, AfterSaleRequest, Money, Order, OrderItem, OrderStatus, PaymentMethod, Product,
    Transaction, TransactionType, User, Variant, describe_options, keys,
};
use super::{Retail, calc, put_json};

/// Why a handler stopped early.
#[derive(Debug)]
pub(crate) enum Stop {
    /// The request breaks a rule or names something unknown; the text explains.
    Refuse(String),
    /// Storage or encoding failed.
    Internal(anyhow::Error),
}

impl From<anyhow::Error> for Stop {
    fn from(e: anyhow::Error) -> Self {
        Self::Internal(e)
    }
}

impl From<serde_json::Error> for Stop {
    fn from(e: serde_json::Error) -> Self {
        Self::Internal(e.into())
    }
}

pub(crate) type Outcome = Result<CommandResponse, Stop>;

/// A demo command's implementation.
pub(crate) type Handler = fn(&Retail, &BuiltinRequest<'_>) -> Outcome;

/// Every command of the demo, by name (the handler is `retail.<name>`).
pub(crate) const HANDLERS: &[(&str, Handler)] = &[
    ("find_user_id_by_email", find_user_id_by_email),
    ("find_user_id_by_name_zip", find_user_id_by_name_zip),
    ("get_user_details", get_user_details),
    ("get_order_details", get_order_details),
    ("get_product_details", get_product_details),
    ("list_all_product_types", list_all_product_types),
    ("calculate", calculate),
    ("cancel_pending_order", cancel_pending_order),
    ("modify_pending_order_address", modify_pending_order_address),
    ("modify_pending_order_items", modify_pending_order_items),
    ("modify_pending_order_payment", modify_pending_order_payment),
    ("modify_user_address", modify_user_address),
    ("return_delivered_order_items", return_delivered_order_items),
    (
        "exchange_delivered_order_items",
        exchange_delivered_order_items,
    ),
    ("transfer_to_human_agents", transfer_to_human_agents),
];

/// Run `handler` on a seeded store and turn its outcome into a response.
pub(crate) fn run(
    retail: &Retail,
    handler: Handler,
    request: &BuiltinRequest<'_>,
) -> CommandResponse {
    if let Err(e) = retail.ensure_seeded() {
        tracing::error!(error = %format!("{e:#}"), "demo store unavailable");
        return CommandResponse::fail(format!(
            "The store's data is not available right now ({e:#}). Please try again later."
        ));
    }
    match handler(retail, request) {
        Ok(response) => response,
        Err(Stop::Refuse(message)) => CommandResponse::fail(message),
        Err(Stop::Internal(e)) => {
            tracing::error!(
                command = request.command_name,
                error = %format!("{e:#}"),
                "demo store error"
            );
            CommandResponse::fail(format!(
                "The store could not complete {}: {e:#}. Nothing was changed; please try again \
                 later.",
                request.command_name
            ))
        }
    }
}

fn refuse<T>(message: impl Into<String>) -> Result<T, Stop> {
    Err(Stop::Refuse(message.into()))
}

// ---------------------------------------------------------------------------------------------
// Parameters

/// A required, non-empty string parameter, trimmed.
fn text<'a>(req: &BuiltinRequest<'a>, name: &str) -> Result<&'a str, Stop> {
    match req.str(name).map(str::trim) {
        Some(value) if !value.is_empty() => Ok(value),
        _ => refuse(format!("The parameter {name} is missing or empty.")),
    }
}

/// An optional string parameter, trimmed; empty when absent.
fn optional_text<'a>(req: &BuiltinRequest<'a>, name: &str) -> &'a str {
    req.str(name).map(str::trim).unwrap_or("")
}

/// A required, non-empty list of ids. Also takes numbers, and one comma-separated string.
fn id_list(req: &BuiltinRequest<'_>, name: &str) -> Result<Vec<String>, Stop> {
    let ids: Vec<String> = match req.params.get(name) {
        Some(Value::Array(values)) => values
            .iter()
            .filter_map(|v| match v {
                Value::String(s) => Some(s.trim().to_string()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .filter(|s| !s.is_empty())
            .collect(),
        Some(Value::String(s)) => s
            .split([',', ' '])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    };
    if ids.is_empty() {
        return refuse(format!(
            "The parameter {name} needs at least one item id (10 digits)."
        ));
    }
    Ok(ids)
}

/// `#W2611340` from `#W2611340`, `W2611340`, `w2611340` or `2611340`; anything else unchanged.
fn order_id_param(req: &BuiltinRequest<'_>) -> Result<String, Stop> {
    let raw = text(req, "order_id")?;
    let bare = raw.strip_prefix('#').unwrap_or(raw);
    let digits = bare.strip_prefix(['W', 'w']).unwrap_or(bare);
    if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
        Ok(format!("#W{digits}"))
    } else {
        Ok(raw.to_string())
    }
}

fn user_id_param(req: &BuiltinRequest<'_>) -> Result<String, Stop> {
    Ok(text(req, "user_id")?.to_lowercase())
}

fn address_params(req: &BuiltinRequest<'_>) -> Result<Address, Stop> {
    Ok(Address {
        address1: text(req, "address1")?.to_string(),
        address2: optional_text(req, "address2").to_string(),
        city: text(req, "city")?.to_string(),
        state: text(req, "state")?.to_string(),
        country: text(req, "country")?.to_string(),
        zip: text(req, "zip")?.to_string(),
    })
}

// ---------------------------------------------------------------------------------------------
// Loading, with the message that helps find a valid id

fn must_user(retail: &Retail, user_id: &str) -> Result<User, Stop> {
    match retail.user(user_id)? {
        Some(user) => Ok(user),
        None => refuse(format!(
            "No user {user_id}. Find the user id with find_user_id_by_email or \
             find_user_id_by_name_zip (user ids look like noah_brown_6181)."
        )),
    }
}

fn must_order(retail: &Retail, order_id: &str) -> Result<Order, Stop> {
    match retail.order(order_id)? {
        Some(order) => Ok(order),
        None => refuse(format!(
            "No order {order_id}. Use get_user_details to list a user's orders (order ids look \
             like #W2611340)."
        )),
    }
}

fn must_product(retail: &Retail, product_id: &str) -> Result<Product, Stop> {
    match retail.product(product_id)? {
        Some(product) => Ok(product),
        None => refuse(format!(
            "No product {product_id}. Use list_all_product_types to see the product ids \
             (an item id is not a product id; get_order_details shows each item's product id)."
        )),
    }
}

/// The user an order belongs to; its absence is a broken store, not a user mistake.
fn owner_of(retail: &Retail, order: &Order) -> Result<User, Stop> {
    retail.user(&order.user_id)?.ok_or_else(|| {
        Stop::Internal(anyhow::anyhow!(
            "order {} refers to the unknown user {}",
            order.order_id,
            order.user_id
        ))
    })
}

/// The user's payment method `id`, or a refusal listing theirs.
fn users_method<'u>(user: &'u User, id: &str) -> Result<&'u PaymentMethod, Stop> {
    match user.payment_method(id) {
        Some(method) => Ok(method),
        None => refuse(format!(
            "Payment method {id} does not belong to {}; their payment methods are: {}.",
            user.user_id,
            user.payment_method_ids()
        )),
    }
}

/// Refuse when `method` is a gift card whose balance does not cover `amount`.
fn check_balance(method: &PaymentMethod, amount: Money, what: &str) -> Result<(), Stop> {
    if let PaymentMethod::GiftCard { id, balance } = method
        && amount > *balance
    {
        return refuse(format!(
            "Gift card {id} has a balance of {balance}, less than the {amount} {what}. \
             Choose another payment method."
        ));
    }
    Ok(())
}

/// Add `delta` to a gift card's balance (nothing for other methods).
fn adjust_balance(user: &mut User, method_id: &str, delta: Money) -> bool {
    if let Some(PaymentMethod::GiftCard { balance, .. }) = user.payment_method_mut(method_id) {
        *balance = *balance + delta;
        return true;
    }
    false
}

/// The positions in `order.items` of `item_ids`, each order line used at most once.
fn find_items(order: &Order, item_ids: &[String]) -> Result<Vec<usize>, Stop> {
    let mut taken: Vec<usize> = Vec::new();
    for id in item_ids {
        let free = order
            .items
            .iter()
            .enumerate()
            .position(|(i, item)| item.item_id == *id && !taken.contains(&i));
        match free {
            Some(i) => taken.push(i),
            None if order.items.iter().any(|item| item.item_id == *id) => {
                return refuse(format!(
                    "Item {id} is listed more times than order {} holds it.",
                    order.order_id
                ));
            }
            None => {
                let ids: Vec<&str> = order.items.iter().map(|i| i.item_id.as_str()).collect();
                return refuse(format!(
                    "Item {id} is not part of order {}; its items are: {}. \
                     (Item ids are 10 digits; get_order_details lists them.)",
                    order.order_id,
                    ids.join(", ")
                ));
            }
        }
    }
    Ok(taken)
}

/// For each old order line, the variant replacing it: same product, available, different.
fn replacements(
    retail: &Retail,
    order: &Order,
    positions: &[usize],
    new_item_ids: &[String],
) -> Result<Vec<(usize, Variant)>, Stop> {
    if positions.len() != new_item_ids.len() {
        return refuse(format!(
            "item_ids has {} item(s) but new_item_ids has {}; give exactly one new item per item \
             to replace, in the same order.",
            positions.len(),
            new_item_ids.len()
        ));
    }
    let mut out = Vec::new();
    for (&pos, new_id) in positions.iter().zip(new_item_ids) {
        let Some(old) = order.items.get(pos) else {
            return Err(Stop::Internal(anyhow::anyhow!("order line {pos} vanished")));
        };
        let product = must_product(retail, &old.product_id)?;
        let Some(variant) = product.variants.get(new_id) else {
            return refuse(format!(
                "Item {new_id} is not a variant of {} (product {}), the product of item {}. \
                 A new item must be of the same product; see get_product_details product_id={}.",
                product.name, product.product_id, old.item_id, product.product_id
            ));
        };
        if variant.item_id == old.item_id {
            return refuse(format!(
                "Item {} would be replaced by itself; choose a different variant of {}.",
                old.item_id, product.name
            ));
        }
        if !variant.available {
            return refuse(format!(
                "Item {new_id} of {} ({}) is not available. See get_product_details product_id={} \
                 for the available ones.",
                product.name,
                describe_options(&variant.options),
                product.product_id
            ));
        }
        out.push((pos, variant.clone()));
    }
    Ok(out)
}

/// Why an order in `status` cannot be `action`ed, with what can be done instead.
fn wrong_status(order: &Order, action: &str, needed: &str) -> Stop {
    let hint = match order.status {
        OrderStatus::Pending | OrderStatus::PendingItemModified => {
            " It has not shipped yet: it can be cancelled or modified instead."
        }
        OrderStatus::Processed => " It has already shipped, so it can no longer be changed.",
        OrderStatus::Delivered => " It can be returned or exchanged instead.",
        OrderStatus::Cancelled => " It can no longer be changed.",
        OrderStatus::ReturnRequested | OrderStatus::ExchangeRequested => {
            " A return or exchange was already requested for it, and only one is allowed per order."
        }
    };
    Stop::Refuse(format!(
        "Order {} is {}; only a {needed} order can be {action}.{hint}",
        order.order_id, order.status
    ))
}

fn save(puts: &mut Vec<(String, Vec<u8>)>, order: &Order, user: Option<&User>) -> Result<(), Stop> {
    put_json(puts, keys::order(&order.order_id), order)?;
    if let Some(user) = user {
        put_json(puts, keys::user(&user.user_id), user)?;
    }
    Ok(())
}

fn params_of(pairs: &[(&str, &str)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect()
}

fn when_refunded(user: &User, method_id: &str) -> &'static str {
    match user.payment_method(method_id) {
        Some(m) if m.is_gift_card() => "added to the gift card balance now",
        _ => "within 5 to 7 business days",
    }
}

// ---------------------------------------------------------------------------------------------
// Lookups

fn find_user_id_by_email(retail: &Retail, req: &BuiltinRequest<'_>) -> Outcome {
    let email = text(req, "email")?;
    match retail.lookup(&keys::email(email))? {
        Some(user_id) => Ok(
            CommandResponse::ok(format!("The user id of {email} is {user_id}."))
                .with_artifact("user_id", json!(user_id))
                .with_next_action("get_user_details", params_of(&[("user_id", &user_id)])),
        ),
        None => refuse(format!(
            "No user has the email {email}. Check its spelling, or find the user with \
             find_user_id_by_name_zip (first name, last name and zip code)."
        )),
    }
}

fn find_user_id_by_name_zip(retail: &Retail, req: &BuiltinRequest<'_>) -> Outcome {
    let first = text(req, "first_name")?;
    let last = text(req, "last_name")?;
    let zip = text(req, "zip")?;
    match retail.lookup(&keys::name_zip(first, last, zip))? {
        Some(user_id) => Ok(CommandResponse::ok(format!(
            "The user id of {first} {last} (zip {zip}) is {user_id}."
        ))
        .with_artifact("user_id", json!(user_id))
        .with_next_action("get_user_details", params_of(&[("user_id", &user_id)]))),
        None => refuse(format!(
            "No user named {first} {last} with the zip code {zip}. Check the spelling and the zip \
             code of the user's default address, or find the user with find_user_id_by_email."
        )),
    }
}

fn get_user_details(retail: &Retail, req: &BuiltinRequest<'_>) -> Outcome {
    let user_id = user_id_param(req)?;
    let user = must_user(retail, &user_id)?;
    let methods: Vec<String> = user
        .payment_methods
        .iter()
        .map(PaymentMethod::describe)
        .collect();
    let mut orders = Vec::new();
    let mut order_texts = Vec::new();
    for order_id in &user.orders {
        let status = match retail.order(order_id)? {
            Some(order) => order.status.as_str(),
            None => "unknown",
        };
        order_texts.push(format!("{order_id} ({status})"));
        orders.push(json!({ "order_id": order_id, "status": status }));
    }
    let orders_text = if order_texts.is_empty() {
        "no orders".to_string()
    } else {
        format!("{} order(s): {}", order_texts.len(), order_texts.join(", "))
    };
    let text = format!(
        "User {} is {}, email {}, default address {}. Payment methods: {}. {}.",
        user.user_id,
        user.full_name(),
        user.email,
        user.address,
        methods.join("; "),
        capitalise_first(&orders_text),
    );
    Ok(CommandResponse::ok(text)
        .with_artifact("user", serde_json::to_value(&user)?)
        .with_artifact("orders", Value::Array(orders)))
}

fn get_order_details(retail: &Retail, req: &BuiltinRequest<'_>) -> Outcome {
    let order_id = order_id_param(req)?;
    let order = must_order(retail, &order_id)?;
    let items: Vec<String> = order.items.iter().map(OrderItem::describe).collect();
    let mut text = format!(
        "Order {} of user {} is {}. Items: {}. Total: {}. Shipping address: {}.",
        order.order_id,
        order.user_id,
        order.status,
        items.join("; "),
        order.total(),
        order.address
    );
    let payments: Vec<String> = order
        .payment_history
        .iter()
        .map(|t| {
            let kind = match t.transaction_type {
                TransactionType::Payment => "paid with",
                TransactionType::Refund => "refunded to",
            };
            format!("{} {kind} {}", t.amount, t.payment_method_id)
        })
        .collect();
    if !payments.is_empty() {
        text.push_str(&format!(" Payments: {}.", payments.join("; ")));
    }
    let tracking: Vec<&str> = order
        .fulfilments
        .iter()
        .flat_map(|f| f.tracking_ids.iter().map(String::as_str))
        .collect();
    if !tracking.is_empty() {
        text.push_str(&format!(" Tracking number(s): {}.", tracking.join(", ")));
    }
    if let Some(reason) = &order.cancel_reason {
        text.push_str(&format!(" Cancelled because: {reason}."));
    }
    if let Some(r) = &order.return_request {
        text.push_str(&format!(
            " Return requested for item(s) {}; {} to be refunded to {}.",
            r.item_ids.join(", "),
            r.amount,
            r.payment_method_id
        ));
    }
    if let Some(r) = &order.exchange_request {
        text.push_str(&format!(
            " Exchange requested of item(s) {} for {}; price difference {} with {}.",
            r.item_ids.join(", "),
            r.new_item_ids.join(", "),
            r.amount,
            r.payment_method_id
        ));
    }
    text.push_str(match order.status {
        OrderStatus::Pending => {
            " It has not shipped yet: it can be cancelled, or its address, payment method or items \
             (once) changed."
        }
        OrderStatus::PendingItemModified => {
            " It has not shipped yet: it can be cancelled or its address or payment method \
             changed; its items were already modified once."
        }
        OrderStatus::Delivered => " Its items can be returned or exchanged (once).",
        OrderStatus::Processed => " It has shipped and can no longer be changed.",
        _ => "",
    });
    Ok(CommandResponse::ok(text).with_artifact("order", serde_json::to_value(&order)?))
}

fn get_product_details(retail: &Retail, req: &BuiltinRequest<'_>) -> Outcome {
    let product_id = text(req, "product_id")?;
    let product = must_product(retail, product_id)?;
    let available = product.variants.values().filter(|v| v.available).count();
    let variants: Vec<String> = product
        .variants
        .values()
        .map(|v| {
            format!(
                "item {} ({}) {}, {}",
                v.item_id,
                describe_options(&v.options),
                v.price,
                if v.available {
                    "available"
                } else {
                    "not available"
                }
            )
        })
        .collect();
    let text = format!(
        "{} (product {}) has {} variant(s), {available} available: {}.",
        product.name,
        product.product_id,
        product.variants.len(),
        variants.join("; ")
    );
    Ok(CommandResponse::ok(text).with_artifact("product", serde_json::to_value(&product)?))
}

fn list_all_product_types(retail: &Retail, _req: &BuiltinRequest<'_>) -> Outcome {
    let mut products = retail.products()?;
    products.sort_by(|a, b| a.name.cmp(&b.name));
    let listed: Vec<String> = products
        .iter()
        .map(|p| format!("{} ({})", p.name, p.product_id))
        .collect();
    let types: Map<String, Value> = products
        .iter()
        .map(|p| (p.name.clone(), json!(p.product_id)))
        .collect();
    Ok(CommandResponse::ok(format!(
        "The store sells {} product types (product id in parentheses): {}.",
        products.len(),
        listed.join(", ")
    ))
    .with_artifact("product_types", Value::Object(types)))
}

fn calculate(_retail: &Retail, req: &BuiltinRequest<'_>) -> Outcome {
    let expression = text(req, "expression")?;
    match calc::evaluate(expression) {
        Ok(value) => {
            let rounded = calc::round2(value);
            Ok(
                CommandResponse::ok(format!("{expression} = {}", calc::format2(value)))
                    .with_artifact("result", json!(rounded)),
            )
        }
        Err(e) => refuse(format!("Cannot calculate \"{expression}\": {e}.")),
    }
}

fn transfer_to_human_agents(_retail: &Retail, req: &BuiltinRequest<'_>) -> Outcome {
    let summary = text(req, "summary")?;
    Ok(CommandResponse::ok(format!(
        "Transferring you to a human agent, who will take over this conversation shortly. \
         They receive this summary: {summary}"
    ))
    .with_artifact(
        "transfer",
        json!({ "summary": summary, "channel_id": req.channel_id, "user_id": req.user_id }),
    ))
}

// ---------------------------------------------------------------------------------------------
// Changes

const CANCEL_REASONS: [&str; 2] = ["no longer needed", "ordered by mistake"];

fn cancel_pending_order(retail: &Retail, req: &BuiltinRequest<'_>) -> Outcome {
    let order_id = order_id_param(req)?;
    let reason = text(req, "reason")?.to_lowercase();
    if !CANCEL_REASONS.contains(&reason.as_str()) {
        return refuse(format!(
            "The reason must be \"no longer needed\" or \"ordered by mistake\", not \"{reason}\"."
        ));
    }
    let _guard = retail.lock();
    let mut order = must_order(retail, &order_id)?;
    if !order.status.is_pending() {
        return Err(wrong_status(&order, "cancelled", "pending"));
    }
    let mut user = owner_of(retail, &order)?;
    let mut user_changed = false;
    let mut refunds = Vec::new();
    for (method_id, net) in order.net_paid_by_method() {
        if net.cents() <= 0 {
            continue;
        }
        order.payment_history.push(Transaction {
            transaction_type: TransactionType::Refund,
            amount: net,
            payment_method_id: method_id.clone(),
        });
        user_changed |= adjust_balance(&mut user, &method_id, net);
        refunds.push(format!(
            "{net} to {method_id} ({})",
            when_refunded(&user, &method_id)
        ));
    }
    order.status = OrderStatus::Cancelled;
    order.cancel_reason = Some(reason.clone());
    let mut puts = Vec::new();
    save(&mut puts, &order, user_changed.then_some(&user))?;
    retail.commit(puts, Vec::new())?;
    let refund_text = if refunds.is_empty() {
        "Nothing had been paid, so nothing is refunded.".to_string()
    } else {
        format!("Refund: {}.", refunds.join("; "))
    };
    Ok(CommandResponse::ok(format!(
        "Order {order_id} is now cancelled (reason: {reason}). {refund_text}"
    ))
    .with_artifact("order", serde_json::to_value(&order)?))
}

fn modify_pending_order_address(retail: &Retail, req: &BuiltinRequest<'_>) -> Outcome {
    let order_id = order_id_param(req)?;
    let address = address_params(req)?;
    let _guard = retail.lock();
    let mut order = must_order(retail, &order_id)?;
    if !order.status.is_pending() {
        return Err(wrong_status(&order, "given a new address", "pending"));
    }
    let old = std::mem::replace(&mut order.address, address);
    let mut puts = Vec::new();
    save(&mut puts, &order, None)?;
    retail.commit(puts, Vec::new())?;
    Ok(CommandResponse::ok(format!(
        "Order {order_id} will now ship to {} (it was {old}).",
        order.address
    ))
    .with_artifact("order", serde_json::to_value(&order)?))
}

fn modify_pending_order_items(retail: &Retail, req: &BuiltinRequest<'_>) -> Outcome {
    let order_id = order_id_param(req)?;
    let item_ids = id_list(req, "item_ids")?;
    let new_item_ids = id_list(req, "new_item_ids")?;
    let method_id = text(req, "payment_method_id")?;
    let _guard = retail.lock();
    let mut order = must_order(retail, &order_id)?;
    match order.status {
        OrderStatus::Pending => {}
        OrderStatus::PendingItemModified => {
            return refuse(format!(
                "The items of order {order_id} were already modified once and cannot be modified \
                 again. The order can still be cancelled, or its address or payment method changed."
            ));
        }
        _ => return Err(wrong_status(&order, "modified", "pending")),
    }
    let positions = find_items(&order, &item_ids)?;
    let swaps = replacements(retail, &order, &positions, &new_item_ids)?;
    let mut user = owner_of(retail, &order)?;
    let method = users_method(&user, method_id)?.clone();
    let old_sum: Money = positions
        .iter()
        .filter_map(|&p| order.items.get(p))
        .map(|i| i.price)
        .sum();
    let new_sum: Money = swaps.iter().map(|(_, v)| v.price).sum();
    let difference = new_sum - old_sum;
    check_balance(&method, difference, "price difference")?;

    let mut changes = Vec::new();
    for (pos, variant) in &swaps {
        if let Some(item) = order.items.get_mut(*pos) {
            changes.push(format!(
                "item {} ({}) is now item {} ({}, {})",
                item.item_id,
                describe_options(&item.options),
                variant.item_id,
                describe_options(&variant.options),
                variant.price
            ));
            item.item_id = variant.item_id.clone();
            item.options = variant.options.clone();
            item.price = variant.price;
        }
    }
    let money_text = record_difference(&mut order, &mut user, &method, difference);
    order.status = OrderStatus::PendingItemModified;
    let mut puts = Vec::new();
    save(&mut puts, &order, method.is_gift_card().then_some(&user))?;
    retail.commit(puts, Vec::new())?;
    Ok(CommandResponse::ok(format!(
        "Order {order_id} was modified: {}. {money_text} New total: {}. The status is now \"{}\": \
         its items cannot be modified again.",
        changes.join("; "),
        order.total(),
        order.status
    ))
    .with_artifact("order", serde_json::to_value(&order)?))
}

/// Charge (positive) or refund (negative) `difference` on `method`, in the order's history and
/// a gift card's balance; the sentence says what happened.
fn record_difference(
    order: &mut Order,
    user: &mut User,
    method: &PaymentMethod,
    difference: Money,
) -> String {
    let id = method.id().to_string();
    if difference.cents() == 0 {
        return "The price is the same, so nothing was charged or refunded.".to_string();
    }
    let (kind, sentence) = if difference.cents() > 0 {
        (
            TransactionType::Payment,
            format!("The price difference of {difference} was charged to {id}."),
        )
    } else {
        let amount = difference.abs();
        (
            TransactionType::Refund,
            format!(
                "The price difference of {amount} is refunded to {id} ({}).",
                when_refunded(user, &id)
            ),
        )
    };
    order.payment_history.push(Transaction {
        transaction_type: kind,
        amount: difference.abs(),
        payment_method_id: id.clone(),
    });
    adjust_balance(user, &id, Money(0) - difference);
    sentence
}

fn modify_pending_order_payment(retail: &Retail, req: &BuiltinRequest<'_>) -> Outcome {
    let order_id = order_id_param(req)?;
    let method_id = text(req, "payment_method_id")?;
    let _guard = retail.lock();
    let mut order = must_order(retail, &order_id)?;
    if !order.status.is_pending() {
        return Err(wrong_status(
            &order,
            "given a new payment method",
            "pending",
        ));
    }
    let mut user = owner_of(retail, &order)?;
    let method = users_method(&user, method_id)?.clone();
    let nets = order.net_paid_by_method();
    let paid_by_new: Money = nets
        .iter()
        .filter(|(id, _)| id == method_id)
        .map(|(_, m)| *m)
        .sum();
    let paid_by_others: Vec<(String, Money)> = nets
        .into_iter()
        .filter(|(id, m)| id != method_id && m.cents() > 0)
        .collect();
    if paid_by_others.is_empty() {
        return refuse(format!(
            "Order {order_id} is already paid with {method_id}. Choose a different payment method \
             of {}: {}.",
            user.user_id,
            user.payment_method_ids()
        ));
    }
    let total = order.total();
    let charge = total - paid_by_new;
    check_balance(&method, charge, "order total")?;

    let mut user_changed = false;
    if charge.cents() > 0 {
        order.payment_history.push(Transaction {
            transaction_type: TransactionType::Payment,
            amount: charge,
            payment_method_id: method_id.to_string(),
        });
        user_changed |= adjust_balance(&mut user, method_id, Money(0) - charge);
    }
    let mut refunds = Vec::new();
    for (old_id, amount) in &paid_by_others {
        order.payment_history.push(Transaction {
            transaction_type: TransactionType::Refund,
            amount: *amount,
            payment_method_id: old_id.clone(),
        });
        user_changed |= adjust_balance(&mut user, old_id, *amount);
        refunds.push(format!(
            "{amount} to {old_id} ({})",
            when_refunded(&user, old_id)
        ));
    }
    let mut puts = Vec::new();
    save(&mut puts, &order, user_changed.then_some(&user))?;
    retail.commit(puts, Vec::new())?;
    Ok(CommandResponse::ok(format!(
        "Order {order_id} is now paid with {}: {charge} charged. Refunded: {}.",
        method.describe(),
        refunds.join("; ")
    ))
    .with_artifact("order", serde_json::to_value(&order)?))
}

fn modify_user_address(retail: &Retail, req: &BuiltinRequest<'_>) -> Outcome {
    let user_id = user_id_param(req)?;
    let address = address_params(req)?;
    let _guard = retail.lock();
    let mut user = must_user(retail, &user_id)?;
    let old_key = keys::name_zip(
        &user.name.first_name,
        &user.name.last_name,
        &user.address.zip,
    );
    let new_key = keys::name_zip(&user.name.first_name, &user.name.last_name, &address.zip);
    let mut deletes = Vec::new();
    let mut puts = Vec::new();
    if old_key != new_key {
        if let Some(other) = retail.lookup(&new_key)?
            && other != user.user_id
        {
            return refuse(format!(
                "Another customer named {} already has the zip code {}, so this address cannot be \
                 saved here; transfer to a human agent to update it.",
                user.full_name(),
                address.zip
            ));
        }
        if retail.lookup(&old_key)?.as_deref() == Some(user.user_id.as_str()) {
            deletes.push(old_key);
        }
        puts.push((new_key, user.user_id.clone().into_bytes()));
    }
    let old = std::mem::replace(&mut user.address, address);
    put_json(&mut puts, keys::user(&user.user_id), &user)?;
    retail.commit(puts, deletes)?;
    Ok(CommandResponse::ok(format!(
        "The default address of {} is now {} (it was {old}). Orders already placed keep their \
         shipping address.",
        user.user_id, user.address
    ))
    .with_artifact("user", serde_json::to_value(&user)?))
}

fn return_delivered_order_items(retail: &Retail, req: &BuiltinRequest<'_>) -> Outcome {
    let order_id = order_id_param(req)?;
    let item_ids = id_list(req, "item_ids")?;
    let method_id = text(req, "payment_method_id")?;
    let _guard = retail.lock();
    let mut order = must_order(retail, &order_id)?;
    if order.status != OrderStatus::Delivered {
        return Err(wrong_status(&order, "returned", "delivered"));
    }
    let positions = find_items(&order, &item_ids)?;
    let user = owner_of(retail, &order)?;
    let method = users_method(&user, method_id)?;
    let paid_with = order.paid_with();
    if !method.is_gift_card() && !paid_with.contains(&method_id) {
        return refuse(format!(
            "A refund can go only to the payment method the order was paid with ({}) or to one of \
             the user's gift cards, not to {method_id}.",
            paid_with.join(", ")
        ));
    }
    let returned: Vec<&OrderItem> = positions
        .iter()
        .filter_map(|&p| order.items.get(p))
        .collect();
    let amount: Money = returned.iter().map(|i| i.price).sum();
    let described: Vec<String> = returned.iter().map(|i| i.describe()).collect();
    order.return_request = Some(AfterSaleRequest {
        item_ids: returned.iter().map(|i| i.item_id.clone()).collect(),
        new_item_ids: Vec::new(),
        payment_method_id: method_id.to_string(),
        amount,
    });
    order.status = OrderStatus::ReturnRequested;
    let mut puts = Vec::new();
    save(&mut puts, &order, None)?;
    retail.commit(puts, Vec::new())?;
    Ok(CommandResponse::ok(format!(
        "Return requested for order {order_id}: {}. {amount} will be refunded to {method_id} once \
         the items are back; the customer will receive an email with the return instructions.",
        described.join("; ")
    ))
    .with_artifact("order", serde_json::to_value(&order)?))
}

fn exchange_delivered_order_items(retail: &Retail, req: &BuiltinRequest<'_>) -> Outcome {
    let order_id = order_id_param(req)?;
    let item_ids = id_list(req, "item_ids")?;
    let new_item_ids = id_list(req, "new_item_ids")?;
    let method_id = text(req, "payment_method_id")?;
    let _guard = retail.lock();
    let mut order = must_order(retail, &order_id)?;
    if order.status != OrderStatus::Delivered {
        return Err(wrong_status(&order, "exchanged", "delivered"));
    }
    let positions = find_items(&order, &item_ids)?;
    let swaps = replacements(retail, &order, &positions, &new_item_ids)?;
    let user = owner_of(retail, &order)?;
    let method = users_method(&user, method_id)?;
    let old_sum: Money = positions
        .iter()
        .filter_map(|&p| order.items.get(p))
        .map(|i| i.price)
        .sum();
    let new_sum: Money = swaps.iter().map(|(_, v)| v.price).sum();
    let difference = new_sum - old_sum;
    check_balance(method, difference, "price difference")?;
    let changes: Vec<String> = swaps
        .iter()
        .filter_map(|(pos, v)| {
            let old = order.items.get(*pos)?;
            Some(format!(
                "item {} ({}) for item {} ({}, {})",
                old.item_id,
                describe_options(&old.options),
                v.item_id,
                describe_options(&v.options),
                v.price
            ))
        })
        .collect();
    let money_text = match difference.cents() {
        0 => "The price is the same, so nothing will be charged or refunded.".to_string(),
        c if c > 0 => {
            format!("The price difference of {difference} will be charged to {method_id}.")
        }
        _ => format!(
            "The price difference of {} will be refunded to {method_id}.",
            difference.abs()
        ),
    };
    order.exchange_request = Some(AfterSaleRequest {
        item_ids: positions
            .iter()
            .filter_map(|&p| order.items.get(p))
            .map(|i| i.item_id.clone())
            .collect(),
        new_item_ids: swaps.iter().map(|(_, v)| v.item_id.clone()).collect(),
        payment_method_id: method_id.to_string(),
        amount: difference,
    });
    order.status = OrderStatus::ExchangeRequested;
    let mut puts = Vec::new();
    save(&mut puts, &order, None)?;
    retail.commit(puts, Vec::new())?;
    Ok(CommandResponse::ok(format!(
        "Exchange requested for order {order_id}: {}. {money_text} The customer will receive an \
         email with instructions to send the items back; the new items ship once they arrive.",
        changes.join("; ")
    ))
    .with_artifact("order", serde_json::to_value(&order)?))
}

fn capitalise_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
