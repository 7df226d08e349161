"""Export options: one validated, immutable value shared by the API, the command and the writer."""
from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

FORMATS = ("trl", "rlhflow", "prm800k", "math-shepherd", "processbench", "native")
FILE_FORMATS = ("jsonl", "parquet")
AGGREGATES = ("majority", "unanimous", "gold", "soft", "annotator")
NEUTRAL_POLICIES = ("positive", "negative", "drop", "keep")
# Formats whose labels are binary: neutral must become positive or negative, or be dropped.
BINARY_FORMATS = ("trl", "rlhflow", "math-shepherd", "processbench")
# The neutral policy when none is given. TRL's own PRM800K converter maps 0 to False; a
# ProcessBench error is a wrong step, which a neutral ("correct, no progress") step is not.
NEUTRAL_DEFAULTS = {
    "trl": "negative",
    "rlhflow": "negative",
    "math-shepherd": "negative",
    "processbench": "positive",
    "prm800k": "keep",
    "native": "keep",
}
SOURCE_POLICIES = ("include", "exclude", "only")
SPLIT_NAMES = ("train", "validation", "test")


class OptionsInvalid(ValueError):
    """An export option that cannot be used; `field` names the option."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class ExportOptions:
    """Everything that decides the bytes of an export (besides the data)."""

    format: str = "trl"
    file_format: str = "jsonl"
    aggregate: str = "majority"
    # Username whose labels are exported when aggregate == "annotator".
    annotator: str = ""
    neutral: str = "negative"  # resolved per format by options_from_dict
    truncate_after_error: bool = False
    min_annotators: int = 1
    split: tuple[float, float, float] = (1.0, 0.0, 0.0)
    seed: int = 0
    step_separator: str = "\n"
    # Filters.
    taxonomy_version: int | None = None
    annotators: tuple[str, ...] = ()
    source_annotators: str = "include"
    labeled_from: dt.date | None = None
    labeled_to: dt.date | None = None
    generators: tuple[str, ...] = ()
    source_formats: tuple[str, ...] = ()
    only_fully_labeled: bool = False

    def as_dict(self) -> dict[str, Any]:
        """Return the options as JSON-ready values, in a stable key order."""
        data = asdict(self)
        data["split"] = list(self.split)
        data["annotators"] = list(self.annotators)
        data["generators"] = list(self.generators)
        data["source_formats"] = list(self.source_formats)
        for key in ("labeled_from", "labeled_to"):
            data[key] = data[key].isoformat() if data[key] else None
        return data


def _choice(data: dict[str, Any], key: str, choices: tuple[str, ...], default: str) -> str:
    value = data.get(key, default)
    if value is None:
        value = default
    if value not in choices:
        raise OptionsInvalid(key, f"{value!r} is not one of {', '.join(choices)}.")
    return str(value)


def _bool(data: dict[str, Any], key: str) -> bool:
    value = data.get(key, False)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "1", "yes", "on", "false", "0", "no", "off", ""):
        return value.lower() in ("true", "1", "yes", "on")
    raise OptionsInvalid(key, f"{value!r} is not a boolean.")


def _names(data: dict[str, Any], key: str) -> tuple[str, ...]:
    value = data.get(key) or ()
    if isinstance(value, str):
        value = [v for v in (s.strip() for s in value.split(",")) if v]
    if not all(isinstance(v, str) and v for v in value):
        raise OptionsInvalid(key, "must be a list of non-empty strings.")
    return tuple(sorted(set(value)))


def _date(data: dict[str, Any], key: str) -> dt.date | None:
    value = data.get(key)
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise OptionsInvalid(key, f"{value!r} is not a date (YYYY-MM-DD).") from None


def split_parse(value: Any) -> tuple[float, float, float]:
    """Return (train, validation, test) fractions from "0.8,0.1,0.1" or a list; they must sum to 1."""
    if isinstance(value, str):
        parts: list[Any] = [p for p in value.split(",") if p.strip()]
    else:
        parts = list(value)
    if len(parts) == 1:
        parts = [parts[0], 0, 0]
    if len(parts) != 3:
        raise OptionsInvalid("split", "give three fractions: train,validation,test.")
    try:
        fractions = tuple(float(p) for p in parts)
    except (TypeError, ValueError):
        raise OptionsInvalid("split", f"{value!r} holds a value that is not a number.") from None
    if any(f < 0 or f > 1 for f in fractions):
        raise OptionsInvalid("split", "each fraction must be between 0 and 1.")
    if abs(sum(fractions) - 1.0) > 1e-6:
        raise OptionsInvalid("split", f"fractions sum to {sum(fractions):g}, not 1.")
    return fractions  # type: ignore[return-value]


def options_from_dict(data: dict[str, Any]) -> ExportOptions:
    """Validate plain option values (API body, command line, stored job) into ExportOptions.

    `aggregate` may be given as "annotator:USERNAME".
    """
    data = dict(data)
    aggregate = data.get("aggregate") or "majority"
    annotator = data.get("annotator") or ""
    if isinstance(aggregate, str) and aggregate.startswith("annotator:"):
        aggregate, annotator = "annotator", aggregate.split(":", 1)[1]
    data["aggregate"] = aggregate
    fmt = _choice(data, "format", FORMATS, "trl")
    aggregate = _choice(data, "aggregate", AGGREGATES, "majority")
    if aggregate == "annotator" and not annotator:
        raise OptionsInvalid("aggregate", "name the annotator: annotator:USERNAME.")
    if aggregate == "soft" and fmt != "native":
        raise OptionsInvalid(
            "aggregate",
            "soft labels are floats, which only the native format carries "
            "(TRL's PRM trainer casts labels with int()).",
        )
    try:
        min_annotators = int(data["min_annotators"] if data.get("min_annotators") not in (None, "") else 1)
        seed = int(data["seed"] if data.get("seed") not in (None, "") else 0)
        version = data.get("taxonomy_version")
        version = int(version) if version not in (None, "") else None
    except (TypeError, ValueError) as exc:
        raise OptionsInvalid("options", f"expected a whole number ({exc}).") from None
    if min_annotators < 1:
        raise OptionsInvalid("min_annotators", "must be at least 1.")
    separator = data.get("step_separator")
    if separator is None:
        separator = "\n"
    if not isinstance(separator, str) or separator == "":
        raise OptionsInvalid("step_separator", "must be a non-empty string.")
    neutral = _choice(data, "neutral", NEUTRAL_POLICIES, NEUTRAL_DEFAULTS[fmt])
    if neutral == "keep" and fmt in BINARY_FORMATS:
        raise OptionsInvalid(
            "neutral", f"{fmt} labels are binary: map neutral to positive or negative, or drop it."
        )
    labeled_from, labeled_to = _date(data, "labeled_from"), _date(data, "labeled_to")
    if labeled_from and labeled_to and labeled_from > labeled_to:
        raise OptionsInvalid("labeled_to", "is before labeled_from.")
    return ExportOptions(
        format=fmt,
        file_format=_choice(data, "file_format", FILE_FORMATS, "jsonl"),
        aggregate=aggregate,
        annotator=annotator if aggregate == "annotator" else "",
        neutral=neutral,
        truncate_after_error=_bool(data, "truncate_after_error"),
        min_annotators=min_annotators,
        split=split_parse(data.get("split") if data.get("split") not in (None, "") else "1,0,0"),
        seed=seed,
        step_separator=separator,
        taxonomy_version=version,
        annotators=_names(data, "annotators"),
        source_annotators=_choice(data, "source_annotators", SOURCE_POLICIES, "include"),
        labeled_from=labeled_from,
        labeled_to=labeled_to,
        generators=_names(data, "generators"),
        source_formats=_names(data, "source_formats"),
        only_fully_labeled=_bool(data, "only_fully_labeled"),
    )
