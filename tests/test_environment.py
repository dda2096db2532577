"""The installed environment: the traps measured on this machine stay closed."""
from importlib import metadata


def test_exactly_one_opencv_distribution():
    # Several OpenCV wheels write the same cv2/ folder; two installed means the
    # last one wins and uninstalling either breaks cv2.
    names = {d.metadata["Name"].lower() for d in metadata.distributions()}
    opencv = sorted(n for n in names if n.startswith("opencv"))
    assert opencv == ["opencv-contrib-python-headless"]


def test_cv2_has_cascade_classifier():
    # OpenCV 5 moved CascadeClassifier to contrib; DeepFace's "opencv" detector needs it.
    import cv2

    assert hasattr(cv2, "CascadeClassifier")
    assert cv2.data.haarcascades
