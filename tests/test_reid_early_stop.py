"""Early stopping of Re-ID training (issue 29.2): the held-out identity split, the plateau rule against a
straightforward reference, the training loop's epoch hook, and train_checkpoint's payload on a tiny synth suite."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from bench.appearance.checkpoints import load_checkpoint, train_checkpoint
from bench.appearance.identity_crops import reused_gt_crops
from bench.core.config import apply_overrides
from bench.core.errors import BenchError
from bench.present.report import _early_stop_note
from tests.test_reid_pipeline import tiny  # noqa: F401  (the tiny synth suite fixture)
from trackers.reid.configs import ModelConfig, TrainConfig
from trackers.reid.early_stop import PlateauStop, epoch_end_hook, holdout_split
from trackers.reid.samplers import PKSampler
from trackers.reid.train import train

TINY = {"width": 0.125, "input_size": (32, 16)}


# ---- holdout_split ------------------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(n_ids=st.integers(4, 40), per_id=st.integers(1, 5), share=st.floats(0.05, 0.95), seed=st.integers(0, 2**32 - 1))
def test_holdout_split_is_seeded_disjoint_and_by_whole_ids(n_ids, per_id, share, seed):
    labels = np.random.default_rng(seed).permutation(np.repeat(np.arange(n_ids) * 7, per_id))  # any integer ids
    held_count = int(share * n_ids + 0.5)
    if held_count < 2 or n_ids - held_count < 2:
        with pytest.raises(ValueError, match="identities"):
            holdout_split(labels, share, seed)
        return
    fit, held = holdout_split(labels, share, seed)
    assert np.array_equal(np.sort(np.concatenate([fit, held])), np.arange(len(labels)))  # disjoint, complete
    assert not set(labels[fit]) & set(labels[held])  # whole identities
    assert len(np.unique(labels[held])) == held_count
    again = holdout_split(labels, share, seed)
    assert np.array_equal(again[0], fit) and np.array_equal(again[1], held)


def test_holdout_split_depends_on_the_seed_and_takes_string_ids():
    labels = np.repeat([f"seq:{i}" for i in range(30)], 3)
    draws = {tuple(holdout_split(labels, 0.2, seed)[1]) for seed in range(5)}
    assert len(draws) > 1
    assert all(len(set(labels[list(d)])) == 6 for d in draws)


@pytest.mark.parametrize(("n_ids", "share", "message"), [
    (10, 0.1, "gives 1; the held-out retrieval needs at least 2"),
    (10, 0.9, "leaves 1 to train on"),
    (3, 0.5, "leaves 1 to train on"),
])
def test_holdout_split_rejects_impossible_shares(n_ids, share, message):
    with pytest.raises(ValueError, match=message):
        holdout_split(np.repeat(np.arange(n_ids), 4), share, 0)


# ---- PlateauStop ----------------------------------------------------------------------------------------------------


def reference_stop(maps: list[float], min_epochs: int, patience: int, min_delta: float) -> tuple[int | None, int]:
    """(the 1-based epoch at which the rule stops, None if it never does; the epoch of the highest mAP up to then,
    the earliest on ties), written out the long way: first mark which evaluations improve on the last improvement,
    then find the first epoch with `patience` non-improving evaluations since the last improving one."""
    improving = []
    last = None
    for m in maps:
        better = last is None or m > last + min_delta
        improving.append(better)
        if better:
            last = m
    stop_at = None
    for epoch in range(1, len(maps) + 1):
        since = epoch - max(i + 1 for i in range(epoch) if improving[i])
        if epoch >= min_epochs and since >= patience:
            stop_at = epoch
            break
    seen = maps[: stop_at or len(maps)]
    return stop_at, seen.index(max(seen)) + 1


def _marked(value: float) -> nn.Linear:
    """A one-weight model whose weight says which epoch's state it holds."""
    model = nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(value)
    return model


@settings(max_examples=300, deadline=None)
@given(maps=st.lists(st.integers(0, 20).map(lambda i: i / 40), min_size=1, max_size=15),
       min_epochs=st.integers(1, 8), patience=st.integers(1, 4), min_delta=st.sampled_from([0.0, 0.005, 0.03, 0.1]))
