//! Logging: human-readable by default, JSON lines for log collectors; and,
//! with `OTEL_EXPORTER_OTLP_ENDPOINT`, every span (each request, with its
//! request, user and organization ids) exported as an OpenTelemetry trace over OTLP/HTTP.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::platform::config::LogFormat;

/// Keeps the trace exporter alive; `shutdown` sends what is still buffered.
pub struct Telemetry {
    traces: Option<SdkTracerProvider>,
}

impl Telemetry {
    pub fn shutdown(self) {
        if let Some(provider) = self.traces
            && let Err(err) = provider.shutdown()
        {
            tracing::warn!(error = %err, "flushing traces failed");
        }
    }
}

/// Installs the global subscriber; `RUST_LOG` filters (default `info`).
pub fn init(format: LogFormat, otlp_endpoint: Option<&str>) -> Telemetry {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Logs go to stderr: stdout is for a command's answer (e.g. an id to capture).
    let logs = tracing_subscriber::fmt::layer().with_target(false).with_writer(std::io::stderr);
    let logs = match format {
        LogFormat::Pretty => logs.boxed(),
        LogFormat::Json => logs.json().flatten_event(true).boxed(),
    };
    let traces = otlp_endpoint.and_then(|endpoint| match provider(endpoint) {
        Ok(provider) => Some(provider),
        Err(err) => {
            eprintln!("volant: OTEL_EXPORTER_OTLP_ENDPOINT: {err}; traces are not exported");
            None
        }
    });
    let trace_layer =
        traces.as_ref().map(|provider| tracing_opentelemetry::layer().with_tracer(provider.tracer("volant")));
    // A second call (tests, tools) keeps the first subscriber.
    let _ = tracing_subscriber::registry().with(filter).with(logs).with(trace_layer).try_init();
    Telemetry { traces }
}

fn provider(endpoint: &str) -> Result<SdkTracerProvider, String> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(format!("{}/v1/traces", endpoint.trim_end_matches('/')))
        .build()
        .map_err(|e| e.to_string())?;
    let resource = opentelemetry_sdk::Resource::builder().with_service_name("volant").build();
    Ok(SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(resource).build())
}
