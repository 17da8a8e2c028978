//! Free-string parameters recognised by their role, read from names and descriptions:
//! enums (fuzzy), person names, postal addresses, arithmetic expressions, and values linked
//! to a parameter by the words right before them.
//!
//! The small English tables here (street types, US states) are about the language and the
//! address format, not about any one workflow; which words mean the same in an enum value is
//! the workflow's to say (`[assistant] equivalents`).

use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value};

use super::Token;
use crate::assistant::text::Lexicon;
use crate::workflow::{Param, ParamType};

/// Equal, or one edit apart for words of 5+ letters (typos like `lnger`).
fn close(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    let (la, lb) = (a.chars().count(), b.chars().count());
    if la.min(lb) < 4 || la.abs_diff(lb) > 1 {
        return false;
    }
    strsim::levenshtein(a, b) <= 1
}

const ENUM_STOP: &[&str] = &["by", "the", "a", "an", "of", "to", "in", "on", "for", "it"];

/// The enum member whose words the text covers best: at least half of its content words and
/// its last one (the head: "mistake", "needed"), with the workflow's equivalents and
/// one-letter typos; only when a single member qualifies best.
pub(crate) fn fuzzy_enum(lexicon: &Lexicon, param: &Param, toks: &[Token]) -> Option<Value> {
    let allowed = param.spec.enum_values.as_ref()?;
    let words: Vec<&str> = toks
        .iter()
        .map(|t| lexicon.canonical(t.lower.as_str()))
        .collect();
    let has = |w: &str| {
        let w = lexicon.canonical(w);
        words.iter().any(|t| close(t, w))
    };
    let mut best: Option<(f64, &Value)> = None;
    let mut tie = false;
    for member in allowed {
        let Value::String(s) = member else { continue };
        let content: Vec<String> = s
            .to_lowercase()
            .split(|c: char| !c.is_alphanumeric() && c != '\'')
            .filter(|w| !w.is_empty() && !ENUM_STOP.contains(w))
            .map(str::to_string)
            .collect();
        let Some(last) = content.last() else { continue };
        if !has(last) {
            continue;
        }
        let covered = content.iter().filter(|w| has(w)).count();
        let score = covered as f64 / content.len() as f64;
        if score < 0.5 {
            continue;
        }
        match best {
            Some((b, _)) if (b - score).abs() < 1e-9 => tie = true,
            Some((b, _)) if b > score => {}
            _ => {
                best = Some((score, member));
                tie = false;
            }
        }
    }
    match (best, tie) {
        (Some((_, v)), false) => Some(v.clone()),
        _ => None,
    }
}

/// What a free-string parameter is, from its name and description.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    FirstName,
    LastName,
    Street,
    Line2,
    City,
    State,
    Zip,
    Country,
    Expression,
    Other,
}

fn role(param: &Param) -> Role {
    let name = param.name.to_lowercase();
    let desc = param.description.to_lowercase();
    if name.contains("first") && name.contains("name") {
        Role::FirstName
    } else if (name.contains("last") || name.contains("sur")) && name.contains("name") {
        Role::LastName
    } else if name.contains("address") && (name.ends_with('2') || desc.contains("second line")) {
        Role::Line2
    } else if name.contains("address") || name.contains("street") {
        Role::Street
    } else if name == "city" || name == "town" {
        Role::City
    } else if name == "state" || name == "region" || name == "province" {
        Role::State
    } else if name.contains("zip") || name.contains("postal") || name.contains("postcode") {
        Role::Zip
    } else if name == "country" {
        Role::Country
    } else if desc.contains("arithmetic expression") || desc.contains("math expression") {
        Role::Expression
    } else {
        Role::Other
    }
}

