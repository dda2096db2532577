"""Grow one person's set of faces from a few reference faces, without drifting to look-alikes.

The pure core of `faces.match`: arrays in, arrays out; no images, models or files.
Distances are Euclidean between embeddings (the Dlib model's unit: the same
person is usually under 0.6 apart, and dlib's own tests call 0.6 the bar).

Two strategies:

"seed" (the user's method, kept for comparison): every face within 0.54 of any
reference joins, then every face within 0.54 of any face that joined, and so on
until nothing new comes. One chance likeness lets a stranger in, and then all
of that stranger's photos follow: on the FG-NET bench it reaches 97 % of the
person's photos at 5 % precision.

"default": one face at a time, the surest first, re-judging every candidate
after each acceptance. A face joins only when
  1. it is within `max_link` (0.55) of some reference: no jump beyond the
     distance where faces of different people start to turn up;
  2. its *average* distance to all the references (the user's reference photos
     count `seed_weight` each, every face found counts 1) is under a bar of
     `mean_bar` (0.56). An average is what stops the chain A -> B -> C -> D ->
     stranger: each step is short, but the stranger is far from A, B and C.
     The reference photos weigh little once album faces are found because they
     were taken at another time, elsewhere; the album's own faces describe the
     person at the album's dates better;
  3. that bar is lowered when the candidate has a close "twin" among the faces
     nobody has claimed: a stranger's own photos sit close together, so a face
     much nearer to an unclaimed face than to the references is probably
     someone else's. Each 0.1 by which the nearest unclaimed face is closer
     than `twin_reach` (0.6) lowers the bar by `twin_weight` x 0.1. Faces
     closer than `duplicate` (0.25) are copies of the same picture (re-encoded,
     mirrored, cropped: 0.06-0.22 apart on the bench) and do not count as
     twins; two different photos of one person are rarely that close;
  4. at most one face per photo is the person: when one is accepted, the
     others in that photo become negatives (known other people);
  5. a face at least as close to a negative (those, and the optional
     `faces.negatives` photos) as to every reference is never accepted, and
     negatives count as twins in 3.
Nothing else is tuned per collection. Every threshold above is explained in
BENCHMARKS.md ("Matching accuracy") with the measurements behind it.

Rounds: a face found directly from the reference photos is round 0; one whose
nearest reference (when it joined) was a round-n face is round n + 1.

Cost: O(N x D) per accepted face plus O(N x D) once for each face that comes
within reach of the references; 100,000 faces take seconds
(benchmarks/expand_bench.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

STRATEGIES = ("default", "seed")


@dataclass(frozen=True)
class Params:
    """Knobs of `expand`. Distances are Euclidean in embedding space; dates in days."""
    strategy: str = "default"
    # default strategy
    max_link: float = 0.55       # a candidate must be this close to at least one reference
    mean_bar: float = 0.56       # ...and its weighted mean distance to all references under this bar
    twin_weight: float = 0.2     # the bar drops by this x (twin_reach - distance to the nearest unclaimed face)
    twin_reach: float = 0.6      # unclaimed faces farther than this do not lower the bar
    duplicate: float = 0.25      # unclaimed faces closer than this are the same picture again, not a twin
    seed_weight: float = 0.1     # weight of one reference photo in the mean (a found face weighs 1)
    years: float | None = None   # if set, the mean counts only found faces within this many years of the
                                 # candidate's date (reference photos and undated faces always count)
    neighbours: int = 12         # unclaimed neighbours remembered per candidate (for the twin test)
    # seed strategy
    seed_threshold: float = 0.54
    # both
    near_misses: int = 24        # how many of the best rejected photos to report
    score_scale: float = 0.05    # score = logistic(margin / score_scale): on the bar 0.5, 0.05 inside 0.73, 0.1 inside 0.88

    def __post_init__(self):
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}, got {self.strategy!r}")


@dataclass
class Expansion:
    """What `expand` decided, per face (arrays of length N, in the order of the input faces).

    accepted: True for the faces that are the person (at most one per photo in "default").
    round: -1 when not accepted; 0 = found from the reference photos; n = joined in round n.
    score: 0..1, higher = surer. Accepted faces: the margin by which they passed when they
        joined; other faces: the margin by which they miss the bar against the final set
        (0.5 = on the bar). Faces that never came within reach score 0.
    order: indices of the accepted faces in the order they joined.
    near_misses: indices of the best faces that did not pass, best first, one per photo, only
        from photos with no accepted face.
    """
    accepted: np.ndarray
    round: np.ndarray
    score: np.ndarray
    order: np.ndarray
    near_misses: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))


def expand(embeddings: np.ndarray, photo_ids: np.ndarray, dates: np.ndarray | None,
           seeds: np.ndarray, negatives: np.ndarray | None = None,
           params: Params = Params()) -> Expansion:
    """Find the faces of the person shown by `seeds` among `embeddings`.

    embeddings: (N, D) float, one row per face found in the photos.
    photo_ids: (N,) int, which photo each face is in (faces of one photo share the id).
    dates: (N,) float, the photo's album date as days (e.g. date.toordinal()), NaN when
        unknown; or None. Only used when params.years is set.
    seeds: (M, D) float, the reference faces (the user's photos of the person), M >= 1.
    negatives: (K, D) float, faces known NOT to be the person (e.g. a look-alike friend).
    """
    emb = np.asarray(embeddings, dtype=np.float32)
    n = len(emb)
    seeds = np.asarray(seeds, dtype=np.float32).reshape(-1, emb.shape[1] if n else np.shape(seeds)[-1])
    if len(seeds) == 0:
        raise ValueError("expand needs at least one reference face")
    photo_ids = np.asarray(photo_ids)
    if photo_ids.shape != (n,):
        raise ValueError(f"photo_ids must have shape ({n},), got {photo_ids.shape}")
    if negatives is None or len(negatives) == 0:
        negatives = np.zeros((0, seeds.shape[1]), np.float32)
    negatives = np.asarray(negatives, dtype=np.float32).reshape(-1, seeds.shape[1])
    if dates is None:
        dates = np.full(n, np.nan)
    dates = np.asarray(dates, dtype=np.float64)
    if n == 0:
        empty = np.zeros(0, np.int64)
        return Expansion(np.zeros(0, bool), empty.copy(), np.zeros(0), empty, empty.copy())
    if params.strategy == "seed":
        return _seed_strategy(emb, photo_ids, seeds, params)
    return _Growth(emb, photo_ids, dates, seeds, negatives, params).run()


def _score(margin, scale: float):
    """Margin (positive = passes) -> 0..1 by a logistic curve: 0.5 on the bar."""
    return 1.0 / (1.0 + np.exp(-np.clip(np.asarray(margin, np.float64) / scale, -60, 60)))


def _distances(points: np.ndarray, emb: np.ndarray, sq_norms: np.ndarray) -> np.ndarray:
    """(len(points), N) Euclidean distances from each point to every row of emb."""
    points = np.atleast_2d(points).astype(np.float32)
    sq = sq_norms[None, :] + (points * points).sum(1)[:, None] - 2.0 * (points @ emb.T)
    return np.sqrt(np.maximum(sq, 0.0))


def _photo_codes(photo_ids: np.ndarray) -> np.ndarray:
    """Photo ids as 0..P-1."""
    return np.unique(photo_ids, return_inverse=True)[1].ravel()


def _best_per_photo(candidates: np.ndarray, badness: np.ndarray, photo: np.ndarray, limit: int) -> np.ndarray:
    """Indices from `candidates`, lowest badness first, at most one per photo, at most `limit`."""
    order = candidates[np.argsort(badness[candidates], kind="stable")]
    _, first = np.unique(photo[order], return_index=True)
    return order[np.sort(first)][:limit]


# --- the user's method ---------------------------------------------------------------------

def _seed_strategy(emb: np.ndarray, photo_ids: np.ndarray, seeds: np.ndarray, params: Params) -> Expansion:
    """Any face within seed_threshold of any reference joins; repeat from the newcomers until none."""
    n = len(emb)
    photo = _photo_codes(photo_ids)
    sq = (emb * emb).sum(1)
    nearest = np.full(n, np.inf)
    rounds = np.full(n, -1, np.int64)
    score = np.zeros(n)
    frontier, r = seeds, 0
    order = []
    while len(frontier):
        for start in range(0, len(frontier), 1024):          # bounded memory: 1024 x N at a time
            nearest = np.minimum(nearest, _distances(frontier[start:start + 1024], emb, sq).min(0))
        new = np.flatnonzero((nearest < params.seed_threshold) & (rounds < 0))
        rounds[new] = r
        score[new] = _score(params.seed_threshold - nearest[new], params.score_scale)
        order.extend(new[np.argsort(nearest[new], kind="stable")])
        frontier, r = emb[new], r + 1
    accepted = rounds >= 0
    rest = np.flatnonzero(~accepted & ~np.isin(photo, photo[accepted]) & np.isfinite(nearest))
    misses = _best_per_photo(rest, nearest, photo, params.near_misses)
    score[misses] = _score(params.seed_threshold - nearest[misses], params.score_scale)
    return Expansion(accepted, rounds, score, np.asarray(order, np.int64), misses)


# --- the default strategy ------------------------------------------------------------------

class _Growth:
    """State of one default expansion. Per-face running sums make each acceptance O(N x D)."""

    def __init__(self, emb, photo_ids, dates, seeds, negatives, p: Params):
        self.emb, self.p = emb, p
        self.n = n = len(emb)
        self.photo = _photo_codes(photo_ids)
        self.sq = (emb * emb).sum(1)
        self.dates = dates
        seed_d = _distances(seeds, emb, self.sq)                          # (M, N)
        self.nearest = seed_d.min(0)                                      # distance to the nearest reference
        self.depth_of_nearest = np.full(n, -1, np.int64)                  # round of that reference (-1: a seed)
        self.seed_sum = p.seed_weight * seed_d.sum(0)                     # weighted sums for the mean
        self.seed_w = p.seed_weight * len(seeds)
        self.found_sum = np.zeros(n)
        self.found_w = np.zeros(n)
        if p.years is not None:                                           # sums per year of the found face
            self.year = np.floor(dates / 365.25)
            self.by_year: dict[float, tuple[np.ndarray, np.ndarray]] = {}
        neg_d = _distances(negatives, emb, self.sq).min(0) if len(negatives) else np.full(n, np.inf)
        self.negative = np.asarray(neg_d, np.float64)                     # distance to the nearest negative
        self.accepted = np.zeros(n, bool)
        self.is_negative = np.zeros(n, bool)                              # faces beside an accepted face
        self.closed = np.zeros(self.photo.max() + 1, bool)                # photos with an accepted face
        self.rounds = np.full(n, -1, np.int64)
        self.score = np.zeros(n)
        self.order: list[int] = []
        # Candidates within reach, with their nearest other faces (for the twin test).
        self.in_reach = np.zeros(n, bool)
        self.k = min(p.neighbours, n - 1)
        self.nb_idx = np.zeros((0, self.k), np.int64)                     # row nb_row[i]: face i's neighbours
        self.nb_d = np.zeros((0, self.k))                                 # ...and their distances, nearest first
        self.nb_row = np.full(n, -1, np.int64)
        self._add_to_reach(np.flatnonzero(self.nearest < p.max_link))

    # -- neighbours of candidates --

    def _add_to_reach(self, idx: np.ndarray) -> None:
        """Remember the `neighbours` nearest faces (other photos, not copies) of each new candidate."""
        idx = idx[~self.in_reach[idx]]
        if not len(idx):
            return
        k = self.k
        rows_idx, rows_d = [self.nb_idx], [self.nb_d]
        for start in range(0, len(idx), 256):                             # bounded memory: 256 x N at a time
            part = idx[start:start + 256]
            d = _distances(self.emb[part], self.emb, self.sq).astype(np.float64)
            d[self.photo[part][:, None] == self.photo[None, :]] = np.inf  # not the face itself, nor its photo
            d[d < self.p.duplicate] = np.inf                              # copies of the same picture
            nb = np.argpartition(d, k - 1, axis=1)[:, :k] if k else np.zeros((len(part), 0), np.int64)
            nd = np.take_along_axis(d, nb, 1)
            o = np.argsort(nd, axis=1)
            rows_idx.append(np.take_along_axis(nb, o, 1))
            rows_d.append(np.take_along_axis(nd, o, 1))
        self.nb_row[idx] = len(self.nb_idx) + np.arange(len(idx))
        self.nb_idx, self.nb_d = np.vstack(rows_idx), np.vstack(rows_d)
        self.in_reach[idx] = True

    def _twin_distance(self, cand: np.ndarray) -> np.ndarray:
        """Distance from each candidate to its nearest unclaimed face or negative (capped at twin_reach)."""
        rows = self.nb_row[cand]
        nb, nd = self.nb_idx[rows], self.nb_d[rows]
        # Accepted faces are claimed by the person; negatives stay rivals (they are other people).
        nd = np.where(self.accepted[nb], np.inf, nd)
        twin = nd.min(1) if self.k else np.full(len(cand), np.inf)
        # When every remembered neighbour is claimed, the next one is at least as far as the last.
        all_claimed = np.isinf(twin) & (self.k > 0)
        if all_claimed.any():
            twin[all_claimed] = self.nb_d[rows[all_claimed], -1]
        twin = np.minimum(twin, self.negative[cand])
        return np.minimum(twin, self.p.twin_reach)

    # -- the criterion --

    def _mean(self, cand: np.ndarray) -> np.ndarray:
        if self.p.years is None:
            total, weight = self.found_sum[cand], self.found_w[cand]
        else:
            total, weight = self._mean_in_window(cand)
        return (self.seed_sum[cand] + total) / (self.seed_w + weight)

    def _mean_in_window(self, cand: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        total, weight = np.zeros(len(cand)), np.zeros(len(cand))
        cy = self.year[cand]
        for year, (s, w) in self.by_year.items():
            near = ~(np.abs(cy - year) > self.p.years)                    # NaN on either side: counts
            total += np.where(near, s[cand], 0.0)
            weight += np.where(near, w[cand], 0.0)
        return total, weight

    def margins(self, cand: np.ndarray) -> np.ndarray:
        """How far under its bar each candidate's mean distance is (positive = passes)."""
        p = self.p
        bar = p.mean_bar - p.twin_weight * (p.twin_reach - self._twin_distance(cand))
        return bar - self._mean(cand)

    def eligible(self) -> np.ndarray:
        cand = np.flatnonzero(self.in_reach & ~self.accepted & ~self.is_negative)
        cand = cand[~self.closed[self.photo[cand]]]
        cand = cand[self.nearest[cand] < self.p.max_link]
        return cand[self.negative[cand] > self.nearest[cand]]             # closer to a negative: blocked

    # -- growing --

    def accept(self, i: int, margin: float) -> None:
        p = self.p
        self.accepted[i] = True
        self.rounds[i] = self.depth_of_nearest[i] + 1
        self.score[i] = _score(margin, p.score_scale)
        self.order.append(i)
        photo = self.photo[i]
        self.closed[photo] = True
        beside = np.flatnonzero((self.photo == photo) & ~self.accepted)
        self.is_negative[beside] = True
        # One pass over all faces for the new reference and the faces beside it (memory-bound:
        # a few rows cost about what one does).
        both = _distances(self.emb[np.r_[i, beside]], self.emb, self.sq).astype(np.float64)
        d = both[0]
        if len(beside):
            self.negative = np.minimum(self.negative, both[1:].min(0))
        closer = d < self.nearest
        self.nearest = np.where(closer, d, self.nearest)
        self.depth_of_nearest = np.where(closer, self.rounds[i], self.depth_of_nearest)
        if p.years is None or not np.isfinite(self.year[i]):
            self.found_sum += d
            self.found_w += 1.0
        else:
            s, w = self.by_year.setdefault(self.year[i], (np.zeros(self.n), np.zeros(self.n)))
            s += d
            w += 1.0
        self._add_to_reach(np.flatnonzero(closer & (d < p.max_link)))

    def run(self) -> Expansion:
        while True:
            cand = self.eligible()
            if not len(cand):
                break
            m = self.margins(cand)
            best = int(np.argmax(m))
            if m[best] <= 0:
                break
            self.accept(int(cand[best]), float(m[best]))
        return Expansion(self.accepted, self.rounds, self._final_scores(), np.asarray(self.order, np.int64),
                         self._near_misses())

    def _final_scores(self) -> np.ndarray:
        score = self.score.copy()
        rest = np.flatnonzero(self.in_reach & ~self.accepted)
        if len(rest):
            score[rest] = _score(np.minimum(self.margins(rest), 0.0), self.p.score_scale)
        return score

    def _near_misses(self) -> np.ndarray:
        rest = np.flatnonzero(self.in_reach & ~self.accepted & ~self.closed[self.photo])
        if not len(rest):
            return np.zeros(0, np.int64)
        badness = np.full(self.n, np.inf)
        badness[rest] = -self.margins(rest)
        return _best_per_photo(rest, badness, self.photo, self.p.near_misses)


def describe(params: Params) -> str:
    """One line naming the strategy and its thresholds, for logs and the report."""
    if params.strategy == "seed":
        return f"seed: any face within {params.seed_threshold:g} of any reference, repeated until nothing new"
    window = f", found faces within {params.years:g} years" if params.years else ""
    return (f"default: one face per photo, link <= {params.max_link:g}, mean distance < {params.mean_bar:g} "
            f"minus {params.twin_weight:g} x closeness of unclaimed twins (reach {params.twin_reach:g}), "
            f"reference photos weigh {params.seed_weight:g}{window}")


__all__ = ["Params", "Expansion", "expand", "describe", "STRATEGIES"]
