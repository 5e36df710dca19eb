//! Reading a file list: the columns the rules need, checked, and viewed without copying.

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_buffer::{BooleanBuffer, ScalarBuffer};
use arrow_schema::{DataType, Schema, SchemaRef};

use super::error::SplitError;

/// The column naming each file; only checked, never copied: the output refers to files by row.
pub const LFN: &str = "lfn";
/// The column holding each file's size in bytes.
pub const SIZE: &str = "size";
/// The optional column holding each file's number of events.
pub const NEVENTS: &str = "nevents";

/// A file list as Arrow hands it over: a schema and the record batches of a table or stream.
#[derive(Debug, Clone)]
pub struct FileTable {
    /// The columns; it must hold `lfn` and `size`, and may hold `nevents` and any others.
    pub schema: SchemaRef,
    /// The rows in order; the file index of a row counts across batches.
    pub batches: Vec<RecordBatch>,
}

impl From<RecordBatch> for FileTable {
    fn from(batch: RecordBatch) -> Self {
        Self {
            schema: batch.schema(),
            batches: vec![batch],
        }
    }
}

impl FileTable {
    /// The number of files.
    pub fn len(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }

    /// Whether the list holds no file.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One record batch's columns, as the splitter reads them.
pub(crate) struct Chunk {
    /// Sizes in bytes, non-negative.
    pub sizes: ScalarBuffer<u64>,
    /// Event counts, when the list has them and they are complete.
    pub events: Option<ScalarBuffer<u64>>,
    /// Set on the rows where some boundary column differs from the row before.
    pub group_starts: Option<BooleanBuffer>,
}

/// What the splitter reads of a file list.
pub(crate) struct Columns {
    pub chunks: Vec<Chunk>,
    pub len: usize,
    /// Whether every file's event count is known.
    pub events: bool,
}

/// How a file list is read: what its errors call it and which columns must be there.
pub(crate) struct Reading<'a> {
    /// `primary file list` or `secondary dataset N`, for error messages.
    pub dataset: String,
    /// The rule that makes `nevents` required, if any.
    pub events_required_by: Option<&'static str>,
    pub boundaries: &'a [String],
}

