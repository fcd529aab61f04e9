//! The unified diff of one planned file: Myers (pinned), 3 lines of
//! context, computed on the changed middle only; for very large changes,
//! built from the edits' own line map instead of a search.

use super::FilePlan;
use crate::postfix::maincf::NEW_LINE;

/// Lines of context in the unified diff.
const DIFF_CONTEXT: usize = 3;

/// Above this many Myers steps ((old + new lines) x changed lines, about a
/// tenth of a second), the diff comes from the edits' line map (see
/// `Plan::diff_from_origin`).
const ORIGIN_DIFF_ABOVE: u64 = 50_000_000;

/// Time allowed for finding the shortest diff (see [`FilePlan::unified_diff`]).
pub const DIFF_DEADLINE: std::time::Duration = std::time::Duration::from_millis(500);

impl FilePlan {
    /// Unified diff of the file (Myers, pinned; 3 lines of context; the
    /// shortest diff unless finding it takes longer than [`DIFF_DEADLINE`]).
    /// The file's bytes with credentials written inline masked line for
    /// line (engine::secrets); `None` when nothing needs masking. A table
    /// is never masked line by line: a secret one shows no content at all.
    pub fn masked(&self, bytes: &[u8]) -> Option<Vec<u8>> {
        match self.file {
            super::ManagedFile::MainCf => crate::engine::secrets::mask_main_cf(bytes),
            super::ManagedFile::MasterCf => crate::engine::secrets::mask_master_cf(bytes),
            super::ManagedFile::Table | super::ManagedFile::Aliases => None,
        }
    }

    pub fn unified_diff(&self) -> String {
        // Credentials written inline are masked on both sides, line for
        // line, before the diff is made.
        let mask = |b: &[u8]| self.masked(b);
        if let (Some(_), _) | (_, Some(_)) = (mask(&self.before), mask(&self.after)) {
            let masked = FilePlan {
                before: mask(&self.before).unwrap_or_else(|| self.before.clone()),
                after: mask(&self.after).unwrap_or_else(|| self.after.clone()),
                line_origin: None,
                changes: Vec::new(),
                ..self.clone()
            };
            return masked.unmasked_diff();
        }
        self.unmasked_diff()
    }

    /// [`FilePlan::unified_diff`] of the bytes as they are.
    fn unmasked_diff(&self) -> String {
        const CONTEXT: usize = DIFF_CONTEXT;
        let shown = self.path.display().to_string();
        if self.is_secret() {
            // Not even the comments: an old password may sit in one.
            return format!(
                "--- {shown} (live)\n+++ {shown} (planned)\n(secret table: the content is not shown)\n"
            );
        }
        if let Some(origin) = &self.line_origin {
            if let Some(diff) = self.diff_from_origin(origin, &shown, ORIGIN_DIFF_ABOVE) {
                return diff;
            }
        }
        // Myers is O(lines x changed lines): removing 100,000 parameters
        // from a 1,000,000-line file would take minutes. Past the
        // deadline similar stops looking for the shortest diff; the diff
        // is still exact, only less compact (real plans end long before).
        let deadline = std::time::Instant::now() + DIFF_DEADLINE;
        let render = |old: &str, new: &str| {
            let diff = similar::TextDiff::configure()
                .algorithm(similar::Algorithm::Myers)
                .deadline(deadline)
                .diff_lines(old, new);
            let text = diff
                .unified_diff()
                .context_radius(CONTEXT)
                .header(&format!("{shown} (live)"), &format!("{shown} (planned)"))
                .missing_newline_hint(true)
                .to_string();
            (
                diff.ops().to_vec(),
                diff.old_slices().len(),
                diff.new_slices().len(),
                text,
            )
        };
        // similar hashes every line before it diffs: on a 100,000-line
        // main.cf that dominates `plan`. Diff only the changed middle (plus
        // CONTEXT common lines each side) and shift the hunk headers back.
        // similar slides a change through equal lines; when a change slid
        // into a kept margin, the cut may have stopped it early, so the
        // whole files are diffed instead: the output is always the same as
        // diffing the whole files.
        // Lossy text of just the middle: the cuts are at line starts, and
        // UTF-8 decoding resynchronises at every LF, so this is the same
        // text as the middle of the whole file's lossy text.
        let whole = || {
            let before = String::from_utf8_lossy(&self.before);
            let after = String::from_utf8_lossy(&self.after);
            render(&before, &after).3
        };
        let (skip, cut, old_mid, new_mid) = changed_middle(&self.before, &self.after, CONTEXT);
        if skip == 0 && cut == 0 {
            return whole();
        }
        let (old_mid, new_mid) = (
            String::from_utf8_lossy(old_mid),
            String::from_utf8_lossy(new_mid),
        );
        let (ops, old_len, new_len, diff) = render(&old_mid, &new_mid);
        let clipped = ops
            .iter()
            .filter(|op| op.tag() != similar::DiffTag::Equal)
            .any(|op| {
                let (o, n) = (op.old_range(), op.new_range());
                (skip > 0 && (o.start < CONTEXT || n.start < CONTEXT))
                    || (cut > 0 && (o.end + CONTEXT > old_len || n.end + CONTEXT > new_len))
            });
        if clipped {
            return whole();
        }
        let mut out = String::with_capacity(diff.len() + 16);
        for line in diff.split_inclusive('\n') {
            match shift_hunk_header(line, skip) {
                Some(shifted) => out.push_str(&shifted),
                None => out.push_str(line),
            }
        }
        out
    }

