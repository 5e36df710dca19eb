//! File listings as Arrow record batches, and files to register read from one.

use std::sync::{Arc, LazyLock};

use arrow_array::builder::{StringBuilder, UInt64Builder};
use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int64Type, UInt32Type, UInt64Type};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};

use super::{Did, FileSpec, RucioError};

/// One file, or one replica of a file, as listed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FileRow {
    /// Its scope.
    pub scope: String,
    /// Its name.
    pub name: String,
    /// Its size.
    pub bytes: Option<u64>,
    /// Its adler32.
    pub adler32: Option<String>,
    /// Its events, when known.
    pub events: Option<u64>,
    /// The RSE of this replica.
    pub rse: Option<String>,
    /// The replica's PFN.
    pub pfn: Option<String>,
    /// The replica's state: AVAILABLE, UNAVAILABLE, COPYING, BEING_DELETED, BAD, ...
    pub state: Option<String>,
}

static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        Field::new("scope", DataType::Utf8, false),
        Field::new("name", DataType::Utf8, false),
        Field::new("bytes", DataType::UInt64, true),
        Field::new("adler32", DataType::Utf8, true),
        Field::new("events", DataType::UInt64, true),
        Field::new("rse", DataType::Utf8, true),
        Field::new("pfn", DataType::Utf8, true),
        Field::new("state", DataType::Utf8, true),
    ]))
});

/// The schema of every file listing.
pub fn file_schema() -> SchemaRef {
    SCHEMA.clone()
}

impl FileRow {
    /// The rows as one record batch of [`file_schema`].
    pub fn to_batch(rows: &[FileRow]) -> RecordBatch {
        let n = rows.len();
        let strings = || StringBuilder::with_capacity(n, n * 16);
        let (mut scope, mut name, mut adler32) = (strings(), strings(), strings());
        let (mut rse, mut pfn, mut state) = (strings(), strings(), strings());
        let mut bytes = UInt64Builder::with_capacity(n);
        let mut events = UInt64Builder::with_capacity(n);
        for row in rows {
            scope.append_value(&row.scope);
            name.append_value(&row.name);
            bytes.append_option(row.bytes);
            adler32.append_option(row.adler32.as_deref());
            events.append_option(row.events);
            rse.append_option(row.rse.as_deref());
            pfn.append_option(row.pfn.as_deref());
            state.append_option(row.state.as_deref());
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(scope.finish()),
            Arc::new(name.finish()),
            Arc::new(bytes.finish()),
            Arc::new(adler32.finish()),
            Arc::new(events.finish()),
            Arc::new(rse.finish()),
            Arc::new(pfn.finish()),
            Arc::new(state.finish()),
        ];
        RecordBatch::try_new(file_schema(), columns).expect("columns follow the schema")
    }
}

/// Files to register from a batch with columns `name`, `bytes`, `adler32`, and optionally
/// `scope` (else `default_scope`), `md5`, `pfn`, `events`.
pub fn files_from_batch(
    batch: &RecordBatch,
    default_scope: Option<&str>,
) -> Result<Vec<FileSpec>, RucioError> {
    let column = |name: &str| batch.column_by_name(name);
    let required = |name: &str| {
        column(name)
            .ok_or_else(|| RucioError::Invalid(format!("the file table has no {name:?} column")))
    };
    let names = strings(required("name")?, "name")?;
    let sizes = integers(required("bytes")?, "bytes")?;
    let checksums = strings(required("adler32")?, "adler32")?;
    let scopes = column("scope").map(|c| strings(c, "scope")).transpose()?;
    let md5s = column("md5").map(|c| strings(c, "md5")).transpose()?;
    let pfns = column("pfn").map(|c| strings(c, "pfn")).transpose()?;
    let events = column("events")
        .map(|c| integers(c, "events"))
        .transpose()?;

    let mut files = Vec::with_capacity(batch.num_rows());
    for row in 0..batch.num_rows() {
        let at = |what: &str| format!("row {row} of the file table has no {what}");
        let scope = match (&scopes, default_scope) {
            (Some(scopes), _) if scopes[row].is_some() => scopes[row].clone().unwrap_or_default(),
            (_, Some(scope)) => scope.to_owned(),
            _ => {
                return Err(RucioError::Invalid(at(
                    "scope, and no default scope was given",
                )))
            }
        };
        let name = names[row]
            .clone()
            .ok_or_else(|| RucioError::Invalid(at("name")))?;
        files.push(FileSpec {
            did: Did::new(scope, name)?,
            bytes: sizes[row].ok_or_else(|| RucioError::Invalid(at("bytes")))?,
            adler32: checksums[row]
                .clone()
                .ok_or_else(|| RucioError::Invalid(at("adler32")))?,
            md5: md5s.as_ref().and_then(|c| c[row].clone()),
            pfn: pfns.as_ref().and_then(|c| c[row].clone()),
            events: events.as_ref().and_then(|c| c[row]),
        });
    }
    Ok(files)
}