/// Fill free-string parameters by role (never overwriting what was found already).
pub(crate) fn fill(
    params: &[&Param],
    text: &str,
    toks: &[Token],
    values: &mut Map<String, Value>,
    consumed: &[(usize, usize)],
) {
    let free: Vec<(&Param, Role)> = params
        .iter()
        .copied()
        .filter(|p| p.spec.ty == ParamType::String && p.spec.enum_values.is_none())
        .map(|p| (p, role(p)))
        .collect();
    let set = |values: &mut Map<String, Value>, role: Role, v: &str| {
        let v = v.trim();
        if v.is_empty() {
            return;
        }
        for (p, r) in &free {
            if *r == role && !values.contains_key(&p.name) {
                if p.spec.pattern.as_ref().is_none_or(|re| re.is_match(v)) {
                    values.insert(p.name.clone(), Value::String(v.to_string()));
                }
                return;
            }
        }
    };
    let has_role = |r: Role| free.iter().any(|(_, x)| *x == r);
    let untouched = |s: usize, e: usize| !consumed.iter().any(|&(a, b)| s < b && e > a);

    linked(&free, toks, values);

    if has_role(Role::Expression)
        && let Some(expr) = expression(text)
    {
        set(values, Role::Expression, &expr);
    }
    if (has_role(Role::FirstName) || has_role(Role::LastName))
        && let Some((first, last)) = person_name(toks)
    {
        set(values, Role::FirstName, first);
        set(values, Role::LastName, last);
    }
    if (has_role(Role::Street) || has_role(Role::City) || has_role(Role::State))
        && let Some(addr) = address(text)
        && untouched(addr.start, addr.start + 1)
    {
        let two_letter = free
            .iter()
            .any(|(p, r)| *r == Role::State && p.description.to_lowercase().contains("two-letter"));
        if let Some(v) = &addr.street {
            set(values, Role::Street, v);
        }
        if let Some(v) = &addr.line2 {
            set(values, Role::Line2, v);
        }
        if let Some(v) = &addr.city {
            set(values, Role::City, v);
        }
        if let Some(v) = &addr.state {
            let v = if two_letter {
                state_code(v).map_or(v.clone(), str::to_string)
            } else {
                v.clone()
            };
            set(values, Role::State, &v);
        }
        if let Some(v) = &addr.zip {
            set(values, Role::Zip, v);
        }
        if let Some(v) = &addr.country {
            set(values, Role::Country, v);
        }
    }
    // A country named anywhere, when it is one of the parameter's examples.
    for (p, r) in &free {
        if *r == Role::Country && !values.contains_key(&p.name) {
            for t in toks {
                if p.examples
                    .iter()
                    .any(|e| e.as_str().is_some_and(|s| s == t.word))
                {
                    values.insert(p.name.clone(), Value::String(t.word.to_string()));
                    break;
                }
            }
        }
    }
}

/// Words that are not names even when capitalised.
const NOT_NAMES: &[&str] = &[
    "i", "im", "i'm", "please", "could", "can", "hi", "hello", "hey", "my", "the", "find", "look",
    "who", "what", "user", "customer", "thanks", "thank", "order", "zip", "name", "first", "last",
    "is", "this", "it", "id", "account", "search", "get", "show", "me", "a", "an", "and", "from",
    "in", "with", "for", "of", "to", "at", "on", "by", "email", "code", "identify", "would",
    "will", "yes", "no", "ok", "okay", "sure", "dear", "mr", "mrs", "ms", "dr", "sir", "madam",
    "postcode", "postal", "where", "why", "how", "when", "which",
];

fn name_word(t: &Token) -> bool {
    t.word.chars().all(|c| c.is_alphabetic() || c == '-')
        && t.word.chars().next().is_some_and(char::is_alphabetic)
        && !NOT_NAMES.contains(&t.lower.as_str())
}

/// A person's first and last name: after "I'm", "I am", "name is", "called", or two
/// capitalised words in a row.
fn person_name<'t>(toks: &'t [Token]) -> Option<(&'t str, &'t str)> {
    for i in 0..toks.len() {
        let intro = matches!(toks[i].lower.as_str(), "i'm" | "im" | "called" | "named")
            || (toks[i].lower == "am" && i > 0 && toks[i - 1].lower == "i")
            || (toks[i].lower == "is" && i > 0 && toks[i - 1].lower == "name");
        if intro
            && let (Some(a), Some(b)) = (toks.get(i + 1), toks.get(i + 2))
            && name_word(a)
            && name_word(b)
            && (capitalised(a) || name_ends_after(toks, i + 2))
        {
            return Some((a.word, b.word));
        }
    }
    for w in toks.windows(2) {
        if capitalised(&w[0]) && capitalised(&w[1]) && name_word(&w[0]) && name_word(&w[1]) {
            // "Brown, Noah" is read as first "Brown": the comma order is not handled.
            return Some((w[0].word, w[1].word));
        }
    }
    None
}

