"""Face embeddings: detect, align, embed. `FaceEncoder` loads the detector and model once.

Two alignments (`faces.align`, see FacesConfig.alignment):
- "chip": dlib's 5-point shape predictor on each detected box, then a 150-px
  face chip with padding 0.25 (`dlib.get_face_chip`): the input the Dlib model
  was trained on, as in dlib's own `compute_face_descriptor(img, shape)`.
- "deepface": DeepFace's own crop, rotated level by the eyes.
The crops go through `represent(..., detector_backend="skip")`, except Dlib
chips with `faces.dlib_runtime: numpy` (the default): those go through
faces.dlib_resnet, the same network and weights 5x faster (see there why).

DeepFace is used through `deepface.modules` (`representation.represent` is what
`DeepFace.represent` calls): importing `deepface.DeepFace` imports TensorFlow
(5-9 s and ~0.5 GB per process) even when the detector and model chosen, like
dlib, opencv and Dlib, do not use it. Backends that need TensorFlow import it
themselves when they are built.
"""
from __future__ import annotations

import contextlib
import logging
import os
import sys
from dataclasses import dataclass

import numpy as np

from faces import weights
from faces.config import FacesConfig
from faces.detect import Box, Detection, FaceDetector
from faces.dlib_resnet import DlibResNet

CHIP_SIZE = 150        # pixels: the Dlib model's input
CHIP_PADDING = 0.25    # dlib's default: the chip shows a little more than the face


@dataclass(frozen=True)
class DetectedFace:
    box: Box                   # x, y, w, h: pixels of the upright photo
    confidence: float          # the detector's score, 0..1
    landmarks: dict            # the detector's points (see Detection); "chip" adds "shape_5": dlib's 5 points
    embedding: np.ndarray      # (D,) float32; D = 128 for Dlib


class FaceEncoder:
    """The detector, aligner and recognition model of a FacesConfig, loaded once.

    Raises UserError (one line) when a name is unknown or a weight file is
    missing; nothing is downloaded.
    """

    def __init__(self, cfg: FacesConfig):
        folder = weights.prepare(cfg)
        quiet_tensorflow()
        weights.forbid_downloads()
        from deepface.modules import modeling

        self.detector_backend, self.model_name, self.align = cfg.detector_backend, cfg.model_name, cfg.alignment
        self.resnet = None     # the Dlib model run by numpy, else DeepFace's model below
        if (cfg.model_name, self.align, cfg.dlib_runtime) == ("Dlib", "chip", "numpy"):
            self.resnet = DlibResNet.load(folder / weights.DLIB_RESNET)
        with stderr_silenced():   # TensorFlow's C++ start-up lines ignore its log settings
            self.detector = FaceDetector(cfg.detector_backend, cfg.min_confidence, cfg.min_face_size)
            if self.resnet is None:
                self.model = modeling.build_model(task="facial_recognition", model_name=cfg.model_name)
        self._shapes = None
        if self.align == "chip":
            import dlib

            self._shapes = dlib.shape_predictor(str(folder / weights.SHAPE_PREDICTOR))

    @property
    def key(self) -> tuple[str, str, str]:
        """(detector, model, align): what the store files these embeddings under."""
        return self.detector_backend, self.model_name, self.align

    def faces(self, rgb: np.ndarray) -> list[DetectedFace]:
        """Every face kept by the detector in an (H, W, 3) uint8 RGB photo, with its embedding."""
        detections = self.detector.detect(rgb)
        if self.align == "chip":
            aligned = [self._chip(rgb, det) for det in detections]
        else:
            bgr = np.ascontiguousarray(rgb[:, :, ::-1])
            aligned = [self._deepface_crop(bgr, det) for det in detections]
        aligned = [a for a in aligned if a is not None]
        if not aligned:
            return []
        vectors = self.embed([crop for _, crop, _ in aligned])
        return [DetectedFace(det.box, det.confidence, {**det.landmarks, **more}, vector)
                for (det, _, more), vector in zip(aligned, vectors)]

    def embed(self, bgr_faces: list[np.ndarray]) -> np.ndarray:
        """Embeddings (N, D) float32 of aligned face crops, each (h, w, 3) uint8 in BGR order."""
        if self.resnet is not None:
            return self.resnet.descriptors(np.stack([face[:, :, ::-1] for face in bgr_faces]))
        from deepface.modules import representation

        out = representation.represent(img_path=list(bgr_faces), model_name=self.model_name,
                                       detector_backend="skip", enforce_detection=False)
        if len(bgr_faces) == 1:   # represent() unwraps a batch of one
            out = [out]
        return np.asarray([faces[0]["embedding"] for faces in out], dtype=np.float32)

    def _chip(self, rgb: np.ndarray, det: Detection):
        """(det, BGR face chip, {"shape_5": dlib's points}) for one detection."""
        import dlib

        x, y, w, h = det.box
        # Any detector's box as it is: reshaping mtcnn's or opencv's boxes to dlib's (or finding
        # the points again in the box they imply) moved the chips but not the recognition rates
        # (tests/test_faces_chip_boxes.py has the figures).
        shape = self._shapes(rgb, dlib.rectangle(x, y, x + w, y + h))
        chip = dlib.get_face_chip(rgb, shape, size=CHIP_SIZE, padding=CHIP_PADDING)
        # dlib works in RGB; represent() takes BGR (as cv2 loads) and turns it back for dlib
        return det, np.ascontiguousarray(chip[:, :, ::-1]), {"shape_5": [(p.x, p.y) for p in shape.parts()]}

    def _deepface_crop(self, bgr: np.ndarray, det: Detection):
        """(det, DeepFace's eye-aligned BGR crop, {}) for one detection; None when the crop is empty."""
        from deepface.models.Detector import FacialAreaRegion
        from deepface.modules.detection import extract_face

        region = FacialAreaRegion(*det.box, confidence=det.confidence, **det.landmarks)
        face = extract_face(region, img=bgr, align=True, expand_percentage=0, width_border=0,
                            height_border=0, detector_backend=self.detector_backend).img
        return (det, face, {}) if face.size else None


def quiet_tensorflow() -> None:
    """TensorFlow settings DeepFace makes on import, plus silence; harmless when TF is never loaded."""
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")    # DeepFace's models are tf-keras models
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)


@contextlib.contextmanager
def stderr_silenced():
    """Send file descriptor 2 to /dev/null for a while (C++ libraries write there directly)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
