"""A class on one machine: N students on the hub of ``make hub``, each running notebook 01 and moving its slider.

Starts the hub of tools/hub.py (its config, its proxy, a fresh state folder
and free ports on 127.0.0.1) over a repository holding this checkout's
committed notebooks, then, with the client of tools/hub_client.py (what a
browser sends, nothing more):

1. class start: every student logs in through the login form, starts their
   server through the hub's API, opens the nbgitpuller link (their own
   copy), opens notebook 01 in JupyterLab (a session, a kernel websocket
   through the proxy) and runs all its cells in order. Log-ins come
   ``--stagger-s`` apart (1.5 s: a class of 20 arriving within 30 s;
   0: all at the same instant);
2. alone: the first student moves the ``w`` slider of the mse explorer
   ``--moves`` times while the others sit idle;
3. under load: every student moves it ``--moves`` times at once, first at
   each pace of ``--sweep``, then at ``--pace-ms`` (the table's round).

A move is the ``comm_msg`` a browser sends (``{"method": "update", "state":
{"value": w}}`` to the slider's model) and is timed until the explorer's
picture and readout updates come back. Load model: a student sends a move,
waits for the picture, pauses ``--pace-ms``, and so on; each student's first
move comes at a random moment within one pause, so the whole class moves
throughout the round but not in lockstep. The table's pace, 250 ms, is a person stepping the slider (arrow
keys or clicks, about 3 to 4 steps a second); pace 0, the sweep's first
round, is a mouse drag, which ipywidgets sends as fast as the kernel answers
(the next value once the previous one came back): every student dragging
at the same time is the worst case. Each round prints what the CPUs did: CPU
milliseconds per move in the kernels, the servers, the proxy, the hub and
this bench (which stands in for the browsers and shares the CPUs).

Memory per student: resident (RSS) and unique (USS, what that process alone
holds; torch's libraries are shared between kernels) memory of the
student's kernel and server, after phase 3. Every loop is bounded in count
and time (``--timeout``); the hub and every process it started are stopped
at the end, on failure and on Ctrl-C.

Run: ``.venv/bin/python bench/bench_classroom.py --students 20``. Prints a
table; the last line reads ``students=N failures=F p50_ms=... p95_ms=...
alone_p95_ms=... rss_mb_per_student=...``. Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import hub  # noqa: E402
import hub_client  # noqa: E402

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
MB = 2**20
MACHINE = "machine"  # cpu_seconds' key for every program on the machine


@dataclass
class Result:
    """One student's numbers."""

    name: str
    first_cell_s: float = math.nan  # log-in started -> first cell's reply
    all_cells_s: float = math.nan
    moves_ms: list[float] = field(default_factory=list)
    alone_ms: list[float] = field(default_factory=list)
    kernel_rss: float = math.nan
    kernel_uss: float = math.nan
    server_rss: float = math.nan
    server_uss: float = math.nan
    pss: float = math.nan  # kernel + server
    failures: list[str] = field(default_factory=list)


@dataclass
class Seat:
    """A student at work: their browser session, kernel and explorer."""

    student: hub_client.Student
    result: Result
    kernel: hub_client.Kernel | None = None
    parts: tuple[str, str, str] | None = None  # the slider, picture and readout comm ids


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); nan when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def make_repo(path: Path) -> Path:
    """A repository with this checkout's committed notebooks on ``main``: what the class pulls."""
    path.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "HEAD", "notebooks"], check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(path)], input=archive.stdout, check=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    git = ["git", "-C", str(path), "-c", "user.name=bench", "-c", "user.email=bench@localhost"]
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "notebooks"], check=True)
    return path


async def class_start(seat: Seat, link: str, notebook: str, delay: float) -> None:
    """Log in, start the server, pull, open notebook 01 and run all its cells."""
    await asyncio.sleep(delay)
    student, result = seat.student, seat.result
    start = time.monotonic()
    if not await student.login():
        raise hub_client.StudentError(f"{student.name}: the hub refused the password")
    await student.start_server(timeout=300)
    await student.pull(link, timeout=300)
    await student.get(f"lab/tree/{notebook}")
    status, model = await student.api("GET", f"contents/{notebook}")
    if status != 200:
        raise hub_client.StudentError(f"{student.name}: reading the notebook answered {status}")
    seat.kernel = kernel = await student.open_notebook(notebook)
    explorer = None
    for number, cell in enumerate(c for c in model["content"]["cells"] if c["cell_type"] == "code"):
        reply = await kernel.execute(cell["source"], timeout=300)
        if number == 0:
            result.first_cell_s = time.monotonic() - start
        if reply.status != "ok":
            raise hub_client.StudentError(f"{student.name}: cell {number + 1}: {reply.error}")
        for output in reply.outputs:
            if WIDGET_VIEW in output.get("data", {}) and "mse_explorer(" in cell["source"]:
                explorer = output["data"][WIDGET_VIEW]["model_id"]
    result.all_cells_s = time.monotonic() - start
    if explorer is None:
        raise hub_client.StudentError(f"{student.name}: notebook 01 showed no mse explorer")
    seat.parts = hub_client.explorer_parts(kernel, explorer)


