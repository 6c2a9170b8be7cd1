#!/usr/bin/env python3
"""Compare Essentia's KeyExtractor with MuQ Live's key estimator on the same rendered WAVs.

Usage (Essentia lives in a throwaway venv, never in the repository):

    python3 -m venv /tmp/essentia-venv && /tmp/essentia-venv/bin/pip install essentia numpy
    MUQ_KEY_CORPUS_SEED=2024 MUQ_KEY_CORPUS_DIR=/tmp/key-corpus cargo test -p muq-engine \
        --test key_corpus -- --ignored export_key_corpus --nocapture
    /tmp/essentia-venv/bin/python tools/essentia_key_compare.py /tmp/key-corpus [more folders] \
        [--start-s 0 2 3 5]

`MUQ_KEY_CORPUS_SEED` picks the corpus seed (2024 = dev; see essentia_key_compare.md for the
held-out seeds). The folder holds `truths.csv` (columns `file,key,ours`, keys written like
`F# minor`) and the WAVs it names. For every Essentia profile the script runs KeyExtractor (default parameters
otherwise, the sample rate of each file) and prints the MIREX weighted score, scored exactly like
`muq_engine::heads::key::scoring` (mir_eval's weighted_score: 1 correct, 0.5 fifth above in the
same mode, 0.3 relative, 0.2 parallel). The `ours` column is our offline estimate of the same
samples, scored the same way.
"""

import argparse
import csv
import sys
import time
from pathlib import Path

PITCH_CLASSES = {"C": 0, "C#": 1, "Db": 1, "D": 2, "D#": 3, "Eb": 3, "E": 4, "F": 5, "F#": 6,
                 "Gb": 6, "G": 7, "G#": 8, "Ab": 8, "A": 9, "A#": 10, "Bb": 10, "B": 11}
PROFILES = ["temperley", "krumhansl", "edma", "edmm", "bgate", "braw", "shaath", "diatonic",
            "tonictriad", "temperley2005", "thpcp", "gomez", "noland"]


def parse_key(text):
    """`"F# minor"` -> (6, "minor"); None for an empty or unknown key."""
    parts = text.strip().split()
    if len(parts) != 2 or parts[0] not in PITCH_CLASSES or parts[1] not in ("major", "minor"):
        return None
    return PITCH_CLASSES[parts[0]], parts[1]


def mirex(estimated, reference):
    """mir_eval.key.weighted_score with allow_descending_fifths=False."""
    if estimated is None:
        return 0.0
    (est_pc, est_mode), (ref_pc, ref_mode) = estimated, reference
    interval = (est_pc - ref_pc) % 12
    if est_mode == ref_mode:
        return {0: 1.0, 7: 0.5}.get(interval, 0.0)
    if ref_mode == "major" and interval == 9 or ref_mode == "minor" and interval == 3:
        return 0.3
    return 0.2 if interval == 0 else 0.0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus_dirs", type=Path, nargs="+")
    parser.add_argument("--profiles", nargs="*", default=PROFILES)
    parser.add_argument("--start-s", type=float, nargs="*", default=[0.0],
                        help="read every clip from each of these offsets (seconds), like a live "
                             "window that starts inside a phrase; the summary averages them all")
    args = parser.parse_args()

    import essentia
    import essentia.standard as es
    essentia.log.infoActive = False

    overall = {}
    for corpus_dir in args.corpus_dirs:
        rows = list(csv.DictReader(open(corpus_dir / "truths.csv", newline="")))
        if not rows:
            sys.exit(f"{corpus_dir}/truths.csv lists no clips")
        audio = []
        for row in rows:
            loader = es.AudioLoader(filename=str(corpus_dir / row["file"]))
            loaded = loader()
            samples, sample_rate = loaded[0], loaded[1]
            mono = samples.mean(axis=1).astype("float32")
            audio.append((mono, sample_rate, parse_key(row["key"])))

        print(f"{len(rows)} clips from {corpus_dir}")
        results = []
        if "ours" in rows[0] and args.start_s == [0.0]:
            ours = sum(mirex(parse_key(r["ours"]), parse_key(r["key"])) for r in rows) / len(rows)
            results.append(("muq-live (ours)", ours, float("nan")))
        for profile in args.profiles:
            for start_s in args.start_s:
                started = time.perf_counter()
                total = 0.0
                try:
                    for mono, sample_rate, reference in audio:
                        extractor = es.KeyExtractor(profileType=profile, sampleRate=sample_rate)
                        key, scale, _strength = extractor(mono[int(start_s * sample_rate):])
                        total += mirex(parse_key(f"{key} {scale}"), reference)
                except RuntimeError as err:
                    print(f"skipping profile {profile}: {err}")
                    break
                name = f"essentia {profile}"
                label = name if args.start_s == [0.0] else f"{name} @ {start_s:g} s"
                results.append((label, total / len(audio), time.perf_counter() - started))
                overall.setdefault(name, []).append(total / len(audio))
        for name, score, seconds in results:
            print(f"{name:34s} MIREX {score:.4f}   {seconds:6.2f} s")
        best = max((r for r in results if r[0].startswith("essentia")), key=lambda r: r[1])
        print(f"best Essentia profile: {best[0]} {best[1]:.4f}")
    if len(args.corpus_dirs) > 1 or len(args.start_s) > 1:
        print("mean over all folders and start offsets (each folder x offset weighs the same):")
        ranked = sorted(overall.items(), key=lambda kv: -sum(kv[1]) / len(kv[1]))
        for name, scores in ranked:
            print(f"{name:34s} MIREX {sum(scores) / len(scores):.4f}")


if __name__ == "__main__":
    main()
