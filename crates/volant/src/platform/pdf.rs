//! PDF documents with a real PDF library (krilla): text set in DejaVu Sans
//! Condensed, embedded and subset, so accents and `€` survive and the text can be
//! extracted; a simple layout of text, filled boxes and rules on A4 pages, each
//! page with a footer and its number. Quotes and reports are drawn with it.

use std::sync::{Arc, LazyLock};

use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::text::{Font, TextDirection};
use skrifa::MetadataProvider;
use skrifa::instance::{LocationRef, Size};

use crate::platform::error::{AppError, AppResult};
use rust_decimal::Decimal;

use crate::platform::i18n::Locale;
use crate::platform::lines::DocumentTotals;
use crate::platform::money::{Currency, format_money, format_plain};

static REGULAR: &[u8] = include_bytes!("../../assets/fonts/DejaVuSansCondensed.ttf");
static BOLD: &[u8] = include_bytes!("../../assets/fonts/DejaVuSansCondensed-Bold.ttf");

struct Fonts {
    regular: Font,
    bold: Font,
}

static FONTS: LazyLock<Option<Fonts>> = LazyLock::new(|| {
    Some(Fonts {
        regular: Font::new(Arc::new(REGULAR.to_vec()).into(), 0)?,
        bold: Font::new(Arc::new(BOLD.to_vec()).into(), 0)?,
    })
});

/// Renders a document on the blocking pool, at most one per core at a time: a
/// rendering is pure CPU (~3 ms a quote) and holds its fonts' subsets and pages
/// in memory, so a burst of downloads queues here instead of taking every core
/// from the API and growing the process (measured: 400–510 MiB with 32 quotes
/// rendered at once, unbounded). The permit goes with the rendering: a request
/// given up does not free it early.
pub async fn render_off_runtime<T: Send + 'static>(
    render: impl FnOnce() -> AppResult<T> + Send + 'static,
) -> AppResult<T> {
    static SLOTS: LazyLock<Arc<tokio::sync::Semaphore>> = LazyLock::new(|| {
        Arc::new(tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, usize::from)))
    });
    let permit = SLOTS.clone().acquire_owned().await.map_err(|e| AppError::Internal(format!("PDF slots: {e}")))?;
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        render()
    })
    .await
    .map_err(|e| AppError::Internal(format!("PDF rendering stopped: {e}")))?
}

/// A4 in points.
pub const PAGE_W: f32 = 595.28;
pub const PAGE_H: f32 = 841.89;
pub const MARGIN: f32 = 42.0;
pub const FOOTER_TOP: f32 = PAGE_H - 64.0;
pub const BODY: f32 = 9.0;
pub const SMALL: f32 = 7.5;
pub const LINE: f32 = 12.0;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

enum Op {
    Text { x: f32, y: f32, size: f32, bold: bool, align: Align, text: String },
    Fill { rect: (f32, f32, f32, f32), grey: u8 },
    Rule { x1: f32, y1: f32, x2: f32, y2: f32 },
    Image { x: f32, y: f32, w: f32, h: f32, image: krilla::image::Image },
}

/// Width of `text` at `size` points, from the font's advances.
pub fn width(text: &str, size: f32, bold: bool) -> f32 {
    let data = if bold { BOLD } else { REGULAR };
    let Ok(font) = skrifa::FontRef::new(data) else { return 0.0 };
    let charmap = font.charmap();
    let metrics = font.glyph_metrics(Size::new(size), LocationRef::default());
    text.chars().filter_map(|c| charmap.map(c)).filter_map(|g| metrics.advance_width(g)).sum()
}

/// `text` without the characters the font has no glyph for (an emoji): an empty
/// box says nothing, and archival PDFs (PDF/A) refuse it. The data behind the
/// document (the invoice's Factur-X XML, the database) keeps them.
fn printable(text: &str, bold: bool) -> String {
    let data = if bold { BOLD } else { REGULAR };
    let Ok(font) = skrifa::FontRef::new(data) else { return text.to_owned() };
    let charmap = font.charmap();
    text.chars().filter(|c| charmap.map(*c).is_some_and(|g| g.to_u32() != 0)).collect::<String>().trim_end().to_owned()
}

