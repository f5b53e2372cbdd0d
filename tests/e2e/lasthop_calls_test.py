"""End-to-end tests of the last hop of faxes, voice calls and SIP messages (SPEC 2.11): the built
sms-process and sms-callresult on a spool in a temporary folder. The test plays Asterisk: it
takes the suite's call files out of outgoing/, archives them into outgoing_done/ with the tails
pbx_spool wrote in the recordings (tests/data/lasthop), and runs the h extension's
AGI(sms-callresult,...) with the values the recorded dialplan saw, speaking AGI as res_agi does."""
import json
import os
import random
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from spoolkit import BIN, DATA, FakeManager, Spool, main, read_callfile, test  # noqa: E402

LH = os.path.join(DATA, "lasthop")


def jsonl(out):
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def h_values(log, case, side):
    """The variables a recorded h extension saw: {'FAXSTATUS': ..., ...} of the line `side`
    (tx-h, play-h) of `case`."""
    with open(os.path.join(LH, log), "rb") as f:
        for line in f.read().decode("latin-1").splitlines():
            parts = line.split(" ", 3)
            if parts[1] == side and f"case={case} " in line:
                vals = {}
                for key in ("FAXSTATUS", "FAXERROR", "FAXPAGES", "PLAYBACKSTATUS"):
                    m = re.search(key + r"=(.*?)(?= [A-Z]+=|$)", line)
                    if m:
                        vals[key] = m.group(1)
                return vals
    raise KeyError((case, side))


def played_after(case):
    """Whether the recorded dialplan got past Playback (a play-after line) for `case`."""
    with open(os.path.join(LH, "lasthop-playback.log"), "rb") as f:
        return any(l.split(" ")[1] == "play-after" and f"case={case} " in l
                   for l in f.read().decode("latin-1").splitlines())


FAX_OK = h_values("lasthop-fax.log", "fax-ok", "tx-h")
FAX_CUT = h_values("lasthop-fax.log", "fax-cut", "tx-h")
PLAY_OK = dict(h_values("lasthop-playback.log", "play-ok", "play-h"), SMS_PLAYED="1" if played_after("play-ok") else "0")
PLAY_CUT = dict(h_values("lasthop-playback.log", "play-cut", "play-h"), SMS_PLAYED="1" if played_after("play-cut") else "0")


def archive_tail(path):
    """The lines pbx_spool appended to a recorded call file (StartRetry..., Status: ...)."""
    with open(path) as f:
        lines = f.read().splitlines()
    first = next(i for i, l in enumerate(lines) if l.startswith(("StartRetry", "EndRetry", "Status")))
    return "\n".join(lines[first - 1:]) + "\n"


COMPLETED = archive_tail(os.path.join(LH, "fax-outgoing_done/lh-fax-cut.call"))
EXPIRED = archive_tail(os.path.join(LH, "callfiles-outgoing_done/lh-cf-busy.call"))
assert COMPLETED.rstrip().endswith("Status: Completed") and EXPIRED.rstrip().endswith("Status: Expired")
assert FAX_CUT["FAXERROR"] == "The call dropped prematurely" and FAX_OK["FAXSTATUS"] == "SUCCESS"
assert PLAY_CUT["SMS_PLAYED"] == "0" and PLAY_CUT["PLAYBACKSTATUS"] == "SUCCESS"


