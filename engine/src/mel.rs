//! Streaming mel spectrogram matching torchaudio's `MelSpectrogram` + `AmplitudeToDB` as MuQ uses them.