/// Splits `text` into lines no wider than `max` (words longer than a line are cut).
pub fn wrap(text: &str, size: f32, bold: bool, max: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.lines() {
        let mut current = String::new();
        for word in paragraph.split_whitespace() {
            let candidate = if current.is_empty() { word.to_owned() } else { format!("{current} {word}") };
            if width(&candidate, size, bold) <= max {
                current = candidate;
                continue;
            }
            if !current.is_empty() {
                lines.push(std::mem::take(&mut current));
            }
            let mut piece = String::new();
            for c in word.chars() {
                piece.push(c);
                if width(&piece, size, bold) > max {
                    piece.pop();
                    lines.push(std::mem::take(&mut piece));
                    piece.push(c);
                }
            }
            current = piece;
        }
        lines.push(current);
    }
    if lines.is_empty() {
        lines.push(String::new());
    }
    lines
}

/// The pages being laid out.
pub struct Layout {
    pages: Vec<Vec<Op>>,
    /// Where the next content goes, from the page top.
    pub y: f32,
}

impl Layout {
    pub fn new() -> Self {
        Self { pages: vec![Vec::new()], y: MARGIN }
    }

    fn ops(&mut self) -> &mut Vec<Op> {
        if self.pages.is_empty() {
            self.pages.push(Vec::new());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    pub fn text(&mut self, x: f32, y: f32, size: f32, bold: bool, align: Align, text: impl Into<String>) {
        self.ops().push(Op::Text { x, y, size, bold, align, text: text.into() });
    }

    pub fn fill(&mut self, x: f32, y: f32, w: f32, h: f32, grey: u8) {
        self.ops().push(Op::Fill { rect: (x, y, w, h), grey });
    }

    pub fn rule(&mut self, x1: f32, y1: f32, x2: f32, y2: f32) {
        self.ops().push(Op::Rule { x1, y1, x2, y2 });
    }

    /// Draws `image` in the box (`x`, `y`, `w`, `h`), its proportions kept: as
    /// large as the box allows, against its top left corner. Returns the size drawn.
    pub fn image(&mut self, x: f32, y: f32, (w, h): (f32, f32), image: &krilla::image::Image) -> (f32, f32) {
        let (iw, ih) = image.size();
        let (iw, ih) = (iw.max(1) as f32, ih.max(1) as f32);
        let scale = (w / iw).min(h / ih);
        let (w, h) = (iw * scale, ih * scale);
        self.ops().push(Op::Image { x, y, w, h, image: image.clone() });
        (w, h)
    }

    pub fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = MARGIN;
    }

    /// Starts a new page unless `height` more points fit above the footer.
    pub fn ensure(&mut self, height: f32) -> bool {
        if self.y + height > FOOTER_TOP - 8.0 {
            self.new_page();
            true
        } else {
            false
        }
    }
}

impl Default for Layout {
    fn default() -> Self {
        Self::new()
    }
}

/// The width of a table spanning the page between the margins.
pub const TABLE_W: f32 = PAGE_W - 2.0 * MARGIN;

/// A column of [`table`]: its heading, its share of the width, its alignment.
pub struct Column<'a> {
    pub heading: &'a str,
    pub share: f32,
    pub align: Align,
}

