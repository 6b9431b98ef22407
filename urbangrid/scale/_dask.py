"""Dask plumbing shared by the scale modules: clients, shipping big objects, progress.

Dask (``dask``, ``distributed``) is an optional dependency (the ``scale`` extra); it is
imported here, when a parallel run is asked for, never at package import.
"""

from __future__ import annotations

import os
import pickle
import sys
import time
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from urbangrid.errors import ScaleJobError

__all__ = ["Progress", "open_client", "ship", "task_key"]

SchedulerLike = Any
"""``"local"``, a scheduler address (``"tcp://10.0.0.5:8786"``) or a ``distributed.Client``."""


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:  # pragma: no cover - exercised only without the extra
        raise ScaleJobError(
            "parallel runs need Dask: pip install 'urbangrid[scale]' (dask, distributed), "
            "or pass scheduler=None to run in this process"
        ) from None
    return distributed


@contextmanager
def open_client(scheduler: SchedulerLike, workers: int | None = None) -> Iterator[Any]:
    """A ``distributed.Client`` for ``scheduler``, closed on exit if opened here.

    Parameters
    ----------
    scheduler : "local", str or distributed.Client
        ``"local"`` starts a ``LocalCluster`` of ``workers`` single-threaded worker
        processes (default: one per core) for this call; any other string is the
        address of a running scheduler (``dask scheduler`` prints it); a ``Client`` is
        used as is and left open.
    workers : int, optional
        Worker processes of a ``"local"`` cluster.

    Raises
    ------
    ScaleJobError
        The scheduler cannot be reached (the message gives the address).
    """
    distributed = _distributed()
    if isinstance(scheduler, distributed.Client):
        yield scheduler
        return
    if not isinstance(scheduler, str):
        raise ScaleJobError(
            f"scheduler must be 'local', a scheduler address or a distributed.Client, "
            f"not {type(scheduler).__name__}"
        )
    if scheduler == "local":
        n = workers or os.cpu_count() or 1
        # The scheduler's HTTP server (dashboard or not) on any free port: the default
        # 8787 is often taken by another cluster on the same machine, and then the
        # cluster fails to start.
        cluster = distributed.LocalCluster(
            n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0"
        )
        client = distributed.Client(cluster)
        try:
            yield client
        finally:
            client.close()
            cluster.close()
        return
    try:
        client = distributed.Client(scheduler, timeout="20s")
    except (OSError, TimeoutError) as exc:
        raise ScaleJobError(
            f"cannot reach the Dask scheduler at {scheduler!r}: {exc}. Start one with "
            "`dask scheduler` (and workers with `dask worker <address>`), or use "
            "scheduler='local'"
        ) from None
    try:
        yield client
    finally:
        client.close()


def task_key(prefix: str) -> str:
    """A task key unique to this run, so that two runs never share results."""
    return f"urbangrid-{prefix}-{uuid.uuid4().hex[:12]}"


def _loads(payload: bytes) -> Any:
    return pickle.loads(payload)


def ship(client: Any, obj: Any, name: str) -> Any:
    """Send ``obj`` to the cluster once; returns a future its tasks take as an argument.

    The object travels inside a task (not ``scatter``), so the scheduler can rebuild
    it if every worker holding it dies; each worker fetches it once, from a peer, the
    first time one of its tasks needs it.
    """
    payload = pickle.dumps(obj, protocol=5)
    with warnings.catch_warnings():
        # the payload is sent once on purpose; Dask's large-graph hint does not apply
        warnings.filterwarnings("ignore", message=".*[Ll]arge.*", category=UserWarning)
        return client.submit(_loads, payload, key=task_key(name), pure=False)


class Progress:
    """A tqdm progress bar on stderr: partitions done, rows and their rate.

    Drawn only when `enabled` and stderr is a terminal (tqdm's ``disable=None``), so
    logs and pipes get the summary line alone. With `total` unknown (a CSV read as
    it streams) the bar follows the share of the input read, given as ``fraction``.
    """

    def __init__(self, label: str, total: int | None, enabled: bool) -> None:
        from tqdm import tqdm

        self.label = label
        self.total = total
        self.enabled = enabled
        self.done = 0
        self.rows = 0
        self.fraction: float | None = None
        self._t0 = time.perf_counter()
        self._bar = tqdm(
            total=total if total else 100.0, desc=label, unit=" partitions" if total else "%",
            disable=None if enabled else True, file=sys.stderr, mininterval=0.5,
            dynamic_ncols=True, leave=True,
            bar_format=None if total else "{desc}: {percentage:3.0f}%|{bar}| {postfix}")

    def update(self, parts: int = 1, rows: int = 0, fraction: float | None = None) -> None:
        """Count ``parts`` finished partitions holding ``rows`` rows."""
        self.done += parts
        self.rows += rows
        if fraction is not None:
            self.fraction = fraction
        self._redraw()

    def _redraw(self) -> None:
        if self._bar.disable:
            return
        rate = self.rows / max(time.perf_counter() - self._t0, 1e-9)
        self._bar.set_postfix_str(f"{self.done} partitions, {self.rows:,} rows, "
                                  f"{rate:,.0f} rows/s", refresh=False)
        if self.total:
            self._bar.update(self.done - self._bar.n)
        elif self.fraction is not None:
            self._bar.update(round(100 * min(self.fraction, 1.0), 1) - self._bar.n)
        else:
            self._bar.refresh()

    def close(self) -> None:
        """Draw the final state and end the line."""
        if not self.total and not self._bar.disable:
            self.fraction = 1.0
            self._redraw()
        self._bar.close()