fn capitalised(t: &Token) -> bool {
    t.word.chars().next().is_some_and(char::is_uppercase)
}

/// Lower-case words after "I'm" are a name only when the phrase ends right after them
/// (end, punctuation, a number, or a word that starts the next detail): "i am noah brown,
/// 80219" but not "i'm not sure".
fn name_ends_after(toks: &[Token], b: usize) -> bool {
    let Some(last) = toks.get(b) else {
        return false;
    };
    if last.word.len() < last.end - last.start {
        return true; // punctuation after it
    }
    match toks.get(b + 1) {
        None => true,
        Some(next) => {
            next.word.starts_with(|c: char| c.is_ascii_digit())
                || matches!(
                    next.lower.as_str(),
                    "and" | "from" | "in" | "zip" | "my" | "with" | "living" | "at" | "postcode"
                )
        }
    }
}

/// Words between a parameter's name and its value: "zip is 80219", "city to Austin".
const CONNECTORS: &[&str] = &[
    "is", "are", "=", ":", "-", "to", "be", "should", "now", "of",
];

/// Each place where `words` (a parameter's name, split on `_`) stand in order in `toks`:
/// `(i, j)`, `i` the name's last word and `j` the first token after the connectors that follow.
fn after_name<'t>(
    toks: &'t [Token],
    words: &'t [String],
) -> impl Iterator<Item = (usize, usize)> + 't {
    let n = words.len();
    (0..toks.len()).filter_map(move |i| {
        if i + 1 < n
            || !toks[i + 1 - n..=i]
                .iter()
                .zip(words)
                .all(|(t, w)| t.lower == *w)
        {
            return None;
        }
        let mut j = i + 1;
        while toks
            .get(j)
            .is_some_and(|t| CONNECTORS.contains(&t.lower.as_str()))
        {
            j += 1;
        }
        Some((i, j))
    })
}

/// Values right after the words of a parameter's name (`first name Noah`, `city … to Austin`).
fn linked(free: &[(&Param, Role)], toks: &[Token], values: &mut Map<String, Value>) {
    for (p, r) in free {
        if values.contains_key(&p.name) || matches!(r, Role::Expression | Role::Street) {
            continue;
        }
        // Free text such as a summary is taken only from `key: …` / `key=…`, never guessed
        // from one word.
        let long = p
            .examples
            .iter()
            .any(|e| e.as_str().is_some_and(|s| s.split_whitespace().count() > 3));
        if long {
            continue;
        }
        let words: Vec<String> = p
            .name
            .to_lowercase()
            .split('_')
            .filter(|w| !w.is_empty() && !w.chars().all(|c| c.is_ascii_digit()))
            .map(str::to_string)
            .collect();
        if words.is_empty() {
            continue;
        }
        for (i, j) in after_name(toks, &words) {
            let value = match r {
                Role::FirstName | Role::LastName => toks
                    .get(j)
                    .filter(|t| name_word(t))
                    .map(|t| t.word.to_string()),
                _ => {
                    // The first capitalised word within a few (`city on my profile to
                    // Austin`), and the capitalised words that follow it (`New York`).
                    let end = toks.len().min(i + 6);
                    let from = (i + 1..end).find(|&k| capitalised(&toks[k]) && name_word(&toks[k]));
                    from.map(|k| {
                        let mut words = vec![toks[k].word];
                        let mut m = k;
                        while toks[m].word.len() == toks[m].end - toks[m].start
                            && toks
                                .get(m + 1)
                                .is_some_and(|t| capitalised(t) && name_word(t))
                        {
                            m += 1;
                            words.push(toks[m].word);
                        }
                        words.join(" ")
                    })
                }
            };
            if let Some(v) = value {
                values.insert(p.name.clone(), Value::String(v));
                break;
            }
        }
    }
}

/// A postal address found in text.
#[derive(Debug, Default)]
struct Address {
    start: usize,
    street: Option<String>,
    line2: Option<String>,
    city: Option<String>,
    state: Option<String>,
    zip: Option<String>,
    country: Option<String>,
}

static STREET_START: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:^|[\s:,])(\d{1,6}\s+[A-Z][A-Za-z]*)").expect("static regex"));