    /// The unified diff built from the edits' own line map instead of a
    /// search, when the change is so large that Myers would need more than
    /// `above` steps ((old + new lines) x changed lines): exact, and as
    /// compact as the edits (unchanged lines never show as changed), but
    /// not always the shortest. `None` below that size, or when the map
    /// does not fit the two files (then the search is used).
    fn diff_from_origin(&self, origin: &[u32], shown: &str, above: u64) -> Option<String> {
        use similar::DiffOp;
        let before = String::from_utf8_lossy(&self.before);
        let after = String::from_utf8_lossy(&self.after);
        // Used for its line slices only: with a deadline already passed,
        // similar does no search.
        let diff = similar::TextDiff::configure()
            .algorithm(similar::Algorithm::Myers)
            .deadline(std::time::Instant::now())
            .diff_lines(&before, &after);
        let (old, new) = (diff.old_slices(), diff.new_slices());
        if origin.len() != new.len() {
            return None;
        }
        let kept = origin.iter().filter(|&&o| o != NEW_LINE).count();
        let changed = (old.len() - kept.min(old.len())) + (new.len() - kept);
        if ((old.len() + new.len()) as u64).saturating_mul(changed as u64) <= above {
            return None;
        }
        let mut ops: Vec<DiffOp> = Vec::new();
        let gap = |ops: &mut Vec<DiffOp>, o: (usize, usize), n: (usize, usize)| {
            let (old_index, old_len, new_index, new_len) = (o.0, o.1 - o.0, n.0, n.1 - n.0);
            match (old_len, new_len) {
                (0, 0) => {}
                (_, 0) => ops.push(DiffOp::Delete {
                    old_index,
                    old_len,
                    new_index,
                }),
                (0, _) => ops.push(DiffOp::Insert {
                    old_index,
                    new_index,
                    new_len,
                }),
                _ => ops.push(DiffOp::Replace {
                    old_index,
                    old_len,
                    new_index,
                    new_len,
                }),
            }
        };
        let (mut next_old, mut next_new) = (0usize, 0usize);
        for (j, &o) in origin.iter().enumerate() {
            if o == NEW_LINE {
                continue;
            }
            let i = o as usize;
            // Kept lines are in order and unchanged, or the map is wrong.
            if i < next_old || i >= old.len() || old[i] != new[j] {
                return None;
            }
            gap(&mut ops, (next_old, i), (next_new, j));
            match ops.last_mut() {
                Some(DiffOp::Equal {
                    old_index,
                    new_index,
                    len,
                }) if *old_index + *len == i && *new_index + *len == j => *len += 1,
                _ => ops.push(DiffOp::Equal {
                    old_index: i,
                    new_index: j,
                    len: 1,
                }),
            }
            (next_old, next_new) = (i + 1, j + 1);
        }
        gap(&mut ops, (next_old, old.len()), (next_new, new.len()));
        let mut out = String::new();
        for group in similar::group_diff_ops(ops, DIFF_CONTEXT) {
            if out.is_empty() {
                out.push_str(&format!("--- {shown} (live)\n+++ {shown} (planned)\n"));
            }
            out.push_str(&similar::udiff::UnifiedDiffHunk::new(group, &diff, true).to_string());
        }
        Some(out)
    }
}

