//! The key-method chooser: the built-in default, the shipped key profiles, a custom profile JSON
//! file, or a loaded probe head whose task is key detection. [`KeyMethod`] converts to and from
//! the persisted setting string that `Command::SetKeyMethod` carries.

use muq_engine::analysis::ProbeReadout;
use muq_engine::heads::key::{ProfileChoice, ProfileKind};

/// Prefix of a key method that hands the key readout to a probe head.
pub const PROBE_PREFIX: &str = "probe:";

/// One key method as the editor lists it.
#[derive(Clone, Debug, PartialEq)]
pub enum KeyMethod {
    /// The built-in default profile (setting `None`).
    Default,
    /// A shipped profile.
    Profile(ProfileKind),
    /// A profile JSON file at this path (as typed).
    File(String),
    /// The probe head with this task.
    Probe(String),
}

impl KeyMethod {
    /// The method a persisted setting names. Anything that is not a shipped name or a probe
    /// reads as a file path, so that an ensemble (`a+b`) or a path survives a round trip.
    pub fn from_setting(setting: Option<&str>) -> Self {
        let Some(setting) = setting.map(str::trim).filter(|s| !s.is_empty()) else {
            return Self::Default;
        };
        if setting.eq_ignore_ascii_case("default") {
            return Self::Default;
        }
        if let Some(task) = setting.strip_prefix(PROBE_PREFIX) {
            return Self::Probe(task.trim().to_owned());
        }
        match ProfileKind::from_name(setting) {
            Some(kind) => Self::Profile(kind),
            None => Self::File(setting.to_owned()),
        }
    }

    /// The setting string for `Command::SetKeyMethod` (`None` for the default).
    pub fn to_setting(&self) -> Option<String> {
        match self {
            Self::Default => None,
            Self::Profile(kind) => Some(kind.name().to_owned()),
            Self::File(path) => Some(path.trim().to_owned()),
            Self::Probe(task) => Some(format!("{PROBE_PREFIX}{task}")),
        }
    }

    /// Text in the chooser.
    pub fn label(&self) -> String {
        match self {
            Self::Default => "default".to_owned(),
            Self::Profile(kind) => kind.title().to_owned(),
            Self::File(path) if path.trim().is_empty() => "custom JSON file…".to_owned(),
            Self::File(path) => format!("file: {}", file_name(path)),
            Self::Probe(task) => format!("probe head: {task}"),
        }
    }
}

/// The last path component of `path` (the whole text when it has none).
fn file_name(path: &str) -> &str {
    std::path::Path::new(path.trim())
        .file_name()
        .and_then(|name| name.to_str())
        .unwrap_or(path)
}

/// Whether a probe head's task looks like key detection (`key`, `musical_key`, `Key-EDM`…).
pub fn is_key_task(task: &str) -> bool {
    task.to_ascii_lowercase().contains("key")
}

/// The methods the chooser offers: default, every shipped profile, then the loaded probe heads
/// whose task looks like key detection (the custom file entry is added by the chooser).
pub fn choices(probes: &[ProbeReadout]) -> Vec<KeyMethod> {
    let mut choices = vec![KeyMethod::Default];
    choices.extend(ProfileKind::ALL.into_iter().map(KeyMethod::Profile));
    choices.extend(
        probes
            .iter()
            .filter(|probe| is_key_task(&probe.task))
            .map(|probe| KeyMethod::Probe(probe.task.clone())),
    );
    choices
}

/// Checks a typed profile file before it is sent: it must parse as a key profile.
pub fn check_file(path: &str) -> Result<String, String> {
    let path = path.trim();
    if path.is_empty() {
        return Err("type the path of a key profile JSON file".to_owned());
    }
    ProfileChoice::parse(path)
        .map(|_| path.to_owned())
        .map_err(|err| err.to_string())
}

/// What the chooser keeps between frames.
pub struct KeyMethodEditor {
    /// The method selected in the chooser (not necessarily applied, for a file being typed).
    selected: KeyMethod,
    /// The profile path being typed.
    file_text: String,
    /// Why the typed file was refused.
    rejection: Option<String>,
}

impl KeyMethodEditor {
    /// Starts with the persisted setting selected.
    pub fn new(setting: Option<&str>) -> Self {
        let selected = KeyMethod::from_setting(setting);
        let file_text = match &selected {
            KeyMethod::File(path) => path.clone(),
            _ => String::new(),
        };
        Self {
            selected,
            file_text,
            rejection: None,
        }
    }
}

