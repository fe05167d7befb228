//! XML character references: the one piece of XML decoding that Hadoop site files and object
//! store responses share.

/// Resolves the name of an entity reference (`amp`, `#65`, `#x41`) to its character.
pub(crate) fn resolve_entity(entity: &str) -> Option<char> {
    match entity {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => {
            let code = match entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
            {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => entity.strip_prefix('#')?.parse().ok()?,
            };
            char::from_u32(code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::resolve_entity;

    #[test]
    fn predefined_and_numeric() {
        assert_eq!(resolve_entity("amp"), Some('&'));
        assert_eq!(resolve_entity("#65"), Some('A'));
        assert_eq!(resolve_entity("#x42"), Some('B'));
        assert_eq!(resolve_entity("nbsp"), None);
        assert_eq!(resolve_entity("#xD800"), None);
    }
}
