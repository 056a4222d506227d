#!/usr/bin/python3
"""tests/faults/workload.py: the mixed workload of the fault tests and the
invariants checked after every fault.

usage:
  workload.py gen DIR COUNT SEED   COUNT more inbound mails into DIR's Dovecot
                                   INBOX (DIR/dv/mail/u/Maildir): new requests
                                   (complete, incomplete, exempt), the replies
                                   people would send to what the SMTP server
                                   received so far (AIO/CIO APPROVE or REJECT,
                                   CDT RECOMMEND or INFO, CTO APPROVE or DENY,
                                   corrected forms, answers), auto-replies,
                                   bounces (DSN) and HELP; written to
                                   DIR/wl/inbound.json
  workload.py idle DIR NOW         exit 0 when the INBOX is empty, no mail is
                                   being sent and none is due at NOW (epoch)
  workload.py watch RAWDIR PATTERN SECONDS MASTER_PID_FILE
                                   kills Dovecot when a client command
                                   matching PATTERN reaches it (rawlog)
  workload.py check DIR NOW [--final] [--allow-failed]
                                   the invariants, one "ok - ..." or
                                   "not ok - ..." line each (TAP body)

Invariants (checked by tests/faults/*.sh through common.sh):
  records    every inbound mail has exactly one record in the store (its
             Message-ID in the messages table), the store holds no other,
             and the mailbox holds it once, in Processed or Quarantine
  kinds      requests opened a case (or were answered), replies were filed
             on the case they answer, auto-replies and bounces were recorded
             as such and never answered
  sends      every copy the SMTP server got of one Message-ID is the same
             bytes, every Message-ID it got is one outbox row, and a
             Message-ID got twice is a mail sent again after a crash (a
             resent_in_doubt event names it) or after a failed attempt
  once       no notification was queued twice under two Message-IDs (same
             case, recipients, mail answered (In-Reply-To), subject and text)
  lost       every outbox row marked sent was received; none is due and
             unsent, none is left marked as being sent; none failed
             (unless --allow-failed)
"""
import email
import email.policy
import glob
import hashlib
import json
import os
import random
import re
import sqlite3
import sys

ENTITIES = [
    # code, domain, aio, cio, exempt
    ("DWR", "water.ca.gov", "aio@water.ca.gov", "cio@water.ca.gov", False),
    ("DMV", "dmv.ca.gov", "aio@dmv.ca.gov", "cio@dmv.ca.gov", False),
    ("CHP", "chp.ca.gov", "it.chief@chp.ca.gov", "it.chief@chp.ca.gov", False),
    ("CSU", "calstate.edu", "aio@calstate.edu", "cio@calstate.edu", True),
]
CDT = "review1@cdt.ca.gov"
CTO = "cto@cdt.ca.gov"
KEY_RE = re.compile(r"cgen\+([a-z2-7]{26})@")
TAG_RE = re.compile(r"\[(CGEN-\d{4}-\d{4,})\]")


def mailbox(d):
    return os.path.join(d, "dv", "mail", "u", "Maildir")


def load_state(d):
    p = os.path.join(d, "wl", "inbound.json")
    if os.path.exists(p):
        with open(p) as f:
            return json.load(f)
    return {"n": 0, "inbound": [], "answered": []}


def save_state(d, st):
    os.makedirs(os.path.join(d, "wl"), exist_ok=True)
    p = os.path.join(d, "wl", "inbound.json")
    with open(p + ".tmp", "w") as f:
        json.dump(st, f)
    os.rename(p + ".tmp", p)


def parse(data):
    return email.message_from_bytes(data, policy=email.policy.compat32)


def mid_of(msg):
    v = msg.get("Message-ID")
    if not v:
        return None
    return str(v).strip().strip("<>").strip()


def text_of(msg):
    """The text/plain part, decoded."""
    for part in msg.walk():
        if part.get_content_type() == "text/plain":
            b = part.get_payload(decode=True) or b""
            return b.decode(part.get_content_charset() or "utf-8", "replace")
    return ""