fn strings(array: &ArrayRef, name: &str) -> Result<Vec<Option<String>>, RucioError> {
    let values: Vec<Option<String>> = match array.data_type() {
        DataType::Utf8 => array
            .as_string::<i32>()
            .iter()
            .map(|v| v.map(str::to_owned))
            .collect(),
        DataType::LargeUtf8 => array
            .as_string::<i64>()
            .iter()
            .map(|v| v.map(str::to_owned))
            .collect(),
        DataType::Utf8View => array
            .as_string_view()
            .iter()
            .map(|v| v.map(str::to_owned))
            .collect(),
        other => {
            return Err(RucioError::Invalid(format!(
                "column {name:?} must hold strings, not {other}"
            )))
        }
    };
    Ok(values)
}

fn integers(array: &ArrayRef, name: &str) -> Result<Vec<Option<u64>>, RucioError> {
    let negative = || RucioError::Invalid(format!("column {name:?} holds a negative value"));
    let signed = |values: Vec<Option<i64>>| {
        values
            .into_iter()
            .map(|v| {
                v.map(|v| u64::try_from(v).map_err(|_| negative()))
                    .transpose()
            })
            .collect::<Result<Vec<_>, _>>()
    };
    match array.data_type() {
        DataType::UInt64 => Ok(array.as_primitive::<UInt64Type>().iter().collect()),
        DataType::UInt32 => Ok(array
            .as_primitive::<UInt32Type>()
            .iter()
            .map(|v| v.map(u64::from))
            .collect()),
        DataType::Int64 => signed(array.as_primitive::<Int64Type>().iter().collect()),
        DataType::Int32 => signed(
            array
                .as_primitive::<Int32Type>()
                .iter()
                .map(|v| v.map(i64::from))
                .collect(),
        ),
        other => Err(RucioError::Invalid(format!(
            "column {name:?} must hold integers, not {other}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use arrow_array::{Int64Array, StringArray};

    use super::*;

    #[test]
    fn rows_become_a_batch_of_the_file_schema() {
        let rows = vec![FileRow {
            scope: "bmn.run8".into(),
            name: "f1".into(),
            bytes: Some(10),
            adler32: Some("0000000a".into()),
            rse: Some("LHEP_DISK".into()),
            ..FileRow::default()
        }];
        let batch = FileRow::to_batch(&rows);
        assert_eq!(batch.num_rows(), 1);
        assert_eq!(batch.schema(), file_schema());
        assert_eq!(batch.column(4).null_count(), 1, "events unknown");
    }

    #[test]
    fn files_are_read_from_a_batch_with_a_default_scope() {
        let batch = RecordBatch::try_from_iter([
            (
                "name",
                Arc::new(StringArray::from(vec!["a", "b"])) as ArrayRef,
            ),
            ("bytes", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef),
            (
                "adler32",
                Arc::new(StringArray::from(vec!["00000002", "00000003"])) as ArrayRef,
            ),
        ])
        .unwrap();
        let files = files_from_batch(&batch, Some("bmn.run8")).unwrap();
        assert_eq!(files[1].did.to_string(), "bmn.run8:b");
        assert_eq!(files[1].bytes, 2);
        assert!(files_from_batch(&batch, None).is_err());
    }

    #[test]
    fn negative_sizes_are_refused() {
        let batch = RecordBatch::try_from_iter([
            ("name", Arc::new(StringArray::from(vec!["a"])) as ArrayRef),
            ("bytes", Arc::new(Int64Array::from(vec![-1])) as ArrayRef),
            (
                "adler32",
                Arc::new(StringArray::from(vec!["00000002"])) as ArrayRef,
            ),
        ])
        .unwrap();
        let error = files_from_batch(&batch, Some("s")).unwrap_err();
        assert!(error.to_string().contains("negative"), "{error}");
    }
}
