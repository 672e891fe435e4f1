//! An invoice or a credit note as a PDF: the seller (as frozen when issued), the
//! buyer and vehicle, the lines and VAT, what was paid and what is due, the
//! payment terms and every legal mention. An issued document is PDF/A-3 with its
//! Factur-X XML embedded; a draft is a plain PDF marked as such.

use chrono::NaiveDate;
use sea_orm::ConnectionTrait;

use super::facturx;
use super::model::{Invoice, InvoiceKind, InvoiceStatus};
use super::service::get;
use crate::identity::organizations::logo::Logo;
use crate::identity::organizations::service::{self as organizations, Organization};
use crate::platform::error::AppResult;
use crate::platform::i18n::Locale;
use crate::platform::pdf::{
    Align, Attachment, BODY, DocumentLine, Issuer, LINE, Layout, MARGIN, RIGHT, SMALL, TABLE_W, finish,
    finish_archival, issuer_block, lines_table, raster, totals_block, wrap,
};
use crate::platform::tenant::OrgId;

/// Everything the document prints.
pub struct InvoiceDocument {
    pub invoice: Invoice,
    pub organization: Organization,
    pub logo: Option<Logo>,
    /// For a credit note: the invoice it corrects (number, issue date).
    pub credited: Option<(String, NaiveDate)>,
}

pub async fn document(db: &impl ConnectionTrait, org: OrgId, id: i64) -> AppResult<InvoiceDocument> {
    let invoice = get(db, org, id).await?;
    let organization = organizations::get(db, org).await?;
    let logo = match organization.has_logo {
        true => crate::identity::organizations::logo::get(db, org).await?,
        false => None,
    };
    let credited = match invoice.credited_invoice_id {
        Some(credited_id) => {
            let original = get(db, org, credited_id).await?;
            original.number.zip(original.issue_date)
        }
        None => None,
    };
    Ok(InvoiceDocument { invoice, organization, logo, credited })
}

/// The file's name: its number, or the draft's id.
pub fn file_name(invoice: &Invoice) -> String {
    match &invoice.number {
        Some(number) => format!("{}.pdf", number.replace(['/', '\\', '"'], "-")),
        None => format!("brouillon-{}.pdf", invoice.id),
    }
}

/// The PDF, rendered off the async runtime.
pub async fn pdf(db: &impl ConnectionTrait, org: OrgId, id: i64) -> AppResult<(String, Vec<u8>)> {
    rendered(document(db, org, id).await?).await
}

/// A document's PDF, rendered off the async runtime.
pub async fn rendered(doc: InvoiceDocument) -> AppResult<(String, Vec<u8>)> {
    let name = file_name(&doc.invoice);
    let bytes = crate::platform::pdf::render_off_runtime(move || render(&doc)).await?;
    Ok((name, bytes))
}

pub fn render(doc: &InvoiceDocument) -> AppResult<Vec<u8>> {
    let tr = doc.organization.locale;
    let invoice = &doc.invoice;
    let mut layout = Layout::new();
    heading(&mut layout, doc, tr);
    parties(&mut layout, invoice, tr);
    let rows: Vec<DocumentLine<'_>> = invoice
        .lines
        .iter()
        .map(|l| DocumentLine {
            description: &l.description,
            note: None,
            quantity: l.quantity,
            unit: l.unit.as_deref(),
            unit_price: l.unit_price,
            discount: l.discount,
            vat_rate: l.vat_rate,
            total_excl_tax: l.total_excl_tax,
        })
        .collect();
    lines_table(&mut layout, &rows, invoice.currency, tr);
    let mut extra = Vec::new();
    if invoice.can_pay() && (!invoice.paid.is_zero() || !invoice.credited.is_zero()) {
        if !invoice.paid.is_zero() {
            extra.push((tr.text("invoice.pdf.paid").to_owned(), invoice.currency.format(invoice.paid)));
        }
        if !invoice.credited.is_zero() {
            extra.push((tr.text("invoice.pdf.credited").to_owned(), invoice.currency.format(invoice.credited)));
        }
        extra.push((tr.text("invoice.pdf.balance_due").to_owned(), invoice.currency.format(invoice.balance_due)));
    }
    totals_block(&mut layout, &invoice.totals, invoice.currency, &extra, tr);
    texts(&mut layout, invoice, tr);
    let title = format!("{} {}", title(invoice, tr), invoice.number.as_deref().unwrap_or_default());
    let footer = seller_line(doc, tr);
    match invoice.status {
        InvoiceStatus::Draft => finish(layout, &title, &footer, tr),
        InvoiceStatus::Issued => {
            let country = facturx::country_of_zone(&doc.organization.time_zone);
            let credited = doc.credited.as_ref().map(|(n, d)| (n.as_str(), *d));
            let xml = facturx::xml(invoice, credited, country);
            let attachment = Attachment {
                name: facturx::FILE_NAME.to_owned(),
                mime_type: "text/xml".to_owned(),
                description: "Factur-X".to_owned(),
                data: xml.into_bytes(),
                created: invoice.issued_at.unwrap_or(invoice.created_at),
            };
            finish_archival(layout, &title, &footer, tr, attachment)
        }
    }
}

fn title(invoice: &Invoice, tr: Locale) -> &'static str {
    match (invoice.kind, invoice.status) {
        (_, InvoiceStatus::Draft) => tr.text("invoice.pdf.draft_title"),
        (InvoiceKind::Invoice, InvoiceStatus::Issued) if invoice.deposit.is_some() => {
            tr.text("invoice.pdf.deposit_title")
        }
        (InvoiceKind::Invoice, InvoiceStatus::Issued) => tr.text("invoice.pdf.title"),
        (InvoiceKind::CreditNote, InvoiceStatus::Issued) => tr.text("invoice.pdf.credit_title"),
    }
}

