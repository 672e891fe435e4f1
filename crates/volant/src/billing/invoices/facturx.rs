//! The invoice as Factur-X data: the UN/CEFACT Cross Industry Invoice (CII D16B)
//! of the EN 16931 profile, embedded in the PDF as `factur-x.xml`, so that the
//! buyer's software reads the invoice without retyping it. Elements are written in
//! the order the schema requires; every text is escaped.

use std::fmt::Write;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::model::{Invoice, InvoiceKind};
use crate::platform::money;

/// The name Factur-X gives the embedded file.
pub const FILE_NAME: &str = "factur-x.xml";
/// The EN 16931 (comfort) profile's guideline.
pub const PROFILE: &str = "urn:cen.eu:en16931:2017";
/// Why a franchise-en-base invoice carries no VAT, and its code (VATEX).
const FRANCHISE_REASON: &str = "TVA non applicable, art. 293 B du CGI";
const FRANCHISE_CODE: &str = "VATEX-FR-FRANCHISE";

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters are not allowed in XML 1.0 (line breaks are).
            c if c.is_control() && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

/// A decimal as the schema writes it: a point, no grouping, no trailing zeros.
fn plain(value: Decimal) -> String {
    value.normalize().to_string()
}

fn date(d: NaiveDate) -> String {
    d.format("%Y%m%d").to_string()
}

/// An amount with the currency's decimals, as the schema writes it (`1234.50`).
fn amount(value: Decimal, decimals: u32) -> String {
    let rounded = money::round_money(value, decimals);
    format!("{:.*}", decimals as usize, rounded)
}

/// The VAT category of a rate: standard, zero-rated, or exempt (franchise en base).
fn category(rate: Decimal, exempt: bool) -> &'static str {
    match (exempt, rate.is_zero()) {
        (true, _) => "E",
        (false, true) => "Z",
        (false, false) => "S",
    }
}

/// The country of an organization in ISO 3166: read from its time zone, France
/// when it says nothing more precise.
pub fn country_of_zone(zone: &str) -> &'static str {
    const ZONES: &[(&str, &str)] = &[
        ("Africa/Dakar", "SN"),
        ("Africa/Abidjan", "CI"),
        ("Africa/Bamako", "ML"),
        ("Africa/Ouagadougou", "BF"),
        ("Africa/Niamey", "NE"),
        ("Africa/Lome", "TG"),
        ("Africa/Porto-Novo", "BJ"),
        ("Africa/Conakry", "GN"),
        ("Africa/Douala", "CM"),
        ("Africa/Libreville", "GA"),
        ("Africa/Brazzaville", "CG"),
        ("Africa/Kinshasa", "CD"),
        ("Africa/Ndjamena", "TD"),
        ("Africa/Bangui", "CF"),
        ("Africa/Casablanca", "MA"),
        ("Africa/Tunis", "TN"),
        ("Europe/Brussels", "BE"),
        ("Europe/Luxembourg", "LU"),
        ("Europe/Zurich", "CH"),
        ("Europe/Monaco", "MC"),
        ("America/Montreal", "CA"),
        ("America/Toronto", "CA"),
        ("Indian/Reunion", "RE"),
        ("America/Martinique", "MQ"),
        ("America/Guadeloupe", "GP"),
        ("America/Cayenne", "GF"),
        ("Indian/Mayotte", "YT"),
    ];
    ZONES.iter().find(|(z, _)| *z == zone).map_or("FR", |(_, c)| c)
}

/// A postal address as typed on several lines: the last line's `75001 Paris`
/// gives the postcode and the city, the lines before it the street.
fn address(out: &mut String, text: Option<&str>, country: &str) {
    let lines: Vec<&str> = text.unwrap_or_default().lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let (street, postcode, city) = match lines.split_last() {
        Some((last, rest)) => match last.split_once(' ') {
            Some((code, city)) if code.len() >= 4 && code.chars().all(|c| c.is_ascii_digit()) => {
                (rest.to_vec(), Some(code), Some(city))
            }
            _ => (lines.clone(), None, None),
        },
        None => (Vec::new(), None, None),
    };
    out.push_str("<ram:PostalTradeAddress>");
    if let Some(code) = postcode {
        let _ = write!(out, "<ram:PostcodeCode>{}</ram:PostcodeCode>", escape(code));
    }
    for (element, line) in ["LineOne", "LineTwo", "LineThree"].iter().zip(street.iter()) {
        let _ = write!(out, "<ram:{element}>{}</ram:{element}>", escape(line));
    }
    if let Some(city) = city {
        let _ = write!(out, "<ram:CityName>{}</ram:CityName>", escape(city));
    }
    let _ = write!(out, "<ram:CountryID>{country}</ram:CountryID></ram:PostalTradeAddress>");
}

