//! A quote as a PDF: organization header, client and vehicle blocks, the lines
//! table (its header repeated on each page), VAT summary, totals, terms, a
//! signature box, legal mentions and page numbers. Text is set in DejaVu Sans
//! Condensed, embedded and subset by krilla, so accents and `€` survive and the
//! text can be extracted.

use std::sync::{Arc, LazyLock};

use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::text::{Font, TextDirection};
use rust_decimal::Decimal;
use skrifa::MetadataProvider;
use skrifa::instance::{LocationRef, Size};

use super::service::QuoteDocument;
use crate::platform::error::{AppError, AppResult};
use crate::platform::i18n::Locale;
use crate::platform::money::{format_decimal, format_money, format_plain};

static REGULAR: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSansCondensed.ttf");
static BOLD: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSansCondensed-Bold.ttf");

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

/// A4 in points.
const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
const MARGIN: f32 = 42.0;
const FOOTER_TOP: f32 = PAGE_H - 64.0;
const BODY: f32 = 9.0;
const SMALL: f32 = 7.5;
const LINE: f32 = 12.0;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Align {
    Left,
    Right,
}

enum Op {
    Text { x: f32, y: f32, size: f32, bold: bool, align: Align, text: String },
    Fill { rect: (f32, f32, f32, f32), grey: u8 },
    Rule { x1: f32, y1: f32, x2: f32, y2: f32 },
}

/// Width of `text` at `size` points, from the font's advances.
fn width(text: &str, size: f32, bold: bool) -> f32 {
    let data = if bold { BOLD } else { REGULAR };
    let Ok(font) = skrifa::FontRef::new(data) else { return 0.0 };
    let charmap = font.charmap();
    let metrics = font.glyph_metrics(Size::new(size), LocationRef::default());
    text.chars().filter_map(|c| charmap.map(c)).filter_map(|g| metrics.advance_width(g)).sum()
}

