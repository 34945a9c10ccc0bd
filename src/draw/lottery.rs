//! Lottery results as seeds: the digits of a manual seed written exactly as a named game
//! announces them (spec section 2), so a typo or a number from another game is refused when it
//! is entered, and by every verifier. Pure.

/// A lottery whose announced result can be a manual seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Game {
    pub name: &'static str,
    /// Balls in draw order: (how many, lowest, highest), each group drawn without repeats.
    groups: &'static [(usize, u32, u32)],
    format: &'static str,
    /// The weekdays it draws on (Beijing time).
    pub days: &'static [chrono::Weekday],
}

/// The games suiji knows: China Welfare Lottery's 双色球 and China Sports Lottery's 大乐透.
pub const GAMES: [Game; 2] = [
    Game {
        name: "双色球",
        groups: &[(6, 1, 33), (1, 1, 16)],
        format: "6 red balls 01–33 in draw order, then the blue ball 01–16, two digits each",
        days: &[
            chrono::Weekday::Tue,
            chrono::Weekday::Thu,
            chrono::Weekday::Sun,
        ],
    },
    Game {
        name: "大乐透",
        groups: &[(5, 1, 35), (2, 1, 12)],
        format: "5 front-zone balls 01–35 in draw order, then 2 back-zone balls 01–12, two \
                 digits each",
        days: &[
            chrono::Weekday::Mon,
            chrono::Weekday::Wed,
            chrono::Weekday::Sat,
        ],
    },
];

pub fn game(name: &str) -> Option<Game> {
    GAMES.into_iter().find(|g| g.name == name)
}

impl Game {
    /// Whether `digits` is a result of this game as announced: two digits per ball, each group
    /// within its range and without repeats.
    pub fn check(&self, digits: &str) -> Result<(), String> {
        let balls: usize = self.groups.iter().map(|(n, _, _)| n).sum();
        let fail = |why: String| {
            Err(format!(
                "`{}` is not a {} result ({}): {why}",
                crate::text::quote(digits),
                self.name,
                self.format
            ))
        };
        if digits.len() != 2 * balls || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return fail(format!("{} digits are needed", 2 * balls));
        }
        let mut at = 0;
        for (n, low, high) in self.groups {
            let mut seen = Vec::new();
            for _ in 0..*n {
                let ball: u32 = digits[at..at + 2].parse().unwrap_or(0);
                if ball < *low || ball > *high {
                    return fail(format!("ball {} is {ball:02}", at / 2 + 1));
                }
                if seen.contains(&ball) {
                    return fail(format!("{ball:02} is drawn twice"));
                }
                seen.push(ball);
                at += 2;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_are_checked_against_their_game() {
        let ssq = game("双色球").expect("双色球");
        assert!(ssq.check("03071218253109").is_ok());
        assert!(ssq.check("0307121825310").is_err(), "13 digits");
        assert!(
            ssq.check("03071218253417")
                .unwrap_err()
                .contains("ball 6 is 34")
        );
        assert!(
            ssq.check("03071218253117")
                .unwrap_err()
                .contains("ball 7 is 17")
        );
        assert!(
            ssq.check("03031218253109")
                .unwrap_err()
                .contains("03 is drawn twice")
        );
        let dlt = game("大乐透").expect("大乐透");
        assert!(dlt.check("01020304350112").is_ok());
        assert!(dlt.check("01020304351313").is_err());
        assert!(game("七乐彩").is_none());
    }
}
