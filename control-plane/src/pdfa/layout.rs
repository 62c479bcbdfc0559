//! A small layout engine for business documents: text placed at positions,
//! paragraphs wrapped with the font's real glyph widths, headings kept with what
//! follows, and tables whose rows break across pages with the header repeated.
//! Units are PDF points (1/72 inch), the origin is the bottom left of an A4 page.

use std::collections::BTreeMap;

use pdf_writer::{Content, Str};

use super::{FontStyle, GlyphSet};

/// A colour in the sRGB output intent's space, each part 0–1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rgb(pub f32, pub f32, pub f32);

impl Rgb {
    pub const BLACK: Rgb = Rgb(0.0, 0.0, 0.0);
    pub const GREY: Rgb = Rgb(0.38, 0.38, 0.38);
    pub const RULE: Rgb = Rgb(0.72, 0.72, 0.72);
}

/// Millimetres in points.
pub fn mm(millimetres: f32) -> f32 {
    millimetres * 72.0 / 25.4
}

pub const PAGE_WIDTH: f32 = super::A4_WIDTH;
pub const PAGE_HEIGHT: f32 = super::A4_HEIGHT;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TextStyle {
    pub font: FontStyle,
    pub size: f32,
    pub color: Rgb,
    /// Distance between baselines.
    pub leading: f32,
}

impl TextStyle {
    pub const fn new(font: FontStyle, size: f32) -> TextStyle {
        TextStyle { font, size, color: Rgb::BLACK, leading: size * 1.35 }
    }

    pub const fn color(self, color: Rgb) -> TextStyle {
        TextStyle { color, ..self }
    }

    pub fn width(&self, text: &str) -> f32 {
        self.font.face().width(text, self.size)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

enum Op {
    Text { x: f32, y: f32, style: TextStyle, glyphs: Vec<u8> },
    Line { from: (f32, f32), to: (f32, f32), width: f32, color: Rgb },
}

/// One page's drawing operations.
#[derive(Default)]
pub struct Page {
    ops: Vec<Op>,
}

impl Page {
    pub(super) fn draw(&self, content: &mut Content) {
        for op in &self.ops {
            match op {
                Op::Text { x, y, style, glyphs } => {
                    let Rgb(r, g, b) = style.color;
                    content
                        .set_fill_rgb(r, g, b)
                        .begin_text()
                        .set_font(style.font.resource_name(), style.size)
                        .next_line(*x, *y)
                        .show(Str(glyphs))
                        .end_text();
                }
                Op::Line { from, to, width, color } => {
                    let Rgb(r, g, b) = *color;
                    content
                        .set_stroke_rgb(r, g, b)
                        .set_line_width(*width)
                        .move_to(from.0, from.1)
                        .line_to(to.0, to.1)
                        .stroke();
                }
            }
        }
    }
}

/// The pages of a document and the glyphs they use.
#[derive(Default)]
pub struct Document {
    pages: Vec<Page>,
    glyphs: BTreeMap<FontStyle, GlyphSet>,
}

impl Document {
    pub fn new() -> Document {
        Document::default()
    }

    /// Adds an empty page and returns its index.
    pub fn add_page(&mut self) -> usize {
        self.pages.push(Page::default());
        self.pages.len() - 1
    }

    pub fn page_count(&self) -> usize {
        self.pages.len()
    }

    /// One line of text; `x` is its left edge, or its right edge for `Align::Right`.
    pub fn text(&mut self, page: usize, x: f32, y: f32, style: TextStyle, align: Align, text: &str) {
        if text.is_empty() {
            return;
        }
        let x = match align {
            Align::Left => x,
            Align::Right => x - style.width(text),
        };
        let glyphs = self.glyphs.entry(style.font).or_default().encode(style.font.face(), text);
        self.pages[page].ops.push(Op::Text { x, y, style, glyphs });
    }

    pub fn line(&mut self, page: usize, from: (f32, f32), to: (f32, f32), width: f32, color: Rgb) {
        self.pages[page].ops.push(Op::Line { from, to, width, color });
    }

    pub(super) fn into_parts(self) -> (Vec<Page>, BTreeMap<FontStyle, GlyphSet>) {
        (self.pages, self.glyphs)
    }
}

/// Breaks text into lines no wider than `width`, at spaces; a word longer than a
/// line is broken between characters. Explicit line breaks are kept.
pub fn wrap(text: &str, style: &TextStyle, width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            let candidate = if line.is_empty() { word.to_owned() } else { format!("{line} {word}") };
            if style.width(&candidate) <= width {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            // The word alone, split if it still does not fit.
            for c in word.chars() {
                line.push(c);
                if style.width(&line) > width && line.chars().count() > 1 {
                    let last = line.pop().expect("two characters");
                    lines.push(std::mem::replace(&mut line, last.to_string()));
                }
            }
        }
        lines.push(line);
    }
    lines
}

/// The area text flows in on every page.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frame {
    pub left: f32,
    pub right: f32,
    pub top: f32,
    pub bottom: f32,
}

