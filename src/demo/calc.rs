//! `calculate`: a small recursive-descent evaluator for `+ - * /`, parentheses, unary signs and
//! decimal numbers. Nothing else is accepted, so no input can do more than arithmetic.
//!
//! Grammar:
//! ```text
//! expr   := term (('+' | '-') term)*
//! term   := factor (('*' | '/') factor)*
//! factor := ('+' | '-') factor | number | '(' expr ')'
//! number := digits ['.' digits] | '.' digits
//! ```

/// Longest expression accepted, in bytes.
const MAX_LEN: usize = 1000;
/// Deepest nesting of parentheses and unary signs accepted (keeps the recursion bounded).
const MAX_DEPTH: usize = 64;

/// Evaluate `input` exactly as written (no rounding). The error says what is wrong and where
/// (1-based character positions).
pub(crate) fn evaluate(input: &str) -> Result<f64, String> {
    if input.len() > MAX_LEN {
        return Err(format!(
            "the expression is too long (at most {MAX_LEN} characters)"
        ));
    }
    let chars: Vec<char> = input.chars().collect();
    let mut parser = Parser {
        chars,
        pos: 0,
        depth: 0,
    };
    parser.skip_spaces();
    if parser.at_end() {
        return Err("the expression is empty".to_string());
    }
    let value = parser.expr()?;
    parser.skip_spaces();
    if let Some(c) = parser.peek() {
        return Err(if c == ')' {
            format!("unmatched ')' at position {}", parser.pos + 1)
        } else {
            format!("unexpected '{c}' at position {}", parser.pos + 1)
        });
    }
    if !value.is_finite() {
        return Err("the result is too large".to_string());
    }
    Ok(value)
}

/// Round to 2 decimals (half away from zero), never yielding `-0`.
pub(crate) fn round2(value: f64) -> f64 {
    let rounded = (value * 100.0).round() / 100.0;
    if rounded == 0.0 { 0.0 } else { rounded }
}

/// "43.98", "7", "2.5": at most 2 decimals, no trailing zeros.
pub(crate) fn format2(value: f64) -> String {
    let text = format!("{:.2}", round2(value));
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".to_string()
    } else {
        text.to_string()
    }
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn at_end(&self) -> bool {
        self.pos >= self.chars.len()
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_spaces(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    /// The next non-space character, consumed when it is one of `ops`.
    fn take(&mut self, ops: &[char]) -> Option<char> {
        self.skip_spaces();
        let c = self.peek().filter(|c| ops.contains(c))?;
        self.pos += 1;
        Some(c)
    }

    fn enter(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(format!(
                "the expression is nested too deeply (at most {MAX_DEPTH} levels)"
            ));
        }
        Ok(())
    }

    fn expr(&mut self) -> Result<f64, String> {
        let mut value = self.term()?;
        while let Some(op) = self.take(&['+', '-']) {
            let rhs = self.term()?;
            value = if op == '+' { value + rhs } else { value - rhs };
        }
        Ok(value)
    }

    fn term(&mut self) -> Result<f64, String> {
        let mut value = self.factor()?;
        while let Some(op) = self.take(&['*', '/']) {
            let at = self.pos;
            let rhs = self.factor()?;
            if op == '*' {
                value *= rhs;
            } else {
                if rhs == 0.0 {
                    return Err(format!(
                        "division by zero (the divisor after position {at} is 0)"
                    ));
                }
                value /= rhs;
            }
        }
        Ok(value)
    }

    fn factor(&mut self) -> Result<f64, String> {
        self.enter()?;
        let result = self.factor_inner();
        self.depth -= 1;
        result
    }

    fn factor_inner(&mut self) -> Result<f64, String> {
        self.skip_spaces();
        match self.peek() {
            None => Err(
                "the expression ends too early: a number or '(' is missing at the end".to_string(),
            ),
            Some('+') => {
                self.pos += 1;
                self.factor()
            }
            Some('-') => {
                self.pos += 1;
                Ok(-self.factor()?)
            }
            Some('(') => {
                let open = self.pos;
                self.pos += 1;
                let value = self.expr()?;
                if self.take(&[')']).is_none() {
                    return Err(format!("the '(' at position {} is never closed", open + 1));
                }
                Ok(value)
            }
            Some(c) if c.is_ascii_digit() || c == '.' => self.number(),
            Some(c) => Err(format!(
                "unexpected '{c}' at position {}: only numbers, + - * / and parentheses are \
                 allowed",
                self.pos + 1
            )),
        }
    }

    fn number(&mut self) -> Result<f64, String> {
        let start = self.pos;
        let mut seen_dot = false;
        let mut digits = 0;
        while let Some(c) = self.peek() {
            if c.is_ascii_digit() {
                digits += 1;
            } else if c == '.' && !seen_dot {
                seen_dot = true;
            } else {
                break;
            }
            self.pos += 1;
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        if digits == 0 || self.peek() == Some('.') {
            return Err(format!(
                "'{text}' at position {} is not a number",
                start + 1
            ));
        }
        text.parse::<f64>()
            .map_err(|_| format!("'{text}' at position {} is not a number", start + 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(s: &str) -> f64 {
        match evaluate(s) {
            Ok(v) => v,
            Err(e) => panic!("{s}: {e}"),
        }
    }

    #[test]
    fn arithmetic_follows_precedence_and_parentheses() {
        assert_eq!(format2(eval("24.99 + 18.99")), "43.98");
        assert_eq!(eval("1 + 2 * 3"), 7.0);
        assert_eq!(eval("(1 + 2) * 3"), 9.0);
        assert_eq!(eval("10 - 4 - 3"), 3.0);
        assert_eq!(eval("100 / 10 / 5"), 2.0);
        assert_eq!(eval("-3 * -(2 + 1)"), 9.0);
        assert_eq!(eval("+.5 + 1."), 1.5);
        assert_eq!(format2(eval("10 / 3")), "3.33");
        assert_eq!(format2(eval("2 / 3")), "0.67");
        assert_eq!(format2(eval("-0.001")), "0");
        assert_eq!(format2(eval("109 - 89")), "20");
        assert_eq!(format2(eval("5 / 2")), "2.5");
    }

    #[test]
    fn bad_input_is_a_clear_error() {
        let err = |s: &str| match evaluate(s) {
            Ok(v) => panic!("{s} evaluated to {v}"),
            Err(e) => e,
        };
        assert!(err("1 / 0").contains("division by zero"));
        assert!(err("1 / (2 - 2)").contains("division by zero"));
        assert!(err("").contains("empty"));
        assert!(err("   ").contains("empty"));
        assert!(err("2 +").contains("ends too early"));
        assert!(err("abc").contains("unexpected 'a' at position 1"));
        assert!(err("2 ^ 3").contains("unexpected '^'"));
        assert!(err("(1 + 2").contains("never closed"));
        assert!(err("1 + 2)").contains("unmatched ')'"));
        assert!(err("1..2").contains("not a number"));
        assert!(err("1.2.3").contains("not a number"));
        assert!(err(".").contains("not a number"));
        assert!(err("3 4").contains("unexpected '4'"));
        assert!(err(&"(".repeat(500)).contains("nested too deeply"));
        assert!(err(&"-".repeat(500)).contains("nested too deeply"));
        assert!(err(&"1+".repeat(600)).contains("too long"));
        assert!(err("1e308 * 10").contains("unexpected 'e'"));
        let huge = format!("{} * {}", "9".repeat(300), "9".repeat(300));
        assert!(err(&huge).contains("too large"));
    }
}
