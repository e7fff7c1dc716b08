"""Measure what one student costs: a Jupyter server plus kernels that ran the notebooks top to bottom.

Run ``python tools/measure_student.py`` (with gradlab importable, e.g. ``PYTHONPATH=$PWD``).
It starts a real JupyterLab server on 127.0.0.1 with a random token, has the
server start one kernel per notebook (REST API, as JupyterLab does), runs every
code cell of the notebook in its kernel in order, then the first notebook once
more in a new kernel, and reads from ``/proc``:

- RSS (resident set, ``VmRSS``) and peak RSS (``VmHWM``) of the server and of each kernel;
- USS (memory only that process holds: its private pages, ``smaps_rollup``):
  torch's shared libraries are in RSS but shared between processes that map them;
- CPU seconds (user + system) each kernel used to run its notebook, and the wall time;
- ``--threads N`` sets OMP_NUM_THREADS for the kernels (the deployments set 1).

It prints one table, and with ``--write deploy/measured.toml`` writes the numbers
that ``deploy/`` sizes the class from (``tests/test_deploy.py`` checks the Helm
values and the TLJH recipe against that file). Everything it starts, it stops.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import nbformat
from jupyter_client import BlockingKernelClient

ROOT = Path(__file__).resolve().parents[1]
MIB = 1024  # the /proc numbers are in kB (KiB)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def api(base: str, token: str, path: str, body: dict | None = None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method="GET" if body is None else "POST")
    request.add_header("Authorization", f"token {token}")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=30) as reply:
        return json.loads(reply.read() or b"{}")


def start_server(runtime: Path, port: int, token: str, threads: int | None) -> subprocess.Popen[bytes]:
    """``jupyter lab`` on 127.0.0.1 with ``token``; ``threads`` sets OMP_NUM_THREADS for its kernels."""
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(runtime), JUPYTER_TOKEN=token)
    if threads is not None:
        env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(threads)
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}"]
    command += [f"--ServerApp.root_dir={ROOT / 'notebooks'}", "--ServerApp.open_browser=False"]
    if os.geteuid() == 0:
        command.append("--allow-root")
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_ready(base: str, token: str, server: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with {server.returncode}")
        try:
            api(base, token, "/api/status")
            return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"jupyter lab did not answer on {base} within {seconds} s")


def proc_kib(pid: int, field: str) -> int:
    """A ``kB`` line of ``/proc/<pid>/status`` (``VmRSS``: resident now, ``VmHWM``: peak resident)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for process {pid}")


def uss_kib(pid: int) -> int:
    """Memory only this process holds (private pages, ``/proc/<pid>/smaps_rollup``), in kB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:])
    return sum(int(fields[name].split()[0]) for name in ("Private_Clean", "Private_Dirty"))


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime: fields 14, 15


def process_with(argument: str, seconds: float = 30) -> int:
    """The pid of the process whose command line holds ``argument`` (a kernel's connection file)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                if argument in cmdline.read_bytes().decode(errors="replace").split("\0"):
                    return int(cmdline.parent.name)
            except OSError:  # the process ended meanwhile
                continue
        time.sleep(0.2)
    raise TimeoutError(f"no process started with {argument}")


def run_cells(client: BlockingKernelClient, notebook: Path) -> None:
    """Every code cell of ``notebook`` in order, as Run All does; a failing cell stops the run."""
    for cell in nbformat.read(notebook, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        reply = client.execute_interactive(cell.source, timeout=300, output_hook=lambda message: None)
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"{notebook.name}: a cell failed with {reply['content'].get('ename')}")


def run_notebook(base: str, token: str, runtime: Path, name: str) -> dict:
    """Start a kernel through the server, run ``name``'s code cells in it; that kernel's numbers (kB, s).

    The kernel is started by ``POST /api/kernels`` (in ``notebooks/``, as JupyterLab's session for
    the notebook does), so a second run of the same notebook gets a kernel of its own.
    """
    kernel_id = api(base, token, "/api/kernels", {"name": "python3", "path": ""})["id"]
    connection_file = runtime / f"kernel-{kernel_id}.json"
    pid = process_with(str(connection_file))
    client = BlockingKernelClient(connection_file=str(connection_file))
    client.load_connection_file()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        idle_rss = proc_kib(pid, "VmRSS")
        before, start = cpu_seconds(pid), time.perf_counter()
        run_cells(client, ROOT / "notebooks" / name)
        wall, cpu = time.perf_counter() - start, cpu_seconds(pid) - before
    finally:
        client.stop_channels()
    time.sleep(1)  # let the kernel settle (widget comm replies, garbage collection)
    return {
        "notebook": name,
        "pid": pid,
        "connection_file": str(connection_file),
        "idle_rss": idle_rss,
        "rss": proc_kib(pid, "VmRSS"),
        "uss": uss_kib(pid),
        "peak_rss": proc_kib(pid, "VmHWM"),
        "cpu_s": cpu,
        "wall_s": wall,
    }


def versions() -> str:
    from importlib.metadata import version

    packages = ", ".join(f"{name} {version(name)}" for name in ("torch", "jupyterlab", "jupyter_server", "ipykernel"))
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, {packages}"


def measure(notebooks: list[str], threads: int | None) -> dict:
    """Start a server, run each notebook in its own kernel, then the first again; read the numbers; stop all.

    The last kernel (the first notebook once more, while the others still run) is what one more
    student adds on a machine where torch's libraries are already in memory: its USS.
    """
    token, port = secrets.token_hex(16), free_port()
    base = f"http://127.0.0.1:{port}"
    kernels: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="gradlab-measure-") as runtime:
        server = start_server(Path(runtime), port, token, threads)
        try:
            wait_ready(base, token, server)
            server_idle = proc_kib(server.pid, "VmRSS")
            for name in [*notebooks, notebooks[0]]:
                kernels.append(run_notebook(base, token, Path(runtime), name))
            server_rss, server_uss = proc_kib(server.pid, "VmRSS"), uss_kib(server.pid)
        finally:
            stop(server, kernels)
    return {
        "server_idle_rss": server_idle,
        "server_rss": server_rss,
        "server_uss": server_uss,
        "kernels": kernels[:-1],
        "one_more": kernels[-1],
        "versions": versions(),
    }