/// A titled table over as many pages as it takes, its heading row repeated on
/// each page (reports).
pub fn table(
    title: &str,
    subtitle: &str,
    columns: &[Column<'_>],
    rows: &[Vec<String>],
    tr: Locale,
) -> AppResult<Vec<u8>> {
    let mut layout = Layout::new();
    layout.text(MARGIN, MARGIN + 14.0, 15.0, true, Align::Left, title);
    layout.text(MARGIN, MARGIN + 30.0, BODY, false, Align::Left, subtitle);
    layout.y = MARGIN + 46.0;
    let total: f32 = columns.iter().map(|c| c.share).sum::<f32>().max(f32::EPSILON);
    let widths: Vec<f32> = columns.iter().map(|c| TABLE_W * c.share / total).collect();
    let mut lefts = Vec::with_capacity(widths.len());
    let mut x = MARGIN;
    for w in &widths {
        lefts.push(x);
        x += w;
    }
    // Headings wrap within their column (a long one used to run over its neighbour).
    let headings: Vec<Vec<String>> =
        columns.iter().zip(&widths).map(|(c, w)| wrap(c.heading, BODY, true, w - 8.0)).collect();
    let heading_h = headings.iter().map(Vec::len).max().unwrap_or(1) as f32 * LINE + 6.0;
    let heading = |layout: &mut Layout| {
        let y = layout.y;
        layout.fill(MARGIN, y, TABLE_W, heading_h, 225);
        for (i, c) in columns.iter().enumerate() {
            let x = if c.align == Align::Left { lefts[i] + 4.0 } else { lefts[i] + widths[i] - 4.0 };
            for (n, line) in headings[i].iter().enumerate() {
                layout.text(x, y + 12.5 + n as f32 * LINE, BODY, true, c.align, line.clone());
            }
        }
        layout.y += heading_h + 4.0;
    };
    heading(&mut layout);
    for row in rows {
        let cells: Vec<Vec<String>> = row
            .iter()
            .enumerate()
            .map(|(i, text)| wrap(text, BODY, false, widths.get(i).copied().unwrap_or(40.0) - 8.0))
            .collect();
        let height = cells.iter().map(Vec::len).max().unwrap_or(1) as f32 * LINE + 4.0;
        if layout.ensure(height) {
            heading(&mut layout);
        }
        let y = layout.y;
        for (i, lines) in cells.iter().enumerate() {
            let align = columns.get(i).map_or(Align::Left, |c| c.align);
            let x = if align == Align::Left { lefts[i] + 4.0 } else { lefts[i] + widths[i] - 4.0 };
            for (n, line) in lines.iter().enumerate() {
                layout.text(x, y + 9.0 + n as f32 * LINE, BODY, false, align, line.clone());
            }
        }
        layout.y += height;
        layout.rule(MARGIN, layout.y - 2.0, PAGE_W - MARGIN, layout.y - 2.0);
    }
    finish(layout, title, "", tr)
}

/// Renders the laid-out pages, each with a footer: up to three lines of `note`
/// and "Page n / N".
/// Lines of legal mentions the footer of every page holds.
pub const FOOTER_LINES: usize = 3;

/// The footer's lines for `note` (wrapped as [`finish`] prints them): more than
/// [`FOOTER_LINES`] would not be printed, so settings refuse them.
pub fn footer_lines(note: &str) -> Vec<String> {
    wrap(note, SMALL, false, TABLE_W - 80.0)
}

pub fn finish(layout: Layout, title: &str, note: &str, tr: Locale) -> AppResult<Vec<u8>> {
    render(layout, title, note, tr, None)
}

/// A file carried inside an archival PDF (an invoice's Factur-X XML).
pub struct Attachment {
    pub name: String,
    pub mime_type: String,
    pub description: String,
    pub data: Vec<u8>,
    /// When the document was made (PDF/A requires its date).
    pub created: chrono::DateTime<chrono::Utc>,
}

/// Like [`finish`], as PDF/A-3b (the archival form French e-invoices take) with
/// `attachment` embedded as the document's alternative representation.
pub fn finish_archival(
    layout: Layout,
    title: &str,
    note: &str,
    tr: Locale,
    attachment: Attachment,
) -> AppResult<Vec<u8>> {
    render(layout, title, note, tr, Some(attachment))
}

fn pdf_date(at: chrono::DateTime<chrono::Utc>) -> krilla::metadata::DateTime {
    use chrono::{Datelike, Timelike};
    krilla::metadata::DateTime::new(u16::try_from(at.year()).unwrap_or(2026))
        .month(u8::try_from(at.month()).unwrap_or(1))
        .day(u8::try_from(at.day()).unwrap_or(1))
        .hour(u8::try_from(at.hour()).unwrap_or(0))
        .minute(u8::try_from(at.minute()).unwrap_or(0))
        .second(u8::try_from(at.second()).unwrap_or(0))
        .utc_offset_hour(0)
        .utc_offset_minute(0)
}

fn render(layout: Layout, title: &str, note: &str, tr: Locale, attachment: Option<Attachment>) -> AppResult<Vec<u8>> {
    let fonts = FONTS.as_ref().ok_or_else(|| AppError::Internal("the PDF font cannot be read".to_owned()))?;
    let mut metadata = krilla::metadata::Metadata::new()
        .title(title.to_owned())
        .creator("Volant".to_owned())
        .language(tr.as_str().to_owned());
    let mut document = match &attachment {
        None => Document::new(),
        Some(file) => {
            let configuration = krilla::configure::ConfigurationBuilder::new()
                .with_archival_validator(krilla::configure::Archival::A3_B)
                .finish()
                .map_err(|e| AppError::Internal(format!("PDF/A configuration: {e:?}")))?;
            metadata = metadata.creation_date(pdf_date(file.created));
            Document::new_with(krilla::SerializeSettings { configuration, ..Default::default() })
        }
    };
    document.set_metadata(metadata);
    if let Some(file) = attachment {
        let embedded = krilla::embed::EmbeddedFile {
            path: file.name,
            mime_type: krilla::embed::MimeType::new(&file.mime_type),
            description: Some(file.description),
            association_kind: krilla::embed::AssociationKind::Alternative,
            data: file.data.into(),
            modification_date: Some(pdf_date(file.created)),
            compress: Some(true),
            location: None,
        };
        document.embed_file(embedded).ok_or_else(|| AppError::Internal("PDF attachment embedded twice".to_owned()))?;
    }
    let count = layout.pages.len();
    let settings = PageSettings::from_wh(PAGE_W, PAGE_H).ok_or_else(|| AppError::Internal("page size".to_owned()))?;
    for (index, mut ops) in layout.pages.into_iter().enumerate() {
        // Footer: legal mentions and page numbers on every page.
        let mut y = FOOTER_TOP + 10.0;
        ops.push(Op::Rule { x1: MARGIN, y1: FOOTER_TOP, x2: PAGE_W - MARGIN, y2: FOOTER_TOP });
        for line in footer_lines(note).into_iter().take(FOOTER_LINES) {
            ops.push(Op::Text { x: MARGIN, y, size: SMALL, bold: false, align: Align::Left, text: line });
            y += 9.5;
        }
        let number = tr.format("pdf.page", &[("page", &(index + 1).to_string()), ("pages", &count.to_string())]);
        ops.push(Op::Text {
            x: PAGE_W - MARGIN,
            y: FOOTER_TOP + 10.0,
            size: SMALL,
            bold: false,
            align: Align::Right,
            text: number,
        });

        let mut page = document.start_page_with(settings.clone());
        let mut surface = page.surface();
        for op in ops {
            match op {
                Op::Text { x, y, size, bold, align, text } => {
                    let text = printable(&text, bold);
                    if text.is_empty() {
                        continue;
                    }
                    let x = match align {
                        Align::Left => x,
                        Align::Right => x - width(&text, size, bold),
                    };
                    surface.set_fill(Some(Fill { paint: rgb::Color::new(25, 25, 25).into(), ..Default::default() }));
                    let font = if bold { fonts.bold.clone() } else { fonts.regular.clone() };
                    surface.draw_text(Point::from_xy(x, y), font, size, &text, false, TextDirection::Auto);
                }
                Op::Fill { rect: (x, y, w, h), grey } => {
                    let Some(rect) = Rect::from_xywh(x, y, w, h) else { continue };
                    let mut builder = PathBuilder::new();
                    builder.push_rect(rect);
                    let Some(path) = builder.finish() else { continue };
                    surface.set_stroke(None);
                    surface
                        .set_fill(Some(Fill { paint: rgb::Color::new(grey, grey, grey).into(), ..Default::default() }));
                    surface.draw_path(&path);
                }
                Op::Rule { x1, y1, x2, y2 } => {
                    let mut builder = PathBuilder::new();
                    builder.move_to(x1, y1);
                    builder.line_to(x2, y2);
                    let Some(path) = builder.finish() else { continue };
                    surface.set_fill(None);
                    surface.set_stroke(Some(Stroke {
                        paint: rgb::Color::new(170, 170, 170).into(),
                        width: 0.6,
                        ..Default::default()
                    }));
                    surface.draw_path(&path);
                    surface.set_stroke(None);
                }
                Op::Image { x, y, w, h, image } => {
                    let Some(size) = krilla::geom::Size::from_wh(w, h) else { continue };
                    surface.push_transform(&krilla::geom::Transform::from_translate(x, y));
                    surface.draw_image(image, size);
                    surface.pop();
                }
            }
        }
        surface.finish();
        page.finish();
    }
    document.finish().map_err(|e| AppError::Internal(format!("PDF: {e:?}")))
}

/// The most pixels an image printed on a document may have: a small compressed
/// file can unpack to a gigabyte, decoded at every document that prints it.
pub const MAX_RASTER_PIXELS: u64 = 4_000_000;

/// A PNG or JPEG to draw (`content_type` says which); `None` for anything else,
/// and for an image of more than [`MAX_RASTER_PIXELS`] (its header tells, before
/// anything is unpacked).
pub fn raster(bytes: &[u8], content_type: &str) -> Option<krilla::image::Image> {
    let data = krilla::Data::from(bytes.to_vec());
    let image = match content_type {
        "image/png" => krilla::image::Image::from_png(data, true).ok(),
        "image/jpeg" => krilla::image::Image::from_jpeg(data, true).ok(),
        _ => None,
    }?;
    let (w, h) = image.size();
    (u64::from(w) * u64::from(h) <= MAX_RASTER_PIXELS).then_some(image)
}

/// Whether a PNG or JPEG can be printed: it is drawn into a PDF of its own. A
/// PNG is decoded whole there (its header alone would let a truncated file
/// through, to fail every document that prints it); a JPEG is copied as it is,
/// which a damaged one cannot break. Its size in pixels.
pub fn check_raster(bytes: &[u8], content_type: &str) -> Result<(u32, u32), String> {
    let image = raster(bytes, content_type).ok_or_else(|| "not a PNG or JPEG image of at most 4 MP".to_owned())?;
    let (w, h) = image.size();
    let mut document = Document::new();
    let settings = PageSettings::from_wh(100.0, 100.0).ok_or("page size")?;
    let mut page = document.start_page_with(settings);
    let mut surface = page.surface();
    let size = krilla::geom::Size::from_wh(100.0, 100.0).ok_or("size")?;
    surface.draw_image(image, size);
    surface.finish();
    page.finish();
    document.finish().map_err(|e| format!("{e:?}"))?;
    Ok((w, h))
}

/// One line of a quote or an invoice as its table prints it.
pub struct DocumentLine<'a> {
    pub description: &'a str,
    /// Printed under the description (a declined line).
    pub note: Option<&'a str>,
    pub quantity: Decimal,
    pub unit: Option<&'a str>,
    pub unit_price: Decimal,
    pub discount: Decimal,
    pub vat_rate: Decimal,
    pub total_excl_tax: Decimal,
}