async def drag(seat: Seat, moves: int, pace: float, delay: float, into: list[float]) -> None:
    """Move the ``w`` slider ``moves`` times: 2.0 -> 1.95 -> ... , each timed until the explorer's update."""
    assert seat.kernel is not None and seat.parts is not None
    slider, picture, readout = seat.parts
    await asyncio.sleep(delay)
    start_value = float(seat.kernel.comms[slider].get("value", 2.0))
    for step in range(1, moves + 1):
        value = round(start_value - 0.05 * step if start_value > 0 else start_value + 0.05 * step, 2)
        into.append(1000 * await seat.kernel.move(slider, value, {picture, readout}, timeout=60))
        await asyncio.sleep(pace)


def cpu_seconds(hub_process: hub.Hub) -> dict[str, float]:
    """CPU seconds (user + system) used so far by each kind of process under the hub, by this bench, and by the
    whole machine (``MACHINE``: every program, other people's included)."""
    machine = psutil.cpu_times()
    totals: dict[str, float] = {
        MACHINE: sum(machine) - machine.idle - getattr(machine, "iowait", 0.0),
        "bench (the browsers)": sum(psutil.Process().cpu_times()[:2]),
    }
    for process in hub_process.processes():
        try:
            kind = hub_process.kind(process)
            totals[kind] = totals.get(kind, 0.0) + sum(process.cpu_times()[:2])
        except psutil.Error:
            continue
    return totals


def measure_memory(hub_process: hub.Hub, results: dict[str, Result]) -> None:
    """RSS and USS of each student's server (JUPYTERHUB_USER) and the kernels under it."""
    for process in hub_process.processes():
        try:
            if "singleuser.py" not in " ".join(process.cmdline()):
                continue
            result = results.get(process.environ().get("JUPYTERHUB_USER", ""))
            if result is None:
                continue
            info = process.memory_full_info()
            result.server_rss, result.server_uss, result.pss = info.rss / MB, info.uss / MB, info.pss / MB
            kernels = [p for p in process.children(recursive=True) if "ipykernel" in " ".join(p.cmdline())]
            infos = [k.memory_full_info() for k in kernels]
            result.kernel_rss = sum(i.rss for i in infos) / MB if infos else math.nan
            result.kernel_uss = sum(i.uss for i in infos) / MB if infos else math.nan
            result.pss += sum(i.pss for i in infos) / MB if infos else math.nan
        except psutil.Error:
            continue


async def load_round(
    running: hub.Hub, ready: list[Seat], args: argparse.Namespace, pace_ms: float, into: dict[str, list[float]]
) -> tuple[dict[str, float], float]:
    """Every ready student moves at once, each starting at a random phase of one pace; CPU seconds by process, wall."""
    rng = random.Random(0)
    spread = [rng.uniform(0, pace_ms / 1000) for _ in ready]
    cpu_before, wall_before = cpu_seconds(running), time.monotonic()
    moved = await asyncio.gather(
        *(drag(s, args.moves, pace_ms / 1000, d, into[s.result.name]) for s, d in zip(ready, spread, strict=True)),
        return_exceptions=True,
    )
    wall = time.monotonic() - wall_before
    cpu_after = cpu_seconds(running)
    for seat, outcome in zip(ready, moved, strict=True):
        if isinstance(outcome, BaseException):
            seat.result.failures.append(f"under load (pace {pace_ms:g} ms): {type(outcome).__name__}: {outcome}")
    return {kind: cpu_after[kind] - cpu_before.get(kind, 0.0) for kind in cpu_after}, wall


