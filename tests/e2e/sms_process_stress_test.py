"""sms-process under the conditions of a real SMS centre: many runs at once, runs killed at
random instants, the MariaDB directory stopped, a full disk. Every message must be delivered
exactly once: a consumer thread plays app_sms and pbx_spool, taking queue files and call files
away as they appear, so a file written twice would be seen twice."""
import collections
import os
import random
import resource
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from spoolkit import BIN, DIRECTORY, SRC, Spool, main, read_message, test  # noqa: E402


class Consumer:
    """Takes every queue file and call file away as app_sms and pbx_spool would."""

    def __init__(self, spool):
        self.s = spool
        self.texts = collections.Counter()
        self.names = collections.Counter()
        self.calls = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def drain(self):
        for name in self.s.files("sms/mttx"):
            path = os.path.join(self.s.mttx, name)
            try:
                m = read_message(path)
                os.unlink(path)
            except FileNotFoundError:
                continue
            self.texts[(m["da"], m.get("text", ""))] += 1
            self.names[name] += 1
        for name in self.s.files("outgoing"):
            try:
                os.unlink(os.path.join(self.s.outgoing, name))
                self.calls += 1
            except FileNotFoundError:
                pass

    def loop(self):
        while not self.stop.is_set():
            self.drain()
            time.sleep(0.005)

    def finish(self):
        self.stop.set()
        self.thread.join()
        self.drain()


