"""faces.weights: offline weights, dlib's copied in, one line (file and folder) for anything missing."""
from __future__ import annotations

import time
from importlib.util import find_spec
from pathlib import Path

import pytest

from faces import weights
from faces.config import load_config

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def config(tmp_path: Path, **faces):
    lines = "".join(f"  {k}: {v}\n" for k, v in faces.items())
    (tmp_path / "settings.yaml").write_text(f"data: data\nfaces:\n  weights_dir: models\n{lines}", encoding="utf-8")
    return load_config(tmp_path / "settings.yaml")


@pytest.fixture(autouse=True)
def no_deepface_home(monkeypatch):
    monkeypatch.delenv("DEEPFACE_HOME", raising=False)


def test_dlib_files_are_copied_into_the_weights_dir(tmp_path):
    folder = weights.prepare(config(tmp_path))
    assert folder == tmp_path / "models" / ".deepface" / "weights"
    assert sorted(p.name for p in folder.iterdir()) == sorted(weights.DLIB_FILES)
    assert (folder / weights.DLIB_RESNET).stat().st_size > 20_000_000
    assert weights.weights_folder() == folder             # DEEPFACE_HOME now points there


def test_deepface_home_set_by_the_user_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("DEEPFACE_HOME", str(tmp_path / "mine"))
    assert weights.prepare(config(tmp_path)) == tmp_path / "mine" / ".deepface" / "weights"
    assert not (tmp_path / "models").exists()


def test_opencv_cascades_come_from_opencv_itself(tmp_path):
    folder = weights.prepare(config(tmp_path, detector_backend="opencv", align="deepface"))
    assert [p.name for p in folder.iterdir()] == [weights.DLIB_RESNET]   # no shape predictor needed either


@pytest.mark.parametrize("faces, needle", [
    ({"detector_backend": "retinaface"}, "faces.detector_backend: retinaface needs the weight file retinaface.h5, "
                                         "which is not in {folder} (nothing is downloaded"),
    ({"model_name": "Facenet512"}, "faces.model_name: Facenet512 needs the weight file facenet512_weights.h5, "
                                   "which is not in {folder}"),
    ({"detector_backend": "yolov8n"}, "faces.detector_backend: yolov8n needs the Python package ultralytics, "
                                      "which is not installed (pip install ultralytics)"),
    ({"detector_backend": "retinafce"}, "faces.detector_backend: 'retinafce' is not a DeepFace detector "
                                        "(one of: centerface, dlib, fastmtcnn, mediapipe, mtcnn, opencv, retinaface,"),
    ({"model_name": "dlib"}, "faces.model_name: 'dlib' is not a DeepFace recognition model (one of: ArcFace, "
                             "Buffalo_L, DeepFace, DeepID, Dlib, Facenet, Facenet512, GhostFaceNet, OpenFace, SFace, "
                             "VGG-Face)"),
])
def test_one_line_for_what_is_missing(tmp_path, faces, needle):
    start = time.monotonic()
    with pytest.raises(weights.UserError) as err:
        weights.prepare(config(tmp_path, **faces))
    message = str(err.value)
    assert needle.format(folder=tmp_path / "models" / ".deepface" / "weights") in message
    assert "\n" not in message
    assert time.monotonic() - start < 5                   # no network, no model loaded


def test_deepface_downloads_fail_at_once_with_the_same_line(tmp_path, monkeypatch):
    monkeypatch.setenv("DEEPFACE_HOME", str(tmp_path))
    weights.forbid_downloads()
    from deepface.commons import weight_utils
    from retinaface.commons import weight_utils as retinaface_weights

    folder = tmp_path / ".deepface" / "weights"
    start = time.monotonic()
    with pytest.raises(weights.MissingWeights, match=f"DeepFace needs the weight file arcface_weights.h5, "
                                                     f"which is not in {folder}"):
        weight_utils.download_weights_if_necessary(file_name="arcface_weights.h5", source_url="https://example.org/a")
    with pytest.raises(weights.MissingWeights, match="retinaface.h5"):
        retinaface_weights.download_weights_if_necessary("retinaface.h5", ["https://example.org/r"])
    assert time.monotonic() - start < 1
    folder.mkdir(parents=True)
    (folder / "arcface_weights.h5").write_bytes(b"weights")
    assert weight_utils.download_weights_if_necessary("arcface_weights.h5", "https://example.org/a") == \
        str(folder / "arcface_weights.h5")


def _module_source(dotted: str) -> str:
    return Path(find_spec(dotted.rpartition(".")[0]).origin).read_text(encoding="utf-8")


def test_tables_match_the_installed_deepface():
    from deepface.modules.modeling import AVAILABLE_MODELS

    assert set(weights.DETECTORS) == set(AVAILABLE_MODELS["face_detector"])
    assert set(weights.MODELS) == set(AVAILABLE_MODELS["facial_recognition"])
    retinaface_source = Path(find_spec("retinaface").submodule_search_locations[0], "model",
                             "retinaface_model.py").read_text(encoding="utf-8")
    for task, table in (("face_detector", weights.DETECTORS), ("facial_recognition", weights.MODELS)):
        for name, needs in table.items():
            sources = AVAILABLE_MODELS[task][name]
            text = _module_source(sources.get("tensorflow") or sources["any"])
            text += retinaface_source if name == "retinaface" else ""
            for file in needs.files:
                assert Path(file).name in text, (name, file)
