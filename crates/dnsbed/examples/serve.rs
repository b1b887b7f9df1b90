//! Starts the DNS test bed and prints its addresses, until Ctrl-C:
//! `cargo run -p mailwarden-dnsbed --example serve`, then e.g.
//! `kdig @127.0.0.1 -p PORT +dnssec mail.test MX`.

use mailwarden_dnsbed::{DnsBed, MailServers};

fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let key = rcgen::KeyPair::generate()?;
    let cert = rcgen::CertificateParams::new(vec!["mx.mail.test".to_owned()])?.self_signed(&key)?;
    let pem = dir.path().join("leaf.pem");
    std::fs::write(&pem, cert.pem())?;
    let bed = DnsBed::start(&MailServers {
        mx_leaf_pems: vec![pem.clone()],
        mx_ca_pem: pem,
        submission: "127.0.0.1:10587".parse()?,
        submissions: "127.0.0.1:10465".parse()?,
        imaps: "127.0.0.2:10993".parse()?,
    })?;
    println!("knot (authoritative) {}", bed.authoritative);
    println!("unbound (validating)  {}", bed.resolver);
    println!("policies (https)      {}", bed.policies.address);
    println!("trust anchor          {}", bed.trust_anchor.display());
    println!("directory             {}", bed.dir().display());
    loop {
        std::thread::park();
    }
}