def received(d):
    """What the SMTP server got: list of (n, envelope rcpts, bytes)."""
    out = []
    for env in glob.glob(os.path.join(d, "smtp", "mail", "*.env")):
        n = int(os.path.basename(env)[:-4])
        with open(env) as f:
            lines = f.read().split("\n")
        with open(env[:-4] + ".eml", "rb") as f:
            data = f.read()
        out.append((n, [l.lower() for l in lines[1:] if l], lines[0], data))
    out.sort()
    return out


def crlf(text):
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode()


def deliver(d, name, data):
    box = mailbox(d)
    tmp = os.path.join(box, "tmp", name)
    with open(tmp, "wb") as f:
        f.write(data)
    if os.getuid() == 0:
        os.chown(tmp, 65534, 65534)
    os.rename(tmp, os.path.join(box, "new", name))


FORM = """Entity: {entity}
Services:
- 2 x 100 Mbps Dedicated Internet Access at {num} Industrial Blvd, West Sacramento, CA 95691
Reason: CGEN has no service at the field office {num}; the nearest node is 40 miles away.
Reason Category: availability
Contract Term: 36 months
Early Termination: none
Extension Options: two 12-month extensions
{cost}Provider: {provider}
Vendor Documentation: quote Q-2026-{num}
Service Levels: 99.9% availability, 4-hour restore
"""
COST = """Total Cost: $97,560.00
Cost Items:
- Installation: $1,200.00
- Monthly service, 36 months: $96,360.00
"""


def form(entity, num, complete=True):
    return FORM.format(entity=entity, num=num, cost=COST if complete else "",
                       provider="Comcast Business" if complete else "")


def header(frm, to, subject, mid, extra=""):
    return ("From: {f}\nTo: {t}\nSubject: {s}\nMessage-ID: <{m}>\n"
            "Date: Thu, 26 Nov 2026 08:00:00 -0800\n{x}"
            "Content-Type: text/plain; charset=utf-8\n\n").format(f=frm, t=to, s=subject, m=mid, x=extra)


def reply_to_of(msg):
    v = msg.get("Reply-To") or ""
    m = re.search(r"[\w.+-]+@[\w.-]+", str(v))
    return m.group(0) if m else "cgen@cdt.ca.gov"