async def run_class(running: hub.Hub, link: str, passwords: dict[str, str], args: argparse.Namespace) -> list[Seat]:
    """Class start, one student alone, then every student at once (after the --sweep rounds); prints the rounds."""
    notebook = f"{hub.TARGET}/{hub.first_notebook()}"
    seats = [Seat(hub_client.Student(running.url, n, p), Result(n)) for n, p in passwords.items()]
    try:
        before, wall = cpu_seconds(running), time.monotonic()
        started = await asyncio.gather(
            *(class_start(s, link, notebook, i * args.stagger_s) for i, s in enumerate(seats)), return_exceptions=True
        )
        for seat, outcome in zip(seats, started, strict=True):
            if isinstance(outcome, BaseException):
                seat.result.failures.append(f"class start: {type(outcome).__name__}: {outcome}")
        after, wall = cpu_seconds(running), time.monotonic() - wall
        spent = {k: after[k] - before.get(k, 0.0) for k in after if k != MACHINE}
        mine = sum(spent.values())
        others = max(0.0, after[MACHINE] - before[MACHINE] - mine)
        parts = ", ".join(f"{k} {v / len(seats):.2f}" for k, v in sorted(spent.items(), key=lambda kv: -kv[1]))
        print(
            f"class start: {wall:.0f} s; {mine:.0f} CPU seconds, {mine / len(seats):.1f} per student = {parts} "
            f"(server start, nbgitpuller, kernel start, notebook 01 run); other programs: {others:.0f} CPU seconds"
        )
        ready = [s for s in seats if not s.result.failures]
        if not ready:
            return seats
        try:  # alone: the first ready student, everyone else idle
            await drag(ready[0], args.moves, args.pace_ms / 1000, 0, ready[0].result.alone_ms)
        except Exception as error:
            ready[0].result.failures.append(f"alone: {type(error).__name__}: {error}")
        alone = ready[0].result.alone_ms
        rounds = [(f"pace {pace:g} ms", pace, {s.result.name: [] for s in ready}) for pace in args.sweep]
        table = {s.result.name: s.result.moves_ms for s in ready}
        rounds.append((f"pace {args.pace_ms:g} ms (the table's)", args.pace_ms, table))  # the table's round last
        for label, pace, into in rounds:
            cpu_round, wall = await load_round(running, ready, args, pace, into)
            print_round(label, [m for ms in into.values() for m in ms], cpu_round, wall, alone)
    finally:
        for seat in seats:
            if seat.kernel is not None:
                await seat.kernel.close()
            await seat.student.close()
    return seats


def print_round(label: str, moves: list[float], cpu: dict[str, float], wall: float, alone: list[float]) -> None:
    """One round of dragging: latency against alone, and what the CPUs did (CPU milliseconds per move, by process)."""
    if not moves:
        return
    cpu = dict(cpu)
    machine = cpu.pop(MACHINE, 0.0)
    total = sum(cpu.values())
    parts = ", ".join(
        f"{kind} {1000 * sec / len(moves):.2f}" for kind, sec in sorted(cpu.items(), key=lambda kv: -kv[1])
    )
    p95 = percentile(moves, 95)
    print(
        f"{label}: {len(moves)} moves in {wall:.1f} s, p50 {percentile(moves, 50):.1f} ms, p95 {p95:.1f} ms "
        f"= {p95 / percentile(alone, 95):.1f}x alone; CPUs busy: {total / wall:.2f} this class, "
        f"{max(0.0, machine - total) / wall:.2f} other programs, of {os.cpu_count()}; "
        f"CPU ms per move {1000 * total / len(moves):.2f} = {parts}"
    )


