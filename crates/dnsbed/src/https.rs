//! An HTTPS fixture serving MTA-STS policy files by `Host`, with a
//! certificate from a CA made at start (tokio + rustls, one thread).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// Host names the certificate covers.
pub const POLICY_HOSTS: [&str; 3] = [
    "mta-sts.mail.test",
    "mta-sts.weak.test",
    "mta-sts.plain.test",
];

/// The policy server.
pub struct PolicyServer {
    /// Where it listens (stands for port 443).
    pub address: SocketAddr,
    /// The CA that signed its certificate.
    pub ca_file: PathBuf,
    bodies: Arc<Mutex<HashMap<String, Response>>>,
}

/// What the server answers for one host.
#[derive(Debug, Clone)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// Content-Type.
    pub content_type: &'static str,
    /// Extra header lines (e.g. `Location: ...`).
    pub headers: Vec<String>,
    /// The body.
    pub body: String,
}

impl PolicyServer {
    /// Starts the server with the built-in policies.
    pub fn start(dir: &Path) -> anyhow::Result<PolicyServer> {
        let ca_key = KeyPair::generate()?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "mailwarden DNS test bed CA");
        let ca_cert = ca_params.self_signed(&ca_key)?;
        let ca_file = dir.join("policy-ca.pem");
        std::fs::write(&ca_file, ca_cert.pem())?;
        let issuer = Issuer::new(ca_params, ca_key);
        let leaf_key = KeyPair::generate()?;
        let params = CertificateParams::new(
            POLICY_HOSTS
                .iter()
                .map(|h| (*h).to_owned())
                .collect::<Vec<_>>(),
        )?;
        let leaf = params.signed_by(&leaf_key, &issuer)?;
        let chain = vec![leaf.der().clone(), ca_cert.der().clone()];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(
            chain.into_iter().map(CertificateDer::into_owned).collect(),
            key,
        )
        .context("policy server certificate")?;
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let address = listener.local_addr()?;
        let bodies = Arc::new(Mutex::new(default_policies()));
        let served = bodies.clone();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        std::thread::Builder::new()
            .name("mta-sts-fixture".into())
            .spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                rt.block_on(serve(listener, acceptor, served));
            })?;
        Ok(PolicyServer {
            address,
            ca_file,
            bodies,
        })
    }

    /// A 200 text/plain response with `body`.
    pub fn response(body: &str) -> Response {
        policy(body)
    }

    /// Restores the built-in answer for `host`.
    pub fn reset(&self, host: &str) {
        if let Some(r) = default_policies().remove(host) {
            self.set(host, r);
        }
    }

    /// Replaces what `host` answers.
    pub fn set(&self, host: &str, response: Response) {
        self.bodies
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(host.to_owned(), response);
    }
}

fn policy(body: &str) -> Response {
    Response {
        status: 200,
        content_type: "text/plain",
        headers: Vec::new(),
        body: body.to_owned(),
    }
}

fn default_policies() -> HashMap<String, Response> {
    let mut m = HashMap::new();
    m.insert(
        "mta-sts.mail.test".to_owned(),
        policy("version: STSv1\r\nmode: enforce\r\nmx: mx.mail.test\r\nmx: *.backup.mail.test\r\nmax_age: 604800\r\n"),
    );
    m.insert(
        "mta-sts.weak.test".to_owned(),
        policy("version: STSv1\r\nmode: enforce\r\nmx: mx.other.test\r\nmax_age: 3600\r\n"),
    );
    m.insert(
        "mta-sts.plain.test".to_owned(),
        Response {
            status: 301,
            content_type: "text/html",
            headers: vec!["Location: https://elsewhere.test/mta-sts.txt".to_owned()],
            body: String::new(),
        },
    );
    m
}

async fn serve(
    listener: std::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    bodies: Arc<Mutex<HashMap<String, Response>>>,
) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let acceptor = acceptor.clone();
        let bodies = bodies.clone();
        tokio::spawn(async move {
            let Ok(mut tls) = acceptor.accept(tcp).await else {
                return;
            };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 2048];
            while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 16384 {
                match tls.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            let head = String::from_utf8_lossy(&buf).into_owned();
            let host = head
                .lines()
                .find_map(|l| {
                    l.strip_prefix("Host: ")
                        .or_else(|| l.strip_prefix("host: "))
                })
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase();
            let response = bodies
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(&host)
                .cloned()
                .unwrap_or(Response {
                    status: 404,
                    content_type: "text/plain",
                    headers: Vec::new(),
                    body: "not found\n".to_owned(),
                });
            let mut out = format!(
                "HTTP/1.1 {} X\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
                response.status,
                response.content_type,
                response.body.len()
            );
            for h in &response.headers {
                out.push_str(h);
                out.push_str("\r\n");
            }
            out.push_str("\r\n");
            out.push_str(&response.body);
            let _ = tls.write_all(out.as_bytes()).await;
            let _ = tls.shutdown().await;
        });
    }
}
