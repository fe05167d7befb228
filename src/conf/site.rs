//! Loading of Hadoop site files (`core-site.xml`, `hdfs-site.xml`).

use std::path::Path as StdPath;

use quick_xml::Reader;
use quick_xml::events::Event;

use super::file::read_config_file;
use super::{ConfError, Configuration};
use crate::xml_entity::resolve_entity;

/// Parses the text of a Hadoop site file (`<configuration><property><name>…</name><value>…`).
/// `file` only names the source in errors.
pub fn parse_site_xml(xml: &str, file: &str) -> Result<Configuration, ConfError> {
    let err = |reason: String| ConfError::File {
        file: file.to_string(),
        reason,
    };
    let mut reader = Reader::from_str(xml);
    reader.config_mut().trim_text(true);
    let mut conf = Configuration::new();
    let mut stack: Vec<String> = Vec::new();
    let (mut name, mut value): (Option<String>, Option<String>) = (None, None);
    loop {
        let position = reader.buffer_position();
        match reader.read_event() {
            Err(e) => return Err(err(format!("malformed XML at byte {position}: {e}"))),
            Ok(Event::Eof) => break,
            Ok(Event::Start(tag)) => {
                let tag_name = String::from_utf8_lossy(tag.name().as_ref()).into_owned();
                if tag_name == "property" {
                    (name, value) = (None, None);
                }
                stack.push(tag_name);
            }
            Ok(Event::End(_)) => {
                if stack.pop().as_deref() == Some("property") {
                    match (name.take(), value.take()) {
                        (Some(n), Some(v)) => conf.set(n.trim(), v),
                        (Some(n), None) => conf.set(n.trim(), ""),
                        (None, _) => return Err(err("a <property> has no <name>".to_string())),
                    }
                }
            }
            Ok(Event::Text(text)) => {
                let decoded = text
                    .decode()
                    .map_err(|e| err(format!("bad text at byte {position}: {e}")))?;
                append_text(&stack, &mut name, &mut value, &decoded);
            }
            Ok(Event::GeneralRef(reference)) => {
                let entity = reference
                    .decode()
                    .map_err(|e| err(format!("bad entity at byte {position}: {e}")))?;
                let resolved = resolve_entity(&entity)
                    .ok_or_else(|| err(format!("unknown entity &{entity}; at byte {position}")))?;
                append_text(
                    &stack,
                    &mut name,
                    &mut value,
                    resolved.encode_utf8(&mut [0; 4]),
                );
            }
            Ok(Event::CData(cdata)) => {
                let text = String::from_utf8_lossy(&cdata).into_owned();
                append_text(&stack, &mut name, &mut value, &text);
            }
            Ok(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err(err(format!("unclosed element <{}>", stack.join("><"))));
    }
    Ok(conf)
}

fn append_text(
    stack: &[String],
    name: &mut Option<String>,
    value: &mut Option<String>,
    text: &str,
) {
    let slot = match stack.last().map(String::as_str) {
        Some("name") => name,
        Some("value") => value,
        _ => return,
    };
    slot.get_or_insert_with(String::new).push_str(text);
}

/// Reads and parses one site file: a regular file of at most
/// [`MAX_CONFIG_FILE_BYTES`](super::MAX_CONFIG_FILE_BYTES).
pub fn load_site_file(file: &StdPath) -> Result<Configuration, ConfError> {
    let shown = file.display().to_string();
    let xml = read_config_file(file).map_err(|e| ConfError::File {
        file: shown.clone(),
        reason: format!("cannot use this Hadoop site file: {e}"),
    })?;
    parse_site_xml(&xml, &shown)
}

/// Loads `core-site.xml` then `hdfs-site.xml` from a Hadoop configuration directory
/// (`HADOOP_CONF_DIR`); files that do not exist are skipped, unreadable ones are errors.
pub fn load_site_files(conf_dir: &StdPath) -> Result<Configuration, ConfError> {
    let mut conf = Configuration::new();
    for name in ["core-site.xml", "hdfs-site.xml"] {
        let file = conf_dir.join(name);
        if file.exists() {
            conf.merge(&load_site_file(&file)?);
        }
    }
    Ok(conf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_properties() {
        let xml = r#"<?xml version="1.0"?>
<configuration>
  <property><name>fs.defaultFS</name><value>hdfs://ns1</value></property>
  <property>
    <name>dfs.ha.namenodes.ns1</name>
    <value>nn1,nn2</value>
    <final>true</final>
  </property>
  <property><name>escaped</name><value>a&amp;b&#65;</value></property>
  <property><name>empty</name><value></value></property>
</configuration>"#;
        let conf = parse_site_xml(xml, "core-site.xml").unwrap();
        assert_eq!(conf.get("fs.defaultFS"), Some("hdfs://ns1"));
        assert_eq!(conf.get("dfs.ha.namenodes.ns1"), Some("nn1,nn2"));
        assert_eq!(conf.get("escaped"), Some("a&bA"));
        assert_eq!(conf.get("empty"), None);
    }

    #[test]
    fn malformed_xml_names_the_file() {
        let err = parse_site_xml(
            "<configuration><property><name>x</name>",
            "/etc/hadoop/hdfs-site.xml",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("/etc/hadoop/hdfs-site.xml"), "{err}");
    }
}
