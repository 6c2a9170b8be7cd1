//! Turning raw snapshot numbers into panel text. Pure functions.

/// Lowest level the meters show, in dBFS; anything quieter reads as an empty bar.
pub const METER_FLOOR_DBFS: f32 = -60.0;

/// `m:ss.s` below an hour, `h:mm:ss` above; negative or non-finite input reads as `0:00.0`.
pub fn duration(seconds: f64) -> String {
    let seconds = if seconds.is_finite() {
        seconds.max(0.0)
    } else {
        0.0
    };
    if seconds < 3600.0 {
        let tenths = (seconds * 10.0).floor() as u64;
        format!("{}:{:02}.{}", tenths / 600, (tenths / 10) % 60, tenths % 10)
    } else {
        let whole = seconds.floor() as u64;
        format!(
            "{}:{:02}:{:02}",
            whole / 3600,
            (whole / 60) % 60,
            whole % 60
        )
    }
}

/// A level in dBFS with one decimal, `-inf dBFS` for silence.
pub fn dbfs(level_dbfs: f32) -> String {
    if level_dbfs.is_finite() {
        format!("{level_dbfs:.1} dBFS")
    } else if level_dbfs > 0.0 {
        "+inf dBFS".to_owned()
    } else {
        "-inf dBFS".to_owned()
    }
}

/// A sample rate in kHz, or a dash before activation.
pub fn sample_rate(sample_rate_hz: f32) -> String {
    if sample_rate_hz > 0.0 {
        format!("{:.1} kHz", sample_rate_hz / 1000.0)
    } else {
        "—".to_owned()
    }
}

/// An integer with thin spaces between thousands: `1 234 567`.
pub fn count(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() * 4 / 3);
    for (idx, digit) in digits.chars().enumerate() {
        if idx > 0 && (digits.len() - idx).is_multiple_of(3) {
            out.push('\u{2009}');
        }
        out.push(digit);
    }
    out
}

/// A file size in binary units with three significant digits: `"812 B"`, `"1.50 MiB"`,
/// `"2.47 GiB"`.
pub fn bytes(num_bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if num_bytes < 1024 {
        return format!("{num_bytes} B");
    }
    let mut value = num_bytes as f64 / 1024.0;
    let mut unit_idx = 0;
    while value >= 1024.0 && unit_idx + 1 < UNITS.len() {
        value /= 1024.0;
        unit_idx += 1;
    }
    let unit = UNITS[unit_idx];
    if value < 10.0 {
        format!("{value:.2} {unit}")
    } else if value < 100.0 {
        format!("{value:.1} {unit}")
    } else {
        format!("{value:.0} {unit}")
    }
}

/// Position of a level on a meter bar, 0 at [`METER_FLOOR_DBFS`] and below, 1 at 0 dBFS and above.
pub fn meter_fraction(level_dbfs: f32) -> f32 {
    if level_dbfs.is_nan() {
        return 0.0;
    }
    ((level_dbfs - METER_FLOOR_DBFS) / -METER_FLOOR_DBFS).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration(0.0), "0:00.0");
        assert_eq!(duration(83.47), "1:23.4");
        assert_eq!(duration(3599.99), "59:59.9");
        assert_eq!(duration(3723.0), "1:02:03");
        assert_eq!(duration(-5.0), "0:00.0");
        assert_eq!(duration(f64::NAN), "0:00.0");
    }

    #[test]
    fn levels_and_rates() {
        assert_eq!(dbfs(-12.345), "-12.3 dBFS");
        assert_eq!(dbfs(f32::NEG_INFINITY), "-inf dBFS");
        assert_eq!(sample_rate(44_100.0), "44.1 kHz");
        assert_eq!(sample_rate(0.0), "—");
    }

    #[test]
    fn counts_group_thousands() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1\u{2009}000");
        assert_eq!(count(1_234_567), "1\u{2009}234\u{2009}567");
    }

    #[test]
    fn byte_sizes_use_binary_units() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(1536), "1.50 KiB");
        assert_eq!(bytes(50 * 1024 * 1024), "50.0 MiB");
        assert_eq!(bytes(2_650_000_000), "2.47 GiB");
        assert_eq!(bytes(700 * 1024 * 1024 * 1024), "700 GiB");
        assert!(bytes(u64::MAX).ends_with("EiB") || bytes(u64::MAX).ends_with("PiB"));
    }

    #[test]
    fn meter_fraction_is_clamped() {
        assert_eq!(meter_fraction(f32::NEG_INFINITY), 0.0);
        assert_eq!(meter_fraction(-60.0), 0.0);
        assert_eq!(meter_fraction(-30.0), 0.5);
        assert_eq!(meter_fraction(3.0), 1.0);
        assert_eq!(meter_fraction(f32::NAN), 0.0);
    }
}
