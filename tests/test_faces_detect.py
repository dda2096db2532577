"""faces.detect: junk detections dropped, boxes clipped, DeepFace regions converted (no model needed)."""
from __future__ import annotations

from deepface.models.Detector import FacialAreaRegion

from faces.detect import Detection, from_region, keep_faces


def test_whole_photo_placeholder_is_dropped():
    placeholder = Detection((0, 0, 640, 480), 0.0)
    real = Detection((10, 10, 100, 120), 0.0)               # dlib's clamped scores can be 0 too
    assert keep_faces([placeholder, real], (640, 480), 0.0, 20) == [real]


def test_low_confidence_and_small_faces_are_dropped():
    found = [Detection((0, 0, 50, 50), 0.95), Detection((100, 0, 50, 50), 0.5),
             Detection((200, 0, 19, 60), 0.99), Detection((300, 0, 20, 20), 0.99)]
    assert keep_faces(found, (640, 480), 0.9, 20) == [found[0], found[3]]


def test_boxes_are_clipped_to_the_photo_before_the_size_check():
    found = [Detection((-10, -5, 60, 50), 0.9, {"left_eye": (30, 10)}), Detection((630, 0, 50, 50), 0.9)]
    assert keep_faces(found, (640, 480), 0.0, 20) == [Detection((0, 0, 50, 45), 0.9, {"left_eye": (30, 10)})]
    assert keep_faces([Detection((700, 0, 50, 50), 0.9)], (640, 480), 0.0, 0) == []


def test_regions_become_detections_in_full_size_pixels():
    region = FacialAreaRegion(x=10, y=20, w=30, h=40, left_eye=(35, 30), right_eye=(15, 31), confidence=0.87,
                              nose=(25, 40))
    assert from_region(region) == Detection((10, 20, 30, 40), 0.87,
                                            {"left_eye": (35, 30), "right_eye": (15, 31), "nose": (25, 40)})
    assert from_region(region, scale=2.0) == Detection((20, 40, 60, 80), 0.87,
                                                       {"left_eye": (70, 60), "right_eye": (30, 62), "nose": (50, 80)})
    assert from_region(FacialAreaRegion(x=1, y=2, w=3, h=4)).confidence == 0.0
