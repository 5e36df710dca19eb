//! Tests of the whole splitter: JEDI's observed splits, errors, and properties over random
//! file lists (every file and event once, in order; no job over a limit; jobs as full as the
//! limits allow).

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{UInt16Type, UInt32Type, UInt64Type};
use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray, UInt32Array, UInt64Array};
use arrow_schema::{DataType, Field, Schema};
use proptest::prelude::*;

use super::*;

/// A file list as plain vectors, turned into a table cut into `batches` record batches.
#[derive(Debug, Clone)]
struct Files {
    sizes: Vec<i64>,
    events: Option<Vec<u64>>,
    runs: Vec<u32>,
}

impl Files {
    fn table(&self, batches: usize) -> FileTable {
        let mut fields = vec![
            Field::new("lfn", DataType::Utf8, false),
            Field::new("size", DataType::Int64, false),
            Field::new("run", DataType::UInt32, false),
        ];
        if self.events.is_some() {
            fields.push(Field::new("nevents", DataType::UInt64, false));
        }
        let schema = Arc::new(Schema::new(fields));
        let n = self.sizes.len();
        let step = n.div_ceil(batches.max(1)).max(1);
        let batches = (0..n)
            .step_by(step)
            .map(|start| {
                let end = (start + step).min(n);
                let lfns: Vec<String> = (start..end)
                    .map(|i| format!("bmn.run8:f{i}.root"))
                    .collect();
                let mut columns: Vec<ArrayRef> = vec![
                    Arc::new(StringArray::from(lfns)),
                    Arc::new(Int64Array::from(self.sizes[start..end].to_vec())),
                    Arc::new(UInt32Array::from(self.runs[start..end].to_vec())),
                ];
                if let Some(events) = &self.events {
                    columns.push(Arc::new(UInt64Array::from(events[start..end].to_vec())));
                }
                RecordBatch::try_new(schema.clone(), columns).unwrap()
            })
            .collect();
        FileTable { schema, batches }
    }
}

fn uniform(n: usize, size: i64) -> Files {
    Files {
        sizes: vec![size; n],
        events: None,
        runs: vec![1; n],
    }
}

fn u32s(batch: &RecordBatch, name: &str) -> Vec<u32> {
    batch
        .column_by_name(name)
        .unwrap()
        .as_primitive::<UInt32Type>()
        .values()
        .to_vec()
}

fn u64s(batch: &RecordBatch, name: &str) -> Vec<u64> {
    batch
        .column_by_name(name)
        .unwrap()
        .as_primitive::<UInt64Type>()
        .values()
        .to_vec()
}

fn job_sizes(split: &Split) -> Vec<u32> {
    u32s(&split.jobs, "n_files")
}

#[test]
fn jedi_observed_splits_of_23_files_of_3_gb() {
    let files = uniform(23, 3_000_000_000).table(1);
    let by = |rules: Rules| job_sizes(&split(&files, &[], &rules).unwrap());

    let nf = Rules {
        n_files_per_job: Some(5),
        ..Rules::default()
    };
    assert_eq!(by(nf), [5, 5, 5, 5, 3]);
    let ng = Rules {
        n_gb_per_job: Some(10.0),
        ..Rules::default()
    };
    assert_eq!(by(ng), [3, 3, 3, 3, 3, 3, 3, 2]);
    let mf = Rules {
        max_files_per_job: Some(4),
        ..Rules::default()
    };
    assert_eq!(by(mf), [4, 4, 4, 4, 4, 3]);
    // Defaults: 20 GiB less the 1500 MiB output allowance holds six files of 3 GB.
    assert_eq!(by(Rules::default()), [6, 6, 6, 5]);
}

#[test]
fn events_per_job_spans_file_ends() {
    let files = Files {
        sizes: vec![10, 20, 30],
        events: Some(vec![250, 130, 20]),
        runs: vec![1, 1, 1],
    };
    let rules = Rules {
        n_events_per_job: Some(100),
        ..Rules::default()
    };
    let split = split(&files.table(2), &[], &rules).unwrap();
    assert_eq!(u32s(&split.pieces, "job"), [0, 1, 2, 2, 3, 3]);
    assert_eq!(u32s(&split.pieces, "file"), [0, 0, 0, 1, 1, 2]);
    assert_eq!(u64s(&split.pieces, "first_event"), [0, 100, 200, 0, 50, 0]);
    assert_eq!(u64s(&split.jobs, "n_events"), [100, 100, 100, 100]);
}

