//! Every parser fed by DNS or HTTPS answers takes any input without
//! panicking (records are attacker-controlled), and keeps its positions
//! inside the input.

use mailwarden_dns::{dkim, dmarc, mtasts, spf, tlsrpt};
use proptest::prelude::*;

/// Strings close to real records: their vocabulary, shuffled.
fn recordish() -> impl Strategy<Value = String> {
    let words = prop::sample::select(vec![
        "v=spf1",
        "v=DMARC1",
        "v=DKIM1",
        "v=STSv1",
        "v=TLSRPTv1",
        "include:",
        "a:",
        "mx",
        "ptr",
        "ip4:",
        "ip6:",
        "192.0.2.1/33",
        "::1/129",
        "exists:%{i}.",
        "%{l1r-}",
        "%{",
        "}",
        "redirect=",
        "exp=",
        "~all",
        "-all",
        "+all",
        "?",
        "p=",
        "k=rsa",
        "t=y:s",
        "rua=mailto:",
        "@",
        "!10m",
        ";",
        "=",
        " ",
        "\u{00e9}",
        "\r\n",
        "mode: enforce",
        "max_age: ",
        "mx: *.",
        "version: STSv1",
        "%%",
        "%_",
        "%-",
        "/",
        "//",
    ]);
    prop::collection::vec(words, 0..24).prop_map(|w| w.concat())
}

proptest! {
    #[test]
    fn spf(record in recordish()) {
        let r = spf::parse::parse(&record);
        for e in &r.errors {
            prop_assert!(e.position <= record.len());
        }
        for t in &r.terms {
            prop_assert!(t.position <= record.len());
        }
    }

    #[test]
    fn tag_records(record in recordish()) {
        let (_, errors) = dmarc::parse_policy(&record);
        for e in &errors {
            prop_assert!(e.position <= record.len());
        }
        let _ = dkim::parse_key(&record);
        let _ = mtasts::parse_record(&record);
        let _ = tlsrpt::parse(&record);
    }

    #[test]
    fn mta_sts_policy_files(body in recordish()) {
        let _ = mtasts::parse_policy(&body);
    }

    #[test]
    fn arbitrary_text(s in ".{0,200}") {
        let _ = spf::parse::parse(&s);
        let _ = dmarc::parse_policy(&s);
        let _ = dkim::parse_key(&s);
        let _ = mtasts::parse_policy(&s);
    }
}
