//! Cutting a task into chunks with bmnflow-core's splitter: Monte Carlo events, or the
//! input dataset's files by the task's split rules.

use std::sync::Arc;

use arrow_array::{Array, ArrayRef, RecordBatch, StringArray, UInt32Array, UInt64Array};
use arrow_schema::{DataType, Field, Schema};
use bmnflow_core::split::{self, FileTable, MonteCarlo, Rules, LFN, NEVENTS, SIZE};

use super::catalog::CatalogFile;
use super::store::{Chunk, ChunkState, InputFile};

/// The chunks of a Monte Carlo task: `total` events in jobs of `per_job`.
pub fn monte_carlo(total: u64, per_job: u64, max_attempts: u32) -> Result<Vec<Chunk>, String> {
    let mc = MonteCarlo {
        n_events: i64::try_from(total).map_err(|_| "nEvents is too large")?,
        n_events_per_job: i64::try_from(per_job).map_err(|_| "nEventsPerJob is too large")?,
        ..MonteCarlo::default()
    };
    let jobs = split::monte_carlo(&mc).map_err(|e| format!("cannot split the task: {e}"))?;
    let first = column(&jobs, "first_event")?;
    let events = column(&jobs, "n_events")?;
    let seeds = column(&jobs, "seed")?;
    Ok((0..jobs.num_rows())
        .map(|row| Chunk {
            serial: row as u64 + 1,
            inputs: Vec::new(),
            first_event: first.value(row),
            events: events.value(row),
            skip_events: 0,
            seed: seeds.value(row),
            attempts: 0,
            max_attempts,
            state: ChunkState::Ready,
        })
        .collect())
}

/// The chunks of a task reading `files` (of `dataset`) under `rules`.
pub fn input_files(
    dataset: &str,
    files: &[CatalogFile],
    rules: &Rules,
    max_attempts: u32,
) -> Result<Vec<Chunk>, String> {
    let with_events = files.iter().all(|f| f.events.is_some());
    let mut fields = vec![
        Field::new(LFN, DataType::Utf8, false),
        Field::new(SIZE, DataType::UInt64, false),
    ];
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            files.iter().map(|f| f.name.as_str()),
        )),
        Arc::new(UInt64Array::from_iter_values(files.iter().map(|f| f.bytes))),
    ];
    if with_events {
        fields.push(Field::new(NEVENTS, DataType::UInt64, false));
        columns.push(Arc::new(UInt64Array::from_iter_values(
            files.iter().map(|f| f.events.unwrap_or(0)),
        )));
    }
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
        .map_err(|e| format!("cannot build the file list: {e}"))?;
    let split = split::split(&FileTable::from(batch), &[], rules)
        .map_err(|e| format!("cannot split the task: {e}"))?;

    let pieces = &split.pieces;
    let job = pieces
        .column_by_name("job")
        .and_then(|c| c.as_any().downcast_ref::<UInt32Array>())
        .ok_or("the split has no job column")?;
    let file = pieces
        .column_by_name("file")
        .and_then(|c| c.as_any().downcast_ref::<UInt32Array>())
        .ok_or("the split has no file column")?;
    let first = column(pieces, "first_event")?;
    let events = column(pieces, "n_events")?;

    let mut chunks: Vec<Chunk> = Vec::new();
    for row in 0..pieces.num_rows() {
        let index = job.value(row) as usize;
        if chunks.len() <= index {
            chunks.push(Chunk {
                serial: index as u64 + 1,
                inputs: Vec::new(),
                first_event: if first.is_null(row) {
                    1
                } else {
                    first.value(row) + 1
                },
                events: 0,
                skip_events: if first.is_null(row) {
                    0
                } else {
                    first.value(row)
                },
                seed: index as u64 + 1,
                attempts: 0,
                max_attempts,
                state: ChunkState::Ready,
            });
        }
        let source = &files[file.value(row) as usize];
        let chunk = &mut chunks[index];
        chunk.events += if events.is_null(row) {
            0
        } else {
            events.value(row)
        };
        if !chunk.inputs.iter().any(|f| f.lfn == source.name) {
            chunk.inputs.push(InputFile {
                scope: source.scope.clone(),
                lfn: source.name.clone(),
                dataset: dataset.to_owned(),
                bytes: source.bytes,
                adler32: source.adler32.clone(),
                path: source.path.clone(),
            });
        }
    }
    Ok(chunks)
}

fn column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a UInt64Array, String> {
    batch
        .column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<UInt64Array>())
        .ok_or_else(|| format!("the split has no {name} column"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, events: u64) -> CatalogFile {
        CatalogFile {
            scope: "bmn.run8".into(),
            name: name.into(),
            bytes: 1000,
            adler32: None,
            events: Some(events),
            path: None,
        }
    }

    #[test]
    fn monte_carlo_events_are_cut_with_a_short_last_job() {
        let chunks = monte_carlo(250, 100, 3).unwrap();
        let ranges: Vec<(u64, u64, u64)> = chunks
            .iter()
            .map(|c| (c.first_event, c.events, c.seed))
            .collect();
        assert_eq!(ranges, vec![(1, 100, 1), (101, 100, 2), (201, 50, 3)]);
    }

    #[test]
    fn input_files_are_grouped_by_the_split_rules() {
        let files: Vec<CatalogFile> = (0..5).map(|i| file(&format!("raw.{i}"), 10)).collect();
        let rules = Rules {
            n_files_per_job: Some(2),
            ..Rules::default()
        };
        let chunks = input_files("bmn.run8:raw", &files, &rules, 3).unwrap();
        let names: Vec<Vec<&str>> = chunks
            .iter()
            .map(|c| c.inputs.iter().map(|f| f.lfn.as_str()).collect())
            .collect();
        assert_eq!(
            names,
            vec![
                vec!["raw.0", "raw.1"],
                vec!["raw.2", "raw.3"],
                vec!["raw.4"]
            ]
        );
        assert_eq!(chunks[0].events, 20);
    }
}
