//! The events cutter: with an events-per-job rule, files are cut into event ranges before jobs
//! are formed, and the count of events still owed to a job carries across file ends.
//!
//! This is what JEDI does when it registers a task's files (each file becomes one or more
//! `[startEvent, endEvent]` rows) and what its job cutter then relies on. A change of
//! boundary starts the count afresh, as JEDI does for luminosity blocks.

use super::cutter::Piece;
use super::error::SplitError;

/// Cuts files into event ranges of at most `events_per_job`, carrying the remainder.
pub(crate) struct EventsCutter {
    events_per_job: u64,
    /// Events the current job still wants.
    owed: u64,
}

impl EventsCutter {
    pub fn new(events_per_job: u64) -> Self {
        Self {
            events_per_job,
            owed: events_per_job,
        }
    }

    /// Calls `emit` for each piece of `file`; `new_group` restarts the count.
    #[inline]
    pub fn cut(
        &mut self,
        file: u32,
        n_events: u64,
        bytes: u64,
        new_group: bool,
        mut emit: impl FnMut(Piece, bool) -> Result<(), SplitError>,
    ) -> Result<(), SplitError> {
        if new_group {
            self.owed = self.events_per_job;
        }
        if n_events == 0 {
            // Nothing to cut: the file rides along as one empty piece, as in JEDI.
            return emit(
                Piece {
                    file,
                    first_event: 0,
                    n_events: 0,
                    bytes,
                },
                new_group,
            );
        }
        let mut first = 0;
        let mut first_piece = new_group;
        loop {
            let left = n_events - first;
            let take = self.owed.min(left);
            emit(
                Piece {
                    file,
                    first_event: first,
                    n_events: take,
                    bytes,
                },
                first_piece,
            )?;
            first_piece = false;
            self.owed -= take;
            if self.owed == 0 {
                self.owed = self.events_per_job;
            }
            first += take;
            if first == n_events {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranges(cutter: &mut EventsCutter, file: u32, n_events: u64) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        let emit = |piece: Piece, _| {
            out.push((piece.first_event, piece.n_events));
            Ok(())
        };
        cutter.cut(file, n_events, 1, false, emit).unwrap();
        out
    }

    #[test]
    fn the_remainder_carries_into_the_next_file() {
        let mut cutter = EventsCutter::new(100);
        assert_eq!(
            ranges(&mut cutter, 0, 250),
            [(0, 100), (100, 100), (200, 50)]
        );
        assert_eq!(ranges(&mut cutter, 1, 130), [(0, 50), (50, 80)]);
        assert_eq!(ranges(&mut cutter, 2, 20), [(0, 20)]);
    }
}
