"""faces.references: one face per reference photo, the largest of several, clear errors."""
from __future__ import annotations

import logging

import numpy as np
import pytest
from PIL import Image

from conftest import FGNET, jpeg_claiming, shuffled_tiles
from faces.config import UserError, load_config
from faces.embed import DetectedFace
from faces.images import load_rgb
from faces.references import embeddings, read_faces


class BoxesByColour:
    """A stand-in encoder: an image's red value says how many faces it holds, each bigger than the last."""

    def __init__(self):
        self.calls = 0

    def faces(self, rgb):
        self.calls += 1
        n = int(rgb[0, 0, 0]) // 50
        return [DetectedFace((10 * k, 0, 20 + 10 * k, 20 + 10 * k), 1.0, {}, np.full(4, k, np.float32))
                for k in range(n)]


def write(folder, name, red):
    folder.mkdir(exist_ok=True)
    Image.new("RGB", (60, 40), (red, 0, 0)).save(folder / name)
    return folder / name


def test_one_face_each_and_the_largest_of_several(tmp_path, caplog):
    write(tmp_path / "refs", "a.jpg", 50)        # one face
    write(tmp_path / "refs", "b.png", 150)       # three faces: the last is the largest
    (tmp_path / "refs" / "notes.txt").write_text("not a photo")
    caplog.set_level(logging.INFO, logger="faces.references")
    faces = read_faces(tmp_path / "refs", BoxesByColour())
    assert [f.path.name for f in faces] == ["a.jpg", "b.png"]
    assert [f.faces_in_photo for f in faces] == [1, 3]
    assert faces[1].box == (20, 0, 40, 40)
    assert embeddings(faces).tolist() == [[0.0] * 4, [2.0] * 4]
    assert "b.png: 3 faces, using the largest (x=20 y=0 w=40 h=40)" in caplog.text
    assert "a.jpg" not in caplog.text


def test_a_photo_without_a_face_is_an_error_naming_it(tmp_path):
    write(tmp_path / "refs", "a.jpg", 50)
    bad = write(tmp_path / "refs", "empty.jpg", 0)
    with pytest.raises(UserError, match=f"{bad}: no face found in this reference photo"):
        read_faces(tmp_path / "refs", BoxesByColour())


def test_unreadable_missing_and_empty_folders(tmp_path):
    (tmp_path / "refs").mkdir()
    (tmp_path / "refs" / "page.jpg").write_text("<!DOCTYPE html><html></html>")
    with pytest.raises(UserError, match=r"page\.jpg: negative photo cannot be read: not an image \(an HTML page\)"):
        read_faces(tmp_path / "refs", BoxesByColour(), what="negative")
    with pytest.raises(UserError, match="reference folder not found"):
        read_faces(tmp_path / "nowhere", BoxesByColour())
    (tmp_path / "blank").mkdir()
    with pytest.raises(UserError, match="no photos in the reference folder"):
        read_faces(tmp_path / "blank", BoxesByColour())


