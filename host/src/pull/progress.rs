//! Download progress on stderr (human mode on a terminal only): one bar for the whole
//! commit, one per file while it transfers.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Files smaller than this get no bar of their own (hundreds of small files would only
/// flicker).
const OWN_BAR_BYTES: u64 = 1 << 20;

/// The bars of one pull.
pub struct Progress {
    multi: MultiProgress,
    total: ProgressBar,
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Progress")
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}

impl Progress {
    /// Bars for `files` files of `bytes` in all; drawn only when `show` and stderr is a
    /// terminal (indicatif hides them otherwise).
    pub fn new(show: bool, bytes: u64, files: usize, label: &str) -> Self {
        let target = if show && crate::printer::progress_allowed() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let multi = MultiProgress::with_draw_target(target);
        let total = multi.add(ProgressBar::new(bytes));
        total.set_style(style(
            "{msg} {wide_bar} {decimal_bytes}/{decimal_total_bytes} {decimal_bytes_per_sec} ETA {eta}",
        ));
        total.set_message(format!("{label} ({files} files)"));
        Self { multi, total }
    }

    /// A bar for one file; the overall bar advances with it.
    pub fn file(&self, name: &str, size: u64) -> FileBar {
        let bar = (size >= OWN_BAR_BYTES).then(|| {
            let bar = self.multi.add(ProgressBar::new(size));
            bar.set_style(style(
                "  {msg:30!} {bar:30} {decimal_bytes}/{decimal_total_bytes} {decimal_bytes_per_sec}",
            ));
            bar.set_message(name.to_owned());
            bar
        });
        FileBar {
            bar,
            total: self.total.clone(),
        }
    }

    /// Removes the bars.
    pub fn finish(&self) {
        self.total.finish_and_clear();
        let _ = self.multi.clear();
    }
}

/// One file's bar.
pub struct FileBar {
    bar: Option<ProgressBar>,
    total: ProgressBar,
}

impl std::fmt::Debug for FileBar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FileBar")
    }
}

impl FileBar {
    /// `n` more bytes arrived.
    pub fn inc(&self, n: u64) {
        if let Some(b) = &self.bar {
            b.inc(n);
        }
        self.total.inc(n);
    }

    /// The file is done; `skipped` bytes were already there (or were never needed).
    pub fn done(self, skipped: u64) {
        self.total.inc(skipped);
        if let Some(b) = self.bar {
            b.finish_and_clear();
        }
    }
}
