//! A tiny XML tree for OSS responses (pure; no I/O).

use crate::xml_entity::resolve_entity;
use quick_xml::Reader;
use quick_xml::events::Event;

/// One element: its name, its own text and its children.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Node {
    pub(crate) name: String,
    pub(crate) text: String,
    pub(crate) children: Vec<Node>,
}

impl Node {
    /// The first child named `name`.
    pub(crate) fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    /// All children named `name`.
    pub(crate) fn children<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The text of the first child named `name`.
    pub(crate) fn text_of(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.as_str())
    }
}

/// Parses a document into its root element; `Err` says what is malformed.
pub(crate) fn parse(xml: &[u8]) -> Result<Node, String> {
    let text = std::str::from_utf8(xml).map_err(|e| format!("response is not UTF-8: {e}"))?;
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<Node> = vec![Node::default()];
    loop {
        let position = reader.buffer_position();
        match reader.read_event() {
            Err(e) => return Err(format!("malformed XML at byte {position}: {e}")),
            Ok(Event::Eof) => break,
            Ok(Event::Start(tag)) => stack.push(Node {
                name: String::from_utf8_lossy(tag.name().as_ref()).into_owned(),
                ..Node::default()
            }),
            Ok(Event::Empty(tag)) => {
                let node = Node {
                    name: String::from_utf8_lossy(tag.name().as_ref()).into_owned(),
                    ..Node::default()
                };
                if let Some(parent) = stack.last_mut() {
                    parent.children.push(node);
                }
            }
            Ok(Event::End(_)) => {
                let done = stack.pop().ok_or("unbalanced end tag")?;
                let parent = stack.last_mut().ok_or("unbalanced end tag")?;
                parent.children.push(done);
            }
            Ok(Event::Text(t)) => {
                let decoded = t.decode().map_err(|e| format!("bad text: {e}"))?;
                if let Some(node) = stack.last_mut() {
                    node.text.push_str(&decoded);
                }
            }
            Ok(Event::GeneralRef(r)) => {
                let entity = r.decode().map_err(|e| format!("bad entity: {e}"))?;
                let resolved =
                    resolve_entity(&entity).ok_or_else(|| format!("unknown entity &{entity};"))?;
                if let Some(node) = stack.last_mut() {
                    node.text.push(resolved);
                }
            }
            Ok(Event::CData(c)) => {
                if let Some(node) = stack.last_mut() {
                    node.text.push_str(&String::from_utf8_lossy(&c));
                }
            }
            Ok(_) => {}
        }
    }
    if stack.len() != 1 {
        return Err("unclosed element".to_string());
    }
    stack
        .pop()
        .and_then(|doc| doc.children.into_iter().next())
        .ok_or_else(|| "empty XML document".to_string())
}

/// Escapes text for an XML element body.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_error_and_listing() {
        let doc = parse(
            br#"<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>NoSuchKey</Code><Message>a &amp; b</Message><Empty/></Error>"#,
        )
        .unwrap();
        assert_eq!(doc.name, "Error");
        assert_eq!(doc.text_of("Code"), Some("NoSuchKey"));
        assert_eq!(doc.text_of("Message"), Some("a & b"));
        assert_eq!(doc.text_of("Empty"), Some(""));
        let list =
            parse(b"<L><C><K>a</K></C><C><K>b</K></C><P><Prefix>x/</Prefix></P></L>").unwrap();
        let keys: Vec<_> = list.children("C").filter_map(|c| c.text_of("K")).collect();
        assert_eq!(keys, vec!["a", "b"]);
        assert!(parse(b"<a><b></a>").is_err());
        assert_eq!(escape("<a&'\">"), "&lt;a&amp;&apos;&quot;&gt;");
    }
}
