"""deploy/: the Zero to JupyterHub values pass the chart's own schema, the TLJH recipe uses real keys,
and both are sized from the measured cost of one student (deploy/measured.toml)."""

from __future__ import annotations

import copy
import json
import os
import re
import shlex
import stat
import subprocess
import sys
import tomllib
import types
from pathlib import Path
from urllib.parse import urlsplit

import _tool  # tests/_tool.py: tools/ scripts loaded as modules
import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
VALUES = ROOT / "deploy" / "z2jh" / "values.yaml"
SCRIPT = ROOT / "deploy" / "tljh" / "install.sh"
MIB = 2**20


class_link = _tool.load("class_link")
MEASURED = tomllib.loads((ROOT / "deploy" / "measured.toml").read_text())
Z2JH_SCHEMA = yaml.safe_load((DATA / "z2jh-4.4.0" / "values.schema.yaml").read_text())
Z2JH_DEFAULTS = yaml.safe_load((DATA / "z2jh-4.4.0" / "values.yaml").read_text())
TLJH_SCHEMA = json.loads((DATA / "tljh-2.0.0" / "config_schema.json").read_text())

# NativeAuthenticator 1.3.0's configurable traits (nativeauthenticator/nativeauthenticator.py, github.com/jupyterhub/
# nativeauthenticator tag 1.3.0, commit 89f381d91093bfa7351c9c3d61db6def547e16ba), and the three of JupyterHub's
# Authenticator that a class sets. Both hubs (chart 4.4.0, TLJH 2.0.0) install NativeAuthenticator >= 1.3.0.
NATIVE_TRAITS = {
    "recaptcha_key", "recaptcha_secret", "tos", "self_approval_server", "secret_key", "allow_self_approval_for",
    "check_common_password", "minimum_password_length", "allowed_failed_logins", "seconds_before_next_try",
    "enable_signup", "open_signup", "ask_email_on_signup", "import_from_firstuse", "firstuse_db_path",
    "delete_firstuse_db_after_import", "allow_2fa",
    "allow_all", "admin_users", "allowed_users",
}  # fmt: skip


# --- helpers ---------------------------------------------------------------------------------------------------


def helm_merge(defaults: dict, values: dict) -> dict:
    """``values`` over ``defaults`` as helm merges a release's values: maps merge, the rest is replaced, null deletes."""
    merged = copy.deepcopy(defaults)
    for key, value in values.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = helm_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def schema_errors(values: dict) -> list[str]:
    """What the chart's schema says about ``values`` merged over the chart's defaults (empty: valid)."""
    validator = jsonschema.Draft7Validator(Z2JH_SCHEMA)
    return [
        f"{'.'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(helm_merge(Z2JH_DEFAULTS, values))
    ]


def byte_spec(value: int | float | str) -> int:
    """Bytes of a memory size as JupyterHub reads it (``jupyterhub.traitlets.ByteSpecification``: K, M, G, T of 1024).

    Example:
        >>> byte_spec("2.5G") == 2560 * 2**20, byte_spec("1G") == 2**30, byte_spec(4096)
        (True, True, 4096)
    """
    if isinstance(value, (int, float)):
        return int(value)
    units = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
    assert value[-1] in units, f"{value!r}: not a JupyterHub memory size (K, M, G or T)"
    return int(float(value[:-1]) * units[value[-1]])


def values() -> dict:
    return yaml.safe_load(VALUES.read_text())


def script_variables(text: str) -> dict[str, str]:
    """The script's plain ``NAME=value`` assignments."""
    return dict(re.findall(r"^([A-Z_]+)=([^\s\"$]+)", text, re.MULTILINE))


def tljh_commands(text: str) -> list[list[str]]:
    """Each ``tljh-config`` command line of the script, its variables substituted (DOMAIN and EMAIL: examples)."""
    names = {**script_variables(text), "DOMAIN": "hub.example.edu", "EMAIL": "teacher@example.edu"}
    commands = []
    for line in text.splitlines():
        words = shlex.split(line.split(" || ")[-1], comments=True)
        if words[:1] == ["tljh-config"] and words[1] in ("set", "add-item"):
            commands.append([re.sub(r"\$\{?(\w+)[^}]*\}?", lambda m: names[m.group(1)], w) for w in words[1:]])
    return commands


