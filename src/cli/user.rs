//! `user`: the console's accounts.

use std::io::BufRead;
use std::process::ExitCode;

use anyhow::{Context, Result};

use super::table::{Align, Table};
use super::{UserCommand, print_json};
use suiji::ops::Ctx;
use suiji::ops::accounts::Credentials;

/// The first line of standard input, without its line end.
fn password_from_stdin() -> Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

fn print_credentials(c: &Credentials, json: bool) -> Result<()> {
    if json {
        return print_json(c);
    }
    match &c.generated_password {
        Some(p) => println!(
            "account {}: password {p}\n(shown this once and stored only as its hash: hand it \
             over in person)",
            suiji::text::shown(&c.login)
        ),
        None => println!("account {}: password set", suiji::text::shown(&c.login)),
    }
    Ok(())
}

pub(super) async fn command(ctx: &Ctx<'_>, command: UserCommand) -> Result<ExitCode> {
    match command {
        UserCommand::Add {
            login,
            name,
            role,
            scope,
            password_stdin,
            json,
        } => {
            let password = password_stdin.then(password_from_stdin).transpose()?;
            let c = suiji::ops::accounts::add(
                ctx,
                (&login, &name),
                role,
                scope.as_deref(),
                password.as_deref(),
            )
            .await?;
            print_credentials(&c, json)?;
        }
        UserCommand::Reset {
            login,
            password_stdin,
            json,
        } => {
            let password = password_stdin.then(password_from_stdin).transpose()?;
            let c = suiji::ops::accounts::reset(ctx, &login, password.as_deref()).await?;
            print_credentials(&c, json)?;
        }
        UserCommand::Disable { login } => {
            suiji::ops::accounts::disable(ctx, &login).await?;
            println!(
                "account {} disabled; its sessions ended",
                suiji::text::shown(&login)
            );
        }
        UserCommand::Link { login, subject } => {
            suiji::ops::sso::link(ctx, &login, &subject).await?;
            println!(
                "account {} signs in as the subject {} through single sign-on",
                suiji::text::shown(&login),
                suiji::text::shown(&subject)
            );
        }
        UserCommand::List { json } => {
            let rows = suiji::ops::accounts::list(ctx).await?;
            if json {
                print_json(&rows)?;
                return Ok(ExitCode::SUCCESS);
            }
            let mut t = Table::new(&[
                ("login", Align::Left),
                ("name", Align::Left),
                ("role", Align::Left),
                ("scope", Align::Left),
                ("state", Align::Left),
            ]);
            for r in &rows {
                t.row([
                    r.login.clone(),
                    r.name.clone(),
                    r.role.clone(),
                    r.scope.clone().unwrap_or_default(),
                    if r.disabled_at.is_some() {
                        "disabled".into()
                    } else {
                        "enabled".into()
                    },
                ]);
            }
            t.print();
        }
    }
    Ok(ExitCode::SUCCESS)
}
