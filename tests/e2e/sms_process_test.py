"""End-to-end tests of sms-process: the built binaries on a spool in a temporary folder with a
SQLite directory; every service, every notice, the fixtures, concatenation, bad input, outages."""
import json
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from spoolkit import DATA, FakeManager, Spool, main, read_callfile, read_message, test  # noqa: E402


def jsonl(out):
    return [json.loads(line) for line in out.splitlines() if line.strip()]


@test
def every_service_and_notice():
    ami = FakeManager(refuse={"600700805"})
    s = Spool(ami.conf())
    try:
        names = {
            "S": s.message("48500100200", "600700800", "Hello phone"),
            "F": s.message("48500100200", "600700801", "Hello fax machine"),
            "V": s.message("48500100200", "600700802", "Hello voice"),
            "C": s.message("48500100200", "1000", "echo ping pong"),
            "T": s.message("48500100200", "600700803", "Hello SIP"),
            "Tx": s.message("48500100200", "600700805", "SIP user away"),
            "N": s.message("48500100200", "600700804", "Disabled?"),
            "U": s.message("48500100200", "999", "Anybody?"),
        }
        rc, out, err = s.run("--json")
        assert rc == 0, (rc, err)
        objs = jsonl(out)
        # The SIP user away is held for [sip] hold_time (store and forward), not answered yet.
        assert objs[-1] == {"summary": {"routed": 7, "held": 1, "retry": 0, "failed": 0, "bad": 0}}, objs[-1]
        by_file = {o["file"]: o for o in objs[:-1]}
        for letter, name in names.items():
            o = by_file[name]
            assert list(o) == ["file", "oa", "da", "text", "concat", "service", "outcome", "detail"], list(o)
            assert o["service"] == letter[0] if letter != "U" else o["service"] == "U", o
            assert o["outcome"] == ("held" if letter == "Tx" else "routed"), o
        assert s.files("sms/morx") == [names["Tx"]], s.files("sms/morx")
        assert "routed 7, held 1, retry 0, failed 0, bad 0" in err, err

        q = s.queue()
        # S: the phone gets it from the original sender.
        to_phone = [m for m in q if m["da"] == "600700800"]
        assert len(to_phone) == 1 and to_phone[0]["oa"] == "48500100200", to_phone
        assert to_phone[0]["text"] == "Hello phone" and to_phone[0]["dcs"] == "0"
        # Answers to the sender (its service is S): command reply, and three notices.
        back = sorted((m["oa"], m["text"]) for m in q if m["da"] == "48500100200")
        assert back == sorted([
            ("1000", "ping pong"),
            ("9000", "Cannot deliver SMS to 600700804. Subscriber has disabled messaging service."),
            ("9000", "Cannot deliver SMS to 999. Number does not exist."),
        ]), back
        # One delivery call per phone queue.
        calls = s.files("outgoing")
        assert "smsq.mttx.600700800.1" in calls and "smsq.mttx.48500100200.1" in calls, calls
        c = read_callfile(os.path.join(s.outgoing, "smsq.mttx.600700800.1"))
        assert c["Channel"] == "PJSIP/600700800" and c["Application"] == "SMS", c
        assert c["Data"] == "600700800,sn" and c["CallerID"] == "SMS <9001>", c
        # F: a TIFF and a call running the fax context (SendFax, result reported from h).
        stem = names["F"].replace(":", "_")
        fax_calls = [n for n in calls if n.endswith(".fax.call")]
        assert len(fax_calls) == 1, calls
        fc = read_callfile(os.path.join(s.outgoing, fax_calls[0]))
        assert fc["Channel"] == "DAHDI/1" and fc["Context"] == "sms-fax-out", fc
        fsv = dict(v.split("=", 1) for v in fc["SetVar"])
        assert fsv["SMS_ID"].startswith(stem) and fsv["SMS_ATTEMPT"] == "1", fsv
        tiff = fsv["SMS_FAX_FILE"]
        assert os.path.isfile(tiff) and tiff.startswith(s.fax), tiff
        with open(tiff, "rb") as f:
            assert f.read(4) in (b"II*\x00", b"MM\x00*")
        # V: a WAV and a Playback call of its path without the extension.
        voice_calls = [n for n in calls if n.endswith(".voice.call")]
        assert len(voice_calls) == 1, calls
        vc = read_callfile(os.path.join(s.outgoing, voice_calls[0]))
        assert vc["Context"] == "sms-voice-out" and vc["Channel"] == "PJSIP/600700802", vc
        vsv = dict(v.split("=", 1) for v in vc["SetVar"])
        assert os.path.isfile(vsv["SMS_VOICE_FILE"] + ".wav"), vc
        # T: the manager got the SIP message, from the sender, to the subscriber.
        assert [(t, b) for _, t, b in ami.sent] == [("pjsip:600700803", "Hello SIP")], ami.sent
        assert "48500100200" in ami.sent[0][0]
        assert stem  # names derive from the input
        # A second run finds nothing to do and writes nothing again.
        before = (s.files("sms/mttx"), s.files("outgoing"))
        rc, out, err = s.run("--json")
        assert rc == 0 and jsonl(out)[-1]["summary"]["routed"] == 0, out
        assert (s.files("sms/mttx"), s.files("outgoing")) == before
        assert len(ami.sent) == 1
    finally:
        ami.close()
        s.cleanup()


