"""The graph's own logic, without running stages: routing after a review, iteration bounds and the
failure report, fork edits, the offline remedies for failed stages, and the report's criteria."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from agents.intake import intake
from agents.models import ReviewRecord, StageInput, StageRecord
from agents.stages import SPECS
from graph.display import LiveDisplay
from graph.events import throttled
from graph.fork import fork_update
from graph.report import costs, criteria, summary_lines
from graph.routing import REPORT, after_review
from graph.state import PipelineState, RunSettings
from tools.arch.design import rescale_schedule
from tools.config import TrainSpec
from tools.errors import InputError
from tools.verdict import Remedy


def _state(**settings) -> PipelineState:
    plan = intake("train a tiny riscv model", None, profile="micro").plan
    return PipelineState(goal=plan.goal, plan=plan, settings=RunSettings(**settings))


def _run(state: PipelineState, stage: str, attempt: int, error: str | None = None) -> PipelineState:
    rec = StageRecord(stage=stage, attempt=attempt, status="failed" if error else "ok", error=error)
    return state.model_copy(
        update={
            "runs": [*state.runs, rec],
            "stages": {**state.stages, stage: rec},
            "attempts": {**state.attempts, stage: attempt},
        }
    )


def _review(
    stage: str, attempt: int, approved: bool, remedy: Remedy | None = None, usable: bool = False
) -> ReviewRecord:
    return ReviewRecord(
        stage=stage,
        attempt=attempt,
        kind="k",
        path="p",
        approved=approved,
        failures=[] if approved else ["check: failed"],
        usable=approved or usable,
        remedy=remedy,
    )


LOWER_LR = Remedy(
    stage="train", action="resume_lower_lr", params={"lr_scale": 0.5}, text="resume at half the LR"
)


@pytest.mark.parametrize(
    ("stage", "nxt"),
    [
        ("data", "architect"),
        ("architect", "train"),
        ("train", "tune"),
        ("tune", "evaluate"),
        ("evaluate", "quantize"),
        ("quantize", "export"),
        ("export", "integrate"),
        ("integrate", REPORT),
    ],
)
def test_approval_moves_to_the_next_stage(stage: str, nxt: str) -> None:
    state = _run(_state(), stage, 1)
    assert after_review(state, _review(stage, 1, True)) == {"remedy": None, "next_node": nxt}


def test_until_stops_after_that_stage() -> None:
    state = _run(_state(until="train"), "train", 1)
    assert after_review(state, _review("train", 1, True))["next_node"] == REPORT


def test_rejection_routes_to_the_remedy_stage_with_the_remedy() -> None:
    state = _run(_run(_state(), "train", 1), "evaluate", 1)
    longer = Remedy(stage="train", action="train_longer", params={"max_steps": 600}, text="train longer")
    update = after_review(state, _review("evaluate", 1, False, longer))
    assert update["next_node"] == "train"
    assert update["remedy"]["params"] == {"max_steps": 600}


def test_rejection_without_remedy_reruns_the_stage() -> None:
    update = after_review(_run(_state(), "export", 1), _review("export", 1, False))
    assert (update["next_node"], update["remedy"]["action"]) == ("export", "rerun")


def test_stage_bound_ends_the_run_with_what_was_tried() -> None:
    state = _state(max_attempts_per_stage=2)
    for attempt in (1, 2):
        state = _run(state, "train", attempt, error=f"diverged at step {attempt * 10}")
    update = after_review(state, _review("train", 2, False, LOWER_LR))
    assert (update["status"], update["next_node"]) == ("failed", REPORT)
    assert "train already ran 2 times (max 2)" in update["failure"]
    assert "attempt 1: diverged at step 10" in update["failure"]
    assert "attempt 2: diverged at step 20" in update["failure"]


def test_overall_bound_ends_the_run() -> None:
    state = _state(max_stage_runs=3)
    for stage in ("data", "architect", "train"):
        state = _run(state, stage, 1)
    update = after_review(state, _review("train", 1, False, LOWER_LR))
    assert update["status"] == "failed" and "executed 3 stages (max 3)" in update["failure"]


def test_no_remedy_starts_once_the_time_budget_is_spent() -> None:
    state = _run(_state(), "train", 1)
    assert after_review(state, _review("train", 1, False, LOWER_LR))["next_node"] == "train"  # within budget
    late = state.model_copy(update={"started": "2000-01-01T00:00:00+00:00"})
    update = after_review(late, _review("train", 1, False, LOWER_LR))
    assert (update["status"], update["next_node"]) == ("failed", REPORT)
    assert f"the run's {state.plan.budget_minutes:g}-minute budget is spent" in update["failure"]


TUNE_LONGER = Remedy(stage="tune", action="tune_longer", params={"minutes": 10}, text="tune for 10 minutes")


def test_a_missed_target_at_a_bound_carries_the_artifact_on_and_fails_the_run() -> None:
    """Out of budget, a tuned model short of its accuracy target still goes to evaluate (the run
    builds and measures the kernel), the run is failed, and each miss is kept in the failure."""
    late = _run(_state(), "tune", 1).model_copy(update={"started": "2000-01-01T00:00:00+00:00"})
    update = after_review(late, _review("tune", 1, False, TUNE_LONGER, usable=True))
    assert (update["status"], update["next_node"], update["remedy"]) == ("failed", "evaluate", None)
    carried = late.model_copy(update={"status": "failed", "failure": update["failure"]})
    carried = _run(carried, "integrate", 1)
    final = after_review(carried, _review("integrate", 1, False, TUNE_LONGER, usable=True))
    assert (final["status"], final["next_node"]) == ("failed", REPORT)
    assert final["failure"].startswith("tune rejected") and "\nintegrate rejected" in final["failure"]
    broken = after_review(late, _review("tune", 1, False, TUNE_LONGER, usable=False))
    assert broken["next_node"] == REPORT


def test_a_remedy_starts_only_when_the_budget_holds_it_and_the_finishing_stages() -> None:
    from datetime import datetime, timedelta, timezone

    state = _run(_state(), "tune", 1)
    plan = state.plan
    assert plan is not None and plan.finish_minutes < plan.budget_minutes
    room = plan.budget_minutes - plan.finish_minutes  # minutes a remedy may still use at the start

    def started(minutes_ago: float) -> PipelineState:
        t = datetime.now(timezone.utc) - timedelta(minutes=minutes_ago)
        return state.model_copy(update={"started": t.isoformat()})

    fits = TUNE_LONGER.model_copy(update={"params": {"minutes": room / 2}})
    assert after_review(started(0), _review("tune", 1, False, fits))["next_node"] == "tune"
    late = after_review(started(room / 2 + 0.5), _review("tune", 1, False, fits, usable=True))
    assert (late["status"], late["next_node"]) == ("failed", "evaluate")
    assert "too few for" in late["failure"] and f"the {plan.finish_minutes:g} of the finishing stages" in late["failure"]
    # a remedy off the clock (more task data, a lower LR) still needs the finishing stages' minutes,
    # and tuning's when it goes back before tuning
    before = room - plan.tune_minutes
    assert after_review(started(before - 0.5), _review("train", 1, False, LOWER_LR))["next_node"] == "train"
    assert after_review(started(before + 0.5), _review("train", 1, False, LOWER_LR))["next_node"] == REPORT


def test_a_train_remedy_needs_its_minutes_and_tunings_too() -> None:
    """Training longer reruns tuning after it: it starts only where the budget holds its own
    minutes, tuning's and the finishing stages'; else the pretrained model goes on to tuning."""
    from datetime import datetime, timedelta, timezone

    state = _run(_run(_state(), "architect", 1), "train", 1)
    plan = state.plan
    assert plan is not None
    t = datetime.now(timezone.utc) - timedelta(minutes=plan.budget_minutes / 2)
    half = state.model_copy(update={"started": t.isoformat()})
    left = plan.budget_minutes / 2

    def longer(minutes: float) -> Remedy:
        return Remedy(stage="train", action="train_longer", params={"max_steps": 1106, "minutes": minutes}, text="")

    room = left - plan.tune_minutes - plan.finish_minutes
    assert room > 1
    assert after_review(half, _review("train", 1, False, longer(room - 1)))["next_node"] == "train"
    late = after_review(half, _review("train", 1, False, longer(room + 1), usable=True))
    assert (late["status"], late["next_node"]) == ("failed", "tune")
    assert f"{room + 1:g} more and {plan.tune_minutes:g} of tuning and the" in late["failure"]


def test_pretraining_gets_what_the_earlier_stages_left_of_the_budget() -> None:
    from datetime import datetime, timedelta, timezone

    from agents.train import MIN_TRAIN_SHARE, train_minutes

    plan = intake("train a tiny riscv model", None).plan
    later = plan.tune_minutes + plan.finish_minutes
    planned_start = plan.budget_minutes - later - plan.train_minutes  # what the plan gives data

    def inp(minutes_ago: float) -> StageInput:
        t = (datetime.now(timezone.utc) - timedelta(minutes=minutes_ago)).isoformat()
        return StageInput(stage="train", attempt=1, thread_id="t", plan=plan, started=t)

    assert train_minutes(inp(planned_start - 0.1)) == (plan.train_minutes, None)
    minutes, note = train_minutes(inp(planned_start + 4))
    assert abs(minutes - (plan.train_minutes - 4)) < 0.05 and note and "the earlier stages left" in note
    minutes, note = train_minutes(inp(plan.budget_minutes))
    assert minutes == MIN_TRAIN_SHARE * plan.train_minutes and note and "will overrun" in note
    assert train_minutes(StageInput(stage="train", attempt=1, thread_id="t", plan=plan))[1] is None


def test_failed_training_resumes_at_half_the_lr_each_time(tmp_path) -> None:
    """The remedy halves the LR scale the run's newest checkpoint holds (tools.train.divergence)."""
    from tools.checkpoint import TRAINER_STATE, WEIGHTS, TrainerState, step_dir_name

    state = _state()
    inp = StageInput(stage="train", attempt=1, thread_id="t", plan=state.plan)
    run = tmp_path / "run"
    failed = StageRecord(stage="train", attempt=1, status="failed", error="NaN", outputs={"run": str(run)})
    remedy = SPECS["train"].on_failure
    assert remedy(failed, inp).params == {"lr_scale": 0.5, "from_step": 0}  # no checkpoint yet
    for step, scale in ((10, 1.0), (20, 0.5)):
        d = run / step_dir_name(step)
        d.mkdir(parents=True)
        (d / WEIGHTS).write_bytes(b"")
        (d / TRAINER_STATE).write_text(
            TrainerState(step=step, tokens_seen=0, data_cursor=0, lr_scale=scale).model_dump_json()
        )
    assert remedy(failed, inp).params == {"lr_scale": 0.25, "from_step": 20}
    data = StageRecord(
        stage="data", attempt=1, status="failed", error="corpus too small", params={"max_bytes": 1000}
    )
    assert SPECS["data"].on_failure(data, inp).model_dump(include={"action", "params"}) == {
        "action": "more_data",
        "params": {"max_bytes": 2000},
    }
    other = StageRecord(stage="export", attempt=1, status="failed", error="disk full")
    assert SPECS["export"].on_failure(other, inp).action == "rerun"