/// The seller as the document prints it: frozen when issued; a draft, the organization now.
fn issuer_of(doc: &InvoiceDocument) -> Issuer<'_> {
    let org = &doc.organization;
    match &doc.invoice.seller {
        Some(s) => Issuer {
            name: &s.name,
            address: s.address.as_deref(),
            phone: org.phone.as_deref(),
            email: org.email.as_deref(),
            registration_number: s.registration_number.as_deref(),
            vat_number: s.vat_number.as_deref(),
        },
        None => Issuer {
            name: &org.name,
            address: org.address.as_deref(),
            phone: org.phone.as_deref(),
            email: org.email.as_deref(),
            registration_number: org.registration_number.as_deref(),
            vat_number: org.vat_number.as_deref(),
        },
    }
}

/// The seller's identity on one line at the foot of every page.
fn seller_line(doc: &InvoiceDocument, tr: Locale) -> String {
    let issuer = issuer_of(doc);
    [
        Some(issuer.name.to_owned()),
        issuer.registration_number.map(|n| tr.format("pdf.registration_number", &[("number", n)])),
        issuer.vat_number.map(|n| tr.format("pdf.vat_number", &[("number", n)])),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" · ")
}

fn heading(layout: &mut Layout, doc: &InvoiceDocument, tr: Locale) {
    let invoice = &doc.invoice;
    let logo = doc.logo.as_ref().and_then(|l| raster(&l.bytes, &l.content_type));
    let issuer = issuer_of(doc);
    let y = issuer_block(layout, logo.as_ref(), &issuer, tr);
    layout.text(RIGHT, MARGIN + 14.0, 18.0, true, Align::Right, title(invoice, tr));
    let mut right_y = MARGIN + 32.0;
    if let Some(number) = &invoice.number {
        layout.text(RIGHT, right_y, 11.0, true, Align::Right, number.clone());
        right_y += 14.0;
    }
    let dates = [
        invoice.issue_date.map(|d| tr.format("invoice.pdf.issued", &[("date", &tr.date(d))])),
        invoice.service_date.map(|d| tr.format("invoice.pdf.service", &[("date", &tr.date(d))])),
        invoice
            .due_date
            .filter(|_| invoice.kind == InvoiceKind::Invoice)
            .map(|d| tr.format("invoice.pdf.due", &[("date", &tr.date(d))])),
        doc.credited.as_ref().map(|(n, d)| tr.format("invoice.pdf.credits", &[("number", n), ("date", &tr.date(*d))])),
    ];
    for text in dates.into_iter().flatten() {
        layout.text(RIGHT, right_y, BODY, false, Align::Right, text);
        right_y += LINE;
    }
    layout.y = y.max(right_y) + 16.0;
}

/// The buyer and the vehicle side by side.
fn parties(layout: &mut Layout, invoice: &Invoice, tr: Locale) {
    let block_w = (TABLE_W - 16.0) / 2.0;
    let buyer = &invoice.buyer;
    let mut buyer_lines: Vec<(bool, String)> = vec![(true, buyer.name.clone())];
    for text in [buyer.address.as_deref(), buyer.email.as_deref()].into_iter().flatten() {
        buyer_lines.extend(wrap(text, BODY, false, block_w - 16.0).into_iter().map(|l| (false, l)));
    }
    if let Some(tax_id) = &buyer.tax_id {
        buyer_lines.push((false, tr.format("pdf.tax_id", &[("id", tax_id)])));
    }
    let vehicle_lines: Vec<(bool, String)> =
        invoice.vehicle_label.iter().flat_map(|l| wrap(l, BODY, true, block_w - 16.0)).map(|l| (true, l)).collect();
    let rows = buyer_lines.len().max(vehicle_lines.len()).max(1);
    let block_h = 24.0 + LINE * rows as f32;
    let top = layout.y;
    for (x, title, lines) in [
        (MARGIN, tr.text("invoice.pdf.buyer"), &buyer_lines),
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

/// Notes, payment terms and legal mentions, in full (never cut to a footer).
fn texts(layout: &mut Layout, invoice: &Invoice, tr: Locale) {
    let schedule = super::instalments::schedule_text(&invoice.instalments, invoice.currency, tr);
    let sections = [
        (tr.text("instalment.schedule"), Some(schedule.as_str())),
        (tr.text("pdf.notes"), invoice.notes.as_deref()),
        (
            tr.text("invoice.pdf.terms"),
            invoice.payment_terms.as_deref().filter(|_| invoice.kind == InvoiceKind::Invoice),
        ),
        (tr.text("invoice.pdf.mentions"), invoice.mentions.as_deref()),
    ];
    for (title, text) in sections {
        let Some(text) = text.filter(|t| !t.trim().is_empty()) else { continue };
        let lines = wrap(text, BODY, false, TABLE_W);
        layout.ensure(LINE * (lines.len().min(6) as f32 + 1.0) + 6.0);
        layout.text(MARGIN, layout.y + 9.0, BODY, true, Align::Left, title);
        layout.y += LINE;
        for line in lines {
            layout.ensure(LINE);
            layout.text(MARGIN, layout.y + 9.0, BODY, false, Align::Left, line);
            layout.y += LINE;
        }
        layout.y += 8.0;
    }
}