#[test]
fn a_job_never_spans_a_boundary() {
    let files = Files {
        sizes: vec![1; 7],
        events: None,
        runs: vec![5, 5, 5, 6, 6, 7, 7],
    };
    let rules = Rules {
        n_files_per_job: Some(2),
        boundaries: vec!["run".into()],
        ..Rules::default()
    };
    let split = split(&files.table(3), &[], &rules).unwrap();
    assert_eq!(job_sizes(&split), [2, 1, 2, 2]);
}

#[test]
fn secondaries_follow_their_ratio_and_repeat() {
    let primary = uniform(5, 1).table(1);
    let secondary = |n: usize, rules: SecondaryRules| Secondary {
        files: uniform(n, 7).table(1),
        rules,
    };
    let secondaries = [
        secondary(
            4,
            SecondaryRules {
                ratio: Some(0.5),
                nosplit: false,
                repeat: true,
            },
        ),
        secondary(
            2,
            SecondaryRules {
                ratio: None,
                nosplit: true,
                repeat: false,
            },
        ),
    ];
    let rules = Rules {
        n_files_per_job: Some(2),
        ..Rules::default()
    };
    let split = split(&primary, &secondaries, &rules).unwrap();

    let datasets = split
        .pieces
        .column(1)
        .as_primitive::<UInt16Type>()
        .values()
        .to_vec();
    let files = u32s(&split.pieces, "file");
    let of = |dataset: u16| -> Vec<(u32, u32)> {
        let jobs = u32s(&split.pieces, "job");
        (0..datasets.len())
            .filter(|&i| datasets[i] == dataset)
            .map(|i| (jobs[i], files[i]))
            .collect()
    };
    // One file of dataset 1 per two primary files; after file 3 it starts over.
    assert_eq!(of(1), [(0, 0), (1, 1), (2, 2)]);
    assert_eq!(of(2), [(0, 0), (0, 1), (1, 0), (1, 1), (2, 0), (2, 1)]);
    assert_eq!(u32s(&split.jobs, "n_secondary_files"), [3, 3, 3]);
    assert_eq!(u64s(&split.jobs, "bytes"), [2 + 21, 2 + 21, 1 + 21]);
}

#[test]
fn bad_input_is_refused_with_its_reason() {
    let files = Files {
        sizes: vec![1, 2],
        events: None,
        runs: vec![1, 1],
    }
    .table(1);
    let needs_events = Rules {
        n_events_per_job: Some(10),
        ..Rules::default()
    };
    let error = split(&files, &[], &needs_events).unwrap_err();
    assert!(error.to_string().contains("no `nevents` column"), "{error}");
    let with_per_file = Rules {
        n_events_per_file: Some(30),
        ..needs_events
    };
    assert_eq!(
        split(&files, &[], &with_per_file).unwrap().jobs.num_rows(),
        6
    );

    let unknown = Rules {
        boundaries: vec!["lumiblock".into()],
        ..Rules::default()
    };
    let error = split(&files, &[], &unknown).unwrap_err();
    assert!(
        error.to_string().contains("no column `lumiblock`"),
        "{error}"
    );

    let null_size = RecordBatch::try_from_iter(vec![
        (
            "lfn",
            Arc::new(StringArray::from(vec!["a", "b"])) as ArrayRef,
        ),
        ("size", Arc::new(Int64Array::from(vec![Some(1), None]))),
    ])
    .unwrap();
    let error = split(&FileTable::from(null_size), &[], &Rules::default()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "column `size` of the primary file list is null at row 1"
    );

    let huge = Files {
        sizes: vec![i64::MAX, i64::MAX, i64::MAX],
        events: None,
        runs: vec![1; 3],
    };
    let one_job = Rules {
        n_files_per_job: Some(3),
        ..Rules::default()
    };
    let error = split(&huge.table(1), &[], &one_job).unwrap_err();
    assert!(matches!(error, SplitError::Overflow(_)), "{error}");
}

