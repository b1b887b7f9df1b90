//! Probes one endpoint and prints the observation as JSON (a debugging aid).
//! Usage: probe_one ADDR:PORT [ROLE] [CHECK_NAME] [CA_FILE]

use std::sync::Arc;

use mailwarden_probe::{EndpointSpec, ProbeConfig, Prober, TlsSettings};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(addr) = args
        .get(1)
        .and_then(|a| a.parse::<std::net::SocketAddr>().ok())
    else {
        eprintln!("usage: probe_one ADDR:PORT [ROLE] [CHECK_NAME] [CA_FILE]");
        std::process::exit(2);
    };
    let role = args
        .get(2)
        .and_then(|r| mailwarden_model::ServiceRole::parse(r));
    let name = args
        .get(3)
        .cloned()
        .unwrap_or_else(|| "mail.test".to_owned());
    let mut anchors = mailwarden_cert::TrustAnchors::mozilla();
    if let Some(ca) = args.get(4) {
        anchors = anchors
            .with_ca_file(std::path::Path::new(ca))
            .expect("CA file");
    }
    let prober = Arc::new(Prober::new(
        ProbeConfig::default(),
        TlsSettings::new(anchors),
    ));
    let spec = EndpointSpec {
        target: addr.to_string(),
        address: addr,
        role,
        check_name: name,
    };
    let obs = prober.probe(&spec).await;
    println!("{}", serde_json::to_string_pretty(&obs).unwrap_or_default());
}
