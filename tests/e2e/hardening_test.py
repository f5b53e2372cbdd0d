"""End-to-end tests of the suite under hostile or unlucky conditions: a manager that breaks the
protocol or drops the connection, over-long texts, slow programs, a locked directory, unsafe
configuration files, unreadable spool entries. Each counts inputs against outputs."""
import base64
import json
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from spoolkit import BIN, SRC, Spool, main, test  # noqa: E402


def jsonl(out):
    return [json.loads(line) for line in out.splitlines() if line.strip()]


class Manager:
    """A scripted Asterisk manager: `behave(conn_no, n_messagesend)` decides per MessageSend
    ("ok", "drop", "error"); `banner` is what it says first. Records accepted bodies."""

    def __init__(self, banner=b"Asterisk Call Manager/13.0.0\r\n", behave=None):
        self.banner = banner
        self.behave = behave or (lambda conn, n: "ok")
        self.sent = []
        self.connections = 0
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
                no = self.connections
            threading.Thread(target=self.session, args=(conn, no), daemon=True).start()

    def session(self, conn, no):
        try:
            f = conn.makefile("rb")
            conn.sendall(self.banner)
            frame, sends = {}, 0
            while True:
                line = f.readline()
                if not line:
                    return
                line = line.decode().rstrip("\r\n")
                if line:
                    k, _, v = line.partition(": ")
                    frame[k] = v
                    continue
                action, aid = frame.get("Action", ""), frame.get("ActionID", "")
                if action == "Login":
                    conn.sendall(f"Response: Success\r\nActionID: {aid}\r\nMessage: Authentication accepted\r\n\r\n".encode())
                elif action == "MessageSend":
                    sends += 1
                    what = self.behave(no, sends)
                    if what == "drop":
                        conn.close()
                        return
                    if what == "error":
                        conn.sendall(f"Response: Error\r\nActionID: {aid}\r\nMessage: Message technology not found.\r\n\r\n".encode())
                    else:
                        with self.lock:
                            self.sent.append(base64.b64decode(frame.get("Base64Body", "")).decode())
                        conn.sendall(f"Response: Success\r\nActionID: {aid}\r\nMessage: Message successfully sent\r\n\r\n".encode())
                elif action == "Logoff":
                    conn.sendall(f"Response: Goodbye\r\nActionID: {aid}\r\n\r\n".encode())
                    conn.close()
                    return
                else:  # what Asterisk answers an action it does not have (no res_pjsip here)
                    conn.sendall(f"Response: Error\r\nActionID: {aid}\r\nMessage: Invalid/unknown command: "
                                 f"{action}. Use Action: ListCommands to show available commands.\r\n\r\n".encode())
                frame = {}
        except OSError:
            pass

    def conf(self):
        return f"[ami]\nhost = 127.0.0.1\nport = {self.port}\nusername = tester\nsecret = s3cret\ntimeout = 2\n"

    def close(self):
        self.sock.close()


def tool(name, *args, input=None, env=None, timeout=60):
    p = subprocess.run([os.path.join(BIN, name), *args], input=input, capture_output=True,
                       timeout=timeout, env=env)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


# ---- item 4: a manager that is not a well-formed exchange is an outage, never a refusal ----

@test
def overlong_banner_is_an_outage():
    ami = Manager(banner=b"A" * 70000)
    s = Spool(ami.conf())
    try:
        rc, out, err = tool("send-sipim", "--config", s.conf, "48500100200", "600700803", "--text", "hi")
        assert rc in (69, 75), (rc, err)
        name = s.message("48500100200", "600700803", "Hello SIP")
        rc, out, err = s.run("--json")
        assert rc == 75, (rc, err)
        o = jsonl(out)[0]
        assert o["outcome"] == "retry", o
        assert s.files("sms/morx") == [name], s.files("sms/morx")
        assert s.queue() == [], s.queue()  # nobody told "not logged in"
    finally:
        ami.close()
        s.cleanup()


# ---- item 5: a split SIP message is not sent twice after a dropped connection ----

