"""The `faces:` part of settings.yaml, checked before any work starts.

Every `python -m faces.*` command reads settings.yaml from the working
directory, or the file named by $PHOTOSCRAPE_CONFIG, or `--config PATH`.
Relative paths in the file are relative to the file's own folder. A bad value
stops the command with one line naming the key (see `UserError`).
"""
from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from pathlib import Path

import yaml


class UserError(Exception):
    """A problem the user can fix (bad config, missing weights, unreadable references).

    Commands print `error: <message>` on one line and exit with status 2, no traceback.
    """


@dataclass(frozen=True)
class FacesConfig:
    config_path: Path            # the settings file that was read
    data_dir: Path               # photos/, albums.jsonl and faces.sqlite live here
    detector_backend: str        # any DeepFace backend name
    model_name: str              # any DeepFace model name
    min_confidence: float        # detections below this confidence are dropped (0..1)
    min_face_size: int           # faces narrower or shorter than this (pixels) are dropped
    align: str                   # "auto": dlib face chips for Dlib, DeepFace's alignment otherwise
    dlib_runtime: str            # Dlib chips: "numpy" (faces.dlib_resnet, 5x faster) or "deepface" (dlib itself)
    weights_dir: Path            # DEEPFACE_HOME: weights live in <weights_dir>/.deepface/weights/
    workers: int                 # index worker processes, at most one per CPU core this process may use
    references: Path | None      # photos of the person to find, one face each
    negatives: Path | None       # photos of people who are NOT the person
    output: Path                 # matches.csv, photos/, report.html
    strategy: str                # "default" (expanding, drift-resistant) or "seed" (the user's method)
    workers_asked: int = 0       # faces.workers as written, when it was more than the cores (else 0)

    @property
    def manifest(self) -> Path:
        return self.data_dir / "albums.jsonl"

    @property
    def photos_dir(self) -> Path:
        return self.data_dir / "photos"

    @property
    def store_path(self) -> Path:
        return self.data_dir / "faces.sqlite"

    @property
    def alignment(self) -> str:
        """"chip" or "deepface": `align` resolved for `model_name`."""
        return align_mode(self.model_name, self.align)


# key -> (default, kind). Kinds are checked by _value(); paths resolve against the file's folder.
FACES_KEYS: dict[str, tuple[object, str]] = {
    "detector_backend": ("dlib", "name"),
    "model_name": ("Dlib", "name"),
    "min_confidence": (0.0, "fraction"),
    "min_face_size": (20, "pixels"),
    "align": ("auto", "choice"),
    "dlib_runtime": ("numpy", "choice"),
    "weights_dir": ("models", "path"),
    "workers": (0, "count"),          # 0 = one per CPU core; more than the cores is capped (see cpu_cores)
    "references": ("references", "optional_path"),
    "negatives": (None, "optional_path"),
    "output": ("results", "path"),
    "strategy": ("default", "choice"),
}
STRATEGIES = ("default", "seed")
# "chip": dlib's 5-point face chips (what the Dlib model was trained on); "deepface": DeepFace's eye alignment.
ALIGN_MODES = ("auto", "chip", "deepface")
# How Dlib chips are embedded: same network and weights, "deepface" through dlib's own (BLAS-less) build.
DLIB_RUNTIMES = ("numpy", "deepface")
CHOICES = {"strategy": STRATEGIES, "align": ALIGN_MODES, "dlib_runtime": DLIB_RUNTIMES}
# The settings file's top level: the crawler reads data and site, these commands data and faces.
# Anything else is a typo (`face:` would silently mean every default), so it stops the command.
TOP_LEVEL = ("data", "site", "faces")


def align_mode(model_name: str, align: str) -> str:
    """What `faces.align` means for a model: "chip" or "deepface" ("auto": chips for Dlib only)."""
    if align == "auto":
        return "chip" if model_name == "Dlib" else "deepface"
    return align


def config_file(explicit: str | os.PathLike | None = None) -> Path:
    """The settings file to read: --config, else $PHOTOSCRAPE_CONFIG, else ./settings.yaml."""
    name = explicit or os.environ.get("PHOTOSCRAPE_CONFIG") or "settings.yaml"
    return Path(name).expanduser().resolve()


def cpu_cores() -> int:
    """The CPU cores this process may run on (its affinity mask, e.g. under taskset or a container)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):     # not Linux
        return os.cpu_count() or 1


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader refusing a key given twice in one mapping (plain YAML keeps the last one silently,
    so a second `faces:` block lower down would quietly replace the first)."""

    def construct_mapping(self, node, deep=False):
        lines: dict = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)):
                continue                      # an unhashable key: construct_mapping below says so
            line = key_node.start_mark.line + 1
            if key in lines:
                raise yaml.constructor.ConstructorError(
                    None, None, f"{key}: given twice (lines {lines[key]} and {line}); keep one", key_node.start_mark)
            lines[key] = line
        return super().construct_mapping(node, deep)