@test
def command_answer_by_sip_and_unanswerable_sender():
    ami = FakeManager()
    s = Spool(ami.conf())
    try:
        s.message("700100200", "1000", "HOURS")   # T sender: answered by SIP
        s.message("700100300", "1000", "hours")   # F sender: cannot be answered
        rc, out, err = s.run("--json")
        assert rc == 0, err
        assert [(f, t, b) for f, t, b in ami.sent] == [(ami.sent[0][0], "pjsip:700100200", "Open 9-17.")], ami.sent
        assert "1000" in ami.sent[0][0]
        objs = jsonl(out)
        fax_sender = [o for o in objs[:-1] if o["oa"] == "700100300"][0]
        assert "cannot answer" in fax_sender["detail"], fax_sender
        assert s.queue() == []
    finally:
        ami.close()
        s.cleanup()


@test
def every_fixture_is_routed_as_its_text():
    s = Spool()
    try:
        src = os.path.join(DATA, "app_sms/morx")
        expected = {}
        for name in sorted(os.listdir(src)):
            shutil.copy(os.path.join(src, name), os.path.join(s.morx, name))
            expected[name] = read_message(os.path.join(src, name))["text"]
        rc, out, err = s.run("--json")
        assert rc == 0, err
        texts = sorted(m["text"] for m in s.queue())
        want = sorted(expected.values())
        assert "line one\nline two" in want and "Zażółć gęślą jaźń ΑΒΓ αβγ Ωμέγα" in want
        # The Polish/Greek text is transliterated for the GSM phone (unicode = transliterate).
        assert len(texts) == 4, texts
        assert "Hello from tester 1" in texts and "line one\nline two" in texts, texts
        assert any(t.startswith("L001-abcdefghi") and len(t) == 160 for t in texts), texts
        for m in s.queue():
            assert m["oa"] == "48500100200" and m["da"] == "48600700800", m
    finally:
        s.cleanup()


@test
def unicode_kept_as_ucs2_when_configured():
    s = Spool()
    s.write_conf("")
    with open(s.conf) as f:
        conf = f.read().replace("[general]\n", "[general]\nunicode = ucs2\n")
    with open(s.conf, "w") as f:
        f.write(conf)
    try:
        s.message("48500100200", "600700800", "Zażółć gęślą jaźń \U0001F600")
        rc, out, err = s.run()
        assert rc == 0, err
        (m,) = s.queue()
        assert m["text"] == "Zażółć gęślą jaźń \U0001F600" and m["dcs"] == "8", m
    finally:
        s.cleanup()


