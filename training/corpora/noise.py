"""Recorded-noise bank (Debian sound packages, DESIGN.md 6) and synthetic colored noise.

`fetch_noise_recordings` downloads the data packages with `apt-get download` (no root),
unpacks them with `dpkg-deb -x`, and writes a capped, deterministic selection of 16 kHz mono
16-bit WAV clips plus `noise/manifest.jsonl`. Clips are split by recording (variants such as
`footstep.1`/`footstep.2` share a split), so test noises are never heard in training. Each
record keeps its license and the package's copyright file for attribution (CC-BY-SA/GPL media).
"""

from __future__ import annotations

import dataclasses
import fnmatch
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from zoo.errors import AudioError, ConfigError, DataError

SPLITS = ("train", "validation", "test")
SAMPLE_RATE = 16000
AUDIO_SUFFIXES = (".wav", ".ogg", ".oga", ".flac", ".mp3")
MAX_FILES = 400
MAX_TOTAL_SECONDS = 30 * 60.0
MAX_CLIP_SECONDS = 30.0
MIN_CLIP_SECONDS = 0.5
SILENCE_DB = -60.0  # peak below this (dBFS) is silence; also the trim threshold below the peak
PEAK_DBFS = -1.0  # clips are peak-normalised here so quiet recordings keep 16-bit resolution
_NO_NETWORK_FIX = ("check network access to the Debian mirror (`apt-get download sound-theme-freedesktop`) "
                   "and run `apt-get update`; without it use colored_noise() for augmentation instead")


@dataclasses.dataclass(frozen=True)
class NoisePackage:
    """Which files of a Debian package are noise: globs on paths inside the package."""

    name: str
    include: tuple[str, ...]
    exclude: tuple[str, ...] = ()


# Speech is excluded so a keyword model never learns words from its noise or silence class.
PACKAGES = (
    NoisePackage("sound-theme-freedesktop", ("usr/share/sounds/freedesktop/*",),
                 exclude=("*/audio-channel-*",)),  # spoken channel names ("front left")
    NoisePackage("scratch", ("usr/share/scratch/Media/Sounds/*",),
                 exclude=("*/Vocals/*",)),  # sung and spoken phrases
    NoisePackage("qabcs-data", ("usr/share/qabcs/abcs/all/noises/*",)),  # not */sounds/: spoken words
    NoisePackage("minetest-data", ("usr/share/games/minetest/games/minetest_game/*",)),
    NoisePackage("sonic-pi-samples", ("usr/share/sonic-pi/samples/*",),
                 exclude=("*robot*",)),  # robot-voice samples
)


def _hash_unit(text: str) -> float:
    return int(hashlib.sha256(text.encode("utf-8")).hexdigest()[:12], 16) / float(16**12)


def variant_group(name: str) -> str:
    """Recording a clip belongs to: `Dog1`, `dig.2`, `tabla_ghe3` -> `Dog`, `dig`, `tabla_ghe`."""
    return re.sub(r"[._-]?\d+$", "", name) or name


def split_for(package: str, name: str) -> str:
    """Deterministic ~70/15/15 split of a recording, from a hash of package and variant group."""
    u = _hash_unit(f"split:{package}/{variant_group(name)}")
    return "train" if u < 0.70 else ("validation" if u < 0.85 else "test")


# --- Debian copyright (DEP-5) ----------------------------------------------------------------------

def parse_copyright(text: str) -> list[dict]:
    """Files paragraphs of a machine-readable debian/copyright: patterns, copyright, license."""
    paragraphs = []
    for block in re.split(r"\n\s*\n", text):
        fields, key = {}, None
        for line in block.splitlines():
            if line[:1] in (" ", "\t") and key:
                fields[key] += "\n" + line.strip()
            elif ":" in line:
                key, _, value = line.partition(":")
                key = key.strip()
                fields[key] = value.strip()
        if "Files" in fields and "License" in fields:
            paragraphs.append({
                "files": fields["Files"].split(),
                "copyright": " ".join(fields.get("Copyright", "").split()),
                "license": fields["License"].split("\n")[0].strip() or "unknown",
            })
    return paragraphs


def _pattern_matches(pattern: str, rel: str) -> bool:
    # Patterns name paths in the source tree (`etc/samples/x.flac`); installed paths differ in
    # their leading folders (`usr/share/sonic-pi/samples/x.flac`), so match on trailing parts.
    # Only the top source folder (`etc/`, `mtg/`) is dropped: shorter tails such as `sounds/*`
    # would match every package subfolder.
    parts = pattern.strip("/").split("/")
    tails = ["/".join(parts)] + (["/".join(parts[1:])] if len(parts) > 2 else [])
    return any(fnmatch.fnmatchcase(rel, t) or fnmatch.fnmatchcase(rel, "*/" + t) for t in tails)


