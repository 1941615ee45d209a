"""The pure parts of ``near=`` (node/db/nearby.py): which radii are tried, and the bind
values of a box. The SQL is checked against brute force in test_read_members_near.py."""

from __future__ import annotations

import pytest

from node.db.geo import bounding_box
from node.db.nearby import NEAR_STEPS_KM, box_params, steps


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
