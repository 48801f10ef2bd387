"""The values the `purerl` command's flags take: JSON values, name=value pairs, discretiser bins and
bounds, sweep grids and ranges. Each parser raises ValueError with one line naming the flag."""

from __future__ import annotations

import json


def parse_value(text: str):
    """JSON where it parses (numbers, booleans, lists), else the string itself."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse_pairs(items: list[str] | None, what: str) -> dict:
    pairs = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ValueError(f"{what} takes name=value, got {item!r}")
        pairs[name] = parse_value(value)
    return pairs


def parse_bins(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        return [int(b) for b in text.split(",")]
    except ValueError:
        raise ValueError(f"--discretize takes comma-separated bin counts, e.g. 3,3,8,12; got {text!r}") \
            from None


def parse_bounds(text: str | None) -> list[list[float]] | None:
    if text is None:
        return None
    try:
        return [[float(x) for x in dim.split(":")] for dim in text.split(",")]
    except ValueError:
        raise ValueError(f"--bounds takes LO:HI per dim, comma-separated; got {text!r}") from None


def parse_grid(items: list[str] | None) -> dict[str, list]:
    """--grid name=v1,v2,... -> {name: [v1, v2, ...]}."""
    axes = {}
    for item in items or []:
        name, sep, text = item.partition("=")
        values = [parse_value(v) for v in text.split(",")]
        if not sep or not name or "" in values:
            raise ValueError(f"--grid takes name=v1,v2,..., got {item!r}")
        if name in axes:
            raise ValueError(f"--grid {name} given twice")
        axes[name] = values
    return axes


def parse_ranges(items: list[str] | None) -> dict[str, tuple[float, float, bool]]:
    """--random name=lo:hi[:log] -> {name: (lo, hi, log)}."""
    ranges = {}
    for item in items or []:
        name, _, text = item.partition("=")
        parts = text.split(":")
        try:
            if not name or len(parts) not in (2, 3) or parts[2:] not in ([], ["log"]):
                raise ValueError
            lo, hi = float(parts[0]), float(parts[1])
        except ValueError:
            raise ValueError(f"--random takes name=lo:hi or name=lo:hi:log, got {item!r}") from None
        if not lo < hi:
            raise ValueError(f"--random {name} needs lo < hi, got {lo}:{hi}")
        ranges[name] = (lo, hi, parts[2:] == ["log"])
    return ranges
