"""End-to-end tests of the last hop to SMS phones (SPEC 2.11): the built sms-process and sms-send
against a simulated app_sms that does what fixtures/lasthop shows: it takes the delivery call
file, reads and deletes queue files, appends Y, N or ? lines to its log (mr as the hex byte of
atoi, the text as the low bytes of its UCS-2 units or udl=N with option n), and archives the
call file into outgoing_done/ (Completed when answered, Expired when not)."""
import json
import os
import random
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from spoolkit import BIN, Spool, main, read_callfile, read_message, test  # noqa: E402

SENDER, PHONE = "48500100200", "600700800"


def jsonl(out):
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def lasthop(out):
    return [o for o in jsonl(out) if "lasthop" in o and "outcome" in o]


def render(text):
    """What app_sms writes for a text: per UCS-2 unit (fixtures/lasthop/README.md)."""
    data = text.encode("utf-16-be")
    out = bytearray()
    for i in range(0, len(data), 2):
        u = data[i] << 8 | data[i + 1]
        if u == 0x5C:
            out += b"\\\\"
        elif u == 0x0A:
            out += b"\\n"
        elif u == 0x0D:
            out += b"\\r"
        elif u < 0x20 or u == 0x7F:
            out.append(0xBF)
        elif u & 0xFF == 0:
            return bytes(out), True  # NUL: the line ends here, without its newline
        else:
            out.append(u & 0xFF)
    return bytes(out), False


class AppSms:
    """One delivery call per queue, as Asterisk's pbx_spool + app_sms would make it."""

    def __init__(self, spool, log):
        self.s = spool
        self.log = log
        self.sent = {}  # text -> outcomes in order
        self.stamp = ""  # the time of the last line written

    def call(self, queue, outcome=lambda text: "Y", answer=True, during=None):
        name = f"smsq.mttx.{queue}.1"
        path = os.path.join(self.s.outgoing, name)
        assert os.path.exists(path), f"no delivery call for {queue}: {self.s.files('outgoing')}"
        cf = read_callfile(path)
        assert cf["Archive"] == "yes", cf
        # Asterisk dials no earlier than the file's mtime: the call ends after it (the test does
        # not wait for the pause, so the archive gets the time the call would have ended).
        ends = max(time.time(), os.stat(path).st_mtime) + 1
        privacy = cf["Data"].endswith(",sn")
        lines = []
        if answer:
            names = [n for n in os.listdir(self.s.mttx) if n.startswith(queue + ".")]
            random.shuffle(names)  # readdir() order, not by name
            for n in names:
                qpath = os.path.join(self.s.mttx, n)
                m = read_message(qpath)
                os.unlink(qpath)  # read and unlinked before sending
                st = outcome(m["text"])
                self.sent.setdefault(m["text"], []).append(st)
                mr = "%02X" % (int(m["mr"]) & 0xFF) if "mr" in m else ""
                self.stamp = time.strftime("%Y-%m-%dT%H:%M:%S")  # local time, as app_sms
                head = f"{self.stamp} {st}OS{mr} {queue} {m['oa']} {m['da']} ".encode()
                if privacy:
                    body, cut = f"udl={len(m['text'].encode('utf-16-be')) // 2}".encode(), False
                else:
                    body, cut = render(m["text"])
                lines.append(head + body + (b"" if cut else b"\n"))
                if st == "-":  # the call ended with it in flight and no line (a crash)
                    lines.pop()
                    break
                if st == "?":
                    break  # the call ended with it in flight
        if during:
            during()  # while the call is up (the messages taken, its lines not yet written)
        with open(self.log, "ab") as f:
            f.write(b"".join(lines))
        done = os.path.join(self.s.spool, "outgoing_done")
        os.makedirs(done, exist_ok=True)
        with open(path, "a") as f:
            f.write(f"\nStartRetry: 4596 1 ({int(time.time()) + 30})\n")
            f.write("Status: Completed\n" if answer else "Status: Expired\n")
        os.utime(path, (ends, ends))
        os.rename(path, os.path.join(done, name))