def test_plateau_stop_follows_the_reference_rule(maps, min_epochs, patience, min_delta):
    stop = PlateauStop(min_epochs, patience, min_delta)
    model = _marked(0.0)
    stopped_at = None
    for epoch, m in enumerate(maps, start=1):
        with torch.no_grad():
            model.weight.fill_(float(epoch))
        if stop.update(epoch, m, model):
            stopped_at = epoch
            break
    expected_stop, expected_best = reference_stop(maps, min_epochs, patience, min_delta)
    assert stopped_at == expected_stop
    assert stop.best_epoch == expected_best
    assert stop.evaluations == list(zip(range(1, len(maps) + 1), maps))[: stopped_at or len(maps)]
    stop.restore(model)
    assert model.weight.item() == expected_best  # the best epoch's weights, not the last


def test_plateau_stop_keeps_a_copy_and_refuses_nonsense():
    stop = PlateauStop(1, 1, 0.0)
    model = _marked(3.0)
    stop.update(1, 0.5, model)
    with torch.no_grad():
        model.weight.fill_(9.0)  # training goes on changing the weights in place
    assert stop.best_state["weight"].item() == 3.0
    with pytest.raises(ValueError, match="no held-out query"):
        stop.update(2, float("nan"), model)
    with pytest.raises(ValueError, match="nothing|no epoch"):
        PlateauStop(1, 1, 0.0).restore(model)
    with pytest.raises(ValueError, match="patience >= 1"):
        PlateauStop(1, 0, 0.0)


def test_hook_evaluates_every_nth_and_the_last_epoch_in_eval_mode():
    modes: list[bool] = []
    scores = iter([0.1, 0.2, 0.3])
    model = _marked(0.0).train()

    def score(m: nn.Module) -> float:
        modes.append(m.training)
        return next(scores)

    stop = PlateauStop(1, 5, 0.0)
    hook = epoch_end_hook(stop, score, every=2, epochs=5)
    assert [hook(e, model) for e in range(5)] == [False] * 5
    assert [e for e, _ in stop.evaluations] == [2, 4, 5]  # every 2nd and the last
    assert modes == [False] * 3 and model.training  # scored in eval mode, handed back in train mode


# ---- train(): the epoch hook ---------------------------------------------------------------------------------------


def _setup(epochs: int = 3, name: str = "global", **train_values):
    crops = torch.randint(0, 256, (24, 3, *TINY["input_size"]), generator=torch.Generator().manual_seed(5),
                          dtype=torch.uint8)
    labels = np.repeat(np.arange(6), 4)
    mc = ModelConfig.for_name(name, **TINY)
    cfg = TrainConfig(epochs=epochs, p=3, k=2, warmup_epochs=0.5, **train_values)
    torch.manual_seed(1)
    model = mc.build(6)
    sampler = PKSampler(labels, 3, 2, seed=1, batches_per_epoch=2)
    return model, (crops, labels, cfg, 1, sampler, mc.make_loss(cfg))


def _state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_a_hook_returning_true_after_epoch_1_stops_with_two_epochs():
    model, args = _setup()
    calls: list[tuple[int, bool]] = []

    def hook(epoch: int, m: nn.Module) -> bool:
        calls.append((epoch, m.training))
        return epoch == 1

    history = train(model, *args, on_epoch_end=hook)
    assert len(history) == 2 and calls == [(0, True), (1, True)]
    assert not model.training


def test_without_early_stop_the_weights_do_not_move():
    """early_stop=False (and its knobs) changes nothing in train(), and a hook that evaluates the model without
    stopping leaves the weights and losses bit-identical to a run without one."""
    plain, args = _setup()
    plain_history = train(plain, *args)
    configured, args_off = _setup(early_stop=False, stop_holdout=0.5, stop_patience=9, stop_every=2)
    assert train(configured, *args_off, on_epoch_end=None) == plain_history
    watched, args_watched = _setup()

    def look(epoch: int, m: nn.Module) -> bool:
        m.eval()
        with torch.no_grad():
            m(torch.zeros(2, 3, *TINY["input_size"]))
        m.train()
        return False

    assert train(watched, *args_watched, on_epoch_end=look) == plain_history
    for other in (configured, watched):
        s1, s2 = plain.state_dict(), other.state_dict()
        assert all(torch.equal(s1[k], s2[k]) for k in s1)


