"""Damaged and tampered checkpoints: ``load_checkpoint``, ``load_surrogate`` and ``physml evaluate``.

Truncated, bit-flipped, pickle-tampered files and well-formed files whose payload was changed (keys removed,
values of the wrong type or range, weights of the wrong shape): each loader either works or raises a
``ValueError`` naming the file; ``physml evaluate`` exits 2 with one line and writes nothing. Nothing is
ever executed from a file (``weights_only``).
"""

from __future__ import annotations

import io
import pickle
import re
import shutil
import zipfile
from pathlib import Path

import pytest
import torch
from fuzzing import FUZZ, FUZZ_SLOW, numbers, run_cli
from hypothesis import given, settings
from hypothesis import strategies as st

from physml.models import load_checkpoint
from physml.training import Trainer, load_surrogate, train_config_from_dict


@pytest.fixture(scope="module")
def run(tiny_dataset, tmp_path_factory) -> tuple[Path, Path]:
    """``(checkpoint, data)``: a one-epoch FNO on the tiny dataset."""
    folder = tmp_path_factory.mktemp("fuzz-run")
    config = train_config_from_dict({
        "data": {"path": str(tiny_dataset), "n_input": 1, "batch_size": 8},
        "model": {"name": "fno", "params": {"modes": [8], "width": 8, "n_layers": 1}, "residual": True},
        "epochs": 1, "optim": {"warmup_steps": 1}, "device": "cpu",
    })  # fmt: skip
    Trainer(config, folder, progress=False).train()
    return folder / "best.pt", tiny_dataset


def _load_everything(path: Path, data: Path, folder: Path) -> None:
    """Every loader on ``path``; each may raise only ValueError naming it; evaluate writes nothing."""
    for name, load in (("load_checkpoint", load_checkpoint), ("load_surrogate", load_surrogate)):
        try:
            load(path)
        except ValueError as exc:
            assert str(path) in str(exc), (name, str(exc))
    out = folder / "eval"
    code, err = run_cli(["evaluate", str(path), str(data), "--out", str(out), "--rollout", "2", "--device", "cpu"])
    assert code in (0, 2), (code, err)
    if code == 2:
        assert err.startswith("physml: error: ") and err.count("\n") == 1, err
        assert not out.exists(), "a failed evaluation wrote its output folder"
    else:
        shutil.rmtree(out)


def _check(source: Path, data: Path, folder: Path, content: bytes) -> None:
    folder.mkdir(exist_ok=True)
    path = folder / "damaged.pt"
    path.write_bytes(content)
    _load_everything(path, data, folder)
    assert path.read_bytes() == content, "a loader changed the checkpoint"
    assert sorted(p.name for p in folder.iterdir()) == ["damaged.pt"], "a loader wrote beside the checkpoint"


def _payload(source: Path) -> dict:
    return torch.load(source, weights_only=True)


def _saved(payload: dict) -> bytes:
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return buffer.getvalue()


def _keys(tree, prefix=()):
    """Every key path of a nested payload (dicts and lists), tensors as leaves."""
    if isinstance(tree, dict):
        items = tree.items()
    elif isinstance(tree, list | tuple):
        items = enumerate(tree)
    else:
        return
    for key, value in items:
        yield (*prefix, key)
        yield from _keys(value, (*prefix, key))


def _hostile():
    """Values a weights-only load accepts, of the wrong type or range."""
    tensors = st.sampled_from([torch.zeros(0), torch.zeros(3, 3), torch.full((2,), float("nan")), torch.ones(1, 1, 1)])
    return st.one_of(st.none(), numbers(), st.booleans(), st.text(max_size=20), st.lists(numbers(), max_size=3),
                     st.dictionaries(st.text(max_size=5), numbers(), max_size=2), tensors)  # fmt: skip


def _mutate(payload: dict, path: tuple, value, delete: bool) -> dict:
    *parents, last = path
    node = payload
    for key in parents:
        node = node[key]
    if isinstance(node, tuple):
        return payload  # tuples (e.g. a config's modes) are replaced whole at their parent
    if delete and isinstance(node, dict):
        del node[last]
    else:
        node[last] = value
    return payload


