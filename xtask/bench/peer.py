#!/usr/bin/env python3
"""The peer side of `cargo xtask bench`: the official Python SDK, amberflo-metering-python
3.3.1, metering the same workload as `examples/ingest_load/` into the same emulator.

    target/bench/venv/bin/python xtask/bench/peer.py --endpoint http://127.0.0.1:PORT \
        [--records 200000] [--threads 8] [--batch-size 100] [--workers 2]

The SDK is used as shipped: `create_ingest_client` returns its `ThreadedProducer` (queue of
100,000, `threads` consumer threads, batches of `batch_size`, 0.5 s send interval), pointed at
the emulator by setting the `root_url` class attributes of `metering.session.ApiSession` and
`metering.session.IngestSession`. T producer threads each build their records with
`create_ingest_payload` (meter `ApiCalls`, value 1, one of 100 customers, dimensions `region`,
`service`, `tier` (`--dimensions` keeps the first 0 to 3), the time now, a fresh uuid4) and
enqueue them with `send`; then `shutdown()` waits for the queue to drain and stops the consumers.

`send` returns False when the queue is full: the same payload is retried (`time.sleep(0)` for the
first few refusals in a row, then `--full-sleep-us`), and every refusal is counted and timed, as
the Rust load process counts and times its refusals (the Python SDK has no call that waits for
room, which the Rust load process uses instead of retrying). The SDK's "Queue is full!" warning, logged on every
refusal, is silenced (logger level ERROR) so that stderr stays readable.

Prints one JSON line with the same keys as the Rust load process. Latencies come from
`time.perf_counter_ns` around each call (exact percentiles, nearest rank, kept in int64 arrays);
`timer_overhead_ns` is the median of an empty timed region. Peak RSS (`ru_maxrss`) and CPU are
read right after `shutdown()`, before the percentiles are computed.
"""

import argparse
import itertools
import json
import logging
import resource
import sys
import threading
import time
from array import array
from urllib.parse import urlparse

METER_API_NAME = "ApiCalls"
CUSTOMERS = ["customer-%d" % i for i in range(100)]
REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "ap-south-1"]
SERVICES = ["search", "checkout", "auth", "catalog", "billing", "reports", "export", "import"]
TIERS = ["free", "pro"]
FULL_YIELDS = 4


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoint", required=True, help="the emulator's base URL (loopback)")
    parser.add_argument("--api-key", default="local-key")
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=100, help="SDK default: 100")
    parser.add_argument("--workers", type=int, default=2, help="consumer threads; SDK default: 2")
    parser.add_argument("--full-sleep-us", type=int, default=200)
    parser.add_argument("--dimensions", type=int, default=3, choices=range(4),
                        help="dimensions per record: region, service, tier (first 0 to 3)")
    return parser.parse_args()


