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


LASTHOP = "sms/.sms-suite/lasthop"


def pending(s):
    """The SIP parts waiting for their confirmation (lasthop items T.<stem>.<part>)."""
    return [n for n in s.files(LASTHOP) if n.startswith("T.")]


def age_pending(s, seconds=3600, only=None):
    """Fake time: the parts were sent `seconds` earlier (their first= and next= moved back), so
    that their qualify round has passed without the test waiting for it."""
    for n in pending(s):
        if only and only not in n:
            continue
        path = os.path.join(s.spool, LASTHOP, n)
        with open(path) as f:
            lines = f.read().splitlines()
        out = []
        for line in lines:
            k, _, v = line.partition("=")
            out.append(f"{k}={int(v) - seconds}" if k in ("first", "next") else line)
        with open(path, "w") as f:
            f.write("\n".join(out) + "\n")


def srr_message(s, oa, da, text, name=None):
    return s.message(oa, da, name=name, raw=f"oa={oa}\nda={da}\nud={text}\nscts=2026-12-07T03:00:00\nsrr=1\n".encode())


def lasthop_events(out):
    return [o for o in jsonl(out) if "lasthop" in o]


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


@test
def live_user_confirmed_after_its_qualify_round():
    """Sent to a Reachable contact: pending (listed by sms-queue as lasthop) until the round
    (qualify_frequency 10 + qualify_timeout 3 of the recorded AOR) passed; then the same
    registration still reachable is delivered once, with the receipt that was asked for."""
    ami = FakeManager()
    s = Spool(ami.conf())
    try:
        srr_message(s, "48500100200", "600700803", "Confirm me")
        rc, out, err = s.run("--json")
        assert rc == 0, err
        o = jsonl(out)[0]
        assert o["outcome"] == "routed" and "pending until its contact stayed reachable for 13 s" in o["detail"], o
        assert pending(s) and len(pending(s)) == 1 and s.files("sms/morx") == []
        rc, out, err = s.run("list", "--json", tool="sms-queue")
        items = [i for i in jsonl(out) if i.get("state") == "lasthop"]
        assert len(items) == 1 and items[0]["service"] == "T" and items[0]["to"] == "600700803", out
        assert items[0]["from"] == "48500100200" and "qualify round" in items[0]["reason"], items[0]
        rc, out, err = s.run("--json")  # inside the round: nothing asked, nothing settled
        assert lasthop_events(out) == [] and ami.asked == ["600700803"] and len(pending(s)) == 1, (out, ami.asked)
        age_pending(s)
        rc, out, err = s.run("--json")
        ev = lasthop_events(out)
        assert [e["outcome"] for e in ev] == ["delivered"] and "stayed reachable" in ev[0]["detail"], ev
        assert "receipt sent" in ev[0]["detail"], ev
        assert pending(s) == [] and bodies(ami) == ["Confirm me"]
        assert [t for t in notices(s) if t.startswith("Delivered to 600700803")], notices(s)
        rc, out, err = s.run("--json")
        assert lasthop_events(out) == [] and bodies(ami) == ["Confirm me"] and len(notices(s)) == 1
    finally:
        ami.close()
        s.cleanup()


@test
def dies_right_after_the_send_sent_again_once_when_back():
    """The phone is switched off right after Asterisk took the message: after the round the
    message goes back through the router (held: the user is Unreachable, no loss, no send into
    the void); when the phone registered again (a new Call-ID) it is sent exactly once more,
    and that send is confirmed."""
    ami = FakeManager()
    s = Spool(ami.conf() + "[sip]\nhold_time = 3600\n")
    try:
        s.message("48500100200", "600700803", "Are you there?")
        rc, out, err = s.run("--json")
        assert jsonl(out)[0]["outcome"] == "routed" and len(pending(s)) == 1, out
        ami.contacts["600700803"] = "Unreachable"
        age_pending(s)
        rc, out, err = s.run("--json")
        assert rc == 0, err
        ev = lasthop_events(out)
        assert [e["outcome"] for e in ev] == ["resent"] and "not reachable" in ev[0]["detail"], ev
        routed = [o for o in jsonl(out) if "outcome" in o and "lasthop" not in o]
        assert [o["outcome"] for o in routed] == ["held"], out
        assert pending(s) == [] and len(s.files("sms/morx")) == 1 and bodies(ami) == ["Are you there?"]
        for _ in range(2):
            rc, out, err = s.run("--json")
            assert [o["outcome"] for o in jsonl(out) if "outcome" in o] == ["held"], out
        assert bodies(ami) == ["Are you there?"]
        ami.contacts["600700803"] = "Reachable"
        ami.callids["600700803"] = "2-31337@127.0.0.1"
        rc, out, err = s.run("--json")
        assert [o["outcome"] for o in jsonl(out) if "outcome" in o] == ["routed"], out
        assert bodies(ami) == ["Are you there?"] * 2 and s.files("sms/morx") == [] and len(pending(s)) == 1
        age_pending(s)
        rc, out, err = s.run("--json")
        assert [e["outcome"] for e in lasthop_events(out)] == ["delivered"], out
        s.run()
        assert bodies(ami) == ["Are you there?"] * 2 and pending(s) == [] and s.files("sms/morx") == []
        assert s.files("sms/morx/failed") == [] and notices(s) == []
    finally:
        ami.close()
        s.cleanup()