def gen(d, count, seed):
    st = load_state(d)
    rnd = random.Random(seed)
    answered = set(st["answered"])
    # What people were asked to act on: mails carrying a reply key, to one
    # person, not answered yet (reminders repeat a key: one answer per key).
    todo = []
    ours = []
    for n, rcpts, sender, data in received(d):
        msg = parse(data)
        ours.append((rcpts, msg))
        rt = str(msg.get("Reply-To") or "")
        k = KEY_RE.search(rt)
        if not k or len(rcpts) != 1 or k.group(1) in answered:
            continue
        subj = str(msg.get("Subject") or "")
        if "Reminder" in subj:
            continue
        todo.append((k.group(1), rcpts[0], msg))
    rnd.shuffle(todo)
    mails = []
    made = 0
    while made < count:
        st["n"] += 1
        i = st["n"]
        mid = "wl%d.%d@faults.test" % (i, seed)
        r = rnd.random()
        kind = None
        if todo and r < 0.5:
            key, who, msg = todo.pop()
            answered.add(key)
            subj = "Re: " + str(msg.get("Subject") or "")
            extra = "In-Reply-To: <%s>\nReferences: <%s>\n" % (mid_of(msg), mid_of(msg))
            body = text_of(msg)
            quoted = "\n".join("> " + l for l in body.split("\n")[:20])
            if who == CDT:
                text = "RECOMMEND APPROVE no CGEN service at the site" if rnd.random() < 0.85 else \
                    "INFO which address exactly?"
            elif who == CTO:
                text = "APPROVE" if rnd.random() < 0.9 else "DENY CGEN can serve this site"
            elif any(who in (e[2], e[3]) for e in ENTITIES):
                text = "APPROVE" if rnd.random() < 0.92 else "REJECT not in this year's budget"
            else:
                # the requester: a corrected form, or an answer to CDT's question
                ent = next((e for e in ENTITIES if who.endswith("@" + e[1])), ENTITIES[0])
                if "incomplete request" in subj.lower():
                    text = form(ent[0], i)
                else:
                    text = "The address is %d Industrial Blvd, West Sacramento." % i
            raw = header(who, reply_to_of(msg), subj, mid, extra) + text + "\n\n" + \
                "On Thu, Nov 26, 2026 at 9:00 AM CGEN Exemptions <cgen@cdt.ca.gov> wrote:\n" + quoted + "\n"
            kind = "reply"
            ent_tag = TAG_RE.search(subj)
            rec = {"mid": mid, "kind": kind, "from": who, "case": ent_tag.group(1) if ent_tag else None,
                   "key": key}
        elif r < 0.78 or not ours:
            ent = ENTITIES[rnd.randrange(len(ENTITIES))]
            complete = rnd.random() < 0.8
            frm = "req%d@%s" % (i, ent[1])
            raw = header("Requester %d <%s>" % (i, frm), "cgen@cdt.ca.gov", "Request %d" % i, mid) + \
                "Hello CDT,\n\nPlease find our CGEN exemption request below.\n\n" + \
                form(ent[0], i, complete) + "\nThanks,\nRequester %d\n" % i
            kind = "request"
            rec = {"mid": mid, "kind": kind, "from": frm, "exempt": ent[4], "complete": complete}
        elif r < 0.88:
            # an out-of-office answer to one of our mails
            rcpts, msg = ours[rnd.randrange(len(ours))]
            who = rcpts[0]
            raw = header(who, "cgen@cdt.ca.gov", "Out of Office: " + str(msg.get("Subject") or ""), mid,
                         "Auto-Submitted: auto-replied\nIn-Reply-To: <%s>\n" % mid_of(msg)) + \
                "I am out of the office until Monday.\n"
            kind = "auto-reply"
            rec = {"mid": mid, "kind": kind, "from": who}
        elif r < 0.95:
            # a bounce (DSN) of one of our mails
            rcpts, msg = ours[rnd.randrange(len(ours))]
            dom = rcpts[0].split("@")[-1]
            b = "dsn%d" % i
            raw = ("From: Mail Delivery System <MAILER-DAEMON@{dom}>\nTo: cgen@cdt.ca.gov\n"
                   "Subject: Undelivered Mail Returned to Sender\nMessage-ID: <{mid}>\n"
                   "Date: Thu, 26 Nov 2026 08:00:00 -0800\nAuto-Submitted: auto-replied\n"
                   "MIME-Version: 1.0\n"
                   "Content-Type: multipart/report; report-type=delivery-status; boundary=\"{b}\"\n\n"
                   "--{b}\nContent-Type: text/plain\n\nThe mail could not be delivered.\n\n"
                   "--{b}\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.{dom}\n\n"
                   "Final-Recipient: rfc822; {rc}\nAction: failed\nStatus: 5.1.1\n\n"
                   "--{b}\nContent-Type: text/rfc822-headers\n\nMessage-ID: <{omid}>\n"
                   "Subject: {osub}\n\n--{b}--\n").format(dom=dom, mid=mid, b=b, rc=rcpts[0],
                                                          omid=mid_of(msg),
                                                          osub=str(msg.get("Subject") or ""))
            kind = "bounce"
            rec = {"mid": mid, "kind": kind, "from": "mailer-daemon@" + dom}
        else:
            frm = "someone%d@example.org" % i
            raw = header(frm, "cgen@cdt.ca.gov", "help", mid) + "HELP\n"
            kind = "help"
            rec = {"mid": mid, "kind": kind, "from": frm}
        mails.append(("wl%06d" % i, crlf(raw)))
        st["inbound"].append(rec)
        made += 1
    st["answered"] = sorted(answered)
    save_state(d, st)
    for name, data in mails:
        deliver(d, name, data)
    print(" ".join("%s=%d" % (k, sum(1 for m in st["inbound"][-count:] if m["kind"] == k))
                   for k in ("request", "reply", "auto-reply", "bounce", "help")))