def license_for(rel_path: str, paragraphs: list[dict]) -> dict:
    """The last matching Files paragraph wins (DEP-5); unknown when none matches."""
    found = {"license": "unknown", "copyright": ""}
    for paragraph in paragraphs:
        if any(_pattern_matches(p, rel_path) for p in paragraph["files"]):
            found = {"license": paragraph["license"], "copyright": paragraph["copyright"]}
    return found


# --- scanning an unpacked package -----------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class NoiseSource:
    package: str
    name: str
    source: str  # path inside the package
    path: Path  # unpacked file
    license: str
    copyright: str
    split: str


def scan_package(root, spec: NoisePackage) -> list[NoiseSource]:
    """Noise sound files of one unpacked package (a `dpkg-deb -x` folder), sorted by path."""
    root = Path(root)
    copyright_file = root / "usr/share/doc" / spec.name / "copyright"
    paragraphs = parse_copyright(copyright_file.read_text(errors="replace")) if copyright_file.exists() else []
    rels = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if not path.is_file() or path.suffix.lower() not in AUDIO_SUFFIXES:
            continue
        if any(fnmatch.fnmatchcase(rel, g) for g in spec.include) and not any(
                fnmatch.fnmatchcase(rel, g) for g in spec.exclude):
            rels.append(rel)
    # Output names are file stems; a parent folder is prefixed only where stems collide.
    stems = {}
    for rel in rels:
        stems.setdefault(Path(rel).stem, []).append(rel)
    sources = []
    for rel in rels:
        parts = Path(rel).with_suffix("").parts
        name = parts[-1] if len(stems[parts[-1]]) == 1 else "-".join(parts[-2:])
        name = re.sub(r"[^A-Za-z0-9._-]+", "_", name)
        lic = license_for(rel, paragraphs)
        sources.append(NoiseSource(spec.name, name, rel, root / rel, lic["license"], lic["copyright"],
                                   split_for(spec.name, name)))
    return sources


def _prepare_clip(path: Path):
    """Decoded, trimmed 16 kHz mono clip, or a reason to drop it."""
    from zoo.audio import read_audio, rms_db

    try:
        x, _ = read_audio(path, sample_rate=SAMPLE_RATE, max_seconds=600.0, clip=False)
    except AudioError as exc:
        return None, f"unreadable ({exc.what})"
    peak = float(np.max(np.abs(x)))
    if peak <= 10 ** (SILENCE_DB / 20) or rms_db(x) <= SILENCE_DB - 20:
        return None, "silent"
    loud = np.flatnonzero(np.abs(x) > peak * 10 ** (SILENCE_DB / 20))
    x = x[loud[0] : loud[-1] + 1]
    if len(x) < MIN_CLIP_SECONDS * SAMPLE_RATE:
        return None, "shorter than 0.5 s"
    return x[: int(MAX_CLIP_SECONDS * SAMPLE_RATE)], None


def _accepted_clips(per_package: dict[str, list[NoiseSource]], dropped: dict):
    """(source, clip) pairs, round robin over packages by accepted clip, each package in hash order.

    Counting accepted clips (not candidates) keeps every package represented under a cap even
    where many of its files are dropped (minetest's footsteps are mostly under 0.5 s).
    """
    queues = [iter(sorted(per_package[p], key=lambda s: _hash_unit(f"order:{s.package}/{s.name}")))
              for p in sorted(per_package)]
    while queues:
        for queue in list(queues):
            for source in queue:
                if source.license == "unknown":  # attribution could not be kept
                    clip, reason = None, "no license in the copyright file"
                else:
                    clip, reason = _prepare_clip(source.path)
                if clip is not None:
                    yield source, clip
                    break
                dropped[reason] = dropped.get(reason, 0) + 1
            else:
                queues.remove(queue)


