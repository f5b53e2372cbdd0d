"""examples/extensions.conf as far as a test can check it without Asterisk: the syntax
pbx_config reads (sections, exten/same lines, priorities, labels, balanced ${} $[] and
parentheses), every Goto/GotoIf label exists, and every application exists by name in the
Asterisk the fixtures were recorded with (tests/data/lasthop/asterisk-applications.txt, derived
from the recorded full logs; the derivation is re-checked here)."""
import glob
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from spoolkit import DATA, SRC, main, test  # noqa: E402

CONF = os.path.join(SRC, "examples", "extensions.conf")
APPS = os.path.join(DATA, "lasthop", "asterisk-applications.txt")
# The contexts the suite's call files run: only applications the recording ran.
DELIVERY = ("sms-deliver",)


def applications():
    recorded, builtin = set(), set()
    with open(APPS) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            name, module, _ = line.split(None, 2)
            (builtin if module == "core-builtin" else recorded).add(name)
    return recorded, builtin


def strip_comment(line):
    out, i = "", 0
    while i < len(line):
        if line[i] == "\\" and i + 1 < len(line):
            out += line[i:i + 2]
            i += 2
            continue
        if line[i] == ";":
            break
        out += line[i]
        i += 1
    return out.rstrip()


def balanced(s):
    stack = []
    pairs = {")": "(", "}": "{", "]": "["}
    i = 0
    while i < len(s):
        c = s[i]
        if c == "\\":
            i += 2
            continue
        if c == "$" and i + 1 < len(s) and s[i + 1] in "{[":
            stack.append(s[i + 1])
            i += 2
            continue
        if c == "(":
            stack.append("(")
        elif c in ")}]":
            if not stack or stack[-1] != pairs[c]:
                return False
            stack.pop()
        i += 1
    return not stack


def parse(path):
    """{context: [(exten, priority, label, app, args, lineno)]}"""
    contexts, ctx, exten, prio = {}, None, None, 0
    line_re = re.compile(r"^(exten|same)\s*=>?\s*(.*)$")
    with open(path) as f:
        for no, raw in enumerate(f, 1):
            line = strip_comment(raw.rstrip("\n")).strip()
            if not line:
                continue
            m = re.match(r"^\[([A-Za-z0-9_-]+)\](\(.*\))?$", line)
            if m:
                ctx = m.group(1)
                assert ctx not in contexts, f"{path}:{no}: context [{ctx}] twice"
                contexts[ctx] = []
                exten = None
                continue
            assert ctx is not None, f"{path}:{no}: a line before any [context]"
            if ctx == "globals":
                assert re.match(r"^[A-Za-z_][A-Za-z0-9_]*\s*=", line), f"{path}:{no}: {line}"
                continue
            m = line_re.match(line)
            assert m, f"{path}:{no}: not an exten/same line: {line}"
            kind, rest = m.groups()
            if kind == "exten":
                ext, _, rest = rest.partition(",")
                assert ext and re.match(r"^[A-Za-z0-9_+.\[\]\-!]+$", ext), f"{path}:{no}: extension '{ext}'"
                exten = ext
            else:
                assert exten is not None, f"{path}:{no}: 'same' with no exten before it"
            p, _, rest = rest.partition(",")
            pm = re.match(r"^(\d+|n)(\(([A-Za-z0-9_]+)\))?$", p.strip())
            assert pm, f"{path}:{no}: priority '{p}'"
            if kind == "exten":
                assert pm.group(1) == "1", f"{path}:{no}: a new extension starts at priority 1"
                prio = 1
            else:
                assert pm.group(1) == "n" or int(pm.group(1)) == prio + 1, f"{path}:{no}: priority"
                prio += 1
            am = re.match(r"^([A-Za-z][A-Za-z0-9_]*)\((.*)\)$", rest.strip())
            assert am, f"{path}:{no}: application call '{rest}'"
            assert balanced(am.group(2)), f"{path}:{no}: unbalanced brackets in {am.group(2)}"
            contexts[ctx].append((exten, prio, pm.group(3), am.group(1), am.group(2), no))
    return contexts


@test
def the_application_list_is_what_the_recordings_ran():
    executed = set()
    for log in glob.glob(os.path.join(DATA, "lasthop", "full-logs", "*.log")):
        with open(log, encoding="latin-1") as f:
            executed |= set(re.findall(r"Executing \[[^\]]*\] ([A-Za-z]+)\(", f.read()))
    with open(os.path.join(DATA, "lasthop", "full-logs", "agi-transcript.txt")) as f:
        if "agi_request:" in f.read():
            executed.add("AGI")
    recorded, builtin = applications()
    assert recorded == executed, (recorded ^ executed)
    assert not (builtin & executed)


@test
def syntax_labels_and_applications():
    contexts = parse(CONF)
    recorded, builtin = applications()
    for d in DELIVERY:
        assert d in contexts, f"no [{d}] in {CONF}"
    for ctx, lines in contexts.items():
        labels = {l[2] for l in lines if l[2]}
        for exten, prio, label, app, args, no in lines:
            allowed = recorded if ctx in DELIVERY else recorded | builtin
            assert app in allowed, f"{CONF}:{no}: [{ctx}] uses {app}(), not in {APPS}"
            if app == "GotoIf":
                for target in re.split(r"[?:]", args.split("?", 1)[1]) if "?" in args else []:
                    if target:
                        assert target in labels, f"{CONF}:{no}: no label '{target}' in [{ctx}]"
            if app == "Goto" and "," not in args:
                assert args in labels, f"{CONF}:{no}: no label '{args}' in [{ctx}]"
    # The delivery context: SMS() from the call file's variables, then the settle-up in h.
    deliver = contexts["sms-deliver"]
    assert ("s", 1) == deliver[0][:2] and deliver[0][3] == "SMS", deliver[0]
    assert deliver[0][4] == "${SMS_QUEUE},${SMS_OPTIONS}", deliver[0]
    h = [l for l in deliver if l[0] == "h"]
    assert h and h[0][3] == "System" and h[0][4].split()[0] == "sms-process", h
    # The SMS centre logs received texts privately (option n): the log sms-process trusts holds
    # no text a phone chose.
    (centre,) = [l for l in contexts["sms-centre"] if l[3] == "SMS"]
    queue, options = centre[4].split(",")
    assert queue == "${CALLERID(num)}" and set(options) == set("san"), centre


@test
def the_checker_refuses_bad_dialplans():
    import tempfile
    bad = ["[c]\nsame => n,NoOp()\n", "[c]\nexten => s,2,NoOp()\n", "[c]\nexten => s,1,NoOp(${X)\n",
           "exten => s,1,NoOp()\n", "[c]\nexten => s,1,NoOp\n"]
    for text in bad:
        with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
            f.write(text)
        try:
            parse(f.name)
        except AssertionError:
            continue
        finally:
            os.unlink(f.name)
        raise AssertionError(f"accepted: {text!r}")


if __name__ == "__main__":
    main()