@test
def split_sip_message_resends_only_missing_parts():
    # Connection 1 asks for the user's contacts (PJSIPShowEndpoint); 2 sends.
    ami = Manager(behave=lambda conn, n: "drop" if conn == 2 and n == 2 else "ok")
    s = Spool(ami.conf())
    try:
        text = " ".join(f"w{i:04d}" for i in range(200))  # 1,199 characters: two MessageSends
        s.message("48500100200", "600700803", text)
        rc, out, err = s.run("--json")
        assert rc == 75, (rc, err)
        assert len(ami.sent) == 1, ami.sent
        rc, out, err = s.run("--json")
        assert rc == 0, (rc, err)
        assert jsonl(out)[-1]["summary"]["routed"] == 1, out
        assert len(ami.sent) == 2, [len(b) for b in ami.sent]
        assert "".join(ami.sent) == text
        assert s.files("sms/morx") == []
    finally:
        ami.close()
        s.cleanup()

# ---- item 3: one text limit, checked where a text enters; a readable long file is told ----

@test
def overlong_text_refused_where_it_enters():
    s = Spool()
    try:
        big = "x" * 100_000
        for name, args in [("post-sms", ["--from", "48500100200", "--to", "600700800"]),
                           ("sms-send", ["--from", "48500100200", "--to", "600700800", "--dry-run"]),
                           ("send-sipim", ["48500100200", "600700803"])]:
            rc, out, err = tool(name, "--config", s.conf, *args, input=big.encode())
            assert rc == 65, (name, rc, err)
            rc, out, err = tool(name, "--config", s.conf, *args, "--text", big)
            assert rc == 65, (name, rc, err)
        assert s.files("sms/morx") == []
        # Just under the limit is taken, and routed whole.
        ok = "y" * 12288
        rc, out, err = tool("post-sms", "--config", s.conf, "--from", "48500100200", "--to", "700100300",
                            input=ok.encode())
        assert rc == 0, (rc, err)
        assert len(s.files("sms/morx")) == 1
        rc, out, err = s.run("--json", "--dry-run")
        assert rc == 0 and jsonl(out)[0]["outcome"] == "routed", out
    finally:
        s.cleanup()


@test
def overlong_readable_file_is_dead_lettered_with_a_notice():
    s = Spool()
    try:
        name = s.message("48500100200", "600700800", "z" * 100_000)
        rc, out, err = s.run("--json")
        objs = jsonl(out)
        assert objs[0]["outcome"] == "failed", objs[0]["outcome"]
        assert "limit" in objs[0]["detail"], objs[0]["detail"]
        assert s.files("sms/morx") == []
        assert s.files("sms/morx/failed") == [name, name + ".why"], s.files("sms/morx/failed")
        assert s.files("sms/morx/bad") == []
        told = [m for m in s.queue() if m["da"] == "48500100200"]
        assert len(told) == 1 and "600700800" in told[0]["text"], s.queue()
    finally:
        s.cleanup()


# ---- item 8: a locked directory costs one time-out per run, not one per message ----

@test
def locked_directory_waits_once_per_run():
    s = Spool()
    try:
        names = [s.message("48500100200", "600700800", f"m{i}") for i in range(20)]
        con = sqlite3.connect(s.db, timeout=0, isolation_level=None)
        con.execute("BEGIN EXCLUSIVE")
        try:
            t0 = time.time()
            rc, out, err = s.run("--json")
            took = time.time() - t0
        finally:
            con.execute("ROLLBACK")
            con.close()
        assert rc == 75, (rc, err)
        objs = jsonl(out)
        assert [o["outcome"] for o in objs[:-1]] == ["retry"] * 20, objs
        assert took < 15, took  # [directory] timeout = 1: one wait, not twenty (20 s)
        assert s.files("sms/morx") == sorted(names)
        rc, out, err = s.run("--json")
        assert rc == 0 and jsonl(out)[-1]["summary"]["routed"] == 20, (rc, err)
    finally:
        s.cleanup()


# ---- item 11: lock and state files are never followed; the state folder is checked ----