impl Reading<'_> {
    /// Checks the table and returns views of its columns; no value is copied.
    pub fn read(&self, table: &FileTable) -> Result<Columns, SplitError> {
        let schema = table.schema.as_ref();
        let lfn = self.index(schema, LFN)?;
        let size = self.index(schema, SIZE)?;
        let nevents = schema.index_of(NEVENTS).ok();
        let boundaries = self
            .boundaries
            .iter()
            .map(|name| self.index(schema, name))
            .collect::<Result<Vec<_>, _>>()?;
        if let (Some(rule), None) = (self.events_required_by, nevents) {
            return Err(SplitError::MissingEvents {
                rule,
                reason: format!(
                    "the {} has no `{NEVENTS}` column; add one or set n_events_per_file",
                    self.dataset
                ),
            });
        }

        let len = table.len();
        if u32::try_from(len).is_err() {
            return Err(SplitError::Overflow(format!(
                "{len} files in the {}; file indexes are 32-bit",
                self.dataset
            )));
        }

        let mut chunks = Vec::with_capacity(table.batches.len());
        let mut offset = 0;
        let mut previous: Option<&RecordBatch> = None;
        for batch in &table.batches {
            if batch.num_rows() == 0 {
                continue;
            }
            self.check_strings(batch.column(lfn), LFN, offset)?;
            let sizes = self.counts(batch.column(size), SIZE, offset)?;
            let events = match nevents {
                Some(index) => self.events(batch.column(index), offset)?,
                None => None,
            };
            let group_starts = self.group_starts(batch, previous, &boundaries, offset)?;
            chunks.push(Chunk {
                sizes,
                events,
                group_starts,
            });
            offset += batch.num_rows();
            previous = Some(batch);
        }

        // Event counts are used only if every chunk has them; a partial column is no column.
        let events = nevents.is_some() && chunks.iter().all(|chunk| chunk.events.is_some());
        if !events {
            for chunk in &mut chunks {
                chunk.events = None;
            }
        }
        Ok(Columns {
            chunks,
            len,
            events,
        })
    }

    fn index(&self, schema: &Schema, column: &str) -> Result<usize, SplitError> {
        schema.index_of(column).map_err(|_| {
            let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            SplitError::MissingColumn {
                dataset: self.dataset.clone(),
                column: column.to_owned(),
                hint: format!(" (its columns: {})", names.join(", ")),
            }
        })
    }

    fn check_strings(
        &self,
        array: &ArrayRef,
        column: &str,
        offset: usize,
    ) -> Result<(), SplitError> {
        match array.data_type() {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
                self.check_no_nulls(array, column, offset, "")
            }
            other => Err(self.type_error(column, other, "a string (utf8, large_utf8, utf8_view)")),
        }
    }

    fn check_no_nulls(
        &self,
        array: &ArrayRef,
        column: &str,
        offset: usize,
        hint: &'static str,
    ) -> Result<(), SplitError> {
        match array
            .logical_nulls()
            .and_then(|nulls| nulls.iter().position(|valid| !valid))
        {
            None => Ok(()),
            Some(row) => Err(SplitError::Null {
                dataset: self.dataset.clone(),
                column: column.to_owned(),
                row: offset + row,
                hint,
            }),
        }
    }

    /// Views an int64 or uint64 column as unsigned without copying, refusing negatives.
    fn counts(
        &self,
        array: &ArrayRef,
        column: &str,
        offset: usize,
    ) -> Result<ScalarBuffer<u64>, SplitError> {
        self.check_no_nulls(array, column, offset, "")?;
        match array.data_type() {
            DataType::UInt64 => Ok(array.as_primitive::<UInt64Type>().values().clone()),
            DataType::Int64 => {
                let values = array.as_primitive::<Int64Type>().values();
                if let Some(row) = values.iter().position(|value| *value < 0) {
                    return Err(SplitError::Negative {
                        dataset: self.dataset.clone(),
                        column: column.to_owned(),
                        row: offset + row,
                        value: values[row],
                    });
                }
                // Non-negative i64 and u64 share their bit patterns: reinterpret the buffer.
                Ok(ScalarBuffer::new(values.inner().clone(), 0, values.len()))
            }
            other => Err(self.type_error(column, other, "int64 or uint64")),
        }
    }

    /// Event counts; a null is an error only when a rule needs every count.
    fn events(
        &self,
        array: &ArrayRef,
        offset: usize,
    ) -> Result<Option<ScalarBuffer<u64>>, SplitError> {
        if array.null_count() > 0 && self.events_required_by.is_none() {
            return Ok(None);
        }
        if array.null_count() > 0 {
            self.check_no_nulls(
                array,
                NEVENTS,
                offset,
                "; set n_events_per_file to give all files one count",
            )?;
        }
        self.counts(array, NEVENTS, offset).map(Some)
    }

    /// Marks each row whose boundary columns differ from the row before, across batches too.
    fn group_starts(
        &self,
        batch: &RecordBatch,
        previous: Option<&RecordBatch>,
        boundaries: &[usize],
        offset: usize,
    ) -> Result<Option<BooleanBuffer>, SplitError> {
        let mut starts: Option<BooleanBuffer> = None;
        for &index in boundaries {
            let column = batch.schema().field(index).name().clone();
            let array = batch.column(index);
            self.check_no_nulls(array, &column, offset, "")?;
            let edge = previous.is_some_and(|previous| {
                let before = previous.column(index);
                before.slice(before.len() - 1, 1).to_data() != array.slice(0, 1).to_data()
            });
            let changes = changes(array.as_ref(), edge)
                .ok_or_else(|| self.type_error(&column, array.data_type(), BOUNDARY_TYPES))?;
            starts = Some(match starts {
                None => changes,
                Some(starts) => &starts | &changes,
            });
        }
        Ok(starts)
    }

    fn type_error(&self, column: &str, found: &DataType, expected: &'static str) -> SplitError {
        SplitError::ColumnType {
            dataset: self.dataset.clone(),
            column: column.to_owned(),
            found: found.to_string(),
            expected,
        }
    }
}