def db(d):
    c = sqlite3.connect("file:%s?mode=ro" % os.path.join(d, "cgen.db"), uri=True, timeout=30)
    c.execute("PRAGMA busy_timeout = 30000")
    return c


def inbox_files(d):
    box = mailbox(d)
    return [f for sub in ("new", "cur") for f in glob.glob(os.path.join(box, sub, "*"))]


def idle(d, now):
    if inbox_files(d):
        return 1
    c = db(d)
    busy = c.execute("SELECT (SELECT count(*) FROM outbox_sending) + (SELECT count(*) FROM outbox "
                     "WHERE status = 'pending' AND next_try <= ?)", (now,)).fetchone()[0]
    c.close()
    return 1 if busy else 0


def mid_in(data):
    m = re.search(rb"^Message-ID:[ \t]*<([^>]*)>", data, re.M | re.I)
    return m.group(1).decode() if m else None


def normal(data):
    """A mail's text without what differs between two renderings of the same
    notification: Message-ID, Date, reply keys."""
    data = re.sub(rb"^(Message-ID|Date|Reply-To|In-Reply-To|References):.*\r?\n([ \t].*\r?\n)*", b"",
                  data, flags=re.M | re.I)
    data = re.sub(rb"[a-z2-7]{26}", b"KEY", data)
    data = re.sub(rb"=_cgen[0-9a-zA-Z._-]*", b"BOUNDARY", data)
    return hashlib.sha256(data).hexdigest()