/// The right margin's edge.
pub const RIGHT: f32 = PAGE_W - MARGIN;

/// Who issues a document (a quote, an invoice), as its heading prints them.
pub struct Issuer<'a> {
    pub name: &'a str,
    pub address: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub email: Option<&'a str>,
    pub registration_number: Option<&'a str>,
    pub vat_number: Option<&'a str>,
}

/// The issuer's block at the top left: logo, name, address lines, contact, registration
/// and VAT numbers. Returns where the block ends.
pub fn issuer_block(layout: &mut Layout, logo: Option<&krilla::image::Image>, issuer: &Issuer<'_>, tr: Locale) -> f32 {
    let mut top = MARGIN;
    if let Some(image) = logo {
        let (_, h) = layout.image(MARGIN, MARGIN, (150.0, 54.0), image);
        top += h + 6.0;
    }
    layout.text(MARGIN, top + 14.0, 15.0, true, Align::Left, issuer.name);
    let mut y = top + 30.0;
    let contact = [issuer.phone, issuer.email].into_iter().flatten().collect::<Vec<_>>().join(" · ");
    let numbers = [
        issuer.registration_number.map(|n| tr.format("pdf.registration_number", &[("number", n)])),
        issuer.vat_number.map(|n| tr.format("pdf.vat_number", &[("number", n)])),
    ];
    let lines = issuer
        .address
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .chain([contact])
        .chain(numbers.into_iter().flatten());
    for line in lines.filter(|l| !l.is_empty()).flat_map(|l| wrap(&l, BODY, false, 250.0)) {
        layout.text(MARGIN, y, BODY, false, Align::Left, line);
        y += LINE;
    }
    y
}

