//! CSV as MVPs export it: `;` (German Excel) or `,` as separator, detected
//! from the header line; UTF-8 or Windows-1252; fields in double quotes may
//! hold separators, quotes (doubled) and line breaks.

use super::ImportError;

/// A row with the line it starts on (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub line: i64,
    pub cells: Vec<String>,
}

/// The separator the header line uses most: `;`, `,` or a tab.
pub fn detect_separator(text: &str) -> char {
    let header = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let mut best = (';', 0);
    for candidate in [';', ',', '\t'] {
        let mut quoted = false;
        let count = header
            .chars()
            .filter(|&c| {
                if c == '"' {
                    quoted = !quoted;
                }
                !quoted && c == candidate
            })
            .count();
        if count > best.1 {
            best = (candidate, count);
        }
    }
    best.0
}

/// Every non-empty row of the text.
pub fn parse(text: &str, separator: char) -> Result<Vec<Row>, ImportError> {
    let mut rows = Vec::new();
    let mut cells: Vec<String> = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut line: i64 = 1;
    let mut row_line: i64 = 1;
    let mut chars = text.chars().peekable();
    let mut finish_row = |cells: &mut Vec<String>, cell: &mut String, row_line: i64| {
        cells.push(std::mem::take(cell));
        let row = std::mem::take(cells);
        if row.iter().any(|c| !c.trim().is_empty()) {
            rows.push(Row { line: row_line, cells: row });
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            '"' if quoted => quoted = false,
            '"' if cell.trim().is_empty() => {
                cell.clear();
                quoted = true;
            }
            '\n' if quoted => {
                line += 1;
                cell.push('\n');
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                finish_row(&mut cells, &mut cell, row_line);
                line += 1;
                row_line = line;
            }
            c if c == separator && !quoted => cells.push(std::mem::take(&mut cell)),
            c => cell.push(c),
        }
    }
    if quoted {
        return Err(ImportError::Unreadable(format!(
            "In Zeile {row_line} ist ein Anführungszeichen nicht geschlossen; die Datei lässt sich nicht lesen."
        )));
    }
    if !cell.is_empty() || !cells.is_empty() {
        finish_row(&mut cells, &mut cell, row_line);
    }
    Ok(rows)
}

/// Writes rows as `;`-separated CSV, quoting where needed (for Excel sheets,
/// which are kept as CSV until their import has run).
pub fn write(rows: &[Vec<String>]) -> String {
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .map(|cell| {
                let cell = cell.replace(['\r', '\n'], " ");
                if cell.contains([';', '"']) { format!("\"{}\"", cell.replace('"', "\"\"")) } else { cell }
            })
            .collect();
        out.push_str(&cells.join(";"));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators_quotes_and_line_breaks() {
        let text = "Name;Ort;Notiz\r\n\"Müller; Max\";Köln;\"sagt \"\"hallo\"\"\nund tschüss\"\r\n\r\nSchmidt;Bonn;\n";
        assert_eq!(detect_separator(text), ';');
        let rows = parse(text, ';').unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[1].cells, vec!["Müller; Max", "Köln", "sagt \"hallo\"\nund tschüss"]);
        assert_eq!(rows[2].line, 5);
        assert_eq!(rows[2].cells, vec!["Schmidt", "Bonn", ""]);
        assert_eq!(detect_separator("a,b,\"c;d\"\n1,2,3"), ',');
        assert!(parse("a;\"b\n", ';').is_err());
        let written = write(&[vec!["a;b".into(), "x\"y".into(), "z".into()]]);
        assert_eq!(parse(&written, ';').unwrap()[0].cells, vec!["a;b", "x\"y", "z"]);
    }
}
