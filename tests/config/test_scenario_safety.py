"""A scenario file is only data (simulator/config/safety.py): a file that names code is refused, with one line naming
the file and the key, before Hydra configures logging or instantiates a callback; a declared sweep still runs."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from simulator.app.rerun import main as rerun_main
from simulator.config.errors import ConfigError
from simulator.config.load import load_config

ROOT = Path(__file__).resolve().parents[2]  # the subprocesses import this checkout's simulator
HEADER = "# @package _global_\ndefaults:\n  - /strategy@strategies.on_demand: on_demand\nscenario: {name}\n"


def scenario(folder: Path, name: str, body: str) -> list[str]:
    """Write ``folder/scenario/NAME.yaml`` and return the overrides that pick it."""
    (folder / "scenario").mkdir(exist_ok=True)
    (folder / "scenario" / f"{name}.yaml").write_text(HEADER.format(name=name) + textwrap.dedent(body))
    return [f"hydra.searchpath=[file://{folder}]", f"scenario={name}"]


def cli(args, cwd):
    return subprocess.run([sys.executable, "-m", "simulator", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT)})


def assert_refused(result, cwd, *needles):
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert not (cwd / "outputs").exists()  # nothing written, not even a run directory


def test_a_callback_target_is_refused_before_hydra_calls_it(tmp_path):
    marker = tmp_path / "marker"
    args = scenario(tmp_path, "callback", f"""
        hydra:
          callbacks:
            x:
              _target_: pathlib.Path.touch
              _args_: ["{marker}"]
        """)
    result = cli([*args, "debug=tiny"], tmp_path)
    assert_refused(result, tmp_path, "callback.yaml", "hydra.callbacks")
    assert not marker.exists()
    result = cli(["-m", *args, "debug=tiny"], tmp_path)  # a multirun is checked too
    assert_refused(result, tmp_path, "callback.yaml", "hydra.callbacks")
    assert not marker.exists()


def test_a_logging_factory_is_refused_before_logging_is_configured(tmp_path):
    marker = tmp_path / "marker"
    args = scenario(tmp_path, "logger", f"""
        hydra:
          job_logging:
            handlers:
              evil:
                (): pathlib.Path.touch
                self: {marker}
        """)
    assert_refused(cli([*args, "debug=tiny"], tmp_path), tmp_path, "logger.yaml", "hydra.job_logging")
    assert not marker.exists()


def test_a_target_anywhere_in_a_scenario_is_refused(tmp_path):
    args = scenario(tmp_path, "nested", """
        priors:
          spot:
            _target_: os.system
        """)
    with pytest.raises(ConfigError, match=r"nested\.yaml: priors\.spot\._target_ = os\.system"):
        load_config(args)


@pytest.mark.parametrize("body, key", [
    ("defaults:\n  - override /hydra/launcher: joblib\n", "override /hydra/launcher"),
    ("hydra:\n  sweeper:\n    _target_: hydra._internal.core_plugins.basic_sweeper.BasicSweeper\n", "_target_"),
    ("hydra:\n  searchpath: [file:///tmp]\n", "hydra.searchpath"),
    ("hydra:\n  sweeper:\n    params:\n      scenario: hybrid,steady\n", "hydra.sweeper.params.scenario"),
])
def test_hydra_settings_beyond_a_declared_sweep_are_refused(tmp_path, body, key):
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / "scenario").mkdir()
    (folder / "scenario" / "bad.yaml").write_text("# @package _global_\n" + body)
    with pytest.raises(ConfigError, match="bad.yaml") as info:
        load_config([f"hydra.searchpath=[file://{folder}]", "scenario=bad"])
    assert key in str(info.value)


def test_the_command_line_is_held_to_the_allowlist(tmp_path):
    with pytest.raises(ConfigError, match=r"hydra\.callbacks\.x\._target_ = pathlib\.Path\.touch"):
        load_config(["scenario=hybrid", "+hydra.callbacks.x._target_=pathlib.Path.touch"])
    with pytest.raises(ConfigError, match=r"priors\.x: unknown key"):
        load_config(["scenario=hybrid", "+priors.x._target_=os.system"])
    load_config(["scenario=hybrid", "hydra/launcher=parallel"])  # the project's own launcher config: allowed


def test_a_saved_config_that_names_code_is_refused_by_rerun(tmp_path, capsys):
    saved = tmp_path / "config_resolved.yaml"
    saved.write_text("scenario: hybrid\nhydra:\n  callbacks:\n    x: {_target_: pathlib.Path.touch}\n")
    with pytest.raises(SystemExit) as exit_:
        rerun_main([str(saved)])
    assert exit_.value.code == 2
    assert "config_resolved.yaml: hydra" in capsys.readouterr().err


def test_a_scenario_with_a_declared_sweep_still_runs(tmp_path):
    args = scenario(tmp_path, "swept", """
        hydra:
          sweeper:
            params:
              engine.seed: 1,2
        """)
    load_config(args)  # every shipped scenario (breakeven declares a sweep) composes too:
    for name in sorted(p.stem for p in (ROOT / "scenarios").glob("*.yaml")):
        load_config([f"scenario={name}"])
    result = cli([*args, "debug=tiny"], tmp_path)
    assert result.returncode == 0, result.stderr
    (run_dir,) = (tmp_path / "outputs" / "swept").iterdir()
    assert (run_dir / "results.nc").is_file()


@pytest.mark.parametrize("choice", ["hybrid,bad", "glob(*)"])
def test_each_scenario_of_a_multirun_sweep_is_checked(tmp_path, choice):
    from simulator.config.load import CONF_DIR
    from simulator.config.safety import check_command

    args = scenario(tmp_path, "bad", "priors:\n  spot:\n    _target_: os.system\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml: priors\.spot\._target_"):
        check_command([args[0], f"scenario={choice}"], CONF_DIR, multirun=True)
    check_command([args[0], "scenario=hybrid,steady"], CONF_DIR, multirun=True)  # the project's own: fine


def test_a_target_in_a_free_form_node_is_refused():
    from omegaconf import OmegaConf

    from simulator.config.safety import check_targets

    with pytest.raises(ConfigError, match=r"sweeps\.s\.knobs\.x\._target_ = os\.system: unknown key"):
        check_targets(OmegaConf.create({"sweeps": {"s": {"knobs": {"x": {"_target_": "os.system"}}}}}))
    with pytest.raises(ConfigError, match=r"sweeps\.s\.knobs = .*give a list of numbers|_target_"):
        load_config(["scenario=hybrid", "+sweeps={s: {strategy: hybrid, knobs: {x: {_target_: os.system}}}}"])