@pytest.mark.slow
def test_with_the_real_encoder(bench_kit, deepface_home, tmp_path, caplog):
    from faces.embed import FaceEncoder

    (tmp_path / "settings.yaml").write_text("data: data\nfaces: {}\n", encoding="utf-8")
    encoder = FaceEncoder(load_config(tmp_path / "settings.yaml"))
    refs = tmp_path / "refs"
    refs.mkdir()
    small = Image.open(FGNET / "images" / "002A36.JPG").convert("RGB")
    big = Image.open(FGNET / "images" / "011A13.JPG").convert("RGB")
    small.save(refs / "alone.jpg")
    pair = Image.new("RGB", (1000, 500), (128, 128, 128))        # 002 small on the left, 011 large on the right
    pair.paste(small.resize((small.width * 200 // small.height, 200)), (0, 0))
    pair.paste(big.resize((big.width * 480 // big.height, 480)), (430, 0))
    pair.save(refs / "pair.jpg")
    caplog.set_level(logging.INFO, logger="faces.references")
    alone, chosen = read_faces(refs, encoder)
    assert alone.faces_in_photo == 1 and chosen.faces_in_photo == 2
    assert chosen.box[0] >= 430                                  # the large face on the right
    assert "pair.jpg: 2 faces, using the largest" in caplog.text
    # The chosen face is 011's: closer to 011 alone than to 002 alone.
    [only_011] = encoder.faces(load_rgb(FGNET / "images" / "011A13.JPG"))
    assert np.linalg.norm(chosen.embedding - only_011.embedding) < np.linalg.norm(chosen.embedding - alone.embedding)
    Image.fromarray(shuffled_tiles(np.asarray(small))).save(refs / "zz-no-face.jpg")
    with pytest.raises(UserError, match="zz-no-face.jpg: no face found"):
        read_faces(refs, encoder)

    (refs / "zz-no-face.jpg").unlink()
    (tmp_path / "settings.yaml").write_text("data: data\nfaces:\n  min_face_size: 10000\n", encoding="utf-8")
    strict = FaceEncoder(load_config(tmp_path / "settings.yaml"))
    with pytest.raises(UserError, match=r"alone.jpg: no face kept in this reference photo: the detector found "
                                        r"1 face \(\d+ pixels across\) but faces.min_face_size is 10000"):
        read_faces(refs, strict)


def test_problems_can_be_collected_instead_of_raised(tmp_path):
    write(tmp_path / "seeds", "a.jpg", 50)
    write(tmp_path / "seeds", "b.jpg", 0)
    skipped: list[str] = []
    faces = read_faces(tmp_path / "seeds", BoxesByColour(), what="seed", skipped=skipped)
    assert [f.path.name for f in faces] == ["a.jpg"]
    assert len(skipped) == 1 and skipped[0].endswith("b.jpg: no face found in this seed photo (use a photo where "
                                                     "the face is clear, frontal and at least ~40 pixels wide, "
                                                     "or remove it)")


def test_a_huge_reference_photo_is_one_line_naming_it(tmp_path):
    write(tmp_path / "refs", "a.jpg", 50)
    (tmp_path / "refs" / "b.jpg").write_bytes(jpeg_claiming(18000, 10500))
    with pytest.raises(UserError) as err:
        read_faces(tmp_path / "refs", BoxesByColour())
    assert str(err.value) == (f"{tmp_path / 'refs' / 'b.jpg'}: reference photo cannot be read: "
                              f"image too large (189 megapixels; the limit is 89)")


class Thresholded:
    """A stand-in encoder whose detector finds one 180-px face of confidence 0.7, then applies its limits."""

    def __init__(self, min_face_size=0, min_confidence=0.0):
        from faces.detect import Detection, keep_faces

        class Detector:
            def detect(self, rgb):
                found = [Detection((5, 5, 180, 200), 0.7)]
                return keep_faces(found, (rgb.shape[1], rgb.shape[0]), self.min_confidence, self.min_face_size)

        self.detector = Detector()
        self.detector.min_face_size, self.detector.min_confidence = min_face_size, min_confidence

    def faces(self, rgb):
        return [DetectedFace(d.box, d.confidence, {}, np.ones(4, np.float32)) for d in self.detector.detect(rgb)]


@pytest.mark.parametrize("limits, message", [
    ({"min_face_size": 10000}, "no face kept in this reference photo: the detector found 1 face (180 pixels "
                               "across) but faces.min_face_size is 10000 in settings.yaml (lower it to at most "
                               "180, or use a photo where the face is larger)"),
    ({"min_confidence": 0.9}, "no face kept in this reference photo: the detector found 1 face (confidence 0.70) "
                              "but faces.min_confidence is 0.9 in settings.yaml (lower it to at most 0.70, "
                              "or use a clearer photo)"),
])
def test_a_face_dropped_by_the_settings_names_the_setting(tmp_path, limits, message):
    Image.new("RGB", (300, 300)).save(tmp_path / "me.jpg")
    encoder = Thresholded(**limits)
    with pytest.raises(UserError) as err:
        read_faces(tmp_path, encoder)
    assert str(err.value) == f"{tmp_path / 'me.jpg'}: {message}"
    assert (encoder.detector.min_face_size, encoder.detector.min_confidence) == (      # the encoder is unchanged
        limits.get("min_face_size", 0), limits.get("min_confidence", 0.0))
    assert len(read_faces(tmp_path, Thresholded(min_face_size=180, min_confidence=0.7))) == 1
