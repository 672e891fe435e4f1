//! A quote as a PDF: organization header, client and vehicle blocks, the lines
//! table (its header repeated on each page), VAT summary, totals, terms, a
//! signature box, legal mentions and page numbers (drawn with `platform::pdf`).

use rust_decimal::Decimal;

use super::document::QuoteDocument;
use super::model::Quote;
use crate::platform::error::AppResult;
use crate::platform::i18n::Locale;
use crate::platform::money::format_decimal;
use crate::platform::pdf::{
    Align, BODY, DocumentLine, Issuer, LINE, Layout, MARGIN, RIGHT, SMALL, TABLE_W, finish, issuer_block, lines_table,
    raster, totals_block, wrap,
};

pub fn render(doc: &QuoteDocument) -> AppResult<Vec<u8>> {
    let tr = doc.organization.locale;
    let mut layout = Layout::new();
    heading(&mut layout, doc, tr);
    parties(&mut layout, doc, tr);
    let declined = tr.text("pdf.line_declined");
    let rows: Vec<DocumentLine<'_>> = doc
        .quote
        .lines
        .iter()
        .map(|l| DocumentLine {
            description: &l.description,
            note: (l.accepted == Some(false)).then_some(declined),
            quantity: l.quantity,
            unit: l.unit.as_deref(),
            unit_price: l.unit_price,
            discount: l.discount,
            vat_rate: l.vat_rate,
            total_excl_tax: l.total_excl_tax,
        })
        .collect();
    lines_table(&mut layout, &rows, doc.quote.currency, tr);
    totals(&mut layout, &doc.quote, tr);
    notes_and_terms(&mut layout, &doc.quote, tr);
    signature_box(&mut layout, tr);
    let title = format!("{} {}", tr.text("pdf.title"), doc.quote.number);
    finish(layout, &title, doc.settings.legal_mentions.as_deref().unwrap_or_default(), tr)
}

/// The organization, and the document's identity on the right.
fn heading(layout: &mut Layout, doc: &QuoteDocument, tr: Locale) {
    let quote = &doc.quote;
    let org = &doc.organization;
    let logo = doc.logo.as_ref().and_then(|l| raster(&l.bytes, &l.content_type));
    let issuer = Issuer {
        name: &org.name,
        address: org.address.as_deref(),
        phone: org.phone.as_deref(),
        email: org.email.as_deref(),
        registration_number: org.registration_number.as_deref(),
        vat_number: org.vat_number.as_deref(),
    };
    let y = issuer_block(layout, logo.as_ref(), &issuer, tr);
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

/// VAT summary and totals; after a partial acceptance, the quote as first sent below them.
fn totals(layout: &mut Layout, quote: &Quote, tr: Locale) {
    let amount = |value: Decimal| quote.currency.format(value);
    totals_block(layout, &quote.totals, quote.currency, &[], tr);
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