@test
def planted_lock_symlink_is_refused_not_followed():
    s = Spool()
    try:
        work = os.path.join(s.spool, "sms/.sms-suite")
        os.makedirs(work)
        target = os.path.join(s.root, "created-by-root")
        os.symlink(target, os.path.join(work, "reassembly.lock"))
        name = s.message("48500100200", "600700800", "part one", udh="0003070201")
        rc, out, err = s.run()
        assert rc == 78, (rc, err)
        assert "reassembly.lock" in err and "symbolic link" in err, err
        assert not os.path.lexists(target)
        assert s.files("sms/morx") == [name]
        os.unlink(os.path.join(work, "reassembly.lock"))
        os.chmod(work, 0o777)
        rc, out, err = s.run()
        assert rc == 78 and ".sms-suite" in err and "writable by others" in err, (rc, err)
        os.chmod(work, 0o755)
        rc, out, err = s.run()
        assert rc == 0 and "held 1" in err, (rc, err)
    finally:
        s.cleanup()


# ---- item 14: retry_limit counts from the first failure, not the file's mtime ----

@test
def retry_limit_counts_from_the_first_failure():
    s = Spool()
    try:
        with open(s.conf) as f:
            conf = f.read()
        with open(s.conf, "w") as f:
            f.write(conf.replace("[general]\n", "[general]\nretry_limit = 3600\n", 1))
        old = time.time() - 3 * 86400  # a copied old file
        name = s.message("48500100200", "600700800", "from the archive", mtime=old)
        os.rename(s.db, s.db + ".away")  # the directory is down
        rc, out, err = s.run("--json")
        assert rc == 75 and jsonl(out)[0]["outcome"] == "retry", (rc, out, err)
        rec = os.path.join(s.spool, "sms/.sms-suite/retry", name)
        with open(rec) as f:
            lines = f.read().splitlines()
        assert lines[0].startswith("first_failure=") and lines[1].startswith("reason="), lines
        assert abs(int(lines[0].split("=")[1]) - time.time()) < 60, lines
        # Two hours after its first failure it is given up.
        with open(rec, "w") as f:
            f.write(f"first_failure={int(time.time()) - 7200}\nreason=directory down\n")
        rc, out, err = s.run("--json")
        assert jsonl(out)[0]["outcome"] == "failed", out
        assert s.files("sms/morx/failed") == [name, name + ".why"]
        assert not os.path.exists(rec)  # gone with the message
        # A message routed after a retry leaves no record behind either.
        name2 = s.message("48500100200", "600700800", "second")
        rc, out, err = s.run("--json")
        assert os.path.exists(os.path.join(s.spool, "sms/.sms-suite/retry", name2))
        os.rename(s.db + ".away", s.db)
        rc, out, err = s.run("--json")
        assert rc == 0 and jsonl(out)[0]["outcome"] == "routed", out
        assert os.listdir(os.path.join(s.spool, "sms/.sms-suite/retry")) == []
    finally:
        s.cleanup()


# ---- item 12: unreadable entries are said, counted, never routed, never deleted ----

def as_nobody(s):
    """Runs the tools as nobody on a spool nobody owns when we are root (root reads a chmod 000
    file), so that "cannot be read" means what it does for the real router's user. Returns the
    command prefix."""
    if os.geteuid() != 0:
        return []
    for dirpath, dirnames, filenames in os.walk(s.root):
        os.chown(dirpath, 65534, 65534)
        for n in filenames:
            os.chown(os.path.join(dirpath, n), 65534, 65534, follow_symlinks=False)
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


