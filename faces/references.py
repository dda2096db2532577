"""The reference photos: who to find (`faces.references`, `--references DIR`) and who not.

A reference folder holds photos of the person, one face each. A photo with
several faces uses the largest (the log says so, with the box); a photo with no
face, or a file that is not an image, stops the run with a UserError naming
the file: a silent skip would leave the user believing it counted.

The optional negatives folder (`faces.negatives`) holds photos of people who
are NOT the person (the friend with the same glasses), read the same way.
"""
from __future__ import annotations

import copy
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from faces.cli import counted
from faces.config import UserError
from faces.images import UnreadableImage, image_files, load_rgb

log = logging.getLogger("faces.references")


class Encoder(Protocol):
    """What we need of faces.embed.FaceEncoder."""

    def faces(self, rgb: np.ndarray) -> list: ...


@dataclass(frozen=True)
class ReferenceFace:
    path: Path                          # the photo file
    box: tuple[int, int, int, int]      # x, y, w, h in pixels of the upright photo
    embedding: np.ndarray               # (D,) float32
    faces_in_photo: int                 # how many faces the detector found (the largest is used)


def reference_files(folder: Path, what: str) -> list[Path]:
    """The image files of a reference folder; a missing or empty folder is a UserError."""
    if not folder.is_dir():
        raise UserError(f"{folder}: {what} folder not found")
    files = image_files(folder)
    if not files:
        raise UserError(f"{folder}: no photos in the {what} folder (.jpg, .png, ...)")
    return files


def read_faces(folder: Path, encoder: Encoder, what: str = "reference",
               skipped: list[str] | None = None) -> list[ReferenceFace]:
    """One face per photo of `folder`: the only one, or the largest. `what` names the folder in messages.

    A photo that cannot be read or shows no face raises UserError naming it; when a
    `skipped` list is given, the message is appended there instead and the photo left out.
    """
    out = []
    for path in reference_files(folder, what):
        try:
            rgb = load_rgb(path)
        except UnreadableImage as exc:
            _problem(f"{path}: {what} photo cannot be read: {exc.reason}", skipped)
            continue
        faces = encoder.faces(rgb)
        if not faces:
            why = dropped_by_settings(encoder, rgb)
            _problem(f"{path}: no face kept in this {what} photo: {why}" if why else
                     f"{path}: no face found in this {what} photo (use a photo where the face "
                     f"is clear, frontal and at least ~40 pixels wide, or remove it)", skipped)
            continue
        largest = max(faces, key=lambda f: f.box[2] * f.box[3])
        if len(faces) > 1:
            log.info("%s: %d faces, using the largest (x=%d y=%d w=%d h=%d)", path.name, len(faces), *largest.box)
        out.append(ReferenceFace(path, tuple(int(v) for v in largest.box),
                                 np.asarray(largest.embedding, np.float32), len(faces)))
    return out


def dropped_by_settings(encoder: Encoder, rgb) -> str | None:
    """Why faces.min_face_size / faces.min_confidence dropped every face the detector found, or None.

    The detector is asked again without those limits (a copy sharing its loaded
    model); when it then finds faces, the settings are what the user must change,
    not the photo. None when the encoder has no such detector or nothing was found.
    """
    detector = getattr(encoder, "detector", None)
    if detector is None or not (detector.min_face_size or detector.min_confidence):
        return None
    unlimited = copy.copy(detector)
    unlimited.min_face_size, unlimited.min_confidence = 0, 0.0
    found = unlimited.detect(rgb)
    if not found:
        return None
    faces = f"the detector found {counted(len(found), 'face')}"
    large_enough = [d for d in found if d.size >= detector.min_face_size]
    if not large_enough:
        size = max(d.size for d in found)
        return (f"{faces} ({'the largest ' if len(found) > 1 else ''}{size} pixels across) but "
                f"faces.min_face_size is {detector.min_face_size} in settings.yaml (lower it to at most {size}, "
                f"or use a photo where the face is larger)")
    confidence = max(d.confidence for d in large_enough)
    if confidence >= detector.min_confidence:
        return None
    return (f"{faces} (confidence {confidence:.2f}{' at most' if len(large_enough) > 1 else ''}) but "
            f"faces.min_confidence is {detector.min_confidence:g} in settings.yaml (lower it to at most "
            f"{confidence:.2f}, or use a clearer photo)")


def _problem(message: str, skipped: list[str] | None) -> None:
    if skipped is None:
        raise UserError(message)
    skipped.append(message)


def embeddings(faces: list[ReferenceFace]) -> np.ndarray:
    """(len(faces), D) float32."""
    if not faces:
        return np.zeros((0, 0), np.float32)
    return np.stack([f.embedding for f in faces]).astype(np.float32)
