//! Arrow at both ends of a bulk transfer: the transfer list read from a table, and the
//! per-file result written as one.

use std::sync::Arc;

use arrow_array::builder::{
    Float64Builder, ListBuilder, StringBuilder, UInt32Builder, UInt64Builder,
};
use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int64Type, UInt32Type, UInt64Type};
use arrow_array::{Array, ArrayRef, GenericListArray, OffsetSizeTrait, RecordBatch};
use arrow_schema::{DataType, Field, Schema};

use super::error::FtsError;
use super::outcome::FileOutcome;
use super::planner::Transfer;

/// The columns a transfer table may have; `sources` (or `source`) and `destination` are
/// required.
pub const TRANSFER_COLUMNS: &[&str] = &[
    "sources",
    "source",
    "destination",
    "filesize",
    "checksum",
    "metadata",
    "activity",
    "source_storage",
    "destination_storage",
];

/// Reads transfers from record batches: `sources` a list of strings (or `source` a string),
/// `destination` a string, `filesize` an integer, `metadata` a JSON object as text, and
/// `checksum`, `activity`, `source_storage`, `destination_storage` strings.
pub fn transfers_from_batches(batches: &[RecordBatch]) -> Result<Vec<Transfer>, FtsError> {
    let mut transfers = Vec::new();
    for batch in batches {
        for field in batch.schema().fields() {
            if !TRANSFER_COLUMNS.contains(&field.name().as_str()) {
                return Err(FtsError::invalid(format!(
                    "unknown column {:?}; the columns are {}",
                    field.name(),
                    TRANSFER_COLUMNS.join(", ")
                )));
            }
        }
        let offset = transfers.len();
        let column = |name: &str| batch.column_by_name(name);

        let destination = column("destination")
            .ok_or_else(|| FtsError::invalid("the transfer table has no destination column"))?;
        let sources = match (column("sources"), column("source")) {
            (Some(list), None) => list_column(list, "sources")?,
            (None, Some(single)) => string_column(single, "source")?
                .into_iter()
                .map(|s| s.into_iter().collect())
                .collect(),
            _ => {
                return Err(FtsError::invalid(
                    "the transfer table needs exactly one of the columns sources and source",
                ))
            }
        };
        let destinations = string_column(destination, "destination")?;
        let optional = |name: &str| -> Result<Vec<Option<String>>, FtsError> {
            match column(name) {
                Some(array) => string_column(array, name),
                None => Ok(vec![None; batch.num_rows()]),
            }
        };
        let checksums = optional("checksum")?;
        let metadata = optional("metadata")?;
        let activities = optional("activity")?;
        let source_storages = optional("source_storage")?;
        let destination_storages = optional("destination_storage")?;
        let sizes = match column("filesize") {
            Some(array) => integer_column(array, "filesize")?,
            None => vec![None; batch.num_rows()],
        };

        for row in 0..batch.num_rows() {
            let metadata = match &metadata[row] {
                None => None,
                Some(text) => {
                    Some(
                        serde_json::from_str(text).map_err(|e| FtsError::InvalidInput {
                            problems: vec![super::error::InputProblem {
                                row: offset + row,
                                reason: format!("metadata is not JSON: {e}"),
                            }],
                        })?,
                    )
                }
            };
            transfers.push(Transfer {
                sources: sources[row].clone(),
                destination: destinations[row].clone().unwrap_or_default(),
                filesize: sizes[row],
                checksum: checksums[row].clone(),
                metadata,
                activity: activities[row].clone(),
                source_storage: source_storages[row].clone(),
                destination_storage: destination_storages[row].clone(),
            });
        }
    }
    Ok(transfers)
}

fn string_column(array: &ArrayRef, name: &str) -> Result<Vec<Option<String>>, FtsError> {
    let values: Vec<Option<String>> = if let Some(a) = array.as_string_opt::<i32>() {
        a.iter().map(|v| v.map(str::to_owned)).collect()
    } else if let Some(a) = array.as_string_opt::<i64>() {
        a.iter().map(|v| v.map(str::to_owned)).collect()
    } else if let Some(a) = array.as_string_view_opt() {
        a.iter().map(|v| v.map(str::to_owned)).collect()
    } else if array.data_type() == &DataType::Null {
        vec![None; array.len()]
    } else {
        return Err(FtsError::invalid(format!(
            "column {name} must hold strings, not {}",
            array.data_type()
        )));
    };
    Ok(values)
}