def tljh_value(text: str) -> object:
    """A command-line value as ``tljh-config`` reads it (``tljh/config.py`` ``parse_value``)."""
    if text.lower() == "none":
        return None
    if re.match(r"^\d+$", text):
        return int(text)
    if re.match(r"^\d+\.\d*$", text):
        return float(text)
    return {"true": True, "false": False}.get(text.lower(), text)


def tljh_config(commands: list[list[str]]) -> dict:
    """The config.yaml these commands write (``set`` replaces, ``add-item`` appends, parents become maps)."""
    config: dict = {}
    for action, key, value in commands:
        *parents, leaf = key.split(".")
        node = config
        for part in parents:
            node = node.setdefault(part, {})
        if action == "set":
            node[leaf] = tljh_value(value)
        else:
            node.setdefault(leaf, []).append(tljh_value(value))
    return config


def schema_has_path(schema: dict, path: list[str]) -> bool:
    """Whether TLJH's schema names every part of ``path`` (its top level does not forbid unknown keys)."""
    node = schema
    for part in path:
        while "$ref" in node:
            node = TLJH_SCHEMA["definitions"][node["$ref"].rsplit("/", 1)[1]]
        if part not in node.get("properties", {}):
            return False
        node = node["properties"][part]
    return True


# --- Zero to JupyterHub ----------------------------------------------------------------------------------------


def test_the_vendored_schema_accepts_the_charts_own_defaults():
    assert schema_errors({}) == []


def test_values_pass_the_charts_schema():
    assert schema_errors(values()) == []


@pytest.mark.parametrize(
    ("path", "bad"),
    [
        (["singleuser", "memory", "limit"], ["2.5G"]),  # a list where the chart wants a size
        (["singleuser", "cpu", "limit"], "1"),  # a string where it wants a number
        (["cull", "timeout"], "1h"),
        (["singleuser", "defaultURL"], "/lab"),  # a misspelt key
        (["hub", "config", "nativeAuthenticator"], {"open_signup": False}),  # not a class name
    ],
)
def test_the_schema_check_rejects_a_broken_copy(path, bad):
    broken = values()
    node = broken
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = bad
    assert schema_errors(broken), f"{'.'.join(path)} = {bad!r} passed the schema"


def test_accounts_need_the_teachers_approval_and_the_teacher_alone_is_admin():
    config = helm_merge(Z2JH_DEFAULTS, values())["hub"]["config"]
    assert config["JupyterHub"]["authenticator_class"] == "native"
    assert config["Authenticator"]["admin_users"] == ["teacher"]
    native = config["NativeAuthenticator"]
    assert native["open_signup"] is False and native.get("enable_signup", True) is True
    assert set(native) <= NATIVE_TRAITS
    assert "DummyAuthenticator" not in config and "allowed_users" not in config["Authenticator"]


def test_memory_is_sized_from_the_measured_student():
    memory = values()["singleuser"]["memory"]
    guarantee, limit = byte_spec(memory["guarantee"]) / MIB, byte_spec(memory["limit"]) / MIB
    one_notebook = MEASURED["student"]["server_rss_mib"] + MEASURED["every_notebook"]["largest_kernel_peak_rss_mib"]
    assert guarantee >= one_notebook, "any one notebook must run within the guaranteed memory"
    assert limit >= MEASURED["every_notebook"]["total_rss_mib"], "a student with every notebook open must fit"
    assert guarantee <= limit


def test_cpu_is_sized_from_the_measured_student():
    single = values()["singleuser"]
    assert single["extraEnv"]["OMP_NUM_THREADS"] == "1"
    assert "torch threads per kernel (OMP_NUM_THREADS): 1" in (ROOT / "deploy" / "measured.toml").read_text()
    assert single["cpu"]["limit"] >= 1
    assert MEASURED["student"]["kernel_cpu_s"] / single["cpu"]["guarantee"] <= 10, "notebook 01 for all within 10 s"


