//! `aie ingest whatsapp [--body FILE]`: one webhook delivery becomes items. The delivery is
//! the HTTP request on stdin (a systemd socket unit with `Accept=yes` runs one process per
//! connection), or with `--body` a bare JSON payload the owner gives by hand (not signed, so
//! not checked). The report on stdout is the HTTP answer.

use crate::context::Cx;
use crate::outcome::Outcome;
use crate::passes::whatsapp_ingest::{self, WebRequest};
use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum IngestSource {
    /// A WhatsApp Cloud API webhook delivery.
    Whatsapp,
}

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// What sent the delivery.
    pub source: IngestSource,
    /// A bare JSON payload instead of an HTTP request on stdin.
    #[arg(long, value_name = "FILE")]
    pub body: Option<PathBuf>,
}

impl crate::cli::CommandArgs for IngestArgs {}

/// Reads the delivery, answers it, and returns the HTTP answer as the report.
pub fn run(cx: &Cx, args: &IngestArgs) -> Result<Outcome> {
    let ctx = cx.ctx();
    let mut out = Outcome::default();
    let (req, signed) = match &args.body {
        Some(f) => {
            let body =
                std::fs::read(f).with_context(|| format!("cannot read `{}`", f.display()))?;
            let req = WebRequest {
                method: "POST".into(),
                target: "/".into(),
                body,
                ..WebRequest::default()
            };
            (req, false)
        }
        None => {
            let raw = whatsapp_ingest::read_request(&mut std::io::stdin().lock())
                .context("cannot read the request on stdin")?;
            match whatsapp_ingest::parse_request(&raw) {
                Ok(r) => (r, true),
                Err(e) => {
                    log::warn!("whatsapp: {e:#}");
                    out.summary = whatsapp_ingest::response(400, "bad request");
                    return Ok(out);
                }
            }
        }
    };
    // Only the active zone's agent takes deliveries (two would race for each message). The
    // handshake writes nothing and is answered anywhere; a delivery to another zone's agent
    // is answered 503, so Meta delivers it again later (a 200 would lose it).
    if req.method == "POST"
        && let Some(skipped) =
            crate::zones::skip(ctx, crate::config::Duty::IngestWhatsapp, "ingest whatsapp")
    {
        if !signed {
            return Ok(skipped);
        }
        log::warn!("{}: answered 503", skipped.summary);
        out.summary = whatsapp_ingest::response(503, "not the active zone");
        out.json = serde_json::json!({"job": "ingest", "status": 503});
        return Ok(out);
    }
    let (status, body) = whatsapp_ingest::handle(ctx, &req, signed, &mut out)?;
    out.summary = whatsapp_ingest::response(status, &body);
    out.json = serde_json::json!({"job": "ingest", "status": status});
    Ok(out)
}
