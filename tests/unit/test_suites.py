"""Env ids with a suite (`purerl.config.suites`): a bare id is gymnax's, an unknown suite and a
suite not installed are refused in one line naming the fix, and config.json records the suite."""

import importlib.util

import pytest

from purerl.config import suites
from purerl.config.spec import JobSpec


def test_an_env_id_names_its_suite_and_a_bare_one_is_gymnax():
    assert suites.split("CartPole-v1") == ("gymnax", "CartPole-v1")
    assert suites.split("brax:hopper") == ("brax", "hopper")
    assert suites.split("gymnax:CartPole-v1") == ("gymnax", "CartPole-v1")


@pytest.mark.parametrize("env_id, message", [
    ("mujoco:hopper", "unknown env suite 'mujoco' in 'mujoco:hopper'; purerl's suites are: gymnax, brax"),
    ("brax:", "env id 'brax:' names no env of brax (e.g. brax:inverted_pendulum)"),
])
def test_a_bad_suite_is_refused_in_one_line(env_id, message):
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        JobSpec.create("ppo", env_id)


def test_a_suite_not_installed_is_refused_with_its_pip_command(monkeypatch, capsys):
    find_spec = importlib.util.find_spec
    missing = lambda name, *args: None if name == "brax" else find_spec(name, *args)
    monkeypatch.setattr(importlib.util, "find_spec", missing)
    with pytest.raises(ValueError, match=r"^brax envs need the brax package, which is not installed: "
                                         r"pip install 'purerl\[brax\]'$"):
        JobSpec.create("ppo", "brax:hopper")
    from purerl.cli import main

    assert main(["train", "ppo", "--env", "brax:hopper", "--out", "unused"]) == 2
    assert capsys.readouterr().err == ("purerl: error: brax envs need the brax package, which is not "
                                       "installed: pip install 'purerl[brax]'\n")
    assert main(["list", "--envs", "brax"]) == 0
    assert capsys.readouterr().out == "brax: not installed (pip install 'purerl[brax]')\n"


def test_config_json_records_the_suites_version(monkeypatch):
    from purerl.experiment.provenance import provenance

    monkeypatch.setattr(suites, "version", lambda suite: "9.9.9")
    assert provenance(env_id="brax:hopper")["versions"]["brax"] == "9.9.9"
    assert "brax" not in provenance(env_id="CartPole-v1")["versions"]