def test_rescale_schedule_keeps_warmup_below_the_steps() -> None:
    t = rescale_schedule(TrainSpec(warmup_steps=300, max_steps=6000, checkpoint_interval=600), 300)
    assert (t.max_steps, t.warmup_steps, t.checkpoint_interval, t.eval_interval) == (300, 15, 30, 30)
    short = rescale_schedule(TrainSpec(warmup_steps=300, max_steps=6000, checkpoint_interval=600), 2)
    assert (short.max_steps, short.checkpoint_interval, short.eval_interval) == (2, 2, 2)  # not past the end


def test_fork_edits_are_validated() -> None:
    state = _state()
    update = fork_update(state, ["lr=0.002", "settings.until=train", "plan.eval_max_qa=4"])
    assert (update["plan"]["lr"], update["plan"]["eval_max_qa"], update["settings"]["until"]) == (
        0.002,
        4,
        "train",
    )
    for bad, msg in [
        ("lr", "expected KEY=VALUE"),
        ("nonsense=1", "unknown key"),
        ("plan.lr=-1", "greater than 0"),
        ("settings.until=bake", "settings.until"),
        ("state.goal=x", "unknown key"),
    ]:
        with pytest.raises(InputError, match=msg):
            fork_update(state, [bad])


def test_criteria_not_reached_before_the_stage_ran() -> None:
    state = _run(_state(), "data", 1)
    crits = criteria(state, costs(state))
    assert [c.result for c in crits] == ["not reached"] * 7 + ["pass"]
    assert summary_lines(state)[-1].startswith("success criteria: 1/8 pass")