@test
def unreadable_entries_are_counted_and_left_alone():
    s = Spool()
    try:
        good = s.message("48500100200", "600700800", "readable")
        locked = s.message("48500100200", "600700800", "chmod 000")
        outside = os.path.join(s.root, "outside-message")
        with open(outside, "w") as f:
            f.write("oa=48500100200\nda=600700800\nud=through a link\nscts=2026-11-29T22:53:42\n")
        os.symlink(outside, os.path.join(s.morx, "48500100200.2026-11-29T22:54:00-link"))
        os.mkfifo(os.path.join(s.morx, "48500100200.2026-11-29T22:54:01-fifo"))
        prefix = as_nobody(s)
        os.chmod(os.path.join(s.morx, locked), 0)
        expected = 3
        if prefix:  # a file of another owner (root), 0600: nobody cannot read it
            other = s.message("48500100200", "600700800", "root's")
            os.chown(os.path.join(s.morx, other), 0, 0)
            os.chmod(os.path.join(s.morx, other), 0o600)
            expected = 4
        before = sorted(os.listdir(s.morx))
        cmd = prefix + [os.path.join(BIN, "sms-process"), "--config", s.conf, "--json", "-v"]
        p = subprocess.run(cmd, capture_output=True, timeout=30)
        out, err = p.stdout.decode(), p.stderr.decode()
        assert p.returncode == 0, (p.returncode, err)
        objs = jsonl(out)
        summary = objs[-1]["summary"]
        assert summary["routed"] == 1 and summary["unreadable"] == expected, (summary, err)
        un = [o for o in objs[:-1] if o["outcome"] == "unreadable"]
        assert len(un) == expected, objs
        assert all(o["file"] != good for o in un)
        details = " ".join(o["detail"] for o in un)
        assert "symbolic link" in details and "FIFO" in details and "Permission denied" in details, details
        assert f"unreadable {expected}" in err, err
        assert err.count("warning") >= expected, err
        after = sorted(os.listdir(s.morx))
        assert after == sorted(set(before) - {good}) + ([] if "bad" not in after else ["bad"]), (before, after)
        assert os.path.exists(outside)
        assert len(s.queue()) == 1  # only the readable one went out
    finally:
        s.cleanup()


# ---- item 10: a configuration writable by others does not decide what runs ----

@test
def configuration_writable_by_others_is_refused():
    s = Spool()
    try:
        evil = os.path.join(s.root, "x")
        os.makedirs(evil)
        marker = os.path.join(s.root, "ran")
        with open(os.path.join(evil, "sms2fax"), "w") as f:
            f.write(f"#!/bin/sh\ntouch {marker}\nexit 1\n")
        os.chmod(os.path.join(evil, "sms2fax"), 0o755)
        with open(s.conf, "a") as f:
            f.write(f"[general]\n".replace("[general]\n", ""))
        with open(s.conf) as f:
            conf = f.read()
        with open(s.conf, "w") as f:
            f.write(conf.replace("[general]\n", f"[general]\nbin_dir = {evil}\n", 1))
        s.message("48500100200", "600700801", "fax me")
        for mode in (0o666, 0o602, 0o620):
            os.chmod(s.conf, mode)
            rc, out, err = s.run()
            assert rc == 78 and s.conf in err and "writable by" in err, (oct(mode), rc, err)
            assert not os.path.exists(marker)
        os.chmod(s.conf, 0o600)
        os.chmod(os.path.join(evil, "sms2fax"), 0o777)
        rc, out, err = s.run()
        assert rc == 78 and "sms2fax" in err and "writable by others" in err, (rc, err)
        assert not os.path.exists(marker)
        assert len(s.files("sms/morx")) == 1
    finally:
        s.cleanup()


# ---- item 6: an unusable folder is a configuration error; a stuck entry stops nothing ----

def set_general(s, line):
    with open(s.conf) as f:
        conf = f.read()
    with open(s.conf, "w") as f:
        f.write(conf.replace("[general]\n", f"[general]\n{line}\n", 1))