@test
def concatenated_parts_held_then_routed_as_one():
    s = Spool()
    try:
        p2 = s.message("48500100200", "600700800", "Part two.", udh="0003A70202")
        rc, out, err = s.run("--json")
        assert rc == 0, err
        o = jsonl(out)
        assert o[0]["outcome"] == "held" and o[0]["concat"] == {"ref": 167, "total": 2, "seq": 2}, o
        assert s.queue() == [] and s.files("sms/morx") == [p2]
        # Part one arrives, and a duplicate of part two.
        s.message("48500100200", "600700800", "Part one of a concatenated message. ", udh="0003A70201")
        s.message("48500100200", "600700800", "Part two.", udh="0003A70202")
        rc, out, err = s.run("--json")
        assert rc == 0, err
        assert jsonl(out)[-1]["summary"] == {"routed": 3, "held": 0, "retry": 0, "failed": 0, "bad": 0}
        (m,) = s.queue()
        assert m["text"] == "Part one of a concatenated message. Part two.", m
        assert "udh" not in m  # fits one SMS again
        assert s.files("sms/morx") == []
    finally:
        s.cleanup()


@test
def same_reference_from_two_senders_are_two_messages():
    s = Spool()
    try:
        s.message("48500100200", "600700800", "A1 ", udh="0003110201")
        s.message("48600700800", "600700800", "B2", udh="0003110202")
        s.message("48500100200", "600700800", "A2", udh="0003110202")
        s.message("48600700800", "600700800", "B1 ", udh="0003110201")
        rc, out, err = s.run()
        assert rc == 0, err
        got = sorted((m["oa"], m["text"]) for m in s.queue())
        assert got == [("48500100200", "A1 A2"), ("48600700800", "B1 B2")], got
    finally:
        s.cleanup()


@test
def long_reassembled_message_is_split_again_for_the_phone():
    s = Spool()
    try:
        a, b = "a" * 153, "b" * 100
        s.message("48500100200", "600700800", b, udh="0804BEEF0202")
        s.message("48500100200", "600700800", a, udh="0804BEEF0201")
        rc, out, err = s.run()
        assert rc == 0, err
        parts = sorted(s.queue(), key=lambda m: m["udh"][-2:])
        assert [p["text"] for p in parts] == [a, b], parts
        assert all(p["udh"].startswith("0003") and p["udh"].endswith(f"02{i + 1:02X}") for i, p in enumerate(parts)), parts
        assert len(s.files("outgoing")) == 1
    finally:
        s.cleanup()


@test
def incomplete_parts_routed_marked_after_the_timeout():
    s = Spool()
    with open(s.conf, "a") as f:
        pass
    with open(s.conf) as f:
        conf = f.read().replace("[general]\n", "[general]\nreassembly_timeout = 60\n")
    with open(s.conf, "w") as f:
        f.write(conf)
    try:
        old = time.time() - 3600
        s.message("48500100200", "600700800", "first ", udh="0003550301", mtime=old)
        s.message("48500100200", "600700800", "third", udh="0003550303", mtime=old)
        rc, out, err = s.run("--json")
        assert rc == 0, err
        objs = jsonl(out)
        assert all(o["outcome"] == "routed" and "incomplete" in o["detail"] for o in objs[:-1]), objs
        (m,) = s.queue()
        assert m["text"] == "first [...]third", m
    finally:
        s.cleanup()