#[test]
fn an_empty_file_list_gives_no_job() {
    let split = split(&uniform(0, 1).table(1), &[], &Rules::default()).unwrap();
    assert_eq!((split.jobs.num_rows(), split.pieces.num_rows()), (0, 0));
}

fn files_strategy() -> impl Strategy<Value = Files> {
    (0usize..120).prop_flat_map(|n| {
        (
            prop::collection::vec(0i64..6 * GIB as i64, n),
            prop::collection::vec(0u64..400, n),
            prop::collection::vec(prop::bool::weighted(0.15), n),
        )
            .prop_map(|(sizes, events, changes)| {
                let mut run = 0;
                let runs = changes
                    .iter()
                    .map(|change| {
                        run += u32::from(*change);
                        run
                    })
                    .collect();
                Files {
                    sizes,
                    events: Some(events),
                    runs,
                }
            })
    })
}

fn rules_strategy() -> impl Strategy<Value = Rules> {
    let limits = prop_oneof![
        (1i64..12).prop_map(|n| Rules {
            n_files_per_job: Some(n),
            ..Rules::default()
        }),
        (1i64..25).prop_map(|gb| Rules {
            n_gb_per_job: Some(gb as f64),
            ..Rules::default()
        }),
        (1i64..700).prop_map(|n| Rules {
            n_events_per_job: Some(n),
            ..Rules::default()
        }),
        (1i64..9).prop_map(|n| Rules {
            max_files_per_job: Some(n),
            ..Rules::default()
        }),
        (1i64..300, 1i64..5).prop_map(|(n, gb)| Rules {
            n_events_per_job: Some(n),
            n_gb_per_job: Some(gb as f64),
            max_files_per_job: Some(6),
            ..Rules::default()
        }),
        Just(Rules::default()),
    ];
    (limits, any::<bool>()).prop_map(|(mut rules, boundaries)| {
        if boundaries {
            rules.boundaries = vec!["run".into()];
        }
        rules
    })
}