@test
def unusable_failed_dir_is_a_configuration_error():
    s = Spool()
    try:
        blocker = os.path.join(s.root, "blocker")
        with open(blocker, "w") as f:
            f.write("a file, not a folder\n")
        set_general(s, f"failed_dir = {blocker}/failed")
        names = [s.message("48500100200", "600700800", "z" * 100_000),  # dead-lettered
                 s.message("48500100200", "600700800", "one"),
                 s.message("48500100200", "600700800", "two")]
        for _ in range(2):
            rc, out, err = s.run("--json")
            assert rc == 78, (rc, err)
            assert "failed_dir" in err and f"{blocker}/failed" in err, err
            assert s.files("sms/morx") == sorted(names)  # nothing taken, nothing lost
            assert s.queue() == []
            journal = os.path.join(s.spool, "sms/.sms-suite/journal")
            assert not os.path.isdir(journal) or os.listdir(journal) == [], os.listdir(journal)
        rc, out, err = s.run("--dry-run")
        assert rc == 78 and "failed_dir" in err, (rc, err)
        # On another file system than the spool: a rename cannot move a message there.
        other = "/dev/shm"
        if os.path.isdir(other) and os.stat(other).st_dev != os.stat(s.root).st_dev:
            away = tempfile.mkdtemp(dir=other)
            try:
                s.write_conf()
                set_general(s, f"failed_dir = {away}")
                rc, out, err = s.run()
                assert rc == 78 and "failed_dir" in err and "another file system" in err, (rc, err)
            finally:
                os.rmdir(away)
        # Fixed: everything goes, counted in against out.
        s.write_conf()
        set_general(s, f"failed_dir = {s.root}/failed")
        rc, out, err = s.run("--json")
        assert rc == 0, (rc, err)
        summary = jsonl(out)[-1]["summary"]
        assert summary["routed"] == 2 and summary["failed"] == 1, summary
        assert s.files("sms/morx") == []
        assert sorted(os.listdir(os.path.join(s.root, "failed"))) == [names[0], names[0] + ".why"]
        assert len(s.queue()) == 3  # two messages and the notice to the sender
    finally:
        s.cleanup()


@test
def a_stuck_journal_entry_stops_no_other_message():
    s = Spool()
    try:
        blocker = os.path.join(s.root, "old-failed")
        with open(blocker, "w") as f:
            f.write("a file where a folder was\n")
        stuck = s.message("48500100200", "600700800", "given up earlier")
        # A run committed its dead letter, then the folder it names became unusable.
        journal = os.path.join(s.spool, "sms/.sms-suite/journal")
        os.makedirs(journal, mode=0o755)
        os.chmod(os.path.join(s.spool, "sms/.sms-suite"), 0o755)
        with open(os.path.join(journal, "999999999.1.batch"), "w") as f:
            f.write(f"tx\t{stuck}\nin\t{os.path.join(s.morx, stuck)}\t{blocker}/failed\n")
        new = [s.message("48500100200", "600700800", f"new {i}") for i in range(3)]
        for i in range(2):
            rc, out, err = s.run("--json", "-v")
            assert rc == 75, (rc, err)
            objs = {o["file"]: o for o in jsonl(out)[:-1]}
            if i == 0:
                assert [objs[n]["outcome"] for n in new] == ["routed"] * 3, (out, err)
            assert objs[stuck]["outcome"] == "retry", objs[stuck]
            assert "cannot be finished" in objs[stuck]["detail"], objs[stuck]
            assert "999999999.1.batch" in err and "left for the next run" in err, err
            assert s.files("sms/morx") == [stuck]
            assert len(s.queue()) == 3  # never routed twice
        os.unlink(blocker)  # the folder is usable again: the entry completes
        rc, out, err = s.run("--json")
        assert rc == 0, (rc, err)
        assert s.files("sms/morx") == []
        assert os.listdir(os.path.join(blocker, "failed")) == [stuck]
        assert os.listdir(journal) == []
        assert len(s.queue()) == 3
    finally:
        s.cleanup()


# ---- item 14: a missing spool root is a configuration error in every tool ----