class Asterisk:
    """What Asterisk does with the suite's fax and voice calls, played from the recordings."""

    def __init__(self, spool):
        self.s = spool
        self.done = os.path.join(spool.spool, "outgoing_done")
        os.makedirs(self.done, exist_ok=True)

    def calls(self, kind):
        return [n for n in self.s.files("outgoing") if re.search(rf"\.{kind}(\.\d+)?\.call$", n)]

    def take(self, kind):
        """pbx_spool picks the (only) call of this kind up; returns its name and its fields."""
        calls = self.calls(kind)
        assert len(calls) == 1, calls
        path = os.path.join(self.s.outgoing, calls[0])
        return calls[0], read_callfile(path)

    def archive(self, name, tail):
        path = os.path.join(self.s.outgoing, name)
        with open(path) as f:
            text = f.read()
        os.unlink(path)
        with open(os.path.join(self.done, name), "w") as f:
            f.write(text + tail)

    def h(self, call, service, values, kill_after=None):
        """Runs the h extension: AGI(sms-callresult,<service>), the channel variables being the
        call file's SetVars plus `values`. kill_after: SIGKILL the AGI after that many seconds."""
        setvars = call.get("SetVar", [])
        setvars = setvars if isinstance(setvars, list) else [setvars]
        var = dict(v.split("=", 1) for v in setvars) | values
        env = dict(os.environ, SMS_SUITE_CONF=self.s.conf)
        p = subprocess.Popen([os.path.join(BIN, "sms-callresult"), service], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        agi_env = (f"agi_request: sms-callresult\nagi_channel: {call['Channel']}-00000001\n"
                   f"agi_language: en\nagi_type: DAHDI\nagi_uniqueid: 1796234308.42\n"
                   f"agi_context: sms-{service}-out\nagi_extension: h\nagi_priority: 1\n"
                   f"agi_arg_1: {service}\n\n")
        if kill_after is not None:
            # Everything Asterisk would answer, at once, then a kill at a random moment.
            answers = []
            for name in ["SMS_ID", "SMS_ATTEMPT"] + (["FAXSTATUS", "FAXERROR", "FAXPAGES"] if service == "fax"
                                                    else ["SMS_PLAYED", "PLAYBACKSTATUS"]):
                answers.append(f"200 result=1 ({var[name]})\n" if name in var else "200 result=0\n")
            answers.append("200 result=1\n")
            p.stdin.write((agi_env + "".join(answers)).encode())
            p.stdin.flush()
            time.sleep(kill_after)
            p.send_signal(signal.SIGKILL)
            p.wait()
            return None
        p.stdin.write(agi_env.encode())
        p.stdin.flush()
        said = []
        for line in p.stdout:
            cmd = line.decode().rstrip("\n")
            said.append(cmd)
            if cmd.startswith("GET VARIABLE "):
                name = cmd[len("GET VARIABLE "):]
                reply = f"200 result=1 ({var[name]})\n" if name in var else "200 result=0\n"
            else:
                reply = "200 result=1\n"
            p.stdin.write(reply.encode())
            p.stdin.flush()
        p.wait()
        assert p.returncode == 0, (p.returncode, p.stderr.read())
        return said

    def deliver(self, kind, tail, values=None):
        """One whole call: picked up, archived with `tail`, and (when answered) its h extension."""
        name, call = self.take(kind)
        self.archive(name, tail)
        if values is not None:
            said = self.h(call, kind, values)
            assert all(c.startswith(("GET VARIABLE", "VERBOSE")) for c in said), said
        return name, call


def state(s, *parts):
    return os.path.join(s.spool, "sms/.sms-suite/lasthop", *parts)


def notices(s, to="48500100200"):
    return [m["text"] for m in s.queue() if m["da"] == to]


@test
def fax_delivered_first_time_with_receipt():
    s = Spool()
    a = Asterisk(s)
    try:
        raw = b"oa=48500100200\nda=600700801\nud=Fax me\nscts=2026-12-02T17:58:00\nsrr=1\n"
        s.message(None, None, raw=raw, name="48500100200.2026-12-02T17:58:00-1")
        rc, out, err = s.run("--json")
        assert rc == 0, err
        name, call = a.take("fax")
        # The fax context, not a bare SendFax; the identity and the TIFF as variables.
        assert call["Context"] == "sms-fax-out" and call["Extension"] == "s" and "Application" not in call, call
        sv = dict(v.split("=", 1) for v in call["SetVar"])
        assert sv["SMS_ID"].startswith("48500100200.2026-12-02T17_58_00-1") and sv["SMS_ATTEMPT"] == "1", sv
        tiff = sv["SMS_FAX_FILE"]
        assert os.path.isfile(tiff) and call["Archive"] == "yes", call
        assert os.path.isfile(state(s, "records", sv["SMS_ID"]))
        # A run before the result: nothing happens.
        rc, out, err = s.run("--json")
        assert rc == 0 and not [o for o in jsonl(out) if "lasthop" in o], out
        a.archive(name, COMPLETED)
        said = a.h(call, "fax", FAX_OK)
        assert said[:5] == ["GET VARIABLE SMS_ID", "GET VARIABLE SMS_ATTEMPT", "GET VARIABLE FAXSTATUS",
                            "GET VARIABLE FAXERROR", "GET VARIABLE FAXPAGES"], said
        rc, out, err = s.run("--json", "-v")
        assert rc == 0, err
        lh = [o for o in jsonl(out) if "lasthop" in o]
        assert len(lh) == 1 and lh[0]["outcome"] == "delivered" and lh[0]["service"] == "F", lh
        assert "last hop: delivered" in err, err
        texts = notices(s)
        assert len(texts) == 1 and texts[0].startswith("Delivered to 600700801 at "), texts
        assert not os.path.exists(tiff) and s.files("outgoing_done") == [] and a.calls("fax") == []
        assert s.files("sms/.sms-suite/lasthop/records") == []
        # Nothing more, ever.
        rc, out, err = s.run("--json")
        assert not [o for o in jsonl(out) if "lasthop" in o] and len(notices(s)) == 1
    finally:
        s.cleanup()


@test
def fax_cut_then_resent_and_delivered():
    s = Spool()
    a = Asterisk(s)
    try:
        s.message("48500100200", "600700801", "Fax that gets cut once")
        s.run()
        name, call = a.deliver("fax", COMPLETED, FAX_CUT)
        tiff = dict(v.split("=", 1) for v in call["SetVar"])["SMS_FAX_FILE"]
        rc, out, err = s.run("--json")
        assert rc == 0, err
        lh = [o for o in jsonl(out) if "lasthop" in o]
        assert [o["outcome"] for o in lh] == ["resent"], lh
        assert "the call dropped prematurely" in lh[0]["detail"], lh
        name2, call2 = a.take("fax")
        assert name2.endswith(".fax.2.call"), name2
        sv = dict(v.split("=", 1) for v in call2["SetVar"])
        assert sv["SMS_ATTEMPT"] == "2" and sv["SMS_FAX_FILE"] == tiff, sv  # the same TIFF
        # Scheduled later ([fax] retry_time x 1).
        assert os.stat(os.path.join(s.outgoing, name2)).st_mtime > time.time() + 500
        a.deliver("fax", COMPLETED, FAX_OK)
        rc, out, err = s.run("--json")
        lh = [o for o in jsonl(out) if "lasthop" in o]
        assert [(o["outcome"], o["attempt"]) for o in lh] == [("delivered", 2)], lh
        assert notices(s) == [], notices(s)  # no receipt asked, no failure
        assert s.files("outgoing_done") == [] and a.calls("fax") == []
    finally:
        s.cleanup()


@test
def fax_failing_until_give_up_then_notice_and_dead_letter():
    s = Spool("[delivery]\nreceipts = failures\n")  # [fax] max_attempts = 3 by default
    a = Asterisk(s)
    try:
        s.message("48500100200", "600700801", "A fax nobody can take")
        s.run()
        tiff = None
        for attempt in (1, 2, 3):
            name, call = a.deliver("fax", COMPLETED, FAX_CUT)
            tiff = dict(v.split("=", 1) for v in call["SetVar"])["SMS_FAX_FILE"]
            rc, out, err = s.run("--json")
            lh = [o for o in jsonl(out) if "lasthop" in o]
            assert [o["outcome"] for o in lh] == (["resent"] if attempt < 3 else ["failed"]), (attempt, lh)
        assert notices(s) == ["Cannot deliver fax to 600700801: the call dropped prematurely."], notices(s)
        failed = s.files("sms/morx/failed")
        base = os.path.basename(tiff)
        assert base in failed and base + ".why" in failed, failed
        with open(os.path.join(s.spool, "sms/morx/failed", base + ".why")) as f:
            why = f.read()
        assert why.count("\n") == 1 and "dropped prematurely" in why and "3 attempt" in why, why
        assert a.calls("fax") == [] and s.files("sms/.sms-suite/lasthop/records") == []
        rc, out, err = s.run("--json")
        assert len(notices(s)) == 1
    finally:
        s.cleanup()


@test
def voice_cut_then_replayed():
    s = Spool()
    a = Asterisk(s)
    try:
        s.message("48500100200", "600700802", "Listen to the end please")
        s.run()
        name, call = a.take("voice")
        assert call["Context"] == "sms-voice-out", call
        wav = dict(v.split("=", 1) for v in call["SetVar"])["SMS_VOICE_FILE"] + ".wav"
        assert os.path.isfile(wav)
        a.deliver("voice", COMPLETED, PLAY_CUT)  # PLAYBACKSTATUS=SUCCESS, but not heard
        rc, out, err = s.run("--json")
        lh = [o for o in jsonl(out) if "lasthop" in o]
        assert [o["outcome"] for o in lh] == ["resent"] and "not heard to the end" in lh[0]["detail"], lh
        name2, call2 = a.deliver("voice", COMPLETED, PLAY_OK)
        assert name2.endswith(".voice.2.call"), name2
        rc, out, err = s.run("--json")
        lh = [o for o in jsonl(out) if "lasthop" in o]
        assert [o["outcome"] for o in lh] == ["delivered"], lh
        assert not os.path.exists(wav) and notices(s) == []
    finally:
        s.cleanup()


@test
def expired_call_is_placed_again():
    s = Spool()
    a = Asterisk(s)
    try:
        s.message("48500100200", "600700801", "Nobody picks up")
        s.run()
        a.deliver("fax", EXPIRED)  # busy twice: the dialplan never ran
        rc, out, err = s.run("--json")
        lh = [o for o in jsonl(out) if "lasthop" in o]
        assert [o["outcome"] for o in lh] == ["resent"] and "nobody answered" in lh[0]["detail"], lh
        assert len(a.calls("fax")) == 1 and s.files("outgoing_done") == []
    finally:
        s.cleanup()


@test
def sip_user_offline_two_runs_then_back():
    ami = FakeManager(refuse={"600700803"})
    s = Spool(ami.conf() + "[sip]\nhold_time = 3600\n")
    try:
        name = s.message("48500100200", "600700803", "Are you there?")
        for _ in range(2):
            rc, out, err = s.run("--json")
            assert rc == 0, err
            o = jsonl(out)[0]
            assert o["outcome"] == "held" and "not reachable" in o["detail"], o
            assert s.files("sms/morx") == [name] and notices(s) == [] and ami.sent == []
        ami.refuse.clear()
        rc, out, err = s.run("--json")
        assert jsonl(out)[0]["outcome"] == "routed", out
        assert [b for _, _, b in ami.sent] == ["Are you there?"], ami.sent
        assert s.files("sms/morx") == [] and notices(s) == []
        assert s.files("sms/.sms-suite/lasthop/sip") == []
        s.run()
        assert len(ami.sent) == 1
    finally:
        ami.close()
        s.cleanup()


@test
def sip_user_offline_past_hold_time():
    ami = FakeManager(refuse={"600700803"})
    s = Spool(ami.conf() + "[sip]\nhold_time = 2\ntell_held = yes\n")
    try:
        s.message("48500100200", "600700803", "Hello?")
        for _ in range(2):
            rc, out, err = s.run("--json")
            assert jsonl(out)[0]["outcome"] == "held", out
        # Told once that it waits.
        assert notices(s) == ["600700803 is offline; your message will be delivered when they are back."], notices(s)
        time.sleep(2.2)
        rc, out, err = s.run("--json")
        assert jsonl(out)[0]["outcome"] == "failed", out
        # A dead letter (sms-queue retry can send it again), not dropped.
        assert s.files("sms/morx") == [] and len(s.files("sms/morx/failed")) == 2
        n = notices(s)
        assert sorted(n) == sorted(["600700803 is offline; your message will be delivered when they are back.",
                                    "Cannot deliver SMS to 600700803. VoIP user not logged in."]), n
        s.run()
        assert len(notices(s)) == 2 and ami.sent == []
    finally:
        ami.close()
        s.cleanup()


@test
def quiet_hours_across_midnight():
    # A zone where it is now 23:xx local time, and quiet hours 22:00-01:00.
    now = time.time()
    utc = time.gmtime(now)
    offset = (23 - utc.tm_hour) % 24  # hours east of UTC
    tz = f"LOC{'-' if offset else ''}{offset}" if offset else "UTC0"
    env = dict(os.environ, TZ=tz)
    s = Spool("[delivery]\nquiet_hours = 22:00-01:00\n")
    a = Asterisk(s)
    try:
        s.message("48500100200", "600700801", "Night fax")
        s.message("48500100201", "600700800", "Night SMS")
        rc, out, err = s.run("--json", env=env)
        assert rc == 0, err
        name, _ = a.take("fax")
        mtime = os.stat(os.path.join(s.outgoing, name)).st_mtime
        # 01:00 local tomorrow = the next 00:00 UTC + 1 h - offset... computed from the local clock.
        local_now = now + offset * 3600
        midnight = (int(local_now) // 86400 + 1) * 86400
        expected = midnight + 3600 - offset * 3600
        assert abs(mtime - expected) < 1, (mtime, expected, tz)
        # S is not in quiet_services (default V F): the SMS delivery call is due now.
        sms_call = os.path.join(s.outgoing, "smsq.mttx.600700800.1")
        assert os.stat(sms_call).st_mtime <= time.time() + 1
        # With S listed, SMS wait too (the notice for a retry, an answer...).
        s.write_conf("[delivery]\nquiet_hours = 22:00-01:00\nquiet_services = V F S\n")
        os.unlink(sms_call)
        s.message("48500100201", "48600700800", "Another night SMS")
        rc, out, err = s.run(env=env)
        assert abs(os.stat(os.path.join(s.outgoing, "smsq.mttx.48600700800.1")).st_mtime - expected) < 1
        # A resend during quiet hours waits for their end too.
        a.deliver("fax", EXPIRED)
        rc, out, err = s.run("--json", env=env)
        name2, _ = a.take("fax")
        assert os.stat(os.path.join(s.outgoing, name2)).st_mtime >= expected - 1
    finally:
        s.cleanup()


@test
def sigkill_during_the_hand_over():
    """sms-callresult killed at random moments: a result is there whole or not at all, and the
    message is settled exactly once either way."""
    random.seed(14)
    s = Spool()
    a = Asterisk(s)
    try:
        s.message("48500100200", "600700801", "Killed hand-over", )
        s.run()
        name, call = a.take("fax")
        a.archive(name, COMPLETED)
        results = state(s, "results")
        seen_none = seen_some = 0
        for _ in range(25):
            a.h(call, "fax", FAX_OK, kill_after=random.uniform(0, 0.008))
            files = [f for f in os.listdir(results) if not f.startswith(".")] if os.path.isdir(results) else []
            if files:
                with open(os.path.join(results, files[0])) as f:
                    text = f.read()
                assert text.endswith("\n") and "faxstatus=SUCCESS" in text and "time=" in text, text
                seen_some += 1
            else:
                seen_none += 1
        a.h(call, "fax", FAX_OK)  # the report that got through (or the first one kept)
        rc, out, err = s.run("--json")
        lh = [o for o in jsonl(out) if "lasthop" in o]
        assert [o["outcome"] for o in lh] == ["delivered"], lh
        assert a.calls("fax") == [], "never placed again once its success was recorded"
        print(f"     (hand-over killed 25 times: {seen_some} left a whole result, {seen_none} none)")
    finally:
        s.cleanup()


@test
def sigkill_during_settling():
    """sms-process killed at ever later moments while it settles six calls (three delivered with
    a receipt asked, three failed), until a kill lands after it changed something (the commit):
    in the end each delivered fax gets one receipt and no new call, each failed one exactly one
    new call. Three rounds."""
    random.seed(1414)
    for round_ in range(3):
        s = Spool()
        a = Asterisk(s)
        try:
            for i in range(6):
                raw = f"oa=48500100200\nda=600700801\nud=Fax {i}\nscts=2026-12-02T17:58:0{i}\nsrr=1\n".encode()
                s.message(None, None, raw=raw, name=f"48500100200.2026-12-02T17:58:0{i}-{i}")
            rc, out, err = s.run()
            assert rc == 0, err
            calls = sorted(a.calls("fax"))
            assert len(calls) == 6, calls
            good = set()
            for i, name in enumerate(calls):
                call = read_callfile(os.path.join(s.outgoing, name))
                a.archive(name, COMPLETED)
                a.h(call, "fax", FAX_OK if i % 2 == 0 else FAX_CUT)
                if i % 2 == 0:
                    good.add(name[:-len(".fax.call")])
            look = lambda: (s.files("sms/.sms-suite/lasthop/results"), s.files("outgoing"),
                            s.files("sms/mttx"), s.files("outgoing_done"))
            delay, kills = 0.0, 0
            for _ in range(60):
                before = look()
                p = subprocess.Popen([os.path.join(BIN, "sms-process"), "--config", s.conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                delay += random.uniform(0.002, 0.012)
                time.sleep(delay)
                p.send_signal(signal.SIGKILL)
                p.wait()
                kills += 1
                if before != look():
                    break
            s.run()
            s.run()
            receipts = [t for t in notices(s) if t.startswith("Delivered to 600700801")]
            assert len(receipts) == 3, (round_, len(receipts), notices(s))
            resent = a.calls("fax")
            assert len(resent) == 3 and all(".fax.2.call" in n for n in resent), resent
            assert not any(n.split(".fax.")[0] in good for n in resent), resent
            assert len(s.files("sms/.sms-suite/lasthop/records")) == 3
            assert s.files("sms/.sms-suite/lasthop/results") == [] and s.files("outgoing_done") == []
            print(f"     (round {round_ + 1}: {kills} runs killed, the last after {delay * 1000:.0f} ms)")
        finally:
            s.cleanup()


@test
def stale_success_beside_a_waiting_call_settles_nothing():
    """A results file saying SUCCESS for the attempt while its call file still waits in
    outgoing/ (a late report of an earlier message of the same name): nothing settles, the TIFF
    and the call file stay, the result is kept aside and logged; the call's own report then
    settles the fax once."""
    s = Spool()
    a = Asterisk(s)
    try:
        raw = b"oa=48500100200\nda=600700801\nud=Fax me\nscts=2026-12-02T17:58:00\nsrr=1\n"
        s.message(None, None, raw=raw, name="48500100200.2026-12-02T17:58:00-1")
        rc, out, err = s.run()
        assert rc == 0, err
        name, call = a.take("fax")
        sv = dict(v.split("=", 1) for v in call["SetVar"])
        stem, tiff = sv["SMS_ID"], sv["SMS_FAX_FILE"]
        a.h(call, "fax", FAX_OK)  # a report while the call file has not been picked up
        result = f"{stem}.{sv['SMS_ATTEMPT']}"
        assert result in s.files("sms/.sms-suite/lasthop/results"), s.files("sms/.sms-suite/lasthop/results")
        logged = ""
        for _ in range(2):
            rc, out, err = s.run("--json", "-v")
            assert rc == 0, err
            logged += err
            assert not [o for o in jsonl(out) if "lasthop" in o], out
            assert os.path.isfile(tiff) and a.calls("fax") == [name], (s.files("outgoing"), err)
            assert notices(s) == [] and os.path.isfile(state(s, "records", stem))
        kept = s.files("sms/.sms-suite/lasthop/results")
        assert len(kept) == 1 and kept[0].startswith(result + ".ignored-"), kept
        assert logged.count("does not count") == 1 and "still waits in outgoing/" in logged, logged
        a.archive(name, COMPLETED)
        a.h(call, "fax", FAX_OK)
        rc, out, err = s.run("--json")
        lh = [o for o in jsonl(out) if "lasthop" in o]
        assert [o["outcome"] for o in lh] == ["delivered"], lh
        texts = notices(s)
        assert len(texts) == 1 and texts[0].startswith("Delivered to 600700801 at "), texts
        assert not os.path.exists(tiff) and a.calls("fax") == [] and s.files("outgoing_done") == []
        assert s.files("sms/.sms-suite/lasthop/results") == kept  # left for the administrator
    finally:
        s.cleanup()


if __name__ == "__main__":
    main()
