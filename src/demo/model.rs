//! The records of the demo store (users, orders, products) and how they are keyed in RocksDB.
//!
//! Records are stored as JSON; money is held as whole cents ([`Money`]) and written as a decimal
//! number of dollars, so the JSON an LLM reads says `24.99`, never `2499`.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An amount of US dollars, in cents.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Money(pub(crate) i64);

impl Money {
    pub(crate) fn cents(self) -> i64 {
        self.0
    }

    pub(crate) fn abs(self) -> Self {
        Self(self.0.abs())
    }
}

impl std::ops::Add for Money {
    type Output = Self;
    fn add(self, rhs: Self) -> Self {
        Self(self.0.saturating_add(rhs.0))
    }
}

impl std::ops::Sub for Money {
    type Output = Self;
    fn sub(self, rhs: Self) -> Self {
        Self(self.0.saturating_sub(rhs.0))
    }
}

impl std::iter::Sum for Money {
    fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
        iter.fold(Self(0), |a, b| a + b)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}${}.{:02}", abs / 100, abs % 100)
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Exact for every amount below 2^53 cents; serde_json prints the shortest form (24.99).
        serializer.serialize_f64(self.0 as f64 / 100.0)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let dollars = f64::deserialize(deserializer)?;
        if !dollars.is_finite() || dollars.abs() > 1e13 {
            return Err(serde::de::Error::custom(format!(
                "amount out of range: {dollars}"
            )));
        }
        Ok(Self((dollars * 100.0).round() as i64))
    }
}

/// A postal address (of a user's profile, or where an order ships).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Address {
    pub(crate) address1: String,
    #[serde(default)]
    pub(crate) address2: String,
    pub(crate) city: String,
    pub(crate) state: String,
    pub(crate) country: String,
    pub(crate) zip: String,
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.address1)?;
        if !self.address2.is_empty() {
            write!(f, ", {}", self.address2)?;
        }
        write!(
            f,
            ", {}, {} {}, {}",
            self.city, self.state, self.zip, self.country
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Name {
    pub(crate) first_name: String,
    pub(crate) last_name: String,
}

/// One way a user can pay; `id` looks like `credit_card_4421983`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub(crate) enum PaymentMethod {
    CreditCard {
        id: String,
        brand: String,
        last_four: String,
    },
    GiftCard {
        id: String,
        balance: Money,
    },
    Paypal {
        id: String,
    },
}

impl PaymentMethod {
    pub(crate) fn id(&self) -> &str {
        match self {
            Self::CreditCard { id, .. } | Self::GiftCard { id, .. } | Self::Paypal { id } => id,
        }
    }

    pub(crate) fn is_gift_card(&self) -> bool {
        matches!(self, Self::GiftCard { .. })
    }

    /// "visa credit card ending in 7310 (credit_card_4421983)", for sentences.
    pub(crate) fn describe(&self) -> String {
        match self {
            Self::CreditCard {
                id,
                brand,
                last_four,
            } => {
                format!("{brand} credit card ending in {last_four} ({id})")
            }
            Self::GiftCard { id, balance } => {
                format!("gift card with a balance of {balance} ({id})")
            }
            Self::Paypal { id } => format!("PayPal ({id})"),
        }
    }
}

/// A customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct User {
    pub(crate) user_id: String,
    pub(crate) name: Name,
    pub(crate) email: String,
    pub(crate) address: Address,
    pub(crate) payment_methods: Vec<PaymentMethod>,
    /// Order ids, oldest first.
    pub(crate) orders: Vec<String>,
}

impl User {
    pub(crate) fn full_name(&self) -> String {
        format!("{} {}", self.name.first_name, self.name.last_name)
    }

    pub(crate) fn payment_method(&self, id: &str) -> Option<&PaymentMethod> {
        self.payment_methods.iter().find(|m| m.id() == id)
    }

    pub(crate) fn payment_method_mut(&mut self, id: &str) -> Option<&mut PaymentMethod> {
        self.payment_methods.iter_mut().find(|m| m.id() == id)
    }

    /// "credit_card_4421983, paypal_5650034", for messages.
    pub(crate) fn payment_method_ids(&self) -> String {
        let ids: Vec<&str> = self.payment_methods.iter().map(PaymentMethod::id).collect();
        ids.join(", ")
    }
}

/// Where an order is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum OrderStatus {
    #[serde(rename = "pending")]
    Pending,
    /// Pending, and its items were already modified once (they cannot be modified again).
    #[serde(rename = "pending (item modified)")]
    PendingItemModified,
    /// Shipped, on its way.
    #[serde(rename = "processed")]
    Processed,
    #[serde(rename = "delivered")]
    Delivered,
    #[serde(rename = "cancelled")]
    Cancelled,
    #[serde(rename = "return requested")]
    ReturnRequested,
    #[serde(rename = "exchange requested")]
    ExchangeRequested,
}