/// A registration number's SIREN (the first nine digits of a SIRET), if it is one.
fn siren(number: &str) -> Option<String> {
    let digits: String = number.chars().filter(|c| !c.is_whitespace()).collect();
    (digits.chars().all(|c| c.is_ascii_digit()) && matches!(digits.len(), 9 | 14)).then(|| digits[..9].to_owned())
}

/// A party's legal registration (a SIREN under its scheme, else as typed).
fn legal_organization(out: &mut String, registration: Option<&str>) {
    let Some(number) = registration.map(str::trim).filter(|n| !n.is_empty()) else { return };
    let id = match siren(number) {
        Some(siren) => format!("<ram:ID schemeID=\"0002\">{siren}</ram:ID>"),
        None => format!("<ram:ID>{}</ram:ID>", escape(number)),
    };
    let _ = write!(out, "<ram:SpecifiedLegalOrganization>{id}</ram:SpecifiedLegalOrganization>");
}

/// A party's VAT number.
fn tax_registration(out: &mut String, vat: Option<&str>) {
    if let Some(vat) = vat.map(str::trim).filter(|v| !v.is_empty()) {
        let _ = write!(
            out,
            "<ram:SpecifiedTaxRegistration><ram:ID schemeID=\"VA\">{}</ram:ID></ram:SpecifiedTaxRegistration>",
            escape(vat)
        );
    }
}

/// A buyer's tax id: an intra-community VAT number (two letters first), else a
/// registration number.
fn split_tax_id(tax_id: Option<&str>) -> (Option<&str>, Option<&str>) {
    match tax_id.map(str::trim).filter(|t| !t.is_empty()) {
        Some(id) if id.chars().take(2).all(|c| c.is_ascii_alphabetic()) => (None, Some(id)),
        Some(id) => (Some(id), None),
        None => (None, None),
    }
}

