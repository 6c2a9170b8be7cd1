//! MuQ Live: a VST3/CLAP analyzer that passes audio through untouched and feeds a mono downmix to
//! a per-instance analysis worker ([`muq_engine::worker`]), whose snapshots the editor shows.

mod denormals;
pub mod editor;
pub mod params;
mod stats_file;

use editor::{EditorLink, FrameRecorder, MuqEditor};
use muq_engine::analysis::{AnalyzerOptions, MuqAnalyzer, cpu_budget};
use muq_engine::bridge::{self, AudioTap};
use muq_engine::worker::{
    self, AnalysisSettings, RestartingAnalyzer, SettingsSource, Worker, WorkerSetup,
};
use nice_plug::prelude::*;
use nice_plug_egui::{EguiEditor, EguiEditorState, RepaintNotifier};
use params::MuqParams;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// The plugin instance. Construction is cheap (no model work, no threads): the ring and the
/// worker are created in `activate()`.
pub struct MuqLive {
    /// Parameters and persisted fields; shared with the editor and the worker.
    params: Arc<MuqParams>,
    /// Audio-thread half of the ring. Created in `activate()`, dropped in `deactivate()`; used
    /// only by `process()`.
    tap: Option<AudioTap>,
    /// The running analysis worker. Started in `activate()`, stopped and joined in
    /// `deactivate()` or on drop.
    worker: Option<Worker>,
    /// The editor's link to the current worker; replaced on every activation.
    editor_link: Arc<EditorLink>,
    /// Wakes the editor when the worker publishes a changed snapshot.
    repaint: RepaintNotifier,
    /// The editor window's size; shared with the editor.
    editor_state: Arc<EguiEditorState>,
    /// What the editor drew in its latest frame (tests and diagnostics read it).
    frame_record: Arc<FrameRecorder>,
    /// Options every activation builds its [`MuqAnalyzer`] with.
    analyzer_options: AnalyzerOptions,
    /// Figures written for benchmarks when `MUQ_LIVE_STATS_DIR` is set.
    stats: Option<Arc<stats_file::StatsFile>>,
    /// Keeps the process's model download running while any instance exists; the last
    /// instance to go cancels it and joins its thread (declared last: dropped after the worker).
    _download_interest: muq_engine::download::DownloadInterest,
}

impl Default for MuqLive {
    fn default() -> Self {
        Self {
            params: Arc::new(MuqParams::default()),
            tap: None,
            worker: None,
            editor_link: Arc::new(EditorLink::default()),
            repaint: RepaintNotifier::new(),
            editor_state: editor::default_state(),
            frame_record: Arc::default(),
            analyzer_options: AnalyzerOptions::new(),
            stats: stats_file::StatsFile::from_env().map(Arc::new),
            _download_interest: muq_engine::download::DownloadInterest::new(),
        }
    }
}

/// Channel counts of the layouts MuQ Live offers (input = output).
const STEREO: Option<NonZeroU32> = NonZeroU32::new(2);
const MONO: Option<NonZeroU32> = NonZeroU32::new(1);

impl MuqLive {
    /// A plugin whose analyzer is built with `options` (tests inject a model folder, delays via
    /// `before_window`, ...); [`Default`] uses [`AnalyzerOptions::new`].
    #[doc(hidden)]
    pub fn with_analyzer_options(options: AnalyzerOptions) -> Self {
        let mut plugin = Self::default();
        plugin.analyzer_options = options;
        plugin
    }

    /// Whether a worker thread is running (tests and diagnostics).
    pub fn is_worker_running(&self) -> bool {
        self.worker.as_ref().is_some_and(Worker::is_running)
    }

    /// The shared editor link (tests read snapshots through it).
    pub fn editor_link(&self) -> Arc<EditorLink> {
        Arc::clone(&self.editor_link)
    }

    /// The parameters and persisted fields (tests set them before activation).
    pub fn params_arc(&self) -> Arc<MuqParams> {
        Arc::clone(&self.params)
    }

    /// What the editor drew in its latest frame: phase, status line, where the phase label
    /// sits. Asking for it switches recording on: from then on the editor updates it on every
    /// frame it draws (the default until the first one).
    pub fn frame_record(&self) -> Arc<FrameRecorder> {
        self.frame_record.enable();
        Arc::clone(&self.frame_record)
    }

    /// Builds the editor without going through a wrapper (test hosts that wrap `MuqLive`).
    pub fn build_editor(&self) -> Option<EguiEditor<MuqEditor>> {
        editor::create(editor::EditorShared {
            params: Arc::clone(&self.params),
            link: Arc::clone(&self.editor_link),
            state: Arc::clone(&self.editor_state),
            repaint: self.repaint.clone(),
            record: Arc::clone(&self.frame_record),
        })
    }

    /// Stops the worker and drops the ring. Not real-time safe (joins a thread).
    fn stop_engine(&mut self) {
        if let Some(worker) = self.worker.take()
            && let Err(err) = worker.stop()
        {
            nice_log!("MuQ Live: {err}");
        }
        self.tap = None;
    }

