//! The training contract and the learning record as PDF: numbered articles of
//! wrapped text, in the school's language.

use super::service::{Contract, ContractStatus, FundingSource, LearningRecord};
use crate::platform::error::AppResult;
use crate::platform::i18n::Locale;
use crate::platform::pdf::{self, Align, BODY, LINE, Layout, MARGIN, TABLE_W, wrap};
use crate::school::planning::service::format_duration;

fn heading(layout: &mut Layout, text: &str) {
    layout.ensure(LINE * 3.0);
    layout.y += 6.0;
    layout.text(MARGIN, layout.y + 9.0, 10.5, true, Align::Left, text);
    layout.y += LINE + 4.0;
}

fn paragraph(layout: &mut Layout, text: &str) {
    for line in text.lines() {
        for part in wrap(line, BODY, false, TABLE_W) {
            layout.ensure(LINE);
            layout.text(MARGIN, layout.y + 9.0, BODY, false, Align::Left, part);
            layout.y += LINE;
        }
    }
    layout.y += 2.0;
}

fn fact(layout: &mut Layout, label: &str, value: &str) {
    paragraph(layout, &format!("{label} : {value}"));
}

/// The contract's PDF: the terms as signed (or, for a draft, as they read today,
/// titled as a draft), its signatures and amendments.
pub fn contract(c: &Contract, tr: Locale, zone: chrono_tz::Tz) -> AppResult<Vec<u8>> {
    let t = &c.terms;
    let money = |d| t.currency.format(d);
    let mut layout = Layout::new();
    let title = match c.status {
        ContractStatus::Draft => tr.format("contract.pdf_draft_title", &[("number", &c.number)]),
        _ => tr.format("contract.pdf_title", &[("number", &c.number)]),
    };
    layout.text(MARGIN, MARGIN + 14.0, 15.0, true, Align::Left, title.clone());
    layout.y = MARGIN + 26.0;
    paragraph(&mut layout, tr.text("contract.pdf_law"));

    heading(&mut layout, tr.text("contract.art_parties"));
    fact(&mut layout, tr.text("contract.school"), &t.school_name);
    if let Some(address) = &t.school_address {
        fact(&mut layout, tr.text("client.address"), &address.replace('\n', ", "));
    }
    fact(&mut layout, tr.text("contract.approval_number"), t.approval_number.as_deref().unwrap_or("—"));
    fact(&mut layout, tr.text("contract.candidate"), &format!("{} ({})", t.candidate_name, t.candidate_number));
    fact(&mut layout, tr.text("enrolment.neph"), t.neph.as_deref().unwrap_or("—"));
    fact(&mut layout, tr.text("report.category"), &t.category);
    if let Some(guardian) = &t.guardian_name {
        fact(&mut layout, tr.text("enrolment.guardian"), guardian);
    }

    heading(&mut layout, tr.text("contract.art_evaluation"));
    fact(&mut layout, tr.text("evaluation.evaluated_on"), &tr.date(t.evaluated_on));
    fact(&mut layout, tr.text("evaluation.instructor"), t.evaluator.as_deref().unwrap_or("—"));
    fact(&mut layout, tr.text("evaluation.result"), &t.evaluation_result);
    fact(&mut layout, tr.text("evaluation.forecast"), &format_duration(t.forecast_minutes));
    paragraph(&mut layout, tr.text("contract.forecast_note"));

    heading(&mut layout, tr.text("contract.art_training"));
    fact(&mut layout, tr.text("contract.pack"), &format!("{} — {}", t.pack_name, format_duration(t.pack_minutes)));
    fact(&mut layout, tr.text("contract.pack_price"), &money(t.pack_price));
    fact(&mut layout, tr.text("contract.hour_price"), &money(t.hour_price));
    paragraph(&mut layout, tr.text("contract.price_list"));
    for p in &t.price_list {
        paragraph(
            &mut layout,
            &format!("• {} ({}) : {}", p.name, format_duration(p.driving_minutes), money(p.price_incl_tax)),
        );
    }

    heading(&mut layout, tr.text("contract.art_payment"));
    for f in &t.fundings {
        let mut line = format!("• {} : {}", tr.text(f.source.label_key()), money(f.amount));
        if let Some(reference) = &f.reference {
            line.push_str(&format!(" — {} {reference}", tr.text(reference_label(f.source))));
        }
        if let Some(lender) = &f.lender {
            line.push_str(&format!(" — {lender}"));
        }
        if let Some(day) = f.expected_on {
            line.push_str(&format!(" ({})", tr.format("contract.expected_on", &[("date", &tr.date(day))])));
        }
        paragraph(&mut layout, &line);
    }
    paragraph(
        &mut layout,
        &tr.format(
            "contract.own_part",
            &[
                ("amount", &money(t.own_part)),
                ("count", &t.instalments.to_string()),
                ("date", &tr.date(t.first_due_on)),
            ],
        ),
    );

    heading(&mut layout, tr.text("contract.art_lessons"));
    paragraph(
        &mut layout,
        &tr.format(
            "contract.cancellation_clause",
            &[("hours", &t.cancellation_notice_hours.to_string()), ("daily", &format_duration(t.daily_limit_minutes))],
        ),
    );

    heading(&mut layout, tr.text("contract.art_end"));
    paragraph(&mut layout, tr.text("contract.end_clause"));

    heading(&mut layout, tr.text("contract.art_signatures"));
    match &c.signature {
        Some(s) => {
            let method = tr.text(s.method.label_key());
            paragraph(
                &mut layout,
                &tr.format(
                    "contract.signed_line",
                    &[("name", &s.candidate_signer), ("date", &tr.date_time_in(zone, s.signed_at)), ("method", method)],
                ),
            );
            if let Some(g) = &s.guardian_signer {
                paragraph(&mut layout, &tr.format("contract.guardian_signed_line", &[("name", g)]));
            }
        }
        None => paragraph(&mut layout, tr.text("contract.not_yet_signed")),
    }
    if let Some(ended) = c.ended_on {
        let reason = c.end_reason.map_or("", |r| tr.text(r.label_key()));
        paragraph(
            &mut layout,
            &format!(
                "{} : {} — {reason} {}",
                tr.text("contract.ended_on"),
                tr.date(ended),
                c.end_note.as_deref().unwrap_or("")
            ),
        );
    }
    for a in &c.amendments {
        heading(&mut layout, &tr.format("contract.amendment_title", &[("position", &a.position.to_string())]));
        paragraph(&mut layout, &a.summary);
        if let Some(m) = a.forecast_minutes {
            fact(&mut layout, tr.text("evaluation.forecast"), &format_duration(m));
        }
        match &a.signature {
            Some(s) => paragraph(
                &mut layout,
                &tr.format(
                    "contract.signed_line",
                    &[
                        ("name", &s.candidate_signer),
                        ("date", &tr.date_time_in(zone, s.signed_at)),
                        ("method", tr.text(s.method.label_key())),
                    ],
                ),
            ),
            None => paragraph(&mut layout, tr.text("contract.not_yet_signed")),
        }
    }
    pdf::finish(layout, &title, &t.school_name, tr)
}