def test_train_stops_on_the_plateau_and_the_best_state_is_restored():
    model, args = _setup(epochs=6)
    snapshots: dict[int, dict[str, torch.Tensor]] = {}
    scores = iter([0.1, 0.5, 0.2, 0.2, 0.9, 0.9])
    stop = PlateauStop(min_epochs=1, patience=2, min_delta=0.0)

    def score(m: nn.Module) -> float:
        snapshots[len(snapshots) + 1] = _state(m)
        return next(scores)

    history = train(model, *args, on_epoch_end=epoch_end_hook(stop, score, every=1, epochs=6))
    assert len(history) == 4 and stop.best_epoch == 2  # 0.2, 0.2 after the 0.5: two evaluations without a gain
    assert not all(torch.equal(snapshots[4][k], snapshots[2][k]) for k in snapshots[2])
    stop.restore(model)
    assert all(torch.equal(model.state_dict()[k], snapshots[2][k]) for k in snapshots[2])


# ---- train_checkpoint -----------------------------------------------------------------------------------------------


def test_train_checkpoint_records_the_epochs_used(tiny):  # noqa: F811
    cfg, suite = tiny
    stopping = apply_overrides(cfg, [
        "reid.deepsort.train.epochs=3", "reid.deepsort.train.early_stop=true", "reid.deepsort.train.stop_holdout=0.3",
        "reid.deepsort.train.stop_min_epochs=1", "reid.deepsort.train.stop_patience=1",
    ])
    out = train_checkpoint(stopping, "deepsort", suite, seed=0, device="cpu")
    payload = torch.load(out.path, weights_only=True)
    held = payload["held_out"]
    assert payload["epochs_used"] == len(out.history) == len(payload["history"]) <= 3
    assert payload["stopped_early"] == (payload["epochs_used"] < 3)
    assert payload["best_epoch"] in [e for e, _ in held["evaluations"]]
    tc = stopping.reid.deepsort.train
    all_ids = reused_gt_crops(suite.split("train"), (32, 16), tc.min_visibility, tc.frame_stride).num_classes
    assert held["ids"] >= 2 and payload["num_classes"] + held["ids"] == all_ids
    assert payload["state_dict"]["neck.classifier.weight"].shape[0] == payload["num_classes"]  # held-out ids: no class
    _, meta = load_checkpoint(out.path, "cpu")  # what a run's manifest records under `reid`
    assert meta["epochs_used"] == payload["epochs_used"] and "early stop" in _early_stop_note(meta)

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the weights depend on the thread count, so the checkpoint says which it trained with
    try:
        plain = train_checkpoint(apply_overrides(cfg, ["reid.deepsort.train.epochs=2"]), "deepsort", suite, 0, "cpu")
    finally:
        torch.set_num_threads(threads)
    payload = torch.load(plain.path, weights_only=True)
    assert (payload["epochs_used"], payload["stopped_early"], payload["best_epoch"]) == (2, False, 2)
    assert payload["held_out"] is None and _early_stop_note(payload) == ""
    assert payload["arithmetic"] == {"cpu_kernels": torch.backends.cpu.get_cpu_capability(), "threads": 1}


def test_a_holdout_too_small_is_a_config_error(tiny):  # noqa: F811
    cfg, suite = tiny
    bad = apply_overrides(cfg, ["reid.deepsort.train.early_stop=true", "reid.deepsort.train.stop_holdout=0.05"])
    with pytest.raises(BenchError, match=r"reid\.deepsort\.train\.stop_holdout = 0\.05: .* needs at least 2"):
        train_checkpoint(bad, "deepsort", suite, seed=0, device="cpu")