@test
def missing_spool_root_is_a_configuration_error_everywhere():
    s = Spool()
    try:
        missing = os.path.join(s.root, "no-such-spool")
        set_general(s, f"spool_dir = {missing}")
        with open(s.conf) as f:
            conf = f.read()
        with open(s.conf, "w") as f:  # one spool_dir key
            f.write(conf.replace(f"spool_dir = {s.spool}\n", ""))
        runs = [("sms-send", ["--from", "48500100200", "--to", "600700800", "--extension", "PJSIP/600700800",
                              "--text", "hi"]),
                ("post-sms", ["--from", "48500100200", "--to", "600700800", "--text", "hi"]),
                ("callfile-gen", ["--channel", "PJSIP/1000", "--application", "Playback", "--data", "beep"]),
                ("sms2fax", ["--from", "48500100200", "--to", "600700801", "--extension", "DAHDI/1", "--text", "hi"]),
                ("sms2voice", ["--from", "48500100200", "--to", "600700802", "--extension", "PJSIP/600700802",
                               "--text", "hi"]),
                ("sms-queue", []),
                ("sms-process", [])]
        for name, args in runs:
            rc, out, err = tool(name, "--config", s.conf, *args)
            assert rc == 78 and missing in err and "does not exist" in err, (name, rc, err)
            assert not os.path.exists(missing), name
        # sms-callresult, as the fax context's h extension runs it (AGI, every answer at once).
        agi = ("agi_request: sms-callresult\nagi_channel: DAHDI/1-00000001\nagi_arg_1: fax\n\n"
               "200 result=1 (stem-1)\n200 result=1 (1)\n200 result=1 (SUCCESS)\n200 result=1 (OK)\n"
               "200 result=1 (1)\n" + "200 result=1\n" * 4)
        rc, out, err = tool("sms-callresult", "--config", s.conf, "fax", input=agi.encode())
        assert rc == 78 and missing in err, (rc, out, err)
        assert not os.path.exists(missing)
        # Under an existing spool the folders a tool needs are still created.
        os.makedirs(missing)
        rc, out, err = tool("post-sms", "--config", s.conf, "--from", "48500100200", "--to", "600700800",
                            "--text", "hi")
        assert rc == 0, (rc, err)
        assert len(os.listdir(os.path.join(missing, "sms/morx"))) == 1
    finally:
        s.cleanup()


# ---- item 14: an out-of-range --at is a usage error, never 1969 ----

@test
def out_of_range_at_is_a_usage_error():
    s = Spool()
    try:
        os.makedirs(s.outgoing)
        for at in ("@9223372036854775807", "@99999999999", "@4102444800", "9999-12-31 23:59",
                   "2300-01-01 00:00", "1969-12-31 23:59"):
            rc, out, err = tool("callfile-gen", "--config", s.conf, "--channel", "PJSIP/1000",
                                "--application", "Wait", "--at", at)
            assert rc == 64, (at, rc, err)
            assert "--at" in err and "1970 to 2099" in err, (at, err)
            assert os.listdir(s.outgoing) == [], (at, os.listdir(s.outgoing))
        rc, out, err = tool("callfile-gen", "--config", s.conf, "--channel", "PJSIP/1000",
                            "--application", "Wait", "--at", "@4102444799")
        assert rc == 0, (rc, err)
        assert os.stat(out.strip()).st_mtime == 4102444799
    finally:
        s.cleanup()


# ---- item 14: sms2fax and sms2voice validate numbers as every tool does ----

@test
def fax_and_voice_refuse_what_is_not_a_number():
    s = Spool()
    try:
        os.makedirs(s.outgoing)
        for name in ("sms2fax", "sms2voice"):
            for args in (["--from", "../../x", "--to", "600700801"],
                         ["--from", "48500100200", "--to", "../../etc/x"],
                         ["--from", "1\n2", "--to", "600700801"]):
                rc, out, err = tool(name, "--config", s.conf, *args, "--extension", "DAHDI/1", "--text", "hi")
                assert rc == 65, (name, args, rc, err)
                assert "is not a number" in err and len(err.splitlines()) == 1, (name, err)
        assert os.listdir(s.outgoing) == []
        for d in (s.fax, s.voice):
            assert not os.path.isdir(d) or os.listdir(d) == [], os.listdir(d)
        assert not os.path.exists(os.path.join(s.root, "x"))
    finally:
        s.cleanup()


# ---- item 14: a ',' or '&' never reaches a call's arguments through a path ----

