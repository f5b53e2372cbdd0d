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


@test
def an_e_subscriber_is_answered_by_mail():
    # A command's reply and a notice go back to an E sender as mail, once.
    s = spool()
    try:
        got = os.path.join(s.root, "got")
        os.mkdir(got)
        w = wrapper(s, "sendmail-capture", f'cat >"{got}/$$"')
        s.write_conf(f"[mail]\nsendmail = {w}\n")
        rc, out, err = mail_in(s, mail_bytes(f"{MAILBOX1}@localhost", "1000@h", "ECHO Cześć 😀\n"),
                               env={})
        assert rc == 0, (rc, err)
        s.message(MAILER, "48999999999", "anyone?")
        rc, out, err = s.run()
        assert rc == 0, err
        assert s.files("sms/morx") == []
        mails = sorted((email.message_from_binary_file(open(os.path.join(got, f), "rb"),
                                                       policy=email.policy.default)
                        for f in os.listdir(got)), key=lambda m: str(m["Subject"]))
        assert len(mails) == 2, [m.as_string() for m in mails]
        assert all(m["To"].addresses[0].addr_spec == f"{MAILBOX1}@localhost" for m in mails)
        assert mails[0]["Subject"] == "SMS from 1000", mails[0]["Subject"]
        assert "Cześć 😀" in mails[0].get_content(), mails[0].get_content()
        assert mails[1]["Subject"] == "SMS from 9000", mails[1]["Subject"]
        assert mails[1].get_content() == ("Cannot deliver SMS to 48999999999. "
                                          "Number does not exist.\n"), mails[1].get_content()
        s.run()
        assert len(os.listdir(got)) == 2
    finally:
        s.cleanup()


@test
def only_sms_mail_in_loads_gmime():
    def needed(tool):
        p = subprocess.run(["readelf", "-d", os.path.join(os.environ.get("SMS_BIN_DIR",
                                                                         "build/tools"), tool)],
                           capture_output=True, text=True, check=True)
        return [line.split("[")[1].rstrip("]") for line in p.stdout.splitlines()
                if "(NEEDED)" in line]
    assert any("gmime" in n for n in needed("sms-mail-in")), needed("sms-mail-in")
    for tool in ("sms-process", "post-sms", "getchaninfo", "sms-directory"):
        libs = needed(tool)
        assert not any("gmime" in n or "glib" in n or "gobject" in n for n in libs), (tool, libs)


# ---- sms-mail-in ----------------------------------------------------------------------------

PIPE_HOME = "/var/lib/sms-suite-test/mail"  # where /etc/aliases pipes to (exim-test-setup.sh)
PIPED_PHONE = "48600700990"                 # an alias of exim-test-setup.sh, an S phone here


def mail_bytes(frm, to, body, headers=""):
    return (f"From: {frm}\nTo: {to}\nSubject: Re: SMS\nMIME-Version: 1.0\n"
            f"Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n"
            f"{headers}\n{body}").encode()


def mail_in(s, data, *args, env=None):
    p = subprocess.run([os.path.join(os.environ.get("SMS_BIN_DIR", "build/tools"), "sms-mail-in"),
                        "--config", s.conf, *args], input=data, capture_output=True,
                       env=env, timeout=60)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


@test
def mail_in_posts_a_reply_from_the_subscriber_and_it_routes_to_the_phone():
    s = ucs2(spool())
    try:
        body = ("Tak, o 10:00. Zażółć 😀\n\nOn Mon, 7 Dec 2026, 48500100200 wrote:\n> Spotkanie?\n"
                "-- \nAlicja\n")
        env = dict(os.environ, RECIPIENT=f"{PHONE}@pbx.example.org")
        rc, out, err = mail_in(s, mail_bytes(f"Alicja <{MAILBOX1.upper()}@LOCALHOST>",
                                             "someone@example.org", body), env=env)
        assert rc == 0, (rc, err)
        [name] = s.files("sms/morx")
        assert out.strip() == os.path.join(s.morx, name)
        rc, out, err = s.run()
        assert rc == 0, err
        [q] = s.queue()
        assert q["oa"] == MAILER and q["da"] == PHONE, q
        assert q["text"] == "Tak, o 10:00. Zażółć 😀", q
    finally:
        s.cleanup()


@test
def mail_in_refuses_an_unknown_sender_or_number_writing_nothing():
    s = spool()
    try:
        for frm, to, want in [("eve@example.org", f"{PHONE}@h", "not the address of an E"),
                              (f"{MAILBOX1}@localhost", "48999999999@h", "does not exist"),
                              (f"{MAILBOX1}@localhost", "alice@h", "no number in")]:
            rc, out, err = mail_in(s, mail_bytes(frm, to, "hello\n"), env={})
            assert rc == 67, (rc, err)
            assert want in err and err.count("\n") == 1, err
            assert s.files("sms/morx") == [] and out == ""
        rc, out, err = mail_in(s, mail_bytes(f"{MAILBOX1}@localhost", f"{PHONE}@h",
                                             "> only a quote\n-- \nsig\n"), env={})
        assert rc == 65 and "no text" in err, (rc, err)
        assert s.files("sms/morx") == []
    finally:
        s.cleanup()


