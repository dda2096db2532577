"""Face detection with any DeepFace detector backend, junk dropped.

The backend's detector is called directly on the photo (`Detector.detect_faces`)
rather than through `DeepFace.extract_faces`, which first pads the photo with a
black border half its size on every side (four times the pixels to search)
and, when it finds nothing, returns the whole photo as a "face" with
confidence 0. `keep_faces` still drops such a whole-photo box, should a
backend ever return one.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

# Photos larger than this (longer side, pixels) are searched at this size and the
# boxes scaled back: a 12-megapixel phone photo would otherwise take ~10 s with
# the dlib detector. Faces under ~1.5 % of the photo's width are lost.
MAX_DETECTION_SIDE = 2048

Box = tuple[int, int, int, int]          # x, y, w, h in pixels of the upright photo


@dataclass(frozen=True)
class Detection:
    box: Box
    confidence: float                    # the backend's score, 0..1 (dlib and opencv: clamped)
    # Points with respect to the person ("left_eye" is the person's left eye), (x, y)
    # pixels of the photo, as the backend gives them: eyes for most, also nose and
    # mouth corners for retinaface and some others.
    landmarks: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def size(self) -> int:
        """The box's shorter side, pixels."""
        return min(self.box[2], self.box[3])


class FaceDetector:
    """One DeepFace detector backend, loaded once. `detect(rgb)` lists the faces worth keeping."""

    def __init__(self, backend: str, min_confidence: float = 0.0, min_face_size: int = 0):
        from deepface.modules import modeling

        self.backend = backend
        self.min_confidence = min_confidence
        self.min_face_size = min_face_size
        self.model = modeling.build_model(task="face_detector", model_name=backend)

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        """Faces in an (H, W, 3) uint8 RGB photo, as found by the backend, junk dropped."""
        import cv2

        height, width = rgb.shape[:2]
        scale = min(1.0, MAX_DETECTION_SIDE / max(height, width))
        bgr = np.ascontiguousarray(rgb[:, :, ::-1])   # DeepFace's detectors expect cv2's BGR order
        if scale < 1.0:
            bgr = cv2.resize(bgr, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
        found = [from_region(region, 1.0 / scale) for region in self.model.detect_faces(bgr)]
        return keep_faces(found, (width, height), self.min_confidence, self.min_face_size)


def from_region(region: Any, scale: float = 1.0) -> Detection:
    """A Detection from DeepFace's FacialAreaRegion found on a photo resized by 1/scale."""
    def point(value) -> tuple[int, int]:
        return round(float(value[0]) * scale), round(float(value[1]) * scale)

    landmarks = {name: point(getattr(region, name))
                 for name in ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")
                 if getattr(region, name, None) is not None}
    box = point((region.x, region.y)) + point((region.w, region.h))
    return Detection(box=box, confidence=float(region.confidence or 0.0), landmarks=landmarks)


def keep_faces(found: list[Detection], image_size: tuple[int, int],
               min_confidence: float, min_face_size: int) -> list[Detection]:
    """The detections worth embedding, boxes clipped to the photo.

    Dropped: a box covering the whole photo with confidence 0 (DeepFace's "no
    face found" placeholder), confidence below `min_confidence`, and boxes whose
    shorter side (after clipping) is below `min_face_size` pixels or empty.
    `image_size` is (width, height).
    """
    width, height = image_size
    kept = []
    for det in found:
        x, y, w, h = det.box
        if (x, y, w, h) == (0, 0, width, height) and det.confidence == 0:
            continue
        x0, y0 = max(0, x), max(0, y)
        x1, y1 = min(width, x + w), min(height, y + h)
        clipped = Detection((x0, y0, x1 - x0, y1 - y0), det.confidence, det.landmarks)
        if clipped.size <= 0 or clipped.size < min_face_size or det.confidence < min_confidence:
            continue
        kept.append(clipped)
    return kept
