"""Service E end to end (SPEC 2.14): sms-process mails an SMS through the machine's real exim4
(configured by scripts/exim-test-setup.sh: local delivery into the Maildirs of test users), and
the mail is read back with Python's email package; a mail server that answers 75 once, one that
refuses, and one killed half-way stand in through small sendmail wrappers."""
import email
import email.policy
import fcntl
import glob
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from spoolkit import SRC, Spool, main, test  # noqa: E402

SETUP = os.path.join(SRC, "scripts/exim-test-setup.sh")
SENDMAIL = "/usr/sbin/sendmail"
MAILBOX1, MAILBOX2 = "sms-mail-test1", "sms-mail-test2"
PHONE, MAILER = "48500100200", "48600700810"


def setup_exim():
    p = subprocess.run([SETUP], capture_output=True, text=True)
    assert p.returncode == 0, f"exim-test-setup failed ({p.returncode}): {p.stderr}"


def maildir(user):
    return os.path.join(os.path.expanduser(f"~{user}"), "Maildir")


def clear(user):
    for f in glob.glob(os.path.join(maildir(user), "new", "*")) + glob.glob(
            os.path.join(maildir(user), "cur", "*")):
        os.unlink(f)


def wait_mail(user, count, deadline=60):
    """The mails in the user's Maildir once there are `count` (polling; a busy machine may take
    a while), parsed."""
    end = time.time() + deadline
    while True:
        files = sorted(glob.glob(os.path.join(maildir(user), "new", "*")))
        if len(files) >= count or time.time() > end:
            break
        time.sleep(0.2)
    assert len(files) == count, f"{user}: {len(files)} mails, expected {count}"
    out = []
    for f in files:
        with open(f, "rb") as fh:
            out.append(email.message_from_binary_file(fh, policy=email.policy.default))
    return out


def exim_queue_empty(deadline=60):
    """Waits until exim has no message left in its queue (every delivery attempted)."""
    end = time.time() + deadline
    while time.time() < end:
        p = subprocess.run(["exim4", "-bpc"], capture_output=True, text=True)
        if p.stdout.strip() == "0":
            return
        time.sleep(0.2)
    raise AssertionError("exim's queue did not empty")


class Lock:
    """One test at a time uses the machine's test mailboxes (the dev and asan builds may run
    this test at once)."""
    def __enter__(self):
        os.makedirs("/var/lib/sms-suite-test", exist_ok=True)
        self.f = open("/var/lib/sms-suite-test/mail.lock", "w")
        fcntl.flock(self.f, fcntl.LOCK_EX)
        clear(MAILBOX1)
        clear(MAILBOX2)
        return self

    def __exit__(self, *a):
        self.f.close()


def ucs2(s):
    """Keeps Polish and emoji in queue files for phones (no transliteration) to compare them."""
    with open(s.conf) as f:
        conf = f.read()
    with open(s.conf, "w") as f:
        f.write(conf.replace("[general]\n", "[general]\nunicode = ucs2\n", 1))
    return s


def spool(sendmail=SENDMAIL, extra=""):
    directory = [
        (PHONE, "S", "PJSIP/48500100200"),
        (MAILER, "E", f"{MAILBOX1}@localhost"),
        ("48600700811", "E", f"{MAILBOX2}@localhost"),
    ]
    return Spool(directory=directory, extra_conf=f"""[mail]
sendmail = {sendmail}
from = sms@localhost
domain = sms.example.org
{extra}""")


def wrapper(s, name, body):
    path = os.path.join(s.root, name)
    with open(path, "w") as f:
        f.write("#!/bin/sh\n" + body + "\n")
    os.chmod(path, 0o755)
    return path


TEXTS = {
    "polish": "Zażółć gęślą jaźń. ZAŻÓŁĆ GĘŚLĄ JAŹŃ — dzień dobry!",
    "emoji": "Kawa? ☕ 😀🇵🇱 👍🏽",
    "long": ("Bardzo długa wiadomość 😀 " * 40)[:700],
    "bcc": f"Hello\nBcc: {MAILBOX2}@localhost\nSubject: injected",
}


