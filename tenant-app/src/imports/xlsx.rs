//! Excel workbooks (`.xlsx`), read with calamine: the first worksheet, each
//! cell as text the way the CSV reader would see it (dates as `YYYY-MM-DD`,
//! whole numbers without decimals).

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};

use super::ImportError;

/// How much larger than the upload the unpacked workbook may be: a guard
/// against archives that unpack to far more than they weigh.
const MAX_EXPANSION: u64 = 20;

/// The first worksheet's rows, with the sheet's leading empty rows kept so that
/// row numbers match what the broker sees in Excel.
pub fn rows(bytes: &[u8]) -> Result<Vec<Vec<String>>, ImportError> {
    unpacked_size_within(bytes, (bytes.len() as u64).saturating_mul(MAX_EXPANSION).max(10 * 1024 * 1024))?;
    let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(|_| not_excel())?;
    let range = workbook.worksheet_range_at(0).ok_or_else(not_excel)?.map_err(|_| not_excel())?;
    let (first_row, first_column) = range.start().unwrap_or((0, 0));
    let mut rows: Vec<Vec<String>> = (0..first_row).map(|_| Vec::new()).collect();
    for row in range.rows() {
        let mut cells: Vec<String> = (0..first_column).map(|_| String::new()).collect();
        cells.extend(row.iter().map(cell_text));
        rows.push(cells);
    }
    Ok(rows)
}

fn not_excel() -> ImportError {
    ImportError::Unreadable("Die Datei ist keine lesbare Excel-Arbeitsmappe (.xlsx).".into())
}

fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(text) => text.clone(),
        Data::Float(number) if number.fract() == 0.0 && number.abs() < 1e15 => format!("{}", *number as i64),
        Data::Float(number) => format!("{number:.2}"),
        Data::Int(number) => number.to_string(),
        Data::Bool(flag) => if *flag { "ja" } else { "nein" }.into(),
        Data::DateTime(value) => match value.as_datetime() {
            Some(at) => at.date().to_string(),
            None => value.to_string(),
        },
        Data::DateTimeIso(text) | Data::DurationIso(text) => text.clone(),
        Data::Error(_) => String::new(),
    }
}

/// Refuses a workbook whose parts unpack to more than `limit` bytes, before
/// anything is unpacked (the sizes stand in the zip's central directory).
fn unpacked_size_within(bytes: &[u8], limit: u64) -> Result<(), ImportError> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|_| not_excel())?;
    let mut total: u64 = 0;
    for index in 0..archive.len() {
        let size = archive.by_index_raw(index).map(|part| part.size()).unwrap_or(u64::MAX);
        total = total.saturating_add(size);
    }
    if total > limit {
        return Err(ImportError::Unreadable(
            "Die Excel-Arbeitsmappe ist entpackt zu groß; bitte speichern Sie sie als CSV.".into(),
        ));
    }
    Ok(())
}