const BOUNDARY_TYPES: &str = "an integer, boolean or string type";

/// Rows that differ from the row before; `edge` is the answer for the first row.
fn changes(array: &dyn Array, edge: bool) -> Option<BooleanBuffer> {
    macro_rules! by_value {
        ($values:expr) => {{
            let values = $values;
            BooleanBuffer::collect_bool(values.len(), |i| {
                if i == 0 {
                    edge
                } else {
                    values[i] != values[i - 1]
                }
            })
        }};
    }
    macro_rules! by_accessor {
        ($array:expr) => {{
            let array = $array;
            BooleanBuffer::collect_bool(array.len(), |i| {
                if i == 0 {
                    edge
                } else {
                    array.value(i) != array.value(i - 1)
                }
            })
        }};
    }
    Some(match array.data_type() {
        DataType::Int8 => by_value!(array.as_primitive::<Int8Type>().values()),
        DataType::Int16 => by_value!(array.as_primitive::<Int16Type>().values()),
        DataType::Int32 => by_value!(array.as_primitive::<Int32Type>().values()),
        DataType::Int64 => by_value!(array.as_primitive::<Int64Type>().values()),
        DataType::UInt8 => by_value!(array.as_primitive::<UInt8Type>().values()),
        DataType::UInt16 => by_value!(array.as_primitive::<UInt16Type>().values()),
        DataType::UInt32 => by_value!(array.as_primitive::<UInt32Type>().values()),
        DataType::UInt64 => by_value!(array.as_primitive::<UInt64Type>().values()),
        DataType::Boolean => by_accessor!(array.as_boolean()),
        DataType::Utf8 => by_accessor!(array.as_string::<i32>()),
        DataType::LargeUtf8 => by_accessor!(array.as_string::<i64>()),
        DataType::Utf8View => by_accessor!(array.as_string_view()),
        _ => return None,
    })
}

/// Builds a single-batch table from columns, for tests.
#[cfg(test)]
pub(crate) fn file_table(columns: Vec<(&str, ArrayRef)>) -> FileTable {
    let batch = RecordBatch::try_from_iter(columns).expect("columns of equal length");
    FileTable::from(batch)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Int64Array, StringArray, UInt32Array};

    use super::*;

    fn reading(boundaries: &[String]) -> Reading<'_> {
        Reading {
            dataset: "primary file list".into(),
            events_required_by: None,
            boundaries,
        }
    }

    #[test]
    fn boundary_changes_are_found_across_batches() {
        let schema = Arc::new(Schema::new(vec![
            arrow_schema::Field::new(LFN, DataType::Utf8, false),
            arrow_schema::Field::new(SIZE, DataType::Int64, false),
            arrow_schema::Field::new("run", DataType::UInt32, false),
        ]));
        let batch = |runs: Vec<u32>| {
            let n = runs.len();
            RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(StringArray::from(vec!["f"; n])),
                    Arc::new(Int64Array::from(vec![1; n])),
                    Arc::new(UInt32Array::from(runs)),
                ],
            )
            .unwrap()
        };
        let table = FileTable {
            schema: schema.clone(),
            batches: vec![batch(vec![7, 7, 8]), batch(vec![8, 9])],
        };
        let columns = reading(&["run".to_owned()]).read(&table).unwrap();
        let starts: Vec<bool> = columns
            .chunks
            .iter()
            .flat_map(|chunk| chunk.group_starts.as_ref().unwrap().iter())
            .collect();
        assert_eq!(starts, [false, false, true, false, true]);
    }

    #[test]
    fn negative_size_and_missing_column_are_reported_with_their_place() {
        let table = file_table(vec![
            (
                "lfn",
                Arc::new(StringArray::from(vec!["a", "b"])) as ArrayRef,
            ),
            ("size", Arc::new(Int64Array::from(vec![3, -1]))),
        ]);
        let error = reading(&[]).read(&table).err().unwrap();
        assert_eq!(
            error.to_string(),
            "column `size` of the primary file list is negative (-1) at row 1"
        );
        let error = reading(&["run".to_owned()]).read(&table).err().unwrap();
        assert!(error.to_string().contains("has no column `run`"), "{error}");
    }
}