/// Text flowing down pages: the current page and how far down it is filled.
pub struct Flow<'d> {
    pub document: &'d mut Document,
    frame: Frame,
    page: usize,
    /// The top of the next thing to place.
    y: f32,
}

impl<'d> Flow<'d> {
    /// Continues on the document's last page from `y`, or starts a page if there is none.
    pub fn new(document: &'d mut Document, frame: Frame, y: f32) -> Flow<'d> {
        let page = if document.page_count() == 0 { document.add_page() } else { document.page_count() - 1 };
        Flow { document, frame, page, y }
    }

    pub fn page(&self) -> usize {
        self.page
    }

    pub fn y(&self) -> f32 {
        self.y
    }

    pub fn frame(&self) -> Frame {
        self.frame
    }

    pub fn width(&self) -> f32 {
        self.frame.right - self.frame.left
    }

    pub fn space(&mut self, height: f32) {
        self.y -= height;
    }

    pub fn new_page(&mut self) {
        self.page = self.document.add_page();
        self.y = self.frame.top;
    }

    /// Starts a new page unless `height` still fits on this one; true if it did.
    pub fn ensure(&mut self, height: f32) -> bool {
        if self.y - height < self.frame.bottom && self.y < self.frame.top {
            self.new_page();
            return true;
        }
        false
    }

    /// Lines of text placed from the current position; breaks pages between lines.
    pub fn lines(&mut self, lines: &[String], style: TextStyle, align: Align) {
        for line in lines {
            self.ensure(style.leading);
            let x = match align {
                Align::Left => self.frame.left,
                Align::Right => self.frame.right,
            };
            self.y -= style.leading;
            self.document.text(self.page, x, self.y + (style.leading - style.size) * 0.5, style, align, line);
        }
    }

    /// A paragraph wrapped to the frame's width.
    pub fn paragraph(&mut self, text: &str, style: TextStyle) {
        let lines = wrap(text, &style, self.width());
        self.lines(&lines, style, Align::Left);
    }

    /// A heading, moved to the next page with its first following lines if it
    /// would otherwise end a page.
    pub fn heading(&mut self, text: &str, style: TextStyle, keep_with_next: f32) {
        let lines = wrap(text, &style, self.width());
        self.ensure(style.leading * lines.len() as f32 + keep_with_next);
        self.lines(&lines, style, Align::Left);
    }

    pub fn rule(&mut self, width: f32, color: Rgb) {
        let (left, right, y) = (self.frame.left, self.frame.right, self.y);
        self.document.line(self.page, (left, y), (right, y), width, color);
    }

    /// A table: the header row is repeated on every page the table continues on,
    /// and a row is never split across pages.
    pub fn table(&mut self, table: &Table) {
        let padding = 3.0;
        let header_height = self.row_height(table, &table.header, table.header_style) + 2.0 * padding;
        self.ensure(header_height + table.style.leading + 2.0 * padding);
        self.table_header(table, padding);
        for row in &table.rows {
            let height = self.row_height(table, row, table.style) + 2.0 * padding;
            if self.ensure(height) {
                self.table_header(table, padding);
            }
            self.row(table, row, table.style, padding);
            self.rule(0.4, Rgb::RULE);
        }
    }

    fn table_header(&mut self, table: &Table, padding: f32) {
        self.row(table, &table.header, table.header_style, padding);
        self.rule(0.8, Rgb::BLACK);
    }

    fn row_height(&self, table: &Table, cells: &[String], style: TextStyle) -> f32 {
        let widths = table.widths(self.width());
        let lines = cells.iter().zip(&widths).map(|(cell, width)| wrap(cell, &style, width - 2.0 * padding_x()).len());
        lines.max().unwrap_or(1) as f32 * style.leading
    }

    fn row(&mut self, table: &Table, cells: &[String], style: TextStyle, padding: f32) {
        let widths = table.widths(self.width());
        let top = self.y - padding;
        let mut bottom = top;
        let mut x = self.frame.left;
        for ((cell, column), width) in cells.iter().zip(&table.columns).zip(&widths) {
            let inner = width - 2.0 * padding_x();
            let anchor = match column.align {
                Align::Left => x + padding_x(),
                Align::Right => x + width - padding_x(),
            };
            let mut y = top;
            for line in wrap(cell, &style, inner) {
                y -= style.leading;
                self.document.text(
                    self.page,
                    anchor,
                    y + (style.leading - style.size) * 0.5,
                    style,
                    column.align,
                    &line,
                );
            }
            bottom = bottom.min(y);
            x += width;
        }
        self.y = bottom - padding;
    }
}

fn padding_x() -> f32 {
    4.0
}

#[derive(Debug, Clone, PartialEq)]
pub struct TableColumn {
    /// A fixed width in points; `None` shares what is left with the other such columns.
    pub width: Option<f32>,
    pub align: Align,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub columns: Vec<TableColumn>,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub style: TextStyle,
    pub header_style: TextStyle,
}

impl Table {
    fn widths(&self, total: f32) -> Vec<f32> {
        let fixed: f32 = self.columns.iter().filter_map(|c| c.width).sum();
        let flexible = self.columns.iter().filter(|c| c.width.is_none()).count().max(1) as f32;
        self.columns.iter().map(|c| c.width.unwrap_or((total - fixed) / flexible)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: TextStyle = TextStyle::new(FontStyle::Regular, 10.0);

    #[test]
    fn widths_come_from_the_font() {
        // DejaVu Sans: "i" is narrower than "W"; a space is 318 units of 1000.
        assert!(BODY.width("iiii") < BODY.width("WWWW"));
        assert!((BODY.width(" ") - 3.18).abs() < 0.01, "{}", BODY.width(" "));
        assert!(TextStyle::new(FontStyle::Bold, 10.0).width("Rechnung") > BODY.width("Rechnung"));
    }

    #[test]
    fn paragraphs_wrap_at_spaces_within_the_width() {
        let text = "Abgerechnet wird die höchste Kontaktzahl im Zeitraum, gezählt an jedem Tag des Monats.";
        let lines = wrap(text, &BODY, 150.0);
        assert!(lines.len() > 1);
        assert!(lines.iter().all(|line| BODY.width(line) <= 150.0));
        assert_eq!(lines.join(" "), text);
        assert_eq!(wrap("a\nb", &BODY, 150.0), vec!["a", "b"]);
        let long = wrap("Donaudampfschifffahrtsgesellschaftskapitän", &BODY, 60.0);
        assert!(long.len() > 1 && long.iter().all(|line| BODY.width(line) <= 60.0), "{long:?}");
    }

    #[test]
    fn a_heading_is_not_left_alone_at_the_bottom_of_a_page() {
        let mut document = Document::new();
        let frame = Frame { left: 50.0, right: 550.0, top: 800.0, bottom: 100.0 };
        let mut flow = Flow::new(&mut document, frame, 130.0);
        flow.heading("§ 3 Vergütung", TextStyle::new(FontStyle::Bold, 12.0), BODY.leading * 3.0);
        assert_eq!(flow.page(), 1, "the heading moved to the next page");
        flow.paragraph("Der Kunde zahlt monatlich.", BODY);
        assert_eq!(document.page_count(), 2);
    }

    #[test]
    fn long_tables_continue_on_new_pages() {
        let mut document = Document::new();
        let frame = Frame { left: 50.0, right: 550.0, top: 800.0, bottom: 100.0 };
        let mut flow = Flow::new(&mut document, frame, 800.0);
        let table = Table {
            columns: vec![
                TableColumn { width: Some(40.0), align: Align::Right },
                TableColumn { width: None, align: Align::Left },
            ],
            header: vec!["Pos.".into(), "Beschreibung".into()],
            rows: (1..=200).map(|i| vec![i.to_string(), format!("Posten {i}")]).collect(),
            style: BODY,
            header_style: TextStyle::new(FontStyle::Bold, 10.0),
        };
        flow.table(&table);
        assert!(flow.y() >= frame.bottom);
        assert!(document.page_count() >= 5, "{} pages", document.page_count());
    }
}
