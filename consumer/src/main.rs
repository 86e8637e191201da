//! `cali`: the consumer service and its tools. Wires configuration, logging, signals and
//! the HTTP endpoint around the library's pipeline.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use tokio::sync::watch;

use cali::clock::{Clock, SystemClock};
use cali::config::{settings_help, settings_markdown, Config, Secrets, SourceKind};
use cali::metrics::Metrics;
use cali::pipeline::stdout_printer;
use cali::service;

/// Decoding allocates and frees a few dozen small strings per event; mimalloc's
/// thread-local free lists do that at a fraction of glibc malloc's cost (`cali bench`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "cali",
    version,
    about = "CALI consumer: cali.event/v1 events from Kinesis (or NDJSON) to incidents to throttled Slack alerts",
    after_long_help = settings_help()
)]
struct Cli {
    /// TOML configuration file; every setting is optional (see SETTINGS below).
    #[arg(long, global = true, env = "CALI_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum SourceArg {
    Ndjson,
    Stdin,
    Kinesis,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the service: reads the source, groups incidents, sends alerts, serves /metrics,
    /// until SIGTERM or SIGINT (then finishes in-flight work, checkpoints, releases leases).
    Run {
        /// Overrides `source.kind`.
        #[arg(long, value_enum)]
        source: Option<SourceArg>,
        /// Overrides `source.input` (the NDJSON file).
        #[arg(long)]
        input: Option<PathBuf>,
        /// Overrides `source.follow`: keep reading the file as it grows.
        #[arg(long)]
        follow: bool,
    },
    /// Replays an NDJSON file through the same pipeline, prints the alerts and exits at
    /// its end (group wait does not delay the end of a replay).
    Replay {
        /// NDJSON file: one cali.event/v1 event per line.
        file: PathBuf,
        /// Use the configured state store instead of a throwaway in-memory one (a second
        /// replay then finds every event a duplicate).
        #[arg(long)]
        persist: bool,
    },
    /// The knowledge base the analysis retrieves from (the configured vector store).
    Kb {
        #[command(subcommand)]
        command: KbCommand,
    },
    /// Past incidents in the knowledge base.
    Incident {
        #[command(subcommand)]
        command: IncidentCommand,
    },
    /// Measures decode, validation, dedupe and incident grouping on generated 1 KB events.
    Bench(cali::bench::BenchArgs),
    /// Prints the effective configuration (file + environment) as TOML.
    Config {
        /// Print the settings reference as a Markdown table instead.
        #[arg(long)]
        markdown: bool,
    },
}

#[derive(Subcommand)]
enum KbCommand {
    /// Chunks every Markdown runbook under DIR by heading, embeds the chunks and stores
    /// them (again: a page's chunks are replaced); prints the number of chunks.
    Add {
        /// Directory of `*.md` runbooks (searched recursively).
        dir: PathBuf,
    },
}

#[derive(Subcommand)]
enum IncidentCommand {
    /// Attaches a human resolution to a past incident; resolved incidents rank first when
    /// a similar incident is analysed.
    Resolve {
        /// The incident's fingerprint (as shown in its alert).
        fingerprint: String,
        /// What fixed it (redacted before it is stored).
        #[arg(long)]
        note: String,
    },
}

fn init_logging(default_level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CALI_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_current_span(false)
        .init();
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let load = || Config::load(cli.config.as_deref(), std::env::vars());
        match cli.command {
            Command::Run {
                source,
                input,
                follow,
            } => {
                init_logging("info");
                let mut config = load()?;
                if let Some(source) = source {
                    config.source.kind = match source {
                        SourceArg::Ndjson => SourceKind::Ndjson,
                        SourceArg::Stdin => SourceKind::Stdin,
                        SourceArg::Kinesis => SourceKind::Kinesis,
                    };
                }
                if input.is_some() {
                    config.source.input = input;
                }
                config.source.follow |= follow;
                run(config).await
            }
            Command::Replay { file, persist } => {
                init_logging("warn");
                let mut config = load()?;
                config.source.kind = SourceKind::Ndjson;
                config.source.input = Some(file);
                config.source.follow = false;
                replay(config, persist).await
            }
            Command::Kb {
                command: KbCommand::Add { dir },
            } => {
                init_logging("warn");
                let config = load()?;
                let embedder = service::embedder(&config);
                let store = service::vector_store(&config, &*embedder).await?;
                let chunks = cali_retrieval::ingest_runbooks(&dir, &*embedder, &*store)
                    .await
                    .with_context(|| format!("adding the runbooks of {}", dir.display()))?;
                println!(
                    "added {chunks} runbook chunks from {} ({})",
                    dir.display(),
                    embedder.model_id()
                );
                Ok(())
            }
            Command::Incident {
                command: IncidentCommand::Resolve { fingerprint, note },
            } => {
                init_logging("warn");
                let config = load()?;
                let sdk = match config.llm.api_key_secret_arn {
                    Some(_) if config.llm.base_url.is_some() => Some(service::aws(&config).await),
                    _ => None,
                };
                let pipeline = service::analysis_pipeline(
                    &config,
                    &Secrets::from_env(),
                    sdk.as_ref(),
                    Default::default(),
                )
                .await?;
                anyhow::ensure!(
                    pipeline.resolve(&fingerprint, &note).await?,
                    "no incident with fingerprint {fingerprint} in the knowledge base (it is stored when it is first analysed)"
                );
                println!("incident {fingerprint} resolved");
                Ok(())
            }
            Command::Bench(args) => {
                init_logging("warn");
                let config = load()?;
                cali::bench::run(&config, &args).await
            }
            Command::Config { markdown } => {
                if markdown {
                    print!("{}", settings_markdown());
                } else {
                    print!("{}", load()?.to_toml());
                }
                Ok(())
            }
        }
    })
}

