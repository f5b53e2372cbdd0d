"""SIP users switched off while registered (SPEC 2.11, T): sms-process asks the manager for the
user's contacts (PJSIPShowEndpoint, replayed from the recorded PJSIP Asterisk of
tests/data/pjsip) before sending, holds what nobody can take, and counts every message."""
import json
import os
import random
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from spoolkit import BIN, FakeManager, Spool, main, test  # noqa: E402

def jsonl(out):
    return [json.loads(line) for line in out.splitlines() if line.strip()]


NOT_LOGGED_IN = "Cannot deliver SMS to 600700803. VoIP user not logged in."


def notices(s, to="48500100200"):
    return [m["text"] for m in s.queue() if m["da"] == to]


def bodies(ami):
    return [b for _, _, b in ami.sent]


@test
def live_user_delivered_once():
    ami = FakeManager()
    s = Spool(ami.conf())
    try:
        s.message("48500100200", "600700803", "Hello live phone")
        rc, out, err = s.run("--json")
        assert rc == 0, err
        o = jsonl(out)[0]
        assert o["outcome"] == "routed" and "unconfirmed" not in o["detail"], o
        assert bodies(ami) == ["Hello live phone"] and ami.asked == ["600700803"], (ami.sent, ami.asked)
        s.run()
        assert len(ami.sent) == 1 and s.files("sms/morx") == [] and notices(s) == []
    finally:
        ami.close()
        s.cleanup()


@test
def dead_before_the_send_held_then_delivered():
    """Registered but switched off (Unreachable): nothing is sent; three messages cost one
    question per run; when the phone is back each is sent once."""
    ami = FakeManager(contacts={"600700803": "Unreachable"})
    s = Spool(ami.conf() + "[sip]\nhold_time = 3600\n")
    try:
        names = [s.message("48500100200", "600700803", f"Message {i}", name=f"48500100200.2026-12-07T03:00:0{i}-{i}")
                 for i in range(3)]
        for run in range(2):
            rc, out, err = s.run("--json")
            assert rc == 0, err
            objs = [o for o in jsonl(out) if "outcome" in o]
            assert [o["outcome"] for o in objs] == ["held"] * 3, objs
            assert "no reachable contact" in objs[0]["detail"] and "Unreachable" in objs[0]["detail"], objs[0]
            assert ami.sent == [] and s.files("sms/morx") == sorted(names) and notices(s) == []
            assert ami.asked == ["600700803"] * (run + 1), ami.asked  # once per run, not per message
        ami.contacts["600700803"] = "Reachable"
        rc, out, err = s.run("--json")
        assert [o["outcome"] for o in jsonl(out) if "outcome" in o] == ["routed"] * 3, out
        assert sorted(bodies(ami)) == ["Message 0", "Message 1", "Message 2"], ami.sent
        assert s.files("sms/morx") == [] and s.files("sms/.sms-suite/lasthop/sip") == []
        s.run()
        assert len(ami.sent) == 3 and notices(s) == []
    finally:
        ami.close()
        s.cleanup()


@test
def never_back_dead_letter_then_sms_queue_retry():
    """hold_time runs out: one notice, the message in failed/ with its reason, and sms-queue
    retry sends it once the user is back."""
    ami = FakeManager(contacts={"600700803": "Unreachable"})
    s = Spool(ami.conf() + "[sip]\nhold_time = 2\n")
    try:
        name = s.message("48500100200", "600700803", "Anyone?")
        rc, out, err = s.run("--json")
        assert jsonl(out)[0]["outcome"] == "held", out
        deadline = time.time() + 30
        while True:
            time.sleep(0.5)
            rc, out, err = s.run("--json")
            o = jsonl(out)[0]
            if o["outcome"] != "held" or time.time() > deadline:
                break
        assert o["outcome"] == "failed" and "not reachable" in o["detail"], o
        assert s.files("sms/morx") == [] and s.files("sms/morx/failed") == [name, name + ".why"]
        with open(os.path.join(s.morx, "failed", name + ".why")) as f:
            assert "SIP user 600700803 not reachable (no reachable contact" in f.read()
        assert notices(s) == [NOT_LOGGED_IN] and ami.sent == []
        assert s.files("sms/.sms-suite/lasthop/sip") == []
        s.run()
        assert notices(s) == [NOT_LOGGED_IN] and ami.sent == []
        ami.contacts["600700803"] = "Reachable"
        rc, out, err = s.run("retry", "--failed", tool="sms-queue")
        assert rc == 0, err
        rc, out, err = s.run("--json")
        assert jsonl(out)[0]["outcome"] == "routed", out
        assert bodies(ami) == ["Anyone?"] and s.files("sms/morx/failed") == [], (ami.sent, s.files("sms/morx/failed"), out, err)
    finally:
        ami.close()
        s.cleanup()


