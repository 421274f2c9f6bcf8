"""The shipped price tables: one JSON file per region, each price with its unit and the public page it is from."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.cost.errors import CostError

PRICES_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Price:
    """``usd`` buys ``per`` units (for example 0.20 per 1,000,000 requests)."""

    usd: float
    per: int
    unit: str
    source: str

    def cost(self, quantity: float) -> float:
        return quantity / self.per * self.usd


@dataclass(frozen=True)
class FreeAllowance:
    """An always-free monthly quantity of the units of ``applies_to`` (price keys)."""

    applies_to: tuple[str, ...]
    quantity: float
    source: str


@dataclass(frozen=True)
class PriceTable:
    path: Path
    region: str
    currency: str
    taken: str
    taken_from: str
    hours_per_month: float
    free_tier_note: str
    prices: dict[str, Price]
    free_tier: dict[str, FreeAllowance]

    def price(self, key: str) -> Price:
        try:
            return self.prices[key]
        except KeyError:
            raise CostError(f"{self.path.name} has no price '{key}': add it with its source page") from None

    @staticmethod
    def instance_key(use: str, instance_type: str) -> str:
        """Price key of an instance-hour of ``instance_type`` for ``use`` (hosting, processing or training)."""
        return f"sagemaker.{use}.{instance_type}"

    @property
    def label(self) -> str:
        return f"{self.region}, {self.currency}, taken {self.taken} from {self.taken_from} ({self.path.name})"


def table_path(region: str) -> Path:
    return PRICES_DIR / f"prices_{region.replace('-', '_')}.json"


def load_prices(region: str, *, path: Path | None = None) -> PriceTable:
    """The price table of ``region``; a clear error when none ships for it."""
    path = path or table_path(region)
    if not path.exists():
        shipped = sorted(p.name for p in PRICES_DIR.glob("prices_*.json"))
        raise CostError(f"no price table for region {region}: expected {path.name} (shipped: {', '.join(shipped)})")
    raw: dict[str, Any] = json.loads(path.read_text())
    if raw.get("region") != region:
        raise CostError(f"{path.name} is for region {raw.get('region')!r}, not {region}")
    try:
        return PriceTable(
            path=path,
            region=raw["region"],
            currency=raw["currency"],
            taken=raw["taken"],
            taken_from=raw["taken_from"],
            hours_per_month=float(raw["hours_per_month"]),
            free_tier_note=raw.get("free_tier_note", ""),
            prices={
                key: Price(usd=float(v["usd"]), per=int(v["per"]), unit=v["unit"], source=v["source"])
                for key, v in raw["prices"].items()
            },
            free_tier={
                name: FreeAllowance(
                    applies_to=tuple(v["applies_to"]), quantity=float(v["quantity"]), source=v["source"]
                )
                for name, v in raw.get("free_tier", {}).items()
            },
        )
    except (KeyError, TypeError, ValueError) as error:
        raise CostError(f"{path.name} is malformed: {error!r}") from None