fn reference_label(source: FundingSource) -> &'static str {
    match source {
        FundingSource::Cpf => "funding.cpf_dossier",
        _ => "funding.reference",
    }
}

/// The learning record a candidate takes to another school.
pub fn learning_record(r: &LearningRecord, tr: Locale) -> AppResult<Vec<u8>> {
    let mut layout = Layout::new();
    let title = tr.format("record.pdf_title", &[("name", &r.candidate_name)]);
    layout.text(MARGIN, MARGIN + 14.0, 15.0, true, Align::Left, title.clone());
    layout.y = MARGIN + 26.0;
    fact(&mut layout, tr.text("contract.school"), &r.school_name);
    fact(&mut layout, tr.text("contract.approval_number"), r.approval_number.as_deref().unwrap_or("—"));
    fact(&mut layout, tr.text("contract.candidate"), &format!("{} ({})", r.candidate_name, r.candidate_number));
    fact(&mut layout, tr.text("enrolment.neph"), r.neph.as_deref().unwrap_or("—"));
    fact(&mut layout, tr.text("report.category"), &r.category);
    fact(&mut layout, tr.text("candidate.registered_on"), &tr.date(r.registered_on));
    fact(&mut layout, tr.text("hours.done"), &format_duration(r.driving_minutes_done));
    fact(&mut layout, tr.text("record.made_on"), &tr.date(r.made_on));

    heading(&mut layout, tr.text("evaluation.title"));
    for e in &r.evaluations {
        paragraph(
            &mut layout,
            &format!("• {} — {} — {}", tr.date(e.evaluated_on), format_duration(e.forecast_minutes), e.result),
        );
    }
    heading(&mut layout, tr.text("record.grid"));
    for competency in &r.grid {
        paragraph(&mut layout, &format!("{} {} — {} %", competency.code, competency.title, competency.percent));
        for item in competency.items.iter().filter(|i| i.level > 0) {
            paragraph(&mut layout, &format!("    {} {} : {}/3", item.item, item.title, item.level));
        }
    }
    heading(&mut layout, tr.text("record.lessons"));
    for l in &r.lessons {
        let mut line = format!(
            "• {} — {} — {} — {}",
            tr.date(l.day),
            format_duration(l.minutes),
            tr.text(l.kind.label_key()),
            l.instructor
        );
        if let Some(notes) = &l.notes {
            line.push_str(&format!(" — {}", notes.replace('\n', " ")));
        }
        paragraph(&mut layout, &line);
    }
    heading(&mut layout, tr.text("record.exams"));
    for e in &r.exam_results {
        paragraph(
            &mut layout,
            &format!(
                "• {} — {} — {}",
                tr.date(e.taken_on),
                tr.text(e.exam_type.label_key()),
                tr.text(e.outcome.label_key())
            ),
        );
    }
    pdf::finish(layout, &title, &r.school_name, tr)
}