def build_noise_bank(package_roots: dict, out_dir, *, max_files=MAX_FILES, max_seconds=MAX_TOTAL_SECONDS,
                     progress=True, versions: dict | None = None) -> Path:
    """Write the clips and manifest from unpacked packages {name: folder}; return the manifest path."""
    from tqdm.auto import tqdm

    from zoo.audio import write_audio

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    specs = {s.name: s for s in PACKAGES}
    per_package, copyright_files = {}, {}
    for name, root in package_roots.items():
        per_package[name] = scan_package(root, specs[name])
        src = Path(root) / "usr/share/doc" / name / "copyright"
        if src.exists():
            (out_dir / name).mkdir(exist_ok=True)
            shutil.copyfile(src, out_dir / name / "copyright")
            copyright_files[name] = f"{name}/copyright"
    records, dropped, total = [], {}, 0.0
    bar = tqdm(total=max_files, desc="noise clips", unit="file", disable=not progress)
    for source, clip in _accepted_clips(per_package, dropped):
        clip = clip[: int((max_seconds - total) * SAMPLE_RATE)]
        gain_db = PEAK_DBFS - 20 * np.log10(float(np.max(np.abs(clip))))
        rel = f"{source.package}/{source.name}.wav"
        write_audio(out_dir / rel, clip * np.float32(10 ** (gain_db / 20)), SAMPLE_RATE)
        duration = len(clip) / SAMPLE_RATE
        total += duration
        records.append({
            "path": rel, "package": source.package, "license": source.license,
            "duration": round(duration, 4), "sample_rate": SAMPLE_RATE, "split": source.split,
            "metadata": {
                "source": source.source, "package_version": (versions or {}).get(source.package, ""),
                "copyright": source.copyright, "copyright_file": copyright_files.get(source.package, ""),
                "group": variant_group(source.name), "gain_db": round(float(gain_db), 2),
            },
        })
        bar.update(1)
        if len(records) >= max_files or max_seconds - total < MIN_CLIP_SECONDS:
            break
    bar.close()
    if dropped:
        warnings.warn(f"noise bank: dropped clips: {dropped}", stacklevel=2)
    if not records:
        raise DataError("no usable noise clips in the packages", received=f"packages {sorted(package_roots)}",
                        expected="at least one readable, non-silent clip of 0.5 s or more",
                        fix="check the package contents; use colored_noise() meanwhile")
    kept = {r["path"] for r in records}
    for stale in out_dir.glob("*/*.wav"):  # left over from an earlier, different selection
        if stale.relative_to(out_dir).as_posix() not in kept:
            stale.unlink()
    manifest = out_dir / "manifest.jsonl"
    tmp = manifest.with_name(f".{manifest.name}.tmp")
    tmp.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in records))
    os.replace(tmp, manifest)  # written last: its presence means the bank is complete
    return manifest


# --- apt ----------------------------------------------------------------------------------------

def _run(cmd: list[str], cwd, what: str, fix: str = _NO_NETWORK_FIX) -> str:
    try:
        done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=900)
    except FileNotFoundError:
        raise DataError(f"{what}: {cmd[0]} is not installed", received=f"no {cmd[0]} on PATH",
                        expected="a Debian/Ubuntu system with apt and dpkg",
                        fix="run on Debian/Ubuntu, or use colored_noise() for augmentation instead") from None
    except subprocess.TimeoutExpired:
        raise DataError(f"{what} timed out", received=" ".join(cmd), expected="completion within 15 minutes",
                        fix=fix) from None
    if done.returncode != 0:
        errors = [ln for ln in done.stderr.splitlines() if not ln.startswith("W:")]
        raise DataError(f"{what} failed", received=f"`{' '.join(cmd)}` exited {done.returncode}: "
                        + (" | ".join(errors[-3:]) or done.stderr.strip()[-300:]),
                        expected="exit status 0", fix=fix)
    return done.stdout


def _apt_has(package: str) -> bool:
    try:
        done = subprocess.run(["apt-cache", "show", "--no-all-versions", package], capture_output=True,
                              text=True, timeout=120)
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and "Package:" in done.stdout


def _apt_download(package: str, folder) -> Path:
    """`apt-get download` into `folder` (works without root); returns the .deb path."""
    before = set(Path(folder).glob("*.deb"))
    _run(["apt-get", "download", package], folder, f"downloading Debian package {package}")
    new = sorted(set(Path(folder).glob(f"{package}_*.deb")) - before)
    if not new:
        raise DataError(f"apt-get download {package} wrote no .deb", received=f"files in {folder}",
                        expected=f"{package}_<version>_<arch>.deb", fix=_NO_NETWORK_FIX)
    return new[-1]


def _unpack_deb(deb, dest) -> str:
    """`dpkg-deb -x` the package into `dest`; returns its version."""
    Path(dest).mkdir(parents=True, exist_ok=True)
    fix = "the download is corrupt or the disk is full; delete the cache folder and retry"
    _run(["dpkg-deb", "-x", str(deb), str(dest)], None, f"unpacking {Path(deb).name}", fix)
    return _run(["dpkg-deb", "-f", str(deb), "Version"], None, f"reading {Path(deb).name}", fix).strip()