def check(d, now, final, allow_failed):
    results = []

    def point(ok, desc, detail=None):
        results.append((ok, desc, detail))

    st = load_state(d)
    inbound = st["inbound"]
    c = db(d)
    # --- records ---
    rows = c.execute("SELECT id, kind, case_id, raw FROM messages").fetchall()
    by_mid = {}
    for rid, kind, case_id, raw in rows:
        m = mid_in(bytes(raw)) if raw else None
        by_mid.setdefault(m, []).append((rid, kind, case_id))
    want = {m["mid"] for m in inbound}
    twice = [m for m in want if len(by_mid.get(m, [])) > 1]
    missing = [m for m in want if m not in by_mid]
    extra = [m for m in by_mid if m not in want]
    point(not twice and not missing and not extra and len(rows) == len(inbound),
          "records: each of the %d inbound mails has exactly one record (%d rows)" % (len(inbound), len(rows)),
          "twice %s missing %s extra %s" % (twice[:5], missing[:5], extra[:5]))
    box = mailbox(d)
    placed = {}
    for folder in (".Processed", ".Quarantine"):
        for f in glob.glob(os.path.join(box, folder, "new", "*")) + glob.glob(os.path.join(box, folder, "cur", "*")):
            with open(f, "rb") as fh:
                m = mid_in(fh.read(8192))
            placed.setdefault(m, []).append(folder)
    left = inbox_files(d)
    badplace = [m for m in want if len(placed.get(m, [])) != 1]
    point(not left and not badplace,
          "mailbox: INBOX empty, each mail once in Processed or Quarantine",
          "left in INBOX %d; not once: %s" % (len(left), [(m, placed.get(m)) for m in badplace[:5]]))
    # --- kinds ---
    cases = dict(c.execute("SELECT id, state FROM cases").fetchall())
    got = received(d)
    to_addr = {}
    for n, rcpts, sender, data in got:
        subj = re.search(rb"^Subject:(.*)$", data, re.M | re.I)
        tag = TAG_RE.search(subj.group(1).decode("utf-8", "replace")) if subj else None
        for r in rcpts:
            to_addr.setdefault(r, set()).add(tag.group(1) if tag else None)
    bad = []
    for m in inbound:
        recs = by_mid.get(m["mid"], [])
        if len(recs) != 1:
            continue
        rid, kind, case_id = recs[0]
        if m["kind"] == "request":
            if not case_id or case_id not in cases:
                bad.append("request %s: no case (kind %s)" % (m["mid"], kind))
            elif case_id not in to_addr.get(m["from"], set()):
                bad.append("request %s: %s got no mail about %s" % (m["mid"], m["from"], case_id))
            elif m["exempt"] and cases[case_id] != "not_required":
                bad.append("request %s: exempt, case %s %s" % (m["mid"], case_id, cases[case_id]))
        elif m["kind"] == "reply":
            if m["case"] and case_id != m["case"]:
                bad.append("reply %s: filed on %s, answers %s" % (m["mid"], case_id, m["case"]))
        elif m["kind"] in ("auto-reply", "bounce"):
            if kind != m["kind"]:
                bad.append("%s %s recorded as %s" % (m["kind"], m["mid"], kind))
        elif m["kind"] == "help":
            if not to_addr.get(m["from"]):
                bad.append("HELP %s: never answered" % m["mid"])
    # automatic mail is never answered: nothing went to the senders of bounces
    for m in inbound:
        if m["kind"] == "bounce" and m["from"] in to_addr:
            bad.append("bounce sender %s was answered" % m["from"])
    stuck = [k for k, s in cases.items() if s == "received"]
    if stuck:
        bad.append("cases left in received: %s" % stuck[:5])
    point(not bad, "kinds: requests opened their case and were answered, replies filed on their case, "
          "automatic mail recorded and not answered", "; ".join(bad[:6]))
    # --- sends ---
    outbox = c.execute("SELECT id, case_id, rcpts, status, attempts, next_try, data FROM outbox").fetchall()
    # A sent mail's stored copy has its reply keys redacted: the Message-ID
    # names its outbox row N, and matches the stored one once keys are masked.
    row_of = {}
    for oid, case_id, rcpts, status, attempts, next_try, data in outbox:
        row_of[oid] = (oid, case_id, rcpts, status, attempts, bytes(data))

    def masked(m):
        return re.sub(r"[a-z2-7]{26}|removed-once-sent-+", "KEY", m or "")

    def row_for(m):
        # cgen.KEY.N@ (a mail with a reply key) or cgen.nN.TIME@
        g = re.search(r"\.n?(\d+)(?:\.\d+)?@", m or "")
        r = row_of.get(int(g.group(1))) if g else None
        return r if r and masked(mid_in(r[5])) == masked(m) else None
    copies = {}
    for n, rcpts, sender, data in got:
        copies.setdefault(mid_in(data), []).append(hashlib.sha256(repr((sorted(rcpts), sender)).encode() + data).hexdigest())
    differ = [m for m, h in copies.items() if len(set(h)) > 1]
    unknown = [m for m in copies if not row_for(m)]
    doubt = set()
    for (detail,) in c.execute("SELECT detail FROM events WHERE kind = 'resent_in_doubt'"):
        g = re.match(r"outbox (\d+) ", detail)
        if g:
            doubt.add(int(g.group(1)))
    dups = [m for m, h in copies.items() if len(h) > 1]
    unexplained = [m for m in dups if row_for(m) and row_for(m)[0] not in doubt and row_for(m)[4] == 0]
    point(not differ and not unknown and not unexplained,
          "sends: %d mails received, %d Message-IDs, %d sent again (same Message-ID, same bytes), "
          "each one an outbox row" % (len(got), len(copies), sum(len(h) - 1 for h in copies.values())),
          "different bytes %s; not one outbox row %s; again without a reason %s" %
          (differ[:3], unknown[:3], unexplained[:3]))
    # --- once ---
    groups = {}
    for oid, case_id, rcpts, status, attempts, next_try, data in outbox:
        subj = re.search(rb"^Subject:(.*)$", bytes(data), re.M | re.I)
        s = subj.group(1) if subj else b""
        if re.search(rb"Reminder|Digest|digest|overdue|Overdue", s):
            continue
        # the mail answered: two like answers to two mails are two notifications
        irt = re.search(rb"^In-Reply-To:[ \t]*(<[^>]*>)", bytes(data), re.M | re.I)
        groups.setdefault((case_id, rcpts, irt.group(1) if irt else b"", normal(bytes(data))),
                          []).append(oid)
    doubled = [v for v in groups.values() if len(v) > 1]
    point(not doubled, "once: no notification queued twice under two Message-IDs (%d notifications)" % len(groups),
          "outbox rows alike: %s" % doubled[:5])
    # --- lost ---
    got_ids = {row_for(m)[0] for m in copies if row_for(m)}
    not_got = [oid for oid, r in row_of.items() if r[3] == "sent" and oid not in got_ids]
    due = c.execute("SELECT count(*) FROM outbox WHERE status = 'pending' AND next_try <= ?", (now,)).fetchone()[0]
    pending = c.execute("SELECT count(*) FROM outbox WHERE status = 'pending'").fetchone()[0]
    sending = c.execute("SELECT count(*) FROM outbox_sending").fetchone()[0]
    failed = c.execute("SELECT count(*) FROM outbox WHERE status = 'failed'").fetchone()[0]
    point(not not_got and due == 0 and sending == 0 and (allow_failed or failed == 0) and
          (not final or pending == 0),
          "lost: every mail marked sent was received; none due, none left being sent%s%s" %
          ("" if allow_failed else ", none failed", ", none pending" if final else ""),
          "sent but not received %s; due %d; being sent %d; failed %d; pending %d" %
          (not_got[:5], due, sending, failed, pending))
    c.close()
    for ok, desc, detail in results:
        print(("ok - " if ok else "not ok - ") + desc)
        if not ok and detail:
            print("#   " + detail)
    return 0 if all(r[0] for r in results) else 1