/// Draws the chooser; returns the new setting when the user applied one.
pub fn show(
    ui: &mut egui::Ui,
    editor: &mut KeyMethodEditor,
    probes: &[ProbeReadout],
) -> Option<Option<String>> {
    let mut applied = None;
    let mut options = choices(probes);
    if let KeyMethod::Probe(_) = &editor.selected
        && !options.contains(&editor.selected)
    {
        // A persisted probe whose head is not loaded (yet): keep it visible.
        options.push(editor.selected.clone());
    }
    let file_entry = KeyMethod::File(String::new());
    let selected_text = editor.selected.label();
    egui::ComboBox::from_id_salt("muq-key-method")
        .selected_text(selected_text)
        .width(220.0)
        .show_ui(ui, |ui| {
            for option in options.iter().chain(std::iter::once(&file_entry)) {
                let is_selected = match (&editor.selected, option) {
                    (KeyMethod::File(_), KeyMethod::File(_)) => true,
                    (current, option) => current == option,
                };
                if ui.selectable_label(is_selected, option.label()).clicked() && !is_selected {
                    editor.rejection = None;
                    if let KeyMethod::File(_) = option {
                        editor.selected = KeyMethod::File(editor.file_text.clone());
                    } else {
                        editor.selected = option.clone();
                        applied = Some(option.to_setting());
                    }
                }
            }
        });
    if let KeyMethod::File(_) = editor.selected {
        ui.horizontal(|ui| {
            let edit = ui.add(
                egui::TextEdit::singleline(&mut editor.file_text)
                    .hint_text("/path/to/profile.json")
                    .desired_width((ui.available_width() - 60.0).max(80.0)),
            );
            let entered = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            if ui.button("Use").clicked() || entered {
                match check_file(&editor.file_text) {
                    Ok(path) => {
                        editor.rejection = None;
                        editor.selected = KeyMethod::File(path.clone());
                        applied = Some(Some(path));
                    }
                    Err(why) => editor.rejection = Some(why),
                }
            }
        });
        if let Some(why) = &editor.rejection {
            ui.colored_label(ui.visuals().warn_fg_color, why);
        }
    }
    applied
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(task: &str) -> ProbeReadout {
        ProbeReadout {
            task: task.to_owned(),
            ..ProbeReadout::default()
        }
    }

    #[test]
    fn settings_round_trip() {
        let methods = [
            KeyMethod::Default,
            KeyMethod::Profile(ProfileKind::Temperley),
            KeyMethod::File("/profiles/mine.json".to_owned()),
            KeyMethod::Probe("key".to_owned()),
        ];
        for method in methods {
            let setting = method.to_setting();
            assert_eq!(KeyMethod::from_setting(setting.as_deref()), method);
        }
        assert_eq!(KeyMethod::Default.to_setting(), None);
        assert_eq!(
            KeyMethod::Profile(ProfileKind::Edma)
                .to_setting()
                .as_deref(),
            Some("edma")
        );
        assert_eq!(
            KeyMethod::Probe("musical_key".to_owned()).to_setting(),
            Some("probe:musical_key".to_owned())
        );
    }

    #[test]
    fn odd_settings_are_read_leniently() {
        assert_eq!(KeyMethod::from_setting(Some("  ")), KeyMethod::Default);
        assert_eq!(KeyMethod::from_setting(Some("Default")), KeyMethod::Default);
        assert_eq!(
            KeyMethod::from_setting(Some("Krumhansl-Kessler")),
            KeyMethod::Profile(ProfileKind::KrumhanslKessler)
        );
        // An ensemble is not in the list but must survive: it is kept as typed.
        assert_eq!(
            KeyMethod::from_setting(Some("temperley+edma")).to_setting(),
            Some("temperley+edma".to_owned())
        );
    }

    #[test]
    fn choices_list_profiles_then_key_probes_only() {
        let probes = [probe("genre"), probe("key"), probe("Musical-Key")];
        let list = choices(&probes);
        assert_eq!(list[0], KeyMethod::Default);
        assert_eq!(list.len(), 1 + ProfileKind::ALL.len() + 2);
        assert_eq!(list[1], KeyMethod::Profile(ProfileKind::ALL[0]));
        assert_eq!(list[list.len() - 2], KeyMethod::Probe("key".to_owned()));
        assert_eq!(list[list.len() - 1].label(), "probe head: Musical-Key");
        assert!(!list.contains(&KeyMethod::Probe("genre".to_owned())));
    }

    #[test]
    fn labels_use_profile_titles_and_file_names() {
        assert_eq!(
            KeyMethod::Profile(ProfileKind::Shaath).label(),
            ProfileKind::Shaath.title()
        );
        assert_eq!(
            KeyMethod::File("/a/b/mine.json".to_owned()).label(),
            "file: mine.json"
        );
        assert_eq!(KeyMethod::File(String::new()).label(), "custom JSON file…");
    }

    #[test]
    fn profile_files_are_checked_before_sending() {
        assert!(check_file("  ").is_err());
        let missing = check_file("/no/such/profile.json");
        assert!(missing.is_err_and(|why| why.contains("/no/such/profile.json")));
        let dir = std::env::temp_dir().join(format!("muq-key-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bad = dir.join("bad.json");
        std::fs::write(&bad, "{not json").unwrap();
        assert!(check_file(&bad.display().to_string()).is_err());
        let good = dir.join("good.json");
        let weights = "[6.0, 2.0, 3.5, 2.2, 4.4, 4.1, 2.5, 5.2, 2.4, 3.7, 2.3, 2.9]";
        std::fs::write(
            &good,
            format!(r#"{{"name": "mine", "major": {weights}, "minor": {weights}}}"#),
        )
        .unwrap();
        let typed = format!(" {} ", good.display());
        assert_eq!(check_file(&typed), Ok(good.display().to_string()));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