@test
def registered_again_inside_the_round_is_sent_again():
    """Still Reachable after the round, but a new registration (the phone restarted: new
    Call-ID): the first MESSAGE may have gone to the dead one, so it is sent again, once."""
    ami = FakeManager()
    s = Spool(ami.conf())
    try:
        s.message("48500100200", "600700803", "New phone?")
        s.run()
        ami.callids["600700803"] = "3-42@127.0.0.1"
        age_pending(s)
        rc, out, err = s.run("--json")
        ev = lasthop_events(out)
        assert [e["outcome"] for e in ev] == ["resent"] and "registered again" in ev[0]["detail"], ev
        assert bodies(ami) == ["New phone?"] * 2 and len(pending(s)) == 1, (ami.sent, out)
        age_pending(s)
        rc, out, err = s.run("--json")
        assert [e["outcome"] for e in lasthop_events(out)] == ["delivered"], out
        assert bodies(ami) == ["New phone?"] * 2 and pending(s) == []
    finally:
        ami.close()
        s.cleanup()


@test
def dies_after_the_send_and_never_back_dead_letter():
    """Lost after the send and never back: the notice once, the text in failed/ with its
    reason (sms-queue retry can send it again), nothing pending."""
    ami = FakeManager()
    s = Spool(ami.conf() + "[sip]\nhold_time = 0\n")
    try:
        s.message("48500100200", "600700803", "Gone for good")
        s.run()
        ami.contacts["600700803"] = "Unreachable"
        age_pending(s)
        rc, out, err = s.run("--json")
        outcomes = [o["outcome"] for o in jsonl(out) if "outcome" in o]
        assert outcomes == ["resent", "failed"], out
        failed = s.files("sms/morx/failed")
        assert len(failed) == 2 and failed[1] == failed[0] + ".why", failed
        with open(os.path.join(s.morx, "failed", failed[0])) as f:
            assert "ud=Gone for good" in f.read()
        assert notices(s) == [NOT_LOGGED_IN] and pending(s) == []
        s.run()
        assert len(notices(s)) == 1 and bodies(ami) == ["Gone for good"] and s.files("sms/morx") == []
    finally:
        ami.close()
        s.cleanup()


@test
def sms_queue_shows_and_deletes_a_pending_part():
    ami = FakeManager()
    s = Spool(ami.conf())
    try:
        s.message("48500100200", "600700803", "Delete me later")
        s.run()
        rc, out, err = s.run("list", "--json", tool="sms-queue")
        items = [i for i in jsonl(out) if i.get("state") == "lasthop"]
        assert len(items) == 1, out
        rc, out, err = s.run("show", items[0]["id"], tool="sms-queue")
        assert rc == 0 and "Delete me later" in out and "600700803" in out, (out, err)
        rc, out, err = s.run("delete", "-y", items[0]["id"], tool="sms-queue")
        assert rc == 0 and pending(s) == [], (rc, out, err)
        age_pending(s)
        s.run()
        assert ami.asked == ["600700803"] and bodies(ami) == ["Delete me later"]
    finally:
        ami.close()
        s.cleanup()


@test
def manager_outage_keeps_it_pending():
    ami = FakeManager()
    s = Spool(ami.conf())
    try:
        s.message("48500100200", "600700803", "Outage")
        s.run()
        age_pending(s)
        ami.close()
        rc, out, err = s.run("--json")
        assert lasthop_events(out) == [] and len(pending(s)) == 1, (out, err)
        ami = FakeManager()
        s.write_conf(ami.conf())
        rc, out, err = s.run("--json")
        assert [e["outcome"] for e in lasthop_events(out)] == ["delivered"], out
        assert pending(s) == [] and ami.sent == []
    finally:
        ami.close()
        s.cleanup()