fn list_column(array: &ArrayRef, name: &str) -> Result<Vec<Vec<String>>, FtsError> {
    if let Some(lists) = array.as_list_opt::<i32>() {
        split_lists(lists, name)
    } else if let Some(lists) = array.as_list_opt::<i64>() {
        split_lists(lists, name)
    } else {
        Err(FtsError::invalid(format!(
            "column {name} must be a list of strings, not {}",
            array.data_type()
        )))
    }
}

/// Reads all list values at once and cuts them by the offsets, rather than one small array
/// per row.
fn split_lists<O: OffsetSizeTrait>(
    lists: &GenericListArray<O>,
    name: &str,
) -> Result<Vec<Vec<String>>, FtsError> {
    let mut values = string_column(lists.values(), name)?;
    let offsets = lists.value_offsets();
    Ok((0..lists.len())
        .map(|row| {
            if lists.is_null(row) {
                return Vec::new();
            }
            let (start, end) = (offsets[row].as_usize(), offsets[row + 1].as_usize());
            values[start..end]
                .iter_mut()
                .filter_map(Option::take)
                .collect()
        })
        .collect())
}

fn integer_column(array: &ArrayRef, name: &str) -> Result<Vec<Option<u64>>, FtsError> {
    let negative = || FtsError::invalid(format!("column {name} has a negative value"));
    if let Some(a) = array.as_primitive_opt::<Int64Type>() {
        a.iter()
            .map(|v| {
                v.map(|n| u64::try_from(n).map_err(|_| negative()))
                    .transpose()
            })
            .collect()
    } else if let Some(a) = array.as_primitive_opt::<UInt64Type>() {
        Ok(a.iter().collect())
    } else if let Some(a) = array.as_primitive_opt::<Int32Type>() {
        a.iter()
            .map(|v| {
                v.map(|n| u64::try_from(n).map_err(|_| negative()))
                    .transpose()
            })
            .collect()
    } else if let Some(a) = array.as_primitive_opt::<UInt32Type>() {
        Ok(a.iter().map(|v| v.map(u64::from)).collect())
    } else if array.data_type() == &DataType::Null {
        Ok(vec![None; array.len()])
    } else {
        Err(FtsError::invalid(format!(
            "column {name} must hold integers, not {}",
            array.data_type()
        )))
    }
}

/// The schema of the per-file result table.
pub fn outcome_schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("row", DataType::UInt64, false),
        Field::new("source", DataType::Utf8, true),
        Field::new("destination", DataType::Utf8, false),
        Field::new("state", DataType::Utf8, false),
        Field::new("failure", DataType::Utf8, true),
        Field::new("attempts", DataType::UInt32, false),
        Field::new("reason", DataType::Utf8, true),
        Field::new(
            "fts_job_ids",
            DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true))),
            false,
        ),
        Field::new("bytes", DataType::UInt64, false),
        Field::new("duration_s", DataType::Float64, true),
    ]))
}

/// One row per file: source used, destination, final state, attempts, last reason, FTS job
/// ids, bytes and duration.
pub fn outcomes_to_batch(
    outcomes: &[FileOutcome],
    transfers: &[Transfer],
) -> Result<RecordBatch, FtsError> {
    let n = outcomes.len();
    let mut row = UInt64Builder::with_capacity(n);
    let mut source = StringBuilder::new();
    let mut destination = StringBuilder::new();
    let mut state = StringBuilder::new();
    let mut failure = StringBuilder::new();
    let mut attempts = UInt32Builder::with_capacity(n);
    let mut reason = StringBuilder::new();
    let mut job_ids = ListBuilder::new(StringBuilder::new());
    let mut bytes = UInt64Builder::with_capacity(n);
    let mut duration = Float64Builder::with_capacity(n);

    for outcome in outcomes {
        row.append_value(outcome.row as u64);
        source.append_option(outcome.source.as_deref());
        destination.append_value(&transfers[outcome.row].destination);
        state.append_value(&outcome.state);
        failure.append_option(outcome.failure.map(|f| f.as_str()));
        attempts.append_value(outcome.attempts);
        reason.append_option(outcome.reason.as_deref());
        for id in &outcome.job_ids {
            job_ids.values().append_value(id);
        }
        job_ids.append(true);
        bytes.append_value(outcome.bytes);
        duration.append_option(outcome.duration);
    }

    let columns: Vec<ArrayRef> = vec![
        Arc::new(row.finish()),
        Arc::new(source.finish()),
        Arc::new(destination.finish()),
        Arc::new(state.finish()),
        Arc::new(failure.finish()),
        Arc::new(attempts.finish()),
        Arc::new(reason.finish()),
        Arc::new(job_ids.finish()),
        Arc::new(bytes.finish()),
        Arc::new(duration.finish()),
    ];
    RecordBatch::try_new(outcome_schema(), columns)
        .map_err(|e| FtsError::invalid(format!("cannot build the result table: {e}")))
}

