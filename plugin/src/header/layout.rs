//! User timestamp layouts (`%d/%m/%Y %H:%M:%S`): a strptime-like mini language compiled
//! once into a list of items and matched byte by byte.

use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Item {
    Literal(u8),
    /// One or more spaces.
    Space,
    Year,
    Year2,
    Month,
    MonthName,
    Day,
    DayPadded,
    DayOfYear,
    Hour,
    Hour12,
    Minute,
    Second,
    Fraction,
    Zone,
    AmPm,
    Weekday,
    Epoch,
}

#[derive(Debug, Clone)]
pub(super) struct Layout {
    pub(super) items: Vec<Item>,
}

impl Layout {
    pub(super) fn compile(source: &str) -> Result<Self, LayoutError> {
        let fail = |reason: String| LayoutError {
            layout: source.to_string(),
            reason,
        };
        if source.trim().is_empty() {
            return Err(fail("empty layout".into()));
        }
        let mut items = Vec::new();
        let mut chars = source.char_indices();
        while let Some((_, c)) = chars.next() {
            if c == ' ' {
                if items.last() != Some(&Item::Space) {
                    items.push(Item::Space);
                }
                continue;
            }
            if c != '%' {
                let mut buf = [0u8; 4];
                items.extend(c.encode_utf8(&mut buf).bytes().map(Item::Literal));
                continue;
            }
            let Some((at, d)) = chars.next() else {
                return Err(fail("ends with a lone '%'".into()));
            };
            let item = match d {
                'Y' => Item::Year,
                'y' => Item::Year2,
                'm' => Item::Month,
                'b' | 'B' | 'h' => Item::MonthName,
                'd' => Item::Day,
                'e' => Item::DayPadded,
                'j' => Item::DayOfYear,
                'H' => Item::Hour,
                'I' => Item::Hour12,
                'M' => Item::Minute,
                'S' => Item::Second,
                'f' => Item::Fraction,
                'z' | 'Z' => Item::Zone,
                'p' => Item::AmPm,
                'a' | 'A' => Item::Weekday,
                's' => Item::Epoch,
                'T' => {
                    items.extend([Item::Hour, Item::Literal(b':'), Item::Minute, Item::Literal(b':'), Item::Second]);
                    continue;
                }
                'F' => {
                    items.extend([Item::Year, Item::Literal(b'-'), Item::Month, Item::Literal(b'-'), Item::Day]);
                    continue;
                }
                '%' => Item::Literal(b'%'),
                other => {
                    return Err(fail(format!(
                        "unknown directive %{other} at byte {} (known: %Y %y %m %b %d %e %j %H %I %M %S %f %z %p %a %s %T %F %%)",
                        at - 1
                    )))
                }
            };
            if item != Item::Literal(b'%') && items.contains(&item) {
                return Err(fail(format!("%{d} appears twice")));
            }
            items.push(item);
        }
        let has = |i: Item| items.contains(&i);
        if !has(Item::Epoch) {
            if !(has(Item::Hour) || has(Item::Hour12)) || !has(Item::Minute) {
                return Err(fail("needs a time of day (%H or %I, and %M) or %s".into()));
            }
            if has(Item::Hour12) != has(Item::AmPm) {
                return Err(fail("%I and %p go together".into()));
            }
            if has(Item::Hour) && has(Item::Hour12) {
                return Err(fail("%H and %I both given".into()));
            }
            let month = has(Item::Month) || has(Item::MonthName);
            let day = has(Item::Day) || has(Item::DayPadded);
            if month != day || (has(Item::DayOfYear) && (month || day)) {
                return Err(fail("a date needs both month and day (or %j alone)".into()));
            }
            if (has(Item::Year) || has(Item::Year2)) && !month && !has(Item::DayOfYear) {
                return Err(fail("a year without month and day".into()));
            }
        }
        if has(Item::Year) && has(Item::Year2) {
            return Err(fail("%Y and %y both given".into()));
        }
        Ok(Self { items })
    }

    /// Matches the layout at `pos`: the parts read and the end.
    pub(super) fn match_at(&self, b: &[u8], pos: usize) -> Option<(Parts, usize)> {
        let mut parts = Parts::default();
        let mut p = pos;
        for item in &self.items {
            p = match *item {
                Item::Literal(c) => byte_is(b, p, c).then_some(p + 1)?,
                Item::Space => {
                    let q = skip_spaces(b, p);
                    (q > p).then_some(q)?
                }
                Item::Year => {
                    let (v, q) = digits(b, p, 4, 4)?;
                    parts.year = Some(v as i32);
                    q
                }
                Item::Year2 => {
                    let (v, q) = digits(b, p, 2, 2)?;
                    parts.year = Some(2000 + v as i32);
                    q
                }
                Item::Month => {
                    let (v, q) = digits(b, p, 1, 2)?;
                    parts.month = Some(v);
                    q
                }
                Item::MonthName => {
                    let (v, q) = month_at(b, p)?;
                    parts.month = Some(v);
                    q
                }
                Item::Day => {
                    let (v, q) = digits(b, p, 1, 2)?;
                    parts.day = Some(v);
                    q
                }
                Item::DayPadded => {
                    let (v, q) = digits(b, skip_spaces(b, p), 1, 2)?;
                    parts.day = Some(v);
                    q
                }
                Item::DayOfYear => {
                    let (v, q) = digits(b, p, 1, 3)?;
                    parts.day_of_year = Some(v);
                    q
                }
                Item::Hour | Item::Hour12 => {
                    let (v, q) = digits(b, p, 1, 2)?;
                    parts.hour = v;
                    q
                }
                Item::Minute => {
                    let (v, q) = digits(b, p, 2, 2)?;
                    parts.minute = v;
                    q
                }
                Item::Second => {
                    let (v, q) = digits(b, p, 2, 2)?;
                    parts.second = v;
                    q
                }
                Item::Fraction => {
                    let (v, q) = fraction(b, p)?;
                    parts.nanos = v;
                    q
                }
                Item::Zone => {
                    let (v, q) = zone_at(b, p)?;
                    parts.offset = v;
                    q
                }
                Item::AmPm => {
                    let q = am_pm(b, p, &mut parts);
                    (q > p).then_some(q)?
                }
                Item::Weekday => name_at(b, p, &WEEKDAYS)?.1,
                Item::Epoch => {
                    let (v, q) = digits(b, p, 1, 9)?;
                    let (rest, q2) = digits(b, q, 0, 9)?;
                    let width = (q2 - q) as u32;
                    parts.epoch = Some(i64::from(v) * 10i64.pow(width) + i64::from(rest));
                    q2
                }
            };
        }
        if parts.hour > 23 || parts.minute > 59 || parts.second > 60 {
            return None;
        }
        Some((parts, p))
    }
}