def stop(server: subprocess.Popen[bytes], kernels: list[dict]) -> None:
    """Stop the server and, should any outlive it, the kernels it started for us."""
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
    for kernel in kernels:
        try:
            cmdline = Path(f"/proc/{kernel['pid']}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue  # already gone
        if kernel["connection_file"] in cmdline.split("\0"):  # still our kernel, not a reused pid
            os.kill(kernel["pid"], signal.SIGKILL)


def table(result: dict) -> str:
    """The numbers as a text table, MiB and seconds."""
    rows = [f"{'process':<44} {'RSS MiB':>8} {'peak MiB':>9} {'USS MiB':>8} {'CPU s':>6} {'wall s':>7}"]
    rows.append(f"{'jupyter server, idle':<44} {result['server_idle_rss'] / MIB:>8.0f}")
    rows.append(
        f"{'jupyter server, after the runs':<44} {result['server_rss'] / MIB:>8.0f} {'':>9} {result['server_uss'] / MIB:>8.0f}"
    )
    for label, k in [
        *((f"kernel that ran {k['notebook'][:20]}", k) for k in result["kernels"]),
        (f"one more kernel that ran {result['one_more']['notebook'][:2]}", result["one_more"]),
    ]:
        rows.append(
            f"{label:<44} {k['rss'] / MIB:>8.0f} {k['peak_rss'] / MIB:>9.0f} "
            f"{k['uss'] / MIB:>8.0f} {k['cpu_s']:>6.2f} {k['wall_s']:>7.2f}"
        )
    rows.append(f"{'a kernel before its first cell':<44} {result['kernels'][0]['idle_rss'] / MIB:>8.0f}")
    total = result["server_rss"] + sum(k["rss"] for k in result["kernels"])
    rows.append(f"{'server + one kernel per notebook':<44} {total / MIB:>8.0f}")
    return "\n".join(rows)


def toml(result: dict, threads: int | None) -> str:
    """``deploy/measured.toml``: what one student costs, in MiB and CPU seconds."""
    first, kernels, more = result["kernels"][0], result["kernels"], result["one_more"]
    threads_flag = f" --threads {threads}" if threads is not None else ""
    lines = [
        "# What one student costs, measured by tools/measure_student.py; regenerate, never edit by hand:",
        f"#   PYTHONPATH=$PWD python tools/measure_student.py{threads_flag} --write deploy/measured.toml",
        f"# machine: {result['versions']}",
        f"# torch threads per kernel (OMP_NUM_THREADS): {threads if threads is not None else 'unset (one per CPU)'}",
        "# RSS: resident memory; USS: memory only that process holds (shared libraries left out).",
        "# tests/test_deploy.py checks deploy/z2jh/values.yaml and deploy/tljh/ against these numbers.",
        "",
        f"[student]  # one JupyterLab server + one kernel that ran {first['notebook']} top to bottom",
        f"server_rss_mib = {result['server_rss'] / MIB:.0f}",
        f"server_uss_mib = {result['server_uss'] / MIB:.0f}",
        f"kernel_rss_mib = {first['rss'] / MIB:.0f}",
        f"kernel_peak_rss_mib = {first['peak_rss'] / MIB:.0f}",
        f"kernel_cpu_s = {first['cpu_s']:.2f}  # CPU seconds (user + system) to run every cell",
        f"kernel_wall_s = {first['wall_s']:.2f}",
        "",
        f"[every_notebook]  # the same server with one kernel per notebook ({len(kernels)}), each run top to bottom",
        f"notebooks = {len(kernels)}",
        f"total_rss_mib = {(result['server_rss'] + sum(k['rss'] for k in kernels)) / MIB:.0f}",
        f"largest_kernel_peak_rss_mib = {max(k['peak_rss'] for k in kernels) / MIB:.0f}",
        f"cpu_s = {sum(k['cpu_s'] for k in kernels):.2f}",
        "",
        f"[one_more_student]  # {more['notebook']} once more, while the other kernels run: torch already in memory",
        f"kernel_uss_mib = {more['uss'] / MIB:.0f}",
        f"kernel_cpu_s = {more['cpu_s']:.2f}",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", help="notebook file names in notebooks/ (default: every notebook)")
    parser.add_argument("--threads", type=int, help="OMP_NUM_THREADS for the kernels (default: unset)")
    parser.add_argument("--write", type=Path, help="write the numbers as TOML to this file (deploy/measured.toml)")
    args = parser.parse_args()
    notebooks = args.notebooks or sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
    result = measure(notebooks, args.threads)
    print(result["versions"])
    print(table(result))
    if args.write:
        args.write.write_text(toml(result, args.threads))
        print(f"wrote {args.write}")


if __name__ == "__main__":
    main()
