"""faces.expand on synthetic vectors: geometry built so the distances are known exactly."""
from __future__ import annotations

import numpy as np
import pytest

from faces.expand import Params, describe, expand

D = 128


def axis(i: int, length: float = 1.0) -> np.ndarray:
    v = np.zeros(D, np.float32)
    v[i] = length
    return v


def run(faces, photos=None, seeds=None, negatives=None, dates=None, **kw):
    faces = np.asarray(faces, np.float32)
    photos = np.arange(len(faces)) if photos is None else np.asarray(photos)
    seeds = np.zeros((1, D), np.float32) if seeds is None else np.asarray(seeds, np.float32)
    return expand(faces, photos, dates, seeds, negatives, Params(**kw))


def chain_and_stranger():
    """The person: seed at 0, then A, B, C, D, each 0.3 further along a new axis (ages).

    A stranger: three photos 0.28 apart (X1, X2, X3), X1 only 0.4 from D: one short
    step from the last face of the chain, but 0.5-0.72 from everything before it.
    """
    a = axis(0, 0.3)
    b = a + axis(1, 0.3)
    c = b + axis(2, 0.3)
    d = c + axis(3, 0.3)
    x1 = d + axis(4, 0.4)
    x2 = x1 + axis(5, 0.28)
    x3 = x1 + axis(6, 0.28)
    return np.stack([a, b, c, d, x1, x2, x3])


def test_chain_of_small_steps_is_followed_but_not_into_a_stranger_cluster_one_step_away():
    faces = chain_and_stranger()
    r = run(faces)
    assert r.accepted.tolist() == [True, True, True, True, False, False, False]
    assert r.order.tolist() == [0, 1, 2, 3]
    # The user's method walks straight into the stranger: X1 is 0.4 from D, X2 and X3 0.28 from X1.
    seed = run(faces, strategy="seed")
    assert seed.accepted.all()
    # A, B, C are within 0.54 of the seed itself; D of C; X1 of C and D; X2, X3 of X1.
    assert seed.round.tolist() == [0, 0, 0, 1, 1, 2, 2]


def test_the_stranger_is_refused_because_of_its_twins():
    # X1 alone (its own other photos absent) is only 0.539 from the references on average:
    # under the plain bar of 0.56, so it joins; its twins 0.28 away lower the bar to 0.496.
    faces = chain_and_stranger()
    alone = run(faces[:5])
    assert alone.accepted.tolist() == [True] * 5
    with_twins = run(faces)
    assert not with_twins.accepted[4]
    assert 0 < with_twins.score[4] < 0.5


def test_copies_of_the_same_picture_are_not_twins():
    faces = chain_and_stranger()[:5]
    copy = faces[4] + axis(7, 0.05)                 # X1 again (re-uploaded, re-encoded)
    r = run(np.vstack([faces, copy]))
    assert r.accepted.all()                          # the copy does not lower X1's bar; both photos join
    r2 = run(np.vstack([faces, copy]), duplicate=0.0)
    assert r2.accepted.tolist() == [True] * 4 + [False, False]   # as a twin, the copy would keep X1 out


def test_two_faces_in_one_photo_are_never_both_accepted():
    faces = np.stack([axis(0, 0.30), axis(1, 0.35), axis(2, 0.32)])
    r = run(faces, photos=[7, 7, 8])
    assert r.accepted.tolist() == [True, False, True]
    # The seed strategy (the user's method) takes every face within 0.54.
    assert run(faces, photos=[7, 7, 8], strategy="seed").accepted.all()


def test_a_face_beside_an_accepted_face_becomes_a_negative_that_blocks_its_lookalike():
    # Photo 1: the person (0.3 from the seed) beside a friend F (0.4 from the seed).
    # Photo 2: the friend again, 0.2 from F, 0.45 from the seed, 0.54 from the person.
    f = axis(1, 0.4)
    faces = np.stack([axis(0, 0.3), f, f + axis(2, 0.2)])
    r = run(faces, photos=[1, 1, 2])
    assert r.accepted.tolist() == [True, False, False]
    assert r.near_misses.tolist() == [2]             # blocked, so shown as a near miss; photo 1 is taken
    assert r.score[2] <= 0.5
    # Without the shared photo nothing marks the friend, and photo 2 joins.
    assert run(faces[[0, 2]], photos=[1, 2]).accepted.tolist() == [True, True]


def test_a_negative_close_to_a_candidate_blocks_it():
    candidate = axis(0, 0.4)
    assert run([candidate]).accepted.tolist() == [True]
    near = candidate + axis(1, 0.3)                  # 0.3 from the candidate, 0.5 from the seed
    assert run([candidate], negatives=[near]).accepted.tolist() == [False]
    far = candidate + axis(1, 0.5)                   # farther from it than the seed is
    assert run([candidate], negatives=[far]).accepted.tolist() == [True]


def test_nothing_farther_than_max_link_joins_even_with_a_low_mean():
    # Two reference photos straddle the face: 0.56 from each (mean 0.56), never closer.
    seeds = np.stack([axis(0, -0.28), axis(0, 0.28)])
    face = axis(1, 0.4869)                          # sqrt(0.28^2 + 0.4869^2) = 0.5617
    assert not run([face], seeds=seeds).accepted[0]
    assert run([face], seeds=seeds, max_link=0.6, mean_bar=0.6).accepted[0]


