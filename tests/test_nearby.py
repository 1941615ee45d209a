"""The pure parts of ``near=`` (node/db/nearby.py): which radii are tried, and the bind
values of a box. The SQL is checked against brute force in test_read_members_near.py."""

from __future__ import annotations

import pytest

from node.db.geo import bounding_box
from node.db.nearby import NEAR_STEPS_KM, box_params, next_step, steps


def test_without_a_radius_every_step_is_tried_ending_with_the_whole_table() -> None:
    assert steps(None) == NEAR_STEPS_KM
    assert steps(None)[-1] is None
    radii = [r for r in NEAR_STEPS_KM if r is not None]
    assert radii == sorted(radii) and radii[0] <= 2.0  # a dense city fills a page early


@pytest.mark.parametrize(
    ("within", "expected"),
    [
        (1.0, (1.0,)),
        (2.0, (2.0,)),
        (25.0, (2.0, 10.0, 25.0)),
        (250.0, (2.0, 10.0, 50.0, 250.0)),
        (20_000.0, (2.0, 10.0, 50.0, 250.0, 1000.0, 4000.0, 20_000.0)),
    ],
)
def test_a_radius_caps_the_steps_and_is_the_last(within: float, expected: tuple) -> None:
    assert steps(within) == expected


def test_box_params_name_each_longitude_range() -> None:
    one = box_params(bounding_box(41.88, -87.63, 10.0), 10.0)
    assert set(one) == {"lat_min", "lat_max", "radius", "lon_lo0", "lon_hi0"}
    assert one["lat_min"] < 41.88 < one["lat_max"] and one["lon_lo0"] < -87.63 < one["lon_hi0"]
    assert one["radius"] == 10.0
    split = box_params(bounding_box(-17.7, 179.9, 100.0), 100.0)  # Fiji: across 180°
    assert {"lon_lo0", "lon_hi0", "lon_lo1", "lon_hi1"} <= set(split)
    assert split["lon_hi0"] == 180.0 and split["lon_lo1"] == -180.0
    polar = box_params(bounding_box(89.5, 0.0, 100.0), 100.0)
    assert "lon_lo0" not in polar  # every longitude


@pytest.mark.parametrize(
    ("at", "found", "previous", "expected"),
    [
        (0, 2, -1, 1),  # the first step: nothing to compare with
        (1, 14, 2, 2),  # still growing: the next radius
        (2, 14, 14, 4),  # no growth (a town in empty country): skip one radius
        (4, 0, 0, 6),  # 4,000 km skipped: straight to the whole table
        (5, 3, 3, 6),  # the whole table is never skipped past
    ],
)
def test_next_step_skips_a_radius_when_a_box_found_nothing_more(
    at: int, found: int, previous: int, expected: int
) -> None:
    assert next_step(at, found=found, previous=previous, steps=7) == expected


def test_a_skip_never_passes_the_radius_asked_for() -> None:
    radii = steps(250.0)  # 2, 10, 50, 250
    assert next_step(2, found=5, previous=5, steps=len(radii)) == 3  # 250 is the last
    assert next_step(1, found=5, previous=5, steps=len(radii)) == 3