def test_idle_servers_are_culled():
    cull = helm_merge(Z2JH_DEFAULTS, values())["cull"]
    assert cull["enabled"] is True and 0 < cull["every"] < cull["timeout"] <= 2 * 3600


def test_default_url_is_the_nbgitpuller_link_to_the_notebooks():
    repo = class_link.repository()
    assert values()["singleuser"]["defaultUrl"] == class_link.git_pull_path(repo, "main", class_link.lab_path(repo))


def test_image_is_this_repository_at_gradlabs_version_built_by_repo2docker():
    image = values()["singleuser"]["image"]
    version = re.search(r'^__version__ = "(.+)"$', (ROOT / "gradlab" / "__init__.py").read_text(), re.MULTILINE)
    assert image["name"] == "ghcr.io/" + urlsplit(class_link.repository()).path.strip("/")
    assert image["tag"] == version.group(1)
    readme = (ROOT / "deploy" / "README.md").read_text()
    assert f"--image-name {image['name']}:{image['tag']}" in readme and "--target-repo-dir /srv/gradlab" in readme


def test_the_image_has_nbgitpuller():
    """repo2docker installs environment.yml; its own base environment has jupyterhub-singleuser, not nbgitpuller."""
    conda = (ROOT / "environment.yml").read_text().split("- pip:", 1)[0]
    assert re.search(r"^\s*-\s+nbgitpuller\b", conda, re.MULTILINE)


# --- The Littlest JupyterHub -----------------------------------------------------------------------------------


def bash_syntax(text: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "install.sh"
    script.write_text(text)
    return subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)


def test_the_recipe_is_valid_bash_and_the_check_can_tell(tmp_path: Path):
    text = SCRIPT.read_text()
    assert bash_syntax(text, tmp_path).returncode == 0
    assert bash_syntax(text + "\nfi\n", tmp_path).returncode != 0


def test_tljh_config_keys_are_tljhs_own():
    commands = tljh_commands(SCRIPT.read_text())
    assert len(commands) >= 12
    config = tljh_config(commands)
    assert list(jsonschema.Draft7Validator(TLJH_SCHEMA).iter_errors(config)) == []
    for _, key, _ in commands:
        path = key.split(".")
        if path[0] == "auth":
            assert path[1:] == ["type"] or (path[1] == "NativeAuthenticator" and path[2] in NATIVE_TRAITS), key
        else:
            assert schema_has_path(TLJH_SCHEMA, path), f"{key} is not a TLJH 2.0.0 setting"
    assert not schema_has_path(TLJH_SCHEMA, ["services", "cull", "timout"])  # the walk can fail


def test_tljh_accounts_need_approval_and_the_teacher_is_the_admin():
    text = SCRIPT.read_text()
    auth = tljh_config(tljh_commands(text))["auth"]
    assert auth["type"] == "nativeauthenticator.NativeAuthenticator"
    assert auth["NativeAuthenticator"]["open_signup"] is False
    assert re.search(r'bootstrap\S* --version "\$TLJH_VERSION" --admin "\$TEACHER"$', text, re.MULTILINE)


def test_tljh_limits_and_culling_are_the_z2jh_ones():
    config, z2jh = tljh_config(tljh_commands(SCRIPT.read_text())), values()
    assert byte_spec(config["limits"]["memory"]) == byte_spec(z2jh["singleuser"]["memory"]["limit"])
    assert config["limits"]["cpu"] == z2jh["singleuser"]["cpu"]["limit"]
    cull = config["services"]["cull"]
    assert cull["enabled"] is True and (cull["timeout"], cull["every"]) == (
        z2jh["cull"]["timeout"],
        z2jh["cull"]["every"],
    )


