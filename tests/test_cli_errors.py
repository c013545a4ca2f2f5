"""Every bad input is one ``error: <message>`` line on stderr and exit 1 — never a traceback,
never click's usage box: unreadable files, bad settings (``wtb.toml`` or ``WTB_*``),
unsupported database URLs, and usage errors of any command, a plugin's included."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import pytest
import typer
from typer.testing import CliRunner, Result

from tests.cli_helpers import Invoke, cli
from wtb_core import ConfigurationError, StackConfig, hookimpl
from wtb_core.cli.app import build_app
from wtb_core.registry import PluginRegistry

YAML = str(Path(__file__).parent / "yaml_fixtures" / "bench_project.yaml")
NOT_UTF8 = b"\xff\xfe"  # Latin-1 "ÿþ", never valid UTF-8


def one_error_line(result: Result, *fragments: str) -> str:
    """Exit 1, exactly one ``error:`` line on stderr, no traceback; the line is returned."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # not a raw exception
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def wtb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    """The CLI on this test's data directory (``--data-dir`` given)."""
    return cli(tmp_path / "wtb-data", monkeypatch)


@pytest.fixture
def bare(monkeypatch: pytest.MonkeyPatch) -> Invoke:
    """The CLI without ``--data-dir``: the stack comes from ``wtb.toml`` / ``WTB_*`` (the
    autouse fixture runs every test in its own temporary directory)."""
    monkeypatch.setenv("WTB_LOAD_PLUGINS", "")
    app = build_app()
    return lambda *args: CliRunner().invoke(app, list(args))


@pytest.fixture
def good_cases(tmp_path: Path) -> str:
    cases = tmp_path / "cases.jsonl"
    cases.write_text('{"query": "q1"}\n')
    return str(cases)


# -- files that are not UTF-8 ------------------------------------------------------------------


def test_a_project_file_that_is_not_utf8(wtb: Invoke, tmp_path: Path) -> None:
    project = tmp_path / "latin1.yaml"
    project.write_bytes(b"name: x\nworkflow: {module: m, factory: f}\n# caf" + NOT_UTF8 + b"\n")
    one_error_line(wtb("run", str(project)), str(project), "not UTF-8", "line 3", "0xff")


def test_a_cases_file_that_is_not_utf8(wtb: Invoke, tmp_path: Path) -> None:
    cases = tmp_path / "cases.jsonl"
    cases.write_bytes(b'{"query": "q1"}\n{"query": "' + NOT_UTF8 + b'"}\n')
    one_error_line(
        wtb("batch", YAML, "--cases", str(cases)), f"--cases {cases}", "not UTF-8", "line 2"
    )


def test_a_matrix_file_that_is_not_utf8(wtb: Invoke, tmp_path: Path, good_cases: str) -> None:
    matrix = tmp_path / "matrix.yaml"
    matrix.write_bytes(b"- {retriever: " + NOT_UTF8 + b"}\n")
    one_error_line(
        wtb("batch", YAML, "--cases", good_cases, "--matrix", str(matrix)),
        f"--matrix {matrix}",
        "not UTF-8",
        "line 1",
    )


# -- the data directory ------------------------------------------------------------------------


def test_data_dir_option_naming_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    afile = tmp_path / "afile"
    afile.write_text("")
    one_error_line(cli(afile, monkeypatch)("executions"), f"--data-dir {afile}", "is a file")


def test_data_dir_setting_under_a_file(
    bare: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "afile").write_text("")
    monkeypatch.setenv("WTB_DATA_DIR", str(tmp_path / "afile" / "data"))
    one_error_line(bare("executions"), "WTB_DATA_DIR", str(tmp_path / "afile"), "is a file")


# -- wtb.toml ----------------------------------------------------------------------------------


def test_an_unknown_key_in_wtb_toml(bare: Invoke, tmp_path: Path) -> None:
    (tmp_path / "wtb.toml").write_text('chekpoint_store = "sqlite"\n')
    one_error_line(
        bare("executions"), "wtb.toml", "unknown setting 'chekpoint_store'", "'checkpoint_store'"
    )


def test_a_toml_syntax_error(bare: Invoke, tmp_path: Path) -> None:
    (tmp_path / "wtb.toml").write_text('batch_runner = "sequential"\ncheckpoint_store = \n')
    one_error_line(bare("executions"), "wtb.toml", "not valid TOML", "line 2")


def test_a_wtb_toml_that_is_not_utf8(bare: Invoke, tmp_path: Path) -> None:
    (tmp_path / "wtb.toml").write_bytes(b'batch_runner = "' + NOT_UTF8 + b'"\n')
    one_error_line(bare("executions"), "wtb.toml", "not UTF-8", "line 1")