    /// Creates the ring and starts the worker for `sample_rate_hz`.
    fn start_engine(&mut self, sample_rate_hz: f32) -> muq_engine::Result<()> {
        let capacity_samples = bridge::ring_capacity_for(sample_rate_hz)?;
        let (tap, feed) = bridge::new(capacity_samples)?;
        let repaint = self.repaint.clone();
        let stats = self.stats.clone();
        // The MuQ analysis: its inference thread starts idle and loads the model lazily, so
        // activation stays fast; key detection runs even without weights. A panic inside it is
        // caught and a fresh one is built (with back-off), replaying settings and commands.
        let options = self.analyzer_options.clone();
        let analyzer = RestartingAnalyzer::new(Box::new(move || {
            Ok(Box::new(MuqAnalyzer::new(options.clone())?) as Box<dyn worker::Analyzer>)
        }))?;
        // A saved thread count is the user's choice for the whole process.
        let saved_threads = self.params.analysis_threads.load(Ordering::Relaxed);
        if saved_threads > 0 {
            cpu_budget::set_analysis_threads(saved_threads);
        }
        let (worker, mut link) = worker::spawn(WorkerSetup {
            sample_rate_hz,
            feed,
            settings: Arc::new(LiveSettings {
                params: Arc::clone(&self.params),
                editor_state: Arc::clone(&self.editor_state),
            }),
            analyzers: vec![Box::new(analyzer)],
            on_publish: Some(Box::new(move |snapshot| {
                repaint.request_repaint();
                if let Some(stats) = &stats {
                    stats.maybe_write(snapshot);
                }
            })),
        })?;
        // The persisted fields (restored before activation) configure the new worker's analyzers.
        for command in self.params.engine_commands() {
            if let Err(command) = link.send(command) {
                nice_log!("MuQ Live: the new worker refused {command:?}");
            }
        }
        self.editor_link.replace(link);
        self.tap = Some(tap);
        self.worker = Some(worker);
        Ok(())
    }
}

/// What the worker polls: the parameters, plus the hold while the editor is closed and
/// "analyse only while the editor is open" is on. Lock-free (atomics only).
struct LiveSettings {
    params: Arc<MuqParams>,
    editor_state: Arc<EguiEditorState>,
}

impl SettingsSource for LiveSettings {
    fn analysis_settings(&self) -> AnalysisSettings {
        let mut settings = self.params.analysis_settings();
        settings.hold_inference = self.params.analyse_only_with_editor.load(Ordering::Relaxed)
            && !self.editor_state.is_open();
        settings
    }
}

impl Plugin for MuqLive {
    const NAME: &'static str = "MuQ Live";
    const VENDOR: &'static str = "MuQ Live developers";
    const URL: &'static str = "https://github.com/muq-live/muq-live";
    const EMAIL: &'static str = "muq-live@users.noreply.github.com";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    const AUDIO_IO_LAYOUTS: &'static [AudioIOLayout] = &[
        AudioIOLayout {
            main_input_channels: STEREO,
            main_output_channels: STEREO,
            ..AudioIOLayout::const_default()
        },
        AudioIOLayout {
            main_input_channels: MONO,
            main_output_channels: MONO,
            ..AudioIOLayout::const_default()
        },
    ];

    type SysExMessage = ();
    type BackgroundTask = ();
    type Editor = EguiEditor<MuqEditor>;

    fn params(&self) -> Arc<dyn Params> {
        self.params.clone()
    }

    fn editor(&mut self, _async_executor: AsyncExecutor<Self>) -> Option<Self::Editor> {
        self.build_editor()
    }

    fn activate(
        &mut self,
        _audio_io_layout: &AudioIOLayout,
        buffer_config: &BufferConfig,
        _context: &mut impl ActivateContext<Self>,
    ) -> bool {
        // Hosts may activate again without deactivating: start from a clean slate.
        self.stop_engine();
        match self.start_engine(buffer_config.sample_rate) {
            Ok(()) => true,
            Err(err) => {
                nice_log!("MuQ Live could not start its engine: {err}");
                false
            }
        }
    }

    /// Real-time safe: passes audio through (subnormal samples flushed to signed zeros, every
    /// other sample bit for bit) and, unless bypassed, pushes the mono downmix into the
    /// preallocated ring (dropping and counting when it is full). Runs with flush-to-zero and
    /// denormals-are-zero set, restored on return.
    fn process(
        &mut self,
        buffer: &mut Buffer,
        _aux: &mut AuxiliaryBuffers,
        _context: &mut impl ProcessContext<Self>,
    ) -> ProcessStatus {
        let _flush = denormals::ScopedFlushDenormals::enable();
        // The wrapper processes in place: what we leave in `buffer` is the output.
        for channel in buffer.as_slice().iter_mut() {
            denormals::flush_subnormals_to_zero(channel);
        }
        if !self.params.bypass.value()
            && let Some(tap) = &mut self.tap
        {
            tap.push_block(buffer.as_slice_immutable());
        }
        ProcessStatus::Normal
    }

    fn deactivate(&mut self) {
        self.stop_engine();
    }
}

impl Drop for MuqLive {
    fn drop(&mut self) {
        self.stop_engine();
    }
}

impl ClapPlugin for MuqLive {
    const CLAP_ID: &'static str = "live.muq.muq-live";
    const CLAP_DESCRIPTION: Option<&'static str> =
        Some("Listens to music with the MuQ models: key, instruments, genre, text queries");
    const CLAP_MANUAL_URL: Option<&'static str> = Some(Self::URL);
    const CLAP_SUPPORT_URL: Option<&'static str> = None;
    const CLAP_FEATURES: &'static [ClapFeature] = &[
        ClapFeature::AudioEffect,
        ClapFeature::Analyzer,
        ClapFeature::Utility,
        ClapFeature::Stereo,
        ClapFeature::Mono,
    ];
}

impl Vst3Plugin for MuqLive {
    const VST3_CLASS_ID: [u8; 16] = *b"MuQLiveAnalyzer1";
    const VST3_SUBCATEGORIES: &'static [Vst3SubCategory] =
        &[Vst3SubCategory::Fx, Vst3SubCategory::Analyzer];
}

nice_export_clap!(MuqLive);
nice_export_vst3!(MuqLive);
