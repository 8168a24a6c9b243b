"""bench/mixed.py's writer: bookings and cancellations through the REST API at a fixed rate."""

import json
import random
import statistics
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

# ruff: noqa: S310 - this machine's own servers.
CANCEL_SHARE = 0.3  # of the writes, once there is a booking of ours to cancel


class Writer:
    """Books random slots of random hospitals as random patients and cancels some of those bookings,
    through the REST API at `rate` writes per second. A ticker keeps the schedule (start + n / rate)
    and hands each write to a pool, so a slow answer does not slow the rate down."""

    def __init__(self, port: int, data: dict, rate: float):
        self.port, self.rate = port, rate
        self.tokens = data["booking_tokens"]
        self.slots = {int(hospital): slots for hospital, slots in data["booking_slots"].items()}
        self.rng = random.Random()  # seeded afresh: a run never replays an earlier run's bookings
        self.lock = threading.Lock()
        self.ours: list[tuple[int, str]] = []  # (appointment id, its patient's token), still booked
        self.counts: Counter = Counter()
        self.refusals: Counter = Counter()  # the error codes of 409s
        self.latencies: list[float] = []
        self.starts: list[float] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._tick, daemon=True)

    def start(self) -> "Writer":
        if self.rate > 0:
            self.thread.start()
        return self

    def stop(self) -> dict:
        self.stopping.set()
        if self.thread.is_alive():
            self.thread.join()
        done = sum(self.counts.values())
        ordered = sorted(self.latencies)
        # The rate achieved: writes begun per second, first to last (the ticker's own clock).
        span = max(self.starts) - min(self.starts) if len(self.starts) > 1 else 0.0
        return {
            "rate": self.rate,
            "achieved": (len(self.starts) - 1) / span if span else 0.0,
            "done": done,
            "counts": dict(self.counts),
            "refusals": dict(self.refusals),
            "p50": statistics.median(ordered) if ordered else float("nan"),
            "p99": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else float("nan"),
        }

    def _tick(self) -> None:
        pool = ThreadPoolExecutor(max_workers=16)
        started = time.monotonic()
        n = 0
        while not self.stopping.is_set():
            wait = started + n / self.rate - time.monotonic()
            if wait > 0 and self.stopping.wait(wait):
                break
            pool.submit(self._write)
            n += 1
        pool.shutdown(wait=True, cancel_futures=True)  # writes not yet begun are not counted

    def _write(self) -> None:
        with self.lock:
            if self.ours and self.rng.random() < CANCEL_SHARE:
                kind = "cancel"
                appointment, token = self.ours.pop(self.rng.randrange(len(self.ours)))
                path, body = f"/api/v1/appointments/{appointment}/cancel", {"reason": "bench"}
            else:
                kind = "book"
                slot = self.rng.choice(self.slots[self.rng.choice(list(self.slots))])
                token = self.rng.choice(self.tokens)
                path, body = "/api/v1/appointments", {"slot_id": slot}
        status, answer, code, began = "other", None, None, time.monotonic()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, answer = str(response.status), response.read()
        except urllib.error.HTTPError as error:
            status = str(error.code)
            try:
                code = json.loads(error.read())["errors"][0]["code"]
            except (ValueError, KeyError, IndexError, TypeError):
                code = "?"
        except OSError as error:
            status = type(error).__name__
        elapsed = (time.monotonic() - began) * 1000
        with self.lock:
            self.counts[f"{kind} {status}"] += 1
            if status == "409":
                self.refusals[f"{kind}: {code}"] += 1
            self.latencies.append(elapsed)
            self.starts.append(began)
            if kind == "book" and status == "201":
                self.ours.append((json.loads(answer)["id"], token))
