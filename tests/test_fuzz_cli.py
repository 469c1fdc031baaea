"""Every command's options given hostile values, one or two at a time, the rest small and valid.

Values: wrong types, out of range, NaN and ±inf, huge numbers, empty strings, unicode, missing files.
Each invocation either works (exit 0; or 1 with one line saying why a valid run stopped) or exits 2 with
one line naming the option, having written nothing. Never a traceback. ``physml demo`` and
``physml critical`` stop at their first simulation once their arguments have been checked (their full
runs take minutes; the commands they share with ``dataset build`` and ``simulate collapse`` are fuzzed
through those). Examples are derandomised; ``-m slow`` tries many more.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import TINY_CONFIG
from fuzzing import FUZZ, FUZZ_SLOW, run_cli
from hypothesis import given, settings
from hypothesis import strategies as st

from physml.cli import build_parser

#: What a careless or hostile user types.
HOSTILE = [
    "nan", "inf", "-inf", "-1", "0", "-0", "1e308", "-1e308", "1e-320", "99999999999999999999",
    "9223372036854775808", "", " ", "ψ∞→", "1,2", "1,,2", ",", "a", "true", "None", "0x1f", "1_0", "-",
    "\u202e", "😀", "nonexistent/dir/file.h5", "a=b", "1e309", "1e30", "-1e-30",
]  # fmt: skip


class ComputationStartedError(Exception):
    """The command checked its arguments and reached its first long computation."""


def _reach(*args, **kwargs):
    raise ComputationStartedError


@pytest.fixture(scope="module")
def files(tiny_dataset, tmp_path_factory) -> dict[str, Path]:
    """A dataset, a build config, a training config and a checkpoint, all tiny."""
    from physml.training import Trainer, train_config_from_dict

    folder = tmp_path_factory.mktemp("fuzz-cli")
    build = folder / "build.yaml"
    build.write_text(yaml.safe_dump(TINY_CONFIG))
    train = {
        "data": {"path": str(tiny_dataset), "n_input": 1, "batch_size": 8},
        "model": {"name": "fno", "params": {"modes": [8], "width": 8, "n_layers": 1}, "residual": True},
        "epochs": 1, "optim": {"warmup_steps": 1}, "device": "cpu", "checkpoint_every": 1000,
    }  # fmt: skip
    (folder / "train.yaml").write_text(yaml.safe_dump(train))
    Trainer(train_config_from_dict(train), folder / "run", progress=False).train()
    from physml.datasets import BuildConfig, build_dataset

    near = {"name": "fuzz-near-horizon", "family": "near_horizon", "description": "tiny pulses", "seed": 1,
            "n_trajectories": 2, "time": {"t_final": 40.0, "n_saves": 20},
            "fixed": {"ndim": 1, "h": 0.2, "r_star_min": -20.0, "r_star_max": 60.0, "stride": 2, "extract_at": [30.0],
                      "s": 0, "l": 1}}  # fmt: skip
    build_dataset(BuildConfig.from_dict(near), folder / "near.h5", workers=1, progress=False)
    return {"data": tiny_dataset, "build": build, "train": folder / "train.yaml", "checkpoint": folder / "run/best.pt",
            "near": folder / "near.h5"}  # fmt: skip


def commands(files: dict[str, Path], out: Path) -> dict[str, list[str]]:
    """Each command with small valid arguments (a second or two each), written as it would be typed."""
    typed = {
        "simulate schrodinger": "--n 64 --t-final 0.1 --n-saves 2 --dt 0.01 --out OUT",
        "simulate near-horizon": "--t-final 20 --h 0.2 --save-every 1 --out OUT",
        "simulate bh-image": "--resolution 16 --out OUT",
        "simulate collapse": "--amplitude 0.01 --t-final 1 --n-saves 1 --n 200 --stretch 0 --out OUT",
        "qnm": "--h 0.4",
        "critical": "--bracket 0.0448,0.045 --n 400",
        "demo": "--trajectories 8 --epochs 1 --rollout 1 --device cpu --out OUT",
        "train": "TRAIN --out OUT",
        "evaluate": "CHECKPOINT DATA --rollout 2 --device cpu --out OUT",
        "dataset build": "BUILD --workers 1 --out OUT",
        "dataset info": "DATA",
        "dataset validate": "DATA",
        "dataset list": "",
        "discover schrodinger": "DATA --bootstrap 2 --out OUT",
        "discover near-horizon": "NEAR --bootstrap 2 --out OUT",
        "discover isco": "--seeds 1 --generations 5 --points 21 --out OUT",
        "discover audit": "CHECKPOINT DATA --bootstrap 2 --trajectories 2 --out OUT",
        "discover orbits": "--orbits 8 --bootstrap 2 --out OUT",
        "discover ringdown": "--spins 0 --ells 2 3 --bootstrap 2 --out OUT",
        "discover critical": "--bracket 0.0448,0.045 --n 400 --rungs 8 --out OUT",
    }
    paths = {"OUT": out, "TRAIN": files["train"], "CHECKPOINT": files["checkpoint"], "DATA": files["data"]}
    paths["NEAR"] = files["near"]
    paths["BUILD"] = files["build"]
    return {command: [str(paths.get(word, word)) for word in line.split()] for command, line in typed.items()}


def leaf_parsers() -> dict[str, argparse.ArgumentParser]:
    """``"dataset build"`` -> its parser, for every command."""
    found = {}

    def walk(parser: argparse.ArgumentParser, words: tuple[str, ...]) -> None:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            found[" ".join(words)] = parser
        for sub in subs:
            for name, child in sub.choices.items():
                walk(child, (*words, name))

    walk(build_parser(), ())
    return found


def options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions if not isinstance(a, argparse._HelpAction | argparse._VersionAction)]


def names(action: argparse.Action) -> list[str]:
    """How a message may name an option: ``--t-final``, ``t-final``, ``t_final``, ``T_FINAL``, ``t final``."""
    found = [*action.option_strings, action.dest, action.dest.replace("_", "-"), action.dest.replace("_", " ")]
    if action.metavar:
        found.append(str(action.metavar))
    return [n.lstrip("-") for n in found if n]


def with_values(argv: list[str], parser: argparse.ArgumentParser, chosen: list[tuple[argparse.Action, str]]):
    """``argv`` with each chosen option set (replacing a small default given there) to its hostile value."""
    argv = list(argv)
    positionals = [a for a in options(parser) if not a.option_strings]
    given = next((i for i, word in enumerate(argv) if word.startswith("--")), len(argv))  # positionals come first
    for action, value in chosen:
        if not action.option_strings:  # a positional: replace it in place, or give an optional one
            index = positionals.index(action)
            if index < given:
                argv[index] = value
            else:
                argv.insert(given, value)
                given += 1
            continue
        flag = action.option_strings[-1] if action.nargs == 0 else action.option_strings[0]
        for string in action.option_strings:  # drop a small value the command was given for it
            if string in argv:
                i = argv.index(string)
                del argv[i : i + (1 if action.nargs == 0 else 2)]
        argv += [flag] if action.nargs == 0 else [f"{flag}={value}"]
    return argv


def check(command: str, files: dict[str, Path], folder: Path, data, monkeypatch) -> None:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    monkeypatch.chdir(folder)  # a hostile --out is often a relative path ("nan", "-1"): it lands here
    out = folder / "out"
    parser = leaf_parsers()[command]
    choices = options(parser)
    chosen = data.draw(st.lists(st.sampled_from(choices), min_size=1, max_size=2, unique_by=id))
    picks = [(a, data.draw(st.sampled_from(HOSTILE) | st.text(max_size=12))) for a in chosen]
    argv = [*command.split(), *with_values(commands(files, out)[command], parser, picks), "--no-progress"]
    if not any(s == "--progress" for a in choices for s in a.option_strings):
        argv.remove("--no-progress")
    monkeypatch.setattr("physml.simulators.collapse.critical.evolve", _reach)
    monkeypatch.setattr("physml.demo.build_dataset", _reach)
    monkeypatch.setattr("physml.discovery.ringdown._fundamental", _reach)
    try:
        code, err = run_cli(argv)
    except ComputationStartedError:
        return
    lines = err.strip("\n").split("\n")
    if code == 0:
        return
    if code == 1 and command == "dataset validate":
        return  # it exits 1 listing what failed
    assert code in (1, 2) and len(lines) == 1 and err.endswith("\n"), (argv, code, err)
    if code == 1:
        assert lines[0].startswith(("physml: run stopped", "physml: build stopped", "physml: training stopped"))
        return
    assert lines[0].startswith("physml"), (argv, err)
    named = [n for action, _ in picks for n in names(action)] + [v for _, v in picks if len(v.strip()) >= 3]
    quoted = [" ".join(v.split()) for _, v in picks]  # a file the message starts with
    named += [repr(v) for _, v in picks] + [f"error: {v}:" for v in quoted] + [f"error: {v} " for v in quoted]
    named += [f"{float(v):g}" for _, v in picks if _is_float(v)]  # or a derived value it shows
    # A value can break a rule that ties parameters together (a packet the grid no longer resolves): the
    # family's message then names that rule's parameters for the run ("trajectory 0: ...").
    # argparse's own errors name the argument they are about, which a hostile value can shift to its neighbour.
    argparse_says = ("arguments are required:", "unrecognized arguments:", "expected one argument")
    named_rule = "error: trajectory 0: " in lines[0] or any(s in lines[0] for s in argparse_says)
    assert any(n in lines[0] for n in named) or named_rule, (argv, err)
    assert not out.exists(), f"{argv} failed but wrote {out}"


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _fuzz(command: str, slow: bool):
    @settings(FUZZ_SLOW if slow else settings(FUZZ, max_examples=12))
    @given(data=st.data())
    def test(files, tmp_path_factory, data, monkeypatch):
        check(command, files, tmp_path_factory.getbasetemp() / f"cli-{command.replace(' ', '-')}", data, monkeypatch)

    return pytest.mark.slow(test) if slow else test


COMMANDS = [
    "simulate schrodinger", "simulate near-horizon", "simulate bh-image", "simulate collapse", "qnm", "critical",
    "demo", "train", "evaluate", "dataset build", "dataset info", "dataset validate", "dataset list",
    "discover schrodinger", "discover near-horizon", "discover isco", "discover audit", "discover orbits",
    "discover ringdown", "discover critical",
]  # fmt: skip
for _command in COMMANDS:
    _name = _command.replace(" ", "_").replace("-", "_")
    globals()[f"test_{_name}_options"] = _fuzz(_command, slow=False)
    globals()[f"test_{_name}_options_many"] = _fuzz(_command, slow=True)


def test_every_command_is_fuzzed(files, tmp_path):
    assert sorted(leaf_parsers()) == sorted(COMMANDS) == sorted(commands(files, tmp_path))
