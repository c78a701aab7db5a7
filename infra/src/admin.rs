//! `marquee-admin EMAIL`: makes EMAIL an active admin, creating the account when there is
//! none (password from `MARQUEE_ADMIN_PASSWORD`, or a generated one that is printed).
//! Works on whichever backend the environment configures, so also for a fresh deployment
//! (`MARQUEE_BACKEND=aws` with the deployed table's name).

use marquee::accounts::admin::{AdminSetup, ensure_admin};
use marquee::{App, Config};
use std::process::ExitCode;

pub fn main() -> ExitCode {
    crate::run_command("marquee-admin", async {
        let email = std::env::args()
            .nth(1)
            .ok_or("usage: marquee-admin EMAIL")?;
        let config = Config::from_env()?;
        let app = App::start(config).await?;
        let (password, generated) = match std::env::var("MARQUEE_ADMIN_PASSWORD") {
            Ok(p) if !p.is_empty() => (p, false),
            _ => (marquee::secret::new_token(), true),
        };
        let (user, setup) = ensure_admin(&app, &email, &password)
            .await
            .map_err(|p| p.to_string())?;
        match setup {
            AdminSetup::Created if generated => {
                println!(
                    "created admin {} ({}) with password {password}",
                    user.email, user.id
                )
            }
            AdminSetup::Created => println!("created admin {} ({})", user.email, user.id),
            AdminSetup::Promoted => println!("{} ({}) is now an active admin", user.email, user.id),
            AdminSetup::AlreadyAdmin => {
                println!("{} ({}) already is an active admin", user.email, user.id)
            }
        }
        Ok(())
    })
}
