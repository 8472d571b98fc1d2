//! First start: make a default project and tell the user how to use it.

use crate::config::Settings;
use crate::store::{Db, projects};

pub async fn first_project(db: &Db, settings: &Settings) -> anyhow::Result<()> {
    if !projects::list(db).await?.is_empty() {
        return Ok(());
    }
    let project = projects::create(db, "Default project").await?;
    if settings.banner {
        let base = match &settings.public_url {
            Some(u) => u.clone(),
            None => format!("http://{}", settings.listen),
        };
        let banner = format!(
            "\nCreated the default project.\n\
             \n  secret key: {sk}   (server-side: everything)\
             \n  public key: {pk}   (browser-safe: /v1/track and subscribing only)\n\
             \nSend a test email (it lands in the outbox: `beacon outbox list`):\n\
             \n  curl -s {base}/v1/send \\\
             \n    -H 'Authorization: Bearer {sk}' \\\
             \n    -H 'Content-Type: application/json' \\\
             \n    -d '{{\"to\":\"you@example.com\",\"subject\":\"Hello from Beacon\",\"body\":\"<p>It works. <a href=\\\"https://example.com\\\">A tracked link</a></p>\"}}'\n\
             \nThe dashboard: {base}/  (create the owner's account there on first visit,\
             \n  or headless: `beacon user create --email you@example.com --password-stdin`)\n",
            sk = project.secret_key,
            pk = project.public_key,
        );
        // The banner is a courtesy: a closed stdout must not stop the service.
        use std::io::Write;
        let _ = std::io::stdout().write_all(banner.as_bytes());
    }
    Ok(())
}
