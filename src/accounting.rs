//! The owner's figures from the books (revenue, drafts, receivables, expenses, recurring
//! bills) and how money is written. `aie accounting` and the weekly briefing read
//! [`figures`]; nothing here prints or reads the environment.

/// An amount as money: thousands separated, two decimals, the ISO code after
/// (`1,250.00 GBP`, never `1250.0`).
pub fn money(amount: f64, code: &str) -> String {
    let cents = (amount.abs() * 100.0).round() as u128;
    let (units, frac) = (cents / 100, cents % 100);
    let digits = units.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if amount < 0.0 && cents > 0 { "-" } else { "" };
    let code = code.trim();
    if code.is_empty() {
        format!("{sign}{grouped}.{frac:02}")
    } else {
        format!("{sign}{grouped}.{frac:02} {code}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_written_as_money() {
        assert_eq!(money(1250.0, "GBP"), "1,250.00 GBP");
        assert_eq!(money(0.5, "EUR"), "0.50 EUR");
        assert_eq!(money(1234567.891, "USD"), "1,234,567.89 USD");
        assert_eq!(money(-80.0, "USD"), "-80.00 USD");
        assert_eq!(money(999.999, ""), "1,000.00");
    }
}
