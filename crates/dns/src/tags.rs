//! Tag-value lists (`v=DMARC1; p=reject`): DMARC (RFC 7489 §6.4), DKIM
//! keys (RFC 6376 §3.2), MTA-STS (RFC 8461 §3.1) and TLS-RPT (RFC 8460 §3)
//! records share this syntax.

use mailwarden_model::SyntaxError;

/// One `name=value` with the byte offset of the name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    /// The name, as written.
    pub name: String,
    /// The value, whitespace-trimmed.
    pub value: String,
    /// Byte offset of the name in the record.
    pub position: usize,
}

/// Splits a record into tags; malformed parts become errors.
pub fn parse(record: &str) -> (Vec<Tag>, Vec<SyntaxError>) {
    let mut tags: Vec<Tag> = Vec::new();
    let mut errors = Vec::new();
    let mut offset = 0;
    for part in record.split(';') {
        let start = offset;
        offset += part.len() + 1;
        if part.trim().is_empty() {
            continue;
        }
        let lead = part.len() - part.trim_start().len();
        let position = start + lead;
        let Some((name, value)) = part.split_once('=') else {
            errors.push(SyntaxError {
                position,
                message: format!("{:?} is not a tag=value pair", part.trim()),
            });
            continue;
        };
        let name = name.trim();
        let valid = name.starts_with(|c: char| c.is_ascii_alphabetic())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            errors.push(SyntaxError {
                position,
                message: format!("{name:?} is not a valid tag name"),
            });
            continue;
        }
        if tags.iter().any(|t| t.name.eq_ignore_ascii_case(name)) {
            errors.push(SyntaxError {
                position,
                message: format!("tag {name:?} appears twice"),
            });
            continue;
        }
        tags.push(Tag {
            name: name.to_owned(),
            value: value.trim().to_owned(),
            position,
        });
    }
    (tags, errors)
}

/// The value of a tag (names compared case-insensitively).
pub fn get<'a>(tags: &'a [Tag], name: &str) -> Option<&'a Tag> {
    tags.iter().find(|t| t.name.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_with_positions() {
        let (tags, errors) = parse("v=DMARC1; p=reject ;rua=mailto:a@b.example; bad; 1x=2; p=none");
        assert_eq!(tags.len(), 3);
        assert_eq!(tags[1].value, "reject");
        assert_eq!(tags[1].position, 10);
        assert_eq!(tags[2].position, 20);
        assert_eq!(errors.len(), 3);
        assert_eq!(errors[0].position, 44);
        assert!(errors[2].message.contains("twice"));
    }
}