/// Column left edges and widths of the lines table.
struct Columns {
    x: [f32; 7],
    w: [f32; 7],
}

fn columns() -> Columns {
    // Description, quantity, unit, unit price, discount, VAT, total.
    let w = [TABLE_W - 340.0, 48.0, 40.0, 70.0, 46.0, 46.0, 90.0];
    let mut x = [MARGIN; 7];
    for i in 1..7 {
        x[i] = x[i - 1] + w[i - 1];
    }
    Columns { x, w }
}

fn table_header(layout: &mut Layout, cols: &Columns, tr: Locale) {
    let y = layout.y;
    layout.fill(MARGIN, y, TABLE_W, 18.0, 225);
    let labels =
        ["pdf.description", "pdf.quantity", "pdf.unit", "pdf.unit_price", "pdf.discount", "pdf.vat", "pdf.total"];
    for (i, key) in labels.iter().enumerate() {
        let text = tr.text(key);
        if i == 0 {
            layout.text(cols.x[i] + 4.0, y + 12.5, BODY, true, Align::Left, text);
        } else {
            layout.text(cols.x[i] + cols.w[i] - 4.0, y + 12.5, BODY, true, Align::Right, text);
        }
    }
    layout.y += 22.0;
}

/// The lines table of a quote or an invoice, its header repeated on each page.
pub fn lines_table(layout: &mut Layout, lines: &[DocumentLine<'_>], currency: Currency, tr: Locale) {
    let cols = columns();
    table_header(layout, &cols, tr);
    for line in lines {
        let mut description = wrap(line.description, BODY, false, cols.w[0] - 8.0);
        if let Some(note) = line.note {
            description.push(note.to_owned());
        }
        let height = LINE * description.len() as f32 + 6.0;
        if layout.ensure(height) {
            table_header(layout, &cols, tr);
        }
        let y = layout.y;
        for (i, text) in description.into_iter().enumerate() {
            layout.text(cols.x[0] + 4.0, y + 9.0 + LINE * i as f32, BODY, false, Align::Left, text);
        }
        let cells = [
            format_plain(line.quantity),
            line.unit.unwrap_or_default().to_owned(),
            format_money(line.unit_price, currency.decimals().max(line.unit_price.scale().min(4)), currency.code()),
            if line.discount.is_zero() { String::new() } else { format!("{} %", format_plain(line.discount)) },
            format!("{} %", format_plain(line.vat_rate)),
            currency.format(line.total_excl_tax),
        ];
        for (i, text) in cells.into_iter().enumerate() {
            let col = i + 1;
            layout.text(cols.x[col] + cols.w[col] - 4.0, y + 9.0, BODY, false, Align::Right, text);
        }
        layout.y += height;
        layout.rule(MARGIN, layout.y - 2.0, RIGHT, layout.y - 2.0);
    }
    if lines.is_empty() {
        layout.text(MARGIN + 4.0, layout.y + 9.0, BODY, false, Align::Left, tr.text("pdf.no_lines"));
        layout.y += LINE + 6.0;
    }
    layout.y += 10.0;
}

/// VAT summary (left) and totals (right), then `extra` rows under the totals
/// (what was paid, what is due).
pub fn totals_block(
    layout: &mut Layout,
    totals: &DocumentTotals,
    currency: Currency,
    extra: &[(String, String)],
    tr: Locale,
) {
    let amount = |value: Decimal| currency.format(value);
    let summary_h = LINE * (totals.vat.len() as f32 + 1.0) + 10.0;
    let totals_h = LINE * 3.0 + 14.0;
    let totals_x = RIGHT - 210.0;
    layout.ensure(summary_h.max(totals_h) + 8.0);
    let top = layout.y;
    let vat_x = [MARGIN, MARGIN + 60.0, MARGIN + 150.0];
    let vat_w = 230.0;
    layout.fill(MARGIN, top, vat_w, LINE + 4.0, 225);
    for (i, key) in ["pdf.vat_rate", "pdf.vat_base", "pdf.vat_amount"].iter().enumerate() {
        let (x, align) = if i == 0 { (vat_x[0] + 4.0, Align::Left) } else { (vat_x[i] + 76.0, Align::Right) };
        layout.text(x, top + 11.0, SMALL, true, align, tr.text(key));
    }
    for (i, share) in totals.vat.iter().enumerate() {
        let y = top + 11.0 + LINE * (i as f32 + 1.0) + 2.0;
        layout.text(vat_x[0] + 4.0, y, BODY, false, Align::Left, format!("{} %", format_plain(share.rate)));
        layout.text(vat_x[1] + 76.0, y, BODY, false, Align::Right, amount(share.base));
        layout.text(vat_x[2] + 76.0, y, BODY, false, Align::Right, amount(share.vat));
    }
    let rows = [
        (tr.text("pdf.total_excl"), amount(totals.excl_tax), false),
        (tr.text("pdf.total_vat"), amount(totals.vat_total), false),
        (tr.text("pdf.total_incl"), amount(totals.incl_tax), true),
    ];
    for (i, (label, value, strong)) in rows.into_iter().enumerate() {
        let y = top + 12.0 + LINE * i as f32 + if strong { 6.0 } else { 0.0 };
        if strong {
            layout.fill(totals_x, y - 11.0, 210.0, LINE + 5.0, 225);
        }
        layout.text(totals_x + 6.0, y, if strong { 10.0 } else { BODY }, strong, Align::Left, label);
        layout.text(RIGHT - 6.0, y, if strong { 10.0 } else { BODY }, strong, Align::Right, value);
    }
    layout.y = top + summary_h.max(totals_h) + 16.0;
    for (label, value) in extra {
        layout.text(totals_x + 6.0, layout.y, BODY, true, Align::Left, label.clone());
        layout.text(RIGHT - 6.0, layout.y, BODY, true, Align::Right, value.clone());
        layout.y += LINE;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn renderings_run_at_most_one_per_core() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static RUNNING: AtomicUsize = AtomicUsize::new(0);
        static PEAK: AtomicUsize = AtomicUsize::new(0);
        let renderings: Vec<_> = (0..16)
            .map(|_| {
                tokio::spawn(render_off_runtime(|| {
                    let now = RUNNING.fetch_add(1, Ordering::SeqCst) + 1;
                    PEAK.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    RUNNING.fetch_sub(1, Ordering::SeqCst);
                    Ok(now)
                }))
            })
            .collect();
        for rendering in renderings {
            assert!(rendering.await.expect("joined").is_ok());
        }
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        let peak = PEAK.load(Ordering::SeqCst);
        assert!((1..=cores).contains(&peak), "{peak} renderings at once on {cores} cores");
    }

    #[test]
    fn wrapping_respects_the_width() {
        let text = "Remplacement du kit de distribution avec pompe à eau et courroie d'accessoires";
        let lines = wrap(text, BODY, false, 120.0);
        assert!(lines.len() > 1, "{lines:?}");
        assert!(lines.iter().all(|l| width(l, BODY, false) <= 120.0), "{lines:?}");
        assert_eq!(lines.join(" "), text);
        assert!(width("€", BODY, false) > 0.0, "the font has the euro sign");
    }
}