const STREET_TYPES: &[&str] = &[
    "street",
    "st",
    "avenue",
    "ave",
    "road",
    "rd",
    "lane",
    "ln",
    "drive",
    "dr",
    "way",
    "court",
    "ct",
    "boulevard",
    "blvd",
    "place",
    "pl",
    "terrace",
    "circle",
    "cir",
    "parkway",
    "pkwy",
    "highway",
    "hwy",
    "square",
    "sq",
    "trail",
    "alley",
    "row",
    "loop",
];

const LINE2_START: &[&str] = &[
    "apt",
    "apartment",
    "suite",
    "ste",
    "unit",
    "floor",
    "fl",
    "room",
    "rm",
    "building",
    "bldg",
    "#",
];

const COUNTRIES: &[&str] = &["usa", "us", "united states", "u.s.a", "u.s"];

fn address(text: &str) -> Option<Address> {
    let m = STREET_START.captures(text)?.get(1)?;
    let mut out = Address {
        start: m.start(),
        ..Address::default()
    };
    let mut parts: Vec<String> = text[m.start()..]
        .split([',', ';', '\n'])
        .map(|s| s.trim().to_string())
        .collect();
    // "48 Cedar Lane Boulder CO 80304": cut the first part after its street type.
    if let Some(first) = parts.first().cloned() {
        let words: Vec<&str> = first.split_whitespace().collect();
        if let Some(k) = words
            .iter()
            .position(|w| STREET_TYPES.contains(&w.trim_end_matches('.').to_lowercase().as_str()))
            && k + 1 < words.len()
        {
            parts[0] = words[..=k].join(" ");
            parts.insert(1, words[k + 1..].join(" "));
        }
    }
    let mut parts = parts.into_iter();
    let street = parts.next()?;
    if street.split_whitespace().count() < 2 {
        return None;
    }
    // The street is the number and the capitalised words (or street types) after it; a
    // lower-case word ends it, and the address with it ("12 Oak Street please").
    let words: Vec<&str> = street.split_whitespace().collect();
    let kept = 1 + words[1..]
        .iter()
        .take_while(|w| {
            let w = w.trim_end_matches(['.', '!', '?']);
            w.starts_with(|c: char| c.is_uppercase() || c.is_ascii_digit())
                || STREET_TYPES.contains(&w.to_lowercase().as_str())
        })
        .count();
    out.street = Some(
        words[..kept]
            .join(" ")
            .trim_end_matches(['.', '!', '?'])
            .to_string(),
    );
    if kept < words.len() || street.ends_with(['.', '!', '?']) {
        return Some(out);
    }
    for part in parts {
        let part = part.trim_end_matches(['.', '!', '?']).trim();
        if part.is_empty() {
            break;
        }
        let lower = part.to_lowercase();
        let first_word = lower.split_whitespace().next().unwrap_or("");
        if out.zip.is_some() || out.state.is_some() {
            if COUNTRIES.contains(&lower.as_str()) {
                out.country = Some(part.to_string());
            }
            break;
        }
        if out.line2.is_none() && out.city.is_none() && LINE2_START.contains(&first_word) {
            out.line2 = Some(part.to_string());
            continue;
        }
        if !part.chars().next().is_some_and(char::is_uppercase) {
            break;
        }
        let mut words: Vec<&str> = part.split_whitespace().collect();
        let mut tail = false;
        if words
            .last()
            .is_some_and(|w| w.len() == 5 && w.chars().all(|c| c.is_ascii_digit()))
        {
            out.zip = words.pop().map(str::to_string);
            tail = true;
        }
        // A state: its code or its (one- or two-word) name at the end.
        for n in [2usize, 1] {
            if words.len() >= n {
                let cand = words[words.len() - n..].join(" ");
                let is_code = n == 1 && cand.len() == 2 && state_name(&cand).is_some();
                if is_code || state_code(&cand).is_some() {
                    // "New York, NY": a state name alone before a code is the city.
                    if !is_code && words.len() == n && !tail {
                        break;
                    }
                    out.state = Some(cand);
                    words.truncate(words.len() - n);
                    tail = true;
                    break;
                }
            }
        }
        if !words.is_empty() {
            if out.city.is_none() {
                out.city = Some(words.join(" "));
            } else if !tail {
                break;
            }
        }
    }
    Some(out)
}