def test_a_bad_value_in_wtb_toml_names_the_file(bare: Invoke, tmp_path: Path) -> None:
    (tmp_path / "wtb.toml").write_text("pool_size = 0\n")
    one_error_line(bare("executions"), "pool_size = 0", "wtb.toml", "greater than or equal to 1")


# -- settings from the environment -------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "fragments"),
    [
        ("0", ["WTB_POOL_SIZE", "pool_size = '0'", "greater than or equal to 1"]),
        ("many", ["WTB_POOL_SIZE", "pool_size = 'many'", "valid integer"]),
    ],
)
def test_a_bad_pool_size_from_the_environment(
    wtb: Invoke, monkeypatch: pytest.MonkeyPatch, value: str, fragments: list[str]
) -> None:
    monkeypatch.setenv("WTB_POOL_SIZE", value)
    one_error_line(wtb("executions"), *fragments)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("mysql://wtb:s3cret@db.example:3306/wtb", "mysql://wtb:***@db.example:3306/wtb"),
        ("garbage", "'garbage'"),
        ("sqlite:relative.db", "'sqlite:relative.db'"),
    ],
)
def test_an_unsupported_database_url(
    wtb: Invoke, monkeypatch: pytest.MonkeyPatch, url: str, shown: str
) -> None:
    monkeypatch.setenv("WTB_DATABASE_URL", url)
    line = one_error_line(
        wtb("executions"), "WTB_DATABASE_URL", shown, "sqlite://", "postgresql://"
    )
    assert "s3cret" not in line  # a password is never printed


def test_the_sdk_raises_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WTB_POOL_SIZE", "0")
    with pytest.raises(ConfigurationError, match="WTB_POOL_SIZE"):
        StackConfig()


# -- usage errors: one line, exit 1 ------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["executions", "--limit", "0"], ["'--limit'", "got 0", "'wtb executions --help'"]),
        (["batch", YAML, "--cases", "c.jsonl", "-j", "0"], ["'--parallelism' / '-j'", "got 0"]),
        (["batch", YAML, "--cases", "c.jsonl", "--repetitions", "0"], ["'--repetitions'"]),
        (["executions", "--limit", "many"], ["'--limit'", "got many"]),
        (["rollback"], ["missing argument 'EXEC'", "'wtb rollback --help'"]),
        (["exectuions"], ["no such command 'exectuions'", "'wtb --help'"]),
        (["executions", "--colour"], ["no such option: --colour"]),
    ],
)
def test_a_usage_error_is_one_line_and_exit_1(
    wtb: Invoke, args: list[str], fragments: list[str]
) -> None:
    one_error_line(wtb(*args), *fragments)


def test_no_arguments_print_the_help_and_exit_1_but_help_exits_0(wtb: Invoke) -> None:
    shown = CliRunner().invoke(build_app(), [])
    assert shown.exit_code == 1
    assert "Usage: wtb" in shown.stdout and "executions" in shown.stdout
    asked = wtb("executions", "--help")
    assert asked.exit_code == 0 and "--limit" in asked.stdout


class CommandPlugin:
    @hookimpl
    def wtb_register_commands(self, cli: typer.Typer) -> None:
        @cli.command("count-to")
        def count_to(n: Annotated[int, typer.Option(min=1)] = 1) -> None:
            """Count from 1 to N."""
            typer.echo(" ".join(map(str, range(1, n + 1))))


def test_a_plugin_commands_usage_error_is_one_line_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WTB_LOAD_PLUGINS", "")
    app = build_app(PluginRegistry([CommandPlugin()], load_entrypoints=False))
    assert CliRunner().invoke(app, ["count-to", "--n", "3"]).stdout == "1 2 3\n"
    one_error_line(CliRunner().invoke(app, ["count-to", "--n", "0"]), "'--n'", "got 0")


# -- the real console script -------------------------------------------------------------------

WTB = Path(sys.executable).with_name("wtb")


def real_wtb(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("WTB_")}
    return subprocess.run(
        [str(WTB), *args],
        capture_output=True,
        text=True,
        env={**clean, "WTB_LOAD_PLUGINS": "", **env},
        cwd=tmp_path,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "env", "fragment"),
    [
        (["executions"], {"WTB_DATABASE_URL": "mysql://u@h/db"}, "WTB_DATABASE_URL"),
        (["executions", "--limit", "0"], {}, "'--limit'"),
    ],
)
def test_the_console_script_prints_one_line(
    tmp_path: Path, args: list[str], env: dict[str, str], fragment: str
) -> None:
    done = real_wtb(tmp_path, *args, **env)
    assert done.returncode == 1, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], lines
    assert "Traceback" not in done.stdout + done.stderr and done.stdout == ""