def watch(rawdir, pattern, seconds, master_pid_file):
    """Reads Dovecot's rawlogs of client commands (RAWDIR/*.in) from their
    current ends; the moment a new command matches PATTERN, SIGKILL to the
    Dovecot master of MASTER_PID_FILE and all its children. Prints the
    command and whether the server had answered it (its tag in *.out)."""
    import signal
    import time
    rx = re.compile(pattern)
    offs = {f: os.path.getsize(f) for f in glob.glob(os.path.join(rawdir, "*.in"))}
    end = time.time() + seconds
    while time.time() < end:
        for f in glob.glob(os.path.join(rawdir, "*.in")):
            with open(f, "rb") as fh:
                fh.seek(offs.get(f, 0))
                new = fh.read()
            cut = new.rfind(b"\n") + 1
            offs[f] = offs.get(f, 0) + cut
            for line in new[:cut].decode("utf-8", "replace").splitlines():
                if not rx.search(line):
                    continue
                with open(master_pid_file) as p:
                    master = int(p.read())
                pids = [master]
                for st in glob.glob("/proc/[0-9]*/stat"):
                    try:
                        with open(st) as fh:
                            fields = fh.read().rsplit(")", 1)[1].split()
                        if int(fields[1]) == master:
                            pids.append(int(st.split("/")[2]))
                    except (OSError, IndexError, ValueError):
                        pass
                for pid in pids:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
                parts = line.split()
                tag = parts[1] if len(parts) > 1 else ""
                time.sleep(0.2)
                with open(f[:-3] + ".out", "rb") as fh:
                    answered = re.search(rb"^[0-9.]+ " + re.escape(tag.encode()) + rb" (OK|NO|BAD)", fh.read(), re.M)
                print("%s; answered before the kill: %s" % (" ".join(parts[1:]), "yes" if answered else "no"))
                return 0
        time.sleep(0.001)
    return 1


def main():
    a = sys.argv[1:]
    if a[0] == "watch":
        return watch(a[1], a[2], float(a[3]), a[4])
    if a[0] == "gen":
        gen(a[1], int(a[2]), int(a[3]))
        return 0
    if a[0] == "idle":
        return idle(a[1], int(a[2]))
    if a[0] == "check":
        return check(a[1], int(a[2]), "--final" in a, "--allow-failed" in a)
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main())