def _fuzz(kind: str, slow: bool):
    @settings(FUZZ_SLOW if slow else FUZZ)
    @given(data=st.data())
    def check(run, tmp_path_factory, data):
        source, dataset = run
        raw = source.read_bytes()
        if kind == "truncate":
            content = raw[: data.draw(st.integers(0, len(raw) - 1))]
        elif kind == "flip":
            out = bytearray(raw)
            for offset, bit in data.draw(st.lists(st.tuples(st.integers(0, len(raw) - 1), st.integers(0, 7)),
                                                  min_size=1, max_size=16)):  # fmt: skip
                out[offset] ^= 1 << bit
            content = bytes(out)
        else:
            payload = _payload(source)
            path = data.draw(st.sampled_from(sorted(_keys(payload), key=repr)))
            content = _saved(_mutate(payload, path, data.draw(_hostile()), data.draw(st.booleans())))
        _check(source, dataset, tmp_path_factory.getbasetemp() / f"fuzz-ckpt-{kind}", content)

    return check


test_truncated_checkpoints_give_clear_errors = _fuzz("truncate", slow=False)
test_bit_flipped_checkpoints_give_clear_errors = _fuzz("flip", slow=False)
test_changed_payloads_give_clear_errors = _fuzz("payload", slow=False)
test_truncated_checkpoints_many = pytest.mark.slow(_fuzz("truncate", slow=True))
test_bit_flipped_checkpoints_many = pytest.mark.slow(_fuzz("flip", slow=True))
test_changed_payloads_many = pytest.mark.slow(_fuzz("payload", slow=True))


class _Exploit:
    """Unpickling this would run a command."""

    def __reduce__(self):
        return (exec, ("open('PWNED', 'w').write('ran')",))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol:UserWarning")  # torch, about the tampered pickles
def test_tampered_checkpoints_are_refused_without_running_anything(run, tmp_path, monkeypatch):
    source, data = run
    monkeypatch.chdir(tmp_path)
    payload = _payload(source)
    payload["extra"]["note"] = _Exploit()
    pickled = _saved(payload)  # a torch file whose pickle holds a code-running object
    with zipfile.ZipFile(io.BytesIO(source.read_bytes())) as archive:  # and one with data.pkl replaced
        swapped = io.BytesIO()
        with zipfile.ZipFile(swapped, "w") as out:
            for item in archive.infolist():
                body = archive.read(item)
                out.writestr(item, pickle.dumps(_Exploit()) if item.filename.endswith("data.pkl") else body)
    for name, content in (
        ("pickled.pt", pickled),
        ("swapped.pt", swapped.getvalue()),
        ("plain.pt", pickle.dumps(_Exploit())),
    ):
        path = tmp_path / name
        path.write_bytes(content)
        for load in (load_checkpoint, load_surrogate):
            with pytest.raises(ValueError, match="cannot be loaded safely"):
                load(path)
        code, err = run_cli(["evaluate", str(path), str(data), "--out", str(tmp_path / "eval")])
        assert code == 2 and "cannot be loaded safely" in err
    assert not (tmp_path / "PWNED").exists() and not (tmp_path / "eval").exists()


def test_weights_that_do_not_fit_the_config_are_named_before_anything_is_allocated(run, tmp_path):
    source, _ = run
    payload = _payload(source)
    payload["config"]["width"] = 2 * payload["config"]["width"]
    path = tmp_path / "wider.pt"
    path.write_bytes(_saved(payload))
    with pytest.raises(ValueError, match=r"do not fit the fno its config builds \(saved vs built: .*weight: \(\d+, "):
        load_checkpoint(path)
    payload["config"]["width"] = 2**16  # a real build would need ~10^11 weights: refused from the meta build
    path.write_bytes(_saved(payload))
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*(of memory|do not fit)"):
        load_checkpoint(path)
