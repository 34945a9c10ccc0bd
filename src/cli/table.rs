//! Aligned text tables for people at a terminal: columns are padded by display width (a
//! Chinese character takes two columns, a combining mark none), so names in any script line up.
//! Every table the CLI prints goes through here.

use unicode_width::UnicodeWidthStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

pub struct Table {
    headers: Vec<String>,
    align: Vec<Align>,
    rows: Vec<Vec<String>>,
    indent: usize,
}

impl Table {
    pub fn new(columns: &[(&str, Align)]) -> Table {
        Table {
            headers: columns.iter().map(|(h, _)| h.to_string()).collect(),
            align: columns.iter().map(|(_, a)| *a).collect(),
            rows: Vec::new(),
            indent: 0,
        }
    }

    /// Indents every line (tables nested under a heading).
    pub fn indent(mut self, n: usize) -> Table {
        self.indent = n;
        self
    }

    pub fn row<I, S>(&mut self, cells: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        // A cell shows what it holds: no control or bidi character reaches the terminal.
        self.rows.push(
            cells
                .into_iter()
                .map(|c| suiji::text::shown(&c.into()))
                .collect(),
        );
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The table as text: a header line, then the rows; columns two spaces apart, nothing
    /// trailing.
    pub fn render(&self) -> String {
        let n = self.headers.len();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.width()).collect();
        for r in &self.rows {
            for (i, c) in r.iter().enumerate().take(n) {
                widths[i] = widths[i].max(c.width());
            }
        }
        let mut out = String::new();
        for line in std::iter::once(&self.headers).chain(&self.rows) {
            let mut text = " ".repeat(self.indent);
            for (i, (width, align)) in widths.iter().zip(&self.align).enumerate() {
                let cell = line.get(i).map_or("", String::as_str);
                let gap = width.saturating_sub(cell.width());
                let last = i + 1 == n;
                match align {
                    Align::Right => {
                        text.push_str(&" ".repeat(gap));
                        text.push_str(cell);
                    }
                    Align::Left => {
                        text.push_str(cell);
                        if !last {
                            text.push_str(&" ".repeat(gap));
                        }
                    }
                }
                if !last {
                    text.push_str("  ");
                }
            }
            out.push_str(text.trim_end());
            out.push('\n');
        }
        out
    }

    pub fn print(&self) {
        print!("{}", self.render());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_columns_line_up_by_display_width() {
        let mut t = Table::new(&[
            ("处室", Align::Left),
            ("抽取", Align::Right),
            ("名称", Align::Left),
        ]);
        t.row(["非煤矿山安全监督处", "8", "安阳恒信铝土矿有限公司"]);
        t.row(["policy", "16", "x"]);
        assert_eq!(
            t.render(),
            "处室                抽取  名称\n\
             非煤矿山安全监督处     8  安阳恒信铝土矿有限公司\n\
             policy                16  x\n"
        );
    }
}
