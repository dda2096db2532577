"""faces.dlib_resnet: dlib's face recognition network read from its file and run by numpy gives dlib's numbers."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import FGNET
from faces.dlib_resnet import CHIP_SIZE, DlibResNet, read_layers
from faces.images import load_rgb

PHOTOS = ("001A02.JPG", "002A36.JPG", "010A07b.JPG", "015A03.JPG", "025A03.JPG", "035A05.JPG")


@pytest.fixture(scope="module")
def files():
    import face_recognition_models as models

    return models.face_recognition_model_location(), models.pose_predictor_five_point_model_location()


@pytest.fixture(scope="module")
def chips(bench_kit, files) -> np.ndarray:
    """150-px face chips of bench faces of several people and ages, cut by dlib as its Python API does."""
    import dlib

    detector, shapes = dlib.get_frontal_face_detector(), dlib.shape_predictor(files[1])
    cut = []
    for name in PHOTOS:
        rgb = load_rgb(FGNET / "images" / name)
        for box in detector(rgb, 1):
            cut.append(dlib.get_face_chip(rgb, shapes(rgb, box), size=CHIP_SIZE, padding=0.25))
    assert len(cut) >= len(PHOTOS) - 1
    return np.stack(cut)


@pytest.fixture(scope="module")
def network(files) -> DlibResNet:
    return DlibResNet.load(files[0])


def test_descriptors_equal_dlibs_own(network, chips, files):
    import dlib

    dlib_net = dlib.face_recognition_model_v1(files[0])
    expected = np.array([dlib_net.compute_face_descriptor(chip) for chip in chips], dtype=np.float32)
    got = network.descriptors(chips)
    assert got.shape == (len(chips), 128) and got.dtype == np.float32
    assert np.abs(got - expected).max() < 1e-4
    # the numbers carry identity: different people's chips are far apart (dlib's same-person bar is 0.6)
    distances = np.linalg.norm(got[:, None] - got[None], axis=-1)
    assert distances[np.triu_indices(len(got), 1)].min() > 0.3


def test_a_batch_gives_each_chips_own_descriptor(network, chips):
    one_by_one = np.concatenate([network.descriptors(chip[None]) for chip in chips])
    assert np.abs(network.descriptors(chips) - one_by_one).max() < 1e-5


def test_the_file_is_read_to_its_last_byte_as_dlibs_layout(files):
    means, layers = read_layers(open(files[0], "rb").read())
    assert means == pytest.approx((122.782, 117.001, 104.298), abs=1e-3)
    kinds = [layer[0] for layer in layers]
    assert (kinds.count("con"), kinds.count("add_prev"), kinds.count("avg_pool")) == (29, 14, 5)
    assert layers[0][1].shape == (32, 3, 7, 7) and layers[-1][1].shape == (256, 128)


def test_other_files_are_refused(files, tmp_path):
    with pytest.raises(ValueError, match="not a dlib metric-learning network"):
        DlibResNet.load(files[1])                         # the shape predictor: a dlib file, not a network
    truncated = tmp_path / "truncated.dat"
    truncated.write_bytes(open(files[0], "rb").read()[:5_000_000])
    with pytest.raises(ValueError):
        DlibResNet.load(truncated)


def test_wrong_chip_shape_is_refused(network):
    with pytest.raises(ValueError, match="150, 150, 3"):
        network.descriptors(np.zeros((1, 160, 160, 3), np.uint8))
