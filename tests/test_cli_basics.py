"""The `chipletarch` command's contract: exit codes and the version flag."""
import subprocess
import sys

import pytest

import chipletarch
from chipletarch.cli import main


def test_no_command_is_usage_error(capsys):
    assert main([]) == 2


def test_unknown_command_is_usage_error():
    with pytest.raises(SystemExit) as exc:
        main(["no-such-command"])
    assert exc.value.code == 2


def test_version_flag(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert chipletarch.__version__ in capsys.readouterr().out


def test_python_dash_m_runs_the_same_cli():
    proc = subprocess.run([sys.executable, "-m", "chipletarch", "--version"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    assert chipletarch.__version__ in proc.stdout


def test_unknown_public_name_raises_attribute_error():
    with pytest.raises(AttributeError):
        chipletarch.no_such_thing  # noqa: B018
