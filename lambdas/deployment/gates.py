"""What must hold before traffic moves further: a passing comparison at the right point."""

from __future__ import annotations

from lambdas.deployment.errors import CandidateRegressed, PromotionBlocked
from lambdas.deployment.history import Deployment
from lambdas.deployment.settings import Strategy, StrategySettings


def require_passing_comparison(deployment: Deployment, *, at_step: int) -> None:
    comparison = deployment.last_comparison()
    if comparison is None or comparison.get("step_index") != at_step:
        where = f" at A/B step {at_step}" if deployment.strategy == Strategy.AB.value else ""
        raise PromotionBlocked(
            f"deployment '{deployment.deployment_id}': no comparison recorded{where}; run compare first"
        )
    if not comparison.get("passed"):
        reasons = "; ".join(comparison.get("reasons", [])) or "no reason recorded"
        raise CandidateRegressed(f"deployment '{deployment.deployment_id}': candidate regressed: {reasons}")


def require_promotable(deployment: Deployment, settings: StrategySettings) -> None:
    """shadow: a passing comparison; ab: the last weight step applied and compared; guardrail strategies: no
    failing comparison (their bake comparison is optional)."""
    strategy = Strategy(deployment.strategy)
    if strategy is Strategy.SHADOW:
        require_passing_comparison(deployment, at_step=0)
    elif strategy is Strategy.AB:
        last = len(settings.ab.weight_steps_percent) - 1
        if deployment.ab_step_index != last:
            raise PromotionBlocked(
                f"deployment '{deployment.deployment_id}': the challenger is at A/B step {deployment.ab_step_index}; "
                f"promotion needs the last step ({last}, {settings.ab.weight_steps_percent[-1]}%) applied and compared"
            )
        require_passing_comparison(deployment, at_step=last)
    else:
        comparison = deployment.last_comparison()
        if comparison is not None and not comparison.get("passed"):
            require_passing_comparison(deployment, at_step=int(comparison.get("step_index", 0)))