/// The CII XML of an issued invoice or credit note; `credited` names the invoice
/// a credit note corrects (its number and issue date). `country` is the seller's.
pub fn xml(invoice: &Invoice, credited: Option<(&str, NaiveDate)>, country: &str) -> String {
    let decimals = invoice.decimals();
    let currency = invoice.currency.code();
    let exempt = invoice.vat_exempt;
    let issue = invoice.issue_date.unwrap_or_default();
    let mut out = String::with_capacity(4096);
    out.push_str(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rsm:CrossIndustryInvoice \
         xmlns:rsm=\"urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100\" \
         xmlns:qdt=\"urn:un:unece:uncefact:data:standard:QualifiedDataType:100\" \
         xmlns:ram=\"urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100\" \
         xmlns:udt=\"urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100\">",
    );
    let _ = write!(
        out,
        "<rsm:ExchangedDocumentContext><ram:GuidelineSpecifiedDocumentContextParameter><ram:ID>{PROFILE}</ram:ID>\
         </ram:GuidelineSpecifiedDocumentContextParameter></rsm:ExchangedDocumentContext>"
    );
    // UNTDID 1001: 380 commercial invoice, 386 prepayment (deposit) invoice, 381 credit note.
    let type_code = match (invoice.kind, invoice.deposit.is_some()) {
        (InvoiceKind::CreditNote, _) => "381",
        (InvoiceKind::Invoice, true) => "386",
        (InvoiceKind::Invoice, false) => "380",
    };
    let _ = write!(
        out,
        "<rsm:ExchangedDocument><ram:ID>{}</ram:ID><ram:TypeCode>{type_code}</ram:TypeCode>\
         <ram:IssueDateTime><udt:DateTimeString format=\"102\">{}</udt:DateTimeString></ram:IssueDateTime>",
        escape(invoice.number.as_deref().unwrap_or_default()),
        date(issue)
    );
    if let Some(notes) = invoice.notes.as_deref().filter(|n| !n.trim().is_empty()) {
        let _ = write!(out, "<ram:IncludedNote><ram:Content>{}</ram:Content></ram:IncludedNote>", escape(notes));
    }
    if let Some(mentions) = invoice.mentions.as_deref().filter(|m| !m.trim().is_empty()) {
        let _ = write!(
            out,
            "<ram:IncludedNote><ram:Content>{}</ram:Content><ram:SubjectCode>REG</ram:SubjectCode></ram:IncludedNote>",
            escape(mentions)
        );
    }
    out.push_str("</rsm:ExchangedDocument><rsm:SupplyChainTradeTransaction>");

    for (i, line) in invoice.lines.iter().enumerate() {
        let discount = money::round_money(line.unit_price * line.discount / Decimal::ONE_HUNDRED, 4);
        let net_price = line.unit_price - discount;
        let _ = write!(
            out,
            "<ram:IncludedSupplyChainTradeLineItem><ram:AssociatedDocumentLineDocument><ram:LineID>{}</ram:LineID>\
             </ram:AssociatedDocumentLineDocument><ram:SpecifiedTradeProduct><ram:Name>{}</ram:Name>\
             </ram:SpecifiedTradeProduct><ram:SpecifiedLineTradeAgreement>",
            i + 1,
            escape(&line.description)
        );
        if !line.discount.is_zero() {
            let _ = write!(
                out,
                "<ram:GrossPriceProductTradePrice><ram:ChargeAmount>{}</ram:ChargeAmount>\
                 <ram:AppliedTradeAllowanceCharge><ram:ChargeIndicator><udt:Indicator>false</udt:Indicator>\
                 </ram:ChargeIndicator><ram:ActualAmount>{}</ram:ActualAmount></ram:AppliedTradeAllowanceCharge>\
                 </ram:GrossPriceProductTradePrice>",
                plain(line.unit_price),
                plain(discount)
            );
        }
        let _ = write!(
            out,
            "<ram:NetPriceProductTradePrice><ram:ChargeAmount>{}</ram:ChargeAmount></ram:NetPriceProductTradePrice>\
             </ram:SpecifiedLineTradeAgreement><ram:SpecifiedLineTradeDelivery>\
             <ram:BilledQuantity unitCode=\"{}\">{}</ram:BilledQuantity></ram:SpecifiedLineTradeDelivery>\
             <ram:SpecifiedLineTradeSettlement><ram:ApplicableTradeTax><ram:TypeCode>VAT</ram:TypeCode>\
             <ram:CategoryCode>{}</ram:CategoryCode><ram:RateApplicablePercent>{}</ram:RateApplicablePercent>\
             </ram:ApplicableTradeTax><ram:SpecifiedTradeSettlementLineMonetarySummation>\
             <ram:LineTotalAmount>{}</ram:LineTotalAmount></ram:SpecifiedTradeSettlementLineMonetarySummation>\
             </ram:SpecifiedLineTradeSettlement></ram:IncludedSupplyChainTradeLineItem>",
            plain(net_price),
            unit_code(line.unit.as_deref()),
            plain(line.quantity),
            category(line.vat_rate, exempt),
            plain(line.vat_rate),
            amount(line.total_excl_tax, decimals),
        );
    }

    out.push_str("<ram:ApplicableHeaderTradeAgreement><ram:SellerTradeParty>");
    let seller = invoice.seller.as_ref();
    let _ = write!(out, "<ram:Name>{}</ram:Name>", escape(seller.map_or("", |s| s.name.as_str())));
    legal_organization(&mut out, seller.and_then(|s| s.registration_number.as_deref()));
    address(&mut out, seller.and_then(|s| s.address.as_deref()), country);
    tax_registration(&mut out, seller.and_then(|s| s.vat_number.as_deref()));
    let _ =
        write!(out, "</ram:SellerTradeParty><ram:BuyerTradeParty><ram:Name>{}</ram:Name>", escape(&invoice.buyer.name));
    let (registration, vat) = split_tax_id(invoice.buyer.tax_id.as_deref());
    legal_organization(&mut out, registration);
    address(&mut out, invoice.buyer.address.as_deref(), country);
    tax_registration(&mut out, vat);
    out.push_str("</ram:BuyerTradeParty></ram:ApplicableHeaderTradeAgreement>");

    out.push_str("<ram:ApplicableHeaderTradeDelivery>");
    if let Some(service) = invoice.service_date {
        let _ = write!(
            out,
            "<ram:ActualDeliverySupplyChainEvent><ram:OccurrenceDateTime><udt:DateTimeString format=\"102\">{}\
             </udt:DateTimeString></ram:OccurrenceDateTime></ram:ActualDeliverySupplyChainEvent>",
            date(service)
        );
    }
    out.push_str("</ram:ApplicableHeaderTradeDelivery>");

    let _ = write!(
        out,
        "<ram:ApplicableHeaderTradeSettlement><ram:InvoiceCurrencyCode>{currency}</ram:InvoiceCurrencyCode>"
    );
    for share in &invoice.totals.vat {
        let reason = if exempt {
            format!("<ram:ExemptionReason>{FRANCHISE_REASON}</ram:ExemptionReason>")
        } else {
            String::new()
        };
        let reason_code = if exempt {
            format!("<ram:ExemptionReasonCode>{FRANCHISE_CODE}</ram:ExemptionReasonCode>")
        } else {
            String::new()
        };
        let _ = write!(
            out,
            "<ram:ApplicableTradeTax><ram:CalculatedAmount>{}</ram:CalculatedAmount><ram:TypeCode>VAT</ram:TypeCode>\
             {reason}<ram:BasisAmount>{}</ram:BasisAmount><ram:CategoryCode>{}</ram:CategoryCode>{reason_code}\
             <ram:RateApplicablePercent>{}</ram:RateApplicablePercent></ram:ApplicableTradeTax>",
            amount(share.vat, decimals),
            amount(share.base, decimals),
            category(share.rate, exempt),
            plain(share.rate),
        );
    }
    out.push_str("<ram:SpecifiedTradePaymentTerms>");
    if let Some(terms) = invoice.payment_terms.as_deref().filter(|t| !t.trim().is_empty()) {
        let _ = write!(out, "<ram:Description>{}</ram:Description>", escape(terms));
    }
    if let Some(due) = invoice.due_date {
        let _ = write!(
            out,
            "<ram:DueDateDateTime><udt:DateTimeString format=\"102\">{}</udt:DateTimeString></ram:DueDateDateTime>",
            date(due)
        );
    }
    out.push_str("</ram:SpecifiedTradePaymentTerms>");
    let totals = &invoice.totals;
    let _ = write!(
        out,
        "<ram:SpecifiedTradeSettlementHeaderMonetarySummation><ram:LineTotalAmount>{excl}</ram:LineTotalAmount>\
         <ram:TaxBasisTotalAmount>{excl}</ram:TaxBasisTotalAmount>\
         <ram:TaxTotalAmount currencyID=\"{currency}\">{vat}</ram:TaxTotalAmount>\
         <ram:GrandTotalAmount>{incl}</ram:GrandTotalAmount><ram:DuePayableAmount>{incl}</ram:DuePayableAmount>\
         </ram:SpecifiedTradeSettlementHeaderMonetarySummation>",
        excl = amount(totals.excl_tax, decimals),
        vat = amount(totals.vat_total, decimals),
        incl = amount(totals.incl_tax, decimals),
    );
    if let Some((number, issued)) = credited {
        let _ = write!(
            out,
            "<ram:InvoiceReferencedDocument><ram:IssuerAssignedID>{}</ram:IssuerAssignedID>\
             <ram:FormattedIssueDateTime><qdt:DateTimeString format=\"102\">{}</qdt:DateTimeString>\
             </ram:FormattedIssueDateTime></ram:InvoiceReferencedDocument>",
            escape(number),
            date(issued)
        );
    }
    out.push_str(
        "</ram:ApplicableHeaderTradeSettlement></rsm:SupplyChainTradeTransaction></rsm:CrossIndustryInvoice>\n",
    );
    out
}

