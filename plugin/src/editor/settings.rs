//! Controls for the analysis parameters.

use crate::params::MuqParams;
use muq_engine::analysis::cpu_budget;
use nice_plug::prelude::ParamSetter;
use nice_plug_egui::widgets::ParamSlider;
use std::sync::atomic::Ordering;

/// Draws the analysis switch and the window and hop sliders; changes go through the host.
pub fn show(ui: &mut egui::Ui, params: &MuqParams, setter: &ParamSetter) {
    egui::Grid::new("muq-settings")
        .num_columns(2)
        .spacing([16.0, 6.0])
        .show(ui, |ui| {
            ui.label("Analysis");
            let mut enabled = params.analysis_enabled.value();
            if ui.checkbox(&mut enabled, "enabled").changed() {
                setter.begin_set_parameter(&params.analysis_enabled);
                setter.set_parameter(&params.analysis_enabled, enabled);
                setter.end_set_parameter(&params.analysis_enabled);
            }
            ui.end_row();

            ui.label("Window");
            ui.add(ParamSlider::for_param(&params.window_s, setter).with_width(180.0));
            ui.end_row();

            ui.label("Hop");
            ui.add(ParamSlider::for_param(&params.hop_s, setter).with_width(180.0));
            ui.end_row();

            ui.label("Analysis threads").on_hover_text(
                "inference threads shared by every MuQ Live instance in this host \
                 (default: half the logical cores); they run at low priority",
            );
            let mut num_threads = cpu_budget::analysis_threads();
            let slider =
                egui::Slider::new(&mut num_threads, 1..=cpu_budget::max_analysis_threads());
            if ui.add(slider).changed() {
                set_analysis_threads(params, num_threads);
            }
            ui.end_row();

            ui.label("Editor");
            let mut only_open = params.analyse_only_with_editor.load(Ordering::Relaxed);
            if ui
                .checkbox(&mut only_open, "analyse only while this window is open")
                .on_hover_text("saves CPU on tracks you are not looking at; the key still follows")
                .changed()
            {
                params
                    .analyse_only_with_editor
                    .store(only_open, Ordering::Relaxed);
            }
            ui.end_row();
        });
}

/// Sets the process-wide thread count and remembers it in this instance's state.
pub fn set_analysis_threads(params: &MuqParams, num_threads: usize) {
    cpu_budget::set_analysis_threads(num_threads);
    params
        .analysis_threads
        .store(cpu_budget::analysis_threads(), Ordering::Relaxed);
}
