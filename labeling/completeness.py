"""Whether one annotator's labels of a trace are complete enough to submit (pure, no Django)."""
from dataclasses import dataclass, field


@dataclass(frozen=True)
class StepMark:
    """What completeness needs to know of one label."""

    polarity: int
    is_rationale_required: bool
    has_rationale: bool


@dataclass(frozen=True)
class Completeness:
    missing_steps: list[int] = field(default_factory=list)
    missing_rationales: list[int] = field(default_factory=list)
    # Index of the first negative step in first-error mode; steps after it need no label.
    first_error_index: int | None = None

    @property
    def is_complete(self) -> bool:
        return not self.missing_steps and not self.missing_rationales


def completeness_check(
    *, step_count: int, marks: dict[int, StepMark], is_first_error_mode: bool
) -> Completeness:
    """Return which steps (0-based) still lack a label or a required rationale.

    Every-step mode needs a label on every step. First-error mode (PRM800K, ProcessBench)
    needs labels up to and including the first negative step; the steps after it are
    "after first error" and stay unlabeled. Without any negative step every step is needed.
    """
    first_error: int | None = None
    if is_first_error_mode:
        first_error = next(
            (i for i in range(step_count) if i in marks and marks[i].polarity < 0), None
        )
    last = step_count - 1 if first_error is None else first_error
    missing_steps = [i for i in range(last + 1) if i not in marks]
    missing_rationales = [
        i for i in range(last + 1)
        if i in marks and marks[i].is_rationale_required and not marks[i].has_rationale
    ]
    return Completeness(missing_steps, missing_rationales, first_error)
