"""Per-identity appearance built from parts, and look-alike groups that differ in exactly one part.

Look-alikes are what make Re-ID hard in real scenes (dark jackets, jeans): a group shares every part except
one (the pattern of the top, its second colour, the trousers, the accessory or the hair), so telling them
apart needs a fine-grained appearance model, not a colour histogram.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np

RGB = tuple[int, int, int]

CLOTHES: dict[str, RGB] = {
    "black": (28, 28, 32), "charcoal": (62, 62, 68), "grey": (128, 128, 132), "white": (226, 226, 220),
    "navy": (30, 40, 92), "blue": (44, 92, 178), "sky": (120, 170, 220), "denim": (64, 88, 128),
    "red": (178, 36, 40), "maroon": (110, 28, 42), "orange": (224, 120, 36), "yellow": (226, 196, 60),
    "green": (48, 128, 64), "olive": (104, 108, 56), "teal": (32, 128, 128), "beige": (196, 176, 140),
    "brown": (110, 72, 44), "purple": (104, 56, 140), "pink": (222, 140, 170),
}
SKIN: list[RGB] = [(240, 200, 170), (222, 176, 140), (190, 140, 100), (150, 102, 70), (100, 68, 48)]
HAIR: dict[str, RGB] = {
    "black": (22, 18, 16), "dark-brown": (60, 40, 26), "brown": (110, 74, 40), "blond": (212, 180, 110),
    "red": (150, 66, 30), "grey": (170, 170, 168),
}
PATTERNS = ("plain", "hstripes", "vsplit", "band", "logo")
HAIR_STYLES = ("short", "long")
LOWER_STYLES = ("trousers", "shorts", "skirt")
SLEEVES = ("long", "short")
ACCESSORIES = ("none", "bag", "hat", "backpack")
# Parts a look-alike group may differ in (one per group).
VARIABLE_PARTS = ("pattern", "upper2", "lower", "accessory", "hair")


@dataclass(frozen=True)
class Appearance:
    """What one identity looks like; colours are names into the palettes above."""

    skin: int
    hair: str
    hair_style: str
    upper: str
    upper2: str
    pattern: str
    sleeves: str
    lower: str
    lower_style: str
    shoes: str
    accessory: str
    accessory_color: str
    height_scale: float
    width_scale: float

    def parts(self) -> dict[str, object]:
        """The appearance parts compared between look-alikes (build excluded)."""
        d = asdict(self)
        d.pop("height_scale")
        d.pop("width_scale")
        return d

    def to_dict(self) -> dict:
        return asdict(self)


def _pick(rng: np.random.Generator, options, exclude=()) -> str:
    choices = [o for o in options if o not in exclude]
    return choices[int(rng.integers(len(choices)))]


def random_appearance(rng: np.random.Generator) -> Appearance:
    clothes = list(CLOTHES)
    # Dark, muted colours dominate real crowds; draw them more often so accidental look-alikes also occur.
    weights = np.array([3.0 if c in ("black", "charcoal", "grey", "navy", "denim", "white", "beige", "brown")
                        else 1.0 for c in clothes])
    weights /= weights.sum()
    upper = clothes[int(rng.choice(len(clothes), p=weights))]
    upper2 = _pick(rng, clothes, exclude=(upper,))
    lower = clothes[int(rng.choice(len(clothes), p=weights))]
    accessory = ACCESSORIES[int(rng.choice(len(ACCESSORIES), p=[0.4, 0.2, 0.2, 0.2]))]
    return Appearance(
        skin=int(rng.integers(len(SKIN))),
        hair=list(HAIR)[int(rng.choice(len(HAIR), p=[0.3, 0.25, 0.18, 0.12, 0.05, 0.1]))],
        hair_style=_pick(rng, HAIR_STYLES),
        upper=upper,
        upper2=upper2,
        pattern=PATTERNS[int(rng.choice(len(PATTERNS), p=[0.4, 0.2, 0.15, 0.15, 0.1]))],
        sleeves=_pick(rng, SLEEVES),
        lower=lower,
        lower_style=LOWER_STYLES[int(rng.choice(len(LOWER_STYLES), p=[0.7, 0.15, 0.15]))],
        shoes=_pick(rng, ("black", "white", "brown", "grey")),
        accessory=accessory,
        accessory_color=_pick(rng, clothes, exclude=(upper,)),
        height_scale=float(rng.uniform(0.92, 1.08)),
        width_scale=float(rng.uniform(0.9, 1.12)),
    )


def _vary(base: Appearance, part: str, rng: np.random.Generator, taken: set) -> Appearance:
    """`base` with one part changed to a value no other group member has."""
    if part == "pattern":
        value = _pick(rng, PATTERNS, exclude=taken)
        return replace(base, pattern=value)
    if part == "upper2":
        value = _pick(rng, CLOTHES, exclude=taken | {base.upper})
        return replace(base, upper2=value)
    if part == "lower":
        value = _pick(rng, CLOTHES, exclude=taken)
        return replace(base, lower=value)
    if part == "accessory":
        value = _pick(rng, ACCESSORIES, exclude=taken)
        return replace(base, accessory=value)
    value = _pick(rng, HAIR, exclude=taken)
    return replace(base, hair=value)


def _part_value(app: Appearance, part: str) -> str:
    return str(getattr(app, part))


def make_appearances(ids: list[int], rng: np.random.Generator, lookalike_frac: float,
                     max_group: int) -> tuple[dict[int, Appearance], list[list[int]]]:
    """Appearances for `ids` (in order of first appearance) and the look-alike groups among them.

    Groups are formed from ids that are close in the list (they enter at similar times, so they are in view
    together), until about `lookalike_frac` of the ids belong to a group.
    """
    apps: dict[int, Appearance] = {}
    groups: list[list[int]] = []
    target = int(round(lookalike_frac * len(ids)))
    grouped = 0
    i = 0
    while i < len(ids):
        remaining = len(ids) - i
        size = int(rng.integers(2, max_group + 1))
        if grouped < target and remaining >= 2 and rng.random() < max(0.25, lookalike_frac * 1.5):
            size = min(size, remaining, max(2, target - grouped))
            members = ids[i:i + size]
            base = random_appearance(rng)
            part = VARIABLE_PARTS[int(rng.integers(len(VARIABLE_PARTS)))]
            if part == "upper2" and base.pattern == "plain":
                base = replace(base, pattern=_pick(rng, PATTERNS, exclude=("plain",)))
            if part == "accessory" and size > len(ACCESSORIES):
                part = "lower"
            taken = {_part_value(base, part)}
            apps[members[0]] = base
            for pid in members[1:]:
                member = _vary(base, part, rng, taken)
                taken.add(_part_value(member, part))
                apps[pid] = member
            groups.append(list(members))
            grouped += size
            i += size
        else:
            apps[ids[i]] = random_appearance(rng)
            i += 1
    return apps, groups