const STATES: &[(&str, &str)] = &[
    ("AL", "alabama"),
    ("AK", "alaska"),
    ("AZ", "arizona"),
    ("AR", "arkansas"),
    ("CA", "california"),
    ("CO", "colorado"),
    ("CT", "connecticut"),
    ("DE", "delaware"),
    ("DC", "district of columbia"),
    ("FL", "florida"),
    ("GA", "georgia"),
    ("HI", "hawaii"),
    ("ID", "idaho"),
    ("IL", "illinois"),
    ("IN", "indiana"),
    ("IA", "iowa"),
    ("KS", "kansas"),
    ("KY", "kentucky"),
    ("LA", "louisiana"),
    ("ME", "maine"),
    ("MD", "maryland"),
    ("MA", "massachusetts"),
    ("MI", "michigan"),
    ("MN", "minnesota"),
    ("MS", "mississippi"),
    ("MO", "missouri"),
    ("MT", "montana"),
    ("NE", "nebraska"),
    ("NV", "nevada"),
    ("NH", "new hampshire"),
    ("NJ", "new jersey"),
    ("NM", "new mexico"),
    ("NY", "new york"),
    ("NC", "north carolina"),
    ("ND", "north dakota"),
    ("OH", "ohio"),
    ("OK", "oklahoma"),
    ("OR", "oregon"),
    ("PA", "pennsylvania"),
    ("RI", "rhode island"),
    ("SC", "south carolina"),
    ("SD", "south dakota"),
    ("TN", "tennessee"),
    ("TX", "texas"),
    ("UT", "utah"),
    ("VT", "vermont"),
    ("VA", "virginia"),
    ("WA", "washington"),
    ("WV", "west virginia"),
    ("WI", "wisconsin"),
    ("WY", "wyoming"),
];

/// `Colorado` → `CO` (and `CO` → `CO`).
pub(crate) fn state_code(s: &str) -> Option<&'static str> {
    let lower = s.trim().to_lowercase();
    STATES
        .iter()
        .find(|(code, name)| *name == lower || code.eq_ignore_ascii_case(&lower))
        .map(|(code, _)| *code)
}

/// `CO` (upper case only) → its name.
fn state_name(s: &str) -> Option<&'static str> {
    STATES.iter().find(|(code, _)| *code == s).map(|(_, n)| *n)
}

const NUM: &str = r"(\d+(?:\.\d+)?)";

static FORMS: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    let forms: &[(String, &str)] = &[
        (format!(r"(?i)\bsubtract\s+{NUM}\s+from\s+{NUM}"), "b - a"),
        (
            format!(r"(?i)\btake\s+{NUM}\s+(?:away\s+)?from\s+{NUM}"),
            "b - a",
        ),
        (format!(r"(?i)\bdivide\s+{NUM}\s+by\s+{NUM}"), "a / b"),
        (format!(r"(?i)\bmultiply\s+{NUM}\s+by\s+{NUM}"), "a * b"),
        (
            format!(r"(?i)\bhow much more is\s+{NUM}\s+than\s+{NUM}"),
            "a - b",
        ),
        (
            format!(r"(?i)\bdifference\b\D{{0,30}}?{NUM}\D{{0,30}}?\band\b\D{{0,10}}?{NUM}"),
            "a - b",
        ),
    ];
    forms
        .iter()
        .map(|(re, how)| (Regex::new(re).expect("static regex"), *how))
        .collect()
});

static WORD_OPS: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    [
        (r"(?i)\bplus\b", " + "),
        (r"(?i)\bminus\b", " - "),
        (r"(?i)\b(?:times|multiplied by)\b", " * "),
        (r"(?i)\b(?:divided by|over)\b", " / "),
    ]
    .iter()
    .map(|(re, op)| (Regex::new(re).expect("static regex"), *op))
    .collect()
});

static ARITH_SPAN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[(\s]*\(?\s*\d+(?:\.\d+)?(?:\s*\)?\s*[-+*/x×]\s*\(?\s*\d+(?:\.\d+)?\s*\)?)+")
        .expect("static regex")
});

