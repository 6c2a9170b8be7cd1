//! Test helper: a minimal FLAC writer (STREAMINFO + fixed-blocksize frames of VERBATIM 16-bit
//! subframes, with the header CRC-8 and frame CRC-16), so the FLAC path is tested without an
//! encoder.

fn crc8(bytes: &[u8]) -> u8 {
    let mut crc = 0_u8;
    for &b in bytes {
        crc ^= b;
        for _ in 0..8 {
            crc = if crc & 0x80 != 0 {
                (crc << 1) ^ 0x07
            } else {
                crc << 1
            };
        }
    }
    crc
}

fn crc16(bytes: &[u8]) -> u16 {
    let mut crc = 0_u16;
    for &b in bytes {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x8005
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// FLAC bytes of `channels` interleaved 16-bit channels at `rate_hz`, in blocks of 1024 frames.
pub(crate) fn flac_bytes(interleaved: &[i16], channels: usize, rate_hz: u32) -> Vec<u8> {
    const BLOCK: usize = 1024;
    let num_frames = interleaved.len() / channels;
    let mut out = b"fLaC".to_vec();
    out.extend_from_slice(&[0x80, 0, 0, 34]); // last metadata block, STREAMINFO, 34 bytes
    out.extend_from_slice(&(BLOCK as u16).to_be_bytes());
    out.extend_from_slice(&(BLOCK as u16).to_be_bytes());
    out.extend_from_slice(&[0; 6]); // min/max frame size unknown
    // 20 bits rate, 3 bits channels-1, 5 bits bps-1, 36 bits total samples.
    let packed: u64 = (u64::from(rate_hz) << 44)
        | (((channels - 1) as u64) << 41)
        | (15_u64 << 36)
        | num_frames as u64;
    out.extend_from_slice(&packed.to_be_bytes());
    out.extend_from_slice(&[0; 16]); // MD5 unknown
    for (frame_idx, block) in interleaved.chunks(BLOCK * channels).enumerate() {
        let block_frames = block.len() / channels;
        let start = out.len();
        out.extend_from_slice(&[0xFF, 0xF8]);
        out.push(0x70); // block size: 16-bit (n-1) at header end; rate: from STREAMINFO
        out.push((((channels - 1) as u8) << 4) | 0x08); // independent channels, 16 bits
        assert!(frame_idx < 128, "test helper supports < 128 frames");
        out.push(frame_idx as u8);
        out.extend_from_slice(&((block_frames - 1) as u16).to_be_bytes());
        let crc = crc8(&out[start..]);
        out.push(crc);
        for ch in 0..channels {
            out.push(0x02); // VERBATIM, no wasted bits
            for frame in block.chunks_exact(channels) {
                out.extend_from_slice(&frame[ch].to_be_bytes());
            }
        }
        let crc = crc16(&out[start..]);
        out.extend_from_slice(&crc.to_be_bytes());
    }
    out
}
