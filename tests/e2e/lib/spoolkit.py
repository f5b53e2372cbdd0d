"""Helpers for the end-to-end tests of sms-process: a spool in a temporary folder, a SQLite
directory, messages written as app_sms writes them, queue files decoded, a fake Asterisk manager,
and a tiny test runner that prints 'N passed, M failed'."""
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import traceback

BIN = os.environ.get("SMS_BIN_DIR", "build/tools")
SRC = os.environ.get("SMS_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "../../..")))
DATA = os.environ.get("SMS_TEST_DATA", os.path.join(SRC, "tests/data"))

DIRECTORY = [
    ("48500100200", "S", "PJSIP/48500100200"),
    ("48600700800", "S", "PJSIP/48600700800"),
    ("600700800", "S", "PJSIP/600700800"),
    ("600700801", "F", "DAHDI/1"),
    ("600700802", "V", "PJSIP/600700802"),
    ("1000", "C", "PJSIP/1000"),
    ("600700803", "T", "PJSIP/600700803"),
    ("600700805", "T", "PJSIP/600700805"),
    ("600700804", "N", "PJSIP/600700804"),
    ("700100200", "T", "PJSIP/700100200"),
    ("700100300", "F", "DAHDI/2"),
]


class Spool:
    def __init__(self, extra_conf="", directory=DIRECTORY, root=None):
        self.root = root or tempfile.mkdtemp(prefix="sms-e2e.")
        self.spool = os.path.join(self.root, "spool")
        self.morx = os.path.join(self.spool, "sms/morx")
        self.mttx = os.path.join(self.spool, "sms/mttx")
        self.outgoing = os.path.join(self.spool, "outgoing")
        self.fax = os.path.join(self.spool, "fax")
        self.voice = os.path.join(self.spool, "voice")
        os.makedirs(self.morx)
        self.db = os.path.join(self.root, "directory.db")
        con = sqlite3.connect(self.db)
        con.execute("CREATE TABLE PBXNumbers (Account TEXT PRIMARY KEY, Message TEXT NOT NULL, "
                    "Extension TEXT NOT NULL)")
        con.executemany("INSERT INTO PBXNumbers VALUES (?, ?, ?)", directory)
        con.commit()
        con.close()
        self.conf = os.path.join(self.root, "sms-suite.conf")
        self.write_conf(extra_conf)
        self.counter = 0

    def write_conf(self, extra=""):
        with open(self.conf, "w") as f:
            f.write(f"""[general]
spool_dir = {self.spool}
[directory]
sqlite_path = {self.db}
timeout = 1
[fax]
dir = {self.fax}
[voice]
dir = {self.voice}
[commands]
echo = builtin:echo
hours = Open 9-17.
{extra}""")
        os.chmod(self.conf, 0o600)

    def cleanup(self):
        shutil.rmtree(self.root, ignore_errors=True)

    def message(self, oa, da, text=None, name=None, udh=None, mtime=None, raw=None):
        """Writes a message as app_sms does (dotfile, then rename). Returns its name."""
        self.counter += 1
        name = name or f"{oa}.2026-11-29T22:53:{self.counter % 60:02d}-{self.counter}"
        if raw is None:
            lines = [f"oa={oa}", f"da={da}"]
            if udh:
                lines.append(f"udh#{udh}")
            if text:
                if any(ord(c) < 32 for c in text) or any(ord(c) > 0xFFFF for c in text):
                    lines.append("ud##" + text.encode("utf-16-be").hex().upper())
                else:
                    lines.append(f"ud={text}")
            lines += ["scts=2026-11-29T22:53:42", f"mr={self.counter % 256}"]
            raw = ("\n".join(lines) + "\n").encode()
        tmp = os.path.join(self.morx, "." + name)
        with open(tmp, "wb") as f:
            f.write(raw)
        if mtime is not None:
            os.utime(tmp, (mtime, mtime))
        os.rename(tmp, os.path.join(self.morx, name))
        return name

    def run(self, *args, env=None, timeout=120, tool="sms-process"):
        cmd = [os.path.join(BIN, tool), "--config", self.conf, *args]
        p = subprocess.run(cmd, capture_output=True, timeout=timeout, env=env)
        return p.returncode, p.stdout.decode(), p.stderr.decode()

    def files(self, sub):
        d = os.path.join(self.spool, sub)
        if not os.path.isdir(d):
            return []
        return sorted(f for f in os.listdir(d) if os.path.isfile(os.path.join(d, f)) and not f.startswith("."))

    def queue(self):
        """The mttx queue files, decoded: list of dicts (name, oa, da, text, dcs, udh)."""
        return [read_message(os.path.join(self.mttx, n)) | {"name": n} for n in self.files("sms/mttx")]


def read_message(path):
    out = {}
    with open(path, "rb") as f:
        for line in f.read().decode("utf-8", "surrogateescape").splitlines():
            if line.startswith(";") or not line:
                continue
            if line.lower().startswith("udh#"):
                out["udh"] = line[4:]
            elif line.lower().startswith("ud##"):
                out["text"] = bytes.fromhex(line[4:]).decode("utf-16-be")
            elif line.lower().startswith("ud#"):
                out["text"] = bytes.fromhex(line[3:]).decode("latin-1")
            else:
                k, _, v = line.partition("=")
                out["text" if k.lower() == "ud" else k.lower()] = v
    return out


def read_callfile(path):
    out = {}
    with open(path) as f:
        for line in f.read().splitlines():
            k, _, v = line.partition(": ")
            out.setdefault(k, []).append(v)
    return {k: (v[0] if len(v) == 1 else v) for k, v in out.items()}


class FakeManager:
    """An Asterisk manager on 127.0.0.1 that accepts any number of connections, answers Login,
    PJSIPShowEndpoint as the recorded PJSIP Asterisk did (show_endpoint), and MessageSend with
    Success unless the To: number is in `refuse` (then Error, as the recorded Asterisk did).
    Records every message it accepted and every user it was asked about."""

    def __init__(self, refuse=(), contacts=None, pjsip=True):
        self.refuse = set(refuse)
        self.sent = []
        # PJSIPShowEndpoint: user -> the Status of its one contact ("Reachable", "Unreachable",
        # "NonQualified"; None: no contact). A user not listed has a Reachable contact, or none
        # when it is in `refuse`. pjsip=False: a manager without the PJSIP actions (chan_sip).
        self.contacts = dict(contacts or {})
        self.pjsip = pjsip
        # user -> the Call-ID of its registration (the recorded one when not set): a phone that
        # died and registered again has a new one under the same contact ID.
        self.callids = {}
        # Close the connection instead of answering MessageSend number N (1-based, counting
        # the messages accepted so far + 1): a manager that dies in the middle of a long message.
        self.hangup_at = None
        self.asked = []
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.lock = threading.Lock()
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.session, args=(conn,), daemon=True).start()

    def session(self, conn):
        import base64
        f = conn.makefile("rb")
        conn.sendall(b"Asterisk Call Manager/13.0.0\r\n")
        frame = {}
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
                conn.sendall(b"Event: FullyBooted\r\nPrivilege: system,all\r\nStatus: Fully Booted\r\n\r\n")
            elif action == "MessageSend":
                to = frame.get("To", "")
                if self.hangup_at is not None and len(self.sent) + 1 >= self.hangup_at:
                    self.hangup_at = None
                    conn.close()
                    return
                if to.split(":")[-1] in self.refuse:
                    conn.sendall(f"Response: Error\r\nActionID: {aid}\r\nMessage: Message technology not found.\r\n\r\n".encode())
                else:
                    body = base64.b64decode(frame.get("Base64Body", "")).decode()
                    with self.lock:
                        self.sent.append((frame.get("From", ""), to, body))
                    conn.sendall(f"Response: Success\r\nActionID: {aid}\r\nMessage: Message successfully sent\r\n\r\n".encode())
            elif action == "PJSIPShowEndpoint":
                conn.sendall(self.show_endpoint(frame.get("Endpoint", ""), aid).encode())
            elif action == "Logoff":
                conn.sendall(f"Response: Goodbye\r\nActionID: {aid}\r\nMessage: Thanks for all the fish.\r\n\r\n".encode())
                conn.close()
                return
            frame = {}

    def show_endpoint(self, user, aid):
        """The answer the recorded PJSIP Asterisk gave (pjsip/c.txt: its 600700804 with an
        Unreachable contact), for `user` and the status this manager holds for it."""
        with self.lock:
            self.asked.append(user)
        if not self.pjsip:
            return (f"Response: Error\r\nActionID: {aid}\r\nMessage: Invalid/unknown command: "
                    "PJSIPShowEndpoint. Use Action: ListCommands to show available commands.\r\n\r\n")
        status = self.contacts.get(user, None if user in self.refuse else "Reachable")
        lines, inside, rid = [], False, None
        with open(os.path.join(DATA, "pjsip/c.txt"), encoding="utf-8") as f:
            for line in f:
                line = line.rstrip("\n")
                if line.startswith("=== "):
                    if inside:
                        break
                    inside = "AMI PJSIPShowEndpoint" in line
                elif inside and not line.startswith("#"):
                    if rid is None and line.startswith("ActionID: "):
                        rid = line[len("ActionID: "):]
                    lines.append(line)
        text = "\r\n".join(lines) + "\r\n"
        text = text.replace(rid, aid).replace("600700804", user)
        if status is None:  # the AOR of a user registered nowhere: no ContactStatusDetail
            a, b = text.index("Event: ContactStatusDetail"), text.index("Event: EndpointDetailComplete")
            text = text[:a] + text[b:]
        else:
            text = text.replace("Status: Unreachable\r\n", f"Status: {status}\r\n")
            if user in self.callids:
                text = text.replace("CallID: 1-25596@127.0.0.1\r\n", f"CallID: {self.callids[user]}\r\n")
            if status != "Reachable":
                text = text.replace("QualifyFrequency: 10", "QualifyFrequency: 0")
        return text

    def conf(self):
        return f"[ami]\nhost = 127.0.0.1\nport = {self.port}\nusername = tester\nsecret = s3cret\ntimeout = 2\n"

    def close(self):
        # shutdown wakes the accept() of serve(): closing alone leaves the socket listening
        # while that call waits, and a later manager of the same test run could get its port.
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


_results = []


def test(fn):
    _results.append(fn)
    return fn


def main():
    passed = failed = 0
    only = sys.argv[1:]
    for fn in _results:
        if only and fn.__name__ not in only:
            continue
        t0 = time.time()
        try:
            fn()
            passed += 1
            print(f"ok   {fn.__name__} ({time.time() - t0:.1f} s)")
        except Exception:
            failed += 1
            print(f"FAIL {fn.__name__}")
            traceback.print_exc()
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