@test
def bad_input_is_quarantined_once_and_nothing_else_touched():
    s = Spool()
    try:
        old = time.time() - 3600  # past incomplete_grace: nobody is still writing these
        s.message(None, None, name="garbage", raw=os.urandom(300).replace(b"\n", b"x") + b"\n", mtime=old)
        s.message(None, None, name="truncated", raw=b"oa=48500100200\nda=600700800\nud=Hello wor", mtime=old)
        s.message(None, None, name="noda", raw=b"oa=48500100200\nud=x\nscts=2026-11-29T22:53:42\n", mtime=old)
        s.message(None, None, name="pathy", raw=b"oa=../../etc\nda=1\nscts=2026-11-29T22:53:42\n", mtime=old)
        s.message(None, None, name="newlines\nin\nname", raw=b"oa=48500100200\nda=600700800\nud=odd name\nscts=2026-11-29T22:53:42\n", mtime=old)
        os.mkdir(os.path.join(s.morx, "48500100200.2026-11-29T22:53:42-99"))
        with open(os.path.join(s.morx, ".48500100200.2026-11-29T22:53:42-98"), "w") as f:
            f.write("oa=48500100200\nda=600700800\nud=being writ")
        rc, out, err = s.run("--json")
        assert rc == 0, err
        objs = jsonl(out)
        assert objs[-1]["summary"] == {"routed": 0, "held": 0, "retry": 0, "failed": 0, "bad": 5}, objs
        bad = [n for n in s.files("sms/morx/bad") if not n.endswith(".why")]
        bad = sorted(bad, key=lambda n: n.startswith("newlines"))
        assert sorted(bad[:4]) == sorted(["garbage", "truncated", "noda", "pathy"]), bad
        assert bad[4].startswith("newlines_in_name-"), bad  # renamed to a name without controls
        truncated = [o for o in objs if o.get("file") == "truncated"][0]
        assert "newline" in truncated["detail"], truncated
        # Each one's reason beside it, one line (issue 15 item 13).
        for n in bad:
            with open(os.path.join(s.spool, "sms/morx/bad", n + ".why")) as f:
                why = f.read()
            assert why.endswith("\n") and why.count("\n") == 1 and len(why) > 5, (n, why)
        with open(os.path.join(s.spool, "sms/morx/bad/truncated.why")) as f:
            assert f.read() == truncated["detail"] + "\n"
        assert s.queue() == []
        # The folder and the dotfile are left alone; a second run does not quarantine again.
        assert os.path.isdir(os.path.join(s.morx, "48500100200.2026-11-29T22:53:42-99"))
        assert os.path.exists(os.path.join(s.morx, ".48500100200.2026-11-29T22:53:42-98"))
        rc, out, err = s.run("--json")
        assert jsonl(out)[-1]["summary"]["bad"] == 0
    finally:
        s.cleanup()


@test
def dry_run_changes_nothing():
    s = Spool()
    try:
        for da in ("600700800", "600700804", "999", "1000"):
            s.message("48500100200", da, "x")
        s.message(None, None, name="nonsense", raw=b"nonsense\n", mtime=time.time() - 3600)

        def snapshot():
            out = []
            for root, dirs, files in os.walk(s.root):
                for f in files:
                    p = os.path.join(root, f)
                    out.append((p, os.stat(p).st_mtime_ns))
            return sorted(out)

        before = snapshot()
        rc, out, err = s.run("--dry-run", "--json")
        assert rc == 0, err
        objs = jsonl(out)
        assert objs[-1]["summary"] == {"routed": 4, "held": 0, "retry": 0, "failed": 0, "bad": 1}, objs
        assert snapshot() == before
        assert "dry run" in err
    finally:
        s.cleanup()


@test
def directory_outage_keeps_messages_then_dead_letters():
    s = Spool()
    try:
        os.rename(s.db, s.db + ".away")
        n = s.message("48500100200", "600700800", "keep me")
        rc, out, err = s.run("--json")
        assert rc == 75, (rc, err)
        assert jsonl(out)[0]["outcome"] == "retry", out
        assert s.files("sms/morx") == [n] and s.queue() == [] and s.files("outgoing") == []
        # After retry_limit the message goes to failed/ (the directory is still down: nobody
        # can be told, and nothing is lost).
        with open(s.conf) as f:
            conf = f.read().replace("[general]\n", "[general]\nretry_limit = 10\n")
        with open(s.conf, "w") as f:
            f.write(conf)
        # retry_limit counts from the first failure, as recorded (not from the file's mtime).
        retry = os.path.join(s.spool, "sms/.sms-suite/retry")
        with open(os.path.join(retry, n), "w") as f:
            f.write(f"first_failure={int(time.time()) - 60}\nreason=directory down\n")
        rc, out, err = s.run("--json")
        assert rc == 0, (rc, err)
        assert jsonl(out)[0]["outcome"] == "failed", out
        assert s.files("sms/morx") == [] and s.files("sms/morx/failed") == [n, n + ".why"]
        # Back up: the sender of a dead-lettered message is told.
        os.rename(s.db + ".away", s.db)
        n2 = s.message("48500100200", "600700803", "to sip, manager down")
        with open(os.path.join(retry, n2), "w") as f:
            f.write(f"first_failure={int(time.time()) - 60}\nreason=manager down\n")
        with open(s.conf, "a") as f:
            f.write("[ami]\nport = 1\ntimeout = 1\n")
        rc, out, err = s.run("--json")
        assert rc == 0, (rc, err)
        assert n2 in s.files("sms/morx/failed") and n2 + ".why" in s.files("sms/morx/failed")
        (m,) = s.queue()
        assert m["da"] == "48500100200" and m["text"] == "Cannot deliver SMS to 600700803.", m
    finally:
        s.cleanup()