/// The parts of `old` and `new` that differ, with up to `context` common
/// lines kept on each side: (lines skipped at the start, bytes cut at the
/// end, old middle, new middle). "Common" is per line, as a line diff sees
/// it: a line and its newline. Block comparisons, no per-line work: this
/// runs on every plan of a possibly huge file.
fn changed_middle<'a>(
    old: &'a [u8],
    new: &'a [u8],
    context: usize,
) -> (usize, usize, &'a [u8], &'a [u8]) {
    let (a, b) = (old, new);
    // Whole common lines at the start end after the last LF before the
    // first differing byte.
    let diff_at = common_prefix_len(a, b);
    let prefix_end = a[..diff_at]
        .iter()
        .rposition(|&c| c == b'\n')
        .map_or(0, |i| i + 1);
    let prefix_lines = count_newlines(&a[..prefix_end]);
    let skip = prefix_lines.saturating_sub(context);
    // Back up `prefix_lines - skip` lines from prefix_end.
    let mut start = prefix_end;
    for _ in skip..prefix_lines {
        start = a[..start - 1]
            .iter()
            .rposition(|&c| c == b'\n')
            .map_or(0, |i| i + 1);
    }
    // Whole common lines at the end, after prefix_end in both.
    let room = (a.len() - prefix_end).min(b.len() - prefix_end);
    let same = common_suffix_len(&a[prefix_end..], &b[prefix_end..]).min(room);
    let at_line_start = |s: &[u8], k: usize| {
        let i = s.len() - k;
        i == prefix_end || s[i - 1] == b'\n'
    };
    let mut k = same;
    while k > 0 && !(at_line_start(a, k) && at_line_start(b, k)) {
        k -= 1;
    }
    // Keep `context` of those lines.
    let mut cut = k;
    for _ in 0..context {
        if cut == 0 {
            break;
        }
        let from = a.len() - cut;
        cut -= a[from..a.len()]
            .iter()
            .position(|&c| c == b'\n')
            .map_or(cut, |i| i + 1);
    }
    (
        skip,
        cut,
        &old[start..old.len() - cut],
        &new[start..new.len() - cut],
    )
}

/// Length of the common prefix of two byte strings (block compares first).
fn common_prefix_len(a: &[u8], b: &[u8]) -> usize {
    const BLOCK: usize = 4096;
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + BLOCK <= n && a[i..i + BLOCK] == b[i..i + BLOCK] {
        i += BLOCK;
    }
    i + a[i..n]
        .iter()
        .zip(&b[i..n])
        .take_while(|(x, y)| x == y)
        .count()
}

/// Length of the common suffix of two byte strings.
fn common_suffix_len(a: &[u8], b: &[u8]) -> usize {
    const BLOCK: usize = 4096;
    let n = a.len().min(b.len());
    let mut k = 0;
    while k + BLOCK <= n
        && a[a.len() - k - BLOCK..a.len() - k] == b[b.len() - k - BLOCK..b.len() - k]
    {
        k += BLOCK;
    }
    k + a[..a.len() - k]
        .iter()
        .rev()
        .zip(b[..b.len() - k].iter().rev())
        .take(n - k)
        .take_while(|(x, y)| x == y)
        .count()
}

/// Number of LF bytes, eight at a time.
fn count_newlines(s: &[u8]) -> usize {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let mut chunks = s.chunks_exact(8);
    let mut n = 0;
    for chunk in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        let x = u64::from_le_bytes(w) ^ (LO * u64::from(b'\n'));
        // High bit set in each byte of x that is zero (exact, no carries).
        let zero = !(((x & !HI) + !HI) | x) & HI;
        n += zero.count_ones() as usize;
    }
    n + chunks.remainder().iter().filter(|&&c| c == b'\n').count()
}