def read_yaml(path: Path) -> dict:
    """The settings file as a mapping; a missing, non-UTF-8 or malformed file is a UserError."""
    if not path.is_file():
        raise UserError(f"{path}: settings file not found (run from the repository folder, "
                        f"or set PHOTOSCRAPE_CONFIG / --config)")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise UserError(f"{path} line {line}: not UTF-8 text (save the file as UTF-8)") from None
    try:
        doc = yaml.load(text, Loader=_UniqueKeyLoader) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise UserError(f"{path}:{where} not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(doc, dict):
        raise UserError(f"{path}: expected a mapping of keys at the top level")
    return doc


def load_config(explicit: str | os.PathLike | None = None, **overrides) -> FacesConfig:
    """Read and check the `data:` and `faces:` settings.

    `overrides` replace keys of `faces:` (e.g. references=, output= from the
    command line); override paths are taken relative to the working directory.
    """
    path = config_file(explicit)
    doc = read_yaml(path)
    base = path.parent
    _check_names(path, "", doc, TOP_LEVEL)
    faces = doc.get("faces") or {}
    if not isinstance(faces, dict):
        raise UserError(f"{path}: faces: expected a mapping of keys")
    _check_names(path, "faces.", faces, tuple(FACES_KEYS))
    values = {}
    for key, (default, kind) in FACES_KEYS.items():
        if key in overrides and overrides[key] is not None:
            values[key] = _value(path, key, overrides[key], kind, Path.cwd())
        else:
            values[key] = _value(path, key, faces.get(key, default), kind, base)
    data = doc.get("data", "data")
    if not isinstance(data, str) or not data.strip():
        raise UserError(f"{path}: data: expected a folder path, got {data!r}")
    data_dir = (base / Path(data).expanduser()).resolve()
    if data_dir.exists() and not data_dir.is_dir():
        raise UserError(f"{path}: data: {data_dir} is a file, not a folder (name the folder that holds "
                        f"photos/ and albums.jsonl)")
    # More processes than cores only makes them fight: each holds a model and ~1 s of work per photo.
    cores = cpu_cores()
    asked = values["workers"]
    values["workers"] = min(asked, cores) if asked else cores
    cfg = FacesConfig(config_path=path, data_dir=data_dir, workers_asked=asked if asked > cores else 0, **values)
    from_command_line = {k for k, v in overrides.items() if v is not None}
    _check_output(cfg, from_command_line)
    _check_negatives(cfg)
    return cfg


def _check_negatives(cfg: FacesConfig) -> None:
    """The negatives must be other photos than the references: the same face on both sides finds nothing."""
    refs, negs = cfg.references, cfg.negatives
    if refs is None or negs is None:
        return
    problem = {"same": "is also the references folder", "inside": f"is inside the references folder {refs}",
               "contains": f"contains the references folder {refs}"}.get(_overlap(negs, refs))
    if problem is None:
        return
    raise UserError(f"{cfg.config_path}: faces.negatives: {negs} {problem}: the person's own photos would count against them and "
                    f"nothing would be found (keep the photos of other people in a folder of their own)")


def _check_output(cfg: FacesConfig, from_command_line: set[str]) -> None:
    """The output folder must stay clear of the folders the commands read photos from.

    Results inside photos/ would be indexed as new photos on the next run, and
    inside the references (or negatives) they would be read as reference photos;
    an output folder that holds one of them (the data folder itself, say) mixes
    the results with the photos they come from.
    """
    out = cfg.output
    where = "--output" if "output" in from_command_line else f"{cfg.config_path}: faces.output"
    for name, folder in (("photos folder", cfg.photos_dir), ("references folder", cfg.references),
                         ("negatives folder", cfg.negatives)):
        relation = _overlap(out, folder) if folder is not None else None
        if relation in ("same", "inside"):
            problem = (f"is the {name}" if relation == "same" else f"is inside the {name} {folder}") + \
                ": later runs would read the results as photos"
        elif relation == "contains":
            problem = f"contains the {name} {folder}: the results would be mixed with the photos they come from"
        else:
            continue
        raise UserError(f"{where}: {out} {problem} (choose an output folder apart from it)")


def _overlap(folder: Path, other: Path) -> str | None:
    """How `folder` stands to `other`: "same", "inside" it, "contains" it, or None when apart."""
    if folder == other:
        return "same"
    if folder.is_relative_to(other):
        return "inside"
    if other.is_relative_to(folder):
        return "contains"
    return None


def _check_names(path: Path, prefix: str, keys: dict, known: tuple[str, ...]) -> None:
    """Stop at the first unknown key (in file order) with a did-you-mean hint."""
    for key in keys:
        if key not in known:
            hint = difflib.get_close_matches(str(key), known, n=1)
            raise UserError(f"{path}: {prefix}{key}: unknown key"
                            + (f" (did you mean {prefix}{hint[0]}?)" if hint else
                               f" (known: {', '.join(prefix + k for k in known)})"))


def _value(path: Path, key: str, raw: object, kind: str, base: Path):
    where = f"{path}: faces.{key}"
    if kind == "name":
        if not isinstance(raw, str) or not raw.strip():
            raise UserError(f"{where}: expected a name, got {raw!r}")
        return raw.strip()
    if kind == "choice":
        if raw not in CHOICES[key]:
            raise UserError(f"{where}: expected one of {', '.join(CHOICES[key])}, got {raw!r}")
        return raw
    if kind == "fraction":
        if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not 0 <= raw <= 1:
            raise UserError(f"{where}: expected a number from 0 to 1, got {raw!r}")
        return float(raw)
    if kind in ("pixels", "count"):
        if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
            raise UserError(f"{where}: expected a whole number >= 0, got {raw!r}")
        return raw
    if kind == "optional_path" and raw is None:
        return None
    if not isinstance(raw, (str, os.PathLike)) or not str(raw).strip():
        raise UserError(f"{where}: expected a folder path, got {raw!r}")
    return (base / Path(raw).expanduser()).resolve()
