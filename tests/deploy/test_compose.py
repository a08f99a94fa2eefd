"""docker-compose.yml, validated by Debian's docker-compose 1.29 (no Docker engine needed) for every
profile, then checked for what a GPU deployment must have."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
PROFILES = {"default": [], "cpu": ["--profile", "cpu"], "bench": ["--profile", "bench"]}


def compose(*args: str, env_file: Path) -> subprocess.CompletedProcess:
    binary = shutil.which("docker-compose")
    assert binary, "docker-compose is missing: `make setup` installs Debian's docker-compose (1.29)"
    return subprocess.run([binary, "-f", str(COMPOSE), "--project-directory", str(ROOT), "--env-file", str(env_file),
                           *args], capture_output=True, text=True, timeout=120, env={"PATH": "/usr/bin:/bin"})


@pytest.fixture(scope="module")
def env_file(tmp_path_factory) -> Path:
    """.env.example with the one required value filled in, as the README tells a user to do."""
    text = (ROOT / ".env.example").read_text().replace("TRITON_ADMIN_KEY=\n", "TRITON_ADMIN_KEY=pytest-secret\n")
    path = tmp_path_factory.mktemp("env") / ".env"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def services(env_file) -> dict:
    proc = compose("config", env_file=env_file)
    assert proc.returncode == 0, proc.stderr
    return yaml.safe_load(proc.stdout)["services"]


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_config_validates_for_every_profile(env_file, profile):
    proc = compose(*PROFILES[profile], "config", "-q", env_file=env_file)
    assert proc.returncode == 0, proc.stderr


def test_admin_key_is_required(tmp_path):
    empty = tmp_path / ".env"
    empty.write_text((ROOT / ".env.example").read_text())  # TRITON_ADMIN_KEY left empty
    proc = compose("config", "-q", env_file=empty)
    assert proc.returncode != 0 and "set TRITON_ADMIN_KEY" in proc.stderr


def test_every_variable_the_compose_file_reads_is_documented():
    used = set(re.findall(r"\$\{(\w+)", COMPOSE.read_text()))
    documented = set(re.findall(r"^(\w+)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    assert used and used <= documented, f"undocumented in .env.example: {sorted(used - documented)}"


def _gpus(service: dict) -> list:
    return service.get("deploy", {}).get("resources", {}).get("reservations", {}).get("devices", [])


def test_triton_service_is_locked_down_and_waits_for_the_builder(services):
    t = services["triton"]
    assert t["depends_on"] == {"builder": {"condition": "service_completed_successfully"}}
    assert _gpus(t)[0]["capabilities"] == ["gpu"] and _gpus(t)[0]["driver"] == "nvidia"
    assert t["user"] == "1000:1000" and t["cap_drop"] == ["ALL"] and "no-new-privileges:true" in t["security_opt"]
    assert t["volumes"] == ["models:/models:ro"]
    assert t["shm_size"] == "2gb"
    assert "/v2/health/ready" in " ".join(t["healthcheck"]["test"])
    assert sorted(p.split(":")[-1] for p in t["ports"]) == ["8000/tcp", "8001/tcp", "8002/tcp"]
    assert all(p.startswith("127.0.0.1:") for p in t["ports"]), "published on localhost unless TRITON_BIND says otherwise"
    assert t["environment"]["TRITON_ADMIN_KEY"] == "pytest-secret"
    grace = int(t["stop_grace_period"].rstrip("s"))
    assert grace > int(t["environment"]["TRITON_EXIT_TIMEOUT"]), "compose must not SIGKILL before Triton drains"


@pytest.mark.parametrize("name", ["triton", "triton-cpu"])
def test_a_server_that_keeps_failing_is_not_restarted_forever(services, name):
    """Wrong engines exit 78 on every start: the policy must give up (on-failure:N), which
    unless-stopped and always never do."""
    policy, _, retries = services[name]["restart"].partition(":")
    assert policy == "on-failure" and 1 <= int(retries) <= 10


def test_builder_builds_tensorrt_on_the_gpu_into_the_model_volume(services):
    b = services["builder"]
    assert _gpus(b) and b["restart"] == "no"
    assert b["command"][:2] == ["mmtriton", "deploy-build"] and b["command"][b["command"].index("--target") + 1] == "tensorrt"
    assert "models:/models:rw" in b["volumes"] and "artifacts:/artifacts:rw" in b["volumes"]


def test_cpu_profile_serves_onnxruntime_without_a_gpu(services):
    cpu, builder = services["triton-cpu"], services["builder-cpu"]
    assert cpu["profiles"] == ["cpu"] and builder["profiles"] == ["cpu"]
    assert not _gpus(cpu) and not _gpus(builder)
    assert builder["command"][builder["command"].index("--target") + 1] == "onnxruntime"
    assert cpu["depends_on"] == {"builder-cpu": {"condition": "service_completed_successfully"}}
    assert cpu["volumes"] == ["models-cpu:/models:ro"]


def test_bench_profile_sweeps_the_healthy_server_with_the_sdk_image(services):
    bench = services["bench"]
    assert bench["profiles"] == ["bench"]
    assert bench["depends_on"] == {"triton": {"condition": "service_healthy"}}
    assert bench["build"]["dockerfile"] == "build/Dockerfile.bench"
    assert {"--triton-only", "triton:8001"} <= set(bench["command"])


def test_one_ngc_release_for_every_image(services):
    release = re.search(r"^TRITON_RELEASE=(\S+)", (ROOT / ".env.example").read_text(), re.MULTILINE).group(1)
    built = [s for s in services.values() if "build" in s]
    assert len(built) == 5
    assert {s["build"]["args"]["TRITON_RELEASE"] for s in built} == {release}
    for dockerfile in {s["build"]["dockerfile"] for s in built}:
        text = (ROOT / dockerfile).read_text()
        assert f"ARG TRITON_RELEASE={release}" in text, dockerfile
        assert re.search(r"^FROM nvcr\.io/nvidia/(tritonserver|pytorch):\$\{TRITON_RELEASE\}-py3(-sdk)?$", text, re.MULTILINE)


def test_the_builders_read_a_mounted_data_set_when_one_is_configured(tmp_path, env_file):
    """Unset: the placeholder folder is mounted and MMTRITON_DATASET is empty (reference model);
    set in .env: the user's folder is mounted read-only and the builders are told to use it."""
    default = yaml.safe_load(compose("config", env_file=env_file).stdout)["services"]
    for name in ("builder",):
        assert default[name]["environment"]["MMTRITON_DATASET"] == ""
        assert any(v.endswith("deploy/no-dataset:/dataset:ro") for v in default[name]["volumes"])
    data = tmp_path / "my-data"
    data.mkdir()
    text = env_file.read_text().replace("MMTRITON_DATASET_DIR=\n", f"MMTRITON_DATASET_DIR={data}\n") \
        .replace("MMTRITON_DATASET=\n", "MMTRITON_DATASET=/dataset\n")
    custom = tmp_path / ".env"
    custom.write_text(text)
    for profile in ([], ["--profile", "cpu"]):
        proc = compose(*profile, "config", env_file=custom)
        assert proc.returncode == 0, proc.stderr
        services = yaml.safe_load(proc.stdout)["services"]
        for name in ("builder", "builder-cpu") if profile else ("builder",):
            assert services[name]["environment"]["MMTRITON_DATASET"] == "/dataset"
            assert f"{data}:/dataset:ro" in services[name]["volumes"]
