"""What a version's difficulty level is, from the judge's readings and what the generator
was asked for, with a model of both learned from the readings themselves.

A noisy judge misreads a level now and then, and a generator does not always write the
level it is asked for. Taking the median of a fixed number of readings ignores both facts:
it pays for readings that add nothing (a generator asked for level 4 whose one reading says
5 almost surely wrote 4: it drifts toward some level, not to a random one) and trusts
medians that the generator's drift makes doubtful. ``LevelModel`` holds:

* the generator's drift: asked for level a, it writes a with probability 1 - ``drift``,
  otherwise a level drawn from ``drift_to`` (which may be a itself);
* the judge's confusion: ``confusion[t - 1][r - 1]`` is the probability of reading r when
  the true level is t; readings of a version are independent given its true level.

``fit`` learns both by expectation-maximization (as Dawid and Skene did for annotators)
from every version's asked level and readings; versions read more than once are what
identify the judge's noise. Dirichlet pseudo-counts keep a small partition's estimates sane:
the judge is assumed mostly right, sometimes off by one, rarely more, until readings show
otherwise. What readings cannot tell apart is a judge that reads every level one higher
from a generator that writes one higher; the pseudo-counts lean toward the generator.

``posterior`` is the distribution of a version's true level. The closed loop takes a version
for its target level when the median of its readings says so (as a fixed number of readings
would) *and* the model gives that level at least a confidence (a setting): where the
generator drifts to a level the judge often reads as the target (a judge biased inward at
the scale's end, next to the drift's level), agreeing readings are not enough."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from linksyn_dagster.core.difficulty import median_level, settled_level

LEVELS = (1, 2, 3, 4, 5)
N = len(LEVELS)

# pseudo-counts of the judge's confusion row of a level: on it, one off, further off
CONFUSION_PRIOR = (4.0, 1.0, 0.2)
DRIFT_PRIOR = (1.0, 1.0)  # pseudo-versions drifted, followed
DRIFT_TO_PRIOR = 0.5  # pseudo-count of each level a drift goes to
Observation = tuple[int, Sequence[int | None]]  # (level asked, the judge's readings)


def _prior_row(t: int) -> list[float]:
    on, near, far = CONFUSION_PRIOR
    return [on if r == t else near if abs(r - t) == 1 else far for r in LEVELS]


def _normalized(row: Sequence[float]) -> tuple[float, ...]:
    total = sum(row)
    return tuple(x / total for x in row)


@dataclass(frozen=True)
class LevelModel:
    drift: float
    drift_to: tuple[float, ...]
    confusion: tuple[tuple[float, ...], ...]

    @classmethod
    def initial(cls) -> LevelModel:
        """The model before any reading: the pseudo-counts alone."""
        return cls(drift=DRIFT_PRIOR[0] / sum(DRIFT_PRIOR), drift_to=_normalized([1.0] * N),
                   confusion=tuple(_normalized(_prior_row(t)) for t in LEVELS))

    def prior(self, asked: int) -> list[float]:
        """The true level's distribution of a version asked for ``asked``, before reading it."""
        return [(1 - self.drift) * (t == asked) + self.drift * self.drift_to[t - 1] for t in LEVELS]

    def posterior(self, asked: int, readings: Sequence[int | None]) -> list[float]:
        """The true level's distribution (levels 1-5 in order) given the readings (None,
        a failed reading, says nothing)."""
        weights = self.prior(asked)
        for r in readings:
            if r is not None:
                weights = [w * self.confusion[t][r - 1] for t, w in enumerate(weights)]
        total = sum(weights)
        return [w / total for w in weights] if total > 0 else self.prior(asked)

    def level(self, asked: int, readings: Sequence[int | None]) -> tuple[int, float]:
        """The most probable level and its probability (the lower level on a tie)."""
        post = self.posterior(asked, readings)
        best = max(range(N), key=lambda i: (post[i], -i))
        return LEVELS[best], post[best]

    def summary(self) -> dict[str, object]:
        """The fitted model as metadata: drift rate, where drift goes, judge's accuracy per level."""
        return {"drift": round(self.drift, 3), "drift_to": [round(x, 3) for x in self.drift_to],
                "judge_reads_true_level": [round(self.confusion[i][i], 3) for i in range(N)]}


def fit(observations: Sequence[Observation], iterations: int = 200, tolerance: float = 1e-7) -> LevelModel:
    """The model that best explains these versions' readings given what they were asked
    for (expectation-maximization from ``LevelModel.initial``, with its pseudo-counts).
    Versions without a reading are left out; with none at all, the initial model.

    Readings are independent given the true level, so a version's likelihood depends only
    on its asked level and the multiset of its readings: the EM runs over those distinct
    patterns, each weighted by how many versions share it (at most 5 x 155 with 3 readings),
    so one fit costs one pass over the versions however many there are."""
    patterns = Counter((asked, tuple(sorted(r for r in readings if r is not None)))
                       for asked, readings in observations)
    data = sorted((asked, readings, count) for (asked, readings), count in patterns.items()
                  if readings and asked in LEVELS)
    model = LevelModel.initial()
    for _ in range(iterations):
        drifted, followed = DRIFT_PRIOR
        drift_counts = [DRIFT_TO_PRIOR] * N
        reading_counts = [_prior_row(t) for t in LEVELS]
        for asked, readings, count in data:
            post = [p * count for p in model.posterior(asked, readings)]
            # the share of the asked level's mass that came from the drift component
            followed_mass = (1 - model.drift)
            drift_mass = model.drift * model.drift_to[asked - 1]
            from_drift_at_asked = drift_mass / (followed_mass + drift_mass) if followed_mass + drift_mass else 0.0
            for i in range(N):
                via_drift = post[i] * (from_drift_at_asked if LEVELS[i] == asked else 1.0)
                drift_counts[i] += via_drift
                drifted += via_drift
                for r in readings:
                    reading_counts[i][r - 1] += post[i]
            followed += post[asked - 1] * (1 - from_drift_at_asked)
        new = LevelModel(drift=drifted / (drifted + followed), drift_to=_normalized(drift_counts),
                         confusion=tuple(_normalized(row) for row in reading_counts))
        change = max(abs(new.drift - model.drift), *(abs(a - b) for a, b in zip(new.drift_to, model.drift_to)),
                     *(abs(a - b) for ra, rb in zip(new.confusion, model.confusion) for a, b in zip(ra, rb)))
        model = new
        if change < tolerance:
            break
    return model


def settled(model: LevelModel, asked: int, readings: Sequence[int | None], k: int, confidence: float) -> bool:
    """Whether no more readings are asked of a version asked for level ``asked``: it has
    ``k`` readings (failed ones count: a judge that keeps failing is not asked forever); or
    its readings have decided whether the median of k is the target (`settled_level`) and,
    when that median is the target, the model gives the target at least ``confidence``
    (``on_target``). A version whose median is its target but whose level the model still
    doubts is read on: the generator drifts to some level, and a judge that often reads that
    level as the target is outvoted by the drift, not by more of the same readings."""
    if len(readings) >= k:
        return True
    if not settled_level(readings, k, asked):
        return False
    return median_level(readings) != asked or model.posterior(asked, readings)[asked - 1] >= confidence


def on_target(model: LevelModel, asked: int, readings: Sequence[int | None], confidence: float) -> bool:
    """Whether a version is taken for the level it was asked for: the median of its readings
    is that level, and so is its true level with probability at least ``confidence``."""
    return median_level(readings) == asked and model.posterior(asked, readings)[asked - 1] >= confidence
