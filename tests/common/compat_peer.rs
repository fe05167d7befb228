//! compat-peer (SeaTunnel 2.3.8's own checkpoint storage plugins behind small Java mains): its
//! class path, built once per test binary, and plugin-config files in the form it reads.

/// compat-peer's class path (our jar first); `None` (or a panic, see [`super::missing`]) when
/// Java, Maven or the SeaTunnel artifacts are not there.
pub fn classpath() -> Option<String> {
    super::java_peer::classpath("compat-peer")
}

/// A plugin-config as a `java.util.Properties` file: keys and values escaped so that
/// `Properties.load` gives back exactly these strings.
pub fn properties<'a>(config: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    fn escape(text: &str, key: bool) -> String {
        let mut out = String::new();
        for (i, c) in text.chars().enumerate() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '=' | ':' | '#' | '!' if key => {
                    out.push('\\');
                    out.push(c);
                }
                ' ' if key || i == 0 => out.push_str("\\ "),
                c if c.is_ascii() && !c.is_ascii_control() => out.push(c),
                c => {
                    let mut units = [0u16; 2];
                    for unit in c.encode_utf16(&mut units) {
                        out.push_str(&format!("\\u{unit:04x}"));
                    }
                }
            }
        }
        out
    }
    config
        .into_iter()
        .map(|(k, v)| format!("{}={}\n", escape(k, true), escape(v, false)))
        .collect()
}
