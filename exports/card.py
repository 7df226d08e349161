"""The README.md dataset card of an export, Hugging Face style, from its manifest; pure Python."""
from __future__ import annotations

from typing import Any

_FORMAT_NOTES = {
    "trl": (
        "TRL stepwise supervision: `prompt` (str), `completions` (list of str), `labels` (list of "
        "bool, one per completion). Booleans on purpose: TRL's `PRMTrainer` casts labels with "
        "`int()`. Train with `PRMConfig(step_separator={sep!r})`: the trainer appends it after "
        "every step."
    ),
    "rlhflow": (
        "RLHFlow PRM chat (`conversations`: role/content turns). Each step is a user turn, the "
        "first one is the problem, a blank line and step 1; each assistant turn is `+` or `-`."
    ),
    "prm800k": (
        "PRM800K phase-2 style: `question.pre_generated_steps` holds every step; `label.steps` "
        "rates them -1/0/1 (null = unlabelled) up to the last labelled step, each as the chosen "
        "completion; `finish_reason` is `found_error` when a step is rated -1."
    ),
    "math-shepherd": (
        "Math-Shepherd: `input` is the problem then `Step k: … ки` lines; `label` is the same "
        "text with each `ки` replaced by `+` or `-`; `task` names the source."
    ),
    "processbench": (
        "ProcessBench: `steps` and `label` = 0-based index of the first wrong step, or -1 when "
        "every step is right; `final_answer_correct` comes from the trace, not from the labels."
    ),
    "native": (
        "Native: every annotator's raw label per step (category, polarity, unsure flag, "
        "rationale, time), the gold label, the aggregate and, with soft aggregation, the share "
        "of each polarity. Category definitions are in `manifest.json` under `taxonomy`."
    ),
}


def _yaml_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def card_text(manifest: dict[str, Any]) -> str:
    """Return the dataset card: YAML front matter with the data files per split, then figures."""
    options = manifest["options"]
    lines = ["---", "configs:", "- config_name: default", "  data_files:"]
    for entry in manifest["files"]:
        lines += [f"  - split: {entry['split']}", f"    path: {entry['path']}"]
    lines += [
        "tags:", "- process-reward-model", "- step-level-labels", f"- {manifest['format']}",
        f"pretty_name: {_yaml_str(manifest['project']['name'] + ' (' + manifest['format'] + ')')}",
        "---", "",
        f"# {manifest['project']['name']}: {manifest['format']} export", "",
        "Step-level labels of reasoning traces for process reward models, exported by "
        "prm-annotator.", "",
        "## Format", "",
        _FORMAT_NOTES[manifest["format"]].format(sep=manifest.get("step_separator", "\n")), "",
        "## Splits", "",
        "| split | records | steps | file | sha256 |",
        "| --- | ---: | ---: | --- | --- |",
    ]
    files = {f["split"]: f for f in manifest["files"]}
    for split, counts in manifest["counts"].items():
        f = files.get(split)
        lines.append(
            f"| {split} | {counts['records']:,} | {counts['steps']:,} | "
            f"{'`' + f['path'] + '`' if f else '(empty)'} | {'`' + f['sha256'][:16] + '…`' if f else ''} |"
        )
    dist = manifest["label_distribution"]
    agreement = manifest["agreement"]
    agg = manifest["aggregation"]
    lines += [
        "",
        "Splits are grouped by problem: sha256(seed, normalised problem text) decides the split, "
        "so no problem appears in two splits. "
        f"Fractions {options['split']}, seed {options['seed']}.",
        "",
        "## Labels", "",
        f"Aggregation: **{agg['method']}**. {agg['tie_rule']} Neutral policy: "
        f"**{agg['neutral']}**. Truncated after the first error: "
        f"**{'yes' if options['truncate_after_error'] else 'no'}**. Minimum annotators per step: "
        f"{options['min_annotators']}.",
        "",
        "| label | steps |", "| --- | ---: |",
        *[f"| {k} | {v:,} |" for k, v in dist.items()],
        "",
        "## Agreement (raw labels of the exported steps)", "",
        "| figure | value |", "| --- | --- |",
        *[f"| {k} | {'n/a' if v is None else v} |" for k, v in agreement.items()],
        "",
        "## Taxonomy", "",
        f"Version {manifest['taxonomy']['version']}.", "",
        "| key | polarity | name | description |", "| --- | ---: | --- | --- |",
        *[
            f"| {c['key']} | {c['polarity']:+d} | {c['name']} | {c['description'].replace('|', '/')} |"
            for c in manifest["taxonomy"]["categories"]
        ],
        "",
        "## Load", "",
        "```python",
        "from datasets import load_dataset",
        f"ds = load_dataset({manifest['file_format'].replace('jsonl', 'json')!r}, data_files={{"
        + ", ".join(f"{f['split']!r}: {f['path']!r}" for f in manifest["files"]) + "})",
        "```", "",
        "Every file's sha256 is in `manifest.json`, with the full options and filters.",
        "",
    ]
    return "\n".join(lines)