def _manifest_complete(manifest: Path) -> bool:
    try:
        records = [json.loads(line) for line in manifest.read_text().splitlines() if line.strip()]
    except (OSError, ValueError):
        return False
    return bool(records) and all((manifest.parent / r["path"]).is_file() for r in records)


def fetch_noise_recordings(cache_dir, *, progress=True) -> Path:
    """Download, select and convert the recorded noises; return `<cache_dir>/noise/manifest.jsonl`.

    Cached: returns at once when a complete manifest exists. Packages that apt does not know
    are skipped with a warning; a failed download raises DataError.
    """
    from tqdm.auto import tqdm

    out_dir = Path(cache_dir) / "noise"
    manifest = out_dir / "manifest.jsonl"
    if _manifest_complete(manifest):
        return manifest
    available = []
    for spec in PACKAGES:
        if _apt_has(spec.name):
            available.append(spec.name)
        else:
            warnings.warn(f"noise bank: Debian package {spec.name} is not known to apt here; skipping it",
                          stacklevel=2)
    if not available:
        raise DataError("none of the noise packages is known to apt",
                        received="apt-cache show failed for " + ", ".join(s.name for s in PACKAGES),
                        expected="Debian package lists that include them (bookworm main)", fix=_NO_NETWORK_FIX)
    out_dir.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=".noise-download-", dir=out_dir.parent) as tmp:
        roots, versions = {}, {}
        for name in tqdm(available, desc="noise packages", unit="pkg", disable=not progress):
            deb = _apt_download(name, tmp)
            roots[name] = Path(tmp) / "root" / name
            versions[name] = _unpack_deb(deb, roots[name])
            deb.unlink()
        manifest = build_noise_bank(roots, out_dir, progress=progress, versions=versions)
    if progress:
        print(f"noise bank: {manifest} in {time.monotonic() - start:.0f} s")
    return manifest


# --- reading ------------------------------------------------------------------------------------

def read_noise_manifest(cache_dir) -> list[dict]:
    manifest = Path(cache_dir) / "noise" / "manifest.jsonl"
    if not manifest.exists():
        raise DataError("no noise bank in the cache", received=f"missing {manifest}",
                        expected="a manifest written by fetch_noise_recordings",
                        fix=f"run training.corpora.noise.fetch_noise_recordings({str(cache_dir)!r})")
    return [json.loads(line) for line in manifest.read_text().splitlines() if line.strip()]


def load_noise_bank(cache_dir, split, *, sample_rate=SAMPLE_RATE, max_files=None) -> list[np.ndarray]:
    """float32 mono clips of one split, in manifest order (the first `max_files` when given)."""
    from zoo.audio import read_audio

    if split not in SPLITS:
        raise ConfigError("unknown noise split", received=repr(split), expected=f"one of {SPLITS}",
                          fix="pick one of the expected splits")
    records = [r for r in read_noise_manifest(cache_dir) if r["split"] == split]
    if max_files is not None:
        records = records[: int(max_files)]
    folder = Path(cache_dir) / "noise"
    return [read_audio(folder / r["path"], sample_rate=sample_rate)[0] for r in records]


# --- colored noise ------------------------------------------------------------------------------

COLORS = {"white": 0.0, "pink": 1.0, "brown": 2.0, "blue": -1.0, "violet": -2.0}


def colored_noise(num_samples, color, rng) -> np.ndarray:
    """Gaussian noise with power spectral density ~ 1/f**beta (pink 1, brown 2, blue -1, ...), unit RMS."""
    if color not in COLORS:
        raise ConfigError("unknown noise color", received=repr(color), expected=f"one of {sorted(COLORS)}",
                          fix="pick one of the expected colors")
    if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)) or num_samples < 2:
        raise ConfigError("num_samples must be an int >= 2", received=repr(num_samples), expected="int >= 2",
                          fix="pass a sample count, e.g. 16000")
    if not isinstance(rng, np.random.Generator):
        raise ConfigError("colored_noise needs an explicit rng", received=repr(rng),
                          expected="numpy.random.Generator", fix="pass rng=np.random.default_rng(seed)")
    n = int(num_samples)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n)
    shape = np.zeros_like(freqs)
    shape[1:] = freqs[1:] ** (-COLORS[color] / 2.0)  # amplitude ~ f^(-beta/2): power ~ f^-beta
    x = np.fft.irfft(spectrum * shape, n)
    return (x / np.sqrt(np.mean(x * x))).astype(np.float32)