def setup(extra=""):
    s = Spool()
    log = os.path.join(s.root, "log", "sms")
    os.makedirs(os.path.dirname(log))
    s.write_conf(f"[sms]\nlog = {log}\n{extra}")
    return s, AppSms(s, log)


def items(s):
    return s.files("sms/.sms-suite/lasthop")


def pending(s):
    return [i for i in items(s) if i[:2] in ("S.", "F.", "V.", "T.")]


@test
def delivered_and_forgotten():
    s, app = setup()
    try:
        s.message(SENDER, PHONE, "Hello phone")
        rc, out, err = s.run()
        assert rc == 0, err
        (q,) = s.queue()
        assert "mr" in q, q
        cf = read_callfile(os.path.join(s.outgoing, f"smsq.mttx.{PHONE}.1"))
        assert cf["Data"] == f"{PHONE},sn", cf
        assert len(pending(s)) == 1
        app.call(PHONE)
        rc, out, err = s.run("--json")
        assert rc == 0, err
        (e,) = lasthop(out)
        assert e["outcome"] == "delivered" and e["da"] == PHONE and e["oa"] == SENDER, e
        assert pending(s) == [] and s.queue() == []
        rc, out, err = s.run("--json")
        assert lasthop(out) == [], out
    finally:
        s.cleanup()


@test
def nacked_then_delivered_on_the_second_call():
    s, app = setup()
    try:
        s.message(SENDER, PHONE, "Refused once")
        s.run()
        first_mr = s.queue()[0]["mr"]
        app.call(PHONE, lambda t: "N")
        rc, out, err = s.run("--json")
        (e,) = lasthop(out)
        assert e["outcome"] == "requeued" and e["lasthop"]["attempts"] == 2, e
        (q,) = s.queue()
        assert q["mr"] != first_mr and q["text"] == "Refused once", q
        call = os.path.join(s.outgoing, f"smsq.mttx.{PHONE}.1")
        assert os.stat(call).st_mtime > time.time() + 30  # after a pause
        app.call(PHONE)
        rc, out, err = s.run("--json")
        assert [e["outcome"] for e in lasthop(out)] == ["delivered"], out
        assert app.sent == {"Refused once": ["N", "Y"]}
        assert pending(s) == []
    finally:
        s.cleanup()


@test
def cut_then_resent_and_unread_waits():
    s, app = setup()
    try:
        for k in range(3):
            s.message(SENDER, PHONE, f"Message {k}")
        s.run()
        assert len(s.queue()) == 3
        seen = []

        def cut_second(text):
            seen.append(text)
            return "?" if len(seen) == 2 else "Y"
        app.call(PHONE, cut_second)
        rc, out, err = s.run("--json")
        got = sorted(e["outcome"] for e in lasthop(out))
        assert got == ["delivered", "requeued"], out
        left = sorted(q["text"] for q in s.queue())
        assert left == sorted([seen[1], next(f"Message {k}" for k in range(3) if f"Message {k}" not in seen)]), (left, seen)
        app.call(PHONE)
        rc, out, err = s.run("--json")
        assert sorted(e["outcome"] for e in lasthop(out)) == ["delivered", "delivered"], out
        assert pending(s) == [] and s.queue() == []
        assert sorted(app.sent) == ["Message 0", "Message 1", "Message 2"]
        assert all(v[-1] == "Y" and v.count("Y") == 1 for v in app.sent.values()), app.sent
    finally:
        s.cleanup()


@test
def never_answered_until_given_up_then_the_notice():
    s, app = setup("[delivery]\nmax_attempts = 2\n")
    try:
        n = s.message(SENDER, PHONE, "Nobody home")
        s.run()
        app.call(PHONE, answer=False)
        rc, out, err = s.run("--json")
        assert [e["outcome"] for e in lasthop(out)] == ["redialled"], out
        assert os.path.exists(os.path.join(s.outgoing, f"smsq.mttx.{PHONE}.1"))
        app.call(PHONE, answer=False)
        rc, out, err = s.run("--json")
        (e,) = lasthop(out)
        assert e["outcome"] == "given_up", e
        failed = s.files("sms/morx/failed")
        assert len(failed) == 2 and failed[1] == failed[0] + ".why", failed
        assert read_message(os.path.join(s.spool, "sms/morx/failed", failed[0]))["text"] == "Nobody home"
        (notice,) = s.queue()
        assert notice["da"] == SENDER, notice
        assert notice["text"] == f"Cannot deliver SMS to {PHONE}. The phone did not answer.", notice
        assert "given up" in err, err
        # The notice itself is remembered, and tells no one if it fails.
        assert len(pending(s)) == 1
        assert n not in s.files("sms/morx")
    finally:
        s.cleanup()


