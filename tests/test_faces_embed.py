"""faces.embed: dlib face chips in the right colour order, DeepFace's alignment, big photos, one load."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from conftest import FGNET, REPO, shuffled_tiles
from faces.config import load_config
from faces.embed import FaceEncoder
from faces.images import load_rgb

pytestmark = pytest.mark.slow
PHOTO = "002A36.JPG"


def encoder_for(tmp_path, **faces) -> FaceEncoder:
    lines = "".join(f"  {k}: {v}\n" for k, v in faces.items())
    (tmp_path / "settings.yaml").write_text(f"data: data\nfaces:\n{lines or '  {}'}\n", encoding="utf-8")
    return FaceEncoder(load_config(tmp_path / "settings.yaml"))


@pytest.fixture(scope="module")
def chips(bench_kit, deepface_home, tmp_path_factory) -> FaceEncoder:
    return encoder_for(tmp_path_factory.mktemp("chips"))


@pytest.fixture(scope="module")
def photo(bench_kit) -> np.ndarray:
    return load_rgb(FGNET / "images" / PHOTO)


def test_dlib_detector_and_model_load_without_tensorflow(chips, tmp_path):
    # TensorFlow costs 5-9 s and ~0.5 GB per process; dlib, opencv and Dlib do not use it.
    (tmp_path / "settings.yaml").write_text("faces: {}\n", encoding="utf-8")
    code = ("import sys; from faces.config import load_config; from faces.embed import FaceEncoder; "
            f"e = FaceEncoder(load_config({str(tmp_path / 'settings.yaml')!r})); "
            "print(e.key, 'tensorflow' in sys.modules, 'deepface.DeepFace' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "('dlib', 'Dlib', 'chip') False False"
    assert out.stderr == ""


def test_chip_embedding_equals_dlibs_own_path_in_rgb(chips, photo, deepface_home):
    import dlib

    [face] = chips.faces(photo)
    assert face.embedding.shape == (128,) and face.embedding.dtype == np.float32
    assert len(face.landmarks["shape_5"]) == 5 and {"left_eye", "right_eye"} <= set(face.landmarks)
    folder = deepface_home / ".deepface" / "weights"
    shapes = dlib.shape_predictor(str(folder / "shape_predictor_5_face_landmarks.dat"))
    model = dlib.face_recognition_model_v1(str(folder / "dlib_face_recognition_resnet_model_v1.dat"))
    x, y, w, h = face.box
    shape = shapes(photo, dlib.rectangle(x, y, x + w, y + h))
    # dlib's reference: the 150-px, 0.25-padding chip of an RGB image, cut inside dlib
    reference = np.array(model.compute_face_descriptor(photo, shape))
    swapped = np.array(model.compute_face_descriptor(np.ascontiguousarray(photo[:, :, ::-1]), shape))
    assert np.linalg.norm(face.embedding - reference) < 0.01
    assert np.linalg.norm(swapped - reference) > 0.1     # so a colour mix-up would show


def test_deepface_alignment_is_the_other_mode(chips, photo, tmp_path):
    other = encoder_for(tmp_path, align="deepface")
    assert other.key == ("dlib", "Dlib", "deepface")
    [aligned] = other.faces(photo)
    [chip] = chips.faces(photo)
    assert aligned.box == chip.box
    assert "shape_5" not in aligned.landmarks
    distance = np.linalg.norm(aligned.embedding - chip.embedding)
    assert 0.02 < distance < 0.6                          # the same person, through another crop


def test_big_photos_are_searched_smaller_and_boxes_scaled_back(chips, photo):
    big = np.asarray(Image.fromarray(photo).resize((photo.shape[1] * 6, photo.shape[0] * 6)))
    assert max(big.shape) > 2048
    [small_face] = chips.faces(photo)
    [big_face] = chips.faces(big)
    assert iou(np.array(big_face.box) / 6, small_face.box) > 0.6   # dlib's boxes step with its pyramid
    assert np.linalg.norm(big_face.embedding - small_face.embedding) < 0.2


def iou(a, b) -> float:
    (ax, ay, aw, ah), (bx, by, bw, bh) = a, b
    w = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    h = max(0, min(ay + ah, by + bh) - max(ay, by))
    return w * h / (aw * ah + bw * bh - w * h)


def test_no_face_no_embedding(chips, photo):
    assert chips.faces(shuffled_tiles(photo)) == []


def test_numpy_runtime_gives_what_deepface_gives(chips, photo, tmp_path):
    # dlib_runtime: deepface embeds the same chip through DeepFace.represent and dlib's own build
    through_deepface = encoder_for(tmp_path, dlib_runtime="deepface")
    assert chips.resnet is not None and through_deepface.resnet is None
    assert through_deepface.key == chips.key          # the same vectors, so the same index
    [a], [b] = chips.faces(photo), through_deepface.faces(photo)
    assert a.box == b.box
    assert np.linalg.norm(a.embedding - b.embedding) < 0.01