/// Splits `text` into lines no wider than `max` (words longer than a line are cut).
fn wrap(text: &str, size: f32, bold: bool, max: f32) -> Vec<String> {
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
struct Layout {
    pages: Vec<Vec<Op>>,
    y: f32,
}

impl Layout {
    fn new() -> Self {
        Self { pages: vec![Vec::new()], y: MARGIN }
    }

    fn ops(&mut self) -> &mut Vec<Op> {
        if self.pages.is_empty() {
            self.pages.push(Vec::new());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    fn text(&mut self, x: f32, y: f32, size: f32, bold: bool, align: Align, text: impl Into<String>) {
        self.ops().push(Op::Text { x, y, size, bold, align, text: text.into() });
    }

    fn fill(&mut self, x: f32, y: f32, w: f32, h: f32, grey: u8) {
        self.ops().push(Op::Fill { rect: (x, y, w, h), grey });
    }

    fn rule(&mut self, x1: f32, y1: f32, x2: f32, y2: f32) {
        self.ops().push(Op::Rule { x1, y1, x2, y2 });
    }

    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = MARGIN;
    }

    /// Starts a new page unless `height` more points fit above the footer.
    fn ensure(&mut self, height: f32) -> bool {
        if self.y + height > FOOTER_TOP - 8.0 {
            self.new_page();
            true
        } else {
            false
        }
    }
}

/// Column left edges and widths of the lines table.
struct Columns {
    x: [f32; 7],
    w: [f32; 7],
}

const TABLE_W: f32 = PAGE_W - 2.0 * MARGIN;

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

pub fn render(doc: &QuoteDocument) -> AppResult<Vec<u8>> {
    let tr = Locale::parse(&doc.organization.locale).unwrap_or_default();
    let quote = &doc.quote;
    let decimals = quote.decimals();
    let currency = quote.currency.as_str();
    let amount = |value: Decimal| format_money(value, decimals, currency);
    let mut layout = Layout::new();

    // Organization, and the document's identity on the right.
    let right = PAGE_W - MARGIN;
    layout.text(MARGIN, MARGIN + 14.0, 15.0, true, Align::Left, doc.organization.name.clone());
    let mut y = MARGIN + 30.0;
    for line in
        doc.organization.address.as_deref().unwrap_or_default().lines().flat_map(|l| wrap(l, BODY, false, 250.0))
    {
        layout.text(MARGIN, y, BODY, false, Align::Left, line);
        y += LINE;
    }
    layout.text(right, MARGIN + 14.0, 18.0, true, Align::Right, tr.text("pdf.title"));
    layout.text(right, MARGIN + 32.0, 11.0, true, Align::Right, quote.number.clone());
    let issued = tr.format("pdf.issued", &[("date", &quote.issue_date.format("%d/%m/%Y").to_string())]);
    let valid = tr.format("pdf.valid_until", &[("date", &quote.valid_until.format("%d/%m/%Y").to_string())]);
    layout.text(right, MARGIN + 46.0, BODY, false, Align::Right, issued);
    layout.text(right, MARGIN + 58.0, BODY, false, Align::Right, valid);
    layout.y = y.max(MARGIN + 70.0) + 16.0;

    // Client and vehicle blocks side by side.
    let block_w = (TABLE_W - 16.0) / 2.0;
    let client = &doc.client;
    let mut client_lines: Vec<(bool, String)> = vec![(true, client.display_name().to_owned())];
    if client.company_name.is_some() {
        client_lines.push((false, client.name.clone()));
    }
    for text in [client.address.as_deref(), client.email.as_deref(), client.phone.as_deref()].into_iter().flatten() {
        client_lines.extend(wrap(text, BODY, false, block_w - 16.0).into_iter().map(|l| (false, l)));
    }
    if let Some(tax_id) = &client.tax_id {
        client_lines.push((false, tr.format("pdf.tax_id", &[("id", tax_id)])));
    }
    let mut vehicle_lines: Vec<(bool, String)> = Vec::new();
    if let Some(v) = &doc.vehicle {
        vehicle_lines.push((true, v.license_plate.clone()));
        vehicle_lines.push((false, format!("{} {} ({})", v.brand, v.model, v.year)));
        if let Some(vin) = &v.vin {
            vehicle_lines.push((false, tr.format("pdf.vin", &[("vin", vin)])));
        }
        if let Some(km) = v.mileage_km {
            vehicle_lines.push((false, tr.format("pdf.mileage", &[("km", &format_decimal(Decimal::from(km), 0))])));
        }
    }
    let rows = client_lines.len().max(vehicle_lines.len()).max(1);
    let block_h = 24.0 + LINE * rows as f32;
    let top = layout.y;
    for (x, title, lines) in [
        (MARGIN, tr.text("pdf.client"), &client_lines),
        (MARGIN + block_w + 16.0, tr.text("pdf.vehicle"), &vehicle_lines),
    ] {
        if lines.is_empty() {
            continue;
        }
        layout.fill(x, top, block_w, block_h, 244);
        layout.text(x + 8.0, top + 13.0, SMALL, true, Align::Left, title.to_uppercase());
        for (i, (bold, text)) in lines.iter().enumerate() {
            layout.text(x + 8.0, top + 26.0 + LINE * i as f32, BODY, *bold, Align::Left, text.clone());
        }
    }
    layout.y = top + block_h + 20.0;

    // Lines.
    let cols = columns();
    table_header(&mut layout, &cols, tr);
    for line in &quote.lines {
        let mut description = wrap(&line.description, BODY, false, cols.w[0] - 8.0);
        if line.accepted == Some(false) {
            description.push(tr.text("pdf.line_declined").to_owned());
        }
        let height = LINE * description.len() as f32 + 6.0;
        if layout.ensure(height) {
            table_header(&mut layout, &cols, tr);
        }
        let y = layout.y;
        for (i, text) in description.into_iter().enumerate() {
            layout.text(cols.x[0] + 4.0, y + 9.0 + LINE * i as f32, BODY, false, Align::Left, text);
        }
        let cells = [
            format_plain(line.quantity),
            line.unit.clone().unwrap_or_default(),
            format_money(line.unit_price, decimals.max(line.unit_price.scale().min(4)), currency),
            if line.discount.is_zero() { String::new() } else { format!("{} %", format_plain(line.discount)) },
            format!("{} %", format_plain(line.vat_rate)),
            amount(line.total_excl_tax),
        ];
        for (i, text) in cells.into_iter().enumerate() {
            let col = i + 1;
            layout.text(cols.x[col] + cols.w[col] - 4.0, y + 9.0, BODY, false, Align::Right, text);
        }
        layout.y += height;
        layout.rule(MARGIN, layout.y - 2.0, right, layout.y - 2.0);
    }
    if quote.lines.is_empty() {
        layout.text(MARGIN + 4.0, layout.y + 9.0, BODY, false, Align::Left, tr.text("pdf.no_lines"));
        layout.y += LINE + 6.0;
    }
    layout.y += 10.0;

    // VAT summary (left) and totals (right).
    let summary_h = LINE * (quote.totals.vat.len() as f32 + 1.0) + 10.0;
    let totals_h = LINE * 3.0 + 14.0;
    layout.ensure(summary_h.max(totals_h) + 8.0);
    let top = layout.y;
    let vat_x = [MARGIN, MARGIN + 60.0, MARGIN + 150.0];
    let vat_w = 230.0;
    layout.fill(MARGIN, top, vat_w, LINE + 4.0, 225);
    for (i, key) in ["pdf.vat_rate", "pdf.vat_base", "pdf.vat_amount"].iter().enumerate() {
        let (x, align) = if i == 0 { (vat_x[0] + 4.0, Align::Left) } else { (vat_x[i] + 76.0, Align::Right) };
        layout.text(x, top + 11.0, SMALL, true, align, tr.text(key));
    }
    for (i, share) in quote.totals.vat.iter().enumerate() {
        let y = top + 11.0 + LINE * (i as f32 + 1.0) + 2.0;
        layout.text(vat_x[0] + 4.0, y, BODY, false, Align::Left, format!("{} %", format_plain(share.rate)));
        layout.text(vat_x[1] + 76.0, y, BODY, false, Align::Right, amount(share.base));
        layout.text(vat_x[2] + 76.0, y, BODY, false, Align::Right, amount(share.vat));
    }
    let totals_x = right - 210.0;
    let rows = [
        (tr.text("pdf.total_excl"), amount(quote.totals.excl_tax), false),
        (tr.text("pdf.total_vat"), amount(quote.totals.vat_total), false),
        (tr.text("pdf.total_incl"), amount(quote.totals.incl_tax), true),
    ];
    for (i, (label, value, strong)) in rows.into_iter().enumerate() {
        let y = top + 12.0 + LINE * i as f32 + if strong { 6.0 } else { 0.0 };
        if strong {
            layout.fill(totals_x, y - 11.0, 210.0, LINE + 5.0, 225);
        }
        layout.text(totals_x + 6.0, y, if strong { 10.0 } else { BODY }, strong, Align::Left, label);
        layout.text(right - 6.0, y, if strong { 10.0 } else { BODY }, strong, Align::Right, value);
    }
    layout.y = top + summary_h.max(totals_h) + 16.0;

    // Notes and terms.
    for (title, text) in
        [(tr.text("pdf.notes"), quote.notes.as_deref()), (tr.text("pdf.terms"), quote.terms.as_deref())]
    {
        let Some(text) = text.filter(|t| !t.trim().is_empty()) else { continue };
        let lines = wrap(text, BODY, false, TABLE_W);
        layout.ensure(LINE * (lines.len() as f32 + 1.0) + 6.0);
        layout.text(MARGIN, layout.y + 9.0, BODY, true, Align::Left, title);
        layout.y += LINE;
        for line in lines {
            layout.text(MARGIN, layout.y + 9.0, BODY, false, Align::Left, line);
            layout.y += LINE;
        }
        layout.y += 8.0;
    }

    // Signature box: what the client writes when accepting on paper.
    layout.ensure(80.0);
    let sign_x = right - 230.0;
    layout.rule(sign_x, layout.y, right, layout.y);
    layout.rule(sign_x, layout.y + 70.0, right, layout.y + 70.0);
    layout.rule(sign_x, layout.y, sign_x, layout.y + 70.0);
    layout.rule(right, layout.y, right, layout.y + 70.0);
    layout.text(sign_x + 6.0, layout.y + 12.0, SMALL, true, Align::Left, tr.text("pdf.signature"));
    layout.text(sign_x + 6.0, layout.y + 23.0, SMALL, false, Align::Left, tr.text("pdf.signature_hint"));

    draw(layout, doc, tr)
}

fn draw(layout: Layout, doc: &QuoteDocument, tr: Locale) -> AppResult<Vec<u8>> {
    let fonts = FONTS.as_ref().ok_or_else(|| AppError::Internal("the PDF font cannot be read".to_owned()))?;
    let mut document = Document::new();
    document.set_metadata(
        krilla::metadata::Metadata::new()
            .title(format!("{} {}", tr.text("pdf.title"), doc.quote.number))
            .creator("Volant".to_owned())
            .language(tr.code().to_owned()),
    );
    let count = layout.pages.len();
    let legal = doc.settings.legal_mentions.clone().unwrap_or_default();
    let settings = PageSettings::from_wh(PAGE_W, PAGE_H).ok_or_else(|| AppError::Internal("page size".to_owned()))?;
    for (index, mut ops) in layout.pages.into_iter().enumerate() {
        // Footer: legal mentions and page numbers on every page.
        let mut y = FOOTER_TOP + 10.0;
        ops.push(Op::Rule { x1: MARGIN, y1: FOOTER_TOP, x2: PAGE_W - MARGIN, y2: FOOTER_TOP });
        for line in wrap(&legal, SMALL, false, TABLE_W - 80.0).into_iter().take(3) {
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
            }
        }
        surface.finish();
        page.finish();
    }
    document.finish().map_err(|e| AppError::Internal(format!("PDF: {e:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

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
