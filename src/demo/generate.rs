//! The demo store's data, generated deterministically: a fixed seed, our own splitmix64
//! generator, and ordered collections only, so the same seed always yields the same records.
//!
//! A few records are *planted* (written out by hand rather than drawn at random) because the
//! command metadata's examples, the tests and the docs name them; see [`planted`].

use std::collections::{BTreeMap, HashSet};
use std::sync::LazyLock;

use indexmap::IndexMap;
use serde::Deserialize;

use super::model::{
    Address, Fulfilment, Money, Name, Order, OrderItem, OrderStatus, PaymentMethod, Product,
    Transaction, TransactionType, User, Variant,
};

/// The seed of the data every flowmcp install serves.
pub(crate) const SEED: u64 = 0x5EED_F10E_2026_0001;

/// How many users are drawn at random (the planted ones come on top).
const GENERATED_USERS: usize = 250;
/// Orders per generated user (inclusive range): 250 × 2 ≥ 500 orders at the least.
const ORDERS_PER_USER: (u64, u64) = (2, 4);

/// splitmix64: tiny, fast, good enough for demo data, and stable forever (unlike `rand`'s).
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi` (`lo <= hi`).
    pub(crate) fn range(&mut self, lo: u64, hi: u64) -> u64 {
        let span = hi - lo + 1;
        // Rejection sampling keeps it unbiased.
        let zone = u64::MAX - (u64::MAX % span);
        loop {
            let x = self.next_u64();
            if x < zone {
                return lo + x % span;
            }
        }
    }

    /// A uniform index below `len` (`len > 0`).
    pub(crate) fn index(&mut self, len: usize) -> usize {
        self.range(0, len as u64 - 1) as usize
    }

    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.index(items.len())]
    }

    /// True with probability `percent`/100.
    pub(crate) fn chance(&mut self, percent: u64) -> bool {
        self.range(1, 100) <= percent
    }

    /// `n` decimal digits, the first one non-zero.
    pub(crate) fn digits(&mut self, n: u32) -> String {
        let lo = 10u64.pow(n - 1);
        self.range(lo, lo * 10 - 1).to_string()
    }
}

/// Everything the store holds, ordered by id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Dataset {
    pub(crate) users: BTreeMap<String, User>,
    pub(crate) orders: BTreeMap<String, Order>,
    pub(crate) products: BTreeMap<String, Product>,
}

/// The ids the metadata examples, tests and docs rely on.
pub(crate) mod planted {
    pub(crate) const USER: &str = "noah_brown_6181";
    pub(crate) const USER_EMAIL: &str = "noah.brown4093@example.com";
    pub(crate) const USER_FIRST: &str = "Noah";
    pub(crate) const USER_LAST: &str = "Brown";
    pub(crate) const USER_ZIP: &str = "80219";
    pub(crate) const CREDIT_CARD: &str = "credit_card_4421983";
    pub(crate) const GIFT_CARD: &str = "gift_card_0123456";
    pub(crate) const PAYPAL: &str = "paypal_5650034";

    /// Pending, paid with [`CREDIT_CARD`]: T-Shirt [`TSHIRT_BLUE_M`] + bottle [`BOTTLE_500_GREEN`].
    pub(crate) const ORDER_PENDING: &str = "#W2611340";
    /// Pending (item modified), paid with [`CREDIT_CARD`]: T-Shirt [`TSHIRT_BLUE_L`].
    pub(crate) const ORDER_ITEM_MODIFIED: &str = "#W6034718";
    /// Delivered, paid with [`PAYPAL`]: earbuds [`EARBUDS_BLACK`] + T-Shirt [`TSHIRT_BLACK_M`].
    pub(crate) const ORDER_DELIVERED: &str = "#W4817420";
    /// Processed (shipped), paid with [`GIFT_CARD`]: T-Shirt [`TSHIRT_WHITE_XL`].
    pub(crate) const ORDER_PROCESSED: &str = "#W1845024";
    /// Cancelled ("ordered by mistake"): bottle [`BOTTLE_750_STEEL`].
    pub(crate) const ORDER_CANCELLED: &str = "#W3961067";

    /// A second customer, for "not your payment method" cases.
    pub(crate) const OTHER_USER: &str = "sofia_garcia_3307";
    pub(crate) const OTHER_USER_EMAIL: &str = "sofia.garcia8816@example.com";
    pub(crate) const OTHER_CREDIT_CARD: &str = "credit_card_9072415";
    /// Delivered, of [`OTHER_USER`]: bottle [`BOTTLE_750_GREEN`].
    pub(crate) const OTHER_ORDER_DELIVERED: &str = "#W5092331";

    pub(crate) const PRODUCT_TSHIRT: &str = "4710385226";
    pub(crate) const TSHIRT_BLUE_M: &str = "3920175488";
    pub(crate) const TSHIRT_BLUE_L: &str = "6104823951";
    pub(crate) const TSHIRT_BLACK_M: &str = "8127364092";
    /// Not available.
    pub(crate) const TSHIRT_RED_S: &str = "2845019736";
    pub(crate) const TSHIRT_WHITE_XL: &str = "5590312847";

    pub(crate) const PRODUCT_BOTTLE: &str = "8036915247";
    pub(crate) const BOTTLE_500_GREEN: &str = "1178420563";
    pub(crate) const BOTTLE_750_GREEN: &str = "4409236815";
    /// Not available.
    pub(crate) const BOTTLE_1000_BLACK: &str = "7062158934";
    pub(crate) const BOTTLE_750_STEEL: &str = "9381740256";

    pub(crate) const PRODUCT_EARBUDS: &str = "6219840375";
    pub(crate) const EARBUDS_BLACK: &str = "2290451863";
    pub(crate) const EARBUDS_WHITE: &str = "5018374629";
    /// Not available.
    pub(crate) const EARBUDS_BLUE: &str = "8841205937";
}

/// What the generator draws from: `data/store.toml`, compiled in.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoreData {
    first_names: Vec<String>,
    last_names: Vec<String>,
    streets: Vec<String>,
    street_kinds: Vec<String>,
    card_brands: Vec<String>,
    /// City, state, first three digits of its zip codes.
    cities: Vec<(String, String, String)>,
    product: Vec<ProductType>,
}

/// A product type: base price in dollars, option names with their values (in file order).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProductType {
    name: String,
    base_price: u64,
    #[serde(default)]
    options: IndexMap<String, Vec<String>>,
}

/// The embedded data, read once. It is part of the binary, so a mistake in it is a build
/// defect, caught by `the_embedded_store_data_reads` before anything ships.
static DATA: LazyLock<StoreData> = LazyLock::new(|| {
    toml::from_str(include_str!("data/store.toml")).expect("src/demo/data/store.toml is valid")
});

/// Generate the store for `seed`. Pure: no I/O, no clock, no global state.
pub(crate) fn dataset(seed: u64) -> Dataset {
    Generator::new(seed).run()
}

struct Generator {
    rng: SplitMix64,
    used_ids: HashSet<String>,
    used_index_keys: HashSet<String>,
    data: Dataset,
}

impl Generator {
    fn new(seed: u64) -> Self {
        Self {
            rng: SplitMix64::new(seed),
            used_ids: HashSet::new(),
            used_index_keys: HashSet::new(),
            data: Dataset {
                users: BTreeMap::new(),
                orders: BTreeMap::new(),
                products: BTreeMap::new(),
            },
        }
    }

    fn run(mut self) -> Dataset {
        self.plant();
        self.products();
        self.users_and_orders();
        self.data
    }

    /// A fresh id built by `make`, never equal to an id handed out before (planted ones included).
    fn unique(&mut self, make: impl Fn(&mut SplitMix64) -> String) -> String {
        loop {
            let id = make(&mut self.rng);
            if self.used_ids.insert(id.clone()) {
                return id;
            }
        }
    }

    fn claim(&mut self, id: &str) {
        self.used_ids.insert(id.to_string());
    }

    fn add_user(&mut self, user: User) {
        self.claim(&user.user_id);
        for m in &user.payment_methods {
            self.claim(m.id());
        }
        self.used_index_keys
            .insert(super::model::keys::email(&user.email));
        self.used_index_keys.insert(super::model::keys::name_zip(
            &user.name.first_name,
            &user.name.last_name,
            &user.address.zip,
        ));
        self.data.users.insert(user.user_id.clone(), user);
    }

    fn add_order(&mut self, order: Order) {
        self.claim(&order.order_id);
        self.data.orders.insert(order.order_id.clone(), order);
    }

    fn add_product(&mut self, product: Product) {
        self.claim(&product.product_id);
        for item_id in product.variants.keys() {
            self.claim(item_id);
        }
        self.data
            .products
            .insert(product.product_id.clone(), product);
    }

    fn plant(&mut self) {
        use planted::*;
        let variant =
            |item_id: &str, options: &[(&str, &str)], cents: i64, available: bool| Variant {
                item_id: item_id.to_string(),
                options: options
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                price: Money(cents),
                available,
            };
        let product = |product_id: &str, name: &str, variants: Vec<Variant>| Product {
            product_id: product_id.to_string(),
            name: name.to_string(),
            variants: variants
                .into_iter()
                .map(|v| (v.item_id.clone(), v))
                .collect(),
        };
        self.add_product(product(
            PRODUCT_TSHIRT,
            "T-Shirt",
            vec![
                variant(
                    TSHIRT_BLUE_M,
                    &[("color", "blue"), ("size", "M"), ("material", "cotton")],
                    2499,
                    true,
                ),
                variant(
                    TSHIRT_BLUE_L,
                    &[("color", "blue"), ("size", "L"), ("material", "cotton")],
                    2499,
                    true,
                ),
                variant(
                    TSHIRT_BLACK_M,
                    &[("color", "black"), ("size", "M"), ("material", "polyester")],
                    2249,
                    true,
                ),
                variant(
                    TSHIRT_RED_S,
                    &[("color", "red"), ("size", "S"), ("material", "cotton")],
                    2399,
                    false,
                ),
                variant(
                    TSHIRT_WHITE_XL,
                    &[("color", "white"), ("size", "XL"), ("material", "cotton")],
                    2650,
                    true,
                ),
            ],
        ));
        self.add_product(product(
            PRODUCT_BOTTLE,
            "Water Bottle",
            vec![
                variant(
                    BOTTLE_500_GREEN,
                    &[("capacity", "500ml"), ("color", "green")],
                    1899,
                    true,
                ),
                variant(
                    BOTTLE_750_GREEN,
                    &[("capacity", "750ml"), ("color", "green")],
                    2149,
                    true,
                ),
                variant(
                    BOTTLE_1000_BLACK,
                    &[("capacity", "1000ml"), ("color", "black")],
                    2500,
                    false,
                ),
                variant(
                    BOTTLE_750_STEEL,
                    &[("capacity", "750ml"), ("color", "steel")],
                    2299,
                    true,
                ),
            ],
        ));
        self.add_product(product(
            PRODUCT_EARBUDS,
            "Wireless Earbuds",
            vec![
                variant(
                    EARBUDS_BLACK,
                    &[("color", "black"), ("battery life", "6 hours")],
                    8900,
                    true,
                ),
                variant(
                    EARBUDS_WHITE,
                    &[("color", "white"), ("battery life", "8 hours")],
                    10900,
                    true,
                ),
                variant(
                    EARBUDS_BLUE,
                    &[("color", "blue"), ("battery life", "8 hours")],
                    10450,
                    false,
                ),
            ],
        ));

        let noah_home = Address {
            address1: "418 Willow Lane".into(),
            address2: "Apt 12".into(),
            city: "Denver".into(),
            state: "CO".into(),
            country: "USA".into(),
            zip: USER_ZIP.into(),
        };
        self.add_user(User {
            user_id: USER.into(),
            name: Name {
                first_name: USER_FIRST.into(),
                last_name: USER_LAST.into(),
            },
            email: USER_EMAIL.into(),
            address: noah_home.clone(),
            payment_methods: vec![
                PaymentMethod::CreditCard {
                    id: CREDIT_CARD.into(),
                    brand: "visa".into(),
                    last_four: "7310".into(),
                },
                PaymentMethod::GiftCard {
                    id: GIFT_CARD.into(),
                    balance: Money(3000),
                },
                PaymentMethod::Paypal { id: PAYPAL.into() },
            ],
            orders: vec![
                ORDER_CANCELLED.into(),
                ORDER_DELIVERED.into(),
                ORDER_PROCESSED.into(),
                ORDER_ITEM_MODIFIED.into(),
                ORDER_PENDING.into(),
            ],
        });
        let sofia_home = Address {
            address1: "77 Harbor Street".into(),
            address2: String::new(),
            city: "Portland".into(),
            state: "OR".into(),
            country: "USA".into(),
            zip: "97205".into(),
        };
        self.add_user(User {
            user_id: OTHER_USER.into(),
            name: Name {
                first_name: "Sofia".into(),
                last_name: "Garcia".into(),
            },
            email: OTHER_USER_EMAIL.into(),
            address: sofia_home.clone(),
            payment_methods: vec![PaymentMethod::CreditCard {
                id: OTHER_CREDIT_CARD.into(),
                brand: "mastercard".into(),
                last_four: "5531".into(),
            }],
            orders: vec![OTHER_ORDER_DELIVERED.into()],
        });

        let planted_orders = [
            (
                ORDER_PENDING,
                USER,
                OrderStatus::Pending,
                vec![TSHIRT_BLUE_M, BOTTLE_500_GREEN],
                CREDIT_CARD,
                None,
            ),
            (
                ORDER_ITEM_MODIFIED,
                USER,
                OrderStatus::PendingItemModified,
                vec![TSHIRT_BLUE_L],
                CREDIT_CARD,
                None,
            ),
            (
                ORDER_DELIVERED,
                USER,
                OrderStatus::Delivered,
                vec![EARBUDS_BLACK, TSHIRT_BLACK_M],
                PAYPAL,
                Some("381924076512"),
            ),
            (
                ORDER_PROCESSED,
                USER,
                OrderStatus::Processed,
                vec![TSHIRT_WHITE_XL],
                GIFT_CARD,
                Some("570183264409"),
            ),
            (
                ORDER_CANCELLED,
                USER,
                OrderStatus::Cancelled,
                vec![BOTTLE_750_STEEL],
                CREDIT_CARD,
                None,
            ),
            (
                OTHER_ORDER_DELIVERED,
                OTHER_USER,
                OrderStatus::Delivered,
                vec![BOTTLE_750_GREEN],
                OTHER_CREDIT_CARD,
                Some("204817365590"),
            ),
        ];
        for (order_id, user_id, status, item_ids, method, tracking) in planted_orders {
            let items: Vec<OrderItem> = item_ids
                .iter()
                .filter_map(|id| self.order_item(id))
                .collect();
            let address = if user_id == USER {
                noah_home.clone()
            } else {
                sofia_home.clone()
            };
            let mut order = Order {
                order_id: order_id.into(),
                user_id: user_id.into(),
                status,
                address,
                payment_history: Vec::new(),
                fulfilments: Vec::new(),
                cancel_reason: None,
                return_request: None,
                exchange_request: None,
                items,
            };
            let total = order.total();
            order
                .payment_history
                .push(payment(TransactionType::Payment, total, method));
            if let Some(tracking) = tracking {
                order.fulfilments.push(Fulfilment {
                    tracking_ids: vec![tracking.into()],
                    item_ids: item_ids.iter().map(|s| s.to_string()).collect(),
                });
                self.claim(tracking);
            }
            if status == OrderStatus::Cancelled {
                order.cancel_reason = Some("ordered by mistake".into());
                order
                    .payment_history
                    .push(payment(TransactionType::Refund, total, method));
            }
            self.add_order(order);
        }
    }

    /// The order line for `item_id` of an already added product.
    fn order_item(&self, item_id: &str) -> Option<OrderItem> {
        self.data.products.values().find_map(|p| {
            p.variants.get(item_id).map(|v| OrderItem {
                item_id: v.item_id.clone(),
                product_id: p.product_id.clone(),
                name: p.name.clone(),
                options: v.options.clone(),
                price: v.price,
            })
        })
    }

    fn products(&mut self) {
        for ProductType {
            name,
            base_price: base_dollars,
            options,
        } in &DATA.product
        {
            let product_id = self.unique(|r| r.digits(10));
            // Every combination of option values, in a fixed order.
            let mut combos: Vec<Vec<(&str, &str)>> = vec![Vec::new()];
            for (option, values) in options {
                combos = combos
                    .iter()
                    .flat_map(|c| {
                        values.iter().map(move |v| {
                            let mut c = c.clone();
                            c.push((option.as_str(), v.as_str()));
                            c
                        })
                    })
                    .collect();
            }
            let count = (self.rng.range(4, 10) as usize).min(combos.len());
            let mut variants = BTreeMap::new();
            for n in 0..count {
                let combo = combos.swap_remove(self.rng.index(combos.len()));
                let item_id = self.unique(|r| r.digits(10));
                // Base price ± 15 %, in cents; the first two variants are always in stock.
                let base = *base_dollars as i64 * 100;
                let cents =
                    base * self.rng.range(85, 115) as i64 / 100 + self.rng.range(0, 99) as i64;
                let available = n < 2 || self.rng.chance(70);
                variants.insert(
                    item_id.clone(),
                    Variant {
                        item_id,
                        options: combo
                            .iter()
                            .map(|(k, v)| (k.to_string(), v.to_string()))
                            .collect(),
                        price: Money(cents),
                        available,
                    },
                );
            }
            self.add_product(Product {
                product_id,
                name: name.to_string(),
                variants,
            });
        }
    }

    fn users_and_orders(&mut self) {
        // Products in id order, so drawing from them is deterministic.
        let catalog: Vec<Product> = self.data.products.values().cloned().collect();
        let mut made = 0;
        while made < GENERATED_USERS {
            let first = self.rng.pick(&DATA.first_names).as_str();
            let last = self.rng.pick(&DATA.last_names).as_str();
            let (city, state, zip3) = self.rng.pick(&DATA.cities);
            let zip = format!("{zip3}{:02}", self.rng.range(0, 99));
            let email = format!("{first}.{last}{}@example.com", self.rng.range(1000, 9999));
            let name_key = super::model::keys::name_zip(first, last, &zip);
            let email_key = super::model::keys::email(&email);
            if self.used_index_keys.contains(&name_key) || self.used_index_keys.contains(&email_key)
            {
                continue;
            }
            let user_id = self.unique(|r| format!("{first}_{last}_{}", r.range(1000, 9999)));
            let address = Address {
                address1: format!(
                    "{} {} {}",
                    self.rng.range(1, 999),
                    self.rng.pick(&DATA.streets),
                    self.rng.pick(&DATA.street_kinds)
                ),
                address2: if self.rng.chance(40) {
                    format!("Suite {}", self.rng.range(100, 999))
                } else {
                    String::new()
                },
                city: city.clone(),
                state: state.clone(),
                country: "USA".to_string(),
                zip,
            };
            let payment_methods = self.payment_methods();
            let mut user = User {
                user_id: user_id.clone(),
                name: Name {
                    first_name: capitalise(first),
                    last_name: capitalise(last),
                },
                email,
                address,
                payment_methods,
                orders: Vec::new(),
            };
            let order_count = self.rng.range(ORDERS_PER_USER.0, ORDERS_PER_USER.1);
            for _ in 0..order_count {
                let order = self.order(&user, &catalog);
                user.orders.push(order.order_id.clone());
                self.add_order(order);
            }
            self.add_user(user);
            made += 1;
        }
    }

    fn payment_methods(&mut self) -> Vec<PaymentMethod> {
        let mut methods = Vec::new();
        if self.rng.chance(75) {
            let id = self.unique(|r| format!("credit_card_{}", r.digits(7)));
            let brand = self.rng.pick(&DATA.card_brands).to_string();
            let last_four = format!("{:04}", self.rng.range(0, 9999));
            methods.push(PaymentMethod::CreditCard {
                id,
                brand,
                last_four,
            });
        }
        if self.rng.chance(40) {
            let id = self.unique(|r| format!("gift_card_{}", r.digits(7)));
            let balance = Money(self.rng.range(0, 250) as i64 * 100);
            methods.push(PaymentMethod::GiftCard { id, balance });
        }
        if methods.is_empty() || self.rng.chance(35) {
            let id = self.unique(|r| format!("paypal_{}", r.digits(7)));
            methods.push(PaymentMethod::Paypal { id });
        }
        methods
    }

    fn order(&mut self, user: &User, catalog: &[Product]) -> Order {
        let order_id = self.unique(|r| format!("#W{}", r.digits(7)));
        let item_count = self.rng.range(1, 5) as usize;
        let mut items: Vec<OrderItem> = Vec::new();
        while items.len() < item_count {
            let product = self.rng.pick(catalog);
            let variants: Vec<&Variant> = product.variants.values().collect();
            let variant = *self.rng.pick(&variants);
            if items.iter().any(|i| i.item_id == variant.item_id) {
                continue;
            }
            items.push(OrderItem {
                item_id: variant.item_id.clone(),
                product_id: product.product_id.clone(),
                name: product.name.clone(),
                options: variant.options.clone(),
                price: variant.price,
            });
        }
        let status = match self.rng.range(1, 100) {
            1..=30 => OrderStatus::Pending,
            31..=45 => OrderStatus::Processed,
            46..=88 => OrderStatus::Delivered,
            _ => OrderStatus::Cancelled,
        };
        let method = self.rng.pick(&user.payment_methods).id().to_string();
        let mut order = Order {
            order_id,
            user_id: user.user_id.clone(),
            status,
            items,
            address: user.address.clone(),
            payment_history: Vec::new(),
            fulfilments: Vec::new(),
            cancel_reason: None,
            return_request: None,
            exchange_request: None,
        };
        let total = order.total();
        order
            .payment_history
            .push(payment(TransactionType::Payment, total, &method));
        match status {
            OrderStatus::Processed | OrderStatus::Delivered => {
                let tracking = self.unique(|r| r.digits(12));
                order.fulfilments.push(Fulfilment {
                    tracking_ids: vec![tracking],
                    item_ids: order.items.iter().map(|i| i.item_id.clone()).collect(),
                });
            }
            OrderStatus::Cancelled => {
                let reason = if self.rng.chance(50) {
                    "no longer needed"
                } else {
                    "ordered by mistake"
                };
                order.cancel_reason = Some(reason.to_string());
                order
                    .payment_history
                    .push(payment(TransactionType::Refund, total, &method));
            }
            _ => {}
        }
        order
    }
}

fn payment(transaction_type: TransactionType, amount: Money, method: &str) -> Transaction {
    Transaction {
        transaction_type,
        amount,
        payment_method_id: method.to_string(),
    }
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
