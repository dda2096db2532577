"""Model weight files, offline.

DeepFace looks for weights in `$DEEPFACE_HOME/.deepface/weights/` and, when one
is missing, downloads it (a HEAD request with a 30 s timeout, then gdown).
Here there may be no network, so before any photo is read `prepare()`:
- points DEEPFACE_HOME at `faces.weights_dir` (unless it is already set),
- copies dlib's two files from the `face_recognition_models` package,
- checks the detector and model names, the Python packages and the weight
  files they need, and stops with one line naming what is missing and where;
and `forbid_downloads()` turns any download DeepFace still attempts into that
same one line instead of a hang.

The tables below are read from DeepFace 0.0.103's sources (TensorFlow engine);
tests/test_faces_weights.py checks them against the installed package.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

from faces.config import FacesConfig, UserError

WEIGHTS_SUBDIR = Path(".deepface") / "weights"
SHAPE_PREDICTOR = "shape_predictor_5_face_landmarks.dat"      # dlib detector's landmarks, and face chips
DLIB_RESNET = "dlib_face_recognition_resnet_model_v1.dat"     # the Dlib recognition model
DLIB_FILES = (SHAPE_PREDICTOR, DLIB_RESNET)                   # shipped by face_recognition_models


@dataclass(frozen=True)
class Needs:
    """What a detector or model needs besides DeepFace itself."""
    files: tuple[str, ...] = ()      # under <DEEPFACE_HOME>/.deepface/weights/
    packages: tuple[str, ...] = ()   # importable module names
    cv2_data: bool = False           # the files may be in OpenCV's own data/ folder instead


_YOLO = {f"yolov{v}": Needs((f"yolov{v}-face.pt",), ("ultralytics",))
         for v in ("8n", "8m", "8l", "11n", "11s", "11m", "11l", "12n", "12s", "12m", "12l")}

DETECTORS: dict[str, Needs] = {
    "opencv": Needs(("haarcascade_frontalface_default.xml", "haarcascade_eye.xml"), ("cv2",), cv2_data=True),
    "mtcnn": Needs(packages=("mtcnn",)),                    # weights ship inside the wheel
    "dlib": Needs((SHAPE_PREDICTOR,), ("dlib",)),
    "ssd": Needs(("deploy.prototxt", "res10_300x300_ssd_iter_140000.caffemodel")),
    "retinaface": Needs(("retinaface.h5",), ("retinaface",)),
    "mediapipe": Needs(packages=("mediapipe",)),
    "yunet": Needs(("face_detection_yunet_2023mar.onnx",)),
    "fastmtcnn": Needs(packages=("facenet_pytorch", "torch")),
    "centerface": Needs(("centerface.onnx",)),
    **_YOLO,
}

MODELS: dict[str, Needs] = {
    "VGG-Face": Needs(("vgg_face_weights.h5",)),
    "Facenet": Needs(("facenet_weights.h5",)),
    "Facenet512": Needs(("facenet512_weights.h5",)),
    "OpenFace": Needs(("openface_weights.h5",)),
    "DeepFace": Needs(("VGGFace2_DeepFace_weights_val-0.9034.h5",)),
    "DeepID": Needs(("deepid_keras_weights.h5",)),
    "Dlib": Needs((DLIB_RESNET,), ("dlib",)),
    "ArcFace": Needs(("arcface_weights.h5",)),
    "SFace": Needs(("face_recognition_sface_2021dec.onnx",)),
    "GhostFaceNet": Needs(("ghostfacenet_v1.h5",)),
    "Buffalo_L": Needs(("buffalo_l/webface_r50.onnx",), ("insightface",)),
}

# pip names that differ from the module names above
PIP_NAMES = {"retinaface": "retina-face", "facenet_pytorch": "facenet-pytorch", "cv2": "opencv-contrib-python-headless"}


class MissingWeights(UserError):
    """A weight file DeepFace needs is not on disk (and will not be downloaded)."""


def weights_folder(cfg: FacesConfig | None = None) -> Path:
    """Where DeepFace reads weights: `<DEEPFACE_HOME>/.deepface/weights/`.

    Sets DEEPFACE_HOME to `faces.weights_dir` first when it is not set yet (and a
    config is given), so that DeepFace and the worker processes agree.
    """
    if cfg is not None and not os.environ.get("DEEPFACE_HOME"):
        os.environ["DEEPFACE_HOME"] = str(cfg.weights_dir)
    home = os.environ.get("DEEPFACE_HOME") or str(Path.home())
    return Path(home).expanduser().resolve() / WEIGHTS_SUBDIR


def prepare(cfg: FacesConfig) -> Path:
    """Make the weights for cfg's detector, model and alignment available, or stop with one line.

    Checks the names against DeepFace's, the Python packages and the weight files;
    copies dlib's files from face_recognition_models when they are needed and
    absent. Imports no model (and no TensorFlow). Returns the weights folder.
    """
    folder = weights_folder(cfg)
    detectors, models = known_names()
    _check_name(cfg, "detector_backend", cfg.detector_backend, detectors, "detector")
    _check_name(cfg, "model_name", cfg.model_name, models, "recognition model")
    wanted = [("detector_backend", cfg.detector_backend, DETECTORS.get(cfg.detector_backend, Needs())),
              ("model_name", cfg.model_name, MODELS.get(cfg.model_name, Needs()))]
    if cfg.alignment == "chip":
        wanted.append(("align", "chip", Needs((SHAPE_PREDICTOR,), ("dlib",))))
    for key, name, needs in wanted:
        for module in needs.packages:
            if find_spec(module) is None:
                pip = PIP_NAMES.get(module, module)
                raise UserError(f"faces.{key}: {name} needs the Python package {pip}, "
                                f"which is not installed (pip install {pip})")
        for file in needs.files:
            if needs.cv2_data and _is_weight_file(_cv2_data() / file):
                continue
            if not _is_weight_file(folder / file) and file in DLIB_FILES:
                _copy_from_face_recognition_models(file, folder)
            if not _is_weight_file(folder / file):
                raise MissingWeights(_missing(key, name, file, folder))
    return folder


def forbid_downloads() -> None:
    """Make DeepFace's (and retina-face's) weight downloader fail at once with the one-line message.

    Both look a file up in the weights folder first, then go to the network; the
    replacement keeps the look-up and raises `MissingWeights` instead.
    """
    from deepface.commons import weight_utils

    weight_utils.download_weights_if_necessary = _present_or_fail
    if find_spec("retinaface") is not None:
        from retinaface.commons import weight_utils as retinaface_weights

        retinaface_weights.download_weights_if_necessary = _present_or_fail


def known_names() -> tuple[list[str], list[str]]:
    """DeepFace's detector backend names and recognition model names (imports no model)."""
    from deepface.modules.modeling import AVAILABLE_MODELS

    return sorted(AVAILABLE_MODELS["face_detector"]), sorted(AVAILABLE_MODELS["facial_recognition"])