@test
def receipt_when_the_sender_asked():
    s, app = setup()
    try:
        s.message(SENDER, PHONE, raw=(f"oa={SENDER}\nda={PHONE}\nud=Tell me\nscts=2026-11-29T22:53:42\nsrr=1\n").encode())
        s.message(SENDER, PHONE, "No report asked")
        s.run()
        app.call(PHONE)
        rc, out, err = s.run("--json")
        assert sorted(e["outcome"] for e in lasthop(out)) == ["delivered", "delivered"], out
        (r,) = s.queue()
        assert r["da"] == SENDER and r["oa"] == "9000", r
        assert r["text"] == f"Delivered to {PHONE} at {app.stamp[11:16]}.", r
    finally:
        s.cleanup()


@test
def log_rotated_in_the_middle():
    s, app = setup()
    try:
        s.message(SENDER, PHONE, "Before the rotation")
        s.run()
        app.call(PHONE, lambda t: "N")
        s.run()  # requeued; the cursor is in the first file
        app.call(PHONE)  # Y in the first file...
        os.rename(app.log, app.log + ".1")  # ...which logrotate renames
        s.message(SENDER, PHONE, "After the rotation")
        s.run()
        app.call(PHONE)  # its Y in the new file
        rc, out, err = s.run("--json")
        assert sorted(e["outcome"] for e in lasthop(out)) == ["delivered", "delivered"], out
        assert pending(s) == []
    finally:
        s.cleanup()


@test
def log_unreadable_confirms_nothing_resends_nothing():
    s, app = setup()
    try:
        s.message(SENDER, PHONE, "Unconfirmed for now")
        s.run()
        app.call(PHONE)
        s.write_conf(f"[sms]\nlog = {os.path.dirname(app.log)}\n")  # a folder
        for _ in range(2):
            rc, out, err = s.run("--json", "-v")
            assert rc == 0, err
            objs = jsonl(out)
            assert [o for o in objs if "lasthop_log" in o][0]["lasthop_log"]["readable"] is False
            assert len([o for o in objs if "lasthop_log" in o]) == 1
            assert err.count("cannot read app_sms's log") == 1, err
            assert lasthop(out) == [] and s.queue() == []
        s.write_conf(f"[sms]\nlog = {app.log}\n")
        rc, out, err = s.run("--json")
        assert [e["outcome"] for e in lasthop(out)] == ["delivered"], out
        assert app.sent == {"Unconfirmed for now": ["Y"]}
    finally:
        s.cleanup()


@test
def privacy_and_text_forms_with_glued_and_broken_lines():
    for privacy in ("yes", "no"):
        s, app = setup(f"privacy = {privacy}\n")
        with open(s.conf) as f:
            conf = f.read().replace("[general]\n", "[general]\nunicode = ucs2\n")
        with open(s.conf, "w") as f:
            f.write(conf)
        try:
            texts = ["Emoji 😀 then more text", "Serbian Њива then more text", "Plain text",
                     "back\\slash"]
            for t in texts:
                s.message(SENDER, PHONE, t)
            s.run()
            cf = read_callfile(os.path.join(s.outgoing, f"smsq.mttx.{PHONE}.1"))
            assert cf["Data"] == (f"{PHONE},sn" if privacy == "yes" else f"{PHONE},s"), cf
            app.call(PHONE)
            with open(app.log, "rb") as f:
                raw = f.read()
            if privacy == "no":
                # NUL: no newline after it (the next line glued on, or the end of the log)
                assert (b"Emoji =2026" in raw or raw.endswith(b"Emoji =")) and b"Serbian \n820" in raw, raw
            else:
                assert b"udl=23" in raw and b"Emoji" not in raw, raw
            rc, out, err = s.run("--json")
            assert sorted(e["outcome"] for e in lasthop(out)) == ["delivered"] * 4, (privacy, out)
            assert pending(s) == []
        finally:
            s.cleanup()