def percentiles(samples, exact_max):
    """p50, p99, p99.9 (nearest rank), max and mean of nanosecond figures."""
    values = sorted(samples)
    count = len(values)
    if count == 0:
        return {"p50": 0, "p99": 0, "p999": 0, "max": 0, "mean": 0.0, "count": 0}

    def rank(q):
        index = max(0, min(count - 1, int(-(-q * count // 1)) - 1))
        return values[index]

    return {
        "p50": rank(0.50),
        "p99": rank(0.99),
        "p999": rank(0.999),
        "max": values[-1] if exact_max is None else exact_max,
        "mean": sum(values) / count,
        "count": count,
    }


def timer_overhead_ns():
    clock = time.perf_counter_ns
    samples = []
    for _ in range(200_000):
        before = clock()
        samples.append(clock() - before)
    samples.sort()
    return samples[len(samples) // 2]


def main():
    args = parse_args()
    host = urlparse(args.endpoint).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("peer.py: refusing a non-loopback endpoint: %s" % args.endpoint)

    import metering.session
    from metering.ingest import create_ingest_client, create_ingest_payload

    metering.session.ApiSession.root_url = args.endpoint
    metering.session.IngestSession.root_url = args.endpoint
    logging.getLogger("metering").setLevel(logging.ERROR)

    failed = [0]
    failed_lock = threading.Lock()

    def on_error(error, batch):
        with failed_lock:
            failed[0] += len(batch)

    overhead = timer_overhead_ns()
    client = create_ingest_client(
        api_key=args.api_key,
        threads=args.workers,
        batch_size=args.batch_size,
        on_error=on_error,
    )

    threads = max(1, args.threads)
    barrier = threading.Barrier(threads + 1)
    results = [None] * threads
    full_sleep = args.full_sleep_us / 1_000_000
    dimension_count = args.dimensions

    def produce(index, share):
        clock = time.perf_counter_ns
        # Compact int64 arrays (8 bytes a sample) keep the instrumentation's memory small.
        meter, accepted, build = array("q"), array("q"), array("q")
        meter_max, full = 0, 0
        offset = index * 7
        barrier.wait()
        for i in range(share):
            n = i + offset
            before_build = clock()
            dimensions = None
            if dimension_count:
                dimensions = {"region": REGIONS[n % len(REGIONS)]}
                if dimension_count >= 2:
                    dimensions["service"] = SERVICES[n % len(SERVICES)]
                if dimension_count >= 3:
                    dimensions["tier"] = TIERS[n % len(TIERS)]
            payload = create_ingest_payload(
                METER_API_NAME,
                1,
                int(time.time() * 1000),
                CUSTOMERS[n % len(CUSTOMERS)],
                dimensions=dimensions,
            )
            before = clock()
            build.append(before - before_build)
            refused_in_a_row = 0
            while True:
                ok = client.send(payload)
                ns = clock() - before
                meter.append(ns)
                if ns > meter_max:
                    meter_max = ns
                if ok:
                    accepted.append(ns)
                    break
                full += 1
                refused_in_a_row += 1
                time.sleep(0 if refused_in_a_row <= FULL_YIELDS else full_sleep)
                before = clock()
        results[index] = (meter, accepted, build, meter_max, full)

    workers = []
    for index in range(threads):
        share = args.records // threads + (1 if index < args.records % threads else 0)
        worker = threading.Thread(target=produce, args=(index, share), daemon=True)
        worker.start()
        workers.append(worker)
    barrier.wait()
    started = time.perf_counter()
    for worker in workers:
        worker.join()
    produced = time.perf_counter() - started
    client.shutdown()
    wall = time.perf_counter() - started

    # Peak RSS and CPU before the percentiles are computed (sorting allocates).
    usage = resource.getrusage(resource.RUSAGE_SELF)
    meter = itertools.chain.from_iterable(result[0] for result in results)
    accepted = itertools.chain.from_iterable(result[1] for result in results)
    build = itertools.chain.from_iterable(result[2] for result in results)
    meter_max = max(result[3] for result in results)
    full = sum(result[4] for result in results)
    delivered = args.records - failed[0]
    report = {
        "impl": "amberflo-metering-python",
        "python": sys.version.split()[0],
        "transport": "requests",
        "records": args.records,
        "threads": threads,
        "batch_size": args.batch_size,
        "workers": args.workers,
        "queue_capacity": 100_000,
        "linger_ms": 500,
        "full_sleep_us": args.full_sleep_us,
        "dimensions": args.dimensions,
        "wall_s": wall,
        "produce_s": produced,
        "records_per_s": delivered / max(wall, 1e-9),
        "meter_ns": percentiles(meter, meter_max),
        "meter_accepted_ns": percentiles(accepted, None),
        "build_ns": percentiles(build, None),
        "full_rejections": full,
        "timer_overhead_ns": overhead,
        "peak_rss_kib": usage.ru_maxrss,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "delivered": delivered,
        "failed": failed[0],
        "rejected": full,
    }
    print(json.dumps(report), flush=True)
    if failed[0]:
        sys.exit("peer.py: %d records failed" % failed[0])


if __name__ == "__main__":
    main()