@test
def argument_separators_in_call_paths_are_refused():
    s = Spool()
    try:
        os.makedirs(s.outgoing)
        for bad in (",", "&"):
            s.write_conf()
            for name, ext in (("sms2fax", "tiff"), ("sms2voice", "wav")):
                out_path = os.path.join(s.root, f"a{bad}b.{ext}")
                rc, out, err = tool(name, "--config", s.conf, "--from", "48500100200", "--to", "600700801",
                                    "--extension", "DAHDI/1", "--text", "hi", "--output", out_path)
                assert rc == 64 and "--output" in err, (name, bad, rc, err)
                assert not os.path.exists(out_path)
            for section in ("fax", "voice"):
                s.write_conf()
                with open(s.conf) as f:
                    conf = f.read()
                with open(s.conf, "w") as f:
                    f.write(conf.replace(f"[{section}]\ndir = ", f"[{section}]\ndir = {s.root}/x{bad}y", 1))
                for name in ("sms2fax", "sms2voice", "sms-process"):
                    rc, out, err = tool(name, "--config", s.conf, "--from", "48500100200", "--to", "600700801",
                                        "--extension", "DAHDI/1", "--text", "hi") if name != "sms-process" \
                        else s.run()
                    assert rc == 78 and "dir" in err and f"x{bad}y" in err and "sms-suite.conf:" in err, \
                        (name, section, rc, err)
        assert os.listdir(s.outgoing) == []
    finally:
        s.cleanup()


# ---- item 14: sqlite_path naming a FIFO is refused, never waited on ----

@test
def sqlite_path_fifo_is_refused_without_hanging():
    s = Spool()
    try:
        fifo = os.path.join(s.root, "fifo.db")
        os.mkfifo(fifo)
        with open(s.conf) as f:
            conf = f.read()
        with open(s.conf, "w") as f:
            f.write(conf.replace(f"sqlite_path = {s.db}", f"sqlite_path = {fifo}"))
        name = s.message("48500100200", "600700800", "kept")
        for name_args in (["getchaninfo", "600700800"], ["sms-directory", "list"],
                          ["sms-directory", "init"], ["sms-process"]):
            rc, out, err = tool(name_args[0], "--config", s.conf, *name_args[1:], timeout=10)
            assert rc == 78 and "sqlite_path" in err and "FIFO" in err, (name_args, rc, err)
        assert s.files("sms/morx") == [name]
        assert s.queue() == []
    finally:
        s.cleanup()


# ---- item 14: a section or key given twice is an error naming both lines ----

@test
def duplicate_sections_and_keys_are_refused():
    s = Spool()
    try:
        name = s.message("48500100200", "600700800", "kept")
        base = open(s.conf).read()
        lines = base.splitlines()
        first = lines.index("[fax]") + 1
        for extra, again in (("[fax]\nresolution = fine\n", "[fax]"),
                             ("[general]\nspool_dir = /elsewhere\n", "[general]")):
            with open(s.conf, "w") as f:
                f.write(base + extra)
            rc, out, err = s.run()
            at = len(lines) + 1
            want_first = lines.index(again) + 1
            assert rc == 78, (rc, err)
            assert f"{s.conf}:{at}" in err and f"{s.conf}:{want_first}" in err, (err, at, want_first)
        with open(s.conf, "w") as f:
            f.write(base.replace("[fax]\n", "[fax]\nresolution = fine\nRESOLUTION = standard\n"))
        for name_args in (["sms-process"], ["getchaninfo", "600700800"], ["post-sms", "--from", "1", "--to", "2",
                                                                           "--text", "x"]):
            rc, out, err = tool(name_args[0], "--config", s.conf, *name_args[1:])
            assert rc == 78 and f"{s.conf}:{first + 1}" in err and f"{s.conf}:{first + 2}" in err \
                and "resolution" in err, (name_args, rc, err)
        assert s.files("sms/morx") == [name]
        # The shipped example loads.
        rc, out, err = tool("getchaninfo", "--config", os.path.join(SRC, "examples/sms-suite.conf"), "600700800")
        assert rc != 78, (rc, err)
    finally:
        s.cleanup()


