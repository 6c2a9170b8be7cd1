//! Controls for the analysis parameters.

use crate::params::MuqParams;
use nice_plug::prelude::ParamSetter;
use nice_plug_egui::widgets::ParamSlider;

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
        });
}