@test
def mail_in_refuses_a_5_mb_mail_at_once():
    s = spool()
    try:
        p = subprocess.Popen([os.path.join(os.environ.get("SMS_BIN_DIR", "build/tools"),
                                           "sms-mail-in"), "--config", s.conf, "--to", PHONE],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        head = mail_bytes(f"{MAILBOX1}@localhost", f"{PHONE}@h", "")
        chunk = b"x" * 65536 + b"\n"
        sent = 0
        try:
            p.stdin.write(head)
            while sent < 5 * 1024 * 1024:
                p.stdin.write(chunk)
                sent += len(chunk)
            p.stdin.flush()
        except BrokenPipeError:
            pass
        # stdin is still open: a tool that waited for the end of the mail would hang here.
        rc = p.wait(timeout=60)
        err = p.stderr.read().decode()
        p.stdin = None
        assert rc == 65, (rc, err)
        assert "max_size" in err and err.count("\n") == 1, err
        assert s.files("sms/morx") == []
    finally:
        s.cleanup()


@test
def mail_in_keeps_the_mail_queued_through_a_directory_outage():
    s = spool()
    try:
        os.rename(s.db, s.db + ".away")
        rc, out, err = mail_in(s, mail_bytes(f"{MAILBOX1}@localhost", f"{PHONE}@h", "hi\n"),
                               env={})
        assert rc == 75, (rc, err)
        assert s.files("sms/morx") == []
        os.rename(s.db + ".away", s.db)
        rc, out, err = mail_in(s, mail_bytes(f"{MAILBOX1}@localhost", f"{PHONE}@h", "hi\n"),
                               env={})
        assert rc == 0, (rc, err)
        # A configuration that cannot be read keeps the mail queued too (75, not 78).
        p = subprocess.run([os.path.join(os.environ.get("SMS_BIN_DIR", "build/tools"),
                                         "sms-mail-in"), "--config", "/nonexistent/sms.conf"],
                           input=b"x", capture_output=True, timeout=60)
        assert p.returncode == 75, p
        assert b"/nonexistent/sms.conf" in p.stderr, p.stderr
    finally:
        s.cleanup()


@test
def a_mail_piped_by_the_real_mail_server_reaches_the_phone():
    setup_exim()
    with Lock():
        directory = [
            (PIPED_PHONE, "S", "PJSIP/48600700990"),
            (MAILER, "E", f"{MAILBOX1}@localhost"),
        ]
        s = ucs2(Spool(directory=directory))
        try:
            # The pipe runs as the pipe user: the spool is theirs, the rest readable.
            os.chmod(s.root, 0o755)
            os.chmod(s.db, 0o644)
            subprocess.run(["chown", "-R", "sms-mail-pipe", s.spool], check=True)
            os.makedirs(PIPE_HOME, exist_ok=True)
            binary = os.path.join(os.environ.get("SMS_BIN_DIR", "build/tools"), "sms-mail-in")
            tmp = os.path.join(PIPE_HOME, ".sms-mail-in")
            subprocess.run(["cp", binary, tmp], check=True)
            os.chmod(tmp, 0o755)
            os.rename(tmp, os.path.join(PIPE_HOME, "sms-mail-in"))
            with open(s.conf) as f:
                conf = f.read()
            with open(os.path.join(PIPE_HOME, "sms-suite.conf"), "w") as f:
                f.write(conf)
            os.chmod(os.path.join(PIPE_HOME, "sms-suite.conf"), 0o644)
            msg = (f"From: Alicja <{MAILBOX1}@localhost>\nTo: {PIPED_PHONE}@localhost\n"
                   "Subject: Re: SMS from 48600700990\nMIME-Version: 1.0\n"
                   "Content-Type: multipart/alternative; boundary=zz\n\n--zz\n"
                   "Content-Type: text/plain; charset=UTF-8\n"
                   "Content-Transfer-Encoding: quoted-printable\n\n"
                   "Dzi=C4=99kuj=C4=99, b=C4=99d=C4=99 o 10:00 =F0=9F=98=80\n\n"
                   "> Spotkanie?\n--zz\nContent-Type: text/html; charset=UTF-8\n\n"
                   "<p>HTML</p>\n--zz--\n")
            p = subprocess.run([SENDMAIL, "-t", "-oi"], input=msg.encode(), capture_output=True)
            assert p.returncode == 0, p.stderr
            end = time.time() + 60
            while not s.files("sms/morx") and time.time() < end:
                time.sleep(0.2)
            exim_queue_empty()
            names = s.files("sms/morx")
            assert len(names) == 1, (names, open("/var/log/exim4/mainlog").read()[-2000:])
            rc, out, err = s.run()
            assert rc == 0, err
            [q] = s.queue()
            assert q["oa"] == MAILER and q["da"] == PIPED_PHONE, q
            assert q["text"] == "Dziękuję, będę o 10:00 😀", q
        finally:
            s.cleanup()


if __name__ == "__main__":
    main()