def run(s, *args):
    return subprocess.Popen([os.path.join(BIN, "sms-process"), "--config", s.conf, *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def check_exactly_once(s, consumer, expected):
    assert s.files("sms/morx") == [], s.files("sms/morx")[:5]
    twice = [n for n, c in consumer.names.items() if c > 1]
    assert not twice, f"queue files written twice: {twice[:5]}"
    got = collections.Counter(consumer.texts)
    missing = [t for t in expected if got[t] == 0]
    extra = [t for t, c in got.items() if c > expected.get(t, 0)]
    assert not missing, f"{len(missing)} lost, e.g. {missing[:3]}"
    assert not extra, f"{len(extra)} delivered twice, e.g. {extra[:3]}"


@test
def eight_runs_at_once_over_2000_messages():
    s = Spool()
    try:
        expected = collections.Counter()
        for i in range(2000):
            s.message("48500100200", "600700800", f"message {i}")
            expected[("600700800", f"message {i}")] += 1
        consumer = Consumer(s)
        procs = [run(s) for _ in range(8)]
        codes = [p.wait(timeout=600) for p in procs]
        assert all(c == 0 for c in codes), [(c, p.stderr.read()[-300:]) for c, p in zip(codes, procs)]
        assert run(s).wait(timeout=120) == 0
        consumer.finish()
        check_exactly_once(s, consumer, expected)
        assert consumer.calls >= 1
    finally:
        s.cleanup()


@test
def runs_killed_at_random_instants_lose_nothing_and_repeat_nothing():
    def fill(s):
        expected = collections.Counter()
        for i in range(600):
            if i % 10 == 9:  # an unknown number: the sender gets a notice
                s.message("48500100200", "999", f"lost {i}")
                expected[("48500100200", "Cannot deliver SMS to 999. Number does not exist.")] += 1
            elif i % 10 == 8:  # two parts of a concatenated message, out of order
                s.message("48500100200", "600700800", f"-{i}b", udh=f"0003{i % 256:02X}0202")
                s.message("48500100200", "600700800", f"c{i}a", udh=f"0003{i % 256:02X}0201")
                expected[("600700800", f"c{i}a-{i}b")] += 1
            else:
                s.message("48500100200", "600700800", f"message {i}")
                expected[("600700800", f"message {i}")] += 1
        return expected

    # How long one run takes over all of them here, now: the kills fall within the time the work
    # left needs, whatever the speed of the machine (a fixed window lets a fast run finish first).
    scratch = Spool()
    try:
        fill(scratch)
        t0 = time.monotonic()
        assert run(scratch).wait(timeout=300) == 0
        full = time.monotonic() - t0
    finally:
        scratch.cleanup()
    s = Spool()
    rng = random.Random(20261130)
    try:
        expected = fill(s)
        total = len(s.files("sms/morx"))
        consumer = Consumer(s)
        kills = 0
        for _ in range(40):
            left = len(s.files("sms/morx")) / total
            p = run(s)
            time.sleep(rng.uniform(0.0, full * max(left, 0.05)))
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
                kills += 1
            p.wait()
        final = run(s)
        assert final.wait(timeout=300) == 0, final.stderr.read()
        consumer.finish()
        assert kills > 5, kills
        check_exactly_once(s, consumer, expected)
        journal = os.path.join(s.spool, "sms/.sms-suite/journal")
        assert [n for n in os.listdir(journal) if not n.startswith(".")] == [], os.listdir(journal)
    finally:
        s.cleanup()


@test
def mariadb_stopped_keeps_every_message_and_sends_nothing():
    server = os.path.join(SRC, "scripts/mariadb-test-server.sh")
    s = Spool()
    db = os.path.join(s.root, "mariadb")
    os.makedirs(db)
    try:
        out = subprocess.run([server, "start", db], capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        sock = [l.split("=", 1)[1] for l in out.stdout.splitlines() if l.startswith("socket=")][0]
        sql = "CREATE DATABASE sms; USE sms;\n"
        for f in ("examples/schema-mysql.sql", "examples/directory-sample.sql"):
            with open(os.path.join(SRC, f)) as fh:
                sql += fh.read()
        load = subprocess.run([server, "client", db], input=sql, capture_output=True, text=True, timeout=60)
        assert load.returncode == 0, load.stderr
        with open(s.conf) as f:
            conf = f.read().replace("[directory]\n", f"[directory]\nbackend = mysql\nsocket = {sock}\nuser = root\ndatabase = sms\n")
        with open(s.conf, "w") as f:
            f.write(conf)
        s.message("48500100200", "600700800", "while the server is up")
        rc, out_, err = s.run()
        assert rc == 0, err
        assert [m["text"] for m in s.queue()] == ["while the server is up"]
        before = (s.files("sms/mttx"), s.files("outgoing"))
        subprocess.run([server, "stop", db], check=True, timeout=60)
        names = [s.message("48500100200", da, "while it is down") for da in ("600700800", "999", "600700804")]
        t0 = time.time()
        rc, out_, err = s.run("--json")
        took = time.time() - t0
        assert rc == 75, (rc, err)
        assert s.files("sms/morx") == sorted(names), s.files("sms/morx")
        assert (s.files("sms/mttx"), s.files("outgoing")) == before, "something was sent during the outage"
        assert took < 30, took
        assert '"outcome":"retry"' in out_ and "unavailable" in out_, out_
    finally:
        subprocess.run([server, "stop", db], capture_output=True, timeout=60)
        s.cleanup()


@test
def full_disk_loses_nothing():
    if os.geteuid() != 0:
        print("SKIPPED full_disk_loses_nothing: mounting a small file system needs root "
              "(CI runs as root)")
        return
    root = None
    s = None
    try:
        import tempfile
        root = tempfile.mkdtemp(prefix="sms-fulldisk.")
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", root],
                                 capture_output=True, text=True)
        if mounted.returncode != 0:
            print(f"SKIPPED full_disk_loses_nothing: cannot mount a tmpfs: {mounted.stderr.strip()}")
            os.rmdir(root)
            root = None
            return
        s = Spool(root=root)
        expected = collections.Counter()
        for i in range(40):
            s.message("48500100200", "600700800", f"disk {i} " + "x" * 100)
            expected[("600700800", f"disk {i} " + "x" * 100)] += 1
        filler = os.path.join(root, "filler")
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while True:
                os.write(fd, b"\0" * 1024)
        except OSError:
            pass
        os.close(fd)
        rc, out, err = s.run()
        assert rc == 75, (rc, err)
        # Whatever got through is whole; the rest is still waiting: nothing in between.
        delivered = [m["text"] for m in s.queue()]
        assert len(s.files("sms/morx")) + len(delivered) == 40, (s.files("sms/morx"), delivered)
        assert all(t.startswith("disk ") and t.endswith("x" * 100) for t in delivered)
        os.unlink(filler)
        consumer = Consumer(s)
        rc, out, err = s.run()
        assert rc == 0, (rc, err)
        consumer.finish()
        check_exactly_once(s, consumer, expected)
    finally:
        if root:
            subprocess.run(["umount", root], capture_output=True)
            os.rmdir(root)


@test
def few_descriptors_still_route_a_burst_in_one_run():
    """Each input stays open (locked) until its transaction is finished: with a limit on open
    files below a burst's size, the run raises its soft limit or cuts its batches, and routes
    every message in one run, none left as unreadable."""
    # A hard limit of 200 (the batches are cut), and a soft one under a higher hard (raised).
    for soft, hard in ((200, 200), (200, None)):
        s = Spool(directory=DIRECTORY + [(f"60070090{k}", "S", f"DAHDI/{k + 1}") for k in range(10)])
        try:
            expected = collections.Counter()
            for i in range(1500):
                da = f"60070090{i % 10}"
                s.message("48500100200", da, f"burst {i}")
                expected[(da, f"burst {i}")] += 1
            consumer = Consumer(s)
            limits = (soft, hard or resource.getrlimit(resource.RLIMIT_NOFILE)[1])
            p = subprocess.run([os.path.join(BIN, "sms-process"), "--config", s.conf],
                               capture_output=True, text=True, timeout=300,
                               preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, limits))
            assert p.returncode == 0, (limits, p.returncode, p.stderr[-500:])
            assert "unreadable" not in p.stderr and "Too many open files" not in p.stderr, \
                (limits, p.stderr[-500:])
            assert "routed 1500," in p.stderr, (limits, p.stderr[-300:])
            consumer.finish()
            check_exactly_once(s, consumer, expected)
        finally:
            s.cleanup()


if __name__ == "__main__":
    main()