# ---- item 14: sms2fax leaves no TIFF behind when its call is refused ----

@test
def refused_fax_call_leaves_no_tiff():
    s = Spool()
    try:
        os.makedirs(s.outgoing)
        out_tiff = os.path.join(s.root, "given.tiff")
        for channel in ("nochannel", "DAHDI/1\nApplication: System", "/1"):
            for extra in ([], ["--output", out_tiff]):
                rc, out, err = tool("sms2fax", "--config", s.conf, "--from", "48500100200", "--to", "600700801",
                                    "--extension", channel, "--text", "hello", *extra)
                assert rc == 65, (channel, rc, err)
                assert not os.path.isdir(s.fax) or os.listdir(s.fax) == [], os.listdir(s.fax)
                assert not os.path.exists(out_tiff)
        # The call cannot be written (outgoing/ is a file): the TIFF goes with it.
        os.rmdir(s.outgoing)
        with open(s.outgoing, "w") as f:
            f.write("not a folder\n")
        rc, out, err = tool("sms2fax", "--config", s.conf, "--from", "48500100200", "--to", "600700801",
                            "--extension", "DAHDI/1", "--text", "hello")
        assert rc == 73, (rc, err)
        assert os.listdir(s.fax) == [], os.listdir(s.fax)
    finally:
        s.cleanup()


# ---- item 14: a quarantine that cannot move the file says so ----

@test
def failed_quarantine_is_not_reported_bad():
    s = Spool()
    try:
        name = s.message(None, None, name="nonsense-1", raw=b"nonsense\n",
                         mtime=time.time() - 3600)
        good = s.message("48500100200", "600700800", "fine")
        bad = os.path.join(s.morx, "bad")
        os.makedirs(bad)
        for i in range(1000):  # every name the quarantine may take is taken
            open(os.path.join(bad, name if i == 0 else f"{name}.{i}"), "w").close()
        rc, out, err = s.run("--json", "-v")
        assert rc == 75, (rc, err)
        objs = {o["file"]: o for o in jsonl(out)[:-1]}
        assert objs[name]["outcome"] == "retry", objs[name]
        assert "stays in sms/morx/" in objs[name]["detail"], objs[name]
        assert objs[good]["outcome"] == "routed", objs[good]
        summary = jsonl(out)[-1]["summary"]
        assert summary["bad"] == 0 and summary["retry"] == 1, summary
        assert "warning" in err and "cannot be quarantined" in err, err
        assert s.files("sms/morx") == [name]
        os.unlink(os.path.join(bad, name + ".7"))
        rc, out, err = s.run("--json")
        assert rc == 0 and jsonl(out)[0]["outcome"] == "bad", (rc, out, err)
        assert s.files("sms/morx") == []
        assert os.path.exists(os.path.join(bad, name + ".7")) and os.path.exists(os.path.join(bad, name + ".7.why"))
    finally:
        s.cleanup()


# ---- item 14: --json stays valid UTF-8 whatever the file names ----

@test
def json_escapes_file_names_that_are_not_utf8():
    s = Spool()
    try:
        raw = b"48500100200.caf\xe9-\xff\xfe"
        with open(os.path.join(os.fsencode(s.morx), raw), "wb") as f:
            f.write(b"oa=48500100200\nda=600700800\nud=latin-1 name\nscts=2026-11-29T22:53:42\n")
        for args in (("--json", "--dry-run"), ("--json",)):
            p = subprocess.run([os.path.join(BIN, "sms-process"), "--config", s.conf, *args],
                               capture_output=True, timeout=30)
            assert p.returncode == 0, p.stderr
            text = p.stdout.decode("utf-8")  # strict: invalid UTF-8 raises
            objs = jsonl(text)
            assert os.fsencode(objs[0]["file"]) == raw, objs[0]["file"]
            assert objs[0]["outcome"] == "routed", objs[0]
        assert s.files("sms/morx") == [] and len(s.queue()) == 1
    finally:
        s.cleanup()


if __name__ == "__main__":
    main()
