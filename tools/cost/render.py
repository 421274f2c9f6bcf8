"""The estimate as terminal tables (one per environment) or as JSON."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from tools.cost.estimate import EnvironmentEstimate

_WIDTH = 118
_USAGE_WIDTH = 58


def _money(usd: float) -> str:
    return f"{usd:,.2f}"


def table(estimate: EnvironmentEstimate) -> str:
    prices = estimate.prices
    out = [
        f"{estimate.environment} (account {estimate.account}, {estimate.region}): "
        f"monthly estimate in {prices.currency}",
        "=" * _WIDTH,
    ]
    model_width = max(len("model"), *(len(line.model) for line in estimate.lines))
    item_width = min(44, max(len("item"), *(len(line.item) for line in estimate.lines)))
    header = f"{'model':<{model_width}}  {'item':<{item_width}}  {'usage':<{_USAGE_WIDTH}}  {'USD':>10}"
    out += [header, "-" * _WIDTH]
    for model in estimate.models:
        for line in (x for x in estimate.lines if x.model == model):
            items = textwrap.wrap(line.item, item_width) or [""]
            usages = textwrap.wrap(line.usage, _USAGE_WIDTH) or [""]
            for i in range(max(len(items), len(usages))):
                money = _money(line.usd) if i == 0 else ""
                name = model if i == 0 else ""
                item = items[i] if i < len(items) else ""
                usage = usages[i] if i < len(usages) else ""
                out.append(f"{name:<{model_width}}  {item:<{item_width}}  {usage:<{_USAGE_WIDTH}}  {money:>10}")
        subtotal = f"subtotal {model}"
        money = _money(estimate.subtotal(model))
        out.append(f"{'':<{model_width}}  {subtotal:<{item_width + _USAGE_WIDTH + 2}}  {money:>10}")
        out.append("")
    out.append("-" * _WIDTH)
    total = f"total {estimate.environment}"
    out.append(f"{total:<{model_width + item_width + _USAGE_WIDTH + 4}}  {_money(estimate.total):>10}")
    out.append("")
    out.append(f"Prices: {prices.label}.")
    out.append(f"Free tier: {prices.free_tier_note}")
    out.append("Assumed (change in config/environments.py `cost=` or with --assume name=value):")
    for name, value in asdict(estimate.assumptions).items():
        shown = f"{value:,}" if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)
        out.append(f"  {name} = {shown}")
    out.append(
        "  also: endpoints run at the instance count their traffic needs within the scaling bounds; "
        "a workflow run enters the states of its longest successful path once (no retries); storage is "
        "priced after a year of traffic."
    )
    if estimate.notes:
        out.append("Not in the estimate:")
        out += [f"  {note}" for note in estimate.notes]
    return "\n".join(out)


def tables(estimates: Sequence[EnvironmentEstimate]) -> str:
    return "\n\n".join(table(e) for e in estimates) + "\n"


def as_json(estimates: Sequence[EnvironmentEstimate]) -> str:
    document: list[dict[str, Any]] = []
    for estimate in estimates:
        prices = estimate.prices
        document.append(
            {
                "environment": estimate.environment,
                "account": estimate.account,
                "region": estimate.region,
                "currency": prices.currency,
                "prices": {"file": prices.path.name, "taken": prices.taken, "taken_from": prices.taken_from},
                "total_usd": round(estimate.total, 2),
                "models": {model: round(estimate.subtotal(model), 2) for model in estimate.models},
                "lines": [
                    {
                        "model": line.model,
                        "item": line.item,
                        "usage": line.usage,
                        "quantities": dict(line.quantities),
                        "usd": round(line.usd, 4),
                    }
                    for line in estimate.lines
                ],
                "assumptions": asdict(estimate.assumptions),
                "notes": list(estimate.notes),
            }
        )
    return json.dumps(document, indent=2) + "\n"