impl OrderStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::PendingItemModified => "pending (item modified)",
            Self::Processed => "processed",
            Self::Delivered => "delivered",
            Self::Cancelled => "cancelled",
            Self::ReturnRequested => "return requested",
            Self::ExchangeRequested => "exchange requested",
        }
    }

    /// Not shipped yet: may be cancelled, or have its address or payment changed.
    pub(crate) fn is_pending(self) -> bool {
        matches!(self, Self::Pending | Self::PendingItemModified)
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One line of an order: a product variant at the price it was bought.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct OrderItem {
    pub(crate) item_id: String,
    pub(crate) product_id: String,
    /// The product type's name, e.g. "T-Shirt".
    pub(crate) name: String,
    pub(crate) options: BTreeMap<String, String>,
    pub(crate) price: Money,
}

impl OrderItem {
    /// "T-Shirt, item 3920175488 of product 4710385226 (color: blue, size: M), $24.99".
    pub(crate) fn describe(&self) -> String {
        format!(
            "{}, item {} of product {} ({}), {}",
            self.name,
            self.item_id,
            self.product_id,
            describe_options(&self.options),
            self.price
        )
    }
}

/// "color: blue, size: M".
pub(crate) fn describe_options(options: &BTreeMap<String, String>) -> String {
    let parts: Vec<String> = options.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    parts.join(", ")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum TransactionType {
    Payment,
    Refund,
}

/// Money that moved for an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Transaction {
    pub(crate) transaction_type: TransactionType,
    pub(crate) amount: Money,
    pub(crate) payment_method_id: String,
}

/// A parcel of a shipped order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Fulfilment {
    pub(crate) tracking_ids: Vec<String>,
    pub(crate) item_ids: Vec<String>,
}

/// What the customer asked for after delivery (a return or an exchange).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AfterSaleRequest {
    pub(crate) item_ids: Vec<String>,
    /// For an exchange: the replacement item ids, matching `item_ids` one by one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) new_item_ids: Vec<String>,
    pub(crate) payment_method_id: String,
    /// Refunded (return, negative exchange difference) or charged (positive difference).
    pub(crate) amount: Money,
}

/// A customer's order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Order {
    pub(crate) order_id: String,
    pub(crate) user_id: String,
    pub(crate) status: OrderStatus,
    pub(crate) items: Vec<OrderItem>,
    pub(crate) address: Address,
    pub(crate) payment_history: Vec<Transaction>,
    #[serde(default)]
    pub(crate) fulfilments: Vec<Fulfilment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) cancel_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) return_request: Option<AfterSaleRequest>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) exchange_request: Option<AfterSaleRequest>,
}

impl Order {
    pub(crate) fn total(&self) -> Money {
        self.items.iter().map(|i| i.price).sum()
    }

    /// What each payment method has paid so far, net of refunds, in first-use order.
    pub(crate) fn net_paid_by_method(&self) -> Vec<(String, Money)> {
        let mut out: Vec<(String, Money)> = Vec::new();
        for t in &self.payment_history {
            let delta = match t.transaction_type {
                TransactionType::Payment => t.amount,
                TransactionType::Refund => Money(0) - t.amount,
            };
            match out.iter_mut().find(|(id, _)| *id == t.payment_method_id) {
                Some((_, sum)) => *sum = *sum + delta,
                None => out.push((t.payment_method_id.clone(), delta)),
            }
        }
        out
    }

    /// The payment methods this order was paid with (a return may be refunded to them).
    pub(crate) fn paid_with(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = Vec::new();
        for t in &self.payment_history {
            if t.transaction_type == TransactionType::Payment
                && !ids.contains(&t.payment_method_id.as_str())
            {
                ids.push(&t.payment_method_id);
            }
        }
        ids
    }
}

/// One purchasable variant of a product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Variant {
    pub(crate) item_id: String,
    pub(crate) options: BTreeMap<String, String>,
    pub(crate) price: Money,
    pub(crate) available: bool,
}

/// A product type ("T-Shirt") and its variants, keyed by item id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Product {
    pub(crate) product_id: String,
    pub(crate) name: String,
    pub(crate) variants: BTreeMap<String, Variant>,
}

/// Key builders of the `CF_DEMO_RETAIL` column family.
pub(crate) mod keys {
    /// Present once the generated data was written (with the data, in the same batch).
    pub(crate) const SEEDED: &str = "meta:seeded";
    pub(crate) const PRODUCT_PREFIX: &str = "product:";

    pub(crate) fn user(user_id: &str) -> String {
        format!("user:{user_id}")
    }

    pub(crate) fn order(order_id: &str) -> String {
        format!("order:{order_id}")
    }

    pub(crate) fn product(product_id: &str) -> String {
        format!("{PRODUCT_PREFIX}{product_id}")
    }

    /// Email index → user id (lower-cased email).
    pub(crate) fn email(email: &str) -> String {
        format!("email:{}", email.trim().to_lowercase())
    }

    /// Name + zip index → user id (lower-cased, `|`-separated).
    pub(crate) fn name_zip(first: &str, last: &str, zip: &str) -> String {
        format!(
            "namezip:{}|{}|{}",
            first.trim().to_lowercase(),
            last.trim().to_lowercase(),
            zip.trim()
        )
    }
}