@test
def qualify_off_sent_and_reported_unconfirmed_once_per_run():
    ami = FakeManager(contacts={"600700803": "NonQualified"})
    s = Spool(ami.conf())
    try:
        for i in range(2):
            s.message("48500100200", "600700803", f"Blind {i}", name=f"48500100200.2026-12-07T03:01:0{i}-{i}")
        rc, out, err = s.run("--json", "-v")
        assert rc == 0, err
        objs = [o for o in jsonl(out) if "outcome" in o]
        assert [o["outcome"] for o in objs] == ["routed"] * 2, objs
        assert all("unconfirmed" in o["detail"] for o in objs), objs
        assert sorted(bodies(ami)) == ["Blind 0", "Blind 1"]
        warned = [l for l in err.splitlines() if "600700803" in l and "no qualify" in l and "warning" in l]
        assert len(warned) == 1, err
    finally:
        ami.close()
        s.cleanup()


@test
def manager_without_pjsip_sends_as_before_with_a_warning():
    ami = FakeManager(pjsip=False)
    s = Spool(ami.conf())
    try:
        for i in range(2):
            s.message("48500100200", "600700803", f"Old {i}", name=f"48500100200.2026-12-07T03:02:0{i}-{i}")
        rc, out, err = s.run("--json", "-v")
        assert rc == 0, err
        assert [o["outcome"] for o in jsonl(out) if "outcome" in o] == ["routed"] * 2, out
        assert sorted(bodies(ami)) == ["Old 0", "Old 1"]
        warned = [l for l in err.splitlines() if "Invalid/unknown command" in l]
        assert len(warned) == 1 and "unconfirmed" in warned[0], err
    finally:
        ami.close()
        s.cleanup()


@test
def confirm_no_asks_nothing():
    ami = FakeManager(contacts={"600700803": "Unreachable"})
    s = Spool(ami.conf() + "[sip]\nconfirm = no\n")
    try:
        s.message("48500100200", "600700803", "Trust Asterisk")
        rc, out, err = s.run("--json")
        assert jsonl(out)[0]["outcome"] == "routed", out
        assert bodies(ami) == ["Trust Asterisk"] and ami.asked == []
    finally:
        ami.close()
        s.cleanup()


@test
def long_message_parts_held_then_sent_once_each():
    """A text of two MessageSends to a switched-off user: held whole, then each part sent once."""
    ami = FakeManager(contacts={"600700803": "Unreachable"})
    s = Spool(ami.conf())
    try:
        text = " ".join(f"w{i:04d}" for i in range(200))  # 1,199 characters: two MessageSends
        s.message("48500100200", "600700803", text)
        rc, out, err = s.run("--json")
        assert jsonl(out)[0]["outcome"] == "held" and ami.sent == [], out
        ami.contacts["600700803"] = "Reachable"
        rc, out, err = s.run("--json")
        assert jsonl(out)[0]["outcome"] == "routed", out
        assert len(ami.sent) == 2 and "".join(bodies(ami)) == text
        s.run()
        assert len(ami.sent) == 2
    finally:
        ami.close()
        s.cleanup()


@test
def sigkill_while_held_and_while_sending():
    """sms-process killed at ever later moments over twelve messages to a user that is
    switched off (nothing may be sent), then back: in the end every message was sent and none
    is left; a message is sent twice only when a kill fell between Asterisk's Success and the
    journal's record of it (at most one per killed run, a duplicate rather than a loss)."""
    random.seed(2525)
    ami = FakeManager(contacts={"600700803": "Unreachable"})
    s = Spool(ami.conf())
    try:
        n = 12
        for i in range(n):
            s.message("48500100200", "600700803", f"Kill {i:02d}", name=f"48500100200.2026-12-07T03:03:{i:02d}-{i}")
        kills = {"held": 0, "back": 0}
        for phase in ("held", "back"):
            if phase == "back":
                ami.contacts["600700803"] = "Reachable"
            delay = 0.0
            for _ in range(40):
                p = subprocess.Popen([os.path.join(BIN, "sms-process"), "--config", s.conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                delay += random.uniform(0.002, 0.01)
                time.sleep(delay)
                p.send_signal(signal.SIGKILL)
                p.wait()
                kills[phase] += 1
                if phase == "back" and len(s.files("sms/morx")) < n:
                    break
            if phase == "held":
                assert ami.sent == [] and len(s.files("sms/morx")) == n
        s.run()
        s.run()
        got = sorted(bodies(ami))
        assert sorted(set(got)) == [f"Kill {i:02d}" for i in range(n)], (kills, got)
        assert len(got) - n <= kills["back"], (kills, got)
        assert s.files("sms/morx") == [] and s.files("sms/morx/failed") == [] and notices(s) == []
        print(f"     ({kills['held']} + {kills['back']} runs killed, {len(got) - n} duplicate(s))")
    finally:
        ami.close()
        s.cleanup()


if __name__ == "__main__":
    main()