def _check_name(cfg: FacesConfig, key: str, name: str, valid: list[str], what: str) -> None:
    if name not in valid:
        raise UserError(f"{cfg.config_path}: faces.{key}: {name!r} is not a DeepFace {what} "
                        f"(one of: {', '.join(valid)})")


def _present_or_fail(file_name: str, *args, **kwargs) -> str:
    folder = weights_folder()
    if _is_weight_file(folder / file_name):
        return str(folder / file_name)
    raise MissingWeights(_missing(None, None, file_name, folder))


def _missing(key: str | None, name: str | None, file: str, folder: Path) -> str:
    who = f"faces.{key}: {name} needs" if key else "DeepFace needs"
    return (f"{who} the weight file {file}, which is not in {folder} "
            f"(nothing is downloaded: put the file there, or choose another in settings.yaml)")


def _is_weight_file(path: Path) -> bool:
    return path.is_file() and path.stat().st_size > 0


def _cv2_data() -> Path:
    spec = find_spec("cv2")
    return Path(spec.origin).parent / "data" if spec and spec.origin else Path("/nonexistent")


def _copy_from_face_recognition_models(file: str, folder: Path) -> None:
    spec = find_spec("face_recognition_models")   # not imported: its __init__ needs pkg_resources
    if spec is None or not spec.submodule_search_locations:
        return
    source = Path(list(spec.submodule_search_locations)[0]) / "models" / file
    if not source.is_file():
        return
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".{file}.{os.getpid()}.partial"   # workers may copy at the same time
    shutil.copyfile(source, partial)
    os.replace(partial, folder / file)