@test
def manager_down_is_temporary():
    s = Spool("[ami]\nport = 1\ntimeout = 1\n")
    try:
        n = s.message("48500100200", "600700803", "hello")
        rc, out, err = s.run("--json")
        assert rc == 75, (rc, err)
        assert s.files("sms/morx") == [n] and s.queue() == []
    finally:
        s.cleanup()


@test
def sweep_requeues_a_call_for_a_queue_without_one():
    s = Spool()
    try:
        os.makedirs(s.mttx)
        with open(os.path.join(s.mttx, "600700800.left-over-1"), "w") as f:
            f.write("oa=48500100200\nda=600700800\nud##0041\nscts=2026-11-29T22:53:42\ndcs=0\n")
        rc, out, err = s.run()
        assert rc == 0, err
        assert s.files("outgoing") == ["smsq.mttx.600700800.1"], s.files("outgoing")
        c = read_callfile(os.path.join(s.outgoing, "smsq.mttx.600700800.1"))
        assert c["Channel"] == "PJSIP/600700800", c
        # Pending: not written again.
        os.utime(os.path.join(s.outgoing, "smsq.mttx.600700800.1"), (1, 1))
        rc, out, err = s.run()
        assert os.stat(os.path.join(s.outgoing, "smsq.mttx.600700800.1")).st_mtime == 1
    finally:
        s.cleanup()


@test
def fax_too_long_is_dead_lettered_and_sender_told():
    s = Spool("")
    with open(s.conf) as f:
        conf = f.read().replace("[fax]\n", "[fax]\nmax_pages = 1\n")
    with open(s.conf, "w") as f:
        f.write(conf)
    try:
        n = s.message("48500100200", "600700801", "word " * 3000)
        rc, out, err = s.run("--json")
        assert rc == 0, (rc, err)
        assert jsonl(out)[0]["outcome"] == "failed", out
        assert s.files("sms/morx/failed") == [n, n + ".why"]
        with open(os.path.join(s.spool, "sms/morx/failed", n + ".why")) as f:
            why = f.read()
        assert why == jsonl(out)[0]["detail"] + "\n", why
        (m,) = s.queue()
        assert m["text"] == "Cannot deliver SMS to 600700801.", m
        assert not [c for c in s.files("outgoing") if c.endswith(".fax.call")]
    finally:
        s.cleanup()


def raw_message(lines):
    return ("\n".join(lines) + "\n").encode()