static SUM_LIST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        // `concat!` keeps the pattern raw; a format string built by a macro cannot capture `NUM`.
        concat!(
            r"(?i)\b(?:add(?:\s+up)?|sum(?:\s+of)?|total(?:\s+of)?)\s+{NUM}",
            r"((?:\s*,\s*{NUM})*)\s*,?\s+and\s+{NUM}",
        ),
        NUM = NUM
    ))
    .expect("static regex")
});

/// An arithmetic expression from symbols or words ("minus", "divide 100 by 4", "add up a,
/// b and c").
fn expression(text: &str) -> Option<String> {
    for (re, how) in FORMS.iter() {
        if let Some(c) = re.captures(text)
            && let (Some(a), Some(b)) = (c.get(1), c.get(2))
        {
            let (a, b) = (a.as_str(), b.as_str());
            return Some(match *how {
                "b - a" => format!("{b} - {a}"),
                "a / b" => format!("{a} / {b}"),
                "a * b" => format!("{a} * {b}"),
                _ => format!("{a} - {b}"),
            });
        }
    }
    if let Some(c) = SUM_LIST.captures(text) {
        let mut nums: Vec<String> = Vec::new();
        if let Some(a) = c.get(1) {
            nums.push(a.as_str().to_string());
        }
        if let Some(mid) = c.get(2) {
            nums.extend(
                mid.as_str()
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
            );
        }
        if let Some(z) = c.get(c.len() - 1) {
            nums.push(z.as_str().to_string());
        }
        return Some(nums.join(" + "));
    }
    let mut s = text.to_string();
    for (re, op) in WORD_OPS.iter() {
        s = re.replace_all(&s, *op).into_owned();
    }
    let m = ARITH_SPAN
        .find_iter(&s)
        .max_by_key(|m| m.as_str().trim().len())?;
    let mut expr = m.as_str().trim().replace(['x', '×'], "*");
    // Balance parentheses cut at the span's edges.
    let open = expr.matches('(').count();
    let close = expr.matches(')').count();
    if open > close {
        let rest = &s[m.end()..];
        let extra: String = rest
            .chars()
            .take_while(|c| *c == ')' || c.is_whitespace())
            .filter(|c| *c == ')')
            .take(open - close)
            .collect();
        expr.push_str(&extra);
        while expr.matches('(').count() > expr.matches(')').count() {
            expr.push(')');
        }
    }
    while expr.matches(')').count() > expr.matches('(').count() && expr.ends_with(')') {
        expr.pop();
    }
    Some(expr.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// Integer, number and boolean parameters: the value right after the parameter's name
/// (`quantity 3`, `gift wrap: yes`), or, for the only numeric parameter, the only number
/// in the text that no other parameter took.
pub(crate) fn scalars(params: &[&Param], toks: &[Token], values: &mut Map<String, Value>) {
    let numeric = |p: &Param| matches!(p.spec.ty, ParamType::Integer | ParamType::Number);
    let scalar: Vec<&Param> = params
        .iter()
        .copied()
        .filter(|p| numeric(p) || p.spec.ty == ParamType::Boolean)
        .collect();
    for p in &scalar {
        if values.contains_key(&p.name) {
            continue;
        }
        let words: Vec<String> = p
            .name
            .to_lowercase()
            .split('_')
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect();
        for (_, j) in after_name(toks, &words) {
            if let Some(v) = toks
                .get(j)
                .and_then(|t| super::values::typed(&p.spec, t.word).ok())
            {
                values.insert(p.name.clone(), v);
                break;
            }
        }
    }
    let unfilled: Vec<&&Param> = scalar
        .iter()
        .filter(|p| numeric(p) && !values.contains_key(&p.name))
        .collect();
    if let [only] = unfilled.as_slice()
        && scalar.iter().filter(|p| numeric(p)).count() == 1
    {
        let taken: Vec<&str> = values.values().filter_map(Value::as_str).collect();
        let numbers: Vec<&Token> = toks
            .iter()
            .filter(|t| t.word.parse::<f64>().is_ok_and(f64::is_finite))
            .filter(|t| !taken.iter().any(|v| v.contains(t.word)))
            .collect();
        if let [t] = numbers.as_slice()
            && let Ok(v) = super::values::typed(&only.spec, t.word)
        {
            values.insert(only.name.clone(), v);
        }
    }
}