def test_training_completes_when_only_its_perplexity_missed() -> None:
    """Criterion 1 (no NaN/Inf) is about the run, not its perplexity (criterion 2): a checkpoint
    rejected only for a missed target passes it; one with a NaN it did not roll back fails it."""
    state = _run(_state(), "train", 1)

    def first(review: ReviewRecord):
        done = state.model_copy(update={"reviews": [review]})
        return criteria(done, costs(done))[0]

    short = _review("train", 1, False, usable=True).model_copy(
        update={"failures": ["val_perplexity: validation perplexity 123.19 at step 474 is not below 50"]}
    )
    assert first(short).result == "pass"
    assert first(short).evidence.startswith("checkpoint review rejected for a missed target only (val_perplexity)")
    broken = _review("train", 1, False).model_copy(update={"failures": ["nan_handled: NaN at step 25"]})
    assert first(broken).result == "fail" and "a broken run (nan_handled)" in first(broken).evidence
    assert first(_review("train", 1, True)).result == "pass"


def test_progress_events_are_thinned_but_never_the_last() -> None:
    got: list[dict] = []
    emit = throttled(got.append, min_interval_s=60.0)
    for i in range(1000):
        emit({"event": "progress", "stage": "data", "task": "encode", "done": i, "total": 999})
    emit({"event": "progress", "stage": "train", "task": "train", "done": 1, "total": 300})
    emit({"event": "stage_end", "stage": "data"})
    assert [(e.get("task"), e.get("done")) for e in got] == [
        ("encode", 0),
        ("encode", 999),
        ("train", 1),
        (None, None),
    ]


def test_display_logs_one_line_per_stage_change_when_not_a_terminal() -> None:
    buf = io.StringIO()
    with LiveDisplay(Console(file=buf, force_terminal=False, width=100), "run") as display:
        display.handle(
            {"event": "stage_start", "stage": "train", "attempt": 2, "remedy": "resume at half the LR"}
        )
        display.handle(
            {"event": "progress", "stage": "train", "task": "train", "done": 5, "total": 10, "loss": 2.5}
        )
        display.handle(
            {
                "event": "stage_end",
                "stage": "train",
                "attempt": 2,
                "status": "ok",
                "error": None,
                "wall_s": 3.2,
            }
        )
        display.handle(
            {
                "event": "verdict",
                "stage": "train",
                "approved": False,
                "failures": ["val_perplexity: 80 >= 50"],
            }
        )
    lines = buf.getvalue().splitlines()
    assert lines[:3] == [
        "train: running (attempt 2)  resume at half the LR",
        "train: reviewing (attempt 2) 3s",
        "train: rejected (attempt 2) 3s val_perplexity: 80 >= 50",
    ]
    row = next(line for line in lines if line.startswith("│ train "))  # the final table
    assert row.split("│")[2:5] == [" rejected ", " 2       ", " 3s   "]