@test
def seven_forms_app_sms_reads_are_routed_with_their_texts():
    """Issue 16: every form app_sms's sms_readfile accepts is routed with its exact text."""
    ami = FakeManager()
    s = Spool(ami.conf())
    scts = "scts=2026-11-29T22:53:42"
    try:
        w = lambda name, lines: s.message(None, None, name=name, raw=raw_message(lines) if isinstance(lines, list) else lines)
        w("1-case", ["OA=48500100200", "Da = 600700800", "UD=Keys in capitals", "SCTS = 2026-11-29T22:53:42", "MR=1"])
        w("2-unknown", ["oa=48500100200", "da=600700800", "foo=bar", "x-custom#ABCD", "udhx#00",
                        "a line without separator", "ud=Unknown lines ignored", scts])
        w("3-nooa", ["da=600700800", "ud=From nobody known", scts])
        w("3-nooa-fax", ["da=600700801", "ud=A fax from nobody known", scts])
        w("4-udh", ["oa=48500100200", "da=600700800", "udh#050003AB0301", "ud=Header broken", scts])
        w("5-concat", ["oa=48500100200", "da=600700800", "udh#0003AB0203", "ud=Part 3 of 2", scts])
        w("6-pair-1", b"oa=48500100200\nda=600700803\nudh#0003CD0201\nud=Smile \xed\xa0\xbd\n" + scts.encode() + b"\n")
        w("6-pair-2", b"oa=48500100200\nda=600700803\nudh#0003CD0202\nud=\xed\xb8\x80 done\n" + scts.encode() + b"\n")
        w("7-empty-fax", ["oa=48500100200", "da=600700801", scts])
        w("7-empty-voice", ["oa=48500100200", "da=600700802", scts])
        rc, out, err = s.run("--json")
        assert rc == 0, (rc, err)
        objs = jsonl(out)
        assert objs[-1] == {"summary": {"routed": 10, "held": 0, "retry": 0, "failed": 0, "bad": 0}}, objs
        by = {o["file"]: o for o in objs[:-1]}
        assert all(o["outcome"] == "routed" for o in by.values()), by
        assert s.files("sms/morx") == [] and s.files("sms/morx/bad") == []
        # S phone: exact texts; the unknown sender's message carries no oa.
        got = sorted((m.get("oa", ""), m["text"]) for m in s.queue())
        assert got == sorted([
            ("48500100200", "Keys in capitals"), ("48500100200", "Unknown lines ignored"),
            ("", "From nobody known"), ("48500100200", "Header broken"),
            ("48500100200", "Part 3 of 2"),
        ]), got
        assert by["3-nooa"]["oa"] == "" and "unknown sender" in by["3-nooa"]["detail"], by["3-nooa"]
        assert by["5-concat"]["concat"] is None and by["4-udh"]["concat"] is None
        # The split pair made the character again, in the SIP message and in "joined".
        assert [b for _, _, b in ami.sent] == ["Smile \U0001F600 done"], ami.sent
        joined = [o for o in objs[:-1] if "joined" in o]
        assert len(joined) == 1 and joined[0]["joined"] == "Smile \U0001F600 done", joined
        assert joined[0]["file"] in ("6-pair-1", "6-pair-2")
        assert by["6-pair-1"]["text"] == "Smile \uFFFD", by["6-pair-1"]
        # Fax (twice: the unknown sender's, the empty one) and voice (empty: the header alone).
        calls = s.files("outgoing")
        assert len([c for c in calls if c.endswith(".fax.call")]) == 2, calls
        (vc,) = [c for c in calls if c.endswith(".voice.call")]
        vsv = dict(v.split("=", 1) for v in read_callfile(os.path.join(s.outgoing, vc))["SetVar"])
        wav = vsv["SMS_VOICE_FILE"] + ".wav"
        assert os.path.getsize(wav) > 8000 * 2 * 2, os.path.getsize(wav)  # lead second + header
    finally:
        ami.close()
        s.cleanup()


@test
def same_reference_reused_gives_two_messages():
    """Issue 15 item 1: two long messages from one sender with one reference are both delivered."""
    s = Spool()
    try:
        def part(scts, seq, text):
            lines = ["oa=48500100200", "da=600700800", f"udh#00030702{seq:02X}", f"ud={text}", f"scts={scts}"]
            return s.message(None, None, name=f"48500100200.{scts}-{seq}", raw=raw_message(lines))
        part("2026-11-29T10:00:00", 1, "Meeting moved to 5pm, ")
        part("2026-11-29T10:00:01", 2, "bring the contract.")
        part("2026-11-29T11:00:00", 1, "Cancel the order, ")
        part("2026-11-29T11:00:01", 2, "the price is wrong.")
        part("2026-11-29T11:00:02", 2, "the price is wrong.")  # a true duplicate: consumed
        rc, out, err = s.run("--json")
        assert rc == 0, err
        assert jsonl(out)[-1]["summary"] == {"routed": 5, "held": 0, "retry": 0, "failed": 0, "bad": 0}, out
        got = sorted(m["text"] for m in s.queue())
        assert got == ["Cancel the order, the price is wrong.", "Meeting moved to 5pm, bring the contract."], got
        assert s.files("sms/morx") == []
    finally:
        s.cleanup()