/// `@@ -a,b +c,d @@` with `skip` added to both start lines; `None` for
/// any other line.
fn shift_hunk_header(line: &str, skip: usize) -> Option<String> {
    let body = line.strip_prefix("@@ -")?;
    let (body, end) = match body.strip_suffix(" @@\n") {
        Some(b) => (b, " @@\n"),
        None => (body.strip_suffix(" @@")?, " @@"),
    };
    let (old, new) = body.split_once(" +")?;
    let shift = |range: &str| -> Option<String> {
        let (start, len) = match range.split_once(',') {
            Some((s, l)) => (s, Some(l)),
            None => (range, None),
        };
        let start: usize = start.parse().ok()?;
        Some(match len {
            Some(l) => format!("{},{l}", start + skip),
            None => format!("{}", start + skip),
        })
    };
    Some(format!("@@ -{} +{}{end}", shift(old)?, shift(new)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::postfix::maincf::{Edit, MainCf, NewValue};
    use proptest::prelude::*;

    /// Apply a unified diff (as `Plan::unified_diff` writes it) to `old`.
    fn apply_unified(old: &str, diff: &str) -> String {
        let old_lines: Vec<&str> = old.split_inclusive('\n').collect();
        let mut out = String::new();
        let mut next = 0usize;
        let mut last_tag = ' ';
        for line in diff.split_inclusive('\n') {
            if line.starts_with("--- ") || line.starts_with("+++ ") {
                continue;
            }
            if let Some(header) = line.strip_prefix("@@ -") {
                let range = header.split(' ').next().unwrap();
                let (start, len) = match range.split_once(',') {
                    Some((a, b)) => (a.parse::<usize>().unwrap(), b.parse::<usize>().unwrap()),
                    None => (range.parse().unwrap(), 1),
                };
                let at = if len == 0 { start } else { start - 1 };
                while next < at {
                    out.push_str(old_lines[next]);
                    next += 1;
                }
                continue;
            }
            if line.starts_with("\\ No newline at end of file") {
                // The line just written (not one removed) had no newline.
                if last_tag != '-' && out.ends_with('\n') {
                    out.pop();
                }
                continue;
            }
            let (tag, text) = line.split_at(1);
            last_tag = tag.chars().next().unwrap_or(' ');
            match tag {
                " " => {
                    out.push_str(old_lines[next]);
                    next += 1;
                }
                "-" => next += 1,
                "+" => out.push_str(text),
                _ => panic!("unexpected diff line {line:?}"),
            }
        }
        while next < old_lines.len() {
            out.push_str(old_lines[next]);
            next += 1;
        }
        out
    }

    fn plan_of(before: &[u8], after: Vec<u8>, origin: Vec<u32>) -> FilePlan {
        FilePlan {
            file: super::super::ManagedFile::MainCf,
            path: std::path::PathBuf::from("dir/main.cf"),
            before: before.to_vec(),
            after,
            changes: Vec::new(),
            line_origin: Some(origin),
            table: None,
        }
    }

    fn line() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => "[a-c] = [a-c]{1,2}",
            1 => "    [a-c]",
            2 => "# [a-c]{0,3}",
            1 => "#[a-c] = x",
            1 => Just(String::new()),
        ]
    }

    fn edit() -> impl Strategy<Value = (String, Option<String>)> {
        ("[a-d]", prop::option::of("[a-c]{1,3}"))
    }

    proptest! {
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

        /// The diff built from the edits' line map, forced on any size,
        /// turns the old file into the new one and shows exactly the
        /// lines the edits removed and wrote.
        #[test]
        fn diff_from_the_line_map_is_exact(
            lines in prop::collection::vec(line(), 0..30),
            final_newline in prop::bool::ANY,
            crlf in prop::bool::ANY,
            edits in prop::collection::vec(edit(), 0..6),
        ) {
            let eol = if crlf { "\r\n" } else { "\n" };
            let mut text = lines.join(eol);
            if final_newline && !text.is_empty() {
                text.push_str(eol);
            }
            let Ok(mut doc) = MainCf::parse(text.as_bytes()) else { return Ok(()); };
            let values: Vec<(String, Option<NewValue>)> = edits
                .into_iter()
                .map(|(n, v)| (n, v.map(NewValue::Scalar)))
                .collect();
            let batch: Vec<Edit<'_>> = values.iter().map(|(n, v)| (n.as_bytes(), v.as_ref())).collect();
            let origin = doc.apply_edits_traced(&batch).unwrap();
            let after = doc.to_bytes();
            let plan = plan_of(text.as_bytes(), after.clone(), origin.clone());
            let Some(diff) = plan.diff_from_origin(&origin, "dir/main.cf", 0) else {
                // Only when nothing changed (0 steps is not above 0).
                prop_assert_eq!(text.as_bytes(), &after[..]);
                return Ok(());
            };
            prop_assert_eq!(apply_unified(&text, &diff), String::from_utf8(after.clone()).unwrap());
            let removed = diff.lines().filter(|l| l.starts_with('-') && !l.starts_with("--- ")).count();
            let written = diff.lines().filter(|l| l.starts_with('+') && !l.starts_with("+++ ")).count();
            let kept = origin.iter().filter(|&&o| o != NEW_LINE).count();
            prop_assert_eq!(written, origin.len() - kept);
            prop_assert_eq!(removed, text.split_inclusive('\n').count() - kept);
            // The searched diff of the same plan applies too.
            prop_assert_eq!(apply_unified(&text, &plan.unified_diff()), String::from_utf8(after).unwrap());
        }
    }

    #[test]
    fn small_changes_keep_the_searched_diff() {
        let before = b"a = 1\nb = 2\n";
        let mut doc = MainCf::parse(before).unwrap();
        let value = NewValue::Scalar("3".into());
        let origin = doc.apply_edits_traced(&[(b"b", Some(&value))]).unwrap();
        let plan = plan_of(before, doc.to_bytes(), origin.clone());
        assert_eq!(plan.diff_from_origin(&origin, "x", ORIGIN_DIFF_ABOVE), None);
        // A map that does not fit the files is not used.
        assert_eq!(plan.diff_from_origin(&[5, 0], "x", 0), None);
    }
}