/// The UN/ECE recommendation 20 code of a unit as people type it.
fn unit_code(unit: Option<&str>) -> &'static str {
    match unit.map(|u| u.trim().to_lowercase()).as_deref() {
        Some("h" | "heure" | "heures" | "hour" | "hours") => "HUR",
        Some("min" | "minute" | "minutes") => "MIN",
        Some("l" | "litre" | "litres" | "liter") => "LTR",
        Some("kg") => "KGM",
        Some("km") => "KMT",
        Some("m") => "MTR",
        Some("jour" | "jours" | "j" | "day" | "days") => "DAY",
        Some("jeu" | "kit" | "set") => "SET",
        _ => "C62",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_controls_dropped() {
        assert_eq!(escape("A&B <c> \"d\" 'e'\u{7}"), "A&amp;B &lt;c&gt; &quot;d&quot; &apos;e&apos;");
    }

    #[test]
    fn sirets_give_their_siren() {
        assert_eq!(siren("732 829 320 00074").as_deref(), Some("732829320"));
        assert_eq!(siren("732829320").as_deref(), Some("732829320"));
        assert_eq!(siren("SN-DKR-2019-B-123"), None);
    }

    #[test]
    fn decimals_are_written_with_a_point() {
        assert_eq!(plain(Decimal::new(4890, 2)), "48.9");
        assert_eq!(amount(Decimal::new(5, 1), 2), "0.50");
        assert_eq!(amount(Decimal::new(1234, 0), 0), "1234");
    }

    #[test]
    fn units_and_countries() {
        assert_eq!(unit_code(Some("h")), "HUR");
        assert_eq!(unit_code(None), "C62");
        assert_eq!(country_of_zone("Africa/Dakar"), "SN");
        assert_eq!(country_of_zone("Europe/Paris"), "FR");
    }
}