@test
def parallel_runs_never_split_a_set():
    """Issue 15 item 9: 300 three-part messages, 8 runs at once: every set delivered whole,
    exactly once. First as the dialplan does it (a run started as parts keep arriving), then
    after an outage (every part already there and older than reassembly_timeout)."""
    import subprocess
    for aged in (False, True):
        s = Spool()
        try:
            with open(s.conf) as f:
                conf = f.read().replace("[general]\n", "[general]\nreassembly_timeout = 60\n")
            with open(s.conf, "w") as f:
                f.write(conf)
            cmd = [os.path.join(os.environ.get("SMS_BIN_DIR", "build/tools"), "sms-process"), "--config", s.conf, "--json"]
            # Output into files: a run blocked on a full pipe would hold the others up.
            logs = [(open(os.path.join(s.root, f"out{i}"), "w+"), open(os.path.join(s.root, f"err{i}"), "w+")) for i in range(8)]
            procs = []

            def start():
                o, e = logs[len(procs)]
                procs.append(subprocess.Popen(cmd, stdout=o, stderr=e))

            old = time.time() - 3600 if aged else None
            want = []
            written = 0
            for i in range(300):
                texts = [f"m{i:03d}a ", f"m{i:03d}b ", f"m{i:03d}c"]
                want.append("".join(texts))
                for seq, t in enumerate(texts, 1):
                    s.message("48500100200", "600700800", t, udh=f"0804{i >> 8:02X}{i & 0xFF:02X}03{seq:02X}",
                              name=f"48500100200.2026-11-29T22:53:42-{i}-{seq}", mtime=old)
                    written += 1
                    if not aged and written % 128 == 0 and len(procs) < 7:
                        start()  # the dialplan starts a run per message received
            while len(procs) < 8:
                start()
            for p in procs:
                p.wait(timeout=300)
            outs = []
            for o, e in logs:
                o.seek(0)
                e.seek(0)
                outs.append((o.read(), e.read()))
                o.close()
                e.close()
            assert all(p.returncode == 0 for p in procs), [(p.returncode, e[-500:]) for p, (o, e) in zip(procs, outs)]
            routed = sum(jsonl(o)[-1]["summary"]["routed"] for o, _ in outs)
            texts = sorted(m["text"] for m in s.queue())
            assert texts == sorted(want), (aged, len(texts), [t for t in texts if t not in want][:5])
            assert routed == 900, routed
            assert s.files("sms/morx") == [], (aged, s.files("sms/morx")[:10])
        finally:
            s.cleanup()


@test
def a_file_being_written_is_left_then_quarantined_when_old():
    """Issue 15 item 13: an unfinished file younger than incomplete_grace is left for its
    writer; older, it is quarantined with its reason beside it."""
    s = Spool()
    try:
        path = os.path.join(s.morx, "48500100200.2026-11-29T22:53:42-7")
        with open(path, "wb") as f:
            f.write(b"oa=48500100200\nda=600700800\nud=Half of")
        cut = s.message(None, None, name="cut", raw=b"oa=48500100200\nda=600700800\nud=Never ends")
        rc, out, err = s.run("--json")
        assert rc == 0, err
        objs = jsonl(out)
        assert objs[-1]["summary"] == {"routed": 0, "held": 2, "retry": 0, "failed": 0, "bad": 0}, objs
        assert "incomplete_grace" in objs[0]["detail"], objs
        assert s.files("sms/morx") == sorted([cut, os.path.basename(path)]) and s.files("sms/morx/bad") == []
        # The writer finishes: routed whole.
        with open(path, "ab") as f:
            f.write(b" a message\nscts=2026-11-29T22:53:42\n")
        # The other one's writer died: once past the grace, it is quarantined.
        old = time.time() - 60
        os.utime(os.path.join(s.morx, cut), (old, old))
        rc, out, err = s.run("--json")
        assert rc == 0, err
        assert jsonl(out)[-1]["summary"] == {"routed": 1, "held": 0, "retry": 0, "failed": 0, "bad": 1}, out
        assert [m["text"] for m in s.queue()] == ["Half of a message"], s.queue()
        assert s.files("sms/morx/bad") == [cut, cut + ".why"]
        with open(os.path.join(s.spool, "sms/morx/bad", cut + ".why")) as f:
            assert "newline" in f.read()
    finally:
        s.cleanup()


if __name__ == "__main__":
    main()
