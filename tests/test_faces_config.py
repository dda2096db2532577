"""faces.config: defaults, relative paths, one-line errors naming the key."""
from pathlib import Path

import pytest

from faces.config import UserError, load_config


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "conf" / "settings.yaml"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")
    return p


def test_defaults_and_paths_relative_to_the_file(tmp_path):
    cfg = load_config(write(tmp_path, "data: store\nfaces:\n  references: me\n"))
    assert cfg.data_dir == tmp_path / "conf" / "store"
    assert cfg.manifest == tmp_path / "conf" / "store" / "albums.jsonl"
    assert cfg.references == tmp_path / "conf" / "me"
    assert (cfg.detector_backend, cfg.model_name, cfg.strategy) == ("dlib", "Dlib", "default")
    assert cfg.negatives is None
    assert cfg.workers >= 1


def test_env_variable_names_the_file(tmp_path, monkeypatch):
    path = write(tmp_path, "faces:\n  detector_backend: mtcnn\n")
    monkeypatch.setenv("PHOTOSCRAPE_CONFIG", str(path))
    assert load_config().detector_backend == "mtcnn"


def test_overrides_are_relative_to_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = load_config(write(tmp_path, "faces: {}\n"), references="refs", output="out")
    assert cfg.references == tmp_path / "refs"
    assert cfg.output == tmp_path / "out"


@pytest.mark.parametrize("text, needle", [
    ("faces:\n  min_face_size: big\n", "faces.min_face_size: expected a whole number"),
    ("faces:\n  min_confidence: 1.5\n", "faces.min_confidence: expected a number from 0 to 1"),
    ("faces:\n  detector: mtcnn\n", "faces.detector: unknown key (did you mean faces.detector_backend?)"),
    ("faces:\n  strategy: magic\n", "faces.strategy: expected one of default, seed"),
    ("faces:\n  align: sideways\n", "faces.align: expected one of auto, chip, deepface"),
    ("faces: [1, 2\n", "not valid YAML"),
    # A key given twice: plain YAML keeps the last one without a word.
    ("faces:\n  output: a\ndata: d\nfaces:\n  workers: 1\n", "faces: given twice (lines 1 and 4); keep one"),
    ("faces:\n  detector_backend: mtcnn\n  detector_backend: dlib\n", "detector_backend: given twice (lines 2 and 3)"),
    # Top-level typos would otherwise mean "every default" without a word.
    ("face:\n  detector_backend: mtcnn\n", "face: unknown key (did you mean faces?)"),
    ("dat: elsewhere\nfaces: {}\n", "dat: unknown key (did you mean data?)"),
    ("extra_thing: 1\n", "extra_thing: unknown key (known: data, site, faces)"),
    ("faces:\n  zzz: 1\n", "faces.zzz: unknown key (known: faces.detector_backend, faces.model_name"),
])
def test_bad_values_name_the_key(tmp_path, text, needle):
    with pytest.raises(UserError) as err:
        load_config(write(tmp_path, text))
    assert needle in str(err.value)
    assert "\n" not in str(err.value)


def test_the_top_level_holds_data_site_and_faces(tmp_path):
    cfg = load_config(write(tmp_path, "data: d\nsite:\n  start_urls: [x]\nfaces: {}\n"))
    assert cfg.data_dir == tmp_path / "conf" / "d"


def test_missing_file(tmp_path):
    with pytest.raises(UserError, match="settings file not found"):
        load_config(tmp_path / "nope.yaml")


@pytest.mark.parametrize("model, align, mode", [
    ("Dlib", "auto", "chip"), ("Facenet", "auto", "deepface"),
    ("Dlib", "deepface", "deepface"), ("Facenet", "chip", "chip"),
])
def test_align_auto_means_chips_for_dlib_only(tmp_path, model, align, mode):
    cfg = load_config(write(tmp_path, f"faces:\n  model_name: {model}\n  align: {align}\n"))
    assert cfg.alignment == mode


@pytest.mark.parametrize("output, needle", [
    ("store/photos", "store/photos is the photos folder: later runs would read the results as photos"),
    ("store/photos/results", "is inside the photos folder"),
    ("store", "contains the photos folder"),          # the data folder itself
    (".", "contains the photos folder"),
    ("me", "is the references folder"),
    ("me/results", "is inside the references folder"),
    ("others/out", "is inside the negatives folder"),
])
def test_an_output_folder_that_overlaps_what_is_read_is_refused(tmp_path, output, needle):
    text = f"data: store\nfaces:\n  references: me\n  negatives: others\n  output: {output}\n"
    with pytest.raises(UserError) as err:
        load_config(write(tmp_path, text))
    assert f"faces.output: {tmp_path / 'conf'}" in str(err.value) and needle in str(err.value)
    assert "\n" not in str(err.value)


def test_references_inside_the_output_are_refused_and_the_command_line_is_named(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, "data: store\nfaces:\n  references: results/me\n")
    with pytest.raises(UserError, match=r"^--output: .*/conf/results contains the references folder"):
        load_config(path, output="conf/results")
    with pytest.raises(UserError, match="faces.output: .* contains the references folder"):
        load_config(path)
    assert load_config(path, output="elsewhere").output == tmp_path / "elsewhere"


def test_workers_are_capped_at_the_cpu_cores(tmp_path, monkeypatch):
    monkeypatch.setattr("faces.config.os.sched_getaffinity", lambda pid: {0, 1})
    asked = load_config(write(tmp_path, "faces:\n  workers: 100\n"))
    assert (asked.workers, asked.workers_asked) == (2, 100)
    assert (load_config(write(tmp_path, "faces:\n  workers: 1\n")).workers_asked,
            load_config(write(tmp_path, "faces:\n  workers: 0\n")).workers) == (0, 2)


def test_a_tilde_in_data_means_the_home_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    cfg = load_config(write(tmp_path, "data: ~/albumsdata\nfaces:\n  references: ~/refs\n"))
    assert cfg.data_dir == tmp_path / "home" / "albumsdata"
    assert cfg.references == tmp_path / "home" / "refs"


def test_a_settings_file_that_is_not_utf8_is_one_line(tmp_path):
    path = tmp_path / "l1.yaml"
    path.write_bytes(b"faces: {}\ndata: d\xe9\n")
    with pytest.raises(UserError) as err:
        load_config(path)
    assert str(err.value) == f"{path} line 2: not UTF-8 text (save the file as UTF-8)"


def test_data_naming_a_file_is_one_line(tmp_path):
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "photos.zip").write_bytes(b"PK")
    with pytest.raises(UserError) as err:
        load_config(write(tmp_path, "data: photos.zip\n"))
    assert f"data: {tmp_path / 'conf' / 'photos.zip'} is a file, not a folder" in str(err.value)


@pytest.mark.parametrize("negatives, needle", [
    ("me", "is also the references folder"),
    ("me/friends", "is inside the references folder"),
    (".", "contains the references folder"),
])
def test_negatives_overlapping_the_references_are_refused(tmp_path, negatives, needle):
    text = f"faces:\n  references: me\n  negatives: {negatives}\n  output: {tmp_path / 'out'}\n"
    with pytest.raises(UserError) as err:
        load_config(write(tmp_path, text))
    assert str(err.value).startswith(f"{tmp_path / 'conf' / 'settings.yaml'}: faces.negatives: ")
    assert needle in str(err.value) and "\n" not in str(err.value)