def test_rounds_count_the_hops_from_the_reference_photos():
    faces = chain_and_stranger()[:4]
    r = run(faces)
    assert r.round.tolist() == [0, 1, 2, 3]
    # G is nearest to the seed itself (0.35), so round 0, though it joins after B (round 1).
    a = axis(0, 0.3)
    b = a + axis(1, 0.3)
    g = axis(2, 0.35)
    r = run([a, b, g])
    assert r.order.tolist() == [0, 1, 2]
    assert r.round.tolist() == [0, 1, 0]


def test_scores_order_and_near_misses():
    faces = chain_and_stranger()
    r = run(faces)
    assert np.all((r.score >= 0) & (r.score <= 1))
    assert np.all(r.score[r.accepted] > 0.5)
    assert np.all(r.score[~r.accepted] < 0.5)
    assert r.score[0] > r.score[3]                  # A passed by a wider margin than D
    # Near misses: best first, one per photo, never from a photo with an accepted face.
    assert r.near_misses.tolist()[0] == 4           # X1, the closest of the stranger's faces
    assert set(r.near_misses.tolist()) <= {4, 5, 6}
    s = r.score[r.near_misses]
    assert np.all(np.diff(s) <= 0)
    r = run(faces, near_misses=1)
    assert r.near_misses.tolist() == [4]


def test_reference_photos_weigh_seed_weight_in_the_mean():
    # Found face A is 0.3 from the seed; candidate B is 0.3 from A and 0.55 from the seed.
    a = axis(0, 0.3)
    cos = (0.3 ** 2 + 0.3 ** 2 - 0.55 ** 2) / (2 * 0.3 * 0.3)           # angle at A
    b = a + 0.3 * (-cos * axis(0) + np.sqrt(1 - cos ** 2) * axis(1))
    assert np.isclose(np.linalg.norm(b), 0.55, atol=1e-6)
    # Bar 0.45. Seed weight 0.1: mean (0.055 + 0.3) / 1.1 = 0.323 -> joins;
    # seed weight 3: (1.65 + 0.3) / 4 = 0.4875 -> refused.
    assert run([a, b], mean_bar=0.45).accepted.tolist() == [True, True]
    assert run([a, b], mean_bar=0.45, seed_weight=3.0).accepted.tolist() == [True, False]


def test_time_window_counts_only_found_faces_near_the_candidates_date():
    # The seed between A (2010) and F (2000), 0.3 from each; A and F are 0.6 apart.
    a, f = axis(0, 0.3), axis(0, -0.3)
    days = np.array([734000.0, 730000.0])                   # 2010, 2000
    whole = run([a, f], dates=days)
    assert whole.accepted.tolist() == [True, False]         # F's mean: (0.03 + 0.6) / 1.1 = 0.573
    windowed = run([a, f], dates=days, years=3)
    assert windowed.accepted.tolist() == [True, True]       # A is ten years off: F's mean is 0.3
    undated = run([a, f], dates=np.array([734000.0, np.nan]), years=3)
    assert undated.accepted.tolist() == [True, False]       # an undated face compares with everyone


def test_synthetic_crowd_of_identities_finds_exactly_one_person():
    rng = np.random.default_rng(5)
    people, photos_each = 40, 8
    centres = rng.normal(size=(people, D))
    centres *= 0.48 / np.linalg.norm(centres, axis=1, keepdims=True)   # people ~0.68 apart
    noise = rng.normal(size=(people, photos_each, D)) * (0.17 / np.sqrt(D))
    faces = (centres[:, None, :] + noise).reshape(-1, D)
    who = np.repeat(np.arange(people), photos_each)
    # Group photos: faces shuffled into photos of 1-3 faces, never one person twice in a photo.
    order = rng.permutation(len(faces))
    photo = np.empty(len(faces), np.int64)
    current, members = 0, set()
    for i in order:
        if len(members) >= rng.integers(1, 4) or who[i] in members:
            current, members = current + 1, set()
        photo[i] = current
        members.add(who[i])
    seeds = centres[3] + rng.normal(size=(2, D)) * (0.17 / np.sqrt(D))
    r = expand(faces, photo, None, seeds, None, Params())
    assert np.flatnonzero(r.accepted).tolist() == np.flatnonzero(who == 3).tolist()
    # The result does not depend on the order of the faces.
    perm = rng.permutation(len(faces))
    r2 = expand(faces[perm], photo[perm], None, seeds, None, Params())
    assert np.flatnonzero(r2.accepted[np.argsort(perm)]).tolist() == np.flatnonzero(who == 3).tolist()


def test_edge_cases():
    empty = run(np.zeros((0, D)))
    assert empty.accepted.shape == (0,) and empty.near_misses.shape == (0,)
    one = run([axis(0, 0.9)])
    assert not one.accepted[0] and one.near_misses.tolist() == []   # out of reach entirely
    with pytest.raises(ValueError, match="strategy"):
        Params(strategy="greedy")
    with pytest.raises(ValueError, match="reference"):
        expand(np.zeros((1, D)), [0], None, np.zeros((0, D)))
    assert "0.54" in describe(Params(strategy="seed"))
    assert "0.56" in describe(Params())
