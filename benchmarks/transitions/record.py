"""The transitions benchmark's record: RESULTS.md and its README section, rendered from results.json alone."""

from __future__ import annotations

from benchmarks.records import Raw, environment_paragraph

TITLE = "Retraining run transitions: task-token wait against polling"
HEADER = (
    "| pipeline | ours: transitions | ours: Lambda invocations | ours: USD per 1,000 runs "
    "| polling: transitions | polling: Lambda invocations | polling: USD per 1,000 runs |"
)


def cost_usd(raw: Raw, counts: Raw) -> float:
    """Step Functions transitions and Lambda requests of one run at the price table's rates (no free tier)."""
    transitions, requests = raw["prices"]["stepfunctions.standard_transitions"], raw["prices"]["lambda.requests"]
    return (
        counts["transitions"] / transitions["per"] * transitions["usd"]
        + counts["lambda_invocations"] / requests["per"] * requests["usd"]
    )


def _duration(minutes: float) -> str:
    return f"{minutes / 60:g} h" if minutes >= 60 else f"{minutes:g} min"


def _row(raw: Raw, run: Raw) -> str:
    ours, polling = run["ours"], run["polling"]
    return (
        f"| {_duration(run['pipeline_minutes'])} | {ours['transitions']} | {ours['lambda_invocations']} | "
        f"{cost_usd(raw, ours) * 1000:.2f} | {polling['transitions']:,} ({polling['polls']:,} polls) | "
        f"{polling['lambda_invocations']} | {cost_usd(raw, polling) * 1000:.2f} |"
    )


def _states(counts: Raw) -> str:
    return ", ".join(name if n == 1 else f"{name} ({n:,}x)" for name, n in counts["states_entered"])


def render(raw: Raw) -> str:
    poll = raw["parameters"]["poll_seconds"]
    rows = "\n".join(_row(raw, run) for run in raw["runs"])
    first = raw["runs"][0]
    transitions = raw["prices"]["stepfunctions.standard_transitions"]
    requests = raw["prices"]["lambda.requests"]
    return f"""Command: `{raw["command"]}`

{environment_paragraph(raw["environment"])}

What ran: the synthesized DEV retraining state machine, in moto's Step Functions interpreter with the real
handlers in-process, once per pipeline duration as synthesized ("ours": the pipeline wait is a task token that
the pipeline's status event completes) and once as a polling design (the same definition with the wait replaced
by a Wait / DescribePipelineExecution / Choice loop every {poll} s). Both runs end with a candidate that is not
better, so they differ only in the wait. Time is compressed (`benchmarks/transitions/loop.py` says how): our run
stays parked for the duration scaled down, the polling run's pipeline answers Executing until the poll that
falls after its end.

Transitions are the states each run entered (Step Functions bills a Standard workflow per state transition);
Lambda invocations include the callback the pipeline's status event invokes. Cost per 1,000 runs at
{transitions["usd"]} USD per {transitions["per"]:,} transitions and {requests["usd"]} USD per {requests["per"]:,}
Lambda requests ({raw["prices"]["table"]}), without the free tier and without Lambda duration.

{HEADER}
|---|---|---|---|---|---|---|
{rows}

States entered with a {_duration(first["pipeline_minutes"])} pipeline, in order of first entry: ours
{_states(first["ours"])}; polling {_states(first["polling"])}.
"""


def summary(raw: Raw) -> str:
    runs = raw["runs"]
    ours = sorted({run["ours"]["transitions"] for run in runs})
    longest = max(runs, key=lambda run: run["pipeline_minutes"])
    constant = f"{ours[0]} transitions" if len(ours) == 1 else f"{ours[0]} to {ours[-1]} transitions"
    polling, ours_cost, polling_cost = (
        longest["polling"],
        cost_usd(raw, longest["ours"]),
        cost_usd(raw, longest["polling"]),
    )
    durations = ", ".join(_duration(run["pipeline_minutes"]) for run in runs)
    return f"""Recorded {raw["environment"]["recorded_at"]}: a retraining run takes {constant} whatever the
pipeline's duration ({durations} executed); polling every {raw["parameters"]["poll_seconds"]} s takes
{polling["transitions"]:,} for a {_duration(longest["pipeline_minutes"])} pipeline ({polling_cost * 1000:.2f} USD per
1,000 runs against {ours_cost * 1000:.2f}). Details: `transitions/RESULTS.md`."""