/// Sets `stop` on SIGTERM or SIGINT.
fn stop_on_signals(stop: watch::Sender<bool>) -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: stopping"),
            _ = int.recv() => tracing::info!("SIGINT: stopping"),
        }
        let _ = stop.send(true);
    });
    Ok(())
}

async fn run(config: Config) -> anyhow::Result<()> {
    let metrics = Arc::new(Metrics::default());
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let (stop_tx, stop) = watch::channel(false);
    stop_on_signals(stop_tx)?;
    let parts = service::build(
        &config,
        &Secrets::from_env(),
        clock,
        metrics.clone(),
        stdout_printer(),
        false,
    )
    .await?;
    let mut tasks = Vec::new();
    if config.http.addr != "off" {
        let listener = tokio::net::TcpListener::bind(&config.http.addr)
            .await
            .with_context(|| format!("binding http.addr {}", config.http.addr))?;
        tracing::info!(addr = %listener.local_addr()?, "serving /metrics, /healthz, /readyz");
        tasks.push(tokio::spawn({
            let (metrics, stop) = (metrics.clone(), stop.clone());
            async move {
                if let Err(e) = cali::http::serve(listener, metrics, stop).await {
                    tracing::error!(error = %e, "http endpoint failed");
                }
            }
        }));
    }
    tasks.push(tokio::spawn(
        parts.pipeline.clone().run_policy(stop.clone()),
    ));
    if let Some(sender) = parts.sender {
        tasks.push(tokio::spawn(sender.run(stop.clone())));
    }
    let mut source = service::open_source(&config, parts.sdk.as_ref()).await?;
    metrics.ready.store(true, Ordering::Relaxed);
    tracing::info!(source = ?config.source.kind, "consuming");
    let consumed = parts.pipeline.consume(source.as_mut(), stop.clone()).await;
    metrics.ready.store(false, Ordering::Relaxed);
    if let Err(e) = &consumed {
        tracing::error!(error = %e, "consuming stopped");
    } else if !*stop.borrow() {
        tracing::info!("source finished; alerts keep flowing until SIGTERM");
        let mut stop = stop.clone();
        while !*stop.borrow() {
            if stop.changed().await.is_err() {
                break;
            }
        }
    }
    for task in tasks {
        let _ = task.await;
    }
    parts.pipeline.log_reconciliation();
    consumed.map_err(Into::into)
}

async fn replay(config: Config, persist: bool) -> anyhow::Result<()> {
    let metrics = Arc::new(Metrics::default());
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let parts = service::build(
        &config,
        &Secrets::from_env(),
        clock,
        metrics.clone(),
        stdout_printer(),
        !persist,
    )
    .await?;
    let (_stop_tx, stop) = watch::channel(false);
    let mut source = service::open_source(&config, parts.sdk.as_ref()).await?;
    parts.pipeline.consume(source.as_mut(), stop).await?;
    parts.pipeline.evaluate_alerts(true).await?;
    if let Some(sender) = &parts.sender {
        let deadline = tokio::time::Instant::now() + service::REPLAY_DRAIN;
        let pending = sender.drain(deadline).await?;
        if pending > 0 {
            tracing::warn!(pending, "alerts still queued at the end of the replay");
        }
    }
    parts.pipeline.log_reconciliation();
    let r = metrics.reconciliation();
    let get = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
    println!(
        "replayed {} records: {} events decoded, {} dead-lettered, {} not alertable, {} new, {} duplicates, {} incidents, {} alerts{}",
        get(&metrics.records_read),
        r.decoded,
        r.dead_lettered,
        r.not_alertable,
        r.new,
        r.duplicates,
        get(&metrics.incidents_opened),
        get(&metrics.alerts_claimed),
        if parts.sender.is_some() {
            format!(" ({} delivered to Slack)", get(&metrics.alerts_sent))
        } else {
            String::new()
        }
    );
    anyhow::ensure!(r.balanced(), "counts do not reconcile: {r:?}");
    Ok(())
}