/// Checks a split against its input; `Err` says which promise it broke.
fn check(files: &Files, rules: &Rules, split: &Split) -> Result<(), String> {
    let limits = rules.limits().unwrap();
    let job = u32s(&split.pieces, "job");
    let file = u32s(&split.pieces, "file");
    let first = u64s(&split.pieces, "first_event");
    let count = u64s(&split.pieces, "n_events");
    let events = files.events.as_ref().unwrap();
    let events_mode = limits.events_per_job.is_some();

    // Every file, and every event of it, exactly once and in order.
    let (mut expect_file, mut expect_event) = (0usize, 0u64);
    for i in 0..job.len() {
        if file[i] as usize != expect_file || first[i] != expect_event {
            return Err(format!("row {i}: file {} event {}", file[i], first[i]));
        }
        let n = events[expect_file];
        if events_mode {
            expect_event += count[i];
            if expect_event > n || (count[i] == 0 && n > 0) {
                return Err(format!("row {i}: piece past the end of file {expect_file}"));
            }
        } else if count[i] != n {
            return Err(format!("row {i}: {} events, file has {n}", count[i]));
        }
        if expect_event == n || !events_mode {
            expect_file += 1;
            expect_event = 0;
        }
    }
    if expect_file != files.sizes.len() {
        return Err(format!(
            "{} of {} files assigned",
            expect_file,
            files.sizes.len()
        ));
    }

    // Jobs numbered from 0 without gaps, and the summary agrees with the pieces.
    let n_jobs = split.jobs.num_rows();
    let n_files = u32s(&split.jobs, "n_files");
    let bytes = u64s(&split.jobs, "bytes");
    let job_events = u64s(&split.jobs, "n_events");
    let first_file = u32s(&split.jobs, "first_file");
    let mut start = 0;
    for j in 0..n_jobs {
        let end = start + n_files[j] as usize;
        if n_files[j] == 0 || job[start..end].iter().any(|&k| k as usize != j) {
            return Err(format!("job {j} rows {start}..{end}"));
        }
        let sum: u64 = (start..end)
            .map(|i| files.sizes[file[i] as usize] as u64)
            .sum();
        let piece_events: u64 = count[start..end].iter().sum();
        if sum != bytes[j] || piece_events != job_events[j] || first_file[j] != file[start] {
            return Err(format!("job {j}: summary disagrees with pieces"));
        }

        // No job over a limit; a lone piece may be, as it cannot be cut further.
        let lone = n_files[j] == 1;
        let breaks = limits
            .files_per_job
            .is_some_and(|n| u64::from(n_files[j]) > n)
            || u64::from(n_files[j]) > limits.max_files
            || limits.events_per_job.is_some_and(|n| job_events[j] > n)
            || (!lone && limits.max_input_bytes.is_some_and(|max| bytes[j] > max));
        let runs: Vec<u32> = (start..end).map(|i| files.runs[file[i] as usize]).collect();
        let spans = !rules.boundaries.is_empty() && runs.iter().any(|&run| run != runs[0]);
        if breaks || spans {
            return Err(format!("job {j} breaks a limit or spans a boundary"));
        }

        // Full: the next job's first piece would have broken a limit or crossed a boundary.
        if j + 1 < n_jobs {
            let next = end;
            let next_run = files.runs[file[next] as usize];
            let next_bytes = files.sizes[file[next] as usize] as u64;
            let full = (!rules.boundaries.is_empty() && next_run != runs[0])
                || limits
                    .files_per_job
                    .is_some_and(|n| u64::from(n_files[j]) == n)
                || (limits.files_per_job.is_none()
                    && (u64::from(n_files[j]) == limits.max_files
                        || limits
                            .events_per_job
                            .is_some_and(|n| job_events[j] + count[next] > n)
                        || limits
                            .max_input_bytes
                            .is_some_and(|max| bytes[j] + next_bytes > max)));
            if !full {
                return Err(format!("job {j} closed before a limit"));
            }
        }
        start = end;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn every_file_and_event_once_in_order_and_no_job_over_a_limit(
        files in files_strategy(),
        rules in rules_strategy(),
        batches in 1usize..4,
    ) {
        let split = split(&files.table(batches), &[], &rules).unwrap();
        prop_assert_eq!(check(&files, &rules, &split), Ok(()));
        // Where the record batches end does not matter.
        let whole = super::split(&files.table(1), &[], &rules).unwrap();
        prop_assert_eq!(whole.pieces, split.pieces);
    }

    #[test]
    fn secondary_files_are_taken_in_order_within_their_ratio(
        n_primary in 1usize..60,
        n_secondary in 1usize..40,
        tenths in 1u32..30,
        repeat in any::<bool>(),
        per_job in 1i64..6,
    ) {
        let ratio = f64::from(tenths) / 10.0;
        let secondaries = [Secondary {
            files: uniform(n_secondary, 5).table(2),
            rules: SecondaryRules { ratio: Some(ratio), nosplit: false, repeat },
        }];
        let rules = Rules { n_files_per_job: Some(per_job), ..Rules::default() };
        let split = split(&uniform(n_primary, 1).table(1), &secondaries, &rules).unwrap();

        let datasets = split.pieces.column(1).as_primitive::<UInt16Type>().values().to_vec();
        let jobs = u32s(&split.pieces, "job");
        let files = u32s(&split.pieces, "file");
        let primary = u32s(&split.jobs, "n_files");
        let mut expect = 0u32;
        let mut per_job_taken = vec![0u64; split.jobs.num_rows()];
        for i in (0..datasets.len()).filter(|&i| datasets[i] == 1) {
            if repeat && expect as usize == n_secondary {
                expect = 0;
            }
            prop_assert_eq!(files[i], expect);
            expect += 1;
            per_job_taken[jobs[i] as usize] += 1;
        }
        for (job, taken) in per_job_taken.iter().enumerate() {
            let allowed = (f64::from(primary[job]) * ratio).ceil() as u64;
            prop_assert!(*taken <= allowed);
        }
        if !repeat {
            // Without repeat, the dataset runs out once: every file at most once.
            prop_assert!(expect as usize <= n_secondary);
        }
    }
}
