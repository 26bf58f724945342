#!/usr/bin/env python3
"""A second benchmark client, in another language than Scheduler: Python 3, standard library only.

It creates schedules the way a user's own program would: 16 threads, each with one keep-alive HTTP/1.1
connection (http.client), one POST /schedules per schedule. bench/run --cold runs it through
Scheduler.Bench, which owns the target that records the calls and so measures end-to-end runs/s for
both clients the same way; this program reports only what it saw as a client, as one JSON object on
stdout. The API key comes from SCHEDULER_API_KEY.

  scheduler_load.py burst --api URL --count N --target-prefix URL   W1: N IMMEDIATE schedules, as fast as
                                                                    16 connections go; the target of
                                                                    schedule i is <prefix><i>
  scheduler_load.py api --api URL --rate R --seconds S              W5: a ONCE schedule a day ahead every
                                                                    1/R s (open loop), latency per create from
                                                                    its send and from its due time
  scheduler_load.py scale --api URL --count N --target-prefix URL   W4 made by a user's program: N INTERVAL-60 s
                      [--budget S]                                  schedules one request each, as fast as 16
                                                                    connections go (for at most S seconds), the
                                                                    first of schedule i 5 + i % 60 s after its
                                                                    create: the first fire while the rest are
                                                                    still being created
"""
import argparse
import datetime
import http.client
import json
import os
import queue
import sys
import threading
import time
import urllib.parse

CONNECTIONS = 16


class Connection:
    """One keep-alive connection; opened again if the server closed it."""

    def __init__(self, api):
        url = urllib.parse.urlsplit(api)
        self.host, self.port = url.hostname, url.port or 80
        self.headers = {"Content-Type": "application/json", "X-Api-Key": os.environ.get("SCHEDULER_API_KEY", "")}
        self.conn = None

    def post(self, path, body):
        """Returns (status, body text); a connection error is status 0 and the connection is dropped."""
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
            self.conn.request("POST", path, body=body, headers=self.headers)
            response = self.conn.getresponse()
            # The whole answer is read, or the connection cannot carry the next request.
            text = response.read()
            if response.getheader("Connection", "").lower() == "close":
                self.close()
            return response.status, text
        except (OSError, http.client.HTTPException) as error:
            self.close()
            return 0, str(error).encode()

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def start_clients(client):
    """One thread per connection, each running client()."""
    threads = [threading.Thread(target=client) for _ in range(CONNECTIONS)]
    for thread in threads:
        thread.start()
    return threads


def failure(status, text):
    return f"{status}: {text[:200].decode(errors='replace')}"


def burst(args):
    # The bodies are ready before the clock starts, as the .NET client's are.
    bodies = [json.dumps({"schedule_type": "IMMEDIATE", "target": {"url": f"{args.target_prefix}{i}"}}).encode()
              for i in range(args.count)]
    work = queue.SimpleQueue()
    for body in bodies:
        work.put(body)
    errors = []
    lock = threading.Lock()
    start = threading.Barrier(CONNECTIONS + 1)

    def client():
        connection = Connection(args.api)
        start.wait()
        while True:
            try:
                body = work.get_nowait()
            except queue.Empty:
                break
            status, text = connection.post("/schedules", body)
            if not 200 <= status < 300:
                with lock:
                    errors.append(failure(status, text))
        connection.close()

    threads = start_clients(client)
    started_at = time.time()
    clock = time.perf_counter()
    start.wait()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - clock
    return {
        "requests": args.count,
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "started_at_unix": started_at,
        "submit_seconds": seconds,
    }


def scale(args):
    work = queue.SimpleQueue()
    for i in range(args.count):
        work.put(i)
    # starts[i]: when schedule i's first run is due (Unix ms), once it is created; None if it was not.
    starts = [None] * args.count
    errors = []
    lock = threading.Lock()
    deadline = time.perf_counter() + args.budget

    def client():
        connection = Connection(args.api)
        while time.perf_counter() < deadline:
            try:
                i = work.get_nowait()
            except queue.Empty:
                break
            start = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=5 + i % 60)
            # Whole milliseconds, as sent: the due time recorded is exactly the one the schedule got.
            start = start.replace(microsecond=start.microsecond // 1000 * 1000)
            body = json.dumps({"schedule_type": "INTERVAL", "interval_seconds": 60,
                               "start_at": start.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                               "target": {"url": f"{args.target_prefix}{i}"}}).encode()
            status, text = connection.post("/schedules", body)
            if 200 <= status < 300:
                starts[i] = round(start.timestamp() * 1000)
            else:
                with lock:
                    errors.append(failure(status, text))
        connection.close()

    threads = start_clients(client)
    clock = time.perf_counter()
    for thread in threads:
        thread.join()
    return {
        "requests": sum(1 for s in starts if s is not None) + len(errors),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "create_seconds": time.perf_counter() - clock,
        "starts_unix_ms": starts,
    }


def api(args):
    count = args.rate * args.seconds
    body = json.dumps({"schedule_type": "ONCE", "run_at": "+1d", "target": {"url": "https://example.com/w5"}}).encode()
    due = queue.SimpleQueue()
    latencies = []
    from_due = []
    errors = []
    lock = threading.Lock()

    def client():
        connection = Connection(args.api)
        while True:
            at = due.get()
            if at is None:
                break
            sent = time.perf_counter()
            status, text = connection.post("/schedules", body)
            done = time.perf_counter()
            with lock:
                if 200 <= status < 300:
                    # From the send, as the .NET client measures; and from the time the request was due to leave,
                    # which adds the client's own delay in sending it (a late wake-up, a thread or a connection
                    # not yet free): a slow create to its user too, but partly this client's.
                    latencies.append((done - sent) * 1000)
                    from_due.append((done - at) * 1000)
                else:
                    errors.append(failure(status, text))
        connection.close()

    threads = start_clients(client)
    clock = time.perf_counter()
    for i in range(count):
        at = clock + i / args.rate
        wait = at - time.perf_counter()
        if wait > 0.001:
            time.sleep(wait)
        due.put(at)
    for _ in threads:
        due.put(None)
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - clock
    latencies.sort()
    from_due.sort()

    def percentile(values, q):
        return values[min(len(values) - 1, int(q * len(values)))] if values else None

    return {
        "requests": count,
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "achieved_per_s": count / seconds,
        "latency_ms_p50": percentile(latencies, 0.50),
        "latency_ms_p99": percentile(latencies, 0.99),
        "latency_ms_max": latencies[-1] if latencies else None,
        "from_due_ms_p50": percentile(from_due, 0.50),
        "from_due_ms_p99": percentile(from_due, 0.99),
        "from_due_ms_max": from_due[-1] if from_due else None,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    w1 = commands.add_parser("burst")
    w1.add_argument("--api", required=True)
    w1.add_argument("--count", type=int, required=True)
    w1.add_argument("--target-prefix", required=True)
    w5 = commands.add_parser("api")
    w5.add_argument("--api", required=True)
    w5.add_argument("--rate", type=int, required=True)
    w5.add_argument("--seconds", type=int, required=True)
    w4 = commands.add_parser("scale")
    w4.add_argument("--api", required=True)
    w4.add_argument("--count", type=int, required=True)
    w4.add_argument("--target-prefix", required=True)
    w4.add_argument("--budget", type=float, default=600)
    args = parser.parse_args()
    result = {"burst": burst, "api": api, "scale": scale}[args.command](args)
    result["client"] = f"python {sys.version.split()[0]}, http.client, {CONNECTIONS} keep-alive connections"
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