#[cfg(test)]
mod tests {
    use arrow_array::builder::ListBuilder;
    use arrow_array::{Int64Array, StringArray};

    use super::*;
    use crate::fts::classify::Failure;

    fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
        RecordBatch::try_from_iter(columns).unwrap()
    }

    #[test]
    fn reads_lists_of_sources_and_optional_columns() {
        let mut sources = ListBuilder::new(StringBuilder::new());
        sources.values().append_value("https://a.example/f0");
        sources.values().append_value("https://c.example/f0");
        sources.append(true);
        sources.values().append_value("https://a.example/f1");
        sources.append(true);
        let table = batch(vec![
            ("sources", Arc::new(sources.finish()) as ArrayRef),
            (
                "destination",
                Arc::new(StringArray::from(vec![
                    "https://b.example/f0",
                    "https://b.example/f1",
                ])),
            ),
            ("filesize", Arc::new(Int64Array::from(vec![Some(7), None]))),
            (
                "metadata",
                Arc::new(StringArray::from(vec![Some(r#"{"run": 8}"#), None])),
            ),
        ]);

        let transfers = transfers_from_batches(&[table]).unwrap();
        assert_eq!(transfers[0].sources.len(), 2);
        assert_eq!(transfers[0].filesize, Some(7));
        assert_eq!(transfers[0].metadata, Some(serde_json::json!({"run": 8})));
        assert_eq!(
            transfers[1].sources,
            vec!["https://a.example/f1".to_owned()]
        );
        assert_eq!(transfers[1].metadata, None);
    }

    #[test]
    fn unknown_columns_wrong_types_and_bad_json_are_refused() {
        let destination: ArrayRef = Arc::new(StringArray::from(vec!["https://b.example/f"]));
        let source: ArrayRef = Arc::new(StringArray::from(vec!["https://a.example/f"]));

        let typo = batch(vec![
            ("source", source.clone()),
            ("destination", destination.clone()),
            ("checksun", source.clone()),
        ]);
        assert!(transfers_from_batches(&[typo])
            .unwrap_err()
            .to_string()
            .contains("checksun"));

        let wrong_type = batch(vec![
            ("source", source.clone()),
            ("destination", destination.clone()),
            ("filesize", source.clone()),
        ]);
        assert!(transfers_from_batches(&[wrong_type]).is_err());

        let bad_json = batch(vec![
            ("source", source.clone()),
            ("destination", destination),
            ("metadata", Arc::new(StringArray::from(vec!["{not json"]))),
        ]);
        assert!(transfers_from_batches(&[bad_json])
            .unwrap_err()
            .to_string()
            .contains("JSON"));
    }

    #[test]
    fn outcomes_become_one_row_per_file() {
        let transfers = vec![Transfer {
            sources: vec!["https://a.example/f".into()],
            destination: "https://b.example/f".into(),
            ..Transfer::default()
        }];
        let outcome = FileOutcome {
            row: 0,
            state: "FAILED".into(),
            failure: Some(Failure::Final),
            source: Some("https://a.example/f".into()),
            attempts: 2,
            reason: Some("SOURCE [2] No such file or directory".into()),
            job_ids: vec!["j1".into(), "j2".into()],
            bytes: 0,
            duration: Some(1.5),
        };
        let batch = outcomes_to_batch(&[outcome], &transfers).unwrap();
        assert_eq!(batch.num_rows(), 1);
        assert_eq!(batch.schema(), outcome_schema());
        let ids = batch
            .column_by_name("fts_job_ids")
            .unwrap()
            .as_list::<i32>()
            .value(0);
        assert_eq!(ids.as_string::<i32>().value(1), "j2");
        assert_eq!(
            batch
                .column_by_name("failure")
                .unwrap()
                .as_string::<i32>()
                .value(0),
            "final"
        );
    }
}
