//! A quote as a PDF: organization header, client and vehicle blocks, the lines
//! table (its header repeated on each page), VAT summary, totals, terms, a
//! signature box, legal mentions and page numbers (drawn with `platform::pdf`).

use rust_decimal::Decimal;

use super::document::QuoteDocument;
use super::model::Quote;
use crate::platform::error::AppResult;
use crate::platform::i18n::Locale;
use crate::platform::money::{format_decimal, format_money, format_plain};
use crate::platform::pdf::{Align, BODY, LINE, Layout, MARGIN, PAGE_W, SMALL, TABLE_W, finish, raster, wrap};

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

pub fn render(doc: &QuoteDocument) -> AppResult<Vec<u8>> {
    let tr = doc.organization.locale;
    let mut layout = Layout::new();
    heading(&mut layout, doc, tr);
    parties(&mut layout, doc, tr);
    lines(&mut layout, &doc.quote, tr);
    totals(&mut layout, &doc.quote, tr);
    notes_and_terms(&mut layout, &doc.quote, tr);
    signature_box(&mut layout, tr);
    let title = format!("{} {}", tr.text("pdf.title"), doc.quote.number);
    finish(layout, &title, doc.settings.legal_mentions.as_deref().unwrap_or_default(), tr)
}

const RIGHT: f32 = PAGE_W - MARGIN;

/// The organization, and the document's identity on the right.
fn heading(layout: &mut Layout, doc: &QuoteDocument, tr: Locale) {
    let quote = &doc.quote;
    let mut top = MARGIN;
    if let Some(image) = doc.logo.as_ref().and_then(|l| raster(&l.bytes, &l.content_type)) {
        let (_, h) = layout.image(MARGIN, MARGIN, (150.0, 54.0), &image);
        top += h + 6.0;
    }
    layout.text(MARGIN, top + 14.0, 15.0, true, Align::Left, doc.organization.name.clone());
    let mut y = top + 30.0;
    let org = &doc.organization;
    let contact = [org.phone.as_deref(), org.email.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" · ");
    let numbers = [
        org.registration_number.as_ref().map(|n| tr.format("pdf.registration_number", &[("number", n)])),
        org.vat_number.as_ref().map(|n| tr.format("pdf.vat_number", &[("number", n)])),
    ];
    let lines = org
        .address
        .as_deref()
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .chain([contact])
        .chain(numbers.into_iter().flatten());
    for line in lines.filter(|l| !l.is_empty()).flat_map(|l| wrap(&l, BODY, false, 250.0)) {
        layout.text(MARGIN, y, BODY, false, Align::Left, line);
        y += LINE;
    }
    layout.text(RIGHT, MARGIN + 14.0, 18.0, true, Align::Right, tr.text("pdf.title"));
    layout.text(RIGHT, MARGIN + 32.0, 11.0, true, Align::Right, quote.number.clone());
    let issued = tr.format("pdf.issued", &[("date", &tr.date(quote.issue_date))]);
    let valid = tr.format("pdf.valid_until", &[("date", &tr.date(quote.valid_until))]);
    layout.text(RIGHT, MARGIN + 46.0, BODY, false, Align::Right, issued);
    layout.text(RIGHT, MARGIN + 58.0, BODY, false, Align::Right, valid);
    layout.y = y.max(MARGIN + 70.0) + 16.0;
}

/// Client and vehicle blocks side by side.
fn parties(layout: &mut Layout, doc: &QuoteDocument, tr: Locale) {
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
}

/// The lines table, its header repeated on each page.
fn lines(layout: &mut Layout, quote: &Quote, tr: Locale) {
    let cols = columns();
    table_header(layout, &cols, tr);
    for line in &quote.lines {
        let mut description = wrap(&line.description, BODY, false, cols.w[0] - 8.0);
        if line.accepted == Some(false) {
            description.push(tr.text("pdf.line_declined").to_owned());
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
            line.unit.clone().unwrap_or_default(),
            format_money(line.unit_price, quote.decimals().max(line.unit_price.scale().min(4)), quote.currency.code()),
            if line.discount.is_zero() { String::new() } else { format!("{} %", format_plain(line.discount)) },
            format!("{} %", format_plain(line.vat_rate)),
            quote.currency.format(line.total_excl_tax),
        ];
        for (i, text) in cells.into_iter().enumerate() {
            let col = i + 1;
            layout.text(cols.x[col] + cols.w[col] - 4.0, y + 9.0, BODY, false, Align::Right, text);
        }
        layout.y += height;
        layout.rule(MARGIN, layout.y - 2.0, RIGHT, layout.y - 2.0);
    }
    if quote.lines.is_empty() {
        layout.text(MARGIN + 4.0, layout.y + 9.0, BODY, false, Align::Left, tr.text("pdf.no_lines"));
        layout.y += LINE + 6.0;
    }
    layout.y += 10.0;
}

/// VAT summary (left) and totals (right).
fn totals(layout: &mut Layout, quote: &Quote, tr: Locale) {
    let amount = |value: Decimal| quote.currency.format(value);
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
    let totals_x = RIGHT - 210.0;
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
        layout.text(RIGHT - 6.0, y, if strong { 10.0 } else { BODY }, strong, Align::Right, value);
    }
    layout.y = top + summary_h.max(totals_h) + 16.0;
    if let Some(original) = &quote.original_totals {
        // The totals above are the accepted lines'; the quote as first sent stays readable.
        let text = tr.format(
            "pdf.original_total",
            &[("excl", &amount(original.excl_tax)), ("incl", &amount(original.incl_tax))],
        );
        layout.text(RIGHT - 6.0, layout.y, SMALL, false, Align::Right, text);
        layout.y += LINE;
    }
}

fn notes_and_terms(layout: &mut Layout, quote: &Quote, tr: Locale) {
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
}

/// What the client writes when accepting on paper.
fn signature_box(layout: &mut Layout, tr: Locale) {
    layout.ensure(80.0);
    let sign_x = RIGHT - 230.0;
    layout.rule(sign_x, layout.y, RIGHT, layout.y);
    layout.rule(sign_x, layout.y + 70.0, RIGHT, layout.y + 70.0);
    layout.rule(sign_x, layout.y, sign_x, layout.y + 70.0);
    layout.rule(RIGHT, layout.y, RIGHT, layout.y + 70.0);
    layout.text(sign_x + 6.0, layout.y + 12.0, SMALL, true, Align::Left, tr.text("pdf.signature"));
    layout.text(sign_x + 6.0, layout.y + 23.0, SMALL, false, Align::Left, tr.text("pdf.signature_hint"));
}
