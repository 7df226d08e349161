"""Math reasoning traces written for the demo project, with the step that is wrong in each.

Six problem families, five parameter sets each: every trace is generated from its numbers, so
the arithmetic in a correct step is right by construction and each planted error is known.
"""
from dataclasses import dataclass, field


@dataclass(frozen=True)
class DemoTrace:
    problem: str
    steps: list[str]
    final_answer: str
    ground_truth_answer: str
    generator: str
    # Index of the first wrong step and its kind (a child category key), or None when correct.
    error_step: int | None = None
    error_kind: str = ""
    # Steps that are correct but make no progress (neutral in the reference labels).
    neutral_steps: frozenset[int] = field(default_factory=frozenset)


GENERATORS = ["demo-7b-instruct", "demo-70b-instruct", "demo-math-1.5b"]


def _rectangle(i: int, w: int, h: int, wrong: bool) -> DemoTrace:
    area = w * h
    shown = area + 10 if wrong else area
    steps = [
        f"The garden is a rectangle of ${w}\\,\\text{{m}}$ by ${h}\\,\\text{{m}}$, and fencing is "
        "only needed for the area question, so I can ignore it.",
        "The area of a rectangle is $A = w \\times h$.",
        f"So $A = {w} \\times {h} = {shown}\\,\\text{{m}}^2$.",
        f"Each bag of seed covers $5\\,\\text{{m}}^2$, so we need $\\lceil {shown}/5 \\rceil = "
        f"{-(-shown // 5)}$ bags.",
        f"**Answer:** {-(-shown // 5)}",
    ]
    return DemoTrace(
        problem=(
            f"A rectangular garden measures ${w}$ m by ${h}$ m. One bag of grass seed covers "
            "$5\\ \\text{m}^2$. How many whole bags are needed to seed the entire garden?"
        ),
        steps=steps,
        final_answer=str(-(-shown // 5)),
        ground_truth_answer=str(-(-area // 5)),
        generator=GENERATORS[i % 3],
        error_step=2 if wrong else None,
        error_kind="calculation_error" if wrong else "",
        neutral_steps=frozenset({0}),
    )


def _linear(i: int, a: int, b: int, c: int, wrong: bool) -> DemoTrace:
    x = (c - b) / a
    moved = c + b if wrong else c - b
    shown = moved / a
    fmt = lambda v: str(int(v)) if float(v).is_integer() else f"{v:.2f}"  # noqa: E731
    steps = [
        f"We need to solve ${a}x + {b} = {c}$ for $x$.",
        f"Subtract ${b}$ from both sides: ${a}x = {c} {'+' if wrong else '-'} {b} = {moved}$.",
        f"Divide both sides by ${a}$: $x = \\frac{{{moved}}}{{{a}}} = {fmt(shown)}$.",
        f"Check: ${a} \\cdot {fmt(shown)} + {b} = {fmt(a * shown + b)}$"
        + ("." if not wrong else f", which I will take as close enough to ${c}$."),
        f"**Answer:** $x = {fmt(shown)}$",
    ]
    return DemoTrace(
        problem=f"Solve for $x$: $${a}x + {b} = {c}$$",
        steps=steps,
        final_answer=fmt(shown),
        ground_truth_answer=fmt(x),
        generator=GENERATORS[(i + 1) % 3],
        error_step=1 if wrong else None,
        error_kind="logical_error" if wrong else "",
    )


def _discount(i: int, price: int, pct: int, tax: int, wrong: bool) -> DemoTrace:
    discounted = price * (100 - pct) / 100
    total = round(discounted * (100 + tax) / 100, 2)
    # The planted error applies the tax to the original price (a wrong leap).
    wrong_total = round(price * (100 + tax) / 100 - price * pct / 100, 2)
    shown = wrong_total if wrong else total
    steps = [
        f"The jacket costs \\${price} before the sale.",
        f"A {pct}\\% discount removes ${price} \\times {pct/100:.2f} = {price * pct / 100:.2f}$ dollars, "
        f"leaving \\${discounted:.2f}.",
        (
            f"Sales tax is applied to the original price, so the tax is "
            f"${price} \\times {tax/100:.2f} = {price * tax / 100:.2f}$."
            if wrong
            else f"Sales tax of {tax}\\% is applied to the sale price: "
            f"${discounted:.2f} \\times {1 + tax/100:.2f} = {total:.2f}$."
        ),
        f"So the customer pays \\${shown:.2f}.",
        f"**Answer:** \\${shown:.2f}",
    ]
    return DemoTrace(
        problem=(
            f"A jacket is priced at \\${price}. It is on sale for {pct}\\% off, and a {tax}\\% sales "
            "tax is charged on the sale price. How much does the customer pay?"
        ),
        steps=steps,
        final_answer=f"{shown:.2f}",
        ground_truth_answer=f"{total:.2f}",
        generator=GENERATORS[(i + 2) % 3],
        error_step=2 if wrong else None,
        error_kind="unjustified_leap" if wrong else "",
        neutral_steps=frozenset({0}),
    )


def _sequence(i: int, first: int, diff: int, n: int, wrong: bool) -> DemoTrace:
    total = n * (2 * first + (n - 1) * diff) // 2
    last = first + (n - 1) * diff
    claimed_formula = (
        "$S_n = n(a_1 + a_n)$, a standard identity" if wrong else "$S_n = \\frac{n(a_1 + a_n)}{2}$"
    )
    shown = n * (first + last) if wrong else total
    steps = [
        f"This is an arithmetic sequence with $a_1 = {first}$ and common difference $d = {diff}$.",
        f"The {n}th term is $a_{{{n}}} = a_1 + ({n}-1)d = {first} + {n - 1} \\cdot {diff} = {last}$.",
        f"The sum of the first $n$ terms is {claimed_formula}.",
        f"So $S_{{{n}}} = {shown}$.",
        "Let me double-check the problem statement: it asks for the sum, which is what we computed.",
        f"**Answer:** {shown}",
    ]
    return DemoTrace(
        problem=(
            f"An arithmetic sequence starts $${first}, {first + diff}, {first + 2 * diff}, \\ldots$$ "
            f"What is the sum of its first ${n}$ terms?"
        ),
        steps=steps,
        final_answer=str(shown),
        ground_truth_answer=str(total),
        generator=GENERATORS[i % 3],
        error_step=2 if wrong else None,
        error_kind="hallucinated_fact" if wrong else "",
        neutral_steps=frozenset({4}),
    )


def _probability(i: int, red: int, blue: int, wrong: bool) -> DemoTrace:
    total = red + blue
    num, den = red * (red - 1), total * (total - 1)
    shown_num, shown_den = (red * red, total * total) if wrong else (num, den)
    steps = [
        f"The bag holds ${red}$ red and ${blue}$ blue marbles, ${total}$ in all.",
        f"The probability that the first marble is red is $\\frac{{{red}}}{{{total}}}$.",
        (
            f"The second draw is independent, so it is also $\\frac{{{red}}}{{{total}}}$."
            if wrong
            else f"Without replacement, the second is red with probability "
            f"$\\frac{{{red - 1}}}{{{total - 1}}}$."
        ),
        f"Multiplying: $\\frac{{{shown_num}}}{{{shown_den}}}$.",
        f"**Answer:** $\\frac{{{shown_num}}}{{{shown_den}}}$",
    ]
    return DemoTrace(
        problem=(
            f"A bag contains {red} red and {blue} blue marbles. Two marbles are drawn **without** "
            "replacement. What is the probability that both are red?"
        ),
        steps=steps,
        final_answer=f"{shown_num}/{shown_den}",
        ground_truth_answer=f"{num}/{den}",
        generator=GENERATORS[(i + 1) % 3],
        error_step=2 if wrong else None,
        error_kind="logical_error" if wrong else "",
    )


def _speed(i: int, d1: int, t1: int, d2: int, t2: int, wrong: bool) -> DemoTrace:
    avg = (d1 + d2) / (t1 + t2)
    wrong_avg = (d1 / t1 + d2 / t2) / 2
    shown = wrong_avg if wrong else avg
    steps = [
        f"In the first part the cyclist rides ${d1}$ km in ${t1}$ h, i.e. ${d1 / t1:.1f}$ km/h.",
        f"In the second part: ${d2}$ km in ${t2}$ h, i.e. ${d2 / t2:.1f}$ km/h.",
        (
            f"The average speed is the mean of the two speeds: "
            f"$\\frac{{{d1 / t1:.1f} + {d2 / t2:.1f}}}{{2}} = {wrong_avg:.2f}$ km/h."
            if wrong
            else f"Average speed is total distance over total time: "
            f"$\\frac{{{d1} + {d2}}}{{{t1} + {t2}}} = {avg:.2f}$ km/h."
        ),
        f"**Answer:** ${shown:.2f}$ km/h",
    ]
    return DemoTrace(
        problem=(
            f"A cyclist rides {d1} km in {t1} hours, then {d2} km in {t2} hours. What is the "
            "average speed for the whole trip, in km/h?"
        ),
        steps=steps,
        final_answer=f"{shown:.2f}",
        ground_truth_answer=f"{avg:.2f}",
        generator=GENERATORS[(i + 2) % 3],
        error_step=2 if wrong else None,
        error_kind="logical_error" if wrong else "",
    )


def demo_traces() -> list[DemoTrace]:
    """Return the 30 demo traces in a fixed order; about half contain a planted error."""
    traces: list[DemoTrace] = []
    for i, (w, h) in enumerate([(12, 7), (9, 14), (15, 6), (8, 11), (20, 13)]):
        traces.append(_rectangle(i, w, h, wrong=i in (1, 3)))
    for i, (a, b, c) in enumerate([(3, 7, 22), (5, 4, 39), (2, 9, 25), (7, 3, 52), (4, 6, 30)]):
        traces.append(_linear(i, a, b, c, wrong=i in (0, 2, 4)))
    for i, (p, d, t) in enumerate([(80, 25, 8), (120, 15, 10), (60, 30, 5), (45, 20, 6), (200, 10, 7)]):
        traces.append(_discount(i, p, d, t, wrong=i in (1, 4)))
    for i, (a, d, n) in enumerate([(3, 4, 10), (5, 2, 12), (7, 3, 8), (1, 5, 15), (10, 10, 6)]):
        traces.append(_sequence(i, a, d, n, wrong=i in (0, 3)))
    for i, (r, b) in enumerate([(5, 3), (4, 6), (7, 2), (3, 3), (6, 4)]):
        traces.append(_probability(i, r, b, wrong=i in (1, 2, 4)))
    speeds = [(30, 2, 20, 2), (45, 3, 15, 1), (24, 2, 36, 4), (50, 2, 10, 1), (18, 1, 42, 3)]
    for i, (d1, t1, d2, t2) in enumerate(speeds):
        traces.append(_speed(i, d1, t1, d2, t2, wrong=i in (0, 2, 3)))
    return traces