@test
def e_mails_reach_a_real_mailbox_and_decode_back():
    setup_exim()
    with Lock():
        s = spool()
        try:
            for t in TEXTS.values():
                s.message(PHONE, MAILER, t)
            rc, out, err = s.run("--json")
            assert rc == 0, err
            assert s.files("sms/morx") == [], s.files("sms/morx")
            assert out.count('"outcome":"routed"') == 4, out
            assert '"service":"E"' in out, out
            mails = wait_mail(MAILBOX1, 4)
            exim_queue_empty()
            got = sorted(m.get_content() for m in mails)
            want = sorted(t + "\n" for t in TEXTS.values())
            assert got == want, (got, want)
            assert len(TEXTS["long"]) == 700
            for m in mails:
                assert m["Subject"] == f"SMS from {PHONE}", m["Subject"]
                assert m["From"].addresses[0].display_name == PHONE, m["From"]
                assert m["From"].addresses[0].addr_spec == "sms@localhost", m["From"]
                assert m["To"].addresses[0].addr_spec == f"{MAILBOX1}@localhost"
                assert m["Reply-To"].addresses[0].addr_spec == f"{PHONE}@sms.example.org"
                assert m.get_content_type() == "text/plain"
                assert m.get_content_charset() == "utf-8"
                assert m["Bcc"] is None and m["Message-ID"]
                raw = m.as_bytes()
                assert all(len(line) <= 78 for line in raw.split(b"\n")), "a line over 78"
            # The text's "Bcc:" line made no header and no copy.
            assert glob.glob(os.path.join(maildir(MAILBOX2), "new", "*")) == []
            assert len({m["Message-ID"] for m in mails}) == 4
        finally:
            s.cleanup()


@test
def a_mail_server_answering_75_once_is_a_retry_then_one_mail():
    setup_exim()
    with Lock():
        s = spool()
        try:
            flag = os.path.join(s.root, "answered-75")
            w = wrapper(s, "sendmail-75-once",
                        f'if [ ! -e {flag} ]; then : >{flag}; cat >/dev/null; exit 75; fi\n'
                        f'exec {SENDMAIL} "$@"')
            s.write_conf(f"[mail]\nsendmail = {w}\nfrom = sms@localhost\n")
            name = s.message(PHONE, MAILER, "Spróbuj jeszcze raz")
            rc, out, err = s.run("--json")
            assert rc == 75, err  # a message kept for a retry
            assert '"outcome":"retry"' in out and "75" in out, out
            assert s.files("sms/morx") == [name], "kept for the next run"
            rc, out, err = s.run("--json")
            assert '"outcome":"routed"' in out, out
            assert s.files("sms/morx") == []
            mails = wait_mail(MAILBOX1, 1)
            exim_queue_empty()
            assert mails[0].get_content() == "Spróbuj jeszcze raz\n"
            rc, out, err = s.run("--json")  # nothing left: no second mail
            exim_queue_empty()
            wait_mail(MAILBOX1, 1)
        finally:
            s.cleanup()


@test
def a_refusing_mail_server_dead_letters_and_tells_the_sender():
    s = spool()
    try:
        w = wrapper(s, "sendmail-refuses", "cat >/dev/null; echo 'no such user' >&2; exit 67")
        s.write_conf(f"[mail]\nsendmail = {w}\n")
        name = s.message(PHONE, MAILER, "Nie dojdzie")
        rc, out, err = s.run("--json")
        assert rc == 0, err
        assert '"outcome":"failed"' in out and "exit status 67" in out, out
        assert s.files("sms/morx/failed") == [name, name + ".why"], s.files("sms/morx/failed")
        q = s.queue()
        assert len(q) == 1 and q[0]["da"] == PHONE, q
        assert q[0]["text"].startswith(f"Cannot deliver SMS to {MAILER}"), q[0]
    finally:
        s.cleanup()


@test
def a_run_killed_after_the_mail_server_took_it_loses_nothing():
    # The worst moment: the mail server has the mail, the run dies before its journal knows. The
    # next run mails it again (a duplicate, never a loss) with the same Message-ID, then the
    # message is gone; a run killed before the mail server took it mails it once later.
    s = spool()
    try:
        got = os.path.join(s.root, "got")
        os.mkdir(got)
        w = wrapper(s, "sendmail-then-kill",
                    f'cat >"{got}/$$"\nif [ -e {s.root}/kill ]; then rm {s.root}/kill; '
                    f'kill -9 $PPID; fi\nexit 0')
        s.write_conf(f"[mail]\nsendmail = {w}\n")
        open(os.path.join(s.root, "kill"), "w").close()
        name = s.message(PHONE, MAILER, "Raz albo dwa razy, nigdy zero")
        rc, out, err = s.run()
        assert rc == -9, (rc, err)
        assert s.files("sms/morx") == [name]
        rc, out, err = s.run()
        assert rc == 0, err
        assert s.files("sms/morx") == [] and s.files("sms/morx/failed") == []
        mails = [email.message_from_binary_file(open(os.path.join(got, f), "rb"),
                                                policy=email.policy.default)
                 for f in os.listdir(got)]
        assert len(mails) == 2, len(mails)
        assert len({m["Message-ID"] for m in mails}) == 1
        assert all(m.get_content() == "Raz albo dwa razy, nigdy zero\n" for m in mails)
        rc, out, err = s.run()
        assert len(os.listdir(got)) == 2, "a third run mails nothing"
    finally:
        s.cleanup()


if __name__ == "__main__":
    main()