@test
def sms_send_is_remembered_too():
    s, app = setup()
    try:
        rc, out, err = s.run("--from", SENDER, "--to", PHONE, "--text", "From a script",
                             tool="sms-send")
        assert rc == 0, err
        assert len(pending(s)) == 1 and "mr" in s.queue()[0]
        app.call(PHONE, lambda t: "?")
        rc, out, err = s.run("--json")
        assert [e["outcome"] for e in lasthop(out)] == ["requeued"], out
        rc, out, err = s.run("--dry-run", "--json")
        assert [e["outcome"] for e in lasthop(out)] == ["waiting"], out
        app.call(PHONE)
        rc, out, err = s.run("--json")
        assert [e["outcome"] for e in lasthop(out)] == ["delivered"], out
    finally:
        s.cleanup()


@test
def sigkill_while_settling_loses_nothing_and_resends_nothing_confirmed():
    s, app = setup("[delivery]\nmax_attempts = 1000\n")
    rng = random.Random(1311)
    try:
        texts = [f"Kill test {k}" for k in range(40)]
        for t in texts:
            s.message(SENDER, PHONE, t)
        s.run()
        kills = 0
        for round_ in range(30):
            if os.path.exists(os.path.join(s.outgoing, f"smsq.mttx.{PHONE}.1")):
                app.call(PHONE, lambda t: rng.choice("YYYN?"))
            # Settle, killed at a random moment: three runs killed (a fast run may end before
            # its kill), then one that completes.
            killed = 0
            for _ in range(30):
                p = subprocess.Popen([os.path.join(BIN, "sms-process"), "--config", s.conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(rng.uniform(0, 0.02))
                p.send_signal(signal.SIGKILL)
                if p.wait() == -signal.SIGKILL:
                    killed += 1
                    if killed == 3:
                        break
            kills += killed
            rc, out, err = s.run()
            assert rc == 0, err
            if not pending(s):
                break
        assert pending(s) == [], pending(s)
        assert kills >= 6, kills
        # Nothing lost: every text acknowledged; nothing confirmed sent again: one Y, the last.
        assert sorted(app.sent) == sorted(texts), set(texts) - set(app.sent)
        for t, outcomes in app.sent.items():
            assert outcomes.count("Y") == 1 and outcomes[-1] == "Y", (t, outcomes)
        assert s.queue() == [] and s.files("sms/morx/failed") == []
    finally:
        s.cleanup()


ATTACKER = "48600700800"


def forged_heads(status, text, privacy, sender=SENDER):
    """An attacker's MO message as the centre logs it without option n: for each of the 256
    mrs, a head for the victim's message glued in the text and one after a raw line feed (the
    low byte of U+040A)."""
    body = f"udl={len(text.encode('utf-16-be')) // 2}" if privacy else render(text)[0].decode("latin-1")
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
    out = b""
    for mr in range(256):
        head = f"{stamp} {status}OS{mr:02X} {PHONE} {sender} {PHONE} {body}"
        raw, _ = render(f"see {head} \u040a{head}")
        out += f"{stamp} YIS {ATTACKER} {ATTACKER} 9000 ".encode() + raw + b"\n"
    return out


def attack(s, app, heads, between):
    """The attacker's lines reach the log during the victim's call; with `between`, the MO call
    ends first and its System(sms-process) runs before the victim's call ends."""
    runs = []

    def during():
        with open(app.log, "ab") as f:
            f.write(heads)
        if between:
            rc, out, err = s.run("--json")
            assert rc == 0, err
            runs.append(out)
    return during, runs


def past_gone_rule(s):
    """The 'taken, no line' rule measured from an earlier time: each item's gone= moved back."""
    d = os.path.join(s.spool, "sms/.sms-suite/lasthop")
    moved = 0
    for n in pending(s):
        p = os.path.join(d, n)
        with open(p, "rb") as f:
            lines = f.read().split(b"\n")
        for k, line in enumerate(lines):
            if line.startswith(b";gone="):
                lines[k] = b";gone=%d" % (int(line[6:]) - 700)
                moved += 1
        tmp = os.path.join(d, "." + n + ".t")
        with open(tmp, "wb") as f:
            f.write(b"\n".join(lines))
        os.chmod(tmp, os.stat(p).st_mode & 0o777)
        os.rename(tmp, p)
    return moved


def notices(s):
    return [q["text"] for q in s.queue() if q["da"] == SENDER]


@test
def forged_receipts_while_the_call_drops_lose_nothing():
    """An attacker's MO text carries Y heads for the victim's message (every mr, glued and after
    a raw line feed) while the victim's delivery call drops: nothing settles it as delivered;
    it is sent again and arrives, and its sender hears of it once, from the genuine line."""
    text = "Meet at noon"
    for privacy in ("yes", "no"):
        for drop in ("?", "-"):
            for between in (True, False):
                case = (privacy, drop, between)
                s, app = setup(f"privacy = {privacy}\n")
                try:
                    s.message(SENDER, PHONE, raw=(f"oa={SENDER}\nda={PHONE}\nud={text}\n"
                                                  "scts=2026-11-29T22:53:42\nsrr=1\n").encode())
                    s.run()
                    during, runs = attack(s, app, forged_heads("Y", text, privacy == "yes"), between)
                    app.call(PHONE, lambda t: drop, during=during)
                    rc, out, err = s.run("--json")
                    assert rc == 0, err
                    seen = [e["outcome"] for o in runs + [out] for e in lasthop(o)]
                    assert "delivered" not in seen, (case, seen)
                    assert notices(s) == [], (case, s.queue())
                    assert any('"received_texts":true' in o for o in runs + [out]), case
                    rc, listed, err = s.run(tool="sms-queue")
                    assert rc == 0, err
                    assert ("\nwarning: app_sms's log holds the texts of received messages"
                            in listed and "SMS(${CALLERID(num)},san)" in listed), (case, listed)
                    if "requeued" not in seen:
                        # Its own line unread or unprovable: after the 'taken, no line' rule.
                        assert len(pending(s)) == 1 and s.queue() == [], (case, seen)
                        assert past_gone_rule(s) == 1, case
                        rc, out, err = s.run("--json")
                        assert [e["outcome"] for e in lasthop(out)] == ["requeued"], (case, out)
                    (q,) = s.queue()
                    assert q["text"] == text and q["da"] == PHONE, (case, q)
                    app.call(PHONE)
                    rc, out, err = s.run("--json")
                    assert [e["outcome"] for e in lasthop(out)] == ["delivered"], (case, out)
                    assert app.sent == {text: [drop, "Y"]}, (case, app.sent)
                    assert notices(s) == [f"Delivered to {PHONE} at {app.stamp[11:16]}."], case
                    # Left: only the receipt's own last-hop item.
                    assert len(pending(s)) == len(s.queue()) == 1, case
                    assert s.files("sms/morx/failed") == [], case
                finally:
                    s.cleanup()


@test
def forged_refusal_before_the_genuine_receipt():
    """Forged N heads (every mr, glued and after a raw line feed) reach the log before the
    phone's genuine Y: the message is never dead-lettered and its sender is told nothing.
    Read in an earlier run than the Y (the MO call's own sms-process), the forgery is ignored
    and the Y settles it with one attempt allowed; read in the same run, the Y cannot be told
    from a text either, so the message waits for the 'taken, no line' rule and goes once more."""
    text = "Arrived fine"
    for privacy in ("yes", "no"):
        for between in (True, False):
            case = (privacy, between)
            s, app = setup(f"privacy = {privacy}\n[delivery]\nmax_attempts = {1 if between else 2}\n")
            try:
                s.message(SENDER, PHONE, text)
                s.run()
                during, runs = attack(s, app, forged_heads("N", text, privacy == "yes"), between)
                app.call(PHONE, during=during)
                rc, out, err = s.run("--json")
                assert rc == 0, err
                seen = [e["outcome"] for o in runs + [out] for e in lasthop(o)]
                if between:
                    assert seen == ["delivered"], (case, seen)
                    assert app.sent == {text: ["Y"]}, (case, app.sent)
                else:
                    assert seen == [] and len(pending(s)) == 1 and s.queue() == [], (case, seen)
                    assert past_gone_rule(s) == 1
                    rc, out, err = s.run("--json")
                    assert [e["outcome"] for e in lasthop(out)] == ["requeued"], (case, out)
                    app.call(PHONE)
                    rc, out, err = s.run("--json")
                    assert [e["outcome"] for e in lasthop(out)] == ["delivered"], (case, out)
                    assert app.sent == {text: ["Y", "Y"]}, (case, app.sent)
                assert s.files("sms/morx/failed") == [] and notices(s) == [], (case, s.queue())
                assert pending(s) == [], case
            finally:
                s.cleanup()

@test
def delete_while_a_run_settles_then_past_the_resend_rules():
    """sms-queue delete of a queued SMS and of a last-hop SMS (taken, no line) while an
    sms-process run routes and settles: each is either deleted and never sent again (past the
    'taken, no line' rule and the next delivery calls), or refused with 75 and then delivered."""
    other = "48600700800"
    outcomes = set()
    for round_ in range(4):
        s, app = setup()
        try:
            taken, queued = f"Taken {round_}", f"Queued {round_}"
            s.message(SENDER, PHONE, taken)
            s.message(SENDER, other, queued)
            s.run()
            app.call(PHONE, lambda t: "-")  # taken; the call ended with no line
            rc, out, err = s.run("--json")
            assert rc == 0 and lasthop(out) == [], out
            ids = {}
            for state in ("lasthop", "queued"):
                rc, out, err = s.run("-s", state, tool="sms-queue")
                assert rc == 0, err
                rows = [l.split()[0] for l in out.splitlines()[:-1] if l.strip()]
                assert len(rows) == 1, (state, out)
                ids[state] = rows[0]
            # A run with work to do (and the lock) while both are deleted.
            for k in range(150):
                s.message("48500100299", SENDER, f"Load {k}")
            p = subprocess.Popen([os.path.join(BIN, "sms-process"), "--config", s.conf],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            rcs = {}
            for state in (("lasthop", "queued") if round_ % 2 else ("queued", "lasthop")):
                rc, out, err = s.run("delete", "-y", ids[state], tool="sms-queue")
                assert rc in (0, 75), (state, rc, err)
                rcs[state] = rc
                outcomes.add((state, rc))
            assert p.wait() == 0, p.stderr.read()
            # The next runs, past the re-send rules, with app_sms answering every call.
            for _ in range(3):
                rc, out, err = s.run()
                assert rc == 0, err
                past_gone_rule(s)
                rc, out, err = s.run()
                for q in (PHONE, other):
                    if os.path.exists(os.path.join(s.outgoing, f"smsq.mttx.{q}.1")):
                        app.call(q)
            rc, out, err = s.run()
            assert rc == 0, err
            case = (round_, rcs)
            if rcs["lasthop"] == 0:
                assert app.sent[taken] == ["-"], (case, app.sent)  # never again
            else:
                assert app.sent[taken] == ["-", "Y"], (case, app.sent)
            if rcs["queued"] == 0:
                assert queued not in app.sent, (case, app.sent)
            else:
                assert app.sent[queued] == ["Y"], (case, app.sent)
            rc, out, err = s.run(tool="sms-queue")
            assert taken not in out and queued not in out, (case, out)
            assert [i for i in pending(s) if PHONE in i or other in i] == [], (case, pending(s))
            assert s.files("sms/morx/failed") == [], case
        finally:
            s.cleanup()
    print(f"  delete outcomes (item, exit status): {sorted(outcomes)}")


if __name__ == "__main__":
    main()
