//! When a memo is worth asking.
//!
//! The filter's memos (`fingerprint::MessageMemo`, `header::TailMemo`,
//! `header::JsonKeyMemo`) answer lines whose message or header has the shape of a recent
//! one with less work (the first two for a quarter to a third of it); a line that finds
//! nothing pays for the search and for being remembered. A container whose messages
//! rarely repeat a shape (ids of changing length in every line) would pay that on every
//! line, so each memo counts its answers in rounds of `ROUND` questions: after a round with
//! fewer than a third answered, it is not asked for the next `REST` lines (which are read
//! as without it), and then tried for a round again. Which lines a memo answers changes the
//! work, never the result.

/// Questions per round, and lines left to the full reading after a poor round.
const ROUND: u32 = 64;
const REST: u32 = 7 * ROUND;

#[derive(Debug, Default, Clone)]
pub struct Worth {
    asked: u32,
    answered: u32,
    /// Lines still to be read without asking the memo.
    resting: u32,
}

impl Worth {
    /// Whether to ask the memo about this line.
    #[inline(always)]
    pub fn ask(&mut self) -> bool {
        if self.resting > 0 {
            self.resting -= 1;
            return false;
        }
        true
    }

    /// Counts a question asked, and whether the memo had the answer.
    #[inline(always)]
    pub fn answered(&mut self, hit: bool) {
        self.asked += 1;
        self.answered += u32::from(hit);
        if self.asked == ROUND {
            if self.answered * 3 < ROUND {
                self.resting = REST;
            }
            self.asked = 0;
            self.answered = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Asks `lines` questions, the memo answering when `hit(i)`; returns how many were
    /// asked.
    fn asked(worth: &mut Worth, lines: u32, hit: impl Fn(u32) -> bool) -> u32 {
        let mut n = 0;
        for i in 0..lines {
            if worth.ask() {
                n += 1;
                worth.answered(hit(i));
            }
        }
        n
    }

    #[test]
    fn a_memo_that_answers_is_always_asked() {
        let mut w = Worth::default();
        assert_eq!(asked(&mut w, 10_000, |i| i % 3 != 0), 10_000);
        // Half answered is enough.
        let mut w = Worth::default();
        assert_eq!(asked(&mut w, 10_000, |i| i % 2 == 0), 10_000);
    }

    #[test]
    fn a_memo_that_rarely_answers_rests_and_is_tried_again() {
        let mut w = Worth::default();
        // One round in eight is asked.
        assert_eq!(asked(&mut w, 8 * (ROUND + REST), |i| i % 4 == 0), 8 * ROUND);
        // A round without an answer, then a rest, then asked again once lines repeat.
        assert_eq!(asked(&mut w, ROUND, |_| false), ROUND);
        assert_eq!(asked(&mut w, REST, |_| true), 0);
        assert_eq!(asked(&mut w, 1000, |_| true), 1000);
    }
}