def test_tljh_installs_the_locks_torch_cpu_build():
    text = SCRIPT.read_text()
    lock = re.search(r"^torch==(\S+) ", (ROOT / "constraints.txt").read_text(), re.MULTILINE).group(1)
    assert script_variables(text)["TORCH_VERSION"] == lock
    assert 'install --index-url https://download.pytorch.org/whl/cpu "torch==$TORCH_VERSION"' in text


def fake_command(folder: Path, name: str, log: Path, body: str = "") -> None:
    """A stand-in for a command: it appends its name and arguments to ``log``, then runs ``body``."""
    path = folder / name
    path.write_text(f'#!/bin/sh\nprintf "%s\\n" "{name} $*" >>"{log}"\n{body}\n')
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


@pytest.mark.parametrize("https", [False, True])
def test_the_recipe_runs_through_with_stand_ins(tmp_path: Path, https: bool):
    """Run install.sh with curl, python3, pip and tljh-config replaced by stand-ins that log their arguments."""
    bin_dir, prefix, log = tmp_path / "bin", tmp_path / "tljh", tmp_path / "log"
    (prefix / "user" / "bin").mkdir(parents=True)
    bin_dir.mkdir()
    fake_command(bin_dir, "curl", log, 'while [ "$1" != "-o" ]; do shift; done; echo "# bootstrap" >"$2"')
    for name in ("python3", "tljh-config"):
        fake_command(bin_dir, name, log)
    fake_command(prefix / "user" / "bin", "pip", log)
    (prefix / "user" / "bin" / "python").symlink_to(sys.executable)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "TLJH_PREFIX": str(prefix)}
    env.pop("DOMAIN", None)
    if https:
        env.update(DOMAIN="hub.example.edu", EMAIL="teacher@example.edu")
    result = subprocess.run(["bash", str(SCRIPT), "teacher"], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    calls = log.read_text().splitlines()
    assert calls[0].startswith("curl ") and re.match(r"python3 \S+ --version 2\.0\.0 --admin teacher$", calls[1])
    assert calls[2].startswith("pip install --index-url https://download.pytorch.org/whl/cpu torch==")
    assert calls[3] == "pip install .[lab] nbgitpuller>=1.2"
    assert calls[-1 - https] == "tljh-config reload" and ("tljh-config set https.enabled true" in calls) == https
    config_py = prefix / "config" / "jupyterhub_config.d" / "gradlab.py"
    c = types.SimpleNamespace(Spawner=types.SimpleNamespace(), JupyterHub=types.SimpleNamespace())
    fake_native = types.ModuleType("nativeauthenticator")
    fake_native.__file__ = "/opt/tljh/hub/lib/nativeauthenticator/__init__.py"
    sys.modules["nativeauthenticator"] = fake_native
    try:
        exec(compile(config_py.read_text(), str(config_py), "exec"), {"c": c})
    finally:
        del sys.modules["nativeauthenticator"]
    repo = class_link.repository()
    assert c.Spawner.default_url == class_link.git_pull_path(repo, "main", class_link.lab_path(repo))
    assert c.Spawner.environment["OMP_NUM_THREADS"] == "1"
    assert c.JupyterHub.template_paths == ["/opt/tljh/hub/lib/nativeauthenticator/templates"]


def test_the_teachers_readme_states_the_measured_numbers():
    readme = (ROOT / "deploy" / "README.md").read_text()
    student, every, more = MEASURED["student"], MEASURED["every_notebook"], MEASURED["one_more_student"]
    for text in (
        f"| {student['server_rss_mib']} MiB |",
        f"| {student['kernel_rss_mib']} MiB |",
        f"{student['kernel_cpu_s']:.1f} CPU s",
        f"peak {every['largest_kernel_peak_rss_mib']} MiB",
        f"| {every['total_rss_mib']} MiB |",
        f"| {student['server_uss_mib']} + {more['kernel_uss_mib']} MiB |",
    ):
        assert text in readme, f"deploy/README.md does not say {text!r} (deploy/measured.toml)"