@test
def qualify_off_after_the_send_counts_as_delivered_unconfirmed():
    ami = FakeManager()
    s = Spool(ami.conf())
    try:
        s.message("48500100200", "600700803", "Was qualified")
        s.run()
        ami.contacts["600700803"] = "NonQualified"
        age_pending(s)
        rc, out, err = s.run("--json")
        ev = lasthop_events(out)
        assert [e["outcome"] for e in ev] == ["delivered"] and "unconfirmed" in ev[0]["detail"], ev
        assert pending(s) == [] and bodies(ami) == ["Was qualified"]
    finally:
        ami.close()
        s.cleanup()


@test
def long_message_each_part_confirmed_or_sent_again_on_its_own():
    """Two MessageSends; the manager dies after the first (sent again: only the second goes
    on the next run); part 1 is confirmed, then the phone dies: only part 2 is sent again."""
    ami = FakeManager()
    s = Spool(ami.conf() + "[sip]\nhold_time = 3600\n")
    try:
        text = " ".join(f"w{i:04d}" for i in range(200))
        s.message("48500100200", "600700803", text)
        ami.hangup_at = 2
        rc, out, err = s.run("--json")
        assert len(ami.sent) == 1 and pending(s) == [], (ami.sent, out)
        rc, out, err = s.run("--json")
        assert len(ami.sent) == 2 and "".join(bodies(ami)) == text, ami.sent
        parts = pending(s)
        assert len(parts) == 2 and parts[0].endswith(".1") and parts[1].endswith(".2"), parts
        age_pending(s, only=parts[0])
        rc, out, err = s.run("--json")
        assert [(e["outcome"], e["part"]) for e in lasthop_events(out)] == [("delivered", 1)], out
        ami.contacts["600700803"] = "Unreachable"
        age_pending(s)
        rc, out, err = s.run("--json")
        assert [(e["outcome"], e["part"]) for e in lasthop_events(out)] == [("resent", 2)], out
        ami.contacts["600700803"] = "Reachable"
        ami.callids["600700803"] = "4-1@127.0.0.1"
        s.run()
        assert len(ami.sent) == 3 and bodies(ami)[2] == bodies(ami)[1], ami.sent
        age_pending(s)
        s.run()
        assert len(ami.sent) == 3 and pending(s) == [] and s.files("sms/morx") == []
    finally:
        ami.close()
        s.cleanup()


@test
def sigkill_while_pending_and_while_settling():
    """sms-process killed at ever later moments: while it sends to a live user and writes the
    pending parts, then, the phone dead, while it settles them and holds what goes again, then,
    the phone back, while it sends again. In the end every message reached the phone after it
    came back, nothing is pending, held or failed; a message is sent more than twice only when
    a kill fell between Asterisk's Success and the journal's record of it."""
    random.seed(2526)
    ami = FakeManager()
    s = Spool(ami.conf() + "[sip]\nhold_time = 3600\n")
    try:
        n = 8
        texts = [f"Pend {i:02d}" for i in range(n)]
        for i, t in enumerate(texts):
            s.message("48500100200", "600700803", t, name=f"48500100200.2026-12-07T03:04:{i:02d}-{i}")
        kills = {"send": 0, "settle": 0, "back": 0}

        def kill_runs(phase, done):
            delay = 0.0
            for _ in range(40):
                p = subprocess.Popen([os.path.join(BIN, "sms-process"), "--config", s.conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                delay += random.uniform(0.002, 0.01)
                time.sleep(delay)
                p.send_signal(signal.SIGKILL)
                p.wait()
                kills[phase] += 1
                if done():
                    break

        kill_runs("send", lambda: s.files("sms/morx") == [])
        s.run()
        assert s.files("sms/morx") == [] and len(pending(s)) == n, (s.files("sms/morx"), pending(s))
        assert set(bodies(ami)) == set(texts)
        before = len(ami.sent)
        ami.contacts["600700803"] = "Unreachable"
        age_pending(s)
        kill_runs("settle", lambda: pending(s) == [])
        s.run()
        assert pending(s) == [] and len(s.files("sms/morx")) == n and len(ami.sent) == before
        ami.contacts["600700803"] = "Reachable"
        ami.callids["600700803"] = "5-5@127.0.0.1"
        kill_runs("back", lambda: s.files("sms/morx") == [])
        s.run()
        age_pending(s)
        s.run()
        got = bodies(ami)
        after = got[before:]
        assert sorted(set(after)) == texts, (kills, after)
        assert len(got) - 2 * n <= kills["send"] + kills["back"], (kills, got)
        assert pending(s) == [] and s.files("sms/morx") == [] and s.files("sms/morx/failed") == []
        assert s.files("sms/.sms-suite/lasthop/sip") == [] and notices(s) == []
        print(f"     ({kills['send']} + {kills['settle']} + {kills['back']} runs killed, "
              f"{len(got) - 2 * n} duplicate(s))")
    finally:
        ami.close()
        s.cleanup()


if __name__ == "__main__":
    main()
