//! `outbox`: the notices queued, what became of them, and their content.

use std::process::ExitCode;

use anyhow::Result;

use super::table::{Align, Table};
use super::{Invalid, OutboxCommand, print_json};
use suiji::ops::Ctx;

pub(super) async fn command(ctx: &Ctx<'_>, command: OutboxCommand) -> Result<ExitCode> {
    match command {
        OutboxCommand::List { status, json } => {
            let rows = suiji::ops::notices::outbox(ctx, status.as_deref()).await?;
            if json {
                return print_json(&rows).map(|_| ExitCode::SUCCESS);
            }
            let mut t = Table::new(&[
                ("#", Align::Right),
                ("status", Align::Left),
                ("kind", Align::Left),
                ("late", Align::Left),
                ("subject", Align::Left),
                ("to", Align::Left),
            ]);
            for r in &rows {
                t.row([
                    r.id.to_string(),
                    r.status.clone(),
                    r.kind.clone(),
                    if r.late { "迟" } else { "" }.to_string(),
                    r.subject.clone(),
                    r.to.iter()
                        .map(|m| m.email.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                ]);
            }
            if !t.is_empty() {
                t.print();
            }
            println!("{}", suiji::text::count(rows.len(), "notice", "notices"));
        }
        OutboxCommand::Show { id, eml, json } => {
            let row = ctx
                .store
                .outbox_row(id)
                .await?
                .ok_or_else(|| Invalid(format!("no notice #{id}")))?;
            let attachments = ctx
                .store
                .outbox_attachments(&[id])
                .await?
                .remove(&id)
                .unwrap_or_default();
            if eml {
                let m = suiji::notify::send::build(&row, &attachments, &ctx.settings.smtp.from)
                    .map_err(Invalid)?;
                print!("{}", String::from_utf8_lossy(&m.formatted()));
                return Ok(ExitCode::SUCCESS);
            }
            if json {
                let mut v = serde_json::to_value(&row)?;
                v["text"] = serde_json::json!(row.text);
                v["html"] = serde_json::json!(row.html);
                v["message_id"] = serde_json::json!(suiji::notify::message_id(&row.key));
                v["attachments"] = serde_json::json!(
                    attachments
                        .iter()
                        .map(|a| serde_json::json!({
                            "name": a.name, "ascii_name": a.ascii_name,
                            "content_type": a.content_type, "bytes": a.data.len(),
                        }))
                        .collect::<Vec<_>>()
                );
                return print_json(&v).map(|_| ExitCode::SUCCESS);
            }
            let boxes = |b: &[suiji::notify::Mailbox]| {
                b.iter()
                    .map(|m| format!("{} <{}>", m.name, m.email))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            // Whatever the row holds, the terminal gets no control or bidi character.
            let say = |line: &str| println!("{}", suiji::text::shown(line));
            say(&format!(
                "notice #{} ({}), {}",
                row.id, row.kind, row.status
            ));
            say(&format!("To: {}", boxes(&row.to)));
            if !row.cc.is_empty() {
                say(&format!("Cc: {}", boxes(&row.cc)));
            }
            say(&format!("Subject: {}", row.subject));
            say(&format!(
                "Message-ID: {}",
                suiji::notify::message_id(&row.key)
            ));
            say(&format!(
                "created {}; {} attempt(s){}{}",
                row.created_at,
                row.attempts,
                row.sent_at
                    .as_deref()
                    .map(|s| format!("; sent {s}"))
                    .unwrap_or_default(),
                row.last_error
                    .as_deref()
                    .map(|e| format!("; last error: {e}"))
                    .unwrap_or_default()
            ));
            if row.late {
                say("flagged late: sent inside its notice period");
            }
            println!();
            for line in row.text.lines() {
                say(line);
            }
            for a in &attachments {
                say(&format!(
                    "attachment: {} ({}; {}, {} bytes)",
                    a.name,
                    a.ascii_name,
                    a.content_type,
                    a.data.len()
                ));
            }
        }
        OutboxCommand::Retry { id, all, status } => {
            let which = match id {
                Some(id) if !all => suiji::store::Retry::One(id),
                _ => {
                    if !["failed", "pending"].contains(&status.as_str()) {
                        return Err(Invalid(format!(
                            "--status `{}`: failed or pending",
                            suiji::text::quote(&status)
                        ))
                        .into());
                    }
                    suiji::store::Retry::All { status }
                }
            };
            let rows = suiji::ops::notices::retry(ctx, which).await?;
            for r in &rows {
                println!(
                    "{}",
                    suiji::text::shown(&format!(
                        "notice #{} is pending again: {}",
                        r.id, r.subject
                    ))
                );
            }
            println!(
                "{} put back in line",
                suiji::text::count(rows.len(), "notice", "notices")
            );
        }
        OutboxCommand::Send { json } => {
            let transport = suiji::notify::send::Transport::from_settings(
                ctx.settings,
                ctx.store.mode().await?,
            )
            .map_err(|e| Invalid(e.to_string()))?;
            // The administrators hear of what is given up on, as from the daemon.
            let (done, gave_up) = suiji::ops::notices::deliver(ctx, &transport, 100_000).await?;
            if json {
                print_json(&serde_json::json!({ "delivered": done, "gave_up": gave_up }))?;
            } else {
                println!(
                    "{} sent, {} to retry, {} failed for good",
                    done.sent, done.retrying, done.failed
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `mail test`: each step of a session with the relay, as it went.
pub(super) async fn mail_test(
    settings: &suiji::config::Settings,
    to: Option<&str>,
    json: bool,
) -> Result<ExitCode> {
    let probe = suiji::notify::send::probe(settings, to)
        .await
        .map_err(|e| Invalid(e.to_string()))?;
    if json {
        print_json(&probe)?;
    } else {
        for line in &probe.steps {
            println!("{}", suiji::text::shown(&format!("ok    {line}")));
        }
        match &probe.failure {
            None => println!("mail test passed"),
            Some(f) => println!("{}", suiji::text::shown(&format!("FAIL  {f}"))),
        }
    }
    Ok(if probe.failure.is_none() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