def print_table(results: list[Result], args: argparse.Namespace, wall: float) -> None:
    load = os.getloadavg()
    print(
        f"bench_classroom: {platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, load average before the run {args.load_before:.2f}, after {load[0]:.2f}"
    )
    print(
        f"students={len(results)} moves={args.moves} stagger_s={args.stagger_s} pace_ms={args.pace_ms} "
        f"environment={args.environment or '-'} wall={wall:.0f} s"
    )
    header = (
        f"{'student':<8}{'kernel RSS':>11}{'kernel USS':>11}{'server RSS':>11}{'server USS':>11}"
        f"{'login->1st cell':>16}{'all cells':>10}{'p50 ms':>8}{'p95 ms':>8}  failures"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.name:<8}{r.kernel_rss:>9.0f}MB{r.kernel_uss:>9.0f}MB{r.server_rss:>9.0f}MB{r.server_uss:>9.0f}MB"
            f"{r.first_cell_s:>15.1f}s{r.all_cells_s:>9.1f}s{percentile(r.moves_ms, 50):>8.1f}"
            f"{percentile(r.moves_ms, 95):>8.1f}  {'; '.join(r.failures)[:200] or '-'}"
        )
    moves = [m for r in results for m in r.moves_ms]
    alone = next((r.alone_ms for r in results if r.alone_ms), [])
    rss = [r.kernel_rss + r.server_rss for r in results if not math.isnan(r.kernel_rss + r.server_rss)]
    uss = [r.kernel_uss + r.server_uss for r in results if not math.isnan(r.kernel_uss + r.server_uss)]
    firsts = [r.first_cell_s for r in results if not math.isnan(r.first_cell_s)]
    failures = sum(1 for r in results if r.failures)
    p95, alone_p95 = percentile(moves, 95), percentile(alone, 95)
    print("-" * len(header))
    print(
        f"slider step, one student alone ({len(alone)} moves): p50 {percentile(alone, 50):.1f} ms, p95 {alone_p95:.1f} ms"
    )
    print(
        f"slider step, all {len(results)} at once ({len(moves)} moves): p50 {percentile(moves, 50):.1f} ms, "
        f"p95 {p95:.1f} ms = {p95 / alone_p95:.1f}x alone (goal: <= 5x and <= 250 ms)"
    )
    if firsts:
        print(f"login -> first cell: median {statistics.median(firsts):.1f} s, max {max(firsts):.1f} s")
    if rss:
        print(
            f"memory per student (kernel + server): RSS mean {statistics.mean(rss):.0f} MB, max {max(rss):.0f} MB; "
            f"USS mean {statistics.mean(uss):.0f} MB (what each student alone holds: torch's and Python's shared pages come on top, once per machine)"
        )
        pss = [r.pss for r in results if not math.isnan(r.pss)]
        print(
            f"memory the class holds (PSS: shared pages split among the processes sharing them): {sum(pss):.0f} MB "
            f"for {len(pss)} students, {statistics.mean(pss):.0f} MB per student"
        )
    print(
        f"students={len(results)} failures={failures} p50_ms={percentile(moves, 50):.1f} p95_ms={p95:.1f} "
        f"alone_p95_ms={alone_p95:.1f} rss_mb_per_student={statistics.mean(rss) if rss else math.nan:.0f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=20)
    parser.add_argument("--moves", type=int, default=20, help="slider moves per student, alone and under load")
    parser.add_argument("--stagger-s", type=float, default=1.5, help="seconds between log-ins (0: all at once)")
    parser.add_argument("--pace-ms", type=float, default=250, help="pause after each move (0: drag continuously)")
    parser.add_argument("--sweep", default="0,50,100", help="paces (ms) of extra rounds before the table's, e.g. 0,50")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE", help="for the students' servers")
    parser.add_argument("--timeout", type=float, default=1200, help="the whole run stops after this many seconds")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (hub log, state)")
    args = parser.parse_args()
    args.environment = " ".join(args.env)
    args.sweep = [float(pace) for pace in args.sweep.split(",") if pace.strip()]
    args.load_before = os.getloadavg()[0]

    tmp = Path(tempfile.mkdtemp(prefix="bench-classroom-"))
    names = [f"s{i:02d}" for i in range(1, args.students + 1)]
    passwords, settings = hub.prepare(tmp / "state", names, "teacher", make_repo(tmp / "repo").as_uri())
    passwords.pop("teacher")
    settings.port = hub.free_port()
    settings.environment = dict(item.split("=", 1) for item in args.env)
    start = time.monotonic()
    try:
        with hub.Hub(settings, log=tmp / "hub.log") as running:
            running.start()
            coroutine = run_class(running, settings.default_url, passwords, args)
            seats = asyncio.run(asyncio.wait_for(coroutine, timeout=args.timeout))
            results = {s.result.name: s.result for s in seats}
            measure_memory(running, results)
        print_table(list(results.values()), args, time.monotonic() - start)
        if any(r.failures for r in results.values()):
            args.keep = True
            print(f"failures: the hub's log is kept in {tmp / 'hub.log'}")
    except BaseException:
        traceback.print_exc()
        print(f"hub log: {tmp / 'hub.log'}")
        args.keep = True
        return 1
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
